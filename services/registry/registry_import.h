/* registry_import — CSV import and export of organizations and staff members (docs/import.md).
 *
 * Import (ImportOrganizations / ImportStaff, ImportRequest → ImportReport): the whole file is read
 * and every row turned into an entity first (a broken file stores nothing); each row is then
 * validated exactly as the API create/update (registry_kinds validate, scope on the object) and
 * upserted by its external id — created when the region has no entity with that id, updated when the
 * stored one differs in a column of the file, counted unchanged otherwise. Each row is one atomic
 * entity_store write that claims the external id, so a rejected row changes nothing and two writers
 * never create the same external id twice. Dry run: the same checks, no write.
 *
 * Export (ExportOrganizations / ExportStaff and Export<Plural> of every other list): registry.c walks
 * the list pages with the list's own filters and scope and hands every visible entity to a
 * registry_export, which writes organizations and staff in the import format (so an export imports
 * back unchanged) and every other kind one column per field (registry_csv.h).
 */
#ifndef METODNET_REGISTRY_IMPORT_H
#define METODNET_REGISTRY_IMPORT_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "audit.h"
#include "registry_import.pb-c.h"
#include "entity_store.h"
#include "registry_claim_guard.h"
#include "registry_kinds.h"
#include "service_worker.h"

#define REGISTRY_IMPORT_MAX_ROWS   50000  /* per request; metodctl sends ~2000 a request */
#define REGISTRY_IMPORT_MAX_ERRORS 1000   /* errors listed in one report */
#define REGISTRY_EXPORT_MAX_ROWS   100000 /* per export; more asks for narrower filters */

/* Runs an import of kind (organization or staff) for call; answers the call when done. store, audit
 * and guard are borrowed and must outlive the call. A row whose external id a record outside the
 * caller's scope holds is refused with REGISTRY_EXTERNAL_ID_TAKEN_RU, audited and counted by guard; a
 * caller over its limit is answered TOO_MANY_REQUESTS, and a file that reaches the limit gets
 * REGISTRY_CLAIM_LIMIT_RU for each of its remaining rows. */
void registry_import_run(service_call *call, const ProtobufCMessage *request, entity_store *store, audit *audit,
                         registry_claim_guard *guard, const registry_kind *kind);

/* The checks an import makes before it reads the store, on their own (tests, tools): the header against
 * the kind's columns (Russian or English, any case), every record into a draft entity (dates to
 * YYYY-MM-DD, enum words and subject names to codes; cell errors reject the row), missing and repeated
 * external ids. References (organizations of a staff row, the municipality of an organization row)
 * are kept as written, unresolved. Errors are sorted by row, those of a row in the order found. */
typedef struct registry_import_sheet registry_import_sheet;

/* Reads csv (borrowed) as an import of kind would. NULL only when out of memory. */
registry_import_sheet *registry_import_sheet_read(const registry_kind *kind, const uint8_t *csv, size_t len);
void registry_import_sheet_destroy(registry_import_sheet **sheet);
/* The file as a whole is refused (empty, broken CSV, a header problem, too many rows): one error. */
bool registry_import_sheet_refused(const registry_import_sheet *sheet);
/* Data rows read. */
size_t registry_import_sheet_rows(const registry_import_sheet *sheet);
/* The draft of data row i (0-based; borrowed), its spreadsheet row and whether it is rejected; NULL past
 * the end. */
const ProtobufCMessage *registry_import_sheet_row(const registry_import_sheet *sheet, size_t i, size_t *row,
                                                  bool *rejected);
/* Reference k of data row i as written; NULL past the last. */
const char *registry_import_sheet_ref(const registry_import_sheet *sheet, size_t i, size_t k);
size_t registry_import_sheet_errors(const registry_import_sheet *sheet);
/* Error i (borrowed); NULL past the end. */
const Metodnet__ImportError *registry_import_sheet_error(const registry_import_sheet *sheet, size_t i);

/* Answers call with the template of kind: the header and one example row (CsvFile). */
void registry_import_template(service_call *call, const registry_kind *kind);

typedef struct registry_export registry_export;

registry_export *registry_export_new(service_call *call, entity_store *store, const registry_kind *kind);
/* Takes ownership of entity (already scope-checked and redacted). false when the row bound is reached. */
bool registry_export_add(registry_export *e, ProtobufCMessage *entity);
/* Writes the CSV and answers the call (staff: after reading their organizations' external ids);
 * frees e. */
void registry_export_finish(registry_export *e);
/* Answers the call with an error and frees e. */
void registry_export_fail(registry_export *e, Metodnet__StatusCode code, const char *message_ru);

#endif
