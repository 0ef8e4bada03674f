/* registry_associations — catalogue kinds: methodological associations and their memberships. Validation, territory, layout, scope
 * and descriptors (registry_catalogue.h); shared helpers in registry_catalogue_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_catalogue_internal.h"
#include "xalloc.h"

/* ---------- association ---------- */

static home s_association_home(const Metodnet__Association *a)
{
    return (home){a->level, a->region_id, a->municipality_id, a->organization_id};
}

#define ASSOCIATION_MAX_SUBJECTS 12

static const char *const s_association_immutable[] = {
    "id", "region_id", "level", "organization_id", "municipality_id", "version", "created_at", "updated_at", NULL};

static void s_association_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    validate_text(v, "name", a->name, 300, true);
    if (a->kind == METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_UNSPECIFIED)
        validation_add(v, "kind",
                       "Укажите вид: methodological_association, professional_community, "
                       "network_community, creative_group или project_group");
    catalogue_check_home(v, a->level, a->organization_id, a->municipality_id, a->region_id, true, creating);
    catalogue_check_subject(v, "subject", a->subject);
    if (a->n_subjects > ASSOCIATION_MAX_SUBJECTS)
        validation_add(v, "subjects", "Не более %d учебных предметов", ASSOCIATION_MAX_SUBJECTS);
    for (size_t i = 0; i < a->n_subjects && i < ASSOCIATION_MAX_SUBJECTS; i++) {
        char field[32];
        snprintf(field, sizeof field, "subjects[%zu]", i);
        catalogue_check_subject(v, field, a->subjects[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->subjects[i], a->subjects[j]) == 0)
                validation_add(v, field, "Предмет указан дважды");
    }
    validate_text(v, "theme", a->theme, 500, false);
    if (!catalogue_set(a->subject) && a->n_subjects == 0 && !catalogue_set(a->theme))
        validation_add(v, "theme", "Укажите учебный предмет (subject, subjects) или тему (theme)");
    catalogue_check_id(v, "leaderStaffId", a->leader_staff_id, &registry_staff_kind, false, "07-s12");
    validate_text(v, "description", a->description, 4000, false);
    validate_text(v, "foundedOrder", a->founded_order, 100, false);
    int founded = 0, closed = 0;
    bool founded_ok = validate_date(v, "foundedOn", a->founded_on, false, &founded) && catalogue_set(a->founded_on);
    if (founded_ok && founded > date_today())
        validation_add(v, "foundedOn", "Дата решения о создании не может быть в будущем");
    if (validate_date(v, "closedOn", a->closed_on, false, &closed) && catalogue_set(a->closed_on) && founded_ok &&
        closed <= founded)
        validation_add(v, "closedOn", "Объединение закрыто не позже, чем создано");
    catalogue_check_years(v, a->years, a->n_years, "Не более 30 лет планов и отчётов");
    catalogue_check_external_members(v, "externalMembers", a->external_members, a->n_external_members);
}

static void s_association_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_association_home((const Metodnet__Association *)msg);
    catalogue_home_territory(&h, out);
}

static bool s_association_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_association_home((const Metodnet__Association *)msg);
    return catalogue_home_allows(caller, &h, access);
}

static void s_association_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    home h = s_association_home(a);
    char member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, a->name, a->id);
    catalogue_home_layout(out, "assoc", &h, member);
    registry_layout_token(out, "kind", catalogue_word(&metodnet__association_kind__descriptor, a->kind));
    registry_layout_token(out, "net", a->network ? "true" : "false");
    for (size_t i = 0; i < a->n_subjects; i++)
        registry_layout_token(out, "subj", a->subjects[i]);
    if (a->n_subjects == 0 && catalogue_set(a->subject)) /* a record written before subjects were kept */
        registry_layout_token(out, "subj", a->subject);
    catalogue_home_must_exist(out, &h);
    catalogue_staff_must_exist(out, a->region_id, a->leader_staff_id, "leaderStaffId");
    /* the membership history keeps an association */
    entity_layout_guard(out, "reg:{r:%s}:ix:member:assoc:%s", a->region_id, a->id);
}

static size_t s_association_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    size_t n = 0;
    if (a->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        n = catalogue_add_reference(out, n, max, &registry_organization_kind, a->organization_id, "organizationId",
                                    true);
    n = catalogue_add_reference(out, n, max, &registry_staff_kind, a->leader_staff_id, "leaderStaffId", true);
    return n;
}

static void s_association_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__Association *a = (Metodnet__Association *)msg;
    if (loaded->descriptor == &metodnet__organization__descriptor)
        catalogue_replace(&a->municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
}

/* One way to say "network": the flag (the legacy kind becomes a community with it). */
static void s_association_network(Metodnet__Association *a)
{
    if (a->kind == METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_NETWORK_COMMUNITY) {
        a->kind = METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_PROFESSIONAL_COMMUNITY;
        a->network = 1;
    }
}

/* subjects is the list; subject, as older clients know it, its first entry. */
static void s_subjects_from_subject(Metodnet__Association *a)
{
    catalogue_free_strings(&a->subjects, &a->n_subjects);
    if (catalogue_set(a->subject)) {
        a->subjects = xmalloc(sizeof *a->subjects);
        a->subjects[0] = xstrdup(a->subject);
        a->n_subjects = 1;
    }
}

static bool s_same_strings(char *const *a, size_t n_a, char *const *b, size_t n_b)
{
    if (n_a != n_b)
        return false;
    for (size_t i = 0; i < n_a; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* An update: whichever of subject and subjects the client changed leads; the other follows. */
static void s_association_on_update(const ProtobufCMessage *current_msg, ProtobufCMessage *next_msg,
                                    const Metodnet__Principal *caller, const char *now, validation *v)
{
    (void)caller, (void)now, (void)v;
    const Metodnet__Association *current = (const Metodnet__Association *)current_msg;
    Metodnet__Association *a = (Metodnet__Association *)next_msg;
    s_association_network(a);
    if (!s_same_strings(a->subjects, a->n_subjects, current->subjects, current->n_subjects))
        catalogue_replace(&a->subject, a->n_subjects ? a->subjects[0] : "");
    else if (!catalogue_eq(a->subject, current->subject) &&
             (catalogue_set(a->subject) || catalogue_set(current->subject)))
        s_subjects_from_subject(a);
}

/* Active on a day: founded by then (or no date kept) and not closed yet. */
static bool s_association_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__Association *a = (const Metodnet__Association *)msg;
    const char *day = ((const Metodnet__ListAssociationsRequest *)request)->active_on;
    if (!catalogue_set(day))
        return true;
    if (catalogue_set(a->founded_on) && strcmp(a->founded_on, day) > 0)
        return false;
    return !(catalogue_set(a->closed_on) && strcmp(a->closed_on, day) <= 0);
}

/* A record stored before: the legacy network kind becomes the flag, a single subject the list. */
static bool s_association_upgrade(ProtobufCMessage *msg)
{
    Metodnet__Association *a = (Metodnet__Association *)msg;
    bool changed = a->kind == METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_NETWORK_COMMUNITY;
    s_association_network(a);
    if (a->n_subjects == 0 && catalogue_set(a->subject)) {
        s_subjects_from_subject(a);
        changed = true;
    }
    return changed;
}

static void s_association_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Association *a = (Metodnet__Association *)msg;
    s_association_network(a);
    if (a->n_subjects > 0)
        catalogue_replace(&a->subject, a->subjects[0]);
    else
        s_subjects_from_subject(a);
    if (a->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        catalogue_replace(&a->municipality_id, ""); /* derived from the organization */
}

static const entity_filter s_association_filters[] = {
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "kind", .token = "kind", .words = &metodnet__association_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "network", .token = "net", .check = ENTITY_FILTER_BOOL},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "active_on", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_association_indexes[] = {
    {.field = "organization_id", .index = "assoc:org"},
    {.field = "municipality_id", .index = "assoc:mun"},
};

const registry_kind registry_association_kind = {
    CATALOGUE_KIND,
    .name = "assoc",
    .audit_name = "association",
    FILTERS(s_association_filters),
    INDEXES(s_association_indexes),
    .json_field = "association",
    .descriptor = &metodnet__association__descriptor,
    .not_found_ru = "Объединение не найдено",
    .exists_ru = "Объединение уже существует",
    .not_empty_ru = "У объединения есть история членства: удалить его нельзя",
    .immutable = s_association_immutable,
    .validate = s_association_validate,
    .territory = s_association_territory,
    .layout = s_association_layout,
    .allows = s_association_allows,
    .list_unnarrowed = true,
    .references = s_association_references,
    .on_update = s_association_on_update,
    .apply_reference = s_association_apply,
    .list_match = s_association_match,
    .on_create = s_association_on_create,
    .upgrade = s_association_upgrade,
};

/* ---------- membership ---------- */

static home s_membership_home(const Metodnet__AssociationMembership *m)
{
    return (home){m->level, m->region_id, m->municipality_id, m->organization_id};
}

static const char *const s_membership_immutable[] = {
    "id",      "region_id",  "association_id", "staff_id", "level", "organization_id", "municipality_id",
    "version", "created_at", "updated_at",     NULL};

static void s_membership_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    catalogue_check_id(v, "associationId", m->association_id, &registry_association_kind, true, "07-a3");
    catalogue_check_id(v, "staffId", m->staff_id, &registry_staff_kind, true, "07-s12");
    int joined = 0, left = 0;
    bool joined_ok = validate_date(v, "joinedOn", m->joined_on, true, &joined);
    if (validate_date(v, "leftOn", m->left_on, false, &left) && joined_ok && catalogue_set(m->left_on) &&
        left <= joined)
        validation_add(v, "leftOn", "Дата выхода должна быть позже даты вступления");
}

static void s_membership_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_membership_home((const Metodnet__AssociationMembership *)msg);
    catalogue_home_territory(&h, out);
}

static bool s_membership_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    home h = s_membership_home(m);
    if (catalogue_home_allows(caller, &h, access))
        return true;
    /* a person reads their own memberships */
    return access == SCOPE_READ && caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF &&
           catalogue_eq(caller->region_id, m->region_id) && catalogue_eq(caller->scope_id, m->staff_id);
}

/* The caller's scope contains the home (not merely lies inside the territory of it). */
static bool s_home_covered(const Metodnet__Principal *caller, const home *h)
{
    if (scope_is_global(caller))
        return true;
    if (caller == NULL || !catalogue_eq(caller->region_id, h->region_id))
        return false;
    switch (caller->scope_kind) {
    case METODNET__SCOPE_KIND__SCOPE_KIND_REGION:
        return catalogue_eq(caller->scope_id, h->region_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
        return h->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL &&
               catalogue_eq(caller->scope_id, h->municipality_id);
    case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
        return h->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL &&
               catalogue_eq(caller->scope_id, h->organization_id);
    default:
        return false;
    }
}

bool registry_membership_needs_person(const Metodnet__Principal *caller, const ProtobufCMessage *msg)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    home h = s_membership_home(m);
    if (s_home_covered(caller, &h))
        return false;
    return !(caller != NULL && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF &&
             catalogue_eq(caller->scope_id, m->staff_id));
}

static void s_membership_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    catalogue_dated_member(member, sizeof member, m->joined_on, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member", m->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member:assoc:%s", m->region_id, m->association_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:member:staff:%s", m->region_id, m->staff_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "assoc", m->association_id);
    registry_layout_token(out, "staff", m->staff_id);
    registry_layout_token(out, "left", catalogue_set(m->left_on) ? "true" : "false");
    if (!catalogue_set(m->left_on)) { /* one open membership per person and association */
        char pair[160];
        snprintf(pair, sizeof pair, "%s:%s", m->association_id, m->staff_id);
        entity_layout_claim(out, REGISTRY_OPEN_MEMBERSHIP_CLAIM, pair, "reg:{r:%s}:claim:member:%s", m->region_id,
                            REGISTRY_OPEN_MEMBERSHIP_CLAIM);
    }
    entity_layout_reference(out, "associationId", "reg:{r:%s}:assoc:%s", m->region_id, m->association_id);
    catalogue_staff_must_exist(out, m->region_id, m->staff_id, "staffId");
}

static size_t s_membership_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    size_t n =
        catalogue_add_reference(out, 0, max, &registry_association_kind, m->association_id, "associationId", true);
    return catalogue_add_reference(out, n, max, &registry_staff_kind, m->staff_id, "staffId", true);
}

static void s_membership_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)msg;
    if (loaded->descriptor != &metodnet__association__descriptor)
        return;
    const Metodnet__Association *a = (const Metodnet__Association *)loaded;
    m->level = a->level;
    catalogue_replace(&m->organization_id, a->organization_id);
    catalogue_replace(&m->municipality_id, a->municipality_id);
}

static void s_membership_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)msg;
    m->level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED; /* copied from the association */
    catalogue_replace(&m->organization_id, "");
    catalogue_replace(&m->municipality_id, "");
}

/* Active on a date, or at some time in [from, to]; left_on is the first day outside. */
static bool s_membership_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__AssociationMembership *m = (const Metodnet__AssociationMembership *)msg;
    const Metodnet__ListMembershipsRequest *r = (const Metodnet__ListMembershipsRequest *)request;
    int joined = 0, left = 0, day;
    if (!date_parse(m->joined_on, &joined))
        return false;
    bool open = !catalogue_set(m->left_on) || !date_parse(m->left_on, &left);
    if (catalogue_set(r->on) && date_parse(r->on, &day) && (day < joined || (!open && day >= left)))
        return false;
    if (catalogue_set(r->to) && date_parse(r->to, &day) && joined > day)
        return false;
    if (catalogue_set(r->from) && date_parse(r->from, &day) && !open && left <= day)
        return false;
    if (catalogue_set(r->association_id) && strcmp(r->association_id, m->association_id) != 0)
        return false;
    if (catalogue_set(r->staff_id) && strcmp(r->staff_id, m->staff_id) != 0)
        return false;
    return true;
}

static registry_transition_result s_membership_leave(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                     const Metodnet__Principal *caller, const char *now, validation *v,
                                                     const char **conflict_ru)
{
    (void)caller;
    (void)now;
    const Metodnet__LeaveMembershipRequest *r = (const Metodnet__LeaveMembershipRequest *)request;
    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)next;
    if (catalogue_set(m->left_on)) {
        *conflict_ru = "Сотрудник уже вышел из объединения по этой записи; новое вступление — новая запись";
        return REGISTRY_TRANSITION_CONFLICT;
    }
    int joined = 0, left = 0;
    if (!validate_date(v, "leftOn", r->left_on, true, &left))
        return REGISTRY_TRANSITION_INVALID;
    if (date_parse(m->joined_on, &joined) && left <= joined) {
        validation_add(v, "leftOn", "Дата выхода должна быть позже даты вступления (%s)", m->joined_on);
        return REGISTRY_TRANSITION_INVALID;
    }
    catalogue_replace(&m->left_on, r->left_on);
    return REGISTRY_TRANSITION_OK;
}

static const entity_filter s_membership_filters[] = {
    {.field = "association_id", .token = "assoc", .check = ENTITY_FILTER_ID},
    {.field = "staff_id", .token = "staff", .check = ENTITY_FILTER_ID},
    {.field = "on", .check = ENTITY_FILTER_DATE},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
};
static const entity_list_index s_membership_indexes[] = {
    {.field = "association_id", .index = "member:assoc"},
    {.field = "staff_id", .index = "member:staff"},
};
static const entity_list_parent s_membership_parents[] = {
    {.field = "association_id", .kind = &registry_association_kind},
    {.field = "staff_id", .kind = &registry_staff_kind},
};

const registry_kind registry_membership_kind = {
    CATALOGUE_KIND,
    .name = "member",
    .audit_name = "membership",
    FILTERS(s_membership_filters),
    INDEXES(s_membership_indexes),
    .list_parents = s_membership_parents,
    .n_list_parents = sizeof s_membership_parents / sizeof s_membership_parents[0],
    .through_needed = registry_membership_needs_person,
    .through_field = "staff_id",
    .through_kind = &registry_staff_kind,
    .id_letter = 'j',
    .json_field = "membership",
    .descriptor = &metodnet__association_membership__descriptor,
    .not_found_ru = "Запись о членстве не найдена",
    .exists_ru = "Сотрудник уже состоит в этом объединении: сначала отметьте выход",
    .not_empty_ru = "",
    .immutable = s_membership_immutable,
    .validate = s_membership_validate,
    .territory = s_membership_territory,
    .layout = s_membership_layout,
    .allows = s_membership_allows,
    .list_unnarrowed = true,
    .references = s_membership_references,
    .apply_reference = s_membership_apply,
    .list_match = s_membership_match,
    .transition = s_membership_leave,
    .on_create = s_membership_on_create,
};
