/* mentoring_assign — the optimal bulk assignment (see mentoring_assign.h): shortest augmenting paths on
 * the capacity-expanded matrix with column potentials, and the greedy baseline. */
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
    const long long C = max_score + 1; /* cost of an edge C − score ≥ 1; of "unmatched" C */
    /* columns: the places of each mentor, then one "unmatched" column per mentee */
    int *col_base = calloc((size_t)m + 1, sizeof *col_base);
    if (!col_base)
        return -1;
    for (int j = 0; j < m; j++)
        col_base[j + 1] = col_base[j] + (p->capacity[j] > 0 ? p->capacity[j] : 0);
    int n_places = col_base[m];
    int n_cols = n_places + n;
    /* the edges of each mentee (CSR) */
    size_t *row_start = calloc((size_t)n + 1, sizeof *row_start);
    ma_edge *by_row = malloc((p->n_edges ? p->n_edges : 1) * sizeof *by_row);
    long long *v = calloc((size_t)n_cols, sizeof *v);
    long long *d = malloc((size_t)n_cols * sizeof *d);
    int *pred = malloc((size_t)n_cols * sizeof *pred);
    int *match_col = malloc((size_t)n_cols * sizeof *match_col);
    int *match_row = malloc((size_t)n * sizeof *match_row);
    long long *match_cost = malloc((size_t)n * sizeof *match_cost);
    char *settled = calloc((size_t)n_cols, 1);
    int *touched = malloc((size_t)n_cols * sizeof *touched);
    int *col_mentor = malloc((size_t)(n_places ? n_places : 1) * sizeof *col_mentor);
    heap h = {0};
    long long total = -1;
    if (!row_start || !by_row || !v || !d || !pred || !match_col || !match_row || !match_cost || !settled || !touched ||
        !col_mentor)
        goto done;
    for (size_t e = 0; e < p->n_edges; e++)
        row_start[p->edges[e].mentee + 1]++;
    for (int i = 0; i < n; i++)
        row_start[i + 1] += row_start[i];
    {
        size_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
        if (!fill)
            goto done;
        memcpy(fill, row_start, ((size_t)n + 1) * sizeof *fill);
        for (size_t e = 0; e < p->n_edges; e++)
            by_row[fill[p->edges[e].mentee]++] = p->edges[e];
        free(fill);
    }
    for (int j = 0; j < m; j++)
        for (int k = col_base[j]; k < col_base[j + 1]; k++)
            col_mentor[k] = j;
    for (int k = 0; k < n_cols; k++) {
        d[k] = INF;
        match_col[k] = -1;
    }
    for (int i = 0; i < n; i++) {
        /* Dijkstra from row i on reduced costs, to the first free column */
        size_t n_touched = 0;
        h.n = 0;
        int row = i;
        long long base = 0; /* d of the column through which row was reached, minus its reduced offset */
        int found = -1;
        long long d_found = 0;
        for (;;) {
            /* relax the columns of row: its places, and its own "unmatched" column */
            for (size_t e = row_start[row]; e < row_start[row + 1]; e++) {
                const ma_edge *x = &by_row[e];
                long long cost = C - x->score;
                for (int k = col_base[x->mentor]; k < col_base[x->mentor + 1]; k++) {
                    if (settled[k])
                        continue;
                    long long cand = base + cost - v[k];
                    if (cand < d[k]) {
                        if (d[k] == INF)
                            touched[n_touched++] = k;
                        d[k] = cand;
                        pred[k] = row;
                        if (!s_push(&h, cand, k))
                            goto done;
                    }
                }
            }
            int dummy = n_places + row;
            if (!settled[dummy]) {
                long long cand = base + C - v[dummy];
                if (cand < d[dummy]) {
                    if (d[dummy] == INF)
                        touched[n_touched++] = dummy;
                    d[dummy] = cand;
                    pred[dummy] = row;
                    if (!s_push(&h, cand, dummy))
                        goto done;
                }
            }
            /* the nearest column not yet settled */
            int k = -1;
            while (h.n > 0) {
                heap_item top = s_pop(&h);
                if (!settled[top.col] && top.key == d[top.col]) {
                    k = top.col;
                    break;
                }
            }
            if (k < 0)
                goto done; /* cannot happen: row i's own column is always free */
            settled[k] = 1;
            if (match_col[k] < 0) {
                found = k;
                d_found = d[k];
                break;
            }
            row = match_col[k];
            /* reduced cost of row's matched edge is 0: continue from there */
            base = d[k] - (match_cost[row] - v[k]);
        }
        /* potentials of the settled columns; then the augmenting path */
        for (size_t t = 0; t < n_touched; t++) {
            int k = touched[t];
            if (settled[k])
                v[k] += d[k] - d_found;
        }
        int k = found;
        for (;;) {
            int r = pred[k];
            int previous = r == i ? -1 : match_row[r];
            match_col[k] = r;
            match_row[r] = k;
            match_cost[r] = C; /* "unmatched", or the edge's cost below */
            if (k < n_places) {
                for (size_t e = row_start[r]; e < row_start[r + 1]; e++)
                    if (by_row[e].mentor == col_mentor[k]) {
                        match_cost[r] = C - by_row[e].score;
                        break;
                    }
            }
            if (r == i)
                break;
            k = previous;
        }
        for (size_t t = 0; t < n_touched; t++) {
            d[touched[t]] = INF;
            settled[touched[t]] = 0;
        }
    }
    total = 0;
    for (int i = 0; i < n; i++) {
        int k = match_row[i];
        if (k < n_places) {
            assign[i] = col_mentor[k];
            total += C - match_cost[i];
        }
    }
done:
    free(h.items);
    free(col_base);
    free(row_start);
    free(by_row);
    free(v);
    free(d);
    free(pred);
    free(match_col);
    free(match_row);
    free(match_cost);
    free(settled);
    free(touched);
    free(col_mentor);
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
