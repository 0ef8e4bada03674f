/* indicators_catalogue — the default catalogue I1–I13 exactly as ../shared/docs/INDICATORS.md defines it,
 * the period of a request (calendar year, school year, date range) and the half-up rounding of a share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indicators.h"

static const indicator_def s_catalogue[INDICATORS_COUNT] = {
    {"I1", "Доля педагогов, прошедших диагностику профессиональных дефицитов (в разрезе предметов)", true,
     "педагоги муниципальных образовательных организаций, у которых в периоде есть завершённый результат "
     "независимой диагностики",
     "педагоги муниципальных образовательных организаций", "направить на диагностику"},
    {"I2", "Доля управленческих кадров, прошедших диагностику профессиональных дефицитов", true,
     "управленческие кадры с завершённым результатом независимой диагностики в периоде", "управленческие кадры",
     "направить на диагностику"},
    {"I3", "Количество проектов по поддержке молодых педагогов", false,
     "программы вида «поддержка молодых педагогов», действующие в периоде", NULL,
     "разработать проект поддержки молодых педагогов"},
    {"I4", "Доля молодых педагогов, охваченных мероприятиями проектов поддержки", true,
     "молодые педагоги, посетившие мероприятие программы поддержки молодых педагогов или бывшие наставляемыми "
     "в паре такой программы",
     "молодые педагоги (до 35 лет)", "охватить мероприятиями поддержки"},
    {"I5", "Количество программ наставничества", false, "программы наставничества, действующие в периоде", NULL,
     "разработать программу наставничества"},
    {"I6", "Доля педагогов, участвующих в программах наставничества", true,
     "педагоги — наставники или наставляемые в паре программы наставничества, действующей в периоде", "педагоги",
     "включить в программы наставничества"},
    {"I7", "Доля педагогов, сопровождаемых наставниками, прошедшими конкурсный отбор", true,
     "наставляемые в паре программы наставничества, чей наставник прошёл конкурсный отбор", "педагоги",
     "закрепить за наставниками, прошедшими конкурсный отбор,"},
    {"I8", "Наличие программы поддержки методических объединений и профессиональных сообществ", false,
     "программы поддержки методических объединений и сообществ, действующие в периоде (0 — нет)", NULL,
     "разработать программу поддержки методических объединений"},
    {"I9", "Доля педагогов, включённых в сетевые сообщества", true,
     "педагоги — участники хотя бы одного сетевого сообщества на отчётную дату", "педагоги",
     "включить в сетевые сообщества"},
    {"I10", "Количество методических объединений / профессиональных сообществ", false,
     "объединения, действующие на отчётную дату, чей дом лежит в территории", NULL, "создать методические объединения"},
    {"I11", "Доля педагогов, освоивших программы ДПО из ФР ДПП, подобранные с учётом диагностики", true,
     "педагоги, освоившие в периоде программу из ФР ДПП по компетенции, бывшей дефицитом в их независимой "
     "диагностике до освоения (подтверждённые записи)",
     "педагоги", "направить на программы ДПО из ФР ДПП по дефицитам"},
    {"I12", "Доля управленческих команд ОО, повысивших квалификацию по управлению качеством образования", true,
     "образовательные организации, все управленческие кадры которых освоили программу «управление качеством "
     "образования» за 3 года до отчётной даты",
     "образовательные организации с хотя бы одним управленческим кадром",
     "направить управленческие команды на программы по управлению качеством образования:"},
    {"I13", "Доля педагогов до 35 лет в первые 3 года работы, участвующих в формах поддержки", true,
     "молодые педагоги первых 3 лет работы — наставляемые, участники объединений, мероприятий или "
     "индивидуального маршрута в периоде",
     "педагоги до 35 лет в первые 3 года работы", "включить в формы поддержки"},
};

const indicator_def *indicators_catalogue(void)
{
    return s_catalogue;
}

const indicator_def *indicators_find(const char *code)
{
    for (size_t i = 0; code && i < INDICATORS_COUNT; i++)
        if (strcmp(s_catalogue[i].code, code) == 0)
            return &s_catalogue[i];
    return NULL;
}

static bool s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD, a real day of years 1900..2999. */
static bool s_date(const char *s, size_t len)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && s_leap(y));
}

static bool s_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* out (11 bytes) = the year (1900..2999, checked by the callers) and "-MM-DD" */
static void s_ymd(char out[11], int year, const char *month_day)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%04d%s", year % 10000, month_day);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

int indicators_period_parse(const char *text, int today_year, char start[11], char end[11], char *canonical,
                            size_t canonical_size, char *error, size_t error_size)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0) {
        s_ymd(start, today_year, "-01-01");
        s_ymd(end, today_year, "-12-31");
        snprintf(canonical, canonical_size, "%04d", today_year);
        return 0;
    }
    if (len == 4 && s_digits(text, 4) && atoi(text) >= 1900 && atoi(text) <= 2999) {
        s_ymd(start, atoi(text), "-01-01");
        s_ymd(end, atoi(text), "-12-31");
        snprintf(canonical, canonical_size, "%.4s", text);
        return 0;
    }
    if (len == 7 && text[4] == '/' && s_digits(text, 4) && s_digits(text + 5, 2)) {
        int y = atoi(text), next = (text[5] - '0') * 10 + (text[6] - '0');
        if (y < 1900 || y > 2998 || (y + 1) % 100 != next) {
            snprintf(error, error_size, "Учебный год записывается как 2025/26: второй год — следующий за первым");
            return -1;
        }
        s_ymd(start, y, "-09-01");
        s_ymd(end, y + 1, "-08-31");
        snprintf(canonical, canonical_size, "%04d/%02d", y, next);
        return 0;
    }
    const char *dots = strstr(text, "..");
    if (dots && s_date(text, (size_t)(dots - text)) && s_date(dots + 2, strlen(dots + 2))) {
        if (strncmp(text, dots + 2, 10) > 0) {
            snprintf(error, error_size, "Начало периода позже его конца");
            return -1;
        }
        memcpy(start, text, 10);
        start[10] = '\0';
        memcpy(end, dots + 2, 10);
        end[10] = '\0';
        snprintf(canonical, canonical_size, "%s..%s", start, end);
        return 0;
    }
    snprintf(error, error_size,
             "Период: календарный год (2026), учебный год (2025/26) или даты через две точки "
             "(2026-01-01..2026-03-31)");
    return -1;
}

int64_t indicators_share_tenths(int64_t numerator, int64_t denominator)
{
    /* floor(numerator × 1000 / denominator + 1/2) */
    return (2 * numerator * 1000 + denominator) / (2 * denominator);
}

int64_t indicators_people_to_reach(int64_t numerator, int64_t denominator, double target)
{
    if (denominator <= 0 || target <= 0)
        return 0;
    /* the least n with numerator + n ≥ target% × denominator, on tenths to avoid float drift */
    int64_t target_tenths = (int64_t)(target * 10.0 + 0.5);
    int64_t need = (target_tenths * denominator + 999) / 1000; /* ceil */
    if (need > denominator)
        need = denominator;
    /* the shown value is rounded half up: a person fewer may already show the target */
    while (need > 0 && indicators_share_tenths(need - 1, denominator) >= target_tenths)
        need--;
    return need > numerator ? need - numerator : 0;
}
