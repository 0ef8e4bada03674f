/* test_registry_catalogue — the catalogue kinds' rules that the service relies on: home consistency
 * and who reads or writes at a home, membership uniqueness keys and the leave transition, the
 * practice review state machine, programme word search (words, matching, first appearance in a
 * page), qualification records' route-item key and person scope, URL and code checks, site filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "entity_layout.h"
#include "pbfield.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"

static bool s_has_violation(const validation *v, const char *field)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->items[i]->field, field) == 0)
            return true;
    return false;
}

static Metodnet__Principal s_principal(Metodnet__Role role, Metodnet__ScopeKind kind, const char *scope_id,
                                       const char *municipality_id)
{
    Metodnet__Principal p = METODNET__PRINCIPAL__INIT;
    p.user_id = "u1";
    p.role = role;
    p.scope_kind = kind;
    p.scope_id = (char *)scope_id;
    p.region_id = "07";
    p.municipality_id = (char *)municipality_id;
    return p;
}

/* Index text of readable text: entity_sort_prefix (its bytes are tested in test_common_entity_layout). */
static const char *s_sorted(const char *text, const char *id)
{
    static char out[4][256];
    static int turn;
    char *o = out[turn++ % 4];
    entity_sort_prefix(text, o, 200);
    if (id) {
        strcat(o, "\x1f");
        strcat(o, id);
    }
    return o;
}

static bool s_index_has(const registry_layout *l, const char *key, const char *member)
{
    for (size_t i = 0; i < l->n_indexes; i++)
        if (strcmp(l->indexes[i].key, key) == 0 && (member == NULL || strcmp(l->indexes[i].member, member) == 0))
            return true;
    return false;
}

/* ---------- associations ---------- */

static void test_association_home_validation(void **state)
{
    (void)state;
    Metodnet__Association a = METODNET__ASSOCIATION__INIT;
    a.name = "ШМО учителей математики";
    a.kind = METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_METHODOLOGICAL_ASSOCIATION;
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
    a.subject = "mathematics";
    validation v;
    validation_init(&v);
    registry_association_kind.validate(&a.base, true, &v);
    assert_true(s_has_violation(&v, "organizationId")); /* an institutional one needs its organization */
    validation_free(&v);

    a.organization_id = "07-o3";
    validation_init(&v);
    registry_association_kind.validate(&a.base, true, &v);
    assert_true(validation_ok(&v));
    validation_free(&v);

    /* municipal with an organization; no subject and no theme; a leader id of another kind */
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    a.municipality_id = "07-m1";
    a.subject = "";
    a.leader_staff_id = "07-o1";
    validation_init(&v);
    registry_association_kind.validate(&a.base, true, &v);
    assert_true(s_has_violation(&v, "organizationId"));
    assert_true(s_has_violation(&v, "theme"));
    assert_true(s_has_violation(&v, "leaderStaffId"));
    validation_free(&v);

    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_UNSPECIFIED;
    a.organization_id = "";
    a.theme = "ФГОС";
    a.leader_staff_id = "";
    a.subject = "astrology";
    validation_init(&v);
    registry_association_kind.validate(&a.base, true, &v);
    assert_true(s_has_violation(&v, "level"));
    assert_true(s_has_violation(&v, "subject"));
    validation_free(&v);
}

static void test_association_layout(void **state)
{
    (void)state;
    Metodnet__Association a = METODNET__ASSOCIATION__INIT;
    a.id = "07-a4";
    a.region_id = "07";
    a.name = "ШМО учителей математики";
    a.kind = METODNET__ASSOCIATION_KIND__ASSOCIATION_KIND_METHODOLOGICAL_ASSOCIATION;
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
    a.organization_id = "07-o3";
    a.municipality_id = "07-m1";
    a.subject = "mathematics";
    a.leader_staff_id = "07-s9";
    a.network = 1;
    static registry_layout l;
    registry_association_kind.layout(&a.base, &l);
    assert_true(s_index_has(&l, "reg:{r:07}:ix:assoc", s_sorted("шмо учителей математики", "07-a4")));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:assoc:mun:07-m1", NULL));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:assoc:org:07-o3", NULL));
    assert_non_null(strstr(l.attributes, "|level:institutional|"));
    assert_non_null(strstr(l.attributes, "|net:true|"));
    assert_non_null(strstr(l.attributes, "|subj:mathematics|"));
    assert_int_equal(l.n_references, 2);
    assert_string_equal(l.references[0].key, "reg:{r:07}:org:07-o3");
    assert_string_equal(l.references[1].key, "reg:{r:07}:staff:07-s9");
    assert_string_equal(l.guards[0], "reg:{r:07}:ix:member:assoc:07-a4");
    entity_layout_clear(&l);

    char key[REGISTRY_KEY_MAX];
    assert_true(registry_entity_key(&registry_association_kind, "07-a4", key, sizeof key));
    assert_string_equal(key, "reg:{r:07}:assoc:07-a4");
    assert_false(registry_entity_key(&registry_association_kind, "07-s4", key, sizeof key));
    registry_make_id(&registry_membership_kind, "07", 5, key, sizeof key);
    assert_string_equal(key, "07-j5");
    registry_make_id(&registry_practice_kind, "07", 6, key, sizeof key);
    assert_string_equal(key, "07-e6");
    registry_make_id(&registry_meeting_kind, "07", 2, key, sizeof key);
    assert_string_equal(key, "07-k2");
    assert_true(registry_entity_key(&registry_programme_kind, "07-p3", key, sizeof key));
    assert_string_equal(key, "reg:{r:07}:programme:07-p3");
    assert_false(registry_entity_key(&registry_programme_kind, "07-e3", key, sizeof key));
}

static void test_home_scope(void **state)
{
    (void)state;
    Metodnet__Association a = METODNET__ASSOCIATION__INIT;
    a.region_id = "07";
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    a.municipality_id = "07-m1";
    Metodnet__Principal ours = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                           METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    Metodnet__Principal theirs = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                             METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m2", "07-m2");
    Metodnet__Principal school =
        s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o3", "07-m1");
    Metodnet__Principal region =
        s_principal(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");
    Metodnet__Principal system_key = s_principal(METODNET__ROLE__ROLE_SCHOOL_SYSTEM,
                                                 METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    /* the municipality's own association: its methodologists write it (scope_allows alone would not) */
    assert_true(registry_allows(&registry_association_kind, &ours, &a.base, SCOPE_WRITE));
    assert_false(registry_allows(&registry_association_kind, &theirs, &a.base, SCOPE_READ));
    assert_false(registry_allows(&registry_association_kind, &theirs, &a.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_association_kind, &school, &a.base, SCOPE_READ));
    assert_false(registry_allows(&registry_association_kind, &school, &a.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_association_kind, &region, &a.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_association_kind, &system_key, &a.base, SCOPE_READ));
    assert_false(registry_allows(&registry_association_kind, &system_key, &a.base, SCOPE_WRITE));

    /* an institutional one of a school in another municipality is invisible */
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
    a.organization_id = "07-o3";
    assert_false(registry_allows(&registry_association_kind, &theirs, &a.base, SCOPE_READ));
    assert_true(registry_allows(&registry_association_kind, &school, &a.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_association_kind, &ours, &a.base, SCOPE_WRITE));

    /* a regional one: read by all of the region, written by the region */
    a.level = METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
    a.organization_id = "";
    a.municipality_id = "";
    assert_true(registry_allows(&registry_association_kind, &theirs, &a.base, SCOPE_READ));
    assert_false(registry_allows(&registry_association_kind, &theirs, &a.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_association_kind, &region, &a.base, SCOPE_WRITE));

    /* a council follows the same rules; a regional council is not a level councils have */
    Metodnet__Council c = METODNET__COUNCIL__INIT;
    c.name = "Совет";
    c.level = METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
    c.chair_staff_id = "07-s1";
    c.deputy_staff_id = "07-s1";
    validation v;
    validation_init(&v);
    registry_council_kind.validate(&c.base, true, &v);
    assert_false(s_has_violation(&v, "level")); /* a regional council (001 п.10) */
    assert_true(s_has_violation(&v, "deputyStaffId"));
    validation_free(&v);
}

/* ---------- memberships ---------- */

/* Issue 17: who reads a membership only through an association enclosing its scope (and so sees only
 * the people it may read as staff), and who sees every member. */
static void test_membership_people_shown_by_scope(void **state)
{
    (void)state;
    Metodnet__AssociationMembership m = METODNET__ASSOCIATION_MEMBERSHIP__INIT;
    m.region_id = "07";
    m.association_id = "07-a4";
    m.staff_id = "07-s9";
    m.level = METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    m.municipality_id = "07-m1";
    Metodnet__Principal region =
        s_principal(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");
    Metodnet__Principal ours = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                           METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    Metodnet__Principal school =
        s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o3", "07-m1");
    Metodnet__Principal key = s_principal(METODNET__ROLE__ROLE_SCHOOL_SYSTEM,
                                          METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o3", "07-m1");
    Metodnet__Principal person =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s9", "07-m1");
    /* a municipal association: its municipality and region see every member; a school reads it, but
     * its people only through their staff records */
    assert_true(registry_allows(&registry_membership_kind, &school, &m.base, SCOPE_READ));
    assert_false(registry_membership_needs_person(&region, &m.base));
    assert_false(registry_membership_needs_person(&ours, &m.base));
    assert_true(registry_membership_needs_person(&school, &m.base));
    assert_true(registry_membership_needs_person(&key, &m.base));
    assert_false(registry_membership_needs_person(&person, &m.base)); /* their own */
    /* the school's own association: the school sees all its members */
    m.level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
    m.organization_id = "07-o3";
    assert_false(registry_membership_needs_person(&school, &m.base));
    m.organization_id = "07-o4";
    assert_true(registry_membership_needs_person(&school, &m.base));
    assert_false(registry_membership_needs_person(&ours, &m.base));
    /* a regional association: a methodologist sees only the people of its municipality */
    m.level = METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
    m.organization_id = "";
    m.municipality_id = "";
    assert_true(registry_allows(&registry_membership_kind, &ours, &m.base, SCOPE_READ));
    assert_true(registry_membership_needs_person(&ours, &m.base));
    assert_false(registry_membership_needs_person(&region, &m.base));
}

static void test_membership_layout_and_leave(void **state)
{
    (void)state;
    Metodnet__AssociationMembership init = METODNET__ASSOCIATION_MEMBERSHIP__INIT;
    init.id = "07-j5";
    init.region_id = "07";
    init.association_id = "07-a4";
    init.staff_id = "07-s9";
    init.joined_on = "2023-09-01";
    init.level = METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    init.municipality_id = "07-m1";
    static registry_layout l;
    registry_membership_kind.layout(&init.base, &l);
    assert_true(s_index_has(&l, "reg:{r:07}:ix:member:assoc:07-a4",
                            "2023-09-01\x1f"
                            "07-j5"));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:member:staff:07-s9",
                            "2023-09-01\x1f"
                            "07-j5"));
    /* while open, the membership claims person × association */
    assert_int_equal(l.n_claims, 1);
    assert_string_equal(l.claims[0].key, "reg:{r:07}:claim:member:associationStaff");
    assert_string_equal(l.claims[0].value, "07-a4:07-s9");
    entity_layout_clear(&l);

    Metodnet__AssociationMembership *m = (Metodnet__AssociationMembership *)pbfield_clone(&init.base);
    Metodnet__LeaveMembershipRequest leave = METODNET__LEAVE_MEMBERSHIP_REQUEST__INIT;
    Metodnet__Principal region =
        s_principal(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");
    const char *conflict = NULL;
    validation v;
    validation_init(&v);
    leave.left_on = "2023-09-01"; /* not after joining */
    assert_int_equal(registry_membership_kind.transition(&leave.base, &m->base, &region, "now", &v, &conflict),
                     REGISTRY_TRANSITION_INVALID);
    assert_true(s_has_violation(&v, "leftOn"));
    validation_free(&v);
    validation_init(&v);
    leave.left_on = "2024-05-31";
    assert_int_equal(registry_membership_kind.transition(&leave.base, &m->base, &region, "now", &v, &conflict),
                     REGISTRY_TRANSITION_OK);
    assert_string_equal(m->left_on, "2024-05-31");
    assert_int_equal(registry_membership_kind.transition(&leave.base, &m->base, &region, "now", &v, &conflict),
                     REGISTRY_TRANSITION_CONFLICT);
    assert_non_null(conflict);
    validation_free(&v);
    /* a closed membership gives the claim up: a re-join is a new record */
    registry_membership_kind.layout(&m->base, &l);
    assert_int_equal(l.n_claims, 0);
    entity_layout_clear(&l);

    /* dates: left_on is the first day outside */
    Metodnet__ListMembershipsRequest q = METODNET__LIST_MEMBERSHIPS_REQUEST__INIT;
    q.on = "2024-05-30";
    assert_true(registry_membership_kind.list_match(&m->base, &q.base, NULL));
    q.on = "2024-05-31";
    assert_false(registry_membership_kind.list_match(&m->base, &q.base, NULL));
    q.on = "2023-08-31";
    assert_false(registry_membership_kind.list_match(&m->base, &q.base, NULL));
    q.on = "";
    q.from = "2024-05-31";
    assert_false(registry_membership_kind.list_match(&m->base, &q.base, NULL));
    q.from = "2024-05-30";
    q.to = "2024-12-31";
    assert_true(registry_membership_kind.list_match(&m->base, &q.base, NULL));
    q.from = "";
    q.to = "2023-08-31";
    assert_false(registry_membership_kind.list_match(&m->base, &q.base, NULL));

    /* a person reads their own memberships, but cannot write them */
    Metodnet__Principal self =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s9", "07-m1");
    assert_true(registry_allows(&registry_membership_kind, &self, &m->base, SCOPE_READ));
    assert_false(registry_allows(&registry_membership_kind, &self, &m->base, SCOPE_WRITE));
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

/* ---------- practices ---------- */

static registry_transition_result s_review(Metodnet__Practice *p, const char *action, const char *comment,
                                           const Metodnet__Principal *caller, const char **conflict)
{
    Metodnet__ReviewPracticeRequest r = METODNET__REVIEW_PRACTICE_REQUEST__INIT;
    r.action = (char *)action;
    r.comment = (char *)comment;
    validation v;
    validation_init(&v);
    *conflict = NULL;
    registry_transition_result result =
        registry_practice_kind.transition(&r.base, &p->base, caller, "2024-10-01T10:00:00Z", &v, conflict);
    assert_int_equal(validation_ok(&v), result != REGISTRY_TRANSITION_INVALID);
    validation_free(&v);
    return result;
}

static void test_practice_review_flow(void **state)
{
    (void)state;
    Metodnet__Practice init = METODNET__PRACTICE__INIT;
    init.id = "07-e1";
    init.region_id = "07";
    init.title = "Смысловое чтение";
    init.author_staff_id = "07-s9";
    init.organization_id = "07-o3";
    init.municipality_id = "07-m1";
    init.description = "Описание";
    Metodnet__Practice *p = (Metodnet__Practice *)pbfield_clone(&init.base);
    registry_practice_kind.on_create(&p->base, NULL);
    assert_int_equal(p->status, METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED);

    Metodnet__Principal expert = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                             METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    Metodnet__Principal school =
        s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o3", "07-m1");
    Metodnet__Principal author =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s9", "07-m1");
    const char *conflict;
    assert_int_equal(s_review(p, "publish", "", &expert, &conflict), REGISTRY_TRANSITION_CONFLICT);
    assert_non_null(strstr(conflict, "подана"));
    assert_int_equal(s_review(p, "approve", "", &expert, &conflict), REGISTRY_TRANSITION_INVALID);
    assert_int_equal(s_review(p, "start", "", &school, &conflict), REGISTRY_TRANSITION_DENIED);
    assert_int_equal(s_review(p, "start", "", &author, &conflict), REGISTRY_TRANSITION_DENIED);
    assert_int_equal(s_review(p, "start", "", &expert, &conflict), REGISTRY_TRANSITION_OK);
    assert_int_equal(p->status, METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW);
    assert_non_null(registry_practice_kind.update_conflict(&p->base)); /* no edits under review */
    assert_int_equal(s_review(p, "start", "", &expert, &conflict), REGISTRY_TRANSITION_CONFLICT);
    assert_int_equal(s_review(p, "reject", "", &expert, &conflict), REGISTRY_TRANSITION_INVALID); /* reason */
    assert_int_equal(s_review(p, "reject", "Нет результатов", &expert, &conflict), REGISTRY_TRANSITION_OK);
    assert_null(registry_practice_kind.update_conflict(&p->base));
    assert_int_equal(s_review(p, "publish", "", &expert, &conflict), REGISTRY_TRANSITION_CONFLICT);
    assert_int_equal(s_review(p, "resubmit", "", &author, &conflict), REGISTRY_TRANSITION_OK);
    assert_int_equal(s_review(p, "start", "", &expert, &conflict), REGISTRY_TRANSITION_OK);
    assert_int_equal(s_review(p, "publish", "Рекомендована", &expert, &conflict), REGISTRY_TRANSITION_OK);
    assert_int_equal(p->status, METODNET__PRACTICE_STATUS__PRACTICE_STATUS_PUBLISHED);
    assert_string_equal(p->published_at, "2024-10-01T10:00:00Z");
    assert_int_equal(p->n_reviews, 5);
    assert_string_equal(p->reviews[1]->action, "reject");
    assert_string_equal(p->reviews[1]->comment, "Нет результатов");
    assert_string_equal(p->reviews[1]->reviewer_user_id, "u1");
    assert_int_equal(p->reviews[1]->status, METODNET__PRACTICE_STATUS__PRACTICE_STATUS_REJECTED);
    assert_int_equal(s_review(p, "reject", "поздно", &expert, &conflict), REGISTRY_TRANSITION_CONFLICT);

    /* published: the whole region reads it; before that only the author's chain */
    Metodnet__Principal elsewhere =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s77", "07-m2");
    assert_true(registry_allows(&registry_practice_kind, &elsewhere, &p->base, SCOPE_READ));
    assert_false(registry_allows(&registry_practice_kind, &elsewhere, &p->base, SCOPE_WRITE));
    p->status = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_SUBMITTED;
    assert_false(registry_allows(&registry_practice_kind, &elsewhere, &p->base, SCOPE_READ));
    assert_true(registry_allows(&registry_practice_kind, &author, &p->base, SCOPE_WRITE));
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* attachments: http(s) links only, at most ten */
    Metodnet__Practice bad = init;
    char *links[11];
    for (int i = 0; i < 11; i++)
        links[i] = "https://example.org/a.pdf";
    bad.attachments = links;
    bad.n_attachments = 11;
    validation v;
    validation_init(&v);
    registry_practice_kind.validate(&bad.base, true, &v);
    assert_true(s_has_violation(&v, "attachments"));
    validation_free(&v);
    links[3] = "javascript:alert(1)";
    bad.n_attachments = 4;
    validation_init(&v);
    registry_practice_kind.validate(&bad.base, true, &v);
    assert_true(s_has_violation(&v, "attachments[3]"));
    assert_false(s_has_violation(&v, "attachments[0]"));
    validation_free(&v);
}

/* ---------- programmes and search ---------- */

static void test_words_and_search(void **state)
{
    (void)state;
    char words[REGISTRY_MAX_WORDS][64];
    size_t n = registry_words("Формирующее оценивание: качество и «качественные» методики, ФГОС-2021", words,
                              REGISTRY_MAX_WORDS);
    /* folded index text, distinct, in byte order; quotes and dashes separate; one-letter words are dropped */
    assert_int_equal(n, 7);
    assert_string_equal(words[0], "2021");
    assert_string_equal(words[1], s_sorted("качественные", NULL));
    assert_string_equal(words[2], s_sorted("качество", NULL));
    assert_string_equal(words[5], s_sorted("фгос", NULL));
    assert_string_equal(words[6], s_sorted("формирующее", NULL));
    assert_true(registry_text_matches("Управление качеством образования", "КАЧЕСТВ управл"));
    assert_false(registry_text_matches("Управление качеством образования", "качеств школ"));
    assert_true(registry_text_matches("Ёлочка", "елоч"));

    char key[64];
    registry_query_key("в управление качеств", key, sizeof key);
    assert_string_equal(key, s_sorted("управление", NULL));

    /* a title with two words of the prefix appears at its first word only */
    const char *title = "Качество и качественные методики";
    const char *prefix = s_sorted("качеств", NULL);
    assert_true(registry_word_first_seen(title, "07-p2", prefix, NULL));
    assert_true(registry_word_first_seen(title, "07-p2", prefix, s_sorted("качественн", "07-p1")));
    assert_false(registry_word_first_seen(title, "07-p2", prefix, s_sorted("качественные", "07-p2")));
    assert_false(registry_word_first_seen(title, "07-p2", s_sorted("физик", NULL), NULL));

    Metodnet__Programme p = METODNET__PROGRAMME__INIT;
    char *competences[] = {"management.quality", "Bad Code"};
    char *tags[] = {"Управление качеством образования"};
    p.id = "07-p3";
    p.region_id = "07";
    p.title = "Управление качеством образования";
    p.provider = "ЦНППМ";
    p.hours = 8;
    p.competences = competences;
    p.n_competences = 2;
    p.tags = tags;
    p.n_tags = 1;
    p.url = "ftp://x";
    validation v;
    validation_init(&v);
    registry_programme_kind.validate(&p.base, true, &v);
    assert_true(s_has_violation(&v, "hours"));
    assert_true(s_has_violation(&v, "format"));
    assert_true(s_has_violation(&v, "competences[1]"));
    assert_false(s_has_violation(&v, "competences[0]"));
    assert_true(s_has_violation(&v, "url"));
    validation_free(&v);

    p.n_competences = 1;
    p.federal_registry = 1;
    static registry_layout l;
    registry_programme_kind.layout(&p.base, &l);
    assert_true(s_index_has(&l, "reg:{r:07}:ix:programme:word", s_sorted("качеством", "07-p3")));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:programme:word", s_sorted("образования", "07-p3")));
    assert_non_null(strstr(l.attributes, "|tag:управление качеством образования|"));
    assert_non_null(strstr(l.attributes, "|comp:management.quality|"));
    assert_non_null(strstr(l.attributes, "|fr:true|"));
    assert_string_equal(l.guards[0], "reg:{r:07}:ix:qual:prog:07-p3");
    entity_layout_clear(&l);

    /* the catalogue is read by every role of the region, written by the region */
    Metodnet__Principal teacher =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s9", "07-m1");
    Metodnet__Principal methodologist = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                                    METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    Metodnet__Principal other_region = methodologist;
    other_region.region_id = "24";
    assert_true(registry_allows(&registry_programme_kind, &teacher, &p.base, SCOPE_READ));
    assert_false(registry_allows(&registry_programme_kind, &methodologist, &p.base, SCOPE_WRITE));
    assert_false(registry_allows(&registry_programme_kind, &other_region, &p.base, SCOPE_READ));

    assert_true(registry_url_valid("https://example.org/x?y=1", 2000));
    assert_true(registry_url_valid("http://школа.рф/материалы", 2000));
    assert_false(registry_url_valid("https://", 2000));
    assert_false(registry_url_valid("https://a b", 2000));
    assert_false(registry_url_valid("mailto:a@b", 2000));
    assert_false(registry_url_valid("https://example.org/x", 10));
    assert_true(registry_code_valid("digital.tools-2"));
    assert_false(registry_code_valid("Digital"));
    assert_false(registry_code_valid(""));
}

/* ---------- qualification records ---------- */

static void test_qualification_record(void **state)
{
    (void)state;
    Metodnet__QualificationRecord q = METODNET__QUALIFICATION_RECORD__INIT;
    char *orgs[] = {"07-o3"};
    char *muns[] = {"07-m1"};
    q.id = "07-q9";
    q.region_id = "07";
    q.staff_id = "07-s9";
    q.programme_id = "07-p3";
    q.completed_on = "2024-04-20";
    q.source = "route";
    q.route_item_id = "07-ri12";
    q.organization_ids = orgs;
    q.n_organization_ids = 1;
    q.municipality_ids = muns;
    q.n_municipality_ids = 1;
    validation v;
    validation_init(&v);
    registry_qualification_kind.validate(&q.base, true, &v);
    assert_true(validation_ok(&v)); /* hours and title come from the programme */
    validation_free(&v);
    static registry_layout l;
    registry_qualification_kind.layout(&q.base, &l);
    assert_int_equal(l.n_claims, 1);
    assert_string_equal(l.claims[0].key, "reg:{r:07}:claim:qual:routeItemId");
    assert_string_equal(l.claims[0].value, "07-ri12");
    assert_true(s_index_has(&l, "reg:{r:07}:ix:qual:staff:07-s9",
                            "2024-04-20\x1f"
                            "07-q9"));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:qual:prog:07-p3", NULL));
    assert_non_null(strstr(l.attributes, "|org:07-o3|"));
    assert_string_equal(registry_qualification_kind.idempotent_claim, "routeItemId");
    entity_layout_clear(&l);

    Metodnet__Principal self =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s9", "07-m1");
    Metodnet__Principal school =
        s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o3", "07-m1");
    Metodnet__Principal other_school =
        s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o4", "07-m1");
    assert_true(registry_allows(&registry_qualification_kind, &self, &q.base, SCOPE_READ));
    assert_false(registry_allows(&registry_qualification_kind, &self, &q.base, SCOPE_WRITE));
    assert_true(registry_allows(&registry_qualification_kind, &school, &q.base, SCOPE_WRITE));
    assert_false(registry_allows(&registry_qualification_kind, &other_school, &q.base, SCOPE_READ));

    /* a route record needs its route item; a manual one has none; no programme needs title and hours */
    q.route_item_id = "";
    q.programme_id = "";
    q.completed_on = "2999-01-01";
    validation_init(&v);
    registry_qualification_kind.validate(&q.base, true, &v);
    assert_true(s_has_violation(&v, "routeItemId"));
    assert_true(s_has_violation(&v, "programmeTitle"));
    assert_true(s_has_violation(&v, "hours"));
    assert_true(s_has_violation(&v, "completedOn"));
    validation_free(&v);
    q.source = "manual";
    q.route_item_id = "07-ri1";
    validation_init(&v);
    registry_qualification_kind.validate(&q.base, true, &v);
    assert_true(s_has_violation(&v, "routeItemId"));
    validation_free(&v);
}

/* ---------- sites ---------- */

static void test_organization_sites(void **state)
{
    (void)state;
    Metodnet__SiteDesignation site = METODNET__SITE_DESIGNATION__INIT;
    site.kind = METODNET__SITE_KIND__SITE_KIND_INTERNSHIP;
    site.start_date = "2023-09-01";
    site.end_date = "2024-08-31";
    Metodnet__SiteDesignation *sites[] = {&site};
    Metodnet__Organization o = METODNET__ORGANIZATION__INIT;
    o.id = "07-o5";
    o.region_id = "07";
    o.municipality_id = "07-m1";
    o.name = "МКОУ СОШ № 5";
    o.kind = METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL;
    o.sites = sites;
    o.n_sites = 1;
    o.curator_organization_id = "07-o3";
    o.low_results_support = "План перехода в эффективный режим";
    validation v;
    validation_init(&v);
    registry_organization_kind.validate(&o.base, false, &v);
    assert_true(s_has_violation(&v, "curatorOrganizationId")); /* support only for a ШНОР school */
    validation_free(&v);
    o.low_results = 1;
    validation_init(&v);
    registry_organization_kind.validate(&o.base, false, &v);
    assert_true(validation_ok(&v));
    validation_free(&v);
    o.curator_organization_id = "07-o5";
    validation_init(&v);
    registry_organization_kind.validate(&o.base, false, &v);
    assert_true(s_has_violation(&v, "curatorOrganizationId")); /* not its own curator */
    validation_free(&v);
    o.curator_organization_id = "07-o3";

    static registry_layout l;
    registry_organization_kind.layout(&o.base, &l);
    assert_non_null(strstr(l.attributes, "|site:internship|"));
    assert_non_null(strstr(l.attributes, "|curator:07-o3|"));
    assert_true(s_index_has(&l, "reg:{r:07}:ix:org:curator:07-o3", NULL));
    assert_string_equal(l.references[1].key, "reg:{r:07}:org:07-o3");
    entity_layout_clear(&l);

    Metodnet__ListOrganizationsRequest r = METODNET__LIST_ORGANIZATIONS_REQUEST__INIT;
    r.site_kind = "internship";
    r.site_on = "2024-08-31"; /* the end date is the last day */
    assert_true(registry_organization_kind.list_match(&o.base, &r.base, NULL));
    r.site_on = "2024-09-01";
    assert_false(registry_organization_kind.list_match(&o.base, &r.base, NULL));
    r.site_on = "2023-08-31";
    assert_false(registry_organization_kind.list_match(&o.base, &r.base, NULL));
    r.site_kind = "base";
    r.site_on = "2024-01-10";
    assert_false(registry_organization_kind.list_match(&o.base, &r.base, NULL));
    r.site_kind = "";
    assert_true(registry_organization_kind.list_match(&o.base, &r.base, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_association_home_validation),
        cmocka_unit_test(test_association_layout),
        cmocka_unit_test(test_home_scope),
        cmocka_unit_test(test_membership_people_shown_by_scope),
        cmocka_unit_test(test_membership_layout_and_leave),
        cmocka_unit_test(test_practice_review_flow),
        cmocka_unit_test(test_words_and_search),
        cmocka_unit_test(test_qualification_record),
        cmocka_unit_test(test_organization_sites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
