/* notify_consumer — domain events → notification records, and the feed.
 *
 * Each region's stream ev:{r:R}:events is read with the consumer group "notify" (XREADGROUP, no
 * BLOCK: the link is shared, the read timer comes back every 100 ms). After a restart the group's
 * pending entries of this consumer are read first (id 0), then new ones (>). An entry of a type that
 * notifies ("event.published", …) becomes a Notification: one script records it in the feed
 * ntf:{r:R}:feed, fans it out to the subscriptions whose indexes match (a delivery each, due now) and
 * marks the source entry as recorded (ntf:{r:R}:src), so an entry read twice — the XACK after the
 * script lost to a crash — is recorded once. Entries are handled one at a time, in stream order: the
 * feed keeps the events service's order. ev:{r:R}:events and ntf:{r:R}:… share the slot {r:R}. */
#include "notify_internal.h"

#include "clock.h"
#include "events.pb-c.h"
#include "log.h"
#include "xalloc.h"

#define S_READ_COUNT  50
#define S_SCAN        500
#define S_SRC_KEEP_MS (8LL * 24 * 3600 * 1000) /* longer than the retry window */

/* ---------- visibility ---------- */

static bool s_eq(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

bool notify_visible(const Metodnet__Principal *caller, const Metodnet__NotificationScope *scope)
{
    if (caller == NULL || scope == NULL)
        return false;
    if (scope_is_global(caller))
        return true;
    if (caller->role == METODNET__ROLE__ROLE_UNSPECIFIED || !s_eq(caller->region_id, scope->region_id))
        return false;
    if (scope->region || caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_REGION)
        return true;
    const char *mun = caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY ? caller->scope_id
                                                                                          : caller->municipality_id;
    for (size_t i = 0; i < scope->n_municipality_ids; i++)
        if (s_eq(mun, scope->municipality_ids[i]))
            return true;
    return false;
}

/* ---------- the consumer ---------- */

typedef struct {
    char id[48];
    uint8_t *data;
    size_t len;
} s_entry;

typedef struct {
    notify *n;
    notify_region *region;
    char region_id[8];
    s_entry *entries;
    size_t count, next;
    bool from_pending;
    Metodnet__Notification *note; /* the one being recorded */
    char **candidates;
    size_t n_candidates;
} s_batch;

static void s_next_entry(s_batch *b);

static void s_batch_free(s_batch *b)
{
    notify *n = b->n;
    for (size_t i = 0; i < b->count; i++)
        free(b->entries[i].data);
    free(b->entries);
    free(b);
    notify_unref(n);
}

static void s_stream_key(const char *region, char *out, size_t size)
{
    snprintf(out, size, "ev:{r:%s}:events", region);
}

static void s_batch_done(s_batch *b)
{
    notify_region *r = notify_region_find(b->n, b->region_id);
    if (r) {
        r->reading = false;
        if (b->from_pending && b->count == 0)
            r->pending_done = true;
    }
    s_batch_free(b);
}

static void s_on_acked(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    (void)error; /* an entry not acknowledged is read again and recorded once (ntf:{r:R}:src) */
    s_batch *b = ud;
    b->next++;
    s_next_entry(b);
}

static void s_ack(s_batch *b)
{
    char key[NOTIFY_KEY_MAX];
    s_stream_key(b->region_id, key, sizeof key);
    if (redis_link_commandf(b->n->link, s_on_acked, b, "XACK %s notify %s", key, b->entries[b->next].id) != 0) {
        b->next = b->count;
        s_next_entry(b);
    }
}

static void s_free_note(s_batch *b)
{
    if (b->note)
        protobuf_c_message_free_unpacked(&b->note->base, NULL);
    b->note = NULL;
    for (size_t i = 0; i < b->n_candidates; i++)
        free(b->candidates[i]);
    free(b->candidates);
    b->candidates = NULL;
    b->n_candidates = 0;
}

static void s_on_recorded(const redisReply *reply, const char *error, void *ud)
{
    s_batch *b = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        /* not recorded: stop here, the entry stays pending and is read again */
        log_error(NULL, "уведомление из %s не записано: %s", b->entries[b->next].id,
                  error ? error : (reply && reply->str ? reply->str : "?"));
        s_free_note(b);
        b->next = b->count;
        s_next_entry(b);
        return;
    }
    if (reply->elements >= 3 && reply->element[0]->integer == 1)
        log_info(NULL, "уведомление %s (%s) записано: %lld доставок", b->note->id, b->note->type,
                 (long long)reply->element[2]->integer);
    s_free_note(b);
    b->n->due_kick = true;
    s_ack(b);
}

static void s_add_candidate(s_batch *b, const char *format, const char *type, const char *mun)
{
    char key[NOTIFY_KEY_MAX];
    snprintf(key, sizeof key, format, b->region_id, type, mun);
    b->candidates = xrealloc(b->candidates, (b->n_candidates + 1) * sizeof *b->candidates);
    b->candidates[b->n_candidates++] = xstrdup(key);
}

static void s_on_sequence(entity_result result, int64_t value, const char *error, void *ud)
{
    s_batch *b = ud;
    notify *n = b->n;
    if (result != ENTITY_OK) {
        log_error(NULL, "номер уведомления не получен: %s", error ? error : "?");
        s_free_note(b);
        b->next = b->count;
        s_next_entry(b);
        return;
    }
    char id[40];
    snprintf(id, sizeof id, "%s-n%lld", b->region_id, (long long)value);
    b->note->id = xstrdup(id);
    const Metodnet__NotificationScope *scope = b->note->scope;
    const char *types[] = {b->note->type, "*"};
    for (size_t t = 0; t < 2; t++) {
        if (scope->region) {
            s_add_candidate(b, "ntf:{r:%s}:ix:wht:%s:all%s", types[t], "");
        } else {
            s_add_candidate(b, "ntf:{r:%s}:ix:wht:%s:r%s", types[t], "");
            for (size_t i = 0; i < scope->n_municipality_ids; i++)
                s_add_candidate(b, "ntf:{r:%s}:ix:wht:%s:m:%s", types[t], scope->municipality_ids[i]);
        }
    }
    size_t len = metodnet__notification__get_packed_size(b->note);
    uint8_t *packed = xmalloc(len ? len : 1);
    metodnet__notification__pack(b->note, packed);
    char src[NOTIFY_KEY_MAX], feed[NOTIFY_KEY_MAX], due[NOTIFY_KEY_MAX], seq[NOTIFY_KEY_MAX], prefix[64], now[24];
    snprintf(prefix, sizeof prefix, "ntf:{r:%s}:", b->region_id);
    snprintf(src, sizeof src, "%ssrc", prefix);
    snprintf(feed, sizeof feed, "%sfeed", prefix);
    snprintf(due, sizeof due, "%sdue", prefix);
    snprintf(seq, sizeof seq, "%sseq:delivery", prefix);
    snprintf(now, sizeof now, "%lld", (long long)clock_unix_ms());
    size_t argc = 11 + b->n_candidates;
    const char **argv = xcalloc(argc, sizeof *argv);
    size_t *argvlen = xcalloc(argc, sizeof *argvlen);
    const char *fixed[] = {
        src,         feed,          due,    seq,         b->entries[b->next].id, now, (const char *)packed,
        b->note->id, b->note->type, prefix, b->region_id};
    for (size_t i = 0; i < 11; i++) {
        argv[i] = fixed[i];
        argvlen[i] = i == 6 ? len : strlen(fixed[i]);
    }
    for (size_t i = 0; i < b->n_candidates; i++) {
        argv[11 + i] = b->candidates[i];
        argvlen[11 + i] = strlen(b->candidates[i]);
    }
    int rc = redis_link_evalsha(n->link, n->record_script, 4, (int)argc, argv, argvlen, s_on_recorded, b);
    free(argv);
    free(argvlen);
    free(packed);
    if (rc != 0) {
        s_free_note(b);
        b->next = b->count;
        s_next_entry(b);
    }
}

static char *s_copy(const char *s)
{
    return xstrdup(s ? s : "");
}

/* The notification of a domain event, or NULL when the event does not notify. */
static Metodnet__Notification *s_notification(const char *region, const Metodnet__DomainEvent *ev)
{
    if (ev->type == NULL || !notify_type_known(ev->type))
        return NULL;
    Metodnet__Notification *note = xcalloc(1, sizeof *note);
    metodnet__notification__init(note);
    Metodnet__NotificationScope *scope = xcalloc(1, sizeof *scope);
    metodnet__notification_scope__init(scope);
    Metodnet__NotificationData *data = xcalloc(1, sizeof *data);
    metodnet__notification_data__init(data);
    note->scope = scope;
    note->data = data;
    note->type = s_copy(ev->type);
    char at[40];
    clock_rfc3339(ev->at_unix_ms > 0 ? ev->at_unix_ms : clock_unix_ms(), at, sizeof at);
    note->occurred_at = s_copy(at);
    note->cursor = s_copy("");
    note->id = NULL;
    scope->region_id = s_copy(region);
    const char *mun = NULL, *org = NULL;
    bool regional = false;
    if (strncmp(ev->type, "event.", 6) == 0) {
        data->event = metodnet__event__unpack(NULL, ev->entity.len, ev->entity.data);
        if (data->event == NULL)
            goto bad;
        regional = data->event->level == METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
        mun = data->event->municipality_id;
        org = data->event->organizer_organization_id;
    } else {
        data->event_plan = metodnet__event_plan__unpack(NULL, ev->entity.len, ev->entity.data);
        if (data->event_plan == NULL)
            goto bad;
        regional = data->event_plan->level == METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
        mun = data->event_plan->municipality_id;
        org = data->event_plan->organization_id;
    }
    scope->region = regional || mun == NULL || *mun == '\0';
    if (!scope->region) {
        scope->municipality_ids = xcalloc(1, sizeof *scope->municipality_ids);
        scope->municipality_ids[scope->n_municipality_ids++] = s_copy(mun);
    }
    if (org && *org) {
        scope->organization_ids = xcalloc(1, sizeof *scope->organization_ids);
        scope->organization_ids[scope->n_organization_ids++] = s_copy(org);
    }
    return note;
bad:
    log_error(NULL, "событие %s (%s) не разбирается: пропущено", ev->entity_id ? ev->entity_id : "?", ev->type);
    protobuf_c_message_free_unpacked(&note->base, NULL);
    return NULL;
}

static void s_next_entry(s_batch *b)
{
    while (b->next < b->count && !b->n->stopping) {
        s_entry *e = &b->entries[b->next];
        Metodnet__DomainEvent *ev = e->data ? metodnet__domain_event__unpack(NULL, e->len, e->data) : NULL;
        b->note = ev ? s_notification(b->region_id, ev) : NULL;
        if (ev)
            metodnet__domain_event__free_unpacked(ev, NULL);
        if (b->note == NULL) {
            s_ack(b); /* nothing to notify: acknowledged, continues from its callback */
            return;
        }
        char seq[NOTIFY_KEY_MAX];
        snprintf(seq, sizeof seq, "ntf:{r:%s}:seq:notification", b->region_id);
        if (entity_store_next_id(b->n->store, seq, s_on_sequence, b) != 0) {
            s_free_note(b);
            break;
        }
        return;
    }
    s_batch_done(b);
}

static void s_on_read(const redisReply *reply, const char *error, void *ud)
{
    s_batch *b = ud;
    notify_region *r = notify_region_find(b->n, b->region_id);
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        if (r && reply->str && strncmp(reply->str, "NOGROUP", 7) == 0)
            r->group_ready = false;
        else
            log_error(NULL, "чтение ev:{r:%s}:events не удалось: %s", b->region_id, reply->str ? reply->str : "?");
        s_batch_done(b);
        return;
    }
    if (reply == NULL) {
        (void)error;
        s_batch_done(b);
        return;
    }
    /* [[key, [[id, [field, value, …]], …]]] or nil */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY &&
        reply->element[0]->elements == 2 && reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *items = reply->element[0]->element[1];
        b->entries = items->elements ? xcalloc(items->elements, sizeof *b->entries) : NULL;
        for (size_t i = 0; i < items->elements; i++) {
            const redisReply *it = items->element[i];
            if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 || it->element[0]->type != REDIS_REPLY_STRING ||
                it->element[0]->len >= sizeof b->entries[0].id)
                continue;
            s_entry *e = &b->entries[b->count++];
            memcpy(e->id, it->element[0]->str, it->element[0]->len + 1);
            const redisReply *fields = it->element[1];
            for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements; f += 2)
                if (fields->element[f]->type == REDIS_REPLY_STRING && strcmp(fields->element[f]->str, "event") == 0 &&
                    fields->element[f + 1]->type == REDIS_REPLY_STRING) {
                    e->len = fields->element[f + 1]->len;
                    e->data = xmalloc(e->len ? e->len : 1);
                    memcpy(e->data, fields->element[f + 1]->str, e->len);
                }
        }
    }
    s_next_entry(b);
}

static void s_on_group(const redisReply *reply, const char *error, void *ud)
{
    (void)error;
    notify *n = ((s_batch *)ud)->n;
    s_batch *b = ud;
    notify_region *r = notify_region_find(n, b->region_id);
    if (r && reply != NULL &&
        (reply->type == REDIS_REPLY_STATUS ||
         (reply->type == REDIS_REPLY_ERROR && reply->str && strncmp(reply->str, "BUSYGROUP", 9) == 0)))
        r->group_ready = true;
    else if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error(NULL, "группа чтения ev:{r:%s}:events не создана: %s", b->region_id, reply->str ? reply->str : "?");
    if (r)
        r->reading = false;
    s_batch_free(b);
}

void notify_consumer_tick(notify *n)
{
    if (!redis_link_connected(n->link))
        return;
    for (size_t i = 0; i < n->n_regions; i++) {
        notify_region *r = &n->regions[i];
        if (r->reading)
            continue;
        s_batch *b = xcalloc(1, sizeof *b);
        b->n = n;
        notify_ref(n);
        memcpy(b->region_id, r->id, sizeof b->region_id);
        char key[NOTIFY_KEY_MAX];
        s_stream_key(r->id, key, sizeof key);
        int rc;
        if (!r->group_ready) {
            rc = redis_link_commandf(n->link, s_on_group, b, "XGROUP CREATE %s notify 0 MKSTREAM", key);
        } else {
            b->from_pending = !r->pending_done;
            rc = redis_link_commandf(n->link, s_on_read, b, "XREADGROUP GROUP notify %s COUNT %d STREAMS %s %s",
                                     n->consumer, S_READ_COUNT, key, b->from_pending ? "0" : ">");
        }
        if (rc != 0) {
            s_batch_free(b);
            continue;
        }
        r->reading = true;
    }
}

/* ---------- the feed: ListNotifications, GetNotificationHeads ---------- */

typedef struct {
    notify *n;
    service_call *call;
    char region[8];
    char after[48]; /* exclusive start: a stream id, "" = from the start */
    size_t limit;
    int rounds;
    Metodnet__ListNotificationsResponse resp;
    char next_cursor[48];
} s_list;

static void s_list_free(s_list *l)
{
    for (size_t i = 0; i < l->resp.n_items; i++)
        metodnet__notification__free_unpacked(l->resp.items[i], NULL);
    free(l->resp.items);
    free(l);
}

static void s_list_reply(s_list *l)
{
    l->resp.next_cursor = l->next_cursor;
    service_call_reply(l->call, &l->resp.base);
    s_list_free(l);
}

static void s_list_scan(s_list *l);

static void s_list_scanned(const redisReply *reply, const char *error, void *ud)
{
    s_list *l = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        log_error(service_call_request_id(l->call), "лента уведомлений не прочитана: %s",
                  error ? error : (reply && reply->str ? reply->str : "?"));
        service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        s_list_free(l);
        return;
    }
    const Metodnet__Principal *caller = service_call_caller(l->call);
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *it = reply->element[i];
        if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 || it->element[0]->type != REDIS_REPLY_STRING ||
            it->element[0]->len >= sizeof l->after)
            continue;
        const char *id = it->element[0]->str;
        snprintf(l->after, sizeof l->after, "%s", id);
        snprintf(l->next_cursor, sizeof l->next_cursor, "%s", id);
        const redisReply *f = it->element[1];
        Metodnet__Notification *note = NULL;
        if (f->type == REDIS_REPLY_ARRAY && f->elements == 2 && f->element[1]->type == REDIS_REPLY_STRING)
            note = metodnet__notification__unpack(NULL, f->element[1]->len, (const uint8_t *)f->element[1]->str);
        if (note == NULL)
            continue;
        if (!notify_visible(caller, note->scope)) {
            metodnet__notification__free_unpacked(note, NULL);
            continue;
        }
        if (note->cursor != protobuf_c_empty_string)
            free(note->cursor);
        note->cursor = xstrdup(id);
        l->resp.items[l->resp.n_items++] = note;
        if (l->resp.n_items == l->limit) {
            s_list_reply(l); /* the cursor is this item's: the next page starts right after it */
            return;
        }
    }
    if (reply->elements < S_SCAN || ++l->rounds >= 4) {
        s_list_reply(l);
        return;
    }
    s_list_scan(l);
}

static void s_list_scan(s_list *l)
{
    char feed[NOTIFY_KEY_MAX], start[64];
    snprintf(feed, sizeof feed, "ntf:{r:%s}:feed", l->region);
    snprintf(start, sizeof start, l->after[0] ? "(%s" : "-", l->after);
    if (redis_link_commandf(l->n->link, s_list_scanned, l, "XRANGE %s %s + COUNT %d", feed, start, S_SCAN) != 0) {
        service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        s_list_free(l);
    }
}

static void s_list_head(const redisReply *reply, const char *error, void *ud)
{
    (void)error;
    s_list *l = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
        s_list_free(l);
        return;
    }
    if (reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2 &&
        reply->element[0]->element[0]->type == REDIS_REPLY_STRING)
        snprintf(l->next_cursor, sizeof l->next_cursor, "%s", reply->element[0]->element[0]->str);
    s_list_reply(l);
}

/* A stream id "<ms>-<seq>" (both decimal). */
static bool s_cursor_valid(const char *c)
{
    size_t len = strlen(c), dash = strcspn(c, "-");
    if (len == 0 || len > 41 || dash == 0 || dash == len || dash > 20 || len - dash - 1 > 20)
        return false;
    for (size_t i = 0; i < len; i++)
        if (i != dash && (c[i] < '0' || c[i] > '9'))
            return false;
    return true;
}

void notify_list_notifications(service_call *call, const ProtobufCMessage *request, void *ud)
{
    notify *n = ud;
    const Metodnet__ListNotificationsRequest *req = (const Metodnet__ListNotificationsRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    char region[8];
    if (!notify_caller_region(caller, req->region_id, region)) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT,
                          scope_is_global(caller) ? "Укажите регион (regionId): две цифры, например «07»"
                                                  : "Уведомления другого региона недоступны");
        return;
    }
    const char *after = req->after ? req->after : "";
    if (*after && strcmp(after, "$") != 0 && !s_cursor_valid(after)) {
        validation v;
        validation_init(&v);
        validation_add(&v, "after",
                       "Курсор — значение cursor последнего полученного уведомления (например «1764640000000-0») "
                       "или «$» (только новые)");
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    s_list *l = xcalloc(1, sizeof *l);
    l->n = n;
    l->call = call;
    memcpy(l->region, region, sizeof l->region);
    l->limit = req->limit > 0 && req->limit <= 500 ? (size_t)req->limit : 50;
    metodnet__list_notifications_response__init(&l->resp);
    l->resp.items = xcalloc(l->limit, sizeof *l->resp.items);
    if (strcmp(after, "$") == 0) {
        char feed[NOTIFY_KEY_MAX];
        snprintf(feed, sizeof feed, "ntf:{r:%s}:feed", region);
        if (redis_link_commandf(n->link, s_list_head, l, "XREVRANGE %s + - COUNT 1", feed) != 0) {
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
            s_list_free(l);
        }
        return;
    }
    snprintf(l->after, sizeof l->after, "%s", after);
    snprintf(l->next_cursor, sizeof l->next_cursor, "%s", after);
    s_list_scan(l);
}

typedef struct s_heads s_heads;

typedef struct {
    s_heads *h;
    size_t index;
} s_head_ctx;

struct s_heads {
    service_call *call;
    size_t waiting;
    bool failed;
    s_head_ctx *ctx;
    Metodnet__NotificationHeadsResponse resp;
};

static void s_heads_done(s_heads *h)
{
    if (--h->waiting > 0)
        return;
    if (h->failed)
        service_call_fail(h->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, notify_unavailable_ru);
    else
        service_call_reply(h->call, &h->resp.base);
    for (size_t i = 0; i < h->resp.n_heads; i++)
        metodnet__region_head__free_unpacked(h->resp.heads[i], NULL);
    free(h->resp.heads);
    free(h->ctx);
    free(h);
}

static void s_head_read(const redisReply *reply, const char *error, void *ud)
{
    (void)error;
    s_head_ctx *c = ud;
    s_heads *h = c->h;
    Metodnet__RegionHead *head = h->resp.heads[c->index];
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        h->failed = true;
    else if (reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2 &&
             reply->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        free(head->cursor);
        head->cursor = xstrdup(reply->element[0]->element[0]->str);
    }
    s_heads_done(h);
}

void notify_get_heads(service_call *call, const ProtobufCMessage *request, void *ud)
{
    (void)request;
    notify *n = ud;
    if (!scope_is_global(service_call_caller(call))) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, notify_denied_ru);
        return;
    }
    s_heads *h = xcalloc(1, sizeof *h);
    h->call = call;
    metodnet__notification_heads_response__init(&h->resp);
    size_t count = n->n_regions;
    h->resp.heads = xcalloc(count ? count : 1, sizeof *h->resp.heads);
    h->ctx = xcalloc(count ? count : 1, sizeof *h->ctx);
    h->waiting = 1; /* ours, dropped at the end */
    for (size_t i = 0; i < count; i++) {
        Metodnet__RegionHead *head = xcalloc(1, sizeof *head);
        metodnet__region_head__init(head);
        head->region_id = xstrdup(n->regions[i].id);
        head->cursor = xstrdup("");
        h->resp.heads[h->resp.n_heads++] = head;
        h->ctx[i].h = h;
        h->ctx[i].index = i;
        char feed[NOTIFY_KEY_MAX];
        snprintf(feed, sizeof feed, "ntf:{r:%s}:feed", head->region_id);
        if (redis_link_commandf(n->link, s_head_read, &h->ctx[i], "XREVRANGE %s + - COUNT 1", feed) == 0)
            h->waiting++;
        else
            h->failed = true;
    }
    s_heads_done(h);
}
