/* notify — the notifications service: its parts, settings, method table, the regions it serves (asked
 * from the registry) and the timers that drive the consumer and the deliveries (see notify.h). */
#include "notify_internal.h"

#include <curl/curl.h>

#include "log.h"
#include "notify_service.pb-c.h"
#include "registry.pb-c.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

const char *const notify_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
const char *const notify_denied_ru = "Недостаточно прав для этого действия";

const char *const notify_types[] = {"event.published",
                                    "event.changed",
                                    "event.cancelled",
                                    "event.finished",
                                    "eventPlan.approved",
                                    "eventPlan.changed",
                                    NULL};

bool notify_type_known(const char *type)
{
    for (const char *const *t = notify_types; type && *t; t++)
        if (strcmp(*t, type) == 0)
            return true;
    return false;
}

static const double s_default_schedule[NOTIFY_SCHEDULE] = {5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400};

static const service_handler_entry s_handlers[] = {
    {"CreateWebhook", notify_create_webhook},         {"GetWebhook", notify_get_webhook},
    {"DeleteWebhook", notify_delete_webhook},         {"ListWebhooks", notify_list_webhooks},
    {"EnableWebhook", notify_enable_webhook},         {"DisableWebhook", notify_disable_webhook},
    {"ListDeliveries", notify_list_deliveries},       {"RetryDelivery", notify_retry_delivery},
    {"ListNotifications", notify_list_notifications}, {"GetNotificationHeads", notify_get_heads},
};

static const service_methods s_methods = {&metodnet__notify__descriptor, s_handlers,
                                          sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *notify_methods(void)
{
    return &s_methods;
}

notify_region *notify_region_find(notify *n, const char *region)
{
    for (size_t i = 0; region && i < n->n_regions; i++)
        if (strcmp(n->regions[i].id, region) == 0)
            return &n->regions[i];
    return NULL;
}

bool notify_caller_region(const Metodnet__Principal *caller, const char *given, char out[8])
{
    const char *region = NULL;
    if (scope_is_global(caller))
        region = given;
    else if (caller && caller->role != METODNET__ROLE__ROLE_UNSPECIFIED)
        region = caller->region_id;
    if (given && *given && region && strcmp(given, region) != 0)
        return false;
    if (region == NULL || strlen(region) != 2 || region[0] < '0' || region[0] > '9' || region[1] < '0' ||
        region[1] > '9')
        return false;
    memcpy(out, region, 3);
    return true;
}

/* ---------- regions: the registry's list, asked again every regions_every_ms ---------- */

static void s_ask_regions(notify *n, const char *cursor);

static void s_on_regions(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    notify *n = ud;
    n->regions_asking = false;
    if (n->stopping)
        return;
    if (status->code != METODNET__STATUS_CODE__STATUS_CODE_OK) {
        log_warn(NULL, "список регионов у реестра не получен: %s", status->message ? status->message : "?");
        return;
    }
    const Metodnet__ListRegionsResponse *r = (const Metodnet__ListRegionsResponse *)response;
    for (size_t i = 0; i < r->n_items; i++) {
        const char *id = r->items[i]->id;
        if (id == NULL || strlen(id) != 2 || notify_region_find(n, id) != NULL)
            continue;
        if (n->n_regions == NOTIFY_REGIONS_MAX) {
            log_error(NULL, "регионов больше %d: регион %s не обслуживается", NOTIFY_REGIONS_MAX, id);
            continue;
        }
        notify_region *region = &n->regions[n->n_regions++];
        memset(region, 0, sizeof *region);
        memcpy(region->id, id, 3);
        log_info(NULL, "уведомления региона %s: читаю ev:{r:%s}:events", id, id);
    }
    if (r->next_cursor && *r->next_cursor)
        s_ask_regions(n, r->next_cursor);
}

static void s_ask_regions(notify *n, const char *cursor)
{
    Metodnet__ListRegionsRequest req = METODNET__LIST_REGIONS_REQUEST__INIT;
    req.limit = 500;
    req.cursor = (char *)(cursor ? cursor : "");
    service_client_request call = {
        .service = "registry",
        .method = "ListRegions",
        .request = &req.base,
        .response = &metodnet__list_regions_response__descriptor,
        .caller = service_client_system_principal(),
        .request_id = "notify-regions",
        .timeout_ms = 5000,
    };
    if (service_client_call(n->registry, &call, s_on_regions, n) == 0)
        n->regions_asking = true;
}

static void s_on_regions_timer(uv_timer_t *timer)
{
    notify *n = timer->data;
    if (!n->regions_asking && !n->stopping)
        s_ask_regions(n, NULL);
}

static void s_on_read_timer(uv_timer_t *timer)
{
    notify *n = timer->data;
    if (!n->stopping)
        notify_consumer_tick(n);
}

static void s_on_due_timer(uv_timer_t *timer)
{
    notify *n = timer->data;
    if (!n->stopping)
        notify_delivery_tick(n);
}

/* ---------- settings ---------- */

static uint32_t s_env_ms(const char *name, uint32_t fallback)
{
    const char *v = getenv(name);
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    return v && end != v && *end == '\0' && x > 0 && x < 86400000 ? (uint32_t)x : fallback;
}

static void s_settings(notify *n)
{
    const char *p = getenv("METODNET_WEBHOOK_ALLOW_PRIVATE");
    n->allow_private = p && strcmp(p, "1") == 0;
    n->timeout_ms = s_env_ms("METODNET_WEBHOOK_TIMEOUT_MS", 15000);
    n->regions_every_ms = s_env_ms("METODNET_NOTIFY_REGIONS_MS", 10000);
    n->max_in_flight = s_env_ms("METODNET_WEBHOOK_MAX_IN_FLIGHT", 2000);
    memcpy(n->schedule_s, s_default_schedule, sizeof n->schedule_s);
    /* METODNET_WEBHOOK_RETRY_SCHEDULE: seconds between attempts, comma-separated (tests shorten it) */
    const char *s = getenv("METODNET_WEBHOOK_RETRY_SCHEDULE");
    for (size_t i = 0; s && *s && i < NOTIFY_SCHEDULE; i++) {
        char *end = NULL;
        double x = strtod(s, &end);
        if (end == s || x <= 0)
            break;
        n->schedule_s[i] = x;
        for (size_t j = i + 1; j < NOTIFY_SCHEDULE; j++)
            n->schedule_s[j] = x; /* the last one given repeats */
        s = *end == ',' ? end + 1 : end;
    }
    const char *c = getenv("METODNET_NOTIFY_CONSUMER");
    snprintf(n->consumer, sizeof n->consumer, "%s", c && *c && strlen(c) < 60 ? c : "notify");
}

/* ---------- the service ---------- */

static uv_timer_t *s_timer(notify *n, uv_timer_cb cb, uint64_t every_ms)
{
    uv_timer_t *t = xcalloc(1, sizeof *t);
    uv_timer_init(n->loop, t);
    t->data = n;
    uv_timer_start(t, cb, every_ms > 100 ? 50 : every_ms, every_ms);
    return t;
}

static void s_free_handle(uv_handle_t *h)
{
    free(h);
}

static void s_close_timer(uv_timer_t **t)
{
    if (*t) {
        uv_timer_stop(*t);
        uv_close((uv_handle_t *)*t, s_free_handle);
        *t = NULL;
    }
}

static void s_free_parts(notify *n)
{
    n->freeing = true;
    s_close_timer(&n->regions_timer);
    s_close_timer(&n->read_timer);
    s_close_timer(&n->due_timer);
    notify_http_destroy(&n->http);
    service_client_destroy(&n->registry);
    audit_destroy(&n->audit);
    entity_store_destroy(&n->store);
    free(n);
    curl_global_cleanup();
}

notify *notify_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    notify *n = xcalloc(1, sizeof *n);
    n->loop = loop;
    n->link = link;
    s_settings(n);
    n->store = entity_store_new(link);
    n->audit = audit_new(link, "notify");
    n->registry = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    n->http = notify_http_new(loop, n->allow_private, n->timeout_ms);
    n->record_script = redis_link_script(link, notify_record_lua);
    n->claim_script = redis_link_script(link, notify_claim_lua);
    n->complete_script = redis_link_script(link, notify_complete_lua);
    n->retry_script = redis_link_script(link, notify_retry_lua);
    n->deliveries_script = redis_link_script(link, notify_deliveries_lua);
    if (n->store == NULL || n->audit == NULL || n->registry == NULL || n->http == NULL || n->record_script == NULL ||
        n->claim_script == NULL || n->complete_script == NULL || n->retry_script == NULL ||
        n->deliveries_script == NULL) {
        s_free_parts(n);
        return NULL;
    }
    n->engine.store = n->store;
    n->engine.audit = n->audit;
    n->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "notify",
                                   cfg->concurrency, cfg->heartbeat, &s_methods, n);
    if (n->worker == NULL) {
        s_free_parts(n);
        return NULL;
    }
    n->regions_timer = s_timer(n, s_on_regions_timer, n->regions_every_ms);
    n->read_timer = s_timer(n, s_on_read_timer, 100);
    n->due_timer = s_timer(n, s_on_due_timer, 100);
    return n;
}

void notify_ref(notify *n)
{
    n->refs++;
}

void notify_unref(notify *n)
{
    if (--n->refs == 0 && n->released && !n->freeing)
        s_free_parts(n);
}

/* The worker has answered its last request; background work may still wait for Redis (its replies come,
 * or fail with "closed" when the process closes the link): the last of it frees the service. */
static void s_release(void *service)
{
    notify *n = service;
    notify_ref(n); /* the aborted attempts below drop theirs */
    n->released = true;
    notify_http_destroy(&n->http); /* attempts in flight end (their deliveries come due again) */
    notify_unref(n);
}

void notify_shutdown(notify *n, void (*done)(void *ud), void *ud)
{
    n->stopping = true;
    s_close_timer(&n->regions_timer);
    s_close_timer(&n->read_timer);
    s_close_timer(&n->due_timer);
    service_worker_stop_service(n->worker, 3000, s_release, n, done, ud);
}
