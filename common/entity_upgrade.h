/* entity_upgrade — brings the records of one kind in one region, as an older version stored them, to
 * today's form: each record of the kind's main index is read page by page, given to the kind's
 * upgrade hook, and when the hook changed it, written back through entity_kind_save (the next version,
 * its indexes and tokens laid out again from the upgraded record, the domain event "<name>.updated"
 * without an actor, so every consumer of the stream sees the change). The write checks the version it
 * read: a record changed meanwhile by someone else is counted, not overwritten (run again).
 *
 * Used by one-off migrations (`metodnet-registry migrate-records`), not by the services' own flows.
 * A dry run reads and counts what would change and writes nothing. */
#ifndef METODNET_ENTITY_UPGRADE_H
#define METODNET_ENTITY_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "entity_kind.h"

#define ENTITY_UPGRADE_PAGE 200

typedef struct {
    size_t examined; /* records read */
    size_t upgraded; /* changed by the hook (written unless a dry run) */
    size_t raced;    /* changed by someone else between the read and the write: left for the next run */
    size_t refused;  /* the store refused the write (a reference since deleted, a value taken): logged */
    size_t corrupt;  /* stored bytes that do not decode: left as they are, their keys logged */
} entity_upgrade_counts;

/* Called once: error NULL when the walk ended (counts final), else why it stopped (Russian; counts so
 * far). progress, when not NULL, is called after each page with the counts so far. */
typedef void (*entity_upgrade_done_cb)(const entity_upgrade_counts *counts, const char *error, void *ud);
typedef void (*entity_upgrade_progress_cb)(const entity_upgrade_counts *counts, void *ud);

/* Walks kind's records in region (ignored for a global kind). kind->upgrade must be set. Returns 0, or
 * -1 with done not called (no hook, out of memory). */
int entity_upgrade_kind(entity_store *store, const entity_kind *kind, const char *region, bool dry_run,
                        entity_upgrade_progress_cb progress, entity_upgrade_done_cb done, void *ud);

#endif
