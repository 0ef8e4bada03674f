/* registry — the one CRUD flow of the registry service, driven by registry_kinds (see registry.h).
 *
 * Every operation is a small state machine on the loop: load → check scope → (resolve references)
 * → validate → one atomic entity_store write (entity + indexes + domain event). Scope rules: an object
 * the caller may not read answers NOT_FOUND (its existence is not revealed); an object the caller may
 * read but not change answers PERMISSION_DENIED. Memberships are narrowed further: a member of an
 * association enclosing the caller's scope is shown only when the caller may read the person, and a
 * membership sub-list of a parent the caller may not read answers NOT_FOUND. A write that claims an
 * external id goes through registry_claim_guard (one answer when taken, audit and a limit when a
 * record outside the caller's scope holds it).
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "cursor.h"
#include "dictionary.h"
#include "entity_store.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_claim_guard.h"
#include "registry_import.h"
#include "registry_import.pb-c.h"
#include "registry_kinds.h"
#include "registry_service.pb-c.h"
#include "registry_resolve.h"

struct registry {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    registry_claim_guard *claim_guard;
};

typedef enum { OP_CREATE, OP_GET, OP_UPDATE, OP_DELETE, OP_TRANSITION } op_kind;

typedef struct op {
    registry *reg;
    service_call *call;
    const registry_kind *kind;
    op_kind what;
    const ProtobufCMessage *request; /* owned by the call */
    ProtobufCMessage *current;       /* stored state */
    ProtobufCMessage *next;          /* state to store */
    int64_t expected_version;
    char region[8];
    char key[REGISTRY_KEY_MAX];
    int pending;
    bool store_failed;
    validation v;
    registry_layout old_layout;
    registry_layout new_layout;
    registry_reference references[REGISTRY_MAX_REFERENCES];
    size_t n_references;
    bool claim_budget_checked; /* a write claiming an external id: the caller is under its limit */
} op;

/* Personal data (152-ФЗ): every read of a staff member's record and every change of any registry
 * record goes to the audit trail. The entry follows the successful operation; a Redis failure to
 * append it is logged by audit_record. */
static void s_audit(registry *reg, service_call *call, const registry_kind *kind, const char *action, const char *id,
                    const char *region)
{
    audit_event e;
    audit_event_from_call(&e, call);
    e.action = action;
    e.object_kind = kind == &registry_staff_kind           ? "staff"
                    : kind == &registry_organization_kind  ? "organization"
                    : kind == &registry_municipality_kind  ? "municipality"
                    : kind == &registry_region_kind        ? "region"
                    : kind == &registry_association_kind   ? "association"
                    : kind == &registry_membership_kind    ? "membership"
                    : kind == &registry_qualification_kind ? "qualification_record"
                                                           : kind->name;
    e.object_id = id;
    e.region_id = region;
    audit_record(reg->audit, &e, NULL, NULL);
}

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
static const char *const s_denied_ru = "Недостаточно прав для этого действия с этой записью";

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

static int32_t s_int32(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = s_field(msg, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_INT32)
        return 0;
    return *(const int32_t *)((const char *)msg + f->offset);
}

static bool s_in_mask(const ProtobufCMessage *request, const char *name)
{
    char *const *mask;
    size_t n = s_strings(request, "update_mask", &mask);
    for (size_t i = 0; i < n; i++)
        if (strcmp(mask[i], name) == 0)
            return true;
    return false;
}

static const char *s_json_name(const ProtobufCMessageDescriptor *desc, const char *proto_name, char *buf, size_t size)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, proto_name);
    if (f == NULL) {
        snprintf(buf, size, "%s", proto_name);
        return buf;
    }
    return pbjson_json_name(f, buf, size);
}

/* ---------- op lifecycle ---------- */

static op *s_op_new(registry *reg, service_call *call, const ProtobufCMessage *request, const registry_kind *kind,
                    op_kind what)
{
    op *o = calloc(1, sizeof *o);
    if (o == NULL)
        abort();
    o->reg = reg;
    o->call = call;
    o->kind = kind;
    o->what = what;
    o->request = request;
    validation_init(&o->v);
    return o;
}

static void s_op_free(op *o)
{
    if (o->current)
        protobuf_c_message_free_unpacked(o->current, NULL);
    if (o->next)
        protobuf_c_message_free_unpacked(o->next, NULL);
    validation_free(&o->v);
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
    return registry_allows(o->kind, service_call_caller(o->call), entity, access);
}

static void s_create_existing(op *o);
static void s_write(op *o);

/* ---------- external ids held by another record (registry_claim_guard.h) ---------- */

/* The one answer for a taken external id, whoever holds it. */
static void s_claim_refusal_reply(op *o)
{
    validation_add(&o->v, "externalId", "%s", REGISTRY_EXTERNAL_ID_TAKEN_RU);
    s_fail_validation(o);
}

static void s_claim_holder_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                  const char *error, void *ud)
{
    (void)version;
    (void)error;
    op *o = ud;
    if (result == ENTITY_OK) {
        ProtobufCMessage *holder = protobuf_c_message_unpack(o->kind->descriptor, NULL, len, data);
        if (holder != NULL && !registry_allows(o->kind, service_call_caller(o->call), holder, SCOPE_READ))
            registry_claim_guard_refused(o->reg->claim_guard, o->call,
                                         o->kind == &registry_staff_kind ? "staff" : "organization",
                                         pbfield_string(holder, "id"), o->region);
        if (holder != NULL)
            protobuf_c_message_free_unpacked(holder, NULL);
    }
    s_claim_refusal_reply(o);
}

static void s_claim_holder_found(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    (void)error;
    op *o = ud;
    char key[REGISTRY_KEY_MAX];
    if (result != ENTITY_OK || n != 1 || owners[0] == NULL ||
        !registry_entity_key(o->kind, owners[0], key, sizeof key) ||
        entity_store_get(o->reg->store, key, s_claim_holder_loaded, o) != 0)
        s_claim_refusal_reply(o);
}

/* The write found its external id taken: when a record outside the caller's scope holds it, the
 * refusal is audited and counted; the answer is the same either way. */
static void s_claim_refused(op *o)
{
    const char *values[] = {o->new_layout.claim_value};
    if (!o->new_layout.claim_key[0] ||
        entity_store_claim_owners(o->reg->store, o->new_layout.claim_key, values, 1, s_claim_holder_found, o) != 0)
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
        service_call_fail_retry_after(o->call, REGISTRY_CLAIM_LIMIT_RU, retry_after_seconds);
        s_op_free(o);
        return;
    }
    o->claim_budget_checked = true;
    s_write(o);
}

/* True when this write claims an external id the entity did not hold before. */
static bool s_claims_external_id(op *o)
{
    if (o->what == OP_DELETE)
        return false;
    o->kind->layout(o->next, &o->new_layout);
    if (!o->new_layout.claim_key[0])
        return false;
    if (o->what == OP_CREATE)
        return true;
    o->kind->layout(o->current, &o->old_layout);
    return strcmp(o->old_layout.claim_key, o->new_layout.claim_key) != 0 ||
           strcmp(o->old_layout.claim_value, o->new_layout.claim_value) != 0;
}

/* ---------- the write ---------- */

static void s_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        s_audit(o->reg, o->call, o->kind,
                o->what == OP_CREATE   ? "create"
                : o->what == OP_DELETE ? "delete"
                                       : "update",
                pbfield_string(o->what == OP_DELETE ? o->current : o->next, "id"), o->region);
        if (o->what == OP_DELETE) {
            Metodnet__DeleteResponse response = METODNET__DELETE_RESPONSE__INIT;
            response.id = (char *)pbfield_string(o->current, "id");
            s_reply(o, &response.base);
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
        snprintf(message, sizeof message,
                 "Запись уже изменил кто-то другой (текущая версия %lld): "
                 "перечитайте её и повторите изменение",
                 (long long)detail);
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH, message);
        return;
    }
    case ENTITY_MISSING_REFERENCE: {
        const registry_layout *layout = &o->new_layout;
        const char *field =
            detail >= 0 && (size_t)detail < layout->n_must_exist ? layout->must_exist_field[detail] : "";
        validation_add(&o->v, field ? field : "", "Связанная запись не найдена");
        s_fail_validation(o);
        return;
    }
    case ENTITY_NOT_EMPTY:
        if (o->what == OP_CREATE && o->kind->idempotent_unique) {
            s_create_existing(o); /* the unique key is taken: answer with the record that holds it */
            return;
        }
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT,
               o->what == OP_CREATE ? o->kind->exists_ru : o->kind->not_empty_ru);
        return;
    case ENTITY_CLAIMED:
        s_claim_refused(o);
        return;
    case ENTITY_ERROR:
    default:
        log_error(service_call_request_id(o->call), "запись в Redis не удалась: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
}

static bool s_same_index(const registry_index *a, const registry_index *b)
{
    return strcmp(a->key, b->key) == 0 && strcmp(a->member, b->member) == 0;
}

/* Index entries of `from` that `than` lacks. */
static size_t s_index_difference(const registry_layout *from, const registry_layout *than, entity_index_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; i < from->n_indexes; i++) {
        bool shared = false;
        for (size_t j = 0; than && j < than->n_indexes && !shared; j++)
            shared = s_same_index(&from->indexes[i], &than->indexes[j]);
        if (!shared) {
            out[n].key = from->indexes[i].key;
            out[n].member = from->indexes[i].member;
            n++;
        }
    }
    return n;
}

static void s_write(op *o)
{
    /* a caller over its limit of refused claims learns nothing of any external id, free or taken */
    if (!o->claim_budget_checked && s_claims_external_id(o)) {
        if (registry_claim_guard_budget(o->reg->claim_guard, o->call, s_claim_budget, o) != 0)
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    const char *types[] = {"created", "read", "updated", "deleted", "updated"};
    const ProtobufCMessage *entity = o->what == OP_DELETE ? o->current : o->next;
    const char *id = pbfield_string(entity, "id");
    int64_t version = o->what == OP_DELETE ? pbfield_int64(o->current, "version") : pbfield_int64(o->next, "version");

    uint8_t *data = NULL;
    size_t data_len = 0;
    if (o->what != OP_DELETE) {
        data_len = protobuf_c_message_get_packed_size(o->next);
        data = malloc(data_len ? data_len : 1);
        if (data == NULL)
            abort();
        protobuf_c_message_pack(o->next, data);
    }

    Metodnet__DomainEvent event = METODNET__DOMAIN_EVENT__INIT;
    char type[64];
    snprintf(type, sizeof type, "%s.%s", o->kind->name, types[o->what]);
    event.type = type;
    event.entity_id = (char *)id;
    event.version = version;
    event.at_unix_ms = clock_unix_ms();
    event.actor = (Metodnet__Principal *)service_call_caller(o->call);
    event.request_id = (char *)service_call_request_id(o->call);
    event.entity.data = data;
    event.entity.len = data_len;
    size_t event_len = metodnet__domain_event__get_packed_size(&event);
    uint8_t *event_bytes = malloc(event_len ? event_len : 1);
    if (event_bytes == NULL)
        abort();
    metodnet__domain_event__pack(&event, event_bytes);

    entity_index_entry removes[REGISTRY_MAX_INDEXES], adds[REGISTRY_MAX_INDEXES];
    const char *must_exist[REGISTRY_MAX_MUST_EXIST], *must_be_empty[REGISTRY_MAX_MUST_BE_EMPTY + REGISTRY_MAX_UNIQUE];
    char stream[REGISTRY_KEY_MAX];
    registry_stream_key(o->kind, o->region, stream, sizeof stream);

    entity_write w = {0};
    w.entity_key = o->key;
    w.stream_key = stream;
    w.event = event_bytes;
    w.event_len = event_len;
    if (o->what == OP_CREATE) {
        o->kind->layout(o->next, &o->new_layout);
        w.expected_version = 0;
        w.n_index_add = s_index_difference(&o->new_layout, NULL, adds);
        for (size_t i = 0; i < o->new_layout.n_unique; i++)
            must_be_empty[i] = o->new_layout.unique[i];
        w.must_be_empty = must_be_empty;
        w.n_must_be_empty = o->new_layout.n_unique;
    } else if (o->what == OP_UPDATE || o->what == OP_TRANSITION) {
        o->kind->layout(o->current, &o->old_layout);
        o->kind->layout(o->next, &o->new_layout);
        w.expected_version = pbfield_int64(o->current, "version");
        w.n_index_remove = s_index_difference(&o->old_layout, &o->new_layout, removes);
        w.n_index_add = s_index_difference(&o->new_layout, &o->old_layout, adds);
    } else {
        o->kind->layout(o->current, &o->old_layout);
        w.expected_version = version;
        w.n_index_remove = s_index_difference(&o->old_layout, NULL, removes);
        for (size_t i = 0; i < o->old_layout.n_must_be_empty; i++)
            must_be_empty[i] = o->old_layout.must_be_empty[i];
        w.must_be_empty = must_be_empty;
        w.n_must_be_empty = o->old_layout.n_must_be_empty;
    }
    if (o->what != OP_DELETE) {
        w.new_version = version;
        w.data = data;
        w.data_len = data_len;
        w.attributes = o->new_layout.attributes;
        for (size_t i = 0; i < o->new_layout.n_must_exist; i++)
            must_exist[i] = o->new_layout.must_exist[i];
        w.must_exist = must_exist;
        w.n_must_exist = o->new_layout.n_must_exist;
    }
    w.index_remove = removes;
    w.index_add = adds;
    entity_claim claims[1], releases[1];
    registry_layout_claims(o->what == OP_CREATE ? NULL : &o->old_layout, o->what == OP_DELETE ? NULL : &o->new_layout,
                           id, claims, &w.n_claims, releases, &w.n_releases);
    w.claims = claims;
    w.releases = releases;
    int rc = entity_store_write(o->reg->store, &w, s_written, o);
    free(data);
    free(event_bytes);
    if (rc != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
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

/* ---------- resolving a staff member's organizations ---------- */

typedef struct {
    op *o;
    size_t index;
} resolve_ctx;

static void s_after_resolve(op *o);

/* True when the stored state of an updated staff member lists organization id already. */
static bool s_already_referenced(const op *o, const char *id)
{
    const Metodnet__StaffMember *stored = (const Metodnet__StaffMember *)o->current;
    if (o->what != OP_UPDATE || stored == NULL || id == NULL)
        return false;
    for (size_t i = 0; i < stored->n_organization_ids; i++)
        if (strcmp(stored->organization_ids[i], id) == 0)
            return true;
    return false;
}

static void s_organization_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                  const char *error, void *ud)
{
    (void)version;
    resolve_ctx *ctx = ud;
    op *o = ctx->o;
    Metodnet__StaffMember *staff = (Metodnet__StaffMember *)o->next;
    char field[48];
    snprintf(field, sizeof field, "organizationIds[%zu]", ctx->index);
    if (result == ENTITY_OK) {
        Metodnet__Organization *org = metodnet__organization__unpack(NULL, len, data);
        registry_territory territory;
        if (org != NULL)
            registry_organization_kind.territory(&org->base, &territory);
        if (org == NULL) {
            validation_add(&o->v, field, "Запись организации повреждена");
        } else if (!scope_allows(service_call_caller(o->call), &territory.object, SCOPE_READ) &&
                   !s_already_referenced(o, staff->organization_ids[ctx->index])) {
            /* a new reference must be visible to the caller; one the stored record has already is
             * kept even when the caller cannot read it (a teacher editing their own profile, a
             * methodologist editing a member who also works in another municipality) */
            validation_add(&o->v, field, "Организация не найдена");
        } else {
            bool known = false;
            for (size_t i = 0; i < staff->n_municipality_ids; i++)
                known |= strcmp(staff->municipality_ids[i], org->municipality_id) == 0;
            if (!known) {
                char **grown = realloc(staff->municipality_ids, (staff->n_municipality_ids + 1) * sizeof *grown);
                if (grown == NULL)
                    abort();
                staff->municipality_ids = grown;
                staff->municipality_ids[staff->n_municipality_ids++] = strdup(org->municipality_id);
            }
        }
        if (org)
            metodnet__organization__free_unpacked(org, NULL);
    } else if (result == ENTITY_NOT_FOUND) {
        validation_add(&o->v, field, "Организация не найдена");
    } else {
        log_error(service_call_request_id(o->call), "чтение организации не удалось: %s", error ? error : "?");
        o->store_failed = true;
    }
    free(ctx);
    if (--o->pending == 0)
        s_after_resolve(o);
}

/* Reads every organization of a staff member: they must exist and be visible to the caller, and
 * they give the member's municipalities. */
static void s_resolve(op *o)
{
    Metodnet__StaffMember *staff = (Metodnet__StaffMember *)o->next;
    for (size_t i = 0; i < staff->n_municipality_ids; i++)
        free(staff->municipality_ids[i]);
    free(staff->municipality_ids);
    staff->municipality_ids = NULL;
    staff->n_municipality_ids = 0;
    o->pending = (int)staff->n_organization_ids + 1; /* +1 until every read is issued */
    for (size_t i = 0; i < staff->n_organization_ids; i++) {
        char key[REGISTRY_KEY_MAX];
        registry_entity_key(&registry_organization_kind, staff->organization_ids[i], key, sizeof key);
        resolve_ctx *ctx = malloc(sizeof *ctx);
        if (ctx == NULL)
            abort();
        ctx->o = o;
        ctx->index = i;
        if (entity_store_get(o->reg->store, key, s_organization_loaded, ctx) != 0) {
            free(ctx);
            o->store_failed = true;
            o->pending--;
        }
    }
    if (--o->pending == 0)
        s_after_resolve(o);
}

static void s_after_id(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    char id[64];
    registry_make_id(o->kind, o->region, (long long)value, id, sizeof id);
    pbfield_set_string(o->next, "id", id);
    registry_entity_key(o->kind, id, o->key, sizeof o->key);
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
    } else if (o->kind == &registry_region_kind) {
        registry_entity_key(o->kind, pbfield_string(o->next, "id"), o->key, sizeof o->key);
        s_stamp(o, 1);
        s_write(o);
    } else {
        char sequence[REGISTRY_KEY_MAX];
        registry_sequence_key(o->kind, o->region, sequence, sizeof sequence);
        if (entity_store_next_id(o->reg->store, sequence, s_after_id, o) != 0)
            s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
    }
}

/* ---------- resolving the records an entity refers to (catalogue kinds) ---------- */

typedef struct {
    op *o;
    size_t index;
} reference_ctx;

/* True when the stored state of an updated entity refers to the same record already: such a reference
 * is kept even when the caller cannot read it (the author of a practice does not read their school),
 * only a new reference must be visible to the caller. */
static bool s_reference_kept(const op *o, const registry_reference *ref)
{
    if (o->what != OP_UPDATE || o->current == NULL || o->kind->references == NULL)
        return false;
    registry_reference stored[REGISTRY_MAX_REFERENCES];
    size_t n = o->kind->references(o->current, stored, REGISTRY_MAX_REFERENCES);
    for (size_t i = 0; i < n; i++)
        if (stored[i].kind == ref->kind && strcmp(stored[i].id, ref->id) == 0)
            return true;
    return false;
}

static void s_reference_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                               const char *error, void *ud)
{
    (void)version;
    reference_ctx *ctx = ud;
    op *o = ctx->o;
    const registry_reference *ref = &o->references[ctx->index];
    if (result == ENTITY_OK) {
        ProtobufCMessage *loaded = protobuf_c_message_unpack(ref->kind->descriptor, NULL, len, data);
        if (loaded == NULL)
            validation_add(&o->v, ref->field, "Связанная запись повреждена");
        else if (ref->visible && !s_reference_kept(o, ref) &&
                 !registry_allows(ref->kind, service_call_caller(o->call), loaded, SCOPE_READ))
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
    o->n_references = o->kind->references(o->next, o->references, REGISTRY_MAX_REFERENCES);
    o->pending = (int)o->n_references + 1; /* +1 until every read is issued */
    for (size_t i = 0; i < o->n_references; i++) {
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(o->references[i].kind, o->references[i].id, key, sizeof key)) {
            validation_add(&o->v, o->references[i].field, "%s", o->references[i].kind->not_found_ru);
            o->pending--;
            continue;
        }
        reference_ctx *ctx = malloc(sizeof *ctx);
        if (ctx == NULL)
            abort();
        ctx->o = o;
        ctx->index = i;
        if (entity_store_get(o->reg->store, key, s_reference_loaded, ctx) != 0) {
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
    if (o->kind->needs_resolve)
        s_resolve(o);
    else if (o->kind->references)
        s_resolve_references(o);
    else
        s_after_resolve(o);
}

/* ---------- idempotent create: the record that holds the unique key ---------- */

static void s_existing_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                              const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение существующей записи не удалось: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    ProtobufCMessage *existing =
        n ? protobuf_c_message_unpack(o->kind->descriptor, NULL, items[0].len, items[0].data) : NULL;
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

static void s_create_existing(op *o)
{
    char prefix[REGISTRY_KEY_MAX];
    registry_key_prefix(o->kind, o->region, prefix, sizeof prefix);
    entity_list_query query = {
        .index_key = o->new_layout.unique[0],
        .entity_key_prefix = prefix,
        .limit = 1,
    };
    if (entity_store_list(o->reg->store, &query, s_existing_listed, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

/* ---------- create ---------- */

/* The region a new entity lives in, from the reference the client gave. */
static bool s_region_of_new(const registry_kind *kind, const ProtobufCMessage *entity, char *out, size_t size)
{
    if (kind == &registry_region_kind)
        return registry_region_of(pbfield_string(entity, "id"), out, size);
    if (kind == &registry_municipality_kind)
        return registry_region_of(pbfield_string(entity, "region_id"), out, size);
    if (kind == &registry_organization_kind)
        return registry_region_of(pbfield_string(entity, "municipality_id"), out, size);
    if (kind == &registry_staff_kind) {
        const Metodnet__StaffMember *staff = (const Metodnet__StaffMember *)entity;
        return staff->n_organization_ids > 0 && registry_region_of(staff->organization_ids[0], out, size);
    }
    /* catalogue kinds: the home or the record referred to, else the region given */
    static const char *const fields[] = {"organization_id", "municipality_id", "association_id", "council_id",
                                         "staff_id",        "author_staff_id", "region_id"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *value = pbfield_string(entity, fields[i]);
        if (value != NULL && *value != '\0')
            return registry_region_of(value, out, size) &&
                   (strcmp(fields[i], "region_id") != 0 || strcmp(out, value) == 0);
    }
    return false;
}

static void s_create(service_call *call, const ProtobufCMessage *request, registry *reg, const registry_kind *kind)
{
    op *o = s_op_new(reg, call, request, kind, OP_CREATE);
    const ProtobufCMessage *given = s_submessage(request, kind->json_field);
    if (given == NULL) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "Нет данных записи в теле запроса");
        return;
    }
    o->next = pbfield_clone(given);
    if (o->next == NULL)
        abort();
    /* Server-owned fields are never taken from the client. */
    if (kind != &registry_region_kind)
        pbfield_set_string(o->next, "id", "");
    pbfield_set_int64(o->next, "version", 0);
    pbfield_set_string(o->next, "created_at", "");
    pbfield_set_string(o->next, "updated_at", "");
    if (kind == &registry_staff_kind && !s_in_mask(request, "active"))
        ((Metodnet__StaffMember *)o->next)->active = 1; /* a new staff member works unless told otherwise */
    /* a nested create (…/associations/{association_id}/members): the path names the parent */
    static const char *const parents[] = {"association_id", "council_id"};
    for (size_t i = 0; i < sizeof parents / sizeof parents[0]; i++) {
        const char *parent = pbfield_string(request, parents[i]);
        if (parent != NULL && pbfield_string(o->next, parents[i]) != NULL)
            pbfield_set_string(o->next, parents[i], parent);
    }
    if (kind->on_create)
        kind->on_create(o->next);
    /* a region-wide record of the caller's own region when none is named */
    const Metodnet__Principal *caller = service_call_caller(call);
    const char *region_id = pbfield_string(o->next, "region_id");
    if (region_id != NULL && *region_id == '\0' && caller->region_id && *caller->region_id &&
        kind != &registry_municipality_kind)
        pbfield_set_string(o->next, "region_id", caller->region_id);

    if (!s_region_of_new(kind, o->next, o->region, sizeof o->region)) {
        kind->validate(o->next, true, &o->v);
        if (validation_ok(&o->v))
            validation_add(&o->v, "", "Не удалось определить регион записи");
        s_fail_validation(o);
        return;
    }
    if (kind != &registry_region_kind && kind != &registry_municipality_kind)
        pbfield_set_string(o->next, "region_id", o->region);
    s_validate_and_resolve(o);
}

/* ---------- load (get, update, delete) ---------- */

static void s_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud);

static void s_load_by(service_call *call, const ProtobufCMessage *request, registry *reg, const registry_kind *kind,
                      op_kind what, const char *id_field)
{
    op *o = s_op_new(reg, call, request, kind, what);
    const char *id = pbfield_string(request, id_field);
    o->expected_version = pbfield_int64(request, "expected_version");
    if (o->expected_version < 0) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, "Версия записи не может быть отрицательной");
        return;
    }
    if (id == NULL || !registry_entity_key(kind, id, o->key, sizeof o->key) ||
        !registry_region_of(id, o->region, sizeof o->region)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, kind->not_found_ru);
        return;
    }
    if (entity_store_get(reg->store, o->key, s_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_load(service_call *call, const ProtobufCMessage *request, registry *reg, const registry_kind *kind,
                   op_kind what)
{
    s_load_by(call, request, reg, kind, what, "id");
}

static void s_update_loaded(op *o);
static void s_transition_loaded(op *o);

/* A nested path names the parent (…/associations/{association_id}/members/{membership_id}): a record
 * of another parent is not found there. */
static bool s_parent_matches(const ProtobufCMessage *request, const ProtobufCMessage *entity)
{
    static const char *const parents[] = {"association_id", "council_id"};
    for (size_t i = 0; i < sizeof parents / sizeof parents[0]; i++) {
        const char *asked = pbfield_string(request, parents[i]), *actual = pbfield_string(entity, parents[i]);
        if (asked != NULL && *asked != '\0' && actual != NULL && strcmp(asked, actual) != 0)
            return false;
    }
    return true;
}

static void s_check_member(op *o);
static void s_readable(op *o);

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
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_INTERNAL, "Запись повреждена; сообщите администратору");
        return;
    }
    if (!s_parent_matches(o->request, o->current) || !s_allowed(o, o->current, SCOPE_READ)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    if (o->kind == &registry_membership_kind &&
        registry_membership_needs_person(service_call_caller(o->call), o->current)) {
        s_check_member(o);
        return;
    }
    s_readable(o);
}

/* A membership the caller reads only through an association enclosing its scope: shown when the
 * caller may read the person, otherwise not found (registry_membership_needs_person). */
static void s_member_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                            void *ud)
{
    (void)version;
    op *o = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(o->call), "чтение из Redis не удалось: %s", error ? error : "?");
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    ProtobufCMessage *staff =
        result == ENTITY_OK ? protobuf_c_message_unpack(registry_staff_kind.descriptor, NULL, len, data) : NULL;
    bool visible =
        staff != NULL && registry_allows(&registry_staff_kind, service_call_caller(o->call), staff, SCOPE_READ);
    if (staff != NULL)
        protobuf_c_message_free_unpacked(staff, NULL);
    if (!visible) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    s_readable(o);
}

static void s_check_member(op *o)
{
    char key[REGISTRY_KEY_MAX];
    const char *staff_id = pbfield_string(o->current, "staff_id");
    if (staff_id == NULL || !registry_entity_key(&registry_staff_kind, staff_id, key, sizeof key)) {
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, o->kind->not_found_ru);
        return;
    }
    if (entity_store_get(o->reg->store, key, s_member_loaded, o) != 0)
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

/* The loaded record is one the caller may read: answer a read, or go on to the change. */
static void s_readable(op *o)
{
    if (o->what == OP_GET) {
        if (o->kind->redact)
            o->kind->redact(o->current, service_call_caller(o->call));
        if (o->kind == &registry_staff_kind || o->kind->personal)
            s_audit(o->reg, o->call, o->kind, "read", pbfield_string(o->current, "id"), o->region);
        s_reply(o, o->current);
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
        snprintf(message, sizeof message,
                 "Запись уже изменил кто-то другой (текущая версия %lld): "
                 "перечитайте её и повторите изменение",
                 (long long)stored);
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

/* ---------- transitions (membership leave, practice review) ---------- */

static void s_transition_loaded(op *o)
{
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    const char *conflict = NULL;
    registry_transition_result result =
        o->kind->transition(o->request, o->next, service_call_caller(o->call), now, &o->v, &conflict);
    switch (result) {
    case REGISTRY_TRANSITION_OK:
        s_stamp(o, pbfield_int64(o->current, "version") + 1);
        s_write(o);
        return;
    case REGISTRY_TRANSITION_CONFLICT:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT, conflict ? conflict : "Действие недопустимо сейчас");
        return;
    case REGISTRY_TRANSITION_DENIED:
        s_fail(o, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED, s_denied_ru);
        return;
    case REGISTRY_TRANSITION_INVALID:
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
    if (o->next == NULL)
        abort();
    bool self_scope = service_call_caller(o->call)->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    for (size_t i = 0; i < n_mask; i++) {
        char json[96];
        s_json_name(o->kind->descriptor, mask[i], json, sizeof json);
        bool immutable = false;
        for (const char *const *p = o->kind->immutable; *p && !immutable; p++)
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
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_validate_and_resolve(o);
}

/* ---------- list ---------- */

/* A list filter: request field → attribute token, checked by a fixed rule. FILTER_DATE checks the
 * value and adds no token (the kind's list_match applies it). */
typedef struct {
    const char *field;                    /* proto name in the List request */
    const char *token;                    /* attribute name */
    const ProtobufCEnumDescriptor *words; /* for FILTER_ENUM */
    enum { FILTER_ENUM, FILTER_BOOL, FILTER_SUBJECT, FILTER_ID, FILTER_CODE, FILTER_TEXT, FILTER_DATE } check;
} list_filter;

static const list_filter s_municipality_filters[] = {
    {"kind", "kind", &metodnet__municipality_kind__descriptor, FILTER_ENUM},
};
static const list_filter s_organization_filters[] = {
    {"kind", "kind", &metodnet__organization_kind__descriptor, FILTER_ENUM},
    {"low_results", "lowres", NULL, FILTER_BOOL},
    {"site_kind", "site", &metodnet__site_kind__descriptor, FILTER_ENUM},
    {"site_on", NULL, NULL, FILTER_DATE},
    {"curator_organization_id", "curator", NULL, FILTER_ID},
};
static const list_filter s_staff_filters[] = {
    {"category", "cat", &metodnet__staff_category__descriptor, FILTER_ENUM},
    {"position", "pos", &metodnet__position__descriptor, FILTER_ENUM},
    {"active", "act", NULL, FILTER_BOOL},
    {"subject", "subj", NULL, FILTER_SUBJECT},
};
static const list_filter s_association_filters[] = {
    {"level", "level", &metodnet__home_level__descriptor, FILTER_ENUM},
    {"kind", "kind", &metodnet__association_kind__descriptor, FILTER_ENUM},
    {"subject", "subj", NULL, FILTER_SUBJECT},
    {"network", "net", NULL, FILTER_BOOL},
    {"municipality_id", "mun", NULL, FILTER_ID},
    {"organization_id", "org", NULL, FILTER_ID},
};
static const list_filter s_membership_filters[] = {
    {"association_id", "assoc", NULL, FILTER_ID},
    {"staff_id", "staff", NULL, FILTER_ID},
    {"on", NULL, NULL, FILTER_DATE},
    {"from", NULL, NULL, FILTER_DATE},
    {"to", NULL, NULL, FILTER_DATE},
};
static const list_filter s_council_filters[] = {
    {"level", "level", &metodnet__home_level__descriptor, FILTER_ENUM},
    {"municipality_id", "mun", NULL, FILTER_ID},
    {"organization_id", "org", NULL, FILTER_ID},
};
static const list_filter s_meeting_filters[] = {
    {"council_id", "council", NULL, FILTER_ID},
    {"from", NULL, NULL, FILTER_DATE},
    {"to", NULL, NULL, FILTER_DATE},
};
static const list_filter s_programme_filters[] = {
    {"competence", "comp", NULL, FILTER_CODE},
    {"tag", "tag", NULL, FILTER_TEXT},
    {"federal_registry", "fr", NULL, FILTER_BOOL},
};
static const list_filter s_qualification_filters[] = {
    {"staff_id", "staff", NULL, FILTER_ID},
    {"programme_id", "prog", NULL, FILTER_ID},
};
static const list_filter s_practice_filters[] = {
    {"status", "status", &metodnet__practice_status__descriptor, FILTER_ENUM},
    {"subject", "subj", NULL, FILTER_SUBJECT},
    {"competence", "comp", NULL, FILTER_CODE},
    {"author_staff_id", "author", NULL, FILTER_ID},
    {"organization_id", "org", NULL, FILTER_ID},
    {"municipality_id", "mun", NULL, FILTER_ID},
};

#define FILTERS(table) table, sizeof table / sizeof table[0]

#define LIST_MAX_TOKENS 12

typedef struct {
    registry *reg;
    service_call *call;
    const registry_kind *kind;
    const ProtobufCMessage *request; /* owned by the call */
    bool has_after;
    char after[CURSOR_MAX_MEMBER + 1];
    /* export: every page of the same query goes to the CSV, so the query's strings live here */
    registry_export *export;
    bool exporting;
    entity_list_query query;
    char index[REGISTRY_KEY_MAX];
    char prefix[REGISTRY_MEMBER_MAX];
    char key_prefix[REGISTRY_KEY_MAX];
    char token_text[LIST_MAX_TOKENS][300];
    const char *tokens[LIST_MAX_TOKENS];
    /* memberships: the people of this page the caller may read, while the page is filtered */
    const struct member_people *people;
    /* memberships: the parent named by the request, checked before the first page */
    const registry_kind *parent_kind;
    char parent_key[REGISTRY_KEY_MAX];
} list_op;

/* ---------- memberships of a list page: whose people may the caller read? ---------- */

/* A page of memberships with some the caller reads only through an association enclosing its scope
 * (registry_membership_needs_person): the people's staff records are read first, then the page is
 * filtered as any other. */
typedef struct member_people {
    list_op *l;
    entity_blob *items; /* the page, copied */
    size_t n;
    char *next_member;
    char **staff;  /* distinct staff ids to check */
    bool *visible; /* per staff id */
    size_t n_staff, pending;
    bool failed;
} member_people;

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud);

static bool s_person_visible(const member_people *people, const char *staff_id)
{
    for (size_t i = 0; people && staff_id && i < people->n_staff; i++)
        if (strcmp(people->staff[i], staff_id) == 0)
            return people->visible[i];
    return false;
}

/* The caller may see entity in a list: its scope, and for a membership also its person. */
static bool s_list_visible(const list_op *l, const ProtobufCMessage *entity)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    if (!registry_allows(l->kind, caller, entity, SCOPE_READ))
        return false;
    if (l->kind == &registry_membership_kind && registry_membership_needs_person(caller, entity))
        return s_person_visible(l->people, pbfield_string(entity, "staff_id"));
    return true;
}

static void s_member_people_free(member_people *p)
{
    for (size_t i = 0; i < p->n; i++)
        free((void *)p->items[i].data);
    free(p->items);
    free(p->next_member);
    for (size_t i = 0; i < p->n_staff; i++)
        free(p->staff[i]);
    free(p->staff);
    free(p->visible);
    free(p);
}

static void s_member_people_done(member_people *p)
{
    list_op *l = p->l;
    if (p->failed) {
        s_listed(ENTITY_ERROR, NULL, 0, NULL, "чтение сотрудников для списка членства не удалось", l);
    } else {
        l->people = p;
        s_listed(ENTITY_OK, p->items, p->n, p->next_member, NULL, l); /* resets l->people; may free l */
    }
    s_member_people_free(p);
}

typedef struct {
    member_people *people;
    size_t index;
} member_person_ctx;

static void s_member_person_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                   const char *error, void *ud)
{
    (void)version;
    (void)error;
    member_person_ctx *ctx = ud;
    member_people *p = ctx->people;
    if (result == ENTITY_OK) {
        ProtobufCMessage *staff = protobuf_c_message_unpack(registry_staff_kind.descriptor, NULL, len, data);
        p->visible[ctx->index] =
            staff != NULL && registry_allows(&registry_staff_kind, service_call_caller(p->l->call), staff, SCOPE_READ);
        if (staff != NULL)
            protobuf_c_message_free_unpacked(staff, NULL);
    } else if (result != ENTITY_NOT_FOUND) {
        p->failed = true;
    }
    free(ctx);
    if (--p->pending == 0)
        s_member_people_done(p);
}

/* True when the page needs its people read first; the stage then calls s_listed again. */
static bool s_member_people_start(list_op *l, const entity_blob *items, size_t n, const char *next_member)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    if (scope_is_global(caller) || n == 0)
        return false;
    member_people *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    p->l = l;
    p->staff = calloc(n, sizeof *p->staff);
    p->visible = calloc(n, sizeof *p->visible);
    if (p->staff == NULL || p->visible == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (m == NULL)
            continue;
        const char *staff_id = pbfield_string(m, "staff_id");
        bool needed = staff_id && *staff_id && registry_allows(l->kind, caller, m, SCOPE_READ) &&
                      registry_membership_needs_person(caller, m);
        bool seen = false;
        for (size_t k = 0; needed && k < p->n_staff && !seen; k++)
            seen = strcmp(p->staff[k], staff_id) == 0;
        if (needed && !seen) {
            p->staff[p->n_staff] = strdup(staff_id);
            if (p->staff[p->n_staff] == NULL)
                abort();
            p->n_staff++;
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (p->n_staff == 0) {
        s_member_people_free(p);
        return false;
    }
    p->items = calloc(n, sizeof *p->items);
    if (p->items == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint8_t *copy = malloc(items[i].len ? items[i].len : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, items[i].data, items[i].len);
        p->items[i] = (entity_blob){copy, items[i].len};
    }
    p->n = n;
    if (next_member) {
        p->next_member = strdup(next_member);
        if (p->next_member == NULL)
            abort();
    }
    p->pending = p->n_staff + 1; /* + this call, so no callback finishes the stage while it starts */
    for (size_t k = 0; k < p->n_staff; k++) {
        char key[REGISTRY_KEY_MAX];
        member_person_ctx *ctx = malloc(sizeof *ctx);
        if (ctx == NULL)
            abort();
        *ctx = (member_person_ctx){p, k};
        if (!registry_entity_key(&registry_staff_kind, p->staff[k], key, sizeof key)) {
            free(ctx);
            p->pending--;
            continue;
        }
        if (entity_store_get(l->reg->store, key, s_member_person_loaded, ctx) != 0) {
            free(ctx);
            p->failed = true;
            p->pending--;
        }
    }
    if (--p->pending == 0)
        s_member_people_done(p);
    return true;
}

static bool s_listed_before(ProtobufCMessage *const *list, size_t kept, const char *id)
{
    for (size_t i = 0; i < kept; i++)
        if (strcmp(pbfield_string(list[i], "id"), id) == 0)
            return true;
    return false;
}

/* Export: the visible entities of one page go to the CSV; the next page follows until the end. */
static void s_export_page(list_op *l, const entity_blob *items, size_t n, const char *next_member)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    /* this page's rows (owned by the export): a word index holds one entry per title word, so an
     * entity is written once — on the page of its first matching word, once on that page */
    ProtobufCMessage **page = calloc(n ? n : 1, sizeof *page);
    if (page == NULL)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *entity = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (entity == NULL) {
            log_error(service_call_request_id(l->call), "пропущена повреждённая запись в выгрузке");
            continue;
        }
        if (!s_list_visible(l, entity) ||
            (l->kind->list_match && !l->kind->list_match(entity, l->request, l->has_after ? l->after : NULL)) ||
            s_listed_before(page, kept, pbfield_string(entity, "id"))) {
            protobuf_c_message_free_unpacked(entity, NULL);
            continue;
        }
        page[kept++] = entity;
        if (l->kind->redact)
            l->kind->redact(entity, caller);
        if (l->kind == &registry_staff_kind || l->kind->personal)
            s_audit(l->reg, l->call, l->kind, "export", pbfield_string(entity, "id"),
                    pbfield_string(entity, "region_id"));
        if (!registry_export_add(l->export, entity)) {
            char message[200];
            snprintf(message, sizeof message, "Больше %d записей: уточните фильтры выгрузки", REGISTRY_EXPORT_MAX_ROWS);
            registry_export_fail(l->export, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, message);
            free(page);
            free(l);
            return;
        }
    }
    free(page);
    l->people = NULL; /* this page's, freed by its stage */
    if (next_member == NULL || strlen(next_member) >= sizeof l->after) {
        registry_export_finish(l->export);
        free(l);
        return;
    }
    snprintf(l->after, sizeof l->after, "%s", next_member);
    l->has_after = true;
    l->query.after_member = l->after;
    if (entity_store_list(l->reg->store, &l->query, s_listed, l) != 0) {
        registry_export_fail(l->export, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        free(l);
    }
}

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    list_op *l = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(l->call), "список из Redis не получен: %s", error ? error : "?");
        if (l->export)
            registry_export_fail(l->export, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        else
            service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        free(l);
        return;
    }
    if (l->kind == &registry_membership_kind && l->people == NULL && s_member_people_start(l, items, n, next_member))
        return;
    if (l->export) {
        s_export_page(l, items, n, next_member);
        return;
    }
    const ProtobufCMessageDescriptor *desc = service_call_method(l->call)->output;
    ProtobufCMessage *response = malloc(desc->sizeof_message);
    if (response == NULL)
        abort();
    protobuf_c_message_init(desc, response);
    const ProtobufCFieldDescriptor *items_field = protobuf_c_message_descriptor_get_field_by_name(desc, "items");
    ProtobufCMessage **list = calloc(n ? n : 1, sizeof *list);
    if (list == NULL)
        abort();
    size_t kept = 0, others = 0;
    const Metodnet__Principal *caller = service_call_caller(l->call);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *entity = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (entity == NULL) {
            log_error(service_call_request_id(l->call), "пропущена повреждённая запись в списке");
            continue;
        }
        /* scope, the kind's own filter (dates, words), and one appearance per page (a word index may
         * hold several words of one title); a member of a visible association whose person the caller
         * may not read is counted, not shown */
        bool visible = s_list_visible(l, entity);
        bool matches = !l->kind->list_match || l->kind->list_match(entity, l->request, l->has_after ? l->after : NULL);
        if (!visible && matches && l->kind == &registry_membership_kind &&
            registry_allows(l->kind, caller, entity, SCOPE_READ))
            others++;
        if (!visible || !matches || s_listed_before(list, kept, pbfield_string(entity, "id"))) {
            protobuf_c_message_free_unpacked(entity, NULL);
            continue;
        }
        if (l->kind->redact)
            l->kind->redact(entity, caller);
        if (l->kind == &registry_staff_kind || l->kind->personal)
            s_audit(l->reg, l->call, l->kind, "list", pbfield_string(entity, "id"),
                    pbfield_string(entity, "region_id"));
        list[kept++] = entity;
    }
    l->people = NULL;
    if (desc == &metodnet__list_memberships_response__descriptor)
        ((Metodnet__ListMembershipsResponse *)response)->others = (int32_t)others;
    *(ProtobufCMessage ***)((char *)response + items_field->offset) = list;
    *(size_t *)((char *)response + items_field->quantifier_offset) = kept;
    char *cursor = next_member ? cursor_encode(next_member) : NULL;
    pbfield_set_string(response, "next_cursor", cursor ? cursor : "");
    free(cursor);
    service_call_reply(l->call, response);
    protobuf_c_message_free_unpacked(response, NULL);
    free(l);
}

/* Value of an optional string filter field of the request ("" when absent). */
static const char *s_filter(const ProtobufCMessage *request, const char *name)
{
    const char *value = pbfield_string(request, name);
    return value ? value : "";
}

/* The index a list reads: the narrowest its filters allow (every index is ordered by its sort key). */
static void s_list_index(const registry_kind *kind, const char *region, const ProtobufCMessage *request,
                         bool word_search, char *index, size_t size)
{
    const char *organization = s_filter(request, "organization_id"),
               *municipality = s_filter(request, "municipality_id");
    registry_main_index(kind, region, index, size);
    if (word_search) {
        snprintf(index, size, "reg:{r:%s}:ix:%s:word", region, kind->name);
    } else if (kind == &registry_staff_kind && *organization) {
        snprintf(index, size, "reg:{r:%s}:ix:staff:org:%s", region, organization);
    } else if (kind == &registry_staff_kind && *municipality) {
        snprintf(index, size, "reg:{r:%s}:ix:staff:mun:%s", region, municipality);
    } else if (kind == &registry_organization_kind && *s_filter(request, "curator_organization_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:org:curator:%s", region, s_filter(request, "curator_organization_id"));
    } else if (kind == &registry_organization_kind && *municipality) {
        snprintf(index, size, "reg:{r:%s}:ix:org:mun:%s", region, municipality);
    } else if ((kind == &registry_association_kind || kind == &registry_council_kind ||
                kind == &registry_practice_kind) &&
               *organization) {
        snprintf(index, size, "reg:{r:%s}:ix:%s:org:%s", region, kind->name, organization);
    } else if ((kind == &registry_association_kind || kind == &registry_council_kind) && *municipality) {
        snprintf(index, size, "reg:{r:%s}:ix:%s:mun:%s", region, kind->name, municipality);
    } else if (kind == &registry_membership_kind && *s_filter(request, "association_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:member:assoc:%s", region, s_filter(request, "association_id"));
    } else if (kind == &registry_membership_kind && *s_filter(request, "staff_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:member:staff:%s", region, s_filter(request, "staff_id"));
    } else if (kind == &registry_meeting_kind && *s_filter(request, "council_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:meeting:council:%s", region, s_filter(request, "council_id"));
    } else if (kind == &registry_qualification_kind && *s_filter(request, "staff_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:qual:staff:%s", region, s_filter(request, "staff_id"));
    } else if (kind == &registry_qualification_kind && *s_filter(request, "programme_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:qual:prog:%s", region, s_filter(request, "programme_id"));
    } else if (kind == &registry_practice_kind && *s_filter(request, "author_staff_id")) {
        snprintf(index, size, "reg:{r:%s}:ix:practice:author:%s", region, s_filter(request, "author_staff_id"));
    }
}

/* The first page of l->query (an export's pages follow from s_export_page). */
static void s_list_start(list_op *l)
{
    if (l->exporting)
        l->export = registry_export_new(l->call, l->reg->store, l->kind);
    if (entity_store_list(l->reg->store, &l->query, s_listed, l) != 0) {
        if (l->export)
            registry_export_fail(l->export, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        else
            service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        free(l);
    }
}

static void s_list_parent_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                 const char *error, void *ud)
{
    (void)version;
    list_op *l = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(l->call), "чтение из Redis не удалось: %s", error ? error : "?");
        service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        free(l);
        return;
    }
    ProtobufCMessage *parent =
        result == ENTITY_OK ? protobuf_c_message_unpack(l->parent_kind->descriptor, NULL, len, data) : NULL;
    bool visible = parent != NULL && registry_allows(l->parent_kind, service_call_caller(l->call), parent, SCOPE_READ);
    if (parent != NULL)
        protobuf_c_message_free_unpacked(parent, NULL);
    if (!visible) {
        service_call_fail(l->call, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, l->parent_kind->not_found_ru);
        free(l);
        return;
    }
    s_list_start(l);
}

static void s_list(service_call *call, const ProtobufCMessage *request, registry *reg, const registry_kind *kind,
                   bool export, const list_filter *filters, size_t n_filters)
{
    const Metodnet__Principal *caller = service_call_caller(call);
    validation v;
    validation_init(&v);
    int32_t limit = s_int32(request, "limit");
    if (limit == 0)
        limit = 50;
    if (limit < 1 || limit > 500)
        validation_add(&v, "limit", "Размер страницы — от 1 до 500");
    list_op *l = calloc(1, sizeof *l);
    if (l == NULL)
        abort();
    *l = (list_op){.reg = reg, .call = call, .kind = kind, .request = request, .exporting = export};
    const char *cursor = pbfield_string(request, "cursor");
    l->has_after = cursor && *cursor;
    if (l->has_after && !cursor_decode(cursor, l->after, sizeof l->after))
        validation_add(&v, "cursor", "Неверный курсор: возьмите nextCursor из предыдущего ответа");

    /* The region: asked for, implied by a filter naming a record, or the caller's own. */
    char region[8] = "";
    const char *region_filter = pbfield_string(request, "region_id");
    static const char *const implying[] = {"organization_id", "municipality_id", "association_id", "council_id",
                                           "staff_id",        "author_staff_id", "programme_id"};
    const char *implied_field = NULL, *implied = NULL;
    for (size_t i = 0; i < sizeof implying / sizeof implying[0] && implied == NULL; i++) {
        const char *value = pbfield_string(request, implying[i]);
        if (value && *value) {
            implied_field = implying[i];
            implied = value;
        }
    }
    if (region_filter && *region_filter) {
        if (!registry_region_of(region_filter, region, sizeof region) || strcmp(region, region_filter) != 0)
            validation_add(&v, "regionId", "Код региона — две цифры, например «07»");
    } else if (implied) {
        char json[64];
        s_json_name(request->descriptor, implied_field, json, sizeof json);
        if (!registry_region_of(implied, region, sizeof region))
            validation_add(&v, json, "Неверный идентификатор");
    } else if (caller->region_id && *caller->region_id) {
        snprintf(region, sizeof region, "%s", caller->region_id);
    } else if (kind != &registry_region_kind) {
        validation_add(&v, "regionId", "Укажите регион (regionId)");
    }

    const char *tokens[LIST_MAX_TOKENS];
    char token_text[LIST_MAX_TOKENS][300];
    size_t n_tokens = 0;
    for (size_t i = 0; i < n_filters; i++) {
        const char *value = pbfield_string(request, filters[i].field);
        if (value == NULL || *value == '\0')
            continue;
        char json[64], folded[256];
        s_json_name(request->descriptor, filters[i].field, json, sizeof json);
        int parsed;
        bool ok;
        switch (filters[i].check) {
        case FILTER_ENUM:
            ok = pbjson_enum_parse(filters[i].words, value, &parsed);
            break;
        case FILTER_BOOL:
            ok = strcmp(value, "true") == 0 || strcmp(value, "false") == 0;
            break;
        case FILTER_SUBJECT:
            ok = dictionary_subject_known(value);
            break;
        case FILTER_ID:
            ok = id_valid(value);
            break;
        case FILTER_CODE:
            ok = registry_code_valid(value);
            break;
        case FILTER_TEXT:
            ok = utf8_valid(value, strlen(value)) && strlen(value) <= 200 && !strchr(value, '|');
            break;
        case FILTER_DATE:
            ok = date_parse(value, &parsed);
            break;
        default:
            ok = false;
        }
        if (!ok) {
            validation_add(&v, json, "Недопустимое значение «%.60s»", value);
            continue;
        }
        if (filters[i].token == NULL || n_tokens >= LIST_MAX_TOKENS)
            continue;
        if (filters[i].check == FILTER_TEXT)
            value = text_fold(value, folded, sizeof folded);
        snprintf(token_text[n_tokens], sizeof token_text[0], "|%s:%s|", filters[i].token, value);
        tokens[n_tokens] = token_text[n_tokens];
        n_tokens++;
    }
    /* Name search: a prefix of the sort key; programmes and practices search their title words. */
    bool word_search = kind == &registry_programme_kind || kind == &registry_practice_kind;
    const char *q = pbfield_string(request, "q");
    char prefix[REGISTRY_MEMBER_MAX] = "";
    if (q && *q && validate_text(&v, "q", q, 100, false)) {
        if (word_search) {
            registry_query_key(q, prefix, sizeof prefix);
            if (!*prefix)
                validation_add(&v, "q", "В запросе нет ни одного слова из двух и более букв или цифр");
        } else {
            registry_search_prefix(q, prefix, sizeof prefix);
        }
    }
    word_search = word_search && *prefix;
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        free(l);
        return;
    }
    validation_free(&v);

    /* A scoped caller outside the asked region sees nothing (and learns nothing). */
    bool global = scope_is_global(caller);
    if (!global && kind != &registry_region_kind && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        if (kind == &registry_membership_kind &&
            (*s_filter(request, "association_id") || *s_filter(request, "staff_id"))) {
            /* the parent named lies in another region: not found, as everywhere below */
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND,
                              *s_filter(request, "association_id") ? registry_association_kind.not_found_ru
                                                                   : registry_staff_kind.not_found_ru);
            free(l);
            return;
        }
        entity_blob none = {NULL, 0};
        if (export)
            l->export = registry_export_new(call, reg->store, kind);
        s_listed(ENTITY_OK, &none, 0, NULL, NULL, l);
        return;
    }

    char index[REGISTRY_KEY_MAX];
    s_list_index(kind, region, request, word_search, index, sizeof index);
    const char *organization = s_filter(request, "organization_id"),
               *municipality = s_filter(request, "municipality_id");
    if (kind == &registry_staff_kind && *organization && *municipality && n_tokens < LIST_MAX_TOKENS) {
        snprintf(token_text[n_tokens], sizeof token_text[0], "|mun:%s|", municipality);
        tokens[n_tokens] = token_text[n_tokens];
        n_tokens++;
    }
    /* The caller's scope narrows every list, except of the kinds readable region-wide (their items are
     * still checked one by one). */
    if (!global && n_tokens < LIST_MAX_TOKENS && kind != &registry_region_kind && !kind->list_unnarrowed) {
        const char *scope_token = NULL, *scope_value = caller->scope_id;
        switch (caller->scope_kind) {
        case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
            scope_token = "mun";
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
            scope_token = kind == &registry_municipality_kind ? "mun" : "org";
            if (kind == &registry_municipality_kind)
                scope_value = caller->municipality_id;
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_SELF:
            scope_token = kind == &registry_staff_kind ? "id" : kind == &registry_qualification_kind ? "staff" : NULL;
            break;
        default:
            break;
        }
        if (scope_token) {
            snprintf(token_text[n_tokens], sizeof token_text[0], "|%s:%s|", scope_token,
                     scope_value ? scope_value : "");
            tokens[n_tokens] = token_text[n_tokens];
            n_tokens++;
        }
    }

    char key_prefix[REGISTRY_KEY_MAX];
    registry_key_prefix(kind, region, key_prefix, sizeof key_prefix);
    entity_list_query query = {
        .index_key = index,
        .after_member = l->has_after ? l->after : NULL,
        .prefix = *prefix ? prefix : NULL,
        .entity_key_prefix = key_prefix,
        .required_tokens = tokens,
        .n_required_tokens = n_tokens,
        .limit = (size_t)limit,
        .max_scan = 0,
    };
    /* the export walks every page of the same query, and a parent is read before the first page: the
     * query's strings stay with the op */
    snprintf(l->index, sizeof l->index, "%s", index);
    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    snprintf(l->key_prefix, sizeof l->key_prefix, "%s", key_prefix);
    for (size_t i = 0; i < n_tokens; i++) {
        snprintf(l->token_text[i], sizeof l->token_text[i], "%s", tokens[i]);
        l->tokens[i] = l->token_text[i];
    }
    query.index_key = l->index;
    query.prefix = *l->prefix ? l->prefix : NULL;
    query.entity_key_prefix = l->key_prefix;
    query.required_tokens = l->tokens;
    if (export)
        query.limit = 500;
    l->query = query;
    /* a sub-list of memberships (…/associations/{id}/members, /staff/{id}/memberships, the export by
     * either) answers for a parent the caller may not read as for one that does not exist */
    const char *association = s_filter(request, "association_id"), *staff = s_filter(request, "staff_id");
    if (kind == &registry_membership_kind && (*association || *staff)) {
        l->parent_kind = *association ? &registry_association_kind : &registry_staff_kind;
        if (!registry_entity_key(l->parent_kind, *association ? association : staff, l->parent_key,
                                 sizeof l->parent_key)) {
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, l->parent_kind->not_found_ru);
            free(l);
            return;
        }
        if (entity_store_get(reg->store, l->parent_key, s_list_parent_loaded, l) != 0) {
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
            free(l);
        }
        return;
    }
    s_list_start(l);
}

/* ---------- the method table ---------- */

/* Handlers of one kind; a kind without some operation (memberships are never updated) leaves them
 * unused. */
#define REGISTRY_HANDLERS(Kind, kind_var, ...)                                                                         \
    __attribute__((unused)) static void s_create_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        s_create(c, r, ud, &kind_var);                                                                                 \
    }                                                                                                                  \
    __attribute__((unused)) static void s_get_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)             \
    {                                                                                                                  \
        s_load(c, r, ud, &kind_var, OP_GET);                                                                           \
    }                                                                                                                  \
    __attribute__((unused)) static void s_update_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        s_load(c, r, ud, &kind_var, OP_UPDATE);                                                                        \
    }                                                                                                                  \
    __attribute__((unused)) static void s_delete_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        s_load(c, r, ud, &kind_var, OP_DELETE);                                                                        \
    }                                                                                                                  \
    __attribute__((unused)) static void s_list_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)            \
    {                                                                                                                  \
        s_list(c, r, ud, &kind_var, false, __VA_ARGS__);                                                               \
    }

REGISTRY_HANDLERS(region, registry_region_kind, NULL, 0)
REGISTRY_HANDLERS(municipality, registry_municipality_kind, FILTERS(s_municipality_filters))
REGISTRY_HANDLERS(organization, registry_organization_kind, FILTERS(s_organization_filters))
REGISTRY_HANDLERS(staff, registry_staff_kind, FILTERS(s_staff_filters))
REGISTRY_HANDLERS(association, registry_association_kind, FILTERS(s_association_filters))
REGISTRY_HANDLERS(membership, registry_membership_kind, FILTERS(s_membership_filters))
REGISTRY_HANDLERS(council, registry_council_kind, FILTERS(s_council_filters))
REGISTRY_HANDLERS(meeting, registry_meeting_kind, FILTERS(s_meeting_filters))
REGISTRY_HANDLERS(programme, registry_programme_kind, FILTERS(s_programme_filters))
REGISTRY_HANDLERS(qualification, registry_qualification_kind, FILTERS(s_qualification_filters))
REGISTRY_HANDLERS(practice, registry_practice_kind, FILTERS(s_practice_filters))

/* Import and export (registry_import.h). An export is the list's own walk (filters, scope, redaction,
 * audit) over every page, into a CSV. */
#define REGISTRY_EXPORT_HANDLER(Kind, kind_var, ...)                                                                   \
    static void s_export_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                  \
    {                                                                                                                  \
        s_list(c, r, ud, &kind_var, true, __VA_ARGS__);                                                                \
    }

#define REGISTRY_IMPORT_HANDLERS(Kind, kind_var, ...)                                                                  \
    static void s_import_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                  \
    {                                                                                                                  \
        registry *reg = ud;                                                                                            \
        registry_import_run(c, r, reg->store, reg->audit, reg->claim_guard, &kind_var);                                \
    }                                                                                                                  \
    static void s_template_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                \
    {                                                                                                                  \
        (void)r, (void)ud;                                                                                             \
        registry_import_template(c, &kind_var);                                                                        \
    }                                                                                                                  \
    REGISTRY_EXPORT_HANDLER(Kind, kind_var, __VA_ARGS__)

REGISTRY_IMPORT_HANDLERS(organization, registry_organization_kind, FILTERS(s_organization_filters))
REGISTRY_IMPORT_HANDLERS(staff, registry_staff_kind, FILTERS(s_staff_filters))
REGISTRY_EXPORT_HANDLER(municipality, registry_municipality_kind, FILTERS(s_municipality_filters))
REGISTRY_EXPORT_HANDLER(association, registry_association_kind, FILTERS(s_association_filters))
REGISTRY_EXPORT_HANDLER(membership, registry_membership_kind, FILTERS(s_membership_filters))
REGISTRY_EXPORT_HANDLER(council, registry_council_kind, FILTERS(s_council_filters))
REGISTRY_EXPORT_HANDLER(meeting, registry_meeting_kind, FILTERS(s_meeting_filters))
REGISTRY_EXPORT_HANDLER(programme, registry_programme_kind, FILTERS(s_programme_filters))
REGISTRY_EXPORT_HANDLER(qualification, registry_qualification_kind, FILTERS(s_qualification_filters))
REGISTRY_EXPORT_HANDLER(practice, registry_practice_kind, FILTERS(s_practice_filters))

static void s_resolve_staff(service_call *c, const ProtobufCMessage *r, void *ud)
{
    registry_resolve_staff(c, r, ((registry *)ud)->store);
}

/* Transitions name the record by their own id field. */
static void s_leave_membership(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_load_by(c, r, ud, &registry_membership_kind, OP_TRANSITION, "membership_id");
}
static void s_review_practice(service_call *c, const ProtobufCMessage *r, void *ud)
{
    s_load_by(c, r, ud, &registry_practice_kind, OP_TRANSITION, "id");
}

#define REGISTRY_HANDLERS_OF(Name, Plural, kind)                                                                       \
    {"Create" #Name, s_create_##kind}, {"Get" #Name, s_get_##kind}, {"Update" #Name, s_update_##kind},                 \
        {"Delete" #Name, s_delete_##kind},                                                                             \
    {                                                                                                                  \
        "List" #Plural, s_list_##kind                                                                                  \
    }

static const service_handler_entry s_handlers[] = {
    REGISTRY_HANDLERS_OF(Region, Regions, region),
    REGISTRY_HANDLERS_OF(Municipality, Municipalities, municipality),
    REGISTRY_HANDLERS_OF(Organization, Organizations, organization),
    REGISTRY_HANDLERS_OF(Staff, Staff, staff),
    REGISTRY_HANDLERS_OF(Association, Associations, association),
    {"CreateMembership", s_create_membership},
    {"GetMembership", s_get_membership},
    {"LeaveMembership", s_leave_membership},
    {"ListMemberships", s_list_membership},
    {"ListStaffMemberships", s_list_membership},
    REGISTRY_HANDLERS_OF(Council, Councils, council),
    REGISTRY_HANDLERS_OF(CouncilMeeting, CouncilMeetings, meeting),
    REGISTRY_HANDLERS_OF(Programme, Programmes, programme),
    {"CreateQualificationRecord", s_create_qualification},
    {"GetQualificationRecord", s_get_qualification},
    {"DeleteQualificationRecord", s_delete_qualification},
    {"ListQualificationRecords", s_list_qualification},
    {"ListStaffQualificationRecords", s_list_qualification},
    REGISTRY_HANDLERS_OF(Practice, Practices, practice),
    {"ReviewPractice", s_review_practice},
    {"ImportOrganizations", s_import_organization},
    {"ImportStaff", s_import_staff},
    {"ImportTemplateOrganizations", s_template_organization},
    {"ImportTemplateStaff", s_template_staff},
    {"ExportOrganizations", s_export_organization},
    {"ExportStaff", s_export_staff},
    {"ExportMunicipalities", s_export_municipality},
    {"ExportAssociations", s_export_association},
    {"ExportMemberships", s_export_membership},
    {"ExportCouncils", s_export_council},
    {"ExportCouncilMeetings", s_export_meeting},
    {"ExportProgrammes", s_export_programme},
    {"ExportQualificationRecords", s_export_qualification},
    {"ExportPractices", s_export_practice},
    {"ResolveStaff", s_resolve_staff},
};

static const service_methods s_service_methods = {&metodnet__registry__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *registry_methods(void)
{
    return &s_service_methods;
}

registry *registry_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    reg->store = entity_store_new(link);
    reg->audit = audit_new(link, "registry");
    reg->claim_guard = registry_claim_guard_new(link, reg->audit);
    if (reg->store == NULL || reg->audit == NULL || reg->claim_guard == NULL) {
        registry_claim_guard_destroy(&reg->claim_guard);
        entity_store_destroy(&reg->store);
        audit_destroy(&reg->audit);
        free(reg);
        return NULL;
    }
    reg->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, "registry", cfg->concurrency,
                                     cfg->heartbeat, registry_methods(), reg);
    if (reg->worker == NULL) {
        registry_claim_guard_destroy(&reg->claim_guard);
        entity_store_destroy(&reg->store);
        audit_destroy(&reg->audit);
        free(reg);
        return NULL;
    }
    return reg;
}

/* Frees what the registry owns once its worker has stopped. */
static void s_release(void *service)
{
    registry *reg = service;
    registry_claim_guard_destroy(&reg->claim_guard);
    entity_store_destroy(&reg->store);
    audit_destroy(&reg->audit);
    free(reg);
}

void registry_shutdown(registry *reg, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(reg->worker, 3000, s_release, reg, done, ud);
}
