/* registry_import_columns — the columns of the import format of organizations and staff (headers,
 * aliases, enum words, examples; docs/import.md), reading cells (dates, yes/no, enum words, subjects,
 * lists), and a small string → index map for the import and the export. */
#include "registry_import_internal.h"

/* ---------- columns ---------- */

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
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_EDUCATION_AUTHORITY,
     {"управление образования", "отдел образования", "орган управления образованием"}},
    {METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_PPMS_CENTRE, {"ЦПМиСП", "ППМС-центр", "центр ППМС-помощи"}},
    {0, {NULL}},
};

static const enum_words s_founders[] = {
    {METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_MUNICIPAL, {"муниципальная", "муниципальный", "МО"}},
    {METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_REGIONAL, {"региональная", "региональный", "субъект РФ"}},
    {METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_FEDERAL, {"федеральная", "федеральный"}},
    {METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_PRIVATE, {"частная", "частный", "негосударственная"}},
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
    {"difficult_conditions",
     "difficultConditions",
     "Сложные социальные условия",
     {"difficultConditions", "ССУ"},
     COL_BOOL,
     NULL,
     NULL,
     false,
     "нет"},
    {"founder",
     "founder",
     "Учредитель",
     {"founder"},
     COL_ENUM,
     &metodnet__organization_founder__descriptor,
     s_founders,
     false,
     "муниципальная"},
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
    {"qualification_category_date",
     "qualificationCategoryDate",
     "Дата присвоения категории",
     {"qualificationCategoryDate", "Дата категории"},
     COL_DATE,
     NULL,
     NULL,
     false,
     "20.12.2022"},
    {"appointed_on",
     "appointedOn",
     "Дата назначения руководителем",
     {"appointedOn", "Дата назначения"},
     COL_DATE,
     NULL,
     NULL,
     false,
     ""},
    {"personnel_reserve",
     "personnelReserve",
     "Кадровый резерв",
     {"personnelReserve", "Резерв"},
     COL_BOOL,
     NULL,
     NULL,
     false,
     "нет"},
};

const column *registry_import_columns(const registry_kind *kind, size_t *n)
{
    if (kind == &registry_staff_kind) {
        *n = sizeof s_staff_columns / sizeof s_staff_columns[0];
        return s_staff_columns;
    }
    *n = sizeof s_organization_columns / sizeof s_organization_columns[0];
    return s_organization_columns;
}

/* Blanks a cell may carry around its text: spaces, tabs and line breaks (Alt+Enter in Excel). */
bool registry_import_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void registry_import_fold(const char *in, char *out, size_t size)
{
    while (registry_import_blank(*in))
        in++;
    text_fold(in, out, size);
    size_t len = strlen(out);
    while (len > 0 && registry_import_blank(out[len - 1]))
        out[--len] = '\0';
}

bool registry_import_header_matches(const column *c, const char *folded)
{
    char want[256];
    registry_import_fold(c->header_ru, want, sizeof want);
    if (strcmp(want, folded) == 0)
        return true;
    registry_import_fold(c->field, want, sizeof want);
    if (strcmp(want, folded) == 0)
        return true;
    for (size_t i = 0; i < 4 && c->aliases[i]; i++) {
        registry_import_fold(c->aliases[i], want, sizeof want);
        if (strcmp(want, folded) == 0)
            return true;
    }
    return false;
}

bool registry_import_parse_enum(const column *c, const char *value, int *out)
{
    char folded[256], word[256];
    registry_import_fold(value, folded, sizeof folded);
    for (const enum_words *w = c->words; w->words[0]; w++)
        for (size_t i = 0; i < 5 && w->words[i]; i++) {
            registry_import_fold(w->words[i], word, sizeof word);
            if (strcmp(word, folded) == 0) {
                *out = w->value;
                return true;
            }
        }
    return pbjson_enum_parse(c->enum_desc, folded, out) && *out != 0;
}

const char *registry_import_enum_word(const column *c, int value)
{
    for (const enum_words *w = c->words; w->words[0]; w++)
        if (w->value == value)
            return w->words[0];
    return "";
}

bool registry_import_parse_bool(const char *value, bool *out)
{
    char folded[32];
    registry_import_fold(value, folded, sizeof folded);
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
void registry_import_normalize_date(const char *value, char *out, size_t size)
{
    int d, m, y;
    char tail;
    if (sscanf(value, "%2d.%2d.%4d%c", &d, &m, &y, &tail) == 3 && strlen(value) >= 8 && y >= 1000)
        snprintf(out, size, "%04d-%02d-%02d", y, m, d);
    else
        snprintf(out, size, "%s", value);
}

const char *registry_import_subject_code(const char *value)
{
    char folded[256], name[256];
    registry_import_fold(value, folded, sizeof folded);
    size_t n;
    const dictionary_entry *subjects = dictionary_subjects(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(subjects[i].code, folded) == 0)
            return subjects[i].code;
        registry_import_fold(subjects[i].name_ru, name, sizeof name);
        if (strcmp(name, folded) == 0)
            return subjects[i].code;
    }
    return NULL;
}

/* Splits a cell on ',', ';' and line breaks into trimmed non-empty parts (copies); returns the count
 * or -1 when there are more than max. */
int registry_import_split(const char *value, char **parts, size_t max)
{
    size_t n = 0;
    const char *p = value;
    while (*p) {
        size_t len = strcspn(p, ",;\r\n");
        const char *s = p, *e = p + len;
        while (s < e && registry_import_blank(*s))
            s++;
        while (e > s && registry_import_blank(e[-1]))
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

uint64_t registry_import_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void registry_import_map_free(import_map *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* Finds key; inserts it (borrowed, must outlive the map) with value when absent. Returns the stored value. */
size_t registry_import_map_put(import_map *m, const char *key, size_t value)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        size_t *values = calloc(cap, sizeof *values);
        if (!keys || !values)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = registry_import_hash(m->keys[i]) & (cap - 1);
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
    size_t j = registry_import_hash(key) & (m->cap - 1);
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

bool registry_import_map_get(const import_map *m, const char *key, size_t *value)
{
    if (m->cap == 0)
        return false;
    size_t j = registry_import_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            *value = m->values[j];
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}
