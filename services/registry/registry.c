/* registry — the registry service: its kinds (registry_kinds, registry_catalogue) served by the
 * one entity flow of common/entity_kind.h, its imports and exports (registry_import), and the lookup
 * other services use (registry_resolve). What is the registry's own here: the method table, the
 * claims policy for external ids (registry_claim_guard: one answer when taken, audit and a limit when
 * a record outside the caller's scope holds it) and the CSV export sink.
 */
#include "registry.h"

#include <stdlib.h>

#include "audit.h"
#include "entity_kind.h"
#include "entity_store.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_claim_guard.h"
#include "registry_import.h"
#include "registry_import.pb-c.h"
#include "registry_kinds.h"
#include "registry_protocol.h"
#include "registry_resolve.h"
#include "registry_service.pb-c.h"

struct registry {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    registry_claim_guard *claim_guard;
    entity_claim_policy claims;
    entity_engine engine;
};

/* ---------- the claims policy: external ids ---------- */

static int s_claim_budget(void *ud, service_call *call, void (*cb)(int, int, int32_t, void *), void *cb_ud)
{
    registry *reg = ud;
    return registry_claim_guard_budget(reg->claim_guard, call, cb, cb_ud);
}

static void s_claim_refused(void *ud, service_call *call, const char *audit_kind, const char *holder_id,
                            const char *region)
{
    registry *reg = ud;
    registry_claim_guard_refused(reg->claim_guard, call, audit_kind, holder_id, region);
}

/* ---------- the CSV export sink (registry_import.h) ---------- */

static void *s_export_open(service_call *call, entity_store *store, const entity_kind *kind)
{
    return registry_export_new(call, store, kind);
}

static bool s_export_add(void *sink, ProtobufCMessage *entity)
{
    return registry_export_add(sink, entity);
}

static void s_export_finish(void *sink)
{
    registry_export_finish(sink);
}

static void s_export_fail(void *sink, Metodnet__StatusCode code, const char *message_ru)
{
    registry_export_fail(sink, code, message_ru);
}

static const entity_export_sink s_csv_export = {
    .open = s_export_open,
    .add = s_export_add,
    .finish = s_export_finish,
    .fail = s_export_fail,
    .max_rows = REGISTRY_EXPORT_MAX_ROWS,
};

/* ---------- the method table ---------- */

/* Handlers of one kind; a kind without some operation (memberships are never updated) leaves them
 * unused. */
#define REGISTRY_HANDLERS(Kind, kind_var)                                                                              \
    __attribute__((unused)) static void s_create_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_create(&((registry *)ud)->engine, c, r, &kind_var);                                                     \
    }                                                                                                                  \
    __attribute__((unused)) static void s_get_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)             \
    {                                                                                                                  \
        entity_get(&((registry *)ud)->engine, c, r, &kind_var, "id");                                                  \
    }                                                                                                                  \
    __attribute__((unused)) static void s_update_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_update(&((registry *)ud)->engine, c, r, &kind_var, "id");                                               \
    }                                                                                                                  \
    __attribute__((unused)) static void s_delete_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_delete(&((registry *)ud)->engine, c, r, &kind_var, "id");                                               \
    }                                                                                                                  \
    __attribute__((unused)) static void s_list_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)            \
    {                                                                                                                  \
        entity_list(&((registry *)ud)->engine, c, r, &kind_var, NULL);                                                 \
    }                                                                                                                  \
    __attribute__((unused)) static void s_export_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)          \
    {                                                                                                                  \
        entity_list(&((registry *)ud)->engine, c, r, &kind_var, &s_csv_export);                                        \
    }

REGISTRY_HANDLERS(region, registry_region_kind)
REGISTRY_HANDLERS(municipality, registry_municipality_kind)
REGISTRY_HANDLERS(organization, registry_organization_kind)
REGISTRY_HANDLERS(staff, registry_staff_kind)
REGISTRY_HANDLERS(association, registry_association_kind)
REGISTRY_HANDLERS(membership, registry_membership_kind)
REGISTRY_HANDLERS(council, registry_council_kind)
REGISTRY_HANDLERS(meeting, registry_meeting_kind)
REGISTRY_HANDLERS(programme, registry_programme_kind)
REGISTRY_HANDLERS(qualification, registry_qualification_kind)
REGISTRY_HANDLERS(practice, registry_practice_kind)
REGISTRY_HANDLERS(help_request, registry_help_request_kind)
REGISTRY_HANDLERS(consultation, registry_consultation_kind)
REGISTRY_HANDLERS(decision, registry_decision_kind)

/* Import (registry_import.h): CSV rows written through entity_kind_save. */
#define REGISTRY_IMPORT_HANDLERS(Kind, kind_var)                                                                       \
    static void s_import_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                  \
    {                                                                                                                  \
        registry *reg = ud;                                                                                            \
        registry_import_run(c, r, reg->store, reg->audit, reg->claim_guard, &kind_var);                                \
    }                                                                                                                  \
    static void s_template_##Kind(service_call *c, const ProtobufCMessage *r, void *ud)                                \
    {                                                                                                                  \
        (void)r, (void)ud;                                                                                             \
        registry_import_template(c, &kind_var);                                                                        \
    }

REGISTRY_IMPORT_HANDLERS(organization, registry_organization_kind)
REGISTRY_IMPORT_HANDLERS(staff, registry_staff_kind)

static void s_resolve_staff(service_call *c, const ProtobufCMessage *r, void *ud)
{
    registry_resolve_staff(c, r, ((registry *)ud)->store);
}

static void s_meeting_protocol(service_call *c, const ProtobufCMessage *r, void *ud)
{
    registry_meeting_protocol(c, r, ((registry *)ud)->store);
}

/* Transitions name the record by their own id field. */
static void s_leave_membership(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_transition(&((registry *)ud)->engine, c, r, &registry_membership_kind, "membership_id");
}
static void s_review_practice(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_transition(&((registry *)ud)->engine, c, r, &registry_practice_kind, "id");
}
static void s_act_on_help_request(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_transition(&((registry *)ud)->engine, c, r, &registry_help_request_kind, "id");
}

#define REGISTRY_HANDLERS_OF(Name, Plural, kind)                                                                       \
    {"Create" #Name, s_create_##kind}, {"Get" #Name, s_get_##kind}, {"Update" #Name, s_update_##kind},                 \
        {"Delete" #Name, s_delete_##kind},                                                                             \
    {                                                                                                                  \
        "List" #Plural, s_list_##kind                                                                                  \
    }

static const service_handler_entry s_handlers[] = {
    REGISTRY_HANDLERS_OF(Region, Regions, region),
    REGISTRY_HANDLERS_OF(Municipality, Municipalities, municipality),
    REGISTRY_HANDLERS_OF(Organization, Organizations, organization),
    REGISTRY_HANDLERS_OF(Staff, Staff, staff),
    REGISTRY_HANDLERS_OF(Association, Associations, association),
    {"CreateMembership", s_create_membership},
    {"GetMembership", s_get_membership},
    {"LeaveMembership", s_leave_membership},
    {"ListMemberships", s_list_membership},
    {"ListStaffMemberships", s_list_membership},
    REGISTRY_HANDLERS_OF(Council, Councils, council),
    REGISTRY_HANDLERS_OF(CouncilMeeting, CouncilMeetings, meeting),
    {"CouncilMeetingProtocol", s_meeting_protocol},
    REGISTRY_HANDLERS_OF(Programme, Programmes, programme),
    {"CreateQualificationRecord", s_create_qualification},
    {"GetQualificationRecord", s_get_qualification},
    {"DeleteQualificationRecord", s_delete_qualification},
    {"ListQualificationRecords", s_list_qualification},
    {"ListStaffQualificationRecords", s_list_qualification},
    REGISTRY_HANDLERS_OF(Practice, Practices, practice),
    {"ReviewPractice", s_review_practice},
    REGISTRY_HANDLERS_OF(HelpRequest, HelpRequests, help_request),
    {"ActOnHelpRequest", s_act_on_help_request},
    REGISTRY_HANDLERS_OF(Consultation, Consultations, consultation),
    REGISTRY_HANDLERS_OF(CouncilDecision, CouncilDecisions, decision),
    {"ImportOrganizations", s_import_organization},
    {"ImportStaff", s_import_staff},
    {"ImportTemplateOrganizations", s_template_organization},
    {"ImportTemplateStaff", s_template_staff},
    {"ExportOrganizations", s_export_organization},
    {"ExportStaff", s_export_staff},
    {"ExportMunicipalities", s_export_municipality},
    {"ExportAssociations", s_export_association},
    {"ExportMemberships", s_export_membership},
    {"ExportCouncils", s_export_council},
    {"ExportCouncilMeetings", s_export_meeting},
    {"ExportProgrammes", s_export_programme},
    {"ExportQualificationRecords", s_export_qualification},
    {"ExportPractices", s_export_practice},
    {"ExportHelpRequests", s_export_help_request},
    {"ExportConsultations", s_export_consultation},
    {"ExportCouncilDecisions", s_export_decision},
    {"ResolveStaff", s_resolve_staff},
};

static const service_methods s_service_methods = {&metodnet__registry__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *registry_methods(void)
{
    return &s_service_methods;
}

registry *registry_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    reg->store = entity_store_new(link);
    reg->audit = audit_new(link, "registry");
    reg->claim_guard = registry_claim_guard_new(link, reg->audit);
    reg->claims = (entity_claim_policy){
        .field = "externalId",
        .taken_ru = REGISTRY_EXTERNAL_ID_TAKEN_RU,
        .limit_ru = REGISTRY_CLAIM_LIMIT_RU,
        .budget = s_claim_budget,
        .refused = s_claim_refused,
        .ud = reg,
    };
    reg->engine = (entity_engine){.store = reg->store, .audit = reg->audit, .claims = &reg->claims};
    if (reg->store == NULL || reg->audit == NULL || reg->claim_guard == NULL) {
        registry_claim_guard_destroy(&reg->claim_guard);
        entity_store_destroy(&reg->store);
        audit_destroy(&reg->audit);
        free(reg);
        return NULL;
    }
    reg->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "registry",
                                     cfg->concurrency, cfg->heartbeat, registry_methods(), reg);
    if (reg->worker == NULL) {
        registry_claim_guard_destroy(&reg->claim_guard);
        entity_store_destroy(&reg->store);
        audit_destroy(&reg->audit);
        free(reg);
        return NULL;
    }
    return reg;
}

/* Frees what the registry owns once its worker has stopped. */
static void s_release(void *service)
{
    registry *reg = service;
    registry_claim_guard_destroy(&reg->claim_guard);
    entity_store_destroy(&reg->store);
    audit_destroy(&reg->audit);
    free(reg);
}

void registry_shutdown(registry *reg, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(reg->worker, 3000, s_release, reg, done, ud);
}
