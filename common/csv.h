/* csv — reading and writing the spreadsheets people exchange with the registry (import/export).
 *
 * Reader: streaming, record by record, from memory or from a read function. The encoding is found
 * from the start of the input: a UTF-8 BOM, else valid UTF-8 in the first CSV_DETECT_BYTES, else
 * Windows-1251 (converted with iconv(3)). The delimiter is ';' or ',' — whichever occurs more often
 * outside quotes in the header line (';' on a tie or when neither occurs). Quoted fields may hold
 * the delimiter, doubled quotes and line breaks; lines end in CRLF or LF. Every field handed out is
 * valid UTF-8 without NUL. Limits: a field ≤ CSV_FIELD_MAX bytes, a record ≤ CSV_COLUMNS_MAX fields.
 * An error (broken quotes, a limit, bad UTF-8, a failed read) is final: it names the row and column
 * in Russian and every later call returns it again.
 *
 * Rows are numbered as a spreadsheet shows them: the header is row 1, the first data record row 2;
 * a record with a line break inside a quoted field is still one row. Blank lines are skipped but
 * counted, so row numbers stay those of the spreadsheet.
 *
 * Writer: UTF-8 with BOM, ';' delimiter, CRLF — what Excel in a Russian locale opens as is. A field
 * is quoted when it holds ';', '"', CR or LF (in the first row also ',', so that the delimiter is found
 * as ';' again) or starts/ends with a blank (quotes doubled). A field
 * starting with = + - @ (or TAB/CR) gets a leading apostrophe so a spreadsheet never runs it as a
 * formula (CSV injection); csv_unguard() removes it again on import. A value that already starts with
 * such an apostrophe ("'=x") gets one more, so every value reads back unchanged. A row of one empty
 * field is written as "" (a blank line would be skipped on reading).
 */
#ifndef METODNET_CSV_H
#define METODNET_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CSV_FIELD_MAX    (64 * 1024)
#define CSV_COLUMNS_MAX  200
#define CSV_DETECT_BYTES (1024 * 1024)

typedef enum {
    CSV_ENCODING_UTF8 = 0,
    CSV_ENCODING_UTF8_BOM,
    CSV_ENCODING_CP1251,
} csv_encoding;

typedef struct csv_reader csv_reader;

/* Reads up to size bytes into buf: returns the count, 0 at the end, -1 on an error. */
typedef ssize_t (*csv_read_fn)(void *ud, char *buf, size_t size);

/* A reader over len bytes at data (borrowed: must outlive the reader). Never NULL except on OOM. */
csv_reader *csv_reader_new_memory(const char *data, size_t len);
/* A reader pulling from read(ud, ...). Never NULL except on OOM. */
csv_reader *csv_reader_new(csv_read_fn read, void *ud);
void csv_reader_destroy(csv_reader **reader);

/* One record. fields[i] are NUL-terminated UTF-8, borrowed until the next call or destroy. */
typedef struct {
    char **fields;
    const size_t *lengths;
    size_t n;
    size_t row;  /* spreadsheet row (header = 1) */
    size_t line; /* physical line where the record starts (1-based) */
} csv_record;

/* Returns 1 with *record filled, 0 at the end of the input, -1 on an error (csv_reader_error). */
int csv_reader_next(csv_reader *reader, csv_record *record);

/* The Russian text of the error, "" when there is none. Borrowed. */
const char *csv_reader_error(const csv_reader *reader);
/* Row and column (1-based; 0 when unknown) of the error. */
size_t csv_reader_error_row(const csv_reader *reader);
size_t csv_reader_error_column(const csv_reader *reader);

/* Known after the first csv_reader_next(). */
csv_encoding csv_reader_encoding(const csv_reader *reader);
char csv_reader_delimiter(const csv_reader *reader);

/* A value as the writer guarded it ("'=1+2", "''=1+2") without its first apostrophe; others unchanged.
 * Borrowed. */
const char *csv_unguard(const char *value);

typedef struct csv_writer csv_writer;

/* Starts a document with the UTF-8 BOM. NULL on OOM. */
csv_writer *csv_writer_new(void);
void csv_writer_destroy(csv_writer **writer);
/* Appends one field of the current row (NULL = empty). */
void csv_writer_field(csv_writer *writer, const char *value);
/* Ends the current row (CRLF). */
void csv_writer_end_row(csv_writer *writer);
/* The document so far (borrowed). */
const char *csv_writer_data(const csv_writer *writer, size_t *len);
/* Bytes written so far. */
size_t csv_writer_size(const csv_writer *writer);

#endif
