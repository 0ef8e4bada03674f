/* metodnet-mentoring — the mentoring service process (support programmes, mentors, pairs, matching). */
#include "mentoring.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return mentoring_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    mentoring_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {"mentoring", "служба наставничества", s_start, s_stop, NULL};
    return service_process_main(&process, argc, argv);
}
