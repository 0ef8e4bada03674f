/* mentoring_internal — what the parts of the mentoring service share (not a public API: mentoring.h is).
 * The parts: mentoring.c (the service, the method table, the CSV sink), mentoring_kinds.c (the
 * descriptors of support programmes, mentor profiles and pairs with their hooks), mentoring_pairs.c
 * (the flows that ask the registry first: programme and mentor creation, pair creation with the load
 * check), mentoring_match.c (matching and bulk assignment: staff from the registry and results from
 * diagnostics through the broker), mentoring_score.c and mentoring_assign.c (pure scoring and the
 * optimal assignment).
 */
#ifndef METODNET_MENTORING_INTERNAL_H
#define METODNET_MENTORING_INTERNAL_H

#include "mentoring.h"

#include "audit.h"
#include "entity_kind.h"
#include "entity_store.h"
#include "mentoring.pb-c.h"
#include "mentoring_service.pb-c.h"
#include "service_client.h"

#define MNT_KEY_MAX             200
#define MNT_DEFAULT_MAX_MENTEES 2
#define MNT_MAX_MENTEES_LIMIT   10
#define MNT_CODE(x)             METODNET__STATUS_CODE__STATUS_CODE_##x

struct mentoring {
    uv_loop_t *loop; /* the bulk assignment is computed on its thread pool */
    service_worker *worker;
    entity_store *store;
    audit *audit;
    entity_engine engine;
    service_client *client; /* registry and diagnostics through the broker */
};

extern const entity_kind mnt_programme_kind;
extern const entity_kind mnt_mentor_kind;
extern const entity_kind mnt_pair_kind;

extern const char *const mnt_unavailable_ru;

/* The claim fields of a pair (mentoring_kinds.c): one open pair per mentor, mentee and programme; one
 * of the mentor's load places ("<mentor>#<n>"). A pair's layout names them in this order. */
#define MNT_PAIR_CLAIM_OPEN "open"
#define MNT_PAIR_CLAIM_SLOT "slot"

/* Whether a pair of this status holds its mentor's place (proposed or active). */
bool mnt_pair_open(Metodnet__PairStatus status);

/* "07-m12" for the staff member "07-s12"; false for an id that is not a staff member's. */
bool mnt_mentor_id_of(const char *staff_id, char *out, size_t size);

/* Replaces *field (a protobuf-c string, never NULL) with a copy of value. */
void mnt_set(char **field, const char *value);
/* Replaces a repeated string field with copies of src. */
void mnt_copy_strings(char ***dst, size_t *n_dst, char *const *src, size_t n_src);
/* The current time, RFC 3339 UTC, into out. */
void mnt_now(char *out, size_t size);
/* Whether s is a competence code: 1–32 of [a-z0-9_.-]. */
bool mnt_competence_valid(const char *s);

/* Whether caller may read a staff member with these organizations and municipalities. */
bool mnt_staff_readable(const Metodnet__Principal *caller, const Metodnet__StaffMember *s);
/* "Фамилия Имя Отчество" into out. */
void mnt_full_name(const Metodnet__StaffMember *s, char *out, size_t size);

/* ---- flows (handlers), mentoring_pairs.c ---- */
void mnt_create_programme(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_create_mentor(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_get_mentor(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_update_mentor(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_create_pair(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_update_pair(service_call *call, const ProtobufCMessage *request, void *ud);

/* A new pair (status, history, names, scope copied; id given or "") saved with the first free place of
 * its mentor (max places): cb(code OK with the stored pair, or the failure and its message). Used by
 * CreatePair and by Assign. Takes pair. */
typedef void (*mnt_pair_saved_cb)(Metodnet__StatusCode code, const char *message_ru,
                                  const Metodnet__MentoringPair *pair, void *ud);
void mnt_save_new_pair(mentoring *m, service_call *call, Metodnet__MentoringPair *pair, int max_places,
                       mnt_pair_saved_cb cb, void *ud);

/* The server-owned fields of a new pair: id "", proposed, no meetings or outcome, the first history
 * entry (by caller, with reason); the region from the mentee's id when none. */
void mnt_pair_reset_new(Metodnet__MentoringPair *p, const Metodnet__Principal *caller, const char *reason);

/* ResolveStaff of the registry (as the system: the caller's scope is checked on the answer). */
int mnt_resolve_staff(mentoring *m, service_call *call, const char *region, const char *const *ids, size_t n,
                      service_client_cb cb, void *ud);

/* ---- matching, mentoring_match.c ---- */

void mnt_match(service_call *call, const ProtobufCMessage *request, void *ud);
void mnt_assign(service_call *call, const ProtobufCMessage *request, void *ud);

#endif
