/* entity_list — the list and export flow of the entity engine (contract in entity_kind.h): the region,
 * the filters as tokens, the narrowest index the filters allow, the caller's scope as a token, one page
 * (or every page into an export sink); each item checked again (scope, the record it is read through,
 * the kind's own match), redacted, audited when it is personal data.
 */
#include "entity_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "dictionary.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите запрос позже";

static int32_t s_int32(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_INT32)
        return 0;
    return *(const int32_t *)((const char *)msg + f->offset);
}

/* Value of an optional string field of the request ("" when absent). */
static const char *s_text(const ProtobufCMessage *request, const char *name)
{
    const char *value = pbfield_string(request, name);
    return value ? value : "";
}

/* ---------- list ---------- */

typedef struct list_op list_op;

/* A page whose items are readable only through other records (entity_kind.through_*): those are read
 * first, then the page is filtered as any other. */
typedef struct {
    list_op *l;
    entity_blob *items; /* the page, copied */
    size_t n;
    char *next_member;
    char **ids;    /* distinct ids of the records to check */
    bool *visible; /* per id */
    size_t n_ids, pending;
    bool failed;
} through_stage;

struct list_op {
    entity_engine engine;
    service_call *call;
    const entity_kind *kind;
    const ProtobufCMessage *request; /* owned by the call */
    bool has_after;
    char after[CURSOR_MAX_MEMBER + 1];
    /* export: every page of the same query goes to the sink, so the query's strings live here */
    const entity_export_sink *export;
    void *sink;
    entity_list_query query;
    char index[ENTITY_KEY_MAX];
    char prefix[ENTITY_KEY_MAX];
    char key_prefix[ENTITY_KEY_MAX];
    char token_text[ENTITY_LIST_MAX_TOKENS][300];
    const char *tokens[ENTITY_LIST_MAX_TOKENS];
    const through_stage *through; /* this page's, while it is filtered */
    const entity_list_parent *parent;
    char parent_key[ENTITY_KEY_MAX];
};

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud);

static void s_list_free(list_op *l)
{
    free(l);
}

/* Ends a list that failed: the sink or the call is answered. */
static void s_list_fail(list_op *l, Metodnet__StatusCode code, const char *message)
{
    if (l->sink)
        l->export->fail(l->sink, code, message);
    else
        service_call_fail(l->call, code, message);
    s_list_free(l);
}

static bool s_through_visible(const through_stage *stage, const char *id)
{
    for (size_t i = 0; stage && id && i < stage->n_ids; i++)
        if (strcmp(stage->ids[i], id) == 0)
            return stage->visible[i];
    return false;
}

/* The caller may see entity in a list: its scope, and where the kind says so the record it is read
 * through. */
static bool s_list_visible(const list_op *l, const ProtobufCMessage *entity)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    if (!entity_kind_allows(l->kind, caller, entity, SCOPE_READ))
        return false;
    if (l->kind->through_needed && l->kind->through_needed(caller, entity))
        return s_through_visible(l->through, pbfield_string(entity, l->kind->through_field));
    return true;
}

static void s_through_free(through_stage *p)
{
    for (size_t i = 0; i < p->n; i++)
        free((void *)p->items[i].data);
    free(p->items);
    free(p->next_member);
    for (size_t i = 0; i < p->n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->visible);
    free(p);
}

static void s_through_done(through_stage *p)
{
    list_op *l = p->l;
    if (p->failed) {
        s_listed(ENTITY_ERROR, NULL, 0, NULL, "чтение записей для проверки видимости не удалось", l);
    } else {
        l->through = p;
        s_listed(ENTITY_OK, p->items, p->n, p->next_member, NULL, l); /* resets l->through; may free l */
    }
    s_through_free(p);
}

typedef struct {
    through_stage *stage;
    size_t index;
} through_ctx;

static void s_through_item_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                  const char *error, void *ud)
{
    (void)version, (void)error;
    through_ctx *ctx = ud;
    through_stage *p = ctx->stage;
    const entity_kind *through = p->l->kind->through_kind;
    if (result == ENTITY_OK) {
        ProtobufCMessage *other = protobuf_c_message_unpack(through->descriptor, NULL, len, data);
        p->visible[ctx->index] =
            other != NULL && entity_kind_allows(through, service_call_caller(p->l->call), other, SCOPE_READ);
        if (other != NULL)
            protobuf_c_message_free_unpacked(other, NULL);
    } else if (result != ENTITY_NOT_FOUND) {
        p->failed = true;
    }
    free(ctx);
    if (--p->pending == 0)
        s_through_done(p);
}

/* True when the page needs records read first; the stage then calls s_listed again. */
static bool s_through_start(list_op *l, const entity_blob *items, size_t n, const char *next_member)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    if (scope_is_global(caller) || n == 0)
        return false;
    through_stage *p = xcalloc(1, sizeof *p);
    p->l = l;
    p->ids = xcalloc(n, sizeof *p->ids);
    p->visible = xcalloc(n, sizeof *p->visible);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (m == NULL)
            continue;
        const char *id = pbfield_string(m, l->kind->through_field);
        bool needed =
            id && *id && entity_kind_allows(l->kind, caller, m, SCOPE_READ) && l->kind->through_needed(caller, m);
        bool seen = false;
        for (size_t k = 0; needed && k < p->n_ids && !seen; k++)
            seen = strcmp(p->ids[k], id) == 0;
        if (needed && !seen)
            p->ids[p->n_ids++] = xstrdup(id);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    if (p->n_ids == 0) {
        s_through_free(p);
        return false;
    }
    p->items = xcalloc(n, sizeof *p->items);
    for (size_t i = 0; i < n; i++) {
        uint8_t *copy = xmalloc(items[i].len);
        memcpy(copy, items[i].data, items[i].len);
        p->items[i] = (entity_blob){copy, items[i].len};
    }
    p->n = n;
    if (next_member)
        p->next_member = xstrdup(next_member);
    p->pending = p->n_ids + 1; /* + this call, so no callback finishes the stage while it starts */
    for (size_t k = 0; k < p->n_ids; k++) {
        char key[ENTITY_KEY_MAX];
        through_ctx *ctx = xmalloc(sizeof *ctx);
        *ctx = (through_ctx){p, k};
        if (!entity_kind_key(l->kind->through_kind, p->ids[k], key, sizeof key)) {
            free(ctx);
            p->pending--;
            continue;
        }
        if (entity_store_get(l->engine.store, key, s_through_item_loaded, ctx) != 0) {
            free(ctx);
            p->failed = true;
            p->pending--;
        }
    }
    if (--p->pending == 0)
        s_through_done(p);
    return true;
}

static bool s_listed_before(ProtobufCMessage *const *list, size_t kept, const char *id)
{
    for (size_t i = 0; i < kept; i++)
        if (strcmp(pbfield_string(list[i], "id"), id) == 0)
            return true;
    return false;
}

/* Export: the visible entities of one page go to the sink; the next page follows until the end. */
static void s_export_page(list_op *l, const entity_blob *items, size_t n, const char *next_member)
{
    const Metodnet__Principal *caller = service_call_caller(l->call);
    /* this page's rows: a word index holds one entry per title word, so an entity is written once — on
     * the page of its first matching word, once on that page */
    ProtobufCMessage **page = xcalloc(n ? n : 1, sizeof *page);
    size_t kept = 0;
    bool full = false;
    for (size_t i = 0; i < n && !full; i++) {
        ProtobufCMessage *entity = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (entity == NULL) {
            log_error(service_call_request_id(l->call), "пропущена повреждённая запись в выгрузке");
            continue;
        }
        if (!s_list_visible(l, entity) ||
            (l->kind->list_match && !l->kind->list_match(entity, l->request, l->has_after ? l->after : NULL)) ||
            s_listed_before(page, kept, pbfield_string(entity, "id"))) {
            protobuf_c_message_free_unpacked(entity, NULL);
            continue;
        }
        page[kept++] = entity;
        if (l->kind->redact)
            l->kind->redact(entity, caller);
        if (l->kind->personal)
            entity_kind_audit(&l->engine, l->call, l->kind, "export", pbfield_string(entity, "id"),
                              pbfield_string(entity, "region_id"));
        full = !l->export->add(l->sink, entity);
    }
    free(page);        /* the rows belong to the sink */
    l->through = NULL; /* this page's, freed by its stage */
    if (full) {
        char message[200];
        snprintf(message, sizeof message, "Больше %zu записей: уточните фильтры выгрузки", l->export->max_rows);
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT, message);
        return;
    }
    if (next_member == NULL || strlen(next_member) >= sizeof l->after) {
        l->export->finish(l->sink);
        s_list_free(l);
        return;
    }
    snprintf(l->after, sizeof l->after, "%s", next_member);
    l->has_after = true;
    l->query.after_member = l->after;
    if (entity_store_list(l->engine.store, &l->query, s_listed, l) != 0)
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    list_op *l = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(l->call), "список из Redis не получен: %s", error ? error : "?");
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    if (l->kind->through_needed && l->through == NULL && s_through_start(l, items, n, next_member))
        return;
    if (l->sink) {
        s_export_page(l, items, n, next_member);
        return;
    }
    const ProtobufCMessageDescriptor *desc = service_call_method(l->call)->output;
    ProtobufCMessage *response = xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, response);
    const ProtobufCFieldDescriptor *items_field = protobuf_c_message_descriptor_get_field_by_name(desc, "items");
    ProtobufCMessage **list = xcalloc(n ? n : 1, sizeof *list);
    size_t kept = 0, others = 0;
    const Metodnet__Principal *caller = service_call_caller(l->call);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *entity = protobuf_c_message_unpack(l->kind->descriptor, NULL, items[i].len, items[i].data);
        if (entity == NULL) {
            log_error(service_call_request_id(l->call), "пропущена повреждённая запись в списке");
            continue;
        }
        /* scope, the kind's own filter (dates, words), and one appearance per page (a word index may
         * hold several words of one title); a record readable only through another that the caller may
         * not read is counted, not shown */
        bool visible = s_list_visible(l, entity);
        bool matches = !l->kind->list_match || l->kind->list_match(entity, l->request, l->has_after ? l->after : NULL);
        if (!visible && matches && l->kind->through_needed && entity_kind_allows(l->kind, caller, entity, SCOPE_READ))
            others++;
        if (!visible || !matches || s_listed_before(list, kept, pbfield_string(entity, "id"))) {
            protobuf_c_message_free_unpacked(entity, NULL);
            continue;
        }
        if (l->kind->redact)
            l->kind->redact(entity, caller);
        if (l->kind->personal)
            entity_kind_audit(&l->engine, l->call, l->kind, "list", pbfield_string(entity, "id"),
                              pbfield_string(entity, "region_id"));
        list[kept++] = entity;
    }
    l->through = NULL;
    const ProtobufCFieldDescriptor *others_field = protobuf_c_message_descriptor_get_field_by_name(desc, "others");
    if (others_field != NULL && others_field->type == PROTOBUF_C_TYPE_INT32 &&
        others_field->label != PROTOBUF_C_LABEL_REPEATED)
        *(int32_t *)((char *)response + others_field->offset) = (int32_t)others;
    *(ProtobufCMessage ***)((char *)response + items_field->offset) = list;
    *(size_t *)((char *)response + items_field->quantifier_offset) = kept;
    char *cursor = next_member ? cursor_encode(next_member) : NULL;
    pbfield_set_string(response, "next_cursor", cursor ? cursor : "");
    free(cursor);
    service_call_reply(l->call, response);
    protobuf_c_message_free_unpacked(response, NULL);
    s_list_free(l);
}

/* The first page of l->query (an export's pages follow from s_export_page). */
static void s_list_start(list_op *l)
{
    if (l->export)
        l->sink = l->export->open(l->call, l->engine.store, l->kind);
    if (entity_store_list(l->engine.store, &l->query, s_listed, l) != 0)
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_list_parent_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                 const char *error, void *ud)
{
    (void)version;
    list_op *l = ud;
    if (result != ENTITY_OK && result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(l->call), "чтение из Redis не удалось: %s", error ? error : "?");
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    const entity_kind *kind = l->parent->kind;
    ProtobufCMessage *parent =
        result == ENTITY_OK ? protobuf_c_message_unpack(kind->descriptor, NULL, len, data) : NULL;
    bool visible = parent != NULL && entity_kind_allows(kind, service_call_caller(l->call), parent, SCOPE_READ);
    if (parent != NULL)
        protobuf_c_message_free_unpacked(parent, NULL);
    if (!visible) {
        s_list_fail(l, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, kind->not_found_ru);
        return;
    }
    s_list_start(l);
}

/* A filter's value checked by its rule. */
static bool s_filter_valid(const entity_filter *filter, const char *value)
{
    int parsed;
    switch (filter->check) {
    case ENTITY_FILTER_ENUM:
        return pbjson_enum_parse(filter->words, value, &parsed);
    case ENTITY_FILTER_BOOL:
        return strcmp(value, "true") == 0 || strcmp(value, "false") == 0;
    case ENTITY_FILTER_SUBJECT:
        return dictionary_subject_known(value);
    case ENTITY_FILTER_ID:
        return id_valid(value);
    case ENTITY_FILTER_TEXT:
        return utf8_valid(value, strlen(value)) && strlen(value) <= 200 && !strchr(value, '|');
    case ENTITY_FILTER_DATE:
        return date_parse(value, &parsed);
    case ENTITY_FILTER_CUSTOM:
        return filter->valid != NULL && filter->valid(value);
    }
    return false;
}

static void s_add_token(list_op *l, size_t *n, const char *name, const char *value)
{
    if (*n >= ENTITY_LIST_MAX_TOKENS)
        return;
    snprintf(l->token_text[*n], sizeof l->token_text[0], "|%s:%s|", name, value ? value : "");
    l->tokens[*n] = l->token_text[*n];
    (*n)++;
}

void entity_list(const entity_engine *engine, service_call *call, const ProtobufCMessage *request,
                 const entity_kind *kind, const entity_export_sink *export)
{
    const Metodnet__Principal *caller = service_call_caller(call);
    validation v;
    validation_init(&v);
    int32_t limit = s_int32(request, "limit");
    if (limit == 0)
        limit = ENTITY_LIST_DEFAULT_SIZE;
    if (limit < 1 || limit > ENTITY_LIST_MAX_LIMIT)
        validation_add(&v, "limit", "Размер страницы — от 1 до %d", ENTITY_LIST_MAX_LIMIT);
    list_op *l = xcalloc(1, sizeof *l);
    l->engine = *engine;
    l->call = call;
    l->kind = kind;
    l->request = request;
    l->export = export;
    const char *cursor = pbfield_string(request, "cursor");
    l->has_after = cursor && *cursor;
    if (l->has_after && !cursor_decode(cursor, l->after, sizeof l->after))
        validation_add(&v, "cursor", "Неверный курсор: возьмите nextCursor из предыдущего ответа");

    /* The region: asked for, implied by a filter naming a record (ids carry their region), or the
     * caller's own. */
    char region[8] = "";
    const char *region_filter = pbfield_string(request, "region_id");
    const char *implied_field = NULL, *implied = NULL;
    for (unsigned i = 0; i < request->descriptor->n_fields && implied == NULL; i++) {
        const ProtobufCFieldDescriptor *f = &request->descriptor->fields[i];
        size_t name_len = strlen(f->name);
        if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED || name_len < 3 ||
            strcmp(f->name + name_len - 3, "_id") != 0 || strcmp(f->name, "region_id") == 0)
            continue;
        const char *value = pbfield_string(request, f->name);
        if (value && *value) {
            implied_field = f->name;
            implied = value;
        }
    }
    if (region_filter && *region_filter) {
        if (!entity_region_of(region_filter, region, sizeof region) || strcmp(region, region_filter) != 0)
            validation_add(&v, "regionId", "Код региона — две цифры, например «07»");
    } else if (implied) {
        char json[64];
        entity_json_name(request->descriptor, implied_field, json, sizeof json);
        if (!entity_region_of(implied, region, sizeof region))
            validation_add(&v, json, "Неверный идентификатор");
    } else if (caller->region_id && *caller->region_id) {
        snprintf(region, sizeof region, "%s", caller->region_id);
    } else if (!kind->global) {
        validation_add(&v, "regionId", "Укажите регион (regionId)");
    }

    size_t n_tokens = 0;
    for (size_t i = 0; i < kind->n_filters; i++) {
        const entity_filter *filter = &kind->filters[i];
        const char *value = pbfield_string(request, filter->field);
        if (value == NULL || *value == '\0')
            continue;
        char json[64], folded[256];
        entity_json_name(request->descriptor, filter->field, json, sizeof json);
        if (!s_filter_valid(filter, value)) {
            validation_add(&v, json, "Недопустимое значение «%.60s»", value);
            continue;
        }
        if (filter->token == NULL)
            continue;
        if (filter->check == ENTITY_FILTER_TEXT)
            value = text_fold(value, folded, sizeof folded);
        s_add_token(l, &n_tokens, filter->token, value);
    }
    /* Name search: a prefix of the sort key, or of a word of the title. */
    const char *q = pbfield_string(request, "q");
    char prefix[ENTITY_KEY_MAX] = "";
    if (q && *q && validate_text(&v, "q", q, 100, false)) {
        if (kind->word_key) {
            kind->word_key(q, prefix, sizeof prefix);
            if (!*prefix)
                validation_add(&v, "q", "В запросе нет ни одного слова из двух и более букв или цифр");
        } else {
            entity_sort_prefix(q, prefix, sizeof prefix);
        }
    }
    bool word_search = kind->word_key && *prefix;
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        s_list_free(l);
        return;
    }
    validation_free(&v);

    /* A list naming a parent answers for a parent the caller may not read as for a missing one. */
    for (size_t i = 0; i < kind->n_list_parents && l->parent == NULL; i++)
        if (*s_text(request, kind->list_parents[i].field))
            l->parent = &kind->list_parents[i];

    /* A scoped caller outside the asked region sees nothing (and learns nothing). */
    bool global = scope_is_global(caller);
    if (!global && !kind->global && strcmp(region, caller->region_id ? caller->region_id : "") != 0) {
        if (l->parent) {
            /* the parent named lies in another region: not found, as everywhere below */
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, l->parent->kind->not_found_ru);
            s_list_free(l);
            return;
        }
        entity_blob none = {NULL, 0};
        if (export)
            l->sink = export->open(call, engine->store, kind);
        s_listed(ENTITY_OK, &none, 0, NULL, NULL, l);
        return;
    }

    /* The index: the narrowest the filters allow (every index is ordered by its sort key); the other
     * narrower indexes given become tokens. */
    const char *index_name = kind->index_name ? kind->index_name : kind->name;
    entity_kind_main_index(kind, region, l->index, sizeof l->index);
    const entity_list_index *chosen = NULL;
    if (word_search) {
        snprintf(l->index, sizeof l->index, "%s:{r:%s}:ix:%s:word", kind->prefix, region, index_name);
    } else {
        for (size_t i = 0; i < kind->n_list_indexes; i++) {
            const char *value = s_text(request, kind->list_indexes[i].field);
            if (!*value)
                continue;
            if (chosen == NULL) {
                chosen = &kind->list_indexes[i];
                snprintf(l->index, sizeof l->index, "%s:{r:%s}:ix:%s:%s", kind->prefix, region, chosen->index, value);
            } else if (kind->list_indexes[i].token) {
                s_add_token(l, &n_tokens, kind->list_indexes[i].token, value);
            }
        }
    }
    /* The caller's scope narrows every list, except of the kinds readable region-wide (their items are
     * still checked one by one). */
    if (!global && !kind->global && !kind->list_unnarrowed) {
        switch (caller->scope_kind) {
        case METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY:
            s_add_token(l, &n_tokens, "mun", caller->scope_id);
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION:
            if (kind->org_scope_by_municipality)
                s_add_token(l, &n_tokens, "mun", caller->municipality_id);
            else
                s_add_token(l, &n_tokens, "org", caller->scope_id);
            break;
        case METODNET__SCOPE_KIND__SCOPE_KIND_SELF:
            if (kind->self_token)
                s_add_token(l, &n_tokens, kind->self_token, caller->scope_id);
            break;
        default:
            break;
        }
    }

    snprintf(l->prefix, sizeof l->prefix, "%s", prefix);
    entity_kind_key_prefix(kind, region, l->key_prefix, sizeof l->key_prefix);
    l->query = (entity_list_query){
        .index_key = l->index,
        .after_member = l->has_after ? l->after : NULL,
        .prefix = *l->prefix ? l->prefix : NULL,
        .entity_key_prefix = l->key_prefix,
        .required_tokens = l->tokens,
        .n_required_tokens = n_tokens,
        .limit = export ? ENTITY_LIST_MAX_LIMIT : (size_t)limit,
        .max_scan = 0,
    };
    if (l->parent) {
        const char *parent_id = s_text(request, l->parent->field);
        if (!entity_kind_key(l->parent->kind, parent_id, l->parent_key, sizeof l->parent_key)) {
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, l->parent->kind->not_found_ru);
            s_list_free(l);
            return;
        }
        if (entity_store_get(engine->store, l->parent_key, s_list_parent_loaded, l) != 0) {
            service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
            s_list_free(l);
        }
        return;
    }
    s_list_start(l);
}
