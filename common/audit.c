/* audit — append-only audit stream: writing entries and reading them back newest first (see audit.h). */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "xalloc.h"

struct audit {
    redis_link *link;
    const char *service;
};

audit *audit_new(redis_link *link, const char *service)
{
    if (link == NULL)
        return NULL;
    audit *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->link = link;
    a->service = service ? service : "";
    return a;
}

void audit_destroy(audit **a)
{
    if (a == NULL || *a == NULL)
        return;
    free(*a);
    *a = NULL;
}

void audit_event_from_call(audit_event *e, const service_call *call)
{
    memset(e, 0, sizeof *e);
    const Metodnet__Principal *caller = service_call_caller(call);
    const Metodnet__Envelope *envelope = service_call_envelope(call);
    e->user_id = caller->user_id;
    e->role = caller->role;
    e->region_id = caller->region_id;
    e->request_id = envelope->request_id;
    e->client_address = envelope->client_address;
}

typedef struct {
    audit_cb cb;
    void *ud;
} s_record_ctx;

static void s_recorded(const redisReply *reply, const char *error, void *ud)
{
    s_record_ctx *ctx = ud;
    int status = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        log_error(NULL, "запись в журнал аудита не удалась: %s",
                  error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ"));
        status = -1;
    }
    if (ctx->cb)
        ctx->cb(status, ctx->ud);
    free(ctx);
}

static char *s_str(const char *s)
{
    return (char *)(s ? s : "");
}

int audit_record(audit *a, const audit_event *event, audit_cb cb, void *ud)
{
    if (a == NULL || event == NULL || event->action == NULL)
        return -1;
    Metodnet__AuditEntry entry = METODNET__AUDIT_ENTRY__INIT;
    char at[40];
    clock_rfc3339(clock_unix_ms(), at, sizeof at);
    entry.at = at;
    entry.user_id = s_str(event->user_id);
    entry.role = event->role;
    entry.action = s_str(event->action);
    entry.object_kind = s_str(event->object_kind);
    entry.object_id = s_str(event->object_id);
    entry.request_id = s_str(event->request_id);
    entry.client_address = s_str(event->client_address);
    entry.service = s_str(a->service);
    entry.region_id = s_str(event->region_id);
    size_t len = metodnet__audit_entry__get_packed_size(&entry);
    uint8_t *data = malloc(len ? len : 1);
    s_record_ctx *ctx = malloc(sizeof *ctx);
    if (data == NULL || ctx == NULL) {
        free(data);
        free(ctx);
        return -1;
    }
    metodnet__audit_entry__pack(&entry, data);
    ctx->cb = cb;
    ctx->ud = ud;
    const char *argv[] = {"XADD", AUDIT_STREAM, "*", "e", (const char *)data};
    size_t argvlen[] = {4, strlen(AUDIT_STREAM), 1, 1, len};
    int rc = redis_link_command(a->link, s_recorded, ctx, 5, argv, argvlen);
    free(data);
    if (rc != 0) {
        free(ctx);
        return -1;
    }
    return 0;
}

/* ---------- reading ---------- */

typedef struct {
    char *user_id, *object_id, *action, *region_id;
    size_t limit;
    size_t count;
    audit_list_cb cb;
    void *ud;
} s_list_ctx;

static bool s_match(const char *want, const char *have)
{
    return want == NULL || *want == '\0' || (have && strcmp(want, have) == 0);
}

static void s_list_free(s_list_ctx *ctx)
{
    free(ctx->user_id);
    free(ctx->object_id);
    free(ctx->action);
    free(ctx->region_id);
    free(ctx);
}

bool audit_id_valid(const char *id)
{
    if (id == NULL || strlen(id) > 41)
        return false;
    size_t ms = strspn(id, "0123456789");
    if (ms == 0 || ms > 20 || id[ms] != '-')
        return false;
    size_t seq = strspn(id + ms + 1, "0123456789");
    return seq > 0 && seq <= 20 && id[ms + 1 + seq] == '\0';
}

static void s_listed(const redisReply *reply, const char *error, void *ud)
{
    s_list_ctx *ctx = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        const char *why =
            error ? error : (reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "неожиданный ответ");
        log_error(NULL, "чтение журнала аудита не удалось: %s", why);
        ctx->cb(NULL, 0, NULL, why, ctx->ud);
        s_list_free(ctx);
        return;
    }
    Metodnet__AuditEntry **entries = xcalloc(ctx->limit, sizeof *entries);
    size_t n = 0;
    const char *next_id = NULL;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *item = reply->element[i];
        if (item->type != REDIS_REPLY_ARRAY || item->elements != 2 || item->element[0]->type != REDIS_REPLY_STRING ||
            item->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        const char *id = item->element[0]->str;
        const redisReply *fields = item->element[1];
        Metodnet__AuditEntry *entry = NULL;
        for (size_t f = 0; f + 1 < fields->elements && entry == NULL; f += 2) {
            if (fields->element[f]->type == REDIS_REPLY_STRING && strcmp(fields->element[f]->str, "e") == 0 &&
                fields->element[f + 1]->type == REDIS_REPLY_STRING)
                entry = metodnet__audit_entry__unpack(NULL, fields->element[f + 1]->len,
                                                      (const uint8_t *)fields->element[f + 1]->str);
        }
        if (entry == NULL) {
            log_warn(NULL, "пропущена неразборчивая запись журнала аудита %s", id);
            continue;
        }
        if (!s_match(ctx->user_id, entry->user_id) || !s_match(ctx->object_id, entry->object_id) ||
            !s_match(ctx->action, entry->action) || !s_match(ctx->region_id, entry->region_id)) {
            metodnet__audit_entry__free_unpacked(entry, NULL);
            continue;
        }
        if (entry->id != protobuf_c_empty_string)
            free(entry->id);
        entry->id = xstrdup(id);
        entries[n++] = entry;
        if (n == ctx->limit) {
            /* more may follow only if this was not the last entry read */
            if (i + 1 < reply->elements || reply->elements == ctx->count)
                next_id = id;
            break;
        }
    }
    if (n < ctx->limit && reply->elements == ctx->count && reply->elements > 0 &&
        reply->element[reply->elements - 1]->type == REDIS_REPLY_ARRAY &&
        reply->element[reply->elements - 1]->elements == 2 &&
        reply->element[reply->elements - 1]->element[0]->type == REDIS_REPLY_STRING)
        next_id = reply->element[reply->elements - 1]->element[0]->str; /* the scan bound, not the end */
    ctx->cb(entries, n, next_id, NULL, ctx->ud);
    for (size_t i = 0; i < n; i++)
        metodnet__audit_entry__free_unpacked(entries[i], NULL);
    free(entries);
    s_list_free(ctx);
}

static char *s_dup_or_null(const char *s)
{
    if (s == NULL || *s == '\0')
        return NULL;
    char *copy = xstrdup(s);
    return copy;
}

int audit_list(audit *a, const audit_query *query, audit_list_cb cb, void *ud)
{
    if (a == NULL || query == NULL || cb == NULL || query->limit < 1 || query->limit > 500)
        return -1;
    if (query->before_id && *query->before_id && !audit_id_valid(query->before_id))
        return -1;
    s_list_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return -1;
    ctx->user_id = s_dup_or_null(query->user_id);
    ctx->object_id = s_dup_or_null(query->object_id);
    ctx->action = s_dup_or_null(query->action);
    ctx->region_id = s_dup_or_null(query->region_id);
    ctx->limit = query->limit;
    ctx->cb = cb;
    ctx->ud = ud;
    bool filtered = ctx->user_id || ctx->object_id || ctx->action || ctx->region_id;
    size_t max_scan = query->max_scan ? query->max_scan : 2000;
    ctx->count = filtered ? (max_scan > query->limit ? max_scan : query->limit) : query->limit;

    char end[96], start[32], count[24];
    if (query->before_id && *query->before_id)
        snprintf(end, sizeof end, "(%s", query->before_id);
    else if (query->to_unix_ms > 0)
        snprintf(end, sizeof end, "%" PRId64, query->to_unix_ms);
    else
        snprintf(end, sizeof end, "+");
    if (query->from_unix_ms > 0)
        snprintf(start, sizeof start, "%" PRId64, query->from_unix_ms);
    else
        snprintf(start, sizeof start, "-");
    snprintf(count, sizeof count, "%zu", ctx->count);
    const char *argv[] = {"XREVRANGE", AUDIT_STREAM, end, start, "COUNT", count};
    if (redis_link_command(a->link, s_listed, ctx, 6, argv, NULL) != 0) {
        s_list_free(ctx);
        return -1;
    }
    return 0;
}
