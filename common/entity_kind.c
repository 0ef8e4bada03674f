/* entity_kind — the one flow of get/create/update/delete/transition/list for every kind of record
 * (contract in entity_kind.h).
 *
 * Every operation is a small state machine on the loop: load → check scope → (read the records it
 * refers to) → validate → one atomic entity_store write (entity + indexes + claims + domain event).
 * Scope rules: a record the caller may not read answers NOT_FOUND (its existence is not revealed); a
 * record the caller may read but not change answers PERMISSION_DENIED. Memory per operation is the
 * records' own and their layouts', which grow with the record. Keys, ids, the audit name and the
 * domain-event envelope of a kind are in entity_kind_keys.c.
 */
#include "entity_kind.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
/* WAIT counted fewer replicas than METODNET_REDIS_WAIT_REPLICAS: the change is on the master only and
 * could be lost in a failover, so it is not reported as done (docs/operations.md, "Sentinel"). */
static const char *const s_unconfirmed_ru =
    "Сохранность изменения не подтверждена: реплика хранилища не ответила вовремя. Изменение могло быть "
    "записано — повторите запрос с тем же Idempotency-Key или проверьте запись";
static const char *const s_denied_ru = "Недостаточно прав для этого действия с этой записью";
static const char *const s_corrupt_ru = "Запись повреждена; сообщите администратору";

/* ---------- generic access to request fields ---------- */

static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessage *msg, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
}

static const ProtobufCMessage *s_submessage(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = s_field(msg, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(ProtobufCMessage *const *)((const char *)msg + f->offset);
}

static size_t s_strings(const ProtobufCMessage *msg, const char *name, char *const **items)
{
    const ProtobufCFieldDescriptor *f = s_field(msg, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label != PROTOBUF_C_LABEL_REPEATED) {
        *items = NULL;
        return 0;
    }
    *items = *(char *const *const *)((const char *)msg + f->offset);
    return *(const size_t *)((const char *)msg + f->quantifier_offset);
}

const char *entity_json_name(const ProtobufCMessageDescriptor *desc, const char *proto_name, char *buf, size_t size)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, proto_name);
    if (f == NULL) {
        snprintf(buf, size, "%s", proto_name);
        return buf;
    }
    return pbjson_json_name(f, buf, size);
}

/* A string field's value, or the first item of a repeated one; NULL when absent or empty. */
static const char *s_first_string(const ProtobufCMessage *msg, const char *name)
{
    char *const *items;
    size_t n = s_strings(msg, name, &items);
    if (n > 0)
        return items[0] && *items[0] ? items[0] : NULL;
    const char *value = pbfield_string(msg, name);
    return value && *value ? value : NULL;
}

/* ---------- op lifecycle ---------- */

typedef enum { OP_CREATE, OP_GET, OP_UPDATE, OP_DELETE, OP_TRANSITION } op_kind;

typedef struct op {
    entity_engine engine;
    service_call *call;
    const entity_kind *kind;
    op_kind what;
    const ProtobufCMessage *request; /* owned by the call */
    ProtobufCMessage *current;       /* stored state */
    uint8_t *stored;                 /* a get: the stored bytes of current, answered as they are */
    size_t stored_len;
    ProtobufCMessage *next; /* state to store */
    int64_t expected_version;
    char region[8];
    char key[ENTITY_KEY_MAX];
    int pending;
    bool store_failed;
    bool claim_budget_checked; /* a write claiming a guarded value: the caller is under its limit */
    bool layouts_ready;        /* old_layout/new_layout computed (once, for the states of this write) */
    bool layouts_fit;          /* and within their limits */
    const char *refused_field; /* the claim field of an ENTITY_CLAIMED refusal */
    validation v;
    entity_layout old_layout;
    entity_layout new_layout;
    entity_reference *references; /* ENTITY_MAX_REFERENCES, allocated when the kind has references */
    size_t n_references;
    entity_reference *stored_references; /* those of the stored state (an update), read once */
    size_t n_stored_references;
} op;

static op *s_op_new(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                    const entity_kind *kind, op_kind what)
{
    op *o = xcalloc(1, sizeof *o);
    o->engine = *engine;
    o->call = call;
    o->kind = kind;
    o->what = what;
    o->request = request;
    validation_init(&o->v);
    entity_layout_init(&o->old_layout);
    entity_layout_init(&o->new_layout);
    return o;
}

static void s_op_free(op *o)
{
    if (o->current)
        protobuf_c_message_free_unpacked(o->current, NULL);
    if (o->next)
        protobuf_c_message_free_unpacked(o->next, NULL);
    free(o->stored);
    validation_free(&o->v);
    entity_layout_clear(&o->old_layout);
    entity_layout_clear(&o->new_layout);
    free(o->references);
    free(o->stored_references);
    free(o);
}

static void s_fail(op *o, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(o->call, code, message);
    s_op_free(o);
}

static void s_fail_validation(op *o)
{
    service_call_fail_validation(o->call, &o->v);
    s_op_free(o);
}

static void s_reply(op *o, const ProtobufCMessage *response)
{
    service_call_reply(o->call, response);
    s_op_free(o);
}

static bool s_allowed(const op *o, const ProtobufCMessage *entity, scope_access access)
{
    return entity_kind_allows(o->kind, service_call_caller(o->call), entity, access);
}

void entity_kind_audit(const entity_engine *engine, service_call *call, const entity_kind *kind, const char *action,
                       const char *id, const char *region)
{
    if (engine->audit == NULL)
        return;
    audit_event e;
    audit_event_from_call(&e, call);
    e.action = action;
    e.object_kind = entity_kind_audit_name(kind);
    e.object_id = id;
    e.region_id = region;
    audit_record(engine->audit, &e, NULL, NULL);
}

/* The layouts of the states a write moves between (current NULL: create; next NULL: delete) into
 * old_layout and new_layout; false, logged, when one is past its limits (nothing may be written). */
static bool s_lay_out(const entity_kind *kind, service_call *call, const ProtobufCMessage *current,
                      const ProtobufCMessage *next, entity_layout *old_layout, entity_layout *new_layout)
{
    if (current)
        kind->layout(current, old_layout);
    if (next)
        kind->layout(next, new_layout);
    const char *error = entity_layout_error(old_layout);
    if (error == NULL)
        error = entity_layout_error(new_layout);
    if (error != NULL)
        log_error(call ? service_call_request_id(call) : NULL, "запись %s %s не записана: %s", kind->name,
                  pbfield_string(next ? next : current, "id"), error);
    return error == NULL;
}

/* The claim field of a create's Idempotency-Key (the claims hash "<prefix>:{r:<region>}:claim:<kind>:
 * idempotencyKey", field "<user id>:<key>", value the record's id). */
#define S_IDEMPOTENCY_FIELD "idempotencyKey"

/* A create sent with an Idempotency-Key claims "<caller's user id>:<key>" in the same write as the
 * record, so a retry of it finds the record it made, however the first try ended: the gateway's own
 * idempotency record (gateway/idempotency.h) is written after the answer and is not replicated with the
 * write, and a create answered 503 (no answer from Redis, or WAIT not confirmed after a failover) may
 * have been stored. The claim is kept when the record is deleted (a retry then gets 409). */
static void s_claim_idempotency_key(op *o)
{
    const Metodnet__Envelope *envelope = o->call ? service_call_envelope(o->call) : NULL;
    if (o->kind->global || envelope == NULL || envelope->idempotency_key == NULL || !*envelope->idempotency_key ||
        envelope->caller == NULL || envelope->caller->user_id == NULL || !*envelope->caller->user_id)
        return;
    char claims_key[ENTITY_KEY_MAX];
    entity_kind_claims_key(o->kind, o->region, S_IDEMPOTENCY_FIELD, claims_key, sizeof claims_key);
    char value[400];
    snprintf(value, sizeof value, "%s:%s", envelope->caller->user_id, envelope->idempotency_key);
    entity_layout_claim(&o->new_layout, S_IDEMPOTENCY_FIELD, value, "%s", claims_key);
    if (entity_layout_error(&o->new_layout) != NULL)
        o->layouts_fit = false;
}

/* Layouts of the states this write moves between, computed once. A layout past its limits refuses. */
static bool s_layouts(op *o)
{
    if (!o->layouts_ready) {
        o->layouts_ready = true;
        o->layouts_fit = s_lay_out(o->kind, o->call, o->what == OP_CREATE ? NULL : o->current,
                                   o->what == OP_DELETE ? NULL : o->next, &o->old_layout, &o->new_layout);
        if (o->layouts_fit && o->what == OP_CREATE)
            s_claim_idempotency_key(o);
    }
    if (!o->layouts_fit) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL,
               "Запись слишком велика для хранилища; сообщите администратору");
        return false;
    }
    return true;
}

static void s_write(op *o);
static void s_create_existing(op *o, const char *claim_value, const char *claims_key);

/* ---------- claims held by another record (the service's claims policy) ---------- */

static const entity_claim_entry *s_claim_of(const entity_layout *layout, const char *field)
{
    for (size_t i = 0; field && i < layout->n_claims; i++)
        if (strcmp(layout->claims[i].field, field) == 0)
            return &layout->claims[i];
    return NULL;
}

/* The answer for a taken value: the policy's one message, or the kind's own. */
static void s_claim_refusal_reply(op *o)
{
    const entity_claim_policy *policy = o->engine.claims;
    if (policy && o->refused_field && strcmp(o->refused_field, policy->field) == 0) {
        validation_add(&o->v, policy->field, "%s", policy->taken_ru);
        s_fail_validation(o);
        return;
    }
    /* any other unique value (one open membership of a person, a login): the record exists */
    s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->exists_ru);
}

static void s_claim_holder_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                  const char *error, void *ud)
{
    (void)version, (void)error;
    op *o = ud;
    const entity_claim_policy *policy = o->engine.claims;
    if (result == ENTITY_OK) {
        ProtobufCMessage *holder = protobuf_c_message_unpack(o->kind->descriptor, NULL, len, data);
        if (holder != NULL && !entity_kind_allows(o->kind, service_call_caller(o->call), holder, SCOPE_READ))
            policy->refused(policy->ud, o->call, entity_kind_audit_name(o->kind), pbfield_string(holder, "id"),
                            o->region);
        if (holder != NULL)
            protobuf_c_message_free_unpacked(holder, NULL);
    }
    s_claim_refusal_reply(o);
}

static void s_claim_holder_found(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    (void)error;
    op *o = ud;
    char key[ENTITY_KEY_MAX];
    if (result != ENTITY_OK || n != 1 || owners[0] == NULL || !entity_kind_key(o->kind, owners[0], key, sizeof key) ||
        entity_store_get(o->engine.store, key, s_claim_holder_loaded, o) != 0)
        s_claim_refusal_reply(o);
}

/* The write found a claimed value taken. An idempotent create answers the record holding it; a
 * guarded value held outside the caller's scope is reported (the answer is the same either way). */
static void s_claim_refused(op *o, int64_t index)
{
    const entity_layout *layout = &o->new_layout;
    const entity_claim_entry *claim = index >= 0 && (size_t)index < layout->n_claims ? &layout->claims[index] : NULL;
    o->refused_field = claim ? claim->field : NULL;
    if (claim && o->what == OP_CREATE &&
        ((o->kind->idempotent_claim && strcmp(claim->field, o->kind->idempotent_claim) == 0) ||
         strcmp(claim->field, S_IDEMPOTENCY_FIELD) == 0)) {
        s_create_existing(o, claim->value, claim->key);
        return;
    }
    const entity_claim_policy *policy = o->engine.claims;
    if (claim == NULL || policy == NULL || strcmp(claim->field, policy->field) != 0) {
        s_claim_refusal_reply(o);
        return;
    }
    const char *values[] = {claim->value};
    if (entity_store_claim_owners(o->engine.store, claim->key, values, 1, s_claim_holder_found, o) != 0)
        s_claim_refusal_reply(o);
}

static void s_claim_budget(int status, int left, int32_t retry_after_seconds, void *ud)
{
    op *o = ud;
    if (status != 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    if (left <= 0) {
        service_call_fail_retry_after(o->call, o->engine.claims->limit_ru, retry_after_seconds);
        s_op_free(o);
        return;
    }
    o->claim_budget_checked = true;
    s_write(o);
}

/* True when this write claims a value of the guarded field that the record did not hold before. */
static bool s_claims_guarded_value(const op *o)
{
    const entity_claim_policy *policy = o->engine.claims;
    if (policy == NULL || o->what == OP_DELETE)
        return false;
    const entity_claim_entry *now = s_claim_of(&o->new_layout, policy->field);
    if (now == NULL)
        return false;
    const entity_claim_entry *before = o->what == OP_CREATE ? NULL : s_claim_of(&o->old_layout, policy->field);
    return before == NULL || strcmp(before->key, now->key) != 0 || strcmp(before->value, now->value) != 0;
}

/* ---------- the write ---------- */

static void s_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        entity_kind_audit(&o->engine, o->call, o->kind,
                          o->what == OP_CREATE   ? "create"
                          : o->what == OP_DELETE ? "delete"
                                                 : "update",
                          pbfield_string(o->what == OP_DELETE ? o->current : o->next, "id"), o->region);
        if (o->what == OP_DELETE) {
            Metodnet__DeleteResponse response = METODNET__DELETE_RESPONSE__INIT;
            response.id = (char *)pbfield_string(o->current, "id");
            s_reply(o, &response.base);
        } else if (o->kind->stored) {
            o->kind->stored(o->engine.ud, o->call, o->what == OP_CREATE ? NULL : o->current, o->next);
            s_op_free(o);
        } else {
            s_reply(o, o->next);
        }
        return;
    case ENTITY_EXISTS:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->exists_ru);
        return;
    case ENTITY_NOT_FOUND:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    case ENTITY_VERSION_MISMATCH: {
        char message[200];
        entity_version_mismatch_ru(message, sizeof message, (long long)detail);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, message);
        return;
    }
    case ENTITY_MISSING_REFERENCE: {
        const entity_layout *layout = &o->new_layout;
        const char *field =
            detail >= 0 && (size_t)detail < layout->n_references ? layout->references[detail].field : "";
        validation_add(&o->v, field, "Связанная запись не найдена");
        s_fail_validation(o);
        return;
    }
    case ENTITY_NOT_EMPTY:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->not_empty_ru);
        return;
    case ENTITY_CLAIMED:
        s_claim_refused(o, detail);
        return;
    case ENTITY_ERROR:
    default:
        log_error(service_call_request_id(o->call), "запись в Redis не удалась: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE,
               result == ENTITY_ERROR && detail == ENTITY_DETAIL_UNCONFIRMED ? s_unconfirmed_ru : s_unavailable_ru);
        return;
    }
}

/* One atomic write of kind's record from current (NULL: create) to next (NULL: delete): the entity,
 * its index changes, references, delete guards, claims and the domain event "<name>.<type>". */
static int s_store_write(entity_store *store, const entity_kind *kind, const char *region, const char *key,
                         const char *type, const ProtobufCMessage *current, const ProtobufCMessage *next,
                         const entity_layout *old_layout, const entity_layout *new_layout, service_call *call,
                         entity_write_cb cb, void *ud)
{
    const ProtobufCMessage *entity = next ? next : current;
    const char *id = pbfield_string(entity, "id");
    int64_t version = pbfield_int64(entity, "version");
    if (current == NULL)
        old_layout = NULL;
    if (next == NULL)
        new_layout = NULL;

    uint8_t *data = NULL;
    size_t data_len = 0;
    if (next) {
        data_len = protobuf_c_message_get_packed_size(next);
        data = xmalloc(data_len);
        protobuf_c_message_pack(next, data);
    }
    size_t event_len = 0;
    const char *own_type = kind->event_type ? kind->event_type(current, next) : NULL;
    uint8_t *event = own_type ? entity_event_pack(own_type, id, version, data, data_len, service_call_caller(call),
                                                  service_call_request_id(call), &event_len)
                              : entity_kind_event(kind, type, entity, data, data_len, call, &event_len);

    size_t n_old = old_layout ? old_layout->n_indexes : 0, n_new = new_layout ? new_layout->n_indexes : 0;
    entity_index_entry *removes = xmalloc(sizeof *removes * (n_old ? n_old : 1));
    entity_index_entry *adds = xmalloc(sizeof *adds * (n_new ? n_new : 1));
    size_t n_refs = new_layout ? new_layout->n_references : 0;
    const char **must_exist = xmalloc(sizeof *must_exist * (n_refs ? n_refs : 1));
    size_t n_claims_max = new_layout ? new_layout->n_claims : 0, n_releases_max = old_layout ? old_layout->n_claims : 0;
    entity_claim *claims = xmalloc(sizeof *claims * (n_claims_max ? n_claims_max : 1));
    entity_claim *releases = xmalloc(sizeof *releases * (n_releases_max ? n_releases_max : 1));
    char stream[ENTITY_KEY_MAX];
    entity_kind_stream_key(kind, region, stream, sizeof stream);

    entity_write w = {0};
    w.entity_key = key;
    w.stream_key = stream;
    w.event = event;
    w.event_len = event_len;
    w.expected_version = current ? pbfield_int64(current, "version") : 0;
    if (new_layout) {
        w.n_index_remove = old_layout ? entity_layout_index_difference(old_layout, new_layout, removes) : 0;
        w.n_index_add = entity_layout_index_difference(new_layout, old_layout, adds);
        w.new_version = version;
        w.data = data;
        w.data_len = data_len;
        w.attributes = new_layout->attributes;
        for (size_t i = 0; i < n_refs; i++)
            must_exist[i] = new_layout->references[i].key;
        w.must_exist = must_exist;
        w.n_must_exist = n_refs;
    } else {
        w.n_index_remove = entity_layout_index_difference(old_layout, NULL, removes);
        w.must_be_empty = old_layout->guards;
        w.n_must_be_empty = old_layout->n_guards;
    }
    w.index_remove = removes;
    w.index_add = adds;
    entity_layout_claims(old_layout, new_layout, id, claims, &w.n_claims, releases, &w.n_releases);
    w.claims = claims;
    w.releases = releases;
    int rc = entity_store_write(store, &w, cb, ud);
    free(data);
    free(event);
    free(removes);
    free(adds);
    free(must_exist);
    free(claims);
    free(releases);
    return rc;
}

static void s_write(op *o)
{
    if (!s_layouts(o))
        return;
    /* a caller over its limit of refused claims learns nothing of any guarded value, free or taken */
    if (!o->claim_budget_checked && s_claims_guarded_value(o)) {
        const entity_claim_policy *policy = o->engine.claims;
        if (policy->budget(policy->ud, o->call, s_claim_budget, o) != 0)
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    static const char *const types[] = {"created", "read", "updated", "deleted", "updated"};
    if (s_store_write(o->engine.store, o->kind, o->region, o->key, types[o->what],
                      o->what == OP_CREATE ? NULL : o->current, o->what == OP_DELETE ? NULL : o->next, &o->old_layout,
                      &o->new_layout, o->call, s_written, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

/* ---------- the write for bespoke flows ---------- */

typedef struct {
    entity_layout old_layout, new_layout;
    entity_write_cb cb;
    void *ud;
} save_op;

static void s_saved(entity_result result, int64_t detail, const char *error, void *ud)
{
    save_op *s = ud;
    entity_write_cb cb = s->cb;
    void *cb_ud = s->ud;
    entity_layout_clear(&s->old_layout);
    entity_layout_clear(&s->new_layout);
    free(s);
    cb(result, detail, error, cb_ud);
}

int entity_kind_save(entity_store *store, const entity_kind *kind, service_call *call, const ProtobufCMessage *current,
                     const ProtobufCMessage *next, entity_write_cb cb, void *ud)
{
    const ProtobufCMessage *entity = next ? next : current;
    char key[ENTITY_KEY_MAX], region[8];
    if (entity == NULL || !entity_kind_key(kind, pbfield_string(entity, "id"), key, sizeof key) ||
        !entity_region_of(pbfield_string(entity, "id"), region, sizeof region))
        return -1;
    save_op *s = xcalloc(1, sizeof *s);
    s->cb = cb;
    s->ud = ud;
    entity_layout_init(&s->old_layout);
    entity_layout_init(&s->new_layout);
    int rc = -1;
    if (s_lay_out(kind, call, current, next, &s->old_layout, &s->new_layout))
        rc = s_store_write(store, kind, region, key,
                           current == NULL ? "created"
                           : next == NULL  ? "deleted"
                                           : "updated",
                           current, next, &s->old_layout, &s->new_layout, call, s_saved, s);
    if (rc != 0) {
        entity_layout_clear(&s->old_layout);
        entity_layout_clear(&s->new_layout);
        free(s);
    }
    return rc;
}

static void s_stamp(op *o, int64_t version)
{
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    pbfield_set_int64(o->next, "version", version);
    pbfield_set_string(o->next, "updated_at", now);
    if (version == 1)
        pbfield_set_string(o->next, "created_at", now);
}

/* ---------- the records an entity refers to ---------- */

static void s_after_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    char id[64];
    entity_kind_make_id(o->kind, o->region, (long long)value, id, sizeof id);
    pbfield_set_string(o->next, "id", id);
    entity_kind_key(o->kind, id, o->key, sizeof o->key);
    s_stamp(o, 1);
    s_write(o);
}

/* After references are known: the scope of the new state, then the write. */
static void s_after_resolve(op *o)
{
    if (o->store_failed) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    if (!s_allowed(o, o->next, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    if (o->what == OP_UPDATE) {
        s_stamp(o, pbfield_int64(o->current, "version") + 1);
        s_write(o);
    } else if (o->kind->global) {
        entity_kind_key(o->kind, pbfield_string(o->next, "id"), o->key, sizeof o->key);
        s_stamp(o, 1);
        s_write(o);
    } else {
        char sequence[ENTITY_KEY_MAX];
        entity_kind_sequence_key(o->kind, o->region, sequence, sizeof sequence);
        if (entity_store_next_id(o->engine.store, sequence, s_after_id, o) != 0)
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
    }
}

typedef struct {
    op *o;
    size_t index;
} reference_ctx;

/* True when the stored state of an updated entity refers to the same record already: such a reference
 * is kept even when the caller cannot read it (a teacher editing their own profile, the author of a
 * practice who does not read their school), only a new reference must be visible to the caller. */
static bool s_reference_kept(const op *o, const entity_reference *ref)
{
    for (size_t i = 0; i < o->n_stored_references; i++)
        if (o->stored_references[i].kind == ref->kind && strcmp(o->stored_references[i].id, ref->id) == 0)
            return true;
    return false;
}

static void s_reference_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                               const char *error, void *ud)
{
    (void)version;
    reference_ctx *ctx = ud;
    op *o = ctx->o;
    const entity_reference *ref = &o->references[ctx->index];
    if (result == ENTITY_OK) {
        ProtobufCMessage *loaded = protobuf_c_message_unpack(ref->kind->descriptor, NULL, len, data);
        if (loaded == NULL)
            validation_add(&o->v, ref->field, "Связанная запись повреждена");
        else if (ref->visible && !s_reference_kept(o, ref) &&
                 !entity_kind_allows(ref->kind, service_call_caller(o->call), loaded, SCOPE_READ))
            validation_add(&o->v, ref->field, "%s", ref->kind->not_found_ru);
        else if (o->kind->apply_reference)
            o->kind->apply_reference(o->next, ctx->index, loaded, &o->v);
        if (loaded)
            protobuf_c_message_free_unpacked(loaded, NULL);
    } else if (result == ENTITY_NOT_FOUND) {
        validation_add(&o->v, ref->field, "%s", ref->kind->not_found_ru);
    } else {
        log_error(service_call_request_id(o->call), "чтение связанной записи не удалось: %s", error ? error : "?");
        o->store_failed = true;
    }
    free(ctx);
    if (--o->pending == 0)
        s_after_resolve(o);
}

/* Reads every record the entity refers to: each must exist (and be visible to the caller where the
 * kind says so); apply_reference copies what the entity derives from them. */
static void s_resolve_references(op *o)
{
    if (o->kind->prepare_references)
        o->kind->prepare_references(o->next);
    o->references = xmalloc(sizeof *o->references * ENTITY_MAX_REFERENCES);
    o->n_references = o->kind->references(o->next, o->references, ENTITY_MAX_REFERENCES);
    if (o->what == OP_UPDATE && o->current != NULL) {
        o->stored_references = xmalloc(sizeof *o->stored_references * ENTITY_MAX_REFERENCES);
        o->n_stored_references = o->kind->references(o->current, o->stored_references, ENTITY_MAX_REFERENCES);
    }
    o->pending = (int)o->n_references + 1; /* +1 until every read is issued */
    for (size_t i = 0; i < o->n_references; i++) {
        char key[ENTITY_KEY_MAX];
        if (!entity_kind_key(o->references[i].kind, o->references[i].id, key, sizeof key)) {
            validation_add(&o->v, o->references[i].field, "%s", o->references[i].kind->not_found_ru);
            o->pending--;
            continue;
        }
        reference_ctx *ctx = xmalloc(sizeof *ctx);
        ctx->o = o;
        ctx->index = i;
        if (entity_store_get(o->engine.store, key, s_reference_loaded, ctx) != 0) {
            free(ctx);
            o->store_failed = true;
            o->pending--;
        }
    }
    if (--o->pending == 0)
        s_after_resolve(o);
}

static void s_validate_and_resolve(op *o)
{
    o->kind->validate(o->next, o->what == OP_CREATE, &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    if (o->kind->references)
        s_resolve_references(o);
    else
        s_after_resolve(o);
}

/* ---------- idempotent create: the record that holds the claimed value ---------- */

static void s_existing_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                              void *ud)
{
    (void)version;
    op *o = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(o->call), "чтение существующей записи не удалось: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    ProtobufCMessage *existing =
        result == ENTITY_OK ? protobuf_c_message_unpack(o->kind->descriptor, NULL, len, data) : NULL;
    if (existing == NULL) { /* removed in between, or unreadable */
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->exists_ru);
        return;
    }
    const char *mine = pbfield_string(o->next, "staff_id"), *theirs = pbfield_string(existing, "staff_id");
    bool same_person = mine == NULL || theirs == NULL || strcmp(mine, theirs) == 0;
    if (!same_person || !s_allowed(o, existing, SCOPE_READ)) {
        protobuf_c_message_free_unpacked(existing, NULL);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->exists_ru);
        return;
    }
    service_call_reply(o->call, existing);
    protobuf_c_message_free_unpacked(existing, NULL);
    s_op_free(o);
}

static void s_existing_found(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    (void)error;
    op *o = ud;
    char key[ENTITY_KEY_MAX];
    if (result != ENTITY_OK) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    if (n != 1 || owners[0] == NULL || !entity_kind_key(o->kind, owners[0], key, sizeof key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, o->kind->exists_ru);
        return;
    }
    if (entity_store_get(o->engine.store, key, s_existing_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_create_existing(op *o, const char *claim_value, const char *claims_key)
{
    const char *values[] = {claim_value};
    if (entity_store_claim_owners(o->engine.store, claims_key, values, 1, s_existing_found, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

/* ---------- create ---------- */

bool entity_request_names(const ProtobufCMessage *request, const char *name)
{
    char *const *mask;
    size_t n = s_strings(request, "update_mask", &mask);
    for (size_t i = 0; i < n; i++)
        if (strcmp(mask[i], name) == 0)
            return true;
    return false;
}

/* The region a new record lives in, from the first region field given. */
static bool s_region_of_new(const entity_kind *kind, const ProtobufCMessage *entity, char *out, size_t size)
{
    for (const char *const *f = kind->region_fields; f && *f; f++) {
        const char *value = s_first_string(entity, *f);
        if (value == NULL)
            continue;
        return entity_region_of(value, out, size) && (strcmp(*f, "region_id") != 0 || strcmp(out, value) == 0);
    }
    return false;
}

void entity_create(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind)
{
    op *o = s_op_new(engine, call, request, kind, OP_CREATE);
    const ProtobufCMessage *given = s_submessage(request, kind->json_field);
    if (given == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "Нет данных записи в теле запроса");
        return;
    }
    o->next = pbfield_clone(given);
    /* Server-owned fields are never taken from the client. */
    if (!kind->global)
        pbfield_set_string(o->next, "id", "");
    pbfield_set_int64(o->next, "version", 0);
    pbfield_set_string(o->next, "created_at", "");
    pbfield_set_string(o->next, "updated_at", "");
    /* a nested create (…/associations/{association_id}/members): the path names the parent */
    for (const char *const *p = kind->path_parents; p && *p; p++) {
        const char *parent = pbfield_string(request, *p);
        if (parent != NULL && pbfield_string(o->next, *p) != NULL)
            pbfield_set_string(o->next, *p, parent);
    }
    if (kind->on_create)
        kind->on_create(o->next, request);
    /* a region-wide record of the caller's own region when none is named (not where the region is
     * the record's own parent, as for a municipality) */
    const Metodnet__Principal *caller = service_call_caller(call);
    const char *region_id = pbfield_string(o->next, "region_id");
    bool region_is_given =
        kind->region_fields && kind->region_fields[0] && strcmp(kind->region_fields[0], "region_id") == 0;
    if (region_id != NULL && *region_id == '\0' && caller->region_id && *caller->region_id && !region_is_given)
        pbfield_set_string(o->next, "region_id", caller->region_id);

    if (!s_region_of_new(kind, o->next, o->region, sizeof o->region)) {
        kind->validate(o->next, true, &o->v);
        if (validation_ok(&o->v))
            validation_add(&o->v, "", "Не удалось определить регион записи");
        s_fail_validation(o);
        return;
    }
    if (!kind->global && pbfield_string(o->next, "region_id") != NULL)
        pbfield_set_string(o->next, "region_id", o->region);
    s_validate_and_resolve(o);
}

/* ---------- load (get, update, delete, transition) ---------- */

static void s_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud);

static void s_load(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind, op_kind what, const char *id_field)
{
    op *o = s_op_new(engine, call, request, kind, what);
    const char *id = pbfield_string(request, id_field);
    o->expected_version = pbfield_int64(request, "expected_version");
    if (o->expected_version < 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "Версия записи не может быть отрицательной");
        return;
    }
    if (id == NULL || !entity_kind_key(kind, id, o->key, sizeof o->key) ||
        !entity_region_of(id, o->region, sizeof o->region)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, kind->not_found_ru);
        return;
    }
    if (entity_store_get(engine->store, o->key, s_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

void entity_get(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                const entity_kind *kind, const char *id_field)
{
    s_load(engine, call, request, kind, OP_GET, id_field);
}

void entity_update(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind, const char *id_field)
{
    s_load(engine, call, request, kind, OP_UPDATE, id_field);
}

void entity_delete(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind, const char *id_field)
{
    s_load(engine, call, request, kind, OP_DELETE, id_field);
}

void entity_transition(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                       const entity_kind *kind, const char *id_field)
{
    s_load(engine, call, request, kind, OP_TRANSITION, id_field);
}

static void s_update_loaded(op *o);
static void s_transition_loaded(op *o);
static void s_readable(op *o);

/* A nested path names the parent (…/associations/{association_id}/members/{membership_id}): a record
 * of another parent is not found there. */
static bool s_parent_matches(const entity_kind *kind, const ProtobufCMessage *request, const ProtobufCMessage *entity)
{
    for (const char *const *p = kind->path_parents; p && *p; p++) {
        const char *asked = pbfield_string(request, *p), *actual = pbfield_string(entity, *p);
        if (asked != NULL && *asked != '\0' && actual != NULL && strcmp(asked, actual) != 0)
            return false;
    }
    return true;
}

/* A record readable only through another (entity_kind.through_*): shown when the caller may read that
 * one, otherwise not found. */
static void s_through_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                             void *ud)
{
    (void)version;
    op *o = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(o->call), "чтение из Redis не удалось: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    const entity_kind *through = o->kind->through_kind;
    ProtobufCMessage *other =
        result == ENTITY_OK ? protobuf_c_message_unpack(through->descriptor, NULL, len, data) : NULL;
    bool visible = other != NULL && entity_kind_allows(through, service_call_caller(o->call), other, SCOPE_READ);
    if (other != NULL)
        protobuf_c_message_free_unpacked(other, NULL);
    if (!visible) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    s_readable(o);
}

static void s_check_through(op *o)
{
    char key[ENTITY_KEY_MAX];
    const char *id = pbfield_string(o->current, o->kind->through_field);
    if (id == NULL || !entity_kind_key(o->kind->through_kind, id, key, sizeof key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    if (entity_store_get(o->engine.store, key, s_through_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение из Redis не удалось: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    o->current = protobuf_c_message_unpack(o->kind->descriptor, NULL, len, data);
    if (o->current == NULL) {
        log_error(service_call_request_id(o->call), "запись %s повреждена: не разбирается protobuf", o->key);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, s_corrupt_ru);
        return;
    }
    if (!s_parent_matches(o->kind, o->request, o->current) || !s_allowed(o, o->current, SCOPE_READ)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    if (o->what == OP_GET) {
        o->stored = xmalloc(len ? len : 1);
        memcpy(o->stored, data, len);
        o->stored_len = len;
    }
    if (o->kind->through_needed && o->kind->through_needed(service_call_caller(o->call), o->current)) {
        s_check_through(o);
        return;
    }
    s_readable(o);
}

/* The loaded record is one the caller may read: answer a read, or go on to the change. */
static void s_readable(op *o)
{
    if (o->what == OP_GET) {
        bool redacted = o->kind->redact && o->kind->redact(o->current, service_call_caller(o->call));
        if (o->kind->personal)
            entity_kind_audit(&o->engine, o->call, o->kind, "read", pbfield_string(o->current, "id"), o->region);
        if (redacted) {
            s_reply(o, o->current);
        } else { /* what is stored is what is shown: its bytes as they are */
            service_call_reply_packed(o->call, o->stored, o->stored_len);
            s_op_free(o);
        }
        return;
    }
    if (!s_allowed(o, o->current, SCOPE_WRITE)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    bool self_scope = service_call_caller(o->call)->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    if (self_scope && o->what == OP_DELETE) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    }
    int64_t stored = pbfield_int64(o->current, "version");
    if (o->expected_version > 0 && o->expected_version != stored) {
        char message[200];
        entity_version_mismatch_ru(message, sizeof message, (long long)stored);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, message);
        return;
    }
    if (o->what == OP_DELETE) {
        s_write(o);
    } else if (o->what == OP_TRANSITION) {
        s_transition_loaded(o);
    } else {
        const char *conflict = o->kind->update_conflict ? o->kind->update_conflict(o->current) : NULL;
        if (conflict != NULL) {
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, conflict);
            return;
        }
        s_update_loaded(o);
    }
}

/* ---------- transitions ---------- */

static void s_transition_loaded(op *o)
{
    o->next = pbfield_clone(o->current);
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    const char *conflict = NULL;
    entity_transition_result result =
        o->kind->transition(o->request, o->next, service_call_caller(o->call), now, &o->v, &conflict);
    switch (result) {
    case ENTITY_TRANSITION_OK:
        s_stamp(o, pbfield_int64(o->current, "version") + 1);
        s_write(o);
        return;
    case ENTITY_TRANSITION_CONFLICT:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, conflict ? conflict : "Действие недопустимо сейчас");
        return;
    case ENTITY_TRANSITION_DENIED:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    case ENTITY_TRANSITION_INVALID:
    default:
        if (validation_ok(&o->v))
            validation_add(&o->v, "", "Недопустимые данные запроса");
        s_fail_validation(o);
        return;
    }
}

/* ---------- update ---------- */

static void s_update_loaded(op *o)
{
    const ProtobufCMessage *patch = s_submessage(o->request, o->kind->json_field);
    char *const *mask;
    size_t n_mask = s_strings(o->request, "update_mask", &mask);
    if (patch == NULL || n_mask == 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "Укажите поля, которые нужно изменить");
        return;
    }
    o->next = pbfield_clone(o->current);
    bool self_scope = service_call_caller(o->call)->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    for (size_t i = 0; i < n_mask; i++) {
        char json[96];
        entity_json_name(o->kind->descriptor, mask[i], json, sizeof json);
        bool immutable = false;
        for (const char *const *p = o->kind->immutable; p && *p && !immutable; p++)
            immutable = strcmp(*p, mask[i]) == 0;
        bool self_editable = false;
        for (const char *const *p = o->kind->self_editable; p && *p && !self_editable; p++)
            self_editable = strcmp(*p, mask[i]) == 0;
        if (immutable)
            validation_add(&o->v, json, "Это поле нельзя изменить");
        else if (self_scope && !self_editable)
            validation_add(&o->v, json,
                           "Это поле в своём профиле изменить нельзя: обратитесь к администратору "
                           "организации");
        else if (pbfield_copy(o->next, patch, mask[i]) != 0)
            validation_add(&o->v, json, "Неизвестное поле");
    }
    if (validation_ok(&o->v) && o->kind->on_update) {
        char now[40];
        clock_rfc3339(clock_unix_ms(), now, sizeof now);
        o->kind->on_update(o->current, o->next, service_call_caller(o->call), now, &o->v);
    }
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_validate_and_resolve(o);
}
