/* entity_store — how every service keeps its entities in Redis: each entity is a hash
 * {v: version, d: packed protobuf, a: attribute string} under its own key, with sorted-set indexes
 * (score 0, ordered by member bytes) beside it and a domain event in a stream. Each write is one Lua
 * script (EVALSHA), so there is never an index without its entity nor a change without its event.
 *
 * Index members are "<sort key>\x1f<id>" (or just "<id>"); the id is what follows the last \x1f and
 * the entity key is entity_key_prefix + id. The attribute string is "|token|token|...|" and lets a
 * list filter by tokens (e.g. "|cat:teacher|", "|mun:24-m3|") without decoding protobuf in Lua.
 *
 * Memory: Redis keeps such a hash compact (listpack, ~390 bytes for a staff member) while each value
 * is ≤ hash-max-listpack-value, which ops/lib.sh raises to 1024 (the default 64 makes every entity
 * with a ~200-byte protobuf a hashtable, ~550 bytes). The layout stays {v,d,a} because other code
 * reads the hash fields directly (auth's session script HGET v/a, `metodnet-registry check-claims`
 * HGET d); docs/performance.md has the measurements.
 */
#ifndef METODNET_ENTITY_STORE_H
#define METODNET_ENTITY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_link.h"

typedef struct entity_store entity_store;

typedef struct {
    const char *key;
    const char *member; /* may contain \x1f but no NUL */
} entity_index_entry;

/* A unique value claimed by an entity: field `value` of the hash `key` holds the owner's id. Used for
 * external ids that must be unique within a region ("reg:{r:07}:xid:staff" → "СНИЛС 123" → "07-s5"). */
typedef struct {
    const char *key;   /* a hash */
    const char *value; /* the unique value (hash field) */
    const char *owner; /* the id of the entity claiming it */
} entity_claim;

typedef struct {
    const char *entity_key;
    /* 0: the entity must not exist (create); > 0: stored version must equal it; -1: no check. */
    int64_t expected_version;
    int64_t new_version;
    const uint8_t *data; /* NULL: delete the entity */
    size_t data_len;
    const char *attributes; /* "|tok|tok|", NULL = "" */
    const entity_index_entry *index_remove;
    size_t n_index_remove;
    const entity_index_entry *index_add;
    size_t n_index_add;
    const char *const *must_exist; /* keys that must exist (references) */
    size_t n_must_exist;
    const char *const *must_be_empty; /* index keys that must be empty (delete guards) */
    size_t n_must_be_empty;
    const char *stream_key; /* domain-event stream; XADD <stream> * event <bytes> */
    const uint8_t *event;
    size_t event_len;
    /* Each claim's value must be unclaimed or already owned by its owner, else ENTITY_CLAIMED (checked
     * with everything else before the first change); the write then records the owner. */
    const entity_claim *claims;
    size_t n_claims;
    /* Values the entity gives up (an update changing them, a delete): removed when owned by owner. */
    const entity_claim *releases;
    size_t n_releases;
} entity_write;

typedef enum {
    ENTITY_OK = 0,
    ENTITY_NOT_FOUND,         /* expected_version != 0 and the entity is absent */
    ENTITY_EXISTS,            /* expected_version == 0 and the entity exists; detail = stored version */
    ENTITY_VERSION_MISMATCH,  /* stored version != expected_version; detail = stored version */
    ENTITY_MISSING_REFERENCE, /* detail = index into must_exist */
    ENTITY_NOT_EMPTY,         /* detail = index into must_be_empty */
    ENTITY_ERROR,             /* Redis unreachable, timeout, unexpected reply, a key of the wrong type
                              * (the write then changes nothing); error says what (Russian) */
    ENTITY_CLAIMED,           /* a claim's value belongs to another entity; detail = index into claims */
} entity_result;

/* ENTITY_ERROR's detail when the write is stored on the master but the replicas it was to wait for
 * (the link's wait_replicas) did not confirm it in time: the write is not lost yet, but not safe
 * from a failover either (docs/operations.md). Other ENTITY_ERRORs have detail 0. */
#define ENTITY_DETAIL_UNCONFIRMED 1

/* With the link's wait_replicas > 0, ENTITY_OK means the write is also on that many replicas (WAIT). */
typedef void (*entity_write_cb)(entity_result result, int64_t detail, const char *error, void *ud);
/* data is borrowed for the call; NULL unless ENTITY_OK. */
typedef void (*entity_get_cb)(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                              void *ud);

typedef struct {
    const char *index_key;
    const char *after_member; /* exclusive start (the previous page's cursor), NULL = from start */
    const char *prefix;       /* only members starting with it (name search), NULL or "" = all */
    const char *entity_key_prefix;
    const char *const *required_tokens; /* each must occur in the attribute string */
    size_t n_required_tokens;
    size_t limit;    /* 1..500, else entity_store_list returns -1 */
    size_t max_scan; /* bound on index members examined per call; 0 = 20 * limit */
} entity_list_query;

typedef struct {
    const uint8_t *data;
    size_t len;
} entity_blob;

/* items borrowed for the call. next_member: pass as after_member to continue; NULL at the end. */
typedef void (*entity_list_cb)(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                               const char *error, void *ud);

/* The store borrows link, which must outlive it. */
entity_store *entity_store_new(redis_link *link);
void entity_store_destroy(entity_store **store);

/* All inputs are copied; cb is called exactly once, never from inside the call. Returns 0 or -1. */
int entity_store_write(entity_store *store, const entity_write *write, entity_write_cb cb, void *ud);
int entity_store_get(entity_store *store, const char *entity_key, entity_get_cb cb, void *ud);
/* The record that claims value in the claims hash (a login, an external id): its entity key is
 * entity_key_prefix + owner id. One round trip; ENTITY_NOT_FOUND when the value is unclaimed or its
 * owner is gone. Callback as entity_store_get's. */
int entity_store_get_by_claim(entity_store *store, const char *claims_key, const char *value,
                              const char *entity_key_prefix, entity_get_cb cb, void *ud);
int entity_store_list(entity_store *store, const entity_list_query *query, entity_list_cb cb, void *ud);
/* Owners of n values in the claims hash key: cb gets owners[i] (borrowed for the call; NULL when value i
 * is unclaimed). n ≤ 100000. */
typedef void (*entity_claims_cb)(entity_result result, const char *const *owners, size_t n, const char *error,
                                 void *ud);
int entity_store_claim_owners(entity_store *store, const char *key, const char *const *values, size_t n,
                              entity_claims_cb cb, void *ud);
/* The Lua sources of the store's scripts (n of them), for tests/unit/test_redis_acl.c: every command they
 * can call must be granted to each service's Redis user that runs an entity store (ops/redis-acl.conf). */
const char *const *entity_store_lua_scripts(size_t *n);
/* INCR of a sequence key, for new ids. */
int entity_store_next_id(entity_store *store, const char *sequence_key,
                         void (*cb)(entity_result result, int64_t value, const char *error, void *ud), void *ud);

#endif
