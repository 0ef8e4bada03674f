/* diagnostics_import — the file side of importing results from an external diagnostic centre
 * (docs/import.md, «Результаты диагностики»): reading the CSV into rows of per-competence scores,
 * the template, and turning a row into a Result classified with the instrument's own thresholds.
 * No I/O: the service (diagnostics_results_import.c) resolves people through the registry, checks scope and stores.
 *
 * Columns (headers case-insensitive, Russian or the API word):
 *   «Код сотрудника» / staffId       the platform's id, "07-s12"     } at least one of the two
 *   «Внешний идентификатор» / externalId  СНИЛС or the region's id    } columns; a row fills one
 *   «Дата» / date                    ДД.ММ.ГГГГ or ГГГГ-ММ-ДД, required
 *   «ФИО» / fullName                 for the reader only, ignored
 *   one column per competence code of the instrument ("t.subject.1"): a percent (0–100, at most one
 *   decimal, comma or point, optional "%"), or points as "17/20" (points of maximum); empty = the
 *   competence was not assessed. A row needs at least one score.
 * An unknown or repeated column, no person column, no date column or no competence column rejects
 * the whole file, as does a broken CSV.
 *
 * Scores are kept as integers so thresholds stay exact: a percent p is stored as points = 10·p of
 * max_points = 1000; "17/20" as 17 of 20.
 */
#ifndef METODNET_DIAGNOSTICS_IMPORT_H
#define METODNET_DIAGNOSTICS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "diagnostics.pb-c.h"
#include "diagnostics_model.h"

#define DIAG_IMPORT_MAX_ROWS           20000
#define DIAG_IMPORT_MAX_ERRORS         1000
#define DIAG_IMPORT_PERCENT_MAX_POINTS 1000

typedef struct {
    char competence[DIAG_CODE_MAX + 1];
    int points;
    int max_points;
} diag_import_score;

typedef struct {
    size_t row;                /* spreadsheet row (header = 1) */
    char *staff_id;            /* as written ("" when the cell or column is absent); owned */
    char *external_id;         /* owned */
    int date;                  /* days since 1970-01-01 */
    diag_import_score *scores; /* in the instrument's competence order (by code) */
    size_t n_scores;
    bool rejected;
} diag_import_row;

typedef struct {
    size_t row;
    char *column;  /* the header as written in the file; "" for the whole row */
    char *message; /* Russian */
} diag_import_error;

typedef struct {
    diag_import_row *rows;
    size_t n_rows;
    diag_import_error *errors;
    size_t n_errors, cap_errors;
    bool errors_truncated;
    bool file_rejected;     /* nothing of the file can be taken: errors say why */
    char staff_header[128]; /* headers as written, for error columns */
    char external_header[128];
    char date_header[128];
} diag_import_sheet;

/* Reads csv (len bytes, any encoding csv.h knows) against the competences of instrument; dates must
 * lie in first_day..last_day (days since 1970-01-01). Rows with cell errors are kept, rejected, with
 * their errors; a file that cannot be taken sets file_rejected. sheet is zeroed first; free it with
 * diag_import_sheet_free(). */
void diag_import_read(diag_import_sheet *sheet, const char *csv, size_t len, const Metodnet__Instrument *instrument,
                      int first_day, int last_day);
void diag_import_sheet_free(diag_import_sheet *sheet);

/* Adds an error (kept up to DIAG_IMPORT_MAX_ERRORS; then errors_truncated). */
void diag_import_error_add(diag_import_sheet *sheet, size_t row, const char *column, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
/* Errors ordered by row (stable). */
void diag_import_errors_sort(diag_import_sheet *sheet);

/* The sorted distinct competence codes of instrument's items into codes (borrowed from instrument);
 * returns the count (≤ max). */
size_t diag_import_competences(const Metodnet__Instrument *instrument, const char **codes, size_t max);

/* A new Result of row's scores, each classified with instrument's threshold and mastery, deficits and
 * strengths collected; completed_at is the row's date at 00:00 UTC, source "import". Identity fields
 * (id, staff, campaign, …) are left for the caller. Caller frees. */
Metodnet__Result *diag_import_result(const Metodnet__Instrument *instrument, const diag_import_row *row);

/* True when a and b hold the same scores (competence, points, maximum) and the same completion time. */
bool diag_import_same(const Metodnet__Result *a, const Metodnet__Result *b);

/* The template of instrument: header and one example row; UTF-8 with BOM, ';'. Caller frees; *len set. */
char *diag_import_template(const Metodnet__Instrument *instrument, size_t *len);

#endif
