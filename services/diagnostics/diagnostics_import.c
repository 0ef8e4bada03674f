/* diagnostics_import — reading the results CSV of an external diagnostic centre, its template, and
 * the Result of one row (see diagnostics_import.h for the format). */
#include "diagnostics_import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "validate.h"
#include "xalloc.h"

#define S_MAX_COMPETENCES 200

typedef enum { COL_NONE, COL_STAFF, COL_EXTERNAL, COL_DATE, COL_NAME, COL_COMPETENCE } column_kind;

typedef struct {
    column_kind kind;
    size_t competence; /* index into the instrument's codes */
    char header[128];
} column;

static const char *const s_staff_words[] = {"код сотрудника", "staffid", "staff_id", "сотрудник", NULL};
static const char *const s_external_words[] = {"внешний идентификатор",         "externalid", "external_id", "снилс",
                                               "внешний идентификатор (снилс)", NULL};
static const char *const s_date_words[] = {"дата", "date", "дата диагностики", "completedon", NULL};
static const char *const s_name_words[] = {"фио", "fullname", "фамилия, имя, отчество", NULL};

static void s_fold(const char *in, char *out, size_t size)
{
    while (*in == ' ' || *in == '\t')
        in++;
    text_fold(in, out, size);
    size_t len = strlen(out);
    while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t'))
        out[--len] = '\0';
}

static bool s_one_of(const char *folded, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(folded, *words) == 0)
            return true;
    return false;
}

static char *s_dup(const char *s)
{
    return diag_strdup(s ? s : "");
}

void diag_import_error_add(diag_import_sheet *sheet, size_t row, const char *column, const char *format, ...)
{
    if (sheet->n_errors >= DIAG_IMPORT_MAX_ERRORS) {
        sheet->errors_truncated = true;
        return;
    }
    if (sheet->n_errors == sheet->cap_errors) {
        sheet->cap_errors = sheet->cap_errors ? sheet->cap_errors * 2 : 32;
        sheet->errors = xrealloc(sheet->errors, sheet->cap_errors * sizeof *sheet->errors);
    }
    char text[600];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    diag_import_error *e = &sheet->errors[sheet->n_errors++];
    e->row = row;
    e->column = s_dup(column);
    e->message = s_dup(text);
}

void diag_import_errors_sort(diag_import_sheet *sheet)
{
    /* insertion sort: stable, and errors arrive nearly ordered */
    for (size_t i = 1; i < sheet->n_errors; i++) {
        diag_import_error e = sheet->errors[i];
        size_t j = i;
        while (j > 0 && sheet->errors[j - 1].row > e.row) {
            sheet->errors[j] = sheet->errors[j - 1];
            j--;
        }
        sheet->errors[j] = e;
    }
}

void diag_import_sheet_free(diag_import_sheet *sheet)
{
    for (size_t i = 0; i < sheet->n_rows; i++) {
        free(sheet->rows[i].staff_id);
        free(sheet->rows[i].external_id);
        free(sheet->rows[i].scores);
    }
    free(sheet->rows);
    for (size_t i = 0; i < sheet->n_errors; i++) {
        free(sheet->errors[i].column);
        free(sheet->errors[i].message);
    }
    free(sheet->errors);
    memset(sheet, 0, sizeof *sheet);
}

static int s_code_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t diag_import_competences(const Metodnet__Instrument *instrument, const char **codes, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < instrument->n_items; i++) {
        const char *code = instrument->items[i]->competence;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(codes[j], code) == 0;
        if (!seen && n < max)
            codes[n++] = code;
    }
    qsort(codes, n, sizeof *codes, s_code_cmp);
    return n;
}

/* "14.03.2025" or "2025-03-14" → days; false otherwise. */
static bool s_parse_date(const char *value, int *days)
{
    int d, m, y;
    char tail, iso[40];
    if (sscanf(value, "%2d.%2d.%4d%c", &d, &m, &y, &tail) == 3 && strlen(value) >= 8 && y >= 1000) {
        snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
        return date_parse(iso, days);
    }
    return date_parse(value, days);
}

/* An unsigned decimal with at most `decimals` digits after ',' or '.', as value·10^decimals; false when
 * it is not one or exceeds limit. */
static bool s_parse_fixed(const char *s, size_t len, int decimals, long limit, long *out)
{
    long whole = 0, frac = 0;
    int frac_digits = 0;
    size_t i = 0;
    if (len == 0)
        return false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        whole = whole * 10 + (s[i] - '0');
        if (whole > limit)
            return false;
    }
    if (i == 0)
        return false;
    if (i < len && (s[i] == ',' || s[i] == '.')) {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++frac_digits > decimals)
                return false;
            frac = frac * 10 + (s[i] - '0');
        }
        if (frac_digits == 0)
            return false;
    }
    if (i != len)
        return false;
    for (int k = frac_digits; k < decimals; k++)
        frac *= 10;
    long scale = 1;
    for (int k = 0; k < decimals; k++)
        scale *= 10;
    *out = whole * scale + frac;
    return *out <= limit * scale;
}

/* A score cell: "72,5", "72.5 %", "17/20". 1 = a score, 0 = empty, -1 = bad (message filled). */
static int s_parse_score(const char *value, diag_import_score *score, char *message, size_t size)
{
    char buf[64];
    size_t len = 0;
    for (const char *p = value; *p; p++)
        if (*p != ' ' && *p != '\t' && len + 1 < sizeof buf)
            buf[len++] = *p;
    buf[len] = '\0';
    if (len == 0)
        return 0;
    const char *slash = strchr(buf, '/');
    if (slash) {
        long points, max;
        if (!s_parse_fixed(buf, (size_t)(slash - buf), 0, 100000, &points) ||
            !s_parse_fixed(slash + 1, strlen(slash + 1), 0, 100000, &max) || max == 0) {
            snprintf(message, size, "Баллы записываются как «набрано/максимум», например «17/20», а не «%.40s»", value);
            return -1;
        }
        if (points > max) {
            snprintf(message, size, "Набрано %ld баллов из %ld: больше максимума", points, max);
            return -1;
        }
        score->points = (int)points;
        score->max_points = (int)max;
        return 1;
    }
    if (len > 0 && buf[len - 1] == '%')
        buf[--len] = '\0';
    long tenths;
    if (!s_parse_fixed(buf, len, 1, 100, &tenths)) {
        snprintf(message, size,
                 "Ожидается процент от 0 до 100 (не более одного знака после запятой) или баллы «17/20», а не «%.40s»",
                 value);
        return -1;
    }
    score->points = (int)tenths;
    score->max_points = DIAG_IMPORT_PERCENT_MAX_POINTS;
    return 1;
}

static const char *s_cell(const csv_record *rec, int index)
{
    return index >= 0 && (size_t)index < rec->n ? csv_unguard(rec->fields[index]) : "";
}

static char *s_trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    char *out = xmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

void diag_import_read(diag_import_sheet *sheet, const char *csv, size_t len, const Metodnet__Instrument *instrument,
                      int first_day, int last_day)
{
    memset(sheet, 0, sizeof *sheet);
    const char *codes[S_MAX_COMPETENCES];
    size_t n_codes = diag_import_competences(instrument, codes, S_MAX_COMPETENCES);
    csv_reader *reader = csv_reader_new_memory(csv, len);
    if (reader == NULL)
        abort();
    column columns[CSV_COLUMNS_MAX];
    size_t n_columns = 0, n_competence_columns = 0;
    int staff_col = -1, external_col = -1, date_col = -1;
    csv_record rec;
    int rc = csv_reader_next(reader, &rec);
    if (rc <= 0) {
        if (rc == 0)
            diag_import_error_add(sheet, 1, "", "Файл пуст: нужна строка заголовков и строки результатов");
        else
            diag_import_error_add(sheet, csv_reader_error_row(reader), "", "%s", csv_reader_error(reader));
        sheet->file_rejected = true;
        csv_reader_destroy(&reader);
        return;
    }
    for (size_t i = 0; i < rec.n; i++) {
        column *c = &columns[n_columns++];
        memset(c, 0, sizeof *c);
        snprintf(c->header, sizeof c->header, "%s", rec.fields[i]);
        char folded[256];
        s_fold(rec.fields[i], folded, sizeof folded);
        bool known = true;
        if (folded[0] == '\0' && i + 1 == rec.n) {
            c->kind = COL_NONE; /* a trailing delimiter */
            continue;
        } else if (s_one_of(folded, s_staff_words)) {
            c->kind = COL_STAFF;
        } else if (s_one_of(folded, s_external_words)) {
            c->kind = COL_EXTERNAL;
        } else if (s_one_of(folded, s_date_words)) {
            c->kind = COL_DATE;
        } else if (s_one_of(folded, s_name_words)) {
            c->kind = COL_NAME;
        } else {
            known = false;
            for (size_t k = 0; k < n_codes && !known; k++)
                if (strcmp(folded, codes[k]) == 0) {
                    c->kind = COL_COMPETENCE;
                    c->competence = k;
                    known = true;
                }
        }
        if (!known) {
            diag_import_error_add(sheet, 1, c->header,
                                  "Неизвестный столбец «%.80s»: ожидаются код сотрудника или внешний идентификатор, "
                                  "дата, ФИО и коды компетенций инструмента",
                                  c->header);
            sheet->file_rejected = true;
            continue;
        }
        for (size_t j = 0; j + 1 < n_columns; j++)
            if (columns[j].kind == c->kind && c->kind != COL_NONE &&
                (c->kind != COL_COMPETENCE || columns[j].competence == c->competence)) {
                diag_import_error_add(sheet, 1, c->header, "Столбец «%.80s» повторён", c->header);
                sheet->file_rejected = true;
            }
        switch (c->kind) {
        case COL_STAFF:
            staff_col = (int)i;
            snprintf(sheet->staff_header, sizeof sheet->staff_header, "%s", c->header);
            break;
        case COL_EXTERNAL:
            external_col = (int)i;
            snprintf(sheet->external_header, sizeof sheet->external_header, "%s", c->header);
            break;
        case COL_DATE:
            date_col = (int)i;
            snprintf(sheet->date_header, sizeof sheet->date_header, "%s", c->header);
            break;
        case COL_COMPETENCE:
            n_competence_columns++;
            break;
        default:
            break;
        }
    }
    if (!sheet->file_rejected) {
        if (staff_col < 0 && external_col < 0) {
            diag_import_error_add(sheet, 1, "", "Нет столбца «Код сотрудника» или «Внешний идентификатор»");
            sheet->file_rejected = true;
        }
        if (date_col < 0) {
            diag_import_error_add(sheet, 1, "", "Нет столбца «Дата»");
            sheet->file_rejected = true;
        }
        if (n_competence_columns == 0) {
            diag_import_error_add(sheet, 1, "", "Нет ни одного столбца с кодом компетенции инструмента (например «%s»)",
                                  n_codes ? codes[0] : "t.subject.1");
            sheet->file_rejected = true;
        }
    }
    if (sheet->file_rejected) {
        csv_reader_destroy(&reader);
        return;
    }
    size_t cap = 0;
    while ((rc = csv_reader_next(reader, &rec)) == 1) {
        bool blank = true;
        for (size_t i = 0; i < rec.n && blank; i++)
            blank = strspn(rec.fields[i], " \t") == strlen(rec.fields[i]);
        if (blank)
            continue;
        if (sheet->n_rows == DIAG_IMPORT_MAX_ROWS) {
            diag_import_error_add(sheet, rec.row, "", "Не более %d строк в одном файле: разделите его",
                                  DIAG_IMPORT_MAX_ROWS);
            sheet->file_rejected = true;
            break;
        }
        if (sheet->n_rows == cap) {
            cap = cap ? cap * 2 : 64;
            sheet->rows = xrealloc(sheet->rows, cap * sizeof *sheet->rows);
        }
        diag_import_row *row = &sheet->rows[sheet->n_rows++];
        memset(row, 0, sizeof *row);
        row->row = rec.row;
        row->staff_id = s_trimmed(s_cell(&rec, staff_col));
        row->external_id = s_trimmed(s_cell(&rec, external_col));
        row->scores = xcalloc(n_codes ? n_codes : 1, sizeof *row->scores);
        if (rec.n > n_columns) {
            diag_import_error_add(sheet, row->row, "", "В строке %zu ячеек, а столбцов в заголовке %zu", rec.n,
                                  n_columns);
            row->rejected = true;
        }
        if (*row->staff_id == '\0' && *row->external_id == '\0') {
            diag_import_error_add(sheet, row->row, staff_col >= 0 ? sheet->staff_header : sheet->external_header,
                                  "Укажите код сотрудника или его внешний идентификатор (СНИЛС)");
            row->rejected = true;
        }
        char *date = s_trimmed(s_cell(&rec, date_col));
        if (!s_parse_date(date, &row->date)) {
            diag_import_error_add(sheet, row->row, sheet->date_header,
                                  "Дата записывается как ДД.ММ.ГГГГ или ГГГГ-ММ-ДД, а не «%.40s»", date);
            row->rejected = true;
        } else if (row->date < first_day || row->date > last_day) {
            char from[16], to[16];
            diag_days_to_date(first_day, from, sizeof from);
            diag_days_to_date(last_day, to, sizeof to);
            diag_import_error_add(sheet, row->row, sheet->date_header,
                                  "Дата %s вне срока кампании (с %s по %s, не позже сегодняшнего дня)", date, from, to);
            row->rejected = true;
        }
        free(date);
        /* scores in the instrument's order, whatever the column order */
        for (size_t k = 0; k < n_codes; k++)
            for (size_t i = 0; i < n_columns && i < rec.n; i++) {
                if (columns[i].kind != COL_COMPETENCE || columns[i].competence != k)
                    continue;
                diag_import_score score = {0};
                char message[300];
                int got = s_parse_score(s_cell(&rec, (int)i), &score, message, sizeof message);
                if (got < 0) {
                    diag_import_error_add(sheet, row->row, columns[i].header, "%s", message);
                    row->rejected = true;
                } else if (got > 0) {
                    snprintf(score.competence, sizeof score.competence, "%s", codes[k]);
                    row->scores[row->n_scores++] = score;
                }
            }
        if (row->n_scores == 0 && !row->rejected) {
            diag_import_error_add(sheet, row->row, "", "В строке нет ни одного балла по компетенциям");
            row->rejected = true;
        }
    }
    if (rc < 0) {
        diag_import_error_add(sheet, csv_reader_error_row(reader), "", "%s", csv_reader_error(reader));
        sheet->file_rejected = true;
    }
    csv_reader_destroy(&reader);
}

Metodnet__Result *diag_import_result(const Metodnet__Instrument *instrument, const diag_import_row *row)
{
    Metodnet__Result *r = xmalloc(sizeof *r);
    metodnet__result__init(r);
    r->scores = xcalloc(row->n_scores ? row->n_scores : 1, sizeof *r->scores);
    for (size_t i = 0; i < row->n_scores; i++) {
        Metodnet__CompetenceScore *s = xmalloc(sizeof *s);
        metodnet__competence_score__init(s);
        s->competence = diag_strdup(row->scores[i].competence);
        s->points = row->scores[i].points;
        s->max_points = row->scores[i].max_points;
        int threshold, mastery;
        diag_thresholds_of(instrument, s->competence, &threshold, &mastery);
        s->threshold_percent = threshold;
        s->mastery_percent = mastery;
        diag_score_classify(s);
        r->scores[r->n_scores++] = s;
    }
    diag_result_collect(r);
    char day[16], at[40];
    diag_days_to_date(row->date, day, sizeof day);
    snprintf(at, sizeof at, "%sT00:00:00.000Z", day);
    diag_set_string(&r->completed_at, at);
    diag_set_string(&r->source, "import");
    return r;
}

bool diag_import_same(const Metodnet__Result *a, const Metodnet__Result *b)
{
    if (a == NULL || b == NULL || a->n_scores != b->n_scores || strcmp(a->completed_at, b->completed_at) != 0 ||
        strcmp(a->source, b->source) != 0)
        return false;
    for (size_t i = 0; i < a->n_scores; i++) {
        const Metodnet__CompetenceScore *x = a->scores[i], *y = b->scores[i];
        if (strcmp(x->competence, y->competence) != 0 || x->points != y->points || x->max_points != y->max_points ||
            x->threshold_percent != y->threshold_percent || x->mastery_percent != y->mastery_percent)
            return false;
    }
    return true;
}

char *diag_import_template(const Metodnet__Instrument *instrument, size_t *len)
{
    const char *codes[S_MAX_COMPETENCES];
    size_t n = diag_import_competences(instrument, codes, S_MAX_COMPETENCES);
    csv_writer *w = csv_writer_new();
    if (w == NULL)
        abort();
    csv_writer_field(w, "Код сотрудника");
    csv_writer_field(w, "Внешний идентификатор");
    csv_writer_field(w, "ФИО");
    csv_writer_field(w, "Дата");
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, codes[i]);
    csv_writer_end_row(w);
    char today[16];
    diag_days_to_date(date_today(), today, sizeof today);
    char date[16];
    snprintf(date, sizeof date, "%.2s.%.2s.%.4s", today + 8, today + 5, today);
    csv_writer_field(w, "");
    csv_writer_field(w, "123-456-789 01");
    csv_writer_field(w, "Иванова Мария Петровна");
    csv_writer_field(w, date);
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, i % 2 ? "17/20" : "72,5");
    csv_writer_end_row(w);
    size_t size;
    const char *data = csv_writer_data(w, &size);
    char *out = xmalloc(size + 1);
    memcpy(out, data, size);
    out[size] = '\0';
    *len = size;
    csv_writer_destroy(&w);
    return out;
}
