/* routes — the gateway's one route table: METHOD /path → service.rpc(Request) → Response, and the
 * generic mapping of an HTTP request (path parameters, query, JSON body, If-Match) onto the protobuf
 * request message. Nothing here is per endpoint: adding an endpoint is adding a row.
 *
 * Mapping rules:
 *  - "{name}" segments of the template set the request field `name` (by proto or JSON name);
 *  - query parameters set request fields by JSON name (pbjson_set_from_text) on routes with
 *    ROUTE_QUERY; any other parameter is refused naming it;
 *  - the body (a JSON object) is the whole request (body_field NULL) or the sub-message body_field;
 *  - ROUTE_MASK: update_mask = the body's top-level keys as proto snake_case names (POST and PATCH:
 *    an update changes only those fields, a create knows which fields were sent);
 *  - ROUTE_IF_MATCH: If-Match ("\"3\"", W/"3", 3) sets expected_version;
 *  - ROUTE_CSV_IN: the body (text/csv) is put as is into the request's bytes field `csv`;
 *  - ROUTE_CSV_OUT: the response's bytes field `csv` is sent as the body (text/csv), its `filename`
 *    as Content-Disposition — the JSON mapping is skipped for that route only;
 *  - ROUTE_FILE_OUT: when the response's FileBody field `file` is set (a format asked in the query),
 *    its content is sent as the body with its content_type (CSV, XLSX or HTML only) and filename;
 *    otherwise the answer is the JSON as usual.
 * A row may raise the body limit (max_body_bytes) and the service deadline (timeout_ms) for itself.
 */
#ifndef METODNET_GATEWAY_ROUTES_H
#define METODNET_GATEWAY_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

enum {
    ROUTE_BODY = 1u << 0,      /* the request carries a JSON body (POST, PATCH) */
    ROUTE_QUERY = 1u << 1,     /* query parameters map onto request fields (lists) */
    ROUTE_MASK = 1u << 2,      /* update_mask from the body's keys */
    ROUTE_IF_MATCH = 1u << 3,  /* If-Match → expected_version */
    ROUTE_CREATE = 1u << 4,    /* Location: <path>/<id> on success */
    ROUTE_PUBLIC = 1u << 5,    /* no Authorization needed (login); the gateway itself is the caller */
    ROUTE_TOKEN = 1u << 6,     /* the request's `token` field gets the caller's bearer token (logout) */
    ROUTE_SECRET = 1u << 7,    /* the reply holds a secret: never stored for Idempotency-Key replay */
    ROUTE_CSV_IN = 1u << 8,    /* the body is CSV (text/csv) → request field `csv` (bytes) */
    ROUTE_CSV_OUT = 1u << 9,   /* response field `csv` (bytes) → a text/csv body */
    ROUTE_SSE = 1u << 10,      /* a text/event-stream of the rpc's pages (sse.c), not one JSON answer */
    ROUTE_FILE_OUT = 1u << 11, /* response field `file` (FileBody), when set → the body as a file */
};

typedef struct {
    const char *method;        /* "GET", "POST", "PATCH", "DELETE" */
    const char *path_template; /* "/api/v1/staff/{id}" */
    const char *service;       /* MDP service, "registry" */
    const char *rpc;           /* Envelope.method, "CreateStaff": its types are the service's (route_method) */
    const char *body_field;    /* NULL = the body is the whole request message */
    int success_status;        /* 201 for create; 0 = 200 (route_success_status) */
    unsigned flags;
    const char *summary;   /* Russian, for the OpenAPI document */
    size_t max_body_bytes; /* 0 = the gateway's limit (gateway_http_options.max_body_bytes) */
    uint32_t timeout_ms;   /* 0 = the gateway's request timeout */
} route;

/* The proto service descriptor of an MDP service ("registry" → metodnet__registry__descriptor), NULL
 * for a service the gateway does not route to. */
const ProtobufCServiceDescriptor *routes_service(const char *service);
/* The rpc a row names, from its service's descriptor: input is the request type, output the
 * response type. NULL when the service has no such rpc (test_gateway_routes checks every row). */
const ProtobufCMethodDescriptor *route_method(const route *r);
/* 201 for rows that say so, else 200. */
int route_success_status(const route *r);

/* NULL when every row of rows names an rpc of its service and that rpc's types carry what the row's
 * flags need (see routes.c), else the first problem, written into buf. The gateway checks its own
 * table at start. */
const char *routes_check(const route *rows, size_t n, char *buf, size_t size);

/* The largest max_body_bytes of any row (0 when none raises the limit). */
size_t routes_max_body_bytes(void);

/* The table (static storage); *count set to the number of rows. */
const route *routes_table(size_t *count);

/* The table itself (routes_table.c); the rest of the gateway reads it through routes_table(). */
extern const route routes_rows[];
extern const size_t routes_rows_count;

#define ROUTES_MAX_PARAMS 4
#define ROUTES_PARAM_MAX  256

typedef struct {
    const char *name; /* borrowed from the template, not NUL-terminated: name_len */
    size_t name_len;
    char value[ROUTES_PARAM_MAX]; /* percent-decoded */
} route_param;

typedef enum {
    ROUTES_FOUND = 0,
    ROUTES_NOT_FOUND = -1,          /* no template matches the path */
    ROUTES_METHOD_NOT_ALLOWED = -2, /* a template matches but not with this method */
} routes_match_result;

typedef struct {
    const route *route;
    route_param params[ROUTES_MAX_PARAMS];
    size_t n_params;
    char allow[64]; /* for ROUTES_METHOD_NOT_ALLOWED: "GET, POST" */
} route_match;

/* Matches method + path (without the query, raw as received: percent-escapes are decoded per
 * segment). A segment that decodes to something invalid (NUL, over-long, bad escape) never matches. */
routes_match_result routes_match(const char *method, size_t method_len, const char *path, size_t path_len,
                                 route_match *out);

/* One violation found while mapping the HTTP request: field is the JSON path (or the parameter or
 * header name), description Russian. */
typedef struct {
    char field[256];
    char description[512];
} routes_error;

/* Builds the request message of m->route from path parameters, the query string (without '?', may
 * be NULL), the body (may be NULL/0 for routes without ROUTE_BODY) and the If-Match value (NULL if
 * absent). Returns the new message (free with protobuf_c_message_free_unpacked(msg, NULL)), or NULL
 * with err filled (a body that is not JSON has field "" and says where it breaks). */
ProtobufCMessage *routes_build_request(const route_match *m, const char *query, size_t query_len, const char *body,
                                       size_t body_len, const char *if_match, size_t if_match_len, routes_error *err);

/* expected_version that no record has: a well-formed If-Match naming no current ETag → 412. */
#define ROUTES_VERSION_NONE 0x7fffffffffffffffLL

/* Parses If-Match (RFC 9110 §13.1.1) against our strong ETags "\"<version>\"" with the strong
 * comparison: "*" → 0 (any current version: no check); "3" (or a bare 3) → 3; W/"3" (weak tags
 * never match), "abc", "0" → ROUTES_VERSION_NONE (412 from the service, or 404 for a missing
 * record, RFC 9110 §13.2.1); a list gives its one version ("1", W/"2" → 1). Returns 0 with *version
 * set, -1 for a malformed value (400), -2 for a list naming two different versions (400: the services
 * compare against one). */
int routes_parse_if_match(const char *value, size_t len, long long *version);

/* Percent-decodes src into dst (size bytes incl. NUL); plus_is_space for query strings. Returns the
 * decoded length, or -1 on a bad escape, an embedded NUL or overflow. */
int routes_percent_decode(const char *src, size_t len, char *dst, size_t size, bool plus_is_space);

#endif
