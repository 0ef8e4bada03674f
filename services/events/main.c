/* metodnet-events — the events service process (plans of events, events, registrations, attendance). */
#include "events.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return events_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    events_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {"events", "служба мероприятий", s_start, s_stop, NULL};
    return service_process_main(&process, argc, argv);
}
