/* diagnostics_frameworks — competence frameworks (list, get, update; the default framework when a
 * region has none) and diagnostic instruments (create, get, update, list; scoring redacted for those
 * who do not see it). */
#include "diagnostics_internal.h"

/* ---------- frameworks ---------- */

static void s_list_frameworks_step(op *o);

void diag_list_frameworks(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListFrameworksRequest *req = (const Metodnet__ListFrameworksRequest *)request;
    op *o = diag_op_new(ud, call, request);
    const char *region = req->region_id && *req->region_id ? req->region_id : o->caller->region_id;
    if (!diag_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "regionId", "Укажите регион (regionId): две цифры, например «07»");
        diag_fail_validation(o);
        return;
    }
    if (!diag_region_readable(o->caller, o->region)) {
        Metodnet__ListFrameworksResponse none = METODNET__LIST_FRAMEWORKS_RESPONSE__INIT;
        diag_reply(o, &none.base);
        return;
    }
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s-teacher", o->region, o->region);
    diag_load(o, key, &metodnet__competence_framework__descriptor, &o->current, NULL, s_list_frameworks_step);
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
    diag_reply(o, &response.base);
}

static void s_list_frameworks_step(op *o)
{
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s-manager", o->region, o->region);
    diag_load(o, key, &metodnet__competence_framework__descriptor, &o->next, NULL, s_list_frameworks_done);
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
    diag_reply(o, &o->framework->base);
}

void diag_get_framework(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    Metodnet__FrameworkCategory category;
    char key[DIAG_KEY_MAX];
    if (!diag_framework_parse_id(req->id, o->region, sizeof o->region, &category) ||
        !diag_region_readable(o->caller, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), "Рамка компетенций не найдена");
        return;
    }
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s", o->region, req->id);
    diag_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
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
        diag_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    if (req->framework == NULL || req->n_update_mask == 0) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    o->next = pbfield_clone(&o->framework->base);
    static const char *const allowed[] = {"title", "components", NULL};
    diag_apply_mask(o, o->next, &req->framework->base, req->update_mask, req->n_update_mask, allowed, "framework");
    if (validation_ok(&o->v))
        diag_framework_validate((Metodnet__CompetenceFramework *)o->next, &o->v);
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    diag_stamp(o->next, version + 1);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = stored ? version : 0,
                    .new_version = version + 1,
                    .event_type = "framework.updated",
                    .event_entity_id = ((Metodnet__CompetenceFramework *)o->next)->id};
    diag_layout none = {0};
    w.new_layout = &none;
    o->exists_ru = "Рамку уже изменил кто-то другой: перечитайте её и повторите изменение";
    diag_audit_when_stored(o, "update", "framework", req->id, o->region);
    diag_save(o, &w, diag_reply_next);
}

void diag_update_framework(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateFrameworkRequest *req = (const Metodnet__UpdateFrameworkRequest *)request;
    op *o = diag_op_new(ud, call, request);
    Metodnet__FrameworkCategory category;
    char key[DIAG_KEY_MAX];
    if (!diag_framework_parse_id(req->id, o->region, sizeof o->region, &category) ||
        !diag_region_readable(o->caller, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), "Рамка компетенций не найдена");
        return;
    }
    if (!diag_region_writable(o->caller, o->region)) {
        diag_fail(o, CODE(PERMISSION_DENIED), "Рамку компетенций изменяет администратор региона");
        return;
    }
    snprintf(key, sizeof key, "diag:{r:%s}:framework:%s", o->region, req->id);
    diag_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
              s_update_framework_loaded);
}

/* ---------- instruments ---------- */

const char *const diag_instrument_not_found_ru = "Диагностический инструмент не найден";

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
        diag_fail_validation(o);
        return;
    }
    s_instrument_write(o);
}

static void s_instrument_id_issued(entity_result result, int64_t value, const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    char id[32];
    snprintf(id, sizeof id, "%s-i%lld", o->region, (long long)value);
    diag_set(&in->id, id);
    diag_key("instrument", id, "-i", o->key, sizeof o->key);
    diag_stamp(o->next, 1);
    diag_layout layout = {0};
    diag_instrument_layout(in, &layout);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = 0,
                    .new_version = 1,
                    .new_layout = &layout,
                    .event_type = "instrument.created",
                    .event_entity_id = in->id};
    o->exists_ru = "Инструмент с таким идентификатором уже есть";
    diag_audit_when_stored(o, "create", "instrument", in->id, o->region);
    diag_save(o, &w, diag_reply_next);
}

static void s_instrument_write(op *o)
{
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    if (o->current == NULL) {
        char sequence[64];
        snprintf(sequence, sizeof sequence, "diag:{r:%s}:seq:instrument", o->region);
        if (entity_store_next_id(o->d->store, sequence, s_instrument_id_issued, o) != 0)
            diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    Metodnet__Instrument *cur = (Metodnet__Instrument *)o->current;
    diag_key("instrument", cur->id, "-i", o->key, sizeof o->key);
    diag_stamp(o->next, cur->version + 1);
    diag_layout old_layout = {0}, new_layout = {0};
    diag_instrument_layout(cur, &old_layout);
    diag_instrument_layout(in, &new_layout);
    diag_write w = {.key = o->key,
                    .entity = o->next,
                    .expected_version = cur->version,
                    .new_version = cur->version + 1,
                    .old_layout = &old_layout,
                    .new_layout = &new_layout,
                    .event_type = "instrument.updated",
                    .event_entity_id = in->id};
    diag_audit_when_stored(o, "update", "instrument", in->id, o->region);
    diag_save(o, &w, diag_reply_next);
}

static void s_load_framework_then_validate(op *o)
{
    char key[DIAG_KEY_MAX];
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    if (in->category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_UNSPECIFIED) {
        validation_add(&o->v, "instrument.category", "Укажите категорию: teacher или manager");
        diag_fail_validation(o);
        return;
    }
    s_framework_key(o->region, in->category, key, sizeof key);
    /* o->key becomes the framework's; the write rebuilds the entity key */
    diag_load(o, key, &metodnet__competence_framework__descriptor, (ProtobufCMessage **)&o->framework, NULL,
              s_instrument_validated);
}

void diag_create_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CreateInstrumentRequest *req = (const Metodnet__CreateInstrumentRequest *)request;
    op *o = diag_op_new(ud, call, request);
    if (req->instrument == NULL) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Нет данных инструмента в теле запроса");
        return;
    }
    const char *region = *req->instrument->region_id ? req->instrument->region_id : o->caller->region_id;
    if (!diag_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "instrument.regionId", "Укажите регион: две цифры, например «07»");
        diag_fail_validation(o);
        return;
    }
    if (!diag_region_writable(o->caller, o->region)) {
        diag_fail(o, CODE(PERMISSION_DENIED), "Диагностические инструменты ведёт администратор региона");
        return;
    }
    o->next = pbfield_clone(&req->instrument->base);
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->next;
    diag_set(&in->id, "");
    diag_set(&in->region_id, o->region);
    diag_set(&in->created_at, "");
    diag_set(&in->updated_at, "");
    in->version = 0;
    s_load_framework_then_validate(o);
}

void diag_redact_instrument(const Metodnet__Principal *caller, Metodnet__Instrument *in)
{
    if (!diag_sees_scoring(caller))
        diag_instrument_redact(in);
}

static void s_get_instrument_loaded(op *o)
{
    Metodnet__Instrument *in = (Metodnet__Instrument *)o->current;
    if (!diag_region_readable(o->caller, in->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_instrument_not_found_ru);
        return;
    }
    diag_redact_instrument(o->caller, in);
    diag_reply(o, o->current);
}

void diag_get_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("instrument", req->id, "-i", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_instrument_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__instrument__descriptor, &o->current, diag_instrument_not_found_ru,
              s_get_instrument_loaded);
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
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    if (n > 0) {
        diag_fail(o, CODE(CONFLICT),
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
    if (!diag_region_readable(o->caller, cur->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_instrument_not_found_ru);
        return;
    }
    if (!diag_region_writable(o->caller, cur->region_id)) {
        diag_fail(o, CODE(PERMISSION_DENIED), diag_denied_ru);
        return;
    }
    if (req->expected_version > 0 && req->expected_version != cur->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Инструмент уже изменил кто-то другой (текущая версия %lld): перечитайте его и повторите изменение",
                 (long long)cur->version);
        diag_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    if (req->instrument == NULL || req->n_update_mask == 0) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    o->next = pbfield_clone(o->current);
    static const char *const allowed[] = {"title",
                                          "description",
                                          "items",
                                          "thresholds",
                                          "category",
                                          "default_threshold_percent",
                                          "default_mastery_percent",
                                          NULL};
    diag_apply_mask(o, o->next, &req->instrument->base, req->update_mask, req->n_update_mask, allowed, "instrument");
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    bool scoring = false;
    for (const char *const *f = s_instrument_scoring_fields; *f && !scoring; f++)
        scoring = diag_in_mask(req->update_mask, req->n_update_mask, *f);
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
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

void diag_update_instrument(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateInstrumentRequest *req = (const Metodnet__UpdateInstrumentRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("instrument", req->id, "-i", key, sizeof key) || !diag_region_of(req->id, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), diag_instrument_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__instrument__descriptor, &o->current, diag_instrument_not_found_ru,
              s_update_instrument_loaded);
}
