/* fuzz_pbjson — libFuzzer target for the JSON ⇄ protobuf codec (common/pbjson*.c) on real descriptors
 * of proto/: the first input byte picks the message (registry StaffMember, Organization,
 * CreateStaffRequest; diagnostics Instrument and Attempt; the MDP Envelope), the rest is the JSON text.
 * What decodes must encode (directly and through the jansson tree, to the same text), that text must
 * decode again to the same packed bytes, and re-encode to the same text; a refusal always carries a
 * Russian message. The text straight from the packed bytes (pbjson_encode_packed) is the same text.
 * A first byte with the high bit set makes the rest raw protobuf bytes instead: whatever the wire
 * writer accepts, protobuf-c must unpack, and both must give the same text.
 * Built and run by ops/fuzz, seeds in corpus/pbjson/ ("0…5" + a JSON body, 0x80… + packed bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A broken property: says which one, then aborts (libFuzzer keeps the input). */
#define S_BROKEN(what) (fprintf(stderr, "%s\n", what), abort())

#include "diagnostics.pb-c.h"
#include "envelope.pb-c.h"
#include "pbjson.h"
#include "registry.pb-c.h"

static const ProtobufCMessageDescriptor *const s_messages[] = {
    &metodnet__staff_member__descriptor,
    &metodnet__organization__descriptor,
    &metodnet__create_staff_request__descriptor,
    &metodnet__instrument__descriptor,
    &metodnet__attempt__descriptor,
    &metodnet__envelope__descriptor,
};

static uint8_t *s_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf == NULL)
        S_BROKEN("out of memory");
    if (protobuf_c_message_pack(msg, buf) != *len)
        S_BROKEN("packed size and packed bytes disagree");
    return buf;
}

static char *s_encode(const ProtobufCMessage *msg, size_t *len)
{
    char *text = pbjson_encode(msg, len);
    json_t *tree = pbjson_to_json(msg);
    if (text == NULL || tree == NULL || *len != strlen(text))
        S_BROKEN("encoding failed or its length is wrong");
    char *dumped = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (dumped == NULL || strcmp(dumped, text) != 0)
        S_BROKEN("the direct writer and the jansson tree disagree");
    free(dumped);
    json_decref(tree);
    return text;
}

/* The wire writer against protobuf-c on the same bytes. */
static void s_wire_agrees(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes, size_t len, bool must_accept)
{
    size_t wire_len = 0;
    char *wire = pbjson_encode_packed(desc, bytes, len, &wire_len);
    if (wire == NULL) {
        if (must_accept)
            S_BROKEN("the wire writer refused what protobuf-c packed");
        return;
    }
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(desc, NULL, len, bytes);
    if (unpacked == NULL)
        S_BROKEN("the wire writer accepted bytes protobuf-c does not unpack");
    size_t text_len = 0;
    char *text = pbjson_encode(unpacked, &text_len);
    if (text == NULL || text_len != wire_len || memcmp(text, wire, wire_len) != 0 || strlen(wire) != wire_len)
        S_BROKEN("the wire writer and the unpacked message disagree");
    free(text);
    free(wire);
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *desc = s_messages[(data[0] & 0x7f) % (sizeof s_messages / sizeof s_messages[0])];
    if (data[0] & 0x80) {
        s_wire_agrees(desc, data + 1, size - 1, false);
        return 0;
    }
    pbjson_error err;
    memset(&err, 0, sizeof err);
    ProtobufCMessage *first = pbjson_decode(desc, (const char *)data + 1, size - 1, NULL, &err);
    if (first == NULL) {
        if (err.message[0] == '\0' || memchr(err.message, '\0', sizeof err.message) == NULL ||
            memchr(err.path, '\0', sizeof err.path) == NULL)
            S_BROKEN("a refusal without a message");
        return 0;
    }
    size_t text_len = 0, first_len = 0, second_len = 0, again_len = 0;
    char *text = s_encode(first, &text_len);
    ProtobufCMessage *second = pbjson_decode(desc, text, text_len, NULL, &err);
    if (second == NULL)
        S_BROKEN("what was written does not read back");
    uint8_t *first_bytes = s_pack(first, &first_len);
    uint8_t *second_bytes = s_pack(second, &second_len);
    s_wire_agrees(desc, first_bytes, first_len, true);
    if (first_len != second_len || memcmp(first_bytes, second_bytes, first_len) != 0)
        S_BROKEN("the JSON round trip changed the message");
    char *again = s_encode(second, &again_len);
    if (again_len != text_len || memcmp(again, text, text_len) != 0)
        S_BROKEN("the second encoding differs from the first");
    /* the packed form unpacks to a message that packs to the same bytes (not always the same JSON:
     * protobuf-c does not write a double -0.0, which reads back as 0.0) */
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(desc, NULL, first_len, first_bytes);
    if (unpacked == NULL)
        S_BROKEN("the packed message does not unpack");
    size_t repacked_len = 0;
    uint8_t *repacked = s_pack(unpacked, &repacked_len);
    if (repacked_len != first_len || memcmp(repacked, first_bytes, first_len) != 0)
        S_BROKEN("the unpacked message packs to other bytes");
    free(repacked);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    free(again);
    free(first_bytes);
    free(second_bytes);
    free(text);
    protobuf_c_message_free_unpacked(second, NULL);
    protobuf_c_message_free_unpacked(first, NULL);
    return 0;
}
