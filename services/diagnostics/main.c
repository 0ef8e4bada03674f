/* metodnet-diagnostics — the diagnostics service process (competence frameworks, instruments,
 * campaigns, attempts, results, individual educational routes). */
#include "diagnostics.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return diagnostics_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    diagnostics_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {"diagnostics", "служба диагностики", s_start, s_stop, NULL};
    return service_process_main(&process, argc, argv);
}
