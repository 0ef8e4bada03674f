/* test_entity_store — entity_store against a real redis-server (the shared stack's Redis alone,
 * stack_fixture.h, written to as the unrestricted default user): the write checks (exists, version,
 * not found, references, empty guards) and that a refused write changes nothing; index maintenance;
 * events only on success; get; list pagination, prefix search, token filters and the scan bound;
 * next_id; damaged data and an unreachable Redis reported as ENTITY_ERROR; entities under both hash
 * encodings (hashtable from before ops/lib.sh raised hash-max-listpack-value, listpack after). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "entity_store.h"
#include "stack_fixture.h"

static stack_fixture *stack; /* Redis alone (STACK_REDIS); its loop runs the store */
static redis_link *link_;
static entity_store *store;
static redisContext *sync_redis; /* blocking client to look at Redis directly */
static redis_link *limited_link; /* a second link as a restricted ACL user (closed by s_teardown) */
static entity_store *limited;
static entity_store *saved_store; /* store while a test writes through limited */

static int s_setup(void **state)
{
    (void)state;
    stack = stack_fixture_new(STACK_REDIS);
    redis_link_options options;
    redis_link_options_default(&options);
    options.unix_path = stack->redis.socket_path;
    link_ = redis_link_new(&stack->loop, &options);
    store = entity_store_new(link_);
    sync_redis = redisConnectUnix(stack->redis.socket_path);
    return link_ && store && sync_redis && !sync_redis->err ? 0 : -1;
}

/* Fails the test unless every handle of the store's links closes. */
static int s_teardown(void **state)
{
    (void)state;
    if (saved_store) { /* a failed test may leave limited in place of store */
        store = saved_store;
        saved_store = NULL;
    }
    entity_store_destroy(&limited);
    redis_link_close(&limited_link);
    entity_store_destroy(&store);
    redis_link_close(&link_);
    if (sync_redis)
        redisFree(sync_redis);
    sync_redis = NULL;
    stack_fixture_destroy(&stack);
    return 0;
}

static uint64_t s_now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void s_run_until(const int *calls)
{
    uint64_t end = s_now_ms() + 5000;
    while (*calls == 0 && s_now_ms() < end)
        uv_run(&stack->loop, UV_RUN_ONCE);
    assert_int_equal(*calls, 1);
}

static long long s_integer(const char *format, const char *key)
{
    redisReply *r = redisCommand(sync_redis, format, key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void s_sync(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(sync_redis, format, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

/* ---- write / get ---- */

typedef struct {
    int calls;
    entity_result result;
    int64_t detail;
    char error[300];
} write_outcome;

static void s_on_write(entity_result result, int64_t detail, const char *error, void *ud)
{
    write_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->detail = detail;
    snprintf(o->error, sizeof o->error, "%s", error ? error : "");
    if (result == ENTITY_ERROR)
        assert_non_null(error);
    else
        assert_null(error);
}

static write_outcome s_write(const entity_write *w)
{
    write_outcome o = {0};
    assert_int_equal(entity_store_write(store, w, s_on_write, &o), 0);
    assert_int_equal(o.calls, 0); /* never from inside the call */
    s_run_until(&o.calls);
    return o;
}

typedef struct {
    int calls;
    entity_result result;
    uint8_t data[256];
    size_t len;
    int64_t version;
    char error[300];
} get_outcome;

static void s_on_get(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud)
{
    get_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->version = version;
    if (result == ENTITY_OK) {
        assert_non_null(data);
        assert_true(len <= sizeof o->data);
        memcpy(o->data, data, len);
        o->len = len;
    } else {
        assert_null(data);
    }
    snprintf(o->error, sizeof o->error, "%s", error ? error : "");
}

static get_outcome s_get(const char *key)
{
    get_outcome o = {0};
    assert_int_equal(entity_store_get(store, key, s_on_get, &o), 0);
    s_run_until(&o.calls);
    return o;
}

static const uint8_t s_data_v1[] = {0x0a, 0x00, 0x01, 0xff, 0x1f};
static const uint8_t s_data_v2[] = {0x0a, 0x02, 0x00};

static void test_create_update_versions(void **state)
{
    (void)state;
    entity_index_entry by_name = {"{r:24}:teacher:by_name", "ivanov\x1f"
                                                            "1"};
    entity_write w = {
        .entity_key = "{r:24}:teacher:1",
        .expected_version = 0,
        .new_version = 1,
        .data = s_data_v1,
        .data_len = sizeof s_data_v1,
        .attributes = "|cat:teacher|",
        .index_add = &by_name,
        .n_index_add = 1,
        .stream_key = "{r:24}:events",
        .event = (const uint8_t *)"created\0x",
        .event_len = 9,
    };
    write_outcome o = s_write(&w);
    assert_int_equal(o.result, ENTITY_OK);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events"), 1);
    assert_int_equal(s_integer("ZCARD %s", "{r:24}:teacher:by_name"), 1);

    get_outcome g = s_get("{r:24}:teacher:1");
    assert_int_equal(g.result, ENTITY_OK);
    assert_int_equal(g.version, 1);
    assert_int_equal(g.len, sizeof s_data_v1);
    assert_memory_equal(g.data, s_data_v1, sizeof s_data_v1);

    /* Create again: exists, with the stored version. */
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_EXISTS);
    assert_int_equal(o.detail, 1);

    /* Stale update. */
    w.expected_version = 2;
    w.new_version = 3;
    w.data = s_data_v2;
    w.data_len = sizeof s_data_v2;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_VERSION_MISMATCH);
    assert_int_equal(o.detail, 1);

    /* Update of something that is not there. */
    entity_write missing = w;
    missing.entity_key = "{r:24}:teacher:404";
    missing.expected_version = 1;
    o = s_write(&missing);
    assert_int_equal(o.result, ENTITY_NOT_FOUND);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:404"), 0);

    /* None of the refused writes changed the entity or appended an event. */
    g = s_get("{r:24}:teacher:1");
    assert_int_equal(g.version, 1);
    assert_memory_equal(g.data, s_data_v1, sizeof s_data_v1);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events"), 1);

    /* The right version: updated, with an index move. */
    entity_index_entry new_name = {"{r:24}:teacher:by_name", "petrov\x1f"
                                                             "1"};
    w.expected_version = 1;
    w.new_version = 2;
    w.index_remove = &by_name;
    w.n_index_remove = 1;
    w.index_add = &new_name;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_OK);
    g = s_get("{r:24}:teacher:1");
    assert_int_equal(g.version, 2);
    assert_int_equal(g.len, sizeof s_data_v2);
    assert_memory_equal(g.data, s_data_v2, sizeof s_data_v2);
    redisReply *r = redisCommand(sync_redis, "ZRANGE %s 0 -1", "{r:24}:teacher:by_name");
    assert_int_equal(r->elements, 1);
    assert_string_equal(r->element[0]->str, "petrov\x1f"
                                            "1");
    freeReplyObject(r);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events"), 2);

    /* No check at all (-1) and no stream: no event. */
    w.expected_version = -1;
    w.new_version = 7;
    w.stream_key = NULL;
    w.n_index_remove = 0;
    w.n_index_add = 0;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_OK);
    assert_int_equal(s_get("{r:24}:teacher:1").version, 7);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events"), 2);

    /* Delete: the hash and its index member go, the event is appended. */
    w.expected_version = 7;
    w.data = NULL;
    w.data_len = 0;
    w.index_remove = &new_name;
    w.n_index_remove = 1;
    w.stream_key = "{r:24}:events";
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_OK);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:1"), 0);
    assert_int_equal(s_integer("ZCARD %s", "{r:24}:teacher:by_name"), 0);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events"), 3);
    g = s_get("{r:24}:teacher:1");
    assert_int_equal(g.result, ENTITY_NOT_FOUND);

    /* Invalid input is refused without a callback. */
    w.expected_version = -2;
    write_outcome none = {0};
    assert_int_equal(entity_store_write(store, &w, s_on_write, &none), -1);
    assert_int_equal(entity_store_write(store, NULL, s_on_write, &none), -1);
}

static void test_references_and_guards(void **state)
{
    (void)state;
    s_sync("HSET {r:24}:org:1 v 1 d x a |");
    s_sync("ZADD {r:24}:org:1:staff 0 someone");
    const char *refs[] = {"{r:24}:org:1", "{r:24}:org:2"};
    entity_index_entry idx = {"{r:24}:teacher:by_org", "1\x1f"
                                                       "5"};
    entity_write w = {
        .entity_key = "{r:24}:teacher:5",
        .expected_version = 0,
        .new_version = 1,
        .data = (const uint8_t *)"d",
        .data_len = 1,
        .must_exist = refs,
        .n_must_exist = 2,
        .index_add = &idx,
        .n_index_add = 1,
        .stream_key = "{r:24}:events2",
        .event = (const uint8_t *)"e",
        .event_len = 1,
    };
    write_outcome o = s_write(&w);
    assert_int_equal(o.result, ENTITY_MISSING_REFERENCE);
    assert_int_equal(o.detail, 1);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:5"), 0);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:by_org"), 0);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:events2"), 0);

    w.n_must_exist = 1;
    const char *guards[] = {"{r:24}:org:9:staff", "{r:24}:org:1:staff"};
    w.must_be_empty = guards;
    w.n_must_be_empty = 2;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_NOT_EMPTY);
    assert_int_equal(o.detail, 1);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:5"), 0);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:events2"), 0);

    w.n_must_be_empty = 1;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_OK);
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:5"), 1);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events2"), 1);

    /* An index key of the wrong type: an error, and still nothing changed. */
    s_sync("SET {r:24}:broken_index x");
    entity_index_entry broken = {"{r:24}:broken_index", "m"};
    w.entity_key = "{r:24}:teacher:6";
    w.index_add = &broken;
    o = s_write(&w);
    assert_int_equal(o.result, ENTITY_ERROR);
    assert_non_null(strstr(o.error, "broken_index"));
    assert_int_equal(s_integer("EXISTS %s", "{r:24}:teacher:6"), 0);
    assert_int_equal(s_integer("XLEN %s", "{r:24}:events2"), 1);
}

static void test_damaged_data(void **state)
{
    (void)state;
    s_sync("HSET {r:1}:e:1 v notanumber d x a |");
    get_outcome g = s_get("{r:1}:e:1");
    assert_int_equal(g.result, ENTITY_ERROR);
    assert_true(g.error[0] != '\0');
    s_sync("HSET {r:1}:e:2 d x");
    assert_int_equal(s_get("{r:1}:e:2").result, ENTITY_ERROR);
    s_sync("SET {r:1}:e:3 plain");
    g = s_get("{r:1}:e:3");
    assert_int_equal(g.result, ENTITY_ERROR);
    assert_non_null(strstr(g.error, "WRONGTYPE"));

    /* A stored version that is not a number, met by a versioned update. */
    entity_write w = {.entity_key = "{r:1}:e:1",
                      .expected_version = 3,
                      .new_version = 4,
                      .data = (const uint8_t *)"y",
                      .data_len = 1};
    write_outcome o = s_write(&w);
    assert_int_equal(o.result, ENTITY_ERROR);
}

/* ---- list ---- */

typedef struct {
    int calls;
    entity_result result;
    size_t n;
    char items[600][32];
    char next[128];
    bool has_next;
} list_outcome;

static void s_on_list(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                      const char *error, void *ud)
{
    list_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->n = n;
    assert_true(n <= 600);
    for (size_t i = 0; i < n; i++) {
        assert_true(items[i].len < 32);
        memcpy(o->items[i], items[i].data, items[i].len);
        o->items[i][items[i].len] = '\0';
    }
    o->has_next = next_member != NULL;
    snprintf(o->next, sizeof o->next, "%s", next_member ? next_member : "");
    if (result != ENTITY_OK)
        assert_non_null(error);
}

static list_outcome *s_list(const entity_list_query *q)
{
    static list_outcome o;
    memset(&o, 0, sizeof o);
    assert_int_equal(entity_store_list(store, q, s_on_list, &o), 0);
    s_run_until(&o.calls);
    assert_int_equal(o.result, ENTITY_OK);
    return &o;
}

/* n people "name<i>" with ids i, token |k:<i % 3>| and |mun:<i % 12>|. */
static void s_populate(int n)
{
    for (int i = 0; i < n; i++) {
        char key[64], member[64], data[32], attributes[64];
        snprintf(key, sizeof key, "{r:7}:p:%d", i);
        snprintf(member, sizeof member, "name%03d\x1f%d", i, i);
        snprintf(data, sizeof data, "person-%d", i);
        snprintf(attributes, sizeof attributes, "|k:%d|mun:%d|", i % 3, i % 12);
        entity_index_entry idx = {"{r:7}:p:by_name", member};
        entity_write w = {.entity_key = key,
                          .expected_version = 0,
                          .new_version = 1,
                          .data = (const uint8_t *)data,
                          .data_len = strlen(data),
                          .attributes = attributes,
                          .index_add = &idx,
                          .n_index_add = 1};
        assert_int_equal(s_write(&w).result, ENTITY_OK);
    }
}

static void test_list_pagination(void **state)
{
    (void)state;
    s_populate(25);
    entity_list_query q = {.index_key = "{r:7}:p:by_name", .entity_key_prefix = "{r:7}:p:", .limit = 10};
    int seen = 0;
    char cursor[sizeof((list_outcome *)0)->next] = "";
    for (int page = 0; page < 3; page++) {
        q.after_member = cursor[0] ? cursor : NULL;
        list_outcome *o = s_list(&q);
        assert_int_equal(o->n, page < 2 ? 10 : 5);
        for (size_t i = 0; i < o->n; i++) {
            char want[32];
            snprintf(want, sizeof want, "person-%d", seen++);
            assert_string_equal(o->items[i], want);
        }
        assert_int_equal(o->has_next, page < 2);
        memcpy(cursor, o->next, sizeof cursor); /* same size, o->next terminated */
    }
    assert_int_equal(seen, 25);

    /* Out-of-range limits are refused. */
    list_outcome none = {0};
    q.limit = 0;
    assert_int_equal(entity_store_list(store, &q, s_on_list, &none), -1);
    q.limit = 501;
    assert_int_equal(entity_store_list(store, &q, s_on_list, &none), -1);
}

static void test_list_prefix_and_tokens(void **state)
{
    (void)state;
    s_populate(30);
    /* Prefix "name01" matches name010..name019 only. */
    entity_list_query q = {
        .index_key = "{r:7}:p:by_name", .entity_key_prefix = "{r:7}:p:", .prefix = "name01", .limit = 100};
    list_outcome *o = s_list(&q);
    assert_int_equal(o->n, 10);
    assert_string_equal(o->items[0], "person-10");
    assert_string_equal(o->items[9], "person-19");
    assert_false(o->has_next);

    /* A cursor before the prefix still starts at the prefix; inside it continues from the cursor. */
    q.after_member = "name005\x1f"
                     "5";
    q.limit = 3;
    o = s_list(&q);
    assert_int_equal(o->n, 3);
    assert_string_equal(o->items[0], "person-10");
    q.after_member = "name012\x1f"
                     "12";
    q.limit = 100;
    o = s_list(&q);
    assert_int_equal(o->n, 7);
    assert_string_equal(o->items[0], "person-13");

    /* Tokens: |mun:1| must not match |mun:10| or |mun:11|. */
    const char *tokens[] = {"|mun:1|"};
    entity_list_query t = {.index_key = "{r:7}:p:by_name",
                           .entity_key_prefix = "{r:7}:p:",
                           .required_tokens = tokens,
                           .n_required_tokens = 1,
                           .limit = 100};
    o = s_list(&t);
    assert_int_equal(o->n, 3); /* 1, 13, 25 */
    assert_string_equal(o->items[0], "person-1");
    assert_string_equal(o->items[1], "person-13");
    assert_string_equal(o->items[2], "person-25");

    const char *two[] = {"|k:0|", "|mun:6|"};
    t.required_tokens = two;
    t.n_required_tokens = 2;
    o = s_list(&t);
    assert_int_equal(o->n, 2); /* i % 3 == 0 and i % 12 == 6 below 30: 6 and 18 */
    assert_string_equal(o->items[0], "person-6");
    assert_string_equal(o->items[1], "person-18");
}

static void test_list_max_scan(void **state)
{
    (void)state;
    s_populate(50);
    /* "|k:1|mun:1|" as one token: i % 3 == 1 and i % 12 == 1, i.e. 1, 13, 25, 37, 49. */
    const char *tokens[] = {"|k:1|mun:1|"};
    entity_list_query q = {.index_key = "{r:7}:p:by_name",
                           .entity_key_prefix = "{r:7}:p:",
                           .required_tokens = tokens,
                           .n_required_tokens = 1,
                           .limit = 10,
                           .max_scan = 10};
    char cursor[sizeof((list_outcome *)0)->next] = "";
    int found = 0, calls = 0;
    char found_items[10][32];
    for (;;) {
        q.after_member = cursor[0] ? cursor : NULL;
        list_outcome *o = s_list(&q);
        calls++;
        for (size_t i = 0; i < o->n; i++)
            snprintf(found_items[found++], 32, "%s", o->items[i]);
        if (!o->has_next)
            break;
        if (calls == 1) {
            /* The bound stopped the scan after 10 members: the cursor is the 10th. */
            assert_string_equal(o->next, "name009\x1f"
                                         "9");
        }
        memcpy(cursor, o->next, sizeof cursor); /* same size, o->next terminated */
        assert_true(calls < 10);
    }
    /* 50 members, 10 per call: the fifth call stops on the bound exactly at the last member, so it
     * still hands out a cursor ("more may remain") and a sixth, empty call ends the range. */
    assert_int_equal(calls, 6);
    assert_int_equal(found, 5);
    assert_string_equal(found_items[0], "person-1");
    assert_string_equal(found_items[4], "person-49");
}

/* ---- next_id and failures ---- */

typedef struct {
    int calls;
    entity_result result;
    int64_t value;
    char error[300];
} id_outcome;

static void s_on_id(entity_result result, int64_t value, const char *error, void *ud)
{
    id_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->value = value;
    snprintf(o->error, sizeof o->error, "%s", error ? error : "");
}

static void test_next_id(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++) {
        id_outcome o = {0};
        assert_int_equal(entity_store_next_id(store, "{r:24}:seq:teacher", s_on_id, &o), 0);
        s_run_until(&o.calls);
        assert_int_equal(o.result, ENTITY_OK);
        assert_int_equal(o.value, i);
    }
    s_sync("SET {r:24}:seq:bad abc");
    id_outcome bad = {0};
    entity_store_next_id(store, "{r:24}:seq:bad", s_on_id, &bad);
    s_run_until(&bad.calls);
    assert_int_equal(bad.result, ENTITY_ERROR);
}

static void test_unreachable_redis(void **state)
{
    (void)state;
    uv_loop_t other;
    uv_loop_init(&other);
    redis_link_options options;
    redis_link_options_default(&options);
    options.unix_path = "/nonexistent/r.sock";
    options.command_timeout_ms = 200;
    redis_link *dead = redis_link_new(&other, &options);
    entity_store *dead_store = entity_store_new(dead);
    get_outcome g = {0};
    assert_int_equal(entity_store_get(dead_store, "{r:1}:x", s_on_get, &g), 0);
    uint64_t end = s_now_ms() + 3000;
    while (!g.calls && s_now_ms() < end)
        uv_run(&other, UV_RUN_ONCE);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.result, ENTITY_ERROR);
    assert_non_null(strstr(g.error, "timeout"));
    entity_store_destroy(&dead_store);
    assert_null(dead_store);
    redis_link_close(&dead);
    uv_run(&other, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&other), 0);
}

/* ---- unique claims (external ids) ---- */

typedef struct {
    int calls;
    entity_result result;
    char owners[4][32];
    bool present[4];
    size_t n;
} claims_outcome;

static void s_on_claims(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    (void)error;
    claims_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->n = n;
    for (size_t i = 0; i < n && i < 4; i++) {
        o->present[i] = owners[i] != NULL;
        snprintf(o->owners[i], sizeof o->owners[i], "%s", owners[i] ? owners[i] : "");
    }
}

static claims_outcome s_claim_owners(const char *const *values, size_t n)
{
    claims_outcome o = {0};
    assert_int_equal(entity_store_claim_owners(store, "x:{r:1}:xid", values, n, s_on_claims, &o), 0);
    s_run_until(&o.calls);
    return o;
}

static void test_unique_claims(void **state)
{
    (void)state;
    entity_claim claim_a = {"x:{r:1}:xid", "СНИЛС 1", "1-s1"};
    entity_write w = {.entity_key = "x:{r:1}:e:1-s1",
                      .expected_version = 0,
                      .new_version = 1,
                      .data = s_data_v1,
                      .data_len = sizeof s_data_v1,
                      .claims = &claim_a,
                      .n_claims = 1};
    assert_int_equal(s_write(&w).result, ENTITY_OK);

    /* another entity cannot take the same value, and nothing of its write happens */
    entity_claim claim_b = {"x:{r:1}:xid", "СНИЛС 1", "1-s2"};
    entity_index_entry ix = {"x:{r:1}:ix", "b\x1f"
                                           "1-s2"};
    entity_write w2 = {.entity_key = "x:{r:1}:e:1-s2",
                       .expected_version = 0,
                       .new_version = 1,
                       .data = s_data_v1,
                       .data_len = sizeof s_data_v1,
                       .index_add = &ix,
                       .n_index_add = 1,
                       .claims = &claim_b,
                       .n_claims = 1};
    write_outcome o = s_write(&w2);
    assert_int_equal(o.result, ENTITY_CLAIMED);
    assert_int_equal(o.detail, 0);
    assert_int_equal(s_integer("EXISTS %s", "x:{r:1}:e:1-s2"), 0);
    assert_int_equal(s_integer("ZCARD %s", "x:{r:1}:ix"), 0);

    /* the owner may write again with its own claim (an update) */
    w.expected_version = 1;
    w.new_version = 2;
    assert_int_equal(s_write(&w).result, ENTITY_OK);

    /* an update moving to a new value releases the old one */
    entity_claim moved = {"x:{r:1}:xid", "СНИЛС 9", "1-s1"};
    w.expected_version = 2;
    w.new_version = 3;
    w.claims = &moved;
    w.releases = &claim_a;
    w.n_releases = 1;
    assert_int_equal(s_write(&w).result, ENTITY_OK);
    const char *values[] = {"СНИЛС 1", "СНИЛС 9", "нет такого"};
    claims_outcome c = s_claim_owners(values, 3);
    assert_int_equal(c.result, ENTITY_OK);
    assert_int_equal(c.n, 3);
    assert_false(c.present[0]);
    assert_true(c.present[1]);
    assert_string_equal(c.owners[1], "1-s1");
    assert_false(c.present[2]);

    /* now the freed value can be taken; a release by a non-owner leaves the owner in place */
    assert_int_equal(s_write(&w2).result, ENTITY_OK);
    entity_claim foreign = {"x:{r:1}:xid", "СНИЛС 1", "1-s1"};
    entity_write w3 = {.entity_key = "x:{r:1}:e:1-s1",
                       .expected_version = 3,
                       .new_version = 4,
                       .data = s_data_v2,
                       .data_len = sizeof s_data_v2,
                       .releases = &foreign,
                       .n_releases = 1};
    assert_int_equal(s_write(&w3).result, ENTITY_OK);
    c = s_claim_owners(values, 1);
    assert_string_equal(c.owners[0], "1-s2");

    /* a claims key of the wrong type is an error and changes nothing */
    s_sync("SET %s %s", "x:{r:1}:bad", "1");
    entity_claim bad = {"x:{r:1}:bad", "v", "1-s1"};
    w3.expected_version = 4;
    w3.new_version = 5;
    w3.releases = NULL;
    w3.n_releases = 0;
    w3.claims = &bad;
    w3.n_claims = 1;
    assert_int_equal(s_write(&w3).result, ENTITY_ERROR);
    assert_int_equal(s_get("x:{r:1}:e:1-s1").version, 4);
}

/* A write the caller's Redis ACL does not fully allow changes nothing: Redis does not roll a script back
 * when a command in it fails, so the script asks redis.acl_check_cmd first (issue 17, item 4: without
 * HDEL, a delete removed the entity but kept its claim, an update changed the value but reserved none). */
static void test_acl_refusal_changes_nothing(void **state)
{
    (void)state;
    entity_claim claim = {"x:{r:1}:xid", "СНИЛС 5", "1-s5"};
    entity_write w = {.entity_key = "x:{r:1}:e:1-s5",
                      .expected_version = 0,
                      .new_version = 1,
                      .data = s_data_v1,
                      .data_len = sizeof s_data_v1,
                      .claims = &claim,
                      .n_claims = 1};
    assert_int_equal(s_write(&w).result, ENTITY_OK);

    /* a user with everything but HDEL (the registry's grants before the fix) */
    s_sync("ACL SETUSER nohdel on >pw-nohdel ~x:* +@all -hdel");
    redis_link_options options;
    redis_link_options_default(&options);
    options.unix_path = stack->redis.socket_path;
    options.username = "nohdel";
    options.password = "pw-nohdel";
    limited_link = redis_link_new(&stack->loop, &options);
    limited = entity_store_new(limited_link);
    assert_non_null(limited);
    saved_store = store;
    store = limited;

    /* delete: refused, the entity and its claim stay */
    entity_write del = {.entity_key = "x:{r:1}:e:1-s5", .expected_version = 1, .releases = &claim, .n_releases = 1};
    write_outcome o = s_write(&del);
    assert_int_equal(o.result, ENTITY_ERROR);
    assert_non_null(strstr(o.error, "HDEL"));
    assert_int_equal(s_get("x:{r:1}:e:1-s5").version, 1);
    const char *values[] = {"СНИЛС 5", "СНИЛС 6"};
    claims_outcome c = s_claim_owners(values, 2);
    assert_true(c.present[0]);
    assert_string_equal(c.owners[0], "1-s5");

    /* update moving the value: refused, the old value kept, the new one not taken */
    entity_claim moved = {"x:{r:1}:xid", "СНИЛС 6", "1-s5"};
    entity_write upd = {.entity_key = "x:{r:1}:e:1-s5",
                        .expected_version = 1,
                        .new_version = 2,
                        .data = s_data_v2,
                        .data_len = sizeof s_data_v2,
                        .claims = &moved,
                        .n_claims = 1,
                        .releases = &claim,
                        .n_releases = 1};
    assert_int_equal(s_write(&upd).result, ENTITY_ERROR);
    assert_int_equal(s_get("x:{r:1}:e:1-s5").version, 1);
    c = s_claim_owners(values, 2);
    assert_string_equal(c.owners[0], "1-s5");
    assert_false(c.present[1]);

    /* a key outside the user's patterns is refused before any write too */
    entity_index_entry ix = {"y:{r:1}:ix", "1-s7"};
    entity_write outside = {.entity_key = "x:{r:1}:e:1-s7",
                            .expected_version = 0,
                            .new_version = 1,
                            .data = s_data_v1,
                            .data_len = sizeof s_data_v1,
                            .index_add = &ix,
                            .n_index_add = 1};
    assert_int_equal(s_write(&outside).result, ENTITY_ERROR);
    assert_int_equal(s_integer("EXISTS %s", "x:{r:1}:e:1-s7"), 0);

    /* with HDEL granted the same delete goes through and frees the value */
    store = saved_store;
    saved_store = NULL;
    assert_int_equal(s_write(&del).result, ENTITY_OK);
    c = s_claim_owners(values, 1);
    assert_false(c.present[0]);
}

/* ---- compact encoding (ops/lib.sh: hash-max-listpack-value 1024) ---- */

static void s_encoding_is(const char *key, const char *encoding)
{
    redisReply *r = redisCommand(sync_redis, "OBJECT ENCODING %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, encoding);
    freeReplyObject(r);
}

typedef struct {
    int calls;
    entity_result result;
    size_t n;
    size_t len[4];
} sized_list_outcome;

static void s_on_sized_list(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                            const char *error, void *ud)
{
    (void)next_member;
    (void)error;
    sized_list_outcome *o = ud;
    o->calls++;
    o->result = result;
    o->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        o->len[i] = items[i].len;
}

/* An entity with a staff-sized protobuf (200 bytes) written under Redis's default limit is a hashtable
 * (a store from before the setting); under the setting new entities are listpack hashes and stay so
 * when updated. Both kinds are read, listed, updated and deleted alike. */
static void test_compact_encoding(void **state)
{
    (void)state;
    uint8_t data[200];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    entity_index_entry old_idx = {"{r:3}:s:by_name", "a\x1f"
                                                     "1"};
    entity_index_entry new_idx = {"{r:3}:s:by_name", "b\x1f"
                                                     "2"};
    entity_write w = {.entity_key = "{r:3}:s:2",
                      .expected_version = 0,
                      .new_version = 1,
                      .data = data,
                      .data_len = sizeof data,
                      .attributes = "|cat:teacher|",
                      .index_add = &new_idx,
                      .n_index_add = 1};
    /* The old record straight into Redis, as a store written before the setting (or gen_staff) has it. */
    s_sync("CONFIG SET hash-max-listpack-value 64");
    s_sync("HSET {r:3}:s:1 v 1 d %b a |cat:teacher|", data, sizeof data);
    s_sync("ZADD {r:3}:s:by_name 0 %s", old_idx.member);
    s_encoding_is("{r:3}:s:1", "hashtable");

    s_sync("CONFIG SET hash-max-listpack-value 1024");
    assert_int_equal(s_write(&w).result, ENTITY_OK);
    s_encoding_is("{r:3}:s:2", "listpack");

    const char *const teacher[] = {"|cat:teacher|"};
    entity_list_query q = {.index_key = "{r:3}:s:by_name",
                           .entity_key_prefix = "{r:3}:s:",
                           .required_tokens = teacher,
                           .n_required_tokens = 1,
                           .limit = 10};
    sized_list_outcome l = {0};
    assert_int_equal(entity_store_list(store, &q, s_on_sized_list, &l), 0);
    s_run_until(&l.calls);
    assert_int_equal(l.result, ENTITY_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.len[0], sizeof data);
    assert_int_equal(l.len[1], sizeof data);

    data[0] = 0xff;
    for (int id = 1; id <= 2; id++) {
        char key[32];
        snprintf(key, sizeof key, "{r:3}:s:%d", id);
        entity_write u = {.entity_key = key,
                          .expected_version = 1,
                          .new_version = 2,
                          .data = data,
                          .data_len = sizeof data,
                          .attributes = "|cat:teacher|"};
        assert_int_equal(s_write(&u).result, ENTITY_OK);
        get_outcome g = s_get(key);
        assert_int_equal(g.result, ENTITY_OK);
        assert_int_equal(g.version, 2);
        assert_int_equal(g.len, sizeof data);
        assert_memory_equal(g.data, data, sizeof data);
    }
    s_encoding_is("{r:3}:s:2", "listpack");

    entity_write del = {
        .entity_key = "{r:3}:s:1", .expected_version = 2, .index_remove = &old_idx, .n_index_remove = 1};
    assert_int_equal(s_write(&del).result, ENTITY_OK);
    assert_int_equal(s_get("{r:3}:s:1").result, ENTITY_NOT_FOUND);
    s_sync("CONFIG SET hash-max-listpack-value 64");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_update_versions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_references_and_guards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_data, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_prefix_and_tokens, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_max_scan, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_next_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_redis, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unique_claims, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_acl_refusal_changes_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_compact_encoding, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
