/* mentoring_match — matching mentors to a mentee (Match) and the optimal bulk assignment (Assign).
 *
 * Both first gather a pool: the active staff the caller may read (the registry's ListStaff through the
 * broker, narrowed to the caller's municipality or organization), the latest result of each (the
 * diagnostics service's ListLatestResults, 1000 people a call, all calls at once), the mentor profiles
 * and the places taken (this service's store: the profiles' index and the place claims). Then the
 * pure parts decide: mentoring_score ranks, mentoring_assign assigns. So the mentee and everyone
 * outside the caller's scope never appear, and no other service's keys are read.
 * The assignment itself is mentoring_bulk.c.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "diagnostics.pb-c.h"
#include "diagnostics_service.pb-c.h"
#include "mentoring_assign.h"
#include "mentoring_internal.h"
#include "mentoring_pool.h"
#include "mentoring_score.h"
#include "pbfield.h"
#include "registry.pb-c.h"
#include "xalloc.h"

#define MNT_MATCH_LIMIT  50
#define RESULTS_PER_CALL 1000
#define CLAIMS_PER_CALL  20000
#define MAX_CHAINS       4 /* registry staff chains at once */
#define MAX_RESULT_CALLS 4 /* diagnostics calls at once */

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_map_grow(strmap *m);

int *mnt_map_slot(strmap *m, const char *key, bool insert)
{
    if (insert && (m->n + 1) * 2 > m->cap)
        s_map_grow(m);
    if (m->cap == 0)
        return NULL;
    size_t i = s_hash(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return &m->values[i];
        i = (i + 1) & (m->cap - 1);
    }
    if (!insert)
        return NULL;
    m->keys[i] = xstrdup(key);
    m->values[i] = -1;
    m->n++;
    return &m->values[i];
}

static void s_map_grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    strmap bigger = {xcalloc(cap, sizeof(char *)), xcalloc(cap, sizeof(int)), cap, 0};
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            *mnt_map_slot(&bigger, m->keys[i], true) = m->values[i];
            free(m->keys[i]);
        }
    free(m->keys);
    free(m->values);
    *m = bigger;
}

void mnt_map_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* The number of key (a new one gets the next number below limit; -1 past it). */
static int s_intern(strmap *m, const char *key, int limit)
{
    int *slot = mnt_map_slot(m, key, true);
    if (*slot < 0 && (int)m->n - 1 < limit)
        *slot = (int)m->n - 1;
    return *slot;
}

void mnt_pool_free(pool *p)
{
    for (size_t i = 0; i < p->n_staff; i++) {
        protobuf_c_message_free_unpacked(&p->staff[i]->base, NULL);
        if (p->results && p->results[i])
            protobuf_c_message_free_unpacked(&p->results[i]->base, NULL);
        if (p->profiles && p->profiles[i])
            protobuf_c_message_free_unpacked(&p->profiles[i]->base, NULL);
    }
    for (size_t i = 0; i < p->n_got_results; i++)
        if (p->got_results[i])
            protobuf_c_message_free_unpacked(&p->got_results[i]->base, NULL);
    free(p->got_results);
    for (size_t i = 0; i < p->n_got_profiles; i++)
        if (p->got_profiles[i])
            protobuf_c_message_free_unpacked(&p->got_profiles[i]->base, NULL);
    free(p->got_profiles);
    for (size_t i = 0; i < p->n_mun_queue; i++)
        free(p->mun_queue[i]);
    free(p->mun_queue);
    free(p->result_ranges);
    free(p->staff);
    free(p->results);
    free(p->profiles);
    free(p->load);
    free(p->people);
    free(p->profile_cursor);
    free(p->pair_cursor);
    if (p->programme)
        protobuf_c_message_free_unpacked(&p->programme->base, NULL);
    mnt_map_free(&p->index);
    mnt_map_free(&p->orgs);
    mnt_map_free(&p->muns);
    mnt_map_free(&p->subjects);
    mnt_map_free(&p->competences);
    mnt_map_free(&p->open_mentees);
    free(p);
}

void mnt_pool_fail(pool *p, Metodnet__StatusCode code, const char *message)
{
    service_call_fail(p->call, code, message);
    mnt_pool_free(p);
}

static void s_note_failure(pool *p, Metodnet__StatusCode code, const char *message)
{
    if (!p->failed) {
        p->failed = true;
        p->fail_code = code;
        snprintf(p->fail_message, sizeof p->fail_message, "%s", message);
    }
}

static Metodnet__StatusCode s_remote_code(const Metodnet__Status *status)
{
    return status->code == MNT_CODE(DEADLINE_EXCEEDED) ? MNT_CODE(DEADLINE_EXCEEDED) : MNT_CODE(UNAVAILABLE);
}

static void s_pool_people(pool *p);

/* ----- the places taken ----- */

typedef struct {
    pool *p;
    size_t *owners_of; /* staff index of each value asked */
    size_t n;
} claims_ctx;

static void s_claims_read(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    claims_ctx *c = ud;
    pool *p = c->p;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(p->call), "места наставников не прочитаны: %s", error ? error : "?");
        s_note_failure(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
    } else {
        for (size_t i = 0; i < n && i < c->n; i++)
            if (owners[i])
                p->load[c->owners_of[i]]++;
    }
    free(c->owners_of);
    free(c);
    if (--p->pending == 0) {
        if (p->failed)
            mnt_pool_fail(p, p->fail_code, p->fail_message);
        else
            s_pool_people(p);
    }
}

static int s_max_places(const pool *p, size_t i)
{
    return p->profiles[i] ? p->profiles[i]->max_mentees : MNT_DEFAULT_MAX_MENTEES;
}

static void s_pool_claims(pool *p)
{
    char key[MNT_KEY_MAX];
    entity_kind_claims_key(&mnt_pair_kind, p->region, MNT_PAIR_CLAIM_SLOT, key, sizeof key);
    p->pending = 1;
    size_t i = 0;
    while (i < p->n_staff) {
        size_t cap = CLAIMS_PER_CALL;
        char **values = xcalloc(cap, sizeof *values);
        size_t *owners_of = xcalloc(cap, sizeof *owners_of);
        size_t n = 0;
        for (; i < p->n_staff; i++) {
            int max = s_max_places(p, i);
            if (n + (size_t)max > cap)
                break;
            for (int k = 1; k <= max; k++) {
                char value[96];
                snprintf(value, sizeof value, "%s#%d", p->staff[i]->id, k);
                values[n] = xstrdup(value);
                owners_of[n++] = i;
            }
        }
        claims_ctx *c = xcalloc(1, sizeof *c);
        c->p = p;
        c->owners_of = owners_of;
        c->n = n;
        p->pending++;
        if (entity_store_claim_owners(p->m->store, key, (const char *const *)values, n, s_claims_read, c) != 0) {
            p->pending--;
            s_note_failure(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
            free(c->owners_of);
            free(c);
        }
        for (size_t k = 0; k < n; k++)
            free(values[k]);
        free(values);
        if (p->failed)
            break;
    }
    if (--p->pending == 0) {
        if (p->failed)
            mnt_pool_fail(p, p->fail_code, p->fail_message);
        else
            s_pool_people(p);
    }
}

/* ----- gathering: staff pages (by municipality, all at once), the results of each page as it comes,
 * the mentor profiles; then everything attached by id ----- */

static void s_gathered(pool *p)
{
    if (--p->gathering > 0)
        return;
    if (p->failed) {
        mnt_pool_fail(p, p->fail_code, p->fail_message);
        return;
    }
    /* one entry per person (a person of two municipalities came twice) */
    size_t kept = 0;
    for (size_t i = 0; i < p->n_staff; i++) {
        int *slot = mnt_map_slot(&p->index, p->staff[i]->id, true);
        if (*slot >= 0) {
            protobuf_c_message_free_unpacked(&p->staff[i]->base, NULL);
            continue;
        }
        *slot = (int)kept;
        p->staff[kept++] = p->staff[i];
    }
    p->n_staff = kept;
    p->results = xcalloc(p->n_staff + 1, sizeof *p->results);
    p->profiles = xcalloc(p->n_staff + 1, sizeof *p->profiles);
    p->load = xcalloc(p->n_staff + 1, sizeof *p->load);
    for (size_t i = 0; i < p->n_got_results; i++) {
        int *slot = mnt_map_slot(&p->index, p->got_results[i]->staff_id, false);
        if (slot && *slot >= 0 && p->results[*slot] == NULL) {
            p->results[*slot] = p->got_results[i];
            p->got_results[i] = NULL;
        }
    }
    for (size_t i = 0; i < p->n_got_profiles; i++) {
        int *slot = mnt_map_slot(&p->index, p->got_profiles[i]->staff_id, false);
        if (slot && *slot >= 0 && p->profiles[*slot] == NULL) {
            p->profiles[*slot] = p->got_profiles[i];
            p->got_profiles[i] = NULL;
        }
    }
    s_pool_claims(p);
}

static void s_profiles_page(pool *p);

static void s_profiles_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                              const char *error, void *ud)
{
    pool *p = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(p->call), "профили наставников не прочитаны: %s", error ? error : "?");
        s_note_failure(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        s_gathered(p);
        return;
    }
    p->got_profiles = xrealloc(p->got_profiles, (p->n_got_profiles + n + 1) * sizeof *p->got_profiles);
    for (size_t i = 0; i < n; i++) {
        Metodnet__MentorProfile *profile = metodnet__mentor_profile__unpack(NULL, items[i].len, items[i].data);
        if (profile)
            p->got_profiles[p->n_got_profiles++] = profile;
    }
    free(p->profile_cursor);
    p->profile_cursor = next_member ? xstrdup(next_member) : NULL;
    if (p->profile_cursor && !p->failed)
        s_profiles_page(p);
    else
        s_gathered(p);
}

static void s_profiles_page(pool *p)
{
    char index[MNT_KEY_MAX], prefix[MNT_KEY_MAX];
    if (*p->municipality)
        snprintf(index, sizeof index, "mnt:{r:%s}:ix:mentor:mun:%s", p->region, p->municipality);
    else
        entity_kind_main_index(&mnt_mentor_kind, p->region, index, sizeof index);
    entity_kind_key_prefix(&mnt_mentor_kind, p->region, prefix, sizeof prefix);
    entity_list_query q = {
        .index_key = index, .after_member = p->profile_cursor, .entity_key_prefix = prefix, .limit = 500};
    if (entity_store_list(p->m->store, &q, s_profiles_listed, p) != 0) {
        s_note_failure(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        s_gathered(p);
    }
}

static void s_pump_results(pool *p);

static void s_results_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    pool *p = ud;
    if (status->code != MNT_CODE(OK)) {
        log_error(service_call_request_id(p->call), "результаты диагностики не получены: %s",
                  status->message ? status->message : "?");
        s_note_failure(p, s_remote_code(status),
                       "Служба диагностики временно недоступна: подбор не выполнен, повторите позже");
    } else {
        const Metodnet__ListLatestResultsResponse *r = (const Metodnet__ListLatestResultsResponse *)response;
        p->got_results = xrealloc(p->got_results, (p->n_got_results + r->n_items + 1) * sizeof *p->got_results);
        for (size_t i = 0; i < r->n_items; i++)
            p->got_results[p->n_got_results++] = (Metodnet__Result *)pbfield_clone(&r->items[i]->base);
    }
    s_pump_results(p);
    s_gathered(p);
}

/* The latest results of staff[from..to): queued, asked a few calls at a time. */
static void s_ask_results(pool *p, size_t from, size_t to)
{
    if (to <= from)
        return;
    p->result_ranges = xrealloc(p->result_ranges, (p->n_result_ranges + 1) * 2 * sizeof *p->result_ranges);
    p->result_ranges[2 * p->n_result_ranges] = from;
    p->result_ranges[2 * p->n_result_ranges + 1] = to;
    p->n_result_ranges++;
    p->gathering++;
    s_pump_results(p);
}

static void s_results_done(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    pool *p = ud;
    p->results_running--;
    s_results_listed(status, response, ud); /* counts the call done */
}

static void s_pump_results(pool *p)
{
    /* the caller holds a unit of gathering, so the pool outlives this */
    while (p->results_running < MAX_RESULT_CALLS && p->next_range < p->n_result_ranges) {
        if (p->failed) { /* the queued calls will not be made */
            p->gathering -= (int)(p->n_result_ranges - p->next_range);
            p->next_range = p->n_result_ranges;
            return;
        }
        size_t from = p->result_ranges[2 * p->next_range], to = p->result_ranges[2 * p->next_range + 1];
        p->next_range++;
        char **ids = xcalloc(to - from, sizeof *ids);
        for (size_t i = from; i < to; i++)
            ids[i - from] = p->staff[i]->id;
        Metodnet__ListLatestResultsRequest req = METODNET__LIST_LATEST_RESULTS_REQUEST__INIT;
        req.region_id = p->region;
        req.staff_ids = ids;
        req.n_staff_ids = to - from;
        service_client_request r = {.service = "diagnostics",
                                    .method = "ListLatestResults",
                                    .request = &req.base,
                                    .response = &metodnet__list_latest_results_response__descriptor,
                                    .caller = service_client_system_principal(),
                                    .request_id = service_call_request_id(p->call),
                                    .timeout_ms = 20000};
        p->results_running++;
        int rc = service_client_call(p->m->client, &r, s_results_done, p);
        free(ids);
        if (rc != 0) {
            p->results_running--;
            s_note_failure(p, MNT_CODE(UNAVAILABLE), "Служба диагностики временно недоступна");
            p->gathering--;
        }
    }
}

typedef struct {
    pool *p;
    char municipality[72];
    char *cursor;
} staff_chain;

static void s_staff_page(staff_chain *c);
static void s_next_chain(pool *p);

static void s_staff_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    staff_chain *c = ud;
    pool *p = c->p;
    if (status->code != MNT_CODE(OK)) {
        log_error(service_call_request_id(p->call), "список сотрудников не получен: %s",
                  status->message ? status->message : "?");
        s_note_failure(p, s_remote_code(status), "Реестр временно недоступен: подбор не выполнен, повторите позже");
        free(c->cursor);
        free(c);
        s_gathered(p);
        return;
    }
    const Metodnet__ListStaffResponse *list = (const Metodnet__ListStaffResponse *)response;
    size_t from = p->n_staff;
    for (size_t i = 0; i < list->n_items; i++) {
        const Metodnet__StaffMember *s = list->items[i];
        if (!s->active || !mnt_staff_readable(p->caller, s))
            continue;
        if (p->n_staff == p->cap_staff) {
            p->cap_staff = p->cap_staff ? p->cap_staff * 2 : 1024;
            p->staff = xrealloc(p->staff, p->cap_staff * sizeof *p->staff);
        }
        p->staff[p->n_staff++] = (Metodnet__StaffMember *)pbfield_clone(&s->base);
    }
    s_ask_results(p, from, p->n_staff);
    free(c->cursor);
    c->cursor = list->next_cursor && *list->next_cursor ? xstrdup(list->next_cursor) : NULL;
    if (c->cursor && !p->failed) {
        s_staff_page(c);
        return;
    }
    free(c->cursor);
    free(c);
    s_next_chain(p);
    s_gathered(p);
}

static void s_staff_page(staff_chain *c)
{
    pool *p = c->p;
    Metodnet__ListStaffRequest req = METODNET__LIST_STAFF_REQUEST__INIT;
    req.limit = 500;
    req.cursor = c->cursor ? c->cursor : "";
    req.region_id = p->region;
    req.municipality_id = c->municipality;
    req.organization_id = p->organization;
    req.active = "true";
    service_client_request r = {.service = "registry",
                                .method = "ListStaff",
                                .request = &req.base,
                                .response = &metodnet__list_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(p->call),
                                .timeout_ms = 20000};
    if (service_client_call(p->m->client, &r, s_staff_listed, c) != 0) {
        s_note_failure(p, MNT_CODE(UNAVAILABLE), "Реестр временно недоступен");
        free(c->cursor);
        free(c);
        s_gathered(p);
    }
}

/* A chain of staff pages (counted in gathering by the caller). */
static void s_run_chain(pool *p, const char *municipality)
{
    staff_chain *c = xcalloc(1, sizeof *c);
    c->p = p;
    snprintf(c->municipality, sizeof c->municipality, "%s", municipality ? municipality : "");
    s_staff_page(c);
}

static void s_start_chain(pool *p, const char *municipality)
{
    p->gathering++;
    s_run_chain(p, municipality);
}

/* The next queued municipality's chain, when one is queued and nothing failed. */
static void s_next_chain(pool *p)
{
    if (p->next_mun >= p->n_mun_queue)
        return;
    if (p->failed) { /* the queued chains will not run (the caller's own unit keeps the pool) */
        p->gathering -= (int)(p->n_mun_queue - p->next_mun);
        p->next_mun = p->n_mun_queue;
        return;
    }
    s_run_chain(p, p->mun_queue[p->next_mun++]);
}

/* A region's pool: one chain of staff pages per municipality, all at once. */
static void s_municipalities_listed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    pool *p = ud;
    if (status->code != MNT_CODE(OK)) {
        s_note_failure(p, s_remote_code(status), "Реестр временно недоступен: подбор не выполнен, повторите позже");
        s_gathered(p);
        return;
    }
    const Metodnet__ListMunicipalitiesResponse *list = (const Metodnet__ListMunicipalitiesResponse *)response;
    if (list->next_cursor && *list->next_cursor) {
        s_start_chain(p, ""); /* more than a page of municipalities: the region's list in one chain */
    } else {
        p->mun_queue = xcalloc(list->n_items + 1, sizeof *p->mun_queue);
        for (size_t i = 0; i < list->n_items; i++)
            p->mun_queue[p->n_mun_queue++] = xstrdup(list->items[i]->id);
        p->gathering += (int)p->n_mun_queue;
        for (int k = 0; k < MAX_CHAINS; k++)
            s_next_chain(p);
    }
    s_gathered(p);
}

static void s_pool_gather(pool *p)
{
    p->gathering = 2; /* the staff, the profiles */
    s_profiles_page(p);
    if (*p->municipality || *p->organization) {
        p->gathering--;
        s_start_chain(p, p->municipality);
        return;
    }
    Metodnet__ListMunicipalitiesRequest req = METODNET__LIST_MUNICIPALITIES_REQUEST__INIT;
    req.limit = 500;
    req.region_id = p->region;
    service_client_request r = {.service = "registry",
                                .method = "ListMunicipalities",
                                .request = &req.base,
                                .response = &metodnet__list_municipalities_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(p->call),
                                .timeout_ms = 20000};
    if (service_client_call(p->m->client, &r, s_municipalities_listed, p) != 0) {
        s_note_failure(p, MNT_CODE(UNAVAILABLE), "Реестр временно недоступен");
        s_gathered(p);
    }
}

/* ----- the people for scoring ----- */

static int s_percent(double percent)
{
    long v = lround(percent);
    return v < 0 ? 0 : v > 100 ? 100 : (int)v;
}

static void s_pool_people(pool *p)
{
    p->people = xcalloc(p->n_staff + 1, sizeof *p->people);
    for (size_t i = 0; i < p->n_staff; i++) {
        const Metodnet__StaffMember *s = p->staff[i];
        ms_person *x = &p->people[i];
        memset(x->percent, MS_PERCENT_UNKNOWN, sizeof x->percent);
        for (size_t k = 0; k < s->n_organization_ids && x->n_orgs < MS_MAX_PLACES; k++)
            x->orgs[x->n_orgs++] = s_intern(&p->orgs, s->organization_ids[k], INT_MAX);
        for (size_t k = 0; k < s->n_municipality_ids && x->n_muns < MS_MAX_PLACES; k++)
            x->muns[x->n_muns++] = s_intern(&p->muns, s->municipality_ids[k], INT_MAX);
        for (size_t k = 0; k < s->n_subjects; k++) {
            int b = s_intern(&p->subjects, s->subjects[k], 64);
            if (b >= 0)
                x->subjects |= 1ULL << b;
        }
        int days = 0;
        x->start_days = date_parse(s->profession_start_date, &days) ? days : INT32_MIN;
        x->manager = s->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER;
        const Metodnet__Result *r = p->results[i];
        for (size_t k = 0; r && k < r->n_scores; k++) {
            int c = s_intern(&p->competences, r->scores[k]->competence, MS_MAX_COMPETENCES);
            if (c < 0)
                continue;
            p->competence_codes[c] = r->scores[k]->competence; /* borrowed from a result kept to the end */
            x->percent[c] = (uint8_t)s_percent(r->scores[k]->percent);
            if (r->scores[k]->deficit)
                x->deficit |= 1ULL << c;
            if (r->scores[k]->strength)
                x->strong |= 1ULL << c;
        }
        const Metodnet__MentorProfile *profile = p->profiles[i];
        x->max_places = s_max_places(p, i);
        x->load = p->load[i];
        x->available = profile ? profile->available : true;
        x->certified = profile ? profile->certified : false;
        if (profile && profile->n_competences) {
            x->strong = 0;
            for (size_t k = 0; k < profile->n_competences; k++) {
                int c = s_intern(&p->competences, profile->competences[k], MS_MAX_COMPETENCES);
                if (c >= 0) {
                    x->strong |= 1ULL << c;
                    if (!p->competence_codes[c])
                        p->competence_codes[c] = profile->competences[k];
                }
            }
        }
    }
    p->done(p);
}

pool *mnt_pool_new(mentoring *m, service_call *call, const ProtobufCMessage *request)
{
    pool *p = xcalloc(1, sizeof *p);
    p->m = m;
    p->call = call;
    p->request = request;
    p->caller = service_call_caller(call);
    return p;
}

/* The pool of the caller's scope in region: a municipality's or an organization's staff, or the region's. */
void mnt_pool_start(pool *p, const char *region, pool_step done)
{
    if (region != p->region)
        snprintf(p->region, sizeof p->region, "%.2s", region);
    const Metodnet__Principal *c = p->caller;
    if (c->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY)
        snprintf(p->municipality, sizeof p->municipality, "%s", c->scope_id);
    else if (c->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION)
        snprintf(p->organization, sizeof p->organization, "%s", c->scope_id);
    p->done = done;
    s_pool_gather(p);
}

/* Who may ask for matches: methodologists, school administrators and the region (no person, no system
 * reading by key). */
bool mnt_may_match(const Metodnet__Principal *c)
{
    if (scope_is_global(c))
        return true;
    return c &&
           (c->role == METODNET__ROLE__ROLE_REGION_ADMIN || c->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
            c->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN) &&
           c->scope_kind != METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
}

const char *const mnt_match_denied_ru = "Подбор наставников доступен методистам и администраторам";

/* ---------- candidates ---------- */

static const pool *s_sort_pool; /* qsort has no user data: the pool being sorted (one thread) */

void mnt_rank_sort(const pool *p, mnt_ranked *items, size_t n)
{
    s_sort_pool = p;
    qsort(items, n, sizeof *items, mnt_rank_cmp);
}

/* Score descending, certified first, then the staff id: the same order on every run. */
int mnt_rank_cmp(const void *a, const void *b)
{
    const pool *p = s_sort_pool;
    const mnt_ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    bool cx = p->people[x->index].certified, cy = p->people[y->index].certified;
    if (cx != cy)
        return cx ? -1 : 1;
    return strcmp(p->staff[x->index]->id, p->staff[y->index]->id);
}

void mnt_pool_codes(const pool *p, uint64_t bits, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    while (bits) {
        int c = __builtin_ctzll(bits);
        bits &= bits - 1;
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = xstrdup(p->competence_codes[c] ? p->competence_codes[c] : "");
    }
}

void mnt_free_strings(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void s_full_name_of(const pool *p, int i, char *out, size_t size)
{
    mnt_full_name(p->staff[i], out, size);
}

static Metodnet__MatchPart *s_part(const char *name, double value, double weight)
{
    Metodnet__MatchPart *part = xmalloc(sizeof *part);
    metodnet__match_part__init(part);
    part->name = xstrdup(name);
    part->value = round(value * 1000) / 1000;
    part->weight = weight;
    part->points = round(value * weight * 100) / 100;
    return part;
}

static void s_parts_of(const ms_parts *x, const ms_weights *w, Metodnet__MatchPart ***out, size_t *n)
{
    *out = xcalloc(6, sizeof **out);
    (*out)[0] = s_part("deficit", x->deficit, w->deficit);
    (*out)[1] = s_part("subject", x->subject, w->subject);
    (*out)[2] = s_part("proximity", x->proximity, w->proximity);
    (*out)[3] = s_part("certified", x->certified, w->certified);
    (*out)[4] = s_part("capacity", x->capacity, w->capacity);
    (*out)[5] = s_part("experience", x->experience, w->experience);
    *n = 6;
}

void mnt_weights(const char *region, ms_weights *w)
{
    ms_weights_default(w);
    char name[64];
    snprintf(name, sizeof name, "METODNET_MENTORING_WEIGHTS_%s", region);
    const char *text = getenv(name);
    if (text && *text && !ms_weights_parse(text, w))
        log_warn(NULL, "%s: не разобрано «%s» (нужно deficit=45,subject=15,…, от 0 до 100): веса по умолчанию", name,
                 text);
}

/* ---------- Match ---------- */

static void s_match_done(pool *p)
{
    const Metodnet__MatchRequest *req = (const Metodnet__MatchRequest *)p->request;
    int *slot = mnt_map_slot(&p->index, req->mentee_id, false);
    if (!slot || *slot < 0) {
        mnt_pool_fail(p, MNT_CODE(NOT_FOUND), "Сотрудник не найден");
        return;
    }
    int mentee = *slot;
    ms_weights w;
    mnt_weights(p->region, &w);
    mnt_ranked *all = xcalloc(p->n_staff + 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < p->n_staff; i++) {
        if ((int)i == mentee || !ms_eligible(&p->people[mentee], &p->people[i]))
            continue;
        all[n].index = (int)i;
        all[n].score = round(ms_score(&w, &p->people[mentee], &p->people[i], NULL) * 100) / 100;
        n++;
    }
    mnt_rank_sort(p, all, n);
    size_t limit = req->limit > 0 ? (size_t)req->limit : 10;
    if (limit > MNT_MATCH_LIMIT)
        limit = MNT_MATCH_LIMIT;
    if (n > limit)
        n = limit;
    Metodnet__MatchResponse response = METODNET__MATCH_RESPONSE__INIT;
    response.mentee_id = p->staff[mentee]->id;
    response.candidates_considered = (int32_t)p->n_staff - 1;
    mnt_pool_codes(p, p->people[mentee].deficit, &response.deficits, &response.n_deficits);
    Metodnet__MatchCandidate **items = xcalloc(n + 1, sizeof *items);
    for (size_t k = 0; k < n; k++) {
        int i = all[k].index;
        ms_parts parts;
        ms_score(&w, &p->people[mentee], &p->people[i], &parts);
        Metodnet__MatchCandidate *c = xmalloc(sizeof *c);
        metodnet__match_candidate__init(c);
        char name[400], text[1024];
        s_full_name_of(p, i, name, sizeof name);
        ms_explain(&parts, &p->people[i], p->competence_codes, text, sizeof text);
        c->staff_id = xstrdup(p->staff[i]->id);
        c->full_name = xstrdup(name);
        c->score = all[k].score;
        c->explanation = xstrdup(text);
        c->certified = p->people[i].certified;
        c->free_places = p->people[i].max_places - p->people[i].load;
        c->max_mentees = p->people[i].max_places;
        s_parts_of(&parts, &w, &c->parts, &c->n_parts);
        mnt_pool_codes(p, parts.covered, &c->covered_deficits, &c->n_covered_deficits);
        items[k] = c;
    }
    response.items = items;
    response.n_items = n;
    ms_parts unit = {1, 1, 1, 1, 1, 1, 0, 0};
    s_parts_of(&unit, &w, &response.weights, &response.n_weights);
    entity_kind_audit(&p->m->engine, p->call, &mnt_pair_kind, "match", p->staff[mentee]->id, p->region);
    service_call_reply(p->call, &response.base);
    for (size_t k = 0; k < n; k++)
        protobuf_c_message_free_unpacked(&items[k]->base, NULL);
    free(items);
    for (size_t k = 0; k < response.n_weights; k++)
        protobuf_c_message_free_unpacked(&response.weights[k]->base, NULL);
    free(response.weights);
    mnt_free_strings(response.deficits, response.n_deficits);
    free(all);
    mnt_pool_free(p);
}

void mnt_match(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__MatchRequest *req = (const Metodnet__MatchRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    char region[8];
    validation v;
    validation_init(&v);
    if (validate_id(&v, "menteeId", req->mentee_id, true) && !entity_region_of(req->mentee_id, region, sizeof region))
        validation_add(&v, "menteeId", "Неверный идентификатор сотрудника");
    if (*req->programme_id)
        validate_id(&v, "programmeId", req->programme_id, false);
    if (req->limit < 0 || req->limit > MNT_MATCH_LIMIT)
        validation_add(&v, "limit", "От 1 до %d кандидатов", MNT_MATCH_LIMIT);
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    validation_free(&v);
    if (!mnt_may_match(caller)) {
        service_call_fail(call, MNT_CODE(PERMISSION_DENIED), mnt_match_denied_ru);
        return;
    }
    if (!scope_is_global(caller) && (caller->region_id == NULL || strcmp(caller->region_id, region) != 0)) {
        service_call_fail(call, MNT_CODE(NOT_FOUND), "Сотрудник не найден");
        return;
    }
    pool *p = mnt_pool_new(ud, call, request);
    snprintf(p->region, sizeof p->region, "%.2s", region);
    if (!*req->programme_id) {
        mnt_pool_start(p, region, s_match_done);
        return;
    }
    char key[MNT_KEY_MAX];
    if (!entity_kind_key(&mnt_programme_kind, req->programme_id, key, sizeof key)) {
        mnt_pool_fail(p, MNT_CODE(NOT_FOUND), mnt_programme_kind.not_found_ru);
        return;
    }
    if (entity_store_get(p->m->store, key, mnt_pool_programme, p) != 0)
        mnt_pool_fail(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

/* The programme of a match or an assignment: it must exist and be readable (an assignment: active). */
void mnt_pool_programme(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                        void *ud)
{
    (void)version;
    pool *p = ud;
    if (result == ENTITY_OK)
        p->programme = metodnet__support_programme__unpack(NULL, len, data);
    if (result == ENTITY_NOT_FOUND ||
        (p->programme && !entity_kind_allows(&mnt_programme_kind, p->caller, &p->programme->base, SCOPE_READ))) {
        mnt_pool_fail(p, MNT_CODE(NOT_FOUND), mnt_programme_kind.not_found_ru);
        return;
    }
    if (p->programme == NULL) {
        log_error(service_call_request_id(p->call), "программа не прочитана: %s", error ? error : "?");
        mnt_pool_fail(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    if (p->request->descriptor == &metodnet__match_request__descriptor) {
        mnt_pool_start(p, p->region, s_match_done);
        return;
    }
    if (p->programme->status != METODNET__SUPPORT_PROGRAMME_STATUS__SUPPORT_PROGRAMME_STATUS_ACTIVE) {
        mnt_pool_fail(p, MNT_CODE(CONFLICT), "Программа закрыта: новые пары в ней не создаются");
        return;
    }
    mnt_assign_programme_loaded(p);
}
