/* test_mentoring_assign — the mentoring service's pure parts: the bulk assignment is optimal (checked
 * against brute force on small random cases), respects every mentor's capacity, beats or equals the
 * greedy baseline; the matching score orders the edge cases of issue 10 (strong in the deficit first,
 * the same school before another municipality, certified first on ties, full mentors not eligible). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mentoring_assign.h"
#include "mentoring_score.h"

/* ---- brute force ---- */

typedef struct {
    const ma_problem *p;
    int *left;
    long long best;
} brute;

static void s_brute(brute *b, int mentee, long long sum)
{
    if (mentee == b->p->n_mentees) {
        if (sum > b->best)
            b->best = sum;
        return;
    }
    s_brute(b, mentee + 1, sum); /* unmatched */
    for (size_t e = 0; e < b->p->n_edges; e++) {
        const ma_edge *x = &b->p->edges[e];
        if (x->mentee != mentee || b->left[x->mentor] == 0)
            continue;
        b->left[x->mentor]--;
        s_brute(b, mentee + 1, sum + x->score);
        b->left[x->mentor]++;
    }
}

static uint32_t s_rand_state = 12345;
static uint32_t s_rand(void)
{
    s_rand_state = s_rand_state * 1103515245u + 12345u;
    return (s_rand_state >> 8) & 0xffffff;
}

static void test_optimal_against_brute_force(void **state)
{
    (void)state;
    int beaten = 0;
    for (int round = 0; round < 3000; round++) {
        int n = 1 + (int)(s_rand() % 7), m = 1 + (int)(s_rand() % 4);
        int capacity[4];
        for (int j = 0; j < m; j++)
            capacity[j] = (int)(s_rand() % 3); /* 0..2, a full mentor has 0 */
        ma_edge edges[64];
        size_t n_edges = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                if (s_rand() % 3 != 0)
                    edges[n_edges++] = (ma_edge){i, j, 1 + (int32_t)(s_rand() % (round % 2 ? 5 : 10000))};
        ma_problem p = {n, m, capacity, edges, n_edges};
        int assign[8], greedy[8], left[4];
        long long total = ma_solve(&p, assign);
        memcpy(left, capacity, sizeof left);
        brute b = {&p, left, 0};
        s_brute(&b, 0, 0);
        assert_int_equal(total, b.best);
        /* the assignment is feasible and scores what it says */
        int used[4] = {0};
        long long check = 0;
        for (int i = 0; i < n; i++) {
            if (assign[i] < 0)
                continue;
            used[assign[i]]++;
            bool edge = false;
            for (size_t e = 0; e < n_edges; e++)
                if (edges[e].mentee == i && edges[e].mentor == assign[i]) {
                    edge = true;
                    check += edges[e].score;
                }
            assert_true(edge);
        }
        for (int j = 0; j < m; j++)
            assert_true(used[j] <= capacity[j]);
        assert_int_equal(check, total);
        long long g = ma_greedy(&p, greedy);
        assert_true(g <= total);
        beaten += g < total;
    }
    assert_true(beaten > 0); /* the cases do tell the optimum from greedy */
}

static void test_greedy_is_not_optimal_here(void **state)
{
    (void)state;
    /* mentor 0 (1 place) is best for both; mentee 1 has no other choice */
    int capacity[] = {1, 1};
    ma_edge edges[] = {{0, 0, 100}, {0, 1, 90}, {1, 0, 95}};
    ma_problem p = {2, 2, capacity, edges, 3};
    int assign[2];
    assert_int_equal(ma_solve(&p, assign), 185);
    assert_int_equal(assign[0], 1);
    assert_int_equal(assign[1], 0);
    assert_int_equal(ma_greedy(&p, assign), 100);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    int capacity[] = {1};
    ma_edge bad[] = {{0, 3, 10}};
    ma_problem p = {1, 1, capacity, bad, 1};
    int assign[1];
    assert_int_equal(ma_solve(&p, assign), -1);
    assert_int_equal(assign[0], -1);
}

/* ---- scoring ---- */

static ms_person s_person(int org, int mun)
{
    ms_person p;
    memset(&p, 0, sizeof p);
    p.orgs[0] = org;
    p.n_orgs = 1;
    p.muns[0] = mun;
    p.n_muns = 1;
    p.subjects = 1;
    p.start_days = 18000;
    p.max_places = 2;
    p.available = true;
    memset(p.percent, MS_PERCENT_UNKNOWN, sizeof p.percent);
    return p;
}

static void test_score_edges(void **state)
{
    (void)state;
    ms_weights w;
    ms_weights_default(&w);
    ms_person mentee = s_person(1, 1);
    mentee.deficit = 1u << 3;
    mentee.start_days = 20000;
    ms_person strong = s_person(2, 1), weak = s_person(1, 1);
    strong.strong = 1u << 3;
    strong.percent[3] = 100;
    weak.percent[3] = 50;
    assert_true(ms_score(&w, &mentee, &strong, NULL) > ms_score(&w, &mentee, &weak, NULL));
    /* the same school outranks another municipality */
    ms_person same_school = strong, other_mun = strong;
    same_school.orgs[0] = 1;
    other_mun.orgs[0] = 9;
    other_mun.muns[0] = 9;
    assert_true(ms_score(&w, &mentee, &same_school, NULL) > ms_score(&w, &mentee, &other_mun, NULL));
    /* certified wins a tie */
    ms_person certified = strong;
    certified.certified = true;
    assert_true(ms_score(&w, &mentee, &certified, NULL) > ms_score(&w, &mentee, &strong, NULL));
    /* full, unavailable, oneself, another category: not eligible */
    ms_person full = strong;
    full.load = 2;
    assert_false(ms_eligible(&mentee, &full));
    ms_person away = strong;
    away.available = false;
    assert_false(ms_eligible(&mentee, &away));
    assert_false(ms_eligible(&mentee, &mentee));
    ms_person manager = strong;
    manager.manager = true;
    assert_false(ms_eligible(&mentee, &manager));
    assert_true(ms_eligible(&mentee, &strong));
    /* the sentence */
    ms_parts parts;
    ms_score(&w, &mentee, &certified, &parts);
    const char *names[MS_MAX_COMPETENCES] = {0};
    names[3] = "оценочная компетенция";
    char text[512];
    ms_explain(&parts, &certified, names, text, sizeof text);
    assert_string_equal(text, "сильная сторона в «оценочная компетенция», где у наставляемого дефицит; тот же "
                              "предмет; тот же муниципалитет; сертифицированный наставник; свободно 2 места из 2");
}

static void test_weights_parse(void **state)
{
    (void)state;
    ms_weights w;
    ms_weights_default(&w);
    assert_true(ms_weights_parse("deficit=60, certified=0", &w));
    assert_true(w.deficit == 60 && w.certified == 0 && w.subject == 15);
    ms_weights before = w;
    assert_false(ms_weights_parse("deficit=60,speed=3", &w));
    assert_false(ms_weights_parse("deficit=101", &w));
    assert_false(ms_weights_parse("deficit", &w));
    assert_memory_equal(&w, &before, sizeof w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimal_against_brute_force),
        cmocka_unit_test(test_greedy_is_not_optimal_here),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_score_edges),
        cmocka_unit_test(test_weights_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
