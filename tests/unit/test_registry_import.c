/* test_registry_import — what an import decides before it reads the store (registry_import_sheet):
 * header matching (Russian and English names, aliases, case and blanks, an empty trailing column;
 * unknown, repeated and missing columns refuse the file), row mapping (dates, enum words, subject
 * names, yes/no, reference lists, the formula guard), cell errors with the column as written in the
 * file, repeated external ids, refused CSV, Windows-1251 and spreadsheet row numbers. No Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry.pb-c.h"
#include "registry_import.h"
#include "registry_kinds.h"

static registry_import_sheet *s_read(const registry_kind *kind, const char *csv)
{
    registry_import_sheet *sheet = registry_import_sheet_read(kind, (const uint8_t *)csv, strlen(csv));
    assert_non_null(sheet);
    return sheet;
}

static const Metodnet__StaffMember *s_staff(const registry_import_sheet *sheet, size_t i, bool want_rejected)
{
    bool rejected = !want_rejected;
    const ProtobufCMessage *m = registry_import_sheet_row(sheet, i, NULL, &rejected);
    assert_non_null(m);
    assert_true(m->descriptor == &metodnet__staff_member__descriptor);
    assert_int_equal(rejected, want_rejected);
    return (const Metodnet__StaffMember *)m;
}

/* The errors of one spreadsheet row, as "column: message" lines in order. */
static size_t s_errors_of(const registry_import_sheet *sheet, int32_t row, const Metodnet__ImportError **out,
                          size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < registry_import_sheet_errors(sheet); i++) {
        const Metodnet__ImportError *e = registry_import_sheet_error(sheet, i);
        if (e->row == row && n < max)
            out[n++] = e;
    }
    return n;
}

static void test_staff_headers_and_mapping(void **state)
{
    (void)state;
    /* Russian headers in another case with blanks, an alias for the id, English names, an empty trailing
     * column as spreadsheets leave it */
    const char *csv = "\xEF\xBB\xBF"
                      " внешний ИДЕНТИФИКАТОР (снилс) ;ФАМИЛИЯ;firstName;Отчество;Дата рождения;"
                      "professionStartDate;Должность;category;Предметы;Организация;"
                      "Квалификационная категория;Работает;\r\n"
                      "123-456-789 01;Иванова;Мария;Петровна;14.03.1991;2013-09-01;Учитель;педагог;"
                      "\"математика,\nФизика\";\"ОО-1, 07-o12;\nОО-3\";СЗД;нет;\r\n"
                      "'-42;Битоков;Аслан;;1.2.1978;;заместитель директора;manager;;ОО-1;высшая;да;\r\n"
                      "X-3;Шогенова;Фатимат;;1980-05-05;;teacher;руководитель;Русский язык;ОО-2;;;\r\n";
    registry_import_sheet *sheet = s_read(&registry_staff_kind, csv);
    assert_false(registry_import_sheet_refused(sheet));
    assert_int_equal(registry_import_sheet_errors(sheet), 0);
    assert_int_equal(registry_import_sheet_rows(sheet), 3);

    size_t row = 0;
    registry_import_sheet_row(sheet, 0, &row, NULL);
    assert_int_equal(row, 2);
    const Metodnet__StaffMember *a = s_staff(sheet, 0, false);
    assert_string_equal(a->external_id, "123-456-789 01");
    assert_string_equal(a->last_name, "Иванова");
    assert_string_equal(a->first_name, "Мария");
    assert_string_equal(a->birth_date, "1991-03-14");
    assert_string_equal(a->profession_start_date, "2013-09-01");
    assert_int_equal(a->position, METODNET__POSITION__POSITION_TEACHER);
    assert_int_equal(a->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER);
    assert_int_equal(a->qualification_category,
                     METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_POSITION_MATCH);
    assert_false(a->active);
    assert_int_equal(a->n_subjects, 2);
    assert_string_equal(a->subjects[0], "mathematics");
    assert_string_equal(a->subjects[1], "physics");
    /* organizations as written, split on ',', ';' and line breaks; resolved later against the store */
    assert_string_equal(registry_import_sheet_ref(sheet, 0, 0), "ОО-1");
    assert_string_equal(registry_import_sheet_ref(sheet, 0, 1), "07-o12");
    assert_string_equal(registry_import_sheet_ref(sheet, 0, 2), "ОО-3");
    assert_null(registry_import_sheet_ref(sheet, 0, 3));
    assert_int_equal(a->n_organization_ids, 0);

    /* the first data record spans two lines: the next one is still spreadsheet row 3 */
    registry_import_sheet_row(sheet, 1, &row, NULL);
    assert_int_equal(row, 3);
    const Metodnet__StaffMember *b = s_staff(sheet, 1, false);
    assert_string_equal(b->external_id, "-42"); /* the writer's formula guard is taken off */
    assert_string_equal(b->birth_date, "1978-02-01");
    assert_string_equal(b->middle_name, "");
    assert_int_equal(b->position, METODNET__POSITION__POSITION_DEPUTY_DIRECTOR);
    assert_int_equal(b->category, METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER);
    assert_int_equal(b->qualification_category, METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_HIGHEST);
    assert_true(b->active);
    assert_int_equal(b->n_subjects, 0);

    const Metodnet__StaffMember *c = s_staff(sheet, 2, false);
    assert_int_equal(c->position, METODNET__POSITION__POSITION_TEACHER); /* the API's own word */
    assert_int_equal(c->qualification_category, 0);                      /* empty: not given */
    assert_string_equal(c->subjects[0], "russian_language");
    assert_null(registry_import_sheet_row(sheet, 3, NULL, NULL));
    registry_import_sheet_destroy(&sheet);
    assert_null(sheet);
}

static void test_header_problems_refuse_the_file(void **state)
{
    (void)state;
    static const struct {
        const char *csv;
        const char *column;
        const char *words;
    } cases[] = {
        {"Внешний идентификатор;Фамилия;Имя;Дата рождения;Должность;Категория;Организация;Стаж\r\n"
         "1;А;Б;01.01.1990;учитель;педагог;ОО-1;5\r\n",
         "Стаж", "Неизвестный столбец"},
        {"Внешний идентификатор;Фамилия;Имя;Дата рождения;Должность;Категория;Организация;lastName\r\n"
         "1;А;Б;01.01.1990;учитель;педагог;ОО-1;А\r\n",
         "lastName", "дважды"},
        {"Внешний идентификатор;Фамилия;Имя;Должность;Категория;Организация\r\n1;А;Б;учитель;педагог;ОО-1\r\n",
         "Дата рождения", "Нет обязательного столбца"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        registry_import_sheet *sheet = s_read(&registry_staff_kind, cases[i].csv);
        assert_true(registry_import_sheet_refused(sheet));
        assert_int_equal(registry_import_sheet_errors(sheet), 1);
        const Metodnet__ImportError *e = registry_import_sheet_error(sheet, 0);
        assert_int_equal(e->row, 1);
        assert_string_equal(e->column, cases[i].column);
        assert_non_null(strstr(e->message, cases[i].words));
        assert_int_equal(registry_import_sheet_rows(sheet), 0);
        registry_import_sheet_destroy(&sheet);
    }
    /* broken CSV: refused with the row where the quote opened; an empty body too */
    registry_import_sheet *sheet =
        s_read(&registry_staff_kind, "Внешний идентификатор;Фамилия;Имя;Дата рождения;Должность;Категория;"
                                     "Организация\r\n1;А;Б;01.01.1990;учитель;педагог;ОО-1\r\n"
                                     "2;\"Б;В;01.01.1990;учитель;педагог;ОО-1\r\n");
    assert_true(registry_import_sheet_refused(sheet));
    assert_int_equal(registry_import_sheet_errors(sheet), 1);
    assert_int_equal(registry_import_sheet_error(sheet, 0)->row, 3);
    assert_non_null(strstr(registry_import_sheet_error(sheet, 0)->message, "кавычка"));
    registry_import_sheet_destroy(&sheet);
    sheet = s_read(&registry_staff_kind, "");
    assert_true(registry_import_sheet_refused(sheet));
    registry_import_sheet_destroy(&sheet);
}

static void test_cell_errors_reject_rows(void **state)
{
    (void)state;
    const char *csv = "externalId;lastName;firstName;birthDate;position;category;subjects;organizations;active\r\n"
                      "1;Иванова;Мария;01.01.1990;космонавт;педагог;;ОО-1;да\r\n"         /* row 2: enum */
                      "2;Иванова;Мария;01.01.1990;учитель;педагог;Астрология;ОО-1;да\r\n" /* row 3: subject */
                      "3;Иванова;Мария;01.01.1990;учитель;педагог;;ОО-1;может быть\r\n"   /* row 4: yes/no */
                      ";Иванова;Мария;01.01.1990;учитель;педагог;;ОО-1;да\r\n"            /* row 5: no id */
                      "\r\n"                                                              /* row 6: blank */
                      "7;Иванова;Мария;31.02.1990;учитель;педагог;;ОО-1;да\r\n";          /* row 7 */
    registry_import_sheet *sheet = s_read(&registry_staff_kind, csv);
    assert_false(registry_import_sheet_refused(sheet));
    assert_int_equal(registry_import_sheet_rows(sheet), 5);
    const Metodnet__ImportError *e[4];
    assert_int_equal(s_errors_of(sheet, 2, e, 4), 1);
    assert_string_equal(e[0]->column, "position"); /* the header as the file has it */
    assert_non_null(strstr(e[0]->message, "космонавт"));
    assert_non_null(strstr(e[0]->message, "«учитель»"));
    assert_int_equal(s_errors_of(sheet, 3, e, 4), 1);
    assert_string_equal(e[0]->column, "subjects");
    assert_non_null(strstr(e[0]->message, "Астрология"));
    assert_int_equal(s_errors_of(sheet, 4, e, 4), 1);
    assert_string_equal(e[0]->column, "active");
    assert_int_equal(s_errors_of(sheet, 5, e, 4), 1);
    assert_string_equal(e[0]->column, "externalId");
    s_staff(sheet, 0, true);
    s_staff(sheet, 1, true);
    s_staff(sheet, 2, true);
    s_staff(sheet, 3, true);
    /* a wrong date is the API validation's to refuse (after the store is read): here it is only
     * normalized, and the row (spreadsheet row 7 after the blank line) is not rejected yet */
    size_t row = 0;
    const Metodnet__StaffMember *last = (const Metodnet__StaffMember *)registry_import_sheet_row(sheet, 4, &row, NULL);
    assert_int_equal(row, 7);
    assert_string_equal(last->birth_date, "1990-02-31");
    s_staff(sheet, 4, false);
    assert_int_equal(s_errors_of(sheet, 7, e, 4), 0);
    /* errors come sorted by row */
    for (size_t i = 1; i < registry_import_sheet_errors(sheet); i++)
        assert_true(registry_import_sheet_error(sheet, i - 1)->row <= registry_import_sheet_error(sheet, i)->row);
    registry_import_sheet_destroy(&sheet);
}

static void test_repeated_external_ids(void **state)
{
    (void)state;
    const char *csv = "Внешний идентификатор;Фамилия;Имя;Дата рождения;Должность;Категория;Организация\r\n"
                      "A;Иванова;Мария;01.01.1990;учитель;педагог;ОО-1\r\n"   /* 2 */
                      "B;Петрова;Анна;01.01.1991;учитель;педагог;ОО-1\r\n"    /* 3 */
                      "A;Иванова;Мария;01.01.1990;учитель;педагог;ОО-1\r\n"   /* 4 */
                      "A;Иванова;Марина;01.01.1990;учитель;педагог;ОО-1\r\n"; /* 5 */
    registry_import_sheet *sheet = s_read(&registry_staff_kind, csv);
    s_staff(sheet, 0, true);
    s_staff(sheet, 1, false);
    s_staff(sheet, 2, true);
    s_staff(sheet, 3, true);
    const Metodnet__ImportError *e[4];
    assert_int_equal(s_errors_of(sheet, 2, e, 4), 1); /* the first row once, however often its id repeats */
    assert_string_equal(e[0]->column, "Внешний идентификатор");
    assert_non_null(strstr(e[0]->message, "строка 4"));
    assert_int_equal(s_errors_of(sheet, 3, e, 4), 0);
    assert_int_equal(s_errors_of(sheet, 4, e, 4), 1);
    assert_non_null(strstr(e[0]->message, "строка 2"));
    assert_int_equal(s_errors_of(sheet, 5, e, 4), 1);
    assert_non_null(strstr(e[0]->message, "строка 2"));
    registry_import_sheet_destroy(&sheet);
}

static void test_organizations_cp1251(void **state)
{
    (void)state;
    /* Windows-1251 with ',': "Внешний идентификатор,Муниципальное образование,Полное наименование,Вид
     * организации,ШНОР" and two rows; the municipality with a comma in its name stays one name */
    const char *csv = "\xC2\xED\xE5\xF8\xED\xE8\xE9 \xE8\xE4\xE5\xED\xF2\xE8\xF4\xE8\xEA\xE0\xF2\xEE\xF0,"
                      "\xCC\xF3\xED\xE8\xF6\xE8\xEF\xE0\xEB\xFC\xED\xEE\xE5 \xEE\xE1\xF0\xE0\xE7\xEE\xE2\xE0\xED"
                      "\xE8\xE5,"
                      "\xCF\xEE\xEB\xED\xEE\xE5 \xED\xE0\xE8\xEC\xE5\xED\xEE\xE2\xE0\xED\xE8\xE5,"
                      "\xC2\xE8\xE4 \xEE\xF0\xE3\xE0\xED\xE8\xE7\xE0\xF6\xE8\xE8,"
                      "\xD8\xCD\xCE\xD0\r\n"
                      "\xCE\xCE-1,\"\xD2\xE5\xF0\xF1\xEA\xE8\xE9, \xF0\xE0\xE9\xEE\xED\","
                      "\xCC\xCA\xCE\xD3 \xB9 1,\xD1\xCE\xD8,\xE4\xE0\r\n"
                      "\xCE\xCE-2,07-m1,\xC4\xE5\xF2\xF1\xEA\xE8\xE9 \xF1\xE0\xE4,\xC4\xCE\xD3,\xED\xE5\xF2\r\n";
    registry_import_sheet *sheet = s_read(&registry_organization_kind, csv);
    assert_false(registry_import_sheet_refused(sheet));
    assert_int_equal(registry_import_sheet_errors(sheet), 0);
    assert_int_equal(registry_import_sheet_rows(sheet), 2);
    const Metodnet__Organization *a = (const Metodnet__Organization *)registry_import_sheet_row(sheet, 0, NULL, NULL);
    assert_string_equal(a->external_id, "ОО-1");
    assert_string_equal(a->name, "МКОУ № 1");
    assert_int_equal(a->kind, METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL);
    assert_true(a->low_results);
    assert_string_equal(registry_import_sheet_ref(sheet, 0, 0), "Терский, район");
    assert_null(registry_import_sheet_ref(sheet, 0, 1));
    const Metodnet__Organization *b = (const Metodnet__Organization *)registry_import_sheet_row(sheet, 1, NULL, NULL);
    assert_int_equal(b->kind, METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PRESCHOOL);
    assert_false(b->low_results);
    assert_string_equal(registry_import_sheet_ref(sheet, 1, 0), "07-m1");
    registry_import_sheet_destroy(&sheet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staff_headers_and_mapping), cmocka_unit_test(test_header_problems_refuse_the_file),
        cmocka_unit_test(test_cell_errors_reject_rows),   cmocka_unit_test(test_repeated_external_ids),
        cmocka_unit_test(test_organizations_cp1251),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
