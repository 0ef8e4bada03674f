/* diagnostics_routes — individual educational routes (ИОМ): get, generate (from the latest result,
 * programmes and internship sites from the registry; a regeneration keeps the previous version),
 * approve, item status, and the one dispatch of every route change with its scope checks. The edit
 * (items, period, tutor), propose, agree, confirm and the versions' answer are in
 * diagnostics_route_flow.c; the rules they follow in diagnostics_rules.c. */
#include "diagnostics_internal.h"
#include "events_service.pb-c.h"
#include "mentoring_service.pb-c.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

/* ---------- routes (ИОМ) ---------- */

static const char *const s_route_not_found_ru = "Индивидуальный образовательный маршрут ещё не составлен";

static bool s_route_key(const char *staff_id, char *region, char *key, size_t size)
{
    if (!diag_staff_id_ok(staff_id, region))
        return false;
    snprintf(key, size, "diag:{r:%s}:route:%s", region, staff_id);
    return true;
}

static void s_route_present(op *o)
{
    Metodnet__Route *r = (Metodnet__Route *)(o->next ? o->next : o->current);
    diag_route_strip_versions(r); /* answered only by GET …/route/versions */
    if (o->latest)
        diag_route_check_deficits(r, o->latest->result);
    diag_route_flag_overdue(r, date_today());
    diag_reply(o, &r->base);
}

static void s_get_route_loaded(op *o)
{
    Metodnet__Route *r = (Metodnet__Route *)o->current;
    if (!diag_route_allows(o->caller, r, SCOPE_READ) && !diag_route_is_tutor(o->caller, r)) {
        diag_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    diag_audit(o->d, o->call, "read", "route", r->id, r->region_id);
    const ProtobufCMethodDescriptor *method = service_call_method(o->call);
    if (method && strcmp(method->name, "ListRouteVersions") == 0) {
        diag_route_reply_versions(o);
        return;
    }
    diag_latest_result(o, r->staff_id, s_route_present);
}

void diag_get_route(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GetRouteRequest *req = (const Metodnet__GetRouteRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(req->id, o->region, key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__route__descriptor, &o->current, s_route_not_found_ru, s_get_route_loaded);
}

/* Writes o->next (a route) over o->current (NULL: create); replies with the presented route. */
static void s_route_after_write(op *o)
{
    s_route_present(o);
}

void diag_route_save(op *o, const char *event_type, const ProtobufCMessage *event_entity)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current, *next = (Metodnet__Route *)o->next;
    char key[DIAG_KEY_MAX];
    snprintf(key, sizeof key, "diag:{r:%s}:route:%s", next->region_id, next->staff_id);
    int64_t version = cur ? cur->version : 0;
    diag_stamp(o->next, version + 1);
    if (cur)
        diag_set(&next->created_at, cur->created_at);
    /* overdue and closed are derived on read, never stored */
    for (size_t i = 0; i < next->n_items; i++)
        next->items[i]->overdue = false;
    diag_layout old_layout = {0}, new_layout = {0};
    if (cur)
        diag_route_layout(cur, &old_layout);
    diag_route_layout(next, &new_layout);
    /* the event carries the route without its history */
    Metodnet__Route *light = NULL;
    if (event_entity == NULL && next->n_versions > 0) {
        Metodnet__Route copy = *next;
        copy.n_versions = 0;
        copy.versions = NULL;
        light = (Metodnet__Route *)pbfield_clone(&copy.base);
        event_entity = &light->base;
    }
    diag_write w = {.key = key,
                    .entity = o->next,
                    .expected_version = version,
                    .new_version = version + 1,
                    .old_layout = cur ? &old_layout : NULL,
                    .new_layout = &new_layout,
                    .event_type = event_type,
                    .event_entity_id = next->id,
                    .event_entity = event_entity};
    o->exists_ru = "Маршрут уже составил кто-то другой: перечитайте его";
    diag_audit_when_stored(o, cur ? "update" : "create", "route", next->id, next->region_id);
    diag_save(o, &w, s_route_after_write);
    diag_free_message(light);
}

/* ----- generation ----- */

static bool s_listed(char *const *items, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], value) == 0)
            return true;
    return false;
}

static int s_event_cmp(const void *a, const void *b)
{
    const Metodnet__Event *x = *(Metodnet__Event *const *)a, *y = *(Metodnet__Event *const *)b;
    int c = strcmp(x->starts_at, y->starts_at);
    return c ? c : strcmp(x->id, y->id);
}

/* Published events of the events service that address a deficit and are for the person's subject (or
 * for anyone): the earliest one per deficit, each event once, as items of kind event (reference_id the
 * event, due on its start date). */
static void s_propose_events(op *o, Metodnet__Route *route)
{
    if (o->n_events == 0 || o->staff == NULL)
        return;
    qsort(o->events, o->n_events, sizeof *o->events, s_event_cmp);
    bool *used = xcalloc(o->n_events, sizeof *used);
    for (size_t d = 0; d < route->n_deficits; d++) {
        const char *code = route->deficits[d]->competence;
        for (size_t i = 0; i < o->n_events; i++) {
            const Metodnet__Event *e = o->events[i];
            const Metodnet__EventAudience *a = e->audience;
            bool subject = a == NULL || a->n_subjects == 0;
            for (size_t k = 0; !subject && k < o->staff->n_subjects; k++)
                subject = s_listed(a->subjects, a->n_subjects, o->staff->subjects[k]);
            if (used[i] || !subject || !s_listed(e->competences, e->n_competences, code))
                continue;
            used[i] = true;
            Metodnet__RouteItem *item = xmalloc(sizeof *item);
            metodnet__route_item__init(item);
            char id[96], title[400], due[11] = "";
            snprintf(id, sizeof id, "%s-i%d", route->id, ++route->next_item);
            snprintf(title, sizeof title, "Мероприятие «%.300s»", e->title);
            if (strlen(e->starts_at) >= 10)
                memcpy(due, e->starts_at, 10);
            item->id = diag_strdup(id);
            item->kind = METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_EVENT;
            item->competence = diag_strdup(code);
            item->title = diag_strdup(title);
            item->reference_id = diag_strdup(e->id);
            item->due_on = diag_strdup(due);
            item->status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED;
            route->items = xrealloc(route->items, (route->n_items + 1) * sizeof *route->items);
            route->items[route->n_items++] = item;
            break;
        }
    }
    free(used);
}

static void s_generate_compose(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    if (o->failed) {
        diag_fail(o, o->fail_code, o->fail_message);
        return;
    }
    const Metodnet__Result *result = o->latest->result;
    Metodnet__Route *route;
    char now[40];
    diag_now(now, sizeof now);
    if (o->current) {
        o->next = pbfield_clone(o->current);
        route = (Metodnet__Route *)o->next;
        /* the route as it was stays readable (GET …/route/versions); the new one is agreed again */
        diag_route_push_version(route, (Metodnet__Route *)o->current, now, o->caller->user_id);
        diag_route_clear_agreement(route);
        diag_set(&route->approved_by, "");
        diag_set(&route->approved_at, "");
        diag_set(&route->declined_comment, "");
    } else {
        route = xmalloc(sizeof *route);
        metodnet__route__init(route);
        route->id = diag_strdup(result->staff_id);
        route->region_id = diag_strdup(result->region_id);
        route->staff_id = diag_strdup(result->staff_id);
        o->next = &route->base;
    }
    /* the route's scope: the person's organizations and municipalities as the result recorded them */
    diag_copy_strings(&route->organization_ids, &route->n_organization_ids, result->organization_ids,
                      result->n_organization_ids);
    diag_copy_strings(&route->municipality_ids, &route->n_municipality_ids, result->municipality_ids,
                      result->n_municipality_ids);
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    diag_route_input input = {
        .result = result,
        .programmes = o->programmes,
        .n_programmes = o->n_programmes,
        .sites = o->sites,
        .n_sites = o->n_sites,
        .home_municipality = result->n_municipality_ids ? result->municipality_ids[0] : NULL,
        .starts_on = *req->starts_on ? req->starts_on : today,
    };
    diag_route_generate(route, &input);
    /* the period: as asked (items due later are brought within it), or a year holding every item */
    char end[16] = "";
    if (*req->ends_on)
        snprintf(end, sizeof end, "%s", req->ends_on);
    else
        diag_route_period_end(input.starts_on, end, sizeof end);
    for (size_t i = 0; i < route->n_items; i++) {
        if (strcmp(route->items[i]->due_on, end) <= 0)
            continue;
        if (*req->ends_on)
            diag_set(&route->items[i]->due_on, end);
        else
            snprintf(end, sizeof end, "%s", route->items[i]->due_on);
    }
    diag_set(&route->ends_on, end);
    s_propose_events(o, route);
    if (o->matches)
        diag_route_propose_mentor(route, o->matches->items, o->matches->n_items, input.starts_on);
    diag_route_save(o, "route.generated", NULL);
}

static void s_generate_step_done(op *o)
{
    if (--o->pending == 0)
        s_generate_compose(o);
}

static void s_generate_call_failed(op *o, const Metodnet__Status *status, const char *what)
{
    if (!o->failed) {
        o->failed = true;
        o->fail_code = status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE);
        snprintf(o->fail_message, sizeof o->fail_message,
                 "%s временно недоступен: маршрут не составлен, повторите позже", what);
    }
    log_error(service_call_request_id(o->call), "%s: %s", what, status->message ? status->message : "?");
}

static void s_programmes_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        s_generate_call_failed(o, status, "Каталог программ ДПП");
    } else {
        const Metodnet__ListProgrammesResponse *list = (const Metodnet__ListProgrammesResponse *)response;
        for (size_t i = 0; i < list->n_items; i++) {
            bool seen = false;
            for (size_t j = 0; j < o->n_programmes && !seen; j++)
                seen = strcmp(o->programmes[j]->id, list->items[i]->id) == 0;
            if (seen)
                continue;
            Metodnet__Programme **grown = xrealloc(o->programmes, (o->n_programmes + 1) * sizeof *grown);
            o->programmes = grown;
            o->programmes[o->n_programmes] = (Metodnet__Programme *)pbfield_clone(&list->items[i]->base);
            o->n_programmes++;
        }
    }
    s_generate_step_done(o);
}

static void s_list_sites_page(op *o);

/* The events service is optional for a route: a failure or a timeout leaves the route without events. */
static void s_events_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        log_warn(service_call_request_id(o->call), "мероприятия для маршрута не получены: %s",
                 status->message ? status->message : "?");
    } else {
        const Metodnet__ListEventsResponse *list = (const Metodnet__ListEventsResponse *)response;
        for (size_t i = 0; i < list->n_items && o->n_events < 200; i++) {
            bool seen = false;
            for (size_t j = 0; j < o->n_events && !seen; j++)
                seen = strcmp(o->events[j]->id, list->items[i]->id) == 0;
            if (seen)
                continue;
            o->events = xrealloc(o->events, (o->n_events + 1) * sizeof *o->events);
            o->events[o->n_events++] = (Metodnet__Event *)pbfield_clone(&list->items[i]->base);
        }
    }
    s_generate_step_done(o);
}

/* The mentoring service is optional as well: without an answer the route has no mentoring item. */
static void s_matches_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK))
        log_warn(service_call_request_id(o->call), "наставники для маршрута не подобраны: %s",
                 status->message ? status->message : "?");
    else
        o->matches = (Metodnet__MatchResponse *)pbfield_clone(response);
    s_generate_step_done(o);
}

/* The best mentors for the person, asked as the caller (only colleagues they may see are proposed). */
static void s_ask_matches(op *o)
{
    Metodnet__MatchRequest mr = METODNET__MATCH_REQUEST__INIT;
    mr.mentee_id = (char *)o->latest->result->staff_id;
    mr.limit = 5;
    service_client_request r = {.service = "mentoring",
                                .method = "Match",
                                .request = &mr.base,
                                .response = &metodnet__match_response__descriptor,
                                .caller = service_call_caller(o->call),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 4000};
    o->pending++;
    if (service_client_call(o->d->registry, &r, s_matches_listed, o) != 0)
        o->pending--;
}

/* The person (subjects, municipality) from the registry, then the events for each deficit. */
static void s_route_person_loaded(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    const Metodnet__Result *result = o->latest->result;
    if (status->code != CODE(OK)) {
        log_warn(service_call_request_id(o->call), "сотрудник для мероприятий маршрута не получен: %s",
                 status->message ? status->message : "?");
        s_generate_step_done(o);
        return;
    }
    o->staff = (Metodnet__StaffMember *)pbfield_clone(response);
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    for (size_t i = 0; i < result->n_deficits && i < 30; i++) {
        Metodnet__ListEventsRequest le = METODNET__LIST_EVENTS_REQUEST__INIT;
        le.limit = 100;
        le.region_id = o->region;
        le.competence = result->deficits[i];
        le.status = "published";
        le.from = today;
        le.municipality_id = o->staff->n_municipality_ids ? o->staff->municipality_ids[0] : "";
        service_client_request r = {.service = "events",
                                    .method = "ListEvents",
                                    .request = &le.base,
                                    .response = &metodnet__list_events_response__descriptor,
                                    .caller = service_client_system_principal(),
                                    .request_id = service_call_request_id(o->call),
                                    .timeout_ms = 1500};
        o->pending++;
        if (service_client_call(o->d->registry, &r, s_events_listed, o) != 0)
            o->pending--;
    }
    s_generate_step_done(o);
}

static void s_organizations_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        s_generate_call_failed(o, status, "Реестр организаций");
        s_generate_step_done(o);
        return;
    }
    const Metodnet__ListOrganizationsResponse *list = (const Metodnet__ListOrganizationsResponse *)response;
    int today = date_today();
    for (size_t i = 0; i < list->n_items; i++) {
        if (!diag_organization_is_internship_site(list->items[i], today))
            continue;
        Metodnet__Organization **grown = xrealloc(o->sites, (o->n_sites + 1) * sizeof *grown);
        o->sites = grown;
        o->sites[o->n_sites] = (Metodnet__Organization *)pbfield_clone(&list->items[i]->base);
        o->n_sites++;
    }
    /* the registry post-filters pages of the region's ~1,500 organizations: at most 8 pages of 500 */
    if (list->next_cursor && *list->next_cursor && strlen(list->next_cursor) < sizeof o->cursor && ++o->pages < 8) {
        snprintf(o->cursor, sizeof o->cursor, "%s", list->next_cursor);
        s_list_sites_page(o);
        return;
    }
    s_generate_step_done(o);
}

static void s_list_sites_page(op *o)
{
    /* the registry filters by an internship site valid today: only the region's sites travel */
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    Metodnet__ListOrganizationsRequest req = METODNET__LIST_ORGANIZATIONS_REQUEST__INIT;
    req.limit = 500;
    req.cursor = o->cursor;
    req.region_id = o->region;
    req.site_kind = "internship";
    req.site_on = today;
    service_client_request r = {.service = "registry",
                                .method = "ListOrganizations",
                                .request = &req.base,
                                .response = &metodnet__list_organizations_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->d->registry, &r, s_organizations_listed, o) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = CODE(UNAVAILABLE);
        s_generate_call_failed(o, &st, "Реестр организаций");
        s_generate_step_done(o);
    }
}

static void s_generate_route_loaded(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (cur) {
        if (req->expected_version > 0 && req->expected_version != cur->version) {
            diag_fail(o, CODE(VERSION_MISMATCH), "Маршрут уже изменил кто-то другой: перечитайте его");
            return;
        }
        for (size_t i = 0; i < cur->n_items; i++)
            if (cur->status == METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED &&
                (cur->items[i]->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED ||
                 cur->items[i]->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS)) {
                diag_fail(o, CODE(CONFLICT),
                          "Утверждённый маршрут ещё выполняется: завершите или отмените его пункты, "
                          "затем составьте новый");
                return;
            }
    }
    const Metodnet__Result *result = o->latest->result;
    o->pending = 1 + (int)result->n_deficits + 1 + 1; /* +1 until every call is issued */
    if (service_client_get_as_system(o->d->registry, "registry", "GetStaff", result->staff_id,
                                     &metodnet__staff_member__descriptor, service_call_request_id(o->call),
                                     s_route_person_loaded, o) != 0)
        o->pending--;
    for (size_t i = 0; i < result->n_deficits; i++) {
        Metodnet__ListProgrammesRequest lp = METODNET__LIST_PROGRAMMES_REQUEST__INIT;
        lp.limit = 100;
        lp.region_id = o->region;
        lp.competence = result->deficits[i];
        service_client_request r = {.service = "registry",
                                    .method = "ListProgrammes",
                                    .request = &lp.base,
                                    .response = &metodnet__list_programmes_response__descriptor,
                                    .caller = service_client_system_principal(),
                                    .request_id = service_call_request_id(o->call),
                                    .timeout_ms = 5000};
        if (service_client_call(o->d->registry, &r, s_programmes_listed, o) != 0) {
            Metodnet__Status st = METODNET__STATUS__INIT;
            st.code = CODE(UNAVAILABLE);
            s_generate_call_failed(o, &st, "Каталог программ ДПП");
            o->pending--;
        }
    }
    s_ask_matches(o);
    o->pages = 0;
    o->cursor[0] = '\0';
    s_list_sites_page(o);
    s_generate_step_done(o);
}

static void s_generate_latest_loaded(op *o)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)o->request;
    if (o->latest == NULL || !diag_attempt_allows(o->caller, o->latest, SCOPE_READ)) {
        diag_fail(o, CODE(NOT_FOUND), "Результатов диагностики у этого сотрудника нет: маршрут строится по дефицитам");
        return;
    }
    if (!diag_attempt_allows(o->caller, o->latest, SCOPE_WRITE) || !diag_may_build_routes(o->caller)) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  "Маршрут составляет методист, администратор школы или региональный оператор");
        return;
    }
    if (o->latest->result->n_deficits == 0) {
        diag_fail(o, CODE(CONFLICT), "По последнему результату дефицитов нет: маршрут не нужен");
        return;
    }
    char key[DIAG_KEY_MAX];
    s_route_key(req->id, o->region, key, sizeof key);
    diag_load(o, key, &metodnet__route__descriptor, &o->current, NULL, s_generate_route_loaded);
}

void diag_generate_route(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__GenerateRouteRequest *req = (const Metodnet__GenerateRouteRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(req->id, o->region, key, sizeof key) || !diag_region_readable(o->caller, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), "Сотрудник не найден");
        return;
    }
    int start = date_today(), end = 0;
    if (*req->starts_on)
        validate_date(&o->v, "startsOn", req->starts_on, false, &start);
    if (*req->ends_on && validate_date(&o->v, "endsOn", req->ends_on, false, &end) && validation_ok(&o->v) &&
        end < start)
        validation_add(&o->v, "endsOn", "Окончание маршрута не может быть раньше его начала");
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    diag_latest_result(o, req->id, s_generate_latest_loaded);
}

/* ----- edit, approve, item status; propose, agree, confirm (diagnostics_route_flow.c) ----- */

typedef enum { ROUTE_EDIT, ROUTE_APPROVE, ROUTE_ITEM_STATUS, ROUTE_PROPOSE, ROUTE_AGREE, ROUTE_CONFIRM } route_action;

static route_action s_route_action(const op *o)
{
    const ProtobufCMessageDescriptor *d = o->request->descriptor;
    if (d == &metodnet__update_route_request__descriptor)
        return ROUTE_EDIT;
    if (d == &metodnet__approve_route_request__descriptor)
        return ROUTE_APPROVE;
    if (d == &metodnet__propose_route_request__descriptor)
        return ROUTE_PROPOSE;
    if (d == &metodnet__agree_route_request__descriptor)
        return ROUTE_AGREE;
    if (d == &metodnet__confirm_route_item_request__descriptor)
        return ROUTE_CONFIRM;
    return ROUTE_ITEM_STATUS;
}

static void s_route_approve(op *o)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    const char *refusal = diag_route_lifecycle_refusal(cur->status, DIAG_ROUTE_APPROVE, false);
    if (refusal) {
        diag_fail(o, CODE(CONFLICT), refusal);
        return;
    }
    if (cur->n_items == 0) {
        diag_fail(o, CODE(CONFLICT), "В маршруте нет ни одного пункта");
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    char now[40];
    diag_now(now, sizeof now);
    next->status = diag_route_after_step(cur->status, DIAG_ROUTE_APPROVE, false);
    diag_set(&next->approved_by, o->caller->user_id);
    diag_set(&next->approved_at, now);
    diag_route_save(o, "route.approved", NULL);
}

void diag_route_item_store(op *o, const char *item_id)
{
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, item_id);
    bool done = item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    diag_route_save(o, done ? "route_item.done" : "route_item.updated", done ? &item->base : NULL);
}

static void s_record_created(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(o->call), "реестр не принял запись о повышении квалификации: %s",
                  status->message ? status->message : "?");
        if (status->code == CODE(INVALID_ARGUMENT) || status->code == CODE(CONFLICT))
            diag_fail(o, status->code,
                      status->message && *status->message ? status->message
                                                          : "Реестр отклонил запись о повышении квалификации");
        else
            diag_fail(o, CODE(UNAVAILABLE),
                      "Реестр временно недоступен: выполнение пункта не записано, повторите позже");
        return;
    }
    const char *item_id = pbfield_string(o->request, "item_id");
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, item_id);
    diag_set(&item->qualification_record_id, ((const Metodnet__QualificationRecord *)response)->id);
    diag_route_item_store(o, item_id);
}

void diag_route_item_confirm(op *o, Metodnet__RouteItem *item)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    char now[40];
    diag_now(now, sizeof now);
    item->confirmation = METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_CONFIRMED;
    diag_set(&item->confirmed_by, o->caller->user_id);
    diag_set(&item->confirmed_at, now);
    if (*item->qualification_record_id) {
        diag_route_item_store(o, item->id);
        return;
    }
    /* a confirmed programme becomes a qualification record in the registry (idempotent by item id) */
    Metodnet__QualificationRecord record = METODNET__QUALIFICATION_RECORD__INIT;
    record.region_id = cur->region_id;
    record.staff_id = cur->staff_id;
    record.programme_id = item->programme_id;
    record.programme_title = item->title;
    record.completed_on = item->completed_on;
    record.hours = item->hours;
    record.document_number = item->document_number;
    record.source = "route";
    record.route_item_id = item->id;
    char *mask[] = {"staff_id", "programme_id",    "programme_title", "completed_on",
                    "hours",    "document_number", "source",          "route_item_id"};
    Metodnet__CreateQualificationRecordRequest create = METODNET__CREATE_QUALIFICATION_RECORD_REQUEST__INIT;
    create.record = &record;
    create.update_mask = mask;
    create.n_update_mask = sizeof mask / sizeof mask[0];
    service_client_request r = {.service = "registry",
                                .method = "CreateQualificationRecord",
                                .request = &create.base,
                                .response = &metodnet__qualification_record__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->d->registry, &r, s_record_created, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), "Реестр временно недоступен");
}

void diag_validate_evidence(op *o, const char *name, const char *url)
{
    validate_text(&o->v, "evidenceName", name, 300, false);
    if (validate_text(&o->v, "evidenceUrl", url, 1000, false) && *url && strncmp(url, "https://", 8) != 0 &&
        strncmp(url, "http://", 7) != 0)
        validation_add(&o->v, "evidenceUrl", "Ссылка на подтверждение начинается с https:// или http://");
}

static void s_route_item_status(op *o)
{
    const Metodnet__SetRouteItemStatusRequest *req = (const Metodnet__SetRouteItemStatusRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (cur->status != METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED) {
        diag_fail(o, CODE(CONFLICT), "Маршрут ещё не утверждён методистом");
        return;
    }
    Metodnet__RouteItem *known = diag_route_item(cur, req->item_id);
    if (known == NULL) {
        diag_fail(o, CODE(NOT_FOUND), "Такого пункта в маршруте нет");
        return;
    }
    validate_text(&o->v, "evidence", req->evidence, 2000, false);
    validate_text(&o->v, "documentNumber", req->document_number, 100, false);
    diag_validate_evidence(o, req->evidence_name, req->evidence_url);
    if (*req->reference_id &&
        (!id_valid(req->reference_id) || (known->kind != METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING &&
                                          known->kind != METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_EVENT)))
        validation_add(&o->v, "referenceId",
                       "Мероприятие или пара наставничества — только у пунктов event и mentoring");
    int completed = 0;
    if (*req->completed_on && validate_date(&o->v, "completedOn", req->completed_on, false, &completed) &&
        completed > date_today())
        validation_add(&o->v, "completedOn", "Дата завершения не может быть в будущем");
    if (req->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_UNSPECIFIED)
        validation_add(&o->v, "status", "Укажите новое состояние: in_progress, done или cancelled");
    bool done = req->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    bool confirms = diag_may_confirm(o->caller, cur);
    bool evidence = *req->evidence_name || *req->evidence_url || *known->evidence_name || *known->evidence_url;
    if (done && diag_route_item_needs_confirmation(known) && !confirms && !evidence)
        validation_add(
            &o->v, "evidenceName",
            "Приложите подтверждение выполнения: название документа (evidenceName) или ссылку (evidenceUrl)");
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    if (!diag_route_transition_allowed(known->status, req->status)) {
        char message[200];
        snprintf(message, sizeof message, "Переход пункта из состояния «%s» в «%s» невозможен",
                 diag_word(&metodnet__route_item_status__descriptor, known->status),
                 diag_word(&metodnet__route_item_status__descriptor, req->status));
        diag_fail(o, CODE(CONFLICT), message);
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, req->item_id);
    item->status = req->status;
    if (*req->evidence)
        diag_set(&item->evidence, req->evidence);
    if (*req->evidence_name)
        diag_set(&item->evidence_name, req->evidence_name);
    if (*req->evidence_url)
        diag_set(&item->evidence_url, req->evidence_url);
    if (*req->document_number)
        diag_set(&item->document_number, req->document_number);
    if (*req->reference_id)
        diag_set(&item->reference_id, req->reference_id);
    if (done) {
        char today[16];
        diag_days_to_date(date_today(), today, sizeof today);
        diag_set(&item->completed_on, *req->completed_on ? req->completed_on : today);
    }
    if (!done || !diag_route_item_needs_confirmation(item) || *item->qualification_record_id) {
        diag_route_item_store(o, req->item_id);
        return;
    }
    if (!confirms) {
        /* the teacher's own mark waits: no qualification record (so nothing for I11) until confirmed */
        item->confirmation = METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_PENDING;
        diag_set(&item->confirmation_comment, "");
        diag_route_item_store(o, req->item_id);
        return;
    }
    diag_route_item_confirm(o, item);
}

static void s_route_change_loaded(op *o)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    route_action action = s_route_action(o);
    bool tutor = diag_route_is_tutor(o->caller, cur);
    if (!diag_route_allows(o->caller, cur, SCOPE_READ) && !tutor) {
        diag_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    bool write = diag_route_allows(o->caller, cur, SCOPE_WRITE);
    bool builder = write && diag_may_build_routes(o->caller);
    bool person = write && diag_route_is_person(o->caller, cur);
    const char *denied = NULL;
    if ((action == ROUTE_EDIT || action == ROUTE_APPROVE) && !builder)
        denied = "Маршрут составляет и утверждает методист или администратор школы";
    else if (action == ROUTE_PROPOSE && !builder && !person)
        denied = diag_denied_ru;
    else if (action == ROUTE_AGREE && !person)
        denied = write ? "Согласиться с маршрутом может только сам педагог" : diag_denied_ru;
    else if (action == ROUTE_ITEM_STATUS && !write)
        denied = diag_denied_ru;
    else if (action == ROUTE_CONFIRM && !diag_may_confirm(o->caller, cur))
        denied = "Выполнение пункта подтверждает методист или тьютор маршрута";
    if (denied) {
        diag_fail(o, CODE(PERMISSION_DENIED), denied);
        return;
    }
    int64_t expected = pbfield_int64(o->request, "expected_version");
    if (expected > 0 && expected != cur->version) {
        char message[200];
        snprintf(message, sizeof message,
                 "Маршрут уже изменил кто-то другой (текущая версия %lld): перечитайте его и повторите",
                 (long long)cur->version);
        diag_fail(o, CODE(VERSION_MISMATCH), message);
        return;
    }
    snprintf(o->region, sizeof o->region, "%s", cur->region_id);
    switch (action) {
    case ROUTE_EDIT:
        diag_route_edit(o);
        break;
    case ROUTE_APPROVE:
        s_route_approve(o);
        break;
    case ROUTE_PROPOSE:
        diag_route_propose(o, person && !builder);
        break;
    case ROUTE_AGREE:
        diag_route_agree(o);
        break;
    case ROUTE_CONFIRM:
        diag_route_confirm(o);
        break;
    case ROUTE_ITEM_STATUS:
        s_route_item_status(o);
        break;
    }
}

void diag_route_change(service_call *call, const ProtobufCMessage *request, void *ud)
{
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!s_route_key(pbfield_string(request, "id"), o->region, key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), s_route_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__route__descriptor, &o->current, s_route_not_found_ru, s_route_change_loaded);
}
