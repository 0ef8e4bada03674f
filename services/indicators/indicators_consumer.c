/* indicators_consumer — the incremental feed: the domain-event streams of the registry (reg:{r:R}:events),
 * diagnostics (diag:{r:R}:events), events (ev:{r:R}:events) and mentoring (mnt:{r:R}:events) of every
 * region read through the Redis consumer group "indicators" on a connection of its own (XREADGROUP … BLOCK
 * would hold up requests).
 * Each entry becomes a fact (indicators_facts.c) that apply.lua stores, deduplicates and acknowledges in
 * one step, so a crash between reading and acknowledging replays the entry and changes nothing twice.
 * Every second the entries pending longer than IND_CLAIM_IDLE_MS (a consumer that died mid-batch) are
 * taken over with XAUTOCLAIM; one delivered IND_DEAD_AFTER times goes to ind:{r:R}:dead (dead.lua) and the
 * rest of the stream goes on. Every IND_TRIM_EVERY_MS each stream is trimmed (XTRIM MINID) below what every
 * group of it has acknowledged (XINFO GROUPS, XPENDING: the notifications service reads ev:{r:R}:events
 * with its own group) and below the retention METODNET_INDICATORS_STREAM_KEEP_MS (default 10 minutes).
 * The regions come from the registry's ListRegions through the broker, asked again every 10 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "indicators_internal.h"
#include "log.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

#define IND_STREAMS          4
#define IND_READ_COUNT       256
#define IND_BLOCK_MS         50
#define IND_CLAIM_IDLE_MS    1000
#define IND_MAINT_EVERY_MS   500
#define IND_TRIM_EVERY_MS    5000
#define IND_REGIONS_EVERY_MS 10000

static const char *const s_prefixes[IND_STREAMS] = {"reg", "diag", "ev", "mnt"};

struct ind_consumer {
    indicators_service *svc;
    redis_link *link;
    char name[64];
    char regions[IND_MAX_REGIONS][16];
    bool groups[IND_MAX_REGIONS];
    size_t n_regions;
    size_t next;
    int pending; /* replies the current step waits for */
    uv_timer_t *timer;
    bool stopping;
    bool asking;
    int64_t last_maint, last_trim, last_regions;
    int64_t keep_ms;
};

static void s_step(ind_consumer *c);

static void s_on_timer(uv_timer_t *t)
{
    s_step(t->data);
}

static void s_schedule(ind_consumer *c, uint64_t ms)
{
    if (!c->stopping)
        uv_timer_start(c->timer, s_on_timer, ms, 0);
}

static void s_stream_key(char *out, size_t size, const char *prefix, const char *region)
{
    snprintf(out, size, "%s:{r:%s}:events", prefix, region);
}

static void s_done_one(ind_consumer *c)
{
    if (--c->pending == 0)
        s_schedule(c, 0);
}

/* ---------- applying entries ---------- */

typedef struct {
    ind_consumer *c;
    char entry[48];
} apply_op;

static void s_applied(const redisReply *reply, const char *error, void *ud)
{
    apply_op *op = ud;
    if (error || !reply || reply->type == REDIS_REPLY_ERROR)
        log_warn(NULL, "показатели: запись %s не применена: %s", op->entry,
                 error ? error : (reply && reply->str ? reply->str : "?"));
    ind_consumer *c = op->c;
    free(op);
    s_done_one(c);
}

static const redisReply *s_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

static void s_dead(ind_consumer *c, const char *region, const char *stream, const char *entry, long long deliveries,
                   const redisReply *event, const char *why)
{
    char dead[64], count[24];
    snprintf(dead, sizeof dead, "ind:{r:%s}:dead", region);
    snprintf(count, sizeof count, "%lld", deliveries);
    const char *argv[] = {dead, stream, IND_GROUP, entry, count, event ? event->str : "", why};
    size_t lens[] = {strlen(dead),  strlen(stream),         strlen(IND_GROUP), strlen(entry),
                     strlen(count), event ? event->len : 0, strlen(why)};
    apply_op *op = xcalloc(1, sizeof *op);
    op->c = c;
    snprintf(op->entry, sizeof op->entry, "%s", entry);
    c->pending++;
    if (redis_link_evalsha(c->link, c->svc->dead_script, 1, 7, argv, lens, s_applied, op) != 0) {
        free(op);
        c->pending--;
    }
    log_warn(NULL, "показатели: запись %s потока %s отправлена в %s (%s)", entry, stream, dead, why);
}

int ind_apply(indicators_service *svc, redis_link *link, const char *stream, const char *entry,
              const char *state_prefix, const char *applied_key, const ind_fact *f, redis_link_reply_cb cb, void *ud)
{
    size_t argc = 7 + f->n;
    const char **argv = xcalloc(argc, sizeof *argv);
    argv[0] = applied_key;
    argv[1] = stream;
    argv[2] = IND_GROUP;
    argv[3] = entry;
    argv[4] = state_prefix;
    argv[5] = f->entity;
    argv[6] = f->op;
    for (size_t i = 0; i < f->n; i++)
        argv[7 + i] = f->args[i];
    int rc = redis_link_evalsha(link, svc->apply_script, 1, (int)argc, argv, NULL, cb, ud);
    free(argv);
    return rc;
}

/* one entry [id, [field, value, …]] of stream; deliveries: how often it was delivered (0 = first) */
static void s_entry(ind_consumer *c, const char *region, const char *prefix, const char *stream, const redisReply *e,
                    long long deliveries)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *entry = e->element[0]->str;
    const redisReply *event = s_field(e->element[1], "event");
    ind_fact f;
    if (!event || ind_fact_from_event(prefix, (const uint8_t *)event->str, event->len, &f) != 0) {
        /* a poison entry: left pending; XAUTOCLAIM delivers it again until IND_DEAD_AFTER */
        if (deliveries >= IND_DEAD_AFTER)
            s_dead(c, region, stream, entry, deliveries, event, "не разбирается как DomainEvent");
        else
            log_warn(NULL, "показатели: запись %s потока %s не разбирается (доставка %lld)", entry, stream,
                     deliveries + 1);
        return;
    }
    char state[48], applied[64];
    snprintf(state, sizeof state, "ind:{r:%s}:", region);
    snprintf(applied, sizeof applied, "ind:{r:%s}:applied", region);
    apply_op *op = xcalloc(1, sizeof *op);
    op->c = c;
    snprintf(op->entry, sizeof op->entry, "%s", entry);
    c->pending++;
    if (ind_apply(c->svc, c->link, stream, entry, state, applied, &f, s_applied, op) != 0) {
        free(op);
        c->pending--;
    }
    ind_fact_free(&f);
}

/* ---------- reading ---------- */

typedef struct {
    ind_consumer *c;
    size_t region;
} read_op;

static const char *s_prefix_of(const char *stream)
{
    for (size_t i = 0; i < IND_STREAMS; i++) {
        size_t n = strlen(s_prefixes[i]);
        if (strncmp(stream, s_prefixes[i], n) == 0 && stream[n] == ':')
            return s_prefixes[i];
    }
    return NULL;
}

static void s_read_reply(const redisReply *reply, const char *error, void *ud)
{
    read_op *r = ud;
    ind_consumer *c = r->c;
    size_t region = r->region;
    free(r);
    c->pending = 1; /* held while the applies are sent */
    if (error || !reply) {
        if (!c->stopping && error && strcmp(error, "closed") != 0)
            log_warn(NULL, "показатели: чтение потоков: %s", error);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        if (reply->str && strstr(reply->str, "NOGROUP"))
            c->groups[region] = false;
        else
            log_warn(NULL, "показатели: чтение потоков: %s", reply->str ? reply->str : "?");
    } else if (reply->type == REDIS_REPLY_ARRAY && region < c->n_regions && !c->stopping) {
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *s = reply->element[i];
            if (s->type != REDIS_REPLY_ARRAY || s->elements < 2 || s->element[0]->type != REDIS_REPLY_STRING)
                continue;
            const char *prefix = s_prefix_of(s->element[0]->str);
            if (!prefix || s->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            for (size_t k = 0; k < s->element[1]->elements; k++)
                s_entry(c, c->regions[region], prefix, s->element[0]->str, s->element[1]->element[k], 0);
        }
    }
    s_done_one(c);
}

static void s_group_created(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    (void)error;
    s_done_one(ud);
}

static void s_create_groups(ind_consumer *c, size_t region)
{
    for (size_t i = 0; i < IND_STREAMS; i++) {
        char key[64];
        s_stream_key(key, sizeof key, s_prefixes[i], c->regions[region]);
        c->pending++;
        if (redis_link_commandf(c->link, s_group_created, c, "XGROUP CREATE %s %s 0 MKSTREAM", key, IND_GROUP) != 0)
            c->pending--;
    }
    c->groups[region] = true;
}

static void s_read(ind_consumer *c, size_t region)
{
    char keys[IND_STREAMS][64];
    const char *argv[9 + 2 * IND_STREAMS];
    int argc = 0;
    char count[16], block[16];
    snprintf(count, sizeof count, "%d", IND_READ_COUNT);
    snprintf(block, sizeof block, "%d", IND_BLOCK_MS);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = IND_GROUP;
    argv[argc++] = c->name;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    argv[argc++] = "BLOCK";
    argv[argc++] = block;
    argv[argc++] = "STREAMS";
    for (size_t i = 0; i < IND_STREAMS; i++) {
        s_stream_key(keys[i], sizeof keys[i], s_prefixes[i], c->regions[region]);
        argv[argc++] = keys[i];
    }
    for (size_t i = 0; i < IND_STREAMS; i++)
        argv[argc++] = ">";
    read_op *r = xcalloc(1, sizeof *r);
    *r = (read_op){c, region};
    c->pending++;
    if (redis_link_command(c->link, s_read_reply, r, argc, argv, NULL) != 0) {
        free(r);
        c->pending--;
    }
}

/* ---------- stuck entries: XPENDING (delivery counts) then XAUTOCLAIM ---------- */

typedef struct {
    ind_consumer *c;
    size_t region;
    size_t stream;
    size_t n;
    char ids[100][48];
    long long counts[100];
} claim_op;

static void s_claimed(const redisReply *reply, const char *error, void *ud)
{
    claim_op *o = ud;
    ind_consumer *c = o->c;
    if (!c->stopping && !error && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_ARRAY && o->region < c->n_regions) {
        char key[64];
        s_stream_key(key, sizeof key, s_prefixes[o->stream], c->regions[o->region]);
        const redisReply *entries = reply->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            const redisReply *e = entries->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            long long count = 1;
            for (size_t k = 0; k < o->n; k++)
                if (strcmp(o->ids[k], e->element[0]->str) == 0)
                    count = o->counts[k];
            s_entry(c, c->regions[o->region], s_prefixes[o->stream], key, e, count);
        }
    }
    free(o);
    s_done_one(c);
}

static void s_pending_listed(const redisReply *reply, const char *error, void *ud)
{
    claim_op *o = ud;
    ind_consumer *c = o->c;
    if (c->stopping || error || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
        o->region >= c->n_regions) {
        free(o);
        s_done_one(c);
        return;
    }
    for (size_t i = 0; i < reply->elements && o->n < 100; i++) {
        const redisReply *p = reply->element[i];
        if (p->type != REDIS_REPLY_ARRAY || p->elements < 4 || p->element[0]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(o->ids[o->n], sizeof o->ids[o->n], "%s", p->element[0]->str);
        o->counts[o->n] = p->element[3]->integer;
        o->n++;
    }
    char key[64];
    s_stream_key(key, sizeof key, s_prefixes[o->stream], c->regions[o->region]);
    if (redis_link_commandf(c->link, s_claimed, o, "XAUTOCLAIM %s %s %s %d 0-0 COUNT 100", key, IND_GROUP, c->name,
                            IND_CLAIM_IDLE_MS) != 0) {
        free(o);
        s_done_one(c);
    }
}

static void s_claim_stuck(ind_consumer *c, size_t region)
{
    for (size_t i = 0; i < IND_STREAMS; i++) {
        char key[64];
        s_stream_key(key, sizeof key, s_prefixes[i], c->regions[region]);
        claim_op *o = xcalloc(1, sizeof *o);
        o->c = c;
        o->region = region;
        o->stream = i;
        c->pending++;
        if (redis_link_commandf(c->link, s_pending_listed, o, "XPENDING %s %s IDLE %d - + 100", key, IND_GROUP,
                                IND_CLAIM_IDLE_MS) != 0) {
            free(o);
            c->pending--;
        }
    }
}

/* ---------- trimming below every group's acknowledged entries ---------- */

typedef struct {
    ind_consumer *c;
    char key[64];
    int waiting;
    unsigned long long ms, seq; /* the lowest bound so far */
    bool any;
} trim_op;

static void s_parse_id(const char *s, unsigned long long *ms, unsigned long long *seq)
{
    *ms = strtoull(s, NULL, 10);
    const char *dash = strchr(s, '-');
    *seq = dash ? strtoull(dash + 1, NULL, 10) : 0;
}

static void s_bound(trim_op *t, const char *id)
{
    unsigned long long ms, seq;
    s_parse_id(id, &ms, &seq);
    if (!t->any || ms < t->ms || (ms == t->ms && seq < t->seq)) {
        t->ms = ms;
        t->seq = seq;
        t->any = true;
    }
}

static void s_trim_done(const redisReply *reply, const char *error, void *ud)
{
    (void)reply;
    (void)error;
    s_done_one(ud);
}

static void s_trim_finish(trim_op *t)
{
    ind_consumer *c = t->c;
    if (t->any && !c->stopping) {
        unsigned long long keep = (unsigned long long)(clock_unix_ms() - c->keep_ms);
        if (keep < t->ms) {
            t->ms = keep;
            t->seq = 0;
        }
        char minid[48];
        snprintf(minid, sizeof minid, "%llu-%llu", t->ms, t->seq);
        c->pending++;
        if (redis_link_commandf(c->link, s_trim_done, c, "XTRIM %s MINID %s", t->key, minid) != 0)
            c->pending--;
    }
    free(t);
    s_done_one(c);
}

static void s_group_pending(const redisReply *reply, const char *error, void *ud)
{
    trim_op *t = ud;
    /* summary form: [count, smallest id, greatest id, consumers] */
    if (!error && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[1]->type == REDIS_REPLY_STRING)
        s_bound(t, reply->element[1]->str);
    if (--t->waiting == 0)
        s_trim_finish(t);
}

static void s_groups_listed(const redisReply *reply, const char *error, void *ud)
{
    trim_op *t = ud;
    t->waiting = 1;
    if (!t->c->stopping && !error && reply && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t g = 0; g < reply->elements; g++) {
            const redisReply *m = reply->element[g];
            if (m->type != REDIS_REPLY_ARRAY)
                continue;
            const char *name = NULL, *last = NULL;
            long long pending = 0;
            for (size_t i = 0; i + 1 < m->elements; i += 2) {
                const redisReply *k = m->element[i], *v = m->element[i + 1];
                if (k->type != REDIS_REPLY_STRING)
                    continue;
                if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                    name = v->str;
                else if (strcmp(k->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                    pending = v->integer;
                else if (strcmp(k->str, "last-delivered-id") == 0 && v->type == REDIS_REPLY_STRING)
                    last = v->str;
            }
            if (!name || !last) {
                t->any = false; /* a group we cannot read: trim nothing */
                t->waiting = -1000;
                break;
            }
            s_bound(t, last);
            if (pending > 0) {
                t->waiting++;
                if (redis_link_commandf(t->c->link, s_group_pending, t, "XPENDING %s %s", t->key, name) != 0)
                    t->waiting--;
            }
        }
    } else {
        t->waiting = -1000;
    }
    if (t->waiting < 0) {
        t->any = false;
        t->waiting = 1;
    }
    if (--t->waiting == 0)
        s_trim_finish(t);
}

static void s_trim(ind_consumer *c, size_t region)
{
    for (size_t i = 0; i < IND_STREAMS; i++) {
        trim_op *t = xcalloc(1, sizeof *t);
        t->c = c;
        s_stream_key(t->key, sizeof t->key, s_prefixes[i], c->regions[region]);
        c->pending++;
        if (redis_link_commandf(c->link, s_groups_listed, t, "XINFO GROUPS %s", t->key) != 0) {
            free(t);
            c->pending--;
        }
    }
}

/* ---------- regions ---------- */

static void s_regions(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    ind_consumer *c = ud;
    c->asking = false;
    if (status->code == IND_CODE(OK)) {
        const Metodnet__ListRegionsResponse *r = (const Metodnet__ListRegionsResponse *)response;
        for (size_t i = 0; i < r->n_items; i++) {
            const char *id = r->items[i]->id;
            if (!id || strlen(id) >= sizeof c->regions[0] || strchr(id, '}') || strchr(id, ':'))
                continue;
            bool known = false;
            for (size_t k = 0; k < c->n_regions; k++)
                if (strcmp(c->regions[k], id) == 0)
                    known = true;
            if (!known && c->n_regions < IND_MAX_REGIONS) {
                snprintf(c->regions[c->n_regions], sizeof c->regions[0], "%s", id);
                c->groups[c->n_regions] = false;
                c->n_regions++;
                log_info(NULL, "показатели: читаю потоки региона %s", id);
            }
        }
    }
}

static void s_ask_regions(ind_consumer *c)
{
    Metodnet__ListRegionsRequest req = METODNET__LIST_REGIONS_REQUEST__INIT;
    req.limit = IND_MAX_REGIONS;
    service_client_request r = {.service = "registry",
                                .method = "ListRegions",
                                .request = &req.base,
                                .response = &metodnet__list_regions_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = "indicators-regions",
                                .timeout_ms = 3000};
    c->asking = true;
    if (service_client_call(c->svc->broker, &r, s_regions, c) != 0)
        c->asking = false;
}

/* ---------- the loop ---------- */

static void s_step(ind_consumer *c)
{
    if (c->stopping)
        return;
    int64_t now = clock_unix_ms();
    if (!c->asking && (c->n_regions == 0 || now - c->last_regions >= IND_REGIONS_EVERY_MS)) {
        c->last_regions = now;
        s_ask_regions(c);
    }
    if (c->n_regions == 0) {
        s_schedule(c, 500);
        return;
    }
    c->pending = 1;
    size_t region = c->next++ % c->n_regions;
    if (!c->groups[region])
        s_create_groups(c, region);
    if (now - c->last_maint >= IND_MAINT_EVERY_MS) {
        if (region == c->n_regions - 1)
            c->last_maint = now;
        s_claim_stuck(c, region);
    }
    if (now - c->last_trim >= IND_TRIM_EVERY_MS) {
        if (region == c->n_regions - 1)
            c->last_trim = now;
        s_trim(c, region);
    }
    s_read(c, region);
    s_done_one(c);
}

ind_consumer *ind_consumer_new(indicators_service *svc, const config *cfg)
{
    ind_consumer *c = xcalloc(1, sizeof *c);
    c->svc = svc;
    redis_link_options o = cfg->redis;
    o.command_timeout_ms = o.command_timeout_ms > 2000 ? o.command_timeout_ms : 2000;
    c->link = redis_link_new(svc->loop, &o);
    if (!c->link) {
        free(c);
        return NULL;
    }
    char host[32] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(c->name, sizeof c->name, "%s-%ld", host, (long)getpid());
    const char *keep = getenv("METODNET_INDICATORS_STREAM_KEEP_MS");
    c->keep_ms = keep && atoll(keep) > 0 ? atoll(keep) : 600000;
    c->timer = xcalloc(1, sizeof *c->timer);
    uv_timer_init(svc->loop, c->timer);
    c->timer->data = c;
    s_schedule(c, 0);
    return c;
}

void ind_consumer_destroy(ind_consumer **cp)
{
    ind_consumer *c = *cp;
    if (!c)
        return;
    c->stopping = true;
    uv_timer_stop(c->timer);
    uv_close((uv_handle_t *)c->timer, (uv_close_cb)free);
    redis_link_close(&c->link); /* fails what waits; callbacks see c->stopping */
    free(c);
    *cp = NULL;
}
