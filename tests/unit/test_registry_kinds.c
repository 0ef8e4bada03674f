/* test_registry_kinds — ids, keys, index members and attribute tokens of registry entities: the
 * layout in Redis that lists, filters and delete guards depend on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "entity_layout.h"
#include "registry.pb-c.h"
#include "registry_kinds.h"

static void test_ids_and_keys(void **state)
{
    (void)state;
    char out[REGISTRY_KEY_MAX];
    assert_true(registry_region_of("07-s12", out, sizeof out));
    assert_string_equal(out, "07");
    assert_true(registry_region_of("24", out, sizeof out));
    assert_false(registry_region_of("7-s1", out, sizeof out));
    assert_false(registry_region_of("ab-s1", out, sizeof out));
    assert_false(registry_region_of("07 s1", out, sizeof out));

    assert_true(registry_entity_key(&registry_staff_kind, "07-s12", out, sizeof out));
    assert_string_equal(out, "reg:{r:07}:staff:07-s12");
    assert_true(registry_entity_key(&registry_region_kind, "07", out, sizeof out));
    assert_string_equal(out, "reg:{g}:region:07");
    /* an id of another kind, or a malformed one, has no key: the caller answers "not found" */
    assert_false(registry_entity_key(&registry_staff_kind, "07-o12", out, sizeof out));
    assert_false(registry_entity_key(&registry_staff_kind, "07-s", out, sizeof out));
    assert_false(registry_entity_key(&registry_staff_kind, "07-s1x", out, sizeof out));
    assert_false(registry_entity_key(&registry_region_kind, "07-m1", out, sizeof out));

    registry_make_id(&registry_municipality_kind, "07", 3, out, sizeof out);
    assert_string_equal(out, "07-m3");
    registry_make_id(&registry_organization_kind, "07", 41, out, sizeof out);
    assert_string_equal(out, "07-o41");
    registry_stream_key(&registry_staff_kind, "07", out, sizeof out);
    assert_string_equal(out, "reg:{r:07}:events");
}

static void test_staff_layout(void **state)
{
    (void)state;
    Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
    char *subjects[] = {"mathematics", "physics"};
    char *orgs[] = {"07-o1", "07-o9"};
    char *muns[] = {"07-m1"};
    s.id = "07-s5";
    s.region_id = "07";
    s.last_name = "Ёлкина";
    s.first_name = "Марина";
    s.middle_name = "Хасановна";
    s.category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER;
    s.position = METODNET__POSITION__POSITION_TEACHER;
    s.active = 1;
    s.subjects = subjects;
    s.n_subjects = 2;
    s.organization_ids = orgs;
    s.n_organization_ids = 2;
    s.municipality_ids = muns;
    s.n_municipality_ids = 1;

    static registry_layout layout;
    registry_staff_kind.layout(&s.base, &layout);
    assert_int_equal(layout.n_indexes, 4); /* region, two organizations, one municipality */
    assert_string_equal(layout.indexes[0].key, "reg:{r:07}:ix:staff");
    char member[128]; /* the index text of the name (its bytes: test_common_entity_layout) */
    entity_sort_prefix("елкина марина хасановна", member, sizeof member);
    strcat(member, "\x1f"
                   "07-s5");
    assert_string_equal(layout.indexes[0].member, member);
    assert_string_equal(layout.indexes[2].key, "reg:{r:07}:ix:staff:org:07-o9");
    assert_string_equal(layout.indexes[3].key, "reg:{r:07}:ix:staff:mun:07-m1");
    assert_non_null(strstr(layout.attributes, "|cat:teacher|"));
    assert_non_null(strstr(layout.attributes, "|subj:physics|"));
    assert_non_null(strstr(layout.attributes, "|act:true|"));
    assert_non_null(strstr(layout.attributes, "|org:07-o9|"));
    assert_non_null(strstr(layout.attributes, "|mun:07-m1|"));
    assert_int_equal(layout.n_references, 2);
    assert_string_equal(layout.references[1].key, "reg:{r:07}:org:07-o9");
    entity_layout_clear(&layout);

    registry_territory t;
    registry_staff_kind.territory(&s.base, &t);
    assert_string_equal(t.object.person_id, "07-s5");
    assert_int_equal(t.object.n_organizations, 2);
    assert_int_equal(t.object.n_municipalities, 1);
}

static void test_staff_validation(void **state)
{
    (void)state;
    Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
    char *subjects[] = {"mathematics", "alchemy", "mathematics"};
    char *orgs[] = {"07-o1", "24-o2", "07-m1"};
    s.last_name = "";
    s.first_name = "Анна";
    s.birth_date = "2020-02-30";
    s.subjects = subjects;
    s.n_subjects = 3;
    s.organization_ids = orgs;
    s.n_organization_ids = 3;
    validation v;
    validation_init(&v);
    registry_staff_kind.validate(&s.base, true, &v);
    const char *expected[] = {"lastName",    "birthDate",   "position",           "category",
                              "subjects[1]", "subjects[2]", "organizationIds[1]", "organizationIds[2]"};
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; e++) {
        bool found = false;
        for (size_t i = 0; i < v.n; i++)
            found |= strcmp(v.items[i]->field, expected[e]) == 0;
        if (!found)
            fail_msg("нет нарушения для поля %s", expected[e]);
    }
    assert_int_equal(v.n, sizeof expected / sizeof expected[0]);
    validation_free(&v);
}

static void test_organization_sites(void **state)
{
    (void)state;
    Metodnet__SiteDesignation site = METODNET__SITE_DESIGNATION__INIT;
    site.kind = METODNET__SITE_KIND__SITE_KIND_INNOVATION;
    site.start_date = "2024-09-01";
    site.end_date = "2024-01-01";
    Metodnet__SiteDesignation *sites[] = {&site};
    Metodnet__Organization o = METODNET__ORGANIZATION__INIT;
    o.municipality_id = "07-m1";
    o.name = "МКОУ СОШ № 1 г.п. Терек";
    o.kind = METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL;
    o.sites = sites;
    o.n_sites = 1;
    validation v;
    validation_init(&v);
    registry_organization_kind.validate(&o.base, true, &v);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.items[0]->field, "sites[0].endDate");
    validation_free(&v);
    site.end_date = "";
    registry_organization_kind.validate(&o.base, true, &v);
    assert_int_equal(v.n, 0);
    o.municipality_id = "07-o1"; /* an organization id where a municipality is expected */
    registry_organization_kind.validate(&o.base, true, &v);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.items[0]->field, "municipalityId");
    validation_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_keys),
        cmocka_unit_test(test_staff_layout),
        cmocka_unit_test(test_staff_validation),
        cmocka_unit_test(test_organization_sites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
