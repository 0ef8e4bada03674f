/* diagnostics — the diagnostics service: competence frameworks, instruments, campaigns, attempts,
 * results, competence profiles and individual educational routes (ИОМ) over MDP, stored through
 * entity_store under the "diag:" prefix. Every handler checks the caller's scope on the object itself
 * (objects about a person carry the person's organizations and municipalities, copied from the
 * registry when the object is made).
 *
 * Methods (request → response, proto/diagnostics.proto):
 *   ListFrameworks, GetFramework(GetRequest), UpdateFramework
 *   CreateInstrument, GetInstrument, UpdateInstrument, ListInstruments
 *   CreateCampaign, GetCampaign, UpdateCampaign, ListCampaigns, OpenCampaign, CloseCampaign,
 *   GetCampaignProgress(GetRequest) → CampaignProgress
 *   StartAttempt, GetAttempt, SaveAnswers, SubmitAttempt, ListAttempts
 *   GetResult(GetRequest) → Result, ListResults, GetCompetenceProfile(GetProfileRequest)
 *   GetRoute, GenerateRoute, UpdateRoute, ApproveRoute, SetRouteItemStatus → Route
 *   ImportResults(ImportResultsRequest) → ImportReport, ImportResultsTemplate → CsvFile
 *     (results of an external diagnostic centre from CSV; diagnostics_import.h, docs/import.md)
 *
 * Key layout (R = region; ids carry their region):
 *   diag:{r:R}:framework:<R>-teacher|manager   framework (absent = the shipped default, version 0)
 *   diag:{r:R}:instrument:<R>-i<n>            diag:{r:R}:ix:instrument          by title
 *   diag:{r:R}:campaign:<R>-c<n>              diag:{r:R}:ix:campaign            by title
 *                                             diag:{r:R}:ix:campaign:instrument:<id>
 *   diag:{r:R}:attempt:<R>-c<n>-s<m>          diag:{r:R}:ix:attempt:campaign:<c> by organization
 *     (one per campaign and person;           diag:{r:R}:ix:result, …:ix:result:staff:<s>,
 *      the result lives in the attempt)       …:ix:result:campaign:<c>          newest first
 *   diag:{r:R}:route:<staff id>               diag:{r:R}:ix:route
 *   diag:{r:R}:seq:instrument|campaign        diag:{r:R}:events (result.completed, route_item.done, …)
 */
#ifndef METODNET_DIAGNOSTICS_H
#define METODNET_DIAGNOSTICS_H

#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct diagnostics diagnostics;

/* link is borrowed and must outlive the service. Returns NULL on failure. */
diagnostics *diagnostics_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);

/* The method table (for tests and the gateway's route check). */
const service_methods *diagnostics_methods(void);

/* Stops taking requests, lets running ones finish, frees the service, then calls done. */
void diagnostics_shutdown(diagnostics *d, void (*done)(void *ud), void *ud);

#endif
