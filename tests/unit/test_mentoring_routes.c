/* test_mentoring_routes — the mentoring service's check of a pair's route item id: an item of the
 * mentee's own route ("<mentee>-i<n>"), nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mentoring_internal.h"

static void test_route_item_ids(void **state)
{
    (void)state;
    assert_true(mnt_route_item_id_valid("07-s12-i3", "07-s12"));
    assert_true(mnt_route_item_id_valid("07-s12-i120", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i0", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i03", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i3x", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s123-i3", "07-s12")); /* another person's route */
    assert_false(mnt_route_item_id_valid("07-s1-i3", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-x3", "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i1234567890", "07-s12"));
    assert_false(mnt_route_item_id_valid("", "07-s12"));
    assert_false(mnt_route_item_id_valid(NULL, "07-s12"));
    assert_false(mnt_route_item_id_valid("07-s12-i3", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_item_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
