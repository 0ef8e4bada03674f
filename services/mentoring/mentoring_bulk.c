/* mentoring_bulk — Assign: one assignment of many mentees (the ids given, or every young teacher of a
 * municipality or of the region) to mentors that maximises the total score under every mentor's free
 * places (mentoring_assign.c, exact), with the greedy total on the same edges for comparison, the
 * unmatched and why; without dryRun the pairs are created as proposed, each written with its mentor's
 * place claim (a place taken meanwhile makes that one pair fail, reported, never a mentor overloaded).
 *
 * The edges: each mentee's top MNT_TOP_K candidates by score (docs/mentoring.md) among those of its
 * subject strong in one of its deficits and those working in its municipality. Candidates: people of the pool who are not
 * mentees, are available with a free place, and have a mentor profile or are not young themselves and
 * strong in something by their latest diagnostic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mentoring_assign.h"
#include "mentoring_pool.h"
#include "pbfield.h"
#include "xalloc.h"

#define MNT_TOP_K      30
#define MNT_ASSIGN_MAX 5000
#define YOUNG_DAYS     (35 * 36525 / 100)
#define ANY_SUBJECT    64
#define BUCKET(c, s)   ((c) * (ANY_SUBJECT + 1) + (s))
#define BUCKETS        (MS_MAX_COMPETENCES * (ANY_SUBJECT + 1))

typedef struct {
    pool *p;
    Metodnet__Assignment **assignments;
    size_t n_assignments;
    Metodnet__Unmatched **unmatched;
    size_t n_unmatched;
    size_t next;     /* the assignment being created */
    int *max_places; /* per assignment */
    int created;
    Metodnet__AssignmentsResponse response;
} bulk;

static void s_unmatched(bulk *b, const char *id, const char *name, const char *reason)
{
    Metodnet__Unmatched *u = xmalloc(sizeof *u);
    metodnet__unmatched__init(u);
    u->mentee_id = xstrdup(id);
    u->mentee_name = xstrdup(name ? name : "");
    u->reason = xstrdup(reason);
    b->unmatched = xrealloc(b->unmatched, (b->n_unmatched + 1) * sizeof *b->unmatched);
    b->unmatched[b->n_unmatched++] = u;
}

static void s_bulk_reply(bulk *b)
{
    Metodnet__AssignmentsResponse *r = &b->response;
    r->assignments = b->assignments;
    r->n_assignments = b->n_assignments;
    r->unmatched = b->unmatched;
    r->n_unmatched = b->n_unmatched;
    r->created = b->created;
    service_call_reply(b->p->call, &r->base);
    for (size_t i = 0; i < b->n_assignments; i++)
        protobuf_c_message_free_unpacked(&b->assignments[i]->base, NULL);
    free(b->assignments);
    for (size_t i = 0; i < b->n_unmatched; i++)
        protobuf_c_message_free_unpacked(&b->unmatched[i]->base, NULL);
    free(b->unmatched);
    free(b->max_places);
    mnt_pool_free(b->p);
    free(b);
}

/* ----- creating the pairs, one after another ----- */

static void s_create_next(bulk *b);

static void s_pair_created(Metodnet__StatusCode code, const char *message_ru, const Metodnet__MentoringPair *pair,
                           void *ud)
{
    bulk *b = ud;
    Metodnet__Assignment *a = b->assignments[b->next];
    if (code == MNT_CODE(OK)) {
        mnt_set(&a->pair_id, pair->id);
        b->created++;
        b->next++;
    } else {
        /* not created: it moves to the unmatched with the store's reason */
        s_unmatched(b, a->mentee_id, a->mentee_name, message_ru ? message_ru : "Пара не создана");
        protobuf_c_message_free_unpacked(&a->base, NULL);
        memmove(&b->assignments[b->next], &b->assignments[b->next + 1],
                (b->n_assignments - b->next - 1) * sizeof *b->assignments);
        memmove(&b->max_places[b->next], &b->max_places[b->next + 1],
                (b->n_assignments - b->next - 1) * sizeof *b->max_places);
        b->n_assignments--;
    }
    s_create_next(b);
}

static void s_create_next(bulk *b)
{
    pool *p = b->p;
    if (b->next >= b->n_assignments) {
        s_bulk_reply(b);
        return;
    }
    const Metodnet__AssignmentsRequest *req = (const Metodnet__AssignmentsRequest *)p->request;
    Metodnet__Assignment *a = b->assignments[b->next];
    int mentee = *mnt_map_slot(&p->index, a->mentee_id, false);
    int mentor = *mnt_map_slot(&p->index, a->mentor_id, false);
    const Metodnet__StaffMember *e = p->staff[mentee], *t = p->staff[mentor];
    Metodnet__MentoringPair *pair = xmalloc(sizeof *pair);
    metodnet__mentoring_pair__init(pair);
    mnt_set(&pair->region_id, p->region);
    mnt_set(&pair->programme_id, p->programme->id);
    pair->form = req->form ? req->form : METODNET__PAIR_FORM__PAIR_FORM_YOUNG_SPECIALIST;
    mnt_set(&pair->mentor_staff_id, t->id);
    mnt_set(&pair->mentee_staff_id, e->id);
    mnt_set(&pair->mentor_name, a->mentor_name);
    mnt_set(&pair->mentee_name, a->mentee_name);
    ms_parts parts;
    ms_weights w;
    mnt_weights(p->region, &w);
    ms_score(&w, &p->people[mentee], &p->people[mentor], &parts);
    mnt_pool_codes(p, parts.covered ? parts.covered : p->people[mentee].deficit, &pair->competences,
                   &pair->n_competences);
    char today[40];
    mnt_now(today, sizeof today);
    today[10] = '\0'; /* YYYY-MM-DD of the RFC 3339 time */
    mnt_set(&pair->starts_on, today);
    pair->score = a->score;
    char **orgs = NULL, **muns = NULL;
    size_t n_orgs = 0, n_muns = 0;
    const Metodnet__StaffMember *people[2] = {e, t};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < people[k]->n_organization_ids && n_orgs < ENTITY_TERRITORY_MAX; i++) {
            orgs = xrealloc(orgs, (n_orgs + 1) * sizeof *orgs);
            orgs[n_orgs++] = people[k]->organization_ids[i];
        }
        for (size_t i = 0; i < people[k]->n_municipality_ids && n_muns < ENTITY_TERRITORY_MAX; i++) {
            muns = xrealloc(muns, (n_muns + 1) * sizeof *muns);
            muns[n_muns++] = people[k]->municipality_ids[i];
        }
    }
    mnt_copy_strings(&pair->organization_ids, &pair->n_organization_ids, orgs, n_orgs);
    mnt_copy_strings(&pair->municipality_ids, &pair->n_municipality_ids, muns, n_muns);
    free(orgs);
    free(muns);
    mnt_pair_reset_new(pair, p->caller, "предложено распределением");
    scope_object mentee_scope = {.region_id = e->region_id,
                                 .municipality_ids = (const char *const *)e->municipality_ids,
                                 .n_municipalities = e->n_municipality_ids,
                                 .organization_ids = (const char *const *)e->organization_ids,
                                 .n_organizations = e->n_organization_ids};
    if (!scope_allows(p->caller, &mentee_scope, SCOPE_WRITE)) {
        protobuf_c_message_free_unpacked(&pair->base, NULL);
        s_pair_created(MNT_CODE(PERMISSION_DENIED), "Недостаточно прав, чтобы создать пару этого сотрудника", NULL, b);
        return;
    }
    mnt_save_new_pair(p->m, p->call, pair, b->max_places[b->next], s_pair_created, b);
}

/* ----- the assignment ----- */

static bool s_young(const Metodnet__StaffMember *s, int today)
{
    int born = 0;
    return date_parse(s->birth_date, &born) && today - born < YOUNG_DAYS;
}

static bool s_in(char *const *list, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], value) == 0)
            return true;
    return false;
}

typedef struct {
    int mentor; /* pool index */
    double score;
} top_entry;

/* The best k candidates of a mentee (score, then the lower number), with the worst of them known. */
typedef struct {
    top_entry items[MNT_TOP_K];
    int n, worst;
} top_k;

static bool s_worse(const top_entry *a, const top_entry *b)
{
    return a->score < b->score || (a->score == b->score && a->mentor > b->mentor);
}

static void s_top_add(top_k *t, int mentor, double score)
{
    top_entry x = {mentor, score};
    if (t->n < MNT_TOP_K) {
        t->items[t->n] = x;
        if (t->n == 0 || s_worse(&x, &t->items[t->worst]))
            t->worst = t->n;
        t->n++;
        return;
    }
    if (!s_worse(&t->items[t->worst], &x))
        return;
    t->items[t->worst] = x;
    t->worst = 0;
    for (int i = 1; i < t->n; i++)
        if (s_worse(&t->items[i], &t->items[t->worst]))
            t->worst = i;
}

/* The assignment of the pool (pure: run on a thread of the loop's pool, so the worker's heartbeats go
 * on); NULL when out of memory. */
static bulk *s_assign_compute(pool *p)
{
    const Metodnet__AssignmentsRequest *req = (const Metodnet__AssignmentsRequest *)p->request;
    bulk *b = xcalloc(1, sizeof *b);
    b->p = p;
    metodnet__assignments_response__init(&b->response);
    b->response.dry_run = req->dry_run;
    int today = date_today();
    size_t n = p->n_staff;
    char *is_mentee = xcalloc(n + 1, 1);
    int *mentees = xcalloc(n + 1, sizeof *mentees);
    int n_mentees = 0;
    char name[400];
    if (req->n_mentee_ids) {
        for (size_t k = 0; k < req->n_mentee_ids; k++) {
            int *slot = mnt_map_slot(&p->index, req->mentee_ids[k], false);
            if (!slot || *slot < 0) {
                s_unmatched(b, req->mentee_ids[k], "", "Сотрудник не найден");
                continue;
            }
            if (!is_mentee[*slot]) {
                is_mentee[*slot] = 1;
                mentees[n_mentees++] = *slot;
            }
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            const Metodnet__StaffMember *s = p->staff[i];
            if (!s_young(s, today) || s->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER)
                continue;
            if (*req->municipality_id && !s_in(s->municipality_ids, s->n_municipality_ids, req->municipality_id))
                continue;
            is_mentee[i] = 1;
            mentees[n_mentees++] = (int)i;
        }
    }
    /* those with an open pair in the programme already */
    int kept = 0;
    for (int k = 0; k < n_mentees; k++) {
        int i = mentees[k];
        if (mnt_map_slot(&p->open_mentees, p->staff[i]->id, false)) {
            mnt_full_name(p->staff[i], name, sizeof name);
            s_unmatched(b, p->staff[i]->id, name, "Уже есть пара в этой программе (предложена или действует)");
            continue;
        }
        mentees[kept++] = i;
    }
    n_mentees = kept;
    /* the candidates */
    int *mentor_of = xcalloc(n + 1, sizeof *mentor_of); /* pool index → mentor number, -1 none */
    int *pool_of = xcalloc(n + 1, sizeof *pool_of);
    int *capacity = xcalloc(n + 1, sizeof *capacity);
    int n_mentors = 0;
    for (size_t i = 0; i < n; i++) {
        const ms_person *x = &p->people[i];
        mentor_of[i] = -1;
        if (is_mentee[i] || !x->available || x->load >= x->max_places)
            continue;
        if (!p->profiles[i] && (s_young(p->staff[i], today) || x->strong == 0))
            continue;
        mentor_of[i] = n_mentors;
        pool_of[n_mentors] = (int)i;
        capacity[n_mentors] = x->max_places - x->load;
        n_mentors++;
    }
    /* who may be scored for a mentee: of its subject and strong in one of its deficits, or of its
     * municipality (lists of candidate numbers by competence and subject — ANY_SUBJECT for a mentee
     * without one — and by municipality) */
    int n_muns = (int)p->muns.n;
    int *by_comp = NULL, *by_mun = NULL;
    int *by_comp_start = xcalloc(BUCKETS + 1, sizeof *by_comp_start);
    int *by_mun_start = xcalloc((size_t)n_muns + 2, sizeof *by_mun_start);
    for (int pass = 0; pass < 2; pass++) {
        int *fill_c = pass ? xcalloc(BUCKETS + 1, sizeof *fill_c) : NULL;
        int *fill_m = pass ? xcalloc((size_t)n_muns + 1, sizeof *fill_m) : NULL;
        if (pass) {
            memcpy(fill_c, by_comp_start, BUCKETS * sizeof *fill_c);
            memcpy(fill_m, by_mun_start, (size_t)n_muns * sizeof *fill_m);
        }
        for (int j = 0; j < n_mentors; j++) {
            const ms_person *t = &p->people[pool_of[j]];
            for (uint64_t bits = t->strong; bits; bits &= bits - 1) {
                int c = __builtin_ctzll(bits);
                for (uint64_t subjects = t->subjects; subjects; subjects &= subjects - 1) {
                    int b = BUCKET(c, __builtin_ctzll(subjects));
                    if (pass)
                        by_comp[fill_c[b]++] = j;
                    else
                        by_comp_start[b + 1]++;
                }
                if (pass)
                    by_comp[fill_c[BUCKET(c, ANY_SUBJECT)]++] = j;
                else
                    by_comp_start[BUCKET(c, ANY_SUBJECT) + 1]++;
            }
            for (int m = 0; m < t->n_muns; m++) {
                if (pass)
                    by_mun[fill_m[t->muns[m]]++] = j;
                else
                    by_mun_start[t->muns[m] + 1]++;
            }
        }
        if (pass) {
            free(fill_c);
            free(fill_m);
            break;
        }
        for (int b = 0; b < BUCKETS; b++)
            by_comp_start[b + 1] += by_comp_start[b];
        for (int m = 0; m < n_muns; m++)
            by_mun_start[m + 1] += by_mun_start[m];
        by_comp = xcalloc((size_t)by_comp_start[BUCKETS] + 1, sizeof *by_comp);
        by_mun = xcalloc((size_t)by_mun_start[n_muns] + 1, sizeof *by_mun);
    }
    int *seen = xcalloc((size_t)n_mentors + 1, sizeof *seen);
    /* the edges: each mentee's top K */
    ms_weights w;
    mnt_weights(p->region, &w);
    ma_edge *edges = xcalloc((size_t)n_mentees * MNT_TOP_K + 1, sizeof *edges);
    size_t n_edges = 0;
    top_k top;
    for (int k = 0; k < n_mentees; k++) {
        const ms_person *e = &p->people[mentees[k]];
        top.n = 0;
        top.worst = 0;
#define CONSIDER(j)                                                                                                    \
    do {                                                                                                               \
        int cand = (j);                                                                                                \
        if (seen[cand] == k + 1)                                                                                       \
            break;                                                                                                     \
        seen[cand] = k + 1;                                                                                            \
        const ms_person *t = &p->people[pool_of[cand]];                                                                \
        if (t->manager != e->manager)                                                                                  \
            break;                                                                                                     \
        s_top_add(&top, cand, ms_score(&w, e, t, NULL));                                                               \
    } while (0)
        for (uint64_t bits = e->deficit; bits; bits &= bits - 1) {
            int c = __builtin_ctzll(bits);
            uint64_t subjects = e->subjects;
            do {
                int b = subjects ? BUCKET(c, __builtin_ctzll(subjects)) : BUCKET(c, ANY_SUBJECT);
                for (int q = by_comp_start[b]; q < by_comp_start[b + 1]; q++)
                    CONSIDER(by_comp[q]);
                subjects &= subjects - 1;
            } while (subjects);
        }
        for (int m = 0; m < e->n_muns; m++)
            for (int q = by_mun_start[e->muns[m]]; q < by_mun_start[e->muns[m] + 1]; q++)
                CONSIDER(by_mun[q]);
#undef CONSIDER
        for (int t = 0; t < top.n; t++) {
            int32_t hundredths = (int32_t)lround(top.items[t].score * 100);
            edges[n_edges++] = (ma_edge){k, top.items[t].mentor, hundredths > 0 ? hundredths : 1};
        }
    }
    ma_problem problem = {n_mentees, n_mentors, capacity, edges, n_edges};
    int *assign = xcalloc((size_t)n_mentees + 1, sizeof *assign);
    int *greedy = xcalloc((size_t)n_mentees + 1, sizeof *greedy);
    long long total = ma_solve(&problem, assign);
    long long greedy_total = ma_greedy(&problem, greedy);
    if (total < 0) {
        free(by_comp_start), free(by_mun_start), free(by_comp), free(by_mun), free(seen);
        free(is_mentee), free(mentees), free(mentor_of), free(pool_of), free(capacity), free(edges), free(assign),
            free(greedy);
        for (size_t i = 0; i < b->n_unmatched; i++)
            protobuf_c_message_free_unpacked(&b->unmatched[i]->base, NULL);
        free(b->unmatched);
        free(b);
        return NULL;
    }
    b->response.total_score = total / 100.0;
    b->response.greedy_total_score = greedy_total / 100.0;
    b->response.mentees = n_mentees;
    b->response.candidates = n_mentors;
    b->response.edges = (int32_t)n_edges;
    char *has_edge = xcalloc((size_t)n_mentees + 1, 1);
    for (size_t e = 0; e < n_edges; e++)
        has_edge[edges[e].mentee] = 1;
    b->max_places = xcalloc((size_t)n_mentees + 1, sizeof *b->max_places);
    for (int k = 0; k < n_mentees; k++) {
        int i = mentees[k];
        mnt_full_name(p->staff[i], name, sizeof name);
        if (assign[k] < 0) {
            s_unmatched(b, p->staff[i]->id, name,
                        has_edge[k] ? "Подходящие наставники заняты: их места отданы наставляемым с большим "
                                      "суммарным соответствием"
                                    : "Нет подходящего наставника со свободными местами в вашей области");
            continue;
        }
        int t = pool_of[assign[k]];
        ms_parts parts;
        ms_score(&w, &p->people[i], &p->people[t], &parts);
        Metodnet__Assignment *a = xmalloc(sizeof *a);
        metodnet__assignment__init(a);
        char mentor_name[400], text[1024];
        mnt_full_name(p->staff[t], mentor_name, sizeof mentor_name);
        ms_explain(&parts, &p->people[t], p->competence_codes, text, sizeof text);
        a->mentee_id = xstrdup(p->staff[i]->id);
        a->mentee_name = xstrdup(name);
        a->mentor_id = xstrdup(p->staff[t]->id);
        a->mentor_name = xstrdup(mentor_name);
        a->score = round(parts.total * 100) / 100;
        a->explanation = xstrdup(text);
        a->pair_id = xstrdup("");
        b->max_places[b->n_assignments] = p->people[t].max_places;
        b->assignments = xrealloc(b->assignments, (b->n_assignments + 1) * sizeof *b->assignments);
        b->assignments[b->n_assignments++] = a;
    }
    free(has_edge);
    free(by_comp_start);
    free(by_mun_start);
    free(by_comp);
    free(by_mun);
    free(seen);
    free(is_mentee);
    free(mentees);
    free(mentor_of);
    free(pool_of);
    free(capacity);
    free(edges);
    free(assign);
    free(greedy);
    return b;
}

typedef struct {
    uv_work_t work;
    pool *p;
    bulk *b;
} assign_job;

static void s_assign_work(uv_work_t *work)
{
    assign_job *job = work->data;
    job->b = s_assign_compute(job->p);
}

static void s_assign_after(uv_work_t *work, int status)
{
    assign_job *job = work->data;
    pool *p = job->p;
    bulk *b = job->b;
    free(job);
    if (status != 0 || b == NULL) {
        mnt_pool_fail(p, MNT_CODE(INTERNAL), "Распределение не выполнено: не хватило памяти");
        return;
    }
    const Metodnet__AssignmentsRequest *req = (const Metodnet__AssignmentsRequest *)p->request;
    entity_kind_audit(&p->m->engine, p->call, &mnt_pair_kind, req->dry_run ? "assign_dry_run" : "assign",
                      p->programme->id, p->region);
    if (req->dry_run) {
        s_bulk_reply(b);
        return;
    }
    s_create_next(b);
}

static void s_assign_done(pool *p)
{
    assign_job *job = xcalloc(1, sizeof *job);
    job->p = p;
    job->work.data = job;
    if (uv_queue_work(p->m->loop, &job->work, s_assign_work, s_assign_after) != 0) {
        free(job);
        mnt_pool_fail(p, MNT_CODE(INTERNAL), "Распределение не выполнено");
    }
}

/* ----- the open pairs of the programme, then the pool ----- */

static void s_pairs_page(pool *p);

static void s_pairs_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                           const char *error, void *ud)
{
    pool *p = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(p->call), "пары программы не прочитаны: %s", error ? error : "?");
        mnt_pool_fail(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__MentoringPair *pair = metodnet__mentoring_pair__unpack(NULL, items[i].len, items[i].data);
        if (pair && mnt_pair_open(pair->status))
            *mnt_map_slot(&p->open_mentees, pair->mentee_staff_id, true) = 1;
        if (pair)
            protobuf_c_message_free_unpacked(&pair->base, NULL);
    }
    free(p->pair_cursor);
    p->pair_cursor = next_member ? xstrdup(next_member) : NULL;
    if (p->pair_cursor)
        s_pairs_page(p);
    else
        mnt_pool_start(p, p->region, s_assign_done);
}

static void s_pairs_page(pool *p)
{
    char index[MNT_KEY_MAX], prefix[MNT_KEY_MAX];
    snprintf(index, sizeof index, "mnt:{r:%s}:ix:pair:programme:%s", p->region, p->programme->id);
    entity_kind_key_prefix(&mnt_pair_kind, p->region, prefix, sizeof prefix);
    entity_list_query q = {
        .index_key = index, .after_member = p->pair_cursor, .entity_key_prefix = prefix, .limit = 500};
    if (entity_store_list(p->m->store, &q, s_pairs_listed, p) != 0)
        mnt_pool_fail(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}

void mnt_assign_programme_loaded(pool *p)
{
    s_pairs_page(p);
}

void mnt_assign(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__AssignmentsRequest *req = (const Metodnet__AssignmentsRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    validation v;
    validation_init(&v);
    char region[8] = "";
    if (validate_id(&v, "programmeId", req->programme_id, true) &&
        !entity_region_of(req->programme_id, region, sizeof region))
        validation_add(&v, "programmeId", "Неверный идентификатор программы");
    int ways = (req->n_mentee_ids > 0) + (*req->municipality_id != '\0') + (*req->region_id != '\0');
    if (ways != 1)
        validation_add(&v, "menteeIds",
                       "Укажите наставляемых: menteeIds, или municipalityId (все молодые педагоги муниципалитета), "
                       "или regionId (все молодые педагоги региона)");
    if (req->n_mentee_ids > MNT_ASSIGN_MAX)
        validation_add(&v, "menteeIds", "Не больше %d наставляемых за один раз", MNT_ASSIGN_MAX);
    for (size_t i = 0; i < req->n_mentee_ids && i < MNT_ASSIGN_MAX; i++)
        if (!id_valid(req->mentee_ids[i])) {
            validation_add(&v, "menteeIds", "Неверный идентификатор сотрудника: %.40s", req->mentee_ids[i]);
            break;
        }
    if (*req->municipality_id)
        validate_id(&v, "municipalityId", req->municipality_id, true);
    if (*req->region_id && strcmp(req->region_id, region) != 0)
        validation_add(&v, "regionId", "Регион программы и регион наставляемых различаются");
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
    if (*req->region_id && !scope_is_global(caller) && caller->scope_kind != METODNET__SCOPE_KIND__SCOPE_KIND_REGION) {
        service_call_fail(call, MNT_CODE(PERMISSION_DENIED),
                          "Распределение по всему региону — для регионального уровня");
        return;
    }
    pool *p = mnt_pool_new(ud, call, request);
    snprintf(p->region, sizeof p->region, "%.2s", region);
    char key[MNT_KEY_MAX];
    if (!entity_kind_key(&mnt_programme_kind, req->programme_id, key, sizeof key)) {
        mnt_pool_fail(p, MNT_CODE(NOT_FOUND), mnt_programme_kind.not_found_ru);
        return;
    }
    if (entity_store_get(p->m->store, key, mnt_pool_programme, p) != 0)
        mnt_pool_fail(p, MNT_CODE(UNAVAILABLE), mnt_unavailable_ru);
}
