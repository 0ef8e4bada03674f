/* test_gateway_auth — the caller check always answers later, never from inside the call: an answer
 * known at once (no Authorization header) comes on the next loop turn; a cancelled check is never
 * answered; answers not yet delivered when the module goes away are told UNAVAILABLE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <uv.h>

#include "auth.h"

typedef struct {
    int calls;
    gateway_auth_result result;
} outcome;

static void s_record(gateway_auth_result result, const Metodnet__Principal *principal, uint32_t retry_after, void *ud)
{
    (void)principal, (void)retry_after;
    outcome *o = ud;
    o->calls++;
    o->result = result;
}

static void test_known_answer_comes_on_the_next_turn(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gateway_auth *auth = gateway_auth_new(&loop, NULL, NULL);
    assert_non_null(auth);
    outcome missing = {0}, cancelled = {0}, late = {0};
    assert_non_null(gateway_auth_check(auth, NULL, 0, "r1", s_record, &missing));
    assert_int_equal(missing.calls, 0); /* not from inside the call */
    gateway_auth_wait *wait = gateway_auth_check(auth, "Basic abc", 9, "r2", s_record, &cancelled);
    assert_non_null(wait);
    gateway_auth_cancel(wait);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(missing.calls, 1);
    assert_int_equal(missing.result, GATEWAY_AUTH_MISSING);
    assert_int_equal(cancelled.calls, 0);

    assert_non_null(gateway_auth_check(auth, "", 0, "r3", s_record, &late));
    gateway_auth_destroy(&auth);
    assert_null(auth);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.result, GATEWAY_AUTH_UNAVAILABLE);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_comes_on_the_next_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
