/* entity_layout — everything the store needs about one state of an entity besides its bytes: the
 * index entries it appears in, its attribute tokens ("|cat:teacher|mun:07-m1|", for list filters),
 * the records that must exist for it to be written (references), the indexes that must be empty for
 * it to be deleted (guards), and the unique values it claims (an external id, one open membership of
 * a person in an association, one qualification record per route item, a login).
 *
 * Memory grows with the record: strings live in chained blocks that never move, arrays double. A
 * state past ENTITY_LAYOUT_MAX_ENTRIES entries of one sort, or with a string past ENTITY_LAYOUT_MAX_TEXT
 * bytes, is refused loudly: entity_layout_error() says what, and the engine writes nothing (nothing is
 * ever dropped silently).
 *
 * Index members are "<sort key>\x1f<id>" (see entity_store.h); entity_layout_sort_member() makes one.
 */
#ifndef METODNET_ENTITY_LAYOUT_H
#define METODNET_ENTITY_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "entity_store.h"

#define ENTITY_LAYOUT_MAX_ENTRIES 4096
#define ENTITY_LAYOUT_MAX_TEXT    4096

typedef struct entity_layout_block entity_layout_block;

typedef struct {
    const char *key;
    const char *field; /* JSON path named in the violation when it is missing */
} entity_reference_entry;

typedef struct {
    const char *key;   /* the claims hash */
    const char *field; /* what is unique, for messages and audit ("externalId") */
    const char *value;
} entity_claim_entry;

typedef struct {
    entity_layout_block *blocks;
    entity_index_entry *indexes;
    size_t n_indexes, cap_indexes;
    entity_reference_entry *references;
    size_t n_references, cap_references;
    const char **guards;
    size_t n_guards, cap_guards;
    entity_claim_entry *claims;
    size_t n_claims, cap_claims;
    char *attributes; /* "|name:value|…|", "" when none */
    size_t attributes_len, attributes_cap;
    char error[160]; /* "" while every addition fitted */
} entity_layout;

void entity_layout_init(entity_layout *layout);
/* Frees what the layout holds and leaves it empty (init'ed) again. */
void entity_layout_clear(entity_layout *layout);

/* Adds the entry member of the index whose key is printf(key_format, ...). */
void entity_layout_index(entity_layout *layout, const char *member, const char *key_format, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends the attribute token "name:value|" (value NULL = ""). '|' in value is replaced by '/'. */
void entity_layout_token(entity_layout *layout, const char *name, const char *value);
/* The record under printf(key_format, ...) must exist; field names it in the violation. */
void entity_layout_reference(entity_layout *layout, const char *field, const char *key_format, ...)
    __attribute__((format(printf, 3, 4)));
/* The index printf(key_format, ...) must be empty for the entity to be deleted. */
void entity_layout_guard(entity_layout *layout, const char *key_format, ...) __attribute__((format(printf, 2, 3)));
/* The entity claims value (unique within the hash printf(key_format, ...)); "" or NULL value = none. */
void entity_layout_claim(entity_layout *layout, const char *field, const char *value, const char *key_format, ...)
    __attribute__((format(printf, 4, 5)));

/* NULL while every addition fitted, else what did not (the state must not be written). */
const char *entity_layout_error(const entity_layout *layout);

/* "<sort text>\x1f<id>" into out: lists come out in alphabetical order and a name prefix is a range. */
void entity_layout_sort_member(char *out, size_t size, const char *text, const char *id);
/* Index text from folded text (text_fold), in place: every lowercase Cyrillic letter а..я (two bytes in
 * UTF-8) becomes one byte 0x80..0x9f in the same order, \x1f becomes a space; everything else stays.
 * A Russian name takes half the bytes and sorts as before. Every index member's text is made this way
 * (ops/migrate/sort_text.lua rewrites members stored before it, with the same rule). */
void entity_sort_collate(char *folded);
/* The index text of a search query (text_fold, then entity_sort_collate) into out: a range prefix. */
void entity_sort_prefix(const char *query, char *out, size_t size);

/* Index entries of from that than (may be NULL) lacks; out needs from->n_indexes entries. Entries
 * borrow from the layouts. */
size_t entity_layout_index_difference(const entity_layout *from, const entity_layout *than, entity_index_entry *out);
/* The claims a write from old_layout (NULL: create) to new_layout (NULL: delete) of entity id makes
 * and gives up: claims needs new_layout->n_claims entries, releases old_layout->n_claims; entries
 * borrow from the layouts. */
void entity_layout_claims(const entity_layout *old_layout, const entity_layout *new_layout, const char *id,
                          entity_claim *claims, size_t *n_claims, entity_claim *releases, size_t *n_releases);

#endif
