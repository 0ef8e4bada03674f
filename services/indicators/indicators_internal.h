/* indicators_internal — what the files of the indicators service share.
 *
 * Keys (all "ind:{r:R}:…", the region's hash tag, so a script may touch them with the source stream):
 *   p:<staff> person facts; ppl:<scope> active people of an organization, municipality or region;
 *   o:<org> organization facts; orgs:<scope>; muns; m:<mun>; camp (campaign → independent);
 *   res:<staff>, q:<staff>, mem:<staff>, att:<staff>, route:<staff>, pair:<staff> a person's results,
 *   completions, memberships, attendances, route items, pairs; prog:<id>, a:<id>, assocs:<scope>, ev:<id>,
 *   sp:<id>, sps:<scope>; owner (record → its person, for deletes); applied (entity → last applied entry);
 *   people (every stored person); mt (mentor → day certified); pr:<pair>; reverse sets eva:<event>,
 *   spe:<support programme> (its events), spp:<support programme>, pgp:<programme>, cpp:<campaign>,
 *   asp:<association>, mtp:<mentor> (the people whose contribution a change of that record may change);
 *   periods (zset: registered period key → last read, ms), per:<K> (start, end, age, state building|ready,
 *   total), per:<K>:todo (people the scan has not counted yet), ck:<K> (buckets with counters),
 *   c:<K>:<bucket> (the counters, lua/person.lua);
 *   targets (indicator → target); dead (the dead-letter stream); snap:<id>, snapseq, snapver:<scope|period>,
 *   snaps (index); rec:<id>, recs (index), recseq.
 * A full recompute writes the same layout under "ind:{r:R}:chk:" and compares (indicators_recompute.c).
 */
#ifndef METODNET_INDICATORS_INTERNAL_H
#define METODNET_INDICATORS_INTERNAL_H

#include "envelope.pb-c.h"
#include "indicators.h"
#include "indicators.pb-c.h"
#include "indicators_service.pb-c.h"
#include "service_client.h"

#define IND_CODE(x)     METODNET__STATUS_CODE__STATUS_CODE_##x
#define IND_GROUP       "indicators"
#define IND_MAX_REGIONS 64
#define IND_DEAD_AFTER  3 /* deliveries before an entry goes to the dead-letter stream */

typedef struct ind_consumer ind_consumer;

struct indicators_service {
    service_worker *worker;
    service_client *broker;
    redis_link *link; /* requests */
    ind_consumer *consumer;
    struct redis_script *apply_script;
    struct redis_script *values_script;
    struct redis_script *dead_script;
    struct redis_script *drop_script;
    struct redis_script *compare_script;
    uv_loop_t *loop;
};

/* An "apply" of one entity state: the op and its args (apply.lua). n == 0: nothing to apply (ack only). */
#define IND_MAX_ARGS 512
typedef struct {
    char entity[160];
    char op[24];
    size_t n;
    char *args[IND_MAX_ARGS];
} ind_fact;

/* One DomainEvent (packed) of the stream of prefix ("reg", "diag", "ev") → the fact. 0, -1 when the
 * bytes are not a DomainEvent or its entity does not decode (a poison entry). */
int ind_fact_from_event(const char *prefix, const uint8_t *data, size_t len, ind_fact *out);
/* The same from an entity message itself (the recompute's list replies): type is "<kind>.updated". */
int ind_fact_from_entity(const char *type, const char *entity_id, const ProtobufCMessage *entity, ind_fact *out);
void ind_fact_free(ind_fact *f);

/* Runs apply.lua for one fact with prefix "ind:{r:R}:" (or the recompute's), acknowledging entry of stream
 * (stream NULL: no ack). */
int ind_apply(indicators_service *svc, redis_link *link, const char *stream, const char *entry,
              const char *state_prefix, const char *applied_key, const ind_fact *f, redis_link_reply_cb cb, void *ud);

ind_consumer *ind_consumer_new(indicators_service *svc, const config *cfg);
void ind_consumer_destroy(ind_consumer **c);

/* Lua sources (indicators_lua.c, generated from lua/ *.lua by CMake). */
extern const char ind_lua_person[];
extern const char ind_lua_apply_own[];
extern const char ind_lua_values_own[];
extern const char ind_lua_apply[];
extern const char ind_lua_values[];
extern const char ind_lua_dead[];
extern const char ind_lua_drop[];
extern const char ind_lua_compare[];

/* Values (indicators_values.c): computes the values of a request into resp; cb(status, ud). */
typedef void (*ind_values_cb)(Metodnet__StatusCode code, const char *message_ru,
                              Metodnet__GetIndicatorValuesResponse *resp, void *ud);
void ind_values_compute(indicators_service *svc, const char *state_prefix, const char *region, const char *scope_kind,
                        const char *scope_id, const char *period, const char *indicator, const char *by,
                        ind_values_cb cb, void *ud);
void ind_values_free(Metodnet__GetIndicatorValuesResponse *resp);

void ind_recompute(indicators_service *svc, service_call *call, const Metodnet__RecomputeRequest *req);

/* indicators_snapshots.c: the scope is resolved and checked by the caller */
void ind_snapshot_create(indicators_service *svc, service_call *call, const char *region, const char *kind,
                         const char *scope, const Metodnet__CreateSnapshotRequest *req);
void ind_snapshot_list(indicators_service *svc, service_call *call, const char *region,
                       const Metodnet__ListSnapshotsRequest *req);
void ind_snapshot_get(indicators_service *svc, service_call *call, const char *id);
/* indicators_recommendations.c */
void ind_recommendations_list(indicators_service *svc, service_call *call, const char *region, const char *kind,
                              const char *scope, const Metodnet__ListRecommendationsRequest *req);
void ind_recommendation_status(indicators_service *svc, service_call *call,
                               const Metodnet__SetRecommendationStatusRequest *req);

#endif
