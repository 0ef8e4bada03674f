/* openapi — builds the OpenAPI document from routes_table() (see openapi.h). */
#include "openapi.h"

#include <string.h>

#include "pbjson.h"
#include "routes.h"

static void s_lower(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static json_t *s_scalar_schema(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_pack("{s:s, s:s}", "type", "integer", "format", "int32");
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_pack("{s:s}", "type", "number");
    default:
        return json_pack("{s:s}", "type", "string");
    }
}

static json_t *s_error_response(const char *description)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content", "application/json", "schema",
                     "$ref", "#/components/schemas/Error");
}

static json_t *s_error_schema(void)
{
    return json_pack("{s:s, s:[s], s:{s:{s:s, s:[s,s,s,s], s:{s:{s:s, s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, "
                     "s:{s:s}}}}, s:{s:s}}}}}",
                     "type", "object", "required", "error", "properties", "error", "type", "object", "required", "code",
                     "message", "details", "requestId", "properties", "code", "type", "string", "example", "not_found",
                     "message", "type", "string", "details", "type", "array", "items", "type", "object", "properties",
                     "field", "type", "string", "description", "type", "string", "requestId", "type", "string");
}

static json_t *s_operation(const route *r, json_t *schemas)
{
    json_t *op = json_object();
    json_t *params = json_array();
    char tag[64];
    const char *seg = r->path_template + strlen("/api/v1/");
    size_t tl = strcspn(seg, "/");
    snprintf(tag, sizeof tag, "%.*s", (int)tl, seg);
    json_object_set_new(op, "operationId", json_string(r->rpc));
    json_object_set_new(op, "summary", json_string(r->summary));
    json_object_set_new(op, "tags", json_pack("[s]", tag));
    json_object_set_new(op, "x-service", json_string(r->service));

    /* path parameters */
    for (const char *p = strchr(r->path_template, '{'); p != NULL; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (close == NULL)
            break;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", "path", "required", 1,
                                                "schema", "type", "string"));
    }
    if (r->flags & ROUTE_QUERY) {
        for (unsigned i = 0; i < route_method(r)->input->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &route_method(r)->input->fields[i];
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                continue;
            char name[128];
            pbjson_json_name(f, name, sizeof name);
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in", "query", "required", 0,
                                                    "schema", s_scalar_schema(f)));
        }
    }
    if (r->flags & ROUTE_IF_MATCH)
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:b, s:s, s:{s:s}}", "name", "If-Match", "in", "header", "required",
                                        0, "description",
                                        "Ожидаемая версия объекта — его ETag, например \"3\" (сильное сравнение RFC "
                                        "9110: W/\"3\" не совпадает; * — любая текущая версия; несовпадение — 412)",
                                        "schema", "type", "string"));
    if (strcmp(r->method, "POST") == 0)
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}", "name", "Idempotency-Key",
                                                "in", "header", "required", 0, "description",
                                                "Ключ идемпотентности: повтор с тем же ключом вернёт сохранённый ответ",
                                                "schema", "type", "string", "minLength", 1, "maxLength", 128));
    json_object_set_new(op, "parameters", params);

    if (r->flags & ROUTE_BODY) {
        const ProtobufCMessageDescriptor *body = route_method(r)->input;
        if (r->body_field != NULL) {
            const ProtobufCFieldDescriptor *f = pbjson_find_field(route_method(r)->input, r->body_field);
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE)
                body = f->descriptor;
        }
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema",
                                      pbjson_openapi_ref(body, schemas)));
    }
    if (r->flags & ROUTE_CSV_IN)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:s, s:{s:{s:{s:s, s:s}}}}", "required", 1, "description",
                                      "Файл CSV: UTF-8 (с BOM или без) или Windows-1251, разделитель «;» или «,», "
                                      "первая строка — заголовки (см. шаблон)",
                                      "content", "text/csv", "schema", "type", "string", "format", "binary"));
    json_t *responses = json_object();
    char status[8];
    snprintf(status, sizeof status, "%d", route_success_status(r));
    if (r->flags & ROUTE_SSE)
        json_object_set_new(responses, status,
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                      "Поток событий: «id: <курсор>», «event: <тип>», «data: <уведомление JSON>»",
                                      "content", "text/event-stream", "schema", "type", "string"));
    else if (r->flags & ROUTE_CSV_OUT)
        json_object_set_new(responses, status,
                            json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description",
                                      "Файл CSV для Excel: UTF-8 с BOM, разделитель «;»", "content", "text/csv",
                                      "schema", "type", "string", "format", "binary"));
    else if (r->flags & ROUTE_FILE_OUT)
        json_object_set_new(
            responses, status,
            json_pack("{s:s, s:{s:{s:o}, s:{s:{s:s, s:s}}, s:{s:{s:s, s:s}}, s:{s:{s:s}}}}", "description",
                      "JSON, либо файл при format=csv, xlsx или html (Content-Disposition с именем файла)", "content",
                      "application/json", "schema", pbjson_openapi_ref(route_method(r)->output, schemas), "text/csv",
                      "schema", "type", "string", "format", "binary",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "schema", "type", "string",
                      "format", "binary", "text/html", "schema", "type", "string"));
    else
        json_object_set_new(
            responses, status,
            json_pack("{s:s, s:{s:{s:o}}}", "description", route_success_status(r) == 201 ? "Создано" : "Успешно",
                      "content", "application/json", "schema", pbjson_openapi_ref(route_method(r)->output, schemas)));
    json_object_set_new(responses, "400", s_error_response("Некорректный запрос"));
    if (strchr(r->path_template, '{') != NULL)
        json_object_set_new(responses, "404", s_error_response("Не найдено"));
    if (r->flags & ROUTE_IF_MATCH)
        json_object_set_new(responses, "412", s_error_response("Версия объекта изменилась"));
    json_object_set_new(responses, "503", s_error_response("Служба временно недоступна"));
    json_object_set_new(responses, "default", s_error_response("Ошибка"));
    json_object_set_new(op, "responses", responses);
    return op;
}

static json_t *s_plain_get(const char *summary, const char *media)
{
    return json_pack("{s:s, s:[s], s:{s:{s:s, s:{s:{s:{s:s}}}}}}", "summary", summary, "tags", "service", "responses",
                     "200", "description", "Успешно", "content", media, "schema", "type",
                     strcmp(media, "application/json") == 0 ? "object" : "string");
}

json_t *gateway_openapi_build(void)
{
    json_t *schemas = json_object();
    json_t *paths = json_object();
    size_t n;
    const route *table = routes_table(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object_get(paths, table[i].path_template);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, table[i].path_template, item);
        }
        char method[16];
        s_lower(table[i].method, method, sizeof method);
        json_object_set_new(item, method, s_operation(&table[i], schemas));
    }
    json_object_set_new(paths, "/healthz", json_pack("{s:o}", "get", s_plain_get("Процесс жив", "application/json")));
    json_object_set_new(paths, "/readyz",
                        json_pack("{s:o}", "get", s_plain_get("Готов принимать запросы", "application/json")));
    json_object_set_new(
        paths, "/metrics",
        json_pack("{s:o}", "get",
                  s_plain_get("Метрики в формате Prometheus: шлюз, брокер и каждый процесс платформы", "text/plain")));
    json_t *processes = s_plain_get("Здоровье каждого процесса платформы (отчёты в Redis); 503, если какой-то "
                                    "процесс с проблемами или молчит",
                                    "application/json");
    json_object_set_new(json_object_get(processes, "responses"), "503",
                        json_pack("{s:s}", "description", "Какой-то процесс с проблемами или молчит"));
    json_object_set_new(paths, "/healthz/processes", json_pack("{s:o}", "get", processes));
    json_object_set_new(schemas, "Error", s_error_schema());
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:o}}", "openapi", "3.0.3", "info", "title",
                     "metodnet API", "version", "1.0.0", "description",
                     "HTTP/JSON API региональной методической службы: реестр территорий, организаций и кадров.",
                     "servers", "url", "/", "paths", paths, "components", "schemas", schemas);
}

char *gateway_openapi_text(size_t *len)
{
    json_t *doc = gateway_openapi_build();
    if (doc == NULL)
        return NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}
