/* pbjson_openapi — OpenAPI 3.0 schemas of protobuf-c messages, from their descriptors, in the same
 * JSON shape pbjson encodes and decodes (see pbjson_openapi_ref in pbjson.h).
 */
#include "pbjson.h"
#include "pbjson_internal.h"

#include <stdint.h>
#include <stdio.h>

static int s_openapi_add(const ProtobufCMessageDescriptor *desc, json_t *schemas);

static json_t *s_ref(const ProtobufCMessageDescriptor *desc)
{
    char ref[512];
    snprintf(ref, sizeof ref, "#/components/schemas/%s", desc->short_name);
    return json_pack("{s:s}", "$ref", ref);
}

/* Schema of one value of field (an array element for repeated fields). */
static json_t *s_openapi_value(const ProtobufCFieldDescriptor *field, bool element, json_t *schemas)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_pack("{s:s,s:s}", "type", "integer", "format", "int32");
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_pack("{s:s,s:i,s:I}", "type", "integer", "minimum", 0, "maximum", (json_int_t)UINT32_MAX);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_pack("{s:s,s:s,s:s}", "type", "string", "format", "int64", "pattern", "^-?[0-9]+$");
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_pack("{s:s,s:s,s:s}", "type", "string", "format", "uint64", "pattern", "^[0-9]+$");
    case PROTOBUF_C_TYPE_FLOAT:
        return json_pack("{s:s,s:s}", "type", "number", "format", "float");
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_pack("{s:s,s:s}", "type", "number", "format", "double");
    case PROTOBUF_C_TYPE_BOOL:
        return json_pack("{s:s}", "type", "boolean");
    case PROTOBUF_C_TYPE_STRING:
        return json_pack("{s:s}", "type", "string");
    case PROTOBUF_C_TYPE_BYTES:
        return json_pack("{s:s,s:s}", "type", "string", "format", "byte");
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *desc = field->descriptor;
        json_t *words = json_array();
        if (!words)
            return NULL;
        for (unsigned i = 0; i < desc->n_values; i++) {
            const char *w = pbjson_enum_word(desc, desc->values[i].value);
            if (pbjson_enum_word_is_first(desc, i, w) && json_array_append_new(words, json_string(w))) {
                json_decref(words);
                return NULL;
            }
        }
        if (element) /* inside an array a value is never null */
            return json_pack("{s:s,s:o}", "type", "string", "enum", words);
        /* OpenAPI 3.0.3: a nullable enum lists null among its values */
        if (json_array_append_new(words, json_null())) {
            json_decref(words);
            return NULL;
        }
        return json_pack("{s:s,s:o,s:b}", "type", "string", "enum", words, "nullable", 1);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (s_openapi_add(field->descriptor, schemas))
            return NULL;
        json_t *ref = s_ref(field->descriptor);
        if (!ref || element)
            return ref;
        /* a sibling of $ref is ignored in OpenAPI 3.0, so an absent (null) message needs allOf */
        return json_pack("{s:[o],s:b}", "allOf", ref, "nullable", 1);
    }
    }
    return NULL;
}

static int s_openapi_add(const ProtobufCMessageDescriptor *desc, json_t *schemas)
{
    if (json_object_get(schemas, desc->short_name))
        return 0;
    json_t *properties = json_object();
    json_t *schema = json_pack("{s:s,s:o,s:b}", "type", "object", "properties", properties, "additionalProperties", 0);
    /* registered before the fields are walked, so a message that refers to itself stops here */
    if (!schema || json_object_set_new(schemas, desc->short_name, schema))
        return -1;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        bool repeated = field->label == PROTOBUF_C_LABEL_REPEATED;
        json_t *value = s_openapi_value(field, repeated, schemas);
        if (value && repeated)
            value = json_pack("{s:s,s:o}", "type", "array", "items", value);
        char name[256];
        pbjson_json_name(field, name, sizeof name);
        if (!value || json_object_set_new(properties, name, value))
            return -1;
    }
    return 0;
}

json_t *pbjson_openapi_ref(const ProtobufCMessageDescriptor *desc, json_t *components_schemas)
{
    if (!desc || !json_is_object(components_schemas))
        return NULL;
    if (s_openapi_add(desc, components_schemas))
        return NULL;
    return s_ref(desc);
}
