/* registry_claims_check — the externalId claims check and repair (see header). */
#include "registry_claims_check.h"

#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

#include "pbfield.h"
#include "registry_kinds.h"

#define S_BATCH 1000 /* commands pipelined at once */

/* Releases a claim only while it still names the owner the check saw. */
static const char s_release_lua[] = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
                                    "  return redis.call('HDEL', KEYS[1], ARGV[1])\n"
                                    "end\n"
                                    "return 0\n";

const char *const *registry_claims_check_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_release_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

typedef struct {
    char *id;
    char *xid; /* NULL: none */
} record;

typedef struct {
    char *value;
    char *owner;
    bool stale;
} claim;

typedef struct {
    redisContext *c;
    bool fix;
    FILE *out;
    registry_claims_report *report;
    bool failed;
} check;

static void s_fail(check *ck, const char *what, const redisReply *reply)
{
    if (!ck->failed)
        fprintf(stderr, "Ошибка: %s: %s\n", what,
                reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                : ck->c->err                              ? ck->c->errstr
                                                          : "неожиданный ответ Redis");
    ck->failed = true;
}

static char *s_dup(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, text, len);
        out[len] = '\0';
    }
    return out;
}

/* The id of an index member: what follows the last \x1f. */
static const char *s_member_id(const char *member)
{
    const char *sep = strrchr(member, '\x1f');
    return sep ? sep + 1 : member;
}

/* The ids of an index (ZRANGEBYLEX - +, in pages). Returns the count, *out malloc'd; -1 on failure. */
static long s_index_ids(check *ck, const char *index, char ***out)
{
    size_t n = 0, cap = 0;
    char **ids = NULL;
    char start[REGISTRY_MEMBER_MAX + 2] = "-";
    for (;;) {
        redisReply *r = redisCommand(ck->c, "ZRANGEBYLEX %s %s + LIMIT 0 %d", index, start, S_BATCH);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            s_fail(ck, index, r);
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                char **bigger = realloc(ids, cap * sizeof *ids);
                if (!bigger) {
                    ck->failed = true;
                    break;
                }
                ids = bigger;
            }
            ids[n] = strdup(s_member_id(e->str));
            if (ids[n])
                n++;
            if (i + 1 == r->elements)
                snprintf(start, sizeof start, "(%s", e->str);
        }
        size_t got = r->elements;
        freeReplyObject(r);
        if (ck->failed || got < S_BATCH)
            break;
    }
    *out = ids;
    return ck->failed ? -1 : (long)n;
}

/* The externalId of the packed record (NULL: none or not decodable). */
static char *s_external_id(const registry_kind *kind, const redisReply *d)
{
    if (!d || d->type != REDIS_REPLY_STRING)
        return NULL;
    ProtobufCMessage *msg = protobuf_c_message_unpack(kind->descriptor, NULL, d->len, (const uint8_t *)d->str);
    if (!msg)
        return NULL;
    const char *xid = pbfield_string(msg, "external_id");
    char *out = xid && *xid ? strdup(xid) : NULL;
    protobuf_c_message_free_unpacked(msg, NULL);
    return out;
}

/* exists[i] = whether entity i is there, xids[i] = its externalId; entity keys from ids. */
static void s_load_records(check *ck, const registry_kind *kind, char **ids, size_t n, bool *exists, char **xids)
{
    for (size_t base = 0; base < n && !ck->failed; base += S_BATCH) {
        size_t end = base + S_BATCH < n ? base + S_BATCH : n;
        for (size_t i = base; i < end; i++) {
            char key[REGISTRY_KEY_MAX];
            if (!registry_entity_key(kind, ids[i], key, sizeof key))
                snprintf(key, sizeof key, "reg:{g}:invalid-id");
            redisAppendCommand(ck->c, "HGET %s d", key);
        }
        for (size_t i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(ck->c, (void **)&r) != REDIS_OK || !r ||
                (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
                s_fail(ck, "чтение записей", r);
                freeReplyObject(r);
                return;
            }
            exists[i] = r->type == REDIS_REPLY_STRING;
            xids[i] = s_external_id(kind, r);
            freeReplyObject(r);
        }
    }
}

static int s_record_cmp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = strcmp(x->xid, y->xid);
    return c ? c : strcmp(x->id, y->id);
}

static int s_claim_cmp(const void *a, const void *b)
{
    return strcmp(((const claim *)a)->value, ((const claim *)b)->value);
}

static claim *s_find_claim(claim *claims, size_t n, const char *value)
{
    claim key = {(char *)value, NULL, false};
    return bsearch(&key, claims, n, sizeof *claims, s_claim_cmp);
}

static void s_check_kind(check *ck, const registry_kind *kind, const char *region)
{
    char claims_key[REGISTRY_KEY_MAX], index[REGISTRY_KEY_MAX];
    registry_claims_key(kind, region, claims_key, sizeof claims_key);
    registry_main_index(kind, region, index, sizeof index);

    /* the claims: value → owner */
    redisReply *all = redisCommand(ck->c, "HGETALL %s", claims_key);
    if (!all || all->type != REDIS_REPLY_ARRAY || all->elements % 2 != 0) {
        s_fail(ck, claims_key, all);
        freeReplyObject(all);
        return;
    }
    size_t n_claims = all->elements / 2;
    claim *claims = calloc(n_claims ? n_claims : 1, sizeof *claims);
    char **owners = calloc(n_claims ? n_claims : 1, sizeof *owners);
    bool *owner_exists = calloc(n_claims ? n_claims : 1, sizeof *owner_exists);
    char **owner_xids = calloc(n_claims ? n_claims : 1, sizeof *owner_xids);
    char **ids = NULL;
    long n_ids = -1;
    bool *rec_exists = NULL;
    char **rec_xids = NULL;
    record *records = NULL;
    if (!claims || !owners || !owner_exists || !owner_xids) {
        ck->failed = true;
        goto done;
    }
    for (size_t i = 0; i < n_claims; i++) {
        claims[i].value = s_dup(all->element[2 * i]->str, all->element[2 * i]->len);
        claims[i].owner = s_dup(all->element[2 * i + 1]->str, all->element[2 * i + 1]->len);
        owners[i] = claims[i].owner;
    }
    ck->report->claims += n_claims;

    /* stale claims: the owner is gone or has another externalId now */
    s_load_records(ck, kind, owners, n_claims, owner_exists, owner_xids);
    for (size_t i = 0; i < n_claims && !ck->failed; i++) {
        if (owner_exists[i] && owner_xids[i] && strcmp(owner_xids[i], claims[i].value) == 0)
            continue;
        claims[i].stale = true;
        ck->report->stale++;
        bool released = false;
        if (ck->fix) {
            redisReply *r =
                redisCommand(ck->c, "EVAL %s 1 %s %s %s", s_release_lua, claims_key, claims[i].value, claims[i].owner);
            if (!r || r->type != REDIS_REPLY_INTEGER) {
                s_fail(ck, "освобождение значения", r);
                freeReplyObject(r);
                break;
            }
            released = r->integer == 1;
            freeReplyObject(r);
            if (released)
                ck->report->released++;
        }
        fprintf(ck->out, "устаревшее: %s «%s» занято за %s, а %s%s%s%s\n", claims_key, claims[i].value, claims[i].owner,
                !owner_exists[i] ? "такой записи нет"
                : owner_xids[i]  ? "у записи теперь externalId «"
                                 : "у записи нет externalId",
                owner_exists[i] && owner_xids[i] ? owner_xids[i] : "", owner_exists[i] && owner_xids[i] ? "»" : "",
                released ? " — освобождено" : "");
    }
    qsort(claims, n_claims, sizeof *claims, s_claim_cmp);

    /* the records, grouped by externalId */
    n_ids = s_index_ids(ck, index, &ids);
    if (n_ids < 0)
        goto done;
    rec_exists = calloc(n_ids ? (size_t)n_ids : 1, sizeof *rec_exists);
    rec_xids = calloc(n_ids ? (size_t)n_ids : 1, sizeof *rec_xids);
    records = calloc(n_ids ? (size_t)n_ids : 1, sizeof *records);
    if (!rec_exists || !rec_xids || !records) {
        ck->failed = true;
        goto done;
    }
    s_load_records(ck, kind, ids, (size_t)n_ids, rec_exists, rec_xids);
    size_t n_records = 0;
    for (long i = 0; i < n_ids; i++) {
        if (rec_exists[i])
            ck->report->records++;
        if (rec_exists[i] && rec_xids[i])
            records[n_records++] = (record){ids[i], rec_xids[i]};
    }
    qsort(records, n_records, sizeof *records, s_record_cmp);
    for (size_t i = 0; i < n_records && !ck->failed;) {
        size_t j = i + 1;
        while (j < n_records && strcmp(records[j].xid, records[i].xid) == 0)
            j++;
        claim *held = s_find_claim(claims, n_claims, records[i].xid);
        if (j - i > 1) {
            ck->report->duplicates++;
            fprintf(ck->out, "дубль: %s «%s» у записей", claims_key, records[i].xid);
            for (size_t k = i; k < j; k++)
                fprintf(ck->out, "%s %s", k == i ? "" : ",", records[k].id);
            fprintf(ck->out, " (занято за %s) — решите, у какой записи оставить значение, у остальных измените его\n",
                    held && !held->stale ? held->owner : "никем");
        } else if (!held || held->stale) {
            ck->report->unclaimed++;
            bool restored = false;
            if (ck->fix) {
                redisReply *r = redisCommand(ck->c, "HSETNX %s %s %s", claims_key, records[i].xid, records[i].id);
                if (!r || r->type != REDIS_REPLY_INTEGER) {
                    s_fail(ck, "занятие значения", r);
                    freeReplyObject(r);
                    break;
                }
                restored = r->integer == 1;
                freeReplyObject(r);
                if (restored)
                    ck->report->restored++;
            }
            fprintf(ck->out, "не занято: у записи %s externalId «%s», а в %s его нет%s\n", records[i].id,
                    records[i].xid, claims_key, restored ? " — занято за ней" : "");
        } else if (strcmp(held->owner, records[i].id) != 0) {
            /* held by a record outside the index that has the value too */
            ck->report->duplicates++;
            fprintf(ck->out, "дубль: %s «%s» у записей %s, %s — решите, у какой записи оставить значение\n", claims_key,
                    records[i].xid, records[i].id, held->owner);
        }
        i = j;
    }

done:
    for (size_t i = 0; claims && i < n_claims; i++) {
        free(claims[i].value);
        free(claims[i].owner);
        if (owner_xids)
            free(owner_xids[i]);
    }
    for (long i = 0; i < n_ids; i++) {
        free(ids[i]);
        if (rec_xids)
            free(rec_xids[i]);
    }
    free(ids);
    free(rec_exists);
    free(rec_xids);
    free(records);
    free(claims);
    free(owners);
    free(owner_exists);
    free(owner_xids);
    freeReplyObject(all);
}

int registry_claims_check(redisContext *c, bool fix, FILE *out, registry_claims_report *report)
{
    registry_claims_report local;
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    check ck = {c, fix, out, report, false};
    static const registry_kind *const kinds[] = {&registry_organization_kind, &registry_staff_kind};
    char regions_index[REGISTRY_KEY_MAX];
    registry_main_index(&registry_region_kind, "", regions_index, sizeof regions_index);
    char **regions = NULL;
    long n_regions = s_index_ids(&ck, regions_index, &regions);
    for (long i = 0; i < n_regions && !ck.failed; i++) {
        report->regions++;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !ck.failed; k++)
            s_check_kind(&ck, kinds[k], regions[i]);
    }
    for (long i = 0; i < n_regions; i++)
        free(regions[i]);
    free(regions);
    if (ck.failed)
        return REGISTRY_CLAIMS_FAILED;
    fprintf(out,
            "Проверка externalId реестра (%s): регионов %zu, записей %zu, занятых значений %zu\n"
            "  устаревших занятий (запись удалена или сменила externalId): %zu, освобождено: %zu\n"
            "  записей, чьё значение не занято: %zu, занято за ними: %zu\n"
            "  значений у нескольких записей (решает оператор): %zu\n",
            fix ? "с исправлением" : "только отчёт", report->regions, report->records, report->claims, report->stale,
            report->released, report->unclaimed, report->restored, report->duplicates);
    bool left = report->duplicates > 0 || report->released < report->stale || report->restored < report->unclaimed;
    return left ? REGISTRY_CLAIMS_PROBLEMS : REGISTRY_CLAIMS_CLEAN;
}
