/* mentoring_pool — what Match (mentoring_match.c) and Assign (mentoring_bulk.c) share: the pool of
 * the caller's staff with their latest results, mentor profiles and places taken, gathered through the
 * broker and this service's store, and a small string → index map. Not a public header. */
#ifndef METODNET_MENTORING_POOL_H
#define METODNET_MENTORING_POOL_H

#include "mentoring_internal.h"
#include "mentoring_score.h"
#include "registry.pb-c.h"
#include "diagnostics.pb-c.h"

/* A string → index map (open addressing). */

typedef struct {
    char **keys;
    int *values;
    size_t cap, n;
} strmap;

/* The slot of key (insert: added with -1 when new); NULL when absent and not inserted. */
int *mnt_map_slot(strmap *m, const char *key, bool insert);
void mnt_map_free(strmap *m);

/* The pool: everything gathered; done is called once it is complete (else the call was answered). */

typedef struct pool pool;
typedef void (*pool_step)(pool *p);

struct pool {
    mentoring *m;
    service_call *call;
    const Metodnet__Principal *caller;
    const ProtobufCMessage *request;
    char region[4];
    char municipality[72]; /* the staff list's narrowing by the caller's scope ("" = none) */
    char organization[72];
    Metodnet__StaffMember **staff;
    size_t n_staff, cap_staff;
    strmap index; /* staff id → index */
    Metodnet__Result **results;
    Metodnet__MentorProfile **profiles;
    int *load;
    ms_person *people;
    strmap orgs, muns, subjects, competences;
    const char *competence_codes[MS_MAX_COMPETENCES];
    char *profile_cursor;
    /* gathered before they are attached to the staff by id */
    Metodnet__Result **got_results;
    size_t n_got_results;
    Metodnet__MentorProfile **got_profiles;
    size_t n_got_profiles;
    int gathering; /* chains and calls still running or queued */
    /* at most a few registry chains and diagnostics calls at once (Redis serves every service) */
    char **mun_queue;
    size_t n_mun_queue, next_mun;
    size_t *result_ranges; /* from, to pairs of staff indexes */
    size_t n_result_ranges, next_range;
    int results_running;
    int pending;
    bool failed;
    Metodnet__StatusCode fail_code;
    char fail_message[256];
    pool_step done;
    /* the request's own */
    Metodnet__SupportProgramme *programme;
    strmap open_mentees; /* mentees with an open pair in the programme (Assign) */
    char *pair_cursor;
    void *flow;
};

typedef struct {
    int index;
    double score;
} mnt_ranked;

pool *mnt_pool_new(mentoring *m, service_call *call, const ProtobufCMessage *request);
/* Gathers the pool of the caller's scope in region (its municipality's or organization's staff, or the
 * region's), then calls done; a failure answers the call and frees the pool. */
void mnt_pool_start(pool *p, const char *region, pool_step done);
/* Answers the call with the failure and frees the pool. */
void mnt_pool_fail(pool *p, Metodnet__StatusCode code, const char *message);
void mnt_pool_free(pool *p);
/* entity_get_cb: the programme of the request into p->programme, then Match's or Assign's next step. */
void mnt_pool_programme(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                        void *ud);
/* Assign's next step once its programme is loaded (mentoring_bulk.c). */
void mnt_assign_programme_loaded(pool *p);
/* The competence codes of bits into a new list. */
void mnt_pool_codes(const pool *p, uint64_t bits, char ***out, size_t *n);
void mnt_free_strings(char **list, size_t n);
/* Sorts by score, certified first, then the staff id. */
void mnt_rank_sort(const pool *p, mnt_ranked *items, size_t n);
int mnt_rank_cmp(const void *a, const void *b);
/* Methodologists, school administrators and the region ask for matches. */
bool mnt_may_match(const Metodnet__Principal *c);
extern const char *const mnt_match_denied_ru;
/* The weights of region: METODNET_MENTORING_WEIGHTS_<region> ("deficit=50,subject=10", docs/mentoring.md)
 * over the defaults; a malformed setting is logged and the defaults used. */
void mnt_weights(const char *region, ms_weights *w);

#endif
