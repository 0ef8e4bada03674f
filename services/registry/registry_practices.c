/* registry_practices — catalogue kinds: the bank of effective practices and their review. Validation, territory, layout, scope
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

/* ---------- practice ---------- */

static const char *const s_practice_immutable[] = {
    "id",           "region_id", "author_staff_id", "organization_id", "municipality_id", "status", "reviews",
    "published_at", "version",   "created_at",      "updated_at",      "expert_scores",   NULL};

#define PRACTICE_MAX_ATTACHMENTS 10
#define PRACTICE_MAX_REVIEWS     100
#define PRACTICE_MAX_COAUTHORS   10
#define PRACTICE_MAX_UPTAKES     100
#define PRACTICE_MAX_SCORES      200

static void s_practice_validate(const ProtobufCMessage *msg, bool creating, validation *v)
{
    (void)creating;
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    validate_text(v, "title", p->title, 500, true);
    catalogue_check_id(v, "authorStaffId", p->author_staff_id, &registry_staff_kind, true, "07-s12");
    catalogue_check_id(v, "organizationId", p->organization_id, &registry_organization_kind, false, "07-o12");
    catalogue_check_subject(v, "subject", p->subject);
    catalogue_check_competences(v, "competences", p->competences, p->n_competences, 20);
    validate_text(v, "description", p->description, 20000, true);
    if (p->n_attachments > PRACTICE_MAX_ATTACHMENTS)
        validation_add(v, "attachments", "Не более %d ссылок на материалы", PRACTICE_MAX_ATTACHMENTS);
    for (size_t i = 0; i < p->n_attachments && i < PRACTICE_MAX_ATTACHMENTS; i++) {
        char field[48];
        snprintf(field, sizeof field, "attachments[%zu]", i);
        if (!registry_url_valid(p->attachments[i], 2000))
            validation_add(v, field, "Ссылка должна начинаться с http:// или https:// и не содержать пробелов");
    }
    if (p->n_co_author_staff_ids > PRACTICE_MAX_COAUTHORS)
        validation_add(v, "coAuthorStaffIds", "Не более %d соавторов", PRACTICE_MAX_COAUTHORS);
    for (size_t i = 0; i < p->n_co_author_staff_ids && i < PRACTICE_MAX_COAUTHORS; i++) {
        char field[48];
        snprintf(field, sizeof field, "coAuthorStaffIds[%zu]", i);
        catalogue_check_id(v, field, p->co_author_staff_ids[i], &registry_staff_kind, true, "07-s12");
        if (catalogue_eq(p->co_author_staff_ids[i], p->author_staff_id))
            validation_add(v, field, "Автор уже указан в authorStaffId");
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->co_author_staff_ids[i], p->co_author_staff_ids[j]) == 0)
                validation_add(v, field, "Соавтор указан дважды");
    }
    validate_text(v, "collective", p->collective, 300, false);
    if (p->n_uptakes > PRACTICE_MAX_UPTAKES)
        validation_add(v, "uptakes", "Не более %d записей о внедрении", PRACTICE_MAX_UPTAKES);
    for (size_t i = 0; i < p->n_uptakes && i < PRACTICE_MAX_UPTAKES; i++) {
        char field[48];
        snprintf(field, sizeof field, "uptakes[%zu].organizationId", i);
        catalogue_check_id(v, field, p->uptakes[i]->organization_id, &registry_organization_kind, true, "07-o12");
        if (catalogue_eq(p->uptakes[i]->organization_id, p->organization_id))
            validation_add(v, field, "Внедрение — в другой школе, не в школе автора");
        for (size_t j = 0; j < i; j++)
            if (catalogue_eq(p->uptakes[i]->organization_id, p->uptakes[j]->organization_id))
                validation_add(v, field, "Эта школа уже указана");
        int since = 0;
        snprintf(field, sizeof field, "uptakes[%zu].since", i);
        if (validate_date(v, field, p->uptakes[i]->since, true, &since) && since > date_today())
            validation_add(v, field, "Дата внедрения не может быть в будущем");
        snprintf(field, sizeof field, "uptakes[%zu].note", i);
        validate_text(v, field, p->uptakes[i]->note, 2000, false);
    }
}

static void s_practice_territory(const ProtobufCMessage *msg, registry_territory *out)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    memset(out, 0, sizeof *out);
    out->object.region_id = p->region_id;
    if (catalogue_set(p->municipality_id)) {
        out->municipalities[0] = p->municipality_id;
        out->object.municipality_ids = out->municipalities;
        out->object.n_municipalities = 1;
    }
    if (catalogue_set(p->organization_id)) {
        out->organizations[0] = p->organization_id;
        out->object.organization_ids = out->organizations;
        out->object.n_organizations = 1;
    }
    out->object.person_id = p->author_staff_id;
}

static bool s_practice_allows(const Metodnet__Principal *caller, const ProtobufCMessage *msg, scope_access access)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    if (access == SCOPE_READ && p->status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED &&
        catalogue_region_reader(caller, p->region_id))
        return true; /* the bank is open to the whole region */
    registry_territory t;
    s_practice_territory(msg, &t);
    return scope_allows(caller, &t.object, access);
}

static void s_practice_layout(const ProtobufCMessage *msg, registry_layout *out)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    char key[REGISTRY_KEY_MAX], member[REGISTRY_MEMBER_MAX];
    registry_sort_member(member, sizeof member, p->title, p->id);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice", p->region_id);
    registry_layout_index(out, key, member);
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:author:%s", p->region_id, p->author_staff_id);
    registry_layout_index(out, key, member);
    if (catalogue_set(p->organization_id)) {
        snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:org:%s", p->region_id, p->organization_id);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "org", p->organization_id);
    }
    snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:word", p->region_id);
    catalogue_word_indexes(out, key, p->title, p->id);
    registry_layout_token(out, "status", catalogue_word(&metodnet__practice_status__descriptor, p->status));
    registry_layout_token(out, "author", p->author_staff_id);
    if (catalogue_set(p->municipality_id))
        registry_layout_token(out, "mun", p->municipality_id);
    if (catalogue_set(p->subject))
        registry_layout_token(out, "subj", p->subject);
    for (size_t i = 0; i < p->n_competences; i++)
        registry_layout_token(out, "comp", p->competences[i]);
    catalogue_staff_must_exist(out, p->region_id, p->author_staff_id, "authorStaffId");
    for (size_t i = 0; i < p->n_co_author_staff_ids && i < PRACTICE_MAX_COAUTHORS; i++) {
        /* a co-author lists it as an author does (and keeps the staff record from deletion) */
        snprintf(key, sizeof key, "reg:{r:%s}:ix:practice:author:%s", p->region_id, p->co_author_staff_ids[i]);
        registry_layout_index(out, key, member);
        registry_layout_token(out, "author", p->co_author_staff_ids[i]);
        catalogue_staff_must_exist(out, p->region_id, p->co_author_staff_ids[i], "coAuthorStaffIds");
    }
    for (size_t i = 0; i < p->n_uptakes && i < PRACTICE_MAX_UPTAKES; i++) {
        registry_layout_token(out, "uptake", p->uptakes[i]->organization_id);
        entity_layout_reference(out, "uptakes.organizationId", "reg:{r:%s}:org:%s", p->region_id,
                                p->uptakes[i]->organization_id);
    }
    registry_layout_token(out, "kind", catalogue_word(&metodnet__practice_kind__descriptor, p->kind));
    registry_layout_token(out, "level", catalogue_word(&metodnet__home_level__descriptor, p->level));
    if (catalogue_set(p->organization_id)) {
        entity_layout_reference(out, "organizationId", "reg:{r:%s}:org:%s", p->region_id, p->organization_id);
    }
}

static size_t s_practice_references(const ProtobufCMessage *msg, registry_reference *out, size_t max)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    size_t n = catalogue_add_reference(out, 0, max, &registry_staff_kind, p->author_staff_id, "authorStaffId", true);
    return catalogue_add_reference(out, n, max, &registry_organization_kind, p->organization_id, "organizationId",
                                   true);
}

/* The organization is one of the author's (the only one when not given); the municipality follows it. */
static void s_practice_apply(ProtobufCMessage *msg, size_t index, const ProtobufCMessage *loaded, validation *v)
{
    (void)index;
    Metodnet__Practice *p = (Metodnet__Practice *)msg;
    catalogue_apply_person_organization(&p->organization_id, &p->municipality_id, loaded, "organizationId",
                                        "Автор работает в нескольких организациях: укажите организацию практики",
                                        "Автор практики не работает в этой организации", v);
}

static void s_practice_on_create(ProtobufCMessage *msg, const ProtobufCMessage *request)
{
    (void)request;
    Metodnet__Practice *p = (Metodnet__Practice *)msg;
    p->status = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
    for (size_t i = 0; i < p->n_reviews; i++)
        protobuf_c_message_free_unpacked(&p->reviews[i]->base, NULL);
    free(p->reviews);
    p->reviews = NULL;
    p->n_reviews = 0;
    catalogue_replace(&p->published_at, "");
    catalogue_replace(&p->municipality_id, "");
    for (size_t i = 0; i < p->n_expert_scores; i++)
        protobuf_c_message_free_unpacked(&p->expert_scores[i]->base, NULL);
    free(p->expert_scores);
    p->expert_scores = NULL;
    p->n_expert_scores = 0;
    if (p->kind == METODNET__PRACTICE_KIND__PRACTICE_KIND_UNSPECIFIED)
        p->kind = METODNET__PRACTICE_KIND__PRACTICE_KIND_PEDAGOGICAL;
    if (p->level == METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED)
        p->level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
}

static const char *s_practice_update_conflict(const ProtobufCMessage *current)
{
    Metodnet__PracticeStatus status = ((const Metodnet__Practice *)current)->status;
    if (status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW)
        return "Практика на экспертизе: изменить её можно после решения эксперта";
    if (status == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED)
        return "Опубликованную практику изменить нельзя";
    return NULL;
}

static const char *s_status_ru(Metodnet__PracticeStatus status)
{
    switch (status) {
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED:
        return "подана";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW:
        return "на экспертизе";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED:
        return "опубликована";
    case METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED:
        return "отклонена";
    default:
        return "неизвестно";
    }
}

static bool s_is_reviewer(const Metodnet__Principal *caller)
{
    return caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST || caller->role == METODNET__ROLE__ROLE_SYSTEM;
}

/* The expert panel scores a practice under review, one criterion at a time; a later score of the same
 * expert and criterion replaces the earlier one. */
static registry_transition_result s_practice_score(const Metodnet__ReviewPracticeRequest *r, Metodnet__Practice *p,
                                                   const Metodnet__Principal *caller, const char *now, validation *v,
                                                   const char **conflict_ru)
{
    validate_text(v, "expertName", r->expert_name, 200, true);
    validate_text(v, "criterion", r->criterion, 200, true);
    if (r->max_score < 1 || r->max_score > 100)
        validation_add(v, "maxScore", "Наибольший балл критерия — от 1 до 100");
    else if (r->score < 0 || r->score > r->max_score)
        validation_add(v, "score", "Балл — от 0 до наибольшего балла критерия (%d)", r->max_score);
    validate_text(v, "comment", r->comment, 4000, false);
    if (!validation_ok(v))
        return REGISTRY_TRANSITION_INVALID;
    if (!s_is_reviewer(caller))
        return REGISTRY_TRANSITION_DENIED;
    if (p->status != METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW) {
        *conflict_ru = "Оценивают практику на экспертизе (сначала action = start)";
        return REGISTRY_TRANSITION_CONFLICT;
    }
    Metodnet__PracticeExpertScore *s = NULL;
    for (size_t i = 0; i < p->n_expert_scores && !s; i++)
        if (catalogue_eq(p->expert_scores[i]->expert_name, r->expert_name) &&
            catalogue_eq(p->expert_scores[i]->criterion, r->criterion))
            s = p->expert_scores[i];
    if (s == NULL) {
        if (p->n_expert_scores >= PRACTICE_MAX_SCORES) {
            *conflict_ru = "У практики слишком много оценок";
            return REGISTRY_TRANSITION_CONFLICT;
        }
        s = xmalloc(sizeof *s);
        metodnet__practice_expert_score__init(s);
        p->expert_scores = xrealloc(p->expert_scores, (p->n_expert_scores + 1) * sizeof *p->expert_scores);
        p->expert_scores[p->n_expert_scores++] = s;
        catalogue_replace(&s->expert_name, r->expert_name);
        catalogue_replace(&s->criterion, r->criterion);
    }
    catalogue_replace(&s->expert_user_id, caller->user_id ? caller->user_id : "");
    catalogue_replace(&s->comment, r->comment ? r->comment : "");
    catalogue_replace(&s->at, now);
    s->score = r->score;
    s->max_score = r->max_score;
    return REGISTRY_TRANSITION_OK;
}

/* submitted --start--> under_review --publish--> published
 *                                   --reject---> rejected --resubmit--> submitted
 * start/publish/reject: region administrators and municipal methodologists (the write check on the
 * practice already placed the caller in scope); resubmit: whoever may change the practice. */
static registry_transition_result s_practice_review(const ProtobufCMessage *request, ProtobufCMessage *next,
                                                    const Metodnet__Principal *caller, const char *now, validation *v,
                                                    const char **conflict_ru)
{
    const Metodnet__ReviewPracticeRequest *r = (const Metodnet__ReviewPracticeRequest *)request;
    Metodnet__Practice *p = (Metodnet__Practice *)next;
    static char message[200];
    const char *action = r->action ? r->action : "";
    Metodnet__PracticeStatus from, to;
    bool expert = true;
    if (strcmp(action, "start") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
    } else if (strcmp(action, "publish") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED;
    } else if (strcmp(action, "reject") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED;
    } else if (strcmp(action, "score") == 0) {
        return s_practice_score(r, p, caller, now, v, conflict_ru);
    } else if (strcmp(action, "resubmit") == 0) {
        from = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED;
        to = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
        expert = false;
    } else {
        validation_add(v, "action", "Действие: start, score, publish, reject или resubmit");
        return REGISTRY_TRANSITION_INVALID;
    }
    validate_text(v, "comment", r->comment, 4000, to == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED);
    if (!validation_ok(v))
        return REGISTRY_TRANSITION_INVALID;
    if (expert && !s_is_reviewer(caller))
        return REGISTRY_TRANSITION_DENIED;
    if (p->status != from) {
        snprintf(message, sizeof message, "Действие «%s» недопустимо: практика %s, а нужно — %s", action,
                 s_status_ru(p->status), s_status_ru(from));
        *conflict_ru = message;
        return REGISTRY_TRANSITION_CONFLICT;
    }
    if (p->n_reviews >= PRACTICE_MAX_REVIEWS) {
        *conflict_ru = "У практики слишком много шагов экспертизы";
        return REGISTRY_TRANSITION_CONFLICT;
    }
    Metodnet__PracticeReview *review = xmalloc(sizeof *review);
    Metodnet__PracticeReview **grown = xrealloc(p->reviews, (p->n_reviews + 1) * sizeof *grown);
    metodnet__practice_review__init(review);
    review->action = xstrdup(action);
    review->comment = xstrdup(r->comment ? r->comment : "");
    review->reviewer_user_id = xstrdup(caller->user_id ? caller->user_id : "");
    review->at = xstrdup(now);
    review->status = to;
    p->reviews = grown;
    p->reviews[p->n_reviews++] = review;
    p->status = to;
    if (to == METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED)
        catalogue_replace(&p->published_at, now);
    return REGISTRY_TRANSITION_OK;
}

static bool s_practice_match(const ProtobufCMessage *msg, const ProtobufCMessage *request, const char *after)
{
    const Metodnet__Practice *p = (const Metodnet__Practice *)msg;
    const char *q = ((const Metodnet__ListPracticesRequest *)request)->q;
    if (!catalogue_set(q))
        return true;
    char key[64];
    registry_query_key(q, key, sizeof key);
    return registry_text_matches(p->title, q) && registry_word_first_seen(p->title, p->id, key, after);
}

/* The author keeps the content current while the practice is not under review or published. */
static const char *const s_practice_self_editable[] = {
    "title", "subject", "competences", "description", "attachments", "co_author_staff_ids", "collective", NULL};

static const entity_filter s_practice_filters[] = {
    {.field = "status",
     .token = "status",
     .words = &metodnet__practice_status__descriptor,
     .check = ENTITY_FILTER_ENUM},
    {.field = "subject", .token = "subj", .check = ENTITY_FILTER_SUBJECT},
    {.field = "competence", .token = "comp", .check = ENTITY_FILTER_CUSTOM, .valid = registry_code_valid},
    {.field = "author_staff_id", .token = "author", .check = ENTITY_FILTER_ID},
    {.field = "organization_id", .token = "org", .check = ENTITY_FILTER_ID},
    {.field = "municipality_id", .token = "mun", .check = ENTITY_FILTER_ID},
    {.field = "kind", .token = "kind", .words = &metodnet__practice_kind__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "level", .token = "level", .words = &metodnet__home_level__descriptor, .check = ENTITY_FILTER_ENUM},
    {.field = "uptake_organization_id", .token = "uptake", .check = ENTITY_FILTER_ID},
};
static const entity_list_index s_practice_indexes[] = {
    {.field = "organization_id", .index = "practice:org"},
    {.field = "author_staff_id", .index = "practice:author"},
};

const registry_kind registry_practice_kind = {
    CATALOGUE_KIND,
    .name = "practice",
    FILTERS(s_practice_filters),
    INDEXES(s_practice_indexes),
    .word_key = registry_query_key,
    .self_editable = s_practice_self_editable,
    .id_letter = 'e',
    .json_field = "practice",
    .descriptor = &metodnet__practice__descriptor,
    .not_found_ru = "Практика не найдена",
    .exists_ru = "Практика уже существует",
    .not_empty_ru = "",
    .immutable = s_practice_immutable,
    .validate = s_practice_validate,
    .territory = s_practice_territory,
    .layout = s_practice_layout,
    .allows = s_practice_allows,
    .list_unnarrowed = true,
    .references = s_practice_references,
    .apply_reference = s_practice_apply,
    .list_match = s_practice_match,
    .transition = s_practice_review,
    .on_create = s_practice_on_create,
    .update_conflict = s_practice_update_conflict,
};
