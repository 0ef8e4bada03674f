/* test_formula — the expression language of own indicators (common/formula.c): values worked out by hand
 * (precedence, left associativity, unary minus, comma and dot decimals, identifiers), no value on a
 * division by zero or a missing identifier, and the error positions and messages of bad formulas and of
 * the limits (length, tokens, depth, identifier length, large numbers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "formula.h"

/* cmocka 1.1 compares floats only: doubles here */
#define assert_double_equal(a, b, eps)                                                                                 \
    do {                                                                                                               \
        double a_ = (a), b_ = (b);                                                                                     \
        if (!(fabs(a_ - b_) <= (eps)))                                                                                 \
            fail_msg("%s = %.17g, ожидалось %.17g", #a, a_, b_);                                                       \
    } while (0)

/* identifiers: a = 10, b = 4, I1.num = 30, I1.den = 120, zero = 0; anything else has no value */
static bool s_lookup(const char *name, size_t index, double *value, void *ud)
{
    (void)index;
    int *calls = ud;
    if (calls)
        (*calls)++;
    static const struct {
        const char *name;
        double v;
    } vars[] = {{"a", 10}, {"b", 4}, {"I1.num", 30}, {"I1.den", 120}, {"zero", 0}, {"campaign.x_1", 2.5}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strcmp(vars[i].name, name) == 0) {
            *value = vars[i].v;
            return true;
        }
    return false;
}

static double s_value(const char *text)
{
    formula_error err;
    formula *f = formula_parse(text, strlen(text), &err);
    if (f == NULL)
        fail_msg("«%s»: позиция %zu: %s", text, err.position, err.message);
    double v = NAN;
    assert_true(formula_eval(f, s_lookup, NULL, &v));
    formula_free(f);
    return v;
}

static void s_error(const char *text, size_t len, size_t position, const char *message_part)
{
    formula_error err;
    formula *f = formula_parse(text, len, &err);
    if (text == NULL)
        text = "";
    if (f != NULL)
        fail_msg("«%.*s» принята", (int)len, text);
    if (err.position != position || strstr(err.message, message_part) == NULL)
        fail_msg("«%.*s»: позиция %zu «%s», ожидалась %zu «%s»", (int)len, text, err.position, err.message, position,
                 message_part);
}

static void test_values_by_hand(void **state)
{
    (void)state;
    assert_double_equal(s_value("1 + 2 * 3"), 7, 1e-12);      /* * before + */
    assert_double_equal(s_value("(1 + 2) * 3"), 9, 1e-12);    /* parentheses */
    assert_double_equal(s_value("10 - 4 - 3"), 3, 1e-12);     /* left to right: (10-4)-3 */
    assert_double_equal(s_value("100 / 10 / 5"), 2, 1e-12);   /* (100/10)/5 */
    assert_double_equal(s_value("-3 + 5"), 2, 1e-12);         /* unary minus binds tighter than + */
    assert_double_equal(s_value("2 * -3"), -6, 1e-12);        /* unary after an operator */
    assert_double_equal(s_value("--4"), 4, 1e-12);            /* twice */
    assert_double_equal(s_value("-(a - b) * 2"), -12, 1e-12); /* -(10-4)*2 */
    assert_double_equal(s_value("0,5 * a"), 5, 1e-12);        /* comma decimal */
    assert_double_equal(s_value("2.75 + 0,25"), 3, 1e-12);    /* dot and comma in one formula */
    assert_double_equal(s_value("I1.num / I1.den"), 0.25, 1e-12);
    assert_double_equal(s_value("(I1.num + campaign.x_1 * 2) / (a + b * 5)"), 35.0 / 30.0, 1e-12);
    assert_double_equal(s_value("\t a\n*\r\nb "), 40, 1e-12); /* whitespace anywhere */
    assert_double_equal(s_value("007"), 7, 1e-12);
    assert_double_equal(s_value("-zero"), 0, 0); /* no -0 */
    assert_false(signbit(s_value("-zero")));
    assert_double_equal(s_value("1000000000000000"), 1e15, 0); /* the largest number allowed */
}

static void test_identifiers_listed_once(void **state)
{
    (void)state;
    const char *text = "a + b * a - I1.num / b";
    formula_error err;
    formula *f = formula_parse(text, strlen(text), &err);
    assert_non_null(f);
    assert_int_equal(formula_identifier_count(f), 3);
    assert_string_equal(formula_identifier(f, 0), "a");
    assert_string_equal(formula_identifier(f, 1), "b");
    assert_string_equal(formula_identifier(f, 2), "I1.num");
    assert_null(formula_identifier(f, 3));
    int calls = 0;
    double v = 0;
    assert_true(formula_eval(f, s_lookup, &calls, &v));
    assert_double_equal(v, 10 + 4 * 10 - 30.0 / 4, 1e-12); /* 42.5 */
    assert_int_equal(calls, 5);                            /* every occurrence asks */
    formula_free(f);
}

static void test_no_value(void **state)
{
    (void)state;
    const char *texts[] = {"a / zero", "1 / (b - 4)", "a / (zero * 3)", "unknown + 1", "a * missing.den"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        formula_error err;
        formula *f = formula_parse(texts[i], strlen(texts[i]), &err);
        assert_non_null(f);
        double v = 12345;
        assert_false(formula_eval(f, s_lookup, NULL, &v));
        assert_double_equal(v, 12345, 0); /* untouched */
        formula_free(f);
    }
    /* an overflow is no value either: 1e15^3 is finite, 1e15^22 is not */
    char big[FORMULA_MAX_LEN];
    size_t n = 0;
    for (int i = 0; i < 22; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s1000000000000000", i ? "*" : "");
    formula_error err;
    formula *f = formula_parse(big, n, &err);
    assert_non_null(f);
    double v;
    assert_false(formula_eval(f, s_lookup, NULL, &v));
    formula_free(f);
    assert_false(formula_eval(NULL, s_lookup, NULL, &v));
}

static void test_error_positions(void **state)
{
    (void)state;
    s_error("", 0, 1, "формула пуста");
    s_error("   ", 3, 1, "формула пуста");
    s_error("I1.num +", 8, 9, "ожидалось число или показатель, а формула кончилась");
    s_error("a + * b", 7, 5, "ожидалось число или показатель");
    s_error("(a + b", 6, 7, "не закрыта скобка, открытая в позиции 1");
    s_error("a + (b * (a)", 12, 13, "не закрыта скобка, открытая в позиции 5");
    s_error("a + b)", 6, 6, "лишняя закрывающая скобка");
    s_error("()", 2, 2, "а не закрывающая скобка");
    s_error("a b", 3, 3, "ожидался знак действия (+ - * /) или конец формулы");
    s_error("2 (a)", 5, 3, "ожидался знак действия");
    s_error("(a b)", 5, 4, "ожидался знак действия или закрывающая скобка");
    s_error("1,", 2, 3, "после десятичного знака ожидались цифры");
    s_error("1.x", 3, 3, "после десятичного знака ожидались цифры");
    s_error("12abc", 5, 3, "после числа ожидался знак действия");
    s_error("a % b", 5, 3, "недопустимый символ «%»");
    s_error("I1.num.", 7, 8, "не может кончаться точкой");
    s_error(".5", 2, 1, "недопустимый символ «.»");
    s_error("1 + 10000000000000000", 21, 5, "слишком большое число");
    /* a Cyrillic letter: the position counts characters, the message shows it */
    s_error("учителя", strlen("учителя"), 1, "недопустимый символ «у»");
    s_error("a+\x01", 3, 3, "недопустимый символ (код 1)");
    s_error("a\0b", 3, 2, "недопустимый символ (код 0)");
    s_error("a+\xff", 3, 3, "недопустимый символ (код 255)");
    s_error("a+\xd0", 3, 3, "недопустимый символ (код 208)"); /* cut UTF-8 sequence */
    s_error("a+\xd0"
            "A",
            4, 3, "недопустимый символ (код 208)"); /* a bad continuation */
    s_error(NULL, 0, 1, "формула пуста");
}

static void test_limits(void **state)
{
    (void)state;
    char text[FORMULA_MAX_LEN + 64];
    /* length */
    memset(text, '1', sizeof text);
    s_error(text, FORMULA_MAX_LEN + 1, 1, "формула длиннее 500 байт");
    /* tokens: 1+1+…: 199 tokens parse, the 201st is refused */
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, i ? "+1" : "1");
    assert_int_equal(n, 199);
    formula_error err;
    formula *f = formula_parse(text, n, &err);
    assert_non_null(f);
    formula_free(f);
    n += (size_t)snprintf(text + n, sizeof text - n, "+1");
    s_error(text, n, 201, "слишком много элементов (больше 200)");
    /* depth: 20 nested parentheses parse, 21 do not; the same for unary minus */
    n = 0;
    for (int i = 0; i < 21; i++)
        text[n++] = '(';
    text[n++] = '1';
    for (int i = 0; i < 21; i++)
        text[n++] = ')';
    s_error(text, n, 21, "слишком глубокая вложенность (больше 20)");
    f = formula_parse(text + 1, n - 2, &err);
    assert_non_null(f);
    formula_free(f);
    memset(text, '-', 21);
    text[21] = '1';
    s_error(text, 22, 21, "слишком глубокая вложенность");
    f = formula_parse(text + 1, 21, &err);
    assert_non_null(f);
    double v;
    assert_true(formula_eval(f, s_lookup, NULL, &v));
    assert_double_equal(v, 1, 0); /* 20 minuses */
    formula_free(f);
    /* identifier length: 64 fine, 65 not */
    memset(text, 'x', 65);
    f = formula_parse(text, 64, &err);
    assert_non_null(f);
    formula_free(f);
    s_error(text, 65, 1, "имя показателя длиннее 64 символов");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_by_hand), cmocka_unit_test(test_identifiers_listed_once),
        cmocka_unit_test(test_no_value),       cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
