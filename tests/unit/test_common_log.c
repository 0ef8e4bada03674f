/* test_common_log — which finished calls get their log line (log_call_wanted): failed and slow ones
 * always, the rest one in METODNET_ACCESS_LOG_SAMPLE, every one at level debug, none above info. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "log.h"

static void s_init(const char *level, const char *slow, const char *sample)
{
    if (level)
        setenv("METODNET_LOG_LEVEL", level, 1);
    else
        unsetenv("METODNET_LOG_LEVEL");
    if (slow)
        setenv("METODNET_LOG_SLOW_MS", slow, 1);
    else
        unsetenv("METODNET_LOG_SLOW_MS");
    if (sample)
        setenv("METODNET_ACCESS_LOG_SAMPLE", sample, 1);
    else
        unsetenv("METODNET_ACCESS_LOG_SAMPLE");
    log_init("test");
}

static void test_default_policy(void **state)
{
    (void)state;
    s_init(NULL, NULL, NULL);
    assert_false(log_call_wanted(false, 1.5)); /* a quick success: no line */
    assert_true(log_call_wanted(true, 0.1));   /* a failure: always */
    assert_true(log_call_wanted(false, 250));  /* slow: always */
    assert_false(log_call_wanted(false, 249.9));
}

static void test_sample_and_levels(void **state)
{
    (void)state;
    s_init("info", "100", "3");
    int written = 0;
    for (int i = 0; i < 30; i++)
        written += log_call_wanted(false, 1);
    assert_int_equal(written, 10);
    assert_true(log_call_wanted(false, 100));
    s_init("debug", NULL, "0");
    assert_true(log_call_wanted(false, 0.01));
    s_init("warn", NULL, "1");
    assert_false(log_call_wanted(true, 1000)); /* info lines are not written at level warn */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_policy),
        cmocka_unit_test(test_sample_and_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
