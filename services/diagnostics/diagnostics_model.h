/* diagnostics_model — the rules of diagnostics with no I/O: competence codes and the shipped default
 * frameworks, validation of instruments and answers, scoring (integers only, so thresholds are exact),
 * route generation (deterministic for the same inputs), route item transitions, overdue and closed
 * deficits. The service (diagnostics.c) loads and stores; everything it decides is decided here.
 *
 * Messages built here use protobuf-c's default allocator (protobuf_c_message_free_unpacked frees them).
 */
#ifndef METODNET_DIAGNOSTICS_MODEL_H
#define METODNET_DIAGNOSTICS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "diagnostics.pb-c.h"
#include "mentoring.pb-c.h"
#include "registry.pb-c.h"
#include "validate.h"

#define DIAG_CODE_MAX    32
#define DIAG_MAX_ITEMS   500
#define DIAG_MAX_OPTIONS 20

/* [a-z0-9_.-], 1..32 characters. */
bool diag_competence_code_valid(const char *code);

/* The shipped framework of category for region (version 0); caller frees. NULL for a bad category. */
Metodnet__CompetenceFramework *diag_default_framework(const char *region_id, Metodnet__FrameworkCategory category);
/* "<region>-teacher" / "<region>-manager" into out; false for a bad category. */
bool diag_framework_id(const char *region_id, Metodnet__FrameworkCategory category, char *out, size_t size);
/* Parses a framework id back; false when it is not one. */
bool diag_framework_parse_id(const char *id, char *region, size_t region_size, Metodnet__FrameworkCategory *category);
/* Components, codes unique and valid, names required. Paths under prefix ("framework"). */
void diag_framework_validate(const Metodnet__CompetenceFramework *fw, validation *v);
bool diag_framework_has(const Metodnet__CompetenceFramework *fw, const char *code);

/* Items, options, thresholds; every competence in fw when fw is non-NULL. */
void diag_instrument_validate(const Metodnet__Instrument *instrument, const Metodnet__CompetenceFramework *fw,
                              validation *v);
/* Maximum points of one item (derived for single choice and scale). */
int diag_item_max_points(const Metodnet__InstrumentItem *item);
/* Removes what a person taking the diagnostic may not see (option points, correct values). */
void diag_instrument_redact(Metodnet__Instrument *instrument);

/* Answers must name known items once each, with options of that item (exactly one for single choice),
 * or a value within the scale (an integer) / a finite number. field is the JSON path prefix
 * ("answers"). */
void diag_answers_validate(const Metodnet__Instrument *instrument, Metodnet__Answer *const *answers, size_t n,
                           const char *field, validation *v);

/* Scores valid answers (unanswered items score 0) into a new Result with scores ordered by competence
 * code, deficits and strengths. Caller frees. */
Metodnet__Result *diag_score(const Metodnet__Instrument *instrument, Metodnet__Answer *const *answers, size_t n);
/* Fills deficit/strength/percent of a score from points, max_points and the percents (also for imports). */
void diag_score_classify(Metodnet__CompetenceScore *score);
/* Rebuilds result->deficits and ->strengths from result->scores. */
void diag_result_collect(Metodnet__Result *result);
/* Threshold and mastery percent of a competence in instrument. */
void diag_thresholds_of(const Metodnet__Instrument *instrument, const char *competence, int *threshold, int *mastery);

/* ---------- routes ---------- */

typedef struct {
    const Metodnet__Result *result;         /* the latest result: its deficits */
    Metodnet__Programme *const *programmes; /* any order; those of no deficit are ignored */
    size_t n_programmes;
    Metodnet__Organization *const *sites; /* internship sites; any order */
    size_t n_sites;
    const char *home_municipality; /* sites of it come first; may be NULL */
    const char *starts_on;         /* YYYY-MM-DD base of due dates */
    size_t programmes_per_deficit; /* 0 = 2 */
} diag_route_input;

/* Fills route->deficits and route->items (replacing them; ids continue route->next_item) and sets
 * status draft, result_id, starts_on. Deterministic: the same input gives the same route. */
void diag_route_generate(Metodnet__Route *route, const diag_route_input *input);
/* The mentoring item of a route from the mentoring service's match (candidates best first): the first
 * candidate strong in one of the route's deficits is proposed as mentor for the first such deficit that
 * has no programme, internship or event item (else for the first deficit it covers), due 180 days after
 * starts_on. Nothing is added when no candidate covers a deficit or the route has a mentoring item.
 * Returns the item added or NULL. */
Metodnet__RouteItem *diag_route_propose_mentor(Metodnet__Route *route, Metodnet__MatchCandidate *const *candidates,
                                               size_t n, const char *starts_on);
/* planned → in_progress → done | cancelled; planned → done | cancelled as well. */
bool diag_route_transition_allowed(Metodnet__RouteItemStatus from, Metodnet__RouteItemStatus to);
/* overdue = not done/cancelled and due before today (days since 1970-01-01). */
void diag_route_flag_overdue(Metodnet__Route *route, int today);
/* Marks each route deficit closed or not by result, when the result is newer than the route's own. */
void diag_route_check_deficits(Metodnet__Route *route, const Metodnet__Result *result);
/* Item by id, NULL when none. */
Metodnet__RouteItem *diag_route_item(Metodnet__Route *route, const char *item_id);
/* Internship site now: an internship designation whose period holds today. */
bool diag_organization_is_internship_site(const Metodnet__Organization *org, int today);

/* ---------- issue 12: the route's period, lifecycle, confirmation, versions; the summary of deficits
 * (diagnostics_rules.c) ---------- */

#define DIAG_ROUTE_VERSIONS_MAX 20 /* previous versions kept with a route; the oldest goes first */

typedef enum { DIAG_ROUTE_EDIT, DIAG_ROUTE_PROPOSE, DIAG_ROUTE_AGREE, DIAG_ROUTE_APPROVE } diag_route_step;

/* The default end of a route's period: starts_on + 1 year − 1 day into out; false for a bad date. */
bool diag_route_period_end(const char *starts_on, char *out, size_t size);
/* Whether a done item waits for a confirmation before its qualification record (programme items). */
bool diag_route_item_needs_confirmation(const Metodnet__RouteItem *item);
/* The Russian refusal of step from status from (by_person: the caller is the route's person); NULL when
 * allowed. Edit: not approved. Propose: draft. Agree: proposed, by the person. Approve: agreed or draft
 * (the approval without a recorded agreement, as before proposals existed), not proposed. */
const char *diag_route_lifecycle_refusal(Metodnet__RouteStatus from, diag_route_step step, bool by_person);
/* The status after an allowed step: edit → draft; propose → proposed (by the person: agreed); agree →
 * agreed; approve → approved. */
Metodnet__RouteStatus diag_route_after_step(Metodnet__RouteStatus from, diag_route_step step, bool by_person);
/* Clears proposed_by/at and agreed_by/at (an edit or a regeneration asks for the agreement again). */
void diag_route_clear_agreement(Metodnet__Route *route);
/* Frees route->versions and empties the list. */
void diag_route_strip_versions(Metodnet__Route *route);
/* Puts previous (a copy without its versions) first in route->versions with at and by; keeps at most
 * DIAG_ROUTE_VERSIONS_MAX, dropping the oldest. */
void diag_route_push_version(Metodnet__Route *route, const Metodnet__Route *previous, const char *at, const char *by);
/* Counts one person's result into s: overall, under each of their organizations once, under each of
 * their subjects once ("" when none recorded); each deficit once per person. */
void diag_deficit_summary_add(Metodnet__DeficitSummary *s, const Metodnet__Result *r, char *const *subjects,
                              size_t n_subjects);
/* Ranks every list of counts (most people first, then code), sets the percents (of the group's people,
 * to 0.1), orders the groups by organization id and subject. */
void diag_deficit_summary_finish(Metodnet__DeficitSummary *s);

/* "07-c3" + "07-s12" → "07-c3-s12"; false when the ids are not of that shape. */
bool diag_attempt_id(const char *campaign_id, const char *staff_id, char *out, size_t size);
/* The reverse: campaign and staff id of an attempt id. */
bool diag_attempt_parse(const char *attempt_id, char *campaign, size_t campaign_size, char *staff, size_t staff_size);

/* Heap copy (abort on out of memory). */
char *diag_strdup(const char *s);
/* Replaces a string field of an unpacked or built message (never frees protobuf-c's shared "" ). */
void diag_set_string(char **field, const char *value);
void diag_days_to_date(int days, char *out, size_t size);

#endif
