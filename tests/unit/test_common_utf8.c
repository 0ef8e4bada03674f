/* test_common_utf8 — the one UTF-8 validator: strictness (overlong, surrogates, beyond U+10FFFF),
 * a sequence cut by the end of a buffer, counting, cutting on a boundary, replacing invalid bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static bool s_valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

static void test_accepts_every_plane(void **state)
{
    (void)state;
    assert_true(s_valid(""));
    assert_true(s_valid("ascii"));
    assert_true(s_valid("Учитель математики, ё"));
    assert_true(s_valid("\xE2\x82\xAC"));     /* € */
    assert_true(s_valid("\xF0\x9F\x98\x80")); /* U+1F600 */
    assert_true(s_valid("\xF4\x8F\xBF\xBF")); /* U+10FFFF */
    assert_true(s_valid("\xED\x9F\xBF"));     /* U+D7FF, just below the surrogates */
    assert_int_equal(utf8_length("Шогенова"), 8);
}

static void test_refuses_what_rfc_3629_forbids(void **state)
{
    (void)state;
    assert_false(s_valid("\xC0\xAF"));         /* overlong '/' */
    assert_false(s_valid("\xE0\x80\xAF"));     /* overlong */
    assert_false(s_valid("\xF0\x8F\xBF\xBF")); /* overlong */
    assert_false(s_valid("\xED\xA0\x80"));     /* surrogate U+D800 */
    assert_false(s_valid("\xF4\x90\x80\x80")); /* beyond U+10FFFF */
    assert_false(s_valid("\xFF"));
    assert_false(s_valid("\x80"));     /* a lone continuation */
    assert_false(s_valid("\xD0"));     /* cut */
    assert_false(s_valid("\xD0\x41")); /* not a continuation */
    assert_int_equal(utf8_invalid_at("ab\xFF", 3), 2);
}

static void test_a_sequence_cut_by_the_buffer_end(void **state)
{
    (void)state;
    const char *word = "Учитель"; /* two bytes a letter */
    assert_true(utf8_valid_but_cut(word, 3));
    assert_false(utf8_valid(word, 3));
    assert_true(utf8_valid_but_cut("\xF0\x9F\x98", 3));
    assert_false(utf8_valid_but_cut("\xF0\x9F\x41", 3)); /* broken, not cut */
    assert_false(utf8_valid_but_cut("\xFF\xD0", 2));
}

static void test_prefix_and_sanitize(void **state)
{
    (void)state;
    const char *word = "Учитель";
    assert_int_equal(utf8_prefix(word, strlen(word), 3), 2);
    assert_int_equal(utf8_prefix(word, strlen(word), 100), strlen(word));
    size_t len = 0;
    char *clean = utf8_sanitize("a\xFF"
                                "b",
                                3, &len);
    assert_non_null(clean);
    assert_string_equal(clean, "a\xEF\xBF\xBD"
                               "b");
    assert_int_equal(len, 5);
    assert_true(utf8_valid(clean, len));
    free(clean);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_every_plane),
        cmocka_unit_test(test_refuses_what_rfc_3629_forbids),
        cmocka_unit_test(test_a_sequence_cut_by_the_buffer_end),
        cmocka_unit_test(test_prefix_and_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
