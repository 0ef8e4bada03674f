/* entity_layout — the growing description of one entity state (contract in entity_layout.h). */
#include "entity_layout.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "xalloc.h"

#define S_BLOCK_MIN 1024

struct entity_layout_block {
    entity_layout_block *next;
    size_t used, size;
    char data[];
};

void entity_layout_init(entity_layout *layout)
{
    memset(layout, 0, sizeof *layout);
}

void entity_layout_clear(entity_layout *layout)
{
    entity_layout_block *b = layout->blocks;
    while (b) {
        entity_layout_block *next = b->next;
        free(b);
        b = next;
    }
    free(layout->indexes);
    free(layout->references);
    free(layout->guards);
    free(layout->claims);
    free(layout->attributes);
    entity_layout_init(layout);
}

static void s_fail(entity_layout *layout, const char *what)
{
    if (layout->error[0] == '\0')
        snprintf(layout->error, sizeof layout->error, "%s", what);
}

/* A copy of len bytes of text in the layout's blocks (never moved); NULL after a failure. */
static const char *s_keep(entity_layout *layout, const char *text, size_t len)
{
    if (len > ENTITY_LAYOUT_MAX_TEXT) {
        s_fail(layout, "строка раскладки длиннее предела");
        return NULL;
    }
    entity_layout_block *b = layout->blocks;
    if (b == NULL || b->size - b->used < len + 1) {
        size_t size = len + 1 > S_BLOCK_MIN ? len + 1 : S_BLOCK_MIN;
        b = xmalloc(sizeof *b + size);
        b->used = 0;
        b->size = size;
        b->next = layout->blocks;
        layout->blocks = b;
    }
    char *copy = b->data + b->used;
    memcpy(copy, text, len);
    copy[len] = '\0';
    b->used += len + 1;
    return copy;
}

static const char *s_keepv(entity_layout *layout, const char *format, va_list ap)
{
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(small, sizeof small, format, copy);
    va_end(copy);
    if (n < 0) {
        s_fail(layout, "ключ раскладки не сформирован");
        return NULL;
    }
    if ((size_t)n < sizeof small)
        return s_keep(layout, small, (size_t)n);
    if ((size_t)n > ENTITY_LAYOUT_MAX_TEXT) {
        s_fail(layout, "ключ раскладки длиннее предела");
        return NULL;
    }
    char *big = xmalloc((size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, format, ap);
    const char *kept = s_keep(layout, big, (size_t)n);
    free(big);
    return kept;
}

/* Room for one more element of an array that doubles; false (and the layout failed) past the limit. */
static bool s_grow(entity_layout *layout, void **items, size_t n, size_t *cap, size_t size, const char *what)
{
    if (n < *cap)
        return true;
    if (n >= ENTITY_LAYOUT_MAX_ENTRIES) {
        char message[160];
        snprintf(message, sizeof message, "больше %d записей раскладки (%s)", ENTITY_LAYOUT_MAX_ENTRIES, what);
        s_fail(layout, message);
        return false;
    }
    size_t grown = *cap ? *cap * 2 : 8;
    *items = xrealloc(*items, grown * size);
    *cap = grown;
    return true;
}

void entity_layout_index(entity_layout *layout, const char *member, const char *key_format, ...)
{
    va_list ap;
    va_start(ap, key_format);
    const char *key = s_keepv(layout, key_format, ap);
    va_end(ap);
    const char *kept = member ? s_keep(layout, member, strlen(member)) : NULL;
    if (key == NULL || kept == NULL ||
        !s_grow(layout, (void **)&layout->indexes, layout->n_indexes, &layout->cap_indexes, sizeof *layout->indexes,
                "индексы"))
        return;
    layout->indexes[layout->n_indexes++] = (entity_index_entry){key, kept};
}

void entity_layout_token(entity_layout *layout, const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = value ? strlen(value) : 0;
    size_t need = layout->attributes_len + (layout->attributes_len ? 0 : 1) + name_len + 1 + value_len + 1 + 1;
    if (need > 16 * ENTITY_LAYOUT_MAX_TEXT) {
        s_fail(layout, "строка признаков длиннее предела");
        return;
    }
    if (need > layout->attributes_cap) {
        size_t cap = layout->attributes_cap ? layout->attributes_cap * 2 : 128;
        while (cap < need)
            cap *= 2;
        layout->attributes = xrealloc(layout->attributes, cap);
        layout->attributes_cap = cap;
    }
    char *out = layout->attributes + layout->attributes_len;
    if (layout->attributes_len == 0)
        *out++ = '|';
    memcpy(out, name, name_len);
    out += name_len;
    *out++ = ':';
    for (size_t i = 0; i < value_len; i++)
        *out++ = value[i] == '|' ? '/' : value[i];
    *out++ = '|';
    *out = '\0';
    layout->attributes_len = (size_t)(out - layout->attributes);
}

void entity_layout_reference(entity_layout *layout, const char *field, const char *key_format, ...)
{
    va_list ap;
    va_start(ap, key_format);
    const char *key = s_keepv(layout, key_format, ap);
    va_end(ap);
    if (key == NULL || !s_grow(layout, (void **)&layout->references, layout->n_references, &layout->cap_references,
                               sizeof *layout->references, "ссылки"))
        return;
    layout->references[layout->n_references++] = (entity_reference_entry){key, field ? field : ""};
}

void entity_layout_guard(entity_layout *layout, const char *key_format, ...)
{
    va_list ap;
    va_start(ap, key_format);
    const char *key = s_keepv(layout, key_format, ap);
    va_end(ap);
    if (key == NULL || !s_grow(layout, (void **)&layout->guards, layout->n_guards, &layout->cap_guards,
                               sizeof *layout->guards, "условия удаления"))
        return;
    layout->guards[layout->n_guards++] = key;
}

void entity_layout_claim(entity_layout *layout, const char *field, const char *value, const char *key_format, ...)
{
    if (value == NULL || *value == '\0')
        return;
    va_list ap;
    va_start(ap, key_format);
    const char *key = s_keepv(layout, key_format, ap);
    va_end(ap);
    const char *kept = s_keep(layout, value, strlen(value));
    if (key == NULL || kept == NULL ||
        !s_grow(layout, (void **)&layout->claims, layout->n_claims, &layout->cap_claims, sizeof *layout->claims,
                "уникальные значения"))
        return;
    layout->claims[layout->n_claims++] = (entity_claim_entry){key, field ? field : "", kept};
}

const char *entity_layout_error(const entity_layout *layout)
{
    return layout->error[0] ? layout->error : NULL;
}

void entity_sort_collate(char *folded)
{
    unsigned char *in = (unsigned char *)folded, *out = in;
    while (*in) {
        if (in[0] == 0xD0 && in[1] >= 0xB0 && in[1] <= 0xBF) { /* а..п */
            *out++ = (unsigned char)(in[1] - 0x30);
            in += 2;
        } else if (in[0] == 0xD1 && in[1] >= 0x80 && in[1] <= 0x8F) { /* р..я */
            *out++ = (unsigned char)(in[1] + 0x10);
            in += 2;
        } else {
            *out++ = *in == '\x1f' ? ' ' : *in;
            in++;
        }
    }
    *out = '\0';
}

void entity_sort_prefix(const char *query, char *out, size_t size)
{
    text_fold(query ? query : "", out, size);
    entity_sort_collate(out);
}

void entity_layout_sort_member(char *out, size_t size, const char *text, const char *id)
{
    char folded[200]; /* leaves room for the separator and a 64-character id */
    text_fold(text ? text : "", folded, sizeof folded);
    entity_sort_collate(folded);
    snprintf(out, size, "%s\x1f%s", folded, id);
}

static bool s_same_entry(const entity_index_entry *a, const entity_index_entry *b)
{
    return strcmp(a->key, b->key) == 0 && strcmp(a->member, b->member) == 0;
}

size_t entity_layout_index_difference(const entity_layout *from, const entity_layout *than, entity_index_entry *out)
{
    size_t n = 0;
    for (size_t i = 0; i < from->n_indexes; i++) {
        bool shared = false;
        for (size_t j = 0; than && j < than->n_indexes && !shared; j++)
            shared = s_same_entry(&from->indexes[i], &than->indexes[j]);
        if (!shared)
            out[n++] = from->indexes[i];
    }
    return n;
}

static bool s_holds_claim(const entity_layout *layout, const entity_claim_entry *claim)
{
    for (size_t i = 0; layout && i < layout->n_claims; i++)
        if (strcmp(layout->claims[i].key, claim->key) == 0 && strcmp(layout->claims[i].value, claim->value) == 0)
            return true;
    return false;
}

void entity_layout_claims(const entity_layout *old_layout, const entity_layout *new_layout, const char *id,
                          entity_claim *claims, size_t *n_claims, entity_claim *releases, size_t *n_releases)
{
    *n_claims = *n_releases = 0;
    for (size_t i = 0; new_layout && i < new_layout->n_claims; i++)
        claims[(*n_claims)++] = (entity_claim){new_layout->claims[i].key, new_layout->claims[i].value, id};
    for (size_t i = 0; old_layout && i < old_layout->n_claims; i++)
        if (!s_holds_claim(new_layout, &old_layout->claims[i]))
            releases[(*n_releases)++] = (entity_claim){old_layout->claims[i].key, old_layout->claims[i].value, id};
}
