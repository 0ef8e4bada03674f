/* test_service_methods — every service's handler table matches its proto service block exactly:
 * each rpc has one handler, each handler names an rpc; and service_methods_check finds a table that
 * does not (a missing handler, a handler for an rpc the proto does not declare, a doubled one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "auth.h"
#include "auth_service.pb-c.h"
#include "diagnostics.h"
#include "notify.h"
#include "events.h"
#include "mentoring.h"
#include "indicators.h"
#include "monitoring.h"
#include "registry.h"
#include "service_worker.h"

static void s_expect_matching(const service_methods *methods)
{
    char problem[256];
    const char *found = service_methods_check(methods, problem, sizeof problem);
    if (found)
        fail_msg("%s", found);
    assert_int_equal(methods->n_handlers, methods->descriptor->n_methods);
}

static void test_every_service_handles_exactly_its_rpcs(void **state)
{
    (void)state;
    s_expect_matching(registry_methods());
    s_expect_matching(auth_methods());
    s_expect_matching(diagnostics_methods());
    s_expect_matching(notify_methods());
    s_expect_matching(events_methods());
    s_expect_matching(mentoring_methods());
    s_expect_matching(indicators_methods());
    s_expect_matching(monitoring_methods());
}

static void s_handler(service_call *call, const ProtobufCMessage *request, void *ud)
{
    (void)call, (void)request, (void)ud;
}

static void test_disagreements_are_found(void **state)
{
    (void)state;
    const ProtobufCServiceDescriptor *auth = &metodnet__auth__descriptor;
    service_handler_entry all[32];
    assert_true(auth->n_methods < 31);
    for (unsigned i = 0; i < auth->n_methods; i++)
        all[i] = (service_handler_entry){auth->methods[i].name, s_handler};
    char problem[256];
    service_methods complete = {auth, all, auth->n_methods};
    assert_null(service_methods_check(&complete, problem, sizeof problem));

    service_methods missing = {auth, all + 1, auth->n_methods - 1};
    assert_non_null(service_methods_check(&missing, problem, sizeof problem));
    assert_non_null(strstr(problem, auth->methods[0].name));

    all[auth->n_methods] = (service_handler_entry){"NoSuchRpc", s_handler};
    service_methods unknown = {auth, all, auth->n_methods + 1};
    assert_non_null(service_methods_check(&unknown, problem, sizeof problem));
    assert_non_null(strstr(problem, "NoSuchRpc"));

    all[auth->n_methods] = all[0];
    service_methods doubled = {auth, all, auth->n_methods + 1};
    assert_non_null(service_methods_check(&doubled, problem, sizeof problem));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_service_handles_exactly_its_rpcs),
        cmocka_unit_test(test_disagreements_are_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
