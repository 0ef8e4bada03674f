/* diagnostics_nominations — a school nominates its staff to a campaign (issue 12; 001 п.14.1
 * «направляют … для участия в процедуре диагностики»): NominateStaff checks every person with the
 * registry (the caller's scope, the campaign's region or municipality, still working), then writes one
 * assigned attempt per nominee (the campaign expects them; StartAttempt finds it). All or nothing: one
 * refused person refuses the request, nothing is written. */
#include "diagnostics_internal.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

#define NOMINATE_MAX 200

static void s_nominate_write(op *o);

static void s_nominate_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    op *o = ud;
    Metodnet__NominateStaffResponse *resp = (Metodnet__NominateStaffResponse *)o->next;
    const char *id = o->assignees[o->next_assignee - 1].id;
    if (result == ENTITY_OK) {
        resp->nominated = xrealloc(resp->nominated, (resp->n_nominated + 1) * sizeof *resp->nominated);
        resp->nominated[resp->n_nominated++] = diag_strdup(id);
    } else if (result == ENTITY_EXISTS) {
        resp->already = xrealloc(resp->already, (resp->n_already + 1) * sizeof *resp->already);
        resp->already[resp->n_already++] = diag_strdup(id);
    } else {
        log_error(service_call_request_id(o->call), "выдвижение не записано: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), "Не все выдвижения записаны: повторите — уже выдвинутые не повторятся");
        return;
    }
    s_nominate_write(o);
}

static void s_nominate_write(op *o)
{
    if (o->next_assignee >= o->n_assignees) {
        if (o->n_assignees > 0)
            diag_audit(o->d, o->call, "update", "campaign", o->campaign->id, o->campaign->region_id);
        diag_reply(o, o->next);
        return;
    }
    if (diag_issue_attempt(o, o->campaign, o->campaign->instrument_version, s_nominate_written) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

static void s_nominee_loaded(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    op *o = ud;
    size_t i = o->query_index++;
    const Metodnet__NominateStaffRequest *req = (const Metodnet__NominateStaffRequest *)o->request;
    char path[64];
    snprintf(path, sizeof path, "staffIds[%zu]", i);
    const Metodnet__StaffMember *s = status->code == CODE(OK) ? (const Metodnet__StaffMember *)response : NULL;
    if (status->code != CODE(OK) && status->code != CODE(NOT_FOUND)) {
        o->failed = true;
    } else if (s == NULL ||
               !diag_person_allows(o->caller, s->region_id, s->id, s->organization_ids, s->n_organization_ids,
                                   s->municipality_ids, s->n_municipality_ids, SCOPE_WRITE)) {
        validation_add(&o->v, path, "Сотрудник «%.40s» не найден среди работников, которых вы можете выдвинуть",
                       req->staff_ids[i]);
    } else if (!s->active) {
        validation_add(&o->v, path, "Сотрудник «%.40s» уволен", s->id);
    } else if (strcmp(s->region_id, o->campaign->region_id) != 0) {
        validation_add(&o->v, path, "Сотрудник другого региона");
    } else {
        const char *mun = o->campaign->municipality_id;
        bool in_mun = *mun == '\0';
        for (size_t j = 0; j < s->n_municipality_ids && !in_mun; j++)
            in_mun = strcmp(s->municipality_ids[j], mun) == 0;
        if (!in_mun)
            validation_add(&o->v, path, "Сотрудник не работает в муниципалитете кампании «%s»", mun);
        else {
            assignee *a = &o->assignees[o->n_assignees++];
            diag_assignee_of(a, s);
            snprintf(a->nominated_by, sizeof a->nominated_by, "%s", o->caller->user_id);
        }
    }
    if (o->query_index < req->n_staff_ids) {
        if (service_client_get_as_system(o->d->registry, "registry", "GetStaff", req->staff_ids[o->query_index],
                                         &metodnet__staff_member__descriptor, service_call_request_id(o->call),
                                         s_nominee_loaded, o) != 0)
            diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
        return;
    }
    if (o->failed) {
        diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен: никто не выдвинут, повторите позже");
        return;
    }
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    Metodnet__NominateStaffResponse *resp = xmalloc(sizeof *resp);
    metodnet__nominate_staff_response__init(resp);
    resp->campaign_id = diag_strdup(o->campaign->id);
    o->next = &resp->base;
    o->next_assignee = 0;
    s_nominate_write(o);
}

static void s_nominate_campaign_loaded(op *o)
{
    const Metodnet__NominateStaffRequest *req = (const Metodnet__NominateStaffRequest *)o->request;
    Metodnet__Campaign *c = o->campaign;
    if (!diag_region_readable(o->caller, c->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    Metodnet__Role role = o->caller->role;
    if (!scope_is_global(o->caller) && role != METODNET__ROLE__ROLE_REGION_ADMIN &&
        role != METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST && role != METODNET__ROLE__ROLE_SCHOOL_ADMIN) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  "На диагностику выдвигает образовательная организация (администратор школы) или методист");
        return;
    }
    if (c->status == METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED) {
        diag_fail(o, CODE(CONFLICT), "Кампания закрыта: выдвигать на неё поздно");
        return;
    }
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN) {
        diag_fail(o, CODE(CONFLICT), "Кампания ещё не открыта: выдвигать можно после её открытия");
        return;
    }
    if (req->n_staff_ids == 0 || req->n_staff_ids > NOMINATE_MAX)
        validation_add(&o->v, "staffIds", "Укажите от 1 до %d сотрудников", NOMINATE_MAX);
    for (size_t i = 0; i < req->n_staff_ids && i < NOMINATE_MAX; i++) {
        char path[64], region[4];
        snprintf(path, sizeof path, "staffIds[%zu]", i);
        if (!diag_staff_id_ok(req->staff_ids[i], region))
            validation_add(&o->v, path, "Идентификатор сотрудника, например «%s-s12»", c->region_id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->staff_ids[i], req->staff_ids[j]) == 0)
                validation_add(&o->v, path, "Сотрудник указан дважды");
    }
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    o->assignees = xcalloc(req->n_staff_ids, sizeof *o->assignees);
    o->n_assignees = 0;
    o->query_index = 0;
    if (service_client_get_as_system(o->d->registry, "registry", "GetStaff", req->staff_ids[0],
                                     &metodnet__staff_member__descriptor, service_call_request_id(o->call),
                                     s_nominee_loaded, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
}

void diag_nominate_staff(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__NominateStaffRequest *req = (const Metodnet__NominateStaffRequest *)request;
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (!diag_key("campaign", req->campaign_id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, (ProtobufCMessage **)&o->campaign, diag_campaign_not_found_ru,
              s_nominate_campaign_loaded);
}
