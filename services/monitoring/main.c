/* metodnet-monitoring — the monitoring service process (campaigns, the schools' reports, snapshots). */
#include "monitoring.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return monitoring_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    monitoring_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {"monitoring", "служба мониторинга", s_start, s_stop, NULL};
    return service_process_main(&process, argc, argv);
}
