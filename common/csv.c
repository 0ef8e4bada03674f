/* csv — streaming CSV reader (UTF-8 / Windows-1251, ';' or ',') and Excel-friendly writer; the
 * contract is in csv.h.
 *
 * Reader layout: `buf[start..end)` holds decoded UTF-8 not yet parsed. At the start the first
 * CSV_DETECT_BYTES raw bytes are read into buf and the encoding is decided on them; after that every
 * chunk is appended as is (UTF-8) or through iconv (cp1251). The parser takes one byte at a time;
 * only ASCII bytes (quote, delimiter, CR, LF) have meaning, so UTF-8 needs no decoding, and each
 * finished field is checked for valid UTF-8 and for NUL.
 */
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "validate.h"

#define S_CHUNK (64 * 1024)

struct csv_reader {
    /* source */
    const char *mem;
    size_t mem_len, mem_pos;
    csv_read_fn read;
    void *ud;
    bool source_done;
    /* decoded input */
    char *buf;
    size_t start, end, cap;
    bool detected;
    csv_encoding encoding;
    iconv_t cd;
    char delimiter;
    /* position */
    size_t line; /* current physical line (1-based) */
    size_t row;  /* rows handed out or skipped */
    /* the record being built: bytes of all fields, each NUL-terminated */
    char *rec;
    size_t rec_len, rec_cap;
    size_t offsets[CSV_COLUMNS_MAX];
    size_t lengths[CSV_COLUMNS_MAX];
    char *fields[CSV_COLUMNS_MAX];
    /* error */
    bool failed;
    char error[300];
    size_t error_row, error_column;
};

static void s_fail(csv_reader *r, size_t row, size_t column, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void s_fail(csv_reader *r, size_t row, size_t column, const char *format, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    r->error_row = row;
    r->error_column = column;
    va_list ap;
    va_start(ap, format);
    vsnprintf(r->error, sizeof r->error, format, ap);
    va_end(ap);
}

static csv_reader *s_new(void)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->cd = (iconv_t)-1;
    r->line = 1;
    r->delimiter = ';';
    return r;
}

csv_reader *csv_reader_new_memory(const char *data, size_t len)
{
    csv_reader *r = s_new();
    if (r != NULL) {
        r->mem = data ? data : "";
        r->mem_len = data ? len : 0;
    }
    return r;
}

csv_reader *csv_reader_new(csv_read_fn read, void *ud)
{
    csv_reader *r = s_new();
    if (r != NULL) {
        r->read = read;
        r->ud = ud;
    }
    return r;
}

void csv_reader_destroy(csv_reader **reader)
{
    if (reader == NULL || *reader == NULL)
        return;
    csv_reader *r = *reader;
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    free(r->buf);
    free(r->rec);
    free(r);
    *reader = NULL;
}

const char *csv_reader_error(const csv_reader *reader)
{
    return reader->failed ? reader->error : "";
}
size_t csv_reader_error_row(const csv_reader *reader)
{
    return reader->error_row;
}
size_t csv_reader_error_column(const csv_reader *reader)
{
    return reader->error_column;
}
csv_encoding csv_reader_encoding(const csv_reader *reader)
{
    return reader->encoding;
}
char csv_reader_delimiter(const csv_reader *reader)
{
    return reader->delimiter;
}

/* Room for `more` bytes after end (compacting consumed bytes first). */
static bool s_reserve(csv_reader *r, size_t more)
{
    if (r->start > 0 && r->start == r->end) {
        r->start = r->end = 0;
    } else if (r->start > 0 && r->cap - r->end < more) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end >= more)
        return true;
    size_t cap = r->cap ? r->cap : S_CHUNK;
    while (cap - r->end < more)
        cap *= 2;
    char *grown = realloc(r->buf, cap);
    if (grown == NULL)
        return false;
    r->buf = grown;
    r->cap = cap;
    return true;
}

/* Up to size raw bytes from the source into out; 0 at the end, -1 on a read error. */
static ssize_t s_read_raw(csv_reader *r, char *out, size_t size)
{
    if (r->source_done)
        return 0;
    if (r->read == NULL) {
        size_t n = r->mem_len - r->mem_pos;
        if (n > size)
            n = size;
        memcpy(out, r->mem + r->mem_pos, n);
        r->mem_pos += n;
        if (n == 0)
            r->source_done = true;
        return (ssize_t)n;
    }
    ssize_t n = r->read(r->ud, out, size);
    if (n <= 0)
        r->source_done = true;
    return n < 0 ? -1 : n;
}

/* Converts len cp1251 bytes at in, appending UTF-8 at buf+end. A byte with no character (0x98) becomes
 * '?'. */
static bool s_append_cp1251(csv_reader *r, const char *in, size_t len)
{
    if (!s_reserve(r, len * 3 + 4))
        return false;
    char *src = (char *)in;
    size_t src_left = len;
    while (src_left > 0) {
        char *dst = r->buf + r->end;
        size_t dst_left = r->cap - r->end;
        size_t rc = iconv(r->cd, &src, &src_left, &dst, &dst_left);
        r->end = (size_t)(dst - r->buf);
        if (rc == (size_t)-1) {
            if (errno == EILSEQ || errno == EINVAL) {
                r->buf[r->end++] = '?';
                src++;
                src_left--;
            } else {
                return false; /* E2BIG cannot happen: 3 bytes per input byte suffice */
            }
        }
    }
    return true;
}

/* Reads the first CSV_DETECT_BYTES and decides the encoding. */
static bool s_detect(csv_reader *r)
{
    r->detected = true;
    char *raw = NULL; /* the first bytes, read from the source; a memory source is used in place */
    size_t have = 0;
    if (r->read == NULL) {
        have = r->mem_len < CSV_DETECT_BYTES ? r->mem_len : CSV_DETECT_BYTES;
        r->mem_pos = have;
    } else {
        raw = malloc(CSV_DETECT_BYTES);
        if (raw == NULL)
            return false;
        while (have < CSV_DETECT_BYTES) {
            ssize_t n = s_read_raw(r, raw + have, CSV_DETECT_BYTES - have);
            if (n < 0) {
                free(raw);
                s_fail(r, 1, 0, "Не удалось прочитать файл");
                return false;
            }
            if (n == 0)
                break;
            have += (size_t)n;
        }
    }
    const char *head = raw ? raw : r->mem;
    size_t skip = 0;
    if (have >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) {
        r->encoding = CSV_ENCODING_UTF8_BOM;
        skip = 3;
    } else if (utf8_valid_but_cut(head, have)) {
        r->encoding = CSV_ENCODING_UTF8;
    } else {
        r->encoding = CSV_ENCODING_CP1251;
    }
    bool ok;
    if (r->encoding == CSV_ENCODING_CP1251) {
        r->cd = iconv_open("UTF-8", "CP1251");
        ok = r->cd != (iconv_t)-1 && s_append_cp1251(r, head, have);
        if (r->cd == (iconv_t)-1)
            s_fail(r, 1, 0, "Кодировка Windows-1251 недоступна в системе (iconv)");
    } else {
        ok = s_reserve(r, have - skip + 1);
        if (ok) {
            memcpy(r->buf + r->end, head + skip, have - skip);
            r->end += have - skip;
        }
    }
    free(raw);
    return ok;
}

/* More decoded bytes into buf; false at the end of the input (or on an error, then r->failed). */
static bool s_fill(csv_reader *r)
{
    if (r->failed || r->source_done)
        return false;
    char raw[S_CHUNK];
    ssize_t n = s_read_raw(r, raw, sizeof raw);
    if (n < 0) {
        s_fail(r, r->row + 1, 0, "Не удалось дочитать файл (строка %zu)", r->row + 1);
        return false;
    }
    if (n == 0)
        return false;
    if (r->encoding == CSV_ENCODING_CP1251)
        return s_append_cp1251(r, raw, (size_t)n);
    if (!s_reserve(r, (size_t)n))
        return false;
    memcpy(r->buf + r->end, raw, (size_t)n);
    r->end += (size_t)n;
    return true;
}

/* Next byte, or -1 at the end of the input. */
static inline int s_getc(csv_reader *r)
{
    if (r->start == r->end && !s_fill(r))
        return -1;
    return (unsigned char)r->buf[r->start++];
}

static inline int s_peek(csv_reader *r)
{
    if (r->start == r->end && !s_fill(r))
        return -1;
    return (unsigned char)r->buf[r->start];
}

/* The delimiter from the header line: ';' or ',', the more frequent outside quotes. */
static void s_detect_delimiter(csv_reader *r)
{
    size_t semicolons = 0, commas = 0, p = r->start;
    bool quoted = false;
    for (;;) {
        if (p == r->end) {
            size_t offset = p - r->start;
            if (r->end - r->start > (size_t)CSV_COLUMNS_MAX * CSV_FIELD_MAX || !s_fill(r))
                break;
            p = r->start + offset;
        }
        char c = r->buf[p++];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == ';')
            semicolons++;
        else if (!quoted && c == ',')
            commas++;
        else if (!quoted && (c == '\n' || c == '\r'))
            break;
    }
    r->delimiter = commas > semicolons ? ',' : ';';
}

static bool s_rec_put(csv_reader *r, char c)
{
    if (r->rec_len == r->rec_cap) {
        size_t cap = r->rec_cap ? r->rec_cap * 2 : 4096;
        char *grown = realloc(r->rec, cap);
        if (grown == NULL)
            return false;
        r->rec = grown;
        r->rec_cap = cap;
    }
    r->rec[r->rec_len++] = c;
    return true;
}

/* Closes field n (its bytes start at offsets[n]): NUL-terminates and checks it. */
static bool s_end_field(csv_reader *r, size_t n, size_t row)
{
    size_t len = r->rec_len - r->offsets[n];
    /* an empty first field leaves rec NULL: nothing to check, and no pointer arithmetic on NULL */
    if (len > 0 && memchr(r->rec + r->offsets[n], '\0', len) != NULL) {
        s_fail(r, row, n + 1, "Строка %zu, столбец %zu: недопустимый символ NUL", row, n + 1);
        return false;
    }
    if (len > 0 && !utf8_valid(r->rec + r->offsets[n], len)) {
        s_fail(r, row, n + 1,
               "Строка %zu, столбец %zu: текст не в кодировке UTF-8 (сохраните файл в UTF-8 или "
               "Windows-1251 целиком)",
               row, n + 1);
        return false;
    }
    r->lengths[n] = len;
    if (!s_rec_put(r, '\0')) {
        s_fail(r, row, n + 1, "Недостаточно памяти");
        return false;
    }
    return true;
}

int csv_reader_next(csv_reader *r, csv_record *record)
{
    if (r->failed)
        return -1;
    if (!r->detected) {
        if (!s_detect(r)) {
            if (!r->failed)
                s_fail(r, 1, 0, "Недостаточно памяти");
            return -1;
        }
        s_detect_delimiter(r);
    }
    for (;;) {
        if (s_peek(r) < 0)
            return r->failed ? -1 : 0;
        size_t row = ++r->row, start_line = r->line, n = 0;
        r->rec_len = 0;
        bool record_done = false, any = false;
        while (!record_done) {
            if (n >= CSV_COLUMNS_MAX) {
                s_fail(r, row, n + 1, "Строка %zu: больше %d столбцов", row, CSV_COLUMNS_MAX);
                return -1;
            }
            r->offsets[n] = r->rec_len;
            size_t column = n + 1, field_len = 0;
            int c = s_getc(r);
            if (c == '"') {
                any = true;
                size_t quote_line = r->line;
                for (;;) {
                    c = s_getc(r);
                    if (c < 0) {
                        if (!r->failed)
                            s_fail(r, row, column,
                                   "Строка %zu, столбец %zu: кавычка, открытая в строке файла %zu, "
                                   "не закрыта до конца файла",
                                   row, column, quote_line);
                        return -1;
                    }
                    if (c == '"') {
                        int next = s_peek(r);
                        if (next == '"') {
                            s_getc(r);
                        } else {
                            c = s_getc(r);
                            if (c == r->delimiter) {
                                break;
                            } else if (c < 0 || c == '\n') {
                                record_done = true;
                                if (c == '\n')
                                    r->line++;
                                break;
                            } else if (c == '\r') {
                                if (s_peek(r) == '\n')
                                    s_getc(r);
                                r->line++;
                                record_done = true;
                                break;
                            }
                            s_fail(r, row, column,
                                   "Строка %zu, столбец %zu: после закрывающей кавычки ожидается "
                                   "разделитель «%c» или конец строки",
                                   row, column, r->delimiter);
                            return -1;
                        }
                    } else if (c == '\n') {
                        r->line++;
                    }
                    if (++field_len > CSV_FIELD_MAX) {
                        s_fail(r, row, column, "Строка %zu, столбец %zu: значение длиннее %d КиБ", row, column,
                               CSV_FIELD_MAX / 1024);
                        return -1;
                    }
                    if (!s_rec_put(r, (char)c)) {
                        s_fail(r, row, column, "Недостаточно памяти");
                        return -1;
                    }
                }
            } else {
                for (;;) {
                    if (c < 0) {
                        if (r->failed)
                            return -1;
                        record_done = true;
                        break;
                    }
                    if (c == r->delimiter) {
                        any = true;
                        break;
                    }
                    if (c == '\n' || c == '\r') {
                        if (c == '\r' && s_peek(r) == '\n')
                            s_getc(r);
                        r->line++;
                        record_done = true;
                        break;
                    }
                    any = true;
                    if (++field_len > CSV_FIELD_MAX) {
                        s_fail(r, row, column, "Строка %zu, столбец %zu: значение длиннее %d КиБ", row, column,
                               CSV_FIELD_MAX / 1024);
                        return -1;
                    }
                    if (!s_rec_put(r, (char)c)) {
                        s_fail(r, row, column, "Недостаточно памяти");
                        return -1;
                    }
                    c = s_getc(r);
                }
            }
            if (!s_end_field(r, n, row))
                return -1;
            n++;
        }
        if (!any && n == 1)
            continue; /* a blank line: counted, not handed out */
        for (size_t i = 0; i < n; i++)
            r->fields[i] = r->rec + r->offsets[i];
        record->fields = r->fields;
        record->lengths = r->lengths;
        record->n = n;
        record->row = row;
        record->line = start_line;
        return 1;
    }
}

static bool s_formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

/* One or more apostrophes, then a formula start: the writer's guard (of "=x" or of "'=x", …). */
const char *csv_unguard(const char *value)
{
    if (value == NULL || value[0] != '\'')
        return value;
    size_t k = 1;
    while (value[k] == '\'')
        k++;
    return s_formula_start(value[k]) ? value + 1 : value;
}

/* ---------- writer ---------- */

struct csv_writer {
    char *data;
    size_t len, cap;
    size_t fields_in_row;
    size_t rows; /* rows ended so far */
    bool first_field_empty;
};

static void s_put(csv_writer *w, const char *s, size_t n)
{
    if (w->cap - w->len < n + 1) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n + 1)
            cap *= 2;
        char *grown = realloc(w->data, cap);
        if (grown == NULL)
            abort(); /* out of memory: nothing sensible to continue with */
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, s, n);
    w->len += n;
    w->data[w->len] = '\0';
}

csv_writer *csv_writer_new(void)
{
    csv_writer *w = calloc(1, sizeof *w);
    if (w != NULL)
        s_put(w, "\xEF\xBB\xBF", 3);
    return w;
}

void csv_writer_destroy(csv_writer **writer)
{
    if (writer == NULL || *writer == NULL)
        return;
    free((*writer)->data);
    free(*writer);
    *writer = NULL;
}

void csv_writer_field(csv_writer *w, const char *value)
{
    bool empty = value == NULL || *value == '\0';
    if (w->fields_in_row++ > 0)
        s_put(w, ";", 1);
    else
        w->first_field_empty = empty;
    if (empty)
        return;
    size_t len = strlen(value);
    /* a value csv_unguard() would shorten ("'=x") is guarded too, so it reads back as it was */
    bool guard = s_formula_start(value[0]) || csv_unguard(value) != value;
    /* in the first row a ',' is quoted too: readers find the delimiter from that line, and more commas
     * than semicolons outside quotes would make them split on ',' */
    bool quote =
        strpbrk(value, w->rows == 0 ? ";,\"\r\n" : ";\"\r\n") != NULL || value[0] == ' ' || value[len - 1] == ' ';
    if (quote)
        s_put(w, "\"", 1);
    if (guard)
        s_put(w, "'", 1);
    for (const char *p = value; *p;) {
        const char *q = strchr(p, '"');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        s_put(w, p, n);
        if (q == NULL)
            break;
        s_put(w, "\"\"", 2);
        p = q + 1;
    }
    if (quote)
        s_put(w, "\"", 1);
}

void csv_writer_end_row(csv_writer *w)
{
    /* a row of one empty field would be a blank line, which readers skip: it is written as "" */
    if (w->fields_in_row == 1 && w->first_field_empty)
        s_put(w, "\"\"", 2);
    s_put(w, "\r\n", 2);
    w->fields_in_row = 0;
    w->rows++;
}

const char *csv_writer_data(const csv_writer *w, size_t *len)
{
    *len = w->len;
    return w->data;
}

size_t csv_writer_size(const csv_writer *w)
{
    return w->len;
}
