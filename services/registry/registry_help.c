/* registry_help — catalogue kinds of the methodologist's daily help work: requests for methodological
 * help filed by a school or a teacher, and the journal of consultations (000 §3.3 п.3; 002 разд.7;
 * 003 §4.3; 004 §3.1, §3.4). Descriptors and hooks only; the engine does the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_catalogue_internal.h"
#include "xalloc.h"

#define HELP_MAX_ANSWERS     50
#define HELP_MAX_COMPETENCES 10

static bool s_methodologist(const Metodnet__Principal *caller)
{
    return caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST || caller->role == METODNET__ROLE__ROLE_SYSTEM;
}

/* Fills the territory of a record of an organization (optional), a municipality and a person (optional). */
static void s_territory(registry_territory *out, const char *region, const char *municipality, const char *organization,
                        const char *person)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = region;
    if (catalogue_set(municipality)) {
        out->municipalities[0] = municipality;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    if (catalogue_set(organization)) {
        out->organizations[0] = organization;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
    if (catalogue_set(person))
        out->object.person_id = person;
}

/* ---------- help request ---------- */

static const char *const s_request_immutable[] = {"id",        "region_id", "municipality_id", "status",     "answers",
                                                  "closed_at", "version",   "created_at",      "updated_at", NULL};

static void s_request_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__HelpRequest *r = (const Metodnet__HelpRequest *)msg;
    catalogue_check_id(v, "organizationId", r->organization_id, &registry_organization_kind, false, "07-o12");
    catalogue_check_id(v, "staffId", r->staff_id, &registry_staff_kind, false, "07-s12");
    if (!catalogue_set(r->organization_id) && !catalogue_set(r->staff_id))
        validation_add(v, "organizationId",
                       "Укажите школу (organizationId) или педагога (staffId), который просит помощи");
    validate_text(v, "topic", r->topic, 300, true);
    validate_text(v, "description", r->description, 4000, false);
    catalogue_check_competences(v, "competences", r->competences, r->n_competences, HELP_MAX_COMPETENCES);
    if (r->urgency == METODNET__HELP_URGENCY__HELP_URGENCY_UNSPECIFIED)
        validation_add(v, "urgency", "Укажите срочность: low (в течение года), normal (в течение месяца) или high");
}

static void s_request_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__HelpRequest *r = (const Metodnet__HelpRequest *)msg;
    s_territory(out, r->region_id, r->municipality_id, r->organization_id, r->staff_id);
}

static void s_request_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__HelpRequest *r = (const Metodnet__HelpRequest *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    /* newest first would need a reversed key; by filing time (oldest open first) is what a queue wants */
    catalogue_dated_member(member, sizeof member, r->created_at, r->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:helpRequest", r->region_id);
    registry_layout_index(out, key, member);
    if (catalogue_set(r->municipality_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:helpRequest:mun:%s", r->region_id, r->municipality_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "mun", r->municipality_id);
    }
    if (catalogue_set(r->organization_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:helpRequest:org:%s", r->region_id, r->organization_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "org", r->organization_id);
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", r->region_id, r->organization_id);
    }
    if (catalogue_set(r->staff_id)) {
        registry_layout_token(out, "staff", r->staff_id);
        catalogue_staff_must_exist(out, r->region_id, r->staff_id, "staffId");
    }
    registry_layout_token(out, "status", catalogue_word(&metodnet__help_request_status__descriptor, r->status));
    registry_layout_token(out, "urgency", catalogue_word(&metodnet__help_urgency__descriptor, r->urgency));
    for (size_t i = 0; i < r->n_competences; i++)
        registry_layout_token(out, "comp", r->competences[i]);
}

static size_t s_request_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__HelpRequest *r = (const Metodnet__HelpRequest *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_staff_kind, r->staff_id, "staffId", true);
    return catalogue_add_reference(out, n, max, &registry_organization_kind, r->organization_id, "organizationId",
                                   true);
}

static void s_request_prepare(ProtobufCMessage *msg)
{
    catalogue_replace(&((Metodnet__HelpRequest *)msg)->municipality_id, "");
}

static void s_request_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__HelpRequest *r = (Metodnet__HelpRequest *)msg;
    catalogue_apply_person_organization(&r->organization_id, &r->municipality_id, loaded, "staffId",
                                        "Работник трудится в нескольких организациях: укажите организацию",
                                        "Работник не работает в указанной организации", v);
}

static void s_request_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__HelpRequest *r = (Metodnet__HelpRequest *)msg;
    r->status = METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_OPEN;
    for (size_t i = 0; i < r->n_answers; i++)
        protobuf_c_message_free_unpacked(&r->answers[i]->base, NULL);
    free(r->answers);
    r->answers = NULL;
    r->n_answers = 0;
    catalogue_replace(&r->closed_at, "");
}

static const char *s_request_update_conflict(const ProtobufCMessage *current)
{
    if (((const Metodnet__HelpRequest *)current)->status == METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_CLOSED)
        return "Запрос закрыт: чтобы изменить его, сначала откройте его снова (action = reopen)";
    return NULL;
}

static bool s_ref_valid(const char *ref)
{
    size_t n = ref ? strlen(ref) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = ref[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* open --answer--> answered (answers accumulate: a consultation, then an event, …)
 * open | answered --close--> closed --reopen--> open (answered when it has answers)
 * answer: methodologists of the request's municipality and the region; close/reopen: whoever may change it. */
static registry_transition_result s_request_act(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                const Metodnet__Principal *caller, const char *now, validation *v,
                                                const char **conflict_ru)
{
    const Metodnet__ActOnHelpRequestRequest *a = (const Metodnet__ActOnHelpRequestRequest *)request;
    Metodnet__HelpRequest *r = (Metodnet__HelpRequest *)next;
    const char *action = a->action ? a->action : "";
    const Metodnet__HelpRequestStatus closed = METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_CLOSED;
    if (strcmp(action, "answer") == 0) {
        int kind = 0;
        if (!catalogue_set(a->kind) || !pbjson_enum_parse(&metodnet__help_answer_kind__descriptor, a->kind, &kind) ||
            kind == METODNET__HELP_ANSWER_KIND__HELP_ANSWER_KIND_UNSPECIFIED)
            validation_add(v, "kind", "Чем ответили: consultation, event, route_item, mentoring_pair или other");
        bool other = kind == METODNET__HELP_ANSWER_KIND__HELP_ANSWER_KIND_OTHER;
        if (!other && !s_ref_valid(a->ref_id))
            validation_add(v, "refId", "Укажите идентификатор записи, которой ответили (например «07-n3»)");
        if (kind == METODNET__HELP_ANSWER_KIND__HELP_ANSWER_KIND_CONSULTATION && s_ref_valid(a->ref_id)) {
            char key[REGISTRY_KEY_MAX];
            if (!registry_entity_key(&registry_consultation_kind, a->ref_id, key, sizeof key))
                validation_add(v, "refId", "Это не идентификатор консультации (вида «07-n3»)");
        }
        validate_text(v, "note", a->note, 2000, other);
        if (!validation_ok(v))
            return REGISTRY_TRANSITION_INVALID;
        if (!s_methodologist(caller))
            return REGISTRY_TRANSITION_DENIED;
        if (r->status == closed) {
            *conflict_ru = "Запрос закрыт: ответить можно после того, как его откроют снова";
            return REGISTRY_TRANSITION_CONFLICT;
        }
        if (r->n_answers >= HELP_MAX_ANSWERS) {
            *conflict_ru = "У запроса слишком много ответов";
            return REGISTRY_TRANSITION_CONFLICT;
        }
        Metodnet__HelpAnswer *answer = xmalloc(sizeof *answer);
        metodnet__help_answer__init(answer);
        answer->kind = (Metodnet__HelpAnswerKind)kind;
        answer->ref_id = xstrdup(other && !catalogue_set(a->ref_id) ? "" : a->ref_id);
        answer->note = xstrdup(a->note ? a->note : "");
        answer->answered_by = xstrdup(caller->user_id ? caller->user_id : "");
        answer->at = xstrdup(now);
        r->answers = xrealloc(r->answers, (r->n_answers + 1) * sizeof *r->answers);
        r->answers[r->n_answers++] = answer;
        r->status = METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_ANSWERED;
        return REGISTRY_TRANSITION_OK;
    }
    if (strcmp(action, "close") == 0 || strcmp(action, "reopen") == 0) {
        bool closing = action[0] == 'c';
        if ((r->status == closed) == closing) {
            *conflict_ru = closing ? "Запрос уже закрыт" : "Запрос не закрыт";
            return REGISTRY_TRANSITION_CONFLICT;
        }
        if (closing) {
            r->status = closed;
            catalogue_replace(&r->closed_at, now);
        } else {
            r->status = r->n_answers ? METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_ANSWERED
                                     : METODNET__HELP_REQUEST_STATUS__HELP_REQUEST_STATUS_OPEN;
            catalogue_replace(&r->closed_at, "");
        }
        return REGISTRY_TRANSITION_OK;
    }
    validation_add(v, "action", "Действие: answer (kind, refId, note), close или reopen");
    return REGISTRY_TRANSITION_INVALID;
}

static bool s_request_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__HelpRequest *r = (const Metodnet__HelpRequest *)msg;
    const char *q = ((const Metodnet__ListHelpRequestsRequest *)request)->q;
    return !catalogue_set(q) || registry_text_matches(r->topic, q);
}

/* A teacher or a school keeps the wording of its own request current. */
static const char *const s_request_self_editable[] = {"topic", "description", "competences", "urgency", NULL};

static const entity_filter s_request_filters[] = {
    {.field = "status",
     .token = "status",
     .words = &metodnet__help_request_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "urgency", .token = "urgency", .words = &metodnet__help_urgency__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_request_indexes[] = {
    {.field = "organization_id", .index = "helpRequest:org"},
    {.field = "municipality_id", .index = "helpRequest:mun"},
};

const registry_kind registry_help_request_kind = {
    CATALOGUE_KIND,
    .name = "helpRequest",
    .audit_name = "help_request",
    FILTERS(s_request_filters),
    INDEXES(s_request_indexes),
    .self_editable = s_request_self_editable,
    .id_letter = 'h',
    .json_field = "help_request",
    .descriptor = &metodnet__help_request__descriptor,
    .not_found_ru = "Запрос на методическую помощь не найден",
    .exists_ru = "Запрос на методическую помощь уже существует",
    .not_empty_ru = "",
    .immutable = s_request_immutable,
    .validate = s_request_validate,
    .territory = s_request_territory,
    .layout = s_request_layout,
    .list_unnarrowed = true,
    .references = s_request_references,
    .prepare_references = s_request_prepare,
    .apply_reference = s_request_apply,
    .list_match = s_request_match,
    .transition = s_request_act,
    .on_create = s_request_on_create,
    .update_conflict = s_request_update_conflict,
};

/* ---------- consultation ---------- */

static const char *const s_consultation_immutable[] = {"id", "region_id", "version", "created_at", "updated_at", NULL};

static void s_consultation_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    catalogue_check_id(v, "organizationId", c->organization_id, &registry_organization_kind, false, "07-o12");
    catalogue_check_id(v, "askerStaffId", c->asker_staff_id, &registry_staff_kind, false, "07-s12");
    catalogue_check_id(v, "consultantStaffId", c->consultant_staff_id, &registry_staff_kind, false, "07-s12");
    catalogue_check_id(v, "helpRequestId", c->help_request_id, &registry_help_request_kind, false, "07-h3");
    if (!catalogue_set(c->organization_id) && !catalogue_set(c->asker_staff_id))
        catalogue_check_id(v, "municipalityId", c->municipality_id, &registry_municipality_kind, true, "07-m1");
    switch (c->asker) {
    case METODNET__CONSULTATION_ASKER__CONSULTATION_ASKER_TEACHER:
    case METODNET__CONSULTATION_ASKER__CONSULTATION_ASKER_MANAGER:
        if (!catalogue_set(c->asker_staff_id) && !catalogue_set(c->asker_name))
            validation_add(v, "askerStaffId", "Укажите, кто обратился: работника (askerStaffId) или имя (askerName)");
        break;
    case METODNET__CONSULTATION_ASKER__CONSULTATION_ASKER_SCHOOL:
        if (!catalogue_set(c->organization_id))
            validation_add(v, "organizationId", "Обратилась организация: укажите её (organizationId)");
        break;
    case METODNET__CONSULTATION_ASKER__CONSULTATION_ASKER_PARENT:
    case METODNET__CONSULTATION_ASKER__CONSULTATION_ASKER_OTHER:
        if (catalogue_set(c->asker_staff_id))
            validation_add(v, "askerStaffId", "Родитель или иной заявитель — не работник реестра: укажите askerName");
        break;
    default:
        validation_add(v, "asker", "Кто обратился: teacher, manager, school, parent или other");
    }
    validate_text(v, "askerName", c->asker_name, 200, false);
    validate_text(v, "topic", c->topic, 300, true);
    if (c->form == METODNET__CONSULTATION_FORM__CONSULTATION_FORM_UNSPECIFIED)
        validation_add(v, "form", "Форма: in_person, group, online, phone или written");
    validate_text(v, "consultantName", c->consultant_name, 200, false);
    if (!catalogue_set(c->consultant_staff_id) && !catalogue_set(c->consultant_name))
        validation_add(v, "consultantName", "Укажите, кто консультировал: работника (consultantStaffId) или имя");
    int day = 0;
    if (validate_date(v, "heldOn", c->held_on, true, &day) && day > date_today())
        validation_add(v, "heldOn", "Консультация ещё не проведена: дата в будущем");
    if (c->duration_minutes < 0 || c->duration_minutes > 480)
        validation_add(v, "durationMinutes", "Продолжительность — от 0 до 480 минут");
    validate_text(v, "summary", c->summary, 4000, false);
    catalogue_check_competences(v, "competences", c->competences, c->n_competences, HELP_MAX_COMPETENCES);
}

static void s_consultation_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    s_territory(out, c->region_id, c->municipality_id, c->organization_id, NULL);
}

/* The journal is the methodological service's: the region and the municipality's methodologists keep
 * it; a school reads what concerns it, a teacher the consultations they asked for. */
static bool s_consultation_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    if (scope_is_global(caller))
        return true;
    if (!catalogue_eq(caller->region_id, c->region_id))
        return false;
    switch (caller->role) {
    case METODNET__ROLE__ROLE_REGION_ADMIN:
        return true;
    case METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST:
        return caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
               catalogue_eq(caller->scope_id, c->municipality_id);
    case METODNET__ROLE__ROLE_SCHOOL_ADMIN:
        return access == SCOPE_READ && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION &&
               catalogue_eq(caller->scope_id, c->organization_id);
    case METODNET__ROLE__ROLE_TEACHER:
        return access == SCOPE_READ && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF &&
               catalogue_eq(caller->scope_id, c->asker_staff_id);
    default:
        return false;
    }
}

static void s_consultation_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    catalogue_dated_member(member, sizeof member, c->held_on, c->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:consultation", c->region_id);
    registry_layout_index(out, key, member);
    if (catalogue_set(c->municipality_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:consultation:mun:%s", c->region_id, c->municipality_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "mun", c->municipality_id);
        entity_layout_reference(out, "municipalityId", "reg:{r:%s}:mun:%s", c->region_id, c->municipality_id);
    }
    if (catalogue_set(c->organization_id)) {
        registry_layout_token(out, "org", c->organization_id);
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", c->region_id, c->organization_id);
    }
    if (catalogue_set(c->asker_staff_id)) {
        registry_layout_token(out, "asker_staff", c->asker_staff_id);
        catalogue_staff_must_exist(out, c->region_id, c->asker_staff_id, "askerStaffId");
    }
    if (catalogue_set(c->consultant_staff_id))
        catalogue_staff_must_exist(out, c->region_id, c->consultant_staff_id, "consultantStaffId");
    if (catalogue_set(c->help_request_id)) {
        registry_layout_token(out, "help", c->help_request_id);
        entity_layout_reference(out, "helpRequestId", "reg:{r:%s}:helpRequest:%s", c->region_id, c->help_request_id);
    }
    registry_layout_token(out, "asker", catalogue_word(&metodnet__consultation_asker__descriptor, c->asker));
    registry_layout_token(out, "form", catalogue_word(&metodnet__consultation_form__descriptor, c->form));
    for (size_t i = 0; i < c->n_competences; i++)
        registry_layout_token(out, "comp", c->competences[i]);
}

static size_t s_consultation_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_staff_kind, c->asker_staff_id, "askerStaffId", true);
    return catalogue_add_reference(out, n, max, &registry_organization_kind, c->organization_id, "organizationId",
                                   true);
}

/* With an organization or a registered asker, the municipality is theirs (not the client's word). */
static void s_consultation_prepare(ProtobufCMessage *msg)
{
    Metodnet__Consultation *c = (Metodnet__Consultation *)msg;
    if (catalogue_set(c->organization_id) || catalogue_set(c->asker_staff_id))
        catalogue_replace(&c->municipality_id, "");
}

static void s_consultation_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__Consultation *c = (Metodnet__Consultation *)msg;
    catalogue_apply_person_organization(&c->organization_id, &c->municipality_id, loaded, "askerStaffId",
                                        "Работник трудится в нескольких организациях: укажите организацию",
                                        "Работник не работает в указанной организации", v);
}

static bool s_consultation_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__Consultation *c = (const Metodnet__Consultation *)msg;
    const Metodnet__ListConsultationsRequest *r = (const Metodnet__ListConsultationsRequest *)request;
    if (catalogue_set(r->from) && strcmp(c->held_on, r->from) < 0) /* YYYY-MM-DD compares as text */
        return false;
    return !(catalogue_set(r->to) && strcmp(c->held_on, r->to) > 0);
}

static const entity_filter s_consultation_filters[] = {
    {.field = "asker",
     .token = "asker",
     .words = &metodnet__consultation_asker__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "form", .token = "form", .words = &metodnet__consultation_form__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
    {.field = "help_request_id", .token = "help", .check = ENTITY_FILTER_ID},
    {.field = "asker_staff_id", .token = "asker_staff", .check = ENTITY_FILTER_ID},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_consultation_indexes[] = {
    {.field = "municipality_id", .index = "consultation:mun"},
};

const registry_kind registry_consultation_kind = {
    CATALOGUE_KIND,
    .name = "consultation",
    FILTERS(s_consultation_filters),
    INDEXES(s_consultation_indexes),
    .id_letter = 'n',
    .json_field = "consultation",
    .descriptor = &metodnet__consultation__descriptor,
    .not_found_ru = "Консультация не найдена",
    .exists_ru = "Консультация уже записана",
    .not_empty_ru = "",
    .personal = true, /* a parent's name */
    .immutable = s_consultation_immutable,
    .validate = s_consultation_validate,
    .territory = s_consultation_territory,
    .layout = s_consultation_layout,
    .allows = s_consultation_allows,
    .list_unnarrowed = true,
    .references = s_consultation_references,
    .prepare_references = s_consultation_prepare,
    .apply_reference = s_consultation_apply,
    .list_match = s_consultation_match,
};
