/* mentoring_pairs — the mentoring flows that ask the registry before the engine writes: a support
 * programme of an organization (its municipality comes from the registry), a mentor profile (the
 * staff member's name, organizations, municipalities and subjects are copied), and a pair (both
 * people from the registry, the programme and the mentor's profile from the store, then the write with
 * the first free place of the mentor: the place is a claim, so the load check is atomic and a place
 * taken meanwhile makes the write try the next one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mentoring_internal.h"
#include "pbfield.h"
#include "registry.pb-c.h"
#include "xalloc.h"

static const char *const s_registry_unavailable_ru = "Реестр временно недоступен, повторите запрос позже";

/* ---------- support programme ---------- */

typedef struct {
    mentoring *m;
    service_call *call;
    Metodnet__CreateSupportProgrammeRequest *request;
} programme_ctx;

static void s_programme_org(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    programme_ctx *c = ud;
    if (status->code == MNT_CODE(NOT_FOUND) || status->code == MNT_CODE(INVALID_ARGUMENT)) {
        validation v;
        validation_init(&v);
        validation_add(&v, "programme.organizationId", "Организация не найдена");
        service_call_fail_validation(c->call, &v);
        validation_free(&v);
    } else if (status->code != MNT_CODE(OK)) {
        service_call_fail(c->call, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
    } else {
        const Metodnet__Organization *org = (const Metodnet__Organization *)response;
        mnt_set(&c->request->programme->municipality_id, org->municipality_id);
        entity_create(&c->m->engine, c->call, &c->request->base, &mnt_programme_kind);
    }
    free(c);
}

void mnt_create_programme(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    Metodnet__CreateSupportProgrammeRequest *req = (Metodnet__CreateSupportProgrammeRequest *)request;
    Metodnet__SupportProgramme *p = req->programme;
    if (p == NULL || p->level != METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL || !id_valid(p->organization_id)) {
        if (p && p->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
            mnt_set(&p->municipality_id, "");
        entity_create(&m->engine, call, request, &mnt_programme_kind);
        return;
    }
    programme_ctx *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->call = call;
    c->request = req;
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = p->organization_id;
    service_client_request r = {.service = "registry",
                                .method = "GetOrganization",
                                .request = &get.base,
                                .response = &metodnet__organization__descriptor,
                                .caller = service_call_caller(call),
                                .request_id = service_call_request_id(call),
                                .timeout_ms = 5000};
    if (service_client_call(m->client, &r, s_programme_org, c) != 0) {
        service_call_fail(call, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
        free(c);
    }
}

/* ---------- staff from the registry ---------- */

int mnt_resolve_staff(mentoring *m, service_call *call, const char *region, const char *const *ids, size_t n,
                      service_client_cb cb, void *ud)
{
    Metodnet__ResolveStaffRequest req = METODNET__RESOLVE_STAFF_REQUEST__INIT;
    req.region_id = (char *)region;
    req.refs = (char **)ids;
    req.n_refs = n;
    service_client_request r = {.service = "registry",
                                .method = "ResolveStaff",
                                .request = &req.base,
                                .response = &metodnet__resolve_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(call),
                                .timeout_ms = 5000};
    return service_client_call(m->client, &r, cb, ud);
}

static const Metodnet__StaffMember *s_found(const Metodnet__ResolveStaffResponse *found, const char *id)
{
    for (size_t i = 0; found && i < found->n_items; i++)
        if (strcmp(found->items[i]->id, id) == 0)
            return found->items[i];
    return NULL;
}

static void s_fail_field(service_call *call, const char *field, const char *message)
{
    validation v;
    validation_init(&v);
    validation_add(&v, field, "%s", message);
    service_call_fail_validation(call, &v);
    validation_free(&v);
}

/* ---------- mentor profile ---------- */

typedef struct {
    mentoring *m;
    service_call *call;
    Metodnet__MentorProfile *next;
} mentor_ctx;

static void s_mentor_ctx_free(mentor_ctx *c)
{
    if (c->next)
        protobuf_c_message_free_unpacked(&c->next->base, NULL);
    free(c);
}

static void s_mentor_saved(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    mentor_ctx *c = ud;
    if (result == ENTITY_OK) {
        entity_kind_audit(&c->m->engine, c->call, &mnt_mentor_kind, "create", c->next->id, c->next->region_id);
        service_call_reply(c->call, &c->next->base);
    } else if (result == ENTITY_EXISTS) {
        service_call_fail(c->call, MNT_CODE(CONFLICT), mnt_mentor_kind.exists_ru);
    } else {
        log_error(service_call_request_id(c->call), "профиль наставника не записан: %s", error ? error : "?");
        service_call_fail(c->call, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
    }
    s_mentor_ctx_free(c);
}

static void s_mentor_staff(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    mentor_ctx *c = ud;
    const Metodnet__Principal *caller = service_call_caller(c->call);
    if (status->code != MNT_CODE(OK)) {
        service_call_fail(c->call, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
        s_mentor_ctx_free(c);
        return;
    }
    const Metodnet__StaffMember *s = s_found((const Metodnet__ResolveStaffResponse *)response, c->next->staff_id);
    if (s == NULL || !mnt_staff_readable(caller, s)) {
        s_fail_field(c->call, "mentor.staffId", "Сотрудник не найден");
        s_mentor_ctx_free(c);
        return;
    }
    if (!s->active) {
        s_fail_field(c->call, "mentor.staffId", "Сотрудник не работает (active = false): наставником быть не может");
        s_mentor_ctx_free(c);
        return;
    }
    Metodnet__MentorProfile *p = c->next;
    char name[400];
    mnt_full_name(s, name, sizeof name);
    mnt_set(&p->full_name, name);
    mnt_set(&p->region_id, s->region_id);
    mnt_copy_strings(&p->organization_ids, &p->n_organization_ids, s->organization_ids, s->n_organization_ids);
    mnt_copy_strings(&p->municipality_ids, &p->n_municipality_ids, s->municipality_ids, s->n_municipality_ids);
    mnt_copy_strings(&p->subjects, &p->n_subjects, s->subjects, s->n_subjects);
    if (!entity_kind_allows(&mnt_mentor_kind, caller, &p->base, SCOPE_WRITE)) {
        service_call_fail(c->call, MNT_CODE(PERMISSION_DENIED),
                          "Профиль наставника ведёт методист или администратор организации");
        s_mentor_ctx_free(c);
        return;
    }
    char now[40];
    mnt_now(now, sizeof now);
    p->version = 1;
    mnt_set(&p->created_at, now);
    mnt_set(&p->updated_at, now);
    if (entity_kind_save(c->m->store, &mnt_mentor_kind, c->call, NULL, &p->base, s_mentor_saved, c) != 0) {
        service_call_fail(c->call, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        s_mentor_ctx_free(c);
    }
}

void mnt_create_mentor(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    const Metodnet__CreateMentorRequest *req = (const Metodnet__CreateMentorRequest *)request;
    if (req->mentor == NULL) {
        service_call_fail(call, MNT_CODE(INVALID_ARGUMENT), "Нет данных записи в теле запроса");
        return;
    }
    Metodnet__MentorProfile *p = (Metodnet__MentorProfile *)pbfield_clone(&req->mentor->base);
    char id[72] = "";
    mnt_mentor_id_of(p->staff_id, id, sizeof id);
    mnt_set(&p->id, id);
    p->version = 0;
    if (!entity_request_names(request, "max_mentees"))
        p->max_mentees = MNT_DEFAULT_MAX_MENTEES;
    if (!entity_request_names(request, "available"))
        p->available = true;
    validation v;
    validation_init(&v);
    mnt_mentor_kind.validate(&p->base, true, &v);
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        protobuf_c_message_free_unpacked(&p->base, NULL);
        return;
    }
    validation_free(&v);
    mentor_ctx *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->call = call;
    c->next = p;
    char region[4];
    snprintf(region, sizeof region, "%.2s", p->staff_id);
    const char *ids[] = {p->staff_id};
    if (mnt_resolve_staff(m, call, region, ids, 1, s_mentor_staff, c) != 0) {
        service_call_fail(call, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
        s_mentor_ctx_free(c);
    }
}

/* GET/PATCH /api/v1/mentors/{staffId}: the profile's id is the staff member's with the letter m. */
static bool s_mentor_request_id(service_call *call, ProtobufCMessage *request)
{
    const char *staff = pbfield_string(request, "staff_id");
    const char *id = pbfield_string(request, "id");
    char mentor_id[72];
    if (staff && *staff && mnt_mentor_id_of(staff, mentor_id, sizeof mentor_id)) {
        pbfield_set_string(request, "id", mentor_id);
        return true;
    }
    if (id && mnt_mentor_id_of(id, mentor_id, sizeof mentor_id)) {
        pbfield_set_string(request, "id", mentor_id);
        return true;
    }
    if (id && *id)
        return true; /* "07-m12" as it is */
    service_call_fail(call, MNT_CODE(NOT_FOUND), mnt_mentor_kind.not_found_ru);
    return false;
}

void mnt_get_mentor(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    if (s_mentor_request_id(call, (ProtobufCMessage *)request))
        entity_get(&m->engine, call, request, &mnt_mentor_kind, "id");
}

void mnt_update_mentor(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    if (s_mentor_request_id(call, (ProtobufCMessage *)request))
        entity_update(&m->engine, call, request, &mnt_mentor_kind, "id");
}

/* ---------- pair: the write with a free place ---------- */

#define SLOT_TRIES 8

typedef struct {
    mentoring *m;
    service_call *call;
    Metodnet__MentoringPair *pair;
    int max_places;
    int tries;
    char slot_key[MNT_KEY_MAX];
    mnt_pair_saved_cb cb;
    void *ud;
} save_ctx;

static void s_save_done(save_ctx *c, Metodnet__StatusCode code, const char *message)
{
    c->cb(code, message, code == MNT_CODE(OK) ? c->pair : NULL, c->ud);
    protobuf_c_message_free_unpacked(&c->pair->base, NULL);
    free(c);
}

static void s_try_slot(save_ctx *c);

static void s_pair_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    save_ctx *c = ud;
    if (result == ENTITY_OK) {
        entity_kind_audit(&c->m->engine, c->call, &mnt_pair_kind, "create", c->pair->id, c->pair->region_id);
        s_save_done(c, MNT_CODE(OK), NULL);
    } else if (result == ENTITY_CLAIMED && detail == 1 && ++c->tries < SLOT_TRIES) {
        s_try_slot(c); /* the place was taken meanwhile: the next free one */
    } else if (result == ENTITY_CLAIMED && detail == 1) {
        s_save_done(c, MNT_CODE(CONFLICT), "Места наставника заняты одновременными запросами: повторите");
    } else if (result == ENTITY_CLAIMED || result == ENTITY_EXISTS) {
        s_save_done(c, MNT_CODE(CONFLICT), mnt_pair_kind.exists_ru);
    } else if (result == ENTITY_MISSING_REFERENCE) {
        s_save_done(c, MNT_CODE(INVALID_ARGUMENT), mnt_programme_kind.not_found_ru);
    } else {
        log_error(service_call_request_id(c->call), "пара не записана: %s", error ? error : "?");
        s_save_done(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
    }
}

static void s_slots_read(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    save_ctx *c = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(c->call), "места наставника не прочитаны: %s", error ? error : "?");
        s_save_done(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    int free_slot = 0;
    for (size_t i = 0; i < n && free_slot == 0; i++)
        if (owners[i] == NULL)
            free_slot = (int)i + 1;
    if (free_slot == 0) {
        char message[200];
        snprintf(message, sizeof message, "У наставника нет свободных мест: заняты %d из %d", c->max_places,
                 c->max_places);
        s_save_done(c, MNT_CODE(CONFLICT), message);
        return;
    }
    c->pair->load_slot = free_slot;
    if (entity_kind_save(c->m->store, &mnt_pair_kind, c->call, NULL, &c->pair->base, s_pair_written, c) != 0)
        s_save_done(c, MNT_CODE(INTERNAL), "Запись пары не принята хранилищем");
}

static void s_try_slot(save_ctx *c)
{
    char values[MNT_MAX_MENTEES_LIMIT][96];
    const char *ptrs[MNT_MAX_MENTEES_LIMIT];
    int n = c->max_places;
    for (int i = 0; i < n; i++) {
        snprintf(values[i], sizeof values[i], "%s#%d", c->pair->mentor_staff_id, i + 1);
        ptrs[i] = values[i];
    }
    if (entity_store_claim_owners(c->m->store, c->slot_key, ptrs, (size_t)n, s_slots_read, c) != 0)
        s_save_done(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

static void s_pair_id(entity_result result, int64_t value, const char *error, void *ud)
{
    save_ctx *c = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(c->call), "не удалось выдать идентификатор пары: %s", error ? error : "?");
        s_save_done(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    char id[64];
    entity_kind_make_id(&mnt_pair_kind, c->pair->region_id, (long long)value, id, sizeof id);
    mnt_set(&c->pair->id, id);
    s_try_slot(c);
}

void mnt_save_new_pair(mentoring *m, service_call *call, Metodnet__MentoringPair *pair, int max_places,
                       mnt_pair_saved_cb cb, void *ud)
{
    save_ctx *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->call = call;
    c->pair = pair;
    c->max_places = max_places < 1 ? 1 : max_places > MNT_MAX_MENTEES_LIMIT ? MNT_MAX_MENTEES_LIMIT : max_places;
    c->cb = cb;
    c->ud = ud;
    entity_kind_claims_key(&mnt_pair_kind, pair->region_id, MNT_PAIR_CLAIM_SLOT, c->slot_key, sizeof c->slot_key);
    char now[40];
    mnt_now(now, sizeof now);
    pair->version = 1;
    mnt_set(&pair->created_at, now);
    mnt_set(&pair->updated_at, now);
    if (*pair->id) {
        s_try_slot(c);
        return;
    }
    char sequence[MNT_KEY_MAX];
    entity_kind_sequence_key(&mnt_pair_kind, pair->region_id, sequence, sizeof sequence);
    if (entity_store_next_id(m->store, sequence, s_pair_id, c) != 0)
        s_save_done(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

/* ---------- pair: create ---------- */

typedef struct {
    mentoring *m;
    service_call *call;
    Metodnet__MentoringPair *pair;
    Metodnet__SupportProgramme *programme;
    int max_places;
} pair_ctx;

static void s_pair_ctx_free(pair_ctx *c)
{
    if (c->pair)
        protobuf_c_message_free_unpacked(&c->pair->base, NULL);
    if (c->programme)
        protobuf_c_message_free_unpacked(&c->programme->base, NULL);
    free(c);
}

static void s_pair_fail(pair_ctx *c, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(c->call, code, message);
    s_pair_ctx_free(c);
}

static void s_pair_saved(Metodnet__StatusCode code, const char *message_ru, const Metodnet__MentoringPair *pair,
                         void *ud)
{
    pair_ctx *c = ud;
    if (code == MNT_CODE(OK))
        service_call_reply(c->call, &pair->base);
    else
        service_call_fail(c->call, code, message_ru);
    s_pair_ctx_free(c);
}

static void s_add_unique(char ***list, size_t *n, char *const *src, size_t n_src)
{
    for (size_t i = 0; i < n_src; i++) {
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = strcmp((*list)[j], src[i]) == 0;
        if (seen || *n >= ENTITY_TERRITORY_MAX)
            continue;
        *list = xrealloc(*list, (*n + 1) * sizeof **list);
        (*list)[(*n)++] = xstrdup(src[i]);
    }
}

static void s_pair_people(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    pair_ctx *c = ud;
    const Metodnet__Principal *caller = service_call_caller(c->call);
    if (status->code != MNT_CODE(OK)) {
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
        return;
    }
    const Metodnet__ResolveStaffResponse *found = (const Metodnet__ResolveStaffResponse *)response;
    Metodnet__MentoringPair *p = c->pair;
    const Metodnet__StaffMember *mentor = s_found(found, p->mentor_staff_id);
    const Metodnet__StaffMember *mentee = s_found(found, p->mentee_staff_id);
    if (mentee == NULL || !mnt_staff_readable(caller, mentee)) {
        s_fail_field(c->call, "pair.menteeStaffId", "Сотрудник не найден");
        s_pair_ctx_free(c);
        return;
    }
    if (mentor == NULL || !mnt_staff_readable(caller, mentor)) {
        s_fail_field(c->call, "pair.mentorStaffId", "Сотрудник не найден");
        s_pair_ctx_free(c);
        return;
    }
    if (!mentor->active || !mentee->active) {
        s_fail_field(c->call, mentor->active ? "pair.menteeStaffId" : "pair.mentorStaffId",
                     "Сотрудник не работает (active = false)");
        s_pair_ctx_free(c);
        return;
    }
    char name[400];
    mnt_full_name(mentor, name, sizeof name);
    mnt_set(&p->mentor_name, name);
    mnt_full_name(mentee, name, sizeof name);
    mnt_set(&p->mentee_name, name);
    mnt_copy_strings(&p->organization_ids, &p->n_organization_ids, NULL, 0);
    mnt_copy_strings(&p->municipality_ids, &p->n_municipality_ids, NULL, 0);
    s_add_unique(&p->organization_ids, &p->n_organization_ids, mentee->organization_ids, mentee->n_organization_ids);
    s_add_unique(&p->organization_ids, &p->n_organization_ids, mentor->organization_ids, mentor->n_organization_ids);
    s_add_unique(&p->municipality_ids, &p->n_municipality_ids, mentee->municipality_ids, mentee->n_municipality_ids);
    s_add_unique(&p->municipality_ids, &p->n_municipality_ids, mentor->municipality_ids, mentor->n_municipality_ids);
    /* the caller writes where the mentee works */
    entity_territory t;
    memset(&t, 0, sizeof t);
    scope_object mentee_scope = {.region_id = mentee->region_id,
                                 .municipality_ids = (const char *const *)mentee->municipality_ids,
                                 .n_municipalities = mentee->n_municipality_ids,
                                 .organization_ids = (const char *const *)mentee->organization_ids,
                                 .n_organizations = mentee->n_organization_ids};
    (void)t;
    if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF || caller->role == METODNET__ROLE__ROLE_TEACHER ||
        !scope_allows(caller, &mentee_scope, SCOPE_WRITE)) {
        s_pair_fail(c, MNT_CODE(PERMISSION_DENIED), "Пары формирует методист или администратор организации");
        return;
    }
    Metodnet__MentoringPair *pair = c->pair;
    c->pair = NULL;
    mnt_save_new_pair(c->m, c->call, pair, c->max_places, s_pair_saved, c);
}

static void s_pair_profile(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                           void *ud)
{
    (void)version;
    pair_ctx *c = ud;
    c->max_places = MNT_DEFAULT_MAX_MENTEES;
    if (result == ENTITY_OK) {
        Metodnet__MentorProfile *profile = metodnet__mentor_profile__unpack(NULL, len, data);
        if (profile == NULL) {
            s_pair_fail(c, MNT_CODE(INTERNAL), "Профиль наставника повреждён; сообщите администратору");
            return;
        }
        c->max_places = profile->max_mentees;
        bool available = profile->available;
        protobuf_c_message_free_unpacked(&profile->base, NULL);
        if (!available) {
            s_pair_fail(c, MNT_CODE(CONFLICT), "Наставник сейчас не принимает наставляемых (available = false)");
            return;
        }
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(c->call), "профиль наставника не прочитан: %s", error ? error : "?");
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    const char *ids[] = {c->pair->mentor_staff_id, c->pair->mentee_staff_id};
    if (mnt_resolve_staff(c->m, c->call, c->pair->region_id, ids, 2, s_pair_people, c) != 0)
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), s_registry_unavailable_ru);
}

static void s_pair_programme(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                             void *ud)
{
    (void)version;
    pair_ctx *c = ud;
    if (result == ENTITY_OK)
        c->programme = metodnet__support_programme__unpack(NULL, len, data);
    if (result == ENTITY_NOT_FOUND ||
        (result == ENTITY_OK && c->programme != NULL &&
         !entity_kind_allows(&mnt_programme_kind, service_call_caller(c->call), &c->programme->base, SCOPE_READ))) {
        s_fail_field(c->call, "pair.programmeId", mnt_programme_kind.not_found_ru);
        s_pair_ctx_free(c);
        return;
    }
    if (result != ENTITY_OK || c->programme == NULL) {
        log_error(service_call_request_id(c->call), "программа не прочитана: %s", error ? error : "?");
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    if (c->programme->status != METODNET__SUPPORT_PROGRAMME_STATUS__SUPPORT_PROGRAMME_STATUS_ACTIVE) {
        s_pair_fail(c, MNT_CODE(CONFLICT), "Программа закрыта: новые пары в ней не создаются");
        return;
    }
    char key[MNT_KEY_MAX], mentor_id[72];
    mnt_mentor_id_of(c->pair->mentor_staff_id, mentor_id, sizeof mentor_id);
    entity_kind_key(&mnt_mentor_kind, mentor_id, key, sizeof key);
    if (entity_store_get(c->m->store, key, s_pair_profile, c) != 0)
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

void mnt_pair_reset_new(Metodnet__MentoringPair *p, const Metodnet__Principal *caller, const char *reason)
{
    char now[40];
    mnt_now(now, sizeof now);
    mnt_set(&p->id, "");
    p->status = METODNET__PAIR_STATUS__PAIR_STATUS_PROPOSED;
    p->load_slot = 0;
    p->version = 0;
    for (size_t i = 0; i < p->n_history; i++)
        protobuf_c_message_free_unpacked(&p->history[i]->base, NULL);
    free(p->history);
    p->history = NULL;
    p->n_history = 0;
    for (size_t i = 0; i < p->n_meetings; i++)
        protobuf_c_message_free_unpacked(&p->meetings[i]->base, NULL);
    free(p->meetings);
    p->meetings = NULL;
    p->n_meetings = 0;
    if (p->outcome)
        protobuf_c_message_free_unpacked(&p->outcome->base, NULL);
    p->outcome = NULL;
    Metodnet__PairStatusChange *h = xmalloc(sizeof *h);
    metodnet__pair_status_change__init(h);
    h->status = p->status;
    h->by = xstrdup(caller && caller->user_id ? caller->user_id : "");
    h->at = xstrdup(now);
    h->reason = xstrdup(reason ? reason : "");
    p->history = xmalloc(sizeof *p->history);
    p->history[0] = h;
    p->n_history = 1;
    if (!*p->region_id) {
        char region[4];
        snprintf(region, sizeof region, "%.2s", p->mentee_staff_id);
        mnt_set(&p->region_id, region);
    }
}

void mnt_create_pair(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    const Metodnet__CreatePairRequest *req = (const Metodnet__CreatePairRequest *)request;
    if (req->pair == NULL) {
        service_call_fail(call, MNT_CODE(INVALID_ARGUMENT), "Нет данных записи в теле запроса");
        return;
    }
    pair_ctx *c = xcalloc(1, sizeof *c);
    c->m = m;
    c->call = call;
    c->pair = (Metodnet__MentoringPair *)pbfield_clone(&req->pair->base);
    mnt_set(&c->pair->region_id, "");
    c->pair->score = 0;
    mnt_pair_reset_new(c->pair, service_call_caller(call), "");
    validation v;
    validation_init(&v);
    mnt_pair_kind.validate(&c->pair->base, true, &v);
    char region[8];
    if (validation_ok(&v) && (!entity_region_of(c->pair->mentee_staff_id, region, sizeof region) ||
                              !entity_region_of(c->pair->mentor_staff_id, region, sizeof region) ||
                              strncmp(c->pair->mentor_staff_id, c->pair->mentee_staff_id, 2) != 0))
        validation_add(&v, "pair.mentorStaffId", "Наставник и наставляемый — сотрудники одного региона");
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        s_pair_ctx_free(c);
        return;
    }
    validation_free(&v);
    char key[MNT_KEY_MAX];
    if (!entity_kind_key(&mnt_programme_kind, c->pair->programme_id, key, sizeof key) ||
        strncmp(c->pair->programme_id, c->pair->region_id, 2) != 0) {
        s_fail_field(call, "pair.programmeId", mnt_programme_kind.not_found_ru);
        s_pair_ctx_free(c);
        return;
    }
    if (entity_store_get(m->store, key, s_pair_programme, c) != 0)
        s_pair_fail(c, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

void mnt_update_pair(service_call *call, const ProtobufCMessage *request, void *ud)
{
    mentoring *m = ud;
    const Metodnet__Principal *caller = service_call_caller(call);
    if (caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF) {
        service_call_fail(call, MNT_CODE(PERMISSION_DENIED),
                          "План и состав пары меняет методист или администратор; наставник записывает встречи");
        return;
    }
    entity_update(&m->engine, call, request, &mnt_pair_kind, "id");
}
