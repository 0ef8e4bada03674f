/* indicators_own — what the own indicators (indicators_formulas.c), the exports (indicators_export.c) and
 * the yearly report (indicators_report.c) share. Own indicators of a region are stored packed in the hash
 * ind:{r:R}:own (code → Indicator with own = true, numerator/denominator = the formulas) with their
 * versions in ind:{r:R}:ownver; their targets live with the catalogue's in ind:{r:R}:targets.
 */
#ifndef METODNET_INDICATORS_OWN_H
#define METODNET_INDICATORS_OWN_H

#include "indicators_internal.h"
#include "monitoring_service.pb-c.h"

#define IND_OWN_MAX 100 /* own indicators per region */

struct formula;

/* The region's own indicators as read from ind:{r:R}:own (sorted by code; one that no longer parses is
 * skipped with a log line). */
typedef struct {
    Metodnet__Indicator *def;  /* unpacked, owned */
    struct formula *num, *den; /* den NULL: none */
} ind_own_def;
typedef struct {
    ind_own_def *items;
    size_t n;
} ind_own_set;
void ind_own_set_load(const redisReply *own, const redisReply *ver, ind_own_set *out);
void ind_own_set_free(ind_own_set *s);
const ind_own_def *ind_own_set_find(const ind_own_set *s, const char *code);

/* Base metric names: I<n>.num / I<n>.den → the catalogue index (den set), -2 for the .den of a count,
 * -1 otherwise; "campaign.<code>[.count]" → code; the scope's counts. */
int ind_base_catalogue_name(const char *id, bool *den);
bool ind_base_campaign_name(const char *id, char *code, size_t size, bool *count);
#define IND_BASE_COUNTS 5
extern const char
    *const ind_base_counts[IND_BASE_COUNTS]; /* teachers, managers, staff, young_teachers, organizations */

/* The values of a request with the region's own indicators evaluated too (scope and by-children rows;
 * not by subject). indicator: "" (all), a catalogue code (that one only) or an own code (that one only).
 * INVALID_ARGUMENT's message names the field in field_out ("period" or "indicator"). */
typedef void (*ind_full_cb)(Metodnet__StatusCode code, const char *field, const char *message_ru,
                            Metodnet__GetIndicatorValuesResponse *resp, void *ud);
void ind_values_full(indicators_service *svc, const char *region, const char *kind, const char *scope,
                     const char *period, const char *indicator, const char *by, ind_full_cb cb, void *ud);

/* GetIndicatorValues once its scope is resolved and checked (indicators.c): JSON, or a CSV/XLSX file. */
void ind_values_request(indicators_service *svc, service_call *call, const char *region, const char *kind,
                        const char *scope, const Metodnet__GetIndicatorValuesRequest *req);

/* ListIndicators: the catalogue and the region's own indicators, with targets. */
void ind_catalogue_list(indicators_service *svc, service_call *call, const char *region);
/* The catalogue and own indicators into resp (malloc'd, ind_catalogue_free); cb(ok, ud). */
typedef void (*ind_catalogue_cb)(bool ok, Metodnet__ListIndicatorsResponse *resp, void *ud);
void ind_catalogue_load(indicators_service *svc, const char *region, ind_catalogue_cb cb, void *ud);
void ind_catalogue_free(Metodnet__ListIndicatorsResponse *resp);

/* CreateIndicator, UpdateIndicator, DeleteIndicator (the region's administrator). */
void ind_own_create(indicators_service *svc, service_call *call, const Metodnet__CreateIndicatorRequest *req);
void ind_own_update(indicators_service *svc, service_call *call, const Metodnet__UpdateIndicatorRequest *req);
void ind_own_delete(indicators_service *svc, service_call *call, const Metodnet__DeleteIndicatorRequest *req);
/* SetIndicatorTarget of an own code (the caller checked as the region's administrator of region). */
void ind_own_target(indicators_service *svc, service_call *call, const char *region,
                    const Metodnet__SetIndicatorTargetRequest *req);
/* Stores a target (indicators.c): HSET targets, HINCRBY targetver, the IndicatorTarget answered. */
void ind_target_store(indicators_service *svc, service_call *call, const char *region, const char *code, double target);
/* The Lua source of the own indicators' script, for tests/unit/test_redis_acl.c. */
const char *const *indicators_lua_own(size_t *n);

/* Exports (indicators_export.c): the table of a values response as CSV or XLSX into file (malloc'd
 * parts); names: the catalogue (for indicator names), may be NULL. 0, or -1 with a Russian message. */
int ind_export_values(const Metodnet__GetIndicatorValuesResponse *resp, const Metodnet__ListIndicatorsResponse *names,
                      const char *format, const char *scope_name, Metodnet__FileBody *file);
/* A number as Russian text: one decimal (or none for a whole count), a decimal comma. */
void ind_format_number(double v, int decimals, char *out, size_t size);
/* YYYY-MM-DD → ДД.ММ.ГГГГ */
void ind_format_date(const char *ymd, char *out, size_t size);
/* Reads a whole file into file->content (and unlinks it); 0 or -1. */
int ind_file_slurp(const char *path, Metodnet__FileBody *file);

/* The yearly report (indicators_report.c), its scope resolved and checked. */
void ind_yearly_report(indicators_service *svc, service_call *call, const char *region, const char *kind,
                       const char *scope, const Metodnet__YearlyReportRequest *req);

#endif
