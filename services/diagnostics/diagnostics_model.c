/* diagnostics_model — scoring, validation, default frameworks and route generation (see header).
 * Invariant: scores are integer points; a deficit is points·100 < threshold·max and a strength is
 * points·100 ≥ mastery·max, so the edges are exact (no floating point in any decision). */
#include "diagnostics_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "xalloc.h"

char *diag_strdup(const char *s)
{
    char *copy = xstrdup(s ? s : "");
    return copy;
}

void diag_set_string(char **field, const char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = diag_strdup(value);
}

static void *s_grow(void *array, size_t n, size_t element)
{
    void *grown = xrealloc(array, (n + 1) * element);
    return grown;
}

static void s_push_string(char ***array, size_t *n, const char *value)
{
    *array = s_grow(*array, *n, sizeof **array);
    (*array)[(*n)++] = diag_strdup(value);
}

void diag_days_to_date(int days, char *out, size_t size)
{
    /* civil-from-days (H. Hinnant) */
    long z = (long)days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, size, "%04ld-%02ld-%02ld", y + (m <= 2), m, d);
}

bool diag_competence_code_valid(const char *code)
{
    if (code == NULL || *code == '\0' || strlen(code) > DIAG_CODE_MAX)
        return false;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return false;
    return true;
}

/* ---------- the shipped frameworks ---------- */

typedef struct {
    const char *code, *name;
    const char *competences[4][2]; /* code, name; NULL-terminated */
} s_component_def;

static const s_component_def s_teacher[] = {
    {"subject",
     "Предметный компонент",
     {{"t.subject.1", "Знание содержания преподаваемого предмета"},
      {"t.subject.2", "Решение предметных задач повышенной сложности"},
      {"t.subject.3", "Владение требованиями ФГОС и ФОП по предмету"}}},
    {"method",
     "Методический компонент",
     {{"t.method.1", "Проектирование урока и учебного занятия"},
      {"t.method.2", "Применение современных образовательных технологий"},
      {"t.method.3", "Организация проектной и исследовательской деятельности обучающихся"}}},
    {"assessment",
     "Оценочный компонент",
     {{"t.assess.1", "Оценка образовательных результатов обучающихся"},
      {"t.assess.2", "Формирующее оценивание"},
      {"t.assess.3", "Анализ результатов оценочных процедур (ВПР, ОГЭ, ЕГЭ)"}}},
    {"psychology",
     "Психолого-педагогический компонент",
     {{"t.psych.1", "Учёт возрастных и индивидуальных особенностей обучающихся"},
      {"t.psych.2", "Работа с обучающимися с ОВЗ и особыми образовательными потребностями"},
      {"t.psych.3", "Формирование мотивации к обучению"}}},
    {"communication",
     "Коммуникативный компонент",
     {{"t.comm.1", "Взаимодействие с обучающимися и родителями"},
      {"t.comm.2", "Профессиональное взаимодействие с коллегами"},
      {"t.comm.3", "Предупреждение и разрешение конфликтов"}}},
    {"digital",
     "Цифровой компонент",
     {{"t.digital.1", "Использование цифровых образовательных ресурсов и платформ"},
      {"t.digital.2", "Организация дистанционного и смешанного обучения"},
      {"t.digital.3", "Информационная безопасность и цифровая этика"}}},
};

static const s_component_def s_manager[] = {
    {"strategy",
     "Стратегическое управление",
     {{"m.strategy.1", "Разработка программы развития образовательной организации"},
      {"m.strategy.2", "Управление изменениями и проектами"}}},
    {"quality",
     "Управление качеством образования",
     {{"m.quality.1", "Построение внутренней системы оценки качества образования"},
      {"m.quality.2", "Использование результатов оценочных процедур в управлении"}}},
    {"staff",
     "Управление кадрами",
     {{"m.staff.1", "Организация методической работы и профессионального развития педагогов"},
      {"m.staff.2", "Организация наставничества"}}},
    {"resources",
     "Управление ресурсами",
     {{"m.resources.1", "Финансово-хозяйственная деятельность"},
      {"m.resources.2", "Нормативно-правовое обеспечение деятельности"}}},
    {"communication",
     "Коммуникации и открытость",
     {{"m.comm.1", "Взаимодействие с родителями, учредителем и социальными партнёрами"},
      {"m.comm.2", "Информационная открытость организации"}}},
};

bool diag_framework_id(const char *region_id, Metodnet__FrameworkCategory category, char *out, size_t size)
{
    const char *word = pbjson_enum_word(&metodnet__framework_category__descriptor, (int)category);
    if (word == NULL || region_id == NULL)
        return false;
    snprintf(out, size, "%s-%s", region_id, word);
    return true;
}

bool diag_framework_parse_id(const char *id, char *region, size_t region_size, Metodnet__FrameworkCategory *category)
{
    if (id == NULL || strlen(id) < 4 || id[2] != '-' || region_size < 3 || id[0] < '0' || id[0] > '9' || id[1] < '0' ||
        id[1] > '9')
        return false;
    int value;
    if (!pbjson_enum_parse(&metodnet__framework_category__descriptor, id + 3, &value))
        return false;
    memcpy(region, id, 2);
    region[2] = '\0';
    *category = (Metodnet__FrameworkCategory)value;
    return true;
}

Metodnet__CompetenceFramework *diag_default_framework(const char *region_id, Metodnet__FrameworkCategory category)
{
    const s_component_def *defs;
    size_t n;
    if (category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER) {
        defs = s_teacher;
        n = sizeof s_teacher / sizeof s_teacher[0];
    } else if (category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_MANAGER) {
        defs = s_manager;
        n = sizeof s_manager / sizeof s_manager[0];
    } else {
        return NULL;
    }
    Metodnet__CompetenceFramework *fw = xmalloc(sizeof *fw);
    metodnet__competence_framework__init(fw);
    char id[40];
    diag_framework_id(region_id, category, id, sizeof id);
    fw->id = diag_strdup(id);
    fw->region_id = diag_strdup(region_id);
    fw->category = category;
    fw->title = diag_strdup(category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_TEACHER
                                ? "Единая рамка профессиональных компетенций педагогических работников"
                                : "Рамка управленческих компетенций руководителей образовательных организаций");
    fw->created_at = diag_strdup("");
    fw->updated_at = diag_strdup("");
    fw->components = xcalloc(n, sizeof *fw->components);
    fw->n_components = n;
    for (size_t i = 0; i < n; i++) {
        Metodnet__CompetenceComponent *c = xmalloc(sizeof *c);
        metodnet__competence_component__init(c);
        c->code = diag_strdup(defs[i].code);
        c->name = diag_strdup(defs[i].name);
        for (size_t j = 0; j < 4 && defs[i].competences[j][0]; j++) {
            Metodnet__Competence *k = xmalloc(sizeof *k);
            metodnet__competence__init(k);
            k->code = diag_strdup(defs[i].competences[j][0]);
            k->name = diag_strdup(defs[i].competences[j][1]);
            k->description = diag_strdup("");
            c->competences = s_grow(c->competences, c->n_competences, sizeof *c->competences);
            c->competences[c->n_competences++] = k;
        }
        fw->components[i] = c;
    }
    return fw;
}

void diag_framework_validate(const Metodnet__CompetenceFramework *fw, validation *v)
{
    validate_text(v, "framework.title", fw->title, 300, true);
    if (fw->n_components == 0 || fw->n_components > 20)
        validation_add(v, "framework.components", "Рамка содержит от 1 до 20 компонентов");
    size_t total = 0;
    for (size_t i = 0; i < fw->n_components && i < 20; i++) {
        const Metodnet__CompetenceComponent *c = fw->components[i];
        char path[96];
        snprintf(path, sizeof path, "framework.components[%zu].name", i);
        validate_text(v, path, c->name, 200, true);
        if (c->n_competences == 0 || c->n_competences > 50) {
            snprintf(path, sizeof path, "framework.components[%zu].competences", i);
            validation_add(v, path, "Компонент содержит от 1 до 50 компетенций");
        }
        for (size_t j = 0; j < c->n_competences && j < 50; j++, total++) {
            const Metodnet__Competence *k = c->competences[j];
            snprintf(path, sizeof path, "framework.components[%zu].competences[%zu].code", i, j);
            if (!diag_competence_code_valid(k->code)) {
                validation_add(v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-], например «t.method.2»");
                continue;
            }
            /* unique across the whole framework */
            bool seen = false;
            for (size_t a = 0; a <= i && !seen; a++)
                for (size_t b = 0; b < fw->components[a]->n_competences && !seen; b++) {
                    if (a == i && b >= j)
                        break;
                    seen = strcmp(fw->components[a]->competences[b]->code, k->code) == 0;
                }
            if (seen)
                validation_add(v, path, "Код компетенции «%s» повторяется", k->code);
            snprintf(path, sizeof path, "framework.components[%zu].competences[%zu].name", i, j);
            validate_text(v, path, k->name, 300, true);
        }
    }
}

bool diag_framework_has(const Metodnet__CompetenceFramework *fw, const char *code)
{
    for (size_t i = 0; i < fw->n_components; i++)
        for (size_t j = 0; j < fw->components[i]->n_competences; j++)
            if (strcmp(fw->components[i]->competences[j]->code, code) == 0)
                return true;
    return false;
}

/* ---------- instruments ---------- */

int diag_item_max_points(const Metodnet__InstrumentItem *item)
{
    switch (item->kind) {
    case METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE: {
        int best = 0;
        for (size_t i = 0; i < item->n_options; i++)
            if (item->options[i]->points > best)
                best = item->options[i]->points;
        return best;
    }
    case METODNET__ITEM_KIND__ITEM_KIND_SCALE:
        return item->scale_max - item->scale_min;
    default:
        return item->max_points;
    }
}

static bool s_percent_ok(int p)
{
    return p >= 0 && p <= 100;
}

void diag_instrument_validate(const Metodnet__Instrument *in, const Metodnet__CompetenceFramework *fw, validation *v)
{
    validate_text(v, "instrument.title", in->title, 300, true);
    validate_text(v, "instrument.description", in->description, 4000, false);
    if (in->category == METODNET__FRAMEWORK_CATEGORY__FRAMEWORK_CATEGORY_UNSPECIFIED)
        validation_add(v, "instrument.category", "Укажите категорию: teacher или manager");
    if (in->n_items == 0 || in->n_items > DIAG_MAX_ITEMS)
        validation_add(v, "instrument.items", "Инструмент содержит от 1 до %d заданий", DIAG_MAX_ITEMS);
    if (!s_percent_ok(in->default_threshold_percent) || !s_percent_ok(in->default_mastery_percent))
        validation_add(v, "instrument.defaultThresholdPercent", "Пороги — в процентах от 0 до 100");
    char path[128];
    for (size_t i = 0; i < in->n_items && i < DIAG_MAX_ITEMS; i++) {
        const Metodnet__InstrumentItem *item = in->items[i];
        snprintf(path, sizeof path, "instrument.items[%zu].id", i);
        if (!id_valid(item->id) || strlen(item->id) > 16)
            validation_add(v, path, "Идентификатор задания — до 16 символов [A-Za-z0-9_-]");
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->items[j]->id, item->id) == 0) {
                validation_add(v, path, "Идентификатор задания «%s» повторяется", item->id);
                break;
            }
        snprintf(path, sizeof path, "instrument.items[%zu].competence", i);
        if (!diag_competence_code_valid(item->competence))
            validation_add(v, path, "Код компетенции — от 1 до 32 символов [a-z0-9_.-]");
        else if (fw && !diag_framework_has(fw, item->competence))
            validation_add(v, path, "Компетенции «%s» нет в рамке компетенций", item->competence);
        snprintf(path, sizeof path, "instrument.items[%zu].text", i);
        validate_text(v, path, item->text, 4000, true);
        bool choice = item->kind == METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE ||
                      item->kind == METODNET__ITEM_KIND__ITEM_KIND_MULTIPLE_CHOICE;
        snprintf(path, sizeof path, "instrument.items[%zu].options", i);
        if (choice && (item->n_options < 2 || item->n_options > DIAG_MAX_OPTIONS))
            validation_add(v, path, "Задание с выбором содержит от 2 до %d вариантов", DIAG_MAX_OPTIONS);
        if (!choice && item->n_options > 0)
            validation_add(v, path, "Варианты ответа бывают только у заданий с выбором");
        for (size_t j = 0; choice && j < item->n_options && j < DIAG_MAX_OPTIONS; j++) {
            const Metodnet__ItemOption *o = item->options[j];
            snprintf(path, sizeof path, "instrument.items[%zu].options[%zu].id", i, j);
            if (!id_valid(o->id) || strlen(o->id) > 8)
                validation_add(v, path, "Идентификатор варианта — до 8 символов [A-Za-z0-9_-]");
            for (size_t k = 0; k < j; k++)
                if (strcmp(item->options[k]->id, o->id) == 0) {
                    validation_add(v, path, "Вариант «%s» повторяется", o->id);
                    break;
                }
            snprintf(path, sizeof path, "instrument.items[%zu].options[%zu].points", i, j);
            if (o->points < -100 || o->points > 100 ||
                (item->kind == METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE && o->points < 0))
                validation_add(v, path, "Баллы варианта — от 0 до 100 (для множественного выбора от −100)");
            snprintf(path, sizeof path, "instrument.items[%zu].options[%zu].text", i, j);
            validate_text(v, path, o->text, 1000, true);
        }
        snprintf(path, sizeof path, "instrument.items[%zu].maxPoints", i);
        switch (item->kind) {
        case METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE:
            if (diag_item_max_points(item) <= 0)
                validation_add(v, path, "Хотя бы один вариант должен давать баллы");
            break;
        case METODNET__ITEM_KIND__ITEM_KIND_MULTIPLE_CHOICE: {
            int reachable = 0;
            for (size_t j = 0; j < item->n_options; j++)
                if (item->options[j]->points > 0)
                    reachable += item->options[j]->points;
            if (item->max_points < 1 || item->max_points > 100 || item->max_points > reachable)
                validation_add(v, path, "Максимальный балл — от 1 до 100 и не больше суммы баллов вариантов");
            break;
        }
        case METODNET__ITEM_KIND__ITEM_KIND_SCALE:
            snprintf(path, sizeof path, "instrument.items[%zu].scaleMax", i);
            if (item->scale_min < 0 || item->scale_max > 100 || item->scale_max <= item->scale_min)
                validation_add(v, path, "Шкала — целые числа от 0 до 100, scaleMin < scaleMax");
            break;
        case METODNET__ITEM_KIND__ITEM_KIND_NUMERIC:
            if (item->max_points < 1 || item->max_points > 100)
                validation_add(v, path, "Максимальный балл — от 1 до 100");
            snprintf(path, sizeof path, "instrument.items[%zu].tolerance", i);
            if (!isfinite(item->correct_value) || !isfinite(item->tolerance) || item->tolerance < 0)
                validation_add(v, path, "Верный ответ и допуск — конечные числа, допуск не меньше нуля");
            break;
        default:
            snprintf(path, sizeof path, "instrument.items[%zu].kind", i);
            validation_add(v, path, "Вид задания: single_choice, multiple_choice, scale или numeric");
        }
    }
    for (size_t i = 0; i < in->n_thresholds; i++) {
        const Metodnet__CompetenceThreshold *t = in->thresholds[i];
        snprintf(path, sizeof path, "instrument.thresholds[%zu].competence", i);
        bool used = false;
        for (size_t j = 0; j < in->n_items && !used; j++)
            used = strcmp(in->items[j]->competence, t->competence ? t->competence : "") == 0;
        if (!used)
            validation_add(v, path, "Ни одно задание не проверяет компетенцию «%.40s»",
                           t->competence ? t->competence : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->thresholds[j]->competence, t->competence) == 0) {
                validation_add(v, path, "Порог для компетенции задан дважды");
                break;
            }
        snprintf(path, sizeof path, "instrument.thresholds[%zu].masteryPercent", i);
        if (!s_percent_ok(t->threshold_percent) || !s_percent_ok(t->mastery_percent) ||
            t->mastery_percent < t->threshold_percent)
            validation_add(v, path, "Пороги — от 0 до 100 %%, уровень мастерства не ниже порога дефицита");
    }
}

void diag_instrument_redact(Metodnet__Instrument *in)
{
    for (size_t i = 0; i < in->n_items; i++) {
        Metodnet__InstrumentItem *item = in->items[i];
        for (size_t j = 0; j < item->n_options; j++)
            item->options[j]->points = 0;
        item->correct_value = 0;
        item->tolerance = 0;
    }
}

void diag_thresholds_of(const Metodnet__Instrument *in, const char *competence, int *threshold, int *mastery)
{
    *threshold = in->default_threshold_percent ? in->default_threshold_percent : 50;
    *mastery = in->default_mastery_percent ? in->default_mastery_percent : 85;
    for (size_t i = 0; i < in->n_thresholds; i++)
        if (strcmp(in->thresholds[i]->competence, competence) == 0) {
            *threshold = in->thresholds[i]->threshold_percent;
            *mastery = in->thresholds[i]->mastery_percent;
        }
}

/* ---------- answers and scoring ---------- */

static const Metodnet__InstrumentItem *s_item(const Metodnet__Instrument *in, const char *id)
{
    for (size_t i = 0; i < in->n_items; i++)
        if (strcmp(in->items[i]->id, id ? id : "") == 0)
            return in->items[i];
    return NULL;
}

static const Metodnet__ItemOption *s_option(const Metodnet__InstrumentItem *item, const char *id)
{
    for (size_t i = 0; i < item->n_options; i++)
        if (strcmp(item->options[i]->id, id ? id : "") == 0)
            return item->options[i];
    return NULL;
}

void diag_answers_validate(const Metodnet__Instrument *in, Metodnet__Answer *const *answers, size_t n,
                           const char *field, validation *v)
{
    char path[128];
    if (n > in->n_items) {
        validation_add(v, field, "Ответов больше, чем заданий");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const Metodnet__Answer *a = answers[i];
        snprintf(path, sizeof path, "%s[%zu].itemId", field, i);
        const Metodnet__InstrumentItem *item = s_item(in, a->item_id);
        if (item == NULL) {
            validation_add(v, path, "Задания «%.20s» в инструменте нет", a->item_id ? a->item_id : "");
            continue;
        }
        bool duplicate = false;
        for (size_t j = 0; j < i && !duplicate; j++)
            duplicate = strcmp(answers[j]->item_id, a->item_id) == 0;
        if (duplicate) {
            validation_add(v, path, "На задание «%s» дано два ответа", a->item_id);
            continue;
        }
        bool choice = item->kind == METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE ||
                      item->kind == METODNET__ITEM_KIND__ITEM_KIND_MULTIPLE_CHOICE;
        if (choice) {
            snprintf(path, sizeof path, "%s[%zu].optionIds", field, i);
            if (a->value != 0) {
                snprintf(path, sizeof path, "%s[%zu].value", field, i);
                validation_add(v, path, "В задании с выбором ответ — варианты, а не число");
                continue;
            }
            if (item->kind == METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE && a->n_option_ids != 1) {
                validation_add(v, path, "Выберите ровно один вариант");
                continue;
            }
            if (a->n_option_ids > item->n_options) {
                validation_add(v, path, "Вариантов выбрано больше, чем есть");
                continue;
            }
            for (size_t j = 0; j < a->n_option_ids; j++) {
                bool repeated = false;
                for (size_t k = 0; k < j && !repeated; k++)
                    repeated = strcmp(a->option_ids[k], a->option_ids[j]) == 0;
                if (s_option(item, a->option_ids[j]) == NULL || repeated) {
                    snprintf(path, sizeof path, "%s[%zu].optionIds[%zu]", field, i, j);
                    validation_add(v, path, repeated ? "Вариант выбран дважды" : "Такого варианта в задании нет");
                }
            }
        } else {
            snprintf(path, sizeof path, "%s[%zu].value", field, i);
            if (a->n_option_ids > 0) {
                snprintf(path, sizeof path, "%s[%zu].optionIds", field, i);
                validation_add(v, path, "В этом задании ответ — число, а не варианты");
            } else if (!isfinite(a->value)) {
                validation_add(v, path, "Ответ должен быть конечным числом");
            } else if (item->kind == METODNET__ITEM_KIND__ITEM_KIND_SCALE &&
                       (a->value != floor(a->value) || a->value < item->scale_min || a->value > item->scale_max)) {
                validation_add(v, path, "Оценка по шкале — целое число от %d до %d", item->scale_min, item->scale_max);
            } else if (fabs(a->value) > 1e12) {
                validation_add(v, path, "Слишком большое число");
            }
        }
    }
}

static int s_item_points(const Metodnet__InstrumentItem *item, const Metodnet__Answer *a)
{
    if (a == NULL)
        return 0;
    switch (item->kind) {
    case METODNET__ITEM_KIND__ITEM_KIND_SINGLE_CHOICE: {
        const Metodnet__ItemOption *o = a->n_option_ids == 1 ? s_option(item, a->option_ids[0]) : NULL;
        return o ? o->points : 0;
    }
    case METODNET__ITEM_KIND__ITEM_KIND_MULTIPLE_CHOICE: {
        int sum = 0;
        for (size_t i = 0; i < a->n_option_ids; i++) {
            const Metodnet__ItemOption *o = s_option(item, a->option_ids[i]);
            sum += o ? o->points : 0;
        }
        return sum < 0 ? 0 : sum > item->max_points ? item->max_points : sum;
    }
    case METODNET__ITEM_KIND__ITEM_KIND_SCALE:
        return (int)a->value - item->scale_min;
    case METODNET__ITEM_KIND__ITEM_KIND_NUMERIC:
        return fabs(a->value - item->correct_value) <= item->tolerance ? item->max_points : 0;
    default:
        return 0;
    }
}

void diag_score_classify(Metodnet__CompetenceScore *s)
{
    long long points = s->points, max = s->max_points;
    s->percent = max > 0 ? round(1000.0 * (double)points / (double)max) / 10.0 : 0;
    s->deficit = max > 0 && points * 100 < (long long)s->threshold_percent * max;
    s->strength = max > 0 && points * 100 >= (long long)s->mastery_percent * max;
}

void diag_result_collect(Metodnet__Result *r)
{
    for (size_t i = 0; i < r->n_deficits; i++)
        free(r->deficits[i]);
    for (size_t i = 0; i < r->n_strengths; i++)
        free(r->strengths[i]);
    free(r->deficits);
    free(r->strengths);
    r->deficits = r->strengths = NULL;
    r->n_deficits = r->n_strengths = 0;
    for (size_t i = 0; i < r->n_scores; i++) {
        if (r->scores[i]->deficit)
            s_push_string(&r->deficits, &r->n_deficits, r->scores[i]->competence);
        if (r->scores[i]->strength)
            s_push_string(&r->strengths, &r->n_strengths, r->scores[i]->competence);
    }
}

static int s_score_cmp(const void *a, const void *b)
{
    return strcmp((*(Metodnet__CompetenceScore *const *)a)->competence,
                  (*(Metodnet__CompetenceScore *const *)b)->competence);
}

Metodnet__Result *diag_score(const Metodnet__Instrument *in, Metodnet__Answer *const *answers, size_t n)
{
    Metodnet__Result *r = xmalloc(sizeof *r);
    metodnet__result__init(r);
    for (size_t i = 0; i < in->n_items; i++) {
        const Metodnet__InstrumentItem *item = in->items[i];
        const Metodnet__Answer *answer = NULL;
        for (size_t j = 0; j < n && !answer; j++)
            if (strcmp(answers[j]->item_id, item->id) == 0)
                answer = answers[j];
        Metodnet__CompetenceScore *score = NULL;
        for (size_t j = 0; j < r->n_scores && !score; j++)
            if (strcmp(r->scores[j]->competence, item->competence) == 0)
                score = r->scores[j];
        if (score == NULL) {
            score = xmalloc(sizeof *score);
            metodnet__competence_score__init(score);
            score->competence = diag_strdup(item->competence);
            int threshold, mastery;
            diag_thresholds_of(in, item->competence, &threshold, &mastery);
            score->threshold_percent = threshold;
            score->mastery_percent = mastery;
            r->scores = s_grow(r->scores, r->n_scores, sizeof *r->scores);
            r->scores[r->n_scores++] = score;
        }
        score->points += s_item_points(item, answer);
        score->max_points += diag_item_max_points(item);
    }
    qsort(r->scores, r->n_scores, sizeof *r->scores, s_score_cmp);
    for (size_t i = 0; i < r->n_scores; i++)
        diag_score_classify(r->scores[i]);
    diag_result_collect(r);
    return r;
}

/* ---------- routes ---------- */

/* "07-p12" → 12 for natural ordering of catalogue ids; -1 when there is no numeric tail. */
static long s_id_number(const char *id)
{
    const char *p = id + strlen(id);
    while (p > id && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return *p ? strtol(p, NULL, 10) : -1;
}

/* Natural order of catalogue ids: "07-p2" before "07-p10"; different prefixes compare as text. */
static int s_id_cmp(const char *a, const char *b)
{
    long na = s_id_number(a), nb = s_id_number(b);
    size_t pa = strlen(a), pb = strlen(b);
    while (pa > 0 && a[pa - 1] >= '0' && a[pa - 1] <= '9')
        pa--;
    while (pb > 0 && b[pb - 1] >= '0' && b[pb - 1] <= '9')
        pb--;
    if (na >= 0 && nb >= 0 && pa == pb && strncmp(a, b, pa) == 0 && na != nb)
        return na < nb ? -1 : 1;
    return strcmp(a, b);
}

static int s_programme_cmp(const void *a, const void *b)
{
    const Metodnet__Programme *pa = *(Metodnet__Programme *const *)a, *pb = *(Metodnet__Programme *const *)b;
    if (pa->federal_registry != pb->federal_registry)
        return pa->federal_registry ? -1 : 1;
    return s_id_cmp(pa->id, pb->id);
}

static const char *s_home;

static int s_site_cmp(const void *a, const void *b)
{
    const Metodnet__Organization *oa = *(Metodnet__Organization *const *)a, *ob = *(Metodnet__Organization *const *)b;
    bool ha = s_home && strcmp(oa->municipality_id, s_home) == 0,
         hb = s_home && strcmp(ob->municipality_id, s_home) == 0;
    if (ha != hb)
        return ha ? -1 : 1;
    return s_id_cmp(oa->id, ob->id);
}

static bool s_has(char *const *list, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], value) == 0)
            return true;
    return false;
}

static void s_free_item(Metodnet__RouteItem *item)
{
    protobuf_c_message_free_unpacked(&item->base, NULL);
}

static Metodnet__RouteItem *s_add_item(Metodnet__Route *route, Metodnet__RouteItemKind kind, const char *competence,
                                       const char *title, int due_days)
{
    Metodnet__RouteItem *item = xmalloc(sizeof *item);
    metodnet__route_item__init(item);
    char id[96];
    snprintf(id, sizeof id, "%s-i%d", route->id, ++route->next_item);
    item->id = diag_strdup(id);
    item->kind = kind;
    item->competence = diag_strdup(competence);
    item->title = diag_strdup(title);
    char due[16];
    diag_days_to_date(due_days, due, sizeof due);
    item->due_on = diag_strdup(due);
    item->status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED;
    route->items = s_grow(route->items, route->n_items, sizeof *route->items);
    route->items[route->n_items++] = item;
    return item;
}

void diag_route_generate(Metodnet__Route *route, const diag_route_input *in)
{
    for (size_t i = 0; i < route->n_items; i++)
        s_free_item(route->items[i]);
    free(route->items);
    route->items = NULL;
    route->n_items = 0;
    for (size_t i = 0; i < route->n_deficits; i++)
        protobuf_c_message_free_unpacked(&route->deficits[i]->base, NULL);
    free(route->deficits);
    route->deficits = NULL;
    route->n_deficits = 0;
    route->status = METODNET__ROUTE_STATUS__ROUTE_STATUS_DRAFT;
    diag_set_string(&route->result_id, in->result->id);
    diag_set_string(&route->starts_on, in->starts_on);
    diag_set_string(&route->approved_by, "");
    diag_set_string(&route->approved_at, "");
    int base = 0;
    date_parse(in->starts_on, &base);

    /* deficits in code order: the same result gives the same order */
    char **codes = NULL;
    size_t n_codes = 0;
    for (size_t i = 0; i < in->result->n_deficits; i++)
        if (!s_has(codes, n_codes, in->result->deficits[i]))
            s_push_string(&codes, &n_codes, in->result->deficits[i]);
    for (size_t i = 1; i < n_codes; i++)
        for (size_t j = i; j > 0 && strcmp(codes[j - 1], codes[j]) > 0; j--) {
            char *t = codes[j];
            codes[j] = codes[j - 1];
            codes[j - 1] = t;
        }

    Metodnet__Programme **programmes = calloc(in->n_programmes + 1, sizeof *programmes);
    Metodnet__Organization **sites = calloc(in->n_sites + 1, sizeof *sites);
    if (programmes == NULL || sites == NULL)
        abort();
    if (in->n_programmes)
        memcpy(programmes, in->programmes, in->n_programmes * sizeof *programmes);
    if (in->n_sites)
        memcpy(sites, in->sites, in->n_sites * sizeof *sites);
    qsort(programmes, in->n_programmes, sizeof *programmes, s_programme_cmp);
    s_home = in->home_municipality;
    qsort(sites, in->n_sites, sizeof *sites, s_site_cmp);
    s_home = NULL;
    size_t per_deficit = in->programmes_per_deficit ? in->programmes_per_deficit : 2;

    for (size_t d = 0; d < n_codes; d++) {
        const char *code = codes[d];
        Metodnet__RouteDeficit *deficit = xmalloc(sizeof *deficit);
        metodnet__route_deficit__init(deficit);
        deficit->competence = diag_strdup(code);
        deficit->checked_result_id = diag_strdup("");
        route->deficits = s_grow(route->deficits, route->n_deficits, sizeof *route->deficits);
        route->deficits[route->n_deficits++] = deficit;

        size_t taken = 0;
        for (size_t p = 0; p < in->n_programmes && taken < per_deficit; p++) {
            const Metodnet__Programme *prog = programmes[p];
            if (!s_has(prog->competences, prog->n_competences, code))
                continue;
            char title[400];
            snprintf(title, sizeof title, "ДПП «%s» (%s, %d ч)%s", prog->title, prog->provider, prog->hours,
                     prog->federal_registry ? ", ФР ДПП" : "");
            Metodnet__RouteItem *item =
                s_add_item(route, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME, code, title, base + 90);
            diag_set_string(&item->programme_id, prog->id);
            item->hours = prog->hours;
            item->federal_registry = prog->federal_registry;
            taken++;
        }
        if (in->n_sites > 0) {
            /* sites rotate over deficits so one site does not take every internship */
            const Metodnet__Organization *site = sites[d % in->n_sites];
            char title[400];
            snprintf(title, sizeof title, "Стажировка на стажировочной площадке «%s»",
                     *site->short_name ? site->short_name : site->name);
            Metodnet__RouteItem *item =
                s_add_item(route, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_INTERNSHIP, code, title, base + 120);
            diag_set_string(&item->organization_id, site->id);
        }
        s_add_item(route, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_SELF_EDUCATION, code,
                   "Самообразование: изучение методических материалов и эффективных практик по компетенции", base + 60);
    }
    for (size_t i = 0; i < n_codes; i++)
        free(codes[i]);
    free(codes);
    free(programmes);
    free(sites);
}

/* Text from another service's answer: UTF-8, no control characters, at most max characters. */
static bool s_text_ok(const char *value, size_t max, bool required)
{
    validation v;
    validation_init(&v);
    bool ok = validate_text(&v, "", value, max, required);
    validation_free(&v);
    return ok;
}

static bool s_closer_item(const Metodnet__Route *route, const char *code)
{
    for (size_t i = 0; i < route->n_items; i++) {
        const Metodnet__RouteItem *item = route->items[i];
        if (strcmp(item->competence, code) == 0 &&
            (item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_PROGRAMME ||
             item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_INTERNSHIP ||
             item->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_EVENT))
            return true;
    }
    return false;
}

Metodnet__RouteItem *diag_route_propose_mentor(Metodnet__Route *route, Metodnet__MatchCandidate *const *candidates,
                                               size_t n, const char *starts_on)
{
    for (size_t i = 0; i < route->n_items; i++)
        if (route->items[i]->kind == METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING)
            return NULL;
    int base = 0;
    if (!date_parse(starts_on, &base))
        return NULL;
    for (size_t c = 0; c < n; c++) {
        const Metodnet__MatchCandidate *m = candidates[c];
        if (m == NULL || !id_valid(m->staff_id) || strcmp(m->staff_id, route->staff_id) == 0)
            continue;
        const char *chosen = NULL;
        for (size_t d = 0; d < route->n_deficits; d++) {
            const char *code = route->deficits[d]->competence;
            if (!s_has(m->covered_deficits, m->n_covered_deficits, code))
                continue;
            if (!s_closer_item(route, code)) {
                chosen = code;
                break;
            }
            if (chosen == NULL)
                chosen = code;
        }
        if (chosen == NULL)
            continue;
        char title[1400], name[1300];
        snprintf(name, sizeof name, "%s", s_text_ok(m->full_name, 300, true) ? m->full_name : m->staff_id);
        snprintf(title, sizeof title, "Наставничество: наставник %s", name);
        Metodnet__RouteItem *item =
            s_add_item(route, METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING, chosen, title, base + 180);
        diag_set_string(&item->mentor_staff_id, m->staff_id);
        diag_set_string(&item->mentor_name, name);
        diag_set_string(&item->explanation, s_text_ok(m->explanation, 1000, false) ? m->explanation : "");
        return item;
    }
    return NULL;
}

bool diag_route_transition_allowed(Metodnet__RouteItemStatus from, Metodnet__RouteItemStatus to)
{
    switch (from) {
    case METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED:
        return to == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS ||
               to == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE ||
               to == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_CANCELLED;
    case METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS:
        return to == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE ||
               to == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_CANCELLED;
    default:
        return false;
    }
}

void diag_route_flag_overdue(Metodnet__Route *route, int today)
{
    for (size_t i = 0; i < route->n_items; i++) {
        Metodnet__RouteItem *item = route->items[i];
        int due;
        bool open = item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_PLANNED ||
                    item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS;
        item->overdue = open && date_parse(item->due_on, &due) && due < today;
    }
}

void diag_route_check_deficits(Metodnet__Route *route, const Metodnet__Result *result)
{
    if (result == NULL || strcmp(result->id, route->result_id ? route->result_id : "") == 0)
        return;
    for (size_t i = 0; i < route->n_deficits; i++) {
        Metodnet__RouteDeficit *d = route->deficits[i];
        const Metodnet__CompetenceScore *score = NULL;
        for (size_t j = 0; j < result->n_scores && !score; j++)
            if (strcmp(result->scores[j]->competence, d->competence) == 0)
                score = result->scores[j];
        if (score == NULL)
            continue; /* the newer diagnostic did not measure it: nothing is known */
        d->closed = !score->deficit;
        diag_set_string(&d->checked_result_id, result->id);
    }
}

Metodnet__RouteItem *diag_route_item(Metodnet__Route *route, const char *item_id)
{
    for (size_t i = 0; i < route->n_items; i++)
        if (strcmp(route->items[i]->id, item_id ? item_id : "") == 0)
            return route->items[i];
    return NULL;
}

bool diag_organization_is_internship_site(const Metodnet__Organization *org, int today)
{
    for (size_t i = 0; i < org->n_sites; i++) {
        const Metodnet__SiteDesignation *s = org->sites[i];
        int start = 0, end = 0;
        if (s->kind != METODNET__SITE_KIND__SITE_KIND_INTERNSHIP)
            continue;
        if (s->start_date && *s->start_date && date_parse(s->start_date, &start) && start > today)
            continue;
        if (s->end_date && *s->end_date && date_parse(s->end_date, &end) && end < today)
            continue;
        return true;
    }
    return false;
}

/* ---------- attempt ids ---------- */

static bool s_digits(const char *p)
{
    if (*p == '\0')
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

bool diag_attempt_id(const char *campaign_id, const char *staff_id, char *out, size_t size)
{
    if (!campaign_id || !staff_id || strlen(campaign_id) < 5 || strlen(staff_id) < 5 ||
        strncmp(campaign_id, staff_id, 2) != 0 || strncmp(campaign_id + 2, "-c", 2) != 0 ||
        strncmp(staff_id + 2, "-s", 2) != 0 || !s_digits(campaign_id + 4) || !s_digits(staff_id + 4) ||
        strlen(campaign_id) + strlen(staff_id) > 40)
        return false;
    snprintf(out, size, "%s-s%s", campaign_id, staff_id + 4);
    return true;
}

bool diag_attempt_parse(const char *id, char *campaign, size_t campaign_size, char *staff, size_t staff_size)
{
    if (id == NULL || strlen(id) > 48 || strlen(id) < 8 || strncmp(id + 2, "-c", 2) != 0)
        return false;
    const char *dash = strchr(id + 4, '-');
    if (dash == NULL || dash[1] != 's')
        return false;
    char c[48], s[48];
    snprintf(c, sizeof c, "%.*s", (int)(dash - id), id);
    snprintf(s, sizeof s, "%.2s-s%s", id, dash + 2);
    if (!s_digits(c + 4) || !s_digits(s + 4) || c[0] < '0' || c[0] > '9' || c[1] < '0' || c[1] > '9')
        return false;
    snprintf(campaign, campaign_size, "%s", c);
    snprintf(staff, staff_size, "%s", s);
    return true;
}
