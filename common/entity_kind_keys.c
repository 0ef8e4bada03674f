/* entity_kind_keys — the names a kind's records live under (ids with their region, record, sequence,
 * stream, index and claims keys), its audit name and permission hook, and the domain-event envelope
 * (contract in entity_kind.h); the flows that use them are in entity_kind.c and entity_list.c.
 */
#include "entity_kind.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pbfield.h"
#include "pbjson.h"
#include "validate.h"
#include "xalloc.h"

/* ---------- keys and ids ---------- */

bool entity_region_of(const char *id, char *out, size_t size)
{
    if (!id_valid(id))
        return false;
    size_t n = strcspn(id, "-");
    if (n != 2 || n >= size || id[0] < '0' || id[0] > '9' || id[1] < '0' || id[1] > '9')
        return false;
    memcpy(out, id, n);
    out[n] = '\0';
    return true;
}

static char s_letter(const entity_kind *kind)
{
    return kind->id_letter ? kind->id_letter : kind->name[0];
}

/* The parts one after another into out (NUL-terminated, cut to size as snprintf would; text_copy):
 * keys are made on every request, snprintf's format parsing costs more than the copying. */
static void s_join(char *out, size_t size, const char *const *parts, size_t n)
{
    size_t o = text_copy(out, size, "", 0);
    for (size_t i = 0; i < n; i++)
        o += text_copy(out + o, size - o, parts[i], strlen(parts[i]));
}

bool entity_kind_key(const entity_kind *kind, const char *id, char *out, size_t size)
{
    char region[8];
    if (!entity_region_of(id, region, sizeof region))
        return false;
    if (kind->global) {
        if (strcmp(region, id) != 0)
            return false;
        const char *parts[] = {kind->prefix, ":{g}:", kind->name, ":", id};
        s_join(out, size, parts, 5);
        return true;
    }
    /* the id must be of this kind: "07-s12" for staff */
    if (id[2] != '-' || id[3] != s_letter(kind) || id[4] == '\0')
        return false;
    for (const char *p = id + 4; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    const char *parts[] = {kind->prefix, ":{r:", region, "}:", kind->name, ":", id};
    s_join(out, size, parts, 7);
    return true;
}

void entity_kind_sequence_key(const entity_kind *kind, const char *region, char *out, size_t size)
{
    snprintf(out, size, "%s:{r:%s}:seq:%s", kind->prefix, region, kind->name);
}

void entity_kind_stream_key(const entity_kind *kind, const char *region, char *out, size_t size)
{
    if (kind->global)
        snprintf(out, size, "%s:{g}:events", kind->prefix);
    else
        snprintf(out, size, "%s:{r:%s}:events", kind->prefix, region);
}

void entity_kind_make_id(const entity_kind *kind, const char *region, long long sequence, char *out, size_t size)
{
    snprintf(out, size, "%s-%c%lld", region, s_letter(kind), sequence);
}

void entity_kind_key_prefix(const entity_kind *kind, const char *region, char *out, size_t size)
{
    if (kind->global)
        snprintf(out, size, "%s:{g}:%s:", kind->prefix, kind->name);
    else
        snprintf(out, size, "%s:{r:%s}:%s:", kind->prefix, region, kind->name);
}

void entity_kind_main_index(const entity_kind *kind, const char *region, char *out, size_t size)
{
    const char *name = kind->index_name ? kind->index_name : kind->name;
    if (kind->global)
        snprintf(out, size, "%s:{g}:ix:%s", kind->prefix, name);
    else
        snprintf(out, size, "%s:{r:%s}:ix:%s", kind->prefix, region, name);
}

void entity_kind_claims_key(const entity_kind *kind, const char *region, const char *field, char *out, size_t size)
{
    if (strcmp(field, "externalId") == 0)
        snprintf(out, size, "%s:{r:%s}:xid:%s", kind->prefix, region, kind->name);
    else
        snprintf(out, size, "%s:{r:%s}:claim:%s:%s", kind->prefix, region, kind->name, field);
}

const char *entity_kind_audit_name(const entity_kind *kind)
{
    return kind->audit_name ? kind->audit_name : kind->name;
}

bool entity_kind_allows(const entity_kind *kind, const Metodnet__Principal *caller, const ProtobufCMessage *entity,
                        scope_access access)
{
    if (kind->allows)
        return kind->allows(caller, entity, access);
    entity_territory territory;
    memset(&territory, 0, sizeof territory);
    kind->territory(entity, &territory);
    return scope_allows(caller, &territory.object, access);
}

void entity_version_mismatch_ru(char *out, size_t size, long long stored)
{
    snprintf(out, size, "Запись уже изменил кто-то другой (текущая версия %lld): перечитайте её и повторите изменение",
             stored);
}

uint8_t *entity_event_pack(const char *type, const char *entity_id, int64_t version, const uint8_t *data,
                           size_t data_len, const Metodnet__Principal *actor, const char *request_id, size_t *len)
{
    Metodnet__DomainEvent event = METODNET__DOMAIN_EVENT__INIT;
    event.type = (char *)type;
    event.entity_id = (char *)(entity_id ? entity_id : "");
    event.version = version;
    event.at_unix_ms = clock_unix_ms();
    event.actor = (Metodnet__Principal *)actor;
    event.request_id = (char *)(request_id ? request_id : "");
    event.entity.data = (uint8_t *)data;
    event.entity.len = data ? data_len : 0;
    *len = metodnet__domain_event__get_packed_size(&event);
    uint8_t *bytes = xmalloc(*len);
    metodnet__domain_event__pack(&event, bytes);
    return bytes;
}

uint8_t *entity_kind_event(const entity_kind *kind, const char *what, const ProtobufCMessage *entity,
                           const uint8_t *data, size_t data_len, service_call *call, size_t *len)
{
    char type[64];
    snprintf(type, sizeof type, "%s.%s", kind->name, what);
    return entity_event_pack(type, pbfield_string(entity, "id"), pbfield_int64(entity, "version"), data, data_len,
                             call ? service_call_caller(call) : NULL, call ? service_call_request_id(call) : "", len);
}
