/* broker_auth — the broker's ZAP handler and request checks (see broker_auth.h). */
#include "broker_auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "envelope.pb-c.h"
#include "log.h"
#include "zmq_loop.h"

#define S_PREFIX_LEN 8 /* z85 characters of a refused key that are logged */

struct broker_auth {
    uv_loop_t *loop;
    zmq_loop *zap;
    uint8_t secret_key[MDP_CURVE_KEY_BYTES];
    curve_client_list clients;
    char clients_path[4096]; /* "" when the list came from memory */
    struct stat clients_stat;
    uint64_t refused_keys;
    broker_auth_log_limit key_log;
    broker_auth_log_limit request_log;
    bool local_allowed; /* the broker has a local (ipc) endpoint: the NULL mechanism is its */
};

/* ---- pure decisions ---- */

const curve_client *broker_auth_zap_decide(const curve_client_list *clients, const char *mechanism, const uint8_t *key,
                                           size_t key_len)
{
    if (!mechanism || strcmp(mechanism, "CURVE") != 0 || !key || key_len != MDP_CURVE_KEY_BYTES)
        return NULL;
    return curve_clients_find(clients, key);
}

void broker_auth_user_id(const curve_client *client, char *out)
{
    snprintf(out, BROKER_AUTH_USER_ID_MAX, "%s:%s", curve_peer_kind_name(client->kind), client->name);
}

static int s_has_prefix(const char *text, const char *prefix)
{
    return text && strncmp(text, prefix, strlen(prefix)) == 0 && text[strlen(prefix)] != '\0';
}

int broker_auth_may_serve(const char *user_id)
{
    return s_has_prefix(user_id, "service:");
}

broker_auth_verdict broker_auth_check_request(const char *user_id, const uint8_t *body, size_t len)
{
    if (s_has_prefix(user_id, "service:"))
        return BROKER_AUTH_ADMIT;
    if (!s_has_prefix(user_id, "gateway:"))
        return BROKER_AUTH_REFUSE_PEER;
    Metodnet__Envelope *envelope = metodnet__envelope__unpack(NULL, len, body);
    if (!envelope)
        return BROKER_AUTH_REFUSE_ENVELOPE;
    const Metodnet__Principal *caller = envelope->caller;
    int system = caller && (caller->role == METODNET__ROLE__ROLE_SYSTEM ||
                            caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ALL);
    metodnet__envelope__free_unpacked(envelope, NULL);
    return system ? BROKER_AUTH_REFUSE_SYSTEM : BROKER_AUTH_ADMIT;
}

uint8_t *broker_auth_refusal(broker_auth_verdict verdict, const uint8_t *body, size_t len, size_t *out_len)
{
    Metodnet__Envelope *envelope = body ? metodnet__envelope__unpack(NULL, len, body) : NULL;
    Metodnet__Status status = METODNET__STATUS__INIT;
    status.code = METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED;
    switch (verdict) {
    case BROKER_AUTH_REFUSE_SYSTEM:
        status.message = (char *)"Брокер отказал: запрос от имени системы (ROLE_SYSTEM, область ALL) принимается "
                                 "только от ключа службы";
        break;
    case BROKER_AUTH_REFUSE_ENVELOPE:
        status.code = METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT;
        status.message = (char *)"Брокер отказал: тело запроса — не конверт metodnet.Envelope";
        break;
    default:
        status.message = (char *)"Брокер отказал: ключ этого подключения не даёт права на запросы к службам";
        break;
    }
    Metodnet__Reply reply = METODNET__REPLY__INIT;
    reply.request_id = envelope && envelope->request_id ? envelope->request_id : (char *)"";
    reply.status = &status;
    *out_len = metodnet__reply__get_packed_size(&reply);
    uint8_t *out = malloc(*out_len ? *out_len : 1);
    if (out)
        metodnet__reply__pack(&reply, out);
    if (envelope)
        metodnet__envelope__free_unpacked(envelope, NULL);
    return out;
}

int broker_auth_log_allow(broker_auth_log_limit *limit, uint64_t now_ms, uint64_t *suppressed)
{
    if (limit->lines == 0 || now_ms - limit->window_start >= BROKER_AUTH_LOG_WINDOW_MS) {
        limit->window_start = now_ms;
        limit->lines = 0;
    }
    if (limit->lines >= BROKER_AUTH_LOG_LINES) {
        limit->suppressed++;
        return 0;
    }
    limit->lines++;
    *suppressed = limit->suppressed;
    limit->suppressed = 0;
    return 1;
}

/* ---- the ZAP handler ---- */

static int s_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads the clients file again when it changed since it was read (keys added for a new host need no
 * restart). A file that no longer parses keeps the list in force and is reported once per change. */
static void s_refresh_clients(broker_auth *auth)
{
    struct stat st;
    if (auth->clients_path[0] == '\0' || stat(auth->clients_path, &st) != 0 || s_same_file(&st, &auth->clients_stat))
        return;
    auth->clients_stat = st;
    curve_client_list fresh;
    char err[512];
    if (curve_clients_read(auth->clients_path, &fresh, err, sizeof err) != 0) {
        log_error(NULL, "брокер: список ключей не перечитан, действует прежний (%zu): %s", auth->clients.count, err);
        return;
    }
    curve_clients_free(&auth->clients);
    auth->clients = fresh;
    log_info(NULL, "брокер: список ключей %s перечитан: %zu", auth->clients_path, auth->clients.count);
}

static void s_frame_text(zmq_msg_t *frame, char *out, size_t size)
{
    size_t len = zmq_msg_size(frame);
    if (len >= size)
        len = size - 1;
    memcpy(out, zmq_msg_data(frame), len);
    out[len] = '\0';
}

/* [routing id] [] ["1.0"] [request id] [domain] [address] [identity] [mechanism] [credentials]... */
static void s_on_zap(zmq_loop *zl, zmq_msg_t *frames, size_t count, void *ud)
{
    broker_auth *auth = ud;
    if (count < 8 || zmq_msg_size(&frames[1]) != 0)
        return; /* not ZAP: no answer (libzmq then fails the handshake) */
    char version[8];
    char mechanism[16];
    char address[64];
    s_frame_text(&frames[2], version, sizeof version);
    s_frame_text(&frames[7], mechanism, sizeof mechanism);
    s_frame_text(&frames[5], address, sizeof address);
    s_refresh_clients(auth);
    const curve_client *client = NULL;
    if (strcmp(version, "1.0") == 0 && count >= 9)
        client = broker_auth_zap_decide(&auth->clients, mechanism, zmq_msg_data(&frames[8]), zmq_msg_size(&frames[8]));
    char user_id[BROKER_AUTH_USER_ID_MAX] = "";
    bool local = auth->local_allowed && strcmp(version, "1.0") == 0 && strcmp(mechanism, "NULL") == 0;
    if (local) {
        snprintf(user_id, sizeof user_id, "%s", BROKER_AUTH_LOCAL_USER_ID);
    } else if (client) {
        broker_auth_user_id(client, user_id);
        log_debug(NULL, "брокер: подключение %s с адреса %s", user_id, address);
    } else {
        auth->refused_keys++;
        uint64_t suppressed = 0;
        if (broker_auth_log_allow(&auth->key_log, uv_now(auth->loop), &suppressed)) {
            char prefix[CURVE_Z85_LEN + 1] = "-";
            if (count >= 9 && zmq_msg_size(&frames[8]) == MDP_CURVE_KEY_BYTES) {
                curve_key_z85(zmq_msg_data(&frames[8]), prefix);
                prefix[S_PREFIX_LEN] = '\0';
            }
            log_warn(NULL,
                     "брокер: отказано в подключении с адреса %s: ключ %s… (механизм %s) не в списке клиентов %s; "
                     "ещё отказов без записи: %llu",
                     address, prefix, mechanism, auth->clients_path[0] ? auth->clients_path : "",
                     (unsigned long long)suppressed);
        }
    }
    zmq_loop_frame reply[8] = {
        {zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0])},
        {"", 0},
        {"1.0", 3},
        {zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3])},
        {client || local ? "200" : "400", 3},
        {client || local ? "OK" : "unknown key", client || local ? 2 : 11},
        {user_id, strlen(user_id)},
        {"", 0},
    };
    zmq_loop_send(zl, reply, 8);
}

/* ---- the broker's hooks ---- */

static int s_admit_request(void *ud, const char *user_id, const char *service, const uint8_t *body, size_t len,
                           uint8_t **refusal, size_t *refusal_len)
{
    broker_auth *auth = ud;
    broker_auth_verdict verdict = broker_auth_check_request(user_id, body, len);
    if (verdict == BROKER_AUTH_ADMIT)
        return 0;
    uint64_t suppressed = 0;
    if (broker_auth_log_allow(&auth->request_log, uv_now(auth->loop), &suppressed))
        log_warn(NULL, "брокер: отказан запрос к %s от «%s»: %s; ещё отказов без записи: %llu", service,
                 user_id && *user_id ? user_id : "?",
                 verdict == BROKER_AUTH_REFUSE_SYSTEM     ? "ROLE_SYSTEM/ALL не от ключа службы"
                 : verdict == BROKER_AUTH_REFUSE_ENVELOPE ? "не конверт"
                                                          : "ключ не службы и не шлюза",
                 (unsigned long long)suppressed);
    *refusal = broker_auth_refusal(verdict, body, len, refusal_len);
    return -1;
}

static int s_admit_worker(void *ud, const char *user_id, const char *service)
{
    broker_auth *auth = ud;
    if (broker_auth_may_serve(user_id))
        return 0;
    uint64_t suppressed = 0;
    if (broker_auth_log_allow(&auth->request_log, uv_now(auth->loop), &suppressed))
        log_warn(NULL,
                 "брокер: отказано в регистрации обработчика %s: «%s» — не ключ службы; ещё отказов без записи: %llu",
                 service, user_id && *user_id ? user_id : "?", (unsigned long long)suppressed);
    return -1;
}

broker_auth *broker_auth_new(uv_loop_t *loop, void *zmq_context, const uint8_t secret_key[MDP_CURVE_KEY_BYTES],
                             const curve_client_list *clients, char *err, size_t err_size)
{
    broker_auth *auth = calloc(1, sizeof *auth);
    if (!auth) {
        snprintf(err, err_size, "нехватка памяти");
        return NULL;
    }
    auth->loop = loop;
    memcpy(auth->secret_key, secret_key, MDP_CURVE_KEY_BYTES);
    for (size_t i = 0; i < clients->count; i++)
        if (curve_clients_add(&auth->clients, clients->clients[i].kind, clients->clients[i].name,
                              clients->clients[i].public_key) != 0) {
            snprintf(err, err_size, "нехватка памяти");
            broker_auth_destroy(&auth);
            return NULL;
        }
    void *socket = zmq_socket(zmq_context, ZMQ_ROUTER);
    int linger = 0;
    if (!socket || zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(socket, BROKER_AUTH_ZAP_ENDPOINT) != 0) {
        snprintf(err, err_size, "обработчик ZAP не открыт на %s: %s", BROKER_AUTH_ZAP_ENDPOINT,
                 zmq_strerror(zmq_errno()));
        if (socket)
            zmq_close(socket);
        broker_auth_destroy(&auth);
        return NULL;
    }
    auth->zap = zmq_loop_new(loop, socket, s_on_zap, auth);
    if (!auth->zap) {
        snprintf(err, err_size, "обработчик ZAP не встал в цикл событий");
        broker_auth_destroy(&auth);
        return NULL;
    }
    return auth;
}

broker_auth *broker_auth_open(uv_loop_t *loop, void *zmq_context, const char *keys_dir, char *err, size_t err_size)
{
    char path[4096];
    uint8_t public_key[MDP_CURVE_KEY_BYTES];
    uint8_t secret_key[MDP_CURVE_KEY_BYTES];
    if (curve_keys_path(path, sizeof path, keys_dir, CURVE_CLIENTS, "") != 0) {
        snprintf(err, err_size, "слишком длинный путь каталога ключей %s", keys_dir);
        return NULL;
    }
    curve_keys_path(path, sizeof path, keys_dir, CURVE_KEY_FILE, "");
    if (curve_key_file_read(path, public_key, secret_key, err, err_size) != 0)
        return NULL;
    curve_client_list clients;
    curve_keys_path(path, sizeof path, keys_dir, CURVE_CLIENTS, "");
    struct stat st;
    if (stat(path, &st) != 0 || curve_clients_read(path, &clients, err, err_size) != 0) {
        if (errno == ENOENT)
            snprintf(err, err_size, "нет списка ключей клиентов %s (создаётся командой metodnet-keys init)", path);
        sodium_memzero(secret_key, sizeof secret_key);
        return NULL;
    }
    broker_auth *auth = broker_auth_new(loop, zmq_context, secret_key, &clients, err, err_size);
    sodium_memzero(secret_key, sizeof secret_key);
    curve_clients_free(&clients);
    if (auth) {
        snprintf(auth->clients_path, sizeof auth->clients_path, "%s", path);
        auth->clients_stat = st;
    }
    return auth;
}

void broker_auth_security(broker_auth *auth, const char *local_endpoint, mdp_broker_security *out)
{
    memset(out, 0, sizeof *out);
    out->secret_key = auth->secret_key;
    out->local_endpoint = local_endpoint;
    auth->local_allowed = local_endpoint != NULL;
    out->admit_request = s_admit_request;
    out->admit_worker = s_admit_worker;
    out->ud = auth;
}

uint64_t broker_auth_refused_keys(const broker_auth *auth)
{
    return auth->refused_keys;
}

void broker_auth_destroy(broker_auth **authp)
{
    if (!authp || !*authp)
        return;
    broker_auth *auth = *authp;
    *authp = NULL;
    zmq_loop_close(&auth->zap, 0);
    curve_clients_free(&auth->clients);
    sodium_memzero(auth->secret_key, sizeof auth->secret_key);
    free(auth);
}
