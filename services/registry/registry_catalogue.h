/* registry_catalogue — the registry's catalogue kinds: associations and their memberships,
 * methodological councils and their meetings, the programme catalogue (ДПП), qualification records and
 * the bank of effective practices. Described as entity_kind descriptors like the territory kinds, so the
 * one flow of common/entity_kind.c serves them (the kinds live in registry_associations.c,
 * registry_councils.c, registry_programmes.c and registry_practices.c).
 *
 * Key layout (R = region):
 *   reg:{r:R}:assoc:<id>        association "07-a3"   ix:assoc, ix:assoc:mun:<m>, ix:assoc:org:<o> (by name)
 *   reg:{r:R}:member:<id>       membership "07-j5"    ix:member, ix:member:assoc:<a>, ix:member:staff:<s> ("<joined_on>\x1f<id>"),
 *                                                      claim:member:associationStaff "<a>:<s>" (while not left)
 *   reg:{r:R}:council:<id>      council "07-c2"       ix:council, ix:council:mun:<m>, ix:council:org:<o>
 *   reg:{r:R}:meeting:<id>      meeting "07-k4"       ix:meeting, ix:meeting:council:<c> ("<held_on>\x1f<id>")
 *   reg:{r:R}:programme:<id>    programme "07-p3"     ix:programme (title), ix:programme:word (title words)
 *   reg:{r:R}:qual:<id>         qualification "07-q9" ix:qual, ix:qual:staff:<s>, ix:qual:prog:<p> ("<completed_on>\x1f<id>"),
 *                                                      claim:qual:routeItemId <route item> (one record per item)
 *   reg:{r:R}:practice:<id>     practice "07-e6"      ix:practice (title), ix:practice:word, ix:practice:org:<o>,
 *                                                      ix:practice:author:<s>
 *
 * Scope: associations and councils live at a home (organization, municipality or region). Their readers
 * are those of the home (scope_allows READ); their writers are those who may write in the home, where a
 * municipal methodologist also writes the municipality's own associations and council (which
 * scope_allows refuses for the municipality record itself). Memberships and meetings follow their
 * association or council; a person also reads their own memberships. The programme catalogue is read by
 * everyone of the region and written by the region's administrators. Qualification records follow the
 * staff member (person scope reads own, does not write). Practices: published ones are read by everyone
 * of the region; others by the author and those above them; review by region administrators and
 * municipal methodologists in scope.
 */
#ifndef METODNET_REGISTRY_CATALOGUE_H
#define METODNET_REGISTRY_CATALOGUE_H

#include "registry_kinds.h"

extern const registry_kind registry_association_kind;
extern const registry_kind registry_membership_kind;
extern const registry_kind registry_council_kind;
extern const registry_kind registry_meeting_kind;
extern const registry_kind registry_programme_kind;
extern const registry_kind registry_qualification_kind;
extern const registry_kind registry_practice_kind;
extern const registry_kind registry_help_request_kind; /* registry_help.c */
extern const registry_kind registry_consultation_kind;
extern const registry_kind registry_decision_kind; /* registry_decisions.c */

/* Memberships of an association whose home encloses the caller's scope without lying in it (a school
 * reading a municipal or regional association, a methodologist reading a regional one) show the
 * caller only the people it may read (docs/security.md): true when a membership the caller may read
 * by its association (registry_allows) is shown only if the caller may also read the staff member
 * (m is an AssociationMembership). False for the caller's own membership and for callers whose scope
 * covers the association's home. */
bool registry_membership_needs_person(const Metodnet__Principal *caller, const ProtobufCMessage *m);

#define REGISTRY_MAX_WORDS 16

/* Claim fields of the catalogue (the claims hashes reg:{r:R}:claim:<kind>:<field>, value → owner id):
 * one open membership per association and person ("<association>:<staff>"), one qualification
 * record per route item. */
#define REGISTRY_OPEN_MEMBERSHIP_CLAIM "associationStaff"
#define REGISTRY_ROUTE_ITEM_CLAIM      "routeItemId"

/* Distinct folded words of text (Latin and Cyrillic letters and digits, ≥ 2 characters), at most REGISTRY_MAX_WORDS, sorted;
 * each NUL-terminated in words[i] (64 bytes). Returns the count. */
size_t registry_words(const char *text, char words[][64], size_t max);

/* True when every word of the folded query is a prefix of some word of text. */
bool registry_text_matches(const char *text, const char *q);

/* For a word-index search with prefix p: true when the entity (title text, id) is met in this page for
 * the first time, i.e. its first title word starting with p sorts after the page start after_member. */
bool registry_word_first_seen(const char *text, const char *id, const char *prefix, const char *after_member);

/* The longest word of the folded query (the word-index prefix), into out. */
void registry_query_key(const char *q, char *out, size_t size);

/* A competence code of the diagnostics framework: [a-z0-9_.-], 1..32 characters. */
bool registry_code_valid(const char *code);

/* An http(s) URL: scheme, a host, no blanks or control characters, at most max bytes. */
bool registry_url_valid(const char *url, size_t max);

#endif
