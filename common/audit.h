/* audit — the append-only trail of who read or changed what, shared by every service.
 *
 * One Redis stream, audit:{g}:log; each event is one entry with a single field "e" holding a packed
 * metodnet.AuditEntry (who, role, action, object kind and id, region, request id, client address,
 * service, time). The stream is never trimmed or edited by the services. Entries carry ids only:
 * no passwords, tokens, API-key secrets, names or other personal data — callers pass ids, and this
 * module has no field where anything else could go.
 *
 * Actions used so far: "read", "list", "create", "update", "delete", "disable", "enable",
 * "reset_password", "login", "login_failed", "logout", "revoke", "export", "claim_refused" (a create or
 * import row refused because a record outside the caller's scope holds its external id).
 */
#ifndef METODNET_AUDIT_H
#define METODNET_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.pb-c.h"
#include "redis_link.h"
#include "service_worker.h"

#define AUDIT_STREAM "audit:{g}:log"

typedef struct audit audit;

typedef struct {
    const char *user_id; /* who: user id, API key id, "" for anonymous */
    Metodnet__Role role;
    const char *action;      /* "read", "create", "login_failed", ... */
    const char *object_kind; /* "user", "staff", "api_key", ... */
    const char *object_id;   /* "" when there is none (a failed login with an unknown name) */
    const char *region_id;   /* region of the object, or of the actor; "" when unknown */
    const char *request_id;
    const char *client_address;
} audit_event;

/* link is borrowed and must outlive the audit; service (a literal) is written into each entry. */
audit *audit_new(redis_link *link, const char *service);
void audit_destroy(audit **a);

/* Fills who/role/region/request id/client address of e from the call's envelope; the rest is zeroed.
 * Strings are borrowed from the call. */
void audit_event_from_call(audit_event *e, const service_call *call);

/* status: 0 when the entry is stored, -1 when Redis failed (already logged). */
typedef void (*audit_cb)(int status, void *ud);

/* Appends one entry (inputs copied). cb may be NULL (failures are logged); when given, it is called
 * exactly once, never from inside this call. Returns 0, or -1 with cb not called. */
int audit_record(audit *a, const audit_event *event, audit_cb cb, void *ud);

typedef struct {
    const char *user_id; /* NULL or "" = any */
    const char *object_id;
    const char *action;
    const char *region_id; /* NULL or "" = every region */
    int64_t from_unix_ms;  /* inclusive; 0 = the beginning */
    int64_t to_unix_ms;    /* inclusive; 0 = now */
    const char *before_id; /* exclusive start, newest first (a previous page's next id); NULL = newest */
    size_t limit;          /* 1..500 */
    size_t max_scan;       /* entries examined per call; 0 = 2000 */
} audit_query;

/* entries (each with id and at filled in) are borrowed for the call; next_id: pass as before_id for
 * the next page, NULL when the stream is exhausted; error non-NULL when Redis failed. */
typedef void (*audit_list_cb)(Metodnet__AuditEntry *const *entries, size_t n, const char *next_id, const char *error,
                              void *ud);

/* True for a stream entry id "<ms>-<seq>" (what next_id holds); use it on cursors from clients. */
bool audit_id_valid(const char *id);

/* Reads newest first (XREVRANGE) and filters. cb exactly once, never from inside the call. */
int audit_list(audit *a, const audit_query *query, audit_list_cb cb, void *ud);

#endif
