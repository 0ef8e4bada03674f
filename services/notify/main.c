/* metodnet-notify — the notifications service process (webhook subscriptions, signed deliveries with
 * retries, the notification feed). */
#include "notify.h"
#include "service_process.h"

static void *s_start(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    return notify_new(loop, zmq_context, cfg, link);
}

static void s_stop(void *service, void (*done)(void *ud), void *ud)
{
    notify_shutdown(service, done, ud);
}

int main(int argc, char **argv)
{
    static const service_process process = {
        "notify", "служба уведомлений", s_start, s_stop,
        "Переменные окружения: METODNET_WEBHOOK_ALLOW_PRIVATE=1 (разрешить адреса частных сетей), "
        "METODNET_WEBHOOK_TIMEOUT_MS (15000), METODNET_WEBHOOK_RETRY_SCHEDULE (секунды между попытками, "
        "через запятую), METODNET_NOTIFY_REGIONS_MS (10000), METODNET_NOTIFY_CONSUMER (notify).\n"};
    return service_process_main(&process, argc, argv);
}
