/* registry_import — CSV import (upsert by external id) and export of organizations and staff (see
 * registry_import.h; the file format is documented in docs/import.md).
 *
 * An import is one job on the loop: read the whole CSV into rows (entity drafts) → reject duplicate
 * or missing external ids → resolve references (municipalities by id or name; organizations by
 * external id or id) → look up which external ids the region already has (HMGET) → process rows with
 * at most S_WINDOW in flight: load the stored entity, apply the file's columns, validate as the API
 * does, check scope, compare, write (one Lua script per row, claiming the external id). Rows never
 * share an external id (duplicates are rejected up front), so rows in flight never race each other.
 */
#include "registry_import.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "csv.h"
#include "cursor.h"
#include "dictionary.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_csv.h"
#include "registry.pb-c.h"
#include "registry_import.pb-c.h"
#include "validate.h"

#define S_WINDOW       64   /* rows in flight */
#define S_CLAIMS_BATCH 5000 /* values per HMGET */
#define S_MAX_REFS     20   /* references in one cell */

static const char *const s_unavailable_ru = "Хранилище временно недоступно, повторите импорт позже";

/* ---------- columns ---------- */

typedef enum { COL_TEXT, COL_DATE, COL_BOOL, COL_ENUM, COL_SUBJECTS, COL_ORGANIZATIONS, COL_MUNICIPALITY } col_type;

/* Words of an enum value: words[0] is what export writes; every word is accepted on import, as is the
 * API's own word ("teacher"). */
typedef struct {
    int value;
    const char *words[5];
} enum_words;

typedef struct {
    const char *field;     /* proto name in the entity */
    const char *json;      /* JSON name, as validation reports it */
    const char *header_ru; /* the template's header */
    const char *aliases[4];
    col_type type;
    const ProtobufCEnumDescriptor *enum_desc;
    const enum_words *words;
    bool required; /* the column must be in the file */
    const char *example;
} column;

static const enum_words s_org_kinds[] = {
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL, {"школа", "СОШ", "ООШ", "общеобразовательная школа"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_LYCEUM, {"лицей"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_GYMNASIUM, {"гимназия"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PROGYMNASIUM, {"прогимназия"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PRIMARY_SCHOOL_KINDERGARTEN,
     {"начальная школа – детский сад", "НШДС", "начальная школа - детский сад"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PRESCHOOL, {"детский сад", "ДОУ", "дошкольная"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_ADDITIONAL_EDUCATION, {"дополнительное образование", "ДО", "УДО"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_VOCATIONAL, {"СПО", "колледж", "техникум"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_METHODOLOGICAL_CENTRE, {"методический центр", "ИМЦ", "ММС"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_REGIONAL_CENTRE, {"региональный центр", "ЦНППМ", "ИРО"}},
    {0, {NULL}},
};

static const enum_words s_positions[] = {
    {METODNET__POSITION__POSITION_TEACHER, {"учитель"}},
    {METODNET__POSITION__POSITION_EDUCATOR, {"воспитатель"}},
    {METODNET__POSITION__POSITION_SENIOR_EDUCATOR, {"старший воспитатель"}},
    {METODNET__POSITION__POSITION_ADDITIONAL_EDUCATION_TEACHER, {"педагог дополнительного образования", "педагог ДО"}},
    {METODNET__POSITION__POSITION_METHODOLOGIST, {"методист"}},
    {METODNET__POSITION__POSITION_DEPUTY_DIRECTOR,
     {"заместитель директора", "замдиректора", "заместитель заведующего"}},
    {METODNET__POSITION__POSITION_DIRECTOR, {"директор", "заведующий", "заведующая"}},
    {METODNET__POSITION__POSITION_PSYCHOLOGIST, {"педагог-психолог", "психолог"}},
    {METODNET__POSITION__POSITION_SPEECH_THERAPIST, {"учитель-логопед", "логопед"}},
    {METODNET__POSITION__POSITION_SOCIAL_PEDAGOGUE, {"социальный педагог"}},
    {METODNET__POSITION__POSITION_TUTOR, {"тьютор"}},
    {METODNET__POSITION__POSITION_MUSIC_DIRECTOR, {"музыкальный руководитель"}},
    {METODNET__POSITION__POSITION_LECTURER, {"преподаватель"}},
    {0, {NULL}},
};

static const enum_words s_categories[] = {
    {METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER, {"педагог", "педагогический работник"}},
    {METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER, {"руководитель", "управленческий кадр", "управленец"}},
    {0, {NULL}},
};

static const enum_words s_qualifications[] = {
    {METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_NONE, {"без категории", "нет"}},
    {METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_POSITION_MATCH,
     {"соответствие занимаемой должности", "СЗД"}},
    {METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_FIRST, {"первая"}},
    {METODNET__QUALIFICATION_CATEGORY__QUALIFICATION_CATEGORY_HIGHEST, {"высшая"}},
    {0, {NULL}},
};

static const column s_organization_columns[] = {
    {"external_id",
     "externalId",
     "Внешний идентификатор",
     {"externalId", "Внешний код", "Код"},
     COL_TEXT,
     NULL,
     NULL,
     true,
     "ОО-0701"},
    {"municipality_id",
     "municipalityId",
     "Муниципальное образование",
     {"municipality", "municipalityId", "МО"},
     COL_MUNICIPALITY,
     NULL,
     NULL,
     true,
     "Терский район"},
    {"name",
     "name",
     "Полное наименование",
     {"name", "Наименование"},
     COL_TEXT,
     NULL,
     NULL,
     true,
     "МКОУ «СОШ № 1 им. А. С. Пушкина» г. Терек"},
    {"short_name", "shortName", "Краткое наименование", {"shortName"}, COL_TEXT, NULL, NULL, false, "СОШ № 1 г. Терек"},
    {"kind",
     "kind",
     "Вид организации",
     {"kind", "Тип", "Вид"},
     COL_ENUM,
     &metodnet__organization_kind__descriptor,
     s_org_kinds,
     true,
     "школа"},
    {"low_results", "lowResults", "ШНОР", {"lowResults", "Низкие результаты"}, COL_BOOL, NULL, NULL, false, "нет"},
};

static const column s_staff_columns[] = {
    {"external_id",
     "externalId",
     "Внешний идентификатор",
     {"externalId", "СНИЛС", "Код", "Внешний идентификатор (СНИЛС)"},
     COL_TEXT,
     NULL,
     NULL,
     true,
     "123-456-789 01"},
    {"last_name", "lastName", "Фамилия", {"lastName"}, COL_TEXT, NULL, NULL, true, "Иванова"},
    {"first_name", "firstName", "Имя", {"firstName"}, COL_TEXT, NULL, NULL, true, "Мария"},
    {"middle_name", "middleName", "Отчество", {"middleName"}, COL_TEXT, NULL, NULL, false, "Петровна"},
    {"birth_date", "birthDate", "Дата рождения", {"birthDate"}, COL_DATE, NULL, NULL, true, "14.03.1991"},
    {"profession_start_date",
     "professionStartDate",
     "Дата начала работы в профессии",
     {"professionStartDate", "Педагогический стаж с"},
     COL_DATE,
     NULL,
     NULL,
     false,
     "01.09.2013"},
    {"position",
     "position",
     "Должность",
     {"position"},
     COL_ENUM,
     &metodnet__position__descriptor,
     s_positions,
     true,
     "учитель"},
    {"category",
     "category",
     "Категория",
     {"category"},
     COL_ENUM,
     &metodnet__staff_category__descriptor,
     s_categories,
     true,
     "педагог"},
    {"subjects",
     "subjects",
     "Предметы",
     {"subjects", "Учебные предметы"},
     COL_SUBJECTS,
     NULL,
     NULL,
     false,
     "Математика, Физика"},
    {"organization_ids",
     "organizationIds",
     "Организация",
     {"organizationExternalId", "organizationExternalIds", "Организации", "organizations"},
     COL_ORGANIZATIONS,
     NULL,
     NULL,
     true,
     "ОО-0701"},
    {"qualification_category",
     "qualificationCategory",
     "Квалификационная категория",
     {"qualificationCategory"},
     COL_ENUM,
     &metodnet__qualification_category__descriptor,
     s_qualifications,
     false,
     "первая"},
    {"active", "active", "Работает", {"active", "Активен"}, COL_BOOL, NULL, NULL, false, "да"},
};

#define S_MAX_COLUMNS 16

static const column *s_columns(const registry_kind *kind, size_t *n)
{
    if (kind == &registry_staff_kind) {
        *n = sizeof s_staff_columns / sizeof s_staff_columns[0];
        return s_staff_columns;
    }
    *n = sizeof s_organization_columns / sizeof s_organization_columns[0];
    return s_organization_columns;
}

/* Blanks a cell may carry around its text: spaces, tabs and line breaks (Alt+Enter in Excel). */
static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void s_fold(const char *in, char *out, size_t size)
{
    while (s_blank(*in))
        in++;
    text_fold(in, out, size);
    size_t len = strlen(out);
    while (len > 0 && s_blank(out[len - 1]))
        out[--len] = '\0';
}

static bool s_header_matches(const column *c, const char *folded)
{
    char want[256];
    s_fold(c->header_ru, want, sizeof want);
    if (strcmp(want, folded) == 0)
        return true;
    s_fold(c->field, want, sizeof want);
    if (strcmp(want, folded) == 0)
        return true;
    for (size_t i = 0; i < 4 && c->aliases[i]; i++) {
        s_fold(c->aliases[i], want, sizeof want);
        if (strcmp(want, folded) == 0)
            return true;
    }
    return false;
}

static bool s_parse_enum(const column *c, const char *value, int *out)
{
    char folded[256], word[256];
    s_fold(value, folded, sizeof folded);
    for (const enum_words *w = c->words; w->words[0]; w++)
        for (size_t i = 0; i < 5 && w->words[i]; i++) {
            s_fold(w->words[i], word, sizeof word);
            if (strcmp(word, folded) == 0) {
                *out = w->value;
                return true;
            }
        }
    return pbjson_enum_parse(c->enum_desc, folded, out) && *out != 0;
}

static const char *s_enum_word(const column *c, int value)
{
    for (const enum_words *w = c->words; w->words[0]; w++)
        if (w->value == value)
            return w->words[0];
    return "";
}

static bool s_parse_bool(const char *value, bool *out)
{
    char folded[32];
    s_fold(value, folded, sizeof folded);
    static const char *const yes[] = {"да", "true", "1", "+", "yes", "д"};
    static const char *const no[] = {"нет", "false", "0", "-", "no", "н", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcmp(folded, yes[i]) == 0)
            return *out = true, true;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcmp(folded, no[i]) == 0)
            return *out = false, true;
    return false;
}

/* "14.03.1991" → "1991-03-14"; anything else is kept for validate_date to judge. */
static void s_normalize_date(const char *value, char *out, size_t size)
{
    int d, m, y;
    char tail;
    if (sscanf(value, "%2d.%2d.%4d%c", &d, &m, &y, &tail) == 3 && strlen(value) >= 8 && y >= 1000)
        snprintf(out, size, "%04d-%02d-%02d", y, m, d);
    else
        snprintf(out, size, "%s", value);
}

static const char *s_subject_code(const char *value)
{
    char folded[256], name[256];
    s_fold(value, folded, sizeof folded);
    size_t n;
    const dictionary_entry *subjects = dictionary_subjects(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(subjects[i].code, folded) == 0)
            return subjects[i].code;
        s_fold(subjects[i].name_ru, name, sizeof name);
        if (strcmp(name, folded) == 0)
            return subjects[i].code;
    }
    return NULL;
}

/* Splits a cell on ',', ';' and line breaks into trimmed non-empty parts (copies); returns the count
 * or -1 when there are more than max. */
static int s_split(const char *value, char **parts, size_t max)
{
    size_t n = 0;
    const char *p = value;
    while (*p) {
        size_t len = strcspn(p, ",;\r\n");
        const char *s = p, *e = p + len;
        while (s < e && s_blank(*s))
            s++;
        while (e > s && s_blank(e[-1]))
            e--;
        if (e > s) {
            if (n == max) {
                for (size_t i = 0; i < n; i++)
                    free(parts[i]);
                return -1;
            }
            parts[n++] = strndup(s, (size_t)(e - s));
        }
        p += len;
        if (*p)
            p++;
    }
    return (int)n;
}

/* ---------- a small string → index map ---------- */

typedef struct {
    char **keys;
    size_t *values;
    size_t cap, n;
} s_map;

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void s_map_free(s_map *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* Finds key; inserts it (borrowed, must outlive the map) with value when absent. Returns the stored value. */
static size_t s_map_put(s_map *m, const char *key, size_t value)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        size_t *values = calloc(cap, sizeof *values);
        if (!keys || !values)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = s_hash(m->keys[i]) & (cap - 1);
                while (keys[j])
                    j = (j + 1) & (cap - 1);
                keys[j] = m->keys[i];
                values[j] = m->values[i];
            }
        free(m->keys);
        free(m->values);
        m->keys = keys;
        m->values = values;
        m->cap = cap;
    }
    size_t j = s_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0)
            return m->values[j];
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = (char *)key;
    m->values[j] = value;
    m->n++;
    return value;
}

static bool s_map_get(const s_map *m, const char *key, size_t *value)
{
    if (m->cap == 0)
        return false;
    size_t j = s_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            *value = m->values[j];
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

/* ---------- the import job ---------- */

typedef struct {
    size_t row;
    ProtobufCMessage *draft;
    char *refs[S_MAX_REFS]; /* organizations (staff) or the municipality (organization) as written */
    size_t n_refs;
    char *existing_id; /* the entity holding this external id, if any */
    bool rejected;
    bool duplicate_reported;
} import_row;

typedef struct {
    char *ref;
    char *id;              /* resolved entity id, NULL = not found */
    char *municipality_id; /* organizations: theirs */
    bool visible;
} import_ref;

typedef struct {
    service_call *call;
    entity_store *store;
    audit *audit;
    const registry_kind *kind;
    bool dry_run;
    char region[8];
    const column *columns;
    size_t n_columns;
    int col_index[S_MAX_COLUMNS]; /* CSV column of each column, -1 when absent */
    char *headers[S_MAX_COLUMNS]; /* the header as written in the file */
    import_row *rows;
    size_t n_rows, cap_rows;
    import_ref *refs;
    size_t n_refs, cap_refs;
    s_map ref_map;
    /* municipalities of the region (organization import): id and folded name → index */
    char **mun_ids;
    size_t n_muns, cap_muns;
    s_map mun_map;
    char **mun_names; /* folded, owned; ambiguous names map to SIZE_MAX */
    char mun_after[CURSOR_MAX_MEMBER + 1];
    /* progress */
    int created, updated, unchanged, rejected;
    Metodnet__ImportError **errors;
    size_t n_errors, cap_errors;
    bool errors_truncated;
    size_t stage_pending;
    size_t next_row, in_flight;
    bool pumping, finished, store_failed;
    bool file_refused; /* the file as a whole: a header problem, broken CSV, too many rows */
    size_t claims_done;
    /* external ids held outside the caller's scope (registry_claim_guard.h): refusals this file may
     * still answer, answered, and rows in flight that might become one */
    registry_claim_guard *guard;
    const Metodnet__ImportRequest *request; /* owned by the call */
    int refusals_left, refused, refusals_reserved;
} import_job;

static void s_job_free(import_job *job)
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
    s_map_free(&job->ref_map);
    for (size_t i = 0; i < job->n_muns; i++) {
        free(job->mun_ids[i]);
        free(job->mun_names[i]);
    }
    free(job->mun_ids);
    free(job->mun_names);
    s_map_free(&job->mun_map);
    for (size_t i = 0; i < job->n_errors; i++) {
        free(job->errors[i]->column);
        free(job->errors[i]->message);
        free(job->errors[i]);
    }
    free(job->errors);
    for (size_t i = 0; i < S_MAX_COLUMNS; i++)
        free(job->headers[i]);
    free(job);
}

static void s_add_error(import_job *job, size_t row, const char *column, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void s_add_error(import_job *job, size_t row, const char *column, const char *format, ...)
{
    if (job->n_errors >= REGISTRY_IMPORT_MAX_ERRORS) {
        job->errors_truncated = true;
        return;
    }
    if (job->n_errors == job->cap_errors) {
        job->cap_errors = job->cap_errors ? job->cap_errors * 2 : 32;
        job->errors = realloc(job->errors, job->cap_errors * sizeof *job->errors);
        if (!job->errors)
            abort();
    }
    Metodnet__ImportError *e = malloc(sizeof *e);
    if (!e)
        abort();
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
static const char *s_header_of(const import_job *job, const char *field)
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

static bool s_present(const import_job *job, const char *field)
{
    for (size_t i = 0; i < job->n_columns; i++)
        if (strcmp(job->columns[i].field, field) == 0)
            return job->col_index[i] >= 0;
    return false;
}

static void s_reject(import_job *job, import_row *row)
{
    if (!row->rejected) {
        row->rejected = true;
        job->rejected++;
    }
}

static void s_reject_validation(import_job *job, import_row *row, const validation *v)
{
    for (size_t i = 0; i < v->n; i++)
        s_add_error(job, row->row, s_header_of_json(job, v->items[i]->field), "%s", v->items[i]->description);
    s_reject(job, row);
}

static void s_set_enum(ProtobufCMessage *msg, const char *field, int value)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
    if (f && (f->type == PROTOBUF_C_TYPE_ENUM || f->type == PROTOBUF_C_TYPE_BOOL) &&
        f->label != PROTOBUF_C_LABEL_REPEATED)
        *(int *)((char *)msg + f->offset) = value;
}

static int s_get_enum(const ProtobufCMessage *msg, const char *field)
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
        job->rows = realloc(job->rows, job->cap_rows * sizeof *job->rows);
        if (!job->rows)
            abort();
    }
    import_row *row = &job->rows[job->n_rows++];
    memset(row, 0, sizeof *row);
    row->row = rec->row;
    row->draft = malloc(job->kind->descriptor->sizeof_message);
    if (!row->draft)
        abort();
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
        while (s_blank(*s))
            s++;
        size_t len = strlen(s);
        while (len > 0 && s_blank(s[len - 1]))
            len--;
        char *text = strndup(s, len);
        if (!text)
            abort();
        switch (col->type) {
        case COL_TEXT:
            pbfield_set_string(row->draft, col->field, text);
            break;
        case COL_DATE:
            s_normalize_date(text, value, sizeof value);
            pbfield_set_string(row->draft, col->field, value);
            break;
        case COL_BOOL: {
            bool b = false;
            if (!s_parse_bool(text, &b)) {
                s_add_error(job, row->row, header, "Ожидается «да» или «нет», а не «%.80s»", text);
                s_reject(job, row);
            }
            s_set_enum(row->draft, col->field, b);
            break;
        }
        case COL_ENUM: {
            int v = 0;
            if (*text && !s_parse_enum(col, text, &v)) {
                char allowed[400] = "";
                for (const enum_words *w = col->words; w->words[0]; w++) {
                    size_t used = strlen(allowed);
                    snprintf(allowed + used, sizeof allowed - used, "%s«%s»", used ? ", " : "", w->words[0]);
                }
                s_add_error(job, row->row, header, "Неизвестное значение «%.80s»; допустимо: %s", text, allowed);
                s_reject(job, row);
            }
            s_set_enum(row->draft, col->field, v);
            break;
        }
        case COL_SUBJECTS: {
            char *parts[21];
            int n = s_split(text, parts, 20);
            if (n < 0) {
                s_add_error(job, row->row, header, "Не более 20 учебных предметов");
                s_reject(job, row);
                break;
            }
            Metodnet__StaffMember *staff = (Metodnet__StaffMember *)row->draft;
            staff->subjects = calloc((size_t)n + 1, sizeof *staff->subjects);
            if (!staff->subjects)
                abort();
            for (int i = 0; i < n; i++) {
                const char *code = s_subject_code(parts[i]);
                if (!code) {
                    s_add_error(job, row->row, header, "Неизвестный учебный предмет «%.80s»", parts[i]);
                    s_reject(job, row);
                } else {
                    staff->subjects[staff->n_subjects++] = strdup(code);
                }
                free(parts[i]);
            }
            break;
        }
        case COL_ORGANIZATIONS:
        case COL_MUNICIPALITY: {
            int n = s_split(text, row->refs, col->type == COL_MUNICIPALITY ? 1 : S_MAX_REFS);
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
                    s_add_error(job, row->row, header, "Не более %d организаций", S_MAX_REFS);
                    s_reject(job, row);
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
        s_add_error(job, row->row, s_header_of(job, "external_id"),
                    "Укажите внешний идентификатор: по нему повторный импорт обновляет запись, а не создаёт новую");
        s_reject(job, row);
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

static void s_finish(import_job *job)
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
    s_job_free(job);
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
    s_add_error(job, row, column, "%s", message);
    job->created = job->updated = job->unchanged = 0;
    job->rejected = (int)job->n_rows;
    job->file_refused = true;
}

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
        s_add_error(job, t->row->row, s_header_of(job, "external_id"),
                    "Этот внешний идентификатор одновременно занят другой записью; повторите импорт");
        s_reject(job, t->row);
        break;
    case ENTITY_EXISTS:
    case ENTITY_VERSION_MISMATCH:
    case ENTITY_NOT_FOUND:
        s_add_error(job, t->row->row, "", "Запись изменили или удалили во время импорта; повторите импорт");
        s_reject(job, t->row);
        break;
    case ENTITY_MISSING_REFERENCE:
        s_add_error(job, t->row->row,
                    s_header_of(job, job->kind == &registry_staff_kind ? "organization_ids" : "municipality_id"),
                    "Связанную запись удалили во время импорта");
        s_reject(job, t->row);
        break;
    default:
        log_error(service_call_request_id(job->call), "импорт: запись строки %zu не удалась: %s", t->row->row,
                  error ? error : "?");
        job->store_failed = true;
        s_add_error(job, t->row->row, "", "%s", s_unavailable_ru);
        s_reject(job, t->row);
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
        if (!s_present(job, "organization_ids") && !creating)
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
            import_ref *ref = s_map_get(&job->ref_map, row->refs[i], &k) ? &job->refs[k] : NULL;
            if (ref == NULL || ref->id == NULL || !ref->visible) {
                s_add_error(job, row->row, s_header_of(job, "organization_ids"),
                            "Организация «%.80s» не найдена (ни по внешнему идентификатору, ни по коду)", row->refs[i]);
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
    if (!s_present(job, "municipality_id"))
        return true;
    const char *municipality = "";
    if (row->n_refs == 1) {
        size_t k = 0; /* read below when neither lookup found it */
        char folded[256];
        s_fold(row->refs[0], folded, sizeof folded);
        if ((s_map_get(&job->mun_map, row->refs[0], &k) || s_map_get(&job->mun_map, folded, &k)) && k != SIZE_MAX) {
            municipality = job->mun_ids[k];
        } else {
            s_add_error(job, row->row, s_header_of(job, "municipality_id"),
                        k == SIZE_MAX && s_map_get(&job->mun_map, folded, &k)
                            ? "Несколько муниципальных образований с названием «%.80s»: укажите код (вида «07-m1»)"
                            : "Муниципальное образование «%.80s» не найдено в регионе",
                        row->refs[0]);
            return false;
        }
    }
    if (!creating) {
        if (strcmp(pbfield_string(next, "municipality_id"), municipality) != 0) {
            s_add_error(job, row->row, s_header_of(job, "municipality_id"),
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
    job->kind->validate(t->next, creating, &v);
    if (!validation_ok(&v)) {
        s_reject_validation(job, t->row, &v);
        validation_free(&v);
        s_row_done(t);
        return;
    }
    validation_free(&v);
    if (!s_allowed(job, t->next, SCOPE_WRITE)) {
        s_add_error(job, t->row->row, "", "Недостаточно прав: запись вне вашей области");
        s_reject(job, t->row);
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
        s_add_error(job, t->row->row, "", "Сохранённая запись повреждена; сообщите администратору");
        s_reject(job, t->row);
        s_row_done(t);
        return;
    }
    if (!s_allowed(job, t->current, SCOPE_READ)) {
        /* the answer of an id taken in the caller's own scope, word for word; audited and counted */
        s_add_error(job, t->row->row, s_header_of(job, "external_id"), "%s", REGISTRY_EXTERNAL_ID_TAKEN_RU);
        job->refused++;
        registry_claim_guard_refused(job->guard, job->call, s_object_kind(job->kind), pbfield_string(t->current, "id"),
                                     job->region);
        s_reject(job, t->row);
        s_row_done(t);
        return;
    }
    if (!s_allowed(job, t->current, SCOPE_WRITE)) {
        s_add_error(job, t->row->row, "", "Недостаточно прав изменять эту запись");
        s_reject(job, t->row);
        s_row_done(t);
        return;
    }
    t->next = pbfield_clone(t->current);
    if (!t->next)
        abort();
    for (size_t c = 0; c < job->n_columns; c++) {
        const column *col = &job->columns[c];
        if (job->col_index[c] < 0 || col->type == COL_ORGANIZATIONS || col->type == COL_MUNICIPALITY)
            continue;
        pbfield_copy(t->next, t->row->draft, col->field);
    }
    if (!s_apply_references(job, t->row, t->next, false)) {
        s_reject(job, t->row);
        s_row_done(t);
        return;
    }
    s_check_and_write(t);
}

static void s_row_start(import_job *job, import_row *row)
{
    row_task *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->job = job;
    t->row = row;
    if (job->refused >= job->refusals_left) {
        /* over the limit: every row gets the same answer, free id or taken */
        s_add_error(job, row->row, s_header_of(job, "external_id"), "%s", REGISTRY_CLAIM_LIMIT_RU);
        s_reject(job, row);
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
    if (!t->next)
        abort();
    pbfield_set_string(t->next, "id", "");
    pbfield_set_string(t->next, "region_id", job->region);
    if (job->kind == &registry_staff_kind && !s_present(job, "active"))
        ((Metodnet__StaffMember *)t->next)->active = 1; /* a new staff member works unless told otherwise */
    if (!s_apply_references(job, row, t->next, true)) {
        s_reject(job, row);
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
    while (job->in_flight < S_WINDOW && job->next_row < job->n_rows &&
           (job->refused >= job->refusals_left || job->refused + job->refusals_reserved < job->refusals_left)) {
        import_row *row = &job->rows[job->next_row++];
        if (row->rejected)
            continue;
        job->in_flight++;
        s_row_start(job, row);
    }
    job->pumping = false;
    if (job->in_flight == 0 && job->next_row == job->n_rows && !job->finished)
        s_finish(job);
}

/* ---------- which external ids exist ---------- */

static void s_claims_batch(import_job *job);

static void s_on_own_claims(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "импорт: внешние идентификаторы не прочитаны: %s",
                  error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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
    s_claims_batch(job);
}

static void s_claims_batch(import_job *job)
{
    const char *values[S_CLAIMS_BATCH];
    size_t n = 0;
    for (size_t i = job->claims_done; i < job->n_rows && n < S_CLAIMS_BATCH; i++)
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
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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

/* Keeps up to S_WINDOW organization reads in flight; the stage ends when all are back. */
static void s_ref_next(import_job *job)
{
    while (job->stage_pending < S_WINDOW && job->claims_done < job->n_refs) {
        size_t i = job->claims_done++;
        import_ref *ref = &job->refs[i];
        char key[REGISTRY_KEY_MAX];
        if (ref->id == NULL || !registry_entity_key(&registry_organization_kind, ref->id, key, sizeof key)) {
            free(ref->id);
            ref->id = NULL;
            continue;
        }
        ref_ctx *ctx = malloc(sizeof *ctx);
        if (!ctx)
            abort();
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

static void s_on_org_claims(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK || n != job->n_refs) {
        log_error(service_call_request_id(job->call), "импорт: внешние идентификаторы организаций не прочитаны: %s",
                  error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
        return;
    }
    job->claims_done = 0;
    s_claims_batch(job);
}

/* Organizations: the region's municipalities, page by page. */
static void s_municipalities_page(import_job *job);

static void s_on_municipalities(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                                const char *error, void *ud)
{
    import_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "импорт: список МО не получен: %s", error ? error : "?");
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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
            s_fold(m->name, folded, sizeof folded);
            job->mun_names[k] = strdup(folded);
            s_map_put(&job->mun_map, job->mun_ids[k], k);
            size_t found = s_map_put(&job->mun_map, job->mun_names[k], k);
            if (found != k) {
                /* two municipalities with one name: the name alone is ambiguous */
                size_t j = s_hash(job->mun_names[k]) & (job->mun_map.cap - 1);
                while (strcmp(job->mun_map.keys[j], job->mun_names[k]) != 0)
                    j = (j + 1) & (job->mun_map.cap - 1);
                job->mun_map.values[j] = SIZE_MAX;
            }
        }
        metodnet__municipality__free_unpacked(m, NULL);
    }
    if (next_member && strlen(next_member) < sizeof job->mun_after) {
        snprintf(job->mun_after, sizeof job->mun_after, "%s", next_member);
        s_municipalities_page(job);
        return;
    }
    job->claims_done = 0;
    s_claims_batch(job);
}

static void s_municipalities_page(import_job *job)
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
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
    }
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
        s_fold(csv_unguard(rec.fields[i]), folded, sizeof folded);
        if (!*folded)
            continue; /* an empty header: a spreadsheet's trailing column */
        bool known = false;
        for (size_t c = 0; c < job->n_columns && !known; c++) {
            if (!s_header_matches(&job->columns[c], folded))
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
    s_map seen = {0};
    for (size_t i = 0; i < job->n_rows; i++) {
        const char *xid = pbfield_string(job->rows[i].draft, "external_id");
        if (!xid || !*xid)
            continue;
        size_t first = s_map_put(&seen, xid, i);
        if (first != i) {
            import_row *a = &job->rows[first], *b = &job->rows[i];
            const char *header = s_header_of(job, "external_id");
            s_add_error(job, b->row, header, "Внешний идентификатор «%.80s» повторяется в файле (также строка %zu)",
                        xid, a->row);
            if (!a->duplicate_reported) {
                /* the first row is reported once, however often its id repeats */
                s_add_error(job, a->row, header, "Внешний идентификатор «%.80s» повторяется в файле (также строка %zu)",
                            xid, b->row);
                a->duplicate_reported = true;
            }
            s_reject(job, a);
            s_reject(job, b);
        }
    }
    s_map_free(&seen);

    return 0;
}

/* ---------- the entry ---------- */

static void s_import_budget(int status, int left, int32_t retry_after_seconds, void *ud);

void registry_import_run(service_call *call, const ProtobufCMessage *request, entity_store *store, audit *audit,
                         registry_claim_guard *guard, const registry_kind *kind)
{
    const Metodnet__ImportRequest *req = (const Metodnet__ImportRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    import_job *job = calloc(1, sizeof *job);
    if (!job)
        abort();
    job->call = call;
    job->store = store;
    job->audit = audit;
    job->guard = guard;
    job->request = req;
    job->kind = kind;
    job->dry_run = req->dry_run;
    job->columns = s_columns(kind, &job->n_columns);
    for (size_t i = 0; i < S_MAX_COLUMNS; i++)
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
        s_job_free(job);
        return;
    }
    snprintf(job->region, sizeof job->region, "%s", parsed);
    /* a school system's key only reads, and a person (scope self) edits their own record through the API
     * with its field limits: neither imports (a row matched by external id would bypass those limits) */
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM ||
        caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                          "Импорт недоступен: нужны права администратора или методиста");
        s_job_free(job);
        return;
    }
    if (!scope_is_global(caller) && strcmp(job->region, caller->region_id ? caller->region_id : "") != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_PERMISSION_DENIED,
                          "Импорт возможен только в свой регион");
        s_job_free(job);
        return;
    }
    /* every row names an external id: over the limit of refusals, the file is not looked at */
    if (registry_claim_guard_budget(guard, call, s_import_budget, job) != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
        return;
    }
    if (left <= 0) {
        service_call_fail_retry_after(call, REGISTRY_CLAIM_LIMIT_RU, retry_after_seconds);
        s_job_free(job);
        return;
    }
    job->refusals_left = left;
    if (s_read_sheet(job, req->csv.data, req->csv.len) != 0) {
        s_finish(job);
        return;
    }

    /* 3. references, then 4. existing ids, then 5. rows */
    if (kind == &registry_organization_kind) {
        s_municipalities_page(job);
        return;
    }
    for (size_t i = 0; i < job->n_rows; i++) {
        import_row *row = &job->rows[i];
        if (row->rejected)
            continue;
        for (size_t j = 0; j < row->n_refs; j++) {
            size_t k;
            if (s_map_get(&job->ref_map, row->refs[j], &k))
                continue;
            if (job->n_refs == job->cap_refs) {
                job->cap_refs = job->cap_refs ? job->cap_refs * 2 : 64;
                job->refs = realloc(job->refs, job->cap_refs * sizeof *job->refs);
                if (!job->refs)
                    abort();
            }
            import_ref *ref = &job->refs[job->n_refs];
            memset(ref, 0, sizeof *ref);
            ref->ref = strdup(row->refs[j]);
            s_map_put(&job->ref_map, ref->ref, job->n_refs);
            job->n_refs++;
        }
    }
    if (job->n_refs == 0) {
        job->claims_done = 0;
        s_claims_batch(job);
        return;
    }
    const char **values = malloc(job->n_refs * sizeof *values);
    if (!values)
        abort();
    for (size_t i = 0; i < job->n_refs; i++)
        values[i] = job->refs[i].ref;
    char key[REGISTRY_KEY_MAX];
    registry_claims_key(&registry_organization_kind, job->region, key, sizeof key);
    int rc = entity_store_claim_owners(store, key, values, job->n_refs, s_on_org_claims, job);
    free(values);
    if (rc != 0) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        s_job_free(job);
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
    job->columns = s_columns(kind, &job->n_columns);
    for (size_t i = 0; i < S_MAX_COLUMNS; i++)
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
    s_job_free((*sheet)->job);
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
    const column *columns = s_columns(kind, &n);
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
    s_map org_map;
    bool failed;
};

registry_export *registry_export_new(service_call *call, entity_store *store, const registry_kind *kind)
{
    registry_export *e = calloc(1, sizeof *e);
    if (!e)
        abort();
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
        e->items = realloc(e->items, e->cap * sizeof *e->items);
        if (!e->items)
            abort();
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
    s_map_free(&e->org_map);
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
    const column *columns = s_columns(e->kind, &n_columns);
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
                snprintf(cell, sizeof cell, "%s", s_get_enum(m, col->field) ? "да" : "нет");
                break;
            case COL_ENUM:
                snprintf(cell, sizeof cell, "%s", s_enum_word(col, s_get_enum(m, col->field)));
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
                    if (s_map_get(&e->org_map, ref, &k) && e->org_xids[k] && *e->org_xids[k])
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
    while (e->pending < S_WINDOW && e->next_org < e->n_orgs) {
        size_t i = e->next_org++;
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(&registry_organization_kind, e->org_ids[i], key, sizeof key))
            continue;
        export_ctx *ctx = malloc(sizeof *ctx);
        if (!ctx)
            abort();
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
            if (s_map_get(&e->org_map, s->organization_ids[j], &k))
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
            s_map_put(&e->org_map, e->org_ids[e->n_orgs], e->n_orgs);
            e->n_orgs++;
        }
    }
    s_export_next_org(e);
}
