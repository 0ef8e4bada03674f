/* mdp — the shared heartbeat settings of MDP broker, workers and clients, read from the environment,
 * and the Curve client options of a worker's or client's socket. */
#include "mdp.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

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
