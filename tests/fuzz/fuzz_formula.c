/* fuzz_formula — libFuzzer target for the own indicators' formula parser and evaluator
 * (common/formula.c): any bytes either parse, or are refused with a position inside the text (or just
 * past its end) and a non-empty Russian message; a parsed formula lists identifiers within the limits and
 * evaluates without crashing, for values that make divisions by zero and overflows likely.
 * Built and run by ops/fuzz (clang -fsanitize=fuzzer,address,undefined), seeds in corpus/formula/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formula.h"

static bool s_lookup(const char *name, size_t index, double *value, void *ud)
{
    (void)ud;
    size_t n = strlen(name);
    if (n == 0 || n > FORMULA_MAX_IDENT)
        abort();
    if (name[0] == 'z')
        return false; /* no value */
    static const double values[] = {0, 1, -1, 0.5, 1e15, -1e15, 3};
    *value = values[(index + n) % (sizeof values / sizeof values[0])];
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    formula_error err;
    formula *f = formula_parse((const char *)data, size, &err);
    if (f == NULL) {
        if (err.position < 1 || (size <= FORMULA_MAX_LEN && err.position > size + 1) || err.message[0] == '\0')
            abort();
        return 0;
    }
    if (size > FORMULA_MAX_LEN)
        abort();
    size_t n = formula_identifier_count(f);
    for (size_t i = 0; i < n; i++)
        if (formula_identifier(f, i) == NULL)
            abort();
    double v = 0;
    if (formula_eval(f, s_lookup, NULL, &v) && v != v)
        abort(); /* a value is never NaN */
    formula_free(f);
    return 0;
}
