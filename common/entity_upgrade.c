/* entity_upgrade — one kind's records in one region brought to today's form, page by page (see
 * entity_upgrade.h). A page's writes run together; the next page is read when they have all answered. */
#include "entity_upgrade.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "pbfield.h"
#include "xalloc.h"

typedef struct {
    entity_store *store;
    const entity_kind *kind;
    bool dry_run;
    entity_upgrade_progress_cb progress;
    entity_upgrade_done_cb done;
    void *ud;
    char index_key[ENTITY_KEY_MAX];
    char key_prefix[ENTITY_KEY_MAX];
    char *after; /* the last page's cursor; NULL before the first page */
    bool at_end; /* the last page was read */
    size_t pending;
    char *error; /* a write failed for a reason other than a race: the walk stops after the page */
    entity_upgrade_counts counts;
} upgrade_walk;

typedef struct {
    upgrade_walk *walk;
    ProtobufCMessage *current, *next;
} upgrade_write;

static void s_read_page(upgrade_walk *w);

static void s_finish(upgrade_walk *w, const char *error)
{
    w->done(&w->counts, error, w->ud);
    free(w->after);
    free(w->error);
    free(w);
}

/* Every write of the page answered: the next page, or the end. */
static void s_page_done(upgrade_walk *w)
{
    if (w->progress)
        w->progress(&w->counts, w->ud);
    if (w->error) {
        char *error = w->error;
        w->error = NULL;
        s_finish(w, error);
        free(error);
    } else if (w->at_end) {
        s_finish(w, NULL);
    } else {
        s_read_page(w);
    }
}

static void s_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    upgrade_write *u = ud;
    upgrade_walk *w = u->walk;
    const char *id = pbfield_string(u->current, "id");
    switch (result) {
    case ENTITY_OK:
        break;
    case ENTITY_VERSION_MISMATCH:
    case ENTITY_NOT_FOUND:
        w->counts.upgraded--;
        w->counts.raced++;
        log_warn(NULL,
                 "запись %s изменена или удалена во время миграции (версия %lld): оставлена до следующего запуска", id,
                 (long long)detail);
        break;
    case ENTITY_MISSING_REFERENCE:
    case ENTITY_NOT_EMPTY:
    case ENTITY_CLAIMED:
    case ENTITY_EXISTS:
        w->counts.upgraded--;
        w->counts.refused++;
        log_warn(NULL,
                 "запись %s не переписана: хранилище отказало (%d, %lld) — ссылка на удалённую запись или "
                 "занятое значение; исправьте запись через API",
                 id, (int)result, (long long)detail);
        break;
    case ENTITY_ERROR:
        w->counts.upgraded--;
        if (w->error == NULL)
            w->error = xstrdup(error ? error : "ошибка Redis");
        break;
    }
    protobuf_c_message_free_unpacked(u->current, NULL);
    protobuf_c_message_free_unpacked(u->next, NULL);
    free(u);
    if (--w->pending == 0)
        s_page_done(w);
}

/* One stored record: decoded, upgraded on a copy, written back when the copy differs. */
static void s_upgrade_one(upgrade_walk *w, const entity_blob *blob)
{
    ProtobufCMessage *current = protobuf_c_message_unpack(w->kind->descriptor, NULL, blob->len, blob->data);
    if (current == NULL) {
        w->counts.corrupt++;
        log_warn(NULL, "запись вида %s в %s не читается (%zu байт): оставлена как есть", w->kind->name, w->index_key,
                 blob->len);
        return;
    }
    w->counts.examined++;
    ProtobufCMessage *next = pbfield_clone(current);
    if (!w->kind->upgrade(next)) {
        protobuf_c_message_free_unpacked(current, NULL);
        protobuf_c_message_free_unpacked(next, NULL);
        return;
    }
    w->counts.upgraded++;
    if (w->dry_run) {
        protobuf_c_message_free_unpacked(current, NULL);
        protobuf_c_message_free_unpacked(next, NULL);
        return;
    }
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    pbfield_set_int64(next, "version", pbfield_int64(current, "version") + 1);
    pbfield_set_string(next, "updated_at", now);
    upgrade_write *u = xcalloc(1, sizeof *u);
    *u = (upgrade_write){w, current, next};
    w->pending++;
    if (entity_kind_save(w->store, w->kind, NULL, current, next, s_written, u) != 0) {
        w->pending--;
        w->counts.upgraded--;
        w->counts.refused++;
        log_warn(NULL, "запись %s не переписана: её раскладка вне пределов или идентификатор не этого вида",
                 pbfield_string(current, "id"));
        protobuf_c_message_free_unpacked(current, NULL);
        protobuf_c_message_free_unpacked(next, NULL);
        free(u);
    }
}

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    upgrade_walk *w = ud;
    if (result != ENTITY_OK) {
        s_finish(w, error ? error : "список записей не прочитан");
        return;
    }
    free(w->after);
    w->after = next_member ? xstrdup(next_member) : NULL;
    w->at_end = next_member == NULL;
    w->pending++; /* the page itself, so that writes answering early do not end it */
    for (size_t i = 0; i < n; i++)
        s_upgrade_one(w, &items[i]);
    if (--w->pending == 0)
        s_page_done(w);
}

static void s_read_page(upgrade_walk *w)
{
    entity_list_query q = {.index_key = w->index_key,
                           .after_member = w->after,
                           .entity_key_prefix = w->key_prefix,
                           .limit = ENTITY_UPGRADE_PAGE};
    if (entity_store_list(w->store, &q, s_listed, w) != 0)
        s_finish(w, "запрос списка записей не отправлен");
}

int entity_upgrade_kind(entity_store *store, const entity_kind *kind, const char *region, bool dry_run,
                        entity_upgrade_progress_cb progress, entity_upgrade_done_cb done, void *ud)
{
    if (store == NULL || kind == NULL || kind->upgrade == NULL || done == NULL ||
        (!kind->global && (region == NULL || region[0] == '\0')))
        return -1;
    upgrade_walk *w = xcalloc(1, sizeof *w);
    *w = (upgrade_walk){.store = store, .kind = kind, .dry_run = dry_run, .progress = progress, .done = done, .ud = ud};
    entity_kind_main_index(kind, region, w->index_key, sizeof w->index_key);
    entity_kind_key_prefix(kind, region, w->key_prefix, sizeof w->key_prefix);
    s_read_page(w);
    return 0;
}
