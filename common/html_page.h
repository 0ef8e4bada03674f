/* html_page — a growing HTML text for the printable pages the services answer (the yearly
 * analytical report, a council meeting's protocol): raw markup, text escaped for HTML (& < > " '),
 * escaped text with its line breaks as <br>, and short formatted pieces. Out of memory aborts
 * (xalloc.h), so a page never comes out half-written.
 */
#ifndef METODNET_HTML_PAGE_H
#define METODNET_HTML_PAGE_H

#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated once anything is written; free() */
    size_t len, cap;
} html_page;

void html_put(html_page *p, const char *s, size_t n); /* n bytes of markup */
void html_raw(html_page *p, const char *s);           /* markup */
void html_esc(html_page *p, const char *s);           /* text (NULL = nothing) */
void html_esc_lines(html_page *p, const char *s);     /* text, "\n" as <br> */
/* A formatted piece of markup (up to 255 bytes: numbers, dates). */
void html_fmt(html_page *p, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
