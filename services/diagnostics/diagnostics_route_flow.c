/* diagnostics_route_flow — the route's agreement and the confirmation of its items (issue 12; 001 п.8,
 * п.14.1, п.17; 002 «добровольность участия и свободу выбора»): propose a draft, the teacher agrees or
 * sends it back, the methodologist or the tutor confirms a done item the teacher marked (only then the
 * qualification record is made), and the versions kept by regenerations. The dispatch, the scope checks
 * and the save are diagnostics_routes.c's; the rules diagnostics_rules.c's. */
#include "diagnostics_internal.h"
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
