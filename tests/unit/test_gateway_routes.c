/* test_gateway_routes — the gateway's route table and HTTP → protobuf mapping: template matching,
 * 404/405, query parameters, body and PATCH update_mask, If-Match, the error document, the status
 * mapping for every StatusCode, the OpenAPI document and the metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "api_error.h"
#include "envelope.pb-c.h"
#include "metrics.h"
#include "openapi.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "registry_import.pb-c.h"
#include "routes.h"
#include "utf8.h"

static routes_match_result s_match(const char *method, const char *path, route_match *m)
{
    return routes_match(method, strlen(method), path, strlen(path), m);
}

static ProtobufCMessage *s_build(const char *method, const char *path, const char *query, const char *body,
                                 const char *if_match, routes_error *err)
{
    route_match m;
    assert_int_equal(s_match(method, path, &m), ROUTES_FOUND);
    return routes_build_request(&m, query, query ? strlen(query) : 0, body, body ? strlen(body) : 0, if_match,
                                if_match ? strlen(if_match) : 0, err);
}

/* Every row names an rpc of its service, whose types have what the row's mapping needs. */
static void test_table_fields(void **state)
{
    (void)state;
    size_t n;
    const route *table = routes_table(&n);
    /* 90 registry + 12 auth + 36 diagnostics + 23 events + 23 mentoring + 13 indicators + 17 monitoring
     * + 10 notify rows */
    assert_int_equal(n, 224);
    char problem[512];
    const char *found = routes_check(table, n, problem, sizeof problem);
    if (found)
        fail_msg("%s", found);
    for (size_t i = 0; i < n; i++) {
        const route *r = &table[i];
        assert_non_null(route_method(r));
        assert_true(route_success_status(r) == (strncmp(r->rpc, "Create", 6) == 0 ? 201 : 200));
        /* only login is reachable without a token, and it never has its reply stored */
        if (r->flags & ROUTE_PUBLIC) {
            assert_string_equal(r->rpc, "Login");
            assert_true(r->flags & ROUTE_SECRET);
        }
        /* only file routes raise the body limit */
        if (r->max_body_bytes != 0)
            assert_true(r->flags & ROUTE_CSV_IN);
    }
}

/* A row naming an rpc its service does not have, or whose types do not fit its flags, is found. */
static void test_table_check_finds_disagreements(void **state)
{
    (void)state;
    char problem[512];
    const route typo[] = {{.method = "GET",
                           .path_template = "/api/v1/staff/{id}",
                           .service = "registry",
                           .rpc = "GetStaf",
                           .summary = "опечатка"}};
    assert_non_null(routes_check(typo, 1, problem, sizeof problem));
    assert_non_null(strstr(problem, "GetStaf"));
    const route wrong_service[] = {{.method = "GET",
                                    .path_template = "/api/v1/staff/{id}",
                                    .service = "auth",
                                    .rpc = "GetStaff",
                                    .summary = "не та служба"}};
    assert_non_null(routes_check(wrong_service, 1, problem, sizeof problem));
    const route no_version[] = {{.method = "POST",
                                 .path_template = "/api/v1/users/{id}/status",
                                 .service = "auth",
                                 .rpc = "SetUserDisabled",
                                 .flags = ROUTE_IF_MATCH,
                                 .summary = "нет версии"}};
    assert_non_null(routes_check(no_version, 1, problem, sizeof problem));
    assert_non_null(strstr(problem, "expected_version"));
    const route wrong_body[] = {{.method = "PATCH",
                                 .path_template = "/api/v1/staff/{id}",
                                 .service = "registry",
                                 .rpc = "UpdateStaff",
                                 .body_field = "staff_id",
                                 .flags = ROUTE_BODY,
                                 .summary = "тело не сущность"}};
    assert_non_null(routes_check(wrong_body, 1, problem, sizeof problem));
    const route twice[] = {
        {.method = "GET", .path_template = "/api/v1/me", .service = "auth", .rpc = "Me", .summary = "раз"},
        {.method = "GET", .path_template = "/api/v1/me", .service = "auth", .rpc = "Me", .summary = "два"}};
    assert_non_null(routes_check(twice, 2, problem, sizeof problem));
    assert_null(routes_check(twice, 1, problem, sizeof problem));
}

static void test_match(void **state)
{
    (void)state;
    route_match m;
    assert_int_equal(s_match("GET", "/api/v1/staff/24-s5", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "GetStaff");
    assert_int_equal(m.n_params, 1);
    assert_int_equal(m.params[0].name_len, 2);
    assert_memory_equal(m.params[0].name, "id", 2);
    assert_string_equal(m.params[0].value, "24-s5");

    assert_int_equal(s_match("PATCH", "/api/v1/municipalities/07-m1/", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "UpdateMunicipality");
    assert_string_equal(m.params[0].value, "07-m1");

    assert_int_equal(s_match("POST", "/api/v1/regions", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "CreateRegion");
    assert_int_equal(m.n_params, 0);
    assert_int_equal(s_match("GET", "/api/v1/organizations", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "ListOrganizations");
    assert_int_equal(s_match("DELETE", "/api/v1/organizations/24-o1", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "DeleteOrganization");

    /* percent-escapes decode per segment; an encoded slash never matches */
    assert_int_equal(s_match("GET", "/api/v1/staff/a%2Db", &m), ROUTES_FOUND);
    assert_string_equal(m.params[0].value, "a-b");
    assert_int_equal(s_match("GET", "/api/v1/staff/a%2Fb", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/api/v1/staff/a%2", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/api/v1/staff/a%00", &m), ROUTES_NOT_FOUND);

    assert_int_equal(s_match("GET", "/api/v1/teachers", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/api/v1/staffs", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/api/v1/staff/1/2", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/api/v1/staff//", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "/", &m), ROUTES_NOT_FOUND);
    assert_int_equal(s_match("GET", "", &m), ROUTES_NOT_FOUND);

    assert_int_equal(s_match("PUT", "/api/v1/staff/1", &m), ROUTES_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, PATCH, DELETE");
    assert_int_equal(s_match("DELETE", "/api/v1/staff", &m), ROUTES_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST, GET");
    assert_int_equal(s_match("get", "/api/v1/staff", &m), ROUTES_METHOD_NOT_ALLOWED);
}

static void test_query(void **state)
{
    (void)state;
    routes_error err;
    ProtobufCMessage *msg = s_build("GET", "/api/v1/staff",
                                    "limit=10&regionId=24&active=true&q=%D0%98%D0%B2+%D0%B0&"
                                    "lowResults=x&position=teacher&cursor=abc",
                                    NULL, NULL, &err);
    /* lowResults is not a ListStaffRequest field */
    assert_null(msg);
    assert_string_equal(err.field, "lowResults");
    assert_non_null(strstr(err.description, "lowResults"));

    msg = s_build("GET", "/api/v1/staff",
                  "limit=10&regionId=24&active=true&q=%D0%98%D0%B2+%D0%B0&position=teacher&"
                  "cursor=abc&organizationId=24-o1&subject=math&category=teacher",
                  NULL, NULL, &err);
    assert_non_null(msg);
    Metodnet__ListStaffRequest *list = (Metodnet__ListStaffRequest *)msg;
    assert_int_equal(list->limit, 10);
    assert_string_equal(list->region_id, "24");
    assert_string_equal(list->active, "true");
    assert_string_equal(list->q, "Ив а");
    assert_string_equal(list->position, "teacher");
    assert_string_equal(list->cursor, "abc");
    assert_string_equal(list->organization_id, "24-o1");
    assert_string_equal(list->subject, "math");
    assert_string_equal(list->category, "teacher");
    protobuf_c_message_free_unpacked(msg, NULL);

    msg = s_build("GET", "/api/v1/organizations", "lowResults=true&municipalityId=24-m2&kind=school", NULL, NULL, &err);
    assert_non_null(msg);
    assert_string_equal(((Metodnet__ListOrganizationsRequest *)msg)->low_results, "true");
    assert_string_equal(((Metodnet__ListOrganizationsRequest *)msg)->municipality_id, "24-m2");
    protobuf_c_message_free_unpacked(msg, NULL);

    /* a number that is not a number names the parameter */
    assert_null(s_build("GET", "/api/v1/regions", "limit=ten", NULL, NULL, &err));
    assert_string_equal(err.field, "limit");
    /* single-object routes take no query parameters; nor can a query override the path id */
    assert_null(s_build("GET", "/api/v1/regions/24", "id=25", NULL, NULL, &err));
    assert_string_equal(err.field, "id");
    assert_null(s_build("GET", "/api/v1/regions/24", "pretty=1", NULL, NULL, &err));
    assert_string_equal(err.field, "pretty");
    assert_null(s_build("GET", "/api/v1/regions", "q=%ZZ", NULL, NULL, &err));
    assert_string_equal(err.field, "q");
    /* found by fuzzing (tests/fuzz/fuzz_routes.c): a parameter name that decodes to bytes that are
     * not UTF-8 was put into the error text as is, which then was no longer UTF-8 */
    assert_null(s_build("GET", "/api/v1/regions", "q%D0%B0%D0=1", NULL, NULL, &err));
    assert_string_equal(err.field, "");
    assert_string_equal(err.description, "Некорректная кодировка имени параметра запроса");
    /* empty pieces are ignored */
    msg = s_build("GET", "/api/v1/regions", "&&limit=5&", NULL, NULL, &err);
    assert_non_null(msg);
    assert_int_equal(((Metodnet__ListRegionsRequest *)msg)->limit, 5);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void test_create_body(void **state)
{
    (void)state;
    routes_error err;
    ProtobufCMessage *msg = s_build("POST", "/api/v1/staff", NULL,
                                    "{\"lastName\":\"Иванова\",\"firstName\":\"Анна\",\"organizationIds\":[\"24-o1\"],"
                                    "\"category\":\"teacher\",\"active\":true}",
                                    NULL, &err);
    assert_non_null(msg);
    Metodnet__CreateStaffRequest *create = (Metodnet__CreateStaffRequest *)msg;
    assert_non_null(create->staff);
    assert_string_equal(create->staff->last_name, "Иванова");
    assert_int_equal(create->staff->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER);
    assert_int_equal(create->staff->n_organization_ids, 1);
    assert_int_equal(create->n_update_mask, 5);
    assert_string_equal(create->update_mask[0], "last_name");
    assert_string_equal(create->update_mask[2], "organization_ids");
    assert_string_equal(create->update_mask[4], "active");
    protobuf_c_message_free_unpacked(msg, NULL);

    /* malformed JSON, a non-object, an empty body, an unknown field and a wrong type are refused */
    assert_null(s_build("POST", "/api/v1/regions", NULL, "{\"name\":", NULL, &err));
    assert_string_equal(err.field, "");
    assert_non_null(strstr(err.description, "JSON"));
    /* found by fuzzing (tests/fuzz/fuzz_routes.c): the parser's English text was quoted with the input
     * cut in the middle of a letter ("invalid escape near '"\\<half of в>'"), so the error was not
     * UTF-8; it is the codec's Russian message now */
    assert_null(s_build("POST", "/api/v1/regions", NULL, "{\"name\":\"\\в\"}", NULL, &err));
    assert_string_equal(err.field, "");
    assert_true(utf8_valid(err.description, strlen(err.description)));
    assert_string_equal(err.description, "ошибка синтаксиса JSON (строка 1, позиция 11)");
    assert_null(s_build("POST", "/api/v1/regions", NULL, "[1]", NULL, &err));
    assert_null(s_build("POST", "/api/v1/regions", NULL, "", NULL, &err));
    assert_null(s_build("POST", "/api/v1/regions", NULL, "{\"name\":\"a\",\"name\":\"b\"}", NULL, &err));
    assert_null(s_build("POST", "/api/v1/regions", NULL, "{\"nmae\":\"x\"}", NULL, &err));
    assert_string_equal(err.field, "nmae");
    assert_null(s_build("POST", "/api/v1/staff", NULL, "{\"subjects\":[\"math\", 3]}", NULL, &err));
    assert_string_equal(err.field, "subjects[1]");
}

static void test_patch(void **state)
{
    (void)state;
    routes_error err;
    ProtobufCMessage *msg =
        s_build("PATCH", "/api/v1/staff/24-s5", NULL,
                "{\"lastName\":\"Петрова\",\"organizationIds\":[\"24-o1\",\"24-o2\"],\"qualificationCategory\":null}",
                "\"3\"", &err);
    assert_non_null(msg);
    Metodnet__UpdateStaffRequest *update = (Metodnet__UpdateStaffRequest *)msg;
    assert_string_equal(update->id, "24-s5");
    assert_int_equal(update->expected_version, 3);
    assert_string_equal(update->staff->last_name, "Петрова");
    assert_int_equal(update->staff->n_organization_ids, 2);
    assert_int_equal(update->n_update_mask, 3);
    assert_string_equal(update->update_mask[0], "last_name");
    assert_string_equal(update->update_mask[1], "organization_ids");
    assert_string_equal(update->update_mask[2], "qualification_category");
    protobuf_c_message_free_unpacked(msg, NULL);

    /* the body cannot move the object: the id comes from the path, "id" in the body is the entity's */
    msg = s_build("PATCH", "/api/v1/regions/24", NULL, "{\"name\":\"Красноярский край\"}", NULL, &err);
    assert_non_null(msg);
    assert_string_equal(((Metodnet__UpdateRegionRequest *)msg)->id, "24");
    assert_int_equal(((Metodnet__UpdateRegionRequest *)msg)->expected_version, 0);
    protobuf_c_message_free_unpacked(msg, NULL);

    assert_null(s_build("PATCH", "/api/v1/regions/24", NULL, "{\"name\":\"x\"}", "abc", &err));
    assert_string_equal(err.field, "If-Match");

    msg = s_build("DELETE", "/api/v1/organizations/24-o1", NULL, NULL, "7", &err);
    assert_non_null(msg);
    assert_string_equal(((Metodnet__DeleteRequest *)msg)->id, "24-o1");
    assert_int_equal(((Metodnet__DeleteRequest *)msg)->expected_version, 7);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void test_if_match(void **state)
{
    (void)state;
    long long v = -1;
    assert_int_equal(routes_parse_if_match("\"3\"", 3, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(routes_parse_if_match("3", 1, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(routes_parse_if_match(" 42 ", 4, &v), 0);
    assert_int_equal(v, 42);
    /* RFC 9110: "*" is any current version (no check) */
    assert_int_equal(routes_parse_if_match("*", 1, &v), 0);
    assert_int_equal(v, 0);
    /* strong comparison: a weak tag never matches; a well-formed unknown tag matches nothing (412) */
    assert_int_equal(routes_parse_if_match("W/\"12\"", 6, &v), 0);
    assert_int_equal(v, ROUTES_VERSION_NONE);
    assert_int_equal(routes_parse_if_match("\"abc\"", 5, &v), 0);
    assert_int_equal(v, ROUTES_VERSION_NONE);
    assert_int_equal(routes_parse_if_match("\"\"", 2, &v), 0);
    assert_int_equal(v, ROUTES_VERSION_NONE);
    assert_int_equal(routes_parse_if_match("\"0\"", 3, &v), 0);
    assert_int_equal(v, ROUTES_VERSION_NONE);
    assert_int_equal(routes_parse_if_match("\"1234567890123456789\"", 21, &v), 0);
    assert_int_equal(v, ROUTES_VERSION_NONE);
    /* a list: its one strong version */
    assert_int_equal(routes_parse_if_match("W/\"1\", \"2\"", 10, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(routes_parse_if_match("\"2\", \"2\"", 8, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(routes_parse_if_match("\"1\", \"2\"", 8, &v), -2);
    /* malformed: 400 */
    assert_int_equal(routes_parse_if_match("", 0, &v), -1);
    assert_int_equal(routes_parse_if_match("-1", 2, &v), -1);
    assert_int_equal(routes_parse_if_match("\"3", 2, &v), -1);
    assert_int_equal(routes_parse_if_match("abc", 3, &v), -1);
    assert_int_equal(routes_parse_if_match("W/3", 3, &v), -1);
    assert_int_equal(routes_parse_if_match("\"a\"b\"", 5, &v), -1);
    assert_int_equal(routes_parse_if_match("1234567890123456789", 19, &v), -1);
}

static void test_error_json(void **state)
{
    (void)state;
    api_error_detail details[] = {{"staff.birthDate", "Некорректная дата"}, {"", "Ещё одна"}};
    size_t len = 0;
    char *text = api_error_json("invalid_argument", "Некорректный запрос", details, 2, "rid-1", &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 1);
    json_t *e = json_object_get(doc, "error");
    assert_int_equal(json_object_size(e), 4);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "invalid_argument");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "Некорректный запрос");
    assert_string_equal(json_string_value(json_object_get(e, "requestId")), "rid-1");
    json_t *d = json_object_get(e, "details");
    assert_int_equal(json_array_size(d), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "field")), "staff.birthDate");
    assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "description")), "Некорректная дата");
    json_decref(doc);
    free(text);

    /* no details → an empty array; text that is not UTF-8 still gives a valid document */
    api_error_detail bad = {"\xff\xfe", "x"};
    text = api_error_json("not_found", "Нет", &bad, 1, "r", NULL);
    doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    json_decref(doc);
    free(text);
    text = api_error_json("not_found", "Нет", NULL, 0, "r", NULL);
    doc = json_loads(text, 0, &jerr);
    assert_true(json_is_array(json_object_get(json_object_get(doc, "error"), "details")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "error"), "details")), 0);
    json_decref(doc);
    free(text);

    assert_string_equal(api_error_code_for_http(413), "payload_too_large");
    assert_string_equal(api_error_code_for_http(415), "unsupported_media_type");
    assert_string_equal(api_error_code_for_http(405), "method_not_allowed");
    assert_string_equal(api_error_code_for_http(404), "not_found");
    assert_string_equal(api_error_code_for_http(412), "version_mismatch");
}

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int http;
        const char *code;
    } want[] = {
        {"STATUS_CODE_OK", 200, "ok"},
        {"STATUS_CODE_INVALID_ARGUMENT", 400, "invalid_argument"},
        {"STATUS_CODE_UNAUTHENTICATED", 401, "unauthenticated"},
        {"STATUS_CODE_PERMISSION_DENIED", 403, "permission_denied"},
        {"STATUS_CODE_NOT_FOUND", 404, "not_found"},
        {"STATUS_CODE_CONFLICT", 409, "conflict"},
        {"STATUS_CODE_VERSION_MISMATCH", 412, "version_mismatch"},
        {"STATUS_CODE_UNPROCESSABLE", 422, "unprocessable"},
        {"STATUS_CODE_TOO_MANY_REQUESTS", 429, "too_many_requests"},
        {"STATUS_CODE_INTERNAL", 500, "internal"},
        {"STATUS_CODE_UNAVAILABLE", 503, "unavailable"},
        {"STATUS_CODE_DEADLINE_EXCEEDED", 504, "deadline_exceeded"},
        {"STATUS_CODE_UNIMPLEMENTED", 501, "unimplemented"},
    };
    const ProtobufCEnumDescriptor *desc = &metodnet__status_code__descriptor;
    /* every value of the enum is in the expectation table, so a new code fails this test */
    assert_int_equal(desc->n_values, sizeof want / sizeof want[0]);
    for (unsigned i = 0; i < desc->n_values; i++) {
        size_t k;
        for (k = 0; k < sizeof want / sizeof want[0]; k++)
            if (strcmp(want[k].name, desc->values[i].name) == 0)
                break;
        assert_true(k < sizeof want / sizeof want[0]);
        const char *code = NULL;
        assert_int_equal(api_error_http_status(desc->values[i].value, &code), want[k].http);
        assert_string_equal(code, want[k].code);
    }
    const char *code = NULL;
    assert_int_equal(api_error_http_status(99, &code), 500);
    assert_string_equal(code, "internal");
}

/* CSV routes: the body goes into `csv` as is, dryRun from the query; `csv` is no query parameter. */
static void test_csv_import_mapping(void **state)
{
    (void)state;
    routes_error err;
    const char body[] = "Фамилия;Имя\r\nИванова;Мария\r\n";
    ProtobufCMessage *msg = s_build("POST", "/api/v1/import/staff", "dryRun=true", body, NULL, &err);
    assert_non_null(msg);
    Metodnet__ImportRequest *req = (Metodnet__ImportRequest *)msg;
    assert_true(req->dry_run);
    assert_int_equal(req->csv.len, strlen(body));
    assert_memory_equal(req->csv.data, body, strlen(body));
    protobuf_c_message_free_unpacked(msg, NULL);

    assert_null(s_build("POST", "/api/v1/import/staff", "csv=eA", body, NULL, &err));
    assert_string_equal(err.field, "csv");
    assert_null(s_build("POST", "/api/v1/import/organizations", NULL, NULL, NULL, &err));
    assert_non_null(strstr(err.description, "CSV"));

    route_match m;
    assert_int_equal(s_match("GET", "/api/v1/import/templates/staff.csv", &m), ROUTES_FOUND);
    assert_string_equal(m.route->rpc, "ImportTemplateStaff");
    assert_int_equal(s_match("GET", "/api/v1/export/staff", &m), ROUTES_FOUND);
    assert_true(m.route->flags & ROUTE_CSV_OUT);
    assert_true(routes_max_body_bytes() >= 32u * 1024 * 1024);
    msg = s_build("GET", "/api/v1/export/staff", "organizationId=07-o1&category=teacher", NULL, NULL, &err);
    assert_non_null(msg);
    assert_string_equal(((Metodnet__ListStaffRequest *)msg)->organization_id, "07-o1");
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void test_openapi(void **state)
{
    (void)state;
    json_t *doc = gateway_openapi_build();
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    assert_non_null(json_object_get(schemas, "Error"));
    assert_non_null(json_object_get(schemas, "StaffMember"));
    size_t n;
    const route *table = routes_table(&n);
    for (size_t i = 0; i < n; i++) {
        char method[16];
        size_t k;
        for (k = 0; table[i].method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(table[i].method[k] + 32);
        method[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, table[i].path_template), method);
        assert_non_null(op);
        assert_string_equal(json_string_value(json_object_get(op, "operationId")), table[i].rpc);
        assert_true(strlen(json_string_value(json_object_get(op, "summary"))) > 0);
        char status[8];
        snprintf(status, sizeof status, "%d", route_success_status(&table[i]));
        json_t *ok = json_object_get(json_object_get(op, "responses"), status);
        assert_non_null(ok);
        if (table[i].flags & ROUTE_SSE) {
            assert_non_null(json_object_get(json_object_get(ok, "content"), "text/event-stream"));
        } else if (table[i].flags & ROUTE_CSV_OUT) {
            assert_non_null(json_object_get(json_object_get(ok, "content"), "text/csv"));
        } else {
            const char *ref = json_string_value(json_object_get(
                json_object_get(json_object_get(json_object_get(ok, "content"), "application/json"), "schema"),
                "$ref"));
            assert_non_null(ref);
            assert_non_null(json_object_get(schemas, strrchr(ref, '/') + 1));
        }
        assert_int_equal(json_object_get(op, "requestBody") != NULL,
                         (table[i].flags & (ROUTE_BODY | ROUTE_CSV_IN)) != 0);
        if (table[i].flags & ROUTE_CSV_IN)
            assert_non_null(
                json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"), "text/csv"));
        if (strstr(table[i].path_template, "{id}")) {
            json_t *p0 = json_array_get(json_object_get(op, "parameters"), 0);
            assert_string_equal(json_string_value(json_object_get(p0, "name")), "id");
            assert_string_equal(json_string_value(json_object_get(p0, "in")), "path");
        }
    }
    /* list filters appear as query parameters by JSON name */
    json_t *list = json_object_get(json_object_get(paths, "/api/v1/staff"), "get");
    bool found = false;
    json_t *p;
    size_t idx;
    json_array_foreach(json_object_get(list, "parameters"), idx, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), "organizationId") == 0)
            found = true;
    }
    assert_true(found);
    json_decref(doc);
    size_t len = 0;
    char *text = gateway_openapi_text(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    free(text);
}

static void test_metrics(void **state)
{
    (void)state;
    gateway_metrics *m = gateway_metrics_new();
    gateway_metrics_observe(m, "GET /api/v1/staff/{id}", 200, 0.003);
    gateway_metrics_observe(m, "GET /api/v1/staff/{id}", 200, 0.2);
    gateway_metrics_observe(m, "GET /api/v1/staff/{id}", 404, 7.0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    gateway_metrics_write(m, out);
    fclose(out);
    assert_non_null(strstr(text, "metodnet_http_requests_total{route=\"GET /api/v1/staff/{id}\",status=\"200\"} 2\n"));
    assert_non_null(strstr(text, "metodnet_http_requests_total{route=\"GET /api/v1/staff/{id}\",status=\"404\"} 1\n"));
    assert_non_null(strstr(
        text, "metodnet_http_request_duration_seconds_bucket{route=\"GET /api/v1/staff/{id}\",le=\"0.001\"} 0\n"));
    assert_non_null(strstr(
        text, "metodnet_http_request_duration_seconds_bucket{route=\"GET /api/v1/staff/{id}\",le=\"0.005\"} 1\n"));
    assert_non_null(
        strstr(text, "metodnet_http_request_duration_seconds_bucket{route=\"GET /api/v1/staff/{id}\",le=\"5\"} 2\n"));
    assert_non_null(strstr(
        text, "metodnet_http_request_duration_seconds_bucket{route=\"GET /api/v1/staff/{id}\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "metodnet_http_request_duration_seconds_count{route=\"GET /api/v1/staff/{id}\"} 3\n"));
    free(text);
    gateway_metrics_destroy(&m);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_fields),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_create_body),
        cmocka_unit_test(test_table_check_finds_disagreements),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_if_match),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_csv_import_mapping),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
