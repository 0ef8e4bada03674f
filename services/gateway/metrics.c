/* metrics — per-route request counters and duration histograms (see metrics.h). Series are kept in
 * first-seen order so the output is stable; the set of labels is bounded (routes are templates). */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#define S_MAX_ROUTES   256
#define S_MAX_STATUSES 24

static const double s_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define S_N_BUCKETS (sizeof s_buckets / sizeof s_buckets[0])

typedef struct {
    char *route;
    struct {
        int status;
        unsigned long long count;
    } statuses[S_MAX_STATUSES];
    size_t n_statuses;
    unsigned long long buckets[S_N_BUCKETS]; /* non-cumulative; summed on output */
    unsigned long long count;
    double sum;
} s_series;

struct gateway_metrics {
    s_series series[S_MAX_ROUTES + 1]; /* the last one is "other" */
    size_t n;
};

gateway_metrics *gateway_metrics_new(void)
{
    return calloc(1, sizeof(gateway_metrics));
}

void gateway_metrics_destroy(gateway_metrics **metrics)
{
    if (metrics == NULL || *metrics == NULL)
        return;
    for (size_t i = 0; i < (*metrics)->n; i++)
        free((*metrics)->series[i].route);
    free((*metrics)->series[S_MAX_ROUTES].route);
    free(*metrics);
    *metrics = NULL;
}

static s_series *s_find(gateway_metrics *m, const char *route)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->series[i].route, route) == 0)
            return &m->series[i];
    if (m->n < S_MAX_ROUTES) {
        char *copy = strdup(route);
        if (copy != NULL) {
            m->series[m->n].route = copy;
            return &m->series[m->n++];
        }
    }
    s_series *other = &m->series[S_MAX_ROUTES];
    if (other->route == NULL)
        other->route = strdup("other");
    return other->route ? other : NULL;
}

void gateway_metrics_observe(gateway_metrics *metrics, const char *route, int status, double seconds)
{
    s_series *s = s_find(metrics, route);
    if (s == NULL)
        return;
    size_t i;
    for (i = 0; i < s->n_statuses && s->statuses[i].status != status; i++)
        ;
    if (i == s->n_statuses && i < S_MAX_STATUSES) {
        s->statuses[i].status = status;
        s->statuses[i].count = 0;
        s->n_statuses++;
    }
    if (i < s->n_statuses)
        s->statuses[i].count++;
    for (size_t b = 0; b < S_N_BUCKETS; b++) {
        if (seconds <= s_buckets[b]) {
            s->buckets[b]++;
            break;
        }
    }
    s->count++;
    s->sum += seconds;
}

static void s_write_series(const s_series *s, FILE *out, int part)
{
    if (s->route == NULL)
        return;
    if (part == 0) {
        for (size_t i = 0; i < s->n_statuses; i++)
            fprintf(out, "metodnet_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", s->route,
                    s->statuses[i].status, s->statuses[i].count);
        return;
    }
    unsigned long long cumulative = 0;
    for (size_t b = 0; b < S_N_BUCKETS; b++) {
        cumulative += s->buckets[b];
        fprintf(out, "metodnet_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", s->route,
                s_buckets[b], cumulative);
    }
    fprintf(out, "metodnet_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", s->route, s->count);
    fprintf(out, "metodnet_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", s->route, s->sum);
    fprintf(out, "metodnet_http_request_duration_seconds_count{route=\"%s\"} %llu\n", s->route, s->count);
}

void gateway_metrics_write(const gateway_metrics *metrics, FILE *out)
{
    fputs("# HELP metodnet_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE metodnet_http_requests_total counter\n",
          out);
    for (size_t i = 0; i < metrics->n; i++)
        s_write_series(&metrics->series[i], out, 0);
    s_write_series(&metrics->series[S_MAX_ROUTES], out, 0);
    fputs("# HELP metodnet_http_request_duration_seconds Time from receiving a request to answering it.\n"
          "# TYPE metodnet_http_request_duration_seconds histogram\n",
          out);
    for (size_t i = 0; i < metrics->n; i++)
        s_write_series(&metrics->series[i], out, 1);
    s_write_series(&metrics->series[S_MAX_ROUTES], out, 1);
}
