/* entity_store — entities as Redis hashes {v, d, a} with sorted-set indexes and a domain-event
 * stream, each write one Lua script run by EVALSHA (contract in entity_store.h).
 *
 * Every Redis reply is checked for type and shape before use: a reply we do not expect becomes
 * ENTITY_ERROR with a message, never a crash. Callbacks come from redis_link, which never answers
 * from inside a call, so ours never do either.
 */
#include "entity_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_LIST_ENTRIES 100000 /* bound on any key list of one write, a programmer guard */

/* KEYS: entity, must_exist..., must_be_empty..., index_remove..., index_add..., [stream]
 *       [, claim keys..., release keys...]
 * ARGV: [1] expected_version ("-1" no check, "0" must not exist), [2] new_version, [3] "1" delete,
 *       [4] data, [5] attributes, [6] n_must_exist, [7] n_must_be_empty, [8] n_index_remove,
 *       [9] n_index_add, [10] "1" with stream, [11] event, then index_remove members, index_add members,
 *       then n_claims, n_releases, (value, owner) per claim, (value, owner) per release.
 * Returns {code, detail}: code is entity_result (6 = ENTITY_ERROR), detail a string (a version, an
 * index into a key list, or a message). Every check, key types included, runs before the first
 * write, so a refused write changes nothing: that includes the caller's Redis ACL, since Redis does not
 * roll a script back when a command in it fails (NOPERM half-way would leave, say, an entity deleted and
 * its claim kept). Each command the writes below will send is first put to redis.acl_check_cmd with
 * its key; a missing grant returns ENTITY_ERROR naming the command. */
static const char s_write_lua[] =
    "local expected = ARGV[1]\n"
    "local n_exist, n_empty = tonumber(ARGV[6]), tonumber(ARGV[7])\n"
    "local n_remove, n_add = tonumber(ARGV[8]), tonumber(ARGV[9])\n"
    "local function key_type(key) return redis.call('TYPE', key)['ok'] end\n"
    "if expected ~= '-1' then\n"
    "  local exists = redis.call('EXISTS', KEYS[1]) == 1\n"
    "  local stored = exists and redis.call('HGET', KEYS[1], 'v') or ''\n"
    "  if expected == '0' then\n"
    "    if exists then return {2, stored or ''} end\n"
    "  else\n"
    "    if not exists then return {1, ''} end\n"
    "    if stored ~= expected then return {3, stored or ''} end\n"
    "  end\n"
    "end\n"
    "local k = 1\n"
    "for i = 1, n_exist do\n"
    "  if redis.call('EXISTS', KEYS[k + i]) == 0 then return {4, tostring(i - 1)} end\n"
    "end\n"
    "k = k + n_exist\n"
    "for i = 1, n_empty do\n"
    "  local t = key_type(KEYS[k + i])\n"
    "  if t ~= 'zset' and t ~= 'none' then return {6, 'not an index: ' .. KEYS[k + i]} end\n"
    "  if redis.call('ZCARD', KEYS[k + i]) ~= 0 then return {5, tostring(i - 1)} end\n"
    "end\n"
    "k = k + n_empty\n"
    "local t = key_type(KEYS[1])\n"
    "if t ~= 'hash' and t ~= 'none' then return {6, 'not an entity: ' .. KEYS[1]} end\n"
    "for i = k + 1, k + n_remove + n_add do\n"
    "  t = key_type(KEYS[i])\n"
    "  if t ~= 'zset' and t ~= 'none' then return {6, 'not an index: ' .. KEYS[i]} end\n"
    "end\n"
    "local with_stream = ARGV[10] == '1'\n"
    "if with_stream then\n"
    "  t = key_type(KEYS[k + n_remove + n_add + 1])\n"
    "  if t ~= 'stream' and t ~= 'none' then return {6, 'not a stream: ' .. KEYS[k + n_remove + n_add + 1]} end\n"
    "end\n"
    "local c = 11 + n_remove + n_add\n"
    "local n_claims, n_releases = tonumber(ARGV[c + 1] or '0'), tonumber(ARGV[c + 2] or '0')\n"
    "local ck = k + n_remove + n_add + (with_stream and 1 or 0)\n"
    "for i = 1, n_claims + n_releases do\n"
    "  t = key_type(KEYS[ck + i])\n"
    "  if t ~= 'hash' and t ~= 'none' then return {6, 'not a claims hash: ' .. KEYS[ck + i]} end\n"
    "end\n"
    "for i = 1, n_claims do\n"
    "  local owner = redis.call('HGET', KEYS[ck + i], ARGV[c + 1 + 2 * i])\n"
    "  if owner and owner ~= ARGV[c + 2 + 2 * i] then return {7, tostring(i - 1)} end\n"
    "end\n"
    "local function denied(...)\n"
    "  if redis.acl_check_cmd(...) then return nil end\n"
    "  local a = {...}\n"
    "  return {6, 'ACL Redis не разрешает пользователю службы ' .. a[1] .. ' ' .. a[2] .. '; ничего не изменено'}\n"
    "end\n"
    "local refused\n"
    "if ARGV[3] == '1' then refused = denied('DEL', KEYS[1]) else refused = denied('HSET', KEYS[1], 'v', ARGV[2]) end\n"
    "for i = 1, n_remove do refused = refused or denied('ZREM', KEYS[k + i], ARGV[11 + i]) end\n"
    "for i = 1, n_add do refused = refused or denied('ZADD', KEYS[k + n_remove + i], '0', ARGV[11 + n_remove + i]) "
    "end\n"
    "if with_stream then refused = refused or denied('XADD', KEYS[k + n_remove + n_add + 1], '*', 'event', 'e') end\n"
    "for i = 1, n_releases do\n"
    "  refused = refused or denied('HGET', KEYS[ck + n_claims + i], 'f') or denied('HDEL', KEYS[ck + n_claims + i], "
    "'f')\n"
    "end\n"
    "for i = 1, n_claims do refused = refused or denied('HSET', KEYS[ck + i], 'f', 'o') end\n"
    "if refused then return refused end\n"
    "if ARGV[3] == '1' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[4], 'a', ARGV[5])\n"
    "end\n"
    "for i = 1, n_remove do redis.call('ZREM', KEYS[k + i], ARGV[11 + i]) end\n"
    "k = k + n_remove\n"
    "for i = 1, n_add do redis.call('ZADD', KEYS[k + i], 0, ARGV[11 + n_remove + i]) end\n"
    "k = k + n_add\n"
    "if with_stream then redis.call('XADD', KEYS[k + 1], '*', 'event', ARGV[11]) end\n"
    "local r = c + 2 + 2 * n_claims\n"
    "for i = 1, n_releases do\n"
    "  if redis.call('HGET', KEYS[ck + n_claims + i], ARGV[r + 2 * i - 1]) == ARGV[r + 2 * i] then\n"
    "    redis.call('HDEL', KEYS[ck + n_claims + i], ARGV[r + 2 * i - 1])\n"
    "  end\n"
    "end\n"
    "for i = 1, n_claims do redis.call('HSET', KEYS[ck + i], ARGV[c + 1 + 2 * i], ARGV[c + 2 + 2 * i]) end\n"
    "return {0, ''}\n";

/* KEYS[1]: the index. ARGV: [1] ZRANGEBYLEX min, [2] max, [3] entity key prefix, [4] limit,
 * [5] max_scan, [6] n_tokens, tokens...
 * Returns {more, next_member, data...}: more = 1 with the last examined member when more may
 * remain, 0 and "" at the end of the range.
 * The entity keys (prefix .. id) are not declared in KEYS. That is fine on one Redis instance;
 * under Cluster it holds because the prefix carries the same region hash tag ({r:<id>}) as the
 * index, so every key the script touches lives in the index's slot. */
static const char s_list_lua[] =
    "local index, start, stop, prefix = KEYS[1], ARGV[1], ARGV[2], ARGV[3]\n"
    "local limit, max_scan, n_tokens = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local out = {0, ''}\n"
    "local found, scanned, last = 0, 0, nil\n"
    "while scanned < max_scan do\n"
    "  local want = max_scan - scanned\n"
    "  if want > 256 then want = 256 end\n"
    "  local members = redis.call('ZRANGEBYLEX', index, start, stop, 'LIMIT', 0, want)\n"
    "  for _, member in ipairs(members) do\n"
    "    scanned = scanned + 1\n"
    "    last = member\n"
    "    local id = string.match(member, '[^\\031]*$')\n"
    "    local entity = redis.call('HMGET', prefix .. id, 'd', 'a')\n"
    "    if entity[1] then\n"
    "      local attributes = entity[2] or ''\n"
    "      local keep = true\n"
    "      for i = 1, n_tokens do\n"
    "        if not string.find(attributes, ARGV[6 + i], 1, true) then keep = false break end\n"
    "      end\n"
    "      if keep then\n"
    "        found = found + 1\n"
    "        out[2 + found] = entity[1]\n"
    "        if found >= limit then out[1] = 1 out[2] = member return out end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if #members < want then return out end\n"
    "  start = '(' .. last\n"
    "end\n"
    "if last then out[1] = 1 out[2] = last end\n"
    "return out\n";

/* KEYS[1]: a claims hash. ARGV: [1] the value, [2] the owners' entity key prefix. The owner's {v, d}
 * (as HMGET), or nil when the value is not claimed. The entity key is not declared in KEYS: it carries
 * the claims hash's hash tag (a service's claims and entities of one region share it). */
static const char s_get_by_claim_lua[] = "local owner = redis.call('HGET', KEYS[1], ARGV[1])\n"
                                         "if not owner then return false end\n"
                                         "return redis.call('HMGET', ARGV[2] .. owner, 'v', 'd')\n";

const char *const *entity_store_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_write_lua, s_list_lua, s_get_by_claim_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

struct entity_store {
    redis_link *link;
    redis_script *write_script;
    redis_script *list_script;
    redis_script *get_by_claim_script;
};

typedef struct {
    union {
        entity_write_cb write;
        entity_get_cb get;
        entity_list_cb list;
        void (*next_id)(entity_result result, int64_t value, const char *error, void *ud);
        void (*get_claims)(void); /* an entity_claims_cb */
    } cb;
    void *ud;
} store_op;

static store_op *s_op_new(void *ud)
{
    store_op *op = calloc(1, sizeof *op);
    if (op)
        op->ud = ud;
    return op;
}

/* Strict decimal int64 of a reply string (no sign tricks, no trailing bytes). */
static bool s_parse_int64(const char *text, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    char buf[24];
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return false;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(buf, &end, 10);
    if (errno != 0 || end != buf + len)
        return false;
    *out = value;
    return true;
}

/* The message for a failed command: the link's error or a Redis error reply. */
static void s_describe_failure(const redisReply *reply, const char *error, char *buf, size_t size)
{
    if (error)
        snprintf(buf, size, "ошибка связи с Redis: %s", error);
    else if (reply && reply->type == REDIS_REPLY_ERROR)
        snprintf(buf, size, "Redis ответил ошибкой: %.*s", (int)(reply->len < 200 ? reply->len : 200),
                 reply->str ? reply->str : "");
    else
        snprintf(buf, size, "неожиданный ответ Redis");
}

entity_store *entity_store_new(redis_link *link)
{
    if (!link)
        return NULL;
    entity_store *store = calloc(1, sizeof *store);
    if (!store)
        return NULL;
    store->link = link;
    store->write_script = redis_link_script(link, s_write_lua);
    store->list_script = redis_link_script(link, s_list_lua);
    store->get_by_claim_script = redis_link_script(link, s_get_by_claim_lua);
    if (!store->write_script || !store->list_script || !store->get_by_claim_script) {
        free(store);
        return NULL;
    }
    return store;
}

void entity_store_destroy(entity_store **store)
{
    if (!store || !*store)
        return;
    /* Operations in flight keep only their callback and ud; the scripts belong to the link. */
    free(*store);
    *store = NULL;
}

/* ---- write ------------------------------------------------------------------------------- */

/* The write script's reply as an entity_result; *failure points into message (or is NULL). */
static entity_result s_write_result(const redisReply *reply, const char *error, int64_t *detail, char *message,
                                    size_t size, const char **failure)
{
    entity_result result = ENTITY_ERROR;
    *detail = 0;
    *failure = NULL;
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY) {
        s_describe_failure(reply, error, message, size);
        *failure = message;
    } else if (reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_INTEGER ||
               reply->element[1]->type != REDIS_REPLY_STRING || reply->element[0]->integer < ENTITY_OK ||
               reply->element[0]->integer > ENTITY_CLAIMED) {
        snprintf(message, size, "неожиданный ответ Redis на запись сущности");
        *failure = message;
    } else {
        const redisReply *code = reply->element[0], *text = reply->element[1];
        result = (entity_result)code->integer;
        if (result == ENTITY_ERROR) {
            snprintf(message, size, "запись сущности отклонена: %.*s", (int)(text->len < 200 ? text->len : 200),
                     text->str);
            *failure = message;
        } else if (text->len > 0 && !s_parse_int64(text->str, text->len, detail)) {
            /* A stored version that is not a number: the entity is damaged. */
            result = ENTITY_ERROR;
            *detail = 0;
            snprintf(message, size, "повреждённая версия сущности в Redis");
            *failure = message;
        }
    }
    return result;
}

static void s_on_write(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    char message[300];
    int64_t detail = 0;
    const char *failure = NULL;
    entity_result result = s_write_result(reply, error, &detail, message, sizeof message, &failure);
    op->cb.write(result, detail, failure, op->ud);
    free(op);
}

/* A write that waits for replicas (the link's wait_replicas > 0): the write script and WAIT go out
 * together (pipelined: no extra round trip), and the caller is answered once both replies are in.
 * The WAIT counts only if its reply came after the write's, on the same connection. When it came
 * first (the script was reloaded after NOSCRIPT, or resent after READONLY, behind the WAIT), one
 * more WAIT is sent from the write's reply, on the connection that ran the write. Fewer replicas
 * than asked, or no WAIT answer: ENTITY_ERROR with detail ENTITY_DETAIL_UNCONFIRMED (the write is
 * on the master; docs/operations.md says why the caller is not told "done"). */
typedef struct {
    redis_link *link;
    entity_write_cb cb; /* NULL once the caller is answered */
    void *ud;
    uint32_t replicas, timeout_ms;
    int pending;       /* link callbacks still to come; freed when 0 and answered */
    bool written;      /* the write's reply is in */
    bool waited_early; /* a WAIT answered before the write did: it does not count */
    uint64_t write_connection;
} durable_write;

static void s_durable_release(durable_write *dw)
{
    if (dw->pending == 0 && dw->cb == NULL)
        free(dw);
}

static void s_durable_answer(durable_write *dw, entity_result result, int64_t detail, const char *failure)
{
    entity_write_cb cb = dw->cb;
    dw->cb = NULL;
    if (cb)
        cb(result, detail, failure, dw->ud);
}

static void s_on_wait(const redisReply *reply, const char *error, void *ud)
{
    durable_write *dw = ud;
    dw->pending--;
    if (dw->cb == NULL) {
        s_durable_release(dw);
        return;
    }
    if (!dw->written) {
        dw->waited_early = true;
        return;
    }
    long long acked = !error && reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    bool same = redis_link_connection_id(dw->link) == dw->write_connection;
    if (acked >= (long long)dw->replicas && same) {
        s_durable_answer(dw, ENTITY_OK, 0, NULL);
    } else {
        char message[300];
        if (acked >= 0 && same)
            snprintf(message, sizeof message,
                     "запись сохранена на основном узле Redis, но реплики подтвердили её не все: %lld из %u за %u мс",
                     acked, dw->replicas, dw->timeout_ms);
        else
            snprintf(message, sizeof message, "запись выполнена, но подтверждения реплик нет: %.200s",
                     error                                                     ? error
                     : reply && reply->type == REDIS_REPLY_ERROR && reply->str ? reply->str
                                                                               : "соединение сменилось");
        s_durable_answer(dw, ENTITY_ERROR, ENTITY_DETAIL_UNCONFIRMED, message);
    }
    s_durable_release(dw);
}

static int s_send_wait(durable_write *dw)
{
    char replicas[16], timeout[16];
    snprintf(replicas, sizeof replicas, "%u", dw->replicas);
    snprintf(timeout, sizeof timeout, "%u", dw->timeout_ms);
    const char *argv[] = {"WAIT", replicas, timeout};
    if (redis_link_command(dw->link, s_on_wait, dw, 3, argv, NULL) != 0)
        return -1;
    dw->pending++;
    return 0;
}

static void s_on_durable_write(const redisReply *reply, const char *error, void *ud)
{
    durable_write *dw = ud;
    dw->pending--;
    dw->written = true;
    dw->write_connection = redis_link_connection_id(dw->link);
    char message[300];
    int64_t detail = 0;
    const char *failure = NULL;
    entity_result result = s_write_result(reply, error, &detail, message, sizeof message, &failure);
    if (result != ENTITY_OK) {
        s_durable_answer(dw, result, detail, failure); /* nothing stored: nothing to wait for */
    } else if (dw->waited_early || dw->pending == 0) {
        /* the WAIT went before this write, or could not be sent: once more, now, behind it */
        if (s_send_wait(dw) != 0)
            s_durable_answer(dw, ENTITY_ERROR, ENTITY_DETAIL_UNCONFIRMED,
                             "запись выполнена, но WAIT не отправлен: подтверждения реплик нет");
    }
    s_durable_release(dw);
}

static bool s_entries_valid(const entity_index_entry *entries, size_t n)
{
    if (n > S_MAX_LIST_ENTRIES || (n > 0 && !entries))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!entries[i].key || !entries[i].member)
            return false;
    return true;
}

static bool s_keys_valid(const char *const *keys, size_t n)
{
    if (n > S_MAX_LIST_ENTRIES || (n > 0 && !keys))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!keys[i])
            return false;
    return true;
}

static bool s_claims_valid(const entity_claim *claims, size_t n)
{
    if (n > S_MAX_LIST_ENTRIES || (n > 0 && !claims))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!claims[i].key || !claims[i].value || !claims[i].owner)
            return false;
    return true;
}

int entity_store_write(entity_store *store, const entity_write *write, entity_write_cb cb, void *ud)
{
    if (!store || !write || !cb || !write->entity_key || write->expected_version < -1 ||
        !s_entries_valid(write->index_remove, write->n_index_remove) ||
        !s_entries_valid(write->index_add, write->n_index_add) ||
        !s_keys_valid(write->must_exist, write->n_must_exist) ||
        !s_keys_valid(write->must_be_empty, write->n_must_be_empty) ||
        (write->stream_key && write->event_len > 0 && !write->event) ||
        !s_claims_valid(write->claims, write->n_claims) || !s_claims_valid(write->releases, write->n_releases))
        return -1;

    size_t n_keys = 1 + write->n_must_exist + write->n_must_be_empty + write->n_index_remove + write->n_index_add +
                    (write->stream_key ? 1 : 0) + write->n_claims + write->n_releases;
    size_t n_args = 13 + write->n_index_remove + write->n_index_add + 2 * (write->n_claims + write->n_releases);
    size_t total = n_keys + n_args;
    const char **argv = malloc(sizeof *argv * total);
    size_t *argvlen = malloc(sizeof *argvlen * total);
    store_op *op = s_op_new(ud);
    if (!argv || !argvlen || !op) {
        free(argv);
        free(argvlen);
        free(op);
        return -1;
    }
    op->cb.write = cb;

    size_t n = 0;
#define S_PUSH(text, length)                                                                                           \
    do {                                                                                                               \
        argv[n] = (text);                                                                                              \
        argvlen[n] = (length);                                                                                         \
        n++;                                                                                                           \
    } while (0)
#define S_PUSH_STRING(text) S_PUSH((text), strlen(text))

    S_PUSH_STRING(write->entity_key);
    for (size_t i = 0; i < write->n_must_exist; i++)
        S_PUSH_STRING(write->must_exist[i]);
    for (size_t i = 0; i < write->n_must_be_empty; i++)
        S_PUSH_STRING(write->must_be_empty[i]);
    for (size_t i = 0; i < write->n_index_remove; i++)
        S_PUSH_STRING(write->index_remove[i].key);
    for (size_t i = 0; i < write->n_index_add; i++)
        S_PUSH_STRING(write->index_add[i].key);
    if (write->stream_key)
        S_PUSH_STRING(write->stream_key);
    for (size_t i = 0; i < write->n_claims; i++)
        S_PUSH_STRING(write->claims[i].key);
    for (size_t i = 0; i < write->n_releases; i++)
        S_PUSH_STRING(write->releases[i].key);

    char expected[24], new_version[24], counts[6][24];
    snprintf(expected, sizeof expected, "%" PRId64, write->expected_version);
    snprintf(new_version, sizeof new_version, "%" PRId64, write->new_version);
    snprintf(counts[0], sizeof counts[0], "%zu", write->n_must_exist);
    snprintf(counts[1], sizeof counts[1], "%zu", write->n_must_be_empty);
    snprintf(counts[2], sizeof counts[2], "%zu", write->n_index_remove);
    snprintf(counts[3], sizeof counts[3], "%zu", write->n_index_add);
    S_PUSH_STRING(expected);
    S_PUSH_STRING(new_version);
    S_PUSH_STRING(write->data ? "0" : "1");
    S_PUSH(write->data ? (const char *)write->data : "", write->data ? write->data_len : 0);
    S_PUSH_STRING(write->attributes ? write->attributes : "");
    for (int i = 0; i < 4; i++)
        S_PUSH_STRING(counts[i]);
    S_PUSH_STRING(write->stream_key ? "1" : "0");
    S_PUSH(write->stream_key && write->event ? (const char *)write->event : "",
           write->stream_key && write->event ? write->event_len : 0);
    for (size_t i = 0; i < write->n_index_remove; i++)
        S_PUSH_STRING(write->index_remove[i].member);
    for (size_t i = 0; i < write->n_index_add; i++)
        S_PUSH_STRING(write->index_add[i].member);
    snprintf(counts[4], sizeof counts[4], "%zu", write->n_claims);
    snprintf(counts[5], sizeof counts[5], "%zu", write->n_releases);
    S_PUSH_STRING(counts[4]);
    S_PUSH_STRING(counts[5]);
    for (size_t i = 0; i < write->n_claims; i++) {
        S_PUSH_STRING(write->claims[i].value);
        S_PUSH_STRING(write->claims[i].owner);
    }
    for (size_t i = 0; i < write->n_releases; i++) {
        S_PUSH_STRING(write->releases[i].value);
        S_PUSH_STRING(write->releases[i].owner);
    }
#undef S_PUSH_STRING
#undef S_PUSH

    const redis_link_options *link_options = redis_link_get_options(store->link);
    int rc;
    if (link_options->wait_replicas > 0) {
        free(op);
        durable_write *dw = calloc(1, sizeof *dw);
        rc = -1;
        if (dw) {
            dw->link = store->link;
            dw->cb = cb;
            dw->ud = ud;
            dw->replicas = link_options->wait_replicas;
            dw->timeout_ms = link_options->wait_timeout_ms;
            rc = redis_link_evalsha(store->link, store->write_script, (int)n_keys, (int)n, argv, argvlen,
                                    s_on_durable_write, dw);
            if (rc == 0) {
                dw->pending = 1;
                (void)s_send_wait(dw); /* not sent: the write's reply sends it (pending stays 1) */
            } else {
                free(dw);
            }
        }
    } else {
        rc = redis_link_evalsha(store->link, store->write_script, (int)n_keys, (int)n, argv, argvlen, s_on_write, op);
        if (rc != 0)
            free(op);
    }
    free(argv);
    free(argvlen);
    return rc == 0 ? 0 : -1;
}

/* ---- claim owners ------------------------------------------------------------------------ */

static void s_on_claims(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    entity_claims_cb cb = (entity_claims_cb)op->cb.get_claims;
    char message[300];
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY) {
        s_describe_failure(reply, error, message, sizeof message);
        cb(ENTITY_ERROR, NULL, 0, message, op->ud);
        free(op);
        return;
    }
    size_t n = reply->elements;
    const char **owners = calloc(n ? n : 1, sizeof *owners);
    bool valid = owners != NULL;
    for (size_t i = 0; valid && i < n; i++) {
        const redisReply *e = reply->element[i];
        if (e->type == REDIS_REPLY_STRING && strlen(e->str) == e->len)
            owners[i] = e->str;
        else if (e->type != REDIS_REPLY_NIL)
            valid = false;
    }
    if (valid)
        cb(ENTITY_OK, owners, n, NULL, op->ud);
    else
        cb(ENTITY_ERROR, NULL, 0, "неожиданный ответ Redis на чтение внешних идентификаторов", op->ud);
    free(owners);
    free(op);
}

int entity_store_claim_owners(entity_store *store, const char *key, const char *const *values, size_t n,
                              entity_claims_cb cb, void *ud)
{
    if (!store || !key || !cb || n == 0 || n > S_MAX_LIST_ENTRIES || !s_keys_valid(values, n))
        return -1;
    const char **argv = malloc(sizeof *argv * (n + 2));
    store_op *op = s_op_new(ud);
    if (!argv || !op) {
        free(argv);
        free(op);
        return -1;
    }
    op->cb.get_claims = (void (*)(void))cb;
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = values[i];
    int rc = redis_link_command(store->link, s_on_claims, op, (int)(n + 2), argv, NULL);
    free(argv);
    if (rc != 0) {
        free(op);
        return -1;
    }
    return 0;
}

/* ---- get --------------------------------------------------------------------------------- */

static void s_on_get(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    char message[300];
    if (error || !reply || reply->type != REDIS_REPLY_ARRAY) {
        s_describe_failure(reply, error, message, sizeof message);
        op->cb.get(ENTITY_ERROR, NULL, 0, 0, message, op->ud);
    } else if (reply->elements == 2 && reply->element[0]->type == REDIS_REPLY_NIL &&
               reply->element[1]->type == REDIS_REPLY_NIL) {
        op->cb.get(ENTITY_NOT_FOUND, NULL, 0, 0, NULL, op->ud);
    } else {
        int64_t version = 0;
        if (reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_STRING ||
            !s_parse_int64(reply->element[0]->str, reply->element[0]->len, &version)) {
            op->cb.get(ENTITY_ERROR, NULL, 0, 0, "повреждённая запись сущности в Redis", op->ud);
        } else {
            const redisReply *data = reply->element[1];
            op->cb.get(ENTITY_OK, (const uint8_t *)data->str, data->len, version, NULL, op->ud);
        }
    }
    free(op);
}

int entity_store_get(entity_store *store, const char *entity_key, entity_get_cb cb, void *ud)
{
    if (!store || !entity_key || !cb)
        return -1;
    store_op *op = s_op_new(ud);
    if (!op)
        return -1;
    op->cb.get = cb;
    const char *argv[] = {"HMGET", entity_key, "v", "d"};
    if (redis_link_command(store->link, s_on_get, op, 4, argv, NULL) != 0) {
        free(op);
        return -1;
    }
    return 0;
}

static void s_on_get_by_claim(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    if (!error && reply && reply->type == REDIS_REPLY_NIL) { /* the value is not claimed */
        op->cb.get(ENTITY_NOT_FOUND, NULL, 0, 0, NULL, op->ud);
        free(op);
        return;
    }
    s_on_get(reply, error, ud);
}

int entity_store_get_by_claim(entity_store *store, const char *claims_key, const char *value,
                              const char *entity_key_prefix, entity_get_cb cb, void *ud)
{
    if (!store || !claims_key || !value || !entity_key_prefix || !cb)
        return -1;
    store_op *op = s_op_new(ud);
    if (!op)
        return -1;
    op->cb.get = cb;
    const char *argv[] = {claims_key, value, entity_key_prefix};
    if (redis_link_evalsha(store->link, store->get_by_claim_script, 1, 3, argv, NULL, s_on_get_by_claim, op) != 0) {
        free(op);
        return -1;
    }
    return 0;
}

/* ---- list -------------------------------------------------------------------------------- */

static void s_on_list(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    char message[300];
    bool valid = !error && reply && reply->type == REDIS_REPLY_ARRAY;
    if (!valid) {
        s_describe_failure(reply, error, message, sizeof message);
    } else {
        valid = reply->elements >= 2 && reply->element[0]->type == REDIS_REPLY_INTEGER &&
                (reply->element[0]->integer == 0 || reply->element[0]->integer == 1) &&
                reply->element[1]->type == REDIS_REPLY_STRING &&
                strlen(reply->element[1]->str) == reply->element[1]->len;
        for (size_t i = 2; valid && i < reply->elements; i++)
            valid = reply->element[i]->type == REDIS_REPLY_STRING;
        if (!valid)
            snprintf(message, sizeof message, "неожиданный ответ Redis на запрос списка");
    }
    if (!valid) {
        op->cb.list(ENTITY_ERROR, NULL, 0, NULL, message, op->ud);
        free(op);
        return;
    }
    size_t n = reply->elements - 2;
    entity_blob *items = n ? malloc(sizeof *items * n) : NULL;
    if (n && !items) {
        op->cb.list(ENTITY_ERROR, NULL, 0, NULL, "нехватка памяти", op->ud);
        free(op);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].data = (const uint8_t *)reply->element[2 + i]->str;
        items[i].len = reply->element[2 + i]->len;
    }
    const char *next = reply->element[0]->integer == 1 ? reply->element[1]->str : NULL;
    op->cb.list(ENTITY_OK, items, n, next, NULL, op->ud);
    free(items);
    free(op);
}

/* The smallest string greater than every string starting with prefix: drop trailing 0xff bytes and
 * increment the last remaining one. false when there is none (prefix all 0xff). */
static bool s_prefix_successor(const char *prefix, char *out, size_t size)
{
    size_t len = strlen(prefix);
    while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
        len--;
    if (len == 0 || len + 1 > size)
        return false;
    memcpy(out, prefix, len);
    out[len - 1] = (char)((unsigned char)out[len - 1] + 1);
    out[len] = '\0';
    return true;
}

int entity_store_list(entity_store *store, const entity_list_query *query, entity_list_cb cb, void *ud)
{
    if (!store || !query || !cb || !query->index_key || !query->entity_key_prefix || query->limit < 1 ||
        query->limit > 500 || !s_keys_valid(query->required_tokens, query->n_required_tokens))
        return -1;
    const char *prefix = query->prefix && query->prefix[0] ? query->prefix : NULL;
    const char *after = query->after_member;

    size_t start_size = 2 + (after ? strlen(after) : 0) + (prefix ? strlen(prefix) : 0);
    size_t stop_size = 2 + (prefix ? strlen(prefix) : 0);
    char *start = malloc(start_size);
    char *stop = malloc(stop_size);
    const char **argv = malloc(sizeof *argv * (7 + query->n_required_tokens));
    store_op *op = s_op_new(ud);
    if (!start || !stop || !argv || !op) {
        free(start);
        free(stop);
        free(argv);
        free(op);
        return -1;
    }
    op->cb.list = cb;
    /* Start after the cursor, or at the prefix when the cursor lies before it. */
    if (after && (!prefix || strcmp(after, prefix) >= 0))
        snprintf(start, start_size, "(%s", after);
    else if (prefix)
        snprintf(start, start_size, "[%s", prefix);
    else
        snprintf(start, start_size, "-");
    if (!prefix || !s_prefix_successor(prefix, stop + 1, stop_size - 1))
        snprintf(stop, stop_size, "+");
    else
        stop[0] = '(';

    size_t max_scan = query->max_scan ? query->max_scan : 20 * query->limit;
    char limit_text[24], max_scan_text[24], tokens_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", query->limit);
    snprintf(max_scan_text, sizeof max_scan_text, "%zu", max_scan);
    snprintf(tokens_text, sizeof tokens_text, "%zu", query->n_required_tokens);
    int n = 0;
    argv[n++] = query->index_key;
    argv[n++] = start;
    argv[n++] = stop;
    argv[n++] = query->entity_key_prefix;
    argv[n++] = limit_text;
    argv[n++] = max_scan_text;
    argv[n++] = tokens_text;
    for (size_t i = 0; i < query->n_required_tokens; i++)
        argv[n++] = query->required_tokens[i];
    int rc = redis_link_evalsha(store->link, store->list_script, 1, n, argv, NULL, s_on_list, op);
    free(start);
    free(stop);
    free(argv);
    if (rc != 0) {
        free(op);
        return -1;
    }
    return 0;
}

/* ---- next_id ----------------------------------------------------------------------------- */

static void s_on_next_id(const redisReply *reply, const char *error, void *ud)
{
    store_op *op = ud;
    char message[300];
    if (!error && reply && reply->type == REDIS_REPLY_INTEGER) {
        op->cb.next_id(ENTITY_OK, reply->integer, NULL, op->ud);
    } else {
        s_describe_failure(reply, error, message, sizeof message);
        op->cb.next_id(ENTITY_ERROR, 0, message, op->ud);
    }
    free(op);
}

int entity_store_next_id(entity_store *store, const char *sequence_key,
                         void (*cb)(entity_result result, int64_t value, const char *error, void *ud), void *ud)
{
    if (!store || !sequence_key || !cb)
        return -1;
    store_op *op = s_op_new(ud);
    if (!op)
        return -1;
    op->cb.next_id = cb;
    const char *argv[] = {"INCR", sequence_key};
    if (redis_link_command(store->link, s_on_next_id, op, 2, argv, NULL) != 0) {
        free(op);
        return -1;
    }
    return 0;
}
