/* mentoring_assign — the optimal bulk assignment (see mentoring_assign.h): successive shortest paths
 * with node potentials, and the greedy baseline. */
#include "mentoring_assign.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long long key;
    int col;
} heap_item;

typedef struct {
    heap_item *items;
    size_t n, cap;
} heap;

static bool s_push(heap *h, long long key, int col)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        heap_item *grown = realloc(h->items, cap * sizeof *grown);
        if (!grown)
            return false;
        h->items = grown;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent].key < key || (h->items[parent].key == key && h->items[parent].col <= col))
            break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = (heap_item){key, col};
    return true;
}

static heap_item s_pop(heap *h)
{
    heap_item top = h->items[0];
    heap_item last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        heap_item b = last;
        if (l < h->n && (h->items[l].key < b.key || (h->items[l].key == b.key && h->items[l].col < b.col))) {
            best = l;
            b = h->items[l];
        }
        if (l + 1 < h->n &&
            (h->items[l + 1].key < b.key || (h->items[l + 1].key == b.key && h->items[l + 1].col < b.col)))
            best = l + 1;
        if (best == i)
            break;
        h->items[i] = h->items[best];
        i = best;
    }
    if (h->n > 0)
        h->items[i] = last;
    return top;
}

#define INF (1LL << 60)

/* Nodes: mentees 0..n-1, mentors n..n+m-1, the sink n+m. A mentee's target: a mentor, or UNMATCHED
 * (its own edge to the sink, cost C), or NONE before it is added. */
#define NONE      (-1)
#define UNMATCHED (-2)

typedef struct {
    int n, m, sink;
    long long C;
    size_t *row_start;
    ma_edge *by_row;
    int *target;     /* per mentee */
    int *slot_start; /* per mentor: its assigned mentees in slots[slot_start[j] .. + used[j]) */
    int *slots;
    int *used;
    const int *capacity;
    long long *pi, *d;
    int *pred;
    char *settled;
    int *touched;
    size_t n_touched;
    heap h;
} flow;

static long long s_edge_cost(const flow *f, int mentee, int mentor)
{
    for (size_t e = f->row_start[mentee]; e < f->row_start[mentee + 1]; e++)
        if (f->by_row[e].mentor == mentor)
            return f->C - f->by_row[e].score;
    return INF;
}

static bool s_relax(flow *f, int v, long long nd, int from)
{
    if (f->settled[v] || nd >= f->d[v])
        return true;
    if (f->d[v] == INF)
        f->touched[f->n_touched++] = v;
    f->d[v] = nd;
    f->pred[v] = from;
    return s_push(&f->h, nd, v);
}

static void s_unassign(flow *f, int mentee, int mentor)
{
    int *list = &f->slots[f->slot_start[mentor]];
    for (int k = 0; k < f->used[mentor]; k++)
        if (list[k] == mentee) {
            list[k] = list[--f->used[mentor]];
            return;
        }
}

/* Adds mentee i: Dijkstra on reduced costs from i to the sink, the potentials, the augmenting path. */
static bool s_add_row(flow *f, int i)
{
    /* a potential that makes i's edges' reduced costs non-negative */
    long long best = f->pi[f->sink] - f->C;
    for (size_t e = f->row_start[i]; e < f->row_start[i + 1]; e++) {
        long long x = f->pi[f->n + f->by_row[e].mentor] - (f->C - f->by_row[e].score);
        if (x > best)
            best = x;
    }
    f->pi[i] = best;
    f->h.n = 0;
    f->n_touched = 0;
    f->d[i] = 0;
    f->touched[f->n_touched++] = i;
    f->pred[i] = -1;
    if (!s_push(&f->h, 0, i))
        return false;
    long long d_sink = INF;
    while (f->h.n > 0) {
        heap_item top = s_pop(&f->h);
        int v = top.col;
        if (f->settled[v] || top.key != f->d[v])
            continue;
        f->settled[v] = 1;
        if (v == f->sink) {
            d_sink = f->d[v];
            break;
        }
        long long dv = f->d[v];
        if (v < f->n) { /* a mentee: its edges it does not use, and its own way out */
            for (size_t e = f->row_start[v]; e < f->row_start[v + 1]; e++) {
                int j = f->by_row[e].mentor;
                if (f->target[v] == j)
                    continue;
                int t = f->n + j;
                if (!s_relax(f, t, dv + (f->C - f->by_row[e].score) + f->pi[v] - f->pi[t], v))
                    return false;
            }
            if (f->target[v] != UNMATCHED && !s_relax(f, f->sink, dv + f->C + f->pi[v] - f->pi[f->sink], v))
                return false;
        } else { /* a mentor: a free place to the sink, back along the edges of its mentees */
            int j = v - f->n;
            if (f->used[j] < f->capacity[j] && !s_relax(f, f->sink, dv + f->pi[v] - f->pi[f->sink], v))
                return false;
            const int *list = &f->slots[f->slot_start[j]];
            for (int k = 0; k < f->used[j]; k++) {
                int r = list[k];
                if (!s_relax(f, r, dv - s_edge_cost(f, r, j) + f->pi[v] - f->pi[r], v))
                    return false;
            }
        }
    }
    if (d_sink == INF)
        return false; /* cannot happen: i's own way out is always there */
    for (size_t t = 0; t < f->n_touched; t++) {
        int v = f->touched[t];
        if (f->settled[v])
            f->pi[v] += f->d[v] - d_sink;
    }
    /* the path back from the sink: each mentee on it takes a new target */
    int x = f->pred[f->sink];
    int mentee, new_target;
    if (x < f->n) {
        mentee = x;
        new_target = UNMATCHED;
    } else {
        new_target = x - f->n;
        mentee = f->pred[x];
    }
    for (;;) {
        int old = f->target[mentee];
        if (old >= 0)
            s_unassign(f, mentee, old);
        f->target[mentee] = new_target;
        if (new_target >= 0)
            f->slots[f->slot_start[new_target] + f->used[new_target]++] = mentee;
        if (mentee == i)
            break;
        /* mentee was reached back from its old mentor, which takes the mentee before it */
        new_target = old;
        mentee = f->pred[f->n + old];
    }
    for (size_t t = 0; t < f->n_touched; t++) {
        f->d[f->touched[t]] = INF;
        f->settled[f->touched[t]] = 0;
    }
    return true;
}

long long ma_solve(const ma_problem *p, int *assign)
{
    int n = p->n_mentees, m = p->n_mentors;
    for (int i = 0; i < n; i++)
        assign[i] = -1;
    if (n <= 0)
        return 0;
    long long max_score = 0;
    for (size_t e = 0; e < p->n_edges; e++) {
        const ma_edge *x = &p->edges[e];
        if (x->mentee < 0 || x->mentee >= n || x->mentor < 0 || x->mentor >= m || x->score <= 0)
            return -1;
        if (x->score > max_score)
            max_score = x->score;
    }
    flow f = {.n = n, .m = m, .sink = n + m, .C = max_score + 1, .capacity = p->capacity};
    size_t nodes = (size_t)n + (size_t)m + 1;
    f.row_start = calloc((size_t)n + 1, sizeof *f.row_start);
    f.by_row = malloc((p->n_edges ? p->n_edges : 1) * sizeof *f.by_row);
    f.target = malloc((size_t)n * sizeof *f.target);
    f.slot_start = calloc((size_t)m + 1, sizeof *f.slot_start);
    f.used = calloc((size_t)m + 1, sizeof *f.used);
    f.pi = calloc(nodes, sizeof *f.pi);
    f.d = malloc(nodes * sizeof *f.d);
    f.pred = malloc(nodes * sizeof *f.pred);
    f.settled = calloc(nodes, 1);
    f.touched = malloc(nodes * sizeof *f.touched);
    long long total = -1;
    size_t *fill = NULL;
    if (!f.row_start || !f.by_row || !f.target || !f.slot_start || !f.used || !f.pi || !f.d || !f.pred || !f.settled ||
        !f.touched)
        goto done;
    for (int j = 0; j < m; j++)
        f.slot_start[j + 1] = f.slot_start[j] + (p->capacity[j] > 0 ? p->capacity[j] : 0);
    f.slots = malloc(((size_t)f.slot_start[m] + 1) * sizeof *f.slots);
    fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!f.slots || !fill)
        goto done;
    /* the edges by mentee (CSR); a mentor without places gives no edge */
    for (size_t e = 0; e < p->n_edges; e++)
        if (p->capacity[p->edges[e].mentor] > 0)
            f.row_start[p->edges[e].mentee + 1]++;
    for (int i = 0; i < n; i++)
        f.row_start[i + 1] += f.row_start[i];
    memcpy(fill, f.row_start, ((size_t)n + 1) * sizeof *fill);
    for (size_t e = 0; e < p->n_edges; e++)
        if (p->capacity[p->edges[e].mentor] > 0)
            f.by_row[fill[p->edges[e].mentee]++] = p->edges[e];
    for (size_t v = 0; v < nodes; v++)
        f.d[v] = INF;
    for (int i = 0; i < n; i++)
        f.target[i] = NONE;
    for (int i = 0; i < n; i++)
        if (!s_add_row(&f, i))
            goto done;
    total = 0;
    for (int i = 0; i < n; i++)
        if (f.target[i] >= 0) {
            assign[i] = f.target[i];
            total += f.C - s_edge_cost(&f, i, f.target[i]);
        }
done:
    free(fill);
    free(f.h.items);
    free(f.row_start);
    free(f.by_row);
    free(f.target);
    free(f.slot_start);
    free(f.slots);
    free(f.used);
    free(f.pi);
    free(f.d);
    free(f.pred);
    free(f.settled);
    free(f.touched);
    if (total < 0)
        for (int i = 0; i < n; i++)
            assign[i] = -1;
    return total;
}

static int s_by_score(const void *a, const void *b)
{
    const ma_edge *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->mentee != y->mentee)
        return x->mentee < y->mentee ? -1 : 1;
    return (x->mentor > y->mentor) - (x->mentor < y->mentor);
}

long long ma_greedy(const ma_problem *p, int *assign)
{
    for (int i = 0; i < p->n_mentees; i++)
        assign[i] = -1;
    ma_edge *sorted = malloc((p->n_edges ? p->n_edges : 1) * sizeof *sorted);
    int *left = malloc(((size_t)p->n_mentors + 1) * sizeof *left);
    if (!sorted || !left) {
        free(sorted);
        free(left);
        return -1;
    }
    memcpy(sorted, p->edges, p->n_edges * sizeof *sorted);
    qsort(sorted, p->n_edges, sizeof *sorted, s_by_score);
    for (int j = 0; j < p->n_mentors; j++)
        left[j] = p->capacity[j];
    long long total = 0;
    for (size_t e = 0; e < p->n_edges; e++) {
        const ma_edge *x = &sorted[e];
        if (assign[x->mentee] >= 0 || left[x->mentor] <= 0)
            continue;
        assign[x->mentee] = x->mentor;
        left[x->mentor]--;
        total += x->score;
    }
    free(sorted);
    free(left);
    return total;
}
