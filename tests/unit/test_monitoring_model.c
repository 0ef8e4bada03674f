/* test_monitoring_model — the monitoring service's rules without a stack: a report's values checked
 * by field type (numbers with a comma, bounds, shares, choices, expert scores with their evidence, unknown
 * and repeated codes) with the field's title in the Russian message; the required fields still empty;
 * the shipped templates (the seeds' criteria as expert scores 0–3); who manages, reviews and reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "monitoring_internal.h"
#include "xalloc.h"

static Metodnet__FormField s_field(const char *code, const char *title, Metodnet__FieldType type, bool required)
{
    Metodnet__FormField f = METODNET__FORM_FIELD__INIT;
    f.code = (char *)code;
    f.title = (char *)title;
    f.type = type;
    f.required = required;
    return f;
}

static Metodnet__FieldValue s_value(const char *code, const char *value, const char *evidence)
{
    Metodnet__FieldValue v = METODNET__FIELD_VALUE__INIT;
    v.code = (char *)code;
    v.value = (char *)value;
    v.evidence = (char *)(evidence ? evidence : "");
    return v;
}

typedef struct {
    Metodnet__FormField f[5];
    Metodnet__FormField *fp[5];
    char *options[2];
    Metodnet__MonitoringCampaign c;
} s_form;

static void s_form_init(s_form *s)
{
    s->f[0] = s_field("winners", "Число победителей", METODNET__FIELD_TYPE__FIELD_TYPE_NUMBER, true);
    s->f[0].min = 0, s->f[0].max = 500;
    s->f[1] = s_field("share", "Доля педагогов", METODNET__FIELD_TYPE__FIELD_TYPE_SHARE, false);
    s->f[2] = s_field("note", "Комментарий", METODNET__FIELD_TYPE__FIELD_TYPE_TEXT, false);
    s->f[3] = s_field("form", "Форма наставничества", METODNET__FIELD_TYPE__FIELD_TYPE_CHOICE, false);
    s->options[0] = "индивидуальная", s->options[1] = "групповая";
    s->f[3].options = s->options, s->f[3].n_options = 2;
    s->f[4] = s_field("reserve", "Кадровый резерв", METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE, true);
    s->f[4].max_score = 3;
    for (int i = 0; i < 5; i++)
        s->fp[i] = &s->f[i];
    metodnet__monitoring_campaign__init(&s->c);
    s->c.fields = s->fp;
    s->c.n_fields = 5;
}

/* Checks values; returns the violations' text "field=message\n…" (malloc'd), *n_missing set. */
static char *s_check(const s_form *form, Metodnet__FieldValue *values, size_t n, size_t *n_missing)
{
    Metodnet__FieldValue *vp[8];
    for (size_t i = 0; i < n; i++)
        vp[i] = &values[i];
    validation v;
    validation_init(&v);
    char **missing = NULL;
    monitoring_check_values(&form->c, vp, n, &v, &missing, n_missing);
    for (size_t i = 0; i < *n_missing; i++)
        free(missing[i]);
    free(missing);
    size_t len = 1;
    for (size_t i = 0; i < v.n; i++)
        len += strlen(v.items[i]->field) + strlen(v.items[i]->description) + 2;
    char *out = xcalloc(1, len);
    for (size_t i = 0; i < v.n; i++) {
        strcat(out, v.items[i]->field);
        strcat(out, "=");
        strcat(out, v.items[i]->description);
        strcat(out, "\n");
    }
    validation_free(&v);
    return out;
}

static void test_values_by_type(void **state)
{
    (void)state;
    s_form form;
    s_form_init(&form);
    size_t n_missing = 0;
    Metodnet__FieldValue bad[] = {
        s_value("winners", "двенадцать", NULL), s_value("share", "100,5", NULL), s_value("form", "дистанционная", NULL),
        s_value("reserve", "3", NULL),          s_value("nope", "1", NULL),      s_value("note", "ок", "ссылка"),
        s_value("winners", "1", NULL)};
    char *text = s_check(&form, bad, 7, &n_missing);
    assert_non_null(strstr(text, "values[0].value=«Число победителей»: введите число\n"));
    assert_non_null(strstr(text, "values[1].value=«Доля педагогов»: доля — от 0 до 100 %\n"));
    assert_non_null(strstr(text, "values[2].value=«Форма наставничества»: выберите один из вариантов формы\n"));
    assert_non_null(strstr(text, "values[3].evidence=«Кадровый резерв»: экспертная оценка требует подтверждения"));
    assert_non_null(strstr(text, "values[4].code=Поля «nope» нет в форме кампании\n"));
    assert_non_null(strstr(text, "values[5].evidence=«Комментарий»: подтверждение прикладывается только к экспертной"));
    assert_non_null(strstr(text, "values[6].code=«Число победителей»: значение указано дважды\n"));
    free(text);

    Metodnet__FieldValue range[] = {s_value("winners", "501", NULL), s_value("reserve", "4", "Приказ"),
                                    s_value("reserve", "-1", "Приказ")};
    text = s_check(&form, range, 2, &n_missing);
    assert_string_equal(text, "values[0].value=«Число победителей»: число от 0 до 500\n"
                              "values[1].value=«Кадровый резерв»: оценка — целое число от 0 до 3\n");
    free(text);

    Metodnet__FieldValue good[] = {s_value("winners", "12,5", NULL), s_value("share", "0", NULL),
                                   s_value("form", "групповая", NULL), s_value("reserve", "0", "Приказ № 45")};
    text = s_check(&form, good, 4, &n_missing);
    assert_string_equal(text, "");
    assert_int_equal(n_missing, 0);
    free(text);

    /* a draft: what is given is valid, the required fields left empty are reported as missing */
    Metodnet__FieldValue partial[] = {s_value("share", "50", NULL), s_value("winners", "", NULL)};
    text = s_check(&form, partial, 2, &n_missing);
    assert_string_equal(text, "");
    assert_int_equal(n_missing, 2);
    free(text);
}

static void test_templates(void **state)
{
    (void)state;
    Metodnet__ListFormTemplatesResponse out = METODNET__LIST_FORM_TEMPLATES_RESPONSE__INIT;
    monitoring_templates(&out);
    assert_int_equal(out.n_items, 2);
    assert_string_equal(out.items[0]->code, "school-heads");
    assert_int_equal(out.items[0]->n_fields, 6);
    assert_int_equal(out.items[1]->n_fields, 7);
    for (size_t i = 0; i < out.n_items; i++)
        for (size_t k = 0; k < out.items[i]->n_fields; k++) {
            const Metodnet__FormField *f = out.items[i]->fields[k];
            assert_int_equal(f->type, METODNET__FIELD_TYPE__FIELD_TYPE_EXPERT_SCORE);
            assert_int_equal(f->max_score, 3);
            assert_true(f->required);
        }
    monitoring_templates_free(&out);
    assert_true(monitoring_apply_template(NULL, "methodical-work"));
    assert_false(monitoring_apply_template(NULL, "нет"));
}

static Metodnet__Principal s_caller(Metodnet__Role role, Metodnet__ScopeKind kind, const char *scope, const char *mun)
{
    Metodnet__Principal p = METODNET__PRINCIPAL__INIT;
    p.user_id = "u1";
    p.role = role;
    p.scope_kind = kind;
    p.scope_id = (char *)scope;
    p.region_id = "07";
    p.municipality_id = (char *)mun;
    return p;
}

static void test_who(void **state)
{
    (void)state;
    Metodnet__Principal admin =
        s_caller(METODNET__ROLE__ROLE_REGION_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_REGION, "07", "");
    Metodnet__Principal meth_a = s_caller(METODNET__ROLE__ROLE_MUNICIPAL_METHODOLOGIST,
                                          METODNET__SCOPE_KIND__SCOPE_KIND_MUNICIPALITY, "07-m1", "07-m1");
    Metodnet__Principal school =
        s_caller(METODNET__ROLE__ROLE_SCHOOL_ADMIN, METODNET__SCOPE_KIND__SCOPE_KIND_ORGANIZATION, "07-o1", "07-m1");
    assert_true(monitoring_manages(&admin, "07", NULL));
    assert_false(monitoring_manages(&admin, "08", NULL));
    assert_true(monitoring_manages(&meth_a, "07", "07-m1"));
    assert_false(monitoring_manages(&meth_a, "07", "07-m2"));
    assert_false(monitoring_manages(&meth_a, "07", NULL)); /* a regional campaign */
    assert_true(monitoring_reviews(&meth_a, "07", "07-m1"));
    assert_false(monitoring_reviews(&meth_a, "07", "07-m2"));
    assert_false(monitoring_reviews(&school, "07", "07-m1"));
    assert_true(monitoring_reports_for(&school, "07", "07-o1"));
    assert_false(monitoring_reports_for(&school, "07", "07-o2"));
    assert_false(monitoring_reports_for(&admin, "07", "07-o1"));
    assert_false(monitoring_reports_for(&meth_a, "07", "07-o1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_by_type),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_who),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
