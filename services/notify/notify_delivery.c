/* notify_delivery — signed webhook deliveries with retries kept in Redis.
 *
 * Every 100 ms each region's due deliveries (ntf:{r:R}:due, score = time of the next attempt) are
 * claimed by a script that pushes their score past the attempt's lease (timeout + 5 s) and returns
 * what the attempt needs (the subscription's record, the notification), so a process killed during an
 * attempt has the delivery come due again by itself (at least once; receivers deduplicate by
 * webhook-id, the notification's id). The attempt is a Standard Webhooks POST through notify_http;
 * its outcome is recorded by a second script: succeeded, pending with the next time (5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, each up to 20 % later, at least Retry-After), or failed
 * after the last one. 410 Gone disables the subscription at once; a delivery failing for its whole
 * window disables it when nothing reached the endpoint since that delivery was created. */
#include "notify_internal.h"

#include <jansson.h>
#include <sodium.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "notify_sign.h"
#include "pbjson.h"
#include "xalloc.h"

#define S_CLAIM_MAX 500

typedef struct {
    notify *n;
    char region[8];
    char id[48]; /* delivery */
    char webhook[72];
    char notification[48];
    int attempts; /* before this one */
    int64_t created_ms;
} s_attempt;

static void s_on_completed(const redisReply *reply, const char *error, void *ud);

static void s_attempt_free(s_attempt *a)
{
    notify *n = a->n;
    free(a);
    notify_unref(n);
}

/* Records the outcome of an attempt (packed_attempt NULL: no attempt was made). */
static void s_complete(s_attempt *a, const char *outcome, int64_t next_at, int code, int64_t duration_ms,
                       const char *error, const char *excerpt, bool attempted)
{
    notify *n = a->n;
    char prefix[64], due[NOTIFY_KEY_MAX], dlv[NOTIFY_KEY_MAX], log_key[NOTIFY_KEY_MAX], stat[NOTIFY_KEY_MAX];
    snprintf(prefix, sizeof prefix, "ntf:{r:%s}:", a->region);
    snprintf(due, sizeof due, "%sdue", prefix);
    snprintf(dlv, sizeof dlv, "%sdlv:%s", prefix, a->id);
    snprintf(log_key, sizeof log_key, "%sdlvlog:%s", prefix, a->id);
    snprintf(stat, sizeof stat, "%swhstat:%s", prefix, a->webhook);
    char now[24], next[24], code_text[16], duration[24], at[40];
    int64_t now_ms = clock_unix_ms();
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(next, sizeof next, "%lld", (long long)next_at);
    snprintf(code_text, sizeof code_text, "%d", code);
    snprintf(duration, sizeof duration, "%lld", (long long)duration_ms);
    clock_rfc3339(now_ms, at, sizeof at);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    if (attempted) {
        Metodnet__DeliveryAttempt att = METODNET__DELIVERY_ATTEMPT__INIT;
        att.at = at;
        att.response_code = code;
        att.duration_ms = duration_ms;
        att.error = (char *)(error ? error : "");
        att.response_excerpt = (char *)(excerpt ? excerpt : "");
        packed_len = metodnet__delivery_attempt__get_packed_size(&att);
        packed = xmalloc(packed_len ? packed_len : 1);
        metodnet__delivery_attempt__pack(&att, packed);
    }
    const char *argv[] = {due,
                          dlv,
                          log_key,
                          stat,
                          outcome,
                          now,
                          next,
                          code_text,
                          duration,
                          error ? error : "",
                          excerpt ? excerpt : "",
                          packed ? (const char *)packed : "",
                          a->id};
    size_t argvlen[13];
    for (size_t i = 0; i < 13; i++)
        argvlen[i] = i == 11 ? packed_len : strlen(argv[i]);
    if (redis_link_evalsha(n->link, n->complete_script, 4, 13, argv, argvlen, s_on_completed, a) != 0) {
        log_error(NULL, "исход доставки %s не записан: Redis недоступен (доставка будет повторена)", a->id);
        s_attempt_free(a);
    }
    free(packed);
}

static void s_on_completed(const redisReply *reply, const char *error, void *ud)
{
    s_attempt *a = ud;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        log_error(NULL, "исход доставки %s не записан: %s (доставка будет повторена)", a->id,
                  error ? error : (reply && reply->str ? reply->str : "?"));
    } else if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_INTEGER &&
               reply->element[2]->integer == 1) {
        /* the window ended and nothing reached the endpoint since this delivery was created */
        notify_webhook_disable(a->n, a->webhook,
                               "Получатель не принимал уведомления весь срок повторов (более 72 часов): подписка "
                               "отключена; проверьте адрес и включите её снова");
    }
    s_attempt_free(a);
}

static int64_t s_next_attempt(const notify *n, int attempt_no, int retry_after_s)
{
    double delay = n->schedule_s[attempt_no - 1];
    delay *= 1.0 + 0.2 * ((double)randombytes_uniform(1000) / 1000.0);
    if (retry_after_s > delay)
        delay = retry_after_s;
    return clock_unix_ms() + (int64_t)(delay * 1000.0);
}

static void s_on_answer(const notify_http_result *r, void *ud)
{
    s_attempt *a = ud;
    notify *n = a->n;
    int attempt_no = a->attempts + 1;
    if (r->aborted) { /* stopping: the claim's lease brings the delivery back */
        s_attempt_free(a);
        return;
    }
    if (r->status >= 200 && r->status < 300) {
        s_complete(a, "succeeded", 0, r->status, r->duration_ms, NULL, r->excerpt, true);
        return;
    }
    char error[400] = "";
    if (r->status == 0)
        snprintf(error, sizeof error, "%s", r->error ? r->error : "Нет ответа получателя");
    else if (r->status >= 300 && r->status < 400)
        snprintf(error, sizeof error, "Получатель ответил перенаправлением %d: перенаправления не выполняются",
                 r->status);
    else
        snprintf(error, sizeof error, "Получатель ответил %d", r->status);
    if (r->status == 410) {
        s_attempt *copy = xmalloc(sizeof *copy);
        *copy = *a;
        s_complete(a, "failed", 0, r->status, r->duration_ms, error, r->excerpt, true);
        notify_webhook_disable(n, copy->webhook, "Получатель ответил 410 Gone: подписка отключена");
        free(copy);
        return;
    }
    if (attempt_no > NOTIFY_SCHEDULE) {
        s_complete(a, "failed", 0, r->status, r->duration_ms, error, r->excerpt, true);
        return;
    }
    s_complete(a, "pending", s_next_attempt(n, attempt_no, r->retry_after_s), r->status, r->duration_ms, error,
               r->excerpt, true);
}

static const char *s_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

/* One claimed delivery: [d, w, n, f, t, a, c, webhook record, notification]. */
static void s_attempt_start(notify *n, const char *region, const redisReply *item)
{
    s_attempt *a = xcalloc(1, sizeof *a);
    a->n = n;
    notify_ref(n);
    memcpy(a->region, region, sizeof a->region);
    snprintf(a->id, sizeof a->id, "%s", s_str(item->element[0]));
    snprintf(a->webhook, sizeof a->webhook, "%s", s_str(item->element[1]));
    snprintf(a->notification, sizeof a->notification, "%s", s_str(item->element[2]));
    const char *feed_id = s_str(item->element[3]);
    a->attempts = atoi(s_str(item->element[5]));
    a->created_ms = atoll(s_str(item->element[6]));
    const redisReply *wr = item->element[7], *nr = item->element[8];
    Metodnet__Webhook *w = wr->type == REDIS_REPLY_STRING && wr->len > 0
                               ? metodnet__webhook__unpack(NULL, wr->len, (const uint8_t *)wr->str)
                               : NULL;
    if (w == NULL) {
        s_complete(a, "cancelled", 0, 0, 0, "Подписка удалена", NULL, false);
        return;
    }
    if (w->status != METODNET__WEBHOOK_STATUS__WEBHOOK_STATUS_ENABLED) {
        metodnet__webhook__free_unpacked(w, NULL);
        s_complete(a, "cancelled", 0, 0, 0, "Подписка отключена", NULL, false);
        return;
    }
    Metodnet__Notification *note = nr->type == REDIS_REPLY_STRING && nr->len > 0
                                       ? metodnet__notification__unpack(NULL, nr->len, (const uint8_t *)nr->str)
                                       : NULL;
    if (note == NULL) {
        metodnet__webhook__free_unpacked(w, NULL);
        s_complete(a, "failed", 0, 0, 0, "Уведомление больше не хранится", NULL, false);
        return;
    }
    if (note->cursor != protobuf_c_empty_string)
        free(note->cursor);
    note->cursor = xstrdup(feed_id);
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(note->type ? note->type : ""));
    json_object_set_new(body, "timestamp", json_string(note->occurred_at ? note->occurred_at : ""));
    json_object_set_new(body, "data", pbjson_to_json(&note->base));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    metodnet__notification__free_unpacked(note, NULL);
    int64_t ts = (int64_t)time(NULL);
    char signature[NOTIFY_SIGNATURE_MAX], h_id[96], h_ts[48], h_sig[96];
    if (text == NULL ||
        notify_sign(w->secret, a->notification, ts, text, strlen(text), signature, sizeof signature) != 0) {
        metodnet__webhook__free_unpacked(w, NULL);
        free(text);
        s_complete(a, "failed", 0, 0, 0, "Подпись не вычислена: секрет подписки повреждён", NULL, false);
        return;
    }
    snprintf(h_id, sizeof h_id, "webhook-id: %s", a->notification);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", signature);
    const char *headers[] = {"Content-Type: application/json", h_id, h_ts, h_sig};
    int rc = notify_http_post(n->http, w->url, headers, 4, text, strlen(text), s_on_answer, a);
    metodnet__webhook__free_unpacked(w, NULL);
    free(text);
    if (rc != 0) {
        /* could not even start: the lease brings it back */
        log_error(NULL, "доставка %s не начата", a->id);
        s_attempt_free(a);
    }
}

typedef struct {
    notify *n;
    char region[8];
} s_claim;

static void s_claim_free(s_claim *c)
{
    notify *n = c->n;
    free(c);
    notify_unref(n);
}

static void s_on_claimed(const redisReply *reply, const char *error, void *ud)
{
    s_claim *c = ud;
    notify *n = c->n;
    notify_region *r = notify_region_find(n, c->region);
    if (r)
        r->claiming = false;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_error(NULL, "доставки региона %s не взяты: %s", c->region, reply->str ? reply->str : "?");
        (void)error;
        s_claim_free(c);
        return;
    }
    for (size_t i = 0; i < reply->elements && !n->stopping; i++) {
        const redisReply *item = reply->element[i];
        if (item->type == REDIS_REPLY_ARRAY && item->elements == 9)
            s_attempt_start(n, c->region, item);
    }
    s_claim_free(c);
}

void notify_delivery_tick(notify *n)
{
    if (!redis_link_connected(n->link))
        return;
    n->due_kick = false;
    for (size_t i = 0; i < n->n_regions; i++) {
        notify_region *r = &n->regions[i];
        size_t in_flight = notify_http_in_flight(n->http);
        if (r->claiming || in_flight >= n->max_in_flight)
            continue;
        size_t room = n->max_in_flight - in_flight;
        char prefix[64], due[NOTIFY_KEY_MAX], now[24], lease[24], max[16];
        snprintf(prefix, sizeof prefix, "ntf:{r:%s}:", r->id);
        snprintf(due, sizeof due, "%sdue", prefix);
        int64_t now_ms = clock_unix_ms();
        snprintf(now, sizeof now, "%lld", (long long)now_ms);
        snprintf(lease, sizeof lease, "%lld", (long long)(now_ms + n->timeout_ms + 5000));
        snprintf(max, sizeof max, "%zu", room < S_CLAIM_MAX ? room : (size_t)S_CLAIM_MAX);
        s_claim *c = xcalloc(1, sizeof *c);
        c->n = n;
        notify_ref(n);
        memcpy(c->region, r->id, sizeof c->region);
        const char *argv[] = {due, now, lease, max, prefix};
        if (redis_link_evalsha(n->link, n->claim_script, 1, 5, argv, NULL, s_on_claimed, c) == 0)
            r->claiming = true;
        else
            s_claim_free(c);
    }
}
