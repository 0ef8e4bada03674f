/* diagnostics — handlers of the diagnostics service (see diagnostics.h for methods and keys).
 *
 * Each request is a small state machine on the loop: load → check scope → (ask the registry) →
 * decide (diagnostics_model) → one entity_store write (entity + indexes + domain event, one Lua
 * script). Scope: an object the caller may not read answers NOT_FOUND; readable but not writable
 * answers PERMISSION_DENIED. Frameworks, instruments and campaigns are region objects: every caller
 * of the region reads them (a person taking a diagnostic sees instruments without their scoring),
 * only the region's administrators change them. Attempts, results and routes are person objects:
 * scope_allows() on the person's organizations and municipalities copied onto them.
 */
#include "diagnostics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "dictionary.h"
#include "clock.h"
#include "cursor.h"
#include "diagnostics_import.h"
#include "diagnostics_model.h"
#include "diagnostics_service.pb-c.h"
#include "entity_store.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_import.pb-c.h"
#include "scope.h"
#include "service_client.h"

#define DIAG_KEY_MAX      192
#define DIAG_MAX_INDEXES  8
#define INSTRUMENT_CACHE  16
#define CAMPAIGN_CACHE    16
#define CAMPAIGN_CACHE_MS 1000 /* how long a process trusts an open campaign it read (window, status) */
#define ASSIGN_WINDOW     32

typedef struct {
    char key[DIAG_KEY_MAX];
    int64_t version;
    Metodnet__Instrument *instrument;
    uint64_t used;
} cached_instrument;

/* Open campaigns as read for attempts: a submit checks the window and status of its campaign, which
 * change rarely; a process trusts what it read for CAMPAIGN_CACHE_MS and forgets a campaign it changes
 * itself at once. So a close or a shortened window made through another process takes effect there
 * within CAMPAIGN_CACHE_MS; the end date itself is compared with today on every submit. */
typedef struct {
    char key[DIAG_KEY_MAX];
    Metodnet__Campaign *campaign;
    int64_t loaded_ms;
    uint64_t used;
} cached_campaign;

struct diagnostics {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    service_client *registry;
    cached_instrument cache[INSTRUMENT_CACHE];
    cached_campaign campaigns[CAMPAIGN_CACHE];
    uint64_t tick;
};

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
static const char *const s_denied_ru = "Недостаточно прав для этого действия с этой записью";
static const char *const s_corrupt_ru = "Запись повреждена; сообщите администратору";

#define CODE(x) METODNET__STATUS_CODE__STATUS_CODE_##x

/* ---------- keys ---------- */

static bool s_region_of(const char *id, char *out)
{
    if (id == NULL || strlen(id) < 2 || id[0] < '0' || id[0] > '9' || id[1] < '0' || id[1] > '9' ||
        (id[2] != '\0' && id[2] != '-') || !id_valid(id))
        return false;
    memcpy(out, id, 2);
    out[2] = '\0';
    return true;
}

/* "diag:{r:07}:<kind>:<id>"; false for an id of another region shape or not starting with marker
 * ("07-i", "07-c", …; NULL = any valid id). */
static bool s_key(const char *kind, const char *id, const char *marker, char *out, size_t size)
{
    char region[4];
    if (!s_region_of(id, region) || strlen(id) > 64)
        return false;
    if (marker && strncmp(id + 2, marker, strlen(marker)) != 0)
        return false;
    snprintf(out, size, "diag:{r:%s}:%s:%s", region, kind, id);
    return true;
}

static void s_stream(const char *region, char *out, size_t size)
{
    snprintf(out, size, "diag:{r:%s}:events", region);
}

/* Index member "<folded text>\x1f<id>". */
static void s_member(char *out, size_t size, const char *text, const char *id)
{
    char folded[96];
    text_fold(text ? text : "", folded, sizeof folded);
    for (char *p = folded; *p; p++)
        if (*p == '\x1f')
            *p = ' ';
    snprintf(out, size, "%s\x1f%s", folded, id);
}

/* Newest first in an ascending index: the complement of the time. */
static void s_time_member(char *out, size_t size, int64_t unix_ms, const char *id)
{
    snprintf(out, size, "%013lld\x1f%s", (long long)(9999999999999LL - unix_ms), id);
}

typedef struct {
    char key[DIAG_KEY_MAX];
    char member[160];
} diag_index;

typedef struct {
    diag_index indexes[DIAG_MAX_INDEXES];
    size_t n;
    char attributes[1024];
} diag_layout;

static void s_index(diag_layout *l, const char *member, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void s_index(diag_layout *l, const char *member, const char *format, ...)
{
    if (l->n >= DIAG_MAX_INDEXES)
        return;
    va_list ap;
    va_start(ap, format);
    vsnprintf(l->indexes[l->n].key, sizeof l->indexes[0].key, format, ap);
    va_end(ap);
    snprintf(l->indexes[l->n].member, sizeof l->indexes[0].member, "%s", member);
    l->n++;
}

static void s_token(diag_layout *l, const char *name, const char *value)
{
    size_t used = strlen(l->attributes);
    if (used == 0)
        used = (size_t)snprintf(l->attributes, sizeof l->attributes, "|");
    if (used < sizeof l->attributes)
        snprintf(l->attributes + used, sizeof l->attributes - used, "%s:%s|", name, value ? value : "");
}

static size_t s_index_difference(const diag_layout *from, const diag_layout *than, entity_index_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; from && i < from->n; i++) {
        bool shared = false;
        for (size_t j = 0; than && j < than->n && !shared; j++)
            shared = strcmp(from->indexes[i].key, than->indexes[j].key) == 0 &&
                     strcmp(from->indexes[i].member, than->indexes[j].member) == 0;
        if (!shared) {
            out[n].key = from->indexes[i].key;
            out[n].member = from->indexes[i].member;
            n++;
        }
    }
    return n;
}

/* ---------- layouts of the stored kinds ---------- */

static const char *s_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *w = pbjson_enum_word(desc, value);
    return w ? w : "none";
}

static void s_instrument_layout(const Metodnet__Instrument *in, diag_layout *l)
{
    memset(l, 0, sizeof *l);
    char member[160];
    s_member(member, sizeof member, in->title, in->id);
    s_index(l, member, "diag:{r:%s}:ix:instrument", in->region_id);
    s_token(l, "cat", s_word(&metodnet__framework_category__descriptor, in->category));
}

static void s_campaign_layout(const Metodnet__Campaign *c, diag_layout *l)
{
    memset(l, 0, sizeof *l);
    char member[160];
    s_member(member, sizeof member, c->title, c->id);
    s_index(l, member, "diag:{r:%s}:ix:campaign", c->region_id);
    s_index(l, c->id, "diag:{r:%s}:ix:campaign:instrument:%s", c->region_id, c->instrument_id);
    s_token(l, "st", s_word(&metodnet__campaign_status__descriptor, c->status));
}

static void s_person_tokens(diag_layout *l, const char *staff_id, char *const *orgs, size_t n_orgs, char *const *muns,
                            size_t n_muns)
{
    s_token(l, "id", staff_id);
    for (size_t i = 0; i < n_orgs; i++)
        s_token(l, "org", orgs[i]);
    for (size_t i = 0; i < n_muns; i++)
        s_token(l, "mun", muns[i]);
}

/* Milliseconds of a stored timestamp (0 when unreadable: such results sort first). */
static int64_t s_parse_time_ms(const char *rfc3339)
{
    int64_t ms = 0;
    return clock_parse_rfc3339(rfc3339, &ms) ? ms : 0;
}

static void s_attempt_layout(const Metodnet__Attempt *a, diag_layout *l)
{
    memset(l, 0, sizeof *l);
    char member[160];
    s_member(member, sizeof member, a->n_organization_ids ? a->organization_ids[0] : "", a->id);
    s_index(l, member, "diag:{r:%s}:ix:attempt:campaign:%s", a->region_id, a->campaign_id);
    s_person_tokens(l, a->staff_id, a->organization_ids, a->n_organization_ids, a->municipality_ids,
                    a->n_municipality_ids);
    s_token(l, "st", s_word(&metodnet__attempt_status__descriptor, a->status));
    s_token(l, "camp", a->campaign_id);
    if (a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && a->result) {
        s_time_member(member, sizeof member, s_parse_time_ms(a->result->completed_at), a->id);
        s_index(l, member, "diag:{r:%s}:ix:result", a->region_id);
        s_index(l, member, "diag:{r:%s}:ix:result:staff:%s", a->region_id, a->staff_id);
        s_index(l, member, "diag:{r:%s}:ix:result:campaign:%s", a->region_id, a->campaign_id);
        for (size_t i = 0; i < a->result->n_deficits; i++)
            s_token(l, "def", a->result->deficits[i]);
    }
}

static void s_route_layout(const Metodnet__Route *r, diag_layout *l)
{
    memset(l, 0, sizeof *l);
    s_index(l, r->id, "diag:{r:%s}:ix:route", r->region_id);
    s_person_tokens(l, r->staff_id, r->organization_ids, r->n_organization_ids, r->municipality_ids,
                    r->n_municipality_ids);
    s_token(l, "st", s_word(&metodnet__route_status__descriptor, r->status));
}

/* ---------- scope ---------- */

static bool s_region_readable(const Metodnet__Principal *caller, const char *region)
{
    if (scope_is_global(caller))
        return true;
    return caller && caller->role != METODNET__ROLE__ROLE_UNSPECIFIED && caller->region_id &&
           strcmp(caller->region_id, region) == 0;
}

static bool s_region_writable(const Metodnet__Principal *caller, const char *region)
{
    scope_object object = {.region_id = region};
    return scope_allows(caller, &object, SCOPE_WRITE);
}

static bool s_person_allows(const Metodnet__Principal *caller, const char *region, const char *staff_id,
                            char *const *orgs, size_t n_orgs, char *const *muns, size_t n_muns, scope_access access)
{
    scope_object object = {
        .region_id = region,
        .municipality_ids = (const char *const *)muns,
        .n_municipalities = n_muns,
        .organization_ids = (const char *const *)orgs,
        .n_organizations = n_orgs,
        .person_id = staff_id,
    };
    return scope_allows(caller, &object, access);
}

static bool s_attempt_allows(const Metodnet__Principal *caller, const Metodnet__Attempt *a, scope_access access)
{
    return s_person_allows(caller, a->region_id, a->staff_id, a->organization_ids, a->n_organization_ids,
                           a->municipality_ids, a->n_municipality_ids, access);
}

static bool s_route_allows(const Metodnet__Principal *caller, const Metodnet__Route *r, scope_access access)
{
    return s_person_allows(caller, r->region_id, r->staff_id, r->organization_ids, r->n_organization_ids,
                           r->municipality_ids, r->n_municipality_ids, access);
}

/* Route building (generate, edit, approve) is the methodologists' and the region's work. */
static bool s_may_build_routes(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

/* People taking a diagnostic and school systems do not see how items are scored. */
static bool s_sees_scoring(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

static void s_audit(diagnostics *d, service_call *call, const char *action, const char *kind, const char *id,
                    const char *region)
{
    audit_event e;
    audit_event_from_call(&e, call);
    e.action = action;
    e.object_kind = kind;
    e.object_id = id;
    e.region_id = region;
    audit_record(d->audit, &e, NULL, NULL);
}

/* ---------- operations ---------- */

typedef struct op op;
typedef void (*op_step)(op *o);

typedef struct {
    char id[72];
    char *orgs[8];
    size_t n_orgs;
    char *muns[8];
    size_t n_muns;
} assignee;

struct op {
    diagnostics *d;
    service_call *call;
    /* the audit entry of the change being written: recorded once it is stored (a refused change is
     * not a change), "" when none */
    char audit_action[16], audit_kind[32], audit_id[72], audit_region[8];
    const ProtobufCMessage *request;
    const Metodnet__Principal *caller;
    char region[4];
    char key[DIAG_KEY_MAX];
    ProtobufCMessage *current; /* stored state of the main entity */
    ProtobufCMessage *next;    /* state to store */
    Metodnet__Campaign *campaign;
    Metodnet__Instrument *instrument;
    Metodnet__CompetenceFramework *framework;
    Metodnet__Attempt *latest; /* latest completed attempt of a person */
    Metodnet__StaffMember *staff;
    validation v;
    /* a load in flight */
    const ProtobufCMessageDescriptor *load_desc;
    ProtobufCMessage **load_slot;
    const char *not_found_ru;
    op_step then;
    /* a write in flight */
    const char *exists_ru;
    int retries;
    /* registry fan-out */
    int pending;
    bool failed;
    Metodnet__StatusCode fail_code;
    char fail_message[256];
    Metodnet__Programme **programmes;
    size_t n_programmes;
    Metodnet__Organization **sites;
    size_t n_sites;
    assignee *assignees;
    size_t n_assignees;
    size_t next_assignee;
    size_t done_assignees;
    size_t query_index;
    char cursor[CURSOR_MAX_MEMBER * 2 + 8];
    int pages;
    /* progress */
    Metodnet__CampaignProgress *progress;
    op_step after_instrument;
    int64_t wanted_version;
    /* lists */
    ProtobufCMessage *(*list_keep)(op *o, ProtobufCMessage *entity); /* takes entity; NULL = dropped */
    const ProtobufCMessageDescriptor *list_desc;
};

static op *s_op_new(diagnostics *d, service_call *call, const ProtobufCMessage *request)
{
    op *o = calloc(1, sizeof *o);
    if (o == NULL)
        abort();
    o->d = d;
    o->call = call;
    o->request = request;
    o->caller = service_call_caller(call);
    validation_init(&o->v);
    return o;
}

static void s_free_message(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

static void s_op_free(op *o)
{
    s_free_message(o->current);
    s_free_message(o->next);
    s_free_message(o->campaign);
    s_free_message(o->instrument);
    s_free_message(o->framework);
    s_free_message(o->latest);
    s_free_message(o->staff);
    s_free_message(o->progress);
    for (size_t i = 0; i < o->n_programmes; i++)
        s_free_message(o->programmes[i]);
    free(o->programmes);
    for (size_t i = 0; i < o->n_sites; i++)
        s_free_message(o->sites[i]);
    free(o->sites);
    for (size_t i = 0; i < o->n_assignees; i++) {
        for (size_t j = 0; j < o->assignees[i].n_orgs; j++)
            free(o->assignees[i].orgs[j]);
        for (size_t j = 0; j < o->assignees[i].n_muns; j++)
            free(o->assignees[i].muns[j]);
    }
    free(o->assignees);
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

static void s_now(char *out, size_t size)
{
    clock_rfc3339(clock_unix_ms(), out, size);
}

static void s_set(char **field, const char *value)
{
    diag_set_string(field, value);
}

/* Replaces a repeated string field with copies of src (pbfield_copy works within one message type
 * only; this copies between attempt, result and route). */
static void s_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src)
{
    for (size_t i = 0; i < *n_dst; i++)
        if ((*dst)[i] != protobuf_c_empty_string)
            free((*dst)[i]);
    free(*dst);
    *dst = NULL;
    *n_dst = 0;
    if (n_src == 0)
        return;
    *dst = calloc(n_src, sizeof **dst);
    if (*dst == NULL)
        abort();
    for (size_t i = 0; i < n_src; i++)
        (*dst)[i] = diag_strdup(src[i]);
    *n_dst = n_src;
}

/* ---------- loading ---------- */

static void s_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                     void *ud)
{
    (void)version;
    op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        if (o->not_found_ru) {
            s_fail(o, CODE(NOT_FOUND), o->not_found_ru);
            return;
        }
        *o->load_slot = NULL;
        o->then(o);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение из Redis не удалось: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(o->load_desc, NULL, len, data);
    if (m == NULL) {
        log_error(service_call_request_id(o->call), "запись %s повреждена: не разбирается protobuf", o->key);
        s_fail(o, CODE(INTERNAL), s_corrupt_ru);
        return;
    }
    s_free_message(*o->load_slot);
    *o->load_slot = m;
    o->then(o);
}

/* Loads key into *slot, then calls then. A missing entity answers NOT_FOUND with not_found_ru, or
 * (not_found_ru NULL) leaves *slot NULL and continues. */
static void s_load(op *o, const char *key, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **slot,
                   const char *not_found_ru, op_step then)
{
    o->load_desc = desc;
    o->load_slot = slot;
    o->not_found_ru = not_found_ru;
    o->then = then;
    snprintf(o->key, sizeof o->key, "%s", key);
    if (entity_store_get(o->d->store, key, s_loaded, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

/* ---------- writing ---------- */

/* The change o is about to write is audited when it is stored (docs/security.md: one audit policy). */
static void s_audit_when_stored(op *o, const char *action, const char *kind, const char *id, const char *region)
{
    snprintf(o->audit_action, sizeof o->audit_action, "%s", action);
    snprintf(o->audit_kind, sizeof o->audit_kind, "%s", kind);
    snprintf(o->audit_id, sizeof o->audit_id, "%s", id ? id : "");
    snprintf(o->audit_region, sizeof o->audit_region, "%s", region ? region : "");
}

static void s_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        if (o->audit_action[0]) {
            s_audit(o->d, o->call, o->audit_action, o->audit_kind, o->audit_id, o->audit_region);
            o->audit_action[0] = '\0';
        }
        o->then(o);
        return;
    case ENTITY_EXISTS:
        s_fail(o, CODE(CONFLICT), o->exists_ru ? o->exists_ru : "Такая запись уже есть");
        return;
    case ENTITY_NOT_FOUND:
        s_fail(o, CODE(NOT_FOUND), "Запись не найдена");
        return;
    case ENTITY_VERSION_MISMATCH: {
        char message[200];
        snprintf(message, sizeof message,
                 "Запись уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите изменение",
                 (long long)detail);
        s_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    case ENTITY_MISSING_REFERENCE:
        validation_add(&o->v, "", "Связанная запись не найдена");
        s_fail_validation(o);
        return;
    case ENTITY_NOT_EMPTY:
        s_fail(o, CODE(CONFLICT), "Запись используется");
        return;
    default:
        log_error(service_call_request_id(o->call), "запись в Redis не удалась: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
}

typedef struct {
    const char *key;
    const ProtobufCMessage *entity;
    int64_t expected_version; /* 0 = create */
    int64_t new_version;
    const diag_layout *old_layout; /* NULL on create */
    const diag_layout *new_layout;
    const char *event_type; /* NULL = no event */
    const char *event_entity_id;
    const ProtobufCMessage *event_entity; /* NULL = entity */
    const char *const *must_exist;
    size_t n_must_exist;
} diag_write;

static int s_store(diagnostics *d, service_call *call, const diag_write *dw, entity_write_cb cb, void *ud)
{
    size_t data_len = protobuf_c_message_get_packed_size(dw->entity);
    uint8_t *data = malloc(data_len ? data_len : 1);
    if (data == NULL)
        abort();
    protobuf_c_message_pack(dw->entity, data);
    uint8_t *event_bytes = NULL;
    size_t event_len = 0;
    char stream[64];
    if (dw->event_type) {
        const ProtobufCMessage *payload = dw->event_entity ? dw->event_entity : dw->entity;
        size_t payload_len = protobuf_c_message_get_packed_size(payload);
        uint8_t *payload_bytes = malloc(payload_len ? payload_len : 1);
        if (payload_bytes == NULL)
            abort();
        protobuf_c_message_pack(payload, payload_bytes);
        Metodnet__DomainEvent event = METODNET__DOMAIN_EVENT__INIT;
        event.type = (char *)dw->event_type;
        event.entity_id = (char *)dw->event_entity_id;
        event.version = dw->new_version;
        event.at_unix_ms = clock_unix_ms();
        event.actor = call ? (Metodnet__Principal *)service_call_caller(call) : NULL;
        event.request_id = call ? (char *)service_call_request_id(call) : "";
        event.entity.data = payload_bytes;
        event.entity.len = payload_len;
        event_len = metodnet__domain_event__get_packed_size(&event);
        event_bytes = malloc(event_len ? event_len : 1);
        if (event_bytes == NULL)
            abort();
        metodnet__domain_event__pack(&event, event_bytes);
        free(payload_bytes);
        char region[4] = "00";
        s_region_of(dw->event_entity_id, region);
        s_stream(region, stream, sizeof stream);
    }
    entity_index_entry removes[DIAG_MAX_INDEXES], adds[DIAG_MAX_INDEXES];
    entity_write w = {0};
    w.entity_key = dw->key;
    w.expected_version = dw->expected_version;
    w.new_version = dw->new_version;
    w.data = data;
    w.data_len = data_len;
    w.attributes = dw->new_layout ? dw->new_layout->attributes : "";
    w.n_index_remove = s_index_difference(dw->old_layout, dw->new_layout, removes);
    w.n_index_add = s_index_difference(dw->new_layout, dw->old_layout, adds);
    w.index_remove = removes;
    w.index_add = adds;
    w.must_exist = dw->must_exist;
    w.n_must_exist = dw->n_must_exist;
    w.stream_key = dw->event_type ? stream : NULL;
    w.event = event_bytes;
    w.event_len = event_len;
    int rc = entity_store_write(d->store, &w, cb, ud);
    free(data);
    free(event_bytes);
    return rc;
}

static void s_save(op *o, const diag_write *dw, op_step then)
{
    o->then = then;
    if (s_store(o->d, o->call, dw, s_written, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

static void s_stamp(ProtobufCMessage *m, int64_t version)
{
    char now[40];
    s_now(now, sizeof now);
    pbfield_set_int64(m, "version", version);
    pbfield_set_string(m, "updated_at", now);
    if (version == 1)
        pbfield_set_string(m, "created_at", now);
}

static void s_reply_next(op *o)
{
    s_reply(o, o->next);
}

static bool s_in_mask(char *const *mask, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(mask[i], name) == 0)
            return true;
    return false;
}

/* Applies update_mask from patch to next; fields not in allowed are refused. */
static void s_apply_mask(op *o, ProtobufCMessage *next, const ProtobufCMessage *patch, char *const *mask, size_t n,
                         const char *const *allowed, const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(next->descriptor, mask[i]);
        char json[64], path[96];
        if (f)
            pbjson_json_name(f, json, sizeof json);
        else
            snprintf(json, sizeof json, "%.60s", mask[i]);
        snprintf(path, sizeof path, "%s.%s", prefix, json);
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, mask[i]) == 0;
        if (!ok)
            validation_add(&o->v, path, f ? "Это поле нельзя изменить" : "Неизвестное поле");
        else if (pbfield_copy(next, patch, mask[i]) != 0)
            validation_add(&o->v, path, "Неизвестное поле");
    }
}

/* ---------- frameworks ---------- */

static void s_list_frameworks_step(op *o);

static void s_list_frameworks(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListFrameworksRequest *req = (const Metodnet__ListFrameworksRequest *)request;
    op *o = s_op_new(ud, call, request);
    const char *region = req->region_id && *req->region_id ? req->region_id : o->caller->region_id;
    if (!s_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "regionId", "Укажите регион (regionId): две цифры, например «07»");
        s_fail_validation(o);
        return;
    }
    if (!s_region_readable(o->caller, o->region)) {
        Metodnet__ListFrameworksResponse none = METODNET__LIST_FRAMEWORKS_RESPONSE__INIT;
        s_reply(o, &none.base);
        return;
    }
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s-teacher", o->region, o->region);
    s_load(o, key, &metodnet__competence_framework__descriptor, &o->current, NULL, s_list_frameworks_step);
}

static void s_list_frameworks_done(op *o)
{
    Metodnet__CompetenceFramework *teacher = (Metodnet__CompetenceFramework *)o->current;
    Metodnet__CompetenceFramework *manager = (Metodnet__CompetenceFramework *)o->next;
    if (teacher == NULL)
        o->current =
            &(teacher = diag_default_framework(o->region, METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER))
                 ->base;
    if (manager == NULL)
        o->next =
            &(manager = diag_default_framework(o->region, METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_MANAGER))
                 ->base;
    Metodnet__CompetenceFramework *items[2] = {teacher, manager};
    Metodnet__ListFrameworksResponse response = METODNET__LIST_FRAMEWORKS_RESPONSE__INIT;
    response.items = items;
    response.n_items = 2;
    s_reply(o, &response.base);
}

static void s_list_frameworks_step(op *o)
{
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s-manager", o->region, o->region);
    s_load(o, key, &metodnet__competence_framework__descriptor, &o->next, NULL, s_list_frameworks_done);
}

/* The stored framework of a category, or the default: into o->framework, then `then`. */
static void s_framework_or_default(op *o)
{
    if (o->framework == NULL) {
        Metodnet__FrameworkCategory category;
        char region[4];
        const char *id = strrchr(o->key, ':') + 1;
        if (diag_framework_parse_id(id, region, sizeof region, &category))
            o->framework = diag_default_framework(region, category);
    }
}

static void s_get_framework_done(op *o)
{
    s_framework_or_default(o);
    s_reply(o, &o->framework->base);
}

static void s_get_framework(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    Metodnet__FrameworkCategory category;
    char key[DIAG_KEY_MAX];
    if (!diag_framework_parse_id(req->id, o->region, sizeof o->region, &category) ||
        !s_region_readable(o->caller, o->region)) {
        s_fail(o, CODE(NOT_FOUND), "Рамка компетенций не найдена");
        return;
    }
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s", o->region, req->id);
    s_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
           s_get_framework_done);
}

static void s_update_framework_loaded(op *o)
{
    const Metodnet__UpdateFrameworkRequest *req = (const Metodnet__UpdateFrameworkRequest *)o->request;
    bool stored = o->framework != NULL;
    s_framework_or_default(o);
    int64_t version = stored ? o->framework->version : 0;
    if (req->expected_version > 0 && req->expected_version != version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Рамку уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите изменение",
                 (long long)version);
        s_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    if (req->framework == NULL || req->n_update_mask == 0) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    o->next = pbfield_clone(&o->framework->base);
    if (o->next == NULL)
        abort();
    static const char *const allowed[] = {"title", "components", NULL};
    s_apply_mask(o, o->next, &req->framework->base, req->update_mask, req->n_update_mask, allowed, "framework");
    if (validation_ok(&o->v))
        diag_framework_validate((Metodnet__CompetenceFramework *)o->next, &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_stamp(o->next, version + 1);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = stored ? version : 0,
                    .new_version = version + 1,
                    .event_type = "framework.updated",
                    .event_entity_id = ((Metodnet__CompetenceFramework *)o->next)->id};
    diag_layout none = {0};
    w.new_layout = &none;
    o->exists_ru = "Рамку уже изменил кто-то другой: перечитайте её и повторите изменение";
    s_audit_when_stored(o, "update", "framework", req->id, o->region);
    s_save(o, &w, s_reply_next);
}

static void s_update_framework(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateFrameworkRequest *req = (const Metodnet__UpdateFrameworkRequest *)request;
    op *o = s_op_new(ud, call, request);
    Metodnet__FrameworkCategory category;
    char key[DIAG_KEY_MAX];
    if (!diag_framework_parse_id(req->id, o->region, sizeof o->region, &category) ||
        !s_region_readable(o->caller, o->region)) {
        s_fail(o, CODE(NOT_FOUND), "Рамка компетенций не найдена");
        return;
    }
    if (!s_region_writable(o->caller, o->region)) {
        s_fail(o, CODE(PERMISSION_DENIED), "Рамку компетенций изменяет администратор региона");
        return;
    }
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s", o->region, req->id);
    s_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
           s_update_framework_loaded);
}

/* ---------- instruments ---------- */

static const char *const s_instrument_not_found_ru = "Диагностический инструмент не найден";

static void s_framework_key(const char *region, Metodnet__FrameworkCategory category, char *out, size_t size)
{
    char id[40];
    if (!diag_framework_id(region, category, id, sizeof id))
        snprintf(id, sizeof id, "%s-none", region);
    snprintf(out, size, "diag:{r:%s}:framework:%s", region, id);
}

static void s_instrument_write(op *o);

static void s_instrument_validated(op *o)
{
    s_framework_or_default(o);
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    diag_instrument_validate(in, o->framework, &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_instrument_write(o);
}

static void s_instrument_id_issued(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    char id[32];
    snprintf(id, sizeof id, "%s-i%lld", o->region, (long long)value);
    s_set(&in->id, id);
    s_key("instrument", id, "-i", o->key, sizeof o->key);
    s_stamp(o->next, 1);
    diag_layout layout;
    s_instrument_layout(in, &layout);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = 0,
                    .new_version = 1,
                    .new_layout = &layout,
                    .event_type = "instrument.created",
                    .event_entity_id = in->id};
    o->exists_ru = "Инструмент с таким идентификатором уже есть";
    s_audit_when_stored(o, "create", "instrument", in->id, o->region);
    s_save(o, &w, s_reply_next);
}

static void s_instrument_write(op *o)
{
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    if (o->current == NULL) {
        char sequence[64];
        snprintf(sequence, sizeof sequence, "diag:{r:%s}:seq:instrument", o->region);
        if (entity_store_next_id(o->d->store, sequence, s_instrument_id_issued, o) != 0)
            s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    Metodnet__Instrument *cur = (Metodnet__Instrument *)o->current;
    s_key("instrument", cur->id, "-i", o->key, sizeof o->key);
    s_stamp(o->next, cur->version + 1);
    diag_layout old_layout, new_layout;
    s_instrument_layout(cur, &old_layout);
    s_instrument_layout(in, &new_layout);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = cur->version,
                    .new_version = cur->version + 1,
                    .old_layout = &old_layout,
                    .new_layout = &new_layout,
                    .event_type = "instrument.updated",
                    .event_entity_id = in->id};
    s_audit_when_stored(o, "update", "instrument", in->id, o->region);
    s_save(o, &w, s_reply_next);
}

static void s_load_framework_then_validate(op *o)
{
    char key[DIAG_KEY_MAX];
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    if (in->category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_UNSPECIFIED) {
        validation_add(&o->v, "instrument.category", "Укажите категорию: teacher или manager");
        s_fail_validation(o);
        return;
    }
    s_framework_key(o->region, in->category, key, sizeof key);
    /* o->key becomes the framework's; the write rebuilds the entity key */
    s_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
           s_instrument_validated);
}

static void s_create_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CreateInstrumentRequest *req = (const Metodnet__CreateInstrumentRequest *)request;
    op *o = s_op_new(ud, call, request);
    if (req->instrument == NULL) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Нет данных инструмента в теле запроса");
        return;
    }
    const char *region = *req->instrument->region_id ? req->instrument->region_id : o->caller->region_id;
    if (!s_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "instrument.regionId", "Укажите регион: две цифры, например «07»");
        s_fail_validation(o);
        return;
    }
    if (!s_region_writable(o->caller, o->region)) {
        s_fail(o, CODE(PERMISSION_DENIED), "Диагностические инструменты ведёт администратор региона");
        return;
    }
    o->next = pbfield_clone(&req->instrument->base);
    if (o->next == NULL)
        abort();
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    s_set(&in->id, "");
    s_set(&in->region_id, o->region);
    s_set(&in->created_at, "");
    s_set(&in->updated_at, "");
    in->version = 0;
    s_load_framework_then_validate(o);
}

static void s_redact_instrument(const Metodnet__Principal *caller, Metodnet__Instrument *in)
{
    if (!s_sees_scoring(caller))
        diag_instrument_redact(in);
}

static void s_get_instrument_loaded(op *o)
{
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->current;
    if (!s_region_readable(o->caller, in->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_instrument_not_found_ru);
        return;
    }
    s_redact_instrument(o->caller, in);
    s_reply(o, o->current);
}

static void s_get_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("instrument", req->id, "-i", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_instrument_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__instrument__descriptor, &o->current, s_instrument_not_found_ru, s_get_instrument_loaded);
}

static const char *const s_instrument_scoring_fields[] = {
    "items", "thresholds", "category", "default_threshold_percent", "default_mastery_percent", NULL};

static void s_update_instrument_checked(entity_result result, const entity_blob *items, size_t n,
                                        const char *next_member, const char *error, void *ud)
{
    (void)items;
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "список кампаний не получен: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    if (n > 0) {
        s_fail(o, CODE(CONFLICT),
               "Инструмент используется в открытой кампании: задания и пороги менять нельзя "
               "до её закрытия");
        return;
    }
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    snprintf(o->region, sizeof o->region, "%s", in->region_id);
    /* the framework check needs the framework key; the entity key is rebuilt for the write */
    s_load_framework_then_validate(o);
}

static void s_update_instrument_loaded(op *o)
{
    const Metodnet__UpdateInstrumentRequest *req = (const Metodnet__UpdateInstrumentRequest *)o->request;
    Metodnet__Instrument *cur = (Metodnet__Instrument *)o->current;
    if (!s_region_readable(o->caller, cur->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_instrument_not_found_ru);
        return;
    }
    if (!s_region_writable(o->caller, cur->region_id)) {
        s_fail(o, CODE(PERMISSION_DENIED), s_denied_ru);
        return;
    }
    if (req->expected_version > 0 && req->expected_version != cur->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Инструмент уже изменил кто-то другой (текущая версия %lld): перечитайте его и повторите изменение",
                 (long long)cur->version);
        s_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    if (req->instrument == NULL || req->n_update_mask == 0) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    static const char *const allowed[] = {"title",
                                          "description",
                                          "items",
                                          "thresholds",
                                          "category",
                                          "default_threshold_percent",
                                          "default_mastery_percent",
                                          NULL};
    s_apply_mask(o, o->next, &req->instrument->base, req->update_mask, req->n_update_mask, allowed, "instrument");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    bool scoring = false;
    for (const char *const *f = s_instrument_scoring_fields; *f && !scoring; f++)
        scoring = s_in_mask(req->update_mask, req->n_update_mask, *f);
    if (!scoring) {
        s_load_framework_then_validate(o);
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:campaign:instrument:%s", cur->region_id, cur->id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:campaign:", cur->region_id);
    const char *tokens[] = {"|st:open|"};
    entity_list_query q = {.index_key = index,
                           .entity_key_prefix = prefix,
                           .required_tokens = tokens,
                           .n_required_tokens = 1,
                           .limit = 1,
                           .max_scan = 100000};
    if (entity_store_list(o->d->store, &q, s_update_instrument_checked, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

static void s_update_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateInstrumentRequest *req = (const Metodnet__UpdateInstrumentRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("instrument", req->id, "-i", key, sizeof key) || !s_region_of(req->id, o->region)) {
        s_fail(o, CODE(NOT_FOUND), s_instrument_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__instrument__descriptor, &o->current, s_instrument_not_found_ru,
           s_update_instrument_loaded);
}

/* ---------- lists ---------- */

#define LIST_MAX_TOKENS 8

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "список из Redis не получен: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    const ProtobufCMessageDescriptor *desc = service_call_method(o->call)->output;
    ProtobufCMessage *response = malloc(desc->sizeof_message);
    if (response == NULL)
        abort();
    protobuf_c_message_init(desc, response);
    const ProtobufCFieldDescriptor *items_field = protobuf_c_message_descriptor_get_field_by_name(desc, "items");
    ProtobufCMessage **list = calloc(n ? n : 1, sizeof *list);
    if (list == NULL)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *entity = protobuf_c_message_unpack(o->list_desc, NULL, items[i].len, items[i].data);
        if (entity == NULL) {
            log_error(service_call_request_id(o->call), "пропущена повреждённая запись в списке");
            continue;
        }
        ProtobufCMessage *item = o->list_keep(o, entity);
        if (item)
            list[kept++] = item;
    }
    *(ProtobufCMessage ***)((char *)response + items_field->offset) = list;
    *(size_t *)((char *)response + items_field->quantifier_offset) = kept;
    char *cursor = next_member ? cursor_encode(next_member) : NULL;
    pbfield_set_string(response, "next_cursor", cursor ? cursor : "");
    free(cursor);
    service_call_reply(o->call, response);
    protobuf_c_message_free_unpacked(response, NULL);
    s_op_free(o);
}

/* Validates limit and cursor, then lists index (entities under key_prefix) with tokens. */
static void s_list_run(op *o, const char *index, const char *key_prefix, const char *const *tokens, size_t n_tokens,
                       const char *q_prefix)
{
    int32_t limit = (int32_t)pbfield_int64(o->request, "limit");
    const ProtobufCFieldDescriptor *lf =
        protobuf_c_message_descriptor_get_field_by_name(o->request->descriptor, "limit");
    if (lf)
        limit = *(const int32_t *)((const char *)o->request + lf->offset);
    if (limit == 0)
        limit = 50;
    if (limit < 1 || limit > 500)
        validation_add(&o->v, "limit", "Размер страницы — от 1 до 500");
    char after[CURSOR_MAX_MEMBER + 1];
    const char *cursor = pbfield_string(o->request, "cursor");
    bool has_cursor = cursor && *cursor;
    if (has_cursor && !cursor_decode(cursor, after, sizeof after))
        validation_add(&o->v, "cursor", "Неверный курсор: возьмите nextCursor из предыдущего ответа");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    entity_list_query q = {.index_key = index,
                           .after_member = has_cursor ? after : NULL,
                           .prefix = q_prefix && *q_prefix ? q_prefix : NULL,
                           .entity_key_prefix = key_prefix,
                           .required_tokens = tokens,
                           .n_required_tokens = n_tokens,
                           .limit = (size_t)limit};
    if (entity_store_list(o->d->store, &q, s_listed, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

/* The list's region: asked for, or the caller's; false (violation added) when neither. */
static bool s_list_region(op *o, const char *asked)
{
    const char *region = asked && *asked ? asked : o->caller->region_id;
    if (!s_region_of(region, o->region)) {
        validation_add(&o->v, "regionId", "Укажите регион (regionId): две цифры, например «07»");
        return false;
    }
    return true;
}

static void s_reply_empty_list(op *o)
{
    s_listed(ENTITY_OK, NULL, 0, NULL, NULL, o);
}

static ProtobufCMessage *s_keep_all(op *o, ProtobufCMessage *entity)
{
    (void)o;
    return entity;
}

static ProtobufCMessage *s_keep_instrument(op *o, ProtobufCMessage *entity)
{
    s_redact_instrument(o->caller, (Metodnet__Instrument *)entity);
    return entity;
}

static void s_list_instruments(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListInstrumentsRequest *req = (const Metodnet__ListInstrumentsRequest *)request;
    op *o = s_op_new(ud, call, request);
    o->list_desc = &metodnet__instrument__descriptor;
    o->list_keep = s_keep_instrument;
    if (!s_list_region(o, req->region_id)) {
        s_fail_validation(o);
        return;
    }
    char token[64], prefix[160] = "";
    const char *tokens[1];
    size_t n_tokens = 0;
    int value;
    if (*req->category) {
        if (!pbjson_enum_parse(&metodnet__framework_category__descriptor, req->category, &value)) {
            validation_add(&o->v, "category", "Категория: teacher или manager");
            s_fail_validation(o);
            return;
        }
        snprintf(token, sizeof token, "|cat:%s|", req->category);
        tokens[n_tokens++] = token;
    }
    if (*req->q && validate_text(&o->v, "q", req->q, 100, false))
        text_fold(req->q, prefix, sizeof prefix);
    if (!s_region_readable(o->caller, o->region)) {
        s_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], key_prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:instrument", o->region);
    snprintf(key_prefix, sizeof key_prefix, "diag:{r:%s}:instrument:", o->region);
    s_list_run(o, index, key_prefix, tokens, n_tokens, prefix);
}

/* ---------- campaigns ---------- */

static const char *const s_campaign_not_found_ru = "Диагностическая кампания не найдена";

static void s_campaign_forget(diagnostics *d, const char *key)
{
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++)
        if (d->campaigns[i].campaign && strcmp(d->campaigns[i].key, key) == 0) {
            s_free_message(d->campaigns[i].campaign);
            d->campaigns[i].campaign = NULL;
        }
}

/* A copy of the open campaign at key read less than CAMPAIGN_CACHE_MS ago; NULL when none. */
static Metodnet__Campaign *s_campaign_cached(diagnostics *d, const char *key)
{
    int64_t now = clock_unix_ms();
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++) {
        cached_campaign *c = &d->campaigns[i];
        if (c->campaign && strcmp(c->key, key) == 0) {
            if (now - c->loaded_ms >= CAMPAIGN_CACHE_MS || now < c->loaded_ms)
                return NULL;
            c->used = ++d->tick;
            Metodnet__Campaign *copy = (Metodnet__Campaign *)pbfield_clone(&c->campaign->base);
            if (copy == NULL)
                abort();
            return copy;
        }
    }
    return NULL;
}

static void s_campaign_remember(diagnostics *d, const char *key, const Metodnet__Campaign *campaign)
{
    if (campaign->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN)
        return;
    s_campaign_forget(d, key);
    cached_campaign *slot = &d->campaigns[0];
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++) {
        if (d->campaigns[i].campaign == NULL) {
            slot = &d->campaigns[i];
            break;
        }
        if (d->campaigns[i].used < slot->used)
            slot = &d->campaigns[i];
    }
    s_free_message(slot->campaign);
    slot->campaign = (Metodnet__Campaign *)pbfield_clone(&campaign->base);
    if (slot->campaign == NULL)
        abort();
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->loaded_ms = clock_unix_ms();
    slot->used = ++d->tick;
}

static void s_campaign_validate(const Metodnet__Campaign *c, validation *v)
{
    validate_text(v, "campaign.title", c->title, 300, true);
    char key[DIAG_KEY_MAX];
    if (!s_key("instrument", c->instrument_id, "-i", key, sizeof key) ||
        strncmp(c->instrument_id, c->region_id, 2) != 0)
        validation_add(v, "campaign.instrumentId", "Укажите диагностический инструмент своего региона");
    if (c->kind == METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_UNSPECIFIED)
        validation_add(v, "campaign.kind", "Вид кампании: self (самодиагностика) или independent (независимая)");
    int start = 0, end = 0;
    bool ok_start = validate_date(v, "campaign.startsOn", c->starts_on, true, &start);
    bool ok_end = validate_date(v, "campaign.endsOn", c->ends_on, true, &end);
    if (ok_start && ok_end && end < start)
        validation_add(v, "campaign.endsOn", "Окончание не может быть раньше начала");
    const Metodnet__CampaignTarget *t = c->target;
    if (t == NULL)
        return;
    char path[96];
    if (t->n_municipality_ids > 100 || t->n_organization_ids > 500 || t->n_subjects > 50 || t->n_categories > 2)
        validation_add(v, "campaign.target", "Слишком большой список в адресатах кампании");
    for (size_t i = 0; i < t->n_municipality_ids && i < 100; i++) {
        snprintf(path, sizeof path, "campaign.target.municipalityIds[%zu]", i);
        if (!id_valid(t->municipality_ids[i]) || strncmp(t->municipality_ids[i], c->region_id, 2) != 0 ||
            strncmp(t->municipality_ids[i] + 2, "-m", 2) != 0)
            validation_add(v, path, "Муниципальное образование своего региона, например «07-m1»");
    }
    for (size_t i = 0; i < t->n_organization_ids && i < 500; i++) {
        snprintf(path, sizeof path, "campaign.target.organizationIds[%zu]", i);
        if (!id_valid(t->organization_ids[i]) || strncmp(t->organization_ids[i], c->region_id, 2) != 0 ||
            strncmp(t->organization_ids[i] + 2, "-o", 2) != 0)
            validation_add(v, path, "Организация своего региона, например «07-o12»");
    }
    for (size_t i = 0; i < t->n_categories && i < 2; i++) {
        snprintf(path, sizeof path, "campaign.target.categories[%zu]", i);
        int value;
        if (!pbjson_enum_parse(&metodnet__staff_category__descriptor, t->categories[i], &value))
            validation_add(v, path, "Категория: teacher или manager");
    }
    for (size_t i = 0; i < t->n_subjects && i < 50; i++) {
        snprintf(path, sizeof path, "campaign.target.subjects[%zu]", i);
        if (!dictionary_subject_known(t->subjects[i]))
            validation_add(v, path, "Неизвестный учебный предмет «%.40s»", t->subjects[i]);
    }
}

static void s_campaign_id_issued(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->next;
    char id[32], instrument_key[DIAG_KEY_MAX];
    snprintf(id, sizeof id, "%s-c%lld", o->region, (long long)value);
    s_set(&c->id, id);
    s_key("campaign", id, "-c", o->key, sizeof o->key);
    s_key("instrument", c->instrument_id, "-i", instrument_key, sizeof instrument_key);
    s_stamp(o->next, 1);
    diag_layout layout;
    s_campaign_layout(c, &layout);
    const char *must_exist[] = {instrument_key};
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = 0,
                    .new_version = 1,
                    .new_layout = &layout,
                    .event_type = "campaign.created",
                    .event_entity_id = c->id,
                    .must_exist = must_exist,
                    .n_must_exist = 1};
    o->exists_ru = "Кампания с таким идентификатором уже есть";
    s_audit_when_stored(o, "create", "campaign", c->id, o->region);
    s_save(o, &w, s_reply_next);
}

static void s_create_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CreateCampaignRequest *req = (const Metodnet__CreateCampaignRequest *)request;
    op *o = s_op_new(ud, call, request);
    if (req->campaign == NULL) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Нет данных кампании в теле запроса");
        return;
    }
    const char *region = *req->campaign->region_id ? req->campaign->region_id : o->caller->region_id;
    if (!s_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "campaign.regionId", "Укажите регион: две цифры, например «07»");
        s_fail_validation(o);
        return;
    }
    if (!s_region_writable(o->caller, o->region)) {
        s_fail(o, CODE(PERMISSION_DENIED),
               "Диагностические кампании проводит региональный оператор (администратор региона)");
        return;
    }
    o->next = pbfield_clone(&req->campaign->base);
    if (o->next == NULL)
        abort();
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->next;
    s_set(&c->region_id, o->region);
    c->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT;
    c->assigned = 0;
    c->instrument_version = 0;
    s_campaign_validate(c, &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    char sequence[64];
    snprintf(sequence, sizeof sequence, "diag:{r:%s}:seq:campaign", o->region);
    if (entity_store_next_id(o->d->store, sequence, s_campaign_id_issued, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

static void s_get_campaign_loaded(op *o)
{
    if (!s_region_readable(o->caller, ((Metodnet__Campaign *)o->current)->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_reply(o, o->current);
}

static void s_get_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, s_get_campaign_loaded);
}

/* Loaded campaign: readable, writable, expected version. False when answered. */
static bool s_campaign_writable(op *o, int64_t expected_version)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (!s_region_readable(o->caller, c->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return false;
    }
    if (!s_region_writable(o->caller, c->region_id)) {
        s_fail(o, CODE(PERMISSION_DENIED), s_denied_ru);
        return false;
    }
    if (expected_version > 0 && expected_version != c->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Кампанию уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите",
                 (long long)c->version);
        s_fail(o, CODE(VERSION_MISMATCH), message);
        return false;
    }
    snprintf(o->region, sizeof o->region, "%s", c->region_id);
    return true;
}

static void s_campaign_save(op *o, const char *event_type, const char *action)
{
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current, *next = (Metodnet__Campaign *)o->next;
    s_key("campaign", cur->id, "-c", o->key, sizeof o->key);
    s_campaign_forget(o->d, o->key);
    s_stamp(o->next, cur->version + 1);
    diag_layout old_layout, new_layout;
    s_campaign_layout(cur, &old_layout);
    s_campaign_layout(next, &new_layout);
    char instrument_key[DIAG_KEY_MAX];
    s_key("instrument", next->instrument_id, "-i", instrument_key, sizeof instrument_key);
    const char *must_exist[] = {instrument_key};
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = cur->version,
                    .new_version = cur->version + 1,
                    .old_layout = &old_layout,
                    .new_layout = &new_layout,
                    .event_type = event_type,
                    .event_entity_id = cur->id,
                    .must_exist = must_exist,
                    .n_must_exist = 1};
    s_audit_when_stored(o, action, "campaign", cur->id, o->region);
    s_save(o, &w, s_reply_next);
}

static void s_update_campaign_loaded(op *o)
{
    const Metodnet__UpdateCampaignRequest *req = (const Metodnet__UpdateCampaignRequest *)o->request;
    if (!s_campaign_writable(o, req->expected_version))
        return;
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current;
    if (req->campaign == NULL || req->n_update_mask == 0) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    bool only_dates = true;
    for (size_t i = 0; i < req->n_update_mask; i++)
        only_dates &= strcmp(req->update_mask[i], "ends_on") == 0 || strcmp(req->update_mask[i], "title") == 0;
    if (cur->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT && !only_dates) {
        s_fail(o, CODE(CONFLICT), "Открытую или закрытую кампанию можно только переименовать или продлить");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    static const char *const allowed[] = {"title", "instrument_id", "kind", "target", "starts_on", "ends_on", NULL};
    s_apply_mask(o, o->next, &req->campaign->base, req->update_mask, req->n_update_mask, allowed, "campaign");
    if (validation_ok(&o->v))
        s_campaign_validate((Metodnet__Campaign *)o->next, &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_campaign_save(o, "campaign.updated", "update");
}

static void s_update_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateCampaignRequest *req = (const Metodnet__UpdateCampaignRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, s_update_campaign_loaded);
}

static void s_list_campaigns(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListCampaignsRequest *req = (const Metodnet__ListCampaignsRequest *)request;
    op *o = s_op_new(ud, call, request);
    o->list_desc = &metodnet__campaign__descriptor;
    o->list_keep = s_keep_all;
    if (!s_list_region(o, req->region_id)) {
        s_fail_validation(o);
        return;
    }
    char token[64], prefix[160] = "";
    const char *tokens[1];
    size_t n_tokens = 0;
    int value;
    if (*req->status) {
        if (!pbjson_enum_parse(&metodnet__campaign_status__descriptor, req->status, &value)) {
            validation_add(&o->v, "status", "Состояние: draft, open или closed");
            s_fail_validation(o);
            return;
        }
        snprintf(token, sizeof token, "|st:%s|", req->status);
        tokens[n_tokens++] = token;
    }
    if (*req->q && validate_text(&o->v, "q", req->q, 100, false))
        text_fold(req->q, prefix, sizeof prefix);
    if (!s_region_readable(o->caller, o->region)) {
        s_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], key_prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:campaign", o->region);
    snprintf(key_prefix, sizeof key_prefix, "diag:{r:%s}:campaign:", o->region);
    s_list_run(o, index, key_prefix, tokens, n_tokens, prefix);
}

static void s_close_campaign_loaded(op *o)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)o->request;
    if (!s_campaign_writable(o, req->expected_version))
        return;
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current;
    if (cur->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN) {
        s_fail(o, CODE(CONFLICT), "Закрыть можно только открытую кампанию");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    ((Metodnet__Campaign *)o->next)->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED;
    s_campaign_save(o, "campaign.closed", "update");
}

static void s_close_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, s_close_campaign_loaded);
}

/* ----- opening: the target resolved to staff through the registry, one attempt per person ----- */

static void s_open_next_page(op *o);
static void s_open_assign(op *o);

static bool s_strings_overlap(char *const *a, size_t na, char *const *b, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(a[i], b[j]) == 0)
                return true;
    return false;
}

static void s_open_staff_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(o->call), "реестр не выдал список сотрудников: %s",
                  status->message ? status->message : "?");
        s_fail(o, status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE),
               "Реестр кадров временно недоступен: кампания не открыта, повторите позже");
        return;
    }
    const Metodnet__ListStaffResponse *list = (const Metodnet__ListStaffResponse *)response;
    const Metodnet__CampaignTarget *t = ((Metodnet__Campaign *)o->current)->target;
    for (size_t i = 0; i < list->n_items; i++) {
        const Metodnet__StaffMember *s = list->items[i];
        if (!s->active)
            continue;
        if (t && t->n_categories > 0) {
            const char *word = s_word(&metodnet__staff_category__descriptor, s->category);
            bool match = false;
            for (size_t j = 0; j < t->n_categories && !match; j++)
                match = strcmp(t->categories[j], word) == 0;
            if (!match)
                continue;
        }
        if (t && t->n_subjects > 0 && !s_strings_overlap(t->subjects, t->n_subjects, s->subjects, s->n_subjects))
            continue;
        char attempt_id[72];
        if (!diag_attempt_id(((Metodnet__Campaign *)o->current)->id, s->id, attempt_id, sizeof attempt_id))
            continue;
        bool seen = false;
        for (size_t j = 0; j < o->n_assignees && !seen; j++)
            seen = strcmp(o->assignees[j].id, s->id) == 0;
        if (seen)
            continue;
        assignee *grown = realloc(o->assignees, (o->n_assignees + 1) * sizeof *grown);
        if (grown == NULL)
            abort();
        o->assignees = grown;
        assignee *a = &o->assignees[o->n_assignees++];
        memset(a, 0, sizeof *a);
        snprintf(a->id, sizeof a->id, "%s", s->id);
        for (size_t j = 0; j < s->n_organization_ids && a->n_orgs < 8; j++)
            a->orgs[a->n_orgs++] = diag_strdup(s->organization_ids[j]);
        for (size_t j = 0; j < s->n_municipality_ids && a->n_muns < 8; j++)
            a->muns[a->n_muns++] = diag_strdup(s->municipality_ids[j]);
    }
    if (list->next_cursor && *list->next_cursor && strlen(list->next_cursor) < sizeof o->cursor && o->pages < 400) {
        snprintf(o->cursor, sizeof o->cursor, "%s", list->next_cursor);
    } else {
        o->cursor[0] = '\0';
        o->query_index++;
    }
    s_open_next_page(o);
}

/* Queries: every target organization, then every target municipality; the region when neither. */
static void s_open_next_page(op *o)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    const Metodnet__CampaignTarget *t = c->target;
    size_t n_orgs = t ? t->n_organization_ids : 0, n_muns = t ? t->n_municipality_ids : 0;
    size_t n_queries = n_orgs + n_muns ? n_orgs + n_muns : 1;
    if (o->query_index >= n_queries) {
        s_open_assign(o);
        return;
    }
    Metodnet__ListStaffRequest req = METODNET__LIST_STAFF_REQUEST__INIT;
    req.limit = 500;
    req.cursor = o->cursor;
    req.region_id = c->region_id;
    req.active = "true";
    if (o->query_index < n_orgs)
        req.organization_id = t->organization_ids[o->query_index];
    else if (o->query_index - n_orgs < n_muns)
        req.municipality_id = t->municipality_ids[o->query_index - n_orgs];
    if (t && t->n_categories == 1)
        req.category = t->categories[0];
    if (t && t->n_subjects == 1)
        req.subject = t->subjects[0];
    o->pages++;
    service_client_request r = {.service = "registry",
                                .method = "ListStaff",
                                .request = &req.base,
                                .response = &metodnet__list_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->d->registry, &r, s_open_staff_listed, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
}

static void s_open_assigned_one(entity_result result, int64_t detail, const char *error, void *ud);

static void s_open_issue(op *o)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    assignee *a = &o->assignees[o->next_assignee++];
    Metodnet__Attempt attempt = METODNET__ATTEMPT__INIT;
    char id[72], key[DIAG_KEY_MAX], now[40];
    diag_attempt_id(c->id, a->id, id, sizeof id);
    s_key("attempt", id, "-c", key, sizeof key);
    s_now(now, sizeof now);
    attempt.id = id;
    attempt.region_id = c->region_id;
    attempt.campaign_id = c->id;
    attempt.staff_id = a->id;
    attempt.instrument_id = c->instrument_id;
    attempt.instrument_version = o->instrument->version;
    attempt.status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED;
    attempt.organization_ids = a->orgs;
    attempt.n_organization_ids = a->n_orgs;
    attempt.municipality_ids = a->muns;
    attempt.n_municipality_ids = a->n_muns;
    attempt.version = 1;
    attempt.created_at = now;
    attempt.updated_at = now;
    diag_layout layout;
    s_attempt_layout(&attempt, &layout);
    diag_write w = {
        .key = key, .entity = &attempt.base, .expected_version = 0, .new_version = 1, .new_layout = &layout};
    o->pending++;
    if (s_store(o->d, o->call, &w, s_open_assigned_one, o) != 0) {
        o->pending--;
        o->failed = true;
    }
}

static void s_open_finish(op *o);

static void s_open_assigned_one(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    o->pending--;
    o->done_assignees++;
    if (result != ENTITY_OK && result != ENTITY_EXISTS) {
        log_error(service_call_request_id(o->call), "назначение не записано: %s", error ? error : "?");
        o->failed = true;
    }
    if (!o->failed && o->next_assignee < o->n_assignees)
        s_open_issue(o);
    if (o->pending == 0)
        s_open_finish(o);
}

static void s_open_assign(op *o)
{
    if (o->n_assignees == 0) {
        s_fail(o, CODE(CONFLICT), "В адресатах кампании нет ни одного работающего сотрудника: проверьте адресатов");
        return;
    }
    for (size_t i = 0; i < ASSIGN_WINDOW && o->next_assignee < o->n_assignees && !o->failed; i++)
        s_open_issue(o);
    if (o->pending == 0)
        s_open_finish(o);
}

static void s_open_finish(op *o)
{
    if (o->failed) {
        s_fail(o, CODE(UNAVAILABLE), "Не все назначения записаны: кампания не открыта, повторите открытие");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    Metodnet__Campaign *next = (Metodnet__Campaign *)o->next;
    next->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN;
    next->assigned = (int32_t)o->n_assignees;
    next->instrument_version = o->instrument->version;
    s_campaign_save(o, "campaign.opened", "update");
}

static void s_open_instrument_loaded(op *o)
{
    o->query_index = 0;
    o->cursor[0] = '\0';
    s_open_next_page(o);
}

static void s_open_campaign_loaded(op *o)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)o->request;
    if (!s_campaign_writable(o, req->expected_version))
        return;
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT) {
        s_fail(o, CODE(CONFLICT), "Открыть можно только кампанию в состоянии черновика");
        return;
    }
    int end;
    if (date_parse(c->ends_on, &end) && end < date_today()) {
        s_fail(o, CODE(CONFLICT), "Срок кампании уже прошёл: измените даты");
        return;
    }
    char key[DIAG_KEY_MAX];
    if (!s_key("instrument", c->instrument_id, "-i", key, sizeof key)) {
        s_fail(o, CODE(CONFLICT), s_instrument_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__instrument__descriptor, (ProtobufCMessage **)&o->instrument, s_instrument_not_found_ru,
           s_open_instrument_loaded);
}

static void s_open_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, s_open_campaign_loaded);
}

/* ----- progress by organization ----- */

static void s_progress_page(op *o, const char *after);

/* The row of org in p (made, in organization order, when missing). */
static Metodnet__OrganizationProgress *s_progress_row(Metodnet__CampaignProgress *p, const char *org)
{
    Metodnet__OrganizationProgress *row = NULL;
    size_t at = p->n_organizations;
    for (size_t i = 0; i < p->n_organizations; i++) {
        int c = strcmp(p->organizations[i]->organization_id, org);
        if (c == 0)
            return p->organizations[i];
        if (c > 0) {
            at = i;
            break;
        }
    }
    Metodnet__OrganizationProgress **grown = realloc(p->organizations, (p->n_organizations + 1) * sizeof *grown);
    if (grown == NULL)
        abort();
    p->organizations = grown;
    memmove(&p->organizations[at + 1], &p->organizations[at], (p->n_organizations - at) * sizeof *grown);
    row = malloc(sizeof *row);
    if (row == NULL)
        abort();
    metodnet__organization_progress__init(row);
    row->organization_id = diag_strdup(org);
    p->organizations[at] = row;
    p->n_organizations++;
    return row;
}

/* One person's attempt: counted under each of their organizations (a teacher of two schools is
 * assigned in both) and once in the totals. */
static void s_progress_count(Metodnet__CampaignProgress *p, const Metodnet__Attempt *a)
{
    bool started = a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_STARTED ||
                   a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    bool completed = a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    for (size_t i = 0; i < a->n_organization_ids; i++) {
        bool repeated = false;
        for (size_t j = 0; j < i && !repeated; j++)
            repeated = strcmp(a->organization_ids[j], a->organization_ids[i]) == 0;
        if (repeated)
            continue;
        Metodnet__OrganizationProgress *row = s_progress_row(p, a->organization_ids[i]);
        row->assigned++;
        row->started += started;
        row->completed += completed;
    }
    p->assigned++;
    p->started += started;
    p->completed += completed;
}

static void s_progress_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                              const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "список попыток не получен: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__Attempt *a = metodnet__attempt__unpack(NULL, items[i].len, items[i].data);
        if (a == NULL)
            continue;
        if (s_attempt_allows(o->caller, a, SCOPE_READ))
            s_progress_count(o->progress, a);
        metodnet__attempt__free_unpacked(a, NULL);
    }
    if (next_member) {
        char after[CURSOR_MAX_MEMBER + 1];
        snprintf(after, sizeof after, "%s", next_member);
        s_progress_page(o, after);
        return;
    }
    s_reply(o, &o->progress->base);
}

static void s_progress_page(op *o, const char *after)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:attempt:campaign:%s", c->region_id, c->id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", c->region_id);
    entity_list_query q = {.index_key = index, .after_member = after, .entity_key_prefix = prefix, .limit = 500};
    if (entity_store_list(o->d->store, &q, s_progress_listed, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

static void s_progress_loaded(op *o)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (!s_region_readable(o->caller, c->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    o->progress = malloc(sizeof *o->progress);
    if (o->progress == NULL)
        abort();
    metodnet__campaign_progress__init(o->progress);
    o->progress->campaign_id = diag_strdup(c->id);
    s_progress_page(o, NULL);
}

static void s_campaign_progress(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, s_progress_loaded);
}

/* ---------- attempts ---------- */

static const char *const s_attempt_not_found_ru = "Попытка диагностики не найдена";

/* The instrument at version into o->instrument (a copy), from the cache or Redis. Items of an
 * instrument cannot change while an open campaign uses it, so a cached (id, version) stays right. */
static void s_instrument_cached_loaded(op *o)
{
    diagnostics *d = o->d;
    if (o->instrument->version != o->wanted_version) {
        s_fail(o, CODE(CONFLICT), "Инструмент изменился после назначения диагностики: обратитесь к организатору");
        return;
    }
    cached_instrument *slot = &d->cache[0];
    for (size_t i = 0; i < INSTRUMENT_CACHE; i++) {
        if (d->cache[i].instrument == NULL) {
            slot = &d->cache[i];
            break;
        }
        if (d->cache[i].used < slot->used)
            slot = &d->cache[i];
    }
    s_free_message(slot->instrument);
    slot->instrument = (Metodnet__Instrument *)pbfield_clone(&o->instrument->base);
    if (slot->instrument == NULL)
        abort();
    snprintf(slot->key, sizeof slot->key, "%s", o->key);
    slot->version = o->instrument->version;
    slot->used = ++d->tick;
    o->after_instrument(o);
}

static void s_instrument_at(op *o, const char *id, int64_t version, op_step then)
{
    diagnostics *d = o->d;
    char key[DIAG_KEY_MAX];
    if (!s_key("instrument", id, "-i", key, sizeof key)) {
        s_fail(o, CODE(CONFLICT), s_instrument_not_found_ru);
        return;
    }
    for (size_t i = 0; i < INSTRUMENT_CACHE; i++) {
        cached_instrument *c = &d->cache[i];
        if (c->instrument && c->version == version && strcmp(c->key, key) == 0) {
            c->used = ++d->tick;
            s_free_message(o->instrument);
            o->instrument = (Metodnet__Instrument *)pbfield_clone(&c->instrument->base);
            if (o->instrument == NULL)
                abort();
            then(o);
            return;
        }
    }
    o->wanted_version = version;
    o->after_instrument = then;
    s_load(o, key, &metodnet__instrument__descriptor, (ProtobufCMessage **)&o->instrument, s_instrument_not_found_ru,
           s_instrument_cached_loaded);
}

typedef enum { ATTEMPT_START, ATTEMPT_SAVE, ATTEMPT_SUBMIT } attempt_action;

/* op->retries counts reloads after a concurrent change; the action rides in fail_code's place. */
static attempt_action s_action(const op *o)
{
    const ProtobufCMessageDescriptor *desc = o->request->descriptor;
    if (desc == &metodnet__submit_attempt_request__descriptor)
        return ATTEMPT_SUBMIT;
    if (desc == &metodnet__save_answers_request__descriptor)
        return ATTEMPT_SAVE;
    return ATTEMPT_START;
}

static void s_attempt_loaded(op *o);

static void s_attempt_reload(op *o)
{
    char key[DIAG_KEY_MAX];
    const char *id = ((Metodnet__Attempt *)o->current)->id;
    s_key("attempt", id, "-c", key, sizeof key);
    s_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_attempt_loaded);
}

/* The reply to a submit is the attempt without its answers: the person just sent them, and 40 answers
 * back through the gateway's JSON cost more than the rest of the reply (GetAttempt still has them). */
static void s_reply_attempt(op *o, ProtobufCMessage *attempt)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)attempt;
    if (s_action(o) == ATTEMPT_SUBMIT && a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED) {
        for (size_t i = 0; i < a->n_answers; i++)
            s_free_message(a->answers[i]);
        free(a->answers);
        a->answers = NULL;
        a->n_answers = 0;
    }
    s_reply(o, attempt);
}

static void s_reply_next_attempt(op *o)
{
    s_reply_attempt(o, o->next);
}

static void s_attempt_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    if (result == ENTITY_VERSION_MISMATCH && o->retries < 3) {
        /* someone saved or submitted at the same moment: decide again on the new state */
        o->retries++;
        s_free_message(o->next);
        o->next = NULL;
        s_attempt_reload(o);
        return;
    }
    o->then = s_reply_next_attempt;
    s_written(result, detail, error, ud);
}

static void s_attempt_save_state(op *o, const char *event_type)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current, *next = (Metodnet__Attempt *)o->next;
    char key[DIAG_KEY_MAX];
    s_key("attempt", cur->id, "-c", key, sizeof key);
    s_stamp(o->next, cur->version + 1);
    diag_layout old_layout, new_layout;
    s_attempt_layout(cur, &old_layout);
    s_attempt_layout(next, &new_layout);
    diag_write w = {.key = key,
                    .entity = o->next,
                    .expected_version = cur->version,
                    .new_version = cur->version + 1,
                    .old_layout = &old_layout,
                    .new_layout = &new_layout,
                    .event_type = event_type,
                    .event_entity_id = cur->id,
                    .event_entity = next->result ? &next->result->base : NULL};
    if (s_store(o->d, o->call, &w, s_attempt_written, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

/* The saved answers with those given replacing the same items (copies into next). */
static void s_merge_answers(Metodnet__Attempt *next, Metodnet__Answer *const *given, size_t n_given)
{
    for (size_t i = 0; i < n_given; i++) {
        Metodnet__Answer *copy = (Metodnet__Answer *)pbfield_clone(&given[i]->base);
        if (copy == NULL)
            abort();
        bool replaced = false;
        for (size_t j = 0; j < next->n_answers && !replaced; j++)
            if (strcmp(next->answers[j]->item_id, copy->item_id) == 0) {
                s_free_message(next->answers[j]);
                next->answers[j] = copy;
                replaced = true;
            }
        if (!replaced) {
            Metodnet__Answer **grown = realloc(next->answers, (next->n_answers + 1) * sizeof *grown);
            if (grown == NULL)
                abort();
            next->answers = grown;
            next->answers[next->n_answers++] = copy;
        }
    }
}

static void s_attempt_decide(op *o)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current;
    attempt_action action = s_action(o);
    Metodnet__Answer *const *given = NULL;
    size_t n_given = 0;
    if (action == ATTEMPT_SAVE) {
        const Metodnet__SaveAnswersRequest *req = (const Metodnet__SaveAnswersRequest *)o->request;
        given = req->answers;
        n_given = req->n_answers;
    } else if (action == ATTEMPT_SUBMIT) {
        const Metodnet__SubmitAttemptRequest *req = (const Metodnet__SubmitAttemptRequest *)o->request;
        given = req->answers;
        n_given = req->n_answers;
    }
    /* malformed answers are refused before anything is stored */
    diag_answers_validate(o->instrument, given, n_given, "answers", &o->v);
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    Metodnet__Attempt *next = (Metodnet__Attempt *)o->next;
    char now[40];
    s_now(now, sizeof now);
    if (cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED) {
        next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_STARTED;
        s_set(&next->started_at, now);
    }
    if (action == ATTEMPT_START) {
        if (cur->status != METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED) {
            s_reply(o, o->current);
            return;
        }
        s_attempt_save_state(o, "attempt.started");
        return;
    }
    s_merge_answers(next, given, n_given);
    if (action == ATTEMPT_SAVE) {
        s_attempt_save_state(o, NULL);
        return;
    }
    validation all;
    validation_init(&all);
    diag_answers_validate(o->instrument, next->answers, next->n_answers, "answers", &all);
    bool stored_ok = validation_ok(&all);
    validation_free(&all);
    if (!stored_ok) {
        s_fail(o, CODE(INTERNAL), s_corrupt_ru);
        return;
    }
    Metodnet__Result *result = diag_score(o->instrument, next->answers, next->n_answers);
    s_set(&result->id, next->id);
    s_set(&result->region_id, next->region_id);
    s_set(&result->staff_id, next->staff_id);
    s_set(&result->campaign_id, next->campaign_id);
    s_set(&result->instrument_id, next->instrument_id);
    result->instrument_version = next->instrument_version;
    s_set(&result->completed_at, now);
    s_set(&result->source, "attempt");
    s_copy_strings(&result->organization_ids, &result->n_organization_ids, next->organization_ids,
                   next->n_organization_ids);
    s_copy_strings(&result->municipality_ids, &result->n_municipality_ids, next->municipality_ids,
                   next->n_municipality_ids);
    s_free_message(next->result);
    next->result = result;
    next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    s_set(&next->submitted_at, now);
    s_audit_when_stored(o, "create", "result", next->id, next->region_id);
    s_attempt_save_state(o, "result.completed");
}

static void s_attempt_campaign_loaded(op *o)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current;
    Metodnet__Campaign *c = o->campaign;
    int today = date_today(), start = 0, end = 0;
    date_parse(c->starts_on, &start);
    date_parse(c->ends_on, &end);
    if (c->status == METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED || today > end) {
        s_fail(o, CODE(CONFLICT), "Срок диагностики истёк: ответы больше не принимаются");
        return;
    }
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN || today < start) {
        s_fail(o, CODE(CONFLICT), "Диагностика ещё не началась");
        return;
    }
    s_instrument_at(o, cur->instrument_id, cur->instrument_version, s_attempt_decide);
}

static void s_attempt_campaign_read(op *o)
{
    s_campaign_remember(o->d, o->key, o->campaign);
    s_attempt_campaign_loaded(o);
}

static void s_attempt_loaded(op *o)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current;
    if (!s_attempt_allows(o->caller, cur, SCOPE_READ)) {
        s_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    if (!s_attempt_allows(o->caller, cur, SCOPE_WRITE)) {
        s_fail(o, CODE(PERMISSION_DENIED), s_denied_ru);
        return;
    }
    attempt_action action = s_action(o);
    if (action == ATTEMPT_SAVE) {
        const Metodnet__SaveAnswersRequest *req = (const Metodnet__SaveAnswersRequest *)o->request;
        if (o->retries == 0 && req->expected_version > 0 && req->expected_version != cur->version) {
            s_fail(o, CODE(VERSION_MISMATCH), "Ответы уже сохранены из другого окна: перечитайте попытку");
            return;
        }
    }
    if (cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED) {
        if (action == ATTEMPT_SAVE) {
            s_fail(o, CODE(CONFLICT), "Диагностика уже сдана: ответы изменить нельзя");
            return;
        }
        s_reply_attempt(o, o->current); /* a second submit changes nothing */
        return;
    }
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", cur->campaign_id, "-c", key, sizeof key)) {
        s_fail(o, CODE(INTERNAL), s_corrupt_ru);
        return;
    }
    s_free_message(o->campaign);
    o->campaign = s_campaign_cached(o->d, key);
    if (o->campaign) {
        s_attempt_campaign_loaded(o);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, (ProtobufCMessage **)&o->campaign, s_campaign_not_found_ru,
           s_attempt_campaign_read);
}

static void s_attempt_begin(service_call *call, const ProtobufCMessage *request, void *ud, const char *id)
{
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("attempt", id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_attempt_loaded);
}

static void s_start_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__StartAttemptRequest *req = (const Metodnet__StartAttemptRequest *)request;
    char id[72];
    const char *staff = *req->staff_id ? req->staff_id : "";
    const Metodnet__Principal *caller = service_call_caller(call);
    if (*staff == '\0' && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF)
        staff = caller->scope_id; /* a teacher starts their own */
    if (!diag_attempt_id(req->campaign_id, staff, id, sizeof id)) {
        service_call_fail(call, CODE(NOT_FOUND), "Вы не назначены на эту диагностику");
        return;
    }
    s_attempt_begin(call, request, ud, id);
}

static void s_save_answers(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_attempt_begin(call, request, ud, ((const Metodnet__SaveAnswersRequest *)request)->id);
}

static void s_submit_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_attempt_begin(call, request, ud, ((const Metodnet__SubmitAttemptRequest *)request)->id);
}

static void s_get_attempt_loaded(op *o)
{
    if (!s_attempt_allows(o->caller, (Metodnet__Attempt *)o->current, SCOPE_READ)) {
        s_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    s_reply(o, o->current);
}

static void s_get_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("attempt", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_get_attempt_loaded);
}

static ProtobufCMessage *s_keep_attempt(op *o, ProtobufCMessage *entity)
{
    if (!s_attempt_allows(o->caller, (Metodnet__Attempt *)entity, SCOPE_READ)) {
        s_free_message(entity);
        return NULL;
    }
    return entity;
}

/* The caller's scope as a list token: "|mun:07-m1|", "|org:07-o1|", "|id:07-s1|"; "" for the region. */
static void s_scope_token(const Metodnet__Principal *caller, char *out, size_t size)
{
    out[0] = '\0';
    if (scope_is_global(caller))
        return;
    switch (caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        snprintf(out, size, "|mun:%s|", caller->scope_id);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        snprintf(out, size, "|org:%s|", caller->scope_id);
        break;
    case METODNET__SCOPE_KIND__SCOPE_KIND_SELF:
        snprintf(out, size, "|id:%s|", caller->scope_id);
        break;
    default:
        break;
    }
}

static void s_list_attempts(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListAttemptsRequest *req = (const Metodnet__ListAttemptsRequest *)request;
    op *o = s_op_new(ud, call, request);
    o->list_desc = &metodnet__attempt__descriptor;
    o->list_keep = s_keep_attempt;
    char key[DIAG_KEY_MAX];
    if (!s_key("campaign", req->campaign_id, "-c", key, sizeof key) || !s_region_of(req->campaign_id, o->region)) {
        validation_add(&o->v, "campaignId", "Укажите кампанию (campaignId)");
        s_fail_validation(o);
        return;
    }
    char tokens_text[3][96];
    const char *tokens[3];
    size_t n = 0;
    int value;
    if (*req->status) {
        if (!pbjson_enum_parse(&metodnet__attempt_status__descriptor, req->status, &value)) {
            validation_add(&o->v, "status", "Состояние: assigned, started или completed");
            s_fail_validation(o);
            return;
        }
        snprintf(tokens_text[n], sizeof tokens_text[0], "|st:%s|", req->status);
        tokens[n] = tokens_text[n];
        n++;
    }
    if (*req->organization_id) {
        if (!id_valid(req->organization_id)) {
            validation_add(&o->v, "organizationId", "Неверный идентификатор организации");
            s_fail_validation(o);
            return;
        }
        snprintf(tokens_text[n], sizeof tokens_text[0], "|org:%s|", req->organization_id);
        tokens[n] = tokens_text[n];
        n++;
    }
    s_scope_token(o->caller, tokens_text[n], sizeof tokens_text[0]);
    if (tokens_text[n][0]) {
        tokens[n] = tokens_text[n];
        n++;
    }
    if (!s_region_readable(o->caller, o->region)) {
        s_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:attempt:campaign:%s", o->region, req->campaign_id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    s_list_run(o, index, prefix, tokens, n, NULL);
}

/* ---------- results and profiles ---------- */

static const char *const s_result_not_found_ru = "Результат диагностики не найден";

static void s_get_result_loaded(op *o)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)o->current;
    if (!s_attempt_allows(o->caller, a, SCOPE_READ) ||
        a->status != METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED || a->result == NULL) {
        s_fail(o, CODE(NOT_FOUND), s_result_not_found_ru);
        return;
    }
    s_audit(o->d, o->call, "read", "result", a->id, a->region_id);
    s_reply(o, &a->result->base);
}

static void s_get_result(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_key("attempt", req->id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_result_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__attempt__descriptor, &o->current, s_result_not_found_ru, s_get_result_loaded);
}

/* A completed attempt the caller may read → its result (the attempt is freed). */
static ProtobufCMessage *s_keep_result(op *o, ProtobufCMessage *entity)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)entity;
    Metodnet__Result *r = NULL;
    if (a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && a->result &&
        s_attempt_allows(o->caller, a, SCOPE_READ)) {
        r = a->result;
        a->result = NULL;
        s_audit(o->d, o->call, "list", "result", a->id, a->region_id);
    }
    s_free_message(a);
    return r ? &r->base : NULL;
}

static void s_list_results(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListResultsRequest *req = (const Metodnet__ListResultsRequest *)request;
    op *o = s_op_new(ud, call, request);
    o->list_desc = &metodnet__attempt__descriptor;
    o->list_keep = s_keep_result;
    const char *hint = *req->region_id ? req->region_id : *req->staff_id ? req->staff_id : req->campaign_id;
    if (!s_list_region(o, hint)) {
        s_fail_validation(o);
        return;
    }
    char tokens_text[6][96];
    const char *tokens[6];
    size_t n = 0;
    /* the index is the narrowest asked (a person's results, else a campaign's); every other filter
     * given is a required token, so staffId and campaignId together honour both */
    struct {
        const char *value, *token, *field;
    } filters[] = {{req->municipality_id, "mun", "municipalityId"},
                   {req->organization_id, "org", "organizationId"},
                   {req->deficit, "def", "deficit"},
                   {*req->staff_id ? req->campaign_id : "", "camp", "campaignId"}};
    for (size_t i = 0; i < 4; i++) {
        if (!*filters[i].value)
            continue;
        bool ok = i == 2 ? diag_competence_code_valid(filters[i].value) : id_valid(filters[i].value);
        if (!ok) {
            validation_add(&o->v, filters[i].field, "Недопустимое значение фильтра");
            continue;
        }
        snprintf(tokens_text[n], sizeof tokens_text[0], "|%s:%s|", filters[i].token, filters[i].value);
        tokens[n] = tokens_text[n];
        n++;
    }
    if (*req->staff_id && !id_valid(req->staff_id))
        validation_add(&o->v, "staffId", "Неверный идентификатор сотрудника");
    if (*req->campaign_id && !*req->staff_id && !id_valid(req->campaign_id))
        validation_add(&o->v, "campaignId", "Неверный идентификатор кампании");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_scope_token(o->caller, tokens_text[n], sizeof tokens_text[0]);
    if (tokens_text[n][0]) {
        tokens[n] = tokens_text[n];
        n++;
    }
    if (!s_region_readable(o->caller, o->region)) {
        s_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    if (*req->staff_id)
        snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", o->region, req->staff_id);
    else if (*req->campaign_id)
        snprintf(index, sizeof index, "diag:{r:%s}:ix:result:campaign:%s", o->region, req->campaign_id);
    else
        snprintf(index, sizeof index, "diag:{r:%s}:ix:result", o->region);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    s_list_run(o, index, prefix, tokens, n, NULL);
}

/* Results of one person, newest first, into a profile. */
static void s_profile_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                             const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "история результатов не получена: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    const Metodnet__GetProfileRequest *req = (const Metodnet__GetProfileRequest *)o->request;
    Metodnet__CompetenceProfile profile = METODNET__COMPETENCE_PROFILE__INIT;
    Metodnet__Result **history = calloc(n ? n : 1, sizeof *history);
    Metodnet__Attempt **attempts = calloc(n ? n : 1, sizeof *attempts);
    if (history == NULL || attempts == NULL)
        abort();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        Metodnet__Attempt *a = metodnet__attempt__unpack(NULL, items[i].len, items[i].data);
        if (a == NULL)
            continue;
        if (a->result == NULL || !s_attempt_allows(o->caller, a, SCOPE_READ)) {
            metodnet__attempt__free_unpacked(a, NULL);
            continue;
        }
        attempts[kept] = a;
        history[kept++] = a->result;
    }
    if (kept == 0) {
        free(history);
        free(attempts);
        s_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет");
        return;
    }
    profile.staff_id = req->id;
    profile.latest = history[0];
    profile.history = history;
    profile.n_history = kept;
    profile.deficits = history[0]->deficits;
    profile.n_deficits = history[0]->n_deficits;
    profile.strengths = history[0]->strengths;
    profile.n_strengths = history[0]->n_strengths;
    s_audit(o->d, o->call, "read", "competence_profile", req->id, o->region);
    service_call_reply(o->call, &profile.base);
    for (size_t i = 0; i < kept; i++)
        metodnet__attempt__free_unpacked(attempts[i], NULL);
    free(history);
    free(attempts);
    s_op_free(o);
}

static bool s_staff_id_ok(const char *id, char *region)
{
    return s_region_of(id, region) && strncmp(id + 2, "-s", 2) == 0 && strlen(id) > 4 && strlen(id) <= 40;
}

static void s_get_profile(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetProfileRequest *req = (const Metodnet__GetProfileRequest *)request;
    op *o = s_op_new(ud, call, request);
    if (!s_staff_id_ok(req->id, o->region) || !s_region_readable(o->caller, o->region)) {
        s_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет");
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", o->region, req->id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = 100};
    if (entity_store_list(o->d->store, &q, s_profile_listed, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

/* The latest completed attempt of a person into o->latest (NULL when none), then `then`. */
static void s_latest_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                            const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "последний результат не получен: %s", error ? error : "?");
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    s_free_message(o->latest);
    o->latest = n > 0 ? metodnet__attempt__unpack(NULL, items[0].len, items[0].data) : NULL;
    if (n > 0 && (o->latest == NULL || o->latest->result == NULL)) {
        s_fail(o, CODE(INTERNAL), s_corrupt_ru);
        return;
    }
    o->then(o);
}

static void s_latest_result(op *o, const char *staff_id, op_step then)
{
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", o->region, staff_id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = 1};
    o->then = then;
    if (entity_store_list(o->d->store, &q, s_latest_listed, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), s_unavailable_ru);
}

/* ---------- routes (ИОМ) ---------- */

static const char *const s_route_not_found_ru = "Индивидуальный образовательный маршрут ещё не составлен";

static bool s_route_key(const char *staff_id, char *region, char *key, size_t size)
{
    if (!s_staff_id_ok(staff_id, region))
        return false;
    snprintf(key, size, "diag:{r:%s}:route:%s", region, staff_id);
    return true;
}

static void s_route_present(op *o)
{
    Metodnet__Route *r = (Metodnet__Route *)(o->next ? o->next : o->current);
    if (o->latest)
        diag_route_check_deficits(r, o->latest->result);
    diag_route_flag_overdue(r, date_today());
    s_reply(o, &r->base);
}

static void s_get_route_loaded(op *o)
{
    Metodnet__Route *r = (Metodnet__Route *)o->current;
    if (!s_route_allows(o->caller, r, SCOPE_READ)) {
        s_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    s_audit(o->d, o->call, "read", "route", r->id, r->region_id);
    s_latest_result(o, r->staff_id, s_route_present);
}

static void s_get_route(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRouteRequest *req = (const Metodnet__GetRouteRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(req->id, o->region, key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__route__descriptor, &o->current, s_route_not_found_ru, s_get_route_loaded);
}

/* Writes o->next (a route) over o->current (NULL: create); replies with the presented route. */
static void s_route_after_write(op *o)
{
    s_route_present(o);
}

static void s_route_save(op *o, const char *event_type, const ProtobufCMessage *event_entity)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current, *next = (Metodnet__Route *)o->next;
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:route:%s", next->region_id, next->staff_id);
    int64_t version = cur ? cur->version : 0;
    s_stamp(o->next, version + 1);
    if (cur)
        s_set(&next->created_at, cur->created_at);
    /* overdue and closed are derived on read, never stored */
    for (size_t i = 0; i < next->n_items; i++)
        next->items[i]->overdue = false;
    diag_layout old_layout, new_layout;
    if (cur)
        s_route_layout(cur, &old_layout);
    s_route_layout(next, &new_layout);
    diag_write w = {.key = key,
                    .entity = o->next,
                    .expected_version = version,
                    .new_version = version + 1,
                    .old_layout = cur ? &old_layout : NULL,
                    .new_layout = &new_layout,
                    .event_type = event_type,
                    .event_entity_id = next->id,
                    .event_entity = event_entity};
    o->exists_ru = "Маршрут уже составил кто-то другой: перечитайте его";
    s_audit_when_stored(o, cur ? "update" : "create", "route", next->id, next->region_id);
    s_save(o, &w, s_route_after_write);
}

/* ----- generation ----- */

static void s_generate_compose(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    if (o->failed) {
        s_fail(o, o->fail_code, o->fail_message);
        return;
    }
    const Metodnet__Result *result = o->latest->result;
    Metodnet__Route *route;
    if (o->current) {
        o->next = pbfield_clone(o->current);
        if (o->next == NULL)
            abort();
        route = (Metodnet__Route *)o->next;
    } else {
        route = malloc(sizeof *route);
        if (route == NULL)
            abort();
        metodnet__route__init(route);
        route->id = diag_strdup(result->staff_id);
        route->region_id = diag_strdup(result->region_id);
        route->staff_id = diag_strdup(result->staff_id);
        o->next = &route->base;
    }
    /* the route's scope: the person's organizations and municipalities as the result recorded them */
    s_copy_strings(&route->organization_ids, &route->n_organization_ids, result->organization_ids,
                   result->n_organization_ids);
    s_copy_strings(&route->municipality_ids, &route->n_municipality_ids, result->municipality_ids,
                   result->n_municipality_ids);
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    diag_route_input input = {
        .result = result,
        .programmes = o->programmes,
        .n_programmes = o->n_programmes,
        .sites = o->sites,
        .n_sites = o->n_sites,
        .home_municipality = result->n_municipality_ids ? result->municipality_ids[0] : NULL,
        .starts_on = *req->starts_on ? req->starts_on : today,
    };
    diag_route_generate(route, &input);
    s_route_save(o, "route.generated", NULL);
}

static void s_generate_step_done(op *o)
{
    if (--o->pending == 0)
        s_generate_compose(o);
}

static void s_generate_call_failed(op *o, const Metodnet__Status *status, const char *what)
{
    if (!o->failed) {
        o->failed = true;
        o->fail_code = status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE);
        snprintf(o->fail_message, sizeof o->fail_message,
                 "%s временно недоступен: маршрут не составлен, повторите позже", what);
    }
    log_error(service_call_request_id(o->call), "%s: %s", what, status->message ? status->message : "?");
}

static void s_programmes_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        s_generate_call_failed(o, status, "Каталог программ ДПП");
    } else {
        const Metodnet__ListProgrammesResponse *list = (const Metodnet__ListProgrammesResponse *)response;
        for (size_t i = 0; i < list->n_items; i++) {
            bool seen = false;
            for (size_t j = 0; j < o->n_programmes && !seen; j++)
                seen = strcmp(o->programmes[j]->id, list->items[i]->id) == 0;
            if (seen)
                continue;
            Metodnet__Programme **grown = realloc(o->programmes, (o->n_programmes + 1) * sizeof *grown);
            if (grown == NULL)
                abort();
            o->programmes = grown;
            o->programmes[o->n_programmes] = (Metodnet__Programme *)pbfield_clone(&list->items[i]->base);
            if (o->programmes[o->n_programmes] == NULL)
                abort();
            o->n_programmes++;
        }
    }
    s_generate_step_done(o);
}

static void s_list_sites_page(op *o);

static void s_organizations_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        s_generate_call_failed(o, status, "Реестр организаций");
        s_generate_step_done(o);
        return;
    }
    const Metodnet__ListOrganizationsResponse *list = (const Metodnet__ListOrganizationsResponse *)response;
    int today = date_today();
    for (size_t i = 0; i < list->n_items; i++) {
        if (!diag_organization_is_internship_site(list->items[i], today))
            continue;
        Metodnet__Organization **grown = realloc(o->sites, (o->n_sites + 1) * sizeof *grown);
        if (grown == NULL)
            abort();
        o->sites = grown;
        o->sites[o->n_sites] = (Metodnet__Organization *)pbfield_clone(&list->items[i]->base);
        if (o->sites[o->n_sites] == NULL)
            abort();
        o->n_sites++;
    }
    /* the registry post-filters pages of the region's ~1,500 organizations: at most 8 pages of 500 */
    if (list->next_cursor && *list->next_cursor && strlen(list->next_cursor) < sizeof o->cursor && ++o->pages < 8) {
        snprintf(o->cursor, sizeof o->cursor, "%s", list->next_cursor);
        s_list_sites_page(o);
        return;
    }
    s_generate_step_done(o);
}

static void s_list_sites_page(op *o)
{
    /* the registry filters by an internship site valid today: only the region's sites travel */
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    Metodnet__ListOrganizationsRequest req = METODNET__LIST_ORGANIZATIONS_REQUEST__INIT;
    req.limit = 500;
    req.cursor = o->cursor;
    req.region_id = o->region;
    req.site_kind = "internship";
    req.site_on = today;
    service_client_request r = {.service = "registry",
                                .method = "ListOrganizations",
                                .request = &req.base,
                                .response = &metodnet__list_organizations_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->d->registry, &r, s_organizations_listed, o) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = CODE(UNAVAILABLE);
        s_generate_call_failed(o, &st, "Реестр организаций");
        s_generate_step_done(o);
    }
}

static void s_generate_route_loaded(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (cur) {
        if (req->expected_version > 0 && req->expected_version != cur->version) {
            s_fail(o, CODE(VERSION_MISMATCH), "Маршрут уже изменил кто-то другой: перечитайте его");
            return;
        }
        for (size_t i = 0; i < cur->n_items; i++)
            if (cur->status == METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED &&
                (cur->items[i]->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED ||
                 cur->items[i]->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS)) {
                s_fail(o, CODE(CONFLICT),
                       "Утверждённый маршрут ещё выполняется: завершите или отмените его пункты, "
                       "затем составьте новый");
                return;
            }
    }
    const Metodnet__Result *result = o->latest->result;
    o->pending = 1 + (int)result->n_deficits + 1; /* +1 until every call is issued */
    for (size_t i = 0; i < result->n_deficits; i++) {
        Metodnet__ListProgrammesRequest lp = METODNET__LIST_PROGRAMMES_REQUEST__INIT;
        lp.limit = 100;
        lp.region_id = o->region;
        lp.competence = result->deficits[i];
        service_client_request r = {.service = "registry",
                                    .method = "ListProgrammes",
                                    .request = &lp.base,
                                    .response = &metodnet__list_programmes_response__descriptor,
                                    .caller = service_client_system_principal(),
                                    .request_id = service_call_request_id(o->call),
                                    .timeout_ms = 5000};
        if (service_client_call(o->d->registry, &r, s_programmes_listed, o) != 0) {
            Metodnet__Status st = METODNET__STATUS__INIT;
            st.code = CODE(UNAVAILABLE);
            s_generate_call_failed(o, &st, "Каталог программ ДПП");
            o->pending--;
        }
    }
    o->pages = 0;
    o->cursor[0] = '\0';
    s_list_sites_page(o);
    s_generate_step_done(o);
}

static void s_generate_latest_loaded(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    if (o->latest == NULL || !s_attempt_allows(o->caller, o->latest, SCOPE_READ)) {
        s_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет: маршрут строится по дефицитам");
        return;
    }
    if (!s_attempt_allows(o->caller, o->latest, SCOPE_WRITE) || !s_may_build_routes(o->caller)) {
        s_fail(o, CODE(PERMISSION_DENIED), "Маршрут составляет методист или региональный оператор");
        return;
    }
    if (o->latest->result->n_deficits == 0) {
        s_fail(o, CODE(CONFLICT), "По последнему результату дефицитов нет: маршрут не нужен");
        return;
    }
    char key[DIAG_KEY_MAX];
    s_route_key(req->id, o->region, key, sizeof key);
    s_load(o, key, &metodnet__route__descriptor, &o->current, NULL, s_generate_route_loaded);
}

static void s_generate_route(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)request;
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(req->id, o->region, key, sizeof key) || !s_region_readable(o->caller, o->region)) {
        s_fail(o, CODE(NOT_FOUND), "Сотрудник не найден");
        return;
    }
    if (*req->starts_on && !validate_date(&o->v, "startsOn", req->starts_on, false, NULL)) {
        s_fail_validation(o);
        return;
    }
    s_latest_result(o, req->id, s_generate_latest_loaded);
}

/* ----- edit, approve, item status ----- */

typedef enum { ROUTE_EDIT, ROUTE_APPROVE, ROUTE_ITEM_STATUS } route_action;

static route_action s_route_action(const op *o)
{
    if (o->request->descriptor == &metodnet__update_route_request__descriptor)
        return ROUTE_EDIT;
    if (o->request->descriptor == &metodnet__approve_route_request__descriptor)
        return ROUTE_APPROVE;
    return ROUTE_ITEM_STATUS;
}

static void s_validate_route_item(op *o, const Metodnet__RouteItem *item, size_t i)
{
    char path[96];
    snprintf(path, sizeof path, "route.items[%zu].kind", i);
    if (item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_UNSPECIFIED)
        validation_add(&o->v, path, "Вид пункта: programme, internship, self_education, event или mentoring");
    snprintf(path, sizeof path, "route.items[%zu].competence", i);
    if (!diag_competence_code_valid(item->competence))
        validation_add(&o->v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
    snprintf(path, sizeof path, "route.items[%zu].title", i);
    validate_text(&o->v, path, item->title, 400, true);
    snprintf(path, sizeof path, "route.items[%zu].dueOn", i);
    validate_date(&o->v, path, item->due_on, true, NULL);
    snprintf(path, sizeof path, "route.items[%zu].programmeId", i);
    if (item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME && *item->programme_id &&
        !id_valid(item->programme_id))
        validation_add(&o->v, path, "Неверный идентификатор программы");
    snprintf(path, sizeof path, "route.items[%zu].organizationId", i);
    if (*item->organization_id && !id_valid(item->organization_id))
        validation_add(&o->v, path, "Неверный идентификатор организации");
    snprintf(path, sizeof path, "route.items[%zu].referenceId", i);
    if (*item->reference_id && !id_valid(item->reference_id))
        validation_add(&o->v, path, "Неверный идентификатор");
}

/* The methodologist's edit of a draft: items given replace the list; a known id keeps its status,
 * evidence and record; an item without id is new and planned. */
static void s_route_edit(op *o)
{
    const Metodnet__UpdateRouteRequest *req = (const Metodnet__UpdateRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (req->route == NULL || req->n_update_mask == 0) {
        s_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    for (size_t i = 0; i < req->n_update_mask; i++)
        if (strcmp(req->update_mask[i], "items") != 0)
            validation_add(&o->v, "route", "Изменить можно только пункты маршрута (items)");
    if (req->route->n_items > 200)
        validation_add(&o->v, "route.items", "Не больше 200 пунктов");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    if (cur->status != METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT) {
        s_fail(o, CODE(CONFLICT), "Утверждённый маршрут не редактируется: статусы пунктов меняются отдельно");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    Metodnet__RouteItem **items = calloc(req->route->n_items + 1, sizeof *items);
    if (items == NULL)
        abort();
    for (size_t i = 0; i < req->route->n_items; i++) {
        const Metodnet__RouteItem *given = req->route->items[i];
        s_validate_route_item(o, given, i);
        Metodnet__RouteItem *item = (Metodnet__RouteItem *)pbfield_clone(&given->base);
        if (item == NULL)
            abort();
        items[i] = item;
        if (*given->id) {
            Metodnet__RouteItem *known = diag_route_item(cur, given->id);
            bool repeated = false;
            for (size_t j = 0; j < i && !repeated; j++)
                repeated = strcmp(items[j]->id, given->id) == 0;
            if (known == NULL || repeated) {
                char path[64];
                snprintf(path, sizeof path, "route.items[%zu].id", i);
                validation_add(&o->v, path, known ? "Пункт указан дважды" : "Такого пункта в маршруте нет");
                continue;
            }
            item->status = known->status;
            s_set(&item->evidence, known->evidence);
            s_set(&item->completed_on, known->completed_on);
            s_set(&item->document_number, known->document_number);
            s_set(&item->qualification_record_id, known->qualification_record_id);
        } else {
            char id[96];
            snprintf(id, sizeof id, "%s-i%d", next->id, ++next->next_item);
            s_set(&item->id, id);
            item->status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED;
            s_set(&item->evidence, "");
            s_set(&item->completed_on, "");
            s_set(&item->document_number, "");
            s_set(&item->qualification_record_id, "");
        }
        item->overdue = false;
    }
    for (size_t i = 0; i < next->n_items; i++)
        s_free_message(next->items[i]);
    free(next->items);
    next->items = items;
    next->n_items = req->route->n_items;
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    s_route_save(o, "route.updated", NULL);
}

static void s_route_approve(op *o)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (cur->status != METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT) {
        s_fail(o, CODE(CONFLICT), "Маршрут уже утверждён");
        return;
    }
    if (cur->n_items == 0) {
        s_fail(o, CODE(CONFLICT), "В маршруте нет ни одного пункта");
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    char now[40];
    s_now(now, sizeof now);
    next->status = METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED;
    s_set(&next->approved_by, o->caller->user_id);
    s_set(&next->approved_at, now);
    s_route_save(o, "route.approved", NULL);
}

static void s_item_status_store(op *o)
{
    const Metodnet__SetRouteItemStatusRequest *req = (const Metodnet__SetRouteItemStatusRequest *)o->request;
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, req->item_id);
    bool done = item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    s_route_save(o, done ? "route_item.done" : "route_item.updated", done ? &item->base : NULL);
}

static void s_record_created(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(o->call), "реестр не принял запись о повышении квалификации: %s",
                  status->message ? status->message : "?");
        if (status->code == CODE(INVALID_ARGUMENT) || status->code == CODE(CONFLICT))
            s_fail(o, status->code,
                   status->message && *status->message ? status->message
                                                       : "Реестр отклонил запись о повышении квалификации");
        else
            s_fail(o, CODE(UNAVAILABLE), "Реестр временно недоступен: пункт не отмечен выполненным, повторите позже");
        return;
    }
    const Metodnet__SetRouteItemStatusRequest *req = (const Metodnet__SetRouteItemStatusRequest *)o->request;
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, req->item_id);
    s_set(&item->qualification_record_id, ((const Metodnet__QualificationRecord *)response)->id);
    s_item_status_store(o);
}

static void s_route_item_status(op *o)
{
    const Metodnet__SetRouteItemStatusRequest *req = (const Metodnet__SetRouteItemStatusRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (cur->status != METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED) {
        s_fail(o, CODE(CONFLICT), "Маршрут ещё не утверждён методистом");
        return;
    }
    Metodnet__RouteItem *known = diag_route_item(cur, req->item_id);
    if (known == NULL) {
        s_fail(o, CODE(NOT_FOUND), "Такого пункта в маршруте нет");
        return;
    }
    validate_text(&o->v, "evidence", req->evidence, 2000, false);
    validate_text(&o->v, "documentNumber", req->document_number, 100, false);
    int completed = 0;
    if (*req->completed_on && validate_date(&o->v, "completedOn", req->completed_on, false, &completed) &&
        completed > date_today())
        validation_add(&o->v, "completedOn", "Дата завершения не может быть в будущем");
    if (req->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_UNSPECIFIED)
        validation_add(&o->v, "status", "Укажите новое состояние: in_progress, done или cancelled");
    if (!validation_ok(&o->v)) {
        s_fail_validation(o);
        return;
    }
    if (!diag_route_transition_allowed(known->status, req->status)) {
        char message[200];
        snprintf(message, sizeof message, "Переход пункта из состояния «%s» в «%s» невозможен",
                 s_word(&metodnet__route_item_status__descriptor, known->status),
                 s_word(&metodnet__route_item_status__descriptor, req->status));
        s_fail(o, CODE(CONFLICT), message);
        return;
    }
    o->next = pbfield_clone(o->current);
    if (o->next == NULL)
        abort();
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, req->item_id);
    item->status = req->status;
    if (*req->evidence)
        s_set(&item->evidence, req->evidence);
    if (*req->document_number)
        s_set(&item->document_number, req->document_number);
    bool done = req->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    if (done) {
        char today[16];
        diag_days_to_date(date_today(), today, sizeof today);
        s_set(&item->completed_on, *req->completed_on ? req->completed_on : today);
    }
    if (!done || item->kind != METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME || *item->qualification_record_id) {
        s_item_status_store(o);
        return;
    }
    /* a completed programme becomes a qualification record in the registry (idempotent by item id) */
    Metodnet__QualificationRecord record = METODNET__QUALIFICATION_RECORD__INIT;
    record.region_id = cur->region_id;
    record.staff_id = cur->staff_id;
    record.programme_id = item->programme_id;
    record.programme_title = item->title;
    record.completed_on = item->completed_on;
    record.hours = item->hours;
    record.document_number = item->document_number;
    record.source = "route";
    record.route_item_id = item->id;
    char *mask[] = {"staff_id", "programme_id",    "programme_title", "completed_on",
                    "hours",    "document_number", "source",          "route_item_id"};
    Metodnet__CreateQualificationRecordRequest create = METODNET__CREATE_QUALIFICATION_RECORD_REQUEST__INIT;
    create.record = &record;
    create.update_mask = mask;
    create.n_update_mask = sizeof mask / sizeof mask[0];
    service_client_request r = {.service = "registry",
                                .method = "CreateQualificationRecord",
                                .request = &create.base,
                                .response = &metodnet__qualification_record__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->d->registry, &r, s_record_created, o) != 0)
        s_fail(o, CODE(UNAVAILABLE), "Реестр временно недоступен");
}

static void s_route_change_loaded(op *o)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    route_action action = s_route_action(o);
    if (!s_route_allows(o->caller, cur, SCOPE_READ)) {
        s_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    if (!s_route_allows(o->caller, cur, SCOPE_WRITE) ||
        (action != ROUTE_ITEM_STATUS && !s_may_build_routes(o->caller))) {
        s_fail(o, CODE(PERMISSION_DENIED),
               action == ROUTE_ITEM_STATUS ? s_denied_ru : "Маршрут составляет и утверждает методист");
        return;
    }
    int64_t expected = pbfield_int64(o->request, "expected_version");
    if (expected > 0 && expected != cur->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Маршрут уже изменил кто-то другой (текущая версия %lld): перечитайте его и повторите",
                 (long long)cur->version);
        s_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    snprintf(o->region, sizeof o->region, "%s", cur->region_id);
    if (action == ROUTE_EDIT)
        s_route_edit(o);
    else if (action == ROUTE_APPROVE)
        s_route_approve(o);
    else
        s_route_item_status(o);
}

static void s_route_change(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(pbfield_string(request, "id"), o->region, key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__route__descriptor, &o->current, s_route_not_found_ru, s_route_change_loaded);
}

/* ---------- import of results from an external diagnostic centre (docs/import.md) ----------
 *
 * campaign (independent, open or closed; the caller a region administrator or a methodologist) →
 * its instrument at the pinned version → the file read into rows (diagnostics_import) → people
 * resolved by id or external id through the registry (ResolveStaff, 1000 refs a call, as the system;
 * scope is checked here on each person for the caller) → a person named by two rows rejects both →
 * rows with at most IMPORT_WINDOW in flight: load the person's attempt of the campaign, decide
 * (create / complete an assignment / replace an earlier import / unchanged / refuse over a result
 * taken on the platform), one entity_store write per row with the result.completed event. */

#define IMPORT_WINDOW        32
#define IMPORT_RESOLVE_BATCH 1000

typedef struct {
    diag_import_row *row;
    Metodnet__StaffMember *staff; /* borrowed from the job */
} import_item;

typedef struct {
    op *o; /* call, caller, campaign (o->current), instrument */
    bool dry_run;
    diag_import_sheet sheet;
    Metodnet__StaffMember **staff; /* resolved, owned */
    size_t n_staff;
    char **refs; /* distinct refs to resolve (borrowed from rows) */
    size_t n_refs, next_ref;
    import_item *items; /* one per row */
    size_t next_row, in_flight;
    int created, updated, unchanged, rejected;
    bool store_failed, pumping, finished;
} import_job;

typedef struct {
    import_job *job;
    import_item *item;
    Metodnet__Attempt *current;
    Metodnet__Attempt *next;
} import_task;

static void s_import_job_free(import_job *job)
{
    diag_import_sheet_free(&job->sheet);
    for (size_t i = 0; i < job->n_staff; i++)
        s_free_message(job->staff[i]);
    free(job->staff);
    free(job->refs);
    free(job->items);
    s_op_free(job->o);
    free(job);
}

static void s_import_reject(import_job *job, diag_import_row *row)
{
    if (!row->rejected) {
        row->rejected = true;
        job->rejected++;
    }
}

static void s_import_finish(import_job *job)
{
    job->finished = true;
    diag_import_errors_sort(&job->sheet);
    Metodnet__ImportReport report = METODNET__IMPORT_REPORT__INIT;
    size_t n = job->sheet.n_errors;
    Metodnet__ImportError *errors = calloc(n ? n : 1, sizeof *errors);
    Metodnet__ImportError **pointers = calloc(n ? n : 1, sizeof *pointers);
    if (errors == NULL || pointers == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        metodnet__import_error__init(&errors[i]);
        errors[i].row = (int32_t)job->sheet.errors[i].row;
        errors[i].column = job->sheet.errors[i].column;
        errors[i].message = job->sheet.errors[i].message;
        pointers[i] = &errors[i];
    }
    report.rows = (int32_t)job->sheet.n_rows;
    report.created = job->created;
    report.updated = job->updated;
    report.unchanged = job->unchanged;
    report.rejected = job->rejected;
    report.errors = pointers;
    report.n_errors = n;
    report.errors_truncated = job->sheet.errors_truncated;
    report.dry_run = job->dry_run;
    service_call_reply(job->o->call, &report.base);
    free(errors);
    free(pointers);
    s_import_job_free(job);
}

static void s_import_pump(import_job *job);

static void s_import_task_done(import_task *t)
{
    import_job *job = t->job;
    s_free_message(t->current);
    s_free_message(t->next);
    free(t);
    job->in_flight--;
    if (!job->pumping)
        s_import_pump(job);
}

static void s_import_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    import_task *t = ud;
    import_job *job = t->job;
    diag_import_row *row = t->item->row;
    switch (result) {
    case ENTITY_OK: {
        bool replaced = t->current && t->current->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
        if (replaced)
            job->updated++;
        else
            job->created++;
        s_audit(job->o->d, job->o->call, replaced ? "update" : "create", "result", t->next->id, job->o->region);
        break;
    }
    case ENTITY_EXISTS:
    case ENTITY_VERSION_MISMATCH:
    case ENTITY_NOT_FOUND:
        diag_import_error_add(&job->sheet, row->row, "",
                              "Результат этого сотрудника изменился во время импорта; повторите импорт");
        s_import_reject(job, row);
        break;
    default:
        log_error(service_call_request_id(job->o->call), "импорт результатов: строка %zu не записана: %s", row->row,
                  error ? error : "?");
        job->store_failed = true;
        diag_import_error_add(&job->sheet, row->row, "", "%s", s_unavailable_ru);
        s_import_reject(job, row);
        break;
    }
    s_import_task_done(t);
}

static void s_import_attempt_loaded(entity_result result, const uint8_t *data, size_t len, int64_t stored_version,
                                    const char *error, void *ud)
{
    (void)stored_version;
    import_task *t = ud;
    import_job *job = t->job;
    op *o = job->o;
    diag_import_row *row = t->item->row;
    const Metodnet__StaffMember *staff = t->item->staff;
    const Metodnet__Campaign *campaign = (const Metodnet__Campaign *)o->current;
    if (result == ENTITY_OK) {
        t->current = metodnet__attempt__unpack(NULL, len, data);
        if (t->current == NULL) {
            diag_import_error_add(&job->sheet, row->row, "", "%s", s_corrupt_ru);
            s_import_reject(job, row);
            s_import_task_done(t);
            return;
        }
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(o->call), "импорт результатов: попытка не прочитана: %s",
                  error ? error : "?");
        job->store_failed = true;
        diag_import_error_add(&job->sheet, row->row, "", "%s", s_unavailable_ru);
        s_import_reject(job, row);
        s_import_task_done(t);
        return;
    }
    Metodnet__Attempt *cur = t->current;
    if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && cur->result &&
        strcmp(cur->result->source, "import") != 0) {
        diag_import_error_add(&job->sheet, row->row, "",
                              "Сотрудник уже прошёл эту диагностику на платформе: импорт не заменяет его результат");
        s_import_reject(job, row);
        s_import_task_done(t);
        return;
    }
    char attempt_id[72], key[DIAG_KEY_MAX], now[40];
    diag_attempt_id(campaign->id, staff->id, attempt_id, sizeof attempt_id);
    s_key("attempt", attempt_id, "-c", key, sizeof key);
    Metodnet__Result *r = diag_import_result(o->instrument, row);
    s_set(&r->id, attempt_id);
    s_set(&r->region_id, campaign->region_id);
    s_set(&r->staff_id, staff->id);
    s_set(&r->campaign_id, campaign->id);
    s_set(&r->instrument_id, campaign->instrument_id);
    r->instrument_version = campaign->instrument_version;
    s_copy_strings(&r->organization_ids, &r->n_organization_ids, staff->organization_ids, staff->n_organization_ids);
    s_copy_strings(&r->municipality_ids, &r->n_municipality_ids, staff->municipality_ids, staff->n_municipality_ids);
    if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && diag_import_same(cur->result, r)) {
        s_free_message(r);
        job->unchanged++;
        s_import_task_done(t);
        return;
    }
    if (job->dry_run) {
        s_free_message(r);
        if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED)
            job->updated++;
        else
            job->created++;
        s_import_task_done(t);
        return;
    }
    s_now(now, sizeof now);
    if (cur) {
        t->next = (Metodnet__Attempt *)pbfield_clone(&cur->base);
        if (t->next == NULL)
            abort();
    } else {
        t->next = malloc(sizeof *t->next);
        if (t->next == NULL)
            abort();
        metodnet__attempt__init(t->next);
        s_set(&t->next->id, attempt_id);
        s_set(&t->next->region_id, campaign->region_id);
        s_set(&t->next->campaign_id, campaign->id);
        s_set(&t->next->staff_id, staff->id);
        s_set(&t->next->instrument_id, campaign->instrument_id);
        t->next->instrument_version = campaign->instrument_version;
    }
    Metodnet__Attempt *next = t->next;
    next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    if (*next->started_at == '\0')
        s_set(&next->started_at, r->completed_at);
    s_set(&next->submitted_at, now);
    for (size_t i = 0; i < next->n_answers; i++)
        s_free_message(next->answers[i]);
    free(next->answers);
    next->answers = NULL;
    next->n_answers = 0;
    s_copy_strings(&next->organization_ids, &next->n_organization_ids, staff->organization_ids,
                   staff->n_organization_ids);
    s_copy_strings(&next->municipality_ids, &next->n_municipality_ids, staff->municipality_ids,
                   staff->n_municipality_ids);
    s_free_message(next->result);
    next->result = r;
    int64_t version = cur ? cur->version + 1 : 1;
    s_stamp(&next->base, version);
    diag_layout old_layout, new_layout;
    if (cur)
        s_attempt_layout(cur, &old_layout);
    s_attempt_layout(next, &new_layout);
    diag_write w = {.key = key,
                    .entity = &next->base,
                    .expected_version = cur ? cur->version : 0,
                    .new_version = version,
                    .old_layout = cur ? &old_layout : NULL,
                    .new_layout = &new_layout,
                    .event_type = "result.completed",
                    .event_entity_id = next->id,
                    .event_entity = &r->base};
    if (s_store(o->d, o->call, &w, s_import_written, t) != 0)
        s_import_written(ENTITY_ERROR, 0, "запрос к Redis не отправлен", t);
}

static void s_import_pump(import_job *job)
{
    job->pumping = true;
    while (!job->store_failed && job->in_flight < IMPORT_WINDOW && job->next_row < job->sheet.n_rows) {
        import_item *item = &job->items[job->next_row++];
        if (item->row->rejected || item->staff == NULL)
            continue;
        char attempt_id[72], key[DIAG_KEY_MAX];
        if (!diag_attempt_id(((Metodnet__Campaign *)job->o->current)->id, item->staff->id, attempt_id,
                             sizeof attempt_id) ||
            !s_key("attempt", attempt_id, "-c", key, sizeof key)) {
            diag_import_error_add(&job->sheet, item->row->row, "", "Неверный код сотрудника «%.40s»", item->staff->id);
            s_import_reject(job, item->row);
            continue;
        }
        import_task *t = calloc(1, sizeof *t);
        if (t == NULL)
            abort();
        t->job = job;
        t->item = item;
        job->in_flight++;
        if (entity_store_get(job->o->d->store, key, s_import_attempt_loaded, t) != 0) {
            job->in_flight--;
            free(t);
            job->store_failed = true;
            diag_import_error_add(&job->sheet, item->row->row, "", "%s", s_unavailable_ru);
            s_import_reject(job, item->row);
        }
    }
    job->pumping = false;
    if (job->in_flight == 0 && !job->finished) {
        if (job->store_failed) /* rows not reached are not stored: say so once */
            for (size_t i = job->next_row; i < job->sheet.n_rows; i++)
                if (!job->sheet.rows[i].rejected && job->items[i].staff) {
                    diag_import_error_add(&job->sheet, job->sheet.rows[i].row, "", "%s", s_unavailable_ru);
                    s_import_reject(job, &job->sheet.rows[i]);
                }
        s_import_finish(job);
    }
}

static Metodnet__StaffMember *s_import_find(import_job *job, const char *ref, bool external)
{
    if (*ref == '\0')
        return NULL;
    for (size_t i = 0; i < job->n_staff; i++) {
        const Metodnet__StaffMember *s = job->staff[i];
        if (strcmp(external ? s->external_id : s->id, ref) == 0)
            return job->staff[i];
    }
    return NULL;
}

/* People of every row, scope, duplicates; then the rows. */
static void s_import_match(import_job *job)
{
    op *o = job->o;
    diag_import_sheet *sheet = &job->sheet;
    for (size_t i = 0; i < sheet->n_rows; i++) {
        diag_import_row *row = &sheet->rows[i];
        job->items[i].row = row;
        if (row->rejected)
            continue;
        Metodnet__StaffMember *by_id = s_import_find(job, row->staff_id, false);
        Metodnet__StaffMember *by_external = s_import_find(job, row->external_id, true);
        const char *column = *row->staff_id ? sheet->staff_header : sheet->external_header;
        const char *ref = *row->staff_id ? row->staff_id : row->external_id;
        Metodnet__StaffMember *s = *row->staff_id ? by_id : by_external;
        if (s == NULL || (*row->staff_id && *row->external_id && by_external == NULL)) {
            if (s != NULL) {
                column = sheet->external_header;
                ref = row->external_id;
            }
            diag_import_error_add(sheet, row->row, column, "Сотрудник «%.80s» не найден в реестре региона", ref);
            s_import_reject(job, row);
            continue;
        }
        if (*row->staff_id && *row->external_id && by_id != by_external) {
            diag_import_error_add(sheet, row->row, sheet->external_header,
                                  "Внешний идентификатор «%.80s» принадлежит другому сотруднику, не «%.40s»",
                                  row->external_id, row->staff_id);
            s_import_reject(job, row);
            continue;
        }
        if (!s_person_allows(o->caller, o->region, s->id, s->organization_ids, s->n_organization_ids,
                             s->municipality_ids, s->n_municipality_ids, SCOPE_WRITE)) {
            bool readable = s_person_allows(o->caller, o->region, s->id, s->organization_ids, s->n_organization_ids,
                                            s->municipality_ids, s->n_municipality_ids, SCOPE_READ);
            if (readable)
                diag_import_error_add(sheet, row->row, column, "Нет прав вносить результаты сотрудника «%.80s»", ref);
            else
                diag_import_error_add(sheet, row->row, column, "Сотрудник «%.80s» не найден в реестре региона", ref);
            s_import_reject(job, row);
            continue;
        }
        job->items[i].staff = s;
    }
    /* one person, one row: every row of a person named twice is refused */
    for (size_t i = 0; i < sheet->n_rows; i++) {
        if (job->items[i].staff == NULL)
            continue;
        char others[200] = "";
        bool twice = false;
        for (size_t j = 0; j < sheet->n_rows; j++)
            if (j != i && job->items[j].staff == job->items[i].staff) {
                size_t used = strlen(others);
                if (used < sizeof others - 16)
                    snprintf(others + used, sizeof others - used, "%s%zu", twice ? ", " : "", sheet->rows[j].row);
                twice = true;
            }
        if (twice) {
            diag_import_error_add(sheet, sheet->rows[i].row, "",
                                  "Сотрудник «%.40s» встречается в файле несколько раз (также строки %s): "
                                  "ни одна из этих строк не принята",
                                  job->items[i].staff->id, others);
            s_import_reject(job, &sheet->rows[i]);
        }
    }
    for (size_t i = 0; i < sheet->n_rows; i++)
        if (sheet->rows[i].rejected)
            job->items[i].staff = NULL;
    s_import_pump(job);
}

static void s_import_resolve_next(import_job *job);

static void s_import_resolved(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    import_job *job = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(job->o->call), "реестр не нашёл сотрудников для импорта: %s",
                  status->message ? status->message : "?");
        service_call_fail(job->o->call,
                          status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE),
                          "Реестр кадров временно недоступен: ничего не импортировано, повторите позже");
        s_import_job_free(job);
        return;
    }
    const Metodnet__ResolveStaffResponse *list = (const Metodnet__ResolveStaffResponse *)response;
    Metodnet__StaffMember **grown = realloc(job->staff, (job->n_staff + list->n_items + 1) * sizeof *grown);
    if (grown == NULL)
        abort();
    job->staff = grown;
    for (size_t i = 0; i < list->n_items; i++) {
        if (list->items[i]->region_id == NULL || strcmp(list->items[i]->region_id, job->o->region) != 0 ||
            s_import_find(job, list->items[i]->id, false))
            continue;
        job->staff[job->n_staff] = (Metodnet__StaffMember *)pbfield_clone(&list->items[i]->base);
        if (job->staff[job->n_staff] == NULL)
            abort();
        job->n_staff++;
    }
    s_import_resolve_next(job);
}

static void s_import_resolve_next(import_job *job)
{
    if (job->next_ref >= job->n_refs) {
        s_import_match(job);
        return;
    }
    size_t n = job->n_refs - job->next_ref;
    if (n > IMPORT_RESOLVE_BATCH)
        n = IMPORT_RESOLVE_BATCH;
    Metodnet__ResolveStaffRequest req = METODNET__RESOLVE_STAFF_REQUEST__INIT;
    req.region_id = job->o->region;
    req.refs = job->refs + job->next_ref;
    req.n_refs = n;
    job->next_ref += n;
    service_client_request r = {.service = "registry",
                                .method = "ResolveStaff",
                                .request = &req.base,
                                .response = &metodnet__resolve_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(job->o->call),
                                .timeout_ms = 10000};
    if (service_client_call(job->o->d->registry, &r, s_import_resolved, job) != 0) {
        service_call_fail(job->o->call, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
        s_import_job_free(job);
    }
}

static void s_import_add_ref(import_job *job, char *ref)
{
    if (*ref == '\0')
        return;
    for (size_t i = 0; i < job->n_refs; i++)
        if (strcmp(job->refs[i], ref) == 0)
            return;
    job->refs[job->n_refs++] = ref;
}

static void s_import_instrument_ready(op *o)
{
    const Metodnet__ImportResultsRequest *req = (const Metodnet__ImportResultsRequest *)o->request;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    int first = 0, last = 0;
    date_parse(c->starts_on, &first);
    date_parse(c->ends_on, &last);
    if (last > date_today())
        last = date_today();
    import_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        abort();
    job->o = o;
    job->dry_run = req->dry_run;
    diag_import_read(&job->sheet, (const char *)req->csv.data, req->csv.len, o->instrument, first, last);
    if (job->sheet.file_rejected) {
        job->rejected = (int)job->sheet.n_rows;
        s_import_finish(job);
        return;
    }
    for (size_t i = 0; i < job->sheet.n_rows; i++)
        if (job->sheet.rows[i].rejected)
            job->rejected++;
    job->items = calloc(job->sheet.n_rows + 1, sizeof *job->items);
    job->refs = calloc(2 * job->sheet.n_rows + 1, sizeof *job->refs);
    if (job->items == NULL || job->refs == NULL)
        abort();
    for (size_t i = 0; i < job->sheet.n_rows; i++) {
        if (job->sheet.rows[i].rejected)
            continue;
        s_import_add_ref(job, job->sheet.rows[i].staff_id);
        s_import_add_ref(job, job->sheet.rows[i].external_id);
    }
    s_import_resolve_next(job);
}

/* Who may import: the region's administrators (the regional centre works as one) and methodologists,
 * each for the people of their own scope. */
static bool s_may_import(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

/* The campaign of an import (or its template): readable, independent, opened; the caller may import. */
static bool s_import_campaign_ok(op *o)
{
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    if (!s_region_readable(o->caller, c->region_id)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return false;
    }
    if (!s_may_import(o->caller)) {
        s_fail(o, CODE(PERMISSION_DENIED),
               "Результаты внешней диагностики вносит региональный оператор (ЦНППМ) или методист муниципалитета");
        return false;
    }
    if (c->kind != METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_INDEPENDENT) {
        s_fail(o, CODE(CONFLICT), "Результаты внешнего центра вносятся только в кампанию независимой диагностики");
        return false;
    }
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN &&
        c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED) {
        s_fail(o, CODE(CONFLICT), "Кампания ещё не открыта: откройте её, чтобы закрепить версию инструмента");
        return false;
    }
    snprintf(o->region, sizeof o->region, "%s", c->region_id);
    return true;
}

static void s_import_campaign_loaded(op *o)
{
    if (!s_import_campaign_ok(o))
        return;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    s_instrument_at(o, c->instrument_id, c->instrument_version, s_import_instrument_ready);
}

static void s_import_begin(service_call *call, const ProtobufCMessage *request, void *ud, const char *campaign_id,
                           op_step then)
{
    op *o = s_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (campaign_id == NULL || *campaign_id == '\0') {
        validation_add(&o->v, "campaignId", "Укажите кампанию (campaignId), в которую вносятся результаты");
        s_fail_validation(o);
        return;
    }
    if (!s_key("campaign", campaign_id, "-c", key, sizeof key)) {
        s_fail(o, CODE(NOT_FOUND), s_campaign_not_found_ru);
        return;
    }
    s_load(o, key, &metodnet__campaign__descriptor, &o->current, s_campaign_not_found_ru, then);
}

static void s_import_results(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ImportResultsRequest *req = (const Metodnet__ImportResultsRequest *)request;
    s_import_begin(call, request, ud, req->campaign_id, s_import_campaign_loaded);
}

static void s_import_template_ready(op *o)
{
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    size_t len;
    char *csv = diag_import_template(o->instrument, &len);
    char filename[96];
    snprintf(filename, sizeof filename, "results-%s.csv", c->id);
    file.csv.data = (uint8_t *)csv;
    file.csv.len = len;
    file.filename = filename;
    file.rows = 1;
    s_reply(o, &file.base);
    free(csv);
}

static void s_import_template_loaded(op *o)
{
    if (!s_import_campaign_ok(o))
        return;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    s_instrument_at(o, c->instrument_id, c->instrument_version, s_import_template_ready);
}

static void s_import_results_template(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ImportResultsTemplateRequest *req = (const Metodnet__ImportResultsTemplateRequest *)request;
    s_import_begin(call, request, ud, req->campaign_id, s_import_template_loaded);
}

/* ---------- the method table ---------- */

static const service_handler_entry s_handlers[] = {
    {"ListFrameworks", s_list_frameworks},
    {"GetFramework", s_get_framework},
    {"UpdateFramework", s_update_framework},
    {"CreateInstrument", s_create_instrument},
    {"GetInstrument", s_get_instrument},
    {"UpdateInstrument", s_update_instrument},
    {"ListInstruments", s_list_instruments},
    {"CreateCampaign", s_create_campaign},
    {"GetCampaign", s_get_campaign},
    {"UpdateCampaign", s_update_campaign},
    {"ListCampaigns", s_list_campaigns},
    {"OpenCampaign", s_open_campaign},
    {"CloseCampaign", s_close_campaign},
    {"GetCampaignProgress", s_campaign_progress},
    {"StartAttempt", s_start_attempt},
    {"GetAttempt", s_get_attempt},
    {"SaveAnswers", s_save_answers},
    {"SubmitAttempt", s_submit_attempt},
    {"ListAttempts", s_list_attempts},
    {"GetResult", s_get_result},
    {"ListResults", s_list_results},
    {"GetCompetenceProfile", s_get_profile},
    {"GetRoute", s_get_route},
    {"GenerateRoute", s_generate_route},
    {"UpdateRoute", s_route_change},
    {"ApproveRoute", s_route_change},
    {"SetRouteItemStatus", s_route_change},
    {"ImportResults", s_import_results},
    {"ImportResultsTemplate", s_import_results_template},
};

static const service_methods s_service_methods = {&metodnet__diagnostics__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *diagnostics_methods(void)
{
    return &s_service_methods;
}

static void s_free_parts(diagnostics *d)
{
    service_client_destroy(&d->registry);
    entity_store_destroy(&d->store);
    audit_destroy(&d->audit);
    for (size_t i = 0; i < INSTRUMENT_CACHE; i++)
        s_free_message(d->cache[i].instrument);
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++)
        s_free_message(d->campaigns[i].campaign);
    free(d);
}

diagnostics *diagnostics_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    diagnostics *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->store = entity_store_new(link);
    d->audit = audit_new(link, "diagnostics");
    d->registry = service_client_new(loop, zmq_context, cfg->broker_endpoint);
    if (d->store == NULL || d->audit == NULL || d->registry == NULL) {
        s_free_parts(d);
        return NULL;
    }
    d->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, "diagnostics", cfg->concurrency,
                                   cfg->heartbeat, diagnostics_methods(), d);
    if (d->worker == NULL) {
        s_free_parts(d);
        return NULL;
    }
    return d;
}

static void s_release(void *service)
{
    s_free_parts(service);
}

void diagnostics_shutdown(diagnostics *d, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(d->worker, 3000, s_release, d, done, ud);
}
