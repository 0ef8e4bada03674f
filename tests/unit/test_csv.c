/* test_csv — the CSV reader and writer behind registry import/export: encodings (UTF-8 with and
 * without BOM, Windows-1251), delimiter detection, quotes, embedded line breaks, CRLF, limits, error
 * positions, chunked reading, and the writer's quoting and formula guard (round trip included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"

/* UTF-8 text → Windows-1251 bytes (caller frees). */
static char *s_to_cp1251(const char *utf8, size_t *out_len)
{
    iconv_t cd = iconv_open("CP1251", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t in_left = strlen(utf8), out_size = in_left + 1, out_left = out_size;
    char *out = malloc(out_size), *in = (char *)utf8, *dst = out;
    assert_true(iconv(cd, &in, &in_left, &dst, &out_left) != (size_t)-1);
    iconv_close(cd);
    *out_len = out_size - out_left;
    return out;
}

static void test_cp1251_semicolon(void **state)
{
    (void)state;
    size_t len;
    char *bytes =
        s_to_cp1251("Фамилия;Имя;Дата рождения\r\nИванова;Мария;01.02.1990\r\n\"Щукин; мл.\";Ёжик;\r\n", &len);
    /* the first byte of «Фамилия» in cp1251 is 0xD4 — not valid UTF-8 */
    assert_int_equal((unsigned char)bytes[0], 0xD4);
    csv_reader *r = csv_reader_new_memory(bytes, len);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_encoding(r), CSV_ENCODING_CP1251);
    assert_int_equal(csv_reader_delimiter(r), ';');
    assert_int_equal(rec.n, 3);
    assert_string_equal(rec.fields[0], "Фамилия");
    assert_string_equal(rec.fields[2], "Дата рождения");
    assert_int_equal(rec.row, 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "Иванова");
    assert_string_equal(rec.fields[2], "01.02.1990");
    assert_int_equal(rec.row, 2);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, 3);
    assert_string_equal(rec.fields[0], "Щукин; мл.");
    assert_string_equal(rec.fields[1], "Ёжик");
    assert_string_equal(rec.fields[2], "");
    assert_int_equal(rec.lengths[2], 0);
    assert_int_equal(csv_reader_next(r, &rec), 0);
    assert_int_equal(csv_reader_next(r, &rec), 0);
    assert_string_equal(csv_reader_error(r), "");
    csv_reader_destroy(&r);
    assert_null(r);
    free(bytes);
}

static void test_utf8_bom_comma(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF"
                        "lastName,firstName,note\n"
                        "Петров,Пётр,\"a, b \"\"c\"\"\"\n"
                        "Сидорова,Анна,\n";
    csv_reader *r = csv_reader_new_memory(text, sizeof text - 1);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_encoding(r), CSV_ENCODING_UTF8_BOM);
    assert_int_equal(csv_reader_delimiter(r), ',');
    assert_string_equal(rec.fields[0], "lastName"); /* the BOM is not part of the first header */
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[1], "Пётр");
    assert_string_equal(rec.fields[2], "a, b \"c\"");
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, 3);
    assert_string_equal(rec.fields[0], "Сидорова");
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);

    /* plain UTF-8 without BOM, no trailing newline */
    const char plain[] = "a;b\n1;2";
    r = csv_reader_new_memory(plain, sizeof plain - 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_encoding(r), CSV_ENCODING_UTF8);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[1], "2");
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);
}

static void test_embedded_newlines_and_rows(void **state)
{
    (void)state;
    const char text[] = "a;b\r\n"
                        "\"first\r\nsecond\nthird\";x\r\n"
                        "\r\n" /* a blank row: counted, skipped */
                        "after;y\r\n";
    csv_reader *r = csv_reader_new_memory(text, sizeof text - 1);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "first\r\nsecond\nthird");
    assert_int_equal(rec.row, 2);
    assert_int_equal(rec.line, 2);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "after");
    assert_int_equal(rec.row, 4); /* header 1, record 2, blank 3 */
    assert_int_equal(rec.line, 6);
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);
}

static void test_broken_quotes(void **state)
{
    (void)state;
    csv_record rec;
    const char unclosed[] = "a;b\n1;2\n3;\"never closed\n4;5\n";
    csv_reader *r = csv_reader_new_memory(unclosed, sizeof unclosed - 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_int_equal(csv_reader_error_row(r), 3);
    assert_int_equal(csv_reader_error_column(r), 2);
    assert_non_null(strstr(csv_reader_error(r), "не закрыта"));
    assert_non_null(strstr(csv_reader_error(r), "Строка 3"));
    assert_int_equal(csv_reader_next(r, &rec), -1); /* the error is final */
    csv_reader_destroy(&r);

    const char garbage[] = "a;b\n\"x\"y;2\n";
    r = csv_reader_new_memory(garbage, sizeof garbage - 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_int_equal(csv_reader_error_row(r), 2);
    assert_int_equal(csv_reader_error_column(r), 1);
    assert_non_null(strstr(csv_reader_error(r), "после закрывающей кавычки"));
    csv_reader_destroy(&r);

    /* a quote inside an unquoted field is taken literally, as spreadsheets do */
    const char literal[] = "a;b\n5\" disk;2\n";
    r = csv_reader_new_memory(literal, sizeof literal - 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "5\" disk");
    csv_reader_destroy(&r);
}

static void test_limits(void **state)
{
    (void)state;
    csv_record rec;
    /* a field of exactly 64 KiB passes, one byte more fails */
    size_t size = 8 + CSV_FIELD_MAX + 1 + 16;
    char *text = malloc(size);
    strcpy(text, "a;b\n");
    memset(text + 4, 'x', CSV_FIELD_MAX);
    strcpy(text + 4 + CSV_FIELD_MAX, ";1\n");
    csv_reader *r = csv_reader_new_memory(text, strlen(text));
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.lengths[0], CSV_FIELD_MAX);
    csv_reader_destroy(&r);
    memset(text + 4, 'x', CSV_FIELD_MAX + 1);
    strcpy(text + 4 + CSV_FIELD_MAX + 1, ";1\n");
    r = csv_reader_new_memory(text, strlen(text));
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_int_equal(csv_reader_error_row(r), 2);
    assert_non_null(strstr(csv_reader_error(r), "64 КиБ"));
    csv_reader_destroy(&r);
    free(text);

    /* 200 columns pass, 201 fail */
    char line[1024] = "";
    for (int i = 0; i < CSV_COLUMNS_MAX; i++)
        strcat(line, i ? ";c" : "c");
    strcat(line, "\n");
    r = csv_reader_new_memory(line, strlen(line));
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, CSV_COLUMNS_MAX);
    csv_reader_destroy(&r);
    line[strlen(line) - 1] = '\0';
    strcat(line, ";c\n");
    r = csv_reader_new_memory(line, strlen(line));
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_non_null(strstr(csv_reader_error(r), "200"));
    csv_reader_destroy(&r);

    /* a NUL byte inside a field is refused */
    const char nul[] = "a;b\nx\0y;1\n";
    r = csv_reader_new_memory(nul, sizeof nul - 1);
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_int_equal(csv_reader_error_row(r), 2);
    csv_reader_destroy(&r);
}

/* A file that looks like UTF-8 in its first megabyte but is not later on. */
static void test_bad_utf8_after_detection(void **state)
{
    (void)state;
    size_t rows = CSV_DETECT_BYTES / 7 + 1000; /* 7 bytes a row: past the detection window */
    char *text = malloc(rows * 8 + 64);
    size_t len = 0;
    len += (size_t)sprintf(text, "a;b\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(text + len, "xx;yyy\n");
    len += (size_t)sprintf(text + len, "\xC0\xAF;1\n");
    csv_reader *r = csv_reader_new_memory(text, len);
    csv_record rec;
    int rc;
    size_t seen = 0;
    while ((rc = csv_reader_next(r, &rec)) == 1)
        seen++;
    assert_int_equal(rc, -1);
    assert_int_equal(seen, rows + 1);
    assert_int_equal(csv_reader_error_row(r), rows + 2);
    assert_non_null(strstr(csv_reader_error(r), "UTF-8"));
    csv_reader_destroy(&r);
    free(text);
}

typedef struct {
    const char *data;
    size_t len, pos, step;
} s_source;

static ssize_t s_read_step(void *ud, char *buf, size_t size)
{
    s_source *s = ud;
    size_t n = s->len - s->pos;
    if (n > s->step)
        n = s->step;
    if (n > size)
        n = size;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static ssize_t s_read_fail(void *ud, char *buf, size_t size)
{
    (void)ud, (void)buf, (void)size;
    return -1;
}

/* A read function handing out tiny pieces must give the same records (every boundary crossed). */
static void test_streaming_chunks(void **state)
{
    (void)state;
    size_t len;
    char *bytes = s_to_cp1251(
        "Организация;Название\r\n\"ОО-1\";\"Школа \"\"Радуга\"\"\r\nвторая строка\"\r\nОО-2;Лицей\r\n", &len);
    for (size_t step = 1; step <= 7; step++) {
        s_source src = {bytes, len, 0, step};
        csv_reader *r = csv_reader_new(s_read_step, &src);
        csv_record rec;
        assert_int_equal(csv_reader_next(r, &rec), 1);
        assert_int_equal(csv_reader_encoding(r), CSV_ENCODING_CP1251);
        assert_string_equal(rec.fields[1], "Название");
        assert_int_equal(csv_reader_next(r, &rec), 1);
        assert_string_equal(rec.fields[0], "ОО-1");
        assert_string_equal(rec.fields[1], "Школа \"Радуга\"\r\nвторая строка");
        assert_int_equal(csv_reader_next(r, &rec), 1);
        assert_int_equal(rec.row, 3);
        assert_int_equal(rec.line, 4);
        assert_string_equal(rec.fields[1], "Лицей");
        assert_int_equal(csv_reader_next(r, &rec), 0);
        csv_reader_destroy(&r);
    }
    free(bytes);

    csv_reader *r = csv_reader_new(s_read_fail, NULL);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), -1);
    assert_non_null(strstr(csv_reader_error(r), "прочитать"));
    csv_reader_destroy(&r);
}

static void test_writer_quoting_and_guard(void **state)
{
    (void)state;
    csv_writer *w = csv_writer_new();
    csv_writer_field(w, "Фамилия");
    csv_writer_field(w, "a;b");
    csv_writer_field(w, "say \"hi\"");
    csv_writer_field(w, "line1\nline2");
    csv_writer_field(w, NULL);
    csv_writer_end_row(w);
    csv_writer_field(w, "=HYPERLINK(\"x\")");
    csv_writer_field(w, "+7 900");
    csv_writer_field(w, "-1");
    csv_writer_field(w, "@SUM(A1)");
    csv_writer_field(w, " padded");
    csv_writer_end_row(w);
    size_t len;
    const char *data = csv_writer_data(w, &len);
    const char expected[] = "\xEF\xBB\xBF"
                            "Фамилия;\"a;b\";\"say \"\"hi\"\"\";\"line1\nline2\";\r\n"
                            "\"'=HYPERLINK(\"\"x\"\")\";'+7 900;'-1;'@SUM(A1);\" padded\"\r\n";
    assert_int_equal(len, sizeof expected - 1);
    assert_memory_equal(data, expected, len);
    assert_int_equal(csv_writer_size(w), len);

    /* what the writer wrote, the reader reads back (the guard undone by csv_unguard) */
    csv_reader *r = csv_reader_new_memory(data, len);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_delimiter(r), ';');
    assert_int_equal(rec.n, 5);
    assert_string_equal(rec.fields[1], "a;b");
    assert_string_equal(rec.fields[2], "say \"hi\"");
    assert_string_equal(rec.fields[3], "line1\nline2");
    assert_string_equal(rec.fields[4], "");
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "'=HYPERLINK(\"x\")");
    assert_string_equal(csv_unguard(rec.fields[0]), "=HYPERLINK(\"x\")");
    assert_string_equal(csv_unguard(rec.fields[2]), "-1");
    assert_string_equal(csv_unguard(rec.fields[4]), " padded");
    assert_string_equal(csv_unguard("'plain"), "'plain"); /* only a guard apostrophe goes */
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);
    csv_writer_destroy(&w);
    assert_null(w);
}

/* A value that itself starts with a guard apostrophe is guarded once more, so unguarding on import
 * gives back exactly what was written; plain apostrophes stay as they are. */
static void test_writer_guards_guard_looking_values(void **state)
{
    (void)state;
    static const char *const values[] = {"'=1+2", "'-", "''@x", "'plain", "'", "=1", "O'Brien"};
    const size_t n = sizeof values / sizeof values[0];
    csv_writer *w = csv_writer_new();
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, values[i]);
    csv_writer_end_row(w);
    size_t len;
    const char *data = csv_writer_data(w, &len);
    const char expected[] = "\xEF\xBB\xBF''=1+2;''-;'''@x;'plain;';'=1;O'Brien\r\n";
    assert_int_equal(len, sizeof expected - 1);
    assert_memory_equal(data, expected, len);
    csv_reader *r = csv_reader_new_memory(data, len);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(csv_unguard(rec.fields[i]), values[i]);
    csv_reader_destroy(&r);
    csv_writer_destroy(&w);
}

/* Found by fuzzing (tests/fuzz/fuzz_csv.c): an empty first field (a line starting with the delimiter,
 * or "" alone) was checked through a NULL record buffer (UBSan: zero offset applied to NULL). */
static void test_empty_first_field(void **state)
{
    (void)state;
    const char text[] = ";Фамилия\r\n\"\"\r\n";
    csv_reader *r = csv_reader_new_memory(text, sizeof text - 1);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.fields[0], "");
    assert_int_equal(rec.lengths[0], 0);
    assert_string_equal(rec.fields[1], "Фамилия");
    assert_int_equal(csv_reader_next(r, &rec), 1); /* "" is a record of one empty field, not a blank line */
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.fields[0], "");
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);
}

/* Found by fuzzing: what the writer wrote did not always read back. A row of one empty field was a
 * blank line (skipped on reading), and a header row with more commas than columns made the reader
 * take ',' as the delimiter. */
static void test_writer_rows_read_back(void **state)
{
    (void)state;
    csv_writer *w = csv_writer_new();
    csv_writer_field(w, "Фамилия, имя, отчество");
    csv_writer_end_row(w);
    csv_writer_field(w, "");
    csv_writer_end_row(w);
    csv_writer_field(w, "Иванов, Пётр");
    csv_writer_end_row(w);
    size_t len;
    const char *data = csv_writer_data(w, &len);
    const char expected[] = "\xEF\xBB\xBF\"Фамилия, имя, отчество\"\r\n\"\"\r\nИванов, Пётр\r\n";
    assert_int_equal(len, sizeof expected - 1);
    assert_memory_equal(data, expected, len);
    csv_reader *r = csv_reader_new_memory(data, len);
    csv_record rec;
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(csv_reader_delimiter(r), ';');
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.fields[0], "Фамилия, имя, отчество");
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.fields[0], "");
    assert_int_equal(csv_reader_next(r, &rec), 1);
    assert_string_equal(rec.fields[0], "Иванов, Пётр");
    assert_int_equal(csv_reader_next(r, &rec), 0);
    csv_reader_destroy(&r);
    csv_writer_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cp1251_semicolon),
        cmocka_unit_test(test_utf8_bom_comma),
        cmocka_unit_test(test_embedded_newlines_and_rows),
        cmocka_unit_test(test_broken_quotes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_utf8_after_detection),
        cmocka_unit_test(test_streaming_chunks),
        cmocka_unit_test(test_writer_quoting_and_guard),
        cmocka_unit_test(test_writer_guards_guard_looking_values),
        cmocka_unit_test(test_empty_first_field),
        cmocka_unit_test(test_writer_rows_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
