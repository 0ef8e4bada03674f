/* diagnostics_route_flow — the methodologist's edit of a route (items, period, tutor), the route's
 * agreement and the confirmation of its items (issue 12; 001 п.8,
 * п.14.1, п.17; 002 «добровольность участия и свободу выбора»): propose a draft, the teacher agrees or
 * sends it back, the methodologist or the tutor confirms a done item the teacher marked (only then the
 * qualification record is made), and the versions kept by regenerations. The dispatch, the scope checks
 * and the save are diagnostics_routes.c's; the rules diagnostics_rules.c's. */
#include "diagnostics_internal.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

bool diag_route_is_person(const Metodnet__Principal *caller, const Metodnet__Route *r)
{
    return caller && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF && caller->scope_id &&
           strcmp(caller->scope_id, r->staff_id) == 0;
}

bool diag_route_is_tutor(const Metodnet__Principal *caller, const Metodnet__Route *r)
{
    return caller && caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF && caller->scope_id &&
           r->tutor_staff_id && *r->tutor_staff_id && strcmp(caller->scope_id, r->tutor_staff_id) == 0 &&
           caller->region_id && strcmp(caller->region_id, r->region_id) == 0;
}

bool diag_may_confirm(const Metodnet__Principal *caller, const Metodnet__Route *r)
{
    if (diag_route_is_tutor(caller, r))
        return true;
    if (!diag_route_allows(caller, r, SCOPE_WRITE))
        return false;
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

void diag_route_propose(op *o, bool by_person)
{
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    const char *refusal = diag_route_lifecycle_refusal(cur->status, DIAG_ROUTE_PROPOSE, by_person);
    if (refusal == NULL && cur->n_items == 0)
        refusal = "В маршруте нет ни одного пункта";
    if (refusal) {
        diag_fail(o, CODE(CONFLICT), refusal);
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    char now[40];
    diag_now(now, sizeof now);
    next->status = diag_route_after_step(cur->status, DIAG_ROUTE_PROPOSE, by_person);
    diag_set(&next->proposed_by, o->caller->user_id);
    diag_set(&next->proposed_at, now);
    diag_set(&next->declined_comment, "");
    if (by_person) { /* the teacher's own proposal is their agreement */
        diag_set(&next->agreed_by, o->caller->user_id);
        diag_set(&next->agreed_at, now);
    }
    diag_route_save(o, "route.proposed", NULL);
}

void diag_route_agree(op *o)
{
    const Metodnet__AgreeRouteRequest *req = (const Metodnet__AgreeRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    validate_text(&o->v, "comment", req->comment, 2000, req->decline);
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    const char *refusal = diag_route_lifecycle_refusal(cur->status, DIAG_ROUTE_AGREE, true);
    if (refusal) {
        diag_fail(o, CODE(CONFLICT), refusal);
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    char now[40];
    diag_now(now, sizeof now);
    if (req->decline) { /* sent back: the methodologist changes it and proposes again */
        next->status = METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT;
        diag_route_clear_agreement(next);
        diag_set(&next->declined_comment, req->comment);
        diag_route_save(o, "route.declined", NULL);
        return;
    }
    next->status = diag_route_after_step(cur->status, DIAG_ROUTE_AGREE, true);
    diag_set(&next->agreed_by, o->caller->user_id);
    diag_set(&next->agreed_at, now);
    diag_set(&next->declined_comment, "");
    diag_route_save(o, "route.agreed", NULL);
}

void diag_route_confirm(op *o)
{
    const Metodnet__ConfirmRouteItemRequest *req = (const Metodnet__ConfirmRouteItemRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    Metodnet__RouteItem *known = diag_route_item(cur, req->item_id);
    if (known == NULL) {
        diag_fail(o, CODE(NOT_FOUND), "Такого пункта в маршруте нет");
        return;
    }
    validate_text(&o->v, "comment", req->comment, 2000, req->returned);
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    if (known->status != METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE ||
        known->confirmation != METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_PENDING) {
        diag_fail(o, CODE(CONFLICT), "Подтверждать нечего: пункт не отмечен выполненным и не ждёт подтверждения");
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__RouteItem *item = diag_route_item((Metodnet__Route *)o->next, req->item_id);
    diag_set(&item->confirmation_comment, req->comment);
    if (req->returned) { /* back to work: the teacher adds what is missing and marks it done again */
        char now[40];
        diag_now(now, sizeof now);
        item->status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS;
        item->confirmation = METODNET__ROUTE_ITEM_CONFIRMATION__ROUTE_ITEM_CONFIRMATION_RETURNED;
        diag_set(&item->confirmed_by, o->caller->user_id);
        diag_set(&item->confirmed_at, now);
        diag_set(&item->completed_on, "");
        diag_route_item_store(o, req->item_id);
        return;
    }
    diag_route_item_confirm(o, item);
}

void diag_route_reply_versions(op *o)
{
    Metodnet__Route *r = (Metodnet__Route *)o->current;
    Metodnet__ListRouteVersionsResponse resp = METODNET__LIST_ROUTE_VERSIONS_RESPONSE__INIT;
    resp.staff_id = r->staff_id;
    resp.items = r->versions;
    resp.n_items = r->n_versions;
    diag_reply(o, &resp.base);
}

/* ----- the edit: items, period, tutor ----- */

static void s_validate_route_item(op *o, const Metodnet__RouteItem *item, size_t i, int ends)
{
    char path[96];
    snprintf(path, sizeof path, "route.items[%zu].kind", i);
    if (item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_UNSPECIFIED)
        validation_add(&o->v, path,
                       "Вид пункта: programme, internship, self_education, event, mentoring, master_class, "
                       "experience_exchange или lesson_visit");
    snprintf(path, sizeof path, "route.items[%zu].competence", i);
    if (!diag_competence_code_valid(item->competence))
        validation_add(&o->v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
    snprintf(path, sizeof path, "route.items[%zu].title", i);
    validate_text(&o->v, path, item->title, 400, true);
    snprintf(path, sizeof path, "route.items[%zu].dueOn", i);
    int due = 0;
    if (validate_date(&o->v, path, item->due_on, true, &due) && ends > 0 && due > ends)
        validation_add(&o->v, path, "Срок пункта позже окончания маршрута");
    snprintf(path, sizeof path, "route.items[%zu].programmeId", i);
    if (item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME && *item->programme_id &&
        !id_valid(item->programme_id))
        validation_add(&o->v, path, "Неверный идентификатор программы");
    snprintf(path, sizeof path, "route.items[%zu].organizationId", i);
    if (*item->organization_id && !id_valid(item->organization_id))
        validation_add(&o->v, path, "Неверный идентификатор организации");
    snprintf(path, sizeof path, "route.items[%zu].referenceId", i);
    if (*item->reference_id && !id_valid(item->reference_id))
        validation_add(&o->v, path, "Неверный идентификатор");
    snprintf(path, sizeof path, "route.items[%zu].mentorStaffId", i);
    if (*item->mentor_staff_id &&
        (item->kind != METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING || !id_valid(item->mentor_staff_id)))
        validation_add(&o->v, path, "Наставник — идентификатор сотрудника, только у пункта вида mentoring");
    snprintf(path, sizeof path, "route.items[%zu].mentorName", i);
    validate_text(&o->v, path, item->mentor_name, 300, false);
    snprintf(path, sizeof path, "route.items[%zu].explanation", i);
    validate_text(&o->v, path, item->explanation, 1000, false);
}

/* The items of an edit: items given replace the list; a known id keeps its status, evidence,
 * confirmation and record; an item without id is new and planned. */
static void s_route_edit_items(op *o, Metodnet__Route *next, int ends)
{
    const Metodnet__UpdateRouteRequest *req = (const Metodnet__UpdateRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    Metodnet__RouteItem **items = xcalloc(req->route->n_items + 1, sizeof *items);
    for (size_t i = 0; i < req->route->n_items; i++) {
        const Metodnet__RouteItem *given = req->route->items[i];
        s_validate_route_item(o, given, i, ends);
        Metodnet__RouteItem *item = (Metodnet__RouteItem *)pbfield_clone(&given->base);
        items[i] = item;
        Metodnet__RouteItem blank = METODNET__ROUTE_ITEM__INIT;
        const Metodnet__RouteItem *keep = &blank;
        if (*given->id) {
            Metodnet__RouteItem *known = diag_route_item(cur, given->id);
            bool repeated = false;
            for (size_t j = 0; j < i && !repeated; j++)
                repeated = strcmp(items[j]->id, given->id) == 0;
            if (known == NULL || repeated) {
                char path[64];
                snprintf(path, sizeof path, "route.items[%zu].id", i);
                validation_add(&o->v, path, known ? "Пункт указан дважды" : "Такого пункта в маршруте нет");
                continue;
            }
            keep = known;
            item->status = known->status;
        } else {
            char id[96];
            snprintf(id, sizeof id, "%s-i%d", next->id, ++next->next_item);
            diag_set(&item->id, id);
            item->status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED;
        }
        diag_set(&item->evidence, keep->evidence);
        diag_set(&item->evidence_name, keep->evidence_name);
        diag_set(&item->evidence_url, keep->evidence_url);
        diag_set(&item->completed_on, keep->completed_on);
        diag_set(&item->document_number, keep->document_number);
        diag_set(&item->qualification_record_id, keep->qualification_record_id);
        item->confirmation = keep->confirmation;
        diag_set(&item->confirmed_by, keep->confirmed_by);
        diag_set(&item->confirmed_at, keep->confirmed_at);
        diag_set(&item->confirmation_comment, keep->confirmation_comment);
        item->overdue = false;
    }
    for (size_t i = 0; i < next->n_items; i++)
        diag_free_message(next->items[i]);
    free(next->items);
    next->items = items;
    next->n_items = req->route->n_items;
}

static void s_route_edit_store(op *o)
{
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    next->status = diag_route_after_step(next->status, DIAG_ROUTE_EDIT, false);
    diag_route_clear_agreement(next);
    diag_route_save(o, "route.updated", NULL);
}

/* The tutor named by an edit, from the registry: a working staff member of the route's region, not the
 * person themselves. */
static void s_tutor_loaded(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    if (status->code == CODE(NOT_FOUND)) {
        validation_add(&o->v, "route.tutorStaffId", "Тьютор не найден в реестре кадров");
        diag_fail_validation(o);
        return;
    }
    if (status->code != CODE(OK)) {
        diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен: тьютор не назначен, повторите позже");
        return;
    }
    const Metodnet__StaffMember *t = (const Metodnet__StaffMember *)response;
    if (!t->active || strcmp(t->region_id, next->region_id) != 0) {
        validation_add(&o->v, "route.tutorStaffId",
                       t->active ? "Тьютор — работник того же региона" : "Тьютор уволен: выберите другого");
        diag_fail_validation(o);
        return;
    }
    char name[320];
    snprintf(name, sizeof name, "%s %s%s%s", t->last_name, t->first_name, *t->middle_name ? " " : "", t->middle_name);
    diag_set(&next->tutor_name, name);
    s_route_edit_store(o);
}

/* The methodologist's edit (draft, proposed or agreed: it returns to the draft and is agreed again):
 * items, the period (starts_on, ends_on), the tutor (tutor_staff_id, "" removes). */
void diag_route_edit(op *o)
{
    const Metodnet__UpdateRouteRequest *req = (const Metodnet__UpdateRouteRequest *)o->request;
    Metodnet__Route *cur = (Metodnet__Route *)o->current;
    if (req->route == NULL || req->n_update_mask == 0) {
        diag_fail(o, CODE(INVALID_ARGUMENT), "Укажите поля, которые нужно изменить");
        return;
    }
    static const char *const allowed[] = {"items", "starts_on", "ends_on", "tutor_staff_id"};
    for (size_t i = 0; i < req->n_update_mask; i++) {
        bool known = false;
        for (size_t j = 0; j < sizeof allowed / sizeof allowed[0] && !known; j++)
            known = strcmp(req->update_mask[i], allowed[j]) == 0;
        if (!known)
            validation_add(&o->v, "route",
                           "Изменить можно пункты (items), период (startsOn, endsOn) и тьютора (tutorStaffId)");
    }
    if (req->route->n_items > 200)
        validation_add(&o->v, "route.items", "Не больше 200 пунктов");
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    const char *refusal = diag_route_lifecycle_refusal(cur->status, DIAG_ROUTE_EDIT, false);
    if (refusal) {
        diag_fail(o, CODE(CONFLICT), refusal);
        return;
    }
    o->next = pbfield_clone(o->current);
    Metodnet__Route *next = (Metodnet__Route *)o->next;
    char *const *mask = req->update_mask;
    size_t n_mask = req->n_update_mask;
    if (diag_in_mask(mask, n_mask, "starts_on"))
        diag_set(&next->starts_on, req->route->starts_on);
    if (diag_in_mask(mask, n_mask, "ends_on"))
        diag_set(&next->ends_on, req->route->ends_on);
    int start = 0, end = 0;
    bool ok_start = validate_date(&o->v, "route.startsOn", next->starts_on, false, &start);
    bool ok_end = validate_date(&o->v, "route.endsOn", next->ends_on, false, &end);
    if (ok_start && ok_end && *next->starts_on && *next->ends_on && end < start)
        validation_add(&o->v, "route.endsOn", "Окончание маршрута не может быть раньше его начала");
    /* items due after the end: refused when this edit sets the end; otherwise the period grows to hold them
     * (older clients add items without knowing the period) */
    bool strict_end = diag_in_mask(mask, n_mask, "ends_on") && *next->ends_on && ok_end;
    if (diag_in_mask(mask, n_mask, "items"))
        s_route_edit_items(o, next, strict_end ? end : 0);
    for (size_t i = 0; !strict_end && *next->ends_on && i < next->n_items; i++)
        if (date_parse(next->items[i]->due_on, NULL) && strcmp(next->items[i]->due_on, next->ends_on) > 0)
            diag_set(&next->ends_on, next->items[i]->due_on);
    bool tutor_changed =
        diag_in_mask(mask, n_mask, "tutor_staff_id") && strcmp(req->route->tutor_staff_id, cur->tutor_staff_id) != 0;
    if (tutor_changed) {
        diag_set(&next->tutor_staff_id, req->route->tutor_staff_id);
        diag_set(&next->tutor_name, "");
        char region[4];
        if (*next->tutor_staff_id &&
            (!diag_staff_id_ok(next->tutor_staff_id, region) || strcmp(region, next->region_id) != 0))
            validation_add(&o->v, "route.tutorStaffId", "Тьютор — работник того же региона, например «%s-s12»",
                           next->region_id);
        else if (strcmp(next->tutor_staff_id, next->staff_id) == 0)
            validation_add(&o->v, "route.tutorStaffId", "Педагог не может быть тьютором собственного маршрута");
    }
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    if (!tutor_changed || *next->tutor_staff_id == '\0') {
        s_route_edit_store(o);
        return;
    }
    if (service_client_get_as_system(o->d->registry, "registry", "GetStaff", next->tutor_staff_id,
                                     &metodnet__staff_member__descriptor, service_call_request_id(o->call),
                                     s_tutor_loaded, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
}
