/* validate — input checks shared by every service, each producing a field violation with a Russian
 * message: required text, lengths in characters, UTF-8, calendar dates, identifiers. Plus the text
 * folding used for name search (Cyrillic and Latin lowercase, ё → е).
 */
#ifndef METODNET_VALIDATE_H
#define METODNET_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "envelope.pb-c.h"
#include "utf8.h"

typedef struct validation {
    Metodnet__FieldViolation **items;
    size_t n;
    size_t cap;
} validation;

void validation_init(validation *v);
/* Adds a violation; field is the JSON path ("staff.birthDate"), format is Russian. */
void validation_add(validation *v, const char *field, const char *format, ...) __attribute__((format(printf, 3, 4)));
static inline bool validation_ok(const validation *v)
{
    return v->n == 0;
}
void validation_free(validation *v);

/* Required: non-empty after trimming blanks, valid UTF-8, at most max_chars characters. */
bool validate_text(validation *v, const char *field, const char *value, size_t max_chars, bool required);

/* "YYYY-MM-DD", a real calendar date between 1900-01-01 and 2100-12-31. Empty is an error when
 * required. Fills days (days since 1970-01-01) when non-NULL and valid. */
bool validate_date(validation *v, const char *field, const char *value, bool required, int *days);
/* Parses "YYYY-MM-DD" without reporting; false when invalid. */
bool date_parse(const char *value, int *days);
/* Today (UTC) as days since 1970-01-01. */
int date_today(void);

/* Entity ids: 1..64 characters of [A-Za-z0-9_-]. */
bool id_valid(const char *id);
bool validate_id(validation *v, const char *field, const char *value, bool required);

/* The first len bytes of text (at most size - 1 of them) into out, NUL-terminated; returns the bytes
 * copied. snprintf("%s") does the same at ten times the cost, which shows on the request path. */
size_t text_copy(char *out, size_t size, const char *text, size_t len);
/* Lowercase fold for search keys: А-Я → а-я, Ё/ё → е, A-Z → a-z; other bytes copied. Writes at most
 * size-1 bytes and a NUL; returns out. */
char *text_fold(const char *in, char *out, size_t size);

#endif
