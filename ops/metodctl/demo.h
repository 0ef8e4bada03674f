/* demo — deterministic demo datasets for metodnet in the import format (docs/import.md): a district
 * (Терский район: 24 organizations, 619 teachers, 252 preschool educators, ~70 managers), a large
 * region (~60 municipalities, ~1,500 organizations, ~40,000 staff) and a national-scale file for
 * benchmarks (~2,500 municipalities, ~40,000 schools, ~1.1 million staff). The same seed gives the
 * same bytes. Files are written streaming (nothing held in memory but one row).
 */
#ifndef METODCTL_DEMO_H
#define METODCTL_DEMO_H

#include <stdint.h>
#include <stdio.h>

typedef enum { DEMO_DISTRICT, DEMO_REGION, DEMO_NATIONAL } demo_scale;

typedef struct {
    demo_scale scale;
    uint64_t seed;
    const char *region_id; /* "07" */
} demo_options;

/* Municipality i (0-based) of the dataset: its name; count via demo_municipalities(). */
size_t demo_municipalities(const demo_options *o);
void demo_municipality_name(const demo_options *o, size_t i, char *out, size_t size);
/* Municipality kind word of the API ("district", "city", "zato"). */
const char *demo_municipality_kind(const demo_options *o, size_t i);

/* Writes the organizations / staff files (UTF-8 BOM, ';'). Returns rows written, or -1 on a write error. */
long demo_write_organizations(const demo_options *o, FILE *out);
long demo_write_staff(const demo_options *o, FILE *out);

#endif
