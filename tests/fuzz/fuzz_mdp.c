/* fuzz_mdp — libFuzzer target for the decoding of MDP frames (common/mdp.c) and of the request
 * Envelope a service opens (common/request_envelope.c). The first input byte picks who receives the
 * message (the broker, a worker or a client: byte % 3) and, for envelopes, the service (registry or
 * diagnostics: byte / 3 % 2); the rest is split into frames, each a 2-byte big-endian length and its
 * bytes (the last one takes what is left). A decoded message must point inside its frames within the
 * protocol's limits, its body joins to the bytes of its frames, and a request body either opens (its
 * payload unpacks and packs back to the same bytes) or is refused with a status and a Russian message
 * in UTF-8. Built and run by ops/fuzz, seeds in corpus/mdp/ (frames as the gateway and workers send them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnostics_service.pb-c.h"
#include "mdp.h"
#include "registry_service.pb-c.h"
#include "request_envelope.h"
#include "utf8.h"

/* A broken property: says which one, then aborts (libFuzzer keeps the input). */
#define S_BROKEN(what) (fprintf(stderr, "%s\n", what), abort())

#define S_FRAMES_MAX 32              /* ZMQ_LOOP_MAX_FRAMES: zmq_loop drops longer messages before decoding */
#define S_NOW_MS     1800000000000LL /* a fixed "now" (15 Jan 2027) for the deadline check */

static bool s_inside(const void *part, size_t len, zmq_msg_t *frame)
{
    const uint8_t *start = zmq_msg_data(frame);
    return part == (const void *)start && len == zmq_msg_size(frame);
}

static void s_open_envelope(const uint8_t *body, size_t len, unsigned which)
{
    const ProtobufCServiceDescriptor *service =
        which ? &metodnet__diagnostics__descriptor : &metodnet__registry__descriptor;
    request_envelope_opened opened;
    char message[256];
    memset(message, 'x', sizeof message);
    Metodnet__StatusCode code = request_envelope_open(service, which ? "diagnostics" : "registry", body, len, S_NOW_MS,
                                                      &opened, message, sizeof message);
    if (memchr(message, '\0', sizeof message) == NULL || !utf8_valid(message, strlen(message)))
        S_BROKEN("the message of an envelope is not UTF-8 text");
    if (code == METODNET__STATUS_CODE__STATUS_CODE_OK) {
        if (!opened.envelope || !opened.method || !opened.request || opened.request->descriptor != opened.method->input)
            S_BROKEN("an opened envelope misses a part");
        size_t packed_len = protobuf_c_message_get_packed_size(opened.request);
        uint8_t *packed = malloc(packed_len ? packed_len : 1);
        protobuf_c_message_pack(opened.request, packed);
        ProtobufCMessage *again = protobuf_c_message_unpack(opened.method->input, NULL, packed_len, packed);
        if (again == NULL)
            S_BROKEN("a request that unpacked does not unpack after packing");
        size_t again_len = protobuf_c_message_get_packed_size(again);
        uint8_t *repacked = malloc(again_len ? again_len : 1);
        protobuf_c_message_pack(again, repacked);
        if (again_len != packed_len || memcmp(repacked, packed, packed_len) != 0)
            S_BROKEN("a request packs to other bytes after a round trip");
        free(repacked);
        protobuf_c_message_free_unpacked(again, NULL);
        free(packed);
    } else {
        if (message[0] == '\0' || opened.request != NULL)
            S_BROKEN("a refused envelope without a message, or with a request");
        if (code == METODNET__STATUS_CODE__STATUS_CODE_UNIMPLEMENTED && (!opened.envelope || opened.method))
            S_BROKEN("an unknown method with a method");
    }
    request_envelope_opened_free(&opened);
    if (opened.envelope || opened.request)
        S_BROKEN("the opened envelope was not cleared");
}

static void s_check(zmq_msg_t *frames, size_t count, unsigned role, unsigned which)
{
    mdp_message m;
    mdp_message_kind kind = role == 0   ? mdp_decode_at_broker(frames, count, &m)
                            : role == 1 ? mdp_decode_at_worker(frames, count, &m)
                                        : mdp_decode_at_client(frames, count, &m);
    if (kind != m.kind)
        S_BROKEN("the kind returned is not the kind stored");
    if (kind == MDP_MESSAGE_INVALID || kind == MDP_MESSAGE_UNKNOWN)
        return;
    if (role == 0 &&
        (m.identity_len == 0 || m.identity_len > MDP_ADDRESS_MAX || !s_inside(m.identity, m.identity_len, &frames[0])))
        S_BROKEN("a routing id outside frame 0 or its limits");
    if ((kind == MDP_MESSAGE_CLIENT_REQUEST || kind == MDP_MESSAGE_READY) &&
        !mdp_service_name_valid(m.service, m.service_len))
        S_BROKEN("a request or READY for an invalid service name");
    bool addressed =
        kind == MDP_MESSAGE_REQUEST || (role == 0 && (kind == MDP_MESSAGE_PARTIAL || kind == MDP_MESSAGE_FINAL));
    if (addressed &&
        (m.address_len == 0 || m.address_len > MDP_ADDRESS_MAX ||
         !s_inside(m.address, m.address_len, &frames[m.body - 2]) || zmq_msg_size(&frames[m.body - 1]) != 0))
        S_BROKEN("a client address outside its frame or its limits");
    bool has_body = kind == MDP_MESSAGE_CLIENT_REQUEST || kind == MDP_MESSAGE_REQUEST || kind == MDP_MESSAGE_PARTIAL ||
                    kind == MDP_MESSAGE_FINAL;
    if (!has_body) {
        if (m.body != 0)
            S_BROKEN("a body for a command without one");
        return;
    }
    if (m.body == 0 || m.body >= count)
        S_BROKEN("a body that is not inside the message");
    size_t len = 0;
    uint8_t *owned = NULL;
    const uint8_t *body = mdp_join_body(frames, m.body, count, &len, &owned);
    size_t at = 0;
    for (size_t i = m.body; i < count; i++) {
        size_t size = zmq_msg_size(&frames[i]);
        if (at + size > len || (size && memcmp(body + at, zmq_msg_data(&frames[i]), size) != 0))
            S_BROKEN("the joined body is not its frames");
        at += size;
    }
    if (at != len || (count - m.body > 1) != (owned != NULL))
        S_BROKEN("the joined body has another length, or owns what it borrowed");
    if (kind == MDP_MESSAGE_CLIENT_REQUEST || kind == MDP_MESSAGE_REQUEST)
        s_open_envelope(body, len, which);
    free(owned);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned role = data[0] % 3, which = data[0] / 3 % 2;
    zmq_msg_t frames[S_FRAMES_MAX];
    size_t count = 0, at = 1;
    while (at < size && count < S_FRAMES_MAX) {
        size_t len = at + 2 <= size ? (size_t)data[at] << 8 | data[at + 1] : 0;
        at = at + 2 <= size ? at + 2 : size;
        if (len > size - at)
            len = size - at;
        zmq_msg_init_size(&frames[count], len);
        if (len)
            memcpy(zmq_msg_data(&frames[count]), data + at, len);
        at += len;
        count++;
    }
    if (count > 0)
        s_check(frames, count, role, which);
    for (size_t i = 0; i < count; i++)
        zmq_msg_close(&frames[i]);
    return 0;
}
