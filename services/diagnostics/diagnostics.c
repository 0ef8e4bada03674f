/* diagnostics — handlers of the diagnostics service (see diagnostics.h for methods and keys).
 *
 * Each request is a small state machine on the loop: load → check scope → (ask the registry) →
 * decide (diagnostics_model) → one entity_store write (entity + indexes + domain event, one Lua
 * script). Scope: an object the caller may not read answers NOT_FOUND; readable but not writable
 * answers PERMISSION_DENIED. Frameworks, instruments and campaigns are region objects: every caller
 * of the region reads them (a person taking a diagnostic sees instruments without their scoring),
 * only the region's administrators change them. Attempts, results and routes are person objects:
 * scope_allows() on the person's organizations and municipalities copied onto them.
 *
 * This file: the service, the method table, and what every flow shares (keys, layouts, scope, the op
 * lifecycle, load, save, lists). The flows are in diagnostics_frameworks.c, diagnostics_campaigns.c,
 * diagnostics_attempts.c, diagnostics_routes.c and diagnostics_results_import.c; diagnostics_internal.h
 * declares what they share.
 */
#include "diagnostics_internal.h"
#include "entity_kind.h"
#include "xalloc.h"

const char *const diag_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";
const char *const diag_denied_ru = "Недостаточно прав для этого действия с этой записью";
const char *const diag_corrupt_ru = "Запись повреждена; сообщите администратору";

/* ---------- keys ---------- */

bool diag_region_of(const char *id, char *out)
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
bool diag_key(const char *kind, const char *id, const char *marker, char *out, size_t size)
{
    char region[4];
    if (!diag_region_of(id, region) || strlen(id) > 64)
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
    entity_sort_collate(folded);
    snprintf(out, size, "%s\x1f%s", folded, id);
}

/* Newest first in an ascending index: the complement of the time. */
static void s_time_member(char *out, size_t size, int64_t unix_ms, const char *id)
{
    snprintf(out, size, "%013lld\x1f%s", (long long)(9999999999999LL - unix_ms), id);
}

static void s_index(diag_layout *l, const char *member, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void s_index(diag_layout *l, const char *member, const char *format, ...)
{
    char key[DIAG_KEY_MAX];
    va_list ap;
    va_start(ap, format);
    vsnprintf(key, sizeof key, format, ap);
    va_end(ap);
    entity_layout_index(l, member, "%s", key);
}

static void s_token(diag_layout *l, const char *name, const char *value)
{
    entity_layout_token(l, name, value);
}

/* ---------- layouts of the stored kinds ---------- */

const char *diag_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *w = pbjson_enum_word(desc, value);
    return w ? w : "none";
}

void diag_instrument_layout(const Metodnet__Instrument *in, diag_layout *l)
{
    char member[160];
    s_member(member, sizeof member, in->title, in->id);
    s_index(l, member, "diag:{r:%s}:ix:instrument", in->region_id);
    s_token(l, "cat", diag_word(&metodnet__framework_category__descriptor, in->category));
}

void diag_campaign_layout(const Metodnet__Campaign *c, diag_layout *l)
{
    char member[160];
    s_member(member, sizeof member, c->title, c->id);
    s_index(l, member, "diag:{r:%s}:ix:campaign", c->region_id);
    s_index(l, c->id, "diag:{r:%s}:ix:campaign:instrument:%s", c->region_id, c->instrument_id);
    s_token(l, "st", diag_word(&metodnet__campaign_status__descriptor, c->status));
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

void diag_attempt_layout(const Metodnet__Attempt *a, diag_layout *l)
{
    char member[160];
    s_member(member, sizeof member, a->n_organization_ids ? a->organization_ids[0] : "", a->id);
    s_index(l, member, "diag:{r:%s}:ix:attempt:campaign:%s", a->region_id, a->campaign_id);
    s_person_tokens(l, a->staff_id, a->organization_ids, a->n_organization_ids, a->municipality_ids,
                    a->n_municipality_ids);
    s_token(l, "st", diag_word(&metodnet__attempt_status__descriptor, a->status));
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

void diag_route_layout(const Metodnet__Route *r, diag_layout *l)
{
    s_index(l, r->id, "diag:{r:%s}:ix:route", r->region_id);
    s_person_tokens(l, r->staff_id, r->organization_ids, r->n_organization_ids, r->municipality_ids,
                    r->n_municipality_ids);
    s_token(l, "st", diag_word(&metodnet__route_status__descriptor, r->status));
}

/* ---------- scope ---------- */

bool diag_region_readable(const Metodnet__Principal *caller, const char *region)
{
    if (scope_is_global(caller))
        return true;
    return caller && caller->role != METODNET__ROLE__ROLE_UNSPECIFIED && caller->region_id &&
           strcmp(caller->region_id, region) == 0;
}

bool diag_region_writable(const Metodnet__Principal *caller, const char *region)
{
    scope_object object = {.region_id = region};
    return scope_allows(caller, &object, SCOPE_WRITE);
}

bool diag_person_allows(const Metodnet__Principal *caller, const char *region, const char *staff_id, char *const *orgs,
                        size_t n_orgs, char *const *muns, size_t n_muns, scope_access access)
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

bool diag_attempt_allows(const Metodnet__Principal *caller, const Metodnet__Attempt *a, scope_access access)
{
    return diag_person_allows(caller, a->region_id, a->staff_id, a->organization_ids, a->n_organization_ids,
                              a->municipality_ids, a->n_municipality_ids, access);
}

bool diag_route_allows(const Metodnet__Principal *caller, const Metodnet__Route *r, scope_access access)
{
    return diag_person_allows(caller, r->region_id, r->staff_id, r->organization_ids, r->n_organization_ids,
                              r->municipality_ids, r->n_municipality_ids, access);
}

/* Route building (generate, edit, approve) is the methodologists', the schools' (001 п.14.1: their own
 * staff, by the scope check) and the region's work. */
bool diag_may_build_routes(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
           caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN;
}

/* People taking a diagnostic and school systems do not see how items are scored. */
bool diag_sees_scoring(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

void diag_audit(diagnostics *d, service_call *call, const char *action, const char *kind, const char *id,
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

op *diag_op_new(diagnostics *d, service_call *call, const ProtobufCMessage *request)
{
    op *o = xcalloc(1, sizeof *o);
    o->d = d;
    o->call = call;
    o->request = request;
    o->caller = service_call_caller(call);
    validation_init(&o->v);
    return o;
}

void diag_free_message(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)m, NULL);
}

void diag_op_free(op *o)
{
    diag_free_message(o->current);
    diag_free_message(o->next);
    diag_free_message(o->campaign);
    diag_free_message(o->instrument);
    diag_free_message(o->framework);
    diag_free_message(o->latest);
    diag_free_message(o->staff);
    diag_free_message(o->progress);
    for (size_t i = 0; i < o->n_programmes; i++)
        diag_free_message(o->programmes[i]);
    free(o->programmes);
    for (size_t i = 0; i < o->n_sites; i++)
        diag_free_message(o->sites[i]);
    free(o->sites);
    for (size_t i = 0; i < o->n_events; i++)
        diag_free_message(o->events[i]);
    free(o->events);
    diag_free_message(o->matches);
    for (size_t i = 0; i < o->n_assignees; i++) {
        for (size_t j = 0; j < o->assignees[i].n_orgs; j++)
            free(o->assignees[i].orgs[j]);
        for (size_t j = 0; j < o->assignees[i].n_muns; j++)
            free(o->assignees[i].muns[j]);
        for (size_t j = 0; j < o->assignees[i].n_subjects; j++)
            free(o->assignees[i].subjects[j]);
    }
    free(o->assignees);
    if (o->state_free)
        o->state_free(o->state);
    validation_free(&o->v);
    free(o);
}

void diag_fail(op *o, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(o->call, code, message);
    diag_op_free(o);
}

void diag_fail_validation(op *o)
{
    service_call_fail_validation(o->call, &o->v);
    diag_op_free(o);
}

void diag_reply(op *o, const ProtobufCMessage *response)
{
    service_call_reply(o->call, response);
    diag_op_free(o);
}

void diag_now(char *out, size_t size)
{
    clock_rfc3339(clock_unix_ms(), out, size);
}

void diag_set(char **field, const char *value)
{
    diag_set_string(field, value);
}

/* Replaces a repeated string field with copies of src (pbfield_copy works within one message type
 * only; this copies between attempt, result and route). */
void diag_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src)
{
    for (size_t i = 0; i < *n_dst; i++)
        if ((*dst)[i] != protobuf_c_empty_string)
            free((*dst)[i]);
    free(*dst);
    *dst = NULL;
    *n_dst = 0;
    if (n_src == 0)
        return;
    *dst = xcalloc(n_src, sizeof **dst);
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
            diag_fail(o, CODE(NOT_FOUND), o->not_found_ru);
            return;
        }
        *o->load_slot = NULL;
        o->then(o);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение из Redis не удалось: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(o->load_desc, NULL, len, data);
    if (m == NULL) {
        log_error(service_call_request_id(o->call), "запись %s повреждена: не разбирается protobuf", o->key);
        diag_fail(o, CODE(INTERNAL), diag_corrupt_ru);
        return;
    }
    diag_free_message(*o->load_slot);
    *o->load_slot = m;
    o->then(o);
}

/* Loads key into *slot, then calls then. A missing entity answers NOT_FOUND with not_found_ru, or
 * (not_found_ru NULL) leaves *slot NULL and continues. */
void diag_load(op *o, const char *key, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **slot,
               const char *not_found_ru, op_step then)
{
    o->load_desc = desc;
    o->load_slot = slot;
    o->not_found_ru = not_found_ru;
    o->then = then;
    snprintf(o->key, sizeof o->key, "%s", key);
    if (entity_store_get(o->d->store, key, s_loaded, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

/* ---------- writing ---------- */

/* The change o is about to write is audited when it is stored (docs/security.md: one audit policy). */
void diag_audit_when_stored(op *o, const char *action, const char *kind, const char *id, const char *region)
{
    snprintf(o->audit_action, sizeof o->audit_action, "%s", action);
    snprintf(o->audit_kind, sizeof o->audit_kind, "%s", kind);
    snprintf(o->audit_id, sizeof o->audit_id, "%s", id ? id : "");
    snprintf(o->audit_region, sizeof o->audit_region, "%s", region ? region : "");
}

void diag_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    op *o = ud;
    switch (result) {
    case ENTITY_OK:
        if (o->audit_action[0]) {
            diag_audit(o->d, o->call, o->audit_action, o->audit_kind, o->audit_id, o->audit_region);
            o->audit_action[0] = '\0';
        }
        o->then(o);
        return;
    case ENTITY_EXISTS:
        diag_fail(o, CODE(CONFLICT), o->exists_ru ? o->exists_ru : "Такая запись уже есть");
        return;
    case ENTITY_NOT_FOUND:
        diag_fail(o, CODE(NOT_FOUND), "Запись не найдена");
        return;
    case ENTITY_VERSION_MISMATCH: {
        char message[200];
        snprintf(message, sizeof message,
                 "Запись уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите изменение",
                 (long long)detail);
        diag_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    case ENTITY_MISSING_REFERENCE:
        validation_add(&o->v, "", "Связанная запись не найдена");
        diag_fail_validation(o);
        return;
    case ENTITY_NOT_EMPTY:
        diag_fail(o, CODE(CONFLICT), "Запись используется");
        return;
    default:
        log_error(service_call_request_id(o->call), "запись в Redis не удалась: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
}

int diag_store(diagnostics *d, service_call *call, const diag_write *dw, entity_write_cb cb, void *ud)
{
    size_t data_len = protobuf_c_message_get_packed_size(dw->entity);
    uint8_t *data = xmalloc(data_len ? data_len : 1);
    protobuf_c_message_pack(dw->entity, data);
    uint8_t *event_bytes = NULL;
    size_t event_len = 0;
    char stream[64];
    if (dw->event_type) {
        const ProtobufCMessage *payload = dw->event_entity ? dw->event_entity : dw->entity;
        size_t payload_len = protobuf_c_message_get_packed_size(payload);
        uint8_t *payload_bytes = xmalloc(payload_len ? payload_len : 1);
        protobuf_c_message_pack(payload, payload_bytes);
        event_bytes = entity_event_pack(dw->event_type, dw->event_entity_id, dw->new_version, payload_bytes,
                                        payload_len, call ? service_call_caller(call) : NULL,
                                        call ? service_call_request_id(call) : "", &event_len);
        free(payload_bytes);
        char region[4] = "00";
        diag_region_of(dw->event_entity_id, region);
        s_stream(region, stream, sizeof stream);
    }
    size_t n_old = dw->old_layout ? dw->old_layout->n_indexes : 0,
           n_new = dw->new_layout ? dw->new_layout->n_indexes : 0;
    entity_index_entry *removes = xcalloc(n_old + 1, sizeof *removes), *adds = xcalloc(n_new + 1, sizeof *adds);
    entity_write w = {0};
    w.entity_key = dw->key;
    w.expected_version = dw->expected_version;
    w.new_version = dw->new_version;
    w.data = data;
    w.data_len = data_len;
    w.attributes = dw->new_layout && dw->new_layout->attributes ? dw->new_layout->attributes : "";
    w.n_index_remove = dw->old_layout ? entity_layout_index_difference(dw->old_layout, dw->new_layout, removes) : 0;
    w.n_index_add = dw->new_layout ? entity_layout_index_difference(dw->new_layout, dw->old_layout, adds) : 0;
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
    free(removes);
    free(adds);
    if (dw->old_layout)
        entity_layout_clear(dw->old_layout);
    if (dw->new_layout)
        entity_layout_clear(dw->new_layout);
    return rc;
}

void diag_save(op *o, const diag_write *dw, op_step then)
{
    o->then = then;
    if (diag_store(o->d, o->call, dw, diag_written, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

void diag_stamp(ProtobufCMessage *m, int64_t version)
{
    char now[40];
    diag_now(now, sizeof now);
    pbfield_set_int64(m, "version", version);
    pbfield_set_string(m, "updated_at", now);
    if (version == 1)
        pbfield_set_string(m, "created_at", now);
}

void diag_reply_next(op *o)
{
    diag_reply(o, o->next);
}

bool diag_in_mask(char *const *mask, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(mask[i], name) == 0)
            return true;
    return false;
}

/* Applies update_mask from patch to next; fields not in allowed are refused. */
void diag_apply_mask(op *o, ProtobufCMessage *next, const ProtobufCMessage *patch, char *const *mask, size_t n,
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

/* ---------- lists ---------- */

#define LIST_MAX_TOKENS 8

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "список из Redis не получен: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    const ProtobufCMessageDescriptor *desc = service_call_method(o->call)->output;
    ProtobufCMessage *response = xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, response);
    const ProtobufCFieldDescriptor *items_field = protobuf_c_message_descriptor_get_field_by_name(desc, "items");
    ProtobufCMessage **list = xcalloc(n ? n : 1, sizeof *list);
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
    diag_op_free(o);
}

/* Validates limit and cursor, then lists index (entities under key_prefix) with tokens. */
void diag_list_run(op *o, const char *index, const char *key_prefix, const char *const *tokens, size_t n_tokens,
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
        diag_fail_validation(o);
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
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

/* The list's region: asked for, or the caller's; false (violation added) when neither. */
bool diag_list_region(op *o, const char *asked)
{
    const char *region = asked && *asked ? asked : o->caller->region_id;
    if (!diag_region_of(region, o->region)) {
        validation_add(&o->v, "regionId", "Укажите регион (regionId): две цифры, например «07»");
        return false;
    }
    return true;
}

void diag_reply_empty_list(op *o)
{
    s_listed(ENTITY_OK, NULL, 0, NULL, NULL, o);
}

ProtobufCMessage *diag_keep_all(op *o, ProtobufCMessage *entity)
{
    (void)o;
    return entity;
}

static ProtobufCMessage *s_keep_instrument(op *o, ProtobufCMessage *entity)
{
    diag_redact_instrument(o->caller, (Metodnet__Instrument *)entity);
    return entity;
}

static void s_list_instruments(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListInstrumentsRequest *req = (const Metodnet__ListInstrumentsRequest *)request;
    op *o = diag_op_new(ud, call, request);
    o->list_desc = &metodnet__instrument__descriptor;
    o->list_keep = s_keep_instrument;
    if (!diag_list_region(o, req->region_id)) {
        diag_fail_validation(o);
        return;
    }
    char token[64], prefix[160] = "";
    const char *tokens[1];
    size_t n_tokens = 0;
    int value;
    if (*req->category) {
        if (!pbjson_enum_parse(&metodnet__framework_category__descriptor, req->category, &value)) {
            validation_add(&o->v, "category", "Категория: teacher или manager");
            diag_fail_validation(o);
            return;
        }
        snprintf(token, sizeof token, "|cat:%s|", req->category);
        tokens[n_tokens++] = token;
    }
    if (*req->q && validate_text(&o->v, "q", req->q, 100, false))
        entity_sort_prefix(req->q, prefix, sizeof prefix);
    if (!diag_region_readable(o->caller, o->region)) {
        diag_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], key_prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:instrument", o->region);
    snprintf(key_prefix, sizeof key_prefix, "diag:{r:%s}:instrument:", o->region);
    diag_list_run(o, index, key_prefix, tokens, n_tokens, prefix);
}

/* ---------- the method table ---------- */

void diag_list_latest_results(service_call *call, const ProtobufCMessage *request,
                              void *ud); /* diagnostics_profiles.c */
static const service_handler_entry s_handlers[] = {
    {"ListLatestResults", diag_list_latest_results},
    {"ListFrameworks", diag_list_frameworks},
    {"GetFramework", diag_get_framework},
    {"UpdateFramework", diag_update_framework},
    {"CreateInstrument", diag_create_instrument},
    {"GetInstrument", diag_get_instrument},
    {"UpdateInstrument", diag_update_instrument},
    {"ListInstruments", s_list_instruments},
    {"CreateCampaign", diag_create_campaign},
    {"GetCampaign", diag_get_campaign},
    {"UpdateCampaign", diag_update_campaign},
    {"ListCampaigns", diag_list_campaigns},
    {"OpenCampaign", diag_open_campaign},
    {"CloseCampaign", diag_close_campaign},
    {"GetCampaignProgress", diag_campaign_progress},
    {"StartAttempt", diag_start_attempt},
    {"GetAttempt", diag_get_attempt},
    {"SaveAnswers", diag_save_answers},
    {"SubmitAttempt", diag_submit_attempt},
    {"ListAttempts", diag_list_attempts},
    {"GetResult", diag_get_result},
    {"ListResults", diag_list_results},
    {"GetCompetenceProfile", diag_get_profile},
    {"GetRoute", diag_get_route},
    {"GenerateRoute", diag_generate_route},
    {"UpdateRoute", diag_route_change},
    {"ApproveRoute", diag_route_change},
    {"SetRouteItemStatus", diag_route_change},
    {"ProposeRoute", diag_route_change},
    {"AgreeRoute", diag_route_change},
    {"ConfirmRouteItem", diag_route_change},
    {"ListRouteVersions", diag_get_route},
    {"NominateStaff", diag_nominate_staff},
    {"GetDeficitSummary", diag_deficit_summary},
    {"ExportDeficitSummary", diag_deficit_summary},
    {"ImportResults", diag_import_results},
    {"ImportResultsTemplate", diag_import_results_template},
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
        diag_free_message(d->cache[i].instrument);
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++)
        diag_free_message(d->campaigns[i].campaign);
    free(d);
}

diagnostics *diagnostics_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    diagnostics *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->store = entity_store_new(link);
    d->audit = audit_new(link, "diagnostics");
    d->registry = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    if (d->store == NULL || d->audit == NULL || d->registry == NULL) {
        s_free_parts(d);
        return NULL;
    }
    d->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "diagnostics",
                                   cfg->concurrency, cfg->heartbeat, diagnostics_methods(), d);
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
