/* registry_csv — a CSV sheet of any registry entity, driven by its protobuf descriptor (the export of
 * the lists that have no import format: municipalities, associations, memberships, councils, council
 * meetings, programmes, qualification records, practices).
 *
 * One column per field of the entity, in descriptor order. The header is the field's Russian title
 * from a small per-kind table (common fields such as id, regionId share one), else its JSON name.
 * Cells: strings as they are (dates "YYYY-MM-DD" of fields named *_on / *_date / held_on as
 * DD.MM.YYYY, subject codes as subject names); numbers in decimal; bools «да»/«нет»; enums as their API
 * words (pbjson); repeated values joined with ", "; sub-messages (agenda, reviews, sites) as compact JSON
 * (a repeated one as a JSON array).
 */
#ifndef METODNET_REGISTRY_CSV_H
#define METODNET_REGISTRY_CSV_H

#include <protobuf-c/protobuf-c.h>

#include "csv.h"

/* Writes the header row for entities of desc. */
void registry_csv_header(csv_writer *w, const ProtobufCMessageDescriptor *desc);
/* Writes one row for msg. */
void registry_csv_row(csv_writer *w, const ProtobufCMessage *msg);
/* The Russian title of field (borrowed), NULL when the table has none. */
const char *registry_csv_title(const ProtobufCMessageDescriptor *desc, const char *field);
/* File name of an export of entities of desc ("councils.csv"); "export.csv" for an unknown one. */
const char *registry_csv_filename(const ProtobufCMessageDescriptor *desc);

#endif
