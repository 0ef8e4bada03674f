/* test_indicators_catalogue — the indicators' catalogue (I1–I13 in order, shares and counts as
 * INDICATORS.md says), the period grammar (calendar year, school year 2025/26, date range; wrong ones
 * refused in Russian) and the half-up rounding of a share and the people a target needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "indicators.h"

static void test_catalogue(void **state)
{
    (void)state;
    const indicator_def *c = indicators_catalogue();
    static const char *const codes[] = {"I1", "I2", "I3",  "I4",  "I5",  "I6", "I7",
                                        "I8", "I9", "I10", "I11", "I12", "I13"};
    static const bool share[] = {true, true, false, true, false, true, true, false, true, false, true, true, true};
    for (int i = 0; i < INDICATORS_COUNT; i++) {
        assert_string_equal(c[i].code, codes[i]);
        assert_int_equal(c[i].share, share[i]);
        assert_ptr_equal(indicators_find(codes[i]), &c[i]);
        assert_int_equal(c[i].denominator_ru == NULL, !share[i]);
    }
    assert_string_equal(c[0].name_ru,
                        "Доля педагогов, прошедших диагностику профессиональных дефицитов (в разрезе предметов)");
    assert_null(indicators_find("I14"));
    assert_null(indicators_find(NULL));
}

static void test_periods(void **state)
{
    (void)state;
    char s[11], e[11], canon[32], err[256];
    assert_int_equal(indicators_period_parse("", 2026, s, e, canon, sizeof canon, err, sizeof err), 0);
    assert_string_equal(s, "2026-01-01");
    assert_string_equal(e, "2026-12-31");
    assert_string_equal(canon, "2026");
    assert_int_equal(indicators_period_parse("2025/26", 2026, s, e, canon, sizeof canon, err, sizeof err), 0);
    assert_string_equal(s, "2025-09-01");
    assert_string_equal(e, "2026-08-31");
    assert_int_equal(indicators_period_parse("1999/00", 2026, s, e, canon, sizeof canon, err, sizeof err), 0);
    assert_string_equal(e, "2000-08-31");
    assert_int_equal(
        indicators_period_parse("2024-02-01..2024-02-29", 2026, s, e, canon, sizeof canon, err, sizeof err), 0);
    assert_string_equal(canon, "2024-02-01..2024-02-29");
    assert_int_equal(indicators_period_parse("2025/27", 2026, s, e, canon, sizeof canon, err, sizeof err), -1);
    assert_non_null(strstr(err, "Учебный год"));
    assert_int_equal(
        indicators_period_parse("2023-02-29..2023-03-01", 2026, s, e, canon, sizeof canon, err, sizeof err), -1);
    assert_int_equal(
        indicators_period_parse("2026-03-01..2026-02-01", 2026, s, e, canon, sizeof canon, err, sizeof err), -1);
    assert_non_null(strstr(err, "позже"));
    assert_int_equal(indicators_period_parse("26", 2026, s, e, canon, sizeof canon, err, sizeof err), -1);
    assert_int_equal(indicators_period_parse("2026-01-01..", 2026, s, e, canon, sizeof canon, err, sizeof err), -1);
}

static void test_rounding(void **state)
{
    (void)state;
    assert_int_equal(indicators_share_tenths(1, 3), 333);  /* 33.33 → 33.3 */
    assert_int_equal(indicators_share_tenths(2, 3), 667);  /* 66.67 → 66.7 */
    assert_int_equal(indicators_share_tenths(1, 8), 125);  /* 12.5 exactly */
    assert_int_equal(indicators_share_tenths(1, 16), 63);  /* 6.25 → 6.3 (half up) */
    assert_int_equal(indicators_share_tenths(3, 16), 188); /* 18.75 → 18.8 */
    assert_int_equal(indicators_share_tenths(1, 2000), 1); /* 0.05 → 0.1 */
    assert_int_equal(indicators_share_tenths(1, 2001), 0); /* 0.04998 → 0.0 */
    assert_int_equal(indicators_share_tenths(5, 5), 1000);
    assert_int_equal(indicators_people_to_reach(3, 10, 80.0), 5);
    assert_int_equal(indicators_people_to_reach(8, 10, 80.0), 0);
    assert_int_equal(indicators_people_to_reach(0, 3, 50.0), 2);
    assert_int_equal(indicators_people_to_reach(0, 0, 50.0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
