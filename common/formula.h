/* formula — the small expression language of own indicators (docs/indicators.md, «Формулы»): numbers
 * with a dot or a comma as the decimal sign ("12", "0,5", "2.75"), identifiers of base metrics
 * ("I1.num", "teachers", "campaign.contest_winners": a latin letter or '_', then letters, digits, '_'
 * and '.'), the operators + - * / with the usual precedence (left to right within one level), parentheses
 * and unary minus. Parsed once into a postfix program (validated on save, with the error's position in
 * characters and a Russian message), evaluated many times with the caller's values of the identifiers.
 *
 * Limits (untrusted text): FORMULA_MAX_LEN bytes, FORMULA_MAX_TOKENS tokens, FORMULA_MAX_DEPTH nested
 * parentheses or unary minuses, FORMULA_MAX_IDENT bytes per identifier, numbers up to 1e15.
 * Evaluation gives no value (false) on a division by zero, an identifier without a value or a result
 * that is not a finite number.
 */
#ifndef METODNET_FORMULA_H
#define METODNET_FORMULA_H

#include <stdbool.h>
#include <stddef.h>

#define FORMULA_MAX_LEN    500
#define FORMULA_MAX_TOKENS 200
#define FORMULA_MAX_DEPTH  20
#define FORMULA_MAX_IDENT  64
#define FORMULA_MAX_NUMBER 1e15

typedef struct formula formula;

typedef struct {
    size_t position;   /* 1-based, in characters (UTF-8 code points) of the text; len + 1 = at its end */
    char message[160]; /* Russian, without the position: "ожидалось число или показатель" */
} formula_error;

/* Parses len bytes of text (need not be NUL-terminated). NULL with err filled on any error. */
formula *formula_parse(const char *text, size_t len, formula_error *err);
void formula_free(formula *f);

/* The distinct identifiers of the formula, in order of first appearance (borrowed from f). */
size_t formula_identifier_count(const formula *f);
const char *formula_identifier(const formula *f, size_t i);

/* The value of identifier number index (formula_identifier(f, index)); false: it has no value. */
typedef bool (*formula_lookup)(const char *name, size_t index, double *value, void *ud);

/* Evaluates f. false when it has no value (division by zero, an identifier without a value, an
 * overflow); *out is set only on true. */
bool formula_eval(const formula *f, formula_lookup lookup, void *ud, double *out);

#endif
