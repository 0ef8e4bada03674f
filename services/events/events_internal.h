/* events_internal — what the events service's files share: the kinds (events_kinds.c), the service
 * and its lookups through the broker (events.c), the registration flows and their Lua script
 * (events_registrations.c), the CSV sheets (events_csv.c). Not a public header.
 *
 * Keys (prefix "ev", region R): ev:{r:R}:plan:<id> (id letter 'y'), ev:{r:R}:event:<id> ('e'),
 * ev:{r:R}:registration:<id> ('g'); ev:{r:R}:ix:… indexes; ev:{r:R}:seats:<event id> (per-municipality
 * registered counts and the waitlist sequence), ev:{r:R}:wait:<event id> (the waitlist, in order),
 * ev:{r:R}:claim:registration:once (one live registration per person and event); the domain events on
 * ev:{r:R}:events.
 */
#ifndef METODNET_EVENTS_INTERNAL_H
#define METODNET_EVENTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "entity_kind.h"
#include "entity_store.h"
#include "events.pb-c.h"
#include "events_service.pb-c.h"
#include "registry.pb-c.h"
#include "service_client.h"
#include "service_worker.h"

#define EVENTS_KEY_MAX      200
#define EVENTS_MAX_WAITLIST 500
#define EVENTS_MAX_MARKS    500
#define EVENTS_ONCE_CLAIM   "once"

#define EVENTS_CODE(name) METODNET__STATUS_CODE__STATUS_CODE_##name

extern const entity_kind events_plan_kind;
extern const entity_kind events_event_kind;
extern const entity_kind events_registration_kind;

extern const char *const events_unavailable_ru;
extern const char *const events_denied_ru;

typedef struct events_service {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    entity_engine engine;
    service_client *broker; /* the registry (staff, organizations) and diagnostics (route items) */
    redis_link *link;
    struct redis_script *register_script;
    struct redis_script *cancel_script;
} events_service;

/* Non-NULL and non-empty. */
bool events_set(const char *s);
/* Both set and equal. */
bool events_eq(const char *a, const char *b);
/* Replaces the malloc'd string in *slot with a copy of value. */
void events_replace(char **slot, const char *value);

/* Where an event or a plan lives: level with its organization / municipality. */
typedef struct {
    Metodnet__HomeLevel level;
    const char *region_id;
    const char *municipality_id;
    const char *organization_id;
} events_home;

/* The caller writes what lives at the home (organizers: the school's administrators, the municipality's
 * methodologists, the region's administrators). */
bool events_home_writable(const Metodnet__Principal *caller, const events_home *h);
/* The caller lives in the home's municipality (or above it); a regional home: anyone of the region. */
bool events_home_readable(const Metodnet__Principal *caller, const events_home *h);
events_home events_event_home(const Metodnet__Event *e);

/* Whether a staff member is in an event's audience; why not into why (Russian) when not. */
bool events_audience_admits(const Metodnet__Event *e, const Metodnet__StaffMember *s, char *why, size_t size);

/* The registration flows (events_registrations.c). */
void events_register(events_service *svc, service_call *call, const ProtobufCMessage *request);
void events_cancel_registration(events_service *svc, service_call *call, const ProtobufCMessage *request);
void events_mark_attendance(events_service *svc, service_call *call, const ProtobufCMessage *request);
/* The stored hook of events (entity_kind.stored): an update giving a published event more seats (capacity,
 * a quota) promotes its waitlist in the cancel script's fill, then answers with the event as it is now. */
void events_event_stored(void *ud, service_call *call, const ProtobufCMessage *current, const ProtobufCMessage *next);
/* The scripts (events_scripts.c): registers them on the link, 0 or -1. */
int events_scripts_load(events_service *svc);
/* "ev:{r:<region>}:<what>:<id>". */
void events_key(char *out, size_t size, const char *region, const char *what, const char *id);
/* A script's answer {code, …}: its code; false for anything else. */
bool events_script_code(const redisReply *reply, long long *code);
/* Element i of a script's answer as text ("" when not one) or integer (0). */
const char *events_reply_text(const redisReply *reply, size_t i);
long long events_reply_int(const redisReply *reply, size_t i);
/* The DomainEvent of type by the call's caller, without the entity (the script appends it). */
uint8_t *events_event_prefix(const char *type, service_call *call, size_t *len);
/* The register script's arguments are the flow's own; the cancel script in mode "cancel" (registration_id)
 * or "fill" (registration_id NULL): 0, or -1 with cb not called. */
int events_cancel_script(events_service *svc, service_call *call, const char *region, const char *registration_id,
                         const char *event_id, int64_t expected_version, const char *mode, redis_link_reply_cb cb,
                         void *ud);

/* The CSV export sink (events_csv.c); bind gives it the service whose broker client names the people. */
extern const entity_export_sink events_csv_export;
void events_csv_bind(events_service *svc);

#endif
