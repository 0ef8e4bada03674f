/* openapi — the OpenAPI 3.0.3 document of the HTTP API, generated from the route table and the
 * message descriptors (pbjson_openapi_ref); nothing in it is written by hand per endpoint. */
#ifndef METODNET_GATEWAY_OPENAPI_H
#define METODNET_GATEWAY_OPENAPI_H

#include <stddef.h>
#include <jansson.h>

/* The document as a new JSON object (caller json_decref()s); NULL when out of memory. */
json_t *gateway_openapi_build(void);

/* The document as compact JSON text; caller free()s. */
char *gateway_openapi_text(size_t *len);

#endif
