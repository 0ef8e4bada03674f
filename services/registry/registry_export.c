/* registry_export — the CSV of entities: the import template of a kind and the export (registry_export_*
 * in registry_import.h), organizations and staff in the import format so an export imports back
 * unchanged, every other kind one column per field (registry_csv.h). */
#include "registry_import_internal.h"
#include "xalloc.h"

/* ---------- CSV of entities (template, export) ---------- */

static void s_cell_date(const char *iso, char *out, size_t size)
{
    int y, m, d;
    if (iso && strlen(iso) == 10 && sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) == 3)
        snprintf(out, size, "%02d.%02d.%04d", d, m, y);
    else
        snprintf(out, size, "%s", iso ? iso : "");
}

static void s_header_row(csv_writer *w, const column *columns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, columns[i].header_ru);
    csv_writer_end_row(w);
}

static void s_reply_csv(service_call *call, csv_writer *w, const char *filename, int rows)
{
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    size_t len;
    const char *data = csv_writer_data(w, &len);
    file.csv.data = (uint8_t *)data;
    file.csv.len = len;
    file.filename = (char *)filename;
    file.rows = rows;
    service_call_reply(call, &file.base);
}

void registry_import_template(service_call *call, const registry_kind *kind)
{
    size_t n;
    const column *columns = registry_import_columns(kind, &n);
    csv_writer *w = csv_writer_new();
    if (!w)
        abort();
    s_header_row(w, columns, n);
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, columns[i].example);
    csv_writer_end_row(w);
    s_reply_csv(call, w, kind == &registry_staff_kind ? "staff-template.csv" : "organizations-template.csv", 1);
    csv_writer_destroy(&w);
}

struct registry_export {
    service_call *call;
    entity_store *store;
    const registry_kind *kind;
    ProtobufCMessage **items;
    size_t n, cap;
    /* staff: organization id → external id */
    char **org_ids;
    char **org_xids;
    size_t n_orgs, cap_orgs, next_org, pending;
    import_map org_map;
    bool failed;
};

registry_export *registry_export_new(service_call *call, entity_store *store, const registry_kind *kind)
{
    registry_export *e = xcalloc(1, sizeof *e);
    e->call = call;
    e->store = store;
    e->kind = kind;
    return e;
}

bool registry_export_add(registry_export *e, ProtobufCMessage *entity)
{
    if (e->n >= REGISTRY_EXPORT_MAX_ROWS) {
        protobuf_c_message_free_unpacked(entity, NULL);
        return false;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 256;
        e->items = xrealloc(e->items, e->cap * sizeof *e->items);
    }
    e->items[e->n++] = entity;
    return true;
}

static void s_export_free(registry_export *e)
{
    for (size_t i = 0; i < e->n; i++)
        protobuf_c_message_free_unpacked(e->items[i], NULL);
    free(e->items);
    for (size_t i = 0; i < e->n_orgs; i++) {
        free(e->org_ids[i]);
        free(e->org_xids[i]);
    }
    free(e->org_ids);
    free(e->org_xids);
    registry_import_map_free(&e->org_map);
    free(e);
}

void registry_export_fail(registry_export *e, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(e->call, code, message_ru);
    s_export_free(e);
}

/* Kinds without an import format: one column per field of the entity (registry_csv.h). */
static void s_export_write_generic(registry_export *e)
{
    csv_writer *w = csv_writer_new();
    if (!w)
        abort();
    registry_csv_header(w, e->kind->descriptor);
    for (size_t i = 0; i < e->n; i++)
        registry_csv_row(w, e->items[i]);
    s_reply_csv(e->call, w, registry_csv_filename(e->kind->descriptor), (int)e->n);
    csv_writer_destroy(&w);
    s_export_free(e);
}

static void s_export_write(registry_export *e)
{
    if (e->kind != &registry_organization_kind && e->kind != &registry_staff_kind) {
        s_export_write_generic(e);
        return;
    }
    size_t n_columns;
    const column *columns = registry_import_columns(e->kind, &n_columns);
    csv_writer *w = csv_writer_new();
    if (!w)
        abort();
    s_header_row(w, columns, n_columns);
    for (size_t i = 0; i < e->n; i++) {
        const ProtobufCMessage *m = e->items[i];
        for (size_t c = 0; c < n_columns; c++) {
            const column *col = &columns[c];
            char cell[2048] = "";
            switch (col->type) {
            case COL_TEXT:
                snprintf(cell, sizeof cell, "%s", pbfield_string(m, col->field));
                break;
            case COL_MUNICIPALITY:
                snprintf(cell, sizeof cell, "%s", pbfield_string(m, col->field));
                break;
            case COL_DATE:
                s_cell_date(pbfield_string(m, col->field), cell, sizeof cell);
                break;
            case COL_BOOL:
                snprintf(cell, sizeof cell, "%s", registry_import_get_enum(m, col->field) ? "да" : "нет");
                break;
            case COL_ENUM:
                snprintf(cell, sizeof cell, "%s",
                         registry_import_enum_word(col, registry_import_get_enum(m, col->field)));
                break;
            case COL_SUBJECTS: {
                const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)m;
                for (size_t j = 0; j < s->n_subjects; j++) {
                    const char *name = dictionary_subject_name(s->subjects[j]);
                    size_t used = strlen(cell);
                    snprintf(cell + used, sizeof cell - used, "%s%s", j ? ", " : "", name ? name : s->subjects[j]);
                }
                break;
            }
            case COL_ORGANIZATIONS: {
                const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)m;
                for (size_t j = 0; j < s->n_organization_ids; j++) {
                    size_t k;
                    const char *ref = s->organization_ids[j];
                    if (registry_import_map_get(&e->org_map, ref, &k) && e->org_xids[k] && *e->org_xids[k])
                        ref = e->org_xids[k];
                    size_t used = strlen(cell);
                    snprintf(cell + used, sizeof cell - used, "%s%s", j ? ", " : "", ref);
                }
                break;
            }
            }
            csv_writer_field(w, cell);
        }
        csv_writer_end_row(w);
    }
    s_reply_csv(e->call, w, e->kind == &registry_staff_kind ? "staff.csv" : "organizations.csv", (int)e->n);
    csv_writer_destroy(&w);
    s_export_free(e);
}

static void s_export_next_org(registry_export *e);

typedef struct {
    registry_export *e;
    size_t index;
} export_ctx;

static void s_export_org_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version,
                                const char *error, void *ud)
{
    (void)version;
    export_ctx *ctx = ud;
    registry_export *e = ctx->e;
    if (result == ENTITY_OK) {
        Metodnet__Organization *org = metodnet__organization__unpack(NULL, len, data);
        if (org) {
            e->org_xids[ctx->index] = strdup(org->external_id);
            metodnet__organization__free_unpacked(org, NULL);
        }
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(e->call), "выгрузка: организация не прочитана: %s", error ? error : "?");
        e->failed = true;
    }
    free(ctx);
    e->pending--;
    s_export_next_org(e);
}

static void s_export_next_org(registry_export *e)
{
    while (e->pending < IMPORT_WINDOW && e->next_org < e->n_orgs) {
        size_t i = e->next_org++;
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(&registry_organization_kind, e->org_ids[i], key, sizeof key))
            continue;
        export_ctx *ctx = xmalloc(sizeof *ctx);
        *ctx = (export_ctx){e, i};
        e->pending++;
        if (entity_store_get(e->store, key, s_export_org_loaded, ctx) != 0) {
            free(ctx);
            e->pending--;
            e->failed = true;
        }
    }
    if (e->pending == 0 && e->next_org >= e->n_orgs) {
        if (e->failed)
            registry_export_fail(e, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE,
                                 "Хранилище временно недоступно, повторите выгрузку позже");
        else
            s_export_write(e);
    }
}

void registry_export_finish(registry_export *e)
{
    if (e->kind != &registry_staff_kind) {
        s_export_write(e);
        return;
    }
    for (size_t i = 0; i < e->n; i++) {
        const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)e->items[i];
        for (size_t j = 0; j < s->n_organization_ids; j++) {
            size_t k;
            if (registry_import_map_get(&e->org_map, s->organization_ids[j], &k))
                continue;
            if (e->n_orgs == e->cap_orgs) {
                e->cap_orgs = e->cap_orgs ? e->cap_orgs * 2 : 64;
                e->org_ids = realloc(e->org_ids, e->cap_orgs * sizeof *e->org_ids);
                e->org_xids = realloc(e->org_xids, e->cap_orgs * sizeof *e->org_xids);
                if (!e->org_ids || !e->org_xids)
                    abort();
            }
            e->org_ids[e->n_orgs] = strdup(s->organization_ids[j]);
            e->org_xids[e->n_orgs] = NULL;
            registry_import_map_put(&e->org_map, e->org_ids[e->n_orgs], e->n_orgs);
            e->n_orgs++;
        }
    }
    s_export_next_org(e);
}
