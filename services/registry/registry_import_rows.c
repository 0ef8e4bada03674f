/* registry_import_rows — the import stages that read and write the store: processing rows (at most
 * IMPORT_WINDOW in flight: load, apply the file's columns, validate, check scope, compare, write),
 * which external ids the region already has, and resolving references (organizations of staff rows,
 * municipalities of organization rows). */
#include "registry_import_internal.h"
#include "xalloc.h"

/* ---------- processing rows ---------- */

typedef struct {
    import_job *job;
    import_row *row;
    ProtobufCMessage *current;
    ProtobufCMessage *next;
    bool reserved; /* holds one of job->refusals_reserved */
} row_task;

static void s_pump(import_job *job);

static void s_row_done(row_task *t)
{
    import_job *job = t->job;
    if (t->current)
        protobuf_c_message_free_unpacked(t->current, NULL);
    if (t->next)
        protobuf_c_message_free_unpacked(t->next, NULL);
    if (t->reserved)
        job->refusals_reserved--;
    free(t);
    /* the draft is no longer needed: keep the job's memory flat on big files */
    job->in_flight--;
    if (!job->pumping)
        s_pump(job);
}

static const char *s_object_kind(const registry_kind *kind)
{
    return kind == &registry_staff_kind ? "staff" : "organization";
}

static void s_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    row_task *t = ud;
    import_job *job = t->job;
    bool creating = t->current == NULL;
    switch (result) {
    case ENTITY_OK: {
        if (creating)
            job->created++;
        else
            job->updated++;
        audit_event e;
        audit_event_from_call(&e, job->call);
        e.action = creating ? "create" : "update";
        e.object_kind = s_object_kind(job->kind);
        e.object_id = pbfield_string(t->next, "id");
        e.region_id = job->region;
        audit_record(job->audit, &e, NULL, NULL);
        break;
    }
    case ENTITY_CLAIMED:
        registry_import_add_error(job, t->row->row, registry_import_header_of(job, "external_id"),
                                  "Этот внешний идентификатор одновременно занят другой записью; повторите импорт");
        registry_import_reject(job, t->row);
        break;
    case ENTITY_EXISTS:
    case ENTITY_VERSION_MISMATCH:
    case ENTITY_NOT_FOUND:
        registry_import_add_error(job, t->row->row, "",
                                  "Запись изменили или удалили во время импорта; повторите импорт");
        registry_import_reject(job, t->row);
        break;
    case ENTITY_MISSING_REFERENCE:
        registry_import_add_error(
            job, t->row->row,
            registry_import_header_of(job, job->kind == &registry_staff_kind ? "organization_ids" : "municipality_id"),
            "Связанную запись удалили во время импорта");
        registry_import_reject(job, t->row);
        break;
    default:
        log_error(service_call_request_id(job->call), "импорт: запись строки %zu не удалась: %s", t->row->row,
                  error ? error : "?");
        job->store_failed = true;
        registry_import_add_error(job, t->row->row, "", "%s", registry_import_unavailable_ru);
        registry_import_reject(job, t->row);
        break;
    }
    s_row_done(t);
}

static void s_write_row(row_task *t)
{
    import_job *job = t->job;
    if (entity_kind_save(job->store, job->kind, job->call, t->current, t->next, s_written, t) != 0)
        s_written(ENTITY_ERROR, 0, "запрос к Redis не отправлен", t);
}

static void s_stamp(ProtobufCMessage *msg, int64_t version)
{
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    pbfield_set_int64(msg, "version", version);
    pbfield_set_string(msg, "updated_at", now);
    if (version == 1)
        pbfield_set_string(msg, "created_at", now);
}

static void s_after_id(entity_result result, int64_t value, const char *error, void *ud)
{
    row_task *t = ud;
    if (result != ENTITY_OK) {
        s_written(ENTITY_ERROR, 0, error, t);
        return;
    }
    char id[64];
    registry_make_id(t->job->kind, t->job->region, (long long)value, id, sizeof id);
    pbfield_set_string(t->next, "id", id);
    s_stamp(t->next, 1);
    s_write_row(t);
}

/* Organizations/municipality of the row from the resolved references, into next. false = rejected. */
static bool s_apply_references(import_job *job, import_row *row, ProtobufCMessage *next, bool creating)
{
    if (job->kind == &registry_staff_kind) {
        if (!registry_import_present(job, "organization_ids") && !creating)
            return true; /* no organization column: keep them */
        Metodnet__StaffMember *s = (Metodnet__StaffMember *)next;
        for (size_t i = 0; i < s->n_organization_ids; i++)
            free(s->organization_ids[i]);
        free(s->organization_ids);
        for (size_t i = 0; i < s->n_municipality_ids; i++)
            free(s->municipality_ids[i]);
        free(s->municipality_ids);
        s->organization_ids = calloc(row->n_refs + 1, sizeof *s->organization_ids);
        s->municipality_ids = calloc(row->n_refs + 1, sizeof *s->municipality_ids);
        s->n_organization_ids = s->n_municipality_ids = 0;
        if (!s->organization_ids || !s->municipality_ids)
            abort();
        bool ok = true;
        for (size_t i = 0; i < row->n_refs; i++) {
            size_t k;
            import_ref *ref = registry_import_map_get(&job->ref_map, row->refs[i], &k) ? &job->refs[k] : NULL;
            if (ref == NULL || ref->id == NULL || !ref->visible) {
                registry_import_add_error(job, row->row, registry_import_header_of(job, "organization_ids"),
                                          "Организация «%.80s» не найдена (ни по внешнему идентификатору, ни по коду)",
                                          row->refs[i]);
                ok = false;
                continue;
            }
            s->organization_ids[s->n_organization_ids++] = strdup(ref->id);
            bool known = false;
            for (size_t j = 0; j < s->n_municipality_ids; j++)
                known |= strcmp(s->municipality_ids[j], ref->municipality_id) == 0;
            if (!known)
                s->municipality_ids[s->n_municipality_ids++] = strdup(ref->municipality_id);
        }
        return ok;
    }
    /* organization: its municipality */
    if (!registry_import_present(job, "municipality_id"))
        return true;
    const char *municipality = "";
    if (row->n_refs == 1) {
        size_t k = 0; /* read below when neither lookup found it */
        char folded[256];
        registry_import_fold(row->refs[0], folded, sizeof folded);
        if ((registry_import_map_get(&job->mun_map, row->refs[0], &k) ||
             registry_import_map_get(&job->mun_map, folded, &k)) &&
            k != SIZE_MAX) {
            municipality = job->mun_ids[k];
        } else {
            registry_import_add_error(
                job, row->row, registry_import_header_of(job, "municipality_id"),
                k == SIZE_MAX && registry_import_map_get(&job->mun_map, folded, &k)
                    ? "Несколько муниципальных образований с названием «%.80s»: укажите код (вида «07-m1»)"
                    : "Муниципальное образование «%.80s» не найдено в регионе",
                row->refs[0]);
            return false;
        }
    }
    if (!creating) {
        if (strcmp(pbfield_string(next, "municipality_id"), municipality) != 0) {
            registry_import_add_error(job, row->row, registry_import_header_of(job, "municipality_id"),
                                      "Муниципальное образование организации изменить нельзя");
            return false;
        }
        return true;
    }
    pbfield_set_string(next, "municipality_id", municipality);
    return true;
}

static bool s_allowed(import_job *job, const ProtobufCMessage *entity, scope_access access)
{
    registry_territory territory;
    job->kind->territory(entity, &territory);
    return scope_allows(service_call_caller(job->call), &territory.object, access);
}

/* Validation, scope and then: dry run counts, else a write. */
static void s_check_and_write(row_task *t)
{
    import_job *job = t->job;
    bool creating = t->current == NULL;
    validation v;
    validation_init(&v);
    if (job->kind == &registry_staff_kind) /* as an API write derives it */
        registry_staff_derive((Metodnet__StaffMember *)t->next);
    job->kind->validate(t->next, creating, &v);
    if (!validation_ok(&v)) {
        registry_import_reject_validation(job, t->row, &v);
        validation_free(&v);
        s_row_done(t);
        return;
    }
    validation_free(&v);
    if (!s_allowed(job, t->next, SCOPE_WRITE)) {
        registry_import_add_error(job, t->row->row, "", "Недостаточно прав: запись вне вашей области");
        registry_import_reject(job, t->row);
        s_row_done(t);
        return;
    }
    if (!creating) {
        size_t a = protobuf_c_message_get_packed_size(t->current), b = protobuf_c_message_get_packed_size(t->next);
        bool same = a == b;
        if (same) {
            uint8_t *x = malloc(a ? a : 1), *y = malloc(b ? b : 1);
            if (!x || !y)
                abort();
            protobuf_c_message_pack(t->current, x);
            protobuf_c_message_pack(t->next, y);
            same = memcmp(x, y, a) == 0;
            free(x);
            free(y);
        }
        if (same) {
            job->unchanged++;
            s_row_done(t);
            return;
        }
    }
    if (job->dry_run) {
        if (creating)
            job->created++;
        else
            job->updated++;
        s_row_done(t);
        return;
    }
    if (!creating) {
        s_stamp(t->next, pbfield_int64(t->current, "version") + 1);
        s_write_row(t);
        return;
    }
    char sequence[REGISTRY_KEY_MAX];
    registry_sequence_key(job->kind, job->region, sequence, sizeof sequence);
    if (entity_store_next_id(job->store, sequence, s_after_id, t) != 0)
        s_written(ENTITY_ERROR, 0, "запрос к Redis не отправлен", t);
}

static void s_row_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                         void *ud)
{
    (void)version;
    row_task *t = ud;
    import_job *job = t->job;
    if (result != ENTITY_OK) {
        if (result == ENTITY_NOT_FOUND)
            s_written(ENTITY_NOT_FOUND, 0, NULL, t);
        else
            s_written(ENTITY_ERROR, 0, error, t);
        return;
    }
    t->current = protobuf_c_message_unpack(job->kind->descriptor, NULL, len, data);
    if (t->current == NULL) {
        registry_import_add_error(job, t->row->row, "", "Сохранённая запись повреждена; сообщите администратору");
        registry_import_reject(job, t->row);
        s_row_done(t);
        return;
    }
    if (!s_allowed(job, t->current, SCOPE_READ)) {
        /* the answer of an id taken in the caller's own scope, word for word; audited and counted */
        registry_import_add_error(job, t->row->row, registry_import_header_of(job, "external_id"), "%s",
                                  REGISTRY_EXTERNAL_ID_TAKEN_RU);
        job->refused++;
        registry_claim_guard_refused(job->guard, job->call, s_object_kind(job->kind), pbfield_string(t->current, "id"),
                                     job->region);
        registry_import_reject(job, t->row);
        s_row_done(t);
        return;
    }
    if (!s_allowed(job, t->current, SCOPE_WRITE)) {
        registry_import_add_error(job, t->row->row, "", "Недостаточно прав изменять эту запись");
        registry_import_reject(job, t->row);
        s_row_done(t);
        return;
    }
    t->next = pbfield_clone(t->current);
    for (size_t c = 0; c < job->n_columns; c++) {
        const column *col = &job->columns[c];
        if (job->col_index[c] < 0 || col->type == COL_ORGANIZATIONS || col->type == COL_MUNICIPALITY)
            continue;
        pbfield_copy(t->next, t->row->draft, col->field);
    }
    if (!s_apply_references(job, t->row, t->next, false)) {
        registry_import_reject(job, t->row);
        s_row_done(t);
        return;
    }
    s_check_and_write(t);
}

static void s_row_start(import_job *job, import_row *row)
{
    row_task *t = xcalloc(1, sizeof *t);
    t->job = job;
    t->row = row;
    if (job->refused >= job->refusals_left) {
        /* over the limit: every row gets the same answer, free id or taken */
        registry_import_add_error(job, row->row, registry_import_header_of(job, "external_id"), "%s",
                                  REGISTRY_CLAIM_LIMIT_RU);
        registry_import_reject(job, row);
        s_row_done(t);
        return;
    }
    if (row->existing_id) {
        t->reserved = true;
        job->refusals_reserved++;
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(job->kind, row->existing_id, key, sizeof key)) {
            s_written(ENTITY_NOT_FOUND, 0, NULL, t);
            return;
        }
        if (entity_store_get(job->store, key, s_row_loaded, t) != 0)
            s_written(ENTITY_ERROR, 0, "запрос к Redis не отправлен", t);
        return;
    }
    t->next = pbfield_clone(row->draft);
    pbfield_set_string(t->next, "id", "");
    pbfield_set_string(t->next, "region_id", job->region);
    if (job->kind == &registry_staff_kind && !registry_import_present(job, "active"))
        ((Metodnet__StaffMember *)t->next)->active = 1; /* a new staff member works unless told otherwise */
    if (job->kind == &registry_organization_kind)       /* the founder a new record gets through the API too */
        registry_organization_default_founder((Metodnet__Organization *)t->next);
    if (!s_apply_references(job, row, t->next, true)) {
        registry_import_reject(job, row);
        s_row_done(t);
        return;
    }
    s_check_and_write(t);
}

static void s_pump(import_job *job)
{
    job->pumping = true;
    /* A row whose id is taken may turn out to be held outside the caller's scope: no more such rows are
     * in flight than refusals are left, and while they might use the last ones no row starts, so no
     * answer (free or taken) is given past the limit. */
    while (job->in_flight < IMPORT_WINDOW && job->next_row < job->n_rows &&
           (job->refused >= job->refusals_left || job->refused + job->refusals_reserved < job->refusals_left)) {
        import_row *row = &job->rows[job->next_row++];
        if (row->rejected)
            continue;
        job->in_flight++;
        s_row_start(job, row);
    }
    job->pumping = false;
    if (job->in_flight == 0 && job->next_row == job->n_rows && !job->finished)
        registry_import_finish(job);
}

/* ---------- which external ids exist ---------- */

static void s_on_own_claims(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "импорт: внешние идентификаторы не прочитаны: %s",
                  error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
        return;
    }
    /* owners follow the rows of this batch that are not rejected, in order */
    size_t k = 0;
    for (size_t i = job->claims_done; i < job->n_rows && k < n; i++) {
        import_row *row = &job->rows[i];
        job->claims_done = i + 1;
        if (row->rejected)
            continue;
        if (owners[k])
            row->existing_id = strdup(owners[k]);
        k++;
    }
    registry_import_claims_batch(job);
}

void registry_import_claims_batch(import_job *job)
{
    const char *values[IMPORT_CLAIMS_BATCH];
    size_t n = 0;
    for (size_t i = job->claims_done; i < job->n_rows && n < IMPORT_CLAIMS_BATCH; i++)
        if (!job->rows[i].rejected)
            values[n++] = pbfield_string(job->rows[i].draft, "external_id");
    if (n == 0) {
        job->claims_done = job->n_rows;
        s_pump(job);
        return;
    }
    char key[REGISTRY_KEY_MAX];
    registry_claims_key(job->kind, job->region, key, sizeof key);
    if (entity_store_claim_owners(job->store, key, values, n, s_on_own_claims, job) != 0) {
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
    }
}

/* ---------- references ---------- */

/* Staff: organizations by external id (claims) or id; then each read for scope and municipality. */

typedef struct {
    import_job *job;
    size_t index;
} ref_ctx;

static void s_refs_loaded(import_job *job);
static void s_ref_next(import_job *job);

static void s_org_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                         void *ud)
{
    (void)version;
    ref_ctx *ctx = ud;
    import_job *job = ctx->job;
    import_ref *ref = &job->refs[ctx->index];
    free(ctx);
    if (result == ENTITY_OK) {
        Metodnet__Organization *org = metodnet__organization__unpack(NULL, len, data);
        if (org) {
            registry_territory territory;
            registry_organization_kind.territory(&org->base, &territory);
            ref->visible = scope_allows(service_call_caller(job->call), &territory.object, SCOPE_READ);
            ref->municipality_id = strdup(org->municipality_id);
            metodnet__organization__free_unpacked(org, NULL);
        }
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(job->call), "импорт: организация не прочитана: %s", error ? error : "?");
        job->store_failed = true;
    }
    if (!ref->visible || !ref->municipality_id) {
        free(ref->id);
        ref->id = NULL;
    }
    job->stage_pending--;
    s_ref_next(job);
}

/* Keeps up to IMPORT_WINDOW organization reads in flight; the stage ends when all are back. */
static void s_ref_next(import_job *job)
{
    while (job->stage_pending < IMPORT_WINDOW && job->claims_done < job->n_refs) {
        size_t i = job->claims_done++;
        import_ref *ref = &job->refs[i];
        char key[REGISTRY_KEY_MAX];
        if (ref->id == NULL || !registry_entity_key(&registry_organization_kind, ref->id, key, sizeof key)) {
            free(ref->id);
            ref->id = NULL;
            continue;
        }
        ref_ctx *ctx = xmalloc(sizeof *ctx);
        *ctx = (ref_ctx){job, i};
        job->stage_pending++;
        if (entity_store_get(job->store, key, s_org_loaded, ctx) != 0) {
            free(ctx);
            job->stage_pending--;
            job->store_failed = true;
        }
    }
    if (job->stage_pending == 0 && job->claims_done >= job->n_refs)
        s_refs_loaded(job);
}

void registry_import_on_org_claims(entity_result result, const char *const *owners, size_t n, const char *error,
                                   void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK || n != job->n_refs) {
        log_error(service_call_request_id(job->call), "импорт: внешние идентификаторы организаций не прочитаны: %s",
                  error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        import_ref *ref = &job->refs[i];
        char region[8];
        if (owners[i])
            ref->id = strdup(owners[i]);
        else if (registry_region_of(ref->ref, region, sizeof region) && strcmp(region, job->region) == 0)
            ref->id = strdup(ref->ref);
    }
    job->claims_done = 0;
    job->stage_pending = 0;
    s_ref_next(job);
}

static void s_refs_loaded(import_job *job)
{
    if (job->store_failed) {
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
        return;
    }
    job->claims_done = 0;
    registry_import_claims_batch(job);
}

/* Organizations: the region's municipalities, page by page. */

static void s_on_municipalities(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                                const char *error, void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "импорт: список МО не получен: %s", error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__Municipality *m = metodnet__municipality__unpack(NULL, items[i].len, items[i].data);
        if (!m)
            continue;
        registry_territory territory;
        registry_municipality_kind.territory(&m->base, &territory);
        if (scope_allows(service_call_caller(job->call), &territory.object, SCOPE_READ)) {
            if (job->n_muns == job->cap_muns) {
                job->cap_muns = job->cap_muns ? job->cap_muns * 2 : 64;
                job->mun_ids = realloc(job->mun_ids, job->cap_muns * sizeof *job->mun_ids);
                job->mun_names = realloc(job->mun_names, job->cap_muns * sizeof *job->mun_names);
                if (!job->mun_ids || !job->mun_names)
                    abort();
            }
            size_t k = job->n_muns++;
            job->mun_ids[k] = strdup(m->id);
            char folded[256];
            registry_import_fold(m->name, folded, sizeof folded);
            job->mun_names[k] = strdup(folded);
            registry_import_map_put(&job->mun_map, job->mun_ids[k], k);
            size_t found = registry_import_map_put(&job->mun_map, job->mun_names[k], k);
            if (found != k) {
                /* two municipalities with one name: the name alone is ambiguous */
                size_t j = registry_import_hash(job->mun_names[k]) & (job->mun_map.cap - 1);
                while (strcmp(job->mun_map.keys[j], job->mun_names[k]) != 0)
                    j = (j + 1) & (job->mun_map.cap - 1);
                job->mun_map.values[j] = SIZE_MAX;
            }
        }
        metodnet__municipality__free_unpacked(m, NULL);
    }
    if (next_member && strlen(next_member) < sizeof job->mun_after) {
        snprintf(job->mun_after, sizeof job->mun_after, "%s", next_member);
        registry_import_municipalities_page(job);
        return;
    }
    job->claims_done = 0;
    registry_import_claims_batch(job);
}

void registry_import_municipalities_page(import_job *job)
{
    char index[REGISTRY_KEY_MAX], prefix[REGISTRY_KEY_MAX];
    registry_main_index(&registry_municipality_kind, job->region, index, sizeof index);
    registry_key_prefix(&registry_municipality_kind, job->region, prefix, sizeof prefix);
    entity_list_query q = {
        .index_key = index,
        .after_member = job->mun_after[0] ? job->mun_after : NULL,
        .entity_key_prefix = prefix,
        .limit = 500,
    };
    if (entity_store_list(job->store, &q, s_on_municipalities, job) != 0) {
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
    }
}
