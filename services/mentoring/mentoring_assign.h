/* mentoring_assign — the optimal bulk assignment of mentees to mentors, pure (no I/O).
 *
 * Each mentee takes at most one mentor, each mentor at most capacity[j] mentees, and the total score of
 * the assigned edges is the largest possible (a mentee may stay unmatched, which scores 0). Solved
 * exactly as a min-cost flow — mentee → mentor (cost C − score), mentor → sink (capacity[j] units),
 * mentee → sink ("unmatched", cost C) — by successive shortest paths with node potentials, mentees
 * added one at a time (the Hungarian method on the capacity-expanded matrix, with a mentor's places
 * as one node): one Dijkstra run on reduced costs from the new mentee, stopped at the sink; the
 * potentials keep every reduced cost non-negative, so after each mentee the flow of those so far is
 * optimal.
 * The graph is sparse: only the edges given (the flows keep each mentee's top K candidates by score).
 * Costs are integers (scores in hundredths), so the optimum is exact.
 */
#ifndef METODNET_MENTORING_ASSIGN_H
#define METODNET_MENTORING_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t mentee;
    int32_t mentor;
    int32_t score; /* > 0; hundredths of a point */
} ma_edge;

typedef struct {
    int n_mentees;
    int n_mentors;
    const int *capacity; /* per mentor, ≥ 0 */
    const ma_edge *edges;
    size_t n_edges;
} ma_problem;

/* The optimal assignment: assign[i] = mentor of mentee i or -1. Returns the total score, or -1 when out
 * of memory or the input is malformed (an edge naming no mentee or mentor, a score ≤ 0). */
long long ma_solve(const ma_problem *p, int *assign);

/* The greedy baseline (edges by score, best first, taken while both sides are free), for comparison. */
long long ma_greedy(const ma_problem *p, int *assign);

#endif
