/* monitoring_internal — what the monitoring service's files share: the campaign kind and the form rules
 * (monitoring_kinds.c), the report flows and their scripts (monitoring_reports.c), the service, open and
 * close (monitoring.c). Not a public header.
 *
 * Keys (prefix "mon", region R; all in the slot {r:R}): mon:{r:R}:campaign:<id> the campaign (entity
 * engine, id letter 'c'; its attribute string carries "st:<status>", "due:<deadline>", "ro:<0|1>" for the
 * scripts); mon:{r:R}:req:<campaign> organization → municipality (the scope, fixed at open);
 * mon:{r:R}:rs:<campaign> organization → report status; mon:{r:R}:report:<campaign>:<organization> a
 * report (hash: v version, d packed values, s status, c complete 0/1, x missing codes, m municipality,
 * meta fields); mon:{r:R}:snap:<campaign>:<version> a snapshot (hash: organization → packed values, and
 * the meta fields "@at", "@period", "@required", "@ind"); mon:{r:R}:events the domain events.
 */
#ifndef METODNET_MONITORING_INTERNAL_H
#define METODNET_MONITORING_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "entity_kind.h"
#include "entity_store.h"
#include "monitoring.pb-c.h"
#include "monitoring_service.pb-c.h"
#include "service_client.h"
#include "service_worker.h"

#define MON_KEY_MAX     200
#define MON_MAX_FIELDS  100
#define MON_MAX_OPTIONS 50
#define MON_MAX_TEXT    4000
#define MON_MAX_ORGS    20000
#define MON_FORM_CACHE  64

#define MON_CODE(name) METODNET__STATUS_CODE__STATUS_CODE_##name

extern const entity_kind monitoring_campaign_kind;
extern const char *const monitoring_unavailable_ru;

/* A campaign's form, kept once the campaign is open (the form is frozen then), so a submit validates
 * without reading the campaign. */
typedef struct {
    char id[72];
    Metodnet__MonitoringCampaign *campaign;
} monitoring_form_slot;

typedef struct monitoring_service {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    entity_engine engine;
    service_client *broker; /* the registry (the scope at open), the indicators service (at close) */
    redis_link *link;
    struct redis_script *save_script;
    struct redis_script *review_script;
    struct redis_script *scope_script;
    struct redis_script *snapshot_script;
    struct redis_script *overview_script;
    struct redis_script *figures_script;
    monitoring_form_slot forms[MON_FORM_CACHE];
    size_t next_form;
} monitoring_service;

bool mon_set(const char *s);
bool mon_eq(const char *a, const char *b);
void mon_replace(char **slot, const char *value);
/* "mon:{r:<region>}:<what>:<id>". */
void mon_key(char *out, size_t size, const char *region, const char *what, const char *id);

/* Whether caller manages campaigns of that owner (municipality NULL/"" = the region): the region's
 * administrators, the municipality's methodologists. */
bool monitoring_manages(const Metodnet__Principal *caller, const char *region, const char *municipality);
/* Whether caller reviews (approves, returns) reports of schools of that municipality. */
bool monitoring_reviews(const Metodnet__Principal *caller, const char *region, const char *municipality);
/* Whether caller fills in the report of that organization (its school administrator). */
bool monitoring_reports_for(const Metodnet__Principal *caller, const char *region, const char *organization);

/* Validates values against the campaign's form (path "values[i].value"); missing gets the codes of
 * required fields left empty (malloc'd strings, *n_missing). */
void monitoring_check_values(const Metodnet__MonitoringCampaign *c, Metodnet__FieldValue *const *values,
                             size_t n_values, validation *v, char ***missing, size_t *n_missing);
/* The shipped form templates. */
void monitoring_templates(Metodnet__ListFormTemplatesResponse *out);
void monitoring_templates_free(Metodnet__ListFormTemplatesResponse *out);
/* Copies the template's fields into the campaign; false for an unknown code. */
bool monitoring_apply_template(Metodnet__MonitoringCampaign *c, const char *code);

/* Reports (monitoring_reports.c). */
void monitoring_get_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request);
void monitoring_save_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request, bool submit);
void monitoring_review_report(monitoring_service *svc, service_call *call, const ProtobufCMessage *request,
                              bool approve);
void monitoring_list_reports(monitoring_service *svc, service_call *call, const ProtobufCMessage *request);
void monitoring_progress(monitoring_service *svc, service_call *call, const ProtobufCMessage *request);
int monitoring_scripts_load(monitoring_service *svc);
/* rpc CampaignFigures (monitoring_figures.c): system callers only. */
void monitoring_figures(monitoring_service *svc, service_call *call, const ProtobufCMessage *request);
/* The campaign of a report from the form cache, or loaded (then cached when open): cb(campaign or
 * NULL with code/message). */
typedef void (*monitoring_campaign_cb)(const Metodnet__MonitoringCampaign *c, Metodnet__StatusCode code,
                                       const char *message_ru, void *ud);
void monitoring_campaign(monitoring_service *svc, const char *id, bool cached, monitoring_campaign_cb cb, void *ud);

/* Snapshots (monitoring.c). */
void monitoring_campaign_stored(void *ud, service_call *call, const ProtobufCMessage *current,
                                const ProtobufCMessage *next);

#endif
