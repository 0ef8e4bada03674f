/* test_events_kinds — the events service's kinds without a stack: ids and keys of plans, events and
 * registrations (no clash of the id letters within "ev"), the DomainEvent type of each write (what the
 * notifications service reacts to), the audience rule, who reads a draft and who a published event, and
 * the revision an approved plan's change appends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "entity_kind.h"
#include "events_internal.h"
#include "pbfield.h"

static void test_ids_and_keys(void **state)
{
    (void)state;
    char out[ENTITY_KEY_MAX];
    assert_true(entity_kind_key(&events_plan_kind, "07-y3", out, sizeof out));
    assert_string_equal(out, "ev:{r:07}:plan:07-y3");
    assert_true(entity_kind_key(&events_event_kind, "07-e12", out, sizeof out));
    assert_string_equal(out, "ev:{r:07}:event:07-e12");
    assert_true(entity_kind_key(&events_registration_kind, "07-g40", out, sizeof out));
    assert_string_equal(out, "ev:{r:07}:registration:07-g40");
    /* one kind's id is never another's */
    assert_false(entity_kind_key(&events_event_kind, "07-y3", out, sizeof out));
    assert_false(entity_kind_key(&events_registration_kind, "07-e12", out, sizeof out));
    assert_false(entity_kind_key(&events_plan_kind, "07-g40", out, sizeof out));
    entity_kind_stream_key(&events_event_kind, "07", out, sizeof out);
    assert_string_equal(out, "ev:{r:07}:events");
}

static Metodnet__Event s_event(Metodnet__EventStatus status)
{
    Metodnet__Event e = METODNET__EVENT__INIT;
    e.id = "07-e1";
    e.region_id = "07";
    e.level = METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    e.municipality_id = "07-m1";
    e.status = status;
    e.starts_at = "2026-10-15T10:00:00+03:00";
    return e;
}

static void test_domain_event_types(void **state)
{
    (void)state;
    Metodnet__Event draft = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT),
                    published = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED),
                    cancelled = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED),
                    finished = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED);
    const entity_kind *k = &events_event_kind;
    assert_null(k->event_type(NULL, &draft.base));        /* event.created */
    assert_null(k->event_type(&draft.base, &draft.base)); /* event.updated: a draft */
    assert_string_equal(k->event_type(&draft.base, &published.base), "event.published");
    assert_string_equal(k->event_type(&published.base, &published.base), "event.changed");
    assert_string_equal(k->event_type(&published.base, &cancelled.base), "event.cancelled");
    assert_string_equal(k->event_type(&published.base, &finished.base), "event.finished");

    Metodnet__EventPlan plan = METODNET__EVENT_PLAN__INIT, approved = METODNET__EVENT_PLAN__INIT;
    plan.status = METODNET__PLAN_STATUS__PLAN_STATUS_DRAFT;
    approved.status = METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED;
    const entity_kind *p = &events_plan_kind;
    assert_string_equal(p->event_type(NULL, &plan.base), "eventPlan.created");
    assert_string_equal(p->event_type(&plan.base, &plan.base), "eventPlan.updated");
    assert_string_equal(p->event_type(&plan.base, &approved.base), "eventPlan.approved");
    assert_string_equal(p->event_type(&approved.base, &approved.base), "eventPlan.changed");
    assert_string_equal(p->event_type(&approved.base, NULL), "eventPlan.deleted");
}

static void test_audience(void **state)
{
    (void)state;
    Metodnet__Event e = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED);
    Metodnet__EventAudience a = METODNET__EVENT_AUDIENCE__INIT;
    char *subjects[] = {"russian_language"};
    a.subjects = subjects;
    a.n_subjects = 1;
    e.audience = &a;
    Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
    char *math[] = {"mathematics"}, *muns[] = {"07-m1"}, *other_mun[] = {"07-m2"};
    s.subjects = math;
    s.n_subjects = 1;
    s.municipality_ids = muns;
    s.n_municipality_ids = 1;
    s.birth_date = "1995-10-16";
    char why[200];
    assert_false(events_audience_admits(&e, &s, why, sizeof why));
    assert_non_null(strstr(why, "предмет"));
    a.n_subjects = 0;
    assert_true(events_audience_admits(&e, &s, why, sizeof why));
    /* young: under 35 on the start date (2026-10-15): 34 the day before the birthday, 35 on it */
    a.young_teachers_only = true;
    assert_true(events_audience_admits(&e, &s, why, sizeof why));
    s.birth_date = "1991-10-16";
    assert_true(events_audience_admits(&e, &s, why, sizeof why));
    s.birth_date = "1991-10-15";
    assert_false(events_audience_admits(&e, &s, why, sizeof why));
    a.young_teachers_only = false;
    /* a municipal event is for its municipality; a regional one for the region */
    s.municipality_ids = other_mun;
    assert_false(events_audience_admits(&e, &s, why, sizeof why));
    e.level = METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL;
    assert_true(events_audience_admits(&e, &s, why, sizeof why));
}

static void test_scope(void **state)
{
    (void)state;
    Metodnet__Principal methodologist = METODNET__PRINCIPAL__INIT, teacher = METODNET__PRINCIPAL__INIT,
                        stranger = METODNET__PRINCIPAL__INIT;
    methodologist.role = METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
    methodologist.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY;
    methodologist.scope_id = "07-m1";
    methodologist.region_id = "07";
    teacher.role = METODNET__ROLE__ROLE_TEACHER;
    teacher.scope_kind = METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    teacher.scope_id = "07-s5";
    teacher.region_id = "07";
    teacher.municipality_id = "07-m1";
    stranger = teacher;
    stranger.municipality_id = "07-m2";
    Metodnet__Event draft = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_DRAFT),
                    published = s_event(METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED);
    const entity_kind *k = &events_event_kind;
    assert_true(entity_kind_allows(k, &methodologist, &draft.base, SCOPE_WRITE));
    assert_false(entity_kind_allows(k, &teacher, &draft.base, SCOPE_READ));
    assert_true(entity_kind_allows(k, &teacher, &published.base, SCOPE_READ));
    assert_false(entity_kind_allows(k, &teacher, &published.base, SCOPE_WRITE));
    assert_false(entity_kind_allows(k, &stranger, &published.base, SCOPE_READ));
}

static void test_approved_plan_change_is_a_revision(void **state)
{
    (void)state;
    Metodnet__EventPlan *cur = (Metodnet__EventPlan *)calloc(1, sizeof *cur);
    metodnet__event_plan__init(cur);
    cur->status = METODNET__PLAN_STATUS__PLAN_STATUS_APPROVED;
    cur->version = 4;
    Metodnet__EventPlan *next = (Metodnet__EventPlan *)pbfield_clone(&cur->base);
    Metodnet__Principal caller = METODNET__PRINCIPAL__INIT;
    caller.user_id = "u7";
    validation v;
    validation_init(&v);
    events_plan_kind.on_update(&cur->base, &next->base, &caller, "2026-11-02T08:00:00Z", &v);
    assert_false(validation_ok(&v)); /* no reason */
    validation_free(&v);
    validation_init(&v);
    events_replace(&next->change_reason, "Перенос семинара");
    events_plan_kind.on_update(&cur->base, &next->base, &caller, "2026-11-02T08:00:00Z", &v);
    assert_true(validation_ok(&v));
    assert_int_equal(next->n_revisions, 1);
    assert_int_equal(next->revisions[0]->plan_version, 5);
    assert_string_equal(next->revisions[0]->reason, "Перенос семинара");
    assert_string_equal(next->revisions[0]->changed_by, "u7");
    assert_string_equal(next->change_reason, "");
    validation_free(&v);
    protobuf_c_message_free_unpacked(&next->base, NULL);
    free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_keys),
        cmocka_unit_test(test_domain_event_types),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_approved_plan_change_is_a_revision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
