/* test_pbjson.c — pbjson: JSON ⇄ protobuf-c round trips, strict decoding with error paths,
 * set_from_text, enum words and the OpenAPI schema, on the real registry/envelope messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.pb-c.h"
#include "pbjson.h"
#include "diagnostics.pb-c.h"
#include "registry.pb-c.h"

/* ---- helpers ---- */

static ProtobufCMessage *s_decode(const ProtobufCMessageDescriptor *desc, const char *json, pbjson_error *err)
{
    return pbjson_decode(desc, json, strlen(json), NULL, err);
}

/* Decoding must fail with exactly this path and a message containing fragment. */
static void s_expect_error_limits(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                                  const pbjson_limits *limits, const char *path, const char *fragment)
{
    pbjson_error err;
    memset(&err, 'x', sizeof err);
    ProtobufCMessage *msg = pbjson_decode(desc, json, len, limits, &err);
    if (msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
        fail_msg("decoded, expected an error at '%s': %s", path, json);
    }
    if (strcmp(err.path, path) != 0 || !strstr(err.message, fragment))
        fail_msg("for %s: got path '%s' message '%s'; expected path '%s' message with '%s'", json, err.path,
                 err.message, path, fragment);
}

static void s_expect_error(const ProtobufCMessageDescriptor *desc, const char *json, const char *path,
                           const char *fragment)
{
    s_expect_error_limits(desc, json, strlen(json), NULL, path, fragment);
}

/* msg packed (*buf, malloc'd, *size bytes) and unpacked again by protobuf-c. */
static ProtobufCMessage *s_repack(const ProtobufCMessage *msg, uint8_t **buf, size_t *size)
{
    *size = protobuf_c_message_get_packed_size(msg);
    *buf = malloc(*size ? *size : 1);
    assert_non_null(*buf);
    protobuf_c_message_pack(msg, *buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, *size, *buf);
    assert_non_null(copy);
    return copy;
}

/* pbjson_encode_packed of the packed bytes writes what pbjson_encode writes for their unpacking. */
static void s_assert_wire_agrees(const ProtobufCMessage *msg)
{
    uint8_t *buf;
    size_t size;
    ProtobufCMessage *copy = s_repack(msg, &buf, &size);
    size_t unpacked_len = 0, wire_len = 0;
    char *unpacked = pbjson_encode(copy, &unpacked_len);
    char *wire = pbjson_encode_packed(msg->descriptor, buf, size, &wire_len);
    assert_non_null(unpacked);
    bool has_oneof = false; /* the wire writer leaves oneofs (none in proto/) to the unpack path */
    for (unsigned i = 0; i < msg->descriptor->n_fields; i++)
        has_oneof |= (msg->descriptor->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    if (has_oneof) {
        assert_null(wire);
    } else {
        assert_non_null(wire);
        assert_int_equal(wire_len, unpacked_len);
        assert_string_equal(wire, unpacked);
    }
    free(unpacked);
    free(wire);
    free(buf);
    protobuf_c_message_free_unpacked(copy, NULL);
}

static char *s_encode(const void *msg)
{
    size_t len = 0;
    char *text = pbjson_encode(msg, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    s_assert_wire_agrees(msg);
    return text;
}

/* The message survives protobuf-c's own pack/unpack and re-encodes to the same JSON: it is a
 * well-formed protobuf-c message, not only something pbjson can read back. */
static void s_assert_binary_round_trip(const ProtobufCMessage *msg)
{
    uint8_t *buf;
    size_t size;
    ProtobufCMessage *copy = s_repack(msg, &buf, &size);
    free(buf);
    char *a = s_encode(msg);
    char *b = s_encode(copy);
    assert_string_equal(a, b);
    free(a);
    free(b);
    protobuf_c_message_free_unpacked(copy, NULL);
}

/* ---- round trips ---- */

/* pbjson_encode writes the text directly; it must give exactly the bytes of the tree dumped by jansson. */
static void s_assert_encodings_agree(const ProtobufCMessage *msg)
{
    size_t direct_len = 0;
    char *direct = pbjson_encode(msg, &direct_len);
    json_t *tree = pbjson_to_json(msg);
    assert_non_null(direct);
    assert_non_null(tree);
    char *dumped = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(dumped);
    assert_int_equal(direct_len, strlen(direct));
    assert_string_equal(direct, dumped);
    free(dumped);
    free(direct);
    json_decref(tree);
    s_assert_wire_agrees(msg);
}

static void test_staff_round_trip(void **state)
{
    (void)state;
    Metodnet__StaffMember staff = METODNET__STAFF_MEMBER__INIT;
    char *subjects[] = {"math", "physics"};
    char *organization_ids[] = {"org-1"};
    staff.id = "st-1";
    staff.region_id = "24";
    staff.last_name = "Иванова";
    staff.first_name = "Мария";
    staff.position = METODNET__POSITION__POSITION_DEPUTY_DIRECTOR;
    staff.category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER;
    staff.n_subjects = 2;
    staff.subjects = subjects;
    staff.n_organization_ids = 1;
    staff.organization_ids = organization_ids;
    staff.active = 1;
    staff.version = 3;

    char *text = s_encode(&staff);
    /* every field, in descriptor order, defaults too; enum 0 as null; int64 as a string */
    assert_string_equal(text, "{\"id\":\"st-1\",\"regionId\":\"24\",\"lastName\":\"Иванова\",\"firstName\":\"Мария\","
                              "\"middleName\":\"\",\"birthDate\":\"\",\"professionStartDate\":\"\","
                              "\"position\":\"deputy_director\",\"category\":\"manager\","
                              "\"subjects\":[\"math\",\"physics\"],\"organizationIds\":[\"org-1\"],"
                              "\"qualificationCategory\":null,\"active\":true,\"version\":\"3\","
                              "\"createdAt\":\"\",\"updatedAt\":\"\",\"municipalityIds\":[],\"externalId\":\"\","
                              "\"qualificationCategoryDate\":\"\",\"nextAttestationDue\":\"\",\"employment\":[],"
                              "\"appointedOn\":\"\",\"personnelReserve\":false}");

    pbjson_error err;
    Metodnet__StaffMember *back = (Metodnet__StaffMember *)s_decode(&metodnet__staff_member__descriptor, text, &err);
    assert_non_null(back);
    assert_string_equal(back->last_name, "Иванова");
    assert_int_equal(back->position, METODNET__POSITION__POSITION_DEPUTY_DIRECTOR);
    assert_int_equal(back->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER);
    assert_int_equal(back->qualification_category, 0);
    assert_int_equal(back->n_subjects, 2);
    assert_string_equal(back->subjects[1], "physics");
    assert_int_equal(back->n_municipality_ids, 0);
    assert_true(back->active);
    assert_int_equal(back->version, 3);
    char *again = s_encode(back);
    assert_string_equal(again, text);
    s_assert_binary_round_trip(&back->base);
    free(again);
    free(text);
    protobuf_c_message_free_unpacked(&back->base, NULL);
}

static void test_organization_with_sites_round_trip(void **state)
{
    (void)state;
    const char *json = "{\"organization\":{\"id\":\"o1\",\"municipalityId\":\"m1\",\"name\":\"МКОУ СОШ № 3\","
                       "\"kind\":\"primary_school_kindergarten\",\"lowResults\":true,\"sites\":["
                       "{\"kind\":\"innovation\",\"startDate\":\"2024-09-01\",\"theme\":\"Читательская грамотность\"},"
                       "{\"kind\":\"base\",\"startDate\":\"2023-01-01\",\"endDate\":\"2025-12-31\"}],"
                       "\"version\":\"7\"}}";
    pbjson_error err;
    Metodnet__CreateOrganizationRequest *req =
        (Metodnet__CreateOrganizationRequest *)s_decode(&metodnet__create_organization_request__descriptor, json, &err);
    assert_non_null(req);
    Metodnet__Organization *org = req->organization;
    assert_non_null(org);
    assert_int_equal(org->kind, METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PRIMARY_SCHOOL_KINDERGARTEN);
    assert_true(org->low_results);
    assert_int_equal(org->n_sites, 2);
    assert_int_equal(org->sites[0]->kind, METODNET__SITE_KIND__SITE_KIND_INNOVATION);
    assert_string_equal(org->sites[0]->theme, "Читательская грамотность");
    assert_string_equal(org->sites[0]->end_date, "");
    assert_string_equal(org->sites[1]->end_date, "2025-12-31");
    assert_int_equal(org->version, 7);
    s_assert_binary_round_trip(&req->base);

    char *text = s_encode(req);
    assert_non_null(strstr(text, "\"sites\":[{\"kind\":\"innovation\",\"startDate\":\"2024-09-01\",\"endDate\":\"\","
                                 "\"theme\":\"Читательская грамотность\",\"orderNumber\":\"\",\"orderDate\":\"\","
                                 "\"curatorStaffId\":\"\",\"report\":\"\"},{\"kind\":\"base\""));
    Metodnet__CreateOrganizationRequest *back =
        (Metodnet__CreateOrganizationRequest *)s_decode(&metodnet__create_organization_request__descriptor, text, &err);
    assert_non_null(back);
    char *again = s_encode(back);
    assert_string_equal(again, text);
    free(again);
    free(text);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    /* an absent sub-message is written as null */
    Metodnet__CreateOrganizationRequest empty = METODNET__CREATE_ORGANIZATION_REQUEST__INIT;
    text = s_encode(&empty);
    assert_string_equal(text, "{\"organization\":null,\"updateMask\":[]}");
    free(text);
}

static void test_bytes_base64(void **state)
{
    (void)state;
    Metodnet__Envelope env = METODNET__ENVELOPE__INIT;
    uint8_t payload[] = {0x00, 0xff, 0x10, 'a', 'b'};
    env.payload.data = payload;
    env.payload.len = sizeof payload;
    env.deadline_unix_ms = -5;
    char *text = s_encode(&env);
    assert_non_null(strstr(text, "\"payload\":\"AP8QYWI=\""));
    assert_non_null(strstr(text, "\"deadlineUnixMs\":\"-5\""));
    assert_non_null(strstr(text, "\"caller\":null"));
    pbjson_error err;
    Metodnet__Envelope *back = (Metodnet__Envelope *)s_decode(&metodnet__envelope__descriptor, text, &err);
    assert_non_null(back);
    assert_int_equal(back->payload.len, sizeof payload);
    assert_memory_equal(back->payload.data, payload, sizeof payload);
    assert_int_equal(back->deadline_unix_ms, -5);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(text);

    /* URL-safe alphabet without padding is accepted too */
    back = (Metodnet__Envelope *)s_decode(&metodnet__envelope__descriptor, "{\"payload\":\"AP8QYWI\"}", &err);
    assert_non_null(back);
    assert_memory_equal(back->payload.data, payload, sizeof payload);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    back = (Metodnet__Envelope *)s_decode(&metodnet__envelope__descriptor, "{\"payload\":\"-_8\"}", &err);
    assert_non_null(back);
    assert_int_equal(back->payload.len, 2);
    assert_int_equal(back->payload.data[0], 0xfb);
    assert_int_equal(back->payload.data[1], 0xff);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    s_expect_error(&metodnet__envelope__descriptor, "{\"payload\":\"A\"}", "payload", "base64");
    s_expect_error(&metodnet__envelope__descriptor, "{\"payload\":\"AP8*\"}", "payload", "base64");
    s_expect_error(&metodnet__envelope__descriptor, "{\"payload\":12}", "payload", "base64");
}

/* ---- numbers ---- */

static void test_int64(void **state)
{
    (void)state;
    pbjson_error err;
    Metodnet__DeleteRequest *req = (Metodnet__DeleteRequest *)s_decode(
        &metodnet__delete_request__descriptor, "{\"id\":\"a\",\"expectedVersion\":\"9223372036854775807\"}", &err);
    assert_non_null(req);
    assert_true(req->expected_version == INT64_MAX);
    char *text = s_encode(req);
    assert_string_equal(text, "{\"id\":\"a\",\"expectedVersion\":\"9223372036854775807\"}");
    free(text);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    /* a JSON integer is accepted as well */
    req = (Metodnet__DeleteRequest *)s_decode(&metodnet__delete_request__descriptor, "{\"expectedVersion\":42}", &err);
    assert_non_null(req);
    assert_int_equal(req->expected_version, 42);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    req = (Metodnet__DeleteRequest *)s_decode(&metodnet__delete_request__descriptor, "{\"expectedVersion\":\"-12\"}",
                                              &err);
    assert_non_null(req);
    assert_int_equal(req->expected_version, -12);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":\"12x\"}", "expectedVersion",
                   "ожидается целое число");
    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":\"\"}", "expectedVersion",
                   "ожидается целое число");
    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":\" 1\"}", "expectedVersion",
                   "ожидается целое число");
    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":\"9223372036854775808\"}",
                   "expectedVersion", "вне допустимого диапазона");
    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":1.5}", "expectedVersion",
                   "ожидается целое число");
    s_expect_error(&metodnet__delete_request__descriptor, "{\"expectedVersion\":true}", "expectedVersion",
                   "ожидается целое число");
}

static void test_int32_range(void **state)
{
    (void)state;
    pbjson_error err;
    Metodnet__ListRegionsRequest *req = (Metodnet__ListRegionsRequest *)s_decode(
        &metodnet__list_regions_request__descriptor, "{\"limit\":2147483647}", &err);
    assert_non_null(req);
    assert_int_equal(req->limit, INT32_MAX);
    char *text = s_encode(req);
    assert_string_equal(text, "{\"limit\":2147483647,\"cursor\":\"\",\"q\":\"\"}");
    free(text);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    req = (Metodnet__ListRegionsRequest *)s_decode(&metodnet__list_regions_request__descriptor,
                                                   "{\"limit\":-2147483648}", &err);
    assert_non_null(req);
    assert_int_equal(req->limit, INT32_MIN);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    s_expect_error(&metodnet__list_regions_request__descriptor, "{\"limit\":2147483648}", "limit",
                   "вне допустимого диапазона");
    s_expect_error(&metodnet__list_regions_request__descriptor, "{\"limit\":-2147483649}", "limit",
                   "вне допустимого диапазона");
    s_expect_error(&metodnet__list_regions_request__descriptor, "{\"limit\":\"10\"}", "limit", "ожидается целое число");
    s_expect_error(&metodnet__list_regions_request__descriptor, "{\"limit\":99999999999999999999999}", "",
                   "вне допустимого диапазона");
}

/* ---- enums ---- */

static void test_enum_words(void **state)
{
    (void)state;
    assert_string_equal(pbjson_enum_word(&metodnet__staff_category__descriptor, 1), "teacher");
    assert_string_equal(pbjson_enum_word(&metodnet__position__descriptor, 6), "deputy_director");
    assert_string_equal(pbjson_enum_word(&metodnet__organization_kind__descriptor, 5), "primary_school_kindergarten");
    assert_string_equal(pbjson_enum_word(&metodnet__role__descriptor, 2), "municipal_methodologist");
    assert_string_equal(pbjson_enum_word(&metodnet__status_code__descriptor, 6), "version_mismatch");
    assert_null(pbjson_enum_word(&metodnet__staff_category__descriptor, 0));
    assert_null(pbjson_enum_word(&metodnet__staff_category__descriptor, 77));
    /* the cache gives the same pointer again */
    assert_ptr_equal(pbjson_enum_word(&metodnet__staff_category__descriptor, 1),
                     pbjson_enum_word(&metodnet__staff_category__descriptor, 1));

    int value = -1;
    assert_true(pbjson_enum_parse(&metodnet__qualification_category__descriptor, "position_match", &value));
    assert_int_equal(value, 2);
    assert_false(pbjson_enum_parse(&metodnet__staff_category__descriptor, "unspecified", &value));
    assert_false(pbjson_enum_parse(&metodnet__staff_category__descriptor, "TEACHER", &value));
    assert_false(pbjson_enum_parse(&metodnet__staff_category__descriptor, "", &value));

    pbjson_error err;
    Metodnet__CreateStaffRequest *req = (Metodnet__CreateStaffRequest *)s_decode(
        &metodnet__create_staff_request__descriptor,
        "{\"staff\":{\"category\":\"teacher\",\"position\":null,\"qualificationCategory\":\"highest\"}}", &err);
    assert_non_null(req);
    assert_int_equal(req->staff->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER);
    assert_int_equal(req->staff->position, 0);
    assert_int_equal(req->staff->qualification_category,
                     METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_HIGHEST);
    char *text = s_encode(req);
    assert_non_null(strstr(text, "\"position\":null,\"category\":\"teacher\""));
    assert_non_null(strstr(text, "\"qualificationCategory\":\"highest\""));
    free(text);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    s_expect_error(&metodnet__create_staff_request__descriptor, "{\"staff\":{\"category\":\"teachr\"}}",
                   "staff.category", "допустимые значения: teacher, manager");
    s_expect_error(&metodnet__create_staff_request__descriptor, "{\"staff\":{\"category\":\"unspecified\"}}",
                   "staff.category", "недопустимое значение «unspecified»");
    s_expect_error(&metodnet__create_staff_request__descriptor, "{\"staff\":{\"category\":1}}", "staff.category",
                   "ожидается строка");
    s_expect_error(&metodnet__create_organization_request__descriptor,
                   "{\"organization\":{\"sites\":[{\"kind\":\"base\"},{\"kind\":\"Base\"}]}}",
                   "organization.sites[1].kind", "недопустимое значение «Base»");
}

/* ---- strict decoding ---- */

static void test_unknown_field(void **state)
{
    (void)state;
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"a\",\"surname\":\"b\"}", "surname",
                   "неизвестное поле");
    s_expect_error(&metodnet__create_organization_request__descriptor,
                   "{\"organization\":{\"sites\":[{\"kind\":\"base\"},{\"foo\":1}]}}", "organization.sites[1].foo",
                   "неизвестное поле");
    /* the exact proto name is accepted as well, but not both spellings at once */
    pbjson_error err;
    Metodnet__StaffMember *staff = (Metodnet__StaffMember *)s_decode(
        &metodnet__staff_member__descriptor, "{\"last_name\":\"Петров\",\"organization_ids\":[\"o\"]}", &err);
    assert_non_null(staff);
    assert_string_equal(staff->last_name, "Петров");
    assert_int_equal(staff->n_organization_ids, 1);
    protobuf_c_message_free_unpacked(&staff->base, NULL);
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"a\",\"last_name\":\"b\"}", "last_name",
                   "дважды");
    /* neither other casings */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"LastName\":\"a\"}", "LastName", "неизвестное поле");
}

static void test_wrong_types_with_paths(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *staff = &metodnet__create_staff_request__descriptor;
    const ProtobufCMessageDescriptor *org = &metodnet__create_organization_request__descriptor;
    s_expect_error(staff, "{\"staff\":\"x\"}", "staff", "ожидается объект");
    s_expect_error(staff, "{\"staff\":[]}", "staff", "ожидается объект");
    s_expect_error(staff, "{\"staff\":{\"lastName\":5}}", "staff.lastName", "ожидается строка");
    s_expect_error(staff, "{\"staff\":{\"subjects\":[\"math\",\"rus\",2]}}", "staff.subjects[2]", "ожидается строка");
    s_expect_error(staff, "{\"staff\":{\"subjects\":\"math\"}}", "staff.subjects", "ожидается массив");
    s_expect_error(staff, "{\"staff\":{\"subjects\":[null]}}", "staff.subjects[0]", "null");
    s_expect_error(staff, "{\"staff\":{\"active\":\"yes\"}}", "staff.active", "ожидается true или false");
    s_expect_error(staff, "{\"staff\":{\"active\":1}}", "staff.active", "ожидается true или false");
    s_expect_error(org, "{\"organization\":{\"sites\":[{\"startDate\":\"2024-01-01\"},{\"startDate\":5}]}}",
                   "organization.sites[1].startDate", "ожидается строка");
    s_expect_error(org, "{\"organization\":{\"sites\":[{}, \"x\"]}}", "organization.sites[1]", "ожидается объект");
    s_expect_error(org, "{\"organization\":{\"lowResults\":null,\"version\":{}}}", "organization.version",
                   "ожидается целое число");
}

static void test_depth_limit(void **state)
{
    (void)state;
    const char *json = "{\"organization\":{\"sites\":[{\"kind\":\"base\"}]}}"; /* 4 levels */
    pbjson_limits limits;
    pbjson_limits_default(&limits);
    assert_int_equal(limits.max_depth, 32);
    limits.max_depth = 4;
    pbjson_error err;
    ProtobufCMessage *msg =
        pbjson_decode(&metodnet__create_organization_request__descriptor, json, strlen(json), &limits, &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    limits.max_depth = 3;
    s_expect_error_limits(&metodnet__create_organization_request__descriptor, json, strlen(json), &limits, "",
                          "вложенность");

    /* deeper than jansson's own limit and far deeper than ours: refused, no stack exhaustion */
    size_t n = 200000;
    char *deep = malloc(2 * n + 16);
    assert_non_null(deep);
    strcpy(deep, "{\"a\":");
    size_t o = strlen(deep);
    memset(deep + o, '[', n);
    memset(deep + o + n, ']', n);
    strcpy(deep + o + 2 * n, "}");
    s_expect_error(&metodnet__staff_member__descriptor, deep, "", "вложенность");
    free(deep);

    /* brackets inside strings do not count */
    msg = s_decode(&metodnet__staff_member__descriptor,
                   "{\"lastName\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"}",
                   &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);

    /* the walk checks depth too, for objects handed to pbjson_merge_object directly */
    json_t *object = json_pack("{s:{s:[{s:s}]}}", "organization", "sites", "kind", "base");
    assert_non_null(object);
    Metodnet__CreateOrganizationRequest req = METODNET__CREATE_ORGANIZATION_REQUEST__INIT;
    limits.max_depth = 3;
    assert_int_equal(pbjson_merge_object(&req.base, object, "body", &limits, &err), -1);
    assert_string_equal(err.path, "body.organization.sites[0]");
    assert_non_null(strstr(err.message, "вложенность"));
    json_decref(object);
    protobuf_c_message_free_unpacked(&req.organization->base, NULL);
}

static void test_string_limits_and_encoding(void **state)
{
    (void)state;
    pbjson_limits limits;
    pbjson_limits_default(&limits);
    limits.max_string_bytes = 16;
    const char *ok = "{\"lastName\":\"0123456789abcdef\"}";
    pbjson_error err;
    ProtobufCMessage *msg = pbjson_decode(&metodnet__staff_member__descriptor, ok, strlen(ok), &limits, &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    const char *long_one = "{\"lastName\":\"0123456789abcdefg\"}";
    s_expect_error_limits(&metodnet__staff_member__descriptor, long_one, strlen(long_one), &limits, "lastName",
                          "длиннее 16 байт");

    /* default limit: 64 KiB */
    size_t n = 65537;
    char *huge = malloc(n + 32);
    assert_non_null(huge);
    strcpy(huge, "{\"lastName\":\"");
    size_t o = strlen(huge);
    memset(huge + o, 'a', n);
    strcpy(huge + o + n, "\"}");
    s_expect_error(&metodnet__staff_member__descriptor, huge, "lastName", "длиннее 65536 байт");
    free(huge);

    /* bytes that are not UTF-8, inside a string and outside */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"\xff\xfe\"}", "",
                   "текст не в кодировке UTF-8");
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"\xd0\"}", "", "текст не в кодировке UTF-8");
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"\xed\xa0\x80\"}", "",
                   "текст не в кодировке UTF-8");
    /* an escaped lone surrogate is refused by jansson */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"\\ud800\"}", "", "");

    /* NUL inside a string field */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"a\\u0000b\"}", "lastName", "\\u0000");
    s_expect_error(&metodnet__create_staff_request__descriptor, "{\"staff\":{\"subjects\":[\"a\",\"\\u0000\"]}}",
                   "staff.subjects[1]", "\\u0000");
    /* and inside a key */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"last\\u0000Name\":\"a\"}", "", "\\u0000");

    /* escaped non-ASCII text is fine */
    Metodnet__StaffMember *staff = (Metodnet__StaffMember *)s_decode(&metodnet__staff_member__descriptor,
                                                                     "{\"lastName\":\"\\u0418\\u0432\"}", &err);
    assert_non_null(staff);
    assert_string_equal(staff->last_name, "Ив");
    protobuf_c_message_free_unpacked(&staff->base, NULL);
}

static void test_array_limit(void **state)
{
    (void)state;
    pbjson_limits limits;
    pbjson_limits_default(&limits);
    limits.max_array_items = 2;
    const char *ok = "{\"subjects\":[\"a\",\"b\"]}";
    const char *bad = "{\"subjects\":[\"a\",\"b\",\"c\"]}";
    pbjson_error err;
    ProtobufCMessage *msg = pbjson_decode(&metodnet__staff_member__descriptor, ok, strlen(ok), &limits, &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    s_expect_error_limits(&metodnet__staff_member__descriptor, bad, strlen(bad), &limits, "subjects",
                          "больше 2 элементов");
}

static void test_document_shape(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &metodnet__staff_member__descriptor;
    s_expect_error(d, "{\"lastName\":\"a\",\"lastName\":\"b\"}", "", "повторяется");
    s_expect_error(&metodnet__create_organization_request__descriptor,
                   "{\"organization\":{\"sites\":[{\"kind\":\"base\",\"kind\":\"base\"}]}}", "", "повторяется");
    s_expect_error(d, "[{\"lastName\":\"a\"}]", "", "ожидается объект");
    s_expect_error(d, "\"text\"", "", "ожидается объект");
    s_expect_error(d, "null", "", "ожидается объект");
    s_expect_error_limits(d, "", 0, NULL, "", "пустой");
    s_expect_error(d, "  \r\n\t", "", "пустой");
    s_expect_error(d, "{\"lastName\":", "", "JSON");
    s_expect_error(d, "{\"lastName\":\"a\"} x", "", "лишний текст");
    s_expect_error(d, "{lastName:1}", "", "синтаксис");

    /* the length is honoured: text after len is not read */
    const char *text = "{\"lastName\":\"a\"}garbage";
    pbjson_error err;
    ProtobufCMessage *msg = pbjson_decode(d, text, strlen("{\"lastName\":\"a\"}"), NULL, &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);

    /* an empty object is a message with all defaults */
    msg = s_decode(d, " {} ", &err);
    assert_non_null(msg);
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* Merging replaces what was there; every replaced value is freed (ASan/LSan check it), and after
 * an error the half-filled message is still freeable. */
static void test_merge_replaces_and_frees(void **state)
{
    (void)state;
    Metodnet__CreateOrganizationRequest *req = malloc(sizeof *req);
    assert_non_null(req);
    metodnet__create_organization_request__init(req);
    pbjson_error err;
    json_t *first =
        json_loads("{\"organization\":{\"name\":\"A\",\"sites\":[{\"theme\":\"t1\"},{\"theme\":\"t2\"}]}}", 0, NULL);
    json_t *second =
        json_loads("{\"organization\":{\"name\":\"B\",\"sites\":[{\"theme\":\"t3\"}],\"id\":\"x\"}}", 0, NULL);
    assert_int_equal(pbjson_merge_object(&req->base, first, "", NULL, &err), 0);
    assert_int_equal(pbjson_merge_object(&req->base, second, "", NULL, &err), 0);
    assert_string_equal(req->organization->name, "B");
    assert_string_equal(req->organization->id, "x");
    assert_int_equal(req->organization->n_sites, 1);
    assert_string_equal(req->organization->sites[0]->theme, "t3");

    /* null puts the default back */
    json_t *clear = json_loads("{\"organization\":{\"name\":null,\"sites\":null}}", 0, NULL);
    assert_int_equal(pbjson_merge_object(&req->base, clear, "", NULL, &err), 0);
    assert_string_equal(req->organization->name, "");
    assert_string_equal(req->organization->id, "x");
    assert_int_equal(req->organization->n_sites, 0);
    assert_null(req->organization->sites);

    /* an error in the third site, inside an object: the message stays freeable */
    json_t *broken = json_loads("{\"organization\":{\"name\":\"C\",\"sites\":[{\"theme\":\"a\"},{\"theme\":\"b\"},"
                                "{\"theme\":\"c\",\"kind\":\"nope\"},{\"theme\":\"d\"}]}}",
                                0, NULL);
    assert_int_equal(pbjson_merge_object(&req->base, broken, "body", NULL, &err), -1);
    assert_string_equal(err.path, "body.organization.sites[2].kind");
    assert_int_equal(req->organization->n_sites, 3);

    json_t *not_object = json_string("x");
    assert_int_equal(pbjson_merge_object(&req->base, not_object, "body", NULL, &err), -1);
    assert_string_equal(err.path, "body");

    json_decref(first);
    json_decref(second);
    json_decref(clear);
    json_decref(broken);
    json_decref(not_object);
    protobuf_c_message_free_unpacked(&req->base, NULL);

    /* a failing string in the middle of an array: decode frees everything itself */
    s_expect_error(&metodnet__staff_member__descriptor, "{\"lastName\":\"a\",\"subjects\":[\"a\",\"b\",3,\"d\"]}",
                   "subjects[2]", "ожидается строка");
}

/* ---- text parameters ---- */

static void test_set_from_text(void **state)
{
    (void)state;
    Metodnet__StaffMember *staff = malloc(sizeof *staff);
    assert_non_null(staff);
    metodnet__staff_member__init(staff);
    pbjson_error err;

    assert_int_equal(pbjson_set_from_text(&staff->base, "active", "true", &err), 0);
    assert_true(staff->active);
    assert_int_equal(pbjson_set_from_text(&staff->base, "active", "false", &err), 0);
    assert_false(staff->active);
    assert_int_equal(pbjson_set_from_text(&staff->base, "active", "yes", &err), -1);
    assert_string_equal(err.path, "active");
    assert_non_null(strstr(err.message, "true или false"));

    assert_int_equal(pbjson_set_from_text(&staff->base, "version", "-17", &err), 0);
    assert_int_equal(staff->version, -17);
    assert_int_equal(pbjson_set_from_text(&staff->base, "version", "1.5", &err), -1);

    assert_int_equal(pbjson_set_from_text(&staff->base, "category", "manager", &err), 0);
    assert_int_equal(staff->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER);
    assert_int_equal(pbjson_set_from_text(&staff->base, "category", "boss", &err), -1);
    assert_string_equal(err.path, "category");
    assert_int_equal(staff->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER);

    /* by JSON or proto name; strings replace, repeated fields append */
    assert_int_equal(pbjson_set_from_text(&staff->base, "last_name", "Сидоров", &err), 0);
    assert_int_equal(pbjson_set_from_text(&staff->base, "lastName", "Смирнов", &err), 0);
    assert_string_equal(staff->last_name, "Смирнов");
    assert_int_equal(pbjson_set_from_text(&staff->base, "subjects", "math", &err), 0);
    assert_int_equal(pbjson_set_from_text(&staff->base, "subjects", "rus", &err), 0);
    assert_int_equal(pbjson_set_from_text(&staff->base, "subjects", "\xff", &err), -1);
    assert_int_equal(staff->n_subjects, 2);
    assert_string_equal(staff->subjects[0], "math");
    assert_string_equal(staff->subjects[1], "rus");

    assert_int_equal(pbjson_set_from_text(&staff->base, "nickname", "x", &err), -1);
    assert_string_equal(err.path, "nickname");
    assert_string_equal(err.message, "неизвестное поле");
    s_assert_binary_round_trip(&staff->base);
    protobuf_c_message_free_unpacked(&staff->base, NULL);

    Metodnet__ListRegionsRequest list = METODNET__LIST_REGIONS_REQUEST__INIT;
    assert_int_equal(pbjson_set_from_text(&list.base, "limit", "25", &err), 0);
    assert_int_equal(list.limit, 25);
    assert_int_equal(pbjson_set_from_text(&list.base, "limit", "2147483648", &err), -1);
    assert_non_null(strstr(err.message, "вне допустимого диапазона"));
    assert_int_equal(pbjson_set_from_text(&list.base, "limit", "", &err), -1);
    assert_int_equal(pbjson_set_from_text(&list.base, "limit", "25abc", &err), -1);
    assert_int_equal(list.limit, 25);

    /* message fields cannot be set from text */
    Metodnet__CreateStaffRequest create = METODNET__CREATE_STAFF_REQUEST__INIT;
    assert_int_equal(pbjson_set_from_text(&create.base, "staff", "x", &err), -1);
    assert_string_equal(err.path, "staff");
    assert_null(create.staff);

    Metodnet__Envelope env = METODNET__ENVELOPE__INIT;
    assert_int_equal(pbjson_set_from_text(&env.base, "payload", "AQID", &err), 0);
    assert_int_equal(env.payload.len, 3);
    assert_int_equal(env.payload.data[2], 3);
    free(env.payload.data);
}

/* ---- names and schema ---- */

static void test_json_names(void **state)
{
    (void)state;
    char buf[64];
    const ProtobufCFieldDescriptor *f = pbjson_find_field(&metodnet__staff_member__descriptor, "organizationIds");
    assert_non_null(f);
    assert_string_equal(f->name, "organization_ids");
    assert_string_equal(pbjson_json_name(f, buf, sizeof buf), "organizationIds");
    assert_ptr_equal(pbjson_find_field(&metodnet__staff_member__descriptor, "organization_ids"), f);
    assert_null(pbjson_find_field(&metodnet__staff_member__descriptor, "organizationids"));
    assert_null(pbjson_find_field(&metodnet__staff_member__descriptor, "organizationIdsX"));
    assert_string_equal(pbjson_json_name(f, buf, 6), "organ");
}

static void test_openapi(void **state)
{
    (void)state;
    json_t *schemas = json_object();
    json_t *ref = pbjson_openapi_ref(&metodnet__create_staff_request__descriptor, schemas);
    assert_non_null(ref);
    assert_string_equal(json_string_value(json_object_get(ref, "$ref")), "#/components/schemas/CreateStaffRequest");
    json_t *ref2 = pbjson_openapi_ref(&metodnet__list_staff_response__descriptor, schemas);
    json_t *ref3 = pbjson_openapi_ref(&metodnet__create_organization_request__descriptor, schemas);
    assert_non_null(ref2);
    assert_non_null(ref3);

    json_t *staff = json_object_get(schemas, "StaffMember");
    assert_non_null(staff);
    assert_string_equal(json_string_value(json_object_get(staff, "type")), "object");
    json_t *props = json_object_get(staff, "properties");
    assert_int_equal(json_object_size(props), metodnet__staff_member__descriptor.n_fields);
    assert_string_equal(json_string_value(json_object_get(json_object_get(props, "lastName"), "type")), "string");
    json_t *version = json_object_get(props, "version");
    assert_string_equal(json_string_value(json_object_get(version, "type")), "string");
    assert_string_equal(json_string_value(json_object_get(version, "format")), "int64");
    json_t *category = json_object_get(props, "category");
    assert_true(json_is_true(json_object_get(category, "nullable")));
    json_t *words = json_object_get(category, "enum");
    assert_int_equal(json_array_size(words), 3);
    assert_string_equal(json_string_value(json_array_get(words, 0)), "teacher");
    assert_string_equal(json_string_value(json_array_get(words, 1)), "manager");
    assert_true(json_is_null(json_array_get(words, 2)));
    json_t *subjects = json_object_get(props, "subjects");
    assert_string_equal(json_string_value(json_object_get(subjects, "type")), "array");
    assert_string_equal(json_string_value(json_object_get(json_object_get(subjects, "items"), "type")), "string");
    assert_true(json_is_boolean(json_object_get(json_object_get(props, "active"), "type")) == 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(props, "active"), "type")), "boolean");

    /* nested message references, both singular (nullable) and repeated */
    json_t *create = json_object_get(json_object_get(schemas, "CreateStaffRequest"), "properties");
    json_t *all_of = json_object_get(json_object_get(create, "staff"), "allOf");
    assert_string_equal(json_string_value(json_object_get(json_array_get(all_of, 0), "$ref")),
                        "#/components/schemas/StaffMember");
    json_t *items =
        json_object_get(json_object_get(json_object_get(schemas, "ListStaffResponse"), "properties"), "items");
    assert_string_equal(json_string_value(json_object_get(json_object_get(items, "items"), "$ref")),
                        "#/components/schemas/StaffMember");
    json_t *sites = json_object_get(json_object_get(json_object_get(schemas, "Organization"), "properties"), "sites");
    assert_string_equal(json_string_value(json_object_get(json_object_get(sites, "items"), "$ref")),
                        "#/components/schemas/SiteDesignation");
    assert_non_null(json_object_get(schemas, "SiteDesignation"));
    /* each schema once (Employment is the staff member's history of posts) */
    assert_int_equal(json_object_size(schemas), 7);

    json_decref(ref);
    json_decref(ref2);
    json_decref(ref3);
    json_decref(schemas);
}

/* ---- mutated documents ----
 * Deterministic random edits of valid documents: nothing may crash or leak (ASan/LSan), every
 * refusal carries a message that is valid UTF-8 (the gateway puts it into JSON), and everything
 * accepted re-encodes to text that decodes to the same text again. */

static uint32_t s_rand_state = 12345;
static uint32_t s_rand(void)
{
    s_rand_state = s_rand_state * 1103515245u + 12345u;
    return s_rand_state >> 8;
}

static void test_mutated_documents(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"organization\":{\"id\":\"o1\",\"name\":\"МКОУ СОШ\",\"kind\":\"lyceum\",\"lowResults\":true,"
        "\"sites\":[{\"kind\":\"base\",\"startDate\":\"2024-01-01\"},{\"theme\":\"т\\u0435ма\"}],\"version\":\"5\"}}",
        "{\"staff\":{\"lastName\":\"Иванова\",\"subjects\":[\"math\",\"rus\"],\"category\":\"teacher\","
        "\"active\":false,\"version\":12,\"organizationIds\":[]}}",
    };
    static const ProtobufCMessageDescriptor *const descs[] = {
        &metodnet__create_organization_request__descriptor,
        &metodnet__create_staff_request__descriptor,
    };
    static const char alphabet[] = "{}[]\",:\\0123456789-.eEtrufalsn \xd0\xb8\xff\x00";
    pbjson_limits limits;
    pbjson_limits_default(&limits);
    limits.max_depth = 5;
    limits.max_string_bytes = 40;
    size_t accepted = 0, refused = 0;
    for (int round = 0; round < 30000; round++) {
        size_t which = s_rand() % 2;
        char buf[512];
        size_t len = strlen(seeds[which]);
        memcpy(buf, seeds[which], len);
        int edits = 1 + (int)(s_rand() % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = s_rand() % len;
            switch (s_rand() % 4) {
            case 0: /* replace */
                buf[at] = alphabet[s_rand() % (sizeof alphabet - 1)];
                break;
            case 1: /* insert */
                if (len + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = alphabet[s_rand() % (sizeof alphabet - 1)];
                    len++;
                }
                break;
            case 2: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* truncate */
                len = at;
                break;
            }
        }
        pbjson_error err;
        ProtobufCMessage *msg = pbjson_decode(descs[which], buf, len, &limits, &err);
        if (!msg) {
            refused++;
            assert_true(err.message[0] != '\0');
            json_t *check = json_pack("{s:s,s:s}", "path", err.path, "message", err.message);
            assert_non_null(check); /* both are valid UTF-8 */
            json_decref(check);
            continue;
        }
        accepted++;
        s_assert_encodings_agree(msg);
        size_t text_len;
        char *text = pbjson_encode(msg, &text_len);
        assert_non_null(text);
        ProtobufCMessage *again = pbjson_decode(descs[which], text, text_len, NULL, &err);
        assert_non_null(again);
        char *text2 = pbjson_encode(again, NULL);
        assert_string_equal(text, text2);
        free(text);
        free(text2);
        protobuf_c_message_free_unpacked(again, NULL);
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    /* the edits exercise both outcomes */
    assert_true(accepted > 100);
    assert_true(refused > 100);
}

/* ---- oneof and map fields, on hand-written descriptors (no proto of the project has them):
 * decoding refuses them with an error, encoding writes them without crashing. ---- */

typedef struct {
    ProtobufCMessage base;
    char *key;
    char *value;
} s_tags_entry;

typedef struct {
    ProtobufCMessage base;
    uint32_t choice_case; /* 0, 1 = text, 2 = number */
    union {
        char *text;
        int32_t number;
    };
    size_t n_tags;
    s_tags_entry **tags;
} s_odd_message;

static const ProtobufCFieldDescriptor s_entry_fields[] = {
    {"key", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(s_tags_entry, key), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"value", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(s_tags_entry, value), NULL,
     &protobuf_c_empty_string, 0, 0, NULL, NULL},
};
static const unsigned s_entry_by_name[] = {0, 1};
static const ProtobufCIntRange s_entry_ranges[] = {{1, 0}, {0, 2}};
static const ProtobufCMessageDescriptor s_entry_descriptor;
/* like generated init functions, these set the whole struct, base included */
static void s_entry_init(ProtobufCMessage *m)
{
    s_tags_entry *e = (s_tags_entry *)m;
    e->base = (ProtobufCMessage){&s_entry_descriptor, 0, NULL};
    e->key = (char *)protobuf_c_empty_string;
    e->value = (char *)protobuf_c_empty_string;
}
static const ProtobufCMessageDescriptor s_entry_descriptor = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                              "test.Odd.TagsEntry",
                                                              "TagsEntry",
                                                              "Test__Odd__TagsEntry",
                                                              "test",
                                                              sizeof(s_tags_entry),
                                                              2,
                                                              s_entry_fields,
                                                              s_entry_by_name,
                                                              1,
                                                              s_entry_ranges,
                                                              (ProtobufCMessageInit)s_entry_init,
                                                              NULL,
                                                              NULL,
                                                              NULL};

static const ProtobufCFieldDescriptor s_odd_fields[] = {
    {"text", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, offsetof(s_odd_message, choice_case),
     offsetof(s_odd_message, text), NULL, &protobuf_c_empty_string, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL},
    {"number", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT32, offsetof(s_odd_message, choice_case),
     offsetof(s_odd_message, number), NULL, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL},
    {"tags", 3, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_MESSAGE, offsetof(s_odd_message, n_tags),
     offsetof(s_odd_message, tags), &s_entry_descriptor, NULL, 0, 0, NULL, NULL},
};
static const unsigned s_odd_by_name[] = {1, 2, 0};
static const ProtobufCIntRange s_odd_ranges[] = {{1, 0}, {0, 3}};
static const ProtobufCMessageDescriptor s_odd_descriptor;
static void s_odd_init(ProtobufCMessage *m)
{
    s_odd_message *o = (s_odd_message *)m;
    memset(o, 0, sizeof *o);
    o->base = (ProtobufCMessage){&s_odd_descriptor, 0, NULL};
}
static const ProtobufCMessageDescriptor s_odd_descriptor = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                            "test.Odd",
                                                            "Odd",
                                                            "Test__Odd",
                                                            "test",
                                                            sizeof(s_odd_message),
                                                            3,
                                                            s_odd_fields,
                                                            s_odd_by_name,
                                                            1,
                                                            s_odd_ranges,
                                                            (ProtobufCMessageInit)s_odd_init,
                                                            NULL,
                                                            NULL,
                                                            NULL};

static void test_oneof_and_map_refused(void **state)
{
    (void)state;
    s_expect_error(&s_odd_descriptor, "{\"number\":5}", "number", "oneof");
    s_expect_error(&s_odd_descriptor, "{\"text\":\"a\"}", "text", "oneof");
    s_expect_error(&s_odd_descriptor, "{\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}", "tags", "map");
    pbjson_error err;
    s_odd_message odd;
    s_odd_init(&odd.base);
    assert_int_equal(pbjson_set_from_text(&odd.base, "number", "5", &err), -1);
    assert_non_null(strstr(err.message, "oneof"));

    s_tags_entry entry = {{&s_entry_descriptor, 0, NULL}, "k", "v"};
    s_tags_entry *entries[] = {&entry};
    odd.choice_case = 2;
    odd.number = 5;
    odd.n_tags = 1;
    odd.tags = entries;
    char *text = s_encode(&odd);
    assert_string_equal(text, "{\"text\":null,\"number\":5,\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}");
    free(text);
    s_assert_encodings_agree(&odd.base);
}

/* What the wire writer makes of bytes no protobuf-c pack would write: when it writes anything, it is
 * what unpacking writes; what it refuses, the caller unpacks. */
static void s_wire_case(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, bool accepted)
{
    size_t wire_len = 0;
    char *wire = pbjson_encode_packed(desc, data, len, &wire_len);
    ProtobufCMessage *copy = protobuf_c_message_unpack(desc, NULL, len, data);
    if (!accepted) {
        assert_null(wire);
    } else {
        assert_non_null(wire);
        assert_non_null(copy); /* what the wire writer takes, protobuf-c takes too */
        char *unpacked = pbjson_encode(copy, NULL);
        assert_string_equal(wire, unpacked);
        free(unpacked);
    }
    if (copy)
        protobuf_c_message_free_unpacked(copy, NULL);
    free(wire);
}

static void test_wire_encoding(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *staff = &metodnet__staff_member__descriptor;
    const ProtobufCFieldDescriptor *last = pbjson_find_field(staff, "lastName");
    const ProtobufCFieldDescriptor *subjects = pbjson_find_field(staff, "subjects");
    const ProtobufCFieldDescriptor *version = pbjson_find_field(staff, "version");
    assert_true(last && subjects && version && last->id < 16 && subjects->id < 16 && version->id < 16);
    uint8_t tag_last = (uint8_t)(last->id << 3 | 2), tag_subject = (uint8_t)(subjects->id << 3 | 2),
            tag_version = (uint8_t)(version->id << 3 | 0);
    /* empty: every field its default */
    s_wire_case(staff, (const uint8_t *)"", 0, true);
    /* a scalar twice: the last wins; repeated occurrences apart from each other, in order; an unknown
     * field (number 1000, varint) skipped; a string cut at its NUL as protobuf-c's C string is */
    const uint8_t mixed[] = {tag_subject, 4, 'm', 'a', 't',      'h', tag_last, 2, 'A', 'B',         0xc0, 0x3e, 0x05,
                             tag_subject, 2, 'b', 'i', tag_last, 3,   'C',      0, 'D', tag_version, 0x96, 0x01};
    s_wire_case(staff, mixed, sizeof mixed, true);
    size_t len = 0;
    char *text = pbjson_encode_packed(staff, mixed, sizeof mixed, &len);
    assert_non_null(strstr(text, "\"lastName\":\"C\""));
    assert_non_null(strstr(text, "\"subjects\":[\"math\",\"bi\"]"));
    assert_non_null(strstr(text, "\"version\":\"150\""));
    free(text);
    /* a negative int64 (ten bytes), invalid UTF-8 (shown replaced) */
    const uint8_t negative[] = {tag_version, 0xff, 0xff, 0xff,     0xff, 0xff, 0xff, 0xff,
                                0xff,        0xff, 0x01, tag_last, 3,    0xd0, 0x41, 0xff};
    s_wire_case(staff, negative, sizeof negative, true);
    /* refused: a string field as a varint, a truncated length, a group, tag 0, a key of six bytes */
    const uint8_t wrong_wire[] = {(uint8_t)(last->id << 3 | 0), 1};
    s_wire_case(staff, wrong_wire, sizeof wrong_wire, false);
    const uint8_t cut[] = {tag_last, 5, 'A'};
    s_wire_case(staff, cut, sizeof cut, false);
    const uint8_t group[] = {(uint8_t)(20 << 3 | 3), (uint8_t)(20 << 3 | 4)};
    s_wire_case(staff, group, sizeof group, false);
    const uint8_t tag_zero[] = {0x00, 0x01};
    s_wire_case(staff, tag_zero, sizeof tag_zero, false);
    const uint8_t long_key[] = {0x80 | tag_version, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01};
    s_wire_case(staff, long_key, sizeof long_key, false);
    /* a singular message twice (protobuf-c merges the two): refused, the caller unpacks */
    const ProtobufCMessageDescriptor *org = &metodnet__organization__descriptor;
    const ProtobufCFieldDescriptor *sub = NULL;
    for (unsigned i = 0; i < org->n_fields && !sub; i++)
        if (org->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && org->fields[i].label != PROTOBUF_C_LABEL_REPEATED &&
            org->fields[i].id < 16)
            sub = &org->fields[i];
    if (sub) {
        const uint8_t twice[] = {(uint8_t)(sub->id << 3 | 2), 0, (uint8_t)(sub->id << 3 | 2), 0};
        s_wire_case(org, twice, sizeof twice, false);
        s_wire_case(org, twice, 2, true);
    }
    /* the last occurrence of a field, from the same pass */
    pbjson_capture captures[3] = {{.field = version}, {.field = last}, {.field = pbjson_find_field(staff, "id")}};
    text = pbjson_encode_packed_capture(staff, mixed, sizeof mixed, NULL, captures, 3);
    assert_non_null(text);
    free(text);
    assert_true(captures[0].found);
    assert_int_equal(captures[0].varint, 150);
    assert_true(captures[1].found);
    assert_int_equal(captures[1].len, 3);
    assert_memory_equal(captures[1].bytes, "C\0D", 3);
    assert_false(captures[2].found);
    captures[0].field = subjects; /* repeated: not captured */
    text = pbjson_encode_packed_capture(staff, mixed, sizeof mixed, NULL, captures, 1);
    free(text);
    assert_false(captures[0].found);
}

/* Reals, control characters, invalid UTF-8, bytes and unknown enum values: the direct text and the
 * jansson tree agree byte for byte. */
static void test_direct_encoding_agrees_with_jansson(void **state)
{
    (void)state;
    static const double reals[] = {0.0,
                                   -0.0,
                                   1.0,
                                   0.1,
                                   3.5,
                                   -2.25,
                                   1e20,
                                   1e-7,
                                   1.5e300,
                                   -4.9e-324,
                                   123456789.125,
                                   100.0 / 3.0,
                                   1e15,
                                   1e16,
                                   1e17,
                                   2.5e-5,
                                   0.3333333333333333};
    Metodnet__Answer answer = METODNET__ANSWER__INIT;
    answer.item_id = "q1";
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        answer.value = reals[i];
        s_assert_encodings_agree(&answer.base);
    }
    Metodnet__StaffMember s = METODNET__STAFF_MEMBER__INIT;
    char text[160];
    for (int round = 0; round < 2000; round++) {
        size_t len = s_rand() % (sizeof text - 1);
        for (size_t i = 0; i < len; i++) /* every byte but NUL, so also invalid UTF-8 */
            text[i] = (char)(1 + s_rand() % 255);
        text[len] = '\0';
        s.last_name = text;
        s.first_name = round % 3 ? "Мадина \"\\/\x7f\xe2\x80\xa8" : "";
        s.category = (Metodnet__StaffCategory)(round % 5 == 0 ? 77 : round % 3); /* 77: unknown to this build */
        s.version = (int64_t)s_rand() * (round % 2 ? -1 : 1);
        s_assert_encodings_agree(&s.base);
    }
    Metodnet__Envelope e = METODNET__ENVELOPE__INIT;
    uint8_t payload[40];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 37);
    for (size_t n = 0; n <= sizeof payload; n += 7) {
        e.payload.data = n ? payload : NULL;
        e.payload.len = n;
        s_assert_encodings_agree(&e.base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_encoding_agrees_with_jansson),
        cmocka_unit_test(test_wire_encoding),
        cmocka_unit_test(test_staff_round_trip),
        cmocka_unit_test(test_organization_with_sites_round_trip),
        cmocka_unit_test(test_bytes_base64),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_int32_range),
        cmocka_unit_test(test_enum_words),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_wrong_types_with_paths),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_string_limits_and_encoding),
        cmocka_unit_test(test_array_limit),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_merge_replaces_and_frees),
        cmocka_unit_test(test_set_from_text),
        cmocka_unit_test(test_json_names),
        cmocka_unit_test(test_openapi),
        cmocka_unit_test(test_mutated_documents),
        cmocka_unit_test(test_oneof_and_map_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
