/* pbfield — generic field access by proto name for protobuf-c messages (see pbfield.h). */
#include "pbfield.h"
#include "pbjson.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static void *s_at(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    return (char *)msg + f->offset;
}

const char *pbfield_string(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *value = *(char **)s_at(msg, f);
    return value ? value : "";
}

static void s_free_string(char **slot, const ProtobufCFieldDescriptor *f)
{
    if (*slot && *slot != (char *)f->default_value && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = NULL;
}

int pbfield_set_string(ProtobufCMessage *msg, const char *name, const char *value)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -1;
    char **slot = s_at(msg, f);
    char *copy = xstrdup(value ? value : "");
    s_free_string(slot, f);
    *slot = copy;
    return 0;
}

int64_t pbfield_int64(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_INT64 || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    return *(int64_t *)s_at(msg, f);
}

int pbfield_set_int64(ProtobufCMessage *msg, const char *name, int64_t value)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_INT64 || f->label == PROTOBUF_C_LABEL_REPEATED)
        return -1;
    *(int64_t *)s_at(msg, f) = value;
    return 0;
}

static bool s_has_field_zero(const ProtobufCMessage *msg, int depth)
{
    if (msg == NULL)
        return false;
    if (depth > 100)
        return true; /* deeper than anything of proto/: refused like a malformed one */
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &d->fields[f];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *member = (const char *)msg + field->offset;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + field->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)member;
            for (size_t k = 0; k < n && items; k++)
                if (s_has_field_zero(items[k], depth + 1))
                    return true;
        } else if (s_has_field_zero(*(ProtobufCMessage *const *)member, depth + 1)) {
            return true;
        }
    }
    return false;
}

bool pbfield_has_field_zero(const ProtobufCMessage *msg)
{
    return s_has_field_zero(msg, 0);
}

ProtobufCMessage *pbfield_clone(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len);
    protobuf_c_message_pack(msg, buf);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
    free(buf);
    if (copy == NULL) /* what we packed ourselves unpacks unless memory ran out */
        xalloc_failed(msg->descriptor->sizeof_message + len);
    return copy;
}

/* Frees one element's owned memory (string, bytes, sub-message). */
static void s_free_element(const ProtobufCFieldDescriptor *f, void *element, bool repeated)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = element;
        if (*s && (repeated || (*s != (char *)f->default_value && *s != protobuf_c_empty_string)))
            free(*s);
        *s = NULL;
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData *b = element;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (repeated || def == NULL || b->data != def->data))
            free(b->data);
        b->data = NULL;
        b->len = 0;
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **m = element;
        if (*m)
            protobuf_c_message_free_unpacked(*m, NULL);
        *m = NULL;
    }
}

/* Copies one element from src to dst (dst holds nothing owned). */
static void s_copy_element(const ProtobufCFieldDescriptor *f, void *dst, const void *src)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)src;
        char *copy = xstrdup(s ? s : "");
        *(char **)dst = copy;
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *s = src;
        ProtobufCBinaryData *d = dst;
        d->len = s->len;
        d->data = NULL;
        if (s->len) {
            d->data = xmalloc(s->len);
            memcpy(d->data, s->data, s->len);
        }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *s = *(ProtobufCMessage *const *)src;
        ProtobufCMessage *copy = NULL;
        if (s) {
            copy = pbfield_clone(s);
        }
        *(ProtobufCMessage **)dst = copy;
    } else {
        memcpy(dst, src, pbjson_value_size(f->type));
    }
}

int pbfield_copy(ProtobufCMessage *dst, const ProtobufCMessage *src, const char *name)
{
    if (dst->descriptor != src->descriptor)
        return -1;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(dst->descriptor, name);
    if (f == NULL || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return -1;
    size_t size = pbjson_value_size(f->type);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *dst_n = (size_t *)((char *)dst + f->quantifier_offset);
        size_t src_n = *(const size_t *)((const char *)src + f->quantifier_offset);
        void **dst_items = s_at(dst, f);
        void *const *src_items = s_at(src, f);
        for (size_t i = 0; i < *dst_n; i++)
            s_free_element(f, (char *)*dst_items + i * size, true);
        free(*dst_items);
        *dst_items = NULL;
        *dst_n = 0;
        if (src_n) {
            *dst_items = xcalloc(src_n, size);
            for (size_t i = 0; i < src_n; i++)
                s_copy_element(f, (char *)*dst_items + i * size, (const char *)*src_items + i * size);
            *dst_n = src_n;
        }
        return 0;
    }
    void *dst_slot = s_at(dst, f);
    s_free_element(f, dst_slot, false);
    s_copy_element(f, dst_slot, s_at(src, f));
    return 0;
}
