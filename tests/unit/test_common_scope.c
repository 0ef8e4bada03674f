/* test_common_scope — the object-level access rules of scope_allows() for every scope kind, read and
 * write, own and foreign objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scope.h"

static Metodnet__Principal s_principal(Metodnet__Role role, Metodnet__ScopeKind kind, const char *scope_id,
                                       const char *region, const char *municipality)
{
    Metodnet__Principal p = METODNET__PRINCIPAL__INIT;
    p.user_id = "u1";
    p.role = role;
    p.scope_kind = kind;
    p.scope_id = (char *)scope_id;
    p.region_id = (char *)region;
    p.municipality_id = (char *)municipality;
    return p;
}

/* A teacher of school 07-o1 (municipality 07-m1) who also works in 07-o9 (municipality 07-m2). */
static const char *s_muns[] = {"07-m1", "07-m2"};
static const char *s_orgs[] = {"07-o1", "07-o9"};
static const scope_object s_person = {"07", s_muns, 2, s_orgs, 2, "07-s5"};
static const scope_object s_school = {"07", s_muns, 1, s_orgs, 1, NULL};
static const scope_object s_municipality = {"07", s_muns, 1, NULL, 0, NULL};
static const scope_object s_other_municipality = {"07", s_muns + 1, 1, NULL, 0, NULL};
static const scope_object s_region = {"07", NULL, 0, NULL, 0, NULL};
static const char *s_far_muns[] = {"24-m3"};
static const char *s_far_orgs[] = {"24-o4"};
static const scope_object s_foreign_person = {"24", s_far_muns, 1, s_far_orgs, 1, "24-s8"};

static void test_region_admin(void **state)
{
    (void)state;
    Metodnet__Principal p =
        s_principal(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "07", "");
    assert_true(scope_allows(&p, &s_person, SCOPE_WRITE));
    assert_true(scope_allows(&p, &s_region, SCOPE_WRITE));
    assert_false(scope_allows(&p, &s_foreign_person, SCOPE_READ));
    assert_false(scope_is_global(&p));
}

static void test_methodologist(void **state)
{
    (void)state;
    Metodnet__Principal p = s_principal(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                        METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m2", "07", "07-m2");
    assert_true(scope_allows(&p, &s_person, SCOPE_WRITE)); /* works in a school of 07-m2 too */
    assert_false(scope_allows(&p, &s_school, SCOPE_READ)); /* 07-o1 lies in 07-m1 */
    assert_true(scope_allows(&p, &s_other_municipality, SCOPE_READ));
    assert_false(scope_allows(&p, &s_other_municipality, SCOPE_WRITE)); /* own municipality: read-only */
    assert_false(scope_allows(&p, &s_municipality, SCOPE_READ));
    assert_true(scope_allows(&p, &s_region, SCOPE_READ));
    assert_false(scope_allows(&p, &s_region, SCOPE_WRITE));
    assert_false(scope_allows(&p, &s_foreign_person, SCOPE_READ));
}

static void test_school_admin_and_system(void **state)
{
    (void)state;
    Metodnet__Principal admin = s_principal(METODNET__ROLE__ROLE_SCHOOL_ADMIN,
                                            METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07", "07-m1");
    assert_true(scope_allows(&admin, &s_school, SCOPE_WRITE));
    assert_true(scope_allows(&admin, &s_person, SCOPE_WRITE));
    assert_true(scope_allows(&admin, &s_municipality, SCOPE_READ));
    assert_false(scope_allows(&admin, &s_municipality, SCOPE_WRITE));
    assert_false(scope_allows(&admin, &s_other_municipality, SCOPE_READ));

    Metodnet__Principal system = s_principal(METODNET__ROLE__ROLE_SCHOOL_SYSTEM,
                                             METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07", "07-m1");
    assert_true(scope_allows(&system, &s_person, SCOPE_READ));
    assert_false(scope_allows(&system, &s_person, SCOPE_WRITE)); /* API keys are read-only */
}

static void test_self_and_nobody(void **state)
{
    (void)state;
    Metodnet__Principal self =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s5", "07", "07-m1");
    assert_true(scope_allows(&self, &s_person, SCOPE_WRITE));
    assert_false(scope_allows(&self, &s_school, SCOPE_READ));
    Metodnet__Principal other =
        s_principal(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s6", "07", "07-m1");
    assert_false(scope_allows(&other, &s_person, SCOPE_READ));

    Metodnet__Principal nobody = METODNET__PRINCIPAL__INIT;
    assert_false(scope_allows(&nobody, &s_region, SCOPE_READ));
    assert_false(scope_allows(NULL, &s_region, SCOPE_READ));

    Metodnet__Principal root =
        s_principal(METODNET__ROLE__ROLE_SYSTEM, METODNET__SCOPE_KIND__SCOPE_KIND_ALL, "", "", "");
    assert_true(scope_is_global(&root));
    assert_true(scope_allows(&root, &s_foreign_person, SCOPE_WRITE));
    /* ALL scope is only for the system role */
    Metodnet__Principal fake =
        s_principal(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ALL, "", "", "");
    assert_false(scope_allows(&fake, &s_region, SCOPE_READ));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_admin),
        cmocka_unit_test(test_methodologist),
        cmocka_unit_test(test_school_admin_and_system),
        cmocka_unit_test(test_self_and_nobody),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
