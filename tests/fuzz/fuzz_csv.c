/* fuzz_csv — libFuzzer target for the CSV reader and writer (common/csv.c): the input is a file as
 * uploaded for import (UTF-8 with or without BOM, or Windows-1251; ';' or ','). Every record handed out
 * holds valid UTF-8 fields without NUL within the limits, with rising row numbers; an error is final,
 * names a row and is Russian text. The same input read through a read function in small chunks gives
 * the same records (for every fourth input); the records written back by the writer (the export format) read back unchanged.
 * Built and run by ops/fuzz, seeds in corpus/csv/ (import files as docs/import.md describes them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A broken property: says which one, then aborts (libFuzzer keeps the input). */
#define S_BROKEN(what) (fprintf(stderr, "%s\n", what), abort())

#include "csv.h"
#include "utf8.h"

#define S_RECORDS_MAX 64 /* records compared per input */

typedef struct {
    const uint8_t *data;
    size_t len, pos, chunk;
} s_source;

static ssize_t s_read(void *ud, char *buf, size_t size)
{
    s_source *s = ud;
    size_t n = s->len - s->pos;
    if (n > s->chunk)
        n = s->chunk;
    if (n > size)
        n = size;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

/* The fields of one record, copied (the reader's are borrowed until its next call). */
typedef struct {
    char **fields;
    size_t n, row;
} s_copy;

static void s_copy_record(s_copy *copy, const csv_record *record)
{
    copy->n = record->n;
    copy->row = record->row;
    copy->fields = malloc(record->n * sizeof *copy->fields);
    for (size_t i = 0; i < record->n; i++) {
        if (record->lengths[i] != strlen(record->fields[i]) || record->lengths[i] > CSV_FIELD_MAX ||
            !utf8_valid(record->fields[i], record->lengths[i]))
            S_BROKEN("a field with a wrong length, over the limit or not UTF-8");
        copy->fields[i] = strdup(record->fields[i]);
    }
}

static void s_free_copies(s_copy *copies, size_t n)
{
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < copies[r].n; i++)
            free(copies[r].fields[i]);
        free(copies[r].fields);
    }
}

/* Reads up to S_RECORDS_MAX records; returns the count, *result the last csv_reader_next() value. */
static size_t s_read_all(csv_reader *reader, s_copy *copies, int *result)
{
    size_t n = 0, last_row = 0;
    csv_record record;
    while (n < S_RECORDS_MAX && (*result = csv_reader_next(reader, &record)) == 1) {
        if (record.n == 0 || record.n > CSV_COLUMNS_MAX || record.row <= last_row || record.line < 1)
            S_BROKEN("a record without fields, over the column limit or out of row order");
        last_row = record.row;
        s_copy_record(&copies[n++], &record);
    }
    if (n == S_RECORDS_MAX)
        *result = 1;
    if (*result == -1) {
        const char *error = csv_reader_error(reader);
        if (error[0] == '\0' || csv_reader_error_row(reader) == 0 || !utf8_valid(error, strlen(error)))
            S_BROKEN("an error without a message or a row");
        if (csv_reader_next(reader, &record) != -1)
            S_BROKEN("an error is not final");
    } else if (*result == 0 && csv_reader_error(reader)[0] != '\0') {
        S_BROKEN("an error text at the end of the input");
    }
    return n;
}

static void s_same(const s_copy *a, size_t na, const s_copy *b, size_t nb, bool unguard)
{
    if (na != nb)
        S_BROKEN("the two readings disagree on the record count");
    for (size_t r = 0; r < na; r++) {
        if (a[r].n != b[r].n)
            S_BROKEN("the two readings disagree on a record's fields");
        for (size_t i = 0; i < a[r].n; i++)
            if (strcmp(a[r].fields[i], unguard ? csv_unguard(b[r].fields[i]) : b[r].fields[i]) != 0)
                S_BROKEN("the two readings disagree on a field");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static s_copy memory[S_RECORDS_MAX], streamed[S_RECORDS_MAX], written[S_RECORDS_MAX];
    int memory_result = 0, streamed_result = 0, written_result = 0;

    csv_reader *reader = csv_reader_new_memory((const char *)data, size);
    size_t n_memory = s_read_all(reader, memory, &memory_result);
    csv_encoding encoding = csv_reader_encoding(reader);
    char delimiter = csv_reader_delimiter(reader);
    csv_reader_destroy(&reader);

    /* every fourth input by length also through a read function (its first read buffer is 1 MiB, which
     * costs the sanitizers a fresh mapping every time) */
    size_t n_streamed = 0;
    if (size % 4 == 0) {
        s_source source = {data, size, 0, 1 + size / 4 % 7};
        reader = csv_reader_new(s_read, &source);
        n_streamed = s_read_all(reader, streamed, &streamed_result);
        if (streamed_result != memory_result || csv_reader_encoding(reader) != encoding ||
            csv_reader_delimiter(reader) != delimiter)
            S_BROKEN("the streaming reader differs from the memory reader");
        csv_reader_destroy(&reader);
        s_same(memory, n_memory, streamed, n_streamed, false);
    }

    /* what was read, written as an export, reads back the same */
    csv_writer *writer = csv_writer_new();
    for (size_t r = 0; r < n_memory; r++) {
        for (size_t i = 0; i < memory[r].n; i++)
            csv_writer_field(writer, memory[r].fields[i]);
        csv_writer_end_row(writer);
    }
    size_t out_len = 0;
    const char *out = csv_writer_data(writer, &out_len);
    reader = csv_reader_new_memory(out, out_len);
    size_t n_written = s_read_all(reader, written, &written_result);
    if (written_result == -1 || csv_reader_encoding(reader) != CSV_ENCODING_UTF8_BOM)
        S_BROKEN("the exported file does not read back");
    csv_reader_destroy(&reader);
    s_same(memory, n_memory, written, n_written, true);
    csv_writer_destroy(&writer);

    s_free_copies(memory, n_memory);
    s_free_copies(streamed, n_streamed);
    s_free_copies(written, n_written);
    return 0;
}
