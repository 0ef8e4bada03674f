/* test_diagnostics_model — the rules of diagnostics without I/O: scoring exactness and the threshold
 * edges, answer validation, default frameworks, route generation determinism, the mentoring item proposed
 * from a match, and item transitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diagnostics_model.h"
#include "pbfield.h"

static Metodnet__ItemOption *s_option(const char *id, int points)
{
    Metodnet__ItemOption *o = malloc(sizeof *o);
    metodnet__item_option__init(o);
    o->id = diag_strdup(id);
    o->text = diag_strdup("вариант");
    o->points = points;
    return o;
}

static Metodnet__InstrumentItem *s_item(const char *id, const char *competence, Metodnet__ItemKind kind)
{
    Metodnet__InstrumentItem *item = malloc(sizeof *item);
    metodnet__instrument_item__init(item);
    item->id = diag_strdup(id);
    item->competence = diag_strdup(competence);
    item->kind = kind;
    item->text = diag_strdup("Задание");
    return item;
}

static void s_add_option(Metodnet__InstrumentItem *item, const char *id, int points)
{
    item->options = realloc(item->options, (item->n_options + 1) * sizeof *item->options);
    item->options[item->n_options++] = s_option(id, points);
}

static void s_add_item(Metodnet__Instrument *in, Metodnet__InstrumentItem *item)
{
    in->items = realloc(in->items, (in->n_items + 1) * sizeof *in->items);
    in->items[in->n_items++] = item;
}

/* Four items on two competences: t.method.1 gets q1 (single, 0/2) + q2 (multiple, max 3: a+2 b+1 c−1)
 * = max 5; t.digital.1 gets q3 (scale 1..5 → max 4) + q4 (numeric 12.5 ± 0.1, 4 points) = max 8.
 * Thresholds: t.method.1 60 % / 100 %; t.digital.1 defaults 50 % / 85 %. */
static Metodnet__Instrument *s_instrument(void)
{
    Metodnet__Instrument *in = malloc(sizeof *in);
    metodnet__instrument__init(in);
    in->id = diag_strdup("07-i1");
    in->region_id = diag_strdup("07");
    in->title = diag_strdup("Диагностика");
    in->category = METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER;
    Metodnet__InstrumentItem *q1 = s_item("q1", "t.method.1", METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE);
    s_add_option(q1, "a", 0);
    s_add_option(q1, "b", 2);
    Metodnet__InstrumentItem *q2 = s_item("q2", "t.method.1", METODNET__ITEM_KIND__ITEM_KIND_MULTIPLE_CHOICE);
    s_add_option(q2, "a", 2);
    s_add_option(q2, "b", 1);
    s_add_option(q2, "c", -1);
    q2->max_points = 3;
    Metodnet__InstrumentItem *q3 = s_item("q3", "t.digital.1", METODNET__ITEM_KIND__ITEM_KIND_SCALE);
    q3->scale_min = 1;
    q3->scale_max = 5;
    Metodnet__InstrumentItem *q4 = s_item("q4", "t.digital.1", METODNET__ITEM_KIND__ITEM_KIND_NUMERIC);
    q4->correct_value = 12.5;
    q4->tolerance = 0.1;
    q4->max_points = 4;
    s_add_item(in, q1);
    s_add_item(in, q2);
    s_add_item(in, q3);
    s_add_item(in, q4);
    Metodnet__CompetenceThreshold *t = malloc(sizeof *t);
    metodnet__competence_threshold__init(t);
    t->competence = diag_strdup("t.method.1");
    t->threshold_percent = 60;
    t->mastery_percent = 100;
    in->thresholds = malloc(sizeof *in->thresholds);
    in->thresholds[0] = t;
    in->n_thresholds = 1;
    return in;
}

static Metodnet__Answer *s_answer(const char *item, const char *o1, const char *o2, double value)
{
    Metodnet__Answer *a = malloc(sizeof *a);
    metodnet__answer__init(a);
    a->item_id = diag_strdup(item);
    if (o1) {
        a->option_ids = calloc(2, sizeof *a->option_ids);
        a->option_ids[a->n_option_ids++] = diag_strdup(o1);
        if (o2)
            a->option_ids[a->n_option_ids++] = diag_strdup(o2);
    }
    a->value = value;
    return a;
}

static void s_free_answers(Metodnet__Answer **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&a[i]->base, NULL);
}

static const Metodnet__CompetenceScore *s_score_of(const Metodnet__Result *r, const char *c)
{
    for (size_t i = 0; i < r->n_scores; i++)
        if (strcmp(r->scores[i]->competence, c) == 0)
            return r->scores[i];
    return NULL;
}

static void test_instrument_valid_against_default_framework(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    Metodnet__CompetenceFramework *fw =
        diag_default_framework("07", METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER);
    assert_string_equal(fw->id, "07-teacher");
    assert_int_equal(fw->n_components, 6);
    validation v;
    validation_init(&v);
    diag_framework_validate(fw, &v);
    assert_int_equal(v.n, 0);
    diag_instrument_validate(in, fw, &v);
    assert_int_equal(v.n, 0);
    /* a competence outside the framework, and a multiple-choice max above what options can give */
    free(in->items[0]->competence);
    in->items[0]->competence = diag_strdup("t.unknown.9");
    in->items[1]->max_points = 4;
    diag_instrument_validate(in, fw, &v);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.items[0]->field, "instrument.items[0].competence");
    assert_string_equal(v.items[1]->field, "instrument.items[1].maxPoints");
    validation_free(&v);
    Metodnet__CompetenceFramework *managers =
        diag_default_framework("07", METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_MANAGER);
    assert_true(diag_framework_has(managers, "m.quality.1"));
    assert_false(diag_framework_has(managers, "t.method.1"));
    protobuf_c_message_free_unpacked(&managers->base, NULL);
    protobuf_c_message_free_unpacked(&fw->base, NULL);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void test_competence_codes(void **state)
{
    (void)state;
    assert_true(diag_competence_code_valid("t.subject.1"));
    assert_true(diag_competence_code_valid("m_quality-2"));
    assert_true(diag_competence_code_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    assert_false(diag_competence_code_valid("abcdefghijklmnopqrstuvwxyz0123456"));
    assert_false(diag_competence_code_valid(""));
    assert_false(diag_competence_code_valid("T.subject.1"));
    assert_false(diag_competence_code_valid("t subject"));
}

/* Exact points per item kind and both edges of both thresholds. */
static void test_scoring_exact_and_edges(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    /* q1 b (2) + q2 a,c (2−1=1) = 3/5 = 60 % → exactly at the 60 % threshold: not a deficit.
     * q3 = 4 → 3/4; q4 = 12.6 (within ±0.1) → 4 → 7/8 = 87.5 % ≥ 85 %: a strength. */
    Metodnet__Answer *a[4] = {s_answer("q1", "b", NULL, 0), s_answer("q2", "a", "c", 0), s_answer("q3", NULL, NULL, 4),
                              s_answer("q4", NULL, NULL, 12.6)};
    validation v;
    validation_init(&v);
    diag_answers_validate(in, a, 4, "answers", &v);
    assert_int_equal(v.n, 0);
    Metodnet__Result *r = diag_score(in, a, 4);
    assert_int_equal(r->n_scores, 2);
    assert_string_equal(r->scores[0]->competence, "t.digital.1"); /* ordered by code */
    const Metodnet__CompetenceScore *m = s_score_of(r, "t.method.1"), *d = s_score_of(r, "t.digital.1");
    assert_int_equal(m->points, 3);
    assert_int_equal(m->max_points, 5);
    assert_true(m->percent == 60.0);
    assert_false(m->deficit);
    assert_false(m->strength);
    assert_int_equal(d->points, 7);
    assert_int_equal(d->max_points, 8);
    assert_true(d->percent == 87.5);
    assert_true(d->strength);
    assert_int_equal(r->n_deficits, 0);
    assert_int_equal(r->n_strengths, 1);
    assert_string_equal(r->strengths[0], "t.digital.1");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    s_free_answers(a, 4);

    /* one point less on t.method.1 (q2: b,c = 0) → 2/5 = 40 % < 60 %: a deficit; q4 just outside
     * the tolerance (12.61) → 0; scale 1 → 0: t.digital.1 0/8 → deficit. Unanswered q1 scores 0. */
    Metodnet__Answer *b[3] = {s_answer("q2", "b", "c", 0), s_answer("q3", NULL, NULL, 1),
                              s_answer("q4", NULL, NULL, 12.61)};
    r = diag_score(in, b, 3);
    assert_int_equal(s_score_of(r, "t.method.1")->points, 0);
    assert_true(s_score_of(r, "t.method.1")->deficit);
    assert_int_equal(s_score_of(r, "t.digital.1")->points, 0);
    assert_int_equal(r->n_deficits, 2);
    assert_string_equal(r->deficits[0], "t.digital.1");
    assert_string_equal(r->deficits[1], "t.method.1");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    s_free_answers(b, 3);

    /* the mastery edge: 5/5 with mastery 100 % is a strength; multiple choice is capped at max */
    Metodnet__Answer *c[2] = {s_answer("q1", "b", NULL, 0), s_answer("q2", "a", "b", 0)};
    r = diag_score(in, c, 2);
    assert_int_equal(s_score_of(r, "t.method.1")->points, 5);
    assert_true(s_score_of(r, "t.method.1")->strength);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    s_free_answers(c, 2);

    /* classification alone: 1/3 at threshold 33 % (100 ≥ 99) is not a deficit; at 34 % it is */
    Metodnet__CompetenceScore s = METODNET__COMPETENCE_SCORE__INIT;
    s.points = 1;
    s.max_points = 3;
    s.threshold_percent = 33;
    s.mastery_percent = 34;
    diag_score_classify(&s);
    assert_false(s.deficit);
    assert_false(s.strength);
    s.threshold_percent = 34;
    s.mastery_percent = 33;
    diag_score_classify(&s);
    assert_true(s.deficit);
    assert_true(s.strength);
    assert_true(s.percent == 33.3);
    validation_free(&v);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void test_malformed_answers(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    struct {
        Metodnet__Answer *answer;
        const char *field;
    } cases[] = {
        {s_answer("q9", "a", NULL, 0), "answers[0].itemId"},         /* no such item */
        {s_answer("q1", "a", "b", 0), "answers[0].optionIds"},       /* two options in single choice */
        {s_answer("q1", "z", NULL, 0), "answers[0].optionIds[0]"},   /* no such option */
        {s_answer("q2", "a", "a", 0), "answers[0].optionIds[1]"},    /* the same option twice */
        {s_answer("q1", NULL, NULL, 1), "answers[0].value"},         /* a number for a choice */
        {s_answer("q3", NULL, NULL, 6), "answers[0].value"},         /* outside the scale */
        {s_answer("q3", NULL, NULL, 2.5), "answers[0].value"},       /* not an integer on the scale */
        {s_answer("q4", NULL, NULL, 1.0 / 0.0), "answers[0].value"}, /* infinity */
        {s_answer("q4", "a", NULL, 0), "answers[0].optionIds"},      /* options for a number */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        validation v;
        validation_init(&v);
        diag_answers_validate(in, &cases[i].answer, 1, "answers", &v);
        assert_int_equal(v.n, 1);
        assert_string_equal(v.items[0]->field, cases[i].field);
        validation_free(&v);
        s_free_answers(&cases[i].answer, 1);
    }
    /* the same item twice */
    Metodnet__Answer *twice[2] = {s_answer("q1", "a", NULL, 0), s_answer("q1", "b", NULL, 0)};
    validation v;
    validation_init(&v);
    diag_answers_validate(in, twice, 2, "answers", &v);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.items[0]->field, "answers[1].itemId");
    validation_free(&v);
    s_free_answers(twice, 2);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static Metodnet__Programme *s_programme(const char *id, bool federal, const char *competence)
{
    Metodnet__Programme *p = malloc(sizeof *p);
    metodnet__programme__init(p);
    p->id = diag_strdup(id);
    p->title = diag_strdup(id);
    p->provider = diag_strdup("ЦНППМ");
    p->hours = 36;
    p->federal_registry = federal;
    p->competences = malloc(sizeof *p->competences);
    p->competences[0] = diag_strdup(competence);
    p->n_competences = 1;
    return p;
}

static Metodnet__Organization *s_site(const char *id, const char *municipality)
{
    Metodnet__Organization *o = malloc(sizeof *o);
    metodnet__organization__init(o);
    o->id = diag_strdup(id);
    o->municipality_id = diag_strdup(municipality);
    o->name = diag_strdup(id);
    o->short_name = diag_strdup(id);
    return o;
}

static Metodnet__Route *s_generate(Metodnet__Programme **programmes, size_t n_programmes,
                                   Metodnet__Organization **sites, size_t n_sites, const Metodnet__Result *result)
{
    Metodnet__Route *route = malloc(sizeof *route);
    metodnet__route__init(route);
    route->id = diag_strdup("07-s1");
    diag_route_input in = {.result = result,
                           .programmes = programmes,
                           .n_programmes = n_programmes,
                           .sites = sites,
                           .n_sites = n_sites,
                           .home_municipality = "07-m2",
                           .starts_on = "2026-09-01"};
    diag_route_generate(route, &in);
    return route;
}

static void test_route_generation_deterministic(void **state)
{
    (void)state;
    Metodnet__Result result = METODNET__RESULT__INIT;
    char *deficits[] = {"t.method.2", "t.assess.1"};
    result.id = "07-c1-s1";
    result.deficits = deficits;
    result.n_deficits = 2;
    /* catalogue order scrambled; p10 is federal, p2 and p3 are not */
    Metodnet__Programme *progs[] = {
        s_programme("07-p3", false, "t.method.2"), s_programme("07-p10", true, "t.method.2"),
        s_programme("07-p2", false, "t.method.2"), s_programme("07-p7", false, "t.digital.1"),
        s_programme("07-p5", true, "t.assess.1")};
    Metodnet__Organization *sites[] = {s_site("07-o9", "07-m1"), s_site("07-o4", "07-m2"), s_site("07-o2", "07-m1")};
    Metodnet__Route *a = s_generate(progs, 5, sites, 3, &result);
    /* reversed input order gives the same route */
    Metodnet__Programme *progs_rev[] = {progs[4], progs[3], progs[2], progs[1], progs[0]};
    Metodnet__Organization *sites_rev[] = {sites[2], sites[1], sites[0]};
    Metodnet__Route *b = s_generate(progs_rev, 5, sites_rev, 3, &result);
    size_t la = protobuf_c_message_get_packed_size(&a->base), lb = protobuf_c_message_get_packed_size(&b->base);
    assert_int_equal(la, lb);
    uint8_t *pa = malloc(la), *pb = malloc(lb);
    protobuf_c_message_pack(&a->base, pa);
    protobuf_c_message_pack(&b->base, pb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
    /* deficits in code order: t.assess.1 first: its ФР ДПП programme, an internship at the home
     * municipality's site, self-education; then t.method.2: p10 (ФР ДПП) before p2 (2 < 3), … */
    assert_int_equal(a->n_deficits, 2);
    assert_string_equal(a->deficits[0]->competence, "t.assess.1");
    assert_int_equal(a->n_items, 3 + 4);
    assert_int_equal(a->items[0]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME);
    assert_string_equal(a->items[0]->programme_id, "07-p5");
    assert_string_equal(a->items[0]->id, "07-s1-i1");
    assert_string_equal(a->items[0]->due_on, "2026-11-30"); /* + 90 days */
    assert_int_equal(a->items[1]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_INTERNSHIP);
    assert_string_equal(a->items[1]->organization_id, "07-o4");
    assert_int_equal(a->items[2]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_SELF_EDUCATION);
    assert_string_equal(a->items[3]->programme_id, "07-p10");
    assert_true(a->items[3]->federal_registry);
    assert_string_equal(a->items[4]->programme_id, "07-p2");
    assert_string_equal(a->items[5]->organization_id, "07-o2"); /* the next site: others by id */
    assert_int_equal(a->status, METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT);
    /* regeneration continues item numbers: ids are never reused */
    diag_route_input again = {.result = &result, .programmes = progs, .n_programmes = 5, .starts_on = "2026-09-01"};
    diag_route_generate(a, &again);
    assert_string_equal(a->items[0]->id, "07-s1-i8");
    protobuf_c_message_free_unpacked(&a->base, NULL);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    for (size_t i = 0; i < 5; i++)
        protobuf_c_message_free_unpacked(&progs[i]->base, NULL);
    for (size_t i = 0; i < 3; i++)
        protobuf_c_message_free_unpacked(&sites[i]->base, NULL);
}

static Metodnet__MatchCandidate *s_candidate(const char *id, const char *name, const char *covered)
{
    Metodnet__MatchCandidate *c = malloc(sizeof *c);
    metodnet__match_candidate__init(c);
    c->staff_id = diag_strdup(id);
    c->full_name = diag_strdup(name);
    c->explanation = diag_strdup("сильная сторона в оценочной компетенции, где у наставляемого дефицит");
    if (covered) {
        c->covered_deficits = malloc(sizeof *c->covered_deficits);
        c->covered_deficits[0] = diag_strdup(covered);
        c->n_covered_deficits = 1;
    }
    return c;
}

/* The mentoring item: the best candidate strong in a deficit, for a deficit without a programme,
 * internship or event item first; none without such a candidate; one per route. */
static void test_route_mentor_proposal(void **state)
{
    (void)state;
    Metodnet__Result result = METODNET__RESULT__INIT;
    char *deficits[] = {"t.method.2", "t.assess.1"};
    result.id = "07-c1-s1";
    result.deficits = deficits;
    result.n_deficits = 2;
    Metodnet__Programme *progs[] = {s_programme("07-p5", true, "t.assess.1")};
    Metodnet__Route *route = s_generate(progs, 1, NULL, 0, &result);
    route->staff_id = diag_strdup("07-s1");
    size_t before = route->n_items;
    /* nobody covers a deficit (the first covers none, the second is the mentee, the third a bad id) */
    Metodnet__MatchCandidate *none[] = {s_candidate("07-s5", "Иванова Анна", NULL),
                                        s_candidate("07-s1", "Сам Себе", "t.assess.1"),
                                        s_candidate("07 s9", "Плохой Идентификатор", "t.assess.1")};
    assert_null(diag_route_propose_mentor(route, none, 3, "2026-09-01"));
    assert_int_equal(route->n_items, before);
    /* the best covering candidate; t.assess.1 has a programme, so t.method.2 (which the second covers)
     * would be preferred — but the first covering candidate wins, for its first open deficit */
    Metodnet__MatchCandidate *some[] = {s_candidate("07-s5", "Иванова Анна", NULL),
                                        s_candidate("07-s7", "Петрова Мария", "t.assess.1"),
                                        s_candidate("07-s8", "Сидорова Ольга", "t.method.2")};
    Metodnet__RouteItem *item = diag_route_propose_mentor(route, some, 3, "2026-09-01");
    assert_non_null(item);
    assert_int_equal(route->n_items, before + 1);
    assert_int_equal(item->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING);
    assert_string_equal(item->mentor_staff_id, "07-s7");
    assert_string_equal(item->mentor_name, "Петрова Мария");
    assert_string_equal(item->competence, "t.assess.1");
    assert_string_equal(item->title, "Наставничество: наставник Петрова Мария");
    assert_string_equal(item->due_on, "2027-02-28"); /* + 180 days */
    assert_int_equal(item->status, METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED);
    assert_non_null(strstr(item->explanation, "дефицит"));
    /* one mentoring item per route */
    assert_null(diag_route_propose_mentor(route, some + 2, 1, "2026-09-01"));
    protobuf_c_message_free_unpacked(&route->base, NULL);
    /* a deficit without a closer item comes first among those the mentor covers */
    route = s_generate(progs, 1, NULL, 0, &result);
    route->staff_id = diag_strdup("07-s1");
    Metodnet__MatchCandidate *both = s_candidate("07-s9", "Кузнецова Ирина", "t.assess.1");
    both->covered_deficits = realloc(both->covered_deficits, 2 * sizeof *both->covered_deficits);
    both->covered_deficits[1] = diag_strdup("t.method.2");
    both->n_covered_deficits = 2;
    item = diag_route_propose_mentor(route, &both, 1, "2026-09-01");
    assert_non_null(item);
    assert_string_equal(item->competence, "t.method.2");
    /* an unreadable name (control characters) is not copied: the id stands for it */
    protobuf_c_message_free_unpacked(&route->base, NULL);
    route = s_generate(progs, 1, NULL, 0, &result);
    route->staff_id = diag_strdup("07-s1");
    Metodnet__MatchCandidate *odd = s_candidate("07-s4", "Имя\x01", "t.assess.1");
    item = diag_route_propose_mentor(route, &odd, 1, "2026-09-01");
    assert_string_equal(item->mentor_name, "07-s4");
    protobuf_c_message_free_unpacked(&route->base, NULL);
    protobuf_c_message_free_unpacked(&odd->base, NULL);
    protobuf_c_message_free_unpacked(&both->base, NULL);
    for (size_t i = 0; i < 3; i++) {
        protobuf_c_message_free_unpacked(&none[i]->base, NULL);
        protobuf_c_message_free_unpacked(&some[i]->base, NULL);
    }
    protobuf_c_message_free_unpacked(&progs[0]->base, NULL);
}

static void test_route_transitions_overdue_closed(void **state)
{
    (void)state;
    const Metodnet__RouteItemStatus P = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED,
                                    I = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS,
                                    D = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE,
                                    C = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_CANCELLED;
    assert_true(diag_route_transition_allowed(P, I));
    assert_true(diag_route_transition_allowed(I, D));
    assert_true(diag_route_transition_allowed(I, C));
    assert_true(diag_route_transition_allowed(P, C));
    assert_false(diag_route_transition_allowed(D, I));
    assert_false(diag_route_transition_allowed(C, P));
    assert_false(diag_route_transition_allowed(D, C));
    assert_false(diag_route_transition_allowed(I, P));

    Metodnet__Result first = METODNET__RESULT__INIT;
    char *deficits[] = {"t.method.2", "t.assess.1"};
    first.id = "07-c1-s1";
    first.deficits = deficits;
    first.n_deficits = 2;
    Metodnet__Route *route = s_generate(NULL, 0, NULL, 0, &first);
    assert_int_equal(route->n_items, 2); /* self-education only */
    int due;
    assert_true(date_parse(route->items[0]->due_on, &due));
    diag_route_flag_overdue(route, due);
    assert_false(route->items[0]->overdue);
    diag_route_flag_overdue(route, due + 1);
    assert_true(route->items[0]->overdue);
    route->items[0]->status = D;
    diag_route_flag_overdue(route, due + 1);
    assert_false(route->items[0]->overdue);

    /* the route's own result changes nothing; a newer one closes t.assess.1, keeps t.method.2 */
    diag_route_check_deficits(route, &first);
    assert_false(route->deficits[0]->closed);
    Metodnet__CompetenceScore s1 = METODNET__COMPETENCE_SCORE__INIT, s2 = METODNET__COMPETENCE_SCORE__INIT;
    s1.competence = "t.assess.1";
    s1.deficit = false;
    s2.competence = "t.method.2";
    s2.deficit = true;
    Metodnet__CompetenceScore *scores[] = {&s1, &s2};
    Metodnet__Result later = METODNET__RESULT__INIT;
    later.id = "07-c2-s1";
    later.scores = scores;
    later.n_scores = 2;
    diag_route_check_deficits(route, &later);
    assert_string_equal(route->deficits[0]->competence, "t.assess.1");
    assert_true(route->deficits[0]->closed);
    assert_string_equal(route->deficits[0]->checked_result_id, "07-c2-s1");
    assert_false(route->deficits[1]->closed);
    protobuf_c_message_free_unpacked(&route->base, NULL);
}

static void test_attempt_ids(void **state)
{
    (void)state;
    char id[72], c[48], s[48];
    assert_true(diag_attempt_id("07-c3", "07-s12", id, sizeof id));
    assert_string_equal(id, "07-c3-s12");
    assert_true(diag_attempt_parse(id, c, sizeof c, s, sizeof s));
    assert_string_equal(c, "07-c3");
    assert_string_equal(s, "07-s12");
    assert_false(diag_attempt_id("07-c3", "08-s12", id, sizeof id)); /* another region */
    assert_false(diag_attempt_id("07-c3", "07-o12", id, sizeof id));
    assert_false(diag_attempt_parse("07-c3-x1", c, sizeof c, s, sizeof s));
}

/* issue 12: the period's default end, the steps of the agreement, which items wait for a confirmation */
static void test_route_period_and_lifecycle(void **state)
{
    (void)state;
    char end[16];
    assert_true(diag_route_period_end("2026-09-01", end, sizeof end));
    assert_string_equal(end, "2027-08-31");
    assert_true(diag_route_period_end("2028-02-29", end, sizeof end)); /* no 29 February a year later */
    assert_string_equal(end, "2029-02-28");
    assert_false(diag_route_period_end("2026-13-01", end, sizeof end));

    const Metodnet__RouteStatus draft = METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT,
                                proposed = METODNET__ROUTE_STATUS__ROUTE_STATUS_PROPOSED,
                                agreed = METODNET__ROUTE_STATUS__ROUTE_STATUS_AGREED,
                                approved = METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED;
    assert_null(diag_route_lifecycle_refusal(draft, DIAG_ROUTE_PROPOSE, false));
    assert_int_equal(diag_route_after_step(draft, DIAG_ROUTE_PROPOSE, false), proposed);
    assert_int_equal(diag_route_after_step(draft, DIAG_ROUTE_PROPOSE, true), agreed); /* the teacher's own */
    assert_non_null(diag_route_lifecycle_refusal(proposed, DIAG_ROUTE_PROPOSE, false));
    assert_non_null(diag_route_lifecycle_refusal(proposed, DIAG_ROUTE_AGREE, false)); /* only the person */
    assert_null(diag_route_lifecycle_refusal(proposed, DIAG_ROUTE_AGREE, true));
    assert_non_null(diag_route_lifecycle_refusal(draft, DIAG_ROUTE_AGREE, true));
    assert_non_null(diag_route_lifecycle_refusal(proposed, DIAG_ROUTE_APPROVE, false));
    assert_null(diag_route_lifecycle_refusal(agreed, DIAG_ROUTE_APPROVE, false));
    assert_null(diag_route_lifecycle_refusal(draft, DIAG_ROUTE_APPROVE, false)); /* as before proposals */
    assert_non_null(diag_route_lifecycle_refusal(approved, DIAG_ROUTE_APPROVE, false));
    assert_non_null(diag_route_lifecycle_refusal(approved, DIAG_ROUTE_EDIT, false));
    assert_null(diag_route_lifecycle_refusal(agreed, DIAG_ROUTE_EDIT, false));
    assert_int_equal(diag_route_after_step(agreed, DIAG_ROUTE_EDIT, false), draft); /* agreed again after */

    Metodnet__RouteItem item = METODNET__ROUTE_ITEM__INIT;
    item.kind = METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME;
    assert_true(diag_route_item_needs_confirmation(&item));
    item.kind = METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MASTER_CLASS;
    assert_false(diag_route_item_needs_confirmation(&item));
}

/* a regeneration keeps the route as it was, newest first, at most DIAG_ROUTE_VERSIONS_MAX */
static void test_route_versions_kept_newest_first(void **state)
{
    (void)state;
    Metodnet__Route *route = calloc(1, sizeof *route);
    metodnet__route__init(route);
    route->id = diag_strdup("07-s1");
    for (int v = 1; v <= DIAG_ROUTE_VERSIONS_MAX + 3; v++) {
        route->version = v;
        char day[16];
        snprintf(day, sizeof day, "2026-01-%02d", v);
        diag_set_string(&route->starts_on, day);
        diag_route_push_version(route, route, "2026-02-01T00:00:00Z", "u1");
    }
    assert_int_equal(route->n_versions, DIAG_ROUTE_VERSIONS_MAX);
    assert_int_equal(route->versions[0]->version, DIAG_ROUTE_VERSIONS_MAX + 3);
    assert_int_equal(route->versions[DIAG_ROUTE_VERSIONS_MAX - 1]->version, 4); /* 1..3 dropped */
    assert_string_equal(route->versions[0]->route->starts_on, "2026-01-23");
    assert_int_equal(route->versions[0]->route->n_versions, 0); /* a version holds no history of its own */
    assert_string_equal(route->versions[0]->replaced_by, "u1");
    diag_route_strip_versions(route);
    assert_int_equal(route->n_versions, 0);
    protobuf_c_message_free_unpacked(&route->base, NULL);
}

static Metodnet__Result *s_result(const char *org, const char *const *deficits, size_t n)
{
    Metodnet__Result *r = calloc(1, sizeof *r);
    metodnet__result__init(r);
    r->organization_ids = calloc(2, sizeof *r->organization_ids);
    r->organization_ids[0] = diag_strdup(org);
    r->organization_ids[1] = diag_strdup(org); /* a repeated organization counts once */
    r->n_organization_ids = 2;
    r->deficits = calloc(n + 1, sizeof *r->deficits);
    for (size_t i = 0; i < n; i++)
        r->deficits[i] = diag_strdup(deficits[i]);
    r->n_deficits = n;
    return r;
}

/* people per deficit, ranked most first then by code; percents of the group; groups in order */
static void test_deficit_summary_ranked(void **state)
{
    (void)state;
    Metodnet__DeficitSummary s = METODNET__DEFICIT_SUMMARY__INIT;
    const char *ab[] = {"t.b", "t.a"}, *b[] = {"t.b"}, *none[] = {NULL}, *c[] = {"t.c"};
    char *maths[] = {"mathematics"}, *two[] = {"mathematics", "physics"};
    Metodnet__Result *r1 = s_result("07-o2", ab, 2), *r2 = s_result("07-o1", b, 1), *r3 = s_result("07-o1", none, 0),
                     *r4 = s_result("07-o2", c, 1);
    diag_deficit_summary_add(&s, r1, maths, 1);
    diag_deficit_summary_add(&s, r2, two, 2);
    diag_deficit_summary_add(&s, r3, NULL, 0);
    diag_deficit_summary_add(&s, r4, maths, 1);
    diag_deficit_summary_finish(&s);
    assert_int_equal(s.people, 4);
    assert_int_equal(s.n_deficits, 3);
    assert_string_equal(s.deficits[0]->competence, "t.b");
    assert_int_equal(s.deficits[0]->people, 2);
    assert_true(s.deficits[0]->percent == 50.0);
    assert_string_equal(s.deficits[1]->competence, "t.a"); /* a tie: by code */
    assert_string_equal(s.deficits[2]->competence, "t.c");
    assert_int_equal(s.n_organizations, 2);
    assert_string_equal(s.organizations[0]->organization_id, "07-o1");
    assert_int_equal(s.organizations[0]->people, 2);
    assert_int_equal(s.organizations[0]->n_deficits, 1);
    assert_true(s.organizations[0]->deficits[0]->percent == 50.0);
    assert_int_equal(s.n_subjects, 3); /* "" (not recorded), mathematics, physics */
    assert_string_equal(s.subjects[0]->subject, "");
    assert_string_equal(s.subjects[1]->subject, "mathematics");
    assert_int_equal(s.subjects[1]->people, 3);
    assert_string_equal(s.subjects[1]->deficits[0]->competence, "t.b");
    assert_true(s.subjects[1]->deficits[2]->percent == 33.3);
    Metodnet__Result *all[] = {r1, r2, r3, r4};
    for (size_t i = 0; i < 4; i++)
        protobuf_c_message_free_unpacked(&all[i]->base, NULL);
    for (size_t i = 0; i < s.n_deficits; i++)
        protobuf_c_message_free_unpacked(&s.deficits[i]->base, NULL);
    for (size_t i = 0; i < s.n_organizations; i++)
        protobuf_c_message_free_unpacked(&s.organizations[i]->base, NULL);
    for (size_t i = 0; i < s.n_subjects; i++)
        protobuf_c_message_free_unpacked(&s.subjects[i]->base, NULL);
    free(s.deficits);
    free(s.organizations);
    free(s.subjects);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_competence_codes),
        cmocka_unit_test(test_instrument_valid_against_default_framework),
        cmocka_unit_test(test_scoring_exact_and_edges),
        cmocka_unit_test(test_malformed_answers),
        cmocka_unit_test(test_route_generation_deterministic),
        cmocka_unit_test(test_route_mentor_proposal),
        cmocka_unit_test(test_route_transitions_overdue_closed),
        cmocka_unit_test(test_attempt_ids),
        cmocka_unit_test(test_route_period_and_lifecycle),
        cmocka_unit_test(test_route_versions_kept_newest_first),
        cmocka_unit_test(test_deficit_summary_ranked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
