/* registry_import — CSV import (upsert by external id) and export of organizations and staff (see
 * registry_import.h; the file format is documented in docs/import.md).
 *
 * An import is one job on the loop: read the whole CSV into rows (entity drafts) → reject duplicate
 * or missing external ids → resolve references (municipalities by id or name; organizations by
 * external id or id) → look up which external ids the region already has (HMGET) → process rows with
 * at most IMPORT_WINDOW in flight: load the stored entity, apply the file's columns, validate as the API
 * does, check scope, compare, write (one Lua script per row, claiming the external id). Rows never
 * share an external id (duplicates are rejected up front), so rows in flight never race each other.
 *
 * This file: the job, reading the file into rows, the entry, finishing, and the sheet checks on their
 * own. The columns are in registry_import_columns.c, the stages against the store in
 * registry_import_rows.c, the template and export in registry_export.c; registry_import_internal.h
 * declares what they share.
 */
#include "registry_import_internal.h"
#include "xalloc.h"

const char *const registry_import_unavailable_ru = "Хранилище временно недоступно, повторите импорт позже";

/* ---------- the import job ---------- */

void registry_import_job_free(import_job *job)
{
    for (size_t i = 0; i < job->n_rows; i++) {
        import_row *r = &job->rows[i];
        if (r->draft)
            protobuf_c_message_free_unpacked(r->draft, NULL);
        for (size_t j = 0; j < r->n_refs; j++)
            free(r->refs[j]);
        free(r->existing_id);
    }
    free(job->rows);
    for (size_t i = 0; i < job->n_refs; i++) {
        free(job->refs[i].ref);
        free(job->refs[i].id);
        free(job->refs[i].municipality_id);
    }
    free(job->refs);
    registry_import_map_free(&job->ref_map);
    for (size_t i = 0; i < job->n_muns; i++) {
        free(job->mun_ids[i]);
        free(job->mun_names[i]);
    }
    free(job->mun_ids);
    free(job->mun_names);
    registry_import_map_free(&job->mun_map);
    for (size_t i = 0; i < job->n_errors; i++) {
        free(job->errors[i]->column);
        free(job->errors[i]->message);
        free(job->errors[i]);
    }
    free(job->errors);
    for (size_t i = 0; i < IMPORT_MAX_COLUMNS; i++)
        free(job->headers[i]);
    free(job);
}

void registry_import_add_error(import_job *job, size_t row, const char *column, const char *format, ...)
{
    if (job->n_errors >= REGISTRY_IMPORT_MAX_ERRORS) {
        job->errors_truncated = true;
        return;
    }
    if (job->n_errors == job->cap_errors) {
        job->cap_errors = job->cap_errors ? job->cap_errors * 2 : 32;
        job->errors = xrealloc(job->errors, job->cap_errors * sizeof *job->errors);
    }
    Metodnet__ImportError *e = xmalloc(sizeof *e);
    metodnet__import_error__init(e);
    e->row = (int32_t)row;
    e->column = strdup(column ? column : "");
    char text[600];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    e->message = strdup(text);
    job->errors[job->n_errors++] = e;
}

/* The file's header of the column with this proto field (or the template's when absent). */
const char *registry_import_header_of(const import_job *job, const char *field)
{
    for (size_t i = 0; i < job->n_columns; i++)
        if (strcmp(job->columns[i].field, field) == 0)
            return job->headers[i] ? job->headers[i] : job->columns[i].header_ru;
    return "";
}

/* A validation path ("organizationIds[1]", "sites[0].kind") → the column's header. */
static const char *s_header_of_json(const import_job *job, const char *path)
{
    char head[96];
    size_t len = strcspn(path, "[.");
    snprintf(head, sizeof head, "%.*s", (int)(len < sizeof head ? len : sizeof head - 1), path);
    for (size_t i = 0; i < job->n_columns; i++)
        if (strcmp(job->columns[i].json, head) == 0)
            return job->headers[i] ? job->headers[i] : job->columns[i].header_ru;
    return "";
}

bool registry_import_present(const import_job *job, const char *field)
{
    for (size_t i = 0; i < job->n_columns; i++)
        if (strcmp(job->columns[i].field, field) == 0)
            return job->col_index[i] >= 0;
    return false;
}

void registry_import_reject(import_job *job, import_row *row)
{
    if (!row->rejected) {
        row->rejected = true;
        job->rejected++;
    }
}

void registry_import_reject_validation(import_job *job, import_row *row, const validation *v)
{
    for (size_t i = 0; i < v->n; i++)
        registry_import_add_error(job, row->row, s_header_of_json(job, v->items[i]->field), "%s",
                                  v->items[i]->description);
    registry_import_reject(job, row);
}

static void s_set_enum(ProtobufCMessage *msg, const char *field, int value)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
    if (f && (f->type == PROTOBUF_C_TYPE_ENUM || f->type == PROTOBUF_C_TYPE_BOOL) &&
        f->label != PROTOBUF_C_LABEL_REPEATED)
        *(int *)((char *)msg + f->offset) = value;
}

int registry_import_get_enum(const ProtobufCMessage *msg, const char *field)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
    if (f && (f->type == PROTOBUF_C_TYPE_ENUM || f->type == PROTOBUF_C_TYPE_BOOL) &&
        f->label != PROTOBUF_C_LABEL_REPEATED)
        return *(const int *)((const char *)msg + f->offset);
    return 0;
}

/* Turns one CSV record into a draft; cell errors reject the row. */
static void s_read_row(import_job *job, const csv_record *rec)
{
    if (job->n_rows == job->cap_rows) {
        job->cap_rows = job->cap_rows ? job->cap_rows * 2 : 256;
        job->rows = xrealloc(job->rows, job->cap_rows * sizeof *job->rows);
    }
    import_row *row = &job->rows[job->n_rows++];
    memset(row, 0, sizeof *row);
    row->row = rec->row;
    row->draft = xmalloc(job->kind->descriptor->sizeof_message);
    protobuf_c_message_init(job->kind->descriptor, row->draft);
    for (size_t c = 0; c < job->n_columns; c++) {
        if (job->col_index[c] < 0)
            continue;
        const column *col = &job->columns[c];
        const char *header = job->headers[c];
        const char *raw = (size_t)job->col_index[c] < rec->n ? rec->fields[job->col_index[c]] : "";
        raw = csv_unguard(raw);
        char value[1024];
        /* trimmed copy; longer text is kept whole for validation to refuse by length */
        const char *s = raw;
        while (registry_import_blank(*s))
            s++;
        size_t len = strlen(s);
        while (len > 0 && registry_import_blank(s[len - 1]))
            len--;
        char *text = xstrndup(s, len);
        switch (col->type) {
        case COL_TEXT:
            pbfield_set_string(row->draft, col->field, text);
            break;
        case COL_DATE:
            registry_import_normalize_date(text, value, sizeof value);
            pbfield_set_string(row->draft, col->field, value);
            break;
        case COL_BOOL: {
            bool b = false;
            if (!registry_import_parse_bool(text, &b)) {
                registry_import_add_error(job, row->row, header, "Ожидается «да» или «нет», а не «%.80s»", text);
                registry_import_reject(job, row);
            }
            s_set_enum(row->draft, col->field, b);
            break;
        }
        case COL_ENUM: {
            int v = 0;
            if (*text && !registry_import_parse_enum(col, text, &v)) {
                char allowed[400] = "";
                for (const enum_words *w = col->words; w->words[0]; w++) {
                    size_t used = strlen(allowed);
                    snprintf(allowed + used, sizeof allowed - used, "%s«%s»", used ? ", " : "", w->words[0]);
                }
                registry_import_add_error(job, row->row, header, "Неизвестное значение «%.80s»; допустимо: %s", text,
                                          allowed);
                registry_import_reject(job, row);
            }
            s_set_enum(row->draft, col->field, v);
            break;
        }
        case COL_SUBJECTS: {
            char *parts[21];
            int n = registry_import_split(text, parts, 20);
            if (n < 0) {
                registry_import_add_error(job, row->row, header, "Не более 20 учебных предметов");
                registry_import_reject(job, row);
                break;
            }
            Metodnet__StaffMember *staff = (Metodnet__StaffMember *)row->draft;
            staff->subjects = xcalloc((size_t)n + 1, sizeof *staff->subjects);
            for (int i = 0; i < n; i++) {
                const char *code = registry_import_subject_code(parts[i]);
                if (!code) {
                    registry_import_add_error(job, row->row, header, "Неизвестный учебный предмет «%.80s»", parts[i]);
                    registry_import_reject(job, row);
                } else {
                    staff->subjects[staff->n_subjects++] = strdup(code);
                }
                free(parts[i]);
            }
            break;
        }
        case COL_ORGANIZATIONS:
        case COL_MUNICIPALITY: {
            int n = registry_import_split(text, row->refs, col->type == COL_MUNICIPALITY ? 1 : IMPORT_MAX_REFS);
            if (n < 0 || (col->type == COL_MUNICIPALITY && strpbrk(text, ",;\r\n") != NULL)) {
                if (n > 0)
                    for (int i = 0; i < n; i++)
                        free(row->refs[i]);
                n = 0;
                if (col->type == COL_MUNICIPALITY) {
                    /* a name with a comma is one name */
                    row->refs[0] = strdup(text);
                    n = *text ? 1 : 0;
                } else {
                    registry_import_add_error(job, row->row, header, "Не более %d организаций", IMPORT_MAX_REFS);
                    registry_import_reject(job, row);
                }
            }
            row->n_refs = (size_t)n;
            break;
        }
        }
        free(text);
    }
    const char *external_id = pbfield_string(row->draft, "external_id");
    if (external_id == NULL || *external_id == '\0') {
        registry_import_add_error(
            job, row->row, registry_import_header_of(job, "external_id"),
            "Укажите внешний идентификатор: по нему повторный импорт обновляет запись, а не создаёт новую");
        registry_import_reject(job, row);
    }
}

/* ---------- finishing ---------- */

/* Errors by row, those of one row in the order they were found (a stable insertion sort: the list is
 * nearly sorted already, rows finish roughly in order). */
static void s_sort_errors(import_job *job)
{
    for (size_t i = 1; i < job->n_errors; i++) {
        Metodnet__ImportError *e = job->errors[i];
        size_t j = i;
        while (j > 0 && job->errors[j - 1]->row > e->row) {
            job->errors[j] = job->errors[j - 1];
            j--;
        }
        job->errors[j] = e;
    }
}

void registry_import_finish(import_job *job)
{
    job->finished = true;
    s_sort_errors(job);
    Metodnet__ImportReport report = METODNET__IMPORT_REPORT__INIT;
    report.rows = (int32_t)job->n_rows;
    report.created = job->created;
    report.updated = job->updated;
    report.unchanged = job->unchanged;
    report.rejected = job->rejected;
    report.errors = job->errors;
    report.n_errors = job->n_errors;
    report.errors_truncated = job->errors_truncated;
    report.dry_run = job->dry_run;
    service_call_reply(job->call, &report.base);
    registry_import_job_free(job);
}

/* A file that cannot be taken at all: one error, nothing stored (the caller finishes the job). */
static void s_file_error(import_job *job, size_t row, const char *column, const char *message)
{
    for (size_t i = 0; i < job->n_errors; i++) {
        free(job->errors[i]->column);
        free(job->errors[i]->message);
        free(job->errors[i]);
    }
    job->n_errors = 0;
    registry_import_add_error(job, row, column, "%s", message);
    job->created = job->updated = job->unchanged = 0;
    job->rejected = (int)job->n_rows;
    job->file_refused = true;
}

/* Steps 1–2, before the store is read: the header against the kind's columns, every record into a draft
 * (cell errors reject the row), missing and repeated external ids. Returns 0, or -1 when the file as a
 * whole is refused (one error in the job). */
static int s_read_sheet(import_job *job, const uint8_t *data, size_t len)
{
    if (len == 0) {
        s_file_error(job, 1, "", "Файл пуст: нужна строка заголовков и хотя бы одна строка данных");
        return -1;
    }

    /* 1. the whole file into drafts */
    csv_reader *reader = csv_reader_new_memory((const char *)data, len);
    if (!reader)
        abort();
    csv_record rec;
    int rc = csv_reader_next(reader, &rec);
    if (rc <= 0) {
        s_file_error(job, rc < 0 ? csv_reader_error_row(reader) : 1, "",
                     rc < 0 ? csv_reader_error(reader) : "В файле нет строки заголовков");
        csv_reader_destroy(&reader);
        return -1;
    }
    char problem[600] = "", problem_column[256] = "";
    for (size_t i = 0; i < rec.n && !*problem; i++) {
        char folded[256];
        registry_import_fold(csv_unguard(rec.fields[i]), folded, sizeof folded);
        if (!*folded)
            continue; /* an empty header: a spreadsheet's trailing column */
        bool known = false;
        for (size_t c = 0; c < job->n_columns && !known; c++) {
            if (!registry_import_header_matches(&job->columns[c], folded))
                continue;
            known = true;
            if (job->col_index[c] >= 0) {
                snprintf(problem_column, sizeof problem_column, "%s", rec.fields[i]);
                snprintf(problem, sizeof problem, "Столбец «%.100s» встречается дважды", rec.fields[i]);
            }
            job->col_index[c] = (int)i;
            free(job->headers[c]);
            job->headers[c] = strdup(rec.fields[i]);
        }
        if (!known) {
            snprintf(problem_column, sizeof problem_column, "%s", rec.fields[i]);
            snprintf(problem, sizeof problem,
                     "Неизвестный столбец «%.100s»: переименуйте его по шаблону (/api/v1/import/templates/%s.csv) "
                     "или удалите",
                     rec.fields[i], job->kind == &registry_staff_kind ? "staff" : "organizations");
        }
    }
    for (size_t c = 0; c < job->n_columns && !*problem; c++)
        if (job->columns[c].required && job->col_index[c] < 0) {
            snprintf(problem_column, sizeof problem_column, "%s", job->columns[c].header_ru);
            snprintf(problem, sizeof problem, "Нет обязательного столбца «%s»", job->columns[c].header_ru);
        }
    if (*problem) {
        s_file_error(job, 1, problem_column, problem);
        csv_reader_destroy(&reader);
        return -1;
    }
    while ((rc = csv_reader_next(reader, &rec)) == 1) {
        if (job->n_rows >= REGISTRY_IMPORT_MAX_ROWS) {
            char text[200];
            snprintf(text, sizeof text,
                     "В файле больше %d строк: разбейте его на части (metodctl import делает это "
                     "сам)",
                     REGISTRY_IMPORT_MAX_ROWS);
            s_file_error(job, rec.row, "", text);
            csv_reader_destroy(&reader);
            return -1;
        }
        s_read_row(job, &rec);
    }
    if (rc < 0) {
        char text[400];
        snprintf(text, sizeof text, "%s. Файл не импортирован: исправьте его и загрузите снова",
                 csv_reader_error(reader));
        s_file_error(job, csv_reader_error_row(reader), "", text);
        csv_reader_destroy(&reader);
        return -1;
    }
    csv_reader_destroy(&reader);

    /* 2. duplicate external ids within the file: every such row is refused */
    import_map seen = {0};
    for (size_t i = 0; i < job->n_rows; i++) {
        const char *xid = pbfield_string(job->rows[i].draft, "external_id");
        if (!xid || !*xid)
            continue;
        size_t first = registry_import_map_put(&seen, xid, i);
        if (first != i) {
            import_row *a = &job->rows[first], *b = &job->rows[i];
            const char *header = registry_import_header_of(job, "external_id");
            registry_import_add_error(job, b->row, header,
                                      "Внешний идентификатор «%.80s» повторяется в файле (также строка %zu)", xid,
                                      a->row);
            if (!a->duplicate_reported) {
                /* the first row is reported once, however often its id repeats */
                registry_import_add_error(job, a->row, header,
                                          "Внешний идентификатор «%.80s» повторяется в файле (также строка %zu)", xid,
                                          b->row);
                a->duplicate_reported = true;
            }
            registry_import_reject(job, a);
            registry_import_reject(job, b);
        }
    }
    registry_import_map_free(&seen);

    return 0;
}

/* ---------- the entry ---------- */

static void s_import_budget(int status, int left, int32_t retry_after_seconds, void *ud);

void registry_import_run(service_call *call, const ProtobufCMessage *request, entity_store *store, audit *audit,
                         registry_claim_guard *guard, const registry_kind *kind)
{
    const Metodnet__ImportRequest *req = (const Metodnet__ImportRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    import_job *job = xcalloc(1, sizeof *job);
    job->call = call;
    job->store = store;
    job->audit = audit;
    job->guard = guard;
    job->request = req;
    job->kind = kind;
    job->dry_run = req->dry_run;
    job->columns = registry_import_columns(kind, &job->n_columns);
    for (size_t i = 0; i < IMPORT_MAX_COLUMNS; i++)
        job->col_index[i] = -1;

    const char *region = req->region_id && *req->region_id ? req->region_id : caller->region_id;
    char parsed[8];
    if (region == NULL || !*region || !registry_region_of(region, parsed, sizeof parsed) ||
        strcmp(parsed, region) != 0) {
        validation v;
        validation_init(&v);
        validation_add(&v, "regionId", "Укажите регион (regionId): две цифры, например «07»");
        service_call_fail_validation(call, &v);
        validation_free(&v);
        registry_import_job_free(job);
        return;
    }
    snprintf(job->region, sizeof job->region, "%s", parsed);
    /* a school system's key only reads, and a person (scope self) edits their own record through the API
     * with its field limits: neither imports (a row matched by external id would bypass those limits) */
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM ||
        caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                          "Импорт недоступен: нужны права администратора или методиста");
        registry_import_job_free(job);
        return;
    }
    if (!scope_is_global(caller) && strcmp(job->region, caller->region_id ? caller->region_id : "") != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                          "Импорт возможен только в свой регион");
        registry_import_job_free(job);
        return;
    }
    /* every row names an external id: over the limit of refusals, the file is not looked at */
    if (registry_claim_guard_budget(guard, call, s_import_budget, job) != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
    }
}

static void s_import_budget(int status, int left, int32_t retry_after_seconds, void *ud)
{
    import_job *job = ud;
    service_call *call = job->call;
    const Metodnet__ImportRequest *req = job->request;
    const registry_kind *kind = job->kind;
    entity_store *store = job->store;
    if (status != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
        return;
    }
    if (left <= 0) {
        service_call_fail_retry_after(call, REGISTRY_CLAIM_LIMIT_RU, retry_after_seconds);
        registry_import_job_free(job);
        return;
    }
    job->refusals_left = left;
    if (s_read_sheet(job, req->csv.data, req->csv.len) != 0) {
        registry_import_finish(job);
        return;
    }

    /* 3. references, then 4. existing ids, then 5. rows */
    if (kind == &registry_organization_kind) {
        registry_import_municipalities_page(job);
        return;
    }
    for (size_t i = 0; i < job->n_rows; i++) {
        import_row *row = &job->rows[i];
        if (row->rejected)
            continue;
        for (size_t j = 0; j < row->n_refs; j++) {
            size_t k;
            if (registry_import_map_get(&job->ref_map, row->refs[j], &k))
                continue;
            if (job->n_refs == job->cap_refs) {
                job->cap_refs = job->cap_refs ? job->cap_refs * 2 : 64;
                job->refs = xrealloc(job->refs, job->cap_refs * sizeof *job->refs);
            }
            import_ref *ref = &job->refs[job->n_refs];
            memset(ref, 0, sizeof *ref);
            ref->ref = strdup(row->refs[j]);
            registry_import_map_put(&job->ref_map, ref->ref, job->n_refs);
            job->n_refs++;
        }
    }
    if (job->n_refs == 0) {
        job->claims_done = 0;
        registry_import_claims_batch(job);
        return;
    }
    const char **values = xmalloc(job->n_refs * sizeof *values);
    for (size_t i = 0; i < job->n_refs; i++)
        values[i] = job->refs[i].ref;
    char key[REGISTRY_KEY_MAX];
    registry_claims_key(&registry_organization_kind, job->region, key, sizeof key);
    int rc = entity_store_claim_owners(store, key, values, job->n_refs, registry_import_on_org_claims, job);
    free(values);
    if (rc != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, registry_import_unavailable_ru);
        registry_import_job_free(job);
    }
}

/* ---------- the checks before the store, on their own ---------- */

struct registry_import_sheet {
    import_job *job;
};

registry_import_sheet *registry_import_sheet_read(const registry_kind *kind, const uint8_t *csv, size_t len)
{
    registry_import_sheet *sheet = calloc(1, sizeof *sheet);
    import_job *job = calloc(1, sizeof *job);
    if (!sheet || !job) {
        free(sheet);
        free(job);
        return NULL;
    }
    job->kind = kind;
    job->columns = registry_import_columns(kind, &job->n_columns);
    for (size_t i = 0; i < IMPORT_MAX_COLUMNS; i++)
        job->col_index[i] = -1;
    s_read_sheet(job, csv, len);
    s_sort_errors(job);
    sheet->job = job;
    return sheet;
}

void registry_import_sheet_destroy(registry_import_sheet **sheet)
{
    if (sheet == NULL || *sheet == NULL)
        return;
    registry_import_job_free((*sheet)->job);
    free(*sheet);
    *sheet = NULL;
}

bool registry_import_sheet_refused(const registry_import_sheet *sheet)
{
    return sheet->job->file_refused;
}

size_t registry_import_sheet_rows(const registry_import_sheet *sheet)
{
    return sheet->job->n_rows;
}

const ProtobufCMessage *registry_import_sheet_row(const registry_import_sheet *sheet, size_t i, size_t *row,
                                                  bool *rejected)
{
    if (i >= sheet->job->n_rows)
        return NULL;
    const import_row *r = &sheet->job->rows[i];
    if (row)
        *row = r->row;
    if (rejected)
        *rejected = r->rejected;
    return r->draft;
}

const char *registry_import_sheet_ref(const registry_import_sheet *sheet, size_t i, size_t k)
{
    if (i >= sheet->job->n_rows || k >= sheet->job->rows[i].n_refs)
        return NULL;
    return sheet->job->rows[i].refs[k];
}

size_t registry_import_sheet_errors(const registry_import_sheet *sheet)
{
    return sheet->job->n_errors;
}

const Metodnet__ImportError *registry_import_sheet_error(const registry_import_sheet *sheet, size_t i)
{
    return i < sheet->job->n_errors ? sheet->job->errors[i] : NULL;
}
