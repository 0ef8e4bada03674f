/* entity_kind — the service kit's entity engine: one descriptor per kind of record, one flow for all.
 *
 * A kind says what differs (its protobuf type, id letter and key prefix, its layout in Redis, who may
 * read and write it, how a list filters and which index it reads, its Russian wording); the engine
 * does the rest for every service the same way:
 *
 *   get     load → scope (a record the caller may not read is NOT_FOUND, as a missing one) → redact →
 *           audit the read of personal data (without waiting) → reply
 *   create  take the entity from the request field → server-owned fields reset → region from the
 *           kind's region fields → validate → read the records it refers to (each must exist and, where
 *           the kind says so, be readable) → scope of the new state (WRITE) → an id from the region's
 *           sequence → one atomic entity_store write (entity + indexes + claims + domain event)
 *   update  load → scope READ then WRITE → If-Match → update_mask applied field by field (immutable
 *           and, for a person's own record, not self-editable fields refused) → as create
 *   delete  load → scope → If-Match → the write with the kind's delete guards
 *   list    region, filters (tokens), the narrowest index the filters allow, the caller's scope as a
 *           token, one page; each item checked again (scope, the kind's own match), redacted, audited
 *   transition  load → scope → the kind's transition hook → the write (membership leave, review)
 *
 * One audit policy (docs/security.md): a change is audited once, after it is stored (a refused change
 * is not a change); a read or list of personal data is audited as it is answered; the audit is never
 * waited for (audit_record logs a failure to append).
 *
 * Keys (P = the kind's prefix, R = region): P:{r:R}:<name>:<id> the record, P:{r:R}:ix:<index> the
 * indexes, P:{r:R}:seq:<name> the id sequence, P:{r:R}:events the domain-event stream. A global kind
 * (the region itself) lives under P:{g}: and its id is given by the client. Ids carry their region:
 * "07-s12" (region "07", kind letter 's').
 */
#ifndef METODNET_ENTITY_KIND_H
#define METODNET_ENTITY_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "audit.h"
#include "entity_layout.h"
#include "entity_store.h"
#include "envelope.pb-c.h"
#include "scope.h"
#include "service_worker.h"
#include "validate.h"

#define ENTITY_KEY_MAX           200
#define ENTITY_TERRITORY_MAX     8
#define ENTITY_MAX_REFERENCES    128
#define ENTITY_LIST_MAX_TOKENS   12
#define ENTITY_LIST_MAX_LIMIT    500
#define ENTITY_LIST_DEFAULT_SIZE 50

typedef struct entity_kind entity_kind;

/* Territory of an entity, for scope_allows(); pointers borrow from the entity. */
typedef struct {
    scope_object object;
    const char *municipalities[ENTITY_TERRITORY_MAX + 1];
    const char *organizations[ENTITY_TERRITORY_MAX + 1];
} entity_territory;

/* A record another entity refers to, read before a write: it must exist and, with visible, be
 * readable by the caller (a reference the stored state has already is kept even when it is not);
 * apply_reference then copies what is derived from it. */
typedef struct {
    const entity_kind *kind;
    char id[72];
    char field[64]; /* JSON path for the violation */
    bool visible;
} entity_reference;

/* What a transition (membership leave, practice review) decided. */
typedef enum {
    ENTITY_TRANSITION_OK = 0,
    ENTITY_TRANSITION_INVALID,  /* violations were added */
    ENTITY_TRANSITION_CONFLICT, /* not allowed in the current state: 409 with the message */
    ENTITY_TRANSITION_DENIED,   /* this caller may not do it: 403 */
} entity_transition_result;

/* A list filter: request field → attribute token, its value checked by a fixed rule (or valid()).
 * ENTITY_FILTER_DATE checks the value and adds no token (the kind's list_match applies it). */
typedef enum {
    ENTITY_FILTER_ENUM,
    ENTITY_FILTER_BOOL,
    ENTITY_FILTER_SUBJECT,
    ENTITY_FILTER_ID,
    ENTITY_FILTER_TEXT, /* folded before it becomes a token */
    ENTITY_FILTER_DATE,
    ENTITY_FILTER_CUSTOM, /* valid() decides */
} entity_filter_check;

typedef struct {
    const char *field;                    /* proto name in the List request */
    const char *token;                    /* attribute name; NULL = checked only */
    const ProtobufCEnumDescriptor *words; /* ENTITY_FILTER_ENUM */
    entity_filter_check check;
    bool (*valid)(const char *value); /* ENTITY_FILTER_CUSTOM */
} entity_filter;

/* A narrower index a list may read: the first of the kind's list indexes whose field the request
 * gives is read (P:{r:R}:ix:<index>:<value>); every other one given adds its token (NULL = none). */
typedef struct {
    const char *field;
    const char *index;
    const char *token;
} entity_list_index;

/* A list naming this parent (…/associations/{id}/members, /staff/{id}/memberships) answers for a
 * parent the caller may not read exactly as for one that does not exist. */
typedef struct {
    const char *field;
    const entity_kind *kind;
} entity_list_parent;

struct entity_kind {
    const char *prefix;     /* the service's key prefix: "reg" */
    const char *name;       /* key segment and event prefix: "staff" */
    const char *audit_name; /* object kind in the audit trail; NULL = name */
    const char *index_name; /* segment of the main index; NULL = name */
    char id_letter;         /* id marker ("07-s12"); 0 = the first letter of name */
    bool global;            /* keyed under {g} by its own id, which is a region code ("07") */
    const char *json_field; /* request field holding the entity: "staff" */
    const ProtobufCMessageDescriptor *descriptor;
    const char *not_found_ru;
    const char *exists_ru;
    const char *not_empty_ru;
    const char *const *immutable;     /* proto names an update may not touch; NULL-terminated */
    const char *const *self_editable; /* what a person may change in their own record; NULL-terminated */
    /* Where a new record's region comes from: the first field given (an id carries its region; a
     * repeated field gives its first item); "region_id" must equal the region. NULL-terminated. */
    const char *const *region_fields;
    /* Fields a nested path names (association_id): copied from the request on create, and a record of
     * another parent is not found there. NULL-terminated, may be NULL. */
    const char *const *path_parents;
    const entity_filter *filters;
    size_t n_filters;
    const entity_list_index *list_indexes;
    size_t n_list_indexes;
    const entity_list_parent *list_parents;
    size_t n_list_parents;
    /* A person-scope caller's lists carry this token with its own id ("id" for staff, "staff" for
     * records of a person); NULL: such lists are not narrowed by token (items still checked). */
    const char *self_token;
    /* An organization-scope caller's lists are narrowed by its municipality ("mun"), not "org". */
    bool org_scope_by_municipality;
    /* Lists are not narrowed by the caller's scope tokens (region-wide readable kinds); every item is
     * still checked with allows()/scope_allows(). */
    bool list_unnarrowed;
    /* q searches the words of the title (index ix:<name>:word) instead of the sort-key prefix: the
     * index prefix of a query (the kind's own word rule, as its layout indexes words); "" = no word. */
    void (*word_key)(const char *q, char *out, size_t size);
    /* Personal data: reads, lists and exports are audited. */
    bool personal;
    /* A create refused because this claim field is taken answers the record holding it (idempotent
     * create: one qualification record per route item); NULL = refused with exists_ru. */
    const char *idempotent_claim;

    void (*validate)(const ProtobufCMessage *entity, bool creating, validation *v);
    void (*territory)(const ProtobufCMessage *entity, entity_territory *out);
    void (*layout)(const ProtobufCMessage *entity, entity_layout *out);
    /* Clears what this caller may not see (personal data); true when it cleared anything (a get then
     * answers with the stored bytes as they are when nothing was); NULL when every field is shown. */
    bool (*redact)(ProtobufCMessage *entity, const Metodnet__Principal *caller);
    /* Access beyond the territory rule; NULL = scope_allows() on territory. */
    bool (*allows)(const Metodnet__Principal *caller, const ProtobufCMessage *entity, scope_access access);
    /* Records to read before a write; returns how many were filled (≤ max). */
    size_t (*references)(const ProtobufCMessage *entity, entity_reference *out, size_t max);
    /* Before the references are read: resets what apply_reference derives (a staff member's
     * municipalities come from its organizations). */
    void (*prepare_references)(ProtobufCMessage *entity);
    /* Called for each reference read (loaded is of the reference's kind); may add violations. */
    void (*apply_reference)(ProtobufCMessage *entity, size_t index, const ProtobufCMessage *loaded, validation *v);
    /* Post-filter of a list: request is the List request, after_member the page start (or NULL). */
    bool (*list_match)(const ProtobufCMessage *entity, const ProtobufCMessage *request, const char *after_member);
    /* A state change requested by request applied to next (a copy of the stored state). */
    entity_transition_result (*transition)(const ProtobufCMessage *request, ProtobufCMessage *next,
                                           const Metodnet__Principal *caller, const char *now, validation *v,
                                           const char **conflict_ru);
    /* Resets server-owned fields of a new entity (status, defaults of fields the request did not
     * give: request is the Create request with its update_mask) before validation. */
    void (*on_create)(ProtobufCMessage *entity, const ProtobufCMessage *request);
    /* NULL when the stored state may be changed by an update, else why not (409). */
    const char *(*update_conflict)(const ProtobufCMessage *current);
    /* A record readable only through another: when through_needed(caller, entity), the caller must also
     * be able to read the record of through_kind named by through_field (a membership of an association
     * enclosing the caller's scope shows only people the caller may read). In lists, such a record is
     * counted in the response's "others" field instead of shown. */
    bool (*through_needed)(const Metodnet__Principal *caller, const ProtobufCMessage *entity);
    const char *through_field;
    const entity_kind *through_kind;
    /* The DomainEvent type of a write from current (NULL: create) to next (NULL: delete); NULL = the
     * default "<name>.created|updated|deleted" (an event published, a plan approved). */
    const char *(*event_type)(const ProtobufCMessage *current, const ProtobufCMessage *next);
    /* An update once the patch is applied to next (a copy of current), before validation: what the
     * change itself derives (a revision of an approved plan); may add violations. */
    void (*on_update)(const ProtobufCMessage *current, ProtobufCMessage *next, const Metodnet__Principal *caller,
                      const char *now, validation *v);
    /* A create, update or transition stored (and audited): the hook answers the call itself (a follow-up
     * before the answer: an event given more seats promotes its waitlist). current is NULL for a create;
     * both are borrowed for the call. ud is the engine's. NULL = the engine answers with next. */
    void (*stored)(void *ud, service_call *call, const ProtobufCMessage *current, const ProtobufCMessage *next);
    /* A record as an older version stored it brought to today's form (a legacy value, the default of a
     * field added later, what is derived); true when it changed anything. Run by migrations
     * (entity_upgrade.h), NULL when the kind has nothing to upgrade. */
    bool (*upgrade)(ProtobufCMessage *entity);
};

/* A service's claims policy: a write that claims a new value of the guarded claim field first asks
 * budget(); a write refused because a record outside the caller's scope holds the value is reported
 * to refused(). The answer for a taken value is taken_ru whoever holds it. */
typedef struct {
    const char *field;    /* the guarded claim field: "externalId" */
    const char *taken_ru; /* the one message for a taken value */
    const char *limit_ru; /* 429 past the budget */
    /* cb(status 0 = answered, left = refusals the caller may still meet, retry_after); returns 0, or -1
     * with cb not called. */
    int (*budget)(void *ud, service_call *call, void (*cb)(int status, int left, int32_t retry_after, void *cb_ud),
                  void *cb_ud);
    void (*refused)(void *ud, service_call *call, const char *audit_kind, const char *holder_id, const char *region);
    void *ud;
} entity_claim_policy;

/* Where an export's rows go (a CSV sheet): the engine walks every page of the list and hands each
 * visible, redacted, audited entity to add(); past max_rows the export fails. */
typedef struct {
    void *(*open)(service_call *call, entity_store *store, const entity_kind *kind);
    bool (*add)(void *sink, ProtobufCMessage *entity); /* takes entity (also when false: max_rows passed) */
    void (*finish)(void *sink);                        /* answers the call, frees the sink */
    void (*fail)(void *sink, Metodnet__StatusCode code, const char *message_ru); /* same */
    size_t max_rows;
} entity_export_sink;

/* The engine of one service: its store, its audit trail, its claims policy (may be NULL). All
 * borrowed; they must outlive every call in flight. */
typedef struct {
    entity_store *store;
    audit *audit;
    const entity_claim_policy *claims;
    void *ud; /* the service, for the kinds' stored hooks (may be NULL) */
} entity_engine;

/* ---- the generic handlers ---- */

void entity_create(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind);
/* The record named by the request's id_field ("id", "membership_id"). */
void entity_get(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                const entity_kind *kind, const char *id_field);
void entity_update(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind, const char *id_field);
void entity_delete(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                   const entity_kind *kind, const char *id_field);
void entity_transition(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                       const entity_kind *kind, const char *id_field);
/* One page into the rpc's List response (items, next_cursor, and "others" when it has the field), or
 * with export every page into the sink. */
void entity_list(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                 const entity_kind *kind, const entity_export_sink *export);

/* ---- building blocks for the services' own flows ---- */

/* One atomic write of kind's record from current (NULL: create) to next (NULL: delete) — entity,
 * index changes, references that must exist, delete guards, claims and the domain event — for flows
 * that are not one of the generic handlers (an import). versions and timestamps are the caller's.
 * cb as entity_store_write's (ENTITY_CLAIMED's detail indexes the new layout's claims). Returns 0, or
 * -1 with cb not called (an id that is not of this kind, a layout past its limits, Redis refused). call may be
 * NULL for a service's own change (no caller: the domain event has no actor). */
int entity_kind_save(entity_store *store, const entity_kind *kind, service_call *call, const ProtobufCMessage *current,
                     const ProtobufCMessage *next, entity_write_cb cb, void *ud);

/* ---- keys and ids ---- */

/* Region part of an id ("07-s12" → "07") into out; false for an id that is not ours. */
bool entity_region_of(const char *id, char *out, size_t size);
/* Key of the record with that id; false for an id that is not of this kind. */
bool entity_kind_key(const entity_kind *kind, const char *id, char *out, size_t size);
void entity_kind_sequence_key(const entity_kind *kind, const char *region, char *out, size_t size);
void entity_kind_stream_key(const entity_kind *kind, const char *region, char *out, size_t size);
void entity_kind_make_id(const entity_kind *kind, const char *region, long long sequence, char *out, size_t size);
/* Prefix of the record keys in region ("reg:{r:07}:staff:"), for lists. */
void entity_kind_key_prefix(const entity_kind *kind, const char *region, char *out, size_t size);
/* Name-ordered index of every record of kind in region. */
void entity_kind_main_index(const entity_kind *kind, const char *region, char *out, size_t size);
/* The hash of kind's values of a claim field in region ("reg:{r:07}:xid:staff" for "externalId",
 * "reg:{r:07}:claim:<name>:<field>" otherwise). */
void entity_kind_claims_key(const entity_kind *kind, const char *region, const char *field, char *out, size_t size);
/* The audit trail's name of kind's records. */
const char *entity_kind_audit_name(const entity_kind *kind);

/* Whether caller may read/write entity: kind->allows, or scope_allows() on its territory. */
bool entity_kind_allows(const entity_kind *kind, const Metodnet__Principal *caller, const ProtobufCMessage *entity,
                        scope_access access);

/* The DomainEvent of a change packed into a malloc'd buffer (*len its size): its type ("staff.created"),
 * the entity's id and version, the entity's packed bytes (NULL = none), who and which request. */
uint8_t *entity_event_pack(const char *type, const char *entity_id, int64_t version, const uint8_t *data,
                           size_t data_len, const Metodnet__Principal *actor, const char *request_id, size_t *len);
/* The DomainEvent "<name>.<what>" of a write of entity, packed into a malloc'd buffer (*len its size). */
uint8_t *entity_kind_event(const entity_kind *kind, const char *what, const ProtobufCMessage *entity,
                           const uint8_t *data, size_t data_len, service_call *call, size_t *len);

/* The one audit policy (docs/security.md): a change is audited once, after it is stored; a read of
 * personal data as it is answered; never waited for (a failure to append is logged by audit_record).
 * No-op without an audit trail. */
void entity_kind_audit(const entity_engine *engine, service_call *call, const entity_kind *kind, const char *action,
                       const char *id, const char *region);

/* The JSON name of a field of desc (its proto name when there is no such field), into buf. */
const char *entity_json_name(const ProtobufCMessageDescriptor *desc, const char *proto_name, char *buf, size_t size);

/* Whether a Create/Update request's update_mask names the field (the client sent it). */
bool entity_request_names(const ProtobufCMessage *request, const char *field);

/* The Russian answer for a stale If-Match, with the stored version. */
void entity_version_mismatch_ru(char *out, size_t size, long long stored);

#endif
