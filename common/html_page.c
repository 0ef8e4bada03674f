/* html_page — a growing HTML text (see html_page.h). */
#include "html_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void html_put(html_page *p, const char *s, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 8192;
        while (cap < p->len + n + 1)
            cap *= 2;
        p->data = xrealloc(p->data, cap);
        p->cap = cap;
    }
    memcpy(p->data + p->len, s, n);
    p->len += n;
    p->data[p->len] = '\0';
}

void html_raw(html_page *p, const char *s)
{
    html_put(p, s, strlen(s));
}

void html_esc(html_page *p, const char *s)
{
    const char *run = s; /* bytes written as they are, in one go */
    for (; s && *s; s++) {
        const char *entity = NULL;
        switch (*s) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        html_put(p, run, (size_t)(s - run));
        html_raw(p, entity);
        run = s + 1;
    }
    if (run && s > run)
        html_put(p, run, (size_t)(s - run));
}

void html_esc_lines(html_page *p, const char *s)
{
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char *line = xmalloc(n + 1);
        memcpy(line, s, n);
        line[n] = '\0';
        html_esc(p, line);
        free(line);
        if (!nl)
            break;
        html_raw(p, "<br>");
        s = nl + 1;
    }
}

void html_fmt(html_page *p, const char *format, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    html_raw(p, buf);
}
