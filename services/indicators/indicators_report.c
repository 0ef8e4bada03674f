/* indicators_report — the yearly analytical report (аналитический отчёт) of a territory: every indicator
 * of the catalogue and the region's own ones for the year against its target and the previous year (both
 * computed), the values of the children (municipalities of a region, organizations of a municipality),
 * the addressed recommendations (asked of this service itself through the broker, as the caller: they are
 * generated and scoped exactly as GET /recommendations) and the completeness of the year's monitoring
 * campaigns (the monitoring service's CampaignFigures). As XLSX (sheets «Показатели», «По территориям»,
 * «Рекомендации», «Мониторинг») or as a printable HTML page (print CSS, dates ДД.ММ.ГГГГ, decimal commas,
 * every text escaped).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "clock.h"
#include "indicators_own.h"
#include "log.h"
#include "xalloc.h"
#include "html_page.h"

#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

static const char *const s_unavailable_ru = "Показатели временно недоступны, повторите запрос позже";

typedef struct {
    indicators_service *svc;
    service_call *call;
    char region[16], kind[16], scope[64], by[16], format[8], scope_name[300];
    int year;
    int step;
    Metodnet__ListIndicatorsResponse *names;
    Metodnet__GetIndicatorValuesResponse *now, *before;
    Metodnet__ListRecommendationsResponse *recs;
    Metodnet__CampaignFiguresResponse *camps;
} report_op;

static void s_report_free(report_op *o)
{
    ind_catalogue_free(o->names);
    ind_values_free(o->now);
    ind_values_free(o->before);
    if (o->recs)
        protobuf_c_message_free_unpacked(&o->recs->base, NULL);
    if (o->camps)
        protobuf_c_message_free_unpacked(&o->camps->base, NULL);
    free(o);
}

static void s_report_fail(report_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_report_free(o);
}

/* a copy of a borrowed message (pack + unpack) */
static ProtobufCMessage *s_copy(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    free(buf);
    return c;
}

/* ---------- what the report shows ---------- */

static const Metodnet__IndicatorValue *s_value(const Metodnet__GetIndicatorValuesResponse *r, const char *code)
{
    for (size_t i = 0; r && i < r->n_items; i++)
        if (strcmp(r->items[i]->indicator, code) == 0)
            return r->items[i];
    return NULL;
}

static const char *s_unit(const Metodnet__Indicator *d)
{
    return d->unit ? d->unit : "count";
}

/* "33,3 %", "12", "—" */
static void s_show(const Metodnet__Indicator *d, const Metodnet__IndicatorValue *v, char *out, size_t size)
{
    if (v == NULL || !v->has_value) {
        snprintf(out, size, "—");
        return;
    }
    char n[48];
    bool share = strcmp(s_unit(d), "share") == 0, number = strcmp(s_unit(d), "number") == 0;
    ind_format_number(v->value, number ? 2 : (share || fabs(v->value - round(v->value)) > 1e-9) ? 1 : 0, n, sizeof n);
    snprintf(out, size, "%s%s", n, share ? " %" : "");
}

static void s_show_target(const Metodnet__Indicator *d, char *out, size_t size)
{
    if (!d->has_target) {
        snprintf(out, size, "—");
        return;
    }
    char n[48];
    ind_format_number(d->target, 1, n, sizeof n);
    snprintf(out, size, "%s%s", n, strcmp(s_unit(d), "share") == 0 ? " %" : "");
}

/* the change against the previous year: "+2,5", "−1,0", "—" */
static void s_show_change(const Metodnet__IndicatorValue *a, const Metodnet__IndicatorValue *b, char *out, size_t size)
{
    if (!a || !b || !a->has_value || !b->has_value) {
        snprintf(out, size, "—");
        return;
    }
    double d = a->value - b->value;
    char n[48];
    ind_format_number(fabs(d), 1, n, sizeof n);
    snprintf(out, size, "%s%s", d > 1e-9 ? "+" : d < -1e-9 ? "−" : "", n);
}

static const char *s_met(const Metodnet__Indicator *d, const Metodnet__IndicatorValue *v)
{
    if (!d->has_target || !v || !v->has_value)
        return "—";
    return v->met ? "да" : "нет";
}

static const char *s_rec_status(Metodnet__RecommendationStatus s)
{
    switch (s) {
    case METODNET__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_ACCEPTED:
        return "принята";
    case METODNET__RECOMMENDATION_STATUS__RECOMMENDATION_STATUS_DONE:
        return "выполнена";
    default:
        return "направлена";
    }
}

static const char *s_campaign_status(Metodnet__MonitoringCampaignStatus s)
{
    return s == METODNET__MONITORING_CAMPAIGN_STATUS__MONITORING_CAMPAIGN_STATUS_CLOSED ? "закрыта" : "идёт";
}

/* The campaign's progress within the report's territory (NULL: not this territory's). */
static const Metodnet__MunicipalityProgress *s_progress(const report_op *o, const Metodnet__CampaignFigures *c)
{
    if (strcmp(o->kind, "region") == 0)
        return c->total;
    if (strcmp(o->kind, "municipality") != 0)
        return NULL;
    for (size_t i = 0; i < c->n_municipalities; i++)
        if (strcmp(c->municipalities[i]->municipality_id, o->scope) == 0)
            return c->municipalities[i];
    return NULL;
}

static const char *s_child_name(const report_op *o, const char *id)
{
    for (size_t i = 0; o->now && i < o->now->n_breakdown; i++)
        if (strcmp(o->now->breakdown[i]->scope_id, id) == 0 && o->now->breakdown[i]->scope_name &&
            o->now->breakdown[i]->scope_name[0])
            return o->now->breakdown[i]->scope_name;
    return id;
}

/* ---------- HTML ---------- */

/* <tr><td>…</td>…</tr> of n escaped cells */
static void s_row(html_page *b, const char *tag, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    html_raw(b, "<tr>");
    for (size_t i = 0; i < n; i++) {
        html_raw(b, "<");
        html_raw(b, tag);
        html_raw(b, ">");
        html_esc(b, va_arg(ap, const char *));
        html_raw(b, "</");
        html_raw(b, tag);
        html_raw(b, ">");
    }
    html_raw(b, "</tr>\n");
    va_end(ap);
}

static void s_today(char *out, size_t size)
{
    char iso[40];
    clock_rfc3339(clock_unix_ms(), iso, sizeof iso);
    ind_format_date(iso, out, size);
}

static int s_html(report_op *o, Metodnet__FileBody *file)
{
    html_page b = {0};
    char year[16], prev[16], today[16];
    snprintf(year, sizeof year, "%d", o->year);
    snprintf(prev, sizeof prev, "%d", o->year - 1);
    s_today(today, sizeof today);
    html_raw(&b, "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>");
    html_raw(&b, "Аналитический отчёт: ");
    html_esc(&b, o->scope_name);
    html_raw(&b, ", ");
    html_raw(&b, year);
    html_raw(&b, "</title>\n<style>\n"
                 "body{font-family:'PT Serif','Times New Roman',serif;font-size:12pt;margin:2em;color:#000}\n"
                 "h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}\n"
                 "table{border-collapse:collapse;width:100%;margin:.5em 0}\n"
                 "th,td{border:1px solid #555;padding:3px 6px;vertical-align:top}th{background:#eee}\n"
                 "td.n{text-align:right;white-space:nowrap}.muted{color:#555}\n"
                 "@media print{@page{size:A4 landscape;margin:15mm}body{margin:0}h2{page-break-after:avoid}"
                 "tr{page-break-inside:avoid}thead{display:table-header-group}}\n"
                 "</style></head><body>\n<h1>Аналитический отчёт о деятельности методической службы</h1>\n<p>");
    html_esc(&b, o->scope_name);
    html_raw(&b, " · ");
    html_raw(&b, year);
    html_raw(&b, " год · сформирован ");
    html_raw(&b, today);
    html_raw(&b, "</p>\n<h2>1. Показатели эффективности</h2>\n<table><thead>");
    s_row(&b, "th", 7, "Код", "Показатель", year, prev, "Изменение", "Цель", "Цель выполнена");
    html_raw(&b, "</thead><tbody>\n");
    for (size_t i = 0; o->names && i < o->names->n_items; i++) {
        const Metodnet__Indicator *d = o->names->items[i];
        const Metodnet__IndicatorValue *a = s_value(o->now, d->code), *p = s_value(o->before, d->code);
        char va[64], vp[64], ch[64], t[64];
        s_show(d, a, va, sizeof va);
        s_show(d, p, vp, sizeof vp);
        s_show_change(a, p, ch, sizeof ch);
        s_show_target(d, t, sizeof t);
        s_row(&b, "td", 7, d->code, d->name, va, vp, ch, t, s_met(d, a));
    }
    html_raw(&b, "</tbody></table>\n");
    if (o->now && o->now->n_breakdown > 0) {
        html_raw(&b, strcmp(o->by, "municipality") == 0 ? "<h2>2. По муниципалитетам</h2>\n"
                                                        : "<h2>2. По образовательным организациям</h2>\n");
        html_raw(&b, "<table><thead>");
        s_row(&b, "th", 5, "Территория", "Код", "Показатель", year, "Цель выполнена");
        html_raw(&b, "</thead><tbody>\n");
        for (size_t i = 0; i < o->now->n_breakdown; i++) {
            const Metodnet__IndicatorValue *v = o->now->breakdown[i];
            const Metodnet__Indicator *d = NULL;
            for (size_t k = 0; o->names && k < o->names->n_items && !d; k++)
                if (strcmp(o->names->items[k]->code, v->indicator) == 0)
                    d = o->names->items[k];
            if (d == NULL || (v->subject && v->subject[0]))
                continue;
            char va[64];
            s_show(d, v, va, sizeof va);
            s_row(&b, "td", 5, s_child_name(o, v->scope_id), d->code, d->name, va, s_met(d, v));
        }
        html_raw(&b, "</tbody></table>\n");
    }
    html_raw(&b, "<h2>3. Адресные рекомендации</h2>\n");
    if (o->recs == NULL || o->recs->n_items == 0) {
        html_raw(&b, "<p class=\"muted\">Все показатели с целями на уровне цели или выше — рекомендаций нет.</p>\n");
    } else {
        html_raw(&b, "<table><thead>");
        s_row(&b, "th", 6, "Показатель", "Адресат", "Рекомендация", "Охватить человек", "Срок", "Состояние");
        html_raw(&b, "</thead><tbody>\n");
        for (size_t i = 0; i < o->recs->n_items; i++) {
            const Metodnet__Recommendation *r = o->recs->items[i];
            char people[32], deadline[16], addressee[320];
            snprintf(people, sizeof people, "%lld", (long long)r->people_to_reach);
            ind_format_date(r->deadline, deadline, sizeof deadline);
            snprintf(addressee, sizeof addressee, "%s%s", r->addressee_name ? r->addressee_name : "",
                     r->shnor ? " (ШНОР)" : "");
            s_row(&b, "td", 6, r->indicator, addressee, r->text, people, deadline, s_rec_status(r->status));
        }
        html_raw(&b, "</tbody></table>\n");
    }
    html_raw(&b, "<h2>4. Мониторинг: полнота сдачи отчётов</h2>\n");
    size_t shown = 0;
    for (size_t i = 0; o->camps && i < o->camps->n_campaigns; i++)
        shown += s_progress(o, o->camps->campaigns[i]) != NULL;
    if (strcmp(o->kind, "organization") == 0) {
        html_raw(&b, "<p class=\"muted\">Полнота сдачи отчётов показывается в отчётах муниципалитета и региона.</p>\n");
    } else if (shown == 0) {
        html_raw(&b, "<p class=\"muted\">Кампаний мониторинга этого года по территории нет.</p>\n");
    } else {
        html_raw(&b, "<table><thead>");
        s_row(&b, "th", 8, "Кампания", "Период", "Срок сдачи", "Состояние", "Должны сдать", "Сдано", "Утверждено",
              "Полнота");
        html_raw(&b, "</thead><tbody>\n");
        for (size_t i = 0; i < o->camps->n_campaigns; i++) {
            const Metodnet__CampaignFigures *c = o->camps->campaigns[i];
            const Metodnet__MunicipalityProgress *p = s_progress(o, c);
            if (p == NULL)
                continue;
            char due[16], req[16], sub[16], appr[16], full[48];
            ind_format_date(c->deadline, due, sizeof due);
            snprintf(req, sizeof req, "%d", p->required);
            snprintf(sub, sizeof sub, "%d", p->submitted + p->approved);
            snprintf(appr, sizeof appr, "%d", p->approved);
            if (p->required > 0) {
                char n[32];
                ind_format_number(100.0 * p->approved / p->required, 1, n, sizeof n);
                snprintf(full, sizeof full, "%s %%", n);
            } else {
                snprintf(full, sizeof full, "—");
            }
            s_row(&b, "td", 8, c->title, c->period, due, s_campaign_status(c->status), req, sub, appr, full);
        }
        html_raw(&b, "</tbody></table>\n");
    }
    html_raw(&b, "</body></html>\n");
    file->content.data = (uint8_t *)b.data;
    file->content.len = b.len;
    return 0;
}

/* ---------- XLSX ---------- */

static int s_xlsx(report_op *o, Metodnet__FileBody *file)
{
    char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/metodnet-report-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    lxw_workbook *wb = workbook_new(path);
    if (wb == NULL) {
        unlink(path);
        return -1;
    }
    lxw_format *title = workbook_add_format(wb);
    format_set_bold(title);
    format_set_font_size(title, 14);
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    format_set_bg_color(head, 0xDDEBF7);
    format_set_border(head, LXW_BORDER_THIN);
    format_set_text_wrap(head);
    lxw_format *wrap = workbook_add_format(wb);
    format_set_text_wrap(wrap);
    format_set_align(wrap, LXW_ALIGN_VERTICAL_TOP);
    lxw_format *one = workbook_add_format(wb);
    format_set_num_format(one, "0.0");
    lxw_format *pct = workbook_add_format(wb);
    format_set_num_format(pct, "0.0%");
    char year[16], prev[16], today[16], heading[400];
    snprintf(year, sizeof year, "%d", o->year);
    snprintf(prev, sizeof prev, "%d", o->year - 1);
    s_today(today, sizeof today);

    lxw_worksheet *ws = workbook_add_worksheet(wb, "Показатели");
    snprintf(heading, sizeof heading, "Аналитический отчёт: %.200s, %d год (сформирован %s)", o->scope_name, o->year,
             today);
    worksheet_write_string(ws, 0, 0, heading, title);
    const char *h1[] = {"Код", "Показатель", "Единица", year, prev, "Изменение", "Цель", "Цель выполнена"};
    static const double w1[] = {9, 70, 12, 11, 11, 11, 9, 10};
    for (lxw_col_t c = 0; c < 8; c++) {
        worksheet_write_string(ws, 2, c, h1[c], head);
        worksheet_set_column(ws, c, c, w1[c], c == 1 ? wrap : NULL);
    }
    worksheet_freeze_panes(ws, 3, 0);
    lxw_row_t row = 3;
    for (size_t i = 0; o->names && i < o->names->n_items; i++, row++) {
        const Metodnet__Indicator *d = o->names->items[i];
        const Metodnet__IndicatorValue *a = s_value(o->now, d->code), *p = s_value(o->before, d->code);
        bool share = strcmp(s_unit(d), "share") == 0;
        worksheet_write_string(ws, row, 0, d->code, NULL);
        worksheet_write_string(ws, row, 1, d->name, wrap);
        worksheet_write_string(ws, row, 2,
                               share                             ? "%"
                               : strcmp(s_unit(d), "count") == 0 ? "количество"
                                                                 : "число",
                               NULL);
        if (a && a->has_value)
            worksheet_write_number(ws, row, 3, a->value, one);
        if (p && p->has_value)
            worksheet_write_number(ws, row, 4, p->value, one);
        if (a && p && a->has_value && p->has_value)
            worksheet_write_number(ws, row, 5, a->value - p->value, one);
        if (d->has_target)
            worksheet_write_number(ws, row, 6, d->target, one);
        worksheet_write_string(ws, row, 7, s_met(d, a), NULL);
    }

    lxw_worksheet *wc = workbook_add_worksheet(wb, "По территориям");
    const char *h2[] = {"Код территории", "Территория", "Показатель",    "Числитель",
                        "Знаменатель",    year,         "Цель выполнена"};
    static const double w2[] = {14, 40, 11, 11, 12, 10, 10};
    for (lxw_col_t c = 0; c < 7; c++) {
        worksheet_write_string(wc, 0, c, h2[c], head);
        worksheet_set_column(wc, c, c, w2[c], NULL);
    }
    worksheet_freeze_panes(wc, 1, 0);
    row = 1;
    for (size_t i = 0; o->now && i < o->now->n_breakdown; i++) {
        const Metodnet__IndicatorValue *v = o->now->breakdown[i];
        if (v->subject && v->subject[0])
            continue;
        const Metodnet__Indicator *d = NULL;
        for (size_t k = 0; o->names && k < o->names->n_items && !d; k++)
            if (strcmp(o->names->items[k]->code, v->indicator) == 0)
                d = o->names->items[k];
        if (d == NULL)
            continue;
        worksheet_write_string(wc, row, 0, v->scope_id, NULL);
        worksheet_write_string(wc, row, 1, s_child_name(o, v->scope_id), NULL);
        worksheet_write_string(wc, row, 2, v->indicator, NULL);
        worksheet_write_number(wc, row, 3, v->own ? v->numerator_value : (double)v->numerator, NULL);
        if (strcmp(s_unit(d), "count") != 0)
            worksheet_write_number(wc, row, 4, v->own ? v->denominator_value : (double)v->denominator, NULL);
        if (v->has_value)
            worksheet_write_number(wc, row, 5, v->value, one);
        worksheet_write_string(wc, row, 6, s_met(d, v), NULL);
        row++;
    }

    lxw_worksheet *wr = workbook_add_worksheet(wb, "Рекомендации");
    const char *h3[] = {"Показатель", "Адресат", "Рекомендация", "Охватить человек", "Срок", "Состояние", "ШНОР"};
    static const double w3[] = {11, 36, 80, 12, 12, 12, 7};
    for (lxw_col_t c = 0; c < 7; c++) {
        worksheet_write_string(wr, 0, c, h3[c], head);
        worksheet_set_column(wr, c, c, w3[c], c == 2 ? wrap : NULL);
    }
    row = 1;
    for (size_t i = 0; o->recs && i < o->recs->n_items; i++, row++) {
        const Metodnet__Recommendation *r = o->recs->items[i];
        char deadline[16];
        ind_format_date(r->deadline, deadline, sizeof deadline);
        worksheet_write_string(wr, row, 0, r->indicator, NULL);
        worksheet_write_string(wr, row, 1, r->addressee_name, NULL);
        worksheet_write_string(wr, row, 2, r->text, wrap);
        worksheet_write_number(wr, row, 3, (double)r->people_to_reach, NULL);
        worksheet_write_string(wr, row, 4, deadline, NULL);
        worksheet_write_string(wr, row, 5, s_rec_status(r->status), NULL);
        worksheet_write_string(wr, row, 6, r->shnor ? "да" : "", NULL);
    }

    lxw_worksheet *wm = workbook_add_worksheet(wb, "Мониторинг");
    const char *h4[] = {"Кампания",     "Период", "Срок сдачи", "Состояние",
                        "Должны сдать", "Сдано",  "Утверждено", "Полнота"};
    static const double w4[] = {50, 9, 12, 10, 12, 9, 11, 9};
    for (lxw_col_t c = 0; c < 8; c++) {
        worksheet_write_string(wm, 0, c, h4[c], head);
        worksheet_set_column(wm, c, c, w4[c], NULL);
    }
    row = 1;
    for (size_t i = 0; o->camps && i < o->camps->n_campaigns; i++) {
        const Metodnet__CampaignFigures *c = o->camps->campaigns[i];
        const Metodnet__MunicipalityProgress *p = s_progress(o, c);
        if (p == NULL)
            continue;
        char due[16];
        ind_format_date(c->deadline, due, sizeof due);
        worksheet_write_string(wm, row, 0, c->title, NULL);
        worksheet_write_string(wm, row, 1, c->period, NULL);
        worksheet_write_string(wm, row, 2, due, NULL);
        worksheet_write_string(wm, row, 3, s_campaign_status(c->status), NULL);
        worksheet_write_number(wm, row, 4, p->required, NULL);
        worksheet_write_number(wm, row, 5, p->submitted + p->approved, NULL);
        worksheet_write_number(wm, row, 6, p->approved, NULL);
        if (p->required > 0)
            worksheet_write_number(wm, row, 7, (double)p->approved / p->required, pct);
        row++;
    }
    if (workbook_close(wb) != LXW_NO_ERROR) {
        unlink(path);
        return -1;
    }
    return ind_file_slurp(path, file);
}

/* ---------- the flow: names, both years, recommendations, campaigns ---------- */

static void s_render(report_op *o)
{
    Metodnet__YearlyReportResponse resp = METODNET__YEARLY_REPORT_RESPONSE__INIT;
    Metodnet__FileBody file = METODNET__FILE_BODY__INIT;
    char filename[120];
    snprintf(filename, sizeof filename, "report-%s-%d.%s", o->scope, o->year,
             strcmp(o->format, "xlsx") == 0 ? "xlsx" : "html");
    for (char *p = filename; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '.'))
            *p = '_';
    file.filename = filename;
    int rc;
    if (strcmp(o->format, "xlsx") == 0) {
        file.content_type = XLSX_TYPE;
        rc = s_xlsx(o, &file);
    } else {
        file.content_type = "text/html; charset=utf-8";
        rc = s_html(o, &file);
    }
    if (rc != 0) {
        s_report_fail(o, IND_CODE(INTERNAL), "Отчёт не удалось сформировать");
        return;
    }
    resp.file = &file;
    service_call_reply(o->call, &resp.base);
    free(file.content.data);
    s_report_free(o);
}

static void s_campaigns(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    report_op *o = ud;
    if (status->code == IND_CODE(OK) && response)
        o->camps = (Metodnet__CampaignFiguresResponse *)s_copy(response);
    else
        log_error(service_call_request_id(o->call), "отчёт без мониторинга: %s",
                  status->message ? status->message : "");
    s_render(o);
}

static void s_ask_campaigns(report_op *o)
{
    char start[16], end[16];
    snprintf(start, sizeof start, "%04d-01-01", o->year);
    snprintf(end, sizeof end, "%04d-12-31", o->year);
    Metodnet__CampaignFiguresRequest q = METODNET__CAMPAIGN_FIGURES_REQUEST__INIT;
    q.region_id = o->region;
    q.period_start = start;
    q.period_end = end;
    service_client_request r = {.service = "monitoring",
                                .method = "CampaignFigures",
                                .request = &q.base,
                                .response = &metodnet__campaign_figures_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 10000};
    if (service_client_call(o->svc->broker, &r, s_campaigns, o) != 0)
        s_render(o);
}

static void s_recommendations(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    report_op *o = ud;
    if (status->code == IND_CODE(OK) && response)
        o->recs = (Metodnet__ListRecommendationsResponse *)s_copy(response);
    else
        log_error(service_call_request_id(o->call), "отчёт без рекомендаций: %s",
                  status->message ? status->message : "");
    s_ask_campaigns(o);
}

static void s_ask_recommendations(report_op *o)
{
    char period[16];
    snprintf(period, sizeof period, "%d", o->year);
    Metodnet__ListRecommendationsRequest q = METODNET__LIST_RECOMMENDATIONS_REQUEST__INIT;
    q.region_id = o->region;
    q.scope_kind = o->kind;
    q.scope_id = o->scope;
    q.period = period;
    q.limit = 200;
    service_client_request r = {.service = "indicators",
                                .method = "ListRecommendations",
                                .request = &q.base,
                                .response = &metodnet__list_recommendations_response__descriptor,
                                .caller = service_call_caller(o->call),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 20000};
    if (service_client_call(o->svc->broker, &r, s_recommendations, o) != 0)
        s_ask_campaigns(o);
}

static void s_values(Metodnet__StatusCode code, const char *field, const char *message_ru,
                     Metodnet__GetIndicatorValuesResponse *resp, void *ud)
{
    (void)field;
    report_op *o = ud;
    if (code != IND_CODE(OK)) {
        s_report_fail(o, code, message_ru ? message_ru : s_unavailable_ru);
        return;
    }
    if (o->step++ == 0) {
        o->now = resp;
        char prev[16];
        snprintf(prev, sizeof prev, "%d", o->year - 1);
        ind_values_full(o->svc, o->region, o->kind, o->scope, prev, "", "", s_values, o);
        return;
    }
    o->before = resp;
    s_ask_recommendations(o);
}

static void s_name_read(const redisReply *reply, const char *error, void *ud)
{
    report_op *o = ud;
    if (!error && reply && reply->type == REDIS_REPLY_STRING && reply->len > 0 && reply->len < 200)
        snprintf(o->scope_name, sizeof o->scope_name, "%s (%s)", reply->str, o->scope);
    char year[16];
    snprintf(year, sizeof year, "%d", o->year);
    ind_values_full(o->svc, o->region, o->kind, o->scope, year, "", o->by, s_values, o);
}

static void s_names(bool ok, Metodnet__ListIndicatorsResponse *names, void *ud)
{
    report_op *o = ud;
    if (!ok) {
        s_report_fail(o, IND_CODE(UNAVAILABLE), s_unavailable_ru);
        return;
    }
    o->names = names;
    if (strcmp(o->kind, "region") == 0) {
        s_name_read(NULL, "region", o);
        return;
    }
    if (redis_link_commandf(o->svc->link, s_name_read, o, "HGET ind:{r:%s}:%s:%s name", o->region,
                            strcmp(o->kind, "municipality") == 0 ? "m" : "o", o->scope) != 0)
        s_report_fail(o, IND_CODE(UNAVAILABLE), s_unavailable_ru);
}

void ind_yearly_report(indicators_service *svc, service_call *call, const char *region, const char *kind,
                       const char *scope, const Metodnet__YearlyReportRequest *req)
{
    validation v;
    validation_init(&v);
    const char *format = req->format && req->format[0] ? req->format : "html";
    if (strcmp(format, "html") != 0 && strcmp(format, "xlsx") != 0)
        validation_add(&v, "format", "Формат отчёта: xlsx или html");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int year = tm.tm_year + 1900;
    if (req->year && req->year[0]) {
        size_t n = strlen(req->year);
        if (n != 4 || strspn(req->year, "0123456789") != 4 || atoi(req->year) < 1901 || atoi(req->year) > 2999)
            validation_add(&v, "year", "Год отчёта — четыре цифры, например 2026");
        else
            year = atoi(req->year);
    }
    if (v.n > 0) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    validation_free(&v);
    report_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->year = year;
    snprintf(o->region, sizeof o->region, "%s", region);
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    snprintf(o->scope, sizeof o->scope, "%s", scope);
    snprintf(o->format, sizeof o->format, "%s", format);
    snprintf(o->by, sizeof o->by, "%s",
             strcmp(kind, "region") == 0         ? "municipality"
             : strcmp(kind, "municipality") == 0 ? "organization"
                                                 : "");
    if (strcmp(kind, "region") == 0)
        snprintf(o->scope_name, sizeof o->scope_name, "Регион %s", scope);
    else
        snprintf(o->scope_name, sizeof o->scope_name, "%s", scope);
    ind_catalogue_load(svc, region, s_names, o);
}
