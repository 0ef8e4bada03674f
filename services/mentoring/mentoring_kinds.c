/* mentoring_kinds — the kinds of the mentoring service on the entity engine: support programmes,
 * mentor profiles and mentoring pairs (validation, territory, scope, layout with its claims, the
 * pair's lifecycle transitions and meeting log), and the small helpers the service's files share.
 *
 * A pair holds two claims while proposed or active: "open" (one pair per mentor, mentee and
 * programme) and "slot" ("<mentor>#<n>", one of the mentor's places, n ≤ max mentees): the load check
 * is the store's atomic claim check, so concurrent creations never put a mentor above the limit.
 * Completing or cancelling a pair gives both up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dictionary.h"
#include "mentoring_internal.h"
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

const char *const mnt_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";

/* ---------- helpers ---------- */

static bool s_set(const char *s)
{
    return s != NULL && *s != '\0';
}

static bool s_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

void mnt_set(char **field, const char *value)
{
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = xstrdup(value ? value : "");
}

void mnt_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src)
{
    for (size_t i = 0; i < *n_dst; i++)
        if ((*dst)[i] != protobuf_c_empty_string)
            free((*dst)[i]);
    free(*dst);
    *dst = n_src ? xcalloc(n_src, sizeof **dst) : NULL;
    for (size_t i = 0; i < n_src; i++)
        (*dst)[i] = xstrdup(src[i] ? src[i] : "");
    *n_dst = n_src;
}

void mnt_now(char *out, size_t size)
{
    clock_rfc3339(clock_unix_ms(), out, size);
}

bool mnt_competence_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

bool mnt_mentor_id_of(const char *staff_id, char *out, size_t size)
{
    if (!id_valid(staff_id) || strlen(staff_id) < 5 || staff_id[2] != '-' || staff_id[3] != 's')
        return false;
    for (const char *p = staff_id + 4; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    snprintf(out, size, "%.2s-m%s", staff_id, staff_id + 4);
    return true;
}

bool mnt_staff_readable(const Metodnet__Principal *caller, const Metodnet__StaffMember *s)
{
    scope_object o = {.region_id = s->region_id,
                      .municipality_ids = (const char *const *)s->municipality_ids,
                      .n_municipalities = s->n_municipality_ids,
                      .organization_ids = (const char *const *)s->organization_ids,
                      .n_organizations = s->n_organization_ids,
                      .person_id = s->id};
    return scope_allows(caller, &o, SCOPE_READ);
}

void mnt_full_name(const Metodnet__StaffMember *s, char *out, size_t size)
{
    snprintf(out, size, "%s %s%s%s", s->last_name, s->first_name, s_set(s->middle_name) ? " " : "", s->middle_name);
}

bool mnt_pair_open(Metodnet__PairStatus status)
{
    return status == METODNET__PAIR_STATUS__PAIR_STATUS_PROPOSED || status == METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE;
}

static const char *s_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *w = pbjson_enum_word(desc, value);
    return w ? w : "none";
}

static bool s_is_self(const Metodnet__Principal *caller)
{
    return caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
}

static const char *const s_region_fields_programme[] = {"organization_id", "municipality_id", "region_id", NULL};
static const char *const s_region_fields_mentor[] = {"staff_id", NULL};
static const char *const s_region_fields_pair[] = {"mentee_staff_id", NULL};

static void s_territory_of(entity_territory *out, const char *region, char *const *orgs, size_t n_orgs,
                           char *const *muns, size_t n_muns)
{
    memset(out, 0, sizeof *out);
    out->object.region_id = region;
    size_t no = n_orgs < ENTITY_TERRITORY_MAX ? n_orgs : ENTITY_TERRITORY_MAX;
    size_t nm = n_muns < ENTITY_TERRITORY_MAX ? n_muns : ENTITY_TERRITORY_MAX;
    for (size_t i = 0; i < no; i++)
        out->organizations[i] = orgs[i];
    for (size_t i = 0; i < nm; i++)
        out->municipalities[i] = muns[i];
    out->object.organization_ids = out->organizations;
    out->object.n_organizations = no;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = nm;
}

/* ---------- support programme ---------- */

static const char *const s_programme_immutable[] = {
    "id", "region_id", "level", "municipality_id", "organization_id", "version", "created_at", "updated_at", NULL};

static void s_programme_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__SupportProgramme *p = (const Metodnet__SupportProgramme *)msg;
    if (p->kind == METODNET__SUPPORT_PROGRAMME_KIND__SUPPORT_PROGRAMME_KIND_UNSPECIFIED)
        validation_add(v, "kind", "Укажите вид программы: mentoring, young_support или association_support");
    switch (p->level) {
    case METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL:
        validate_id(v, "organizationId", p->organization_id, true);
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL:
        validate_id(v, "municipalityId", p->municipality_id, true);
        if (s_set(p->organization_id))
            validation_add(v, "organizationId", "У муниципальной программы нет организации");
        break;
    case METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL:
        if (s_set(p->organization_id) || s_set(p->municipality_id))
            validation_add(v, "level", "У региональной программы нет организации и муниципалитета");
        break;
    default:
        validation_add(v, "level", "Укажите владельца программы: institutional, municipal или regional");
    }
    validate_text(v, "title", p->title, 300, true);
    int from = 0, to = 0;
    bool from_ok = validate_date(v, "startsOn", p->starts_on, true, &from);
    if (validate_date(v, "endsOn", p->ends_on, false, &to) && from_ok && s_set(p->ends_on) && to < from)
        validation_add(v, "endsOn", "Дата окончания раньше даты начала");
    validate_id(v, "responsibleStaffId", p->responsible_staff_id, false);
    validate_text(v, "responsibleName", p->responsible_name, 200, false);
    validate_text(v, "actNumber", p->act_number, 100, false);
    validate_date(v, "actDate", p->act_date, false, NULL);
    validate_text(v, "description", p->description, 4000, false);
}

static void s_programme_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__SupportProgramme *p = (const Metodnet__SupportProgramme *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = p->region_id;
    if (p->level == METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        return;
    out->municipalities[0] = p->municipality_id;
    out->object.municipality_ids = out->municipalities;
    out->object.n_municipalities = 1;
    if (p->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL) {
        out->organizations[0] = p->organization_id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
}

/* Every role of the region reads programmes (a teacher sees the programme of their pair); writers of
 * the owner write; a municipality's staff also write what the municipality itself owns. */
static bool s_programme_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__SupportProgramme *p = (const Metodnet__SupportProgramme *)msg;
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || !s_eq(caller->region_id, p->region_id))
        return false;
    if (access == SCOPE_READ)
        return caller->role != METODNET__ROLE__ROLE_UNSPECIFIED;
    if (s_is_self(caller) || caller->role == METODNET__ROLE__ROLE_TEACHER)
        return false;
    entity_territory t;
    s_programme_territory(msg, &t);
    if (scope_allows(caller, &t.object, SCOPE_WRITE))
        return true;
    return p->level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL &&
           caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY &&
           caller->role != METODNET__ROLE__ROLE_SCHOOL_SYSTEM && s_eq(caller->scope_id, p->municipality_id);
}

static void s_programme_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__SupportProgramme *p = (const Metodnet__SupportProgramme *)msg;
    char member[160];
    entity_layout_sort_member(member, sizeof member, p->title, p->id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:sprog", p->region_id);
    if (s_set(p->municipality_id))
        entity_layout_index(out, member, "mnt:{r:%s}:ix:sprog:mun:%s", p->region_id, p->municipality_id);
    entity_layout_token(out, "kind", s_word(&metodnet__support_programme_kind__descriptor, p->kind));
    entity_layout_token(out, "level", s_word(&metodnet__home_level__descriptor, p->level));
    entity_layout_token(out, "st", s_word(&metodnet__support_programme_status__descriptor, p->status));
    if (s_set(p->municipality_id))
        entity_layout_token(out, "mun", p->municipality_id);
    if (s_set(p->organization_id))
        entity_layout_token(out, "org", p->organization_id);
    /* pairs keep their programme */
    entity_layout_guard(out, "mnt:{r:%s}:ix:pair:programme:%s", p->region_id, p->id);
}

static void s_programme_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    Metodnet__SupportProgramme *p = (Metodnet__SupportProgramme *)msg;
    if (!entity_request_names(request, "status") ||
        p->status == METODNET__SUPPORT_PROGRAMME_STATUS__SUPPORT_PROGRAMME_STATUS_UNSPECIFIED)
        p->status = METODNET__SUPPORT_PROGRAMME_STATUS__SUPPORT_PROGRAMME_STATUS_ACTIVE;
}

static const entity_filter s_programme_filters[] = {
    {.field = "kind",
     .token = "kind",
     .words = &metodnet__support_programme_kind__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "status",
     .token = "st",
     .words = &metodnet__support_programme_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_programme_indexes[] = {
    {.field = "municipality_id", .index = "sprog:mun", .token = "mun"},
};

const entity_kind mnt_programme_kind = {
    .prefix = "mnt",
    .name = "sprog",
    .audit_name = "support_programme",
    .id_letter = 'g',
    .json_field = "programme",
    .descriptor = &metodnet__support_programme__descriptor,
    .not_found_ru = "Программа поддержки не найдена",
    .exists_ru = "Программа поддержки уже существует",
    .not_empty_ru = "В программе есть пары наставничества: удалить её нельзя, закройте её (status closed)",
    .immutable = s_programme_immutable,
    .region_fields = s_region_fields_programme,
    .filters = s_programme_filters,
    .n_filters = sizeof s_programme_filters / sizeof s_programme_filters[0],
    .list_indexes = s_programme_indexes,
    .n_list_indexes = sizeof s_programme_indexes / sizeof s_programme_indexes[0],
    .list_unnarrowed = true,
    .validate = s_programme_validate,
    .territory = s_programme_territory,
    .layout = s_programme_layout,
    .allows = s_programme_allows,
    .on_create = s_programme_on_create,
};

/* ---------- mentor profile ---------- */

static const char *const s_mentor_immutable[] = {
    "id",      "region_id",  "staff_id",   "full_name", "organization_ids", "municipality_ids", "subjects",
    "version", "created_at", "updated_at", NULL};

static void s_mentor_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__MentorProfile *p = (const Metodnet__MentorProfile *)msg;
    char id[72];
    if (!mnt_mentor_id_of(p->staff_id, id, sizeof id))
        validation_add(v, "staffId", "Укажите сотрудника реестра (идентификатор вида 07-s12)");
    if (p->max_mentees < 1 || p->max_mentees > MNT_MAX_MENTEES_LIMIT)
        validation_add(v, "maxMentees", "Наставник ведёт от 1 до %d наставляемых", MNT_MAX_MENTEES_LIMIT);
    if (p->certified) {
        validate_date(v, "certifiedOn", p->certified_on, true, NULL);
        validate_text(v, "certificationAct", p->certification_act, 200, true);
    } else if (s_set(p->certified_on) || s_set(p->certification_act)) {
        validation_add(v, "certified", "Дата и акт отбора указываются только для сертифицированного наставника");
    }
    if (p->n_competences > 64)
        validation_add(v, "competences", "Не больше 64 компетенций");
    for (size_t i = 0; i < p->n_competences; i++)
        if (!mnt_competence_valid(p->competences[i])) {
            char path[48];
            snprintf(path, sizeof path, "competences[%zu]", i);
            validation_add(v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
        }
    validate_text(v, "availabilityNote", p->availability_note, 500, false);
}

static void s_mentor_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__MentorProfile *p = (const Metodnet__MentorProfile *)msg;
    s_territory_of(out, p->region_id, p->organization_ids, p->n_organization_ids, p->municipality_ids,
                   p->n_municipality_ids);
    out->object.person_id = p->staff_id;
}

/* A person reads their own profile; certifying and limits are the methodologists' (no self-writes). */
static bool s_mentor_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__MentorProfile *p = (const Metodnet__MentorProfile *)msg;
    if (s_is_self(caller))
        return access == SCOPE_READ && s_eq(caller->region_id, p->region_id) && s_eq(caller->scope_id, p->staff_id);
    entity_territory t;
    s_mentor_territory(msg, &t);
    t.object.person_id = NULL;
    return scope_allows(caller, &t.object, access);
}

static void s_mentor_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__MentorProfile *p = (const Metodnet__MentorProfile *)msg;
    char member[200];
    entity_layout_sort_member(member, sizeof member, p->full_name, p->id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:mentor", p->region_id);
    for (size_t i = 0; i < p->n_municipality_ids; i++)
        entity_layout_index(out, member, "mnt:{r:%s}:ix:mentor:mun:%s", p->region_id, p->municipality_ids[i]);
    entity_layout_token(out, "staff", p->staff_id);
    entity_layout_token(out, "cert", p->certified ? "true" : "false");
    entity_layout_token(out, "avail", p->available ? "true" : "false");
    for (size_t i = 0; i < p->n_subjects; i++)
        entity_layout_token(out, "subj", p->subjects[i]);
    for (size_t i = 0; i < p->n_competences; i++)
        entity_layout_token(out, "comp", p->competences[i]);
    for (size_t i = 0; i < p->n_municipality_ids; i++)
        entity_layout_token(out, "mun", p->municipality_ids[i]);
    for (size_t i = 0; i < p->n_organization_ids; i++)
        entity_layout_token(out, "org", p->organization_ids[i]);
}

static bool s_code_ok(const char *value)
{
    return mnt_competence_valid(value);
}

static const entity_filter s_mentor_filters[] = {
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "certified", .token = "cert", .check = ENTITY_FILTER_BOOL},
    {.field = "available", .token = "avail", .check = ENTITY_FILTER_BOOL},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = s_code_ok},
};
static const entity_list_index s_mentor_indexes[] = {
    {.field = "municipality_id", .index = "mentor:mun", .token = "mun"},
};

const entity_kind mnt_mentor_kind = {
    .prefix = "mnt",
    .name = "mentor",
    .audit_name = "mentor_profile",
    .id_letter = 'm',
    .json_field = "mentor",
    .descriptor = &metodnet__mentor_profile__descriptor,
    .not_found_ru = "Профиль наставника не найден",
    .exists_ru = "Профиль наставника этого сотрудника уже есть: измените его",
    .not_empty_ru = "",
    .immutable = s_mentor_immutable,
    .region_fields = s_region_fields_mentor,
    .filters = s_mentor_filters,
    .n_filters = sizeof s_mentor_filters / sizeof s_mentor_filters[0],
    .list_indexes = s_mentor_indexes,
    .n_list_indexes = sizeof s_mentor_indexes / sizeof s_mentor_indexes[0],
    .self_token = "staff",
    .personal = true,
    .validate = s_mentor_validate,
    .territory = s_mentor_territory,
    .layout = s_mentor_layout,
    .allows = s_mentor_allows,
};

/* ---------- pair ---------- */

static const char *const s_pair_immutable[] = {"id",
                                               "region_id",
                                               "programme_id",
                                               "mentor_staff_id",
                                               "mentee_staff_id",
                                               "mentor_name",
                                               "mentee_name",
                                               "status",
                                               "history",
                                               "meetings",
                                               "outcome",
                                               "load_slot",
                                               "organization_ids",
                                               "municipality_ids",
                                               "score",
                                               "version",
                                               "created_at",
                                               "updated_at",
                                               NULL};

static void s_plan_validate(const Metodnet__MentoringPair *p, validation *v)
{
    if (p->n_plan > 100)
        validation_add(v, "plan", "Не больше 100 шагов плана");
    for (size_t i = 0; i < p->n_plan && i < 100; i++) {
        char path[48];
        snprintf(path, sizeof path, "plan[%zu].title", i);
        validate_text(v, path, p->plan[i]->title, 300, true);
        snprintf(path, sizeof path, "plan[%zu].dueOn", i);
        validate_date(v, path, p->plan[i]->due_on, true, NULL);
    }
}

static void s_pair_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)msg;
    validate_id(v, "programmeId", p->programme_id, true);
    bool mentor_ok = validate_id(v, "mentorStaffId", p->mentor_staff_id, true);
    bool mentee_ok = validate_id(v, "menteeStaffId", p->mentee_staff_id, true);
    if (mentor_ok && mentee_ok && strcmp(p->mentor_staff_id, p->mentee_staff_id) == 0)
        validation_add(v, "mentorStaffId", "Человек не может быть наставником самому себе");
    if (p->form == METODNET__PAIR_FORM__PAIR_FORM_UNSPECIFIED)
        validation_add(v, "form", "Укажите форму: young_specialist, peer, subject, reverse или manager");
    if (p->n_competences > 32)
        validation_add(v, "competences", "Не больше 32 компетенций");
    for (size_t i = 0; i < p->n_competences && i < 32; i++)
        if (!mnt_competence_valid(p->competences[i])) {
            char path[48];
            snprintf(path, sizeof path, "competences[%zu]", i);
            validation_add(v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
        }
    int from = 0, to = 0;
    bool from_ok = validate_date(v, "startsOn", p->starts_on, true, &from);
    if (validate_date(v, "plannedEndOn", p->planned_end_on, false, &to) && from_ok && s_set(p->planned_end_on) &&
        to <= from)
        validation_add(v, "plannedEndOn", "Плановое окончание должно быть позже начала");
    s_plan_validate(p, v);
}

static void s_pair_territory(const ProtobufCMessage *msg, entity_territory *out)
{
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)msg;
    s_territory_of(out, p->region_id, p->organization_ids, p->n_organization_ids, p->municipality_ids,
                   p->n_municipality_ids);
}

/* Methodologists and school administrators in scope of either person; the mentor reads and writes
 * (logs meetings — the transitions refuse the rest), the mentee reads. */
static bool s_pair_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)msg;
    if (s_is_self(caller)) {
        if (!s_eq(caller->region_id, p->region_id))
            return false;
        if (s_eq(caller->scope_id, p->mentor_staff_id))
            return true;
        return access == SCOPE_READ && s_eq(caller->scope_id, p->mentee_staff_id);
    }
    if (caller != NULL && caller->role == METODNET__ROLE__ROLE_TEACHER)
        return false;
    entity_territory t;
    s_pair_territory(msg, &t);
    return scope_allows(caller, &t.object, access);
}

static void s_pair_layout(const ProtobufCMessage *msg, entity_layout *out)
{
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)msg;
    char member[200];
    entity_layout_sort_member(member, sizeof member, p->mentee_name, p->id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:pair", p->region_id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:pair:programme:%s", p->region_id, p->programme_id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:pair:mentor:%s", p->region_id, p->mentor_staff_id);
    entity_layout_index(out, member, "mnt:{r:%s}:ix:pair:mentee:%s", p->region_id, p->mentee_staff_id);
    entity_layout_token(out, "st", s_word(&metodnet__pair_status__descriptor, p->status));
    entity_layout_token(out, "form", s_word(&metodnet__pair_form__descriptor, p->form));
    entity_layout_token(out, "prog", p->programme_id);
    entity_layout_token(out, "mentor", p->mentor_staff_id);
    entity_layout_token(out, "mentee", p->mentee_staff_id);
    entity_layout_token(out, "staff", p->mentor_staff_id);
    entity_layout_token(out, "staff", p->mentee_staff_id);
    for (size_t i = 0; i < p->n_municipality_ids; i++)
        entity_layout_token(out, "mun", p->municipality_ids[i]);
    for (size_t i = 0; i < p->n_organization_ids; i++)
        entity_layout_token(out, "org", p->organization_ids[i]);
    if (mnt_pair_open(p->status)) {
        char value[200];
        snprintf(value, sizeof value, "%s:%s:%s", p->mentor_staff_id, p->mentee_staff_id, p->programme_id);
        entity_layout_claim(out, MNT_PAIR_CLAIM_OPEN, value, "mnt:{r:%s}:claim:pair:%s", p->region_id,
                            MNT_PAIR_CLAIM_OPEN);
        snprintf(value, sizeof value, "%s#%d", p->mentor_staff_id, (int)p->load_slot);
        entity_layout_claim(out, MNT_PAIR_CLAIM_SLOT, value, "mnt:{r:%s}:claim:pair:%s", p->region_id,
                            MNT_PAIR_CLAIM_SLOT);
    }
    entity_layout_reference(out, "programmeId", "mnt:{r:%s}:sprog:%s", p->region_id, p->programme_id);
}

static void s_history_add(Metodnet__MentoringPair *p, Metodnet__PairStatus status, const char *by, const char *at,
                          const char *reason)
{
    Metodnet__PairStatusChange *c = xmalloc(sizeof *c);
    metodnet__pair_status_change__init(c);
    c->status = status;
    c->by = xstrdup(by ? by : "");
    c->at = xstrdup(at ? at : "");
    c->reason = xstrdup(reason ? reason : "");
    p->history = xrealloc(p->history, (p->n_history + 1) * sizeof *p->history);
    p->history[p->n_history++] = c;
}

static entity_transition_result s_pair_transition(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                  const Metodnet__Principal *caller, const char *now, validation *v,
                                                  const char **conflict_ru)
{
    Metodnet__MentoringPair *p = (Metodnet__MentoringPair *)next;
    const char *by = caller && s_set(caller->user_id) ? caller->user_id : "";
    if (request->descriptor == &metodnet__log_meeting_request__descriptor) {
        const Metodnet__LogMeetingRequest *r = (const Metodnet__LogMeetingRequest *)request;
        if (s_is_self(caller) && !s_eq(caller->scope_id, p->mentor_staff_id))
            return ENTITY_TRANSITION_DENIED;
        if (p->status != METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE) {
            *conflict_ru = "Встречи записываются только в действующей паре (status active)";
            return ENTITY_TRANSITION_CONFLICT;
        }
        if (r->meeting == NULL) {
            validation_add(v, "meeting", "Укажите встречу: heldOn, topic, durationMinutes");
            return ENTITY_TRANSITION_INVALID;
        }
        int day = 0;
        if (validate_date(v, "meeting.heldOn", r->meeting->held_on, true, &day) && day > date_today())
            validation_add(v, "meeting.heldOn", "Дата встречи не может быть в будущем");
        validate_text(v, "meeting.topic", r->meeting->topic, 300, true);
        if (r->meeting->duration_minutes < 1 || r->meeting->duration_minutes > 600)
            validation_add(v, "meeting.durationMinutes", "Длительность — от 1 до 600 минут");
        validate_text(v, "meeting.notes", r->meeting->notes, 4000, false);
        if (p->n_meetings >= 500)
            validation_add(v, "meeting", "В журнале уже 500 встреч");
        if (!validation_ok(v))
            return ENTITY_TRANSITION_INVALID;
        Metodnet__PairMeeting *m = (Metodnet__PairMeeting *)pbfield_clone(&r->meeting->base);
        mnt_set(&m->logged_by, by);
        p->meetings = xrealloc(p->meetings, (p->n_meetings + 1) * sizeof *p->meetings);
        p->meetings[p->n_meetings++] = m;
        return ENTITY_TRANSITION_OK;
    }
    /* activate, complete, cancel: the methodologists' and administrators' */
    if (s_is_self(caller))
        return ENTITY_TRANSITION_DENIED;
    Metodnet__PairStatus from = p->status;
    if (request->descriptor == &metodnet__activate_pair_request__descriptor) {
        const Metodnet__ActivatePairRequest *r = (const Metodnet__ActivatePairRequest *)request;
        if (from != METODNET__PAIR_STATUS__PAIR_STATUS_PROPOSED) {
            *conflict_ru = "Начать можно только предложенную пару (status proposed)";
            return ENTITY_TRANSITION_CONFLICT;
        }
        validate_text(v, "reason", r->reason, 1000, false);
        if (!validation_ok(v))
            return ENTITY_TRANSITION_INVALID;
        p->status = METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE;
        s_history_add(p, p->status, by, now, r->reason);
        return ENTITY_TRANSITION_OK;
    }
    if (request->descriptor == &metodnet__complete_pair_request__descriptor) {
        const Metodnet__CompletePairRequest *r = (const Metodnet__CompletePairRequest *)request;
        if (from != METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE) {
            *conflict_ru = "Завершить можно только действующую пару (status active)";
            return ENTITY_TRANSITION_CONFLICT;
        }
        if (r->outcome == NULL) {
            validation_add(v, "outcome.result", "Опишите результат наставничества");
            return ENTITY_TRANSITION_INVALID;
        }
        validate_text(v, "outcome.result", r->outcome->result, 4000, true);
        if (r->outcome->n_competences_closed > 32)
            validation_add(v, "outcome.competencesClosed", "Не больше 32 компетенций");
        for (size_t i = 0; i < r->outcome->n_competences_closed && i < 32; i++)
            if (!mnt_competence_valid(r->outcome->competences_closed[i]))
                validation_add(v, "outcome.competencesClosed", "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
        if (!validation_ok(v))
            return ENTITY_TRANSITION_INVALID;
        if (p->outcome)
            protobuf_c_message_free_unpacked(&p->outcome->base, NULL);
        p->outcome = (Metodnet__PairOutcome *)pbfield_clone(&r->outcome->base);
        p->status = METODNET__PAIR_STATUS__PAIR_STATUS_COMPLETED;
        s_history_add(p, p->status, by, now, "");
        return ENTITY_TRANSITION_OK;
    }
    const Metodnet__CancelPairRequest *r = (const Metodnet__CancelPairRequest *)request;
    if (!mnt_pair_open(from)) {
        *conflict_ru = "Пара уже завершена или отменена";
        return ENTITY_TRANSITION_CONFLICT;
    }
    validate_text(v, "reason", r->reason, 1000, true);
    if (!validation_ok(v))
        return ENTITY_TRANSITION_INVALID;
    p->status = METODNET__PAIR_STATUS__PAIR_STATUS_CANCELLED;
    s_history_add(p, p->status, by, now, r->reason);
    return ENTITY_TRANSITION_OK;
}

static const char *s_pair_update_conflict(const ProtobufCMessage *current)
{
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)current;
    return mnt_pair_open(p->status) ? NULL : "Завершённая или отменённая пара не изменяется";
}

static const entity_filter s_pair_filters[] = {
    {.field = "programme_id", .token = "prog", .check = ENTITY_FILTER_ID},
    {.field = "status", .token = "st", .words = &metodnet__pair_status__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "form", .token = "form", .words = &metodnet__pair_form__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "mentor_staff_id", .token = "mentor", .check = ENTITY_FILTER_ID},
    {.field = "mentee_staff_id", .token = "mentee", .check = ENTITY_FILTER_ID},
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_pair_indexes[] = {
    {.field = "programme_id", .index = "pair:programme", .token = "prog"},
    {.field = "mentor_staff_id", .index = "pair:mentor", .token = "mentor"},
    {.field = "mentee_staff_id", .index = "pair:mentee", .token = "mentee"},
};

const entity_kind mnt_pair_kind = {
    .prefix = "mnt",
    .name = "pair",
    .audit_name = "mentoring_pair",
    .id_letter = 'p',
    .json_field = "pair",
    .descriptor = &metodnet__mentoring_pair__descriptor,
    .not_found_ru = "Пара наставничества не найдена",
    .exists_ru = "Такая пара уже есть в этой программе (предложена или действует)",
    .not_empty_ru = "",
    .immutable = s_pair_immutable,
    .region_fields = s_region_fields_pair,
    .filters = s_pair_filters,
    .n_filters = sizeof s_pair_filters / sizeof s_pair_filters[0],
    .list_indexes = s_pair_indexes,
    .n_list_indexes = sizeof s_pair_indexes / sizeof s_pair_indexes[0],
    .self_token = "staff",
    .personal = true,
    .validate = s_pair_validate,
    .territory = s_pair_territory,
    .layout = s_pair_layout,
    .allows = s_pair_allows,
    .transition = s_pair_transition,
    .update_conflict = s_pair_update_conflict,
};
