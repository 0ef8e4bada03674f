/* registry_decisions — catalogue kind: the decisions and recommendations of a methodological council as
 * records of their own (004 §2.5–2.6; 001 п.10): who must act, by when, and how it was executed.
 * Descriptor and hooks only; the record lives where its council lives (scope copied from the council). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbfield.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_catalogue_internal.h"
#include "xalloc.h"

static home s_decision_home(const Metodnet__CouncilDecision *d)
{
    return (home){d->level, d->region_id, d->municipality_id, d->organization_id};
}

static const char *const s_decision_immutable[] = {
    "id",      "region_id",  "council_id", "level", "organization_id", "municipality_id",
    "version", "created_at", "updated_at", NULL};

static bool s_closed(Metodnet__DecisionStatus status)
{
    return status == METODNET__DECISION_STATUS__DECISION_STATUS_DONE ||
           status == METODNET__DECISION_STATUS__DECISION_STATUS_NOT_DONE;
}

static void s_decision_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__CouncilDecision *d = (const Metodnet__CouncilDecision *)msg;
    catalogue_check_id(v, "councilId", d->council_id, &registry_council_kind, true, "07-c2");
    catalogue_check_id(v, "meetingId", d->meeting_id, &registry_meeting_kind, false, "07-k4");
    catalogue_check_id(v, "addresseeOrganizationId", d->addressee_organization_id, &registry_organization_kind, false,
                       "07-o12");
    if (d->kind == METODNET__DECISION_KIND__DECISION_KIND_UNSPECIFIED)
        validation_add(v, "kind", "Укажите вид: decision (решение) или recommendation (рекомендация)");
    validate_text(v, "text", d->text, 4000, true);
    validate_text(v, "addressee", d->addressee, 300, true);
    int due = 0, done = 0;
    validate_date(v, "dueOn", d->due_on, true, &due);
    validate_text(v, "executionNote", d->execution_note, 4000,
                  d->status == METODNET__DECISION_STATUS__DECISION_STATUS_NOT_DONE);
    bool done_given = validate_date(v, "doneOn", d->done_on, false, &done) && catalogue_set(d->done_on);
    if (d->status == METODNET__DECISION_STATUS__DECISION_STATUS_DONE && !done_given)
        validation_add(v, "doneOn", "Исполнено — укажите дату исполнения");
    if (done_given && d->status != METODNET__DECISION_STATUS__DECISION_STATUS_DONE)
        validation_add(v, "doneOn", "Дата исполнения — только у исполненного (status = done)");
    if (done_given && done > date_today())
        validation_add(v, "doneOn", "Дата исполнения не может быть в будущем");
}

static void s_decision_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    home h = s_decision_home((const Metodnet__CouncilDecision *)msg);
    catalogue_home_territory(&h, out);
}

static bool s_decision_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    home h = s_decision_home((const Metodnet__CouncilDecision *)msg);
    return catalogue_home_allows(caller, &h, access);
}

static void s_decision_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__CouncilDecision *d = (const Metodnet__CouncilDecision *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    catalogue_dated_member(member, sizeof member, d->due_on, d->id); /* by deadline */
    snprintf(key, sizeof key, "reg:{r:%s}:ix:decision", d->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:decision:council:%s", d->region_id, d->council_id);
    registry_layout_index(out, key, member);
    registry_layout_token(out, "council", d->council_id);
    registry_layout_token(out, "status", catalogue_word(&metodnet__decision_status__descriptor, d->status));
    registry_layout_token(out, "kind", catalogue_word(&metodnet__decision_kind__descriptor, d->kind));
    if (catalogue_set(d->meeting_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:decision:meeting:%s", d->region_id, d->meeting_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "meeting", d->meeting_id);
        entity_layout_reference(out, "meetingId", "reg:{r:%s}:meeting:%s", d->region_id, d->meeting_id);
    }
    if (catalogue_set(d->addressee_organization_id)) {
        registry_layout_token(out, "to", d->addressee_organization_id);
        entity_layout_reference(out, "addresseeOrganizationId", "reg:{r:%s}:org:%s", d->region_id,
                                d->addressee_organization_id);
    }
    if (catalogue_set(d->municipality_id))
        registry_layout_token(out, "mun", d->municipality_id);
    if (catalogue_set(d->organization_id))
        registry_layout_token(out, "org", d->organization_id);
    entity_layout_reference(out, "councilId", "reg:{r:%s}:council:%s", d->region_id, d->council_id);
}

static size_t s_decision_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__CouncilDecision *d = (const Metodnet__CouncilDecision *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_council_kind, d->council_id, "councilId", true);
    return catalogue_add_reference(out, n, max, &registry_meeting_kind, d->meeting_id, "meetingId", true);
}

/* The home is the council's; a meeting named must be of that council. */
static void s_decision_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__CouncilDecision *d = (Metodnet__CouncilDecision *)msg;
    if (loaded->descriptor == &metodnet__council__descriptor) {
        const Metodnet__Council *c = (const Metodnet__Council *)loaded;
        d->level = c->level;
        catalogue_replace(&d->organization_id, c->organization_id);
        catalogue_replace(&d->municipality_id, c->municipality_id);
    } else if (loaded->descriptor == &metodnet__council_meeting__descriptor) {
        if (!catalogue_eq(((const Metodnet__CouncilMeeting *)loaded)->council_id, d->council_id))
            validation_add(v, "meetingId", "Заседание другого совета");
    }
}

static void s_decision_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__CouncilDecision *d = (Metodnet__CouncilDecision *)msg;
    d->level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED;
    catalogue_replace(&d->organization_id, "");
    catalogue_replace(&d->municipality_id, "");
    if (d->status == METODNET__DECISION_STATUS__DECISION_STATUS_UNSPECIFIED)
        d->status = METODNET__DECISION_STATUS__DECISION_STATUS_ASSIGNED;
}

/* Overdue: the deadline passed (YYYY-MM-DD compares as text) and it is neither done nor refused. */
static bool s_decision_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    (void)after;
    const Metodnet__CouncilDecision *d = (const Metodnet__CouncilDecision *)msg;
    const char *overdue = ((const Metodnet__ListCouncilDecisionsRequest *)request)->overdue;
    if (!catalogue_set(overdue))
        return true;
    int today = date_today(), due = 0;
    bool late = !s_closed(d->status) && date_parse(d->due_on, &due) && due < today;
    return late == (strcmp(overdue, "true") == 0);
}

static const entity_filter s_decision_filters[] = {
    {.field = "council_id", .token = "council", .check = ENTITY_FILTER_ID},
    {.field = "meeting_id", .token = "meeting", .check = ENTITY_FILTER_ID},
    {.field = "status",
     .token = "status",
     .words = &metodnet__decision_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "kind", .token = "kind", .words = &metodnet__decision_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "addressee_organization_id", .token = "to", .check = ENTITY_FILTER_ID},
    {.field = "overdue", .check = ENTITY_FILTER_BOOL},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_decision_indexes[] = {
    {.field = "council_id", .index = "decision:council"},
    {.field = "meeting_id", .index = "decision:meeting"},
};

const registry_kind registry_decision_kind = {
    CATALOGUE_KIND,
    .name = "decision",
    .audit_name = "council_decision",
    FILTERS(s_decision_filters),
    INDEXES(s_decision_indexes),
    .id_letter = 'd',
    .json_field = "decision",
    .descriptor = &metodnet__council_decision__descriptor,
    .not_found_ru = "Решение совета не найдено",
    .exists_ru = "Решение совета уже существует",
    .not_empty_ru = "",
    .immutable = s_decision_immutable,
    .validate = s_decision_validate,
    .territory = s_decision_territory,
    .layout = s_decision_layout,
    .allows = s_decision_allows,
    .list_unnarrowed = true,
    .references = s_decision_references,
    .apply_reference = s_decision_apply,
    .list_match = s_decision_match,
    .on_create = s_decision_on_create,
};
