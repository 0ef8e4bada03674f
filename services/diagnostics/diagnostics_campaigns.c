/* diagnostics_campaigns — campaigns: create, get, update, list, close; open (assigns the staff the
 * registry lists to the campaign, ASSIGN_WINDOW writes in flight; a campaign by nomination assigns
 * nobody); progress by organization (nominees counted); the process cache of open campaigns
 * (diag_campaign_cached). Municipal campaigns (issue 12; 002 задача 1, 003 §2.2, §4.1): a municipal
 * methodologist runs self-diagnostics for their own municipality; independent ones stay the region's. */
#include "diagnostics_internal.h"
#include "xalloc.h"

/* ---------- campaigns ---------- */

const char *const diag_campaign_not_found_ru = "Диагностическая кампания не найдена";

static void s_campaign_forget(diagnostics *d, const char *key)
{
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++)
        if (d->campaigns[i].campaign && strcmp(d->campaigns[i].key, key) == 0) {
            diag_free_message(d->campaigns[i].campaign);
            d->campaigns[i].campaign = NULL;
        }
}

/* A copy of the open campaign at key read less than CAMPAIGN_CACHE_MS ago; NULL when none. */
Metodnet__Campaign *diag_campaign_cached(diagnostics *d, const char *key)
{
    int64_t now = clock_unix_ms();
    for (size_t i = 0; i < CAMPAIGN_CACHE; i++) {
        cached_campaign *c = &d->campaigns[i];
        if (c->campaign && strcmp(c->key, key) == 0) {
            if (now - c->loaded_ms >= CAMPAIGN_CACHE_MS || now < c->loaded_ms)
                return NULL;
            c->used = ++d->tick;
            Metodnet__Campaign *copy = (Metodnet__Campaign *)pbfield_clone(&c->campaign->base);
            return copy;
        }
    }
    return NULL;
}

void diag_campaign_remember(diagnostics *d, const char *key, const Metodnet__Campaign *campaign)
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
    diag_free_message(slot->campaign);
    slot->campaign = (Metodnet__Campaign *)pbfield_clone(&campaign->base);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->loaded_ms = clock_unix_ms();
    slot->used = ++d->tick;
}

bool diag_campaign_runnable(const Metodnet__Principal *caller, const Metodnet__Campaign *c)
{
    if (diag_region_writable(caller, c->region_id))
        return true;
    /* scope_allows keeps a municipality's own record read-only for its people; its campaign is its work */
    return c->municipality_id && *c->municipality_id && caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY && caller->scope_id &&
           strcmp(caller->scope_id, c->municipality_id) == 0 && caller->region_id &&
           strcmp(caller->region_id, c->region_id) == 0;
}

static void s_campaign_validate(const Metodnet__Campaign *c, validation *v)
{
    if (*c->municipality_id) {
        if (!id_valid(c->municipality_id) || strncmp(c->municipality_id, c->region_id, 2) != 0 ||
            strncmp(c->municipality_id + 2, "-m", 2) != 0)
            validation_add(v, "campaign.municipalityId", "Муниципальное образование своего региона, например «07-m1»");
        if (c->kind == METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_INDEPENDENT)
            validation_add(v, "campaign.kind",
                           "Муниципальная кампания — только самодиагностика: независимую диагностику проводит "
                           "региональный центр (ЦНППМ)");
        for (size_t i = 0; c->target && i < c->target->n_municipality_ids; i++)
            if (strcmp(c->target->municipality_ids[i], c->municipality_id) != 0) {
                char path[96];
                snprintf(path, sizeof path, "campaign.target.municipalityIds[%zu]", i);
                validation_add(v, path, "В адресатах муниципальной кампании — только свой муниципалитет «%s»",
                               c->municipality_id);
            }
    }
    validate_text(v, "campaign.title", c->title, 300, true);
    char key[DIAG_KEY_MAX];
    if (!diag_key("instrument", c->instrument_id, "-i", key, sizeof key) ||
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
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->next;
    char id[32], instrument_key[DIAG_KEY_MAX];
    snprintf(id, sizeof id, "%s-c%lld", o->region, (long long)value);
    diag_set(&c->id, id);
    diag_key("campaign", id, "-c", o->key, sizeof o->key);
    diag_key("instrument", c->instrument_id, "-i", instrument_key, sizeof instrument_key);
    diag_stamp(o->next, 1);
    diag_layout layout = {0};
    diag_campaign_layout(c, &layout);
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
    diag_audit_when_stored(o, "create", "campaign", c->id, o->region);
    diag_save(o, &w, diag_reply_next);
}

void diag_create_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CreateCampaignRequest *req = (const Metodnet__CreateCampaignRequest *)request;
    op *o = diag_op_new(ud, call, request);
    if (req->campaign == NULL) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Нет данных кампании в теле запроса");
        return;
    }
    const char *region = *req->campaign->region_id ? req->campaign->region_id : o->caller->region_id;
    if (!diag_region_of(region, o->region) || strlen(region) != 2) {
        validation_add(&o->v, "campaign.regionId", "Укажите регион: две цифры, например «07»");
        diag_fail_validation(o);
        return;
    }
    bool municipal = o->caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST &&
                     o->caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
                     strcmp(o->caller->region_id, o->region) == 0;
    if (!diag_region_writable(o->caller, o->region) && !municipal) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  "Диагностические кампании проводят региональный оператор и методисты муниципальной службы");
        return;
    }
    if (municipal && req->campaign->kind == METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_INDEPENDENT) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  "Независимую диагностику проводит региональный центр (ЦНППМ): муниципальная служба проводит "
                  "самодиагностику");
        return;
    }
    if (municipal && *req->campaign->municipality_id &&
        strcmp(req->campaign->municipality_id, o->caller->scope_id) != 0) {
        diag_fail(o, CODE(PERMISSION_DENIED), "Методист проводит кампании только своего муниципалитета");
        return;
    }
    o->next = pbfield_clone(&req->campaign->base);
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->next;
    diag_set(&c->region_id, o->region);
    if (municipal) {
        diag_set(&c->municipality_id, o->caller->scope_id);
        /* the municipality's people: the target's schools within it, or the whole municipality */
        if (c->target == NULL) {
            c->target = xmalloc(sizeof *c->target);
            metodnet__campaign_target__init(c->target);
        }
        if (c->target->n_organization_ids == 0 && c->target->n_municipality_ids == 0)
            diag_copy_strings(&c->target->municipality_ids, &c->target->n_municipality_ids,
                              (char *const *)&o->caller->scope_id, 1);
    }
    c->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT;
    c->assigned = 0;
    c->instrument_version = 0;
    s_campaign_validate(c, &o->v);
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    char sequence[64];
    snprintf(sequence, sizeof sequence, "diag:{r:%s}:seq:campaign", o->region);
    if (entity_store_next_id(o->d->store, sequence, s_campaign_id_issued, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

static void s_get_campaign_loaded(op *o)
{
    if (!diag_region_readable(o->caller, ((Metodnet__Campaign *)o->current)->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_reply(o, o->current);
}

void diag_get_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru, s_get_campaign_loaded);
}

/* Loaded campaign: readable, writable, expected version. False when answered. */
static bool s_campaign_writable(op *o, int64_t expected_version)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (!diag_region_readable(o->caller, c->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return false;
    }
    if (!diag_campaign_runnable(o->caller, c)) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  *c->municipality_id ? "Кампанию проводят методисты её муниципалитета и региональный оператор"
                                      : diag_denied_ru);
        return false;
    }
    if (expected_version > 0 && expected_version != c->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Кампанию уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите",
                 (long long)c->version);
        diag_fail(o, CODE(VERSION_MISMATCH), message);
        return false;
    }
    snprintf(o->region, sizeof o->region, "%s", c->region_id);
    return true;
}

static void s_campaign_save(op *o, const char *event_type, const char *action)
{
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current, *next = (Metodnet__Campaign *)o->next;
    diag_key("campaign", cur->id, "-c", o->key, sizeof o->key);
    s_campaign_forget(o->d, o->key);
    diag_stamp(o->next, cur->version + 1);
    diag_layout old_layout = {0}, new_layout = {0};
    diag_campaign_layout(cur, &old_layout);
    diag_campaign_layout(next, &new_layout);
    char instrument_key[DIAG_KEY_MAX];
    diag_key("instrument", next->instrument_id, "-i", instrument_key, sizeof instrument_key);
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
    diag_audit_when_stored(o, action, "campaign", cur->id, o->region);
    diag_save(o, &w, diag_reply_next);
}

static void s_update_campaign_loaded(op *o)
{
    const Metodnet__UpdateCampaignRequest *req = (const Metodnet__UpdateCampaignRequest *)o->request;
    if (!s_campaign_writable(o, req->expected_version))
        return;
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current;
    if (req->campaign == NULL || req->n_update_mask == 0) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    bool only_dates = true;
    for (size_t i = 0; i < req->n_update_mask; i++)
        only_dates &= strcmp(req->update_mask[i], "ends_on") == 0 || strcmp(req->update_mask[i], "title") == 0;
    if (cur->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT && !only_dates) {
        diag_fail(o, CODE(CONFLICT), "Открытую или закрытую кампанию можно только переименовать или продлить");
        return;
    }
    o->next = pbfield_clone(o->current);
    static const char *const allowed[] = {"title",     "instrument_id", "kind",          "target",
                                          "starts_on", "ends_on",       "by_nomination", NULL};
    diag_apply_mask(o, o->next, &req->campaign->base, req->update_mask, req->n_update_mask, allowed, "campaign");
    if (validation_ok(&o->v))
        s_campaign_validate((Metodnet__Campaign *)o->next, &o->v);
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    s_campaign_save(o, "campaign.updated", "update");
}

void diag_update_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__UpdateCampaignRequest *req = (const Metodnet__UpdateCampaignRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru,
              s_update_campaign_loaded);
}

void diag_list_campaigns(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListCampaignsRequest *req = (const Metodnet__ListCampaignsRequest *)request;
    op *o = diag_op_new(ud, call, request);
    o->list_desc = &metodnet__campaign__descriptor;
    o->list_keep = diag_keep_all;
    if (!diag_list_region(o, req->region_id)) {
        diag_fail_validation(o);
        return;
    }
    char token[64], prefix[160] = "";
    const char *tokens[1];
    size_t n_tokens = 0;
    int value;
    if (*req->status) {
        if (!pbjson_enum_parse(&metodnet__campaign_status__descriptor, req->status, &value)) {
            validation_add(&o->v, "status", "Состояние: draft, open или closed");
            diag_fail_validation(o);
            return;
        }
        snprintf(token, sizeof token, "|st:%s|", req->status);
        tokens[n_tokens++] = token;
    }
    if (*req->q && validate_text(&o->v, "q", req->q, 100, false))
        entity_sort_prefix(req->q, prefix, sizeof prefix);
    if (!diag_region_readable(o->caller, o->region)) {
        diag_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], key_prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:campaign", o->region);
    snprintf(key_prefix, sizeof key_prefix, "diag:{r:%s}:campaign:", o->region);
    diag_list_run(o, index, key_prefix, tokens, n_tokens, prefix);
}

static void s_close_campaign_loaded(op *o)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)o->request;
    if (!s_campaign_writable(o, req->expected_version))
        return;
    Metodnet__Campaign *cur = (Metodnet__Campaign *)o->current;
    if (cur->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN) {
        diag_fail(o, CODE(CONFLICT), "Закрыть можно только открытую кампанию");
        return;
    }
    o->next = pbfield_clone(o->current);
    ((Metodnet__Campaign *)o->next)->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED;
    s_campaign_save(o, "campaign.closed", "update");
}

void diag_close_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru,
              s_close_campaign_loaded);
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

void diag_assignee_of(assignee *a, const Metodnet__StaffMember *s)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", s->id);
    for (size_t j = 0; j < s->n_organization_ids && a->n_orgs < 8; j++)
        a->orgs[a->n_orgs++] = diag_strdup(s->organization_ids[j]);
    for (size_t j = 0; j < s->n_municipality_ids && a->n_muns < 8; j++)
        a->muns[a->n_muns++] = diag_strdup(s->municipality_ids[j]);
    for (size_t j = 0; j < s->n_subjects && a->n_subjects < 16; j++)
        a->subjects[a->n_subjects++] = diag_strdup(s->subjects[j]);
}

static void s_open_staff_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(o->call), "реестр не выдал список сотрудников: %s",
                  status->message ? status->message : "?");
        diag_fail(o, status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE),
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
            const char *word = diag_word(&metodnet__staff_category__descriptor, s->category);
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
        const char *mun = ((Metodnet__Campaign *)o->current)->municipality_id;
        if (*mun && !s_strings_overlap((char *const *)&mun, 1, s->municipality_ids, s->n_municipality_ids))
            continue; /* a municipal campaign: only its municipality's people */
        bool seen = false;
        for (size_t j = 0; j < o->n_assignees && !seen; j++)
            seen = strcmp(o->assignees[j].id, s->id) == 0;
        if (seen)
            continue;
        assignee *grown = xrealloc(o->assignees, (o->n_assignees + 1) * sizeof *grown);
        o->assignees = grown;
        diag_assignee_of(&o->assignees[o->n_assignees++], s);
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
        diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
}

static void s_open_assigned_one(entity_result result, int64_t detail, const char *error, void *ud);

int diag_issue_attempt(op *o, const Metodnet__Campaign *c, int64_t instrument_version, entity_write_cb cb)
{
    assignee *a = &o->assignees[o->next_assignee++];
    Metodnet__Attempt attempt = METODNET__ATTEMPT__INIT;
    char id[72], key[DIAG_KEY_MAX], now[40];
    diag_attempt_id(c->id, a->id, id, sizeof id);
    diag_key("attempt", id, "-c", key, sizeof key);
    diag_now(now, sizeof now);
    attempt.id = id;
    attempt.region_id = c->region_id;
    attempt.campaign_id = c->id;
    attempt.staff_id = a->id;
    attempt.instrument_id = c->instrument_id;
    attempt.instrument_version = instrument_version;
    attempt.status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED;
    attempt.organization_ids = a->orgs;
    attempt.n_organization_ids = a->n_orgs;
    attempt.municipality_ids = a->muns;
    attempt.n_municipality_ids = a->n_muns;
    attempt.subjects = a->subjects;
    attempt.n_subjects = a->n_subjects;
    attempt.nominated_by = a->nominated_by;
    attempt.nominated_at = *a->nominated_by ? now : "";
    attempt.version = 1;
    attempt.created_at = now;
    attempt.updated_at = now;
    diag_layout layout = {0};
    diag_attempt_layout(&attempt, &layout);
    diag_write w = {
        .key = key, .entity = &attempt.base, .expected_version = 0, .new_version = 1, .new_layout = &layout};
    return diag_store(o->d, o->call, &w, cb, o);
}

static void s_open_issue(op *o)
{
    o->pending++;
    if (diag_issue_attempt(o, (Metodnet__Campaign *)o->current, o->instrument->version, s_open_assigned_one) != 0) {
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
        diag_fail(o, CODE(CONFLICT), "В адресатах кампании нет ни одного работающего сотрудника: проверьте адресатов");
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
        diag_fail(o, CODE(UNAVAILABLE), "Не все назначения записаны: кампания не открыта, повторите открытие");
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Campaign *next = (Metodnet__Campaign *)o->next;
    next->status = METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN;
    next->assigned = (int32_t)o->n_assignees;
    next->instrument_version = o->instrument->version;
    s_campaign_save(o, "campaign.opened", "update");
}

static void s_open_instrument_loaded(op *o)
{
    if (((Metodnet__Campaign *)o->current)->by_nomination) { /* the schools nominate: nobody assigned now */
        s_open_finish(o);
        return;
    }
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
        diag_fail(o, CODE(CONFLICT), "Открыть можно только кампанию в состоянии черновика");
        return;
    }
    int end;
    if (date_parse(c->ends_on, &end) && end < date_today()) {
        diag_fail(o, CODE(CONFLICT), "Срок кампании уже прошёл: измените даты");
        return;
    }
    char key[DIAG_KEY_MAX];
    if (!diag_key("instrument", c->instrument_id, "-i", key, sizeof key)) {
        diag_fail(o, CODE(CONFLICT), diag_instrument_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__instrument__descriptor, (ProtobufCMessage **)&o->instrument,
              diag_instrument_not_found_ru, s_open_instrument_loaded);
}

void diag_open_campaign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__CampaignActionRequest *req = (const Metodnet__CampaignActionRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru, s_open_campaign_loaded);
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
    Metodnet__OrganizationProgress **grown = xrealloc(p->organizations, (p->n_organizations + 1) * sizeof *grown);
    p->organizations = grown;
    memmove(&p->organizations[at + 1], &p->organizations[at], (p->n_organizations - at) * sizeof *grown);
    row = xmalloc(sizeof *row);
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
        row->nominated += *a->nominated_by != '\0';
    }
    p->assigned++;
    p->started += started;
    p->completed += completed;
    p->nominated += *a->nominated_by != '\0';
}

static void s_progress_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                              const char *error, void *ud)
{
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "список попыток не получен: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__Attempt *a = metodnet__attempt__unpack(NULL, items[i].len, items[i].data);
        if (a == NULL)
            continue;
        if (diag_attempt_allows(o->caller, a, SCOPE_READ))
            s_progress_count(o->progress, a);
        metodnet__attempt__free_unpacked(a, NULL);
    }
    if (next_member) {
        char after[CURSOR_MAX_MEMBER + 1];
        snprintf(after, sizeof after, "%s", next_member);
        s_progress_page(o, after);
        return;
    }
    diag_reply(o, &o->progress->base);
}

static void s_progress_page(op *o, const char *after)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:attempt:campaign:%s", c->region_id, c->id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", c->region_id);
    entity_list_query q = {.index_key = index, .after_member = after, .entity_key_prefix = prefix, .limit = 500};
    if (entity_store_list(o->d->store, &q, s_progress_listed, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

static void s_progress_loaded(op *o)
{
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (!diag_region_readable(o->caller, c->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    o->progress = xmalloc(sizeof *o->progress);
    metodnet__campaign_progress__init(o->progress);
    o->progress->campaign_id = diag_strdup(c->id);
    s_progress_page(o, NULL);
}

void diag_campaign_progress(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru, s_progress_loaded);
}
