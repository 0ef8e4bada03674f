/* mdp — the shared heartbeat settings of MDP broker, workers and clients, read from the environment. */
#include "mdp.h"

#include <errno.h>
#include <stdlib.h>

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
