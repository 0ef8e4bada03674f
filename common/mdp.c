/* mdp — the shared heartbeat settings of MDP broker, workers and clients, read from the environment,
 * the Curve client options of a worker's or client's socket, and the decoding of the frames they
 * receive (see mdp.h). */
#include "mdp.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>
#include <string.h>

/* Parses a decimal in [min, max] from the environment variable name; fallback when unset or bad. */
static uint32_t s_env_u32(const char *name, uint32_t fallback, uint32_t min, uint32_t max)
{
    const char *text = getenv(name);
    if (!text || !*text)
        return fallback;
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || text[0] == '-' || value < min || value > max)
        return fallback;
    return (uint32_t)value;
}

mdp_heartbeat mdp_heartbeat_from_env(void)
{
    mdp_heartbeat heartbeat;
    heartbeat.interval_ms = s_env_u32("METODNET_HEARTBEAT_MS", 1000, 10, 3600000);
    heartbeat.liveness = s_env_u32("METODNET_HEARTBEAT_LIVENESS", 3, 1, 100);
    return heartbeat;
}

int mdp_curve_apply(void *socket, const mdp_curve_keys *keys)
{
    if (!keys)
        return 0;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, keys->broker_public, MDP_CURVE_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, keys->public_key, MDP_CURVE_KEY_BYTES) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, keys->secret_key, MDP_CURVE_KEY_BYTES) != 0)
        return -1;
    return 0;
}

bool mdp_service_name_valid(const void *name, size_t len)
{
    const unsigned char *bytes = name;
    if (len == 0 || len > MDP_SERVICE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (bytes[i] <= 0x20 || bytes[i] >= 0x7f)
            return false;
    return true;
}

static bool s_frame_is(zmq_msg_t *frame, const char *text, size_t len)
{
    return zmq_msg_size(frame) == len && memcmp(zmq_msg_data(frame), text, len) == 0;
}

/* The command byte of a one-byte frame, -1 for any other frame. */
static int s_command(zmq_msg_t *frame)
{
    return zmq_msg_size(frame) == 1 ? *(const uint8_t *)zmq_msg_data(frame) : -1;
}

static void s_set_service(mdp_message *out, zmq_msg_t *frame)
{
    out->service = zmq_msg_data(frame);
    out->service_len = zmq_msg_size(frame);
}

/* [client address] [empty] [body]+ from index at: the address of a request or a reply to one. */
static bool s_addressed(zmq_msg_t *frames, size_t count, size_t at, mdp_message *out)
{
    if (count < at + 3)
        return false;
    size_t address_len = zmq_msg_size(&frames[at]);
    if (address_len == 0 || address_len > MDP_ADDRESS_MAX || zmq_msg_size(&frames[at + 1]) != 0)
        return false;
    out->address = zmq_msg_data(&frames[at]);
    out->address_len = address_len;
    out->body = at + 2;
    return true;
}

static mdp_message_kind s_result(mdp_message *out, mdp_message_kind kind)
{
    out->kind = kind;
    return kind;
}

mdp_message_kind mdp_decode_at_broker(zmq_msg_t *frames, size_t count, mdp_message *out)
{
    memset(out, 0, sizeof *out);
    if (count < 3 || zmq_msg_size(&frames[0]) == 0 || zmq_msg_size(&frames[0]) > MDP_ADDRESS_MAX)
        return MDP_MESSAGE_INVALID;
    out->identity = zmq_msg_data(&frames[0]);
    out->identity_len = zmq_msg_size(&frames[0]);
    int command = s_command(&frames[2]);
    if (s_frame_is(&frames[1], MDP_CLIENT, 6)) {
        if (count < 5 || command != MDP_CLIENT_REQUEST ||
            !mdp_service_name_valid(zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3])))
            return MDP_MESSAGE_INVALID;
        s_set_service(out, &frames[3]);
        out->body = 4;
        return s_result(out, MDP_MESSAGE_CLIENT_REQUEST);
    }
    if (!s_frame_is(&frames[1], MDP_WORKER, 6))
        return MDP_MESSAGE_INVALID;
    switch (command) {
    case MDP_WORKER_READY:
        if (count != 4 || !mdp_service_name_valid(zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3])))
            return MDP_MESSAGE_INVALID;
        s_set_service(out, &frames[3]);
        return s_result(out, MDP_MESSAGE_READY);
    case MDP_WORKER_HEARTBEAT:
        return count == 3 ? s_result(out, MDP_MESSAGE_HEARTBEAT) : MDP_MESSAGE_INVALID;
    case MDP_WORKER_DISCONNECT:
        return count == 3 ? s_result(out, MDP_MESSAGE_DISCONNECT) : MDP_MESSAGE_INVALID;
    case MDP_WORKER_PARTIAL:
    case MDP_WORKER_FINAL:
        if (!s_addressed(frames, count, 3, out))
            return MDP_MESSAGE_INVALID;
        return s_result(out, command == MDP_WORKER_PARTIAL ? MDP_MESSAGE_PARTIAL : MDP_MESSAGE_FINAL);
    default: /* unknown, or a broker-to-worker command */
        return MDP_MESSAGE_INVALID;
    }
}

mdp_message_kind mdp_decode_at_worker(zmq_msg_t *frames, size_t count, mdp_message *out)
{
    memset(out, 0, sizeof *out);
    if (count < 2 || !s_frame_is(&frames[0], MDP_WORKER, 6) || zmq_msg_size(&frames[1]) != 1)
        return MDP_MESSAGE_INVALID;
    switch (s_command(&frames[1])) {
    case MDP_WORKER_HEARTBEAT:
        return s_result(out, MDP_MESSAGE_HEARTBEAT);
    case MDP_WORKER_DISCONNECT:
        return s_result(out, count == 2 ? MDP_MESSAGE_DISCONNECT : MDP_MESSAGE_UNKNOWN);
    case MDP_WORKER_REQUEST:
        return s_result(out, s_addressed(frames, count, 2, out) ? MDP_MESSAGE_REQUEST : MDP_MESSAGE_UNKNOWN);
    default:
        return s_result(out, MDP_MESSAGE_UNKNOWN);
    }
}

mdp_message_kind mdp_decode_at_client(zmq_msg_t *frames, size_t count, mdp_message *out)
{
    memset(out, 0, sizeof *out);
    if (count < 4 || !s_frame_is(&frames[0], MDP_CLIENT, 6))
        return MDP_MESSAGE_INVALID;
    int command = s_command(&frames[1]);
    if (command != MDP_CLIENT_PARTIAL && command != MDP_CLIENT_FINAL)
        return MDP_MESSAGE_INVALID;
    s_set_service(out, &frames[2]);
    out->body = 3;
    return s_result(out, command == MDP_CLIENT_PARTIAL ? MDP_MESSAGE_PARTIAL : MDP_MESSAGE_FINAL);
}

const uint8_t *mdp_join_body(zmq_msg_t *frames, size_t first, size_t count, size_t *len, uint8_t **owned)
{
    *owned = NULL;
    if (count - first == 1) {
        *len = zmq_msg_size(&frames[first]);
        return zmq_msg_data(&frames[first]);
    }
    size_t total = 0;
    for (size_t i = first; i < count; i++)
        total += zmq_msg_size(&frames[i]);
    uint8_t *buffer = malloc(total ? total : 1);
    if (!buffer)
        return NULL;
    size_t at = 0;
    for (size_t i = first; i < count; i++) {
        size_t size = zmq_msg_size(&frames[i]);
        if (size)
            memcpy(buffer + at, zmq_msg_data(&frames[i]), size);
        at += size;
    }
    *len = total;
    *owned = buffer;
    return buffer;
}
