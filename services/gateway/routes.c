/* routes — matching requests to the route table (routes_table.c) and the generic HTTP → protobuf
 * request mapping (see routes.h).
 * Invariant: every row names an rpc of its service's proto descriptor, and that rpc's types carry
 * the fields the row's flags rely on (id for "{id}", expected_version for ROUTE_IF_MATCH, update_mask
 * for ROUTE_MASK, body_field a message field); test_gateway_routes checks this for the whole table,
 * and the gateway refuses to start otherwise (routes_check). */
#include "routes.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "envelope.pb-c.h"
#include "pbjson.h"
#include "xalloc.h"
#include "auth.pb-c.h"
#include "registry.pb-c.h"
#include "diagnostics.pb-c.h"
#include "auth_service.pb-c.h"
#include "diagnostics_service.pb-c.h"
#include "events.pb-c.h"
#include "events_service.pb-c.h"
#include "mentoring.pb-c.h"
#include "mentoring_service.pb-c.h"
#include "indicators.pb-c.h"
#include "indicators_service.pb-c.h"
#include "monitoring.pb-c.h"
#include "monitoring_service.pb-c.h"
#include "registry_service.pb-c.h"
#include "notify_service.pb-c.h"
#include "utf8.h"
#include "validate.h"

const ProtobufCServiceDescriptor *routes_service(const char *service)
{
    static const struct {
        const char *name;
        const ProtobufCServiceDescriptor *descriptor;
    } services[] = {
        {"auth", &metodnet__auth__descriptor},
        {"registry", &metodnet__registry__descriptor},
        {"diagnostics", &metodnet__diagnostics__descriptor},
        {"notify", &metodnet__notify__descriptor},
        {"events", &metodnet__events__descriptor},
        {"mentoring", &metodnet__mentoring__descriptor},
        {"indicators", &metodnet__indicators__descriptor},
        {"monitoring", &metodnet__monitoring__descriptor},
    };
    for (size_t i = 0; service != NULL && i < sizeof services / sizeof services[0]; i++)
        if (strcmp(services[i].name, service) == 0)
            return services[i].descriptor;
    return NULL;
}

static const ProtobufCMethodDescriptor *s_method_lookup(const route *r)
{
    const ProtobufCServiceDescriptor *service = routes_service(r->service);
    return service ? protobuf_c_service_descriptor_get_method_by_name(service, r->rpc) : NULL;
}

const ProtobufCMethodDescriptor *route_method(const route *r)
{
    /* looked up once per route of the table (every request asks; the gateway has one thread) */
    static const ProtobufCMethodDescriptor **methods; /* routes_rows_count entries, for the process */
    size_t n = routes_rows_count;
    uintptr_t offset = (uintptr_t)r - (uintptr_t)routes_rows; /* a route of the table, or another one */
    if (offset >= n * sizeof routes_rows[0] || offset % sizeof routes_rows[0] != 0)
        return s_method_lookup(r);
    if (methods == NULL && (methods = calloc(n, sizeof *methods)) == NULL)
        return s_method_lookup(r);
    size_t i = offset / sizeof routes_rows[0];
    if (methods[i] == NULL)
        methods[i] = s_method_lookup(r);
    return methods[i];
}

int route_success_status(const route *r)
{
    return r->success_status ? r->success_status : 200;
}

static const char *s_problem(char *buf, size_t size, const route *r, const char *what)
{
    snprintf(buf, size, "%s %s → %s.%s: %s", r->method, r->path_template, r->service, r->rpc, what);
    return buf;
}

static bool s_field_is(const ProtobufCMessageDescriptor *d, const char *name, ProtobufCType type, bool repeated)
{
    const ProtobufCFieldDescriptor *f = pbjson_find_field(d, name);
    return f != NULL && f->type == type && (f->label == PROTOBUF_C_LABEL_REPEATED) == repeated;
}

const char *routes_check(const route *rows, size_t n, char *buf, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        const route *r = &rows[i];
        if (routes_service(r->service) == NULL)
            return s_problem(buf, size, r, "неизвестная служба");
        const ProtobufCMethodDescriptor *rpc = route_method(r);
        if (rpc == NULL)
            return s_problem(buf, size, r, "такого rpc нет в proto-описании службы");
        const ProtobufCMessageDescriptor *in = rpc->input, *out = rpc->output;
        if (strstr(r->path_template, "{id}") && !s_field_is(in, "id", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "у запроса нет строкового поля id для {id}");
        if ((r->flags & ROUTE_IF_MATCH) && !s_field_is(in, "expected_version", PROTOBUF_C_TYPE_INT64, false))
            return s_problem(buf, size, r, "If-Match без поля expected_version");
        if ((r->flags & ROUTE_MASK) && !s_field_is(in, "update_mask", PROTOBUF_C_TYPE_STRING, true))
            return s_problem(buf, size, r, "ROUTE_MASK без поля update_mask");
        if ((r->flags & ROUTE_TOKEN) && !s_field_is(in, "token", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "ROUTE_TOKEN без поля token");
        if (r->body_field != NULL) {
            const ProtobufCFieldDescriptor *f = pbjson_find_field(in, r->body_field);
            if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor != out)
                return s_problem(buf, size, r, "тело запроса — не та сущность, что возвращает rpc");
        }
        if ((r->flags & ROUTE_CREATE) && !s_field_is(out, "id", PROTOBUF_C_TYPE_STRING, false))
            return s_problem(buf, size, r, "ROUTE_CREATE, а у ответа нет поля id");
        if ((r->flags & ROUTE_CSV_IN) &&
            (!s_field_is(in, "csv", PROTOBUF_C_TYPE_BYTES, false) || (r->flags & ROUTE_BODY)))
            return s_problem(buf, size, r, "ROUTE_CSV_IN без байтового поля csv (или вместе с ROUTE_BODY)");
        if ((r->flags & ROUTE_CSV_OUT) && !s_field_is(out, "csv", PROTOBUF_C_TYPE_BYTES, false))
            return s_problem(buf, size, r, "ROUTE_CSV_OUT без байтового поля csv в ответе");
        if ((r->flags & ROUTE_FILE_OUT) && !s_field_is(out, "file", PROTOBUF_C_TYPE_MESSAGE, false))
            return s_problem(buf, size, r, "ROUTE_FILE_OUT без поля file (FileBody) в ответе");
        if (r->flags & ROUTE_QUERY)
            for (unsigned k = 0; k < in->n_fields; k++)
                if (in->fields[k].type == PROTOBUF_C_TYPE_MESSAGE)
                    return s_problem(buf, size, r, "параметры запроса не задают вложенных сообщений");
        for (size_t j = 0; j < i; j++)
            if (strcmp(rows[j].method, r->method) == 0 && strcmp(rows[j].path_template, r->path_template) == 0)
                return s_problem(buf, size, r, "два ряда с одним методом и путём");
    }
    return NULL;
}

size_t routes_max_body_bytes(void)
{
    size_t max = 0;
    for (size_t i = 0; i < routes_rows_count; i++)
        if (routes_rows[i].max_body_bytes > max)
            max = routes_rows[i].max_body_bytes;
    return max;
}

const route *routes_table(size_t *count)
{
    *count = routes_rows_count;
    return routes_rows;
}

static int s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int routes_percent_decode(const char *src, size_t len, char *dst, size_t size, bool plus_is_space)
{
    size_t o = 0;
    if (size == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = s_hex((unsigned char)src[i + 1]), l = s_hex((unsigned char)src[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= size)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return (int)o;
}

/* Next '/'-separated segment of [*p, end); false at the end. */
static bool s_next_segment(const char **p, const char *end, const char **seg, size_t *seg_len)
{
    if (*p >= end)
        return false;
    if (**p == '/')
        (*p)++;
    const char *s = *p;
    while (*p < end && **p != '/')
        (*p)++;
    *seg = s;
    *seg_len = (size_t)(*p - s);
    return true;
}

/* Matches path against one template; fills params. */
static bool s_template_matches(const char *tpl, const char *path, size_t path_len, route_match *out)
{
    const char *tp = tpl, *tend = tpl + strlen(tpl);
    const char *pp = path, *pend = path + path_len;
    size_t n = 0;
    if (path_len == 0 || path[0] != '/')
        return false;
    /* one trailing slash is tolerated ("/api/v1/staff/") */
    if (pend - pp > 1 && pend[-1] == '/')
        pend--;
    for (;;) {
        const char *ts = NULL, *ps = NULL;
        size_t tl = 0, pl = 0;
        bool th = s_next_segment(&tp, tend, &ts, &tl);
        bool ph = s_next_segment(&pp, pend, &ps, &pl);
        if (!th || !ph) {
            if (th != ph)
                return false;
            break;
        }
        if (tl >= 2 && ts[0] == '{' && ts[tl - 1] == '}') {
            if (pl == 0 || n >= ROUTES_MAX_PARAMS)
                return false;
            route_param *param = &out->params[n];
            if (routes_percent_decode(ps, pl, param->value, sizeof param->value, false) <= 0)
                return false;
            if (strchr(param->value, '/') != NULL)
                return false;
            param->name = ts + 1;
            param->name_len = tl - 2;
            n++;
        } else if (tl != pl || memcmp(ts, ps, tl) != 0) {
            return false;
        }
    }
    out->n_params = n;
    return true;
}

/* The shape of a path for the quick test before a template is matched: its number of segments and
 * its third one (the collection: "staff" of /api/v1/staff/…). */
typedef struct {
    size_t n_segments;
    const char *collection; /* NULL: the third segment is a parameter (or there is none) */
    size_t collection_len;
} s_shape;

static s_shape s_shape_of(const char *path, size_t path_len, bool is_template)
{
    s_shape shape = {0, NULL, 0};
    const char *p = path, *end = path + path_len, *seg;
    size_t len;
    if (end - p > 1 && end[-1] == '/') /* the trailing slash s_template_matches tolerates */
        end--;
    while (s_next_segment(&p, end, &seg, &len)) {
        if (shape.n_segments == 2 && !(is_template && len >= 2 && seg[0] == '{' && seg[len - 1] == '}')) {
            shape.collection = seg;
            shape.collection_len = len;
        }
        shape.n_segments++;
    }
    return shape;
}

static s_shape *s_route_shapes;
static pthread_once_t s_route_shapes_once = PTHREAD_ONCE_INIT;

static void s_route_shapes_build(void)
{
    size_t count;
    const route *table = routes_table(&count);
    s_route_shapes = xcalloc(count + 1, sizeof *s_route_shapes);
    for (size_t i = 0; i < count; i++)
        s_route_shapes[i] = s_shape_of(table[i].path_template, strlen(table[i].path_template), true);
}

/* Could the template of shape t match a path of shape p? false only where s_template_matches is sure
 * to say no (another number of segments, another literal collection). */
static bool s_shape_fits(const s_shape *t, const s_shape *p)
{
    if (t->n_segments != p->n_segments)
        return false;
    return t->collection == NULL || (p->collection && t->collection_len == p->collection_len &&
                                     memcmp(t->collection, p->collection, t->collection_len) == 0);
}

routes_match_result routes_match(const char *method, size_t method_len, const char *path, size_t path_len,
                                 route_match *out)
{
    out->route = NULL;
    out->n_params = 0;
    out->allow[0] = '\0';
    bool path_known = false;
    size_t count;
    const route *table = routes_table(&count);
    pthread_once(&s_route_shapes_once, s_route_shapes_build);
    s_shape shape = s_shape_of(path, path_len, false);
    route_match candidate;
    for (size_t i = 0; i < count; i++) {
        if (!s_shape_fits(&s_route_shapes[i], &shape))
            continue;
        candidate.n_params = 0;
        if (!s_template_matches(table[i].path_template, path, path_len, &candidate))
            continue;
        if (strlen(table[i].method) == method_len && memcmp(table[i].method, method, method_len) == 0) {
            memcpy(out->params, candidate.params, candidate.n_params * sizeof candidate.params[0]);
            out->n_params = candidate.n_params;
            out->route = &table[i];
            return ROUTES_FOUND;
        }
        if (!path_known || strstr(out->allow, table[i].method) == NULL) {
            size_t used = strlen(out->allow);
            snprintf(out->allow + used, sizeof out->allow - used, "%s%s", used ? ", " : "", table[i].method);
        }
        path_known = true;
    }
    return path_known ? ROUTES_METHOD_NOT_ALLOWED : ROUTES_NOT_FOUND;
}

/* One element of an If-Match list, blanks trimmed: 1 with *version for a strong tag that can be
 * one of ours, 0 for a well-formed tag that matches none of them, 2 for "*", -1 when malformed. */
static int s_if_match_element(const char *p, const char *end, long long *version)
{
    if (end - p == 1 && *p == '*')
        return 2;
    bool weak = false;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        weak = true;
        p += 2;
    }
    bool quoted = end - p >= 2 && *p == '"' && end[-1] == '"';
    if (quoted) {
        p++;
        end--;
    } else if (weak || p == end) {
        return -1; /* W/ needs a quoted tag; a bare version is accepted (older clients send 3) */
    }
    bool digits = p < end && end - p <= 18;
    long long v = 0;
    for (const char *c = p; c < end; c++) {
        if (*c == '"' || (unsigned char)*c < 0x21 || *c == 0x7f)
            return -1; /* not an etagc */
        if (*c < '0' || *c > '9')
            digits = false;
        else if (digits)
            v = v * 10 + (*c - '0');
    }
    if (!quoted && !digits)
        return -1;
    /* strong comparison: a weak tag never matches, nor a tag that is not a version ≥ 1 */
    if (weak || !digits || v == 0)
        return 0;
    *version = v;
    return 1;
}

int routes_parse_if_match(const char *value, size_t len, long long *version)
{
    const char *p = value, *end = value + len;
    long long found = -1;
    bool any = false, elements = false;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        const char *e = p;
        bool in_quotes = false;
        while (e < end && (in_quotes || *e != ',')) {
            if (*e == '"')
                in_quotes = !in_quotes;
            e++;
        }
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        long long v = 0;
        int kind = s_if_match_element(p, t, &v);
        if (kind < 0)
            return -1;
        elements = true;
        if (kind == 2)
            any = true;
        else if (kind == 1 && found != -1 && found != v)
            return -2;
        else if (kind == 1)
            found = v;
        p = e;
    }
    if (!elements)
        return -1;
    *version = any ? 0 : found != -1 ? found : ROUTES_VERSION_NONE;
    return 0;
}

static void s_error(routes_error *err, const char *field, const char *description)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->description, sizeof err->description, "%s", description);
}

static void s_error_from_pbjson(routes_error *err, const pbjson_error *pe)
{
    s_error(err, pe->path, pe->message);
}

static ProtobufCMessage *s_new_message(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(desc, m);
    return m;
}

/* Sets request field from a path parameter. */
static int s_apply_params(ProtobufCMessage *msg, const route_match *m, routes_error *err)
{
    for (size_t i = 0; i < m->n_params; i++) {
        char name[64];
        text_copy(name, sizeof name, m->params[i].name, m->params[i].name_len);
        pbjson_error pe = {{0}, {0}};
        if (pbjson_set_from_text(msg, name, m->params[i].value, &pe) != 0) {
            s_error(err, name, pe.message);
            return -1;
        }
    }
    return 0;
}

static bool s_is_path_param(const route_match *m, const ProtobufCFieldDescriptor *f)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strlen(f->name) == m->params[i].name_len && memcmp(f->name, m->params[i].name, m->params[i].name_len) == 0)
            return true;
    return false;
}

static int s_apply_query(ProtobufCMessage *msg, const route_match *m, const char *query, size_t len, routes_error *err)
{
    const char *p = query, *end = query + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        if (pair_end > p) {
            const char *eq = memchr(p, '=', (size_t)(pair_end - p));
            const char *name_end = eq ? eq : pair_end;
            char name[128], value[1024];
            int name_len = routes_percent_decode(p, (size_t)(name_end - p), name, sizeof name, true);
            /* the name is put into the error text, which must stay UTF-8 */
            if (name_len < 0 || !utf8_valid(name, (size_t)name_len)) {
                s_error(err, "", "Некорректная кодировка имени параметра запроса");
                return -1;
            }
            const char *vstart = eq ? eq + 1 : pair_end;
            if (routes_percent_decode(vstart, (size_t)(pair_end - vstart), value, sizeof value, true) < 0) {
                s_error(err, name, "Некорректная кодировка или слишком длинное значение параметра запроса");
                return -1;
            }
            const ProtobufCFieldDescriptor *f =
                (m->route->flags & ROUTE_QUERY) ? pbjson_find_field(msg->descriptor, name) : NULL;
            if (f == NULL || f->type == PROTOBUF_C_TYPE_MESSAGE || s_is_path_param(m, f) ||
                ((m->route->flags & ROUTE_CSV_IN) && f->type == PROTOBUF_C_TYPE_BYTES)) {
                char text[512];
                snprintf(text, sizeof text, "Неизвестный параметр запроса «%s»", name);
                s_error(err, name, text);
                return -1;
            }
            /* page size: proto3 cannot tell "limit=0" from "no limit", so the range is checked here */
            if (strcmp(f->name, "limit") == 0) {
                char *num_end = NULL;
                long limit = strtol(value, &num_end, 10);
                if (num_end == value || *num_end != '\0' || limit < 1 || limit > 500) {
                    s_error(err, "limit", "Размер страницы limit — целое число от 1 до 500");
                    return -1;
                }
            }
            pbjson_error pe = {{0}, {0}};
            if (pbjson_set_from_text(msg, name, value, &pe) != 0) {
                s_error(err, name, pe.message);
                return -1;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

/* update_mask = the body's top-level keys as proto names (keys were validated by the merge). */
static int s_apply_mask(ProtobufCMessage *msg, const ProtobufCMessageDescriptor *sub_desc, json_t *body,
                        routes_error *err)
{
    const ProtobufCFieldDescriptor *mask = pbjson_find_field(msg->descriptor, "update_mask");
    if (mask == NULL || mask->label != PROTOBUF_C_LABEL_REPEATED || mask->type != PROTOBUF_C_TYPE_STRING) {
        s_error(err, "", "Внутренняя ошибка: у запроса нет поля update_mask");
        return -1;
    }
    size_t n = json_object_size(body);
    char **items = n ? calloc(n, sizeof *items) : NULL;
    if (n && items == NULL) {
        s_error(err, "", "Недостаточно памяти");
        return -1;
    }
    size_t *count = (size_t *)((char *)msg + mask->quantifier_offset);
    char ***slot = (char ***)((char *)msg + mask->offset);
    *slot = items;
    *count = 0;
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        (void)value;
        const ProtobufCFieldDescriptor *f = pbjson_find_field(sub_desc, key);
        if (f == NULL) {
            char text[512];
            snprintf(text, sizeof text, "Неизвестное поле «%s»", key);
            s_error(err, key, text);
            return -1;
        }
        items[*count] = strdup(f->name);
        if (items[*count] == NULL) {
            s_error(err, "", "Недостаточно памяти");
            return -1;
        }
        (*count)++;
    }
    return 0;
}

static int s_apply_body(ProtobufCMessage *msg, const route *r, const char *body, size_t len, routes_error *err)
{
    if (body == NULL || len == 0) {
        s_error(err, "", "Тело запроса пусто: ожидается объект JSON");
        return -1;
    }
    pbjson_error pe = {{0}, {0}};
    json_t *doc = pbjson_parse_object(body, len, NULL, &pe);
    if (doc == NULL) {
        s_error(err, "", pe.message);
        return -1;
    }
    ProtobufCMessage *target = msg;
    if (r->body_field != NULL) {
        const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, r->body_field);
        if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_decref(doc);
            s_error(err, "", "Внутренняя ошибка: поле тела запроса не найдено");
            return -1;
        }
        target = s_new_message(f->descriptor);
        if (target == NULL) {
            json_decref(doc);
            s_error(err, "", "Недостаточно памяти");
            return -1;
        }
        *(ProtobufCMessage **)((char *)msg + f->offset) = target; /* owned by msg from here on */
    }
    int rc = pbjson_merge_object(target, doc, "", NULL, &pe);
    if (rc != 0)
        s_error_from_pbjson(err, &pe);
    if (rc == 0 && (r->flags & ROUTE_MASK))
        rc = s_apply_mask(msg, target->descriptor, doc, err);
    json_decref(doc);
    return rc;
}

ProtobufCMessage *routes_build_request(const route_match *m, const char *query, size_t query_len, const char *body,
                                       size_t body_len, const char *if_match, size_t if_match_len, routes_error *err)
{
    const route *r = m->route;
    memset(err, 0, sizeof *err);
    ProtobufCMessage *msg = s_new_message(route_method(r)->input);
    if (msg == NULL) {
        s_error(err, "", "Недостаточно памяти");
        return NULL;
    }
    if ((r->flags & ROUTE_BODY) && s_apply_body(msg, r, body, body_len, err) != 0)
        goto fail;
    if (r->flags & ROUTE_CSV_IN) {
        const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, "csv");
        if (f == NULL || f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED) {
            s_error(err, "", "Внутренняя ошибка: у запроса нет поля csv");
            goto fail;
        }
        if (body == NULL || body_len == 0) {
            s_error(err, "", "Тело запроса пусто: ожидается файл CSV");
            goto fail;
        }
        ProtobufCBinaryData *bytes = (ProtobufCBinaryData *)((char *)msg + f->offset);
        bytes->data = malloc(body_len);
        if (bytes->data == NULL) {
            s_error(err, "", "Недостаточно памяти");
            goto fail;
        }
        memcpy(bytes->data, body, body_len);
        bytes->len = body_len;
    }
    if (query != NULL && query_len > 0 && s_apply_query(msg, m, query, query_len, err) != 0)
        goto fail;
    if (s_apply_params(msg, m, err) != 0)
        goto fail;
    if (if_match != NULL && (r->flags & ROUTE_IF_MATCH)) {
        long long version;
        char text[32];
        int parsed = routes_parse_if_match(if_match, if_match_len, &version);
        if (parsed == -2) {
            s_error(err, "If-Match", "Укажите в If-Match одну версию записи, например \"3\"");
            goto fail;
        }
        if (parsed != 0) {
            s_error(err, "If-Match", "Заголовок If-Match должен содержать версию записи, например \"3\", или *");
            goto fail;
        }
        snprintf(text, sizeof text, "%lld", version);
        pbjson_error pe = {{0}, {0}};
        if (pbjson_set_from_text(msg, "expected_version", text, &pe) != 0) {
            s_error(err, "If-Match", pe.message);
            goto fail;
        }
    }
    return msg;
fail:
    protobuf_c_message_free_unpacked(msg, NULL);
    return NULL;
}
