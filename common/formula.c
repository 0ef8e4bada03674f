/* formula — the expression parser and evaluator of own indicators (formula.h): a tokenizer that keeps
 * each token's character position, a recursive-descent parser bounded in depth that emits a postfix
 * program, and a stack evaluator.
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := '-' unary | primary
 *   primary := number | identifier | '(' expr ')'
 */
#include "formula.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

typedef enum { T_NUM, T_ID, T_PLUS, T_MINUS, T_MUL, T_DIV, T_LPAREN, T_RPAREN, T_END } token_kind;

typedef struct {
    token_kind kind;
    size_t pos;   /* 1-based character position */
    size_t start; /* byte offset and length in the text (identifiers) */
    size_t len;
    double number;
} token;

typedef enum { OP_NUM, OP_ID, OP_NEG, OP_ADD, OP_SUB, OP_MUL, OP_DIV } op_kind;

typedef struct {
    op_kind kind;
    double number;
    size_t id; /* index into ids */
} op;

struct formula {
    op ops[FORMULA_MAX_TOKENS];
    size_t n_ops;
    char *ids[FORMULA_MAX_TOKENS];
    size_t n_ids;
};

typedef struct {
    const char *text;
    token tokens[FORMULA_MAX_TOKENS + 1];
    size_t n_tokens, at;
    formula *f;
    formula_error *err;
    int depth;
} parser;

static void s_fail(formula_error *err, size_t pos, const char *message)
{
    if (err) {
        err->position = pos;
        snprintf(err->message, sizeof err->message, "%s", message);
    }
}

static bool s_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool s_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool s_tokenize(parser *p, const char *text, size_t len)
{
    size_t i = 0, pos = 1;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++, pos++;
            continue;
        }
        if (p->n_tokens >= FORMULA_MAX_TOKENS) {
            char m[96];
            snprintf(m, sizeof m, "слишком много элементов (больше %d)", FORMULA_MAX_TOKENS);
            s_fail(p->err, pos, m);
            return false;
        }
        token *t = &p->tokens[p->n_tokens];
        memset(t, 0, sizeof *t);
        t->pos = pos;
        t->start = i;
        if (s_digit(c)) {
            char buf[64];
            size_t n = 0, j = i;
            while (j < len && s_digit((unsigned char)text[j]))
                j++;
            if (j < len && (text[j] == '.' || text[j] == ',')) {
                j++;
                if (j >= len || !s_digit((unsigned char)text[j])) {
                    s_fail(p->err, pos + (j - i), "после десятичного знака ожидались цифры");
                    return false;
                }
                while (j < len && s_digit((unsigned char)text[j]))
                    j++;
            }
            if (j < len && s_letter((unsigned char)text[j])) {
                s_fail(p->err, pos + (j - i), "после числа ожидался знак действия");
                return false;
            }
            if (j - i >= sizeof buf) {
                s_fail(p->err, pos, "слишком длинное число");
                return false;
            }
            for (size_t k = i; k < j; k++)
                buf[n++] = text[k] == ',' ? '.' : text[k];
            buf[n] = '\0';
            t->number = strtod(buf, NULL);
            if (!(t->number <= FORMULA_MAX_NUMBER)) {
                s_fail(p->err, pos, "слишком большое число (больше 10^15)");
                return false;
            }
            t->kind = T_NUM;
            t->len = j - i;
            pos += j - i;
            i = j;
        } else if (s_letter(c)) {
            size_t j = i;
            while (j < len && (s_letter((unsigned char)text[j]) || s_digit((unsigned char)text[j]) || text[j] == '.'))
                j++;
            if (text[j - 1] == '.') {
                s_fail(p->err, pos + (j - i), "имя показателя не может кончаться точкой");
                return false;
            }
            if (j - i > FORMULA_MAX_IDENT) {
                char m[96];
                snprintf(m, sizeof m, "имя показателя длиннее %d символов", FORMULA_MAX_IDENT);
                s_fail(p->err, pos, m);
                return false;
            }
            t->kind = T_ID;
            t->len = j - i;
            pos += j - i;
            i = j;
        } else {
            static const char ops[] = "+-*/()";
            const char *o = c ? strchr(ops, c) : NULL;
            if (o == NULL) {
                char m[96];
                size_t n = c >= 0x80 ? utf8_sequence(text + i, len - i, NULL) : 1;
                bool printable = n > 1 || (c >= 0x20 && c < 0x7f);
                if (printable)
                    snprintf(m, sizeof m, "недопустимый символ «%.*s»", (int)n, text + i);
                else
                    snprintf(m, sizeof m, "недопустимый символ (код %u)", (unsigned)c);
                s_fail(p->err, pos, m);
                return false;
            }
            static const token_kind kinds[] = {T_PLUS, T_MINUS, T_MUL, T_DIV, T_LPAREN, T_RPAREN};
            t->kind = kinds[o - ops];
            t->len = 1;
            i++, pos++;
        }
        p->n_tokens++;
    }
    token *end = &p->tokens[p->n_tokens];
    memset(end, 0, sizeof *end);
    end->kind = T_END;
    end->pos = pos;
    return true;
}

static bool s_emit(parser *p, op o)
{
    if (p->f->n_ops >= FORMULA_MAX_TOKENS)
        return false; /* cannot happen: one op per token at most */
    p->f->ops[p->f->n_ops++] = o;
    return true;
}

static bool s_expr(parser *p);

static bool s_primary(parser *p)
{
    token *t = &p->tokens[p->at];
    switch (t->kind) {
    case T_NUM:
        p->at++;
        return s_emit(p, (op){.kind = OP_NUM, .number = t->number});
    case T_ID: {
        p->at++;
        size_t k = 0;
        for (; k < p->f->n_ids; k++)
            if (strlen(p->f->ids[k]) == t->len && memcmp(p->f->ids[k], p->text + t->start, t->len) == 0)
                break;
        if (k == p->f->n_ids) {
            char *copy = malloc(t->len + 1);
            if (copy == NULL) {
                s_fail(p->err, t->pos, "недостаточно памяти");
                return false;
            }
            memcpy(copy, p->text + t->start, t->len);
            copy[t->len] = '\0';
            p->f->ids[p->f->n_ids++] = copy;
        }
        return s_emit(p, (op){.kind = OP_ID, .id = k});
    }
    case T_LPAREN: {
        if (++p->depth > FORMULA_MAX_DEPTH) {
            char m[96];
            snprintf(m, sizeof m, "слишком глубокая вложенность (больше %d)", FORMULA_MAX_DEPTH);
            s_fail(p->err, t->pos, m);
            return false;
        }
        size_t open = t->pos;
        p->at++;
        if (!s_expr(p))
            return false;
        token *close = &p->tokens[p->at];
        if (close->kind != T_RPAREN) {
            char m[120];
            if (close->kind == T_END)
                snprintf(m, sizeof m, "не закрыта скобка, открытая в позиции %zu", open);
            else
                snprintf(m, sizeof m, "ожидался знак действия или закрывающая скобка");
            s_fail(p->err, close->pos, m);
            return false;
        }
        p->at++;
        p->depth--;
        return true;
    }
    case T_RPAREN:
        s_fail(p->err, t->pos, "ожидалось число или показатель, а не закрывающая скобка");
        return false;
    case T_END:
        s_fail(p->err, t->pos, "ожидалось число или показатель, а формула кончилась");
        return false;
    default:
        s_fail(p->err, t->pos, "ожидалось число или показатель");
        return false;
    }
}

static bool s_unary(parser *p)
{
    token *t = &p->tokens[p->at];
    if (t->kind != T_MINUS)
        return s_primary(p);
    if (++p->depth > FORMULA_MAX_DEPTH) {
        char m[96];
        snprintf(m, sizeof m, "слишком глубокая вложенность (больше %d)", FORMULA_MAX_DEPTH);
        s_fail(p->err, t->pos, m);
        return false;
    }
    p->at++;
    if (!s_unary(p))
        return false;
    p->depth--;
    return s_emit(p, (op){.kind = OP_NEG});
}

static bool s_term(parser *p)
{
    if (!s_unary(p))
        return false;
    for (;;) {
        token_kind k = p->tokens[p->at].kind;
        if (k != T_MUL && k != T_DIV)
            return true;
        p->at++;
        if (!s_unary(p))
            return false;
        if (!s_emit(p, (op){.kind = k == T_MUL ? OP_MUL : OP_DIV}))
            return false;
    }
}

static bool s_expr(parser *p)
{
    if (!s_term(p))
        return false;
    for (;;) {
        token_kind k = p->tokens[p->at].kind;
        if (k != T_PLUS && k != T_MINUS)
            return true;
        p->at++;
        if (!s_term(p))
            return false;
        if (!s_emit(p, (op){.kind = k == T_PLUS ? OP_ADD : OP_SUB}))
            return false;
    }
}

formula *formula_parse(const char *text, size_t len, formula_error *err)
{
    if (err) {
        err->position = 0;
        err->message[0] = '\0';
    }
    if (text == NULL)
        len = 0;
    if (len > FORMULA_MAX_LEN) {
        char m[96];
        snprintf(m, sizeof m, "формула длиннее %d байт", FORMULA_MAX_LEN);
        s_fail(err, 1, m);
        return NULL;
    }
    parser *p = calloc(1, sizeof *p);
    formula *f = calloc(1, sizeof *f);
    if (p == NULL || f == NULL) {
        free(p);
        free(f);
        s_fail(err, 1, "недостаточно памяти");
        return NULL;
    }
    p->text = text;
    p->f = f;
    p->err = err;
    bool ok = s_tokenize(p, text ? text : "", len);
    if (ok && p->n_tokens == 0) {
        s_fail(err, 1, "формула пуста");
        ok = false;
    }
    if (ok)
        ok = s_expr(p);
    if (ok && p->tokens[p->at].kind != T_END) {
        token *t = &p->tokens[p->at];
        s_fail(err, t->pos,
               t->kind == T_RPAREN ? "лишняя закрывающая скобка"
                                   : "ожидался знак действия (+ - * /) или конец формулы");
        ok = false;
    }
    free(p);
    if (!ok) {
        formula_free(f);
        return NULL;
    }
    return f;
}

void formula_free(formula *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_ids; i++)
        free(f->ids[i]);
    free(f);
}

size_t formula_identifier_count(const formula *f)
{
    return f ? f->n_ids : 0;
}

const char *formula_identifier(const formula *f, size_t i)
{
    return f && i < f->n_ids ? f->ids[i] : NULL;
}

bool formula_eval(const formula *f, formula_lookup lookup, void *ud, double *out)
{
    if (f == NULL)
        return false;
    double stack[FORMULA_MAX_TOKENS];
    size_t n = 0;
    for (size_t i = 0; i < f->n_ops; i++) {
        const op *o = &f->ops[i];
        switch (o->kind) {
        case OP_NUM:
            stack[n++] = o->number;
            break;
        case OP_ID: {
            double v = 0;
            if (lookup == NULL || !lookup(f->ids[o->id], o->id, &v, ud) || !isfinite(v))
                return false;
            stack[n++] = v;
            break;
        }
        case OP_NEG:
            if (n < 1)
                return false;
            stack[n - 1] = -stack[n - 1];
            break;
        default: {
            if (n < 2)
                return false;
            double b = stack[--n], a = stack[n - 1], r;
            if (o->kind == OP_ADD)
                r = a + b;
            else if (o->kind == OP_SUB)
                r = a - b;
            else if (o->kind == OP_MUL)
                r = a * b;
            else if (b == 0)
                return false;
            else
                r = a / b;
            if (!isfinite(r))
                return false;
            stack[n - 1] = r;
        }
        }
    }
    if (n != 1)
        return false;
    *out = stack[0] == 0 ? 0 : stack[0]; /* no "-0" */
    return true;
}
