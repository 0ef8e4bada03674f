/* test_diagnostics_import — the results CSV of an external diagnostic centre without I/O: header
 * mapping (Russian and API words, any column order, unknown/repeated/missing columns), Windows-1251
 * with ';', score cells (percent with comma, "%", points "17/20", bounds), dates and the campaign
 * window, and the Result of a row classified with the instrument's thresholds (exact edges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diagnostics_import.h"
#include "validate.h"

/* An instrument with items of t.subject.1, t.assess.1 (twice) and t.method.1; t.assess.1 has its own
 * threshold 60 / mastery 90, the others the defaults 50 / 85. */
static Metodnet__Instrument *s_instrument(void)
{
    Metodnet__Instrument *in = malloc(sizeof *in);
    metodnet__instrument__init(in);
    const char *competences[] = {"t.subject.1", "t.assess.1", "t.method.1", "t.assess.1"};
    in->items = calloc(4, sizeof *in->items);
    for (size_t i = 0; i < 4; i++) {
        Metodnet__InstrumentItem *item = malloc(sizeof *item);
        metodnet__instrument_item__init(item);
        char id[8];
        snprintf(id, sizeof id, "q%zu", i + 1);
        item->id = diag_strdup(id);
        item->competence = diag_strdup(competences[i]);
        item->kind = METODNET__ITEM_KIND__ITEM_KIND_SCALE;
        item->scale_min = 0;
        item->scale_max = 4;
        in->items[in->n_items++] = item;
    }
    in->thresholds = calloc(1, sizeof *in->thresholds);
    Metodnet__CompetenceThreshold *t = malloc(sizeof *t);
    metodnet__competence_threshold__init(t);
    t->competence = diag_strdup("t.assess.1");
    t->threshold_percent = 60;
    t->mastery_percent = 90;
    in->thresholds[in->n_thresholds++] = t;
    return in;
}

static int s_day(const char *iso)
{
    int d = 0;
    assert_true(date_parse(iso, &d));
    return d;
}

static const diag_import_error *s_error_at(const diag_import_sheet *sheet, size_t row, const char *column)
{
    for (size_t i = 0; i < sheet->n_errors; i++)
        if (sheet->errors[i].row == row && strcmp(sheet->errors[i].column, column) == 0)
            return &sheet->errors[i];
    return NULL;
}

static void test_competences_sorted_distinct(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    const char *codes[8];
    size_t n = diag_import_competences(in, codes, 8);
    assert_int_equal(n, 3);
    assert_string_equal(codes[0], "t.assess.1");
    assert_string_equal(codes[1], "t.method.1");
    assert_string_equal(codes[2], "t.subject.1");
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_header_and_rows_utf8(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    const char *csv = "\xEF\xBB\xBF"
                      "t.method.1,ДАТА,staffId,ФИО,T.Assess.1,Внешний идентификатор\n"
                      "72.5,14.03.2025,07-s12,\"Иванова, Мария\",17/20,\n"
                      "\"50,0 %\",2025-03-15,,Петрова,,123-456-789 01\n";
    diag_import_sheet sheet;
    diag_import_read(&sheet, csv, strlen(csv), in, s_day("2025-03-01"), s_day("2025-03-31"));
    assert_false(sheet.file_rejected);
    assert_int_equal(sheet.n_errors, 0);
    assert_int_equal(sheet.n_rows, 2);
    assert_string_equal(sheet.date_header, "ДАТА");
    diag_import_row *r = &sheet.rows[0];
    assert_int_equal(r->row, 2);
    assert_string_equal(r->staff_id, "07-s12");
    assert_string_equal(r->external_id, "");
    assert_int_equal(r->date, s_day("2025-03-14"));
    /* in the instrument's order whatever the file's: assess, method */
    assert_int_equal(r->n_scores, 2);
    assert_string_equal(r->scores[0].competence, "t.assess.1");
    assert_int_equal(r->scores[0].points, 17);
    assert_int_equal(r->scores[0].max_points, 20);
    assert_string_equal(r->scores[1].competence, "t.method.1");
    assert_int_equal(r->scores[1].points, 725);
    assert_int_equal(r->scores[1].max_points, DIAG_IMPORT_PERCENT_MAX_POINTS);
    r = &sheet.rows[1];
    assert_string_equal(r->external_id, "123-456-789 01");
    assert_int_equal(r->n_scores, 1); /* an empty cell: not assessed */
    assert_int_equal(r->scores[0].points, 500);
    diag_import_sheet_free(&sheet);
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_cp1251_semicolon(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    /* «Код сотрудника;Дата;t.subject.1» and a row in Windows-1251 */
    const char csv[] = "\xca\xee\xe4 \xf1\xee\xf2\xf0\xf3\xe4\xed\xe8\xea\xe0;\xc4\xe0\xf2\xe0;t.subject.1\r\n"
                       "07-s3;01.03.2025;49,9\r\n";
    diag_import_sheet sheet;
    diag_import_read(&sheet, csv, sizeof csv - 1, in, s_day("2025-03-01"), s_day("2025-03-31"));
    assert_false(sheet.file_rejected);
    assert_int_equal(sheet.n_rows, 1);
    assert_string_equal(sheet.staff_header, "Код сотрудника");
    assert_int_equal(sheet.rows[0].scores[0].points, 499);
    assert_false(sheet.rows[0].rejected);
    diag_import_sheet_free(&sheet);
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_bad_cells_reject_the_row(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    const char *csv = "Код сотрудника;Дата;t.subject.1;t.method.1\n"
                      "07-s1;01.03.2025;100,1;50\n" /* over 100 % */
                      "07-s2;01.03.2025;21/20;50\n" /* over the maximum */
                      "07-s3;01.03.2025;72,55;50\n" /* two decimals */
                      "07-s4;31.02.2025;50;50\n"    /* no such date */
                      "07-s5;01.04.2025;50;50\n"    /* after the window */
                      ";01.03.2025;50;50\n"         /* nobody */
                      "07-s7;01.03.2025;;\n"        /* no score */
                      "07-s8;01.03.2025;100;0/5\n"; /* edges are fine */
    diag_import_sheet sheet;
    diag_import_read(&sheet, csv, strlen(csv), in, s_day("2025-03-01"), s_day("2025-03-31"));
    assert_false(sheet.file_rejected);
    assert_int_equal(sheet.n_rows, 8);
    for (size_t i = 0; i < 7; i++)
        assert_true(sheet.rows[i].rejected);
    assert_false(sheet.rows[7].rejected);
    assert_non_null(s_error_at(&sheet, 2, "t.subject.1"));
    assert_non_null(strstr(s_error_at(&sheet, 3, "t.subject.1")->message, "больше максимума"));
    assert_non_null(s_error_at(&sheet, 4, "t.subject.1"));
    assert_non_null(s_error_at(&sheet, 5, "Дата"));
    assert_non_null(strstr(s_error_at(&sheet, 6, "Дата")->message, "вне срока"));
    assert_non_null(s_error_at(&sheet, 7, "Код сотрудника"));
    assert_non_null(s_error_at(&sheet, 8, ""));
    diag_import_sheet_free(&sheet);
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_file_level_errors(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    const char *bad[] = {
        "Код сотрудника;Дата;t.subject.1;t.unknown.1\n07-s1;01.03.2025;50;50\n", /* unknown column */
        "Код сотрудника;Дата;t.subject.1;T.SUBJECT.1\n07-s1;01.03.2025;50;50\n", /* repeated */
        "ФИО;Дата;t.subject.1\nИванова;01.03.2025;50\n",                         /* nobody column */
        "Код сотрудника;t.subject.1\n07-s1;50\n",                                /* no date */
        "Код сотрудника;Дата\n07-s1;01.03.2025\n",                               /* no competence */
        "Код сотрудника;Дата;t.subject.1\n07-s1;\"01.03.2025;50\n",              /* broken quotes */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag_import_sheet sheet;
        diag_import_read(&sheet, bad[i], strlen(bad[i]), in, s_day("2025-03-01"), s_day("2025-03-31"));
        assert_true(sheet.file_rejected);
        assert_true(sheet.n_errors >= 1);
        diag_import_sheet_free(&sheet);
    }
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_result_thresholds_exact(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    diag_import_score scores[] = {
        {"t.assess.1", 600, 1000}, /* 60.0 % = its threshold: no deficit */
        {"t.method.1", 499, 1000}, /* 49.9 % < 50: deficit */
        {"t.subject.1", 17, 20},   /* 85 % = mastery: strength */
    };
    diag_import_row row = {.row = 2, .date = s_day("2025-03-14"), .scores = scores, .n_scores = 3};
    Metodnet__Result *r = diag_import_result(in, &row);
    assert_int_equal(r->n_scores, 3);
    assert_int_equal(r->scores[0]->threshold_percent, 60);
    assert_false(r->scores[0]->deficit);
    assert_false(r->scores[0]->strength);
    assert_true(r->scores[1]->deficit);
    assert_true(r->scores[1]->percent > 49.85 && r->scores[1]->percent < 49.95);
    assert_true(r->scores[2]->strength);
    assert_int_equal(r->n_deficits, 1);
    assert_string_equal(r->deficits[0], "t.method.1");
    assert_int_equal(r->n_strengths, 1);
    assert_string_equal(r->strengths[0], "t.subject.1");
    assert_string_equal(r->completed_at, "2025-03-14T00:00:00.000Z");
    assert_string_equal(r->source, "import");
    /* the same row again is the same; another score or date is not */
    Metodnet__Result *again = diag_import_result(in, &row);
    assert_true(diag_import_same(r, again));
    scores[1].points = 500;
    Metodnet__Result *other = diag_import_result(in, &row);
    assert_false(diag_import_same(r, other));
    assert_int_equal(other->n_deficits, 0);
    row.date++;
    scores[1].points = 499;
    Metodnet__Result *later = diag_import_result(in, &row);
    assert_false(diag_import_same(r, later));
    metodnet__result__free_unpacked(r, NULL);
    metodnet__result__free_unpacked(again, NULL);
    metodnet__result__free_unpacked(other, NULL);
    metodnet__result__free_unpacked(later, NULL);
    metodnet__instrument__free_unpacked(in, NULL);
}

static void test_template_reads_back(void **state)
{
    (void)state;
    Metodnet__Instrument *in = s_instrument();
    size_t len;
    char *csv = diag_import_template(in, &len);
    assert_non_null(strstr(csv, "Код сотрудника;Внешний идентификатор;ФИО;Дата;t.assess.1;t.method.1;t.subject.1\r\n"));
    diag_import_sheet sheet;
    diag_import_read(&sheet, csv, len, in, date_today() - 1, date_today());
    assert_false(sheet.file_rejected);
    assert_int_equal(sheet.n_errors, 0);
    assert_int_equal(sheet.n_rows, 1);
    assert_int_equal(sheet.rows[0].n_scores, 3);
    diag_import_sheet_free(&sheet);
    free(csv);
    metodnet__instrument__free_unpacked(in, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_competences_sorted_distinct),
        cmocka_unit_test(test_header_and_rows_utf8),
        cmocka_unit_test(test_cp1251_semicolon),
        cmocka_unit_test(test_bad_cells_reject_the_row),
        cmocka_unit_test(test_file_level_errors),
        cmocka_unit_test(test_result_thresholds_exact),
        cmocka_unit_test(test_template_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
