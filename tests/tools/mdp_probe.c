/* mdp_probe — one hand-made MDP request straight to the broker socket, as an attacker on the host would
 * send it (tests/integration/test_broker_auth.py): an Envelope for <service>.<method> with a GetRequest
 * {id} whose caller is chosen on the command line, over a plain connection or over CurveZMQ with the
 * given keys. Prints what came back, one "name value" line each:
 *   answered 0|1 · code <StatusCode> · message <text> · payload_hex <hex of the payload>
 *
 *   metodnet-mdp-probe --endpoint E --service S --method M --id ID [--caller system|region-admin]
 *                      [--broker-pub FILE --key FILE] [--timeout-ms N]
 * Exit codes: 0 a reply came, 3 no reply within the timeout, 2 wrong usage or unreadable keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tool_args.h"
#include "curve_keys.h"
#include "envelope.pb-c.h"
#include "mdp.h"
#include "request_envelope.h"

int main(int argc, char **argv)
{
    const char *endpoint = tool_arg(argc, argv, "--endpoint", NULL);
    const char *service = tool_arg(argc, argv, "--service", "registry");
    const char *method = tool_arg(argc, argv, "--method", "GetStaff");
    const char *id = tool_arg(argc, argv, "--id", "");
    const char *caller_kind = tool_arg(argc, argv, "--caller", "system");
    const char *broker_pub = tool_arg(argc, argv, "--broker-pub", NULL);
    const char *key_file = tool_arg(argc, argv, "--key", NULL);
    int timeout_ms = atoi(tool_arg(argc, argv, "--timeout-ms", "2000"));
    if (!endpoint || (!broker_pub) != (!key_file)) {
        fprintf(stderr,
                "использование: %s --endpoint E [--service S] [--method M] [--id ID] "
                "[--caller system|region-admin] [--broker-pub FILE --key FILE] [--timeout-ms N]\n",
                argv[0]);
        return 2;
    }
    mdp_curve_keys keys;
    char err[512];
    if (broker_pub && (curve_key_file_read(broker_pub, keys.broker_public, NULL, err, sizeof err) != 0 ||
                       curve_key_file_read(key_file, keys.public_key, keys.secret_key, err, sizeof err) != 0)) {
        fprintf(stderr, "ключи: %s\n", err);
        return 2;
    }

    Metodnet__Principal caller = METODNET__PRINCIPAL__INIT;
    caller.user_id = (char *)"probe";
    if (strcmp(caller_kind, "system") == 0) {
        caller.role = METODNET__ROLE__ROLE_SYSTEM;
        caller.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_ALL;
    } else {
        caller.role = METODNET__ROLE__ROLE_REGION_ADMIN;
        caller.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_REGION;
        caller.scope_id = (char *)"07";
        caller.region_id = (char *)"07";
    }
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = (char *)id;
    request_envelope request = {
        .method = method, .message = &get.base, .caller = &caller, .request_id = "probe", .timeout_ms = 5000};
    size_t body_len = 0;
    uint8_t *body = request_envelope_pack(&request, &body_len);

    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if (mdp_curve_apply(socket, broker_pub ? &keys : NULL) != 0 || zmq_connect(socket, endpoint) != 0) {
        fprintf(stderr, "подключение: %s\n", zmq_strerror(zmq_errno()));
        return 2;
    }
    const uint8_t command = MDP_CLIENT_REQUEST;
    zmq_send(socket, MDP_CLIENT, 6, ZMQ_SNDMORE);
    zmq_send(socket, &command, 1, ZMQ_SNDMORE);
    zmq_send(socket, service, strlen(service), ZMQ_SNDMORE);
    zmq_send(socket, body, body_len, 0);
    free(body);

    zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
    int rc = 3;
    if (zmq_poll(&item, 1, timeout_ms) == 1) {
        zmq_msg_t frames[4];
        int n = 0;
        int more = 1;
        while (more && n < 4) {
            zmq_msg_init(&frames[n]);
            zmq_msg_recv(&frames[n], socket, 0);
            more = zmq_msg_more(&frames[n]);
            n++;
        }
        Metodnet__Reply *reply =
            n == 4 ? metodnet__reply__unpack(NULL, zmq_msg_size(&frames[3]), zmq_msg_data(&frames[3])) : NULL;
        printf("answered 1\n");
        if (reply) {
            printf("code %d\n", reply->status ? (int)reply->status->code : 0);
            printf("message %s\n", reply->status && reply->status->message ? reply->status->message : "");
            printf("payload_hex ");
            for (size_t i = 0; i < reply->payload.len; i++)
                printf("%02x", reply->payload.data[i]);
            printf("\n");
            metodnet__reply__free_unpacked(reply, NULL);
        } else {
            printf("code -1\nmessage ответ не разобран\npayload_hex \n");
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
        rc = 0;
    } else {
        printf("answered 0\n");
    }
    zmq_close(socket);
    zmq_ctx_term(context);
    return rc;
}
