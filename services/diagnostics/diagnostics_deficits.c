/* diagnostics_deficits — the summary of deficits (issue 12; 002 задача 1: the municipal service
 * analyses the diagnostics and plans the year from them): GetDeficitSummary and its CSV,
 * ExportDeficitSummary. For a campaign: its completed attempts; for a scope (the region, a municipality,
 * an organization): the latest result of each person. Only people in the caller's scope are counted;
 * the counting and ranking are diagnostics_rules.c's. */
#include "diagnostics_internal.h"
#include "csv.h"
#include "xalloc.h"

#define SUMMARY_MAX_PAGES 200 /* 100,000 results of 500 a page */

typedef struct {
    char *staff_id;
    char *completed_at;
    Metodnet__Attempt *attempt;
} latest_entry;

/* The summary's state, owned by the op (o->state, freed with it). */
typedef struct {
    Metodnet__DeficitSummary *summary;
    latest_entry *latest; /* scope mode: every result read, the latest per person kept at the end */
    size_t n_latest;
    char index[DIAG_KEY_MAX];
    char prefix[DIAG_KEY_MAX];
    char tokens_text[2][96];
    const char *tokens[2];
    size_t n_tokens;
    bool by_campaign;
    bool csv;
} summary_state;

static const char *const s_denied_ru = "Сводку дефицитов смотрят методисты, администрация школ и региональный оператор";

static void s_state_free(void *p)
{
    summary_state *st = p;
    if (st == NULL)
        return;
    diag_free_message(st->summary);
    for (size_t i = 0; i < st->n_latest; i++) {
        free(st->latest[i].staff_id);
        free(st->latest[i].completed_at);
        diag_free_message(st->latest[i].attempt);
    }
    free(st->latest);
    free(st);
}

static summary_state *s_state(op *o)
{
    return (summary_state *)o->state;
}

static void s_add(summary_state *st, const Metodnet__Attempt *a)
{
    const Metodnet__Result *r = a->result;
    if (r->n_subjects > 0)
        diag_deficit_summary_add(st->summary, r, r->subjects, r->n_subjects);
    else
        diag_deficit_summary_add(st->summary, r, a->subjects, a->n_subjects);
}

static int s_latest_order(const void *x, const void *y)
{
    const latest_entry *a = x, *b = y;
    int c = strcmp(a->staff_id, b->staff_id);
    return c ? c : -strcmp(a->completed_at, b->completed_at); /* newest first within a person */
}

static void s_reply(op *o)
{
    summary_state *st = s_state(o);
    if (!st->by_campaign && st->n_latest > 0) {
        qsort(st->latest, st->n_latest, sizeof *st->latest, s_latest_order);
        for (size_t i = 0; i < st->n_latest; i++)
            if (i == 0 || strcmp(st->latest[i].staff_id, st->latest[i - 1].staff_id) != 0)
                s_add(st, st->latest[i].attempt);
    }
    diag_deficit_summary_finish(st->summary);
    if (!st->csv) {
        diag_reply(o, &st->summary->base);
        return;
    }
    csv_writer *w = csv_writer_new();
    if (w == NULL) {
        diag_fail(o, CODE(INTERNAL), "Не хватило памяти для файла");
        return;
    }
    static const char *const header[] = {
        "Разрез", "Организация", "Предмет", "Компетенция", "Человек с дефицитом", "Оценено человек", "Доля, %"};
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        csv_writer_field(w, header[i]);
    csv_writer_end_row(w);
    int rows = 0;
    char people[16], assessed[16], percent[16];
    const Metodnet__DeficitSummary *s = st->summary;
    snprintf(assessed, sizeof assessed, "%d", s->people);
    for (size_t i = 0; i < s->n_deficits; i++, rows++) {
        snprintf(people, sizeof people, "%d", s->deficits[i]->people);
        snprintf(percent, sizeof percent, "%.1f", s->deficits[i]->percent);
        const char *row[] = {"всего", "", "", s->deficits[i]->competence, people, assessed, percent};
        for (size_t k = 0; k < 7; k++)
            csv_writer_field(w, row[k]);
        csv_writer_end_row(w);
    }
    for (int part = 0; part < 2; part++) {
        Metodnet__DeficitGroup **groups = part == 0 ? s->organizations : s->subjects;
        size_t n = part == 0 ? s->n_organizations : s->n_subjects;
        for (size_t g = 0; g < n; g++) {
            snprintf(assessed, sizeof assessed, "%d", groups[g]->people);
            for (size_t i = 0; i < groups[g]->n_deficits; i++, rows++) {
                const Metodnet__DeficitCount *c = groups[g]->deficits[i];
                snprintf(people, sizeof people, "%d", c->people);
                snprintf(percent, sizeof percent, "%.1f", c->percent);
                const char *subject = part == 1 ? (*groups[g]->subject ? groups[g]->subject : "не указан") : "";
                const char *row[] = {part == 0 ? "организация" : "предмет",
                                     groups[g]->organization_id,
                                     subject,
                                     c->competence,
                                     people,
                                     assessed,
                                     percent};
                for (size_t k = 0; k < 7; k++)
                    csv_writer_field(w, row[k]);
                csv_writer_end_row(w);
            }
        }
    }
    size_t len;
    const char *data = csv_writer_data(w, &len);
    char filename[96];
    snprintf(filename, sizeof filename, "deficits-%s.csv",
             *s->campaign_id       ? s->campaign_id
             : *s->organization_id ? s->organization_id
             : *s->municipality_id ? s->municipality_id
                                   : s->region_id);
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    file.csv.data = (uint8_t *)data;
    file.csv.len = len;
    file.filename = filename;
    file.rows = rows;
    diag_reply(o, &file.base);
    csv_writer_destroy(&w);
}

static void s_page(op *o, const char *after);

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    op *o = ud;
    summary_state *st = s_state(o);
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "результаты для сводки не получены: %s", error ? error : "?");
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Metodnet__Attempt *a = metodnet__attempt__unpack(NULL, items[i].len, items[i].data);
        if (a == NULL)
            continue;
        bool counted = a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && a->result &&
                       diag_attempt_allows(o->caller, a, SCOPE_READ);
        if (counted && st->by_campaign) {
            s_add(st, a);
        } else if (counted) {
            st->latest = xrealloc(st->latest, (st->n_latest + 1) * sizeof *st->latest);
            latest_entry *e = &st->latest[st->n_latest++];
            e->staff_id = diag_strdup(a->staff_id);
            e->completed_at = diag_strdup(a->result->completed_at);
            e->attempt = a;
            continue;
        }
        metodnet__attempt__free_unpacked(a, NULL);
    }
    if (next_member && ++o->pages < SUMMARY_MAX_PAGES) {
        char after[CURSOR_MAX_MEMBER + 1];
        snprintf(after, sizeof after, "%s", next_member);
        s_page(o, after);
        return;
    }
    if (next_member)
        log_warn(service_call_request_id(o->call), "сводка дефицитов ограничена %d страницами", SUMMARY_MAX_PAGES);
    s_reply(o);
}

static void s_page(op *o, const char *after)
{
    summary_state *st = s_state(o);
    entity_list_query q = {.index_key = st->index,
                           .after_member = after,
                           .entity_key_prefix = st->prefix,
                           .required_tokens = st->tokens,
                           .n_required_tokens = st->n_tokens,
                           .limit = 500};
    if (entity_store_list(o->d->store, &q, s_listed, o) != 0)
        diag_fail(o, CODE(UNAVAILABLE), diag_unavailable_ru);
}

static void s_campaign_loaded(op *o)
{
    summary_state *st = s_state(o);
    Metodnet__Campaign *c = (Metodnet__Campaign *)o->current;
    if (!diag_region_readable(o->caller, c->region_id)) {
        diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
        return;
    }
    diag_set(&st->summary->region_id, c->region_id);
    snprintf(st->index, sizeof st->index, "diag:{r:%s}:ix:attempt:campaign:%s", c->region_id, c->id);
    snprintf(st->prefix, sizeof st->prefix, "diag:{r:%s}:attempt:", c->region_id);
    s_page(o, NULL);
}

static bool s_may_read(const Metodnet__Principal *caller)
{
    return scope_is_global(caller) || caller->role == METODNET__ROLE__ROLE_REGION_ADMIN ||
           caller->role == METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST ||
           caller->role == METODNET__ROLE__ROLE_SCHOOL_ADMIN;
}

void diag_deficit_summary(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__DeficitSummaryRequest *req = (const Metodnet__DeficitSummaryRequest *)request;
    op *o = diag_op_new(ud, call, request);
    summary_state *st = xcalloc(1, sizeof *st);
    o->state = st;
    o->state_free = s_state_free;
    const ProtobufCMethodDescriptor *method = service_call_method(call);
    st->csv = method && strcmp(method->name, "ExportDeficitSummary") == 0;
    st->summary = xmalloc(sizeof *st->summary);
    metodnet__deficit_summary__init(st->summary);
    if (!s_may_read(o->caller)) {
        diag_fail(o, CODE(PERMISSION_DENIED), s_denied_ru);
        return;
    }
    struct {
        const char *value, *field, *marker;
    } scopes[] = {{req->municipality_id, "municipalityId", "-m"}, {req->organization_id, "organizationId", "-o"}};
    size_t given = (*req->campaign_id != 0) + (*req->municipality_id != 0) + (*req->organization_id != 0);
    if (given > 1)
        validation_add(&o->v, "campaignId", "Укажите одно: кампанию, муниципалитет или организацию");
    for (size_t i = 0; i < 2; i++)
        if (*scopes[i].value && (!id_valid(scopes[i].value) || strncmp(scopes[i].value + 2, scopes[i].marker, 2) != 0))
            validation_add(&o->v, scopes[i].field, "Неверный идентификатор");
    if (*req->region_id && strlen(req->region_id) != 2)
        validation_add(&o->v, "regionId", "Регион — две цифры, например «07»");
    if (!validation_ok(&o->v)) {
        diag_fail_validation(o);
        return;
    }
    if (*req->campaign_id) {
        st->by_campaign = true;
        diag_set(&st->summary->campaign_id, req->campaign_id);
        char key[DIAG_KEY_MAX];
        if (!diag_key("campaign", req->campaign_id, "-c", key, sizeof key)) {
            diag_fail(o, CODE(NOT_FOUND), diag_campaign_not_found_ru);
            return;
        }
        diag_load(o, key, &metodnet__campaign__descriptor, &o->current, diag_campaign_not_found_ru, s_campaign_loaded);
        return;
    }
    const char *hint = *req->municipality_id ? req->municipality_id : req->organization_id;
    if (!diag_list_region(o, *hint ? hint : req->region_id)) {
        diag_fail_validation(o);
        return;
    }
    if (!diag_region_readable(o->caller, o->region)) {
        diag_fail(o, CODE(NOT_FOUND), "Регион не найден");
        return;
    }
    diag_set(&st->summary->region_id, o->region);
    diag_set(&st->summary->municipality_id, req->municipality_id);
    diag_set(&st->summary->organization_id, req->organization_id);
    if (*req->municipality_id)
        snprintf(st->tokens_text[st->n_tokens++], sizeof st->tokens_text[0], "|mun:%s|", req->municipality_id);
    else if (*req->organization_id)
        snprintf(st->tokens_text[st->n_tokens++], sizeof st->tokens_text[0], "|org:%s|", req->organization_id);
    diag_scope_token(o->caller, st->tokens_text[st->n_tokens], sizeof st->tokens_text[0]);
    if (st->tokens_text[st->n_tokens][0])
        st->n_tokens++;
    for (size_t i = 0; i < st->n_tokens; i++)
        st->tokens[i] = st->tokens_text[i];
    snprintf(st->index, sizeof st->index, "diag:{r:%s}:ix:result", o->region);
    snprintf(st->prefix, sizeof st->prefix, "diag:{r:%s}:attempt:", o->region);
    s_page(o, NULL);
}
