/* test_common_basics — validation (dates, UTF-8, lengths, ids), search folding, list cursors,
 * generic field access and the subject dictionary: the small pieces every service leans on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "clock.h"
#include "cursor.h"
#include "dictionary.h"
#include "pbfield.h"
#include "process_health.h"
#include "registry.pb-c.h"
#include "validate.h"

static void test_dates(void **state)
{
    (void)state;
    int days = -1;
    assert_true(date_parse("1970-01-01", &days));
    assert_int_equal(days, 0);
    assert_true(date_parse("2000-02-29", &days)); /* divisible by 400: leap */
    assert_int_equal(days, 11016);
    assert_false(date_parse("1900-02-29", NULL)); /* divisible by 100: not leap */
    assert_false(date_parse("2023-02-29", NULL));
    assert_true(date_parse("2024-02-29", NULL));
    assert_false(date_parse("2020-02-30", NULL));
    assert_false(date_parse("2020-13-01", NULL));
    assert_false(date_parse("2020-00-10", NULL));
    assert_false(date_parse("2020-1-10", NULL));
    assert_false(date_parse("20200110", NULL));
    assert_false(date_parse("2020-01-10T00:00", NULL));
    assert_false(date_parse("1899-12-31", NULL));
    assert_false(date_parse("", NULL));
    assert_false(date_parse("abcd-ef-gh", NULL));

    validation v;
    validation_init(&v);
    assert_true(validate_date(&v, "birthDate", "", false, NULL));
    assert_int_equal(v.n, 0);
    assert_false(validate_date(&v, "birthDate", "", true, NULL));
    assert_false(validate_date(&v, "staff.birthDate", "2020-02-30", true, NULL));
    assert_int_equal(v.n, 2);
    assert_string_equal(v.items[1]->field, "staff.birthDate");
    assert_non_null(strstr(v.items[1]->description, "2020-02-30"));
    validation_free(&v);
    assert_int_equal(v.n, 0);
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t ms = 0;
    char text[40];
    /* what clock_rfc3339 writes reads back exactly */
    for (int64_t t = 0; t < 4102444800000LL; t += 86399123LL * 97) {
        assert_true(clock_parse_rfc3339(clock_rfc3339(t, text, sizeof text), &ms));
        assert_int_equal(ms, t);
    }
    /* the cached second and the digits written by hand: exact text, the same second twice, a short buffer */
    assert_string_equal(clock_rfc3339(1764676800007LL, text, sizeof text), "2025-12-02T12:00:00.007Z");
    assert_string_equal(clock_rfc3339(1764676800999LL, text, sizeof text), "2025-12-02T12:00:00.999Z");
    assert_string_equal(clock_rfc3339(1764676801120LL, text, sizeof text), "2025-12-02T12:00:01.120Z");
    assert_string_equal(clock_rfc3339(0, text, sizeof text), "1970-01-01T00:00:00.000Z");
    assert_string_equal(clock_rfc3339(1764676801120LL, text, 11), "2025-12-02");
    assert_true(clock_parse_rfc3339("1970-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, 0);
    assert_true(clock_parse_rfc3339("2026-11-23T15:00:00+03:00", &ms));
    int64_t utc = 0;
    assert_true(clock_parse_rfc3339("2026-11-23T12:00:00Z", &utc));
    assert_int_equal(ms, utc);
    assert_true(clock_parse_rfc3339("2026-11-23T12:00:00.5Z", &ms));
    assert_int_equal(ms, utc + 500);
    assert_true(clock_parse_rfc3339("2026-11-23T12:00:00.123456789Z", &ms));
    assert_int_equal(ms, utc + 123);
    assert_true(clock_parse_rfc3339("2024-02-29T00:00:00Z", &ms));
    assert_false(clock_parse_rfc3339("2023-02-29T00:00:00Z", &ms));
    assert_false(clock_parse_rfc3339("2026-13-01T00:00:00Z", &ms));
    assert_false(clock_parse_rfc3339("2026-11-23T24:00:00Z", &ms));
    assert_false(clock_parse_rfc3339("2026-11-23T12:00:00", &ms)); /* no offset */
    assert_false(clock_parse_rfc3339("2026-11-23 12:00:00Z", &ms));
    assert_false(clock_parse_rfc3339("2026-11-23T12:00:00.Z", &ms));
    assert_false(clock_parse_rfc3339("2026-11-23T12:00:00Zjunk", &ms));
    assert_false(clock_parse_rfc3339("", &ms));
    assert_false(clock_parse_rfc3339(NULL, &ms));
}

static void test_text(void **state)
{
    (void)state;
    assert_true(utf8_valid("Иванова", strlen("Иванова")));
    assert_false(utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
    assert_false(utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xD0", 1));             /* truncated */
    assert_false(utf8_valid("\xF4\x90\x80\x80", 4)); /* beyond U+10FFFF */
    assert_int_equal(utf8_length("Ёлка"), 4);

    validation v;
    validation_init(&v);
    assert_true(validate_text(&v, "name", "Школа № 1", 9, true));
    assert_false(validate_text(&v, "name", "Школа № 10", 9, true)); /* 10 characters */
    assert_false(validate_text(&v, "name", "   ", 10, true));
    assert_true(validate_text(&v, "middleName", "", 10, false));
    assert_false(validate_text(&v, "name", "a\x01b", 10, true));
    assert_int_equal(v.n, 3);
    validation_free(&v);

    char out[128];
    assert_string_equal(text_fold("ЁЖИК Ёлкин Zorro", out, sizeof out), "ежик елкин zorro");
    assert_string_equal(text_fold("АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ", out, sizeof out),
                        "абвгдежзийклмнопрстуфхцчшщъыьэюя");
    /* truncation never splits the output beyond the buffer */
    char small[5];
    text_fold("ЯЯЯЯ", small, sizeof small);
    assert_true(strlen(small) < sizeof small);

    assert_true(id_valid("07-s123"));
    assert_false(id_valid(""));
    assert_false(id_valid("07 s1"));
    assert_false(id_valid("07:s1"));
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(id_valid(long_id));
}

static void test_cursor(void **state)
{
    (void)state;
    const char *member = "иванов иван\x1f"
                         "07-s12";
    char *token = cursor_encode(member);
    char back[CURSOR_MAX_MEMBER + 1];
    assert_true(cursor_decode(token, back, sizeof back));
    assert_string_equal(back, member);
    free(token);
    assert_false(cursor_decode("", back, sizeof back));
    assert_false(cursor_decode("abc", back, sizeof back));  /* odd length */
    assert_false(cursor_decode("zz", back, sizeof back));   /* not hex */
    assert_false(cursor_decode("4100", back, sizeof back)); /* embedded NUL */
    assert_false(cursor_decode("4A", back, sizeof back));   /* uppercase is not ours */
    char huge[2 * CURSOR_MAX_MEMBER + 3];
    memset(huge, '4', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_false(cursor_decode(huge, back, sizeof back));
}

static void test_pbfield(void **state)
{
    (void)state;
    Metodnet__StaffMember *a = malloc(sizeof *a);
    metodnet__staff_member__init(a);
    pbfield_set_string(&a->base, "last_name", "Кумыкова");
    pbfield_set_int64(&a->base, "version", 7);
    assert_string_equal(pbfield_string(&a->base, "last_name"), "Кумыкова");
    assert_string_equal(pbfield_string(&a->base, "first_name"), "");
    assert_null(pbfield_string(&a->base, "subjects")); /* repeated: not a singular string */
    assert_null(pbfield_string(&a->base, "no_such_field"));
    assert_int_equal(pbfield_int64(&a->base, "version"), 7);
    assert_int_equal(pbfield_set_string(&a->base, "version", "x"), -1);

    Metodnet__StaffMember *b = malloc(sizeof *b);
    metodnet__staff_member__init(b);
    b->n_subjects = 2;
    b->subjects = calloc(2, sizeof(char *));
    b->subjects[0] = strdup("mathematics");
    b->subjects[1] = strdup("physics");
    b->category = METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER;
    pbfield_set_string(&b->base, "last_name", "Тхагапсоев");

    assert_int_equal(pbfield_copy(&a->base, &b->base, "subjects"), 0);
    assert_int_equal(pbfield_copy(&a->base, &b->base, "category"), 0);
    assert_int_equal(pbfield_copy(&a->base, &b->base, "last_name"), 0);
    assert_int_equal(pbfield_copy(&a->base, &b->base, "nope"), -1);
    assert_int_equal(a->n_subjects, 2);
    assert_string_equal(a->subjects[1], "physics");
    assert_ptr_not_equal(a->subjects, b->subjects); /* deep copy */
    assert_int_equal(a->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER);
    assert_string_equal(a->last_name, "Тхагапсоев");
    /* copying an empty repeated field clears it */
    Metodnet__StaffMember empty = METODNET__STAFF_MEMBER__INIT;
    assert_int_equal(pbfield_copy(&a->base, &empty.base, "subjects"), 0);
    assert_int_equal(a->n_subjects, 0);

    /* sub-messages and repeated sub-messages */
    Metodnet__Organization *o = malloc(sizeof *o);
    metodnet__organization__init(o);
    o->n_sites = 1;
    o->sites = calloc(1, sizeof *o->sites);
    o->sites[0] = malloc(sizeof *o->sites[0]);
    metodnet__site_designation__init(o->sites[0]);
    o->sites[0]->kind = METODNET__SITE_KIND__SITE_KIND_INTERNSHIP;
    o->sites[0]->theme = strdup("Функциональная грамотность");
    ProtobufCMessage *clone = pbfield_clone(&o->base);
    assert_non_null(clone);
    Metodnet__Organization *c = (Metodnet__Organization *)clone;
    assert_int_equal(c->n_sites, 1);
    assert_string_equal(c->sites[0]->theme, "Функциональная грамотность");
    Metodnet__Organization *d = malloc(sizeof *d);
    metodnet__organization__init(d);
    assert_int_equal(pbfield_copy(&d->base, &o->base, "sites"), 0);
    assert_int_equal(d->sites[0]->kind, METODNET__SITE_KIND__SITE_KIND_INTERNSHIP);

    protobuf_c_message_free_unpacked(&a->base, NULL);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    protobuf_c_message_free_unpacked(&o->base, NULL);
    protobuf_c_message_free_unpacked(clone, NULL);
    protobuf_c_message_free_unpacked(&d->base, NULL);
}

/* The health report is JSON with the fields readers expect; "degraded" once the broker is silent past
 * its expiry, "ok" again when it is heard; stop frees everything (the link has no Redis behind it). */
static void test_process_health_report(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    redis_link_options o;
    redis_link_options_default(&o);
    o.port = 1; /* nothing listens: reports are not written, the report text is still made */
    redis_link *link = redis_link_new(&loop, &o);
    assert_non_null(link);
    process_health *h = process_health_start(&loop, link, "registry", 1000, 20);
    assert_non_null(h);
    char buf[1024];
    process_health_note_broker_heard();
    process_health_note_busy(+1);
    process_health_note_request(false);
    process_health_note_request(true);
    process_health_note_busy(-1);
    process_health_note_busy(-1); /* never below zero */
    assert_true(process_health_report(h, buf, sizeof buf) > 0);
    json_t *r = json_loads(buf, 0, NULL);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "service")), "registry");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(r, "pid")), getpid());
    assert_true(json_integer_value(json_object_get(r, "requests")) >= 2);
    assert_true(json_integer_value(json_object_get(r, "errors")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(r, "busy")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "problems")), 0);
    json_decref(r);
    uv_sleep(40); /* past the 20 ms broker expiry */
    assert_true(process_health_report(h, buf, sizeof buf) > 0);
    r = json_loads(buf, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "degraded");
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "problems"), 0)), "брокер"));
    json_decref(r);
    process_health_note_broker_heard();
    assert_true(process_health_report(h, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"status\":\"ok\""));
    assert_int_equal(process_health_report(h, buf, 16), -1); /* too small: refused, not cut */
    process_health_stop(&h, NULL, NULL);
    assert_null(h);
    redis_link_close(&link);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dictionary(void **state)
{
    (void)state;
    size_t n = 0;
    const dictionary_entry *subjects = dictionary_subjects(&n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(subjects[i].code, subjects[j].code);
    assert_string_equal(dictionary_subject_name("mathematics"), "Математика");
    assert_true(dictionary_subject_known("preschool_education"));
    assert_false(dictionary_subject_known("Математика"));
    assert_false(dictionary_subject_known(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_pbfield),
        cmocka_unit_test(test_dictionary),
        cmocka_unit_test(test_process_health_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
