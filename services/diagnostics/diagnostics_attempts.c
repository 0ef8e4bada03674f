/* diagnostics_attempts — attempts (start, save answers, submit, get, list), results (get, list) and
 * competence profiles; the instrument cache (diag_instrument_at) and the latest result of a person. */
#include "diagnostics_internal.h"
#include "xalloc.h"

/* ---------- attempts ---------- */

static const char *const s_attempt_not_found_ru = "Попытка диагностики не найдена";

/* The instrument at version into o->instrument (a copy), from the cache or Redis. Items of an
 * instrument cannot change while an open campaign uses it, so a cached (id, version) stays right. */
static void s_instrument_cached_loaded(op *o)
{
    diagnostics *d = o->d;
    if (o->instrument->version != o->wanted_version) {
        diag_fail(o, CODE(CONFLICT), "Инструмент изменился после назначения диагностики: обратитесь к организатору");
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
    diag_free_message(slot->instrument);
    slot->instrument = (Metodnet__Instrument *)pbfield_clone(&o->instrument->base);
    snprintf(slot->key, sizeof slot->key, "%s", o->key);
    slot->version = o->instrument->version;
    slot->used = ++d->tick;
    o->after_instrument(o);
}

void diag_instrument_at(op *o, const char *id, int64_t version, op_step then)
{
    diagnostics *d = o->d;
    char key[DIAG_KEY_MAX];
    if (!diag_key("instrument", id, "-i", key, sizeof key)) {
        diag_fail(o, CODE(CONFLICT), diag_instrument_not_found_ru);
        return;
    }
    for (size_t i = 0; i < INSTRUMENT_CACHE; i++) {
        cached_instrument *c = &d->cache[i];
        if (c->instrument && c->version == version && strcmp(c->key, key) == 0) {
            c->used = ++d->tick;
            diag_free_message(o->instrument);
            o->instrument = (Metodnet__Instrument *)pbfield_clone(&c->instrument->base);
            then(o);
            return;
        }
    }
    o->wanted_version = version;
    o->after_instrument = then;
    diag_load(o, key, &metodnet__instrument__descriptor, (ProtobufCMessage **)&o->instrument,
              diag_instrument_not_found_ru, s_instrument_cached_loaded);
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
    diag_key("attempt", id, "-c", key, sizeof key);
    diag_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_attempt_loaded);
}

/* The reply to a submit is the attempt without its answers: the person just sent them, and 40 answers
 * back through the gateway's JSON cost more than the rest of the reply (GetAttempt still has them). */
static void s_reply_attempt(op *o, ProtobufCMessage *attempt)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)attempt;
    if (s_action(o) == ATTEMPT_SUBMIT && a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED) {
        for (size_t i = 0; i < a->n_answers; i++)
            diag_free_message(a->answers[i]);
        free(a->answers);
        a->answers = NULL;
        a->n_answers = 0;
    }
    diag_reply(o, attempt);
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
        diag_free_message(o->next);
        o->next = NULL;
        s_attempt_reload(o);
        return;
    }
    o->then = s_reply_next_attempt;
    diag_written(result, detail, error, ud);
}

static void s_attempt_save_state(op *o, const char *event_type)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current, *next = (Metodnet__Attempt *)o->next;
    char key[DIAG_KEY_MAX];
    diag_key("attempt", cur->id, "-c", key, sizeof key);
    diag_stamp(o->next, cur->version + 1);
    diag_layout old_layout = {0}, new_layout = {0};
    diag_attempt_layout(cur, &old_layout);
    diag_attempt_layout(next, &new_layout);
    diag_write w = {.key = key,
                    .entity = o->next,
                    .expected_version = cur->version,
                    .new_version = cur->version + 1,
                    .old_layout = &old_layout,
                    .new_layout = &new_layout,
                    .event_type = event_type,
                    .event_entity_id = cur->id,
                    .event_entity = next->result ? &next->result->base : NULL};
    if (diag_store(o->d, o->call, &w, s_attempt_written, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

/* The saved answers with those given replacing the same items (copies into next). */
static void s_merge_answers(Metodnet__Attempt *next, Metodnet__Answer *const *given, size_t n_given)
{
    for (size_t i = 0; i < n_given; i++) {
        Metodnet__Answer *copy = (Metodnet__Answer *)pbfield_clone(&given[i]->base);
        bool replaced = false;
        for (size_t j = 0; j < next->n_answers && !replaced; j++)
            if (strcmp(next->answers[j]->item_id, copy->item_id) == 0) {
                diag_free_message(next->answers[j]);
                next->answers[j] = copy;
                replaced = true;
            }
        if (!replaced) {
            Metodnet__Answer **grown = xrealloc(next->answers, (next->n_answers + 1) * sizeof *grown);
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
        diag_fail_validation(o);
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Attempt *next = (Metodnet__Attempt *)o->next;
    char now[40];
    diag_now(now, sizeof now);
    if (cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED) {
        next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_STARTED;
        diag_set(&next->started_at, now);
    }
    if (action == ATTEMPT_START) {
        if (cur->status != METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_ASSIGNED) {
            diag_reply(o, o->current);
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
        diag_fail(o, CODE(INTERNAL), diag_corrupt_ru);
        return;
    }
    Metodnet__Result *result = diag_score(o->instrument, next->answers, next->n_answers);
    diag_set(&result->id, next->id);
    diag_set(&result->region_id, next->region_id);
    diag_set(&result->staff_id, next->staff_id);
    diag_set(&result->campaign_id, next->campaign_id);
    diag_set(&result->instrument_id, next->instrument_id);
    result->instrument_version = next->instrument_version;
    diag_set(&result->completed_at, now);
    diag_set(&result->source, "attempt");
    diag_copy_strings(&result->organization_ids, &result->n_organization_ids, next->organization_ids,
                      next->n_organization_ids);
    diag_copy_strings(&result->municipality_ids, &result->n_municipality_ids, next->municipality_ids,
                      next->n_municipality_ids);
    diag_copy_strings(&result->subjects, &result->n_subjects, next->subjects, next->n_subjects);
    diag_free_message(next->result);
    next->result = result;
    next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    diag_set(&next->submitted_at, now);
    diag_audit_when_stored(o, "create", "result", next->id, next->region_id);
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
        diag_fail(o, CODE(CONFLICT), "Срок диагностики истёк: ответы больше не принимаются");
        return;
    }
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN || today < start) {
        diag_fail(o, CODE(CONFLICT), "Диагностика ещё не началась");
        return;
    }
    diag_instrument_at(o, cur->instrument_id, cur->instrument_version, s_attempt_decide);
}

static void s_attempt_campaign_read(op *o)
{
    diag_campaign_remember(o->d, o->key, o->campaign);
    s_attempt_campaign_loaded(o);
}

static void s_attempt_loaded(op *o)
{
    Metodnet__Attempt *cur = (Metodnet__Attempt *)o->current;
    if (!diag_attempt_allows(o->caller, cur, SCOPE_READ)) {
        diag_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    if (!diag_attempt_allows(o->caller, cur, SCOPE_WRITE)) {
        diag_fail(o, CODE(PERMISSION_DENIED), diag_denied_ru);
        return;
    }
    attempt_action action = s_action(o);
    if (action == ATTEMPT_SAVE) {
        const Metodnet__SaveAnswersRequest *req = (const Metodnet__SaveAnswersRequest *)o->request;
        if (o->retries == 0 && req->expected_version > 0 && req->expected_version != cur->version) {
            diag_fail(o, CODE(VERSION_MISMATCH), "Ответы уже сохранены из другого окна: перечитайте попытку");
            return;
        }
    }
    if (cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED) {
        if (action == ATTEMPT_SAVE) {
            diag_fail(o, CODE(CONFLICT), "Диагностика уже сдана: ответы изменить нельзя");
            return;
        }
        s_reply_attempt(o, o->current); /* a second submit changes nothing */
        return;
    }
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", cur->campaign_id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(INTERNAL), diag_corrupt_ru);
        return;
    }
    diag_free_message(o->campaign);
    o->campaign = diag_campaign_cached(o->d, key);
    if (o->campaign) {
        s_attempt_campaign_loaded(o);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, (ProtobufCMessage **)&o->campaign, diag_campaign_not_found_ru,
              s_attempt_campaign_read);
}

static void s_attempt_begin(service_call *call, const ProtobufCMessage *request, void *ud, const char *id)
{
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("attempt", id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_attempt_loaded);
}

void diag_start_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
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

void diag_save_answers(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_attempt_begin(call, request, ud, ((const Metodnet__SaveAnswersRequest *)request)->id);
}

void diag_submit_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
{
    s_attempt_begin(call, request, ud, ((const Metodnet__SubmitAttemptRequest *)request)->id);
}

static void s_get_attempt_loaded(op *o)
{
    if (!diag_attempt_allows(o->caller, (Metodnet__Attempt *)o->current, SCOPE_READ)) {
        diag_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    diag_reply(o, o->current);
}

void diag_get_attempt(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("attempt", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), s_attempt_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__attempt__descriptor, &o->current, s_attempt_not_found_ru, s_get_attempt_loaded);
}

static ProtobufCMessage *s_keep_attempt(op *o, ProtobufCMessage *entity)
{
    if (!diag_attempt_allows(o->caller, (Metodnet__Attempt *)entity, SCOPE_READ)) {
        diag_free_message(entity);
        return NULL;
    }
    return entity;
}

/* The caller's scope as a list token: "|mun:07-m1|", "|org:07-o1|", "|id:07-s1|"; "" for the region. */
void diag_scope_token(const Metodnet__Principal *caller, char *out, size_t size)
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

void diag_list_attempts(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListAttemptsRequest *req = (const Metodnet__ListAttemptsRequest *)request;
    op *o = diag_op_new(ud, call, request);
    o->list_desc = &metodnet__attempt__descriptor;
    o->list_keep = s_keep_attempt;
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->campaign_id, "-c", key, sizeof key) ||
        !diag_region_of(req->campaign_id, o->region)) {
        validation_add(&o->v, "campaignId", "Укажите кампанию (campaignId)");
        diag_fail_validation(o);
        return;
    }
    char tokens_text[3][96];
    const char *tokens[3];
    size_t n = 0;
    int value;
    if (*req->status) {
        if (!pbjson_enum_parse(&metodnet__attempt_status__descriptor, req->status, &value)) {
            validation_add(&o->v, "status", "Состояние: assigned, started или completed");
            diag_fail_validation(o);
            return;
        }
        snprintf(tokens_text[n], sizeof tokens_text[0], "|st:%s|", req->status);
        tokens[n] = tokens_text[n];
        n++;
    }
    if (*req->organization_id) {
        if (!id_valid(req->organization_id)) {
            validation_add(&o->v, "organizationId", "Неверный идентификатор организации");
            diag_fail_validation(o);
            return;
        }
        snprintf(tokens_text[n], sizeof tokens_text[0], "|org:%s|", req->organization_id);
        tokens[n] = tokens_text[n];
        n++;
    }
    diag_scope_token(o->caller, tokens_text[n], sizeof tokens_text[0]);
    if (tokens_text[n][0]) {
        tokens[n] = tokens_text[n];
        n++;
    }
    if (!diag_region_readable(o->caller, o->region)) {
        diag_reply_empty_list(o);
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:attempt:campaign:%s", o->region, req->campaign_id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    diag_list_run(o, index, prefix, tokens, n, NULL);
}

/* ---------- results and profiles ---------- */

static const char *const s_result_not_found_ru = "Результат диагностики не найден";

static void s_get_result_loaded(op *o)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)o->current;
    if (!diag_attempt_allows(o->caller, a, SCOPE_READ) ||
        a->status != METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED || a->result == NULL) {
        diag_fail(o, CODE(NOT_FOUND), s_result_not_found_ru);
        return;
    }
    diag_audit(o->d, o->call, "read", "result", a->id, a->region_id);
    diag_reply(o, &a->result->base);
}

void diag_get_result(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("attempt", req->id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), s_result_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__attempt__descriptor, &o->current, s_result_not_found_ru, s_get_result_loaded);
}

/* A completed attempt the caller may read → its result (the attempt is freed). */
static ProtobufCMessage *s_keep_result(op *o, ProtobufCMessage *entity)
{
    Metodnet__Attempt *a = (Metodnet__Attempt *)entity;
    Metodnet__Result *r = NULL;
    if (a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && a->result &&
        diag_attempt_allows(o->caller, a, SCOPE_READ)) {
        r = a->result;
        a->result = NULL;
        diag_audit(o->d, o->call, "list", "result", a->id, a->region_id);
    }
    diag_free_message(a);
    return r ? &r->base : NULL;
}

void diag_list_results(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListResultsRequest *req = (const Metodnet__ListResultsRequest *)request;
    op *o = diag_op_new(ud, call, request);
    o->list_desc = &metodnet__attempt__descriptor;
    o->list_keep = s_keep_result;
    const char *hint = *req->region_id ? req->region_id : *req->staff_id ? req->staff_id : req->campaign_id;
    if (!diag_list_region(o, hint)) {
        diag_fail_validation(o);
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
        diag_fail_validation(o);
        return;
    }
    diag_scope_token(o->caller, tokens_text[n], sizeof tokens_text[0]);
    if (tokens_text[n][0]) {
        tokens[n] = tokens_text[n];
        n++;
    }
    if (!diag_region_readable(o->caller, o->region)) {
        diag_reply_empty_list(o);
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
    diag_list_run(o, index, prefix, tokens, n, NULL);
}

/* Results of one person, newest first, into a profile. */
static void s_profile_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                             const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "история результатов не получена: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
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
        if (a->result == NULL || !diag_attempt_allows(o->caller, a, SCOPE_READ)) {
            metodnet__attempt__free_unpacked(a, NULL);
            continue;
        }
        attempts[kept] = a;
        history[kept++] = a->result;
    }
    if (kept == 0) {
        free(history);
        free(attempts);
        diag_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет");
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
    diag_audit(o->d, o->call, "read", "competence_profile", req->id, o->region);
    service_call_reply(o->call, &profile.base);
    for (size_t i = 0; i < kept; i++)
        metodnet__attempt__free_unpacked(attempts[i], NULL);
    free(history);
    free(attempts);
    diag_op_free(o);
}

bool diag_staff_id_ok(const char *id, char *region)
{
    return diag_region_of(id, region) && strncmp(id + 2, "-s", 2) == 0 && strlen(id) > 4 && strlen(id) <= 40;
}

void diag_get_profile(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetProfileRequest *req = (const Metodnet__GetProfileRequest *)request;
    op *o = diag_op_new(ud, call, request);
    if (!diag_staff_id_ok(req->id, o->region) || !diag_region_readable(o->caller, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет");
        return;
    }
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", o->region, req->id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = 100};
    if (entity_store_list(o->d->store, &q, s_profile_listed, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

/* The latest completed attempt of a person into o->latest (NULL when none), then `then`. */
static void s_latest_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                            const char *error, void *ud)
{
    (void)next_member;
    op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "последний результат не получен: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    diag_free_message(o->latest);
    o->latest = n > 0 ? metodnet__attempt__unpack(NULL, items[0].len, items[0].data) : NULL;
    if (n > 0 && (o->latest == NULL || o->latest->result == NULL)) {
        diag_fail(o, CODE(INTERNAL), diag_corrupt_ru);
        return;
    }
    o->then(o);
}

void diag_latest_result(op *o, const char *staff_id, op_step then)
{
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", o->region, staff_id);
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", o->region);
    entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = 1};
    o->then = then;
    if (entity_store_list(o->d->store, &q, s_latest_listed, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}
