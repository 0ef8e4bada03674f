/* test_indicators_export — the value table as a file (services/indicators/indicators_export.c) on a
 * handcrafted response: the CSV's exact bytes (BOM, «;», decimal commas, an own indicator's fractional parts,
 * empty cells for no value and no target), the XLSX a zip with its sheets, and the Russian number and date
 * formatting of the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "indicators_own.h"

static bool s_contains(const uint8_t *data, size_t len, const char *what)
{
    size_t n = strlen(what);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(data + i, what, n) == 0)
            return true;
    return false;
}

static Metodnet__IndicatorValue *s_value(const char *code, const char *kind, const char *id, long long num,
                                         long long den, double value, bool has_value)
{
    Metodnet__IndicatorValue *v = calloc(1, sizeof *v);
    metodnet__indicator_value__init(v);
    v->indicator = (char *)code;
    v->scope_kind = (char *)kind;
    v->scope_id = (char *)id;
    v->scope_name = (char *)"";
    v->subject = (char *)"";
    v->numerator = num;
    v->denominator = den;
    v->value = value;
    v->has_value = has_value;
    return v;
}

static void test_format_number_and_date(void **state)
{
    (void)state;
    char out[48];
    ind_format_number(25, 1, out, sizeof out);
    assert_string_equal(out, "25,0");
    ind_format_number(1.6666666, 2, out, sizeof out);
    assert_string_equal(out, "1,67");
    ind_format_number(-0.04, 1, out, sizeof out);
    assert_string_equal(out, "0,0"); /* no "-0,0" */
    ind_format_number(-2.5, 1, out, sizeof out);
    assert_string_equal(out, "-2,5");
    ind_format_number(12, 0, out, sizeof out);
    assert_string_equal(out, "12");
    ind_format_date("2026-05-31T20:59:59.000Z", out, sizeof out);
    assert_string_equal(out, "31.05.2026");
    ind_format_date("2026-12-31", out, sizeof out);
    assert_string_equal(out, "31.12.2026");
    ind_format_date("", out, sizeof out);
    assert_string_equal(out, "");
}

static Metodnet__GetIndicatorValuesResponse *s_response(void)
{
    Metodnet__GetIndicatorValuesResponse *r = calloc(1, sizeof *r);
    metodnet__get_indicator_values_response__init(r);
    r->period = (char *)"2026";
    r->period_start = (char *)"2026-01-01";
    r->period_end = (char *)"2026-12-31";
    r->items = calloc(3, sizeof *r->items);
    r->items[r->n_items++] = s_value("I9", "region", "07", 1, 4, 25.0, true);
    r->items[r->n_items] = s_value("I3", "region", "07", 2, 0, 2, true);
    r->items[r->n_items]->has_target = true;
    r->items[r->n_items++]->target = 3;
    Metodnet__IndicatorValue *own = s_value("SPO", "region", "07", 5, 3, 1.67, true);
    own->own = true;
    own->numerator_value = 5;
    own->denominator_value = 3;
    r->items[r->n_items++] = own;
    r->breakdown = calloc(1, sizeof *r->breakdown);
    r->breakdown[r->n_breakdown] = s_value("I9", "municipality", "07-m1", 0, 0, 0, false);
    r->breakdown[r->n_breakdown++]->scope_name = (char *)"Терский район";
    return r;
}

static void s_response_free(Metodnet__GetIndicatorValuesResponse *r)
{
    for (size_t i = 0; i < r->n_items; i++)
        free(r->items[i]);
    for (size_t i = 0; i < r->n_breakdown; i++)
        free(r->breakdown[i]);
    free(r->items);
    free(r->breakdown);
    free(r);
}

static void test_csv_bytes(void **state)
{
    (void)state;
    Metodnet__GetIndicatorValuesResponse *r = s_response();
    /* the names of the catalogue and of the own indicator */
    Metodnet__Indicator spo = METODNET__INDICATOR__INIT;
    spo.code = "SPO";
    spo.name = "Работников на организацию";
    spo.unit = "number";
    Metodnet__Indicator *items[] = {&spo};
    Metodnet__ListIndicatorsResponse names = METODNET__LIST_INDICATORS_RESPONSE__INIT;
    names.items = items;
    names.n_items = 1;
    Metodnet__FileBody file = METODNET__FILE_BODY__INIT;
    assert_int_equal(ind_export_values(r, &names, "csv", "07", &file), 0);
    assert_string_equal(file.content_type, "text/csv; charset=utf-8");
    assert_string_equal(file.filename, "indicators-07-2026.csv");
    char *text = calloc(1, file.content.len + 1);
    memcpy(text, file.content.data, file.content.len);
    assert_memory_equal(text, "\xEF\xBB\xBF", 3);
    const char *expected =
        "\xEF\xBB\xBFПоказатель;Название;Территория;Код территории;Название территории;Предмет;Числитель;Знаменатель;"
        "Значение;Единица;Цель;Цель выполнена\r\n"
        "I9;Доля педагогов, включённых в сетевые сообщества;регион;07;;;1;4;25,0;%;;\r\n"
        "I3;Количество проектов по поддержке молодых педагогов;регион;07;;;2;;2,0;количество;3,0;нет\r\n"
        "SPO;Работников на организацию;регион;07;;;5;3;1,67;число;;\r\n"
        "I9;Доля педагогов, включённых в сетевые сообщества;муниципалитет;07-m1;Терский район;;0;0;;%;;\r\n";
    assert_string_equal(text, expected);
    free(text);
    free(file.content.data);
    free(file.content_type);
    free(file.filename);
    s_response_free(r);
}

static void test_xlsx_is_a_workbook(void **state)
{
    (void)state;
    Metodnet__GetIndicatorValuesResponse *r = s_response();
    Metodnet__FileBody file = METODNET__FILE_BODY__INIT;
    assert_int_equal(ind_export_values(r, NULL, "xlsx", "07", &file), 0);
    assert_string_equal(file.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_string_equal(file.filename, "indicators-07-2026.xlsx");
    assert_true(file.content.len > 1000);
    assert_memory_equal(file.content.data, "PK\x03\x04", 4); /* a zip */
    /* the sheet names are stored uncompressed in the zip's directory as file names: xl/worksheets/sheet1.xml, 2 */
    assert_true(s_contains(file.content.data, file.content.len, "xl/worksheets/sheet2.xml"));
    assert_false(s_contains(file.content.data, file.content.len, "xl/worksheets/sheet3.xml"));
    free(file.content.data);
    free(file.content_type);
    free(file.filename);
    s_response_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_number_and_date),
        cmocka_unit_test(test_csv_bytes),
        cmocka_unit_test(test_xlsx_is_a_workbook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
