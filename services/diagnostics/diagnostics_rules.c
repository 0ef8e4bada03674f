/* diagnostics_rules — the rules of issue 12 with no I/O: the route's period, its lifecycle
 * (draft → proposed → agreed → approved), which done items wait for a confirmation, the history of
 * versions kept on regeneration, and the summary of deficits (counting, ranking). The service's flows
 * (diagnostics_route_flow.c, diagnostics_deficits.c) load and store; these decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnostics_model.h"
#include "pbfield.h"
#include "validate.h"
#include "xalloc.h"

/* ---------- routes ---------- */

bool diag_route_period_end(const char *starts_on, char *out, size_t size)
{
    int start;
    if (!date_parse(starts_on, &start))
        return false;
    /* the same day a year later, one day before: 2026-09-01 → 2027-08-31 (29 February → 28 February) */
    int year = atoi(starts_on) + 1, month = atoi(starts_on + 5), day = atoi(starts_on + 8), end;
    char next[32];
    snprintf(next, sizeof next, "%04d-%02d-%02d", year % 10000, month % 100, day % 100);
    if (!date_parse(next, &end)) {
        snprintf(next, sizeof next, "%04d-03-01", year % 10000);
        if (!date_parse(next, &end))
            return false;
    }
    diag_days_to_date(end - 1, out, size);
    return true;
}

bool diag_route_item_needs_confirmation(const Metodnet__RouteItem *item)
{
    return item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME;
}

const char *diag_route_lifecycle_refusal(Metodnet__RouteStatus from, diag_route_step step, bool by_person)
{
    switch (step) {
    case DIAG_ROUTE_EDIT:
        if (from == METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED)
            return "Утверждённый маршрут не редактируется: статусы пунктов меняются отдельно";
        return NULL; /* draft, proposed, agreed: the edit returns it to the draft */
    case DIAG_ROUTE_PROPOSE:
        if (from != METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT)
            return "Предложить можно только черновик маршрута";
        return NULL;
    case DIAG_ROUTE_AGREE:
        if (!by_person)
            return "Согласиться с маршрутом может только сам педагог";
        if (from != METODNET__ROUTE_STATUS__ROUTE_STATUS_PROPOSED)
            return "Маршрут не предложен педагогу: согласовывать нечего";
        return NULL;
    case DIAG_ROUTE_APPROVE:
        if (from == METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED)
            return "Маршрут уже утверждён";
        if (from == METODNET__ROUTE_STATUS__ROUTE_STATUS_PROPOSED)
            return "Маршрут ждёт согласия педагога: утвердить его можно после согласия";
        return NULL; /* agreed; or a draft, the approval without a recorded agreement of older clients */
    }
    return "Неизвестное действие с маршрутом";
}

Metodnet__RouteStatus diag_route_after_step(Metodnet__RouteStatus from, diag_route_step step, bool by_person)
{
    switch (step) {
    case DIAG_ROUTE_EDIT:
        return METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT;
    case DIAG_ROUTE_PROPOSE:
        /* the teacher's own proposal is their agreement; the methodologist's waits for it */
        return by_person ? METODNET__ROUTE_STATUS__ROUTE_STATUS_AGREED : METODNET__ROUTE_STATUS__ROUTE_STATUS_PROPOSED;
    case DIAG_ROUTE_AGREE:
        return METODNET__ROUTE_STATUS__ROUTE_STATUS_AGREED;
    case DIAG_ROUTE_APPROVE:
        return METODNET__ROUTE_STATUS__ROUTE_STATUS_APPROVED;
    }
    return from;
}

void diag_route_clear_agreement(Metodnet__Route *route)
{
    diag_set_string(&route->proposed_by, "");
    diag_set_string(&route->proposed_at, "");
    diag_set_string(&route->agreed_by, "");
    diag_set_string(&route->agreed_at, "");
}

void diag_route_strip_versions(Metodnet__Route *route)
{
    for (size_t i = 0; i < route->n_versions; i++)
        protobuf_c_message_free_unpacked(&route->versions[i]->base, NULL);
    free(route->versions);
    route->versions = NULL;
    route->n_versions = 0;
}

void diag_route_push_version(Metodnet__Route *route, const Metodnet__Route *previous, const char *at, const char *by)
{
    Metodnet__RouteVersion *v = xmalloc(sizeof *v);
    metodnet__route_version__init(v);
    v->version = previous->version;
    v->replaced_at = diag_strdup(at);
    v->replaced_by = diag_strdup(by ? by : "");
    v->route = (Metodnet__Route *)pbfield_clone(&previous->base);
    diag_route_strip_versions(v->route);
    size_t keep = route->n_versions < DIAG_ROUTE_VERSIONS_MAX ? route->n_versions : DIAG_ROUTE_VERSIONS_MAX - 1;
    for (size_t i = keep; i < route->n_versions; i++)
        protobuf_c_message_free_unpacked(&route->versions[i]->base, NULL);
    Metodnet__RouteVersion **list = xcalloc(keep + 1, sizeof *list);
    list[0] = v; /* newest first */
    for (size_t i = 0; i < keep; i++)
        list[i + 1] = route->versions[i];
    free(route->versions);
    route->versions = list;
    route->n_versions = keep + 1;
}

/* ---------- the summary of deficits ---------- */

static Metodnet__DeficitCount *s_count(Metodnet__DeficitCount ***list, size_t *n, const char *code)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i]->competence, code) == 0)
            return (*list)[i];
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    Metodnet__DeficitCount *c = xmalloc(sizeof *c);
    metodnet__deficit_count__init(c);
    c->competence = diag_strdup(code);
    (*list)[(*n)++] = c;
    return c;
}

static Metodnet__DeficitGroup *s_group(Metodnet__DeficitGroup ***list, size_t *n, const char *org, const char *subject)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i]->organization_id, org) == 0 && strcmp((*list)[i]->subject, subject) == 0)
            return (*list)[i];
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    Metodnet__DeficitGroup *g = xmalloc(sizeof *g);
    metodnet__deficit_group__init(g);
    g->organization_id = diag_strdup(org);
    g->subject = diag_strdup(subject);
    (*list)[(*n)++] = g;
    return g;
}

static bool s_seen_before(char *const *items, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(items[j], items[i]) == 0)
            return true;
    return false;
}

static void s_group_add(Metodnet__DeficitGroup *g, const Metodnet__Result *r)
{
    g->people++;
    for (size_t i = 0; i < r->n_deficits; i++)
        if (!s_seen_before(r->deficits, i))
            s_count(&g->deficits, &g->n_deficits, r->deficits[i])->people++;
}

void diag_deficit_summary_add(Metodnet__DeficitSummary *s, const Metodnet__Result *r, char *const *subjects,
                              size_t n_subjects)
{
    s->people++;
    for (size_t i = 0; i < r->n_deficits; i++)
        if (!s_seen_before(r->deficits, i))
            s_count(&s->deficits, &s->n_deficits, r->deficits[i])->people++;
    for (size_t i = 0; i < r->n_organization_ids; i++)
        if (!s_seen_before(r->organization_ids, i))
            s_group_add(s_group(&s->organizations, &s->n_organizations, r->organization_ids[i], ""), r);
    if (n_subjects == 0)
        s_group_add(s_group(&s->subjects, &s->n_subjects, "", ""), r);
    for (size_t i = 0; i < n_subjects; i++)
        if (!s_seen_before(subjects, i))
            s_group_add(s_group(&s->subjects, &s->n_subjects, "", subjects[i]), r);
}

static int s_count_rank(const void *a, const void *b)
{
    const Metodnet__DeficitCount *x = *(Metodnet__DeficitCount *const *)a, *y = *(Metodnet__DeficitCount *const *)b;
    if (x->people != y->people)
        return x->people > y->people ? -1 : 1;
    return strcmp(x->competence, y->competence);
}

static int s_group_order(const void *a, const void *b)
{
    const Metodnet__DeficitGroup *x = *(Metodnet__DeficitGroup *const *)a, *y = *(Metodnet__DeficitGroup *const *)b;
    int c = strcmp(x->organization_id, y->organization_id);
    return c ? c : strcmp(x->subject, y->subject);
}

static void s_rank(Metodnet__DeficitCount **list, size_t n, int32_t people)
{
    if (n > 1)
        qsort(list, n, sizeof *list, s_count_rank);
    for (size_t i = 0; i < n; i++)
        list[i]->percent = people > 0 ? (double)((list[i]->people * 1000 + people / 2) / people) / 10.0 : 0;
}

void diag_deficit_summary_finish(Metodnet__DeficitSummary *s)
{
    s_rank(s->deficits, s->n_deficits, s->people);
    if (s->n_organizations > 1)
        qsort(s->organizations, s->n_organizations, sizeof *s->organizations, s_group_order);
    if (s->n_subjects > 1)
        qsort(s->subjects, s->n_subjects, sizeof *s->subjects, s_group_order);
    for (size_t i = 0; i < s->n_organizations; i++)
        s_rank(s->organizations[i]->deficits, s->organizations[i]->n_deficits, s->organizations[i]->people);
    for (size_t i = 0; i < s->n_subjects; i++)
        s_rank(s->subjects[i]->deficits, s->subjects[i]->n_deficits, s->subjects[i]->people);
}
