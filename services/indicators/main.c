/* metodnet-indicators — the indicators service process (I1–I13, targets, snapshots, recommendations). */
#include "indicators.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return indicators_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    indicators_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {"indicators", "служба показателей", s_start, s_stop, NULL};
    return service_process_main(&process, argc, argv);
}
