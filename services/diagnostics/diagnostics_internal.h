/* diagnostics_internal — what the parts of the diagnostics service share (not a public API: the
 * service's API is diagnostics.h). The parts: diagnostics.c (the service, the method table, keys,
 * layouts, scope, the op lifecycle, load, save and list helpers), diagnostics_frameworks.c,
 * diagnostics_campaigns.c, diagnostics_attempts.c (attempts, results, profiles),
 * diagnostics_routes.c (routes, ИОМ), diagnostics_results_import.c (ImportResults).
 *
 * An op is owned by its flow: every step either hands it on or answers the call through diag_fail,
 * diag_fail_validation or diag_reply, which free it.
 */
#ifndef METODNET_DIAGNOSTICS_INTERNAL_H
#define METODNET_DIAGNOSTICS_INTERNAL_H

#include "diagnostics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "dictionary.h"
#include "clock.h"
#include "cursor.h"
#include "diagnostics_import.h"
#include "diagnostics_model.h"
#include "diagnostics_service.pb-c.h"
#include "events.pb-c.h"
#include "mentoring.pb-c.h"
#include "entity_layout.h"
#include "entity_store.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_import.pb-c.h"
#include "scope.h"
#include "service_client.h"

#define DIAG_KEY_MAX      192
#define INSTRUMENT_CACHE  16
#define CAMPAIGN_CACHE    16
#define CAMPAIGN_CACHE_MS 1000 /* how long a process trusts an open campaign it read (window, status) */
#define ASSIGN_WINDOW     32

typedef struct {
    char key[DIAG_KEY_MAX];
    int64_t version;
    Metodnet__Instrument *instrument;
    uint64_t used;
} cached_instrument;

/* Open campaigns as read for attempts: a submit checks the window and status of its campaign, which
 * change rarely; a process trusts what it read for CAMPAIGN_CACHE_MS and forgets a campaign it changes
 * itself at once. So a close or a shortened window made through another process takes effect there
 * within CAMPAIGN_CACHE_MS; the end date itself is compared with today on every submit. */
typedef struct {
    char key[DIAG_KEY_MAX];
    Metodnet__Campaign *campaign;
    int64_t loaded_ms;
    uint64_t used;
} cached_campaign;

struct diagnostics {
    service_worker *worker;
    entity_store *store;
    audit *audit;
    service_client *registry;
    cached_instrument cache[INSTRUMENT_CACHE];
    cached_campaign campaigns[CAMPAIGN_CACHE];
    uint64_t tick;
};

#define CODE(x) METODNET__STATUS_CODE__STATUS_CODE_##x

/* The indexes and attributes of one stored entity: an entity_layout (zero-initialised = empty); a
 * write (diag_store) clears the layouts it is given. */
typedef entity_layout diag_layout;

/* One request in flight: a small state machine on the loop; each step ends by answering the call
 * (which frees the op) or by starting the next load or write. */
typedef struct op op;
typedef void (*op_step)(op *o);

typedef struct {
    char id[72];
    char *orgs[8];
    size_t n_orgs;
    char *muns[8];
    size_t n_muns;
    char *subjects[16];
    size_t n_subjects;
    char nominated_by[72]; /* "" when assigned by the campaign's target */
} assignee;

struct op {
    diagnostics *d;
    service_call *call;
    /* the audit entry of the change being written: recorded once it is stored (a refused change is
     * not a change), "" when none */
    char audit_action[16], audit_kind[32], audit_id[72], audit_region[8];
    const ProtobufCMessage *request;
    const Metodnet__Principal *caller;
    char region[4];
    char key[DIAG_KEY_MAX];
    ProtobufCMessage *current; /* stored state of the main entity */
    ProtobufCMessage *next;    /* state to store */
    Metodnet__Campaign *campaign;
    Metodnet__Instrument *instrument;
    Metodnet__CompetenceFramework *framework;
    Metodnet__Attempt *latest; /* latest completed attempt of a person */
    Metodnet__StaffMember *staff;
    validation v;
    /* a load in flight */
    const ProtobufCMessageDescriptor *load_desc;
    ProtobufCMessage **load_slot;
    const char *not_found_ru;
    op_step then;
    /* a write in flight */
    const char *exists_ru;
    int retries;
    /* registry fan-out */
    int pending;
    bool failed;
    Metodnet__StatusCode fail_code;
    char fail_message[256];
    Metodnet__Programme **programmes;
    size_t n_programmes;
    Metodnet__Organization **sites;
    size_t n_sites;
    Metodnet__Event **events; /* published events addressing a deficit (route generation) */
    size_t n_events;
    Metodnet__MatchResponse *matches; /* the mentoring service's best mentors for the person (route generation) */
    assignee *assignees;
    size_t n_assignees;
    size_t next_assignee;
    size_t done_assignees;
    size_t query_index;
    char cursor[CURSOR_MAX_MEMBER * 2 + 8];
    int pages;
    /* progress */
    Metodnet__CampaignProgress *progress;
    op_step after_instrument;
    int64_t wanted_version;
    /* lists */
    ProtobufCMessage *(*list_keep)(op *o, ProtobufCMessage *entity); /* takes entity; NULL = dropped */
    const ProtobufCMessageDescriptor *list_desc;
    /* a flow's own state (the summary of deficits), freed with the op by state_free */
    void *state;
    void (*state_free)(void *state);
};

/* One entity_store write: the entity, its indexes before and after, the domain event. */
typedef struct {
    const char *key;
    const ProtobufCMessage *entity;
    int64_t expected_version; /* 0 = create */
    int64_t new_version;
    diag_layout *old_layout; /* NULL on create; cleared by the write */
    diag_layout *new_layout; /* cleared by the write */
    const char *event_type;  /* NULL = no event */
    const char *event_entity_id;
    const ProtobufCMessage *event_entity; /* NULL = entity */
    const char *const *must_exist;
    size_t n_must_exist;
} diag_write;

/* ---------- diagnostics.c: keys, layouts, scope, the op, load, save, lists ---------- */

/* Applies update_mask from patch to next; fields not in allowed are refused. */
void diag_apply_mask(op *o, ProtobufCMessage *next, const ProtobufCMessage *patch, char *const *mask, size_t n,
                     const char *const *allowed, const char *prefix);

/* Whether caller may access attempt a (scope on the person's organizations and municipalities). */
bool diag_attempt_allows(const Metodnet__Principal *caller, const Metodnet__Attempt *a, scope_access access);

/* Fills l with the indexes and attributes of attempt a as stored. */
void diag_attempt_layout(const Metodnet__Attempt *a, diag_layout *l);

/* Records one audit entry for the call (does not wait for it). */
void diag_audit(diagnostics *d, service_call *call, const char *action, const char *kind, const char *id,
                const char *region);

/* The change o is about to write is audited when it is stored (docs/security.md: one audit policy). */
void diag_audit_when_stored(op *o, const char *action, const char *kind, const char *id, const char *region);

/* Fills l with the indexes and attributes of campaign c as stored. */
void diag_campaign_layout(const Metodnet__Campaign *c, diag_layout *l);

/* Replaces a repeated string field with copies of src (pbfield_copy works within one message type
 * only; this copies between attempt, result and route). */
void diag_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src);

/* Message of INTERNAL for a stored record that does not unpack. */
extern const char *const diag_corrupt_ru;

/* Message of PERMISSION_DENIED. */
extern const char *const diag_denied_ru;

/* Answers the call with code and message and frees o. */
void diag_fail(op *o, Metodnet__StatusCode code, const char *message);

/* Answers the call with o's validation violations and frees o. */
void diag_fail_validation(op *o);

/* Frees an unpacked message m; NULL is fine. */
void diag_free_message(void *m);

/* Whether name is among the n fields of mask. */
bool diag_in_mask(char *const *mask, size_t n, const char *name);

/* Fills l with the indexes and attributes of instrument in as stored. */
void diag_instrument_layout(const Metodnet__Instrument *in, diag_layout *l);

/* list_keep that keeps every entity. */
ProtobufCMessage *diag_keep_all(op *o, ProtobufCMessage *entity);

/* "diag:{r:07}:<kind>:<id>"; false for an id of another region shape or not starting with marker
 * ("07-i", "07-c", …; NULL = any valid id). */
bool diag_key(const char *kind, const char *id, const char *marker, char *out, size_t size);

/* The list's region: asked for, or the caller's; false (violation added) when neither. */
bool diag_list_region(op *o, const char *asked);

/* Validates limit and cursor, then lists index (entities under key_prefix) with tokens. */
void diag_list_run(op *o, const char *index, const char *key_prefix, const char *const *tokens, size_t n_tokens,
                   const char *q_prefix);

/* Loads key into *slot, then calls then. A missing entity answers NOT_FOUND with not_found_ru, or
 * (not_found_ru NULL) leaves *slot NULL and continues. */
void diag_load(op *o, const char *key, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **slot,
               const char *not_found_ru, op_step then);

/* Route building (generate, edit, approve) is the methodologists', the schools' (their own staff, by
 * scope) and the region's work. */
bool diag_may_build_routes(const Metodnet__Principal *caller);

/* Writes the current time, RFC 3339, into out. */
void diag_now(char *out, size_t size);

/* Frees o and everything it owns (not the call). */
void diag_op_free(op *o);

/* A new op for call (aborts on out of memory); the caller is the call's principal. */
op *diag_op_new(diagnostics *d, service_call *call, const ProtobufCMessage *request);

/* Whether caller may access a person object of region with these organizations and municipalities. */
bool diag_person_allows(const Metodnet__Principal *caller, const char *region, const char *staff_id, char *const *orgs,
                        size_t n_orgs, char *const *muns, size_t n_muns, scope_access access);

/* The region (two digits) of id into out (4 bytes); false for an id that is not a region id. */
bool diag_region_of(const char *id, char *out);

/* Whether caller reads the region objects (frameworks, instruments, campaigns) of region. */
bool diag_region_readable(const Metodnet__Principal *caller, const char *region);

/* Whether caller changes the region objects of region. */
bool diag_region_writable(const Metodnet__Principal *caller, const char *region);

/* Answers the call with response and frees o. */
void diag_reply(op *o, const ProtobufCMessage *response);

/* Answers the list call with no items. */
void diag_reply_empty_list(op *o);

/* Answers the call with o->next (an op_step after a write). */
void diag_reply_next(op *o);

/* Whether caller may access route r (scope on the person's organizations and municipalities). */
bool diag_route_allows(const Metodnet__Principal *caller, const Metodnet__Route *r, scope_access access);

/* Fills l with the indexes and attributes of route r as stored. */
void diag_route_layout(const Metodnet__Route *r, diag_layout *l);

/* Writes dw through diag_store, then calls then; a refused or failed write answers the call. */
void diag_save(op *o, const diag_write *dw, op_step then);

/* People taking a diagnostic and school systems do not see how items are scored. */
bool diag_sees_scoring(const Metodnet__Principal *caller);

/* Replaces the string *field with a copy of value. */
void diag_set(char **field, const char *value);

/* Sets version and updated_at of m (and created_at for version 1). */
void diag_stamp(ProtobufCMessage *m, int64_t version);

/* One entity_store write of dw (entity, indexes, optional event); cb gets the result. Non-zero when not sent. */
int diag_store(diagnostics *d, service_call *call, const diag_write *dw, entity_write_cb cb, void *ud);

/* Message of UNAVAILABLE (Redis not answering). */
extern const char *const diag_unavailable_ru;

/* The JSON word of an enum value; "none" when unknown. Borrowed. */
const char *diag_word(const ProtobufCEnumDescriptor *desc, int value);

/* entity_write_cb of diag_save: audits the stored change and continues with o->then, or answers the failure. */
void diag_written(entity_result result, int64_t detail, const char *error, void *ud);

/* ---------- diagnostics_frameworks.c ---------- */

/* Message of NOT_FOUND for an instrument. */
extern const char *const diag_instrument_not_found_ru;

/* Removes the scoring of in unless caller sees scoring. */
void diag_redact_instrument(const Metodnet__Principal *caller, Metodnet__Instrument *in);

/* ---------- diagnostics_campaigns.c ---------- */

/* Fills a with the staff member s (id, organizations, municipalities, subjects). */
void diag_assignee_of(assignee *a, const Metodnet__StaffMember *s);

/* Writes the assigned attempt of o->assignees[o->next_assignee++] in campaign c (ENTITY_EXISTS: it has
 * one); cb gets the result. Non-zero when not sent. */
int diag_issue_attempt(op *o, const Metodnet__Campaign *c, int64_t instrument_version, entity_write_cb cb);

/* Whether the caller runs campaign c: the region (its writer), or for a municipal campaign the
 * methodologists of that municipality. */
bool diag_campaign_runnable(const Metodnet__Principal *caller, const Metodnet__Campaign *c);

/* A copy of the open campaign at key read less than CAMPAIGN_CACHE_MS ago; NULL when none. */
Metodnet__Campaign *diag_campaign_cached(diagnostics *d, const char *key);

/* Message of NOT_FOUND for a campaign. */
extern const char *const diag_campaign_not_found_ru;

/* Remembers a copy of an open campaign read at key (diag_campaign_cached). */
void diag_campaign_remember(diagnostics *d, const char *key, const Metodnet__Campaign *campaign);

/* ---------- diagnostics_attempts.c ---------- */

/* Loads the instrument id at version into o->instrument (a copy, from the cache or Redis), then calls then. */
void diag_instrument_at(op *o, const char *id, int64_t version, op_step then);

/* Loads the latest completed attempt of staff_id into o->latest (NULL when none), then calls then. */
void diag_latest_result(op *o, const char *staff_id, op_step then);

/* The attribute token that narrows a list to the caller's scope ("|mun:…|", "|org:…|", "|id:…|"; "" for a
 * region or all) into out. */
void diag_scope_token(const Metodnet__Principal *caller, char *out, size_t size);

/* Whether id is a staff member id ("07-s…"); its region into region (4 bytes). */
bool diag_staff_id_ok(const char *id, char *region);

/* ---------- diagnostics_routes.c and diagnostics_route_flow.c: the route's steps ---------- */

/* Writes o->next (a route) over o->current (NULL: create) with event_type, then answers the route. */
void diag_route_save(op *o, const char *event_type, const ProtobufCMessage *event_entity);

/* Saves o->next after a change of the item item_id (event route_item.done when it is done). */
void diag_route_item_store(op *o, const char *item_id);

/* Confirms item (of o->next) by the caller: makes its qualification record when it has none, then saves. */
void diag_route_item_confirm(op *o, Metodnet__RouteItem *item);

/* Validates the proof of completion (a document's name, a link http(s)://) into o->v. */
void diag_validate_evidence(op *o, const char *name, const char *url);

/* Whether the caller is the route's person (a teacher's own account). */
bool diag_route_is_person(const Metodnet__Principal *caller, const Metodnet__Route *r);

/* Whether the caller is the route's tutor (their own account, the route's region). */
bool diag_route_is_tutor(const Metodnet__Principal *caller, const Metodnet__Route *r);

/* Whether the caller confirms the route's done items: its tutor, or a methodologist or the region with
 * write scope on the person. */
bool diag_may_confirm(const Metodnet__Principal *caller, const Metodnet__Route *r);

/* The steps, after the scope checks: edit (items, period, tutor; back to the draft), propose (by_person: the teacher's own, their agreement too), agree
 * or decline, confirm or return an item; the versions of o->current as the answer. */
void diag_route_edit(op *o);
void diag_route_propose(op *o, bool by_person);
void diag_route_agree(op *o);
void diag_route_confirm(op *o);
void diag_route_reply_versions(op *o);

/* ---------- method handlers (service_handler_fn), in the method table of diagnostics.c ---------- */

void diag_create_instrument(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_framework(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_instrument(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_list_frameworks(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_update_framework(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_update_instrument(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_campaign_progress(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_close_campaign(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_create_campaign(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_campaign(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_list_campaigns(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_open_campaign(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_update_campaign(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_attempt(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_profile(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_result(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_list_attempts(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_list_results(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_save_answers(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_start_attempt(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_submit_attempt(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_generate_route(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_get_route(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_route_change(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_import_results(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_import_results_template(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_nominate_staff(service_call *call, const ProtobufCMessage *request, void *ud);
void diag_deficit_summary(service_call *call, const ProtobufCMessage *request, void *ud);

#endif
