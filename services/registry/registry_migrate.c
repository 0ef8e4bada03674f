/* registry_migrate — `metodnet-registry migrate-records`: every region, every registry kind that has an
 * upgrade hook, walked by entity_upgrade_kind one after another on a loop of its own (see
 * registry_migrate.h). */
#include "registry_migrate.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "entity_upgrade.h"
#include "pbfield.h"
#include "redis_link.h"
#include "registry_catalogue.h"
#include "registry_kinds.h"
#include "xalloc.h"

#define MIGRATE_MAX_REGIONS 200

typedef struct {
    const registry_kind *kind;
    const char *title_ru;
} migrate_kind;

static const migrate_kind s_kinds[] = {
    {&registry_organization_kind, "организации"},
    {&registry_staff_kind, "работники"},
    {&registry_association_kind, "объединения"},
};
#define N_KINDS (sizeof s_kinds / sizeof s_kinds[0])

typedef struct {
    redis_link *link;
    entity_store *store;
    bool dry_run;
    FILE *out;
    char *regions[MIGRATE_MAX_REGIONS];
    size_t n_regions;
    char *after;         /* cursor of the regions' index */
    size_t region, kind; /* the walk in progress */
    entity_upgrade_counts total;
    int rc;
} migrate_run;

static void s_next_walk(migrate_run *m);
static void s_list_regions(migrate_run *m);

static void s_stop(migrate_run *m, int rc)
{
    m->rc = rc;
    entity_store_destroy(&m->store);
    redis_link_close(&m->link);
}

static void s_progress(const entity_upgrade_counts *c, void *ud)
{
    migrate_run *m = ud;
    if (c->examined > 0 && c->examined % (ENTITY_UPGRADE_PAGE * 25) == 0)
        fprintf(m->out, "  регион %s, %s: прочитано %zu, %s %zu\n", m->regions[m->region], s_kinds[m->kind].title_ru,
                c->examined, m->dry_run ? "к обновлению" : "обновлено", c->upgraded);
}

static void s_walked(const entity_upgrade_counts *c, const char *error, void *ud)
{
    migrate_run *m = ud;
    if (c->examined > 0 || error)
        fprintf(m->out, "регион %s, %s: прочитано %zu, %s %zu%s%s\n", m->regions[m->region], s_kinds[m->kind].title_ru,
                c->examined, m->dry_run ? "к обновлению" : "обновлено", c->upgraded, error ? ", остановлено: " : "",
                error ? error : "");
    m->total.examined += c->examined;
    m->total.upgraded += c->upgraded;
    m->total.raced += c->raced;
    m->total.refused += c->refused;
    m->total.corrupt += c->corrupt;
    if (error) {
        s_stop(m, REGISTRY_MIGRATE_FAILED);
        return;
    }
    if (++m->kind == N_KINDS) {
        m->kind = 0;
        m->region++;
    }
    s_next_walk(m);
}

static void s_next_walk(migrate_run *m)
{
    if (m->region == m->n_regions) {
        const entity_upgrade_counts *t = &m->total;
        fprintf(m->out, "Итого: регионов %zu, записей прочитано %zu, %s %zu", m->n_regions, t->examined,
                m->dry_run ? "требуют обновления" : "обновлено", t->upgraded);
        if (t->raced)
            fprintf(m->out, ", изменены во время миграции (запустите ещё раз) %zu", t->raced);
        if (t->refused)
            fprintf(m->out, ", не приняты хранилищем (см. журнал) %zu", t->refused);
        if (t->corrupt)
            fprintf(m->out, ", не читаются %zu", t->corrupt);
        fputs(m->dry_run ? " (пробный запуск: ничего не изменено)\n" : "\n", m->out);
        bool left = t->raced || t->refused || t->corrupt || (m->dry_run && t->upgraded);
        s_stop(m, left ? REGISTRY_MIGRATE_LEFT : REGISTRY_MIGRATE_DONE);
        return;
    }
    if (entity_upgrade_kind(m->store, s_kinds[m->kind].kind, m->regions[m->region], m->dry_run, s_progress, s_walked,
                            m) != 0) {
        fprintf(m->out, "Ошибка: обход записей вида %s не начат\n", s_kinds[m->kind].kind->name);
        s_stop(m, REGISTRY_MIGRATE_FAILED);
    }
}

static void s_regions_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                             const char *error, void *ud)
{
    migrate_run *m = ud;
    if (result != ENTITY_OK) {
        fprintf(m->out, "Ошибка: список регионов не прочитан: %s\n", error ? error : "ошибка Redis");
        s_stop(m, REGISTRY_MIGRATE_FAILED);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *r =
            protobuf_c_message_unpack(registry_region_kind.descriptor, NULL, items[i].len, items[i].data);
        if (r == NULL)
            continue; /* a region that does not decode has no records we could lay out */
        if (m->n_regions == MIGRATE_MAX_REGIONS) {
            protobuf_c_message_free_unpacked(r, NULL);
            fprintf(m->out, "Ошибка: регионов больше %d\n", MIGRATE_MAX_REGIONS);
            s_stop(m, REGISTRY_MIGRATE_FAILED);
            return;
        }
        m->regions[m->n_regions++] = xstrdup(pbfield_string(r, "id"));
        protobuf_c_message_free_unpacked(r, NULL);
    }
    free(m->after);
    m->after = next_member ? xstrdup(next_member) : NULL;
    if (m->after == NULL)
        s_next_walk(m);
    else
        s_list_regions(m);
}

/* A page of the regions' index (from m->after). */
static void s_list_regions(migrate_run *m)
{
    char index[ENTITY_KEY_MAX], prefix[ENTITY_KEY_MAX];
    entity_kind_main_index(&registry_region_kind, NULL, index, sizeof index);
    entity_kind_key_prefix(&registry_region_kind, NULL, prefix, sizeof prefix);
    entity_list_query q = {
        .index_key = index, .after_member = m->after, .entity_key_prefix = prefix, .limit = ENTITY_LIST_MAX_LIMIT};
    if (entity_store_list(m->store, &q, s_regions_listed, m) != 0) {
        fprintf(m->out, "Ошибка: список регионов не запрошен\n");
        s_stop(m, REGISTRY_MIGRATE_FAILED);
    }
}

int registry_migrate_records(const config *cfg, bool dry_run, FILE *out)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0)
        return REGISTRY_MIGRATE_FAILED;
    migrate_run m = {.dry_run = dry_run, .out = out, .rc = REGISTRY_MIGRATE_FAILED};
    m.link = redis_link_new(&loop, &cfg->redis);
    m.store = m.link ? entity_store_new(m.link) : NULL;
    if (m.store == NULL) {
        fprintf(out, "Ошибка: соединение с Redis не создано\n");
        s_stop(&m, REGISTRY_MIGRATE_FAILED);
    } else {
        fprintf(out, dry_run ? "Пробный запуск: записи реестра, которые требуют обновления\n"
                             : "Приведение записей реестра к текущему виду\n");
        s_list_regions(&m);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (size_t i = 0; i < m.n_regions; i++)
        free(m.regions[i]);
    free(m.after);
    return m.rc;
}
