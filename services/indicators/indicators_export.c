/* indicators_export — a values table as a file: CSV for Excel (common/csv.c: UTF-8 with BOM, «;», a
 * decimal comma) or XLSX (libxlsxwriter: a formatted sheet «Значения» — bold headers, numbers as numbers
 * with one decimal, widths, a frozen header row — and a sheet «Сведения» with the period). libxlsxwriter
 * writes to a file: a temporary one (TMPDIR or /tmp), read back and removed. Also the Russian number and
 * date formatting the report uses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "csv.h"
#include "indicators_own.h"
#include "log.h"
#include "xalloc.h"

#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

void ind_format_number(double v, int decimals, char *out, size_t size)
{
    snprintf(out, size, "%.*f", decimals, v);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = ',';
    if (strncmp(out, "-0", 2) == 0 && strspn(out + 1, "0,") == strlen(out + 1))
        memmove(out, out + 1, strlen(out)); /* no "-0,0" */
}

void ind_format_date(const char *ymd, char *out, size_t size)
{
    if (ymd && strlen(ymd) >= 10 && ymd[4] == '-' && ymd[7] == '-')
        snprintf(out, size, "%.2s.%.2s.%.4s", ymd + 8, ymd + 5, ymd);
    else
        snprintf(out, size, "%s", ymd ? ymd : "");
}

int ind_file_slurp(const char *path, Metodnet__FileBody *file)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 65536, n = 0;
    uint8_t *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    unlink(path);
    if (failed) {
        free(buf);
        return -1;
    }
    free(file->content.data);
    file->content.data = buf;
    file->content.len = n;
    return 0;
}

static const char *s_name_of(const Metodnet__ListIndicatorsResponse *names, const char *code, const char **unit)
{
    *unit = "";
    for (size_t i = 0; names && i < names->n_items; i++)
        if (strcmp(names->items[i]->code, code) == 0) {
            *unit = names->items[i]->unit ? names->items[i]->unit : "";
            return names->items[i]->name ? names->items[i]->name : "";
        }
    const indicator_def *d = indicators_find(code);
    if (d)
        *unit = d->share ? "share" : "count";
    return d ? d->name_ru : "";
}

static const char *s_unit_ru(const char *unit)
{
    return strcmp(unit, "share") == 0 ? "%" : strcmp(unit, "count") == 0 ? "количество" : "число";
}

static const char *s_kind_ru(const char *kind)
{
    return strcmp(kind, "region") == 0         ? "регион"
           : strcmp(kind, "municipality") == 0 ? "муниципалитет"
           : strcmp(kind, "organization") == 0 ? "организация"
                                               : kind;
}

static const char *const s_headers[] = {
    "Показатель",  "Название", "Территория", "Код территории", "Название территории", "Предмет", "Числитель",
    "Знаменатель", "Значение", "Единица",    "Цель",           "Цель выполнена"};
#define N_COLS (sizeof s_headers / sizeof s_headers[0])

/* the rows of the table: the scope's own values, then the children's */
static size_t s_rows(const Metodnet__GetIndicatorValuesResponse *r, const Metodnet__IndicatorValue ***out)
{
    size_t n = r->n_items + r->n_breakdown;
    const Metodnet__IndicatorValue **rows = xcalloc(n + 1, sizeof *rows);
    for (size_t i = 0; i < r->n_items; i++)
        rows[i] = r->items[i];
    for (size_t i = 0; i < r->n_breakdown; i++)
        rows[r->n_items + i] = r->breakdown[i];
    *out = rows;
    return n;
}

static double s_num(const Metodnet__IndicatorValue *v, bool den)
{
    if (v->own)
        return den ? v->denominator_value : v->numerator_value;
    return (double)(den ? v->denominator : v->numerator);
}

static int s_csv(const Metodnet__GetIndicatorValuesResponse *r, const Metodnet__ListIndicatorsResponse *names,
                 Metodnet__FileBody *file)
{
    csv_writer *w = csv_writer_new();
    if (w == NULL)
        return -1;
    for (size_t c = 0; c < N_COLS; c++)
        csv_writer_field(w, s_headers[c]);
    csv_writer_end_row(w);
    const Metodnet__IndicatorValue **rows;
    size_t n = s_rows(r, &rows);
    for (size_t i = 0; i < n; i++) {
        const Metodnet__IndicatorValue *v = rows[i];
        const char *unit;
        const char *name = s_name_of(names, v->indicator, &unit);
        bool share = strcmp(unit, "share") == 0;
        char num[48], den[48], value[48], target[48];
        ind_format_number(s_num(v, false), v->own && fabs(s_num(v, false) - round(s_num(v, false))) > 1e-9 ? 2 : 0, num,
                          sizeof num);
        ind_format_number(s_num(v, true), v->own && fabs(s_num(v, true) - round(s_num(v, true))) > 1e-9 ? 2 : 0, den,
                          sizeof den);
        ind_format_number(v->value, strcmp(unit, "number") == 0 ? 2 : 1, value, sizeof value);
        ind_format_number(v->target, 1, target, sizeof target);
        csv_writer_field(w, v->indicator);
        csv_writer_field(w, name);
        csv_writer_field(w, s_kind_ru(v->scope_kind));
        csv_writer_field(w, v->scope_id);
        csv_writer_field(w, v->scope_name);
        csv_writer_field(w, v->subject);
        csv_writer_field(w, num);
        csv_writer_field(w, share || (v->own && v->denominator_value != 0) ? den : "");
        csv_writer_field(w, v->has_value ? value : "");
        csv_writer_field(w, s_unit_ru(unit));
        csv_writer_field(w, v->has_target ? target : "");
        csv_writer_field(w, !v->has_target ? "" : v->met ? "да" : "нет");
        csv_writer_end_row(w);
    }
    free(rows);
    size_t len = 0;
    const char *data = csv_writer_data(w, &len);
    file->content.data = xmalloc(len + 1);
    memcpy(file->content.data, data, len);
    file->content.len = len;
    csv_writer_destroy(&w);
    return 0;
}

/* A temporary file name for libxlsxwriter (created, so the name is ours). */
static int s_temp(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/metodnet-xlsx-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        log_error(NULL, "временный файл XLSX не создан: %s", strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static int s_xlsx(const Metodnet__GetIndicatorValuesResponse *r, const Metodnet__ListIndicatorsResponse *names,
                  const char *scope, Metodnet__FileBody *file)
{
    char path[256];
    if (s_temp(path, sizeof path) != 0)
        return -1;
    lxw_workbook *wb = workbook_new(path);
    if (wb == NULL) {
        unlink(path);
        return -1;
    }
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    format_set_bg_color(head, 0xDDEBF7);
    format_set_border(head, LXW_BORDER_THIN);
    format_set_text_wrap(head);
    lxw_format *one = workbook_add_format(wb);
    format_set_num_format(one, "0.0");
    lxw_format *two = workbook_add_format(wb);
    format_set_num_format(two, "0.00");
    lxw_format *whole = workbook_add_format(wb);
    format_set_num_format(whole, "0");
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Значения");
    for (size_t c = 0; c < N_COLS; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, s_headers[c], head);
    static const double widths[N_COLS] = {11, 60, 15, 16, 36, 10, 12, 13, 10, 12, 8, 10};
    for (size_t c = 0; c < N_COLS; c++)
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, widths[c], NULL);
    worksheet_freeze_panes(ws, 1, 0);
    const Metodnet__IndicatorValue **rows;
    size_t n = s_rows(r, &rows);
    for (size_t i = 0; i < n; i++) {
        const Metodnet__IndicatorValue *v = rows[i];
        lxw_row_t row = (lxw_row_t)(i + 1);
        const char *unit;
        const char *name = s_name_of(names, v->indicator, &unit);
        bool share = strcmp(unit, "share") == 0, number = strcmp(unit, "number") == 0;
        worksheet_write_string(ws, row, 0, v->indicator, NULL);
        worksheet_write_string(ws, row, 1, name, NULL);
        worksheet_write_string(ws, row, 2, s_kind_ru(v->scope_kind), NULL);
        worksheet_write_string(ws, row, 3, v->scope_id, NULL);
        worksheet_write_string(ws, row, 4, v->scope_name, NULL);
        worksheet_write_string(ws, row, 5, v->subject, NULL);
        worksheet_write_number(ws, row, 6, s_num(v, false), v->own ? two : whole);
        if (share || (v->own && v->denominator_value != 0))
            worksheet_write_number(ws, row, 7, s_num(v, true), v->own ? two : whole);
        if (v->has_value)
            worksheet_write_number(ws, row, 8, v->value, number ? two : one);
        worksheet_write_string(ws, row, 9, s_unit_ru(unit), NULL);
        if (v->has_target) {
            worksheet_write_number(ws, row, 10, v->target, one);
            worksheet_write_string(ws, row, 11, v->met ? "да" : "нет", NULL);
        }
    }
    free(rows);
    if (n > 0)
        worksheet_autofilter(ws, 0, 0, (lxw_row_t)n, N_COLS - 1);
    lxw_worksheet *info = workbook_add_worksheet(wb, "Сведения");
    char start[16], end[16];
    ind_format_date(r->period_start, start, sizeof start);
    ind_format_date(r->period_end, end, sizeof end);
    worksheet_set_column(info, 0, 0, 22, NULL);
    worksheet_set_column(info, 1, 1, 40, NULL);
    worksheet_write_string(info, 0, 0, "Территория", head);
    worksheet_write_string(info, 0, 1, scope ? scope : "", NULL);
    worksheet_write_string(info, 1, 0, "Период", head);
    worksheet_write_string(info, 1, 1, r->period ? r->period : "", NULL);
    worksheet_write_string(info, 2, 0, "Начало периода", head);
    worksheet_write_string(info, 2, 1, start, NULL);
    worksheet_write_string(info, 3, 0, "Конец периода", head);
    worksheet_write_string(info, 3, 1, end, NULL);
    if (workbook_close(wb) != LXW_NO_ERROR) {
        unlink(path);
        return -1;
    }
    return ind_file_slurp(path, file);
}

int ind_export_values(const Metodnet__GetIndicatorValuesResponse *resp, const Metodnet__ListIndicatorsResponse *names,
                      const char *format, const char *scope_name, Metodnet__FileBody *file)
{
    char filename[120];
    const char *period = resp->period ? resp->period : "";
    char safe[40];
    size_t k = 0;
    for (const char *p = period; *p && k + 1 < sizeof safe; p++)
        safe[k++] = (*p >= '0' && *p <= '9') || *p == '-' ? *p : '_';
    safe[k] = '\0';
    char scope[64];
    k = 0;
    for (const char *p = scope_name ? scope_name : ""; *p && k + 1 < sizeof scope; p++)
        scope[k++] = ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-') ? *p : '_';
    scope[k] = '\0';
    if (strcmp(format, "csv") == 0) {
        snprintf(filename, sizeof filename, "indicators-%s-%s.csv", scope, safe);
        file->content_type = xstrdup("text/csv; charset=utf-8");
        file->filename = xstrdup(filename);
        return s_csv(resp, names, file);
    }
    snprintf(filename, sizeof filename, "indicators-%s-%s.xlsx", scope, safe);
    file->content_type = xstrdup(XLSX_TYPE);
    file->filename = xstrdup(filename);
    return s_xlsx(resp, names, scope_name, file);
}
