/* events — the events service: the method table over the entity engine (plans, events, registrations),
 * the home of a new plan or event looked up in the registry through the broker (a school's event lies in
 * the school's municipality; the events service never reads the registry's keys), and the service's
 * lifecycle. The registration flows are in events_registrations.c, the CSV sheets in events_csv.c.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_internal.h"
#include "log.h"
#include "pbfield.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

/* ---------- the home of a new record, from the registry ---------- */

typedef struct {
    events_service *svc;
    service_call *call;
    const ProtobufCMessage *request;
    const entity_kind *kind;
    ProtobufCMessage *entity; /* the request's plan or event */
    const char *field;        /* JSON name of the organization or municipality field, for violations */
    bool organization;
} home_op;

static void s_home_fail(home_op *h, const char *message_ru)
{
    validation v;
    validation_init(&v);
    validation_add(&v, h->field, "%s", message_ru);
    service_call_fail_validation(h->call, &v);
    validation_free(&v);
    free(h);
}

static void s_home_found(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    home_op *h = ud;
    if (status->code == EVENTS_CODE(NOT_FOUND)) {
        s_home_fail(h, h->organization ? "Организация не найдена" : "Муниципалитет не найден");
        return;
    }
    if (status->code != EVENTS_CODE(OK)) {
        log_error(service_call_request_id(h->call), "реестр не ответил: %s", status->message ? status->message : "");
        service_call_fail(h->call, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
        free(h);
        return;
    }
    if (h->organization)
        pbfield_set_string(h->entity, "municipality_id", ((const Metodnet__Organization *)response)->municipality_id);
    entity_create(&h->svc->engine, h->call, h->request, h->kind);
    free(h);
}

/* A create of a plan or an event (entity: the request's, level and home fields of it): the organization
 * of a school-level one gives its municipality; a municipality named must exist. Then the engine's
 * create. */
static void s_create_at_home(events_service *svc, service_call *call, const ProtobufCMessage *request,
                             const entity_kind *kind, ProtobufCMessage *entity, Metodnet__HomeLevel level,
                             const char *organization, const char *municipality, const char *organization_json)
{
    bool by_organization =
        entity && level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL && events_set(organization);
    bool by_municipality = entity && level == METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL && events_set(municipality);
    if ((!by_organization && !by_municipality) || !id_valid(by_organization ? organization : municipality)) {
        entity_create(&svc->engine, call, request, kind); /* the engine's validation answers */
        return;
    }
    home_op *h = xcalloc(1, sizeof *h);
    *h = (home_op){
        svc, call, request, kind, entity, by_organization ? organization_json : "municipalityId", by_organization};
    if (service_client_get_as_system(svc->broker, "registry", by_organization ? "GetOrganization" : "GetMunicipality",
                                     (char *)(by_organization ? organization : municipality),
                                     by_organization ? &metodnet__organization__descriptor
                                                     : &metodnet__municipality__descriptor,
                                     service_call_request_id(call), s_home_found, h) != 0) {
        service_call_fail(call, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
        free(h);
    }
}

/* ---------- the method table ---------- */

#define SVC(ud) ((events_service *)(ud))

static void s_create_plan(service_call *c, const ProtobufCMessage *r, void *ud)
{
    Metodnet__EventPlan *p = ((const Metodnet__CreateEventPlanRequest *)r)->plan;
    s_create_at_home(SVC(ud), c, r, &events_plan_kind, p ? &p->base : NULL, p ? p->level : 0,
                     p ? p->organization_id : NULL, p ? p->municipality_id : NULL, "organizationId");
}
static void s_create_event(service_call *c, const ProtobufCMessage *r, void *ud)
{
    Metodnet__Event *e = ((const Metodnet__CreateEventRequest *)r)->event;
    s_create_at_home(SVC(ud), c, r, &events_event_kind, e ? &e->base : NULL, e ? e->level : 0,
                     e ? e->organizer_organization_id : NULL, e ? e->municipality_id : NULL, "organizerOrganizationId");
}

#define EVENTS_HANDLERS(Kind, kind_var)                                                                                \
    static void s_get_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                     \
    {                                                                                                                  \
        entity_get(&SVC(ud)->engine, c, r, &kind_var, "id");                                                           \
    }                                                                                                                  \
    static void s_list_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                    \
    {                                                                                                                  \
        entity_list(&SVC(ud)->engine, c, r, &kind_var, NULL);                                                          \
    }                                                                                                                  \
    static void s_export_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                  \
    {                                                                                                                  \
        entity_list(&SVC(ud)->engine, c, r, &kind_var, &events_csv_export);                                            \
    }                                                                                                                  \
    __attribute__((unused)) static void s_transition_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)      \
    {                                                                                                                  \
        entity_transition(&SVC(ud)->engine, c, r, &kind_var, "id");                                                    \
    }                                                                                                                  \
    __attribute__((unused)) static void s_update_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_update(&SVC(ud)->engine, c, r, &kind_var, "id");                                                        \
    }                                                                                                                  \
    __attribute__((unused)) static void s_delete_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_delete(&SVC(ud)->engine, c, r, &kind_var, "id");                                                        \
    }

EVENTS_HANDLERS(plan, events_plan_kind)
EVENTS_HANDLERS(event, events_event_kind)
EVENTS_HANDLERS(registration, events_registration_kind)

static void s_register(service_call *c, const ProtobufCMessage *r, void *ud)
{
    events_register(SVC(ud), c, r);
}
static void s_cancel_registration(service_call *c, const ProtobufCMessage *r, void *ud)
{
    events_cancel_registration(SVC(ud), c, r);
}
static void s_mark_attendance(service_call *c, const ProtobufCMessage *r, void *ud)
{
    events_mark_attendance(SVC(ud), c, r);
}

static const service_handler_entry s_handlers[] = {
    {"CreateEventPlan", s_create_plan},
    {"GetEventPlan", s_get_plan},
    {"UpdateEventPlan", s_update_plan},
    {"DeleteEventPlan", s_delete_plan},
    {"ListEventPlans", s_list_plan},
    {"ApproveEventPlan", s_transition_plan},
    {"ExportEventPlans", s_export_plan},
    {"CreateEvent", s_create_event},
    {"GetEvent", s_get_event},
    {"UpdateEvent", s_update_event},
    {"DeleteEvent", s_delete_event},
    {"ListEvents", s_list_event},
    {"ExportEvents", s_export_event},
    {"PublishEvent", s_transition_event},
    {"CancelEvent", s_transition_event},
    {"FinishEvent", s_transition_event},
    {"CreateRegistration", s_register},
    {"ListEventRegistrations", s_list_registration},
    {"ExportEventRegistrations", s_export_registration},
    {"MarkAttendance", s_mark_attendance},
    {"GetRegistration", s_get_registration},
    {"CancelRegistration", s_cancel_registration},
    {"ListStaffRegistrations", s_list_registration},
};

static const service_methods s_service_methods = {&metodnet__events__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *events_methods(void)
{
    return &s_service_methods;
}

/* ---------- lifecycle ---------- */

static void s_free_parts(events_service *svc)
{
    service_client_destroy(&svc->broker);
    entity_store_destroy(&svc->store);
    audit_destroy(&svc->audit);
    free(svc);
}

events_service *events_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    events_service *svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        return NULL;
    svc->link = link;
    svc->store = entity_store_new(link);
    svc->audit = audit_new(link, "events");
    svc->broker = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    svc->engine = (entity_engine){.store = svc->store, .audit = svc->audit, .claims = NULL, .ud = svc};
    if (svc->store == NULL || svc->audit == NULL || svc->broker == NULL || events_scripts_load(svc) != 0) {
        s_free_parts(svc);
        return NULL;
    }
    svc->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "events",
                                     cfg->concurrency, cfg->heartbeat, events_methods(), svc);
    if (svc->worker == NULL) {
        s_free_parts(svc);
        return NULL;
    }
    events_csv_bind(svc);
    return svc;
}

static void s_release(void *service)
{
    s_free_parts(service);
}

void events_shutdown(events_service *svc, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(svc->worker, 3000, s_release, svc, done, ud);
}
