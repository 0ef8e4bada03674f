/* test_common_entity_layout — the growing layout of an entity state: grows past any fixed size, refuses
 * loudly past its limits (never drops an entry), tokens are escaped, index and claim differences
 * between two states are what a write must change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "entity_layout.h"

static void test_grows_with_the_record(void **state)
{
    (void)state;
    entity_layout l;
    entity_layout_init(&l);
    /* far more than the 24 indexes and 4 KB of attributes the old fixed layout held */
    for (int i = 0; i < 300; i++) {
        char member[32];
        snprintf(member, sizeof member,
                 "слово%d\x1f"
                 "07-p1",
                 i);
        entity_layout_index(&l, member, "reg:{r:07}:ix:programme:word:%d", i % 7);
        entity_layout_token(&l, "tag", "управление качеством образования");
    }
    entity_layout_reference(&l, "regionId", "reg:{g}:region:%s", "07");
    entity_layout_guard(&l, "reg:{r:07}:ix:qual:prog:%s", "07-p1");
    assert_null(entity_layout_error(&l));
    assert_int_equal(l.n_indexes, 300);
    assert_string_equal(l.indexes[299].key, "reg:{r:07}:ix:programme:word:5");
    assert_string_equal(l.indexes[0].member, "слово0\x1f"
                                             "07-p1");
    assert_true(l.attributes_len > 4096);
    assert_int_equal(strncmp(l.attributes, "|tag:", 5), 0);
    assert_string_equal(l.references[0].key, "reg:{g}:region:07");
    assert_string_equal(l.references[0].field, "regionId");
    assert_string_equal(l.guards[0], "reg:{r:07}:ix:qual:prog:07-p1");
    entity_layout_clear(&l);
    assert_int_equal(l.n_indexes, 0);
    assert_null(l.attributes);
    entity_layout_clear(&l); /* clearing twice is harmless */
}

static void test_refuses_loudly_past_its_limits(void **state)
{
    (void)state;
    entity_layout l;
    entity_layout_init(&l);
    for (int i = 0; i < ENTITY_LAYOUT_MAX_ENTRIES + 10; i++)
        entity_layout_index(&l, "m", "k:%d", i);
    assert_non_null(entity_layout_error(&l));
    assert_non_null(strstr(entity_layout_error(&l), "индексы"));
    entity_layout_clear(&l);

    char big[ENTITY_LAYOUT_MAX_TEXT + 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    entity_layout_index(&l, big, "k");
    assert_non_null(entity_layout_error(&l));
    assert_int_equal(l.n_indexes, 0);
    entity_layout_clear(&l);
    assert_null(entity_layout_error(&l));
}

static void test_tokens_cannot_forge_another(void **state)
{
    (void)state;
    entity_layout l;
    entity_layout_init(&l);
    entity_layout_token(&l, "tag", "a|mun:07-m9");
    entity_layout_token(&l, "act", "true");
    entity_layout_token(&l, "empty", NULL);
    assert_string_equal(l.attributes, "|tag:a/mun:07-m9|act:true|empty:|");
    entity_layout_clear(&l);
}

static void test_differences_are_what_a_write_changes(void **state)
{
    (void)state;
    entity_layout before, after;
    entity_layout_init(&before);
    entity_layout_init(&after);
    entity_layout_index(&before,
                        "иванов\x1f"
                        "07-s1",
                        "reg:{r:07}:ix:staff");
    entity_layout_index(&before,
                        "иванов\x1f"
                        "07-s1",
                        "reg:{r:07}:ix:staff:org:%s", "07-o1");
    entity_layout_claim(&before, "externalId", "СНИЛС-1", "reg:{r:07}:xid:staff");
    entity_layout_claim(&before, "associationStaff", "07-a1:07-s1", "reg:{r:07}:claim:member:associationStaff");
    entity_layout_index(&after,
                        "иванов\x1f"
                        "07-s1",
                        "reg:{r:07}:ix:staff");
    entity_layout_index(&after,
                        "иванов\x1f"
                        "07-s1",
                        "reg:{r:07}:ix:staff:org:%s", "07-o2");
    entity_layout_claim(&after, "externalId", "СНИЛС-2", "reg:{r:07}:xid:staff");
    entity_layout_claim(&after, "associationStaff", "07-a1:07-s1", "reg:{r:07}:claim:member:associationStaff");
    entity_layout_claim(&after, "empty", "", "ignored"); /* no value: no claim */
    assert_int_equal(after.n_claims, 2);

    entity_index_entry out[4];
    assert_int_equal(entity_layout_index_difference(&before, &after, out), 1);
    assert_string_equal(out[0].key, "reg:{r:07}:ix:staff:org:07-o1");
    assert_int_equal(entity_layout_index_difference(&after, &before, out), 1);
    assert_string_equal(out[0].key, "reg:{r:07}:ix:staff:org:07-o2");
    assert_int_equal(entity_layout_index_difference(&after, NULL, out), 2);

    entity_claim claims[4], releases[4];
    size_t n_claims, n_releases;
    entity_layout_claims(&before, &after, "07-s1", claims, &n_claims, releases, &n_releases);
    assert_int_equal(n_claims, 2);   /* every value is claimed again (an owned one stays owned) */
    assert_int_equal(n_releases, 1); /* only the value given up is released */
    assert_string_equal(releases[0].value, "СНИЛС-1");
    assert_string_equal(releases[0].owner, "07-s1");
    entity_layout_claims(&before, NULL, "07-s1", claims, &n_claims, releases, &n_releases); /* a delete */
    assert_int_equal(n_claims, 0);
    assert_int_equal(n_releases, 2);
    entity_layout_clear(&before);
    entity_layout_clear(&after);
}

static void test_sort_member(void **state)
{
    (void)state;
    char member[128];
    /* folded (Ё → е), each Cyrillic letter one byte from 0x80 (а) to 0x9f (я), \x1f in the text a space */
    entity_layout_sort_member(member, sizeof member, "Шогенова Ёлка\x1fх", "07-s5");
    assert_string_equal(member, "\x98\x8e\x83\x85\x8d\x8e\x82\x80 \x85\x8b\x8a\x80 \x95\x1f"
                                "07-s5");
    /* ASCII, digits and other scripts stay; я is the last letter, before any other non-ASCII text */
    entity_layout_sort_member(member, sizeof member, "СОШ № 3 School я ѣ", "07-o1");
    assert_string_equal(member, "\x91\x8e\x98 \xe2\x84\x96 3 school \x9f \xd1\xa3\x1f"
                                "07-o1");
    /* a query prefix is made the same way, and stays a prefix of the member */
    char prefix[64];
    entity_sort_prefix("ШОГЕН", prefix, sizeof prefix);
    assert_string_equal(prefix, "\x98\x8e\x83\x85\x8d");
    /* applying the rule again changes nothing (ops/migrate/sort_text.lua relies on it) */
    char again[64] = "\x98\x8e \xd0\x80 \xd1\x92\x80";
    entity_sort_collate(again);
    assert_string_equal(again, "\x98\x8e \xd0\x80 \xd1\x92\x80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_with_the_record),
        cmocka_unit_test(test_refuses_loudly_past_its_limits),
        cmocka_unit_test(test_tokens_cannot_forge_another),
        cmocka_unit_test(test_differences_are_what_a_write_changes),
        cmocka_unit_test(test_sort_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
