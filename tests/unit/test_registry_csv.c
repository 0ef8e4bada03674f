/* test_registry_csv — the descriptor-driven export sheet (registry_csv.h): Russian titles from the
 * table and JSON names otherwise, every field a column in descriptor order, enum words, bools, numbers,
 * dates as DD.MM.YYYY, subject names, repeated values joined, sub-messages as JSON, the formula guard
 * and quoting of the CSV writer, file names. No Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry.pb-c.h"
#include "registry_csv.h"

/* The document written so far without the BOM, as a NUL-terminated copy. */
static char *s_text(const csv_writer *w)
{
    size_t len;
    const char *data = csv_writer_data(w, &len);
    assert_true(len >= 3);
    assert_memory_equal(data, "\xEF\xBB\xBF", 3);
    char *out = malloc(len - 2);
    assert_non_null(out);
    memcpy(out, data + 3, len - 3);
    out[len - 3] = '\0';
    return out;
}

static void test_header_titles_and_json_names(void **state)
{
    (void)state;
    csv_writer *w = csv_writer_new();
    registry_csv_header(w, &metodnet__council_meeting__descriptor);
    char *text = s_text(w);
    assert_string_equal(text,
                        "Идентификатор;Регион;Совет;Дата заседания;Повестка;Присутствовали;Приглашённые;"
                        "Решения;Номер протокола;Уровень;Организация;Муниципалитет;Версия;Создано;"
                        "Изменено;Состояние;Документы;Присутствовало членов;Состав совета;Кворум;Место проведения;"
                        "Подписал председатель;Подписал секретарь;Дата подписания\r\n");
    free(text);
    csv_writer_destroy(&w);
    /* a field without a title keeps its JSON name */
    assert_null(registry_csv_title(&metodnet__agenda_item__descriptor, "speaker_staff_id"));
    w = csv_writer_new();
    registry_csv_header(w, &metodnet__agenda_item__descriptor);
    text = s_text(w);
    assert_string_equal(text, "title;speakerStaffId;decision;votesFor;votesAgainst;votesAbstained\r\n");
    free(text);
    csv_writer_destroy(&w);
}

static void test_meeting_row(void **state)
{
    (void)state;
    Metodnet__AgendaItem item = METODNET__AGENDA_ITEM__INIT;
    item.title = "Итоги \"диагностики\"";
    item.decision = "Принять";
    Metodnet__AgendaItem *agenda[] = {&item};
    char *attendees[] = {"07-s1", "07-s2"};
    char *invited[] = {"=ИРО, проректор"};
    Metodnet__CouncilMeeting m = METODNET__COUNCIL_MEETING__INIT;
    m.id = "07-k4";
    m.region_id = "07";
    m.council_id = "07-c2";
    m.held_on = "2024-10-15";
    m.n_agenda = 1;
    m.agenda = agenda;
    m.n_attendee_staff_ids = 2;
    m.attendee_staff_ids = attendees;
    m.n_invited = 1;
    m.invited = invited;
    m.decisions = "Принять план; утвердить";
    m.level = METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL;
    m.version = 3;
    m.created_at = "2024-10-15T08:00:00Z";
    csv_writer *w = csv_writer_new();
    registry_csv_header(w, &metodnet__council_meeting__descriptor); /* a row as it follows the header */
    registry_csv_row(w, &m.base);
    char *text = s_text(w);
    assert_string_equal(strstr(text, "\r\n") + 2,
                        "07-k4;07;07-c2;15.10.2024;"
                        "\"[{\"\"title\"\":\"\"Итоги \\\"\"диагностики\\\"\"\"\",\"\"speakerStaffId\"\":\"\"\"\","
                        "\"\"decision\"\":\"\"Принять\"\",\"\"votesFor\"\":0,\"\"votesAgainst\"\":0,"
                        "\"\"votesAbstained\"\":0}]\";"
                        "07-s1, 07-s2;'=ИРО, проректор;\"Принять план; утвердить\";;institutional;;;3;"
                        "2024-10-15T08:00:00Z;;;;0;0;нет;;;;\r\n");
    free(text);
    csv_writer_destroy(&w);
}

static void test_programme_and_practice_rows(void **state)
{
    (void)state;
    char *competences[] = {"t.method.1", "t.digital.1"};
    Metodnet__Programme p = METODNET__PROGRAMME__INIT;
    p.id = "07-p1";
    p.title = "Современный урок";
    p.hours = 36;
    p.format = METODNET__PROGRAMME_FORMAT__PROGRAMME_FORMAT_BLENDED;
    p.federal_registry = 1;
    p.n_competences = 2;
    p.competences = competences;
    csv_writer *w = csv_writer_new();
    registry_csv_header(w, &metodnet__programme__descriptor); /* a row as it follows the header */
    registry_csv_row(w, &p.base);
    char *text = s_text(w);
    assert_string_equal(strstr(text, "\r\n") + 2,
                        "07-p1;;Современный урок;;36;blended;да;t.method.1, "
                        "t.digital.1;;;;0;;;\r\n"); /* … version, createdAt, updatedAt, municipalityId */
    free(text);
    csv_writer_destroy(&w);

    Metodnet__Practice e = METODNET__PRACTICE__INIT;
    e.id = "07-e1";
    e.subject = "mathematics";
    e.status = METODNET__PRACTICE_STATUS__PRACTICE_STATUS_UNDER_REVIEW;
    w = csv_writer_new();
    registry_csv_row(w, &e.base);
    text = s_text(w);
    /* an unknown subject code stays as it is; no reviews = an empty cell */
    assert_non_null(strstr(text, ";Математика;"));
    assert_non_null(strstr(text, ";under_review;"));
    free(text);
    csv_writer_destroy(&w);
}

static void test_filenames(void **state)
{
    (void)state;
    assert_string_equal(registry_csv_filename(&metodnet__council_meeting__descriptor), "council-meetings.csv");
    assert_string_equal(registry_csv_filename(&metodnet__qualification_record__descriptor),
                        "qualification-records.csv");
    assert_string_equal(registry_csv_filename(&metodnet__agenda_item__descriptor), "export.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_titles_and_json_names),
        cmocka_unit_test(test_meeting_row),
        cmocka_unit_test(test_programme_and_practice_rows),
        cmocka_unit_test(test_filenames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
