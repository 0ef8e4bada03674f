/* registry_import_internal — what the parts of the registry's CSV import and export share (not a
 * public API: that is registry_import.h). The parts: registry_import_columns.c (the columns of the
 * import format, reading cells, a small string → index map), registry_import.c (the import job:
 * reading the file into rows, the entry, finishing, the sheet checks on their own),
 * registry_import_rows.c (which external ids exist, references, processing rows against the store),
 * registry_export.c (the template and the export).
 */
#ifndef METODNET_REGISTRY_IMPORT_INTERNAL_H
#define METODNET_REGISTRY_IMPORT_INTERNAL_H

#include "registry_import.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "csv.h"
#include "cursor.h"
#include "dictionary.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_csv.h"
#include "registry.pb-c.h"
#include "registry_import.pb-c.h"
#include "validate.h"

#define IMPORT_WINDOW       64   /* rows in flight */
#define IMPORT_CLAIMS_BATCH 5000 /* values per HMGET */
#define IMPORT_MAX_REFS     20   /* references in one cell */

/* ---------- columns ---------- */

typedef enum { COL_TEXT, COL_DATE, COL_BOOL, COL_ENUM, COL_SUBJECTS, COL_ORGANIZATIONS, COL_MUNICIPALITY } col_type;

/* Words of an enum value: words[0] is what export writes; every word is accepted on import, as is the
 * API's own word ("teacher"). */
typedef struct {
    int value;
    const char *words[5];
} enum_words;

typedef struct {
    const char *field;     /* proto name in the entity */
    const char *json;      /* JSON name, as validation reports it */
    const char *header_ru; /* the template's header */
    const char *aliases[4];
    col_type type;
    const ProtobufCEnumDescriptor *enum_desc;
    const enum_words *words;
    bool required; /* the column must be in the file */
    const char *example;
} column;

#define IMPORT_MAX_COLUMNS 16

/* A small string → index map (open addressing; keys borrowed). */
typedef struct {
    char **keys;
    size_t *values;
    size_t cap, n;
} import_map;

/* ---------- the import job ---------- */

typedef struct {
    size_t row;
    ProtobufCMessage *draft;
    char *refs[IMPORT_MAX_REFS]; /* organizations (staff) or the municipality (organization) as written */
    size_t n_refs;
    char *existing_id; /* the entity holding this external id, if any */
    bool rejected;
    bool duplicate_reported;
} import_row;

typedef struct {
    char *ref;
    char *id;              /* resolved entity id, NULL = not found */
    char *municipality_id; /* organizations: theirs */
    bool visible;
} import_ref;

typedef struct {
    service_call *call;
    entity_store *store;
    audit *audit;
    const registry_kind *kind;
    bool dry_run;
    char region[8];
    const column *columns;
    size_t n_columns;
    int col_index[IMPORT_MAX_COLUMNS]; /* CSV column of each column, -1 when absent */
    char *headers[IMPORT_MAX_COLUMNS]; /* the header as written in the file */
    import_row *rows;
    size_t n_rows, cap_rows;
    import_ref *refs;
    size_t n_refs, cap_refs;
    import_map ref_map;
    /* municipalities of the region (organization import): id and folded name → index */
    char **mun_ids;
    size_t n_muns, cap_muns;
    import_map mun_map;
    char **mun_names; /* folded, owned; ambiguous names map to SIZE_MAX */
    char mun_after[CURSOR_MAX_MEMBER + 1];
    /* progress */
    int created, updated, unchanged, rejected;
    Metodnet__ImportError **errors;
    size_t n_errors, cap_errors;
    bool errors_truncated;
    size_t stage_pending;
    size_t next_row, in_flight;
    bool pumping, finished, store_failed;
    bool file_refused; /* the file as a whole: a header problem, broken CSV, too many rows */
    size_t claims_done;
    /* external ids held outside the caller's scope (registry_claim_guard.h): refusals this file may
     * still answer, answered, and rows in flight that might become one */
    registry_claim_guard *guard;
    const Metodnet__ImportRequest *request; /* owned by the call */
    int refusals_left, refused, refusals_reserved;
} import_job;

/* ---------- registry_import_columns.c: the columns, cells, and a small string → index map ---------- */

/* Blanks a cell may carry around its text: spaces, tabs and line breaks (Alt+Enter in Excel). */
bool registry_import_blank(char c);

/* The columns of kind (staff or organization) and their count n. Static table. */
const column *registry_import_columns(const registry_kind *kind, size_t *n);

/* The word export writes for value in column c; "" when none. */
const char *registry_import_enum_word(const column *c, int value);

/* Folds a cell for comparison: blanks trimmed, then text_fold. */
void registry_import_fold(const char *in, char *out, size_t size);

/* FNV-1a hash of s (the map's). */
uint64_t registry_import_hash(const char *s);

/* Whether a folded header names column c (its Russian header, field or an alias). */
bool registry_import_header_matches(const column *c, const char *folded);

/* Frees the map's tables (not the keys, which are borrowed). */
void registry_import_map_free(import_map *m);

/* Finds key; its value into *value. false when absent. */
bool registry_import_map_get(const import_map *m, const char *key, size_t *value);

/* Finds key; inserts it (borrowed, must outlive the map) with value when absent. Returns the stored value. */
size_t registry_import_map_put(import_map *m, const char *key, size_t value);

/* "14.03.1991" → "1991-03-14"; anything else is kept for validate_date to judge. */
void registry_import_normalize_date(const char *value, char *out, size_t size);

/* A yes/no cell (да/нет, true/false, 1/0, +/-, blank = no) into *out; false for anything else. */
bool registry_import_parse_bool(const char *value, bool *out);

/* A cell of enum column c (its words, or the API word) into *out; false when none matches. */
bool registry_import_parse_enum(const column *c, const char *value, int *out);

/* Splits a cell on ',', ';' and line breaks into trimmed non-empty parts (copies); returns the count
 * or -1 when there are more than max. */
int registry_import_split(const char *value, char **parts, size_t max);

/* The subject code of a cell (a code or a subject name); NULL when none. Static. */
const char *registry_import_subject_code(const char *value);

/* ---------- registry_import.c: the job, reading rows, finishing ---------- */

/* Adds an error of row (spreadsheet row) and column (its header) to the report; past REGISTRY_IMPORT_MAX_ERRORS it only marks the report truncated. */
void registry_import_add_error(import_job *job, size_t row, const char *column, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Answers the call with the report and frees job. */
void registry_import_finish(import_job *job);

/* The value of the enum or bool field of msg; 0 when msg has no such field. */
int registry_import_get_enum(const ProtobufCMessage *msg, const char *field);

/* The file's header of the column with this proto field (or the template's when absent). */
const char *registry_import_header_of(const import_job *job, const char *field);

/* Frees job and everything it owns (not the call). */
void registry_import_job_free(import_job *job);

/* Whether the file has the column of the proto field. */
bool registry_import_present(const import_job *job, const char *field);

/* Marks row rejected (counted once). */
void registry_import_reject(import_job *job, import_row *row);

/* Adds the violations of v as errors of row, under the file's headers, and rejects it. */
void registry_import_reject_validation(import_job *job, import_row *row, const validation *v);

/* Message of UNAVAILABLE during an import. */
extern const char *const registry_import_unavailable_ru;

/* ---------- registry_import_rows.c: processing rows, existing external ids, references ---------- */

/* Looks up which external ids of the rows the region already has, in batches of IMPORT_CLAIMS_BATCH, then processes the rows. */
void registry_import_claims_batch(import_job *job);

/* Reads the region's municipalities page by page (organization import), then looks up the rows' external ids. */
void registry_import_municipalities_page(import_job *job);

/* entity_store_claim_owners callback for the external ids of the organizations the rows reference (staff import). */
void registry_import_on_org_claims(entity_result result, const char *const *owners, size_t n, const char *error,
                                   void *ud);

#endif
