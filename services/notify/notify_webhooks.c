/* notify_webhooks — webhook subscriptions on the entity engine (create, get, delete, list through the
 * generic handlers; enable and disable (a pause by hand) as the service's own flow, since their answer must
 * not carry the secret) and the log of a subscription's deliveries (list, retry).
 *
 * Who manages a subscription: a school system's API key only its own (owner_key_id; the scope comes
 * from the key); people — the region's administrators the region's, a methodologist its
 * municipality's, a school administrator its school's; teachers none. A subscription they may not
 * manage answers as one that does not exist. The secret is shown in the answer to the creation only.
 *
 * Indexes (only while enabled; the consumer fans a notification out through them, no decoding in Lua):
 *   ntf:{r:R}:ix:wht:<type>:all          every subscription to <type> ("*" = every type)
 *   ntf:{r:R}:ix:wht:<type>:m:<mun>      those of a municipality (and its schools)
 *   ntf:{r:R}:ix:wht:<type>:r            those of the whole region
 */
#include "notify_internal.h"

#include <sodium.h>

#include "clock.h"
#include "log.h"
#include "notify_sign.h"
#include "pbfield.h"
#include "pbjson.h"
#include "validate.h"
#include "xalloc.h"

static const char *const s_region_fields[] = {"region_id", NULL};
static const char *const s_immutable[] = {"id",     "region_id",    "version", "created_at", "updated_at",
                                          "secret", "owner_key_id", "status",  NULL};

static bool s_allow_private(void)
{
    const char *p = getenv("METODNET_WEBHOOK_ALLOW_PRIVATE");
    return p && strcmp(p, "1") == 0;
}

static bool s_set(const char *value)
{
    return value && *value;
}

static void s_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Webhook *w = (const Metodnet__Webhook *)msg;
    if (!s_set(w->url))
        validation_add(v, "url", "Укажите адрес (url), на который отправлять уведомления");
    else if (!notify_url_valid(w->url, s_allow_private()))
        validation_add(v, "url",
                       "Адрес должен начинаться с http:// или https://, без пробелов и без логина с паролем, не "
                       "длиннее 2000 знаков и не вести в частную или локальную сеть");
    if (w->n_event_types > 6)
        validation_add(v, "eventTypes", "Не более 6 типов уведомлений");
    for (size_t i = 0; i < w->n_event_types && i < 6; i++) {
        char field[32];
        snprintf(field, sizeof field, "eventTypes[%zu]", i);
        if (!notify_type_known(w->event_types[i]))
            validation_add(v, field,
                           "Неизвестный тип уведомления: допустимы event.published, event.changed, "
                           "event.cancelled, event.finished, eventPlan.approved, eventPlan.changed");
        for (size_t j = 0; j < i; j++)
            if (strcmp(w->event_types[i], w->event_types[j]) == 0)
                validation_add(v, field, "Тип указан дважды");
    }
    if (s_set(w->municipality_id) && !id_valid(w->municipality_id))
        validation_add(v, "municipalityId", "Некорректный идентификатор муниципального образования");
    if (s_set(w->organization_id) && !id_valid(w->organization_id))
        validation_add(v, "organizationId", "Некорректный идентификатор организации");
    if (s_set(w->organization_id) && !s_set(w->municipality_id))
        validation_add(v, "municipalityId", "Для подписки организации укажите и её муниципальное образование");
    validate_text(v, "description", w->description, 500, false);
}

static void s_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__Webhook *w = (const Metodnet__Webhook *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = w->region_id;
    if (s_set(w->municipality_id)) {
        out->municipalities[0] = w->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    if (s_set(w->organization_id)) {
        out->organizations[0] = w->organization_id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
}

static void s_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__Webhook *w = (const Metodnet__Webhook *)msg;
    entity_layout_index(out, w->id, "ntf:{r:%s}:ix:webhook", w->region_id);
    if (s_set(w->owner_key_id))
        entity_layout_token(out, "key", w->owner_key_id);
    if (w->status != METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_ENABLED)
        return;
    size_t n = w->n_event_types ? w->n_event_types : 1;
    for (size_t i = 0; i < n; i++) {
        const char *type = w->n_event_types ? w->event_types[i] : "*";
        entity_layout_index(out, w->id, "ntf:{r:%s}:ix:wht:%s:all", w->region_id, type);
        if (s_set(w->municipality_id))
            entity_layout_index(out, w->id, "ntf:{r:%s}:ix:wht:%s:m:%s", w->region_id, type, w->municipality_id);
        else
            entity_layout_index(out, w->id, "ntf:{r:%s}:ix:wht:%s:r", w->region_id, type);
    }
}

static bool s_redact(ProtobufCMessage *msg, const Metodnet__Principal *caller)
{
    (void)caller;
    bool had = pbfield_string(msg, "secret")[0] != '\0';
    pbfield_set_string(msg, "secret", "");
    return had;
}

static bool s_eq(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

/* The same rule for reading and changing (docs/notifications.md, «Кто управляет подписками»). */
static bool s_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    (void)access;
    const Metodnet__Webhook *w = (const Metodnet__Webhook *)msg;
    if (caller == NULL)
        return false;
    if (scope_is_global(caller))
        return true;
    if (!s_eq(caller->region_id, w->region_id))
        return false;
    switch (caller->role) {
    case METODNET__ROLE__ROLE_SCHOOL_SYSTEM:
        return s_eq(caller->user_id, w->owner_key_id);
    case METODNET__ROLE__ROLE_REGION_ADMIN:
    case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
    case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
        break;
    default:
        return false;
    }
    switch (caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return s_eq(caller->scope_id, w->region_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        return s_eq(caller->scope_id, w->municipality_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        return s_eq(caller->scope_id, w->organization_id);
    default:
        return false;
    }
}

static void s_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Webhook *w = (Metodnet__Webhook *)msg;
    w->status = METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_ENABLED;
    pbfield_set_string(msg, "disabled_reason", "");
    pbfield_set_string(msg, "disabled_at", "");
}

const entity_kind notify_webhook_kind = {
    .prefix = "ntf",
    .name = "webhook",
    .id_letter = 'w',
    .json_field = "webhook",
    .descriptor = &metodnet__webhook__descriptor,
    .not_found_ru = "Подписка не найдена",
    .exists_ru = "Такая подписка уже есть",
    .not_empty_ru = "Подписку нельзя удалить",
    .immutable = s_immutable,
    .region_fields = s_region_fields,
    .list_unnarrowed = true,
    .validate = s_validate,
    .territory = s_territory,
    .layout = s_layout,
    .redact = s_redact,
    .allows = s_allows,
    .on_create = s_on_create,
};

/* ---------- create: the scope from the caller, then the engine ---------- */

void notify_create_webhook(service_call *call, const ProtobufCMessage *request, void *ud)
{
    notify *n = ud;
    Metodnet__CreateWebhookRequest *req = (Metodnet__CreateWebhookRequest *)request; /* owned by the call */
    const Metodnet__Principal *caller = service_call_caller(call);
    if (req->webhook == NULL) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT,
                          "Тело запроса — подписка: {\"url\": …, \"eventTypes\": […]}");
        return;
    }
    ProtobufCMessage *w = &req->webhook->base;
    const char *given_mun = req->webhook->municipality_id, *given_org = req->webhook->organization_id;
    char mun[72] = "", org[72] = "", region[8] = "";
    snprintf(mun, sizeof mun, "%s", given_mun ? given_mun : "");
    snprintf(org, sizeof org, "%s", given_org ? given_org : "");
    bool global = scope_is_global(caller);
    bool school =
        caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM || caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN;
    if (!global) {
        switch (caller->role) {
        case METODNET__ROLE__ROLE_SCHOOL_SYSTEM:
        case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
            if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY) {
                snprintf(mun, sizeof mun, "%s", caller->scope_id);
                org[0] = '\0';
            } else if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION) {
                snprintf(mun, sizeof mun, "%s", caller->municipality_id ? caller->municipality_id : "");
                snprintf(org, sizeof org, "%s", caller->scope_id);
            } else if (caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN) {
                service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, notify_denied_ru);
                return;
            }
            break;
        case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
            if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY && !s_set(mun))
                snprintf(mun, sizeof mun, "%s", caller->scope_id);
            break;
        case METODNET__ROLE__ROLE_REGION_ADMIN:
            break;
        default:
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, notify_denied_ru);
            return;
        }
    }
    /* a school's key or administrator subscribes for its own school only */
    if (!global && school &&
        ((s_set(given_mun) && strcmp(given_mun, mun) != 0) || (s_set(given_org) && strcmp(given_org, org) != 0))) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                          "Школа подписывается только на уведомления своей области: не указывайте другое "
                          "муниципальное образование или организацию");
        return;
    }
    if (!global)
        snprintf(region, sizeof region, "%s", caller->region_id ? caller->region_id : "");
    else if (s_set(req->webhook->region_id))
        snprintf(region, sizeof region, "%s", req->webhook->region_id);
    else if (s_set(mun))
        entity_region_of(mun, region, sizeof region);
    pbfield_set_string(w, "municipality_id", mun);
    pbfield_set_string(w, "organization_id", org);
    pbfield_set_string(w, "region_id", region);
    pbfield_set_string(w, "owner_key_id",
                       caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM && caller->user_id ? caller->user_id : "");
    pbfield_set_string(w, "created_by", caller->user_id ? caller->user_id : "");
    char secret[NOTIFY_SECRET_MAX];
    notify_secret_new(secret, sizeof secret);
    pbfield_set_string(w, "secret", secret);
    sodium_memzero(secret, sizeof secret);
    entity_create(&n->engine, call, request, &notify_webhook_kind);
}

void notify_get_webhook(service_call *call, const ProtobufCMessage *request, void *ud)
{
    notify *n = ud;
    entity_get(&n->engine, call, request, &notify_webhook_kind, "id");
}

void notify_delete_webhook(service_call *call, const ProtobufCMessage *request, void *ud)
{
    notify *n = ud;
    entity_delete(&n->engine, call, request, &notify_webhook_kind, "id");
}

void notify_list_webhooks(service_call *call, const ProtobufCMessage *request, void *ud)
{
    notify *n = ud;
    entity_list(&n->engine, call, request, &notify_webhook_kind, NULL);
}

/* ---------- the service's own flows on one loaded subscription ---------- */

typedef enum { OP_ENABLE, OP_DELIVERIES, OP_RETRY, OP_DISABLE, OP_PAUSE } op_what;

typedef struct {
    notify *n;
    service_call *call; /* NULL for OP_DISABLE */
    op_what what;
    const ProtobufCMessage *request;
    Metodnet__Webhook *current, *next;
    char id[72];
    char region[8];
    char reason[400];
} op;

static void s_op_free(op *o)
{
    notify *n = o->n;
    if (o->current)
        metodnet__webhook__free_unpacked(o->current, NULL);
    if (o->next)
        protobuf_c_message_free_unpacked(&o->next->base, NULL);
    free(o);
    notify_unref(n);
}

static void s_fail(op *o, Metodnet__StatusCode code, const char *message)
{
    if (o->call)
        service_call_fail(o->call, code, message);
    s_op_free(o);
}

static void s_after_load(op *o);

static void s_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, notify_webhook_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(o->call ? service_call_request_id(o->call) : NULL, "подписка %s не прочитана: %s", o->id,
                  error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        return;
    }
    o->current = metodnet__webhook__unpack(NULL, len, data);
    if (o->current == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись подписки повреждена; сообщите администратору");
        return;
    }
    if (o->call) {
        const Metodnet__Principal *caller = service_call_caller(o->call);
        if (!s_allows(caller, &o->current->base, SCOPE_READ)) {
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, notify_webhook_kind.not_found_ru);
            return;
        }
    }
    s_after_load(o);
}

static void s_start(notify *n, service_call *call, op_what what, const ProtobufCMessage *request, const char *id,
                    const char *reason)
{
    op *o = xcalloc(1, sizeof *o);
    notify_ref(n);
    snprintf(o->reason, sizeof o->reason, "%s", reason ? reason : "");
    o->n = n;
    o->call = call;
    o->what = what;
    o->request = request;
    snprintf(o->id, sizeof o->id, "%s", id ? id : "");
    char key[NOTIFY_KEY_MAX];
    if (!entity_kind_key(&notify_webhook_kind, o->id, key, sizeof key) ||
        !entity_region_of(o->id, o->region, sizeof o->region)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, notify_webhook_kind.not_found_ru);
        return;
    }
    if (entity_store_get(n->store, key, s_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
}

/* ---- enable / disable ---- */

static void s_saved(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH) {
        char message[200];
        entity_version_mismatch_ru(message, sizeof message, (long long)detail);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, message);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(o->call ? service_call_request_id(o->call) : NULL, "подписка %s не записана: %s", o->id,
                  error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        return;
    }
    if (o->call == NULL) {
        log_warn(NULL, "подписка %s отключена: %s", o->id, o->reason);
        s_op_free(o);
        return;
    }
    entity_kind_audit(&o->n->engine, o->call, &notify_webhook_kind, "update", o->id, o->region);
    s_redact(&o->next->base, NULL);
    service_call_reply(o->call, &o->next->base);
    s_op_free(o);
}

static void s_change_status(op *o, bool enable)
{
    o->next = (Metodnet__Webhook *)pbfield_clone(&o->current->base);
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    o->next->status =
        enable ? METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_ENABLED : METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_DISABLED;
    pbfield_set_string(&o->next->base, "disabled_reason", enable ? "" : o->reason);
    pbfield_set_string(&o->next->base, "disabled_at", enable ? "" : now);
    pbfield_set_string(&o->next->base, "updated_at", now);
    o->next->version = o->current->version + 1;
    if (entity_kind_save(o->n->store, &notify_webhook_kind, o->call, &o->current->base, &o->next->base, s_saved, o) !=
        0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
}

void notify_enable_webhook(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_start(ud, call, OP_ENABLE, request, ((const Metodnet__EnableWebhookRequest *)request)->id, NULL);
}

void notify_disable_webhook(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_start(ud, call, OP_PAUSE, request, ((const Metodnet__DisableWebhookRequest *)request)->id,
            "Приостановлена вручную: включите её снова, когда получатель будет готов");
}

void notify_webhook_disable(notify *n, const char *webhook_id, const char *reason_ru)
{
    s_start(n, NULL, OP_DISABLE, NULL, webhook_id, reason_ru);
}

/* ---- deliveries ---- */

static const char *s_hash_get(const redisReply *h, const char *field)
{
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return "";
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0 &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1]->str;
    return "";
}

static Metodnet__DeliveryStatus s_status_of(const char *word)
{
    if (strcmp(word, "pending") == 0)
        return METODNET__DELIVERY_STATUS__DELIVERY_STATUS_PENDING;
    if (strcmp(word, "succeeded") == 0)
        return METODNET__DELIVERY_STATUS__DELIVERY_STATUS_SUCCEEDED;
    if (strcmp(word, "failed") == 0)
        return METODNET__DELIVERY_STATUS__DELIVERY_STATUS_FAILED;
    if (strcmp(word, "cancelled") == 0)
        return METODNET__DELIVERY_STATUS__DELIVERY_STATUS_CANCELLED;
    return METODNET__DELIVERY_STATUS__DELIVERY_STATUS_UNSPECIFIED;
}

static char *s_time(const char *ms_text)
{
    char buf[40];
    long long ms = atoll(ms_text);
    if (ms <= 0)
        return xstrdup("");
    clock_rfc3339(ms, buf, sizeof buf);
    return xstrdup(buf);
}

/* A delivery from its hash (HGETALL) and log (LRANGE of packed DeliveryAttempt); free with
 * metodnet__webhook_delivery__free_unpacked(d, NULL). */
static Metodnet__WebhookDelivery *s_delivery(const char *id, const redisReply *hash, const redisReply *log)
{
    Metodnet__WebhookDelivery *d = xcalloc(1, sizeof *d);
    metodnet__webhook_delivery__init(d);
    d->id = xstrdup(id);
    d->webhook_id = xstrdup(s_hash_get(hash, "w"));
    d->notification_id = xstrdup(s_hash_get(hash, "n"));
    d->type = xstrdup(s_hash_get(hash, "t"));
    d->status = s_status_of(s_hash_get(hash, "s"));
    d->attempts = atoi(s_hash_get(hash, "a"));
    d->next_attempt_at =
        d->status == METODNET__DELIVERY_STATUS__DELIVERY_STATUS_PENDING ? s_time(s_hash_get(hash, "na")) : xstrdup("");
    d->last_response_code = atoi(s_hash_get(hash, "rc"));
    d->last_duration_ms = atoll(s_hash_get(hash, "dm"));
    d->last_error = xstrdup(s_hash_get(hash, "le"));
    d->last_response_excerpt = xstrdup(s_hash_get(hash, "lx"));
    d->created_at = s_time(s_hash_get(hash, "c"));
    d->updated_at = s_time(s_hash_get(hash, "u"));
    size_t n = log && log->type == REDIS_REPLY_ARRAY ? log->elements : 0;
    d->log = n ? xcalloc(n, sizeof *d->log) : NULL;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = log->element[i];
        Metodnet__DeliveryAttempt *a = e->type == REDIS_REPLY_STRING
                                           ? metodnet__delivery_attempt__unpack(NULL, e->len, (const uint8_t *)e->str)
                                           : NULL;
        if (a)
            d->log[d->n_log++] = a;
    }
    return d;
}

static void s_deliveries_listed(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        log_error(service_call_request_id(o->call), "журнал доставок %s не прочитан: %s", o->id,
                  error ? error : (reply && reply->str ? reply->str : "?"));
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        return;
    }
    const Metodnet__ListDeliveriesRequest *req = (const Metodnet__ListDeliveriesRequest *)o->request;
    size_t limit = req->limit > 0 && req->limit <= 500 ? (size_t)req->limit : 50;
    Metodnet__ListDeliveriesResponse resp = METODNET__LIST_DELIVERIES_RESPONSE__INIT;
    resp.items = reply->elements ? xcalloc(reply->elements, sizeof *resp.items) : NULL;
    const char *last_score = NULL;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 || e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        resp.items[resp.n_items++] = s_delivery(e->element[0]->str, e->element[2], e->element[3]);
        last_score = e->element[1]->type == REDIS_REPLY_STRING ? e->element[1]->str : NULL;
    }
    resp.next_cursor = (char *)(reply->elements == limit && last_score ? last_score : "");
    service_call_reply(o->call, &resp.base);
    for (size_t i = 0; i < resp.n_items; i++)
        metodnet__webhook_delivery__free_unpacked(resp.items[i], NULL);
    free(resp.items);
    s_op_free(o);
}

static void s_retried(const redisReply *reply, const char *error, void *ud)
{
    op *o = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        log_error(service_call_request_id(o->call), "повтор доставки не записан: %s",
                  error ? error : (reply && reply->str ? reply->str : "?"));
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        return;
    }
    if (reply->elements != 2) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, "Доставка не найдена");
        return;
    }
    const Metodnet__RetryDeliveryRequest *req = (const Metodnet__RetryDeliveryRequest *)o->request;
    Metodnet__WebhookDelivery *d = s_delivery(req->delivery_id, reply->element[0], reply->element[1]);
    entity_kind_audit(&o->n->engine, o->call, &notify_webhook_kind, "update", o->id, o->region);
    service_call_reply(o->call, &d->base);
    metodnet__webhook_delivery__free_unpacked(d, NULL);
    s_op_free(o);
}

static bool s_delivery_id_valid(const char *id, const char *region)
{
    if (id == NULL || strlen(id) > 40 || strncmp(id, region, 2) != 0 || strncmp(id + 2, "-d", 2) != 0 || id[4] == 0)
        return false;
    for (const char *p = id + 4; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static void s_after_load(op *o)
{
    notify *n = o->n;
    bool enabled = o->current->status == METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_ENABLED;
    if (o->what == OP_DISABLE) {
        if (!enabled) {
            s_op_free(o);
            return;
        }
        s_change_status(o, false);
        return;
    }
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (o->what != OP_DELIVERIES && !s_allows(caller, &o->current->base, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, notify_denied_ru);
        return;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ntf:{r:%s}:", o->region);
    if (o->what == OP_ENABLE || o->what == OP_PAUSE) {
        /* both requests are {id, expected_version}; already in the wanted state: answered as it is */
        int64_t expected = o->what == OP_ENABLE
                               ? ((const Metodnet__EnableWebhookRequest *)o->request)->expected_version
                               : ((const Metodnet__DisableWebhookRequest *)o->request)->expected_version;
        if (expected > 0 && expected != o->current->version) {
            char message[200];
            entity_version_mismatch_ru(message, sizeof message, (long long)o->current->version);
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, message);
            return;
        }
        if (enabled == (o->what == OP_ENABLE)) {
            s_redact(&o->current->base, NULL);
            service_call_reply(o->call, &o->current->base);
            s_op_free(o);
            return;
        }
        s_change_status(o, o->what == OP_ENABLE);
        return;
    }
    if (o->what == OP_DELIVERIES) {
        const Metodnet__ListDeliveriesRequest *req = (const Metodnet__ListDeliveriesRequest *)o->request;
        char index[NOTIFY_KEY_MAX], limit[16];
        const char *cursor = req->cursor ? req->cursor : "";
        for (const char *p = cursor; *p; p++)
            if (*p < '0' || *p > '9' || p - cursor > 18) {
                s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT,
                       "Некорректный курсор страницы: передайте nextCursor предыдущего ответа");
                return;
            }
        snprintf(index, sizeof index, "%six:dlv:%s", prefix, o->id);
        snprintf(limit, sizeof limit, "%d", req->limit > 0 && req->limit <= 500 ? req->limit : 50);
        const char *argv[] = {index, cursor, limit, prefix};
        if (redis_link_evalsha(n->link, n->deliveries_script, 1, 4, argv, NULL, s_deliveries_listed, o) != 0)
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        return;
    }
    /* OP_RETRY */
    const Metodnet__RetryDeliveryRequest *req = (const Metodnet__RetryDeliveryRequest *)o->request;
    if (!s_delivery_id_valid(req->delivery_id, o->region)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, "Доставка не найдена");
        return;
    }
    if (!enabled) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT,
               "Подписка отключена: включите её (POST …/enable), затем повторите доставку");
        return;
    }
    char dlv[NOTIFY_KEY_MAX], due[NOTIFY_KEY_MAX], log_key[NOTIFY_KEY_MAX], now[24];
    snprintf(dlv, sizeof dlv, "%sdlv:%s", prefix, req->delivery_id);
    snprintf(log_key, sizeof log_key, "%sdlvlog:%s", prefix, req->delivery_id);
    snprintf(due, sizeof due, "%sdue", prefix);
    snprintf(now, sizeof now, "%lld", (long long)clock_unix_ms());
    const char *argv[] = {dlv, due, log_key, o->id, now, req->delivery_id};
    if (redis_link_evalsha(n->link, n->retry_script, 3, 6, argv, NULL, s_retried, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
}

void notify_list_deliveries(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_start(ud, call, OP_DELIVERIES, request, ((const Metodnet__ListDeliveriesRequest *)request)->id, NULL);
}

void notify_retry_delivery(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_start(ud, call, OP_RETRY, request, ((const Metodnet__RetryDeliveryRequest *)request)->id, NULL);
}
