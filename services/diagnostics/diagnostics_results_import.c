/* diagnostics_results_import — ImportResults and ImportResultsTemplate: the import job that resolves
 * people through the registry and writes one attempt per row (the file itself is read by
 * diagnostics_import). */
#include "diagnostics_internal.h"
#include "xalloc.h"

/* ---------- import of results from an external diagnostic centre (docs/import.md) ----------
 *
 * campaign (independent, open or closed; the caller a region administrator or a methodologist) →
 * its instrument at the pinned version → the file read into rows (diagnostics_import) → people
 * resolved by id or external id through the registry (ResolveStaff, 1000 refs a call, as the system;
 * scope is checked here on each person for the caller) → a person named by two rows rejects both →
 * rows with at most IMPORT_WINDOW in flight: load the person's attempt of the campaign, decide
 * (create / complete an assignment / replace an earlier import / unchanged / refuse over a result
 * taken on the platform), one entity_store write per row with the result.completed event. */

#define IMPORT_WINDOW        32
#define IMPORT_RESOLVE_BATCH 1000

typedef struct {
    diag_import_row *row;
    Metodnet__StaffMember *staff; /* borrowed from the job */
} import_item;

typedef struct {
    op *o; /* call, caller, campaign (o->current), instrument */
    bool dry_run;
    diag_import_sheet sheet;
    Metodnet__StaffMember **staff; /* resolved, owned */
    size_t n_staff;
    char **refs; /* distinct refs to resolve (borrowed from rows) */
    size_t n_refs, next_ref;
    import_item *items; /* one per row */
    size_t next_row, in_flight;
    int created, updated, unchanged, rejected;
    bool store_failed, pumping, finished;
} import_job;

typedef struct {
    import_job *job;
    import_item *item;
    Metodnet__Attempt *current;
    Metodnet__Attempt *next;
} import_task;

static void s_import_job_free(import_job *job)
{
    diag_import_sheet_free(&job->sheet);
    for (size_t i = 0; i < job->n_staff; i++)
        diag_free_message(job->staff[i]);
    free(job->staff);
    free(job->refs);
    free(job->items);
    diag_op_free(job->o);
    free(job);
}

static void s_import_reject(import_job *job, diag_import_row *row)
{
    if (!row->rejected) {
        row->rejected = true;
        job->rejected++;
    }
}

static void s_import_finish(import_job *job)
{
    job->finished = true;
    diag_import_errors_sort(&job->sheet);
    Metodnet__ImportReport report = METODNET__IMPORT_REPORT__INIT;
    size_t n = job->sheet.n_errors;
    Metodnet__ImportError *errors = calloc(n ? n : 1, sizeof *errors);
    Metodnet__ImportError **pointers = calloc(n ? n : 1, sizeof *pointers);
    if (errors == NULL || pointers == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        metodnet__import_error__init(&errors[i]);
        errors[i].row = (int32_t)job->sheet.errors[i].row;
        errors[i].column = job->sheet.errors[i].column;
        errors[i].message = job->sheet.errors[i].message;
        pointers[i] = &errors[i];
    }
    report.rows = (int32_t)job->sheet.n_rows;
    report.created = job->created;
    report.updated = job->updated;
    report.unchanged = job->unchanged;
    report.rejected = job->rejected;
    report.errors = pointers;
    report.n_errors = n;
    report.errors_truncated = job->sheet.errors_truncated;
    report.dry_run = job->dry_run;
    service_call_reply(job->o->call, &report.base);
    free(errors);
    free(pointers);
    s_import_job_free(job);
}

static void s_import_pump(import_job *job);

static void s_import_task_done(import_task *t)
{
    import_job *job = t->job;
    diag_free_message(t->current);
    diag_free_message(t->next);
    free(t);
    job->in_flight--;
    if (!job->pumping)
        s_import_pump(job);
}

static void s_import_written(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    import_task *t = ud;
    import_job *job = t->job;
    diag_import_row *row = t->item->row;
    switch (result) {
    case ENTITY_OK: {
        bool replaced = t->current && t->current->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
        if (replaced)
            job->updated++;
        else
            job->created++;
        diag_audit(job->o->d, job->o->call, replaced ? "update" : "create", "result", t->next->id, job->o->region);
        break;
    }
    case ENTITY_EXISTS:
    case ENTITY_VERSION_MISMATCH:
    case ENTITY_NOT_FOUND:
        diag_import_error_add(&job->sheet, row->row, "",
                              "Результат этого сотрудника изменился во время импорта; повторите импорт");
        s_import_reject(job, row);
        break;
    default:
        log_error(service_call_request_id(job->o->call), "импорт результатов: строка %zu не записана: %s", row->row,
                  error ? error : "?");
        job->store_failed = true;
        diag_import_error_add(&job->sheet, row->row, "", "%s", diag_unavailable_ru);
        s_import_reject(job, row);
        break;
    }
    s_import_task_done(t);
}

static void s_import_attempt_loaded(entity_result result, const uint8_t *data, size_t len, int64_t stored_version,
                                    const char *error, void *ud)
{
    (void)stored_version;
    import_task *t = ud;
    import_job *job = t->job;
    op *o = job->o;
    diag_import_row *row = t->item->row;
    const Metodnet__StaffMember *staff = t->item->staff;
    const Metodnet__Campaign *campaign = (const Metodnet__Campaign *)o->current;
    if (result == ENTITY_OK) {
        t->current = metodnet__attempt__unpack(NULL, len, data);
        if (t->current == NULL) {
            diag_import_error_add(&job->sheet, row->row, "", "%s", diag_corrupt_ru);
            s_import_reject(job, row);
            s_import_task_done(t);
            return;
        }
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(o->call), "импорт результатов: попытка не прочитана: %s",
                  error ? error : "?");
        job->store_failed = true;
        diag_import_error_add(&job->sheet, row->row, "", "%s", diag_unavailable_ru);
        s_import_reject(job, row);
        s_import_task_done(t);
        return;
    }
    Metodnet__Attempt *cur = t->current;
    if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && cur->result &&
        strcmp(cur->result->source, "import") != 0) {
        diag_import_error_add(&job->sheet, row->row, "",
                              "Сотрудник уже прошёл эту диагностику на платформе: импорт не заменяет его результат");
        s_import_reject(job, row);
        s_import_task_done(t);
        return;
    }
    char attempt_id[72], key[DIAG_KEY_MAX], now[40];
    diag_attempt_id(campaign->id, staff->id, attempt_id, sizeof attempt_id);
    diag_key("attempt", attempt_id, "-c", key, sizeof key);
    Metodnet__Result *r = diag_import_result(o->instrument, row);
    diag_set(&r->id, attempt_id);
    diag_set(&r->region_id, campaign->region_id);
    diag_set(&r->staff_id, staff->id);
    diag_set(&r->campaign_id, campaign->id);
    diag_set(&r->instrument_id, campaign->instrument_id);
    r->instrument_version = campaign->instrument_version;
    diag_copy_strings(&r->organization_ids, &r->n_organization_ids, staff->organization_ids, staff->n_organization_ids);
    diag_copy_strings(&r->municipality_ids, &r->n_municipality_ids, staff->municipality_ids, staff->n_municipality_ids);
    diag_copy_strings(&r->subjects, &r->n_subjects, staff->subjects, staff->n_subjects);
    if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && diag_import_same(cur->result, r)) {
        diag_free_message(r);
        job->unchanged++;
        s_import_task_done(t);
        return;
    }
    if (job->dry_run) {
        diag_free_message(r);
        if (cur && cur->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED)
            job->updated++;
        else
            job->created++;
        s_import_task_done(t);
        return;
    }
    diag_now(now, sizeof now);
    if (cur) {
        t->next = (Metodnet__Attempt *)pbfield_clone(&cur->base);
    } else {
        t->next = xmalloc(sizeof *t->next);
        metodnet__attempt__init(t->next);
        diag_set(&t->next->id, attempt_id);
        diag_set(&t->next->region_id, campaign->region_id);
        diag_set(&t->next->campaign_id, campaign->id);
        diag_set(&t->next->staff_id, staff->id);
        diag_set(&t->next->instrument_id, campaign->instrument_id);
        t->next->instrument_version = campaign->instrument_version;
    }
    Metodnet__Attempt *next = t->next;
    next->status = METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED;
    if (*next->started_at == '\0')
        diag_set(&next->started_at, r->completed_at);
    diag_set(&next->submitted_at, now);
    for (size_t i = 0; i < next->n_answers; i++)
        diag_free_message(next->answers[i]);
    free(next->answers);
    next->answers = NULL;
    next->n_answers = 0;
    diag_copy_strings(&next->organization_ids, &next->n_organization_ids, staff->organization_ids,
                      staff->n_organization_ids);
    diag_copy_strings(&next->municipality_ids, &next->n_municipality_ids, staff->municipality_ids,
                      staff->n_municipality_ids);
    diag_copy_strings(&next->subjects, &next->n_subjects, staff->subjects, staff->n_subjects);
    diag_free_message(next->result);
    next->result = r;
    int64_t version = cur ? cur->version + 1 : 1;
    diag_stamp(&next->base, version);
    diag_layout old_layout = {0}, new_layout = {0};
    if (cur)
        diag_attempt_layout(cur, &old_layout);
    diag_attempt_layout(next, &new_layout);
    diag_write w = {.key = key,
                    .entity = &next->base,
                    .expected_version = cur ? cur->version : 0,
                    .new_version = version,
                    .old_layout = cur ? &old_layout : NULL,
                    .new_layout = &new_layout,
                    .event_type = "result.completed",
                    .event_entity_id = next->id,
                    .event_entity = &r->base};
    if (diag_store(o->d, o->call, &w, s_import_written, t) != 0)
        s_import_written(ENTITY_ERROR, 0, "запрос к Redis не отправлен", t);
}

static void s_import_pump(import_job *job)
{
    job->pumping = true;
    while (!job->store_failed && job->in_flight < IMPORT_WINDOW && job->next_row < job->sheet.n_rows) {
        import_item *item = &job->items[job->next_row++];
        if (item->row->rejected || item->staff == NULL)
            continue;
        char attempt_id[72], key[DIAG_KEY_MAX];
        if (!diag_attempt_id(((Metodnet__Campaign *)job->o->current)->id, item->staff->id, attempt_id,
                             sizeof attempt_id) ||
            !diag_key("attempt", attempt_id, "-c", key, sizeof key)) {
            diag_import_error_add(&job->sheet, item->row->row, "", "Неверный код сотрудника «%.40s»", item->staff->id);
            s_import_reject(job, item->row);
            continue;
        }
        import_task *t = xcalloc(1, sizeof *t);
        t->job = job;
        t->item = item;
        job->in_flight++;
        if (entity_store_get(job->o->d->store, key, s_import_attempt_loaded, t) != 0) {
            job->in_flight--;
            free(t);
            job->store_failed = true;
            diag_import_error_add(&job->sheet, item->row->row, "", "%s", diag_unavailable_ru);
            s_import_reject(job, item->row);
        }
    }
    job->pumping = false;
    if (job->in_flight == 0 && !job->finished) {
        if (job->store_failed) /* rows not reached are not stored: say so once */
            for (size_t i = job->next_row; i < job->sheet.n_rows; i++)
                if (!job->sheet.rows[i].rejected && job->items[i].staff) {
                    diag_import_error_add(&job->sheet, job->sheet.rows[i].row, "", "%s", diag_unavailable_ru);
                    s_import_reject(job, &job->sheet.rows[i]);
                }
        s_import_finish(job);
    }
}

static Metodnet__StaffMember *s_import_find(import_job *job, const char *ref, bool external)
{
    if (*ref == '\0')
        return NULL;
    for (size_t i = 0; i < job->n_staff; i++) {
        const Metodnet__StaffMember *s = job->staff[i];
        if (strcmp(external ? s->external_id : s->id, ref) == 0)
            return job->staff[i];
    }
    return NULL;
}

/* People of every row, scope, duplicates; then the rows. */
static void s_import_match(import_job *job)
{
    op *o = job->o;
    diag_import_sheet *sheet = &job->sheet;
    for (size_t i = 0; i < sheet->n_rows; i++) {
        diag_import_row *row = &sheet->rows[i];
        job->items[i].row = row;
        if (row->rejected)
            continue;
        Metodnet__StaffMember *by_id = s_import_find(job, row->staff_id, false);
        Metodnet__StaffMember *by_external = s_import_find(job, row->external_id, true);
        const char *column = *row->staff_id ? sheet->staff_header : sheet->external_header;
        const char *ref = *row->staff_id ? row->staff_id : row->external_id;
        Metodnet__StaffMember *s = *row->staff_id ? by_id : by_external;
        if (s == NULL || (*row->staff_id && *row->external_id && by_external == NULL)) {
            if (s != NULL) {
                column = sheet->external_header;
                ref = row->external_id;
            }
            diag_import_error_add(sheet, row->row, column, "Сотрудник «%.80s» не найден в реестре региона", ref);
            s_import_reject(job, row);
            continue;
        }
        if (*row->staff_id && *row->external_id && by_id != by_external) {
            diag_import_error_add(sheet, row->row, sheet->external_header,
                                  "Внешний идентификатор «%.80s» принадлежит другому сотруднику, не «%.40s»",
                                  row->external_id, row->staff_id);
            s_import_reject(job, row);
            continue;
        }
        if (!diag_person_allows(o->caller, o->region, s->id, s->organization_ids, s->n_organization_ids,
                                s->municipality_ids, s->n_municipality_ids, SCOPE_WRITE)) {
            bool readable = diag_person_allows(o->caller, o->region, s->id, s->organization_ids, s->n_organization_ids,
                                               s->municipality_ids, s->n_municipality_ids, SCOPE_READ);
            if (readable)
                diag_import_error_add(sheet, row->row, column, "Нет прав вносить результаты сотрудника «%.80s»", ref);
            else
                diag_import_error_add(sheet, row->row, column, "Сотрудник «%.80s» не найден в реестре региона", ref);
            s_import_reject(job, row);
            continue;
        }
        job->items[i].staff = s;
    }
    /* one person, one row: every row of a person named twice is refused */
    for (size_t i = 0; i < sheet->n_rows; i++) {
        if (job->items[i].staff == NULL)
            continue;
        char others[200] = "";
        bool twice = false;
        for (size_t j = 0; j < sheet->n_rows; j++)
            if (j != i && job->items[j].staff == job->items[i].staff) {
                size_t used = strlen(others);
                if (used < sizeof others - 16)
                    snprintf(others + used, sizeof others - used, "%s%zu", twice ? ", " : "", sheet->rows[j].row);
                twice = true;
            }
        if (twice) {
            diag_import_error_add(sheet, sheet->rows[i].row, "",
                                  "Сотрудник «%.40s» встречается в файле несколько раз (также строки %s): "
                                  "ни одна из этих строк не принята",
                                  job->items[i].staff->id, others);
            s_import_reject(job, &sheet->rows[i]);
        }
    }
    for (size_t i = 0; i < sheet->n_rows; i++)
        if (sheet->rows[i].rejected)
            job->items[i].staff = NULL;
    s_import_pump(job);
}

static void s_import_resolve_next(import_job *job);

static void s_import_resolved(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    import_job *job = ud;
    if (status->code != CODE(OK)) {
        log_error(service_call_request_id(job->o->call), "реестр не нашёл сотрудников для импорта: %s",
                  status->message ? status->message : "?");
        service_call_fail(job->o->call,
                          status->code == CODE(DEADLINE_EXCEEDED) ? CODE(DEADLINE_EXCEEDED) : CODE(UNAVAILABLE),
                          "Реестр кадров временно недоступен: ничего не импортировано, повторите позже");
        s_import_job_free(job);
        return;
    }
    const Metodnet__ResolveStaffResponse *list = (const Metodnet__ResolveStaffResponse *)response;
    Metodnet__StaffMember **grown = xrealloc(job->staff, (job->n_staff + list->n_items + 1) * sizeof *grown);
    job->staff = grown;
    for (size_t i = 0; i < list->n_items; i++) {
        if (list->items[i]->region_id == NULL || strcmp(list->items[i]->region_id, job->o->region) != 0 ||
            s_import_find(job, list->items[i]->id, false))
            continue;
        job->staff[job->n_staff] = (Metodnet__StaffMember *)pbfield_clone(&list->items[i]->base);
        job->n_staff++;
    }
    s_import_resolve_next(job);
}

static void s_import_resolve_next(import_job *job)
{
    if (job->next_ref >= job->n_refs) {
        s_import_match(job);
        return;
    }
    size_t n = job->n_refs - job->next_ref;
    if (n > IMPORT_RESOLVE_BATCH)
        n = IMPORT_RESOLVE_BATCH;
    Metodnet__ResolveStaffRequest req = METODNET__RESOLVE_STAFF_REQUEST__INIT;
    req.region_id = job->o->region;
    req.refs = job->refs + job->next_ref;
    req.n_refs = n;
    job->next_ref += n;
    service_client_request r = {.service = "registry",
                                .method = "ResolveStaff",
                                .request = &req.base,
                                .response = &metodnet__resolve_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(job->o->call),
                                .timeout_ms = 10000};
    if (service_client_call(job->o->d->registry, &r, s_import_resolved, job) != 0) {
        service_call_fail(job->o->call, CODE(UNAVAILABLE), "Реестр кадров временно недоступен");
        s_import_job_free(job);
    }
}

static void s_import_add_ref(import_job *job, char *ref)
{
    if (*ref == '\0')
        return;
    for (size_t i = 0; i < job->n_refs; i++)
        if (strcmp(job->refs[i], ref) == 0)
            return;
    job->refs[job->n_refs++] = ref;
}

static void s_import_instrument_ready(op *o)
{
    const Metodnet__ImportResultsRequest *req = (const Metodnet__ImportResultsRequest *)o->request;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    int first = 0, last = 0;
    date_parse(c->starts_on, &first);
    date_parse(c->ends_on, &last);
    if (last > date_today())
        last = date_today();
    import_job *job = xcalloc(1, sizeof *job);
    job->o = o;
    job->dry_run = req->dry_run;
    diag_import_read(&job->sheet, (const char *)req->csv.data, req->csv.len, o->instrument, first, last);
    if (job->sheet.file_rejected) {
        job->rejected = (int)job->sheet.n_rows;
        s_import_finish(job);
        return;
    }
    for (size_t i = 0; i < job->sheet.n_rows; i++)
        if (job->sheet.rows[i].rejected)
            job->rejected++;
    job->items = calloc(job->sheet.n_rows + 1, sizeof *job->items);
    job->refs = calloc(2 * job->sheet.n_rows + 1, sizeof *job->refs);
    if (job->items == NULL || job->refs == NULL)
        abort();
    for (size_t i = 0; i < job->sheet.n_rows; i++) {
        if (job->sheet.rows[i].rejected)
            continue;
        s_import_add_ref(job, job->sheet.rows[i].staff_id);
        s_import_add_ref(job, job->sheet.rows[i].external_id);
    }
    s_import_resolve_next(job);
}

/* Who may import: the region's administrators (the regional centre works as one) and methodologists,
 * each for the people of their own scope. */
static bool s_may_import(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST;
}

/* The campaign of an import (or its template): readable, independent, opened; the caller may import. */
static bool s_import_campaign_ok(op *o)
{
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    if (!diag_region_readable(o->caller, c->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return false;
    }
    if (!s_may_import(o->caller)) {
        diag_fail(o, CODE(PERMISSION_DENIED),
                  "Результаты внешней диагностики вносит региональный оператор (ЦНППМ) или методист муниципалитета");
        return false;
    }
    if (c->kind != METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_INDEPENDENT) {
        diag_fail(o, CODE(CONFLICT), "Результаты внешнего центра вносятся только в кампанию независимой диагностики");
        return false;
    }
    if (c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_OPEN &&
        c->status != METODNET__CAMPAIGN_STATUS__CAMPAIGN_STATUS_CLOSED) {
        diag_fail(o, CODE(CONFLICT), "Кампания ещё не открыта: откройте её, чтобы закрепить версию инструмента");
        return false;
    }
    snprintf(o->region, sizeof o->region, "%s", c->region_id);
    return true;
}

static void s_import_campaign_loaded(op *o)
{
    if (!s_import_campaign_ok(o))
        return;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    diag_instrument_at(o, c->instrument_id, c->instrument_version, s_import_instrument_ready);
}

static void s_import_begin(service_call *call, const ProtobufCMessage *request, void *ud, const char *campaign_id,
                           op_step then)
{
    op *o = diag_op_new(ud, call, request);
    char key[DIAG_KEY_MAX];
    if (campaign_id == NULL || *campaign_id == '\0') {
        validation_add(&o->v, "campaignId", "Укажите кампанию (campaignId), в которую вносятся результаты");
        diag_fail_validation(o);
        return;
    }
    if (!diag_key("campaign", campaign_id, "-c", key, sizeof key)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru, then);
}

void diag_import_results(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ImportResultsRequest *req = (const Metodnet__ImportResultsRequest *)request;
    s_import_begin(call, request, ud, req->campaign_id, s_import_campaign_loaded);
}

static void s_import_template_ready(op *o)
{
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    size_t len;
    char *csv = diag_import_template(o->instrument, &len);
    char filename[96];
    snprintf(filename, sizeof filename, "results-%s.csv", c->id);
    file.csv.data = (uint8_t *)csv;
    file.csv.len = len;
    file.filename = filename;
    file.rows = 1;
    diag_reply(o, &file.base);
    free(csv);
}

static void s_import_template_loaded(op *o)
{
    if (!s_import_campaign_ok(o))
        return;
    const Metodnet__Campaign *c = (const Metodnet__Campaign *)o->current;
    diag_instrument_at(o, c->instrument_id, c->instrument_version, s_import_template_ready);
}

void diag_import_results_template(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ImportResultsTemplateRequest *req = (const Metodnet__ImportResultsTemplateRequest *)request;
    s_import_begin(call, request, ud, req->campaign_id, s_import_template_loaded);
}
