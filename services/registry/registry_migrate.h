/* registry_migrate — `metodnet-registry migrate-records [--dry-run]`: the registry's records as an older
 * version stored them brought to today's form (issue 12): an organization without a founder gets the
 * default one (registry_organization_default_founder), an association of the legacy kind
 * «network_community» becomes a professional community with the network flag and a single subject
 * becomes the subjects list, a staff member gets the next attestation's due date derived. Each
 * changed record is written through the entity engine (common/entity_upgrade.h): the next version,
 * indexes and tokens laid out again, a domain event for the stream's consumers (the indicators see a
 * founder as an update). Idempotent: a second run changes nothing. ./ops/up runs it before the services
 * start; it prints its progress per region and kind. */
#ifndef METODNET_REGISTRY_MIGRATE_H
#define METODNET_REGISTRY_MIGRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/* Exit codes of migrate-records. */
enum {
    REGISTRY_MIGRATE_DONE = 0,   /* every record is in today's form (or, dry run, nothing to change) */
    REGISTRY_MIGRATE_FAILED = 1, /* Redis unreachable or a write failed */
    REGISTRY_MIGRATE_USAGE = 2,
    REGISTRY_MIGRATE_LEFT = 3, /* records left: a dry run found some, or some raced, were refused or corrupt */
};

/* Runs the migration on its own loop against cfg's Redis; the report (Russian) goes to out. */
int registry_migrate_records(const config *cfg, bool dry_run, FILE *out);

#endif
