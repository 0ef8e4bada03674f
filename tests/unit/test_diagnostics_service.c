/* test_diagnostics_service — the diagnostics service in-process against a private redis-server, an
 * in-process MDP broker and the real registry (the shared stack, stack_fixture.h): a campaign opened for the registry's teachers,
 * attempts refused when malformed (nothing stored), scored on submit, a second submit changing
 * nothing, late submits refused, items locked while the campaign is open, and scope rules (a teacher
 * sees only their own results, a methodologist only their municipality's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diagnostics.pb-c.h"
#include "diagnostics_model.h"
#include "pbfield.h"
#include "registry.pb-c.h"
#include "stack_fixture.h"
#include "validate.h"

/* The registry and diagnostics services on the shared stack, eight requests at a time each. */
static stack_fixture *s_fixture_new(void)
{
    stack_fixture_options options;
    stack_fixture_options_default(&options, STACK_REGISTRY | STACK_DIAGNOSTICS);
    options.concurrency = 8;
    return stack_fixture_new_with(&options);
}

static stack_call_result s_call(stack_fixture *f, const char *service, const char *method,
                                const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response,
                                const Metodnet__Principal *caller)
{
    return stack_fixture_call(f, service, method, request, response, caller, NULL);
}

static Metodnet__Principal s_admin = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                      "u-admin",
                                      METODNET__ROLE__ROLE_REGION_ADMIN,
                                      METODNET__SCOPE_KIND__SCOPE_KIND_REGION,
                                      "07",
                                      "07",
                                      ""};
static Metodnet__Principal s_teacher1 = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                         "u-t1",
                                         METODNET__ROLE__ROLE_TEACHER,
                                         METODNET__SCOPE_KIND__SCOPE_KIND_SELF,
                                         "07-s1",
                                         "07",
                                         "07-m1"};
static Metodnet__Principal s_teacher2 = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                         "u-t2",
                                         METODNET__ROLE__ROLE_TEACHER,
                                         METODNET__SCOPE_KIND__SCOPE_KIND_SELF,
                                         "07-s2",
                                         "07",
                                         "07-m2"};
static Metodnet__Principal s_methodologist1 = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                               "u-m1",
                                               METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                               METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY,
                                               "07-m1",
                                               "07",
                                               "07-m1"};
static Metodnet__Principal s_other_region = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                             "u-x",
                                             METODNET__ROLE__ROLE_REGION_ADMIN,
                                             METODNET__SCOPE_KIND__SCOPE_KIND_REGION,
                                             "08",
                                             "08",
                                             ""};

/* Instrument: q1 single choice (t.method.1: a 0, b 2), q2 scale 0..4 (t.digital.1). Thresholds 50 %. */
static void s_create_instrument(stack_fixture *f)
{
    Metodnet__ItemOption a = METODNET__ITEM_OPTION__INIT, b = METODNET__ITEM_OPTION__INIT;
    a.id = "a";
    a.text = "Неверно";
    b.id = "b";
    b.text = "Верно";
    b.points = 2;
    Metodnet__ItemOption *options[] = {&a, &b};
    Metodnet__InstrumentItem q1 = METODNET__INSTRUMENT_ITEM__INIT, q2 = METODNET__INSTRUMENT_ITEM__INIT;
    q1.id = "q1";
    q1.competence = "t.method.1";
    q1.kind = METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE;
    q1.text = "Какой этап урока первый?";
    q1.options = options;
    q1.n_options = 2;
    q2.id = "q2";
    q2.competence = "t.digital.1";
    q2.kind = METODNET__ITEM_KIND__ITEM_KIND_SCALE;
    q2.text = "Оцените владение цифровыми ресурсами";
    q2.scale_min = 0;
    q2.scale_max = 4;
    Metodnet__InstrumentItem *items[] = {&q1, &q2};
    Metodnet__Instrument in = METODNET__INSTRUMENT__INIT;
    in.title = "Единая диагностика учителей математики";
    in.category = METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER;
    in.items = items;
    in.n_items = 2;
    Metodnet__CreateInstrumentRequest req = METODNET__CREATE_INSTRUMENT_REQUEST__INIT;
    req.instrument = &in;
    /* a teacher cannot publish instruments */
    stack_call_result r =
        s_call(f, "diagnostics", "CreateInstrument", &req.base, &metodnet__instrument__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_call(f, "diagnostics", "CreateInstrument", &req.base, &metodnet__instrument__descriptor, &s_admin);
    stack_call_ok(&r, "CreateInstrument");
    assert_string_equal(pbfield_string(r.response, "id"), "07-i1");
    stack_call_result_free(&r);
}

static stack_call_result s_submit(stack_fixture *f, const Metodnet__Principal *who, const char *id, const char *option,
                                  double scale)
{
    char *opts[] = {(char *)option};
    Metodnet__Answer a1 = METODNET__ANSWER__INIT, a2 = METODNET__ANSWER__INIT;
    a1.item_id = "q1";
    a1.option_ids = opts;
    a1.n_option_ids = 1;
    a2.item_id = "q2";
    a2.value = scale;
    Metodnet__Answer *answers[] = {&a1, &a2};
    Metodnet__SubmitAttemptRequest req = METODNET__SUBMIT_ATTEMPT_REQUEST__INIT;
    req.id = (char *)id;
    req.answers = answers;
    req.n_answers = 2;
    return s_call(f, "diagnostics", "SubmitAttempt", &req.base, &metodnet__attempt__descriptor, who);
}

static void test_campaign_attempts_results_scope(void **state)
{
    (void)state;
    stack_fixture *f = s_fixture_new();
    stack_fixture_seed_registry(f);
    s_create_instrument(f);

    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    char *categories[] = {"teacher"};
    char *subjects[] = {"mathematics"};
    Metodnet__CampaignTarget target = METODNET__CAMPAIGN_TARGET__INIT;
    target.categories = categories;
    target.n_categories = 1;
    target.subjects = subjects;
    target.n_subjects = 1;
    Metodnet__Campaign c = METODNET__CAMPAIGN__INIT;
    c.title = "Диагностика учителей математики 2026";
    c.instrument_id = "07-i1";
    c.kind = METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_SELF;
    c.target = &target;
    c.starts_on = today;
    c.ends_on = "2099-12-31";
    Metodnet__CreateCampaignRequest cc = METODNET__CREATE_CAMPAIGN_REQUEST__INIT;
    cc.campaign = &c;
    stack_call_result r =
        s_call(f, "diagnostics", "CreateCampaign", &cc.base, &metodnet__campaign__descriptor, &s_admin);
    stack_call_ok(&r, "CreateCampaign");
    assert_string_equal(pbfield_string(r.response, "id"), "07-c1");
    stack_call_result_free(&r);

    Metodnet__CampaignActionRequest open = METODNET__CAMPAIGN_ACTION_REQUEST__INIT;
    open.id = "07-c1";
    r = s_call(f, "diagnostics", "OpenCampaign", &open.base, &metodnet__campaign__descriptor, &s_admin);
    stack_call_ok(&r, "OpenCampaign");
    assert_int_equal(((Metodnet__Campaign *)r.response)->assigned, 2);
    assert_int_equal(((Metodnet__Campaign *)r.response)->instrument_version, 1);
    stack_call_result_free(&r);

    /* items of an instrument used by an open campaign cannot change */
    Metodnet__Instrument patch = METODNET__INSTRUMENT__INIT;
    Metodnet__UpdateInstrumentRequest ui = METODNET__UPDATE_INSTRUMENT_REQUEST__INIT;
    char *mask[] = {"items"};
    ui.id = "07-i1";
    ui.instrument = &patch;
    ui.update_mask = mask;
    ui.n_update_mask = 1;
    r = s_call(f, "diagnostics", "UpdateInstrument", &ui.base, &metodnet__instrument__descriptor, &s_admin);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    stack_call_result_free(&r);

    /* a teacher starts their own attempt, not someone else's */
    Metodnet__StartAttemptRequest start = METODNET__START_ATTEMPT_REQUEST__INIT;
    start.campaign_id = "07-c1";
    start.staff_id = "07-s2";
    r = s_call(f, "diagnostics", "StartAttempt", &start.base, &metodnet__attempt__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    start.staff_id = "";
    r = s_call(f, "diagnostics", "StartAttempt", &start.base, &metodnet__attempt__descriptor, &s_teacher1);
    stack_call_ok(&r, "StartAttempt");
    assert_string_equal(pbfield_string(r.response, "id"), "07-c1-s1");
    assert_int_equal(((Metodnet__Attempt *)r.response)->status, METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_STARTED);
    stack_call_result_free(&r);
    long long version_before = stack_fixture_redis_integer(f, "HGET %s v", "diag:{r:07}:attempt:07-c1-s1");

    /* malformed answers: refused, nothing stored */
    r = s_submit(f, &s_teacher1, "07-c1-s1", "z", 2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "answers[0].optionIds[0]");
    r = s_submit(f, &s_teacher1, "07-c1-s1", "b", 5);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    assert_string_equal(r.field, "answers[1].value");
    assert_int_equal(stack_fixture_redis_integer(f, "HGET %s v", "diag:{r:07}:attempt:07-c1-s1"), version_before);
    assert_int_equal(stack_fixture_redis_integer(f, "ZCARD %s", "diag:{r:07}:ix:result"), 0);

    /* a valid submit is scored on the server: q1 a → 0/2 (deficit), scale 4 → 4/4 (strength) */
    r = s_submit(f, &s_teacher1, "07-c1-s1", "a", 4);
    stack_call_ok(&r, "SubmitAttempt");
    Metodnet__Attempt *done = (Metodnet__Attempt *)r.response;
    assert_int_equal(done->status, METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED);
    assert_int_equal(done->result->n_deficits, 1);
    assert_string_equal(done->result->deficits[0], "t.method.1");
    assert_string_equal(done->result->strengths[0], "t.digital.1");
    assert_int_equal(done->result->instrument_version, 1);
    assert_int_equal(done->n_answers, 0); /* the reply leaves the answers out; the stored attempt keeps them */
    assert_true(stack_fixture_redis_integer(f, "HSTRLEN %s d", "diag:{r:07}:attempt:07-c1-s1") >
                (long long)metodnet__attempt__get_packed_size(done));
    int64_t version_done = done->version;
    stack_call_result_free(&r);
    /* the event went to the stream in the same write */
    redisReply *events = stack_fixture_redis(f, "XLEN %s", "diag:{r:07}:events");
    assert_true(events->integer >= 1);
    freeReplyObject(events);

    /* a second submit (with other answers) changes nothing */
    r = s_submit(f, &s_teacher1, "07-c1-s1", "b", 0);
    stack_call_ok(&r, "second SubmitAttempt");
    assert_int_equal(((Metodnet__Attempt *)r.response)->version, version_done);
    assert_string_equal(((Metodnet__Attempt *)r.response)->result->deficits[0], "t.method.1");
    stack_call_result_free(&r);

    /* teacher 2 submits too: q1 b (strength), scale 1 → 25 % (deficit) */
    r = s_submit(f, &s_teacher2, "07-c1-s2", "b", 1);
    stack_call_ok(&r, "SubmitAttempt 2");
    stack_call_result_free(&r);

    /* scope: teacher 1 reads own result, not teacher 2's; the methodologist of m1 likewise;
     * the region administrator both; another region nothing */
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = "07-c1-s1";
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_teacher1);
    stack_call_ok(&r, "own result");
    stack_call_result_free(&r);
    get.id = "07-c1-s2";
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_admin);
    stack_call_ok(&r, "admin result");
    stack_call_result_free(&r);
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_other_region);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);

    Metodnet__ListResultsRequest list = METODNET__LIST_RESULTS_REQUEST__INIT;
    list.campaign_id = "07-c1";
    const Metodnet__Principal *who[] = {&s_teacher1, &s_methodologist1, &s_admin};
    const size_t expect[] = {1, 1, 2};
    for (int i = 0; i < 3; i++) {
        r = s_call(f, "diagnostics", "ListResults", &list.base, &metodnet__list_results_response__descriptor, who[i]);
        stack_call_ok(&r, "ListResults");
        Metodnet__ListResultsResponse *lr = (Metodnet__ListResultsResponse *)r.response;
        assert_int_equal(lr->n_items, expect[i]);
        if (i < 2)
            assert_string_equal(lr->items[0]->staff_id, "07-s1");
        stack_call_result_free(&r);
    }
    /* a person's results in one campaign: both filters hold */
    list.staff_id = "07-s1";
    r = s_call(f, "diagnostics", "ListResults", &list.base, &metodnet__list_results_response__descriptor, &s_admin);
    stack_call_ok(&r, "ListResults by staff and campaign");
    assert_int_equal(((Metodnet__ListResultsResponse *)r.response)->n_items, 1);
    assert_string_equal(((Metodnet__ListResultsResponse *)r.response)->items[0]->id, "07-c1-s1");
    stack_call_result_free(&r);
    list.campaign_id = "07-c9";
    r = s_call(f, "diagnostics", "ListResults", &list.base, &metodnet__list_results_response__descriptor, &s_admin);
    stack_call_ok(&r, "ListResults by staff and another campaign");
    assert_int_equal(((Metodnet__ListResultsResponse *)r.response)->n_items, 0);
    stack_call_result_free(&r);
    list.staff_id = "";
    list.campaign_id = "07-c1";
    /* filter by deficit */
    list.deficit = "t.digital.1";
    r = s_call(f, "diagnostics", "ListResults", &list.base, &metodnet__list_results_response__descriptor, &s_admin);
    stack_call_ok(&r, "ListResults by deficit");
    assert_int_equal(((Metodnet__ListResultsResponse *)r.response)->n_items, 1);
    assert_string_equal(((Metodnet__ListResultsResponse *)r.response)->items[0]->staff_id, "07-s2");
    stack_call_result_free(&r);

    /* competence profile: own yes, someone else's no */
    Metodnet__GetProfileRequest profile = METODNET__GET_PROFILE_REQUEST__INIT;
    profile.id = "07-s1";
    r = s_call(f, "diagnostics", "GetCompetenceProfile", &profile.base, &metodnet__competence_profile__descriptor,
               &s_teacher1);
    stack_call_ok(&r, "profile");
    assert_int_equal(((Metodnet__CompetenceProfile *)r.response)->n_history, 1);
    assert_string_equal(((Metodnet__CompetenceProfile *)r.response)->deficits[0], "t.method.1");
    stack_call_result_free(&r);
    profile.id = "07-s1";
    r = s_call(f, "diagnostics", "GetCompetenceProfile", &profile.base, &metodnet__competence_profile__descriptor,
               &s_teacher2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);

    /* progress by organization */
    get.id = "07-c1";
    r = s_call(f, "diagnostics", "GetCampaignProgress", &get.base, &metodnet__campaign_progress__descriptor, &s_admin);
    stack_call_ok(&r, "progress");
    Metodnet__CampaignProgress *p = (Metodnet__CampaignProgress *)r.response;
    assert_int_equal(p->assigned, 2);
    assert_int_equal(p->completed, 2);
    assert_int_equal(p->n_organizations, 2);
    assert_string_equal(p->organizations[0]->organization_id, "07-o1");
    stack_call_result_free(&r);

    /* a teacher cannot generate a route; closing refuses late work */
    Metodnet__GenerateRouteRequest gen = METODNET__GENERATE_ROUTE_REQUEST__INIT;
    gen.id = "07-s1";
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_call(f, "diagnostics", "CloseCampaign", &open.base, &metodnet__campaign__descriptor, &s_admin);
    stack_call_ok(&r, "CloseCampaign");
    stack_call_result_free(&r);
    start.campaign_id = "07-c1";
    start.staff_id = "07-s2";
    Metodnet__SaveAnswersRequest save = METODNET__SAVE_ANSWERS_REQUEST__INIT;
    save.id = "07-c1-s2";
    r = s_call(f, "diagnostics", "SaveAnswers", &save.base, &metodnet__attempt__descriptor, &s_teacher2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    /* after closing, the items may change again and the version grows */
    Metodnet__Instrument title = METODNET__INSTRUMENT__INIT;
    title.title = "Единая диагностика, редакция 2";
    char *title_mask[] = {"title"};
    ui.instrument = &title;
    ui.update_mask = title_mask;
    r = s_call(f, "diagnostics", "UpdateInstrument", &ui.base, &metodnet__instrument__descriptor, &s_admin);
    stack_call_ok(&r, "UpdateInstrument");
    assert_int_equal(((Metodnet__Instrument *)r.response)->version, 2);
    stack_call_result_free(&r);
    /* results keep the version they were taken on */
    get.id = "07-c1-s1";
    r = s_call(f, "diagnostics", "GetResult", &get.base, &metodnet__result__descriptor, &s_admin);
    assert_int_equal(((Metodnet__Result *)r.response)->instrument_version, 1);
    stack_call_result_free(&r);
    stack_fixture_destroy(&f);
}

/* Creates and opens a campaign of instrument 07-i1 for the mathematics teachers; returns nothing,
 * the id is "07-c<n>". */
static void s_open_campaign(stack_fixture *f, const char *title, const char *expect_id)
{
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    char *categories[] = {"teacher"};
    char *subjects[] = {"mathematics"};
    Metodnet__CampaignTarget target = METODNET__CAMPAIGN_TARGET__INIT;
    target.categories = categories;
    target.n_categories = 1;
    target.subjects = subjects;
    target.n_subjects = 1;
    Metodnet__Campaign c = METODNET__CAMPAIGN__INIT;
    c.title = (char *)title;
    c.instrument_id = "07-i1";
    c.kind = METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_SELF;
    c.target = &target;
    c.starts_on = today;
    c.ends_on = "2099-12-31";
    Metodnet__CreateCampaignRequest cc = METODNET__CREATE_CAMPAIGN_REQUEST__INIT;
    cc.campaign = &c;
    stack_call_result r =
        s_call(f, "diagnostics", "CreateCampaign", &cc.base, &metodnet__campaign__descriptor, &s_admin);
    stack_call_ok(&r, "CreateCampaign");
    assert_string_equal(pbfield_string(r.response, "id"), expect_id);
    stack_call_result_free(&r);
    Metodnet__CampaignActionRequest open = METODNET__CAMPAIGN_ACTION_REQUEST__INIT;
    open.id = (char *)expect_id;
    r = s_call(f, "diagnostics", "OpenCampaign", &open.base, &metodnet__campaign__descriptor, &s_admin);
    stack_call_ok(&r, "OpenCampaign");
    stack_call_result_free(&r);
}

static void s_programme(stack_fixture *f, const char *title, bool federal, const char *competence, int hours)
{
    char *competences[] = {(char *)competence};
    Metodnet__Programme p = METODNET__PROGRAMME__INIT;
    p.title = (char *)title;
    p.region_id = "07";
    p.provider = "ЦНППМ КБР";
    p.hours = hours;
    p.format = METODNET__PROGRAMME_FORMAT__PROGRAMME_FORMAT_BLENDED;
    p.federal_registry = federal;
    p.competences = competences;
    p.n_competences = 1;
    Metodnet__CreateProgrammeRequest req = METODNET__CREATE_PROGRAMME_REQUEST__INIT;
    req.programme = &p;
    stack_call_result r = s_call(f, "registry", "CreateProgramme", &req.base, &metodnet__programme__descriptor,
                                 service_client_system_principal());
    stack_call_ok(&r, "CreateProgramme");
    stack_call_result_free(&r);
}

static void s_site(stack_fixture *f, const char *municipality, const char *name, const char *start, const char *end)
{
    Metodnet__SiteDesignation site = METODNET__SITE_DESIGNATION__INIT;
    site.kind = METODNET__SITE_KIND__SITE_KIND_INTERNSHIP;
    site.start_date = (char *)start;
    site.end_date = (char *)end;
    site.theme = "Формирующее оценивание";
    Metodnet__SiteDesignation *sites[] = {&site};
    Metodnet__Organization o = METODNET__ORGANIZATION__INIT;
    o.municipality_id = (char *)municipality;
    o.name = (char *)name;
    o.kind = METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL;
    o.sites = sites;
    o.n_sites = 1;
    Metodnet__CreateOrganizationRequest co = METODNET__CREATE_ORGANIZATION_REQUEST__INIT;
    co.organization = &o;
    stack_call_result r = s_call(f, "registry", "CreateOrganization", &co.base, &metodnet__organization__descriptor,
                                 service_client_system_principal());
    stack_call_ok(&r, "CreateOrganization (site)");
    stack_call_result_free(&r);
}

static stack_call_result s_item_status(stack_fixture *f, const Metodnet__Principal *who, const char *item,
                                       Metodnet__RouteItemStatus status, const char *document)
{
    Metodnet__SetRouteItemStatusRequest req = METODNET__SET_ROUTE_ITEM_STATUS_REQUEST__INIT;
    req.id = "07-s1";
    req.item_id = (char *)item;
    req.status = status;
    req.evidence = "Удостоверение загружено в портфолио";
    req.document_number = (char *)document;
    return s_call(f, "diagnostics", "SetRouteItemStatus", &req.base, &metodnet__route__descriptor, who);
}

/* Items compared without their ids (ids are never reused in a route, so a regeneration renumbers). */
static void s_assert_same_items(const Metodnet__Route *a, const Metodnet__Route *b)
{
    assert_int_equal(a->n_items, b->n_items);
    for (size_t i = 0; i < a->n_items; i++) {
        const Metodnet__RouteItem *x = a->items[i], *y = b->items[i];
        assert_int_equal(x->kind, y->kind);
        assert_string_equal(x->competence, y->competence);
        assert_string_equal(x->title, y->title);
        assert_string_equal(x->programme_id, y->programme_id);
        assert_string_equal(x->organization_id, y->organization_id);
        assert_string_equal(x->due_on, y->due_on);
        assert_int_equal(x->hours, y->hours);
        assert_int_equal(x->federal_registry, y->federal_registry);
    }
}

/* The route end to end: generated from the latest deficits with the registry's programmes (ФР ДПП
 * first) and active internship sites, deterministic, edited and approved by the methodologist, worked
 * through by the teacher; a done programme item becomes a qualification record in the registry; a
 * newer result shows which deficits closed. */
static void test_route_end_to_end(void **state)
{
    (void)state;
    stack_fixture *f = s_fixture_new();
    stack_fixture_seed_registry(f);
    s_create_instrument(f);
    /* catalogue: 07-p1 not in ФР ДПП, 07-p2 and 07-p3 in it, 07-p4 for another competence */
    s_programme(f, "Современный урок математики", false, "t.method.1", 36);
    s_programme(f, "Методика обучения математике по обновлённым ФГОС", true, "t.method.1", 72);
    s_programme(f, "Проектирование урока в логике системно-деятельностного подхода", true, "t.method.1", 48);
    s_programme(f, "Цифровая образовательная среда", true, "t.digital.1", 36);
    /* sites: 07-o3 (m2) active, 07-o4 (m1) expired, 07-o5 (m1) active from last year */
    char today[16], year_ago[16], yesterday[16];
    diag_days_to_date(date_today(), today, sizeof today);
    diag_days_to_date(date_today() - 365, year_ago, sizeof year_ago);
    diag_days_to_date(date_today() - 1, yesterday, sizeof yesterday);
    s_site(f, "07-m2", "МКОУ Гимназия № 1 г. Баксан", year_ago, "");
    s_site(f, "07-m1", "МКОУ СОШ № 3 г.п. Терек", year_ago, yesterday);
    s_site(f, "07-m1", "МКОУ Лицей № 2 г.п. Терек", year_ago, "2099-06-30");

    /* 07-s3 teaches in both schools */
    {
        const char *organization_ids[] = {"07-o2", "07-o1"};
        stack_fixture_create_teacher(f, "Шогенова", "Марина", "1990-02-03", organization_ids, 2, "07-s3");
    }
    s_open_campaign(f, "Диагностика учителей математики, весна", "07-c1");
    /* progress: the teacher of two schools counts under each school and once in the totals */
    {
        Metodnet__GetRequest g = METODNET__GET_REQUEST__INIT;
        g.id = "07-c1";
        Metodnet__StartAttemptRequest st = METODNET__START_ATTEMPT_REQUEST__INIT;
        st.campaign_id = "07-c1";
        st.staff_id = "07-s3";
        stack_call_result c =
            s_call(f, "diagnostics", "StartAttempt", &st.base, &metodnet__attempt__descriptor, &s_admin);
        stack_call_ok(&c, "StartAttempt 07-s3");
        stack_call_result_free(&c);
        c = s_call(f, "diagnostics", "GetCampaignProgress", &g.base, &metodnet__campaign_progress__descriptor,
                   &s_admin);
        stack_call_ok(&c, "progress");
        Metodnet__CampaignProgress *p = (Metodnet__CampaignProgress *)c.response;
        assert_int_equal(p->assigned, 3);
        assert_int_equal(p->started, 1);
        assert_int_equal(p->n_organizations, 2);
        assert_string_equal(p->organizations[0]->organization_id, "07-o1");
        assert_int_equal(p->organizations[0]->assigned, 2);
        assert_int_equal(p->organizations[0]->started, 1);
        assert_string_equal(p->organizations[1]->organization_id, "07-o2");
        assert_int_equal(p->organizations[1]->assigned, 2);
        assert_int_equal(p->organizations[1]->started, 1);
        stack_call_result_free(&c);
    }
    /* teacher 1: q1 a → t.method.1 deficit; q2 4 → t.digital.1 strength */
    stack_call_result r = s_submit(f, &s_teacher1, "07-c1-s1", "a", 4);
    stack_call_ok(&r, "SubmitAttempt");
    stack_call_result_free(&r);

    Metodnet__GenerateRouteRequest gen = METODNET__GENERATE_ROUTE_REQUEST__INIT;
    gen.id = "07-s1";
    gen.starts_on = "2026-09-01";
    /* the methodologist of the other municipality does not see teacher 1 */
    static Metodnet__Principal methodologist2 = {PROTOBUF_C_MESSAGE_INIT(&metodnet__principal__descriptor),
                                                 "u-m2",
                                                 METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                                 METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY,
                                                 "07-m2",
                                                 "07",
                                                 "07-m2"};
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &methodologist2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "GenerateRoute");
    Metodnet__Route *first = (Metodnet__Route *)r.response;
    r.response = NULL;
    assert_int_equal(first->status, METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT);
    assert_string_equal(first->result_id, "07-c1-s1");
    assert_int_equal(first->n_deficits, 1);
    assert_string_equal(first->deficits[0]->competence, "t.method.1");
    assert_false(first->deficits[0]->closed);
    /* two programmes (ФР ДПП first, in catalogue order), one internship at the home municipality's active
     * site, self-education */
    assert_int_equal(first->n_items, 4);
    assert_int_equal(first->items[0]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME);
    assert_string_equal(first->items[0]->programme_id, "07-p2");
    assert_true(first->items[0]->federal_registry);
    assert_int_equal(first->items[0]->hours, 72);
    assert_string_equal(first->items[1]->programme_id, "07-p3");
    assert_int_equal(first->items[2]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_INTERNSHIP);
    /* the route carries the person's organizations and municipalities for scope */
    assert_int_equal(first->n_municipality_ids, 1);
    assert_string_equal(first->municipality_ids[0], "07-m1");
    assert_int_equal(first->n_organization_ids, 1);
    assert_string_equal(first->organization_ids[0], "07-o1");
    assert_string_equal(first->items[2]->organization_id, "07-o5");
    assert_int_equal(first->items[3]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_SELF_EDUCATION);
    assert_string_equal(first->items[0]->due_on, "2026-11-30");
    assert_string_equal(first->items[0]->id, "07-s1-i1");

    /* the same inputs give the same items; ids continue */
    gen.expected_version = first->version;
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "GenerateRoute again");
    Metodnet__Route *second = (Metodnet__Route *)r.response;
    s_assert_same_items(first, second);
    assert_string_equal(second->items[0]->id, "07-s1-i5");
    int64_t version = second->version;
    protobuf_c_message_free_unpacked(&first->base, NULL);
    stack_call_result_free(&r);

    /* the teacher cannot edit or approve; the methodologist edits: keeps the first programme and the
     * internship, adds an event item (for the events service) */
    Metodnet__GetRouteRequest get = METODNET__GET_ROUTE_REQUEST__INIT;
    get.id = "07-s1";
    r = s_call(f, "diagnostics", "GetRoute", &get.base, &metodnet__route__descriptor, &s_teacher1);
    stack_call_ok(&r, "GetRoute (teacher)");
    Metodnet__Route *current = (Metodnet__Route *)r.response;
    r.response = NULL;
    r = s_call(f, "diagnostics", "GetRoute", &get.base, &metodnet__route__descriptor, &s_teacher2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_call(f, "diagnostics", "GetRoute", &get.base, &metodnet__route__descriptor, &methodologist2);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_call(f, "diagnostics", "GetRoute", &get.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "GetRoute (methodologist)");
    stack_call_result_free(&r);
    Metodnet__RouteItem event = METODNET__ROUTE_ITEM__INIT;
    event.kind = METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_EVENT;
    event.competence = "t.method.1";
    event.title = "Практико-ориентированный семинар «Формирующее оценивание на уроке математики»";
    event.due_on = "2026-10-15";
    Metodnet__RouteItem *items[] = {current->items[0], current->items[2], &event};
    Metodnet__Route patch = METODNET__ROUTE__INIT;
    patch.items = items;
    patch.n_items = 3;
    char *mask[] = {"items"};
    Metodnet__UpdateRouteRequest up = METODNET__UPDATE_ROUTE_REQUEST__INIT;
    up.id = "07-s1";
    up.expected_version = version;
    up.route = &patch;
    up.update_mask = mask;
    up.n_update_mask = 1;
    r = s_call(f, "diagnostics", "UpdateRoute", &up.base, &metodnet__route__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_call(f, "diagnostics", "UpdateRoute", &up.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "UpdateRoute");
    Metodnet__Route *edited = (Metodnet__Route *)r.response;
    assert_int_equal(edited->n_items, 3);
    assert_string_equal(edited->items[0]->id, "07-s1-i5");
    assert_string_equal(edited->items[2]->id, "07-s1-i9");
    assert_int_equal(edited->items[2]->kind, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_EVENT);
    assert_int_equal(edited->items[2]->status, METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED);
    version = edited->version;
    stack_call_result_free(&r);

    /* items of a draft do not move; the teacher cannot approve; the methodologist does */
    r = s_item_status(f, &s_teacher1, "07-s1-i5", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    Metodnet__ApproveRouteRequest approve = METODNET__APPROVE_ROUTE_REQUEST__INIT;
    approve.id = "07-s1";
    approve.expected_version = version;
    r = s_call(f, "diagnostics", "ApproveRoute", &approve.base, &metodnet__route__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_call(f, "diagnostics", "ApproveRoute", &approve.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "ApproveRoute");
    assert_int_equal(((Metodnet__Route *)r.response)->status, METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED);
    assert_string_equal(((Metodnet__Route *)r.response)->approved_by, "u-m1");
    stack_call_result_free(&r);
    r = s_call(f, "diagnostics", "UpdateRoute", &up.base, &metodnet__route__descriptor, &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH);
    up.expected_version = 0;
    r = s_call(f, "diagnostics", "UpdateRoute", &up.base, &metodnet__route__descriptor, &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    protobuf_c_message_free_unpacked(&current->base, NULL);
    /* an approved route still being worked through is not regenerated */
    gen.expected_version = 0;
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);

    /* the teacher works through it: planned → in_progress → done; another teacher cannot */
    r = s_item_status(f, &s_teacher2, "07-s1-i5", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND);
    r = s_item_status(f, &s_teacher1, "07-s1-i5", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS, "");
    stack_call_ok(&r, "in_progress");
    stack_call_result_free(&r);
    /* the teacher's own done of a programme needs a proof (a document's name or a link) … */
    r = s_item_status(f, &s_teacher1, "07-s1-i5", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE, "772400012345");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
    stack_call_result_free(&r);
    Metodnet__SetRouteItemStatusRequest mark = METODNET__SET_ROUTE_ITEM_STATUS_REQUEST__INIT;
    mark.id = "07-s1";
    mark.item_id = "07-s1-i5";
    mark.status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    mark.document_number = "772400012345";
    mark.evidence_name = "Удостоверение о повышении квалификации";
    mark.evidence_url = "https://portfolio.example/772400012345";
    r = s_call(f, "diagnostics", "SetRouteItemStatus", &mark.base, &metodnet__route__descriptor, &s_teacher1);
    stack_call_ok(&r, "done by the teacher");
    /* … and waits for the methodologist's confirmation: no qualification record yet */
    Metodnet__RouteItem *pending = diag_route_item((Metodnet__Route *)r.response, "07-s1-i5");
    assert_int_equal(pending->status, METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE);
    assert_int_equal(pending->confirmation, METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_PENDING);
    assert_string_equal(pending->qualification_record_id, "");
    stack_call_result_free(&r);
    Metodnet__ConfirmRouteItemRequest confirm = METODNET__CONFIRM_ROUTE_ITEM_REQUEST__INIT;
    confirm.id = "07-s1";
    confirm.item_id = "07-s1-i5";
    r = s_call(f, "diagnostics", "ConfirmRouteItem", &confirm.base, &metodnet__route__descriptor, &s_teacher1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    stack_call_result_free(&r);
    r = s_call(f, "diagnostics", "ConfirmRouteItem", &confirm.base, &metodnet__route__descriptor, &s_methodologist1);
    stack_call_ok(&r, "confirmed");
    Metodnet__RouteItem *done = diag_route_item((Metodnet__Route *)r.response, "07-s1-i5");
    assert_int_equal(done->status, METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE);
    assert_int_equal(done->confirmation, METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_CONFIRMED);
    assert_string_equal(done->completed_on, today);
    assert_true(*done->qualification_record_id != '\0');
    char record_id[64];
    snprintf(record_id, sizeof record_id, "%s", done->qualification_record_id);
    stack_call_result_free(&r);
    /* done is final */
    r = s_item_status(f, &s_teacher1, "07-s1-i5", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS, "");
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    /* the record is in the registry, made from the route item */
    Metodnet__ListQualificationRecordsRequest lq = METODNET__LIST_QUALIFICATION_RECORDS_REQUEST__INIT;
    lq.staff_id = "07-s1";
    r = s_call(f, "registry", "ListQualificationRecords", &lq.base,
               &metodnet__list_qualification_records_response__descriptor, &s_admin);
    stack_call_ok(&r, "ListQualificationRecords");
    Metodnet__ListQualificationRecordsResponse *records = (Metodnet__ListQualificationRecordsResponse *)r.response;
    assert_int_equal(records->n_items, 1);
    assert_string_equal(records->items[0]->id, record_id);
    assert_string_equal(records->items[0]->source, "route");
    assert_string_equal(records->items[0]->route_item_id, "07-s1-i5");
    assert_string_equal(records->items[0]->programme_id, "07-p2");
    assert_int_equal(records->items[0]->hours, 72);
    assert_string_equal(records->items[0]->document_number, "772400012345");
    assert_string_equal(records->items[0]->completed_on, today);
    stack_call_result_free(&r);
    /* the domain event of the done item went to the diagnostics stream */
    redisReply *events = stack_fixture_redis(f, "XREVRANGE %s + - COUNT 1", "diag:{r:07}:events");
    assert_int_equal(events->type, REDIS_REPLY_ARRAY);
    assert_int_equal(events->elements, 1);
    redisReply *fields = events->element[0]->element[1];
    assert_int_equal(fields->elements, 2);
    Metodnet__DomainEvent *event_done =
        metodnet__domain_event__unpack(NULL, fields->element[1]->len, (const uint8_t *)fields->element[1]->str);
    freeReplyObject(events);
    assert_non_null(event_done);
    assert_string_equal(event_done->type, "route_item.done");
    assert_string_equal(event_done->entity_id, "07-s1");
    Metodnet__RouteItem *event_item =
        metodnet__route_item__unpack(NULL, event_done->entity.len, event_done->entity.data);
    assert_non_null(event_item);
    assert_string_equal(event_item->id, "07-s1-i5");
    assert_string_equal(event_item->qualification_record_id, record_id);
    metodnet__route_item__free_unpacked(event_item, NULL);
    metodnet__domain_event__free_unpacked(event_done, NULL);

    /* the internship and the event: cancelled and done (no record for them) */
    r = s_item_status(f, &s_teacher1, "07-s1-i7", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_CANCELLED, "");
    stack_call_ok(&r, "cancelled");
    stack_call_result_free(&r);
    r = s_item_status(f, &s_teacher1, "07-s1-i9", METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE, "");
    stack_call_ok(&r, "event done");
    assert_string_equal(diag_route_item((Metodnet__Route *)r.response, "07-s1-i9")->qualification_record_id, "");
    stack_call_result_free(&r);

    /* a later diagnostic: q1 b → t.method.1 no longer a deficit: the route's deficit shows closed */
    s_open_campaign(f, "Диагностика учителей математики, осень", "07-c2");
    r = s_submit(f, &s_teacher1, "07-c2-s1", "b", 4);
    stack_call_ok(&r, "SubmitAttempt 2");
    stack_call_result_free(&r);
    Metodnet__ListResultsRequest lr = METODNET__LIST_RESULTS_REQUEST__INIT;
    lr.staff_id = "07-s1";
    r = s_call(f, "diagnostics", "ListResults", &lr.base, &metodnet__list_results_response__descriptor, &s_teacher1);
    stack_call_ok(&r, "ListResults by staff");
    assert_int_equal(((Metodnet__ListResultsResponse *)r.response)->n_items, 2);
    assert_string_equal(((Metodnet__ListResultsResponse *)r.response)->items[0]->id, "07-c2-s1");
    stack_call_result_free(&r);
    lr.campaign_id = "07-c1";
    r = s_call(f, "diagnostics", "ListResults", &lr.base, &metodnet__list_results_response__descriptor, &s_teacher1);
    stack_call_ok(&r, "ListResults by staff and campaign");
    assert_int_equal(((Metodnet__ListResultsResponse *)r.response)->n_items, 1);
    assert_string_equal(((Metodnet__ListResultsResponse *)r.response)->items[0]->id, "07-c1-s1");
    stack_call_result_free(&r);
    r = s_call(f, "diagnostics", "GetRoute", &get.base, &metodnet__route__descriptor, &s_teacher1);
    stack_call_ok(&r, "GetRoute after the newer result");
    Metodnet__Route *after = (Metodnet__Route *)r.response;
    assert_true(after->deficits[0]->closed);
    assert_string_equal(after->deficits[0]->checked_result_id, "07-c2-s1");
    assert_string_equal(after->result_id, "07-c1-s1");
    stack_call_result_free(&r);
    /* every item finished: a new route may be generated, but there is no deficit to build it from */
    r = s_call(f, "diagnostics", "GenerateRoute", &gen.base, &metodnet__route__descriptor, &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT);
    stack_fixture_destroy(&f);
}

static void test_frameworks(void **state)
{
    (void)state;
    stack_fixture *f = s_fixture_new();
    Metodnet__ListFrameworksRequest req = METODNET__LIST_FRAMEWORKS_REQUEST__INIT;
    stack_call_result r = s_call(f, "diagnostics", "ListFrameworks", &req.base,
                                 &metodnet__list_frameworks_response__descriptor, &s_teacher1);
    stack_call_ok(&r, "ListFrameworks");
    Metodnet__ListFrameworksResponse *l = (Metodnet__ListFrameworksResponse *)r.response;
    assert_int_equal(l->n_items, 2);
    assert_int_equal(l->items[0]->n_components, 6);
    assert_int_equal(l->items[0]->version, 0);
    stack_call_result_free(&r);
    Metodnet__CompetenceFramework fw = METODNET__COMPETENCE_FRAMEWORK__INIT;
    fw.title = "Рамка КБР";
    char *mask[] = {"title"};
    Metodnet__UpdateFrameworkRequest up = METODNET__UPDATE_FRAMEWORK_REQUEST__INIT;
    up.id = "07-teacher";
    up.framework = &fw;
    up.update_mask = mask;
    up.n_update_mask = 1;
    r = s_call(f, "diagnostics", "UpdateFramework", &up.base, &metodnet__competence_framework__descriptor,
               &s_methodologist1);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED);
    r = s_call(f, "diagnostics", "UpdateFramework", &up.base, &metodnet__competence_framework__descriptor, &s_admin);
    stack_call_ok(&r, "UpdateFramework");
    assert_int_equal(((Metodnet__CompetenceFramework *)r.response)->version, 1);
    assert_int_equal(((Metodnet__CompetenceFramework *)r.response)->n_components, 6);
    stack_call_result_free(&r);
    up.expected_version = 5;
    r = s_call(f, "diagnostics", "UpdateFramework", &up.base, &metodnet__competence_framework__descriptor, &s_admin);
    assert_int_equal(r.code, METODNET__STATUS_CODE__STATUS_CODE_VERSION_MISMATCH);
    stack_fixture_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frameworks),
        cmocka_unit_test(test_campaign_attempts_results_scope),
        cmocka_unit_test(test_route_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
