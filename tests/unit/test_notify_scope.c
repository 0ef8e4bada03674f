/* test_notify_scope — who sees a notification (notify_visible, the one rule of the feed, the stream and,
 * through the subscription indexes, the webhooks): a school and a methodologist their municipality's and
 * the region's, a region administrator the whole region, nobody another region's; and the subscription
 * rule of the webhook kind (a school system's key only its own subscriptions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "notify_internal.h"

static Metodnet__Principal s_caller(Metodnet__Role role, Metodnet__ScopeKind kind, const char *scope_id,
                                    const char *municipality)
{
    Metodnet__Principal p = METODNET__PRINCIPAL__INIT;
    p.user_id = "u1";
    p.role = role;
    p.scope_kind = kind;
    p.scope_id = (char *)scope_id;
    p.region_id = "07";
    p.municipality_id = (char *)municipality;
    return p;
}

static void test_visible(void **state)
{
    (void)state;
    char *muns_a[] = {"07-m1"};
    Metodnet__NotificationScope in_a = METODNET__NOTIFICATION_SCOPE__INIT;
    in_a.region_id = "07";
    in_a.municipality_ids = muns_a;
    in_a.n_municipality_ids = 1;
    Metodnet__NotificationScope regional = METODNET__NOTIFICATION_SCOPE__INIT;
    regional.region_id = "07";
    regional.region = true;
    Metodnet__NotificationScope other_region = regional;
    other_region.region_id = "08";

    Metodnet__Principal school_a =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_SYSTEM, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07-m1");
    Metodnet__Principal school_b =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_SYSTEM, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o2", "07-m2");
    Metodnet__Principal methodologist_a = s_caller(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                                   METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "");
    Metodnet__Principal methodologist_b = s_caller(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                                   METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m2", "");
    Metodnet__Principal admin =
        s_caller(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");
    Metodnet__Principal teacher_a =
        s_caller(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s1", "07-m1");
    Metodnet__Principal nobody =
        s_caller(METODNET__ROLE__ROLE_UNSPECIFIED, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");

    assert_true(notify_visible(&school_a, &in_a));
    assert_false(notify_visible(&school_b, &in_a));
    assert_true(notify_visible(&methodologist_a, &in_a));
    assert_false(notify_visible(&methodologist_b, &in_a));
    assert_true(notify_visible(&admin, &in_a));
    assert_true(notify_visible(&teacher_a, &in_a));
    assert_false(notify_visible(&nobody, &in_a));
    assert_false(notify_visible(NULL, &in_a));
    assert_true(notify_visible(&school_b, &regional));
    assert_true(notify_visible(&methodologist_b, &regional));
    assert_false(notify_visible(&school_a, &other_region));
    assert_false(notify_visible(&admin, &other_region));
}

static void test_webhook_rule(void **state)
{
    (void)state;
    Metodnet__Webhook w = METODNET__WEBHOOK__INIT;
    w.id = "07-w1";
    w.region_id = "07";
    w.municipality_id = "07-m1";
    w.organization_id = "07-o1";
    w.owner_key_id = "k1";
    Metodnet__Principal key1 =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_SYSTEM, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07-m1");
    key1.user_id = "k1";
    Metodnet__Principal key2 = key1;
    key2.user_id = "k2"; /* another key of the same school */
    Metodnet__Principal school_admin =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07-m1");
    Metodnet__Principal other_school =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o2", "07-m1");
    Metodnet__Principal methodologist_b = s_caller(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                                   METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m2", "");
    Metodnet__Principal teacher =
        s_caller(METODNET__ROLE__ROLE_TEACHER, METODNET__SCOPE_KIND__SCOPE_KIND_SELF, "07-s1", "07-m1");
    const entity_kind *k = &notify_webhook_kind;
    assert_true(entity_kind_allows(k, &key1, &w.base, SCOPE_WRITE));
    assert_false(entity_kind_allows(k, &key2, &w.base, SCOPE_READ));
    assert_true(entity_kind_allows(k, &school_admin, &w.base, SCOPE_WRITE));
    assert_false(entity_kind_allows(k, &other_school, &w.base, SCOPE_READ));
    assert_false(entity_kind_allows(k, &methodologist_b, &w.base, SCOPE_READ));
    assert_false(entity_kind_allows(k, &teacher, &w.base, SCOPE_READ));
    assert_true(notify_type_known("event.cancelled"));
    assert_false(notify_type_known("registration.created"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_visible), cmocka_unit_test(test_webhook_rule)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
