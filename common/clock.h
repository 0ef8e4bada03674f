/* clock — wall-clock helpers: Unix milliseconds and RFC 3339 UTC timestamps, written and read. */
#ifndef METODNET_CLOCK_H
#define METODNET_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t clock_unix_ms(void);
/* "2026-11-23T12:00:00.123Z" into buf (at least 32 bytes); returns buf. */
char *clock_rfc3339(int64_t unix_ms, char *buf, size_t size);
/* Reads an RFC 3339 date-time ("2026-11-23T12:00:00.123Z", "…T15:00:00+03:00"; fractions beyond
 * milliseconds are cut) into Unix milliseconds; false for anything else, including impossible dates
 * and years outside date_parse's 1900–2100 (validate.h). */
bool clock_parse_rfc3339(const char *text, int64_t *unix_ms);

#endif
