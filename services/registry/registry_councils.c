/* registry_councils — catalogue kinds: methodological councils and their meetings. Validation, territory, layout, scope
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

/* ---------- council ---------- */

static home s_council_home(const Metodnet__Council *c)
{
    return (home){c->level, c->region_id, c->municipality_id, c->organization_id};
}

static const char *const s_council_immutable[] = {
    "id", "region_id", "level", "organization_id", "municipality_id", "version", "created_at", "updated_at", NULL};

#define COUNCIL_MAX_MEMBERS 100

static void s_council_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    validate_text(v, "name", c->name, 300, true);
    catalogue_check_home(v, c->level, c->organization_id, c->municipality_id, c->region_id, true, creating);
    catalogue_check_id(v, "chairStaffId", c->chair_staff_id, &registry_staff_kind, true, "07-s12");
    catalogue_check_id(v, "deputyStaffId", c->deputy_staff_id, &registry_staff_kind, false, "07-s12");
    catalogue_check_id(v, "secretaryStaffId", c->secretary_staff_id, &registry_staff_kind, false, "07-s12");
    if (catalogue_eq(c->chair_staff_id, c->deputy_staff_id))
        validation_add(v, "deputyStaffId", "Заместитель председателя не может быть председателем");
    if (catalogue_eq(c->chair_staff_id, c->secretary_staff_id) ||
        catalogue_eq(c->deputy_staff_id, c->secretary_staff_id))
        validation_add(v, "secretaryStaffId", "Секретарь — отдельный член совета (§2.3)");
    if (c->n_member_staff_ids > COUNCIL_MAX_MEMBERS)
        validation_add(v, "memberStaffIds", "Не более %d членов совета", COUNCIL_MAX_MEMBERS);
    for (size_t i = 0; i < c->n_member_staff_ids && i < COUNCIL_MAX_MEMBERS; i++) {
        char field[48];
        snprintf(field, sizeof field, "memberStaffIds[%zu]", i);
        catalogue_check_id(v, field, c->member_staff_ids[i], &registry_staff_kind, true, "07-s12");
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->member_staff_ids[i], c->member_staff_ids[j]) == 0)
                validation_add(v, field, "Сотрудник указан дважды");
    }
    validate_text(v, "approvedBy", c->approved_by, 500, false);
    catalogue_check_external_members(v, "externalMembers", c->external_members, c->n_external_members);
    catalogue_check_years(v, c->years, c->n_years, "Не более 30 лет планов работы");
}

static void s_council_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_council_home((const Metodnet__Council *)msg);
    catalogue_home_territory(&h, out);
}

static bool s_council_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_council_home((const Metodnet__Council *)msg);
    return catalogue_home_allows(caller, &h, access);
}

static void s_council_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    home h = s_council_home(c);
    char member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, c->name, c->id);
    catalogue_home_layout(out, "council", &h, member);
    catalogue_home_must_exist(out, &h);
    catalogue_staff_must_exist(out, c->region_id, c->chair_staff_id, "chairStaffId");
    catalogue_staff_must_exist(out, c->region_id, c->deputy_staff_id, "deputyStaffId");
    catalogue_staff_must_exist(out, c->region_id, c->secretary_staff_id, "secretaryStaffId");
    entity_layout_guard(out, "reg:{r:%s}:ix:meeting:council:%s", c->region_id, c->id);
    entity_layout_guard(out, "reg:{r:%s}:ix:decision:council:%s", c->region_id, c->id);
}

static size_t s_council_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Council *c = (const Metodnet__Council *)msg;
    size_t n = 0;
    if (c->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        n = catalogue_add_reference(out, n, max, &registry_organization_kind, c->organization_id, "organizationId",
                                    true);
    n = catalogue_add_reference(out, n, max, &registry_staff_kind, c->chair_staff_id, "chairStaffId", true);
    n = catalogue_add_reference(out, n, max, &registry_staff_kind, c->deputy_staff_id, "deputyStaffId", true);
    n = catalogue_add_reference(out, n, max, &registry_staff_kind, c->secretary_staff_id, "secretaryStaffId", true);
    for (size_t i = 0; i < c->n_member_staff_ids && i < COUNCIL_MAX_MEMBERS; i++) {
        char field[48];
        snprintf(field, sizeof field, "memberStaffIds[%zu]", i);
        n = catalogue_add_reference(out, n, max, &registry_staff_kind, c->member_staff_ids[i], field, true);
    }
    return n;
}

static void s_council_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__Council *c = (Metodnet__Council *)msg;
    if (loaded->descriptor == &metodnet__organization__descriptor)
        catalogue_replace(&c->municipality_id, ((const Metodnet__Organization *)loaded)->municipality_id);
}

static void s_council_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Council *c = (Metodnet__Council *)msg;
    if (c->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        catalogue_replace(&c->municipality_id, "");
}

static const entity_filter s_council_filters[] = {
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_council_indexes[] = {
    {.field = "organization_id", .index = "council:org"},
    {.field = "municipality_id", .index = "council:mun"},
};

const registry_kind registry_council_kind = {
    CATALOGUE_KIND,
    .name = "council",
    FILTERS(s_council_filters),
    INDEXES(s_council_indexes),
    .json_field = "council",
    .descriptor = &metodnet__council__descriptor,
    .not_found_ru = "Методический совет не найден",
    .exists_ru = "Методический совет уже существует",
    .not_empty_ru = "У совета есть заседания: сначала удалите их",
    .immutable = s_council_immutable,
    .validate = s_council_validate,
    .territory = s_council_territory,
    .layout = s_council_layout,
    .allows = s_council_allows,
    .list_unnarrowed = true,
    .references = s_council_references,
    .apply_reference = s_council_apply,
    .on_create = s_council_on_create,
};

/* ---------- council meeting ---------- */

static home s_meeting_home(const Metodnet__CouncilMeeting *m)
{
    return (home){m->level, m->region_id, m->municipality_id, m->organization_id};
}

static const char *const s_meeting_immutable[] = {
    "id",      "region_id",  "council_id", "level", "organization_id", "municipality_id",
    "version", "created_at", "updated_at", NULL};

#define MEETING_MAX_AGENDA    40
#define MEETING_MAX_ATTENDEES 150

static void s_meeting_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    catalogue_check_id(v, "councilId", m->council_id, &registry_council_kind, true, "07-c2");
    int day = 0;
    bool held = m->status != METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED;
    if (validate_date(v, "heldOn", m->held_on, true, &day) && held && day > date_today())
        validation_add(v, "heldOn", "Заседание ещё не проведено: дата в будущем (запланируйте его: status = planned)");
    if (!held && (catalogue_set(m->minutes_number) || catalogue_set(m->decisions)))
        validation_add(v, catalogue_set(m->minutes_number) ? "minutesNumber" : "decisions",
                       "Протокол и решения — у проведённого заседания (status = held)");
    if (m->n_documents > 30)
        validation_add(v, "documents", "Не более 30 документов");
    for (size_t i = 0; i < m->n_documents && i < 30; i++) {
        char field[48];
        snprintf(field, sizeof field, "documents[%zu].title", i);
        validate_text(v, field, m->documents[i]->title, 300, true);
        snprintf(field, sizeof field, "documents[%zu].url", i);
        if (catalogue_set(m->documents[i]->url) && !registry_url_valid(m->documents[i]->url, 2000))
            validation_add(v, field, "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
    }
    if (m->n_agenda == 0)
        validation_add(v, "agenda", "Укажите повестку: хотя бы один вопрос");
    if (m->n_agenda > MEETING_MAX_AGENDA)
        validation_add(v, "agenda", "Не более %d вопросов повестки", MEETING_MAX_AGENDA);
    for (size_t i = 0; i < m->n_agenda && i < MEETING_MAX_AGENDA; i++) {
        char field[64];
        snprintf(field, sizeof field, "agenda[%zu].title", i);
        validate_text(v, field, m->agenda[i]->title, 500, true);
        snprintf(field, sizeof field, "agenda[%zu].speakerStaffId", i);
        catalogue_check_id(v, field, m->agenda[i]->speaker_staff_id, &registry_staff_kind, false, "07-s12");
        snprintf(field, sizeof field, "agenda[%zu].decision", i);
        validate_text(v, field, m->agenda[i]->decision, 4000, false);
        const Metodnet__AgendaItem *a = m->agenda[i];
        int votes = a->votes_for + a->votes_against + a->votes_abstained;
        snprintf(field, sizeof field, "agenda[%zu].votesFor", i);
        if (a->votes_for < 0 || a->votes_against < 0 || a->votes_abstained < 0)
            validation_add(v, field, "Число голосов не может быть отрицательным");
        else if (votes > 0 && !held)
            validation_add(v, field, "Голосуют на проведённом заседании (status = held)");
        else if (votes > 0 && !catalogue_set(a->decision))
            validation_add(v, field, "Голосуют по решению: укажите решение (decision)");
        else if (votes > (int)m->n_attendee_staff_ids)
            validation_add(v, field, "Голосов больше, чем присутствовало членов совета");
    }
    if (m->n_attendee_staff_ids > MEETING_MAX_ATTENDEES)
        validation_add(v, "attendeeStaffIds", "Не более %d участников", MEETING_MAX_ATTENDEES);
    for (size_t i = 0; i < m->n_attendee_staff_ids && i < MEETING_MAX_ATTENDEES; i++) {
        char field[48];
        snprintf(field, sizeof field, "attendeeStaffIds[%zu]", i);
        catalogue_check_id(v, field, m->attendee_staff_ids[i], &registry_staff_kind, true, "07-s12");
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->attendee_staff_ids[i], m->attendee_staff_ids[j]) == 0)
                validation_add(v, field, "Участник указан дважды");
    }
    if (m->n_invited > 50)
        validation_add(v, "invited", "Не более 50 приглашённых");
    for (size_t i = 0; i < m->n_invited && i < 50; i++) {
        char field[48];
        snprintf(field, sizeof field, "invited[%zu]", i);
        validate_text(v, field, m->invited[i], 300, true);
    }
    validate_text(v, "decisions", m->decisions, 20000, false);
    validate_text(v, "minutesNumber", m->minutes_number, 50, false);
    validate_text(v, "place", m->place, 300, false);
    validate_text(v, "chairName", m->chair_name, 200, false);
    validate_text(v, "secretaryName", m->secretary_name, 200, false);
    int signed_day = 0;
    bool signed_given = validate_date(v, "signedOn", m->signed_on, false, &signed_day) && catalogue_set(m->signed_on);
    if (!held && (catalogue_set(m->chair_name) || catalogue_set(m->secretary_name) || signed_given))
        validation_add(v,
                       catalogue_set(m->chair_name)       ? "chairName"
                       : catalogue_set(m->secretary_name) ? "secretaryName"
                                                          : "signedOn",
                       "Протокол подписывают после заседания (status = held)");
    else if (signed_given && day > 0 && signed_day < day)
        validation_add(v, "signedOn", "Протокол не может быть подписан раньше заседания (heldOn)");
    else if (signed_given && signed_day > date_today())
        validation_add(v, "signedOn", "Дата подписания не может быть в будущем");
}

static void s_meeting_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_meeting_home((const Metodnet__CouncilMeeting *)msg);
    catalogue_home_territory(&h, out);
}

static bool s_meeting_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_meeting_home((const Metodnet__CouncilMeeting *)msg);
    return catalogue_home_allows(caller, &h, access);
}

static void s_meeting_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    catalogue_dated_member(member, sizeof member, m->held_on, m->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:meeting", m->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:meeting:council:%s", m->region_id, m->council_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "council", m->council_id);
    if (catalogue_set(m->municipality_id))
        registry_layout_token(out, "mun", m->municipality_id);
    if (catalogue_set(m->organization_id))
        registry_layout_token(out, "org", m->organization_id);
    entity_layout_reference(out, "councilId", "reg:{r:%s}:council:%s", m->region_id, m->council_id);
    registry_layout_token(out, "status",
                          m->status == METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED ? "planned" : "held");
    entity_layout_guard(out, "reg:{r:%s}:ix:decision:meeting:%s", m->region_id, m->id); /* its decisions keep it */
    /* one minutes number per council */
    entity_layout_claim(out, "minutesNumber", m->minutes_number, "reg:{r:%s}:claim:minutes:%s", m->region_id,
                        m->council_id);
}

static size_t s_meeting_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_council_kind, m->council_id, "councilId", true);
    for (size_t i = 0; i < m->n_attendee_staff_ids && i < MEETING_MAX_ATTENDEES; i++) {
        char field[48];
        snprintf(field, sizeof field, "attendeeStaffIds[%zu]", i);
        n = catalogue_add_reference(out, n, max, &registry_staff_kind, m->attendee_staff_ids[i], field, true);
    }
    for (size_t i = 0; i < m->n_agenda && i < MEETING_MAX_AGENDA; i++) {
        char field[64];
        snprintf(field, sizeof field, "agenda[%zu].speakerStaffId", i);
        n = catalogue_add_reference(out, n, max, &registry_staff_kind, m->agenda[i]->speaker_staff_id, field, true);
    }
    return n;
}

static void s_meeting_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    (void)v;
    Metodnet__CouncilMeeting *m = (Metodnet__CouncilMeeting *)msg;
    if (loaded->descriptor != &metodnet__council__descriptor)
        return;
    const Metodnet__Council *c = (const Metodnet__Council *)loaded;
    m->level = c->level;
    /* the quorum: council members among the attendees, more than half of the composition */
    const char *composition[COUNCIL_MAX_MEMBERS + 3];
    size_t total = 0;
    const char *officers[] = {c->chair_staff_id, c->deputy_staff_id, c->secretary_staff_id};
    for (size_t i = 0; i < 3; i++)
        if (catalogue_set(officers[i]))
            composition[total++] = officers[i];
    for (size_t i = 0; i < c->n_member_staff_ids && i < COUNCIL_MAX_MEMBERS; i++) {
        bool seen = false;
        for (size_t j = 0; j < total && !seen; j++)
            seen = strcmp(composition[j], c->member_staff_ids[i]) == 0;
        if (!seen)
            composition[total++] = c->member_staff_ids[i];
    }
    int present = 0;
    for (size_t i = 0; i < m->n_attendee_staff_ids; i++)
        for (size_t j = 0; j < total; j++)
            if (strcmp(m->attendee_staff_ids[i], composition[j]) == 0) {
                present++;
                break;
            }
    m->members_present = present;
    m->members_total = (int32_t)total;
    m->quorum = total > 0 && 2 * (size_t)present > total;
    catalogue_replace(&m->organization_id, c->organization_id);
    catalogue_replace(&m->municipality_id, c->municipality_id);
}

static void s_meeting_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__CouncilMeeting *m = (Metodnet__CouncilMeeting *)msg;
    int day = 0;
    if (m->status == METODNET__MEETING_STATUS__MEETING_STATUS_UNSPECIFIED)
        m->status = m->held_on && date_parse(m->held_on, &day) && day > date_today()
                        ? METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED
                        : METODNET__MEETING_STATUS__MEETING_STATUS_HELD;
    m->level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED;
    catalogue_replace(&m->organization_id, "");
    catalogue_replace(&m->municipality_id, "");
}

/* A held meeting stays held: its minutes are a record of what happened. */
static void s_meeting_on_update(const ProtobufCMessage *current, ProtobufCMessage *next,
                                const Metodnet__Principal *caller, const char *now, validation *v)
{
    (void)caller, (void)now;
    const Metodnet__CouncilMeeting *was = (const Metodnet__CouncilMeeting *)current;
    Metodnet__CouncilMeeting *m = (Metodnet__CouncilMeeting *)next;
    bool was_held = was->status != METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED;
    if (was_held && m->status == METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED)
        validation_add(v, "status", "Проведённое заседание нельзя снова сделать запланированным");
    if (m->status == METODNET__MEETING_STATUS__MEETING_STATUS_UNSPECIFIED)
        m->status = METODNET__MEETING_STATUS__MEETING_STATUS_HELD;
}

static bool s_meeting_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__CouncilMeeting *m = (const Metodnet__CouncilMeeting *)msg;
    const Metodnet__ListCouncilMeetingsRequest *r = (const Metodnet__ListCouncilMeetingsRequest *)request;
    if (catalogue_set(r->from) && strcmp(m->held_on, r->from) < 0) /* YYYY-MM-DD compares as text */
        return false;
    if (catalogue_set(r->to) && strcmp(m->held_on, r->to) > 0)
        return false;
    return true;
}

static const entity_filter s_meeting_filters[] = {
    {.field = "council_id", .token = "council", .check = ENTITY_FILTER_ID},
    {.field = "from", .check = ENTITY_FILTER_DATE},
    {.field = "to", .check = ENTITY_FILTER_DATE},
    {.field = "status", .token = "status", .words = &metodnet__meeting_status__descriptor, .check = ENTITY_FILTER_ENUM},
};
static const entity_list_index s_meeting_indexes[] = {
    {.field = "council_id", .index = "meeting:council"},
};

const registry_kind registry_meeting_kind = {
    CATALOGUE_KIND,
    .name = "meeting",
    FILTERS(s_meeting_filters),
    INDEXES(s_meeting_indexes),
    .id_letter = 'k',
    .json_field = "meeting",
    .descriptor = &metodnet__council_meeting__descriptor,
    .not_found_ru = "Заседание не найдено",
    .exists_ru = "Протокол с этим номером у совета уже есть",
    .not_empty_ru = "",
    .immutable = s_meeting_immutable,
    .validate = s_meeting_validate,
    .territory = s_meeting_territory,
    .layout = s_meeting_layout,
    .allows = s_meeting_allows,
    .list_unnarrowed = true,
    .references = s_meeting_references,
    .apply_reference = s_meeting_apply,
    .list_match = s_meeting_match,
    .on_create = s_meeting_on_create,
    .on_update = s_meeting_on_update,
};
