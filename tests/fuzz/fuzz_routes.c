/* fuzz_routes — libFuzzer target for the gateway's route table (services/gateway/routes.c): the input
 * is "<METHOD> <path>[?<query>]\n<If-Match>\n<body>" as the HTTP front hands them over. The path is
 * matched against every row (routes_match); a match must name a row of that method whose parameters are
 * non-empty, '/'-free and percent-decoded, and rebuilding the path from the template with the
 * parameters percent-encoded must match the same row with the same values. The request message is then
 * built from the query, If-Match and body (routes_build_request): it either encodes as JSON or is
 * refused with a Russian description, valid UTF-8 whenever the input was. If-Match and percent
 * decoding are checked on their own as well. Built and run by ops/fuzz, seeds in corpus/routes/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "routes.h"
#include "utf8.h"

/* A broken property: says which one, then aborts (libFuzzer keeps the input). */
#define S_BROKEN(what) (fprintf(stderr, "%s\n", what), abort())

/* Splits [*p, end) at the first sep: returns the part before it, *p moves past it (to end if none). */
static const char *s_cut(const char **p, const char *end, char sep, size_t *len)
{
    const char *start = *p, *at = memchr(start, sep, (size_t)(end - start));
    *len = (size_t)((at ? at : end) - start);
    *p = at ? at + 1 : end;
    return start;
}

/* The path of a template with its parameters put back, percent-encoded; false when it does not fit. */
static bool s_rebuild(const route_match *m, char *out, size_t size)
{
    const char *t = m->route->path_template;
    size_t o = 0, k = 0;
    while (*t) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (close == NULL || k >= m->n_params)
                return false;
            for (const unsigned char *v = (const unsigned char *)m->params[k].value; *v; v++) {
                if (o + 4 >= size)
                    return false;
                o += (size_t)snprintf(out + o, size - o, "%%%02X", *v);
            }
            k++;
            t = close + 1;
        } else {
            if (o + 2 >= size)
                return false;
            out[o++] = *t++;
        }
    }
    out[o] = '\0';
    return k == m->n_params;
}

static void s_check_match(const char *method, size_t method_len, const route_match *m)
{
    if (m->route == NULL || strlen(m->route->method) != method_len ||
        memcmp(m->route->method, method, method_len) != 0 || m->n_params > ROUTES_MAX_PARAMS)
        S_BROKEN("a match names no row or a row of another method");
    for (size_t i = 0; i < m->n_params; i++)
        if (m->params[i].value[0] == '\0' || strchr(m->params[i].value, '/') != NULL || m->params[i].name_len == 0)
            S_BROKEN("an empty parameter or one holding '/'");
    char path[ROUTES_MAX_PARAMS * ROUTES_PARAM_MAX * 3 + 256];
    route_match again;
    if (!s_rebuild(m, path, sizeof path))
        S_BROKEN("the template of the match does not take its parameters");
    if (routes_match(method, method_len, path, strlen(path), &again) != ROUTES_FOUND || again.route != m->route ||
        again.n_params != m->n_params)
        S_BROKEN("the rebuilt path does not match the same row");
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(again.params[i].value, m->params[i].value) != 0)
            S_BROKEN("the rebuilt path gives other parameter values");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    size_t method_len, target_len, if_match_len, body_len;
    const char *method = s_cut(&p, end, ' ', &method_len);
    const char *target = s_cut(&p, end, '\n', &target_len);
    const char *if_match = s_cut(&p, end, '\n', &if_match_len);
    const char *body = p;
    body_len = (size_t)(end - p);
    const char *q = target, *target_end = target + target_len;
    size_t path_len, query_len;
    const char *path = s_cut(&q, target_end, '?', &path_len);
    const char *query = q;
    query_len = (size_t)(target_end - q);

    /* percent decoding on its own: a decoded text never holds NUL and fits */
    char decoded[256];
    int n = routes_percent_decode(query, query_len, decoded, sizeof decoded, true);
    if (n >= 0 && ((size_t)n >= sizeof decoded || strlen(decoded) != (size_t)n))
        S_BROKEN("percent decoding gave a wrong length");
    long long version = -1;
    int parsed = routes_parse_if_match(if_match, if_match_len, &version);
    if (parsed < -2 || parsed > 0 || (parsed == 0 && version < 0))
        S_BROKEN("If-Match parsed to an impossible result");

    route_match m;
    routes_match_result result = routes_match(method, method_len, path, path_len, &m);
    if (result == ROUTES_METHOD_NOT_ALLOWED && m.allow[0] == '\0')
        S_BROKEN("405 without an Allow list");
    if (result != ROUTES_FOUND)
        return 0;
    s_check_match(method, method_len, &m);

    routes_error err;
    ProtobufCMessage *msg =
        routes_build_request(&m, query, query_len, body, body_len, if_match_len ? if_match : NULL, if_match_len, &err);
    if (msg == NULL) {
        if (err.description[0] == '\0' || memchr(err.field, '\0', sizeof err.field) == NULL ||
            memchr(err.description, '\0', sizeof err.description) == NULL)
            S_BROKEN("a refusal without a description");
        if (utf8_valid((const char *)data, size) &&
            (!utf8_valid(err.description, strlen(err.description)) || !utf8_valid(err.field, strlen(err.field))))
            S_BROKEN("a refusal of UTF-8 input that is not UTF-8");
        return 0;
    }
    size_t len = 0;
    char *json = pbjson_encode(msg, &len);
    if (json == NULL)
        S_BROKEN("the built request does not encode");
    free(json);
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}
