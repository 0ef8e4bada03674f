/* validate — input checks with Russian field violations, and search-key folding (see validate.h). */
#include "validate.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void validation_init(validation *v)
{
    memset(v, 0, sizeof *v);
}

void validation_add(validation *v, const char *field, const char *format, ...)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        Metodnet__FieldViolation **items = xrealloc(v->items, cap * sizeof *items);
        v->items = items;
        v->cap = cap;
    }
    Metodnet__FieldViolation *item = xmalloc(sizeof *item);
    metodnet__field_violation__init(item);
    char text[512];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    item->field = xstrdup(field ? field : "");
    item->description = xstrdup(text);
    v->items[v->n++] = item;
}

void validation_free(validation *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->items[i]->field);
        free(v->items[i]->description);
        free(v->items[i]);
    }
    free(v->items);
    validation_init(v);
}

static bool s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

bool validate_text(validation *v, const char *field, const char *value, size_t max_chars, bool required)
{
    if (value == NULL || *value == '\0' || s_blank(value)) {
        if (required)
            validation_add(v, field, "Поле обязательно для заполнения");
        return !required;
    }
    if (!utf8_valid(value, strlen(value))) {
        validation_add(v, field, "Текст не в кодировке UTF-8");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') {
            validation_add(v, field, "Текст содержит управляющие символы");
            return false;
        }
    size_t chars = utf8_length(value);
    if (chars > max_chars) {
        validation_add(v, field, "Слишком длинный текст: %zu символов, допускается не более %zu", chars, max_chars);
        return false;
    }
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int s_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool date_parse(const char *value, int *days)
{
    if (value == NULL || strlen(value) != 10 || value[4] != '-' || value[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (value[i] < '0' || value[i] > '9'))
            return false;
    int y = atoi(value), m = atoi(value + 5), d = atoi(value + 8);
    if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1)
        return false;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = month_days[m - 1] + (m == 2 && leap);
    if (d > max)
        return false;
    if (days)
        *days = s_days_from_civil(y, m, d);
    return true;
}

bool validate_date(validation *v, const char *field, const char *value, bool required, int *days)
{
    if (value == NULL || *value == '\0') {
        if (required)
            validation_add(v, field, "Укажите дату в формате ГГГГ-ММ-ДД");
        return !required;
    }
    if (!date_parse(value, days)) {
        validation_add(v, field,
                       "Неверная дата «%.40s»: нужна существующая дата в формате ГГГГ-ММ-ДД "
                       "между 1900 и 2100 годом",
                       value);
        return false;
    }
    return true;
}

int date_today(void)
{
    return (int)(time(NULL) / 86400);
}

bool id_valid(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool validate_id(validation *v, const char *field, const char *value, bool required)
{
    if (value == NULL || *value == '\0') {
        if (required)
            validation_add(v, field, "Укажите идентификатор");
        return !required;
    }
    if (!id_valid(value)) {
        validation_add(v, field,
                       "Неверный идентификатор: допускаются латинские буквы, цифры, «-» и «_», "
                       "не более 64 символов");
        return false;
    }
    return true;
}

char *text_fold(const char *in, char *out, size_t size)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p && o + 2 < size) {
        if (p[0] >= 'A' && p[0] <= 'Z') {
            out[o++] = (char)(p[0] + 32);
            p++;
        } else if (p[0] == 0xD0 && p[1] >= 0x90 && p[1] <= 0x9F) { /* А..П → а..п */
            out[o++] = (char)0xD0;
            out[o++] = (char)(p[1] + 0x20);
            p += 2;
        } else if (p[0] == 0xD0 && p[1] >= 0xA0 && p[1] <= 0xAF) { /* Р..Я → р..я */
            out[o++] = (char)0xD1;
            out[o++] = (char)(p[1] - 0x20);
            p += 2;
        } else if ((p[0] == 0xD0 && p[1] == 0x81) || (p[0] == 0xD1 && p[1] == 0x91)) { /* Ё, ё → е */
            out[o++] = (char)0xD0;
            out[o++] = (char)0xB5;
            p += 2;
        } else {
            out[o++] = (char)*p++;
        }
    }
    out[o] = '\0';
    return out;
}

size_t text_copy(char *out, size_t size, const char *text, size_t len)
{
    if (size == 0)
        return 0;
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(out, text, n);
    out[n] = '\0';
    return n;
}
