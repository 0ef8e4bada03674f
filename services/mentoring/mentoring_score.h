/* mentoring_score — the matching score of a mentor for a mentee, pure (no I/O), from what the flows
 * gathered: the people's competences as bit sets of interned codes (strong, in deficit, percent), their
 * subjects as a bit set, organizations and municipalities as interned numbers, start in the profession,
 * the mentor's certification, limit and load.
 *
 * Parts, each a value in 0..1 times its weight (docs/mentoring.md; the defaults sum to 100):
 *   deficit     mean over the mentee's deficits: 1 where the mentor is strong (or offers the competence),
 *               0 where the mentor has the deficit too, else half the mentor's measured share
 *   subject     1 when they teach a common subject
 *   proximity   1 the same organization, 0.5 the same municipality, 0 the region
 *   certified   1 for a certified mentor (прошёл конкурсный отбор)
 *   capacity    free places / limit
 *   experience  the mentor's head start in the profession over the mentee, years / 10, at most 1
 * Ties are broken by the flows: certified first, then the staff id.
 */
#ifndef METODNET_MENTORING_SCORE_H
#define METODNET_MENTORING_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_MAX_COMPETENCES 64
#define MS_MAX_PLACES      2
#define MS_PERCENT_UNKNOWN 255

typedef struct {
    double deficit, subject, proximity, certified, capacity, experience;
} ms_weights;

typedef struct {
    int32_t orgs[MS_MAX_PLACES];
    int n_orgs;
    int32_t muns[MS_MAX_PLACES];
    int n_muns;
    uint64_t subjects;
    int start_days;   /* days since 1970 of the profession start; INT32_MIN unknown */
    uint64_t strong;  /* strengths of the latest diagnostic, or the competences the profile offers */
    uint64_t deficit; /* deficits of the latest diagnostic */
    uint8_t percent[MS_MAX_COMPETENCES];
    bool certified;
    int max_places;
    int load; /* open pairs (proposed or active) */
    bool available;
    bool manager;
} ms_person;

typedef struct {
    double deficit, subject, proximity, certified, capacity, experience;
    double total;
    uint64_t covered; /* the mentee's deficits the mentor is strong in */
} ms_parts;

void ms_weights_default(ms_weights *w);

/* Weights from text "deficit=50,subject=10,…" over the defaults (names not given keep theirs); false,
 * w unchanged, for an unknown name or a value outside 0..100. */
bool ms_weights_parse(const char *text, ms_weights *w);

/* Whether mentor may take mentee at all: another person, available, a free place, the same category. */
bool ms_eligible(const ms_person *mentee, const ms_person *mentor);

/* The score 0..Σweights with its parts into out (may be NULL). */
double ms_score(const ms_weights *w, const ms_person *mentee, const ms_person *mentor, ms_parts *out);

/* The Russian sentence of the parts: «сильная сторона в …, где у наставляемого дефицит; тот же предмет;
 * та же школа; сертифицированный наставник; свободно 2 места из 3». names[i] is competence i's name. */
void ms_explain(const ms_parts *parts, const ms_person *mentor, const char *const *names, char *out, size_t size);

#endif
