/* events_registrations — the registration flows of the events service: register (capacity, quotas and
 * the waitlist decided atomically in one Lua script), cancel (the first waitlisted who fits promoted in
 * the same script), and the organizer's bulk attendance (each mark one entity_kind_save; an attended
 * registration with a route item marks the item done in diagnostics through the broker).
 *
 * The scripts edit the stored protobuf bytes of the event (registered_count 22, waitlisted_count 23,
 * version 24) and of registrations (status 7, waitlist_position 8, version 11, updated_at 13) by
 * dropping those top-level fields and appending the new values (a protobuf parser keeps the last value
 * of a field), so the records, their versions and the counts never disagree. Each change appends its
 * DomainEvent ("registration.created", "registration.cancelled", "registration.promoted") to the
 * region's stream in the same script: C packs the DomainEvent without the entity, the script appends the
 * entity's id (2), version (3) and bytes (7).
 *
 * Keys: ev:{r:R}:seats:<event> holds "m:<municipality>" = registered of that municipality and "n" = the
 * waitlist sequence; ev:{r:R}:wait:<event> the waitlist (score = sequence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "diagnostics.pb-c.h"
#include "diagnostics_service.pb-c.h"
#include "events.h"
#include "events_internal.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

/* ---------- the scripts ---------- */

#define PB_LUA                                                                                                         \
    "local function rd_varint(s, i)\n"                                                                                 \
    "  local n, mul = 0, 1\n"                                                                                          \
    "  while true do\n"                                                                                                \
    "    local b = string.byte(s, i)\n"                                                                                \
    "    if b == nil or mul > 2^56 then return nil end\n"                                                              \
    "    i = i + 1\n"                                                                                                  \
    "    n = n + (b % 128) * mul\n"                                                                                    \
    "    if b < 128 then return n, i end\n"                                                                            \
    "    mul = mul * 128\n"                                                                                            \
    "  end\n"                                                                                                          \
    "end\n"                                                                                                            \
    "local function varint(n)\n"                                                                                       \
    "  local out = {}\n"                                                                                               \
    "  repeat\n"                                                                                                       \
    "    local b = n % 128\n"                                                                                          \
    "    n = (n - b) / 128\n"                                                                                          \
    "    if n > 0 then b = b + 128 end\n"                                                                              \
    "    out[#out + 1] = string.char(b)\n"                                                                             \
    "  until n == 0\n"                                                                                                 \
    "  return table.concat(out)\n"                                                                                     \
    "end\n"                                                                                                            \
    "local function scan(s, f)\n"                                                                                      \
    "  local i, len = 1, #s\n"                                                                                         \
    "  while i <= len do\n"                                                                                            \
    "    local from, key = i, nil\n"                                                                                   \
    "    key, i = rd_varint(s, i)\n"                                                                                   \
    "    if not key then return false end\n"                                                                           \
    "    local num, wire, value = math.floor(key / 8), key % 8, nil\n"                                                 \
    "    if wire == 0 then\n"                                                                                          \
    "      value, i = rd_varint(s, i)\n"                                                                               \
    "      if not value then return false end\n"                                                                       \
    "    elseif wire == 1 then i = i + 8\n"                                                                            \
    "    elseif wire == 5 then i = i + 4\n"                                                                            \
    "    elseif wire == 2 then\n"                                                                                      \
    "      local n\n"                                                                                                  \
    "      n, i = rd_varint(s, i)\n"                                                                                   \
    "      if not n then return false end\n"                                                                           \
    "      value = string.sub(s, i, i + n - 1)\n"                                                                      \
    "      i = i + n\n"                                                                                                \
    "    else return false end\n"                                                                                      \
    "    if i > len + 1 then return false end\n"                                                                       \
    "    f(num, wire, value, from, i - 1)\n"                                                                           \
    "  end\n"                                                                                                          \
    "  return true\n"                                                                                                  \
    "end\n"                                                                                                            \
    "local function fields(s)\n"                                                                                       \
    "  local t = {}\n"                                                                                                 \
    "  local ok = scan(s, function(num, wire, value)\n"                                                                \
    "    if wire == 2 then t[num] = t[num] or {} table.insert(t[num], value) elseif wire == 0 then t[num] = value "    \
    "end\n"                                                                                                            \
    "  end)\n"                                                                                                         \
    "  if ok then return t end\n"                                                                                      \
    "  return nil\n"                                                                                                   \
    "end\n"                                                                                                            \
    "local function last(t, n) local l = t[n] if type(l) == 'table' then return l[#l] end return '' end\n"             \
    "local function strip(s, drop)\n"                                                                                  \
    "  local parts = {}\n"                                                                                             \
    "  scan(s, function(num, wire, value, from, to) if not drop[num] then parts[#parts + 1] = string.sub(s, from, "    \
    "to) "                                                                                                             \
    "end end)\n"                                                                                                       \
    "  return table.concat(parts)\n"                                                                                   \
    "end\n"                                                                                                            \
    "local function put_varint(num, n) if n == 0 then return '' end return varint(num * 8) .. varint(n) end\n"         \
    "local function put_bytes(num, b) return varint(num * 8 + 2) .. varint(#b) .. b end\n"                             \
    "local function reg_set(d, status, position, version, now)\n"                                                      \
    "  return strip(d, {[7] = true, [8] = true, [11] = true, [13] = true}) .. put_varint(7, status) ..\n"              \
    "    put_varint(8, position) .. put_varint(11, version) .. put_bytes(13, now)\n"                                   \
    "end\n"                                                                                                            \
    "local function event_set(d, reg, wait, version)\n"                                                                \
    "  return strip(d, {[22] = true, [23] = true, [24] = true}) .. put_varint(22, reg) .. put_varint(23, wait) ..\n"   \
    "    put_varint(24, version)\n"                                                                                    \
    "end\n"                                                                                                            \
    "local function domain_event(prefix, id, version, d)\n"                                                            \
    "  return prefix .. put_bytes(2, id) .. put_varint(3, version) .. put_bytes(7, d)\n"                               \
    "end\n"                                                                                                            \
    "local function quotas_of(e)\n"                                                                                    \
    "  local q = {}\n"                                                                                                 \
    "  for _, raw in ipairs(type(e[19]) == 'table' and e[19] or {}) do\n"                                              \
    "    local f = fields(raw)\n"                                                                                      \
    "    if f then q[last(f, 1)] = f[2] or 0 end\n"                                                                    \
    "  end\n"                                                                                                          \
    "  return q\n"                                                                                                     \
    "end\n"

/* KEYS: [1] event, [2] registration, [3] seats, [4] waitlist, [5] claims, [6] stream, [7..] indexes.
 * ARGV: [1] registration bytes (registered), [2] attributes, [3] claim value, [4] the person's
 * municipality, [5] DomainEvent prefix, [6] registration id, [7] waitlist limit, [8] n indexes, members.
 * Returns {0, status, position, registered, waitlisted} or {code, detail}: 1 no event, 2 id taken,
 * 6 unreadable event, 7 registered already (detail: that registration), 10 not open (detail: status),
 * 11 waitlist full. */
static const char s_register_lua[] =
    PB_LUA "local ev = redis.call('HGET', KEYS[1], 'd')\n"
           "if not ev then return {1, ''} end\n"
           "local e = fields(ev)\n"
           "if not e then return {6, 'event unreadable'} end\n"
           "if (e[20] or 0) ~= 2 then return {10, tostring(e[20] or 0)} end\n"
           "local owner = redis.call('HGET', KEYS[5], ARGV[3])\n"
           "if owner then return {7, owner} end\n"
           "if redis.call('EXISTS', KEYS[2]) == 1 then return {2, ''} end\n"
           "local cap, reg, wait = e[17] or 0, e[22] or 0, e[23] or 0\n"
           "local quota = quotas_of(e)[ARGV[4]]\n"
           "local mkey = 'm:' .. ARGV[4]\n"
           "local used = tonumber(redis.call('HGET', KEYS[3], mkey) or '0')\n"
           "local d, a = ARGV[1], ARGV[2]\n"
           "local status, position = 1, 0\n"
           "if (cap == 0 or reg < cap) and (quota == nil or used < quota) then\n"
           "  reg = reg + 1\n"
           "  redis.call('HINCRBY', KEYS[3], mkey, 1)\n"
           "else\n"
           "  if wait >= tonumber(ARGV[7]) then return {11, ''} end\n"
           "  status = 2\n"
           "  wait = wait + 1\n"
           "  local n = redis.call('HINCRBY', KEYS[3], 'n', 1)\n"
           "  redis.call('ZADD', KEYS[4], n, ARGV[6])\n"
           "  position = redis.call('ZCARD', KEYS[4])\n"
           "  d = strip(d, {[7] = true, [8] = true}) .. put_varint(7, 2) .. put_varint(8, position)\n"
           "  a = string.gsub(a, '|st:registered|', '|st:waitlisted|', 1)\n"
           "end\n"
           "redis.call('HSET', KEYS[2], 'v', '1', 'd', d, 'a', a)\n"
           "local n_ix = tonumber(ARGV[8])\n"
           "for i = 1, n_ix do redis.call('ZADD', KEYS[6 + i], 0, ARGV[8 + i]) end\n"
           "redis.call('HSET', KEYS[5], ARGV[3], ARGV[6])\n"
           "local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') + 1\n"
           "redis.call('HSET', KEYS[1], 'v', v, 'd', event_set(ev, reg, wait, v))\n"
           "redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[5], ARGV[6], 1, d))\n"
           "return {0, status, position, reg, wait}\n";

/* KEYS: [1] registration (fill: the event again, untouched), [2] event, [3] seats, [4] waitlist, [5] claims,
 * [6] stream. ARGV: [1] expected version ("0" = any), [2] now (RFC 3339), [3] DomainEvent prefix of the
 * cancellation, [4] of a promotion, [5] the registrations' key prefix, [6] "cancel" or "fill".
 * cancel: the registration cancelled, its seat (or place in line) freed, then the fill. fill (after an event
 * got more seats): the waitlisted promoted, first in line first, while they fit (capacity, their
 * municipality's quota). Returns {0, promoted count, the cancelled registration's bytes or ""} or
 * {code, detail}: 1 no registration (no event), 3 version mismatch (detail: stored), 6 unreadable, 12
 * cancelled already, 13 attendance marked, 14 the event is over. */
static const char s_cancel_lua[] =
    PB_LUA "local prefix, now = ARGV[5], ARGV[2]\n"
           "local function fill(e, reg, wait)\n"
           "  if (e[20] or 0) ~= 2 then return reg, wait, 0 end\n"
           "  local cap, quotas, n = e[17] or 0, quotas_of(e), 0\n"
           "  for _, wid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do\n"
           "    if cap ~= 0 and reg >= cap then break end\n"
           "    local w = redis.call('HMGET', prefix .. wid, 'v', 'd', 'a')\n"
           "    local wf = w[2] and fields(w[2])\n"
           "    if wf then\n"
           "      local wmun = last(wf, 6)\n"
           "      local used = tonumber(redis.call('HGET', KEYS[3], 'm:' .. wmun) or '0')\n"
           "      if quotas[wmun] == nil or used < quotas[wmun] then\n"
           "        local wv = tonumber(w[1]) + 1\n"
           "        local wd = reg_set(w[2], 1, 0, wv, now)\n"
           "        redis.call('HSET', prefix .. wid, 'v', wv, 'd', wd, 'a', (string.gsub(w[3] or '', '|st:[a-z]+|', "
           "'|st:registered|', 1)))\n"
           "        redis.call('ZREM', KEYS[4], wid)\n"
           "        redis.call('HINCRBY', KEYS[3], 'm:' .. wmun, 1)\n"
           "        reg, wait, n = reg + 1, wait - 1, n + 1\n"
           "        redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[4], wid, wv, wd))\n"
           "      end\n"
           "    end\n"
           "  end\n"
           "  return reg, wait, n\n"
           "end\n"
           "local function renumber()\n"
           "  for i, wid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do\n"
           "    local w = redis.call('HMGET', prefix .. wid, 'v', 'd')\n"
           "    local wf = w[2] and fields(w[2])\n"
           "    if wf and (wf[8] or 0) ~= i then\n"
           "      local wv = tonumber(w[1]) + 1\n"
           "      redis.call('HSET', prefix .. wid, 'v', wv, 'd', reg_set(w[2], 2, i, wv, now))\n"
           "    end\n"
           "  end\n"
           "end\n"
           "local function save_event(ev, reg, wait)\n"
           "  local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0') + 1\n"
           "  redis.call('HSET', KEYS[2], 'v', v, 'd', event_set(ev, reg, wait, v))\n"
           "end\n"
           "if ARGV[6] == 'fill' then\n"
           "  local ev = redis.call('HGET', KEYS[2], 'd')\n"
           "  local e = ev and fields(ev)\n"
           "  if not e then return {1, ''} end\n"
           "  local reg, wait, n = fill(e, e[22] or 0, e[23] or 0)\n"
           "  if n > 0 then\n"
           "    renumber()\n"
           "    save_event(ev, reg, wait)\n"
           "  end\n"
           "  return {0, n, ''}\n"
           "end\n"
           "local cur = redis.call('HMGET', KEYS[1], 'v', 'd', 'a')\n"
           "if not cur[2] then return {1, ''} end\n"
           "if ARGV[1] ~= '0' and cur[1] ~= ARGV[1] then return {3, cur[1] or ''} end\n"
           "local g = fields(cur[2])\n"
           "if not g then return {6, 'registration unreadable'} end\n"
           "local st = g[7] or 0\n"
           "if st == 3 then return {12, ''} end\n"
           "if st == 4 or st == 5 then return {13, ''} end\n"
           "local ev = redis.call('HGET', KEYS[2], 'd')\n"
           "local e = ev and fields(ev)\n"
           "if not e then return {6, 'event unreadable'} end\n"
           "if (e[20] or 0) == 4 then return {14, ''} end\n"
           "local reg, wait = e[22] or 0, e[23] or 0\n"
           "local id, mun = last(g, 1), last(g, 6)\n"
           "local version = tonumber(cur[1]) + 1\n"
           "local d = reg_set(cur[2], 3, 0, version, now)\n"
           "redis.call('HSET', KEYS[1], 'v', version, 'd', d, 'a', (string.gsub(cur[3] or '', '|st:[a-z]+|', "
           "'|st:cancelled|', 1)))\n"
           "local claim = last(g, 3) .. ':' .. last(g, 4)\n"
           "if redis.call('HGET', KEYS[5], claim) == id then redis.call('HDEL', KEYS[5], claim) end\n"
           "redis.call('XADD', KEYS[6], '*', 'event', domain_event(ARGV[3], id, version, d))\n"
           "local n = 0\n"
           "if st == 2 then\n"
           "  redis.call('ZREM', KEYS[4], id)\n"
           "  wait = wait - 1\n"
           "else\n"
           "  reg = reg - 1\n"
           "  redis.call('HINCRBY', KEYS[3], 'm:' .. mun, -1)\n"
           "  reg, wait, n = fill(e, reg, wait)\n"
           "end\n"
           "renumber()\n"
           "save_event(ev, reg, wait)\n"
           "return {0, n, d}\n";

const char *const *events_lua_scripts(size_t *n)
{
    static const char *const scripts[] = {s_register_lua, s_cancel_lua};
    *n = sizeof scripts / sizeof scripts[0];
    return scripts;
}

int events_scripts_load(events_service *svc)
{
    svc->register_script = redis_link_script(svc->link, s_register_lua);
    svc->cancel_script = redis_link_script(svc->link, s_cancel_lua);
    return svc->register_script && svc->cancel_script ? 0 : -1;
}

/* ---------- shared ---------- */

static void s_key(char *out, size_t size, const char *region, const char *what, const char *id)
{
    snprintf(out, size, "ev:{r:%s}:%s:%s", region, what, id);
}

/* "Reply is an array whose first element is an integer code". */
static bool s_script_code(const redisReply *reply, long long *code)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER)
        return false;
    *code = reply->element[0]->integer;
    return true;
}

static const char *s_reply_text(const redisReply *reply, size_t i)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
        return "";
    const redisReply *r = reply->element[i];
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? r->str : "";
}

static long long s_reply_int(const redisReply *reply, size_t i)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements ||
        reply->element[i]->type != REDIS_REPLY_INTEGER)
        return 0;
    return reply->element[i]->integer;
}

static uint8_t *s_event_prefix(const char *type, service_call *call, size_t *len)
{
    return entity_event_pack(type, "", 0, NULL, 0, service_call_caller(call), service_call_request_id(call), len);
}

/* ---------- register ---------- */

typedef struct {
    events_service *svc;
    service_call *call;
    const Metodnet__RegisterRequest *req;
    char region[8];
    char staff_id[72];
    Metodnet__Event *event;
    Metodnet__Registration *reg;
} register_op;

static void s_register_free(register_op *o)
{
    if (o->event)
        protobuf_c_message_free_unpacked(&o->event->base, NULL);
    if (o->reg)
        protobuf_c_message_free_unpacked(&o->reg->base, NULL);
    free(o);
}

static void s_register_fail(register_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_register_free(o);
}

static void s_register_invalid(register_op *o, const char *field, const char *message_ru)
{
    validation v;
    validation_init(&v);
    validation_add(&v, field, "%s", message_ru);
    service_call_fail_validation(o->call, &v);
    validation_free(&v);
    s_register_free(o);
}

static void s_registered(const redisReply *reply, const char *error, void *ud)
{
    register_op *o = ud;
    long long code = -1;
    if (error != NULL || !s_script_code(reply, &code)) {
        log_error(service_call_request_id(o->call), "запись на мероприятие не удалась: %s",
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    switch (code) {
    case 0:
        o->reg->status = (Metodnet__RegistrationStatus)s_reply_int(reply, 1);
        o->reg->waitlist_position = (int32_t)s_reply_int(reply, 2);
        {
            entity_engine engine = o->svc->engine;
            entity_kind_audit(&engine, o->call, &events_registration_kind, "create", o->reg->id, o->region);
        }
        service_call_reply(o->call, &o->reg->base);
        s_register_free(o);
        return;
    case 1:
        s_register_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    case 7:
        s_register_fail(o, EVENTS_CODE(CONFLICT),
                        "Сотрудник уже записан на это мероприятие (или стоит в листе ожидания)");
        return;
    case 10:
        s_register_fail(o, EVENTS_CODE(CONFLICT), "Запись открыта только на опубликованные мероприятия");
        return;
    case 11:
        s_register_fail(o, EVENTS_CODE(CONFLICT), "Мест нет, и лист ожидания заполнен");
        return;
    default:
        log_error(service_call_request_id(o->call), "запись на мероприятие: код %lld %s", code, s_reply_text(reply, 1));
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
}

static void s_register_write(register_op *o)
{
    Metodnet__Registration *g = o->reg;
    entity_layout layout;
    entity_layout_init(&layout);
    events_registration_kind.layout(&g->base, &layout);
    if (entity_layout_error(&layout) != NULL || layout.n_claims != 1 || layout.n_indexes > 8) {
        entity_layout_clear(&layout);
        s_register_fail(o, EVENTS_CODE(INTERNAL), "Запись слишком велика для хранилища; сообщите администратору");
        return;
    }
    size_t data_len = protobuf_c_message_get_packed_size(&g->base);
    uint8_t *data = xmalloc(data_len ? data_len : 1);
    protobuf_c_message_pack(&g->base, data);
    size_t prefix_len = 0;
    uint8_t *prefix = s_event_prefix("registration.created", o->call, &prefix_len);

    char keys[6][EVENTS_KEY_MAX];
    s_key(keys[0], sizeof keys[0], o->region, "event", g->event_id);
    s_key(keys[1], sizeof keys[1], o->region, "registration", g->id);
    s_key(keys[2], sizeof keys[2], o->region, "seats", g->event_id);
    s_key(keys[3], sizeof keys[3], o->region, "wait", g->event_id);
    snprintf(keys[4], sizeof keys[4], "%s", layout.claims[0].key);
    entity_kind_stream_key(&events_registration_kind, o->region, keys[5], sizeof keys[5]);
    const char *argv[6 + 8 + 8 + 8];
    size_t argvlen[6 + 8 + 8 + 8];
    int argc = 0;
    for (int i = 0; i < 6; i++)
        argv[argc++] = keys[i];
    for (size_t i = 0; i < layout.n_indexes; i++)
        argv[argc++] = layout.indexes[i].key;
    int numkeys = argc;
    char limit[16], n_indexes[16];
    snprintf(limit, sizeof limit, "%d", EVENTS_MAX_WAITLIST);
    snprintf(n_indexes, sizeof n_indexes, "%zu", layout.n_indexes);
    for (int i = 0; i < argc; i++)
        argvlen[i] = strlen(argv[i]);
    argv[argc] = (const char *)data, argvlen[argc++] = data_len;
    argv[argc] = layout.attributes ? layout.attributes : "", argvlen[argc] = strlen(argv[argc]), argc++;
    argv[argc] = layout.claims[0].value, argvlen[argc] = strlen(argv[argc]), argc++;
    argv[argc] = g->municipality_id, argvlen[argc] = strlen(argv[argc]), argc++;
    argv[argc] = (const char *)prefix, argvlen[argc++] = prefix_len;
    argv[argc] = g->id, argvlen[argc] = strlen(argv[argc]), argc++;
    argv[argc] = limit, argvlen[argc] = strlen(argv[argc]), argc++;
    argv[argc] = n_indexes, argvlen[argc] = strlen(argv[argc]), argc++;
    for (size_t i = 0; i < layout.n_indexes; i++)
        argv[argc] = layout.indexes[i].member, argvlen[argc] = strlen(argv[argc]), argc++;
    int rc = redis_link_evalsha(o->svc->link, o->svc->register_script, numkeys, argc, argv, argvlen, s_registered, o);
    free(data);
    free(prefix);
    entity_layout_clear(&layout);
    if (rc != 0)
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

static void s_register_id(entity_result result, int64_t value, const char *error, void *ud)
{
    register_op *o = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "не удалось выдать идентификатор: %s", error ? error : "?");
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    char id[64];
    entity_kind_make_id(&events_registration_kind, o->region, (long long)value, id, sizeof id);
    events_replace(&o->reg->id, id);
    s_register_write(o);
}

static bool s_person_writable(const Metodnet__Principal *caller, const Metodnet__StaffMember *s)
{
    scope_object object = {
        .region_id = s->region_id,
        .municipality_ids = (const char *const *)s->municipality_ids,
        .n_municipalities = s->n_municipality_ids,
        .organization_ids = (const char *const *)s->organization_ids,
        .n_organizations = s->n_organization_ids,
        .person_id = s->id,
    };
    return scope_allows(caller, &object, SCOPE_WRITE);
}

static void s_register_staff(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    register_op *o = ud;
    if (status->code == EVENTS_CODE(NOT_FOUND)) {
        s_register_invalid(o, "staffId", "Сотрудник не найден");
        return;
    }
    if (status->code != EVENTS_CODE(OK)) {
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
        return;
    }
    const Metodnet__StaffMember *s = (const Metodnet__StaffMember *)response;
    const Metodnet__Principal *caller = service_call_caller(o->call);
    events_home home = events_event_home(o->event);
    bool organizer = events_home_writable(caller, &home);
    if (!events_eq(s->region_id, o->region) || (!s_person_writable(caller, s) && !organizer)) {
        s_register_invalid(o, "staffId", "Сотрудник не найден");
        return;
    }
    if (!s->active) {
        s_register_invalid(o, "staffId", "Сотрудник отмечен как неработающий: записать его нельзя");
        return;
    }
    char why[200];
    if (!events_audience_admits(o->event, s, why, sizeof why) && !o->req->audience_override) {
        char message[300];
        snprintf(message, sizeof message, "Запись невозможна: %s", why);
        s_register_fail(o, EVENTS_CODE(UNPROCESSABLE), message);
        return;
    }
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    Metodnet__Registration *g = xmalloc(sizeof *g);
    metodnet__registration__init(g);
    g->id = xstrdup("");
    g->region_id = xstrdup(o->region);
    g->event_id = xstrdup(o->event->id);
    g->staff_id = xstrdup(s->id);
    g->organization_id = xstrdup(s->n_organization_ids ? s->organization_ids[0] : "");
    g->municipality_id = xstrdup(s->n_municipality_ids ? s->municipality_ids[0] : "");
    /* the municipality the person works in that the event is for, when they work in several */
    for (size_t i = 0; i < s->n_municipality_ids; i++)
        if (events_eq(s->municipality_ids[i], o->event->municipality_id))
            events_replace(&g->municipality_id, s->municipality_ids[i]);
    g->status = METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_REGISTERED;
    g->registered_by = xstrdup(caller->user_id ? caller->user_id : "");
    g->route_item_id = xstrdup(o->req->route_item_id);
    g->version = 1;
    g->created_at = xstrdup(now);
    g->updated_at = xstrdup(now);
    g->audience_override = o->req->audience_override;
    g->event_organization_id = xstrdup(o->event->organizer_organization_id);
    g->event_municipality_id = xstrdup(o->event->municipality_id);
    o->reg = g;
    char sequence[EVENTS_KEY_MAX];
    entity_kind_sequence_key(&events_registration_kind, o->region, sequence, sizeof sequence);
    if (entity_store_next_id(o->svc->store, sequence, s_register_id, o) != 0)
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

static void s_register_event(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                             void *ud)
{
    (void)version;
    register_op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_register_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение мероприятия не удалось: %s", error ? error : "?");
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    o->event = metodnet__event__unpack(NULL, len, data);
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (o->event == NULL || !entity_kind_allows(&events_event_kind, caller, &o->event->base, SCOPE_READ)) {
        s_register_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    if (caller->role == METODNET__ROLE__ROLE_SCHOOL_SYSTEM) { /* read-only */
        s_register_fail(o, EVENTS_CODE(PERMISSION_DENIED), events_denied_ru);
        return;
    }
    if (o->event->status != METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED) {
        s_register_fail(o, EVENTS_CODE(CONFLICT), "Запись открыта только на опубликованные мероприятия");
        return;
    }
    int64_t until = 0;
    const char *deadline =
        events_set(o->event->registration_deadline) ? o->event->registration_deadline : o->event->starts_at;
    events_home home = events_event_home(o->event);
    bool organizer = events_home_writable(caller, &home);
    if (clock_parse_rfc3339(deadline, &until) && until < clock_unix_ms() && !organizer) {
        s_register_fail(o, EVENTS_CODE(CONFLICT), "Запись на это мероприятие закончилась");
        return;
    }
    if (o->req->audience_override && !organizer) {
        s_register_fail(o, EVENTS_CODE(PERMISSION_DENIED),
                        "Добавить участника вне целевой аудитории может только организатор мероприятия");
        return;
    }
    Metodnet__GetRequest get = METODNET__GET_REQUEST__INIT;
    get.id = o->staff_id;
    service_client_request r = {.service = "registry",
                                .method = "GetStaff",
                                .request = &get.base,
                                .response = &metodnet__staff_member__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->svc->broker, &r, s_register_staff, o) != 0)
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
}

void events_register(events_service *svc, service_call *call, const ProtobufCMessage *request)
{
    register_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->req = (const Metodnet__RegisterRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    bool self = caller->scope_kind == METODNET__SCOPE_KIND__SCOPE_KIND_SELF;
    char key[EVENTS_KEY_MAX];
    if (!entity_kind_key(&events_event_kind, o->req->id, key, sizeof key) ||
        !entity_region_of(o->req->id, o->region, sizeof o->region)) {
        s_register_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    const char *staff = events_set(o->req->staff_id) ? o->req->staff_id : self ? caller->scope_id : "";
    if (!events_set(staff)) {
        s_register_invalid(o, "staffId", "Укажите сотрудника (staffId)");
        return;
    }
    char staff_region[8];
    if (!id_valid(staff) || strlen(staff) >= sizeof o->staff_id || strstr(staff, "-s") == NULL ||
        !entity_region_of(staff, staff_region, sizeof staff_region)) {
        s_register_invalid(o, "staffId", "Неверный идентификатор сотрудника, например «07-s12»");
        return;
    }
    if (strcmp(staff_region, o->region) != 0) {
        s_register_invalid(o, "staffId", "Сотрудник не найден");
        return;
    }
    if (self && !events_eq(staff, caller->scope_id)) {
        s_register_fail(o, EVENTS_CODE(PERMISSION_DENIED), "Педагог записывает на мероприятие только себя");
        return;
    }
    snprintf(o->staff_id, sizeof o->staff_id, "%s", staff);
    if (events_set(o->req->route_item_id)) {
        size_t n = strlen(o->staff_id);
        if (strlen(o->req->route_item_id) > 80 || strncmp(o->req->route_item_id, o->staff_id, n) != 0 ||
            strncmp(o->req->route_item_id + n, "-i", 2) != 0) {
            s_register_invalid(o, "routeItemId", "Пункт маршрута этого сотрудника, например «07-s12-i3»");
            return;
        }
    }
    if (entity_store_get(svc->store, key, s_register_event, o) != 0)
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

/* ---------- cancel ---------- */

/* The cancel script in mode "cancel" (registration_id) or "fill" (registration_id NULL). */
static int s_cancel_script(events_service *svc, service_call *call, const char *region, const char *registration_id,
                           const char *event_id, int64_t expected_version, const char *mode, redis_link_reply_cb cb,
                           void *ud)
{
    char keys[6][EVENTS_KEY_MAX], expected[24], now[40], key_prefix[EVENTS_KEY_MAX];
    if (registration_id)
        s_key(keys[0], sizeof keys[0], region, "registration", registration_id);
    else
        s_key(keys[0], sizeof keys[0], region, "event", event_id);
    s_key(keys[1], sizeof keys[1], region, "event", event_id);
    s_key(keys[2], sizeof keys[2], region, "seats", event_id);
    s_key(keys[3], sizeof keys[3], region, "wait", event_id);
    entity_kind_claims_key(&events_registration_kind, region, EVENTS_ONCE_CLAIM, keys[4], sizeof keys[4]);
    entity_kind_stream_key(&events_registration_kind, region, keys[5], sizeof keys[5]);
    snprintf(expected, sizeof expected, "%lld", (long long)expected_version);
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    entity_kind_key_prefix(&events_registration_kind, region, key_prefix, sizeof key_prefix);
    size_t cancel_len = 0, promote_len = 0;
    uint8_t *cancel_prefix = s_event_prefix("registration.cancelled", call, &cancel_len);
    uint8_t *promote_prefix = s_event_prefix("registration.promoted", call, &promote_len);
    const char *argv[12] = {keys[0],
                            keys[1],
                            keys[2],
                            keys[3],
                            keys[4],
                            keys[5],
                            expected,
                            now,
                            (const char *)cancel_prefix,
                            (const char *)promote_prefix,
                            key_prefix,
                            mode};
    size_t argvlen[12];
    for (int i = 0; i < 12; i++)
        argvlen[i] = i == 8 ? cancel_len : i == 9 ? promote_len : strlen(argv[i]);
    int rc = redis_link_evalsha(svc->link, svc->cancel_script, 6, 12, argv, argvlen, cb, ud);
    free(cancel_prefix);
    free(promote_prefix);
    return rc;
}

typedef struct {
    events_service *svc;
    service_call *call;
    const Metodnet__CancelRegistrationRequest *req;
    char region[8];
    Metodnet__Registration *current;
} cancel_op;

static void s_cancel_free(cancel_op *o)
{
    if (o->current)
        protobuf_c_message_free_unpacked(&o->current->base, NULL);
    free(o);
}

static void s_cancel_fail(cancel_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_cancel_free(o);
}

static void s_cancelled(const redisReply *reply, const char *error, void *ud)
{
    cancel_op *o = ud;
    long long code = -1;
    if (error != NULL || !s_script_code(reply, &code)) {
        log_error(service_call_request_id(o->call), "отмена записи не удалась: %s",
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        s_cancel_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    char message[200];
    switch (code) {
    case 0: {
        const redisReply *d = reply->elements > 2 ? reply->element[2] : NULL;
        Metodnet__Registration *g = d && d->type == REDIS_REPLY_STRING
                                        ? metodnet__registration__unpack(NULL, d->len, (const uint8_t *)d->str)
                                        : NULL;
        if (g == NULL) {
            s_cancel_fail(o, EVENTS_CODE(INTERNAL), "Запись повреждена; сообщите администратору");
            return;
        }
        entity_engine engine = o->svc->engine;
        entity_kind_audit(&engine, o->call, &events_registration_kind, "update", g->id, o->region);
        service_call_reply(o->call, &g->base);
        metodnet__registration__free_unpacked(g, NULL);
        s_cancel_free(o);
        return;
    }
    case 1:
        s_cancel_fail(o, EVENTS_CODE(NOT_FOUND), events_registration_kind.not_found_ru);
        return;
    case 3:
        entity_version_mismatch_ru(message, sizeof message, atoll(s_reply_text(reply, 1)));
        s_cancel_fail(o, EVENTS_CODE(VERSION_MISMATCH), message);
        return;
    case 12:
        s_cancel_fail(o, EVENTS_CODE(CONFLICT), "Запись уже отменена");
        return;
    case 13:
        s_cancel_fail(o, EVENTS_CODE(CONFLICT), "Посещение уже отмечено: отменить запись нельзя");
        return;
    case 14:
        s_cancel_fail(o, EVENTS_CODE(CONFLICT), "Мероприятие завершено: отменить запись нельзя");
        return;
    default:
        log_error(service_call_request_id(o->call), "отмена записи: код %lld %s", code, s_reply_text(reply, 1));
        s_cancel_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
}

static void s_cancel_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                            void *ud)
{
    (void)version;
    cancel_op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_cancel_fail(o, EVENTS_CODE(NOT_FOUND), events_registration_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение записи не удалось: %s", error ? error : "?");
        s_cancel_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    o->current = metodnet__registration__unpack(NULL, len, data);
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (o->current == NULL || !entity_kind_allows(&events_registration_kind, caller, &o->current->base, SCOPE_READ)) {
        s_cancel_fail(o, EVENTS_CODE(NOT_FOUND), events_registration_kind.not_found_ru);
        return;
    }
    if (!entity_kind_allows(&events_registration_kind, caller, &o->current->base, SCOPE_WRITE)) {
        s_cancel_fail(o, EVENTS_CODE(PERMISSION_DENIED), events_denied_ru);
        return;
    }
    if (s_cancel_script(o->svc, o->call, o->region, o->current->id, o->current->event_id, o->req->expected_version,
                        "cancel", s_cancelled, o) != 0)
        s_cancel_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

void events_cancel_registration(events_service *svc, service_call *call, const ProtobufCMessage *request)
{
    cancel_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->req = (const Metodnet__CancelRegistrationRequest *)request;
    char key[EVENTS_KEY_MAX];
    if (o->req->expected_version < 0) {
        s_cancel_fail(o, EVENTS_CODE(INVALID_ARGUMENT), "Версия записи не может быть отрицательной");
        return;
    }
    if (!entity_kind_key(&events_registration_kind, o->req->id, key, sizeof key) ||
        !entity_region_of(o->req->id, o->region, sizeof o->region)) {
        s_cancel_fail(o, EVENTS_CODE(NOT_FOUND), events_registration_kind.not_found_ru);
        return;
    }
    if (entity_store_get(svc->store, key, s_cancel_loaded, o) != 0)
        s_cancel_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

/* ---------- attendance ---------- */

typedef struct {
    events_service *svc;
    service_call *call;
    const Metodnet__MarkAttendanceRequest *req;
    char region[8];
    Metodnet__Event *event;
    size_t next;                               /* the mark being done */
    Metodnet__Registration *current, *updated; /* of that mark */
    Metodnet__MarkAttendanceResponse response;
} attendance_op;

static void s_attendance_next(attendance_op *o);

static void s_attendance_free(attendance_op *o)
{
    if (o->event)
        protobuf_c_message_free_unpacked(&o->event->base, NULL);
    if (o->current)
        protobuf_c_message_free_unpacked(&o->current->base, NULL);
    if (o->updated)
        protobuf_c_message_free_unpacked(&o->updated->base, NULL);
    for (size_t i = 0; i < o->response.n_items; i++)
        protobuf_c_message_free_unpacked(&o->response.items[i]->base, NULL);
    free(o->response.items);
    for (size_t i = 0; i < o->response.n_failures; i++) {
        free(o->response.failures[i]->registration_id);
        free(o->response.failures[i]->message);
        free(o->response.failures[i]);
    }
    free(o->response.failures);
    free(o);
}

static void s_attendance_fail(attendance_op *o, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(o->call, code, message_ru);
    s_attendance_free(o);
}

/* The current mark could not be done: say why, go on. */
static void s_mark_failed(attendance_op *o, const char *message_ru)
{
    Metodnet__AttendanceFailure *f = xmalloc(sizeof *f);
    metodnet__attendance_failure__init(f);
    f->registration_id = xstrdup(o->req->marks[o->next]->registration_id);
    f->message = xstrdup(message_ru);
    o->response.failures = xrealloc(o->response.failures, sizeof *o->response.failures * (o->response.n_failures + 1));
    o->response.failures[o->response.n_failures++] = f;
    o->next++;
    s_attendance_next(o);
}

static void s_mark_done(attendance_op *o)
{
    o->response.items = xrealloc(o->response.items, sizeof *o->response.items * (o->response.n_items + 1));
    o->response.items[o->response.n_items++] = o->updated;
    o->updated = NULL;
    o->next++;
    s_attendance_next(o);
}

static void s_route_item_done(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    (void)response;
    attendance_op *o = ud;
    if (status->code == EVENTS_CODE(OK)) {
        o->response.route_items_done++;
        s_mark_done(o);
        return;
    }
    /* the attendance is stored; the route item stays as it was */
    char message[400];
    snprintf(message, sizeof message, "Посещение отмечено, но пункт маршрута %s не закрыт: %s",
             o->updated->route_item_id, status->message && *status->message ? status->message : "служба диагностики");
    log_error(service_call_request_id(o->call), "%s", message);
    protobuf_c_message_free_unpacked(&o->updated->base, NULL);
    o->updated = NULL;
    s_mark_failed(o, message);
}

static void s_mark_saved(entity_result result, int64_t detail, const char *error, void *ud)
{
    (void)detail;
    attendance_op *o = ud;
    protobuf_c_message_free_unpacked(&o->current->base, NULL);
    o->current = NULL;
    if (result != ENTITY_OK) {
        if (result == ENTITY_ERROR)
            log_error(service_call_request_id(o->call), "отметка посещения не записана: %s", error ? error : "?");
        protobuf_c_message_free_unpacked(&o->updated->base, NULL);
        o->updated = NULL;
        s_mark_failed(o, result == ENTITY_VERSION_MISMATCH ? "Запись только что изменилась: повторите отметку"
                                                           : events_unavailable_ru);
        return;
    }
    entity_engine engine = o->svc->engine;
    entity_kind_audit(&engine, o->call, &events_registration_kind, "update", o->updated->id, o->region);
    if (o->updated->status != METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED ||
        !events_set(o->updated->route_item_id)) {
        s_mark_done(o);
        return;
    }
    char evidence[700];
    snprintf(evidence, sizeof evidence, "Посещение мероприятия «%.500s» (%s)", o->event->title, o->event->id);
    Metodnet__SetRouteItemStatusRequest set = METODNET__SET_ROUTE_ITEM_STATUS_REQUEST__INIT;
    set.id = o->updated->staff_id;
    set.item_id = o->updated->route_item_id;
    set.status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    set.evidence = evidence;
    char day[11] = "";
    if (o->event->starts_at && strlen(o->event->starts_at) >= 10)
        memcpy(day, o->event->starts_at, 10);
    set.completed_on = day;
    service_client_request r = {.service = "diagnostics",
                                .method = "SetRouteItemStatus",
                                .request = &set.base,
                                .response = &metodnet__route__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(o->call),
                                .timeout_ms = 5000};
    if (service_client_call(o->svc->broker, &r, s_route_item_done, o) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = EVENTS_CODE(UNAVAILABLE);
        st.message = "служба диагностики недоступна";
        s_route_item_done(&st, NULL, o);
    }
}

static void s_mark_loaded(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                          void *ud)
{
    (void)version;
    attendance_op *o = ud;
    const Metodnet__AttendanceMark *mark = o->req->marks[o->next];
    if (result == ENTITY_NOT_FOUND) {
        s_mark_failed(o, events_registration_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение записи не удалось: %s", error ? error : "?");
        s_mark_failed(o, events_unavailable_ru);
        return;
    }
    o->current = metodnet__registration__unpack(NULL, len, data);
    if (o->current == NULL || !events_eq(o->current->event_id, o->event->id)) {
        if (o->current)
            protobuf_c_message_free_unpacked(&o->current->base, NULL);
        o->current = NULL;
        s_mark_failed(o, "Это запись на другое мероприятие");
        return;
    }
    Metodnet__RegistrationStatus st = o->current->status;
    if (st != METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_REGISTERED &&
        st != METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED &&
        st != METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ABSENT) {
        protobuf_c_message_free_unpacked(&o->current->base, NULL);
        o->current = NULL;
        s_mark_failed(o, st == METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_WAITLISTED
                             ? "Человек в листе ожидания: посещение не отмечается"
                             : "Запись отменена: посещение не отмечается");
        return;
    }
    o->updated = (Metodnet__Registration *)pbfield_clone(&o->current->base);
    o->updated->status = mark->attended ? METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED
                                        : METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ABSENT;
    o->updated->version = o->current->version + 1;
    char now[40];
    clock_rfc3339(clock_unix_ms(), now, sizeof now);
    events_replace(&o->updated->updated_at, now);
    if (entity_kind_save(o->svc->store, &events_registration_kind, o->call, &o->current->base, &o->updated->base,
                         s_mark_saved, o) != 0) {
        protobuf_c_message_free_unpacked(&o->current->base, NULL);
        protobuf_c_message_free_unpacked(&o->updated->base, NULL);
        o->current = o->updated = NULL;
        s_mark_failed(o, events_unavailable_ru);
    }
}

static void s_attendance_next(attendance_op *o)
{
    if (o->next >= o->req->n_marks) {
        service_call_reply(o->call, &o->response.base);
        s_attendance_free(o);
        return;
    }
    const Metodnet__AttendanceMark *mark = o->req->marks[o->next];
    char key[EVENTS_KEY_MAX], region[8];
    if (!entity_kind_key(&events_registration_kind, mark->registration_id, key, sizeof key) ||
        !entity_region_of(mark->registration_id, region, sizeof region) || strcmp(region, o->region) != 0) {
        s_mark_failed(o, events_registration_kind.not_found_ru);
        return;
    }
    if (entity_store_get(o->svc->store, key, s_mark_loaded, o) != 0)
        s_mark_failed(o, events_unavailable_ru);
}

static void s_attendance_event(entity_result result, const uint8_t *data, size_t len, int64_t version,
                               const char *error, void *ud)
{
    (void)version;
    attendance_op *o = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_attendance_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(o->call), "чтение мероприятия не удалось: %s", error ? error : "?");
        s_attendance_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    o->event = metodnet__event__unpack(NULL, len, data);
    const Metodnet__Principal *caller = service_call_caller(o->call);
    if (o->event == NULL || !entity_kind_allows(&events_event_kind, caller, &o->event->base, SCOPE_READ)) {
        s_attendance_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    events_home home = events_event_home(o->event);
    if (!events_home_writable(caller, &home)) {
        s_attendance_fail(o, EVENTS_CODE(PERMISSION_DENIED), "Посещение отмечает организатор мероприятия");
        return;
    }
    if (o->event->status != METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED &&
        o->event->status != METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED) {
        s_attendance_fail(o, EVENTS_CODE(CONFLICT),
                          "Посещение отмечается у опубликованного или завершённого мероприятия");
        return;
    }
    int64_t starts = 0;
    if (clock_parse_rfc3339(o->event->starts_at, &starts) && starts > clock_unix_ms()) {
        s_attendance_fail(o, EVENTS_CODE(CONFLICT), "Мероприятие ещё не началось: посещение отмечается после начала");
        return;
    }
    s_attendance_next(o);
}

void events_mark_attendance(events_service *svc, service_call *call, const ProtobufCMessage *request)
{
    attendance_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->req = (const Metodnet__MarkAttendanceRequest *)request;
    metodnet__mark_attendance_response__init(&o->response);
    char key[EVENTS_KEY_MAX];
    if (!entity_kind_key(&events_event_kind, o->req->id, key, sizeof key) ||
        !entity_region_of(o->req->id, o->region, sizeof o->region)) {
        s_attendance_fail(o, EVENTS_CODE(NOT_FOUND), events_event_kind.not_found_ru);
        return;
    }
    validation v;
    validation_init(&v);
    if (o->req->n_marks == 0)
        validation_add(&v, "marks", "Укажите отметки посещения: [{registrationId, attended}]");
    if (o->req->n_marks > EVENTS_MAX_MARKS)
        validation_add(&v, "marks", "Не более %d отметок за один запрос", EVENTS_MAX_MARKS);
    for (size_t i = 0; i < o->req->n_marks && i < EVENTS_MAX_MARKS; i++) {
        char field[48];
        snprintf(field, sizeof field, "marks[%zu].registrationId", i);
        if (validate_id(&v, field, o->req->marks[i]->registration_id, true))
            for (size_t j = 0; j < i; j++)
                if (events_eq(o->req->marks[i]->registration_id, o->req->marks[j]->registration_id)) {
                    validation_add(&v, field, "Запись указана дважды");
                    break;
                }
    }
    if (!validation_ok(&v)) {
        service_call_fail_validation(call, &v);
        validation_free(&v);
        s_attendance_free(o);
        return;
    }
    validation_free(&v);
    if (entity_store_get(svc->store, key, s_attendance_event, o) != 0)
        s_attendance_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
}

/* ---------- more seats: the waitlist promoted ---------- */

typedef struct {
    events_service *svc;
    service_call *call;
    Metodnet__Event *event; /* as stored by the update */
    char region[8];
} fill_op;

static void s_fill_free(fill_op *o)
{
    protobuf_c_message_free_unpacked(&o->event->base, NULL);
    free(o);
}

static void s_filled_reread(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                            void *ud)
{
    (void)version, (void)error;
    fill_op *o = ud;
    Metodnet__Event *now = result == ENTITY_OK ? metodnet__event__unpack(NULL, len, data) : NULL;
    service_call_reply(o->call, now ? &now->base : &o->event->base);
    if (now)
        metodnet__event__free_unpacked(now, NULL);
    s_fill_free(o);
}

static void s_filled(const redisReply *reply, const char *error, void *ud)
{
    fill_op *o = ud;
    long long code = -1;
    char key[EVENTS_KEY_MAX];
    if (error != NULL || !s_script_code(reply, &code) || code != 0) {
        /* the update is stored; the waitlist waits for the next cancellation */
        log_error(service_call_request_id(o->call), "лист ожидания %s не продвинут: %s", o->event->id,
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        service_call_reply(o->call, &o->event->base);
        s_fill_free(o);
        return;
    }
    /* promoted: the answer is the event with its new counts and version */
    if (s_reply_int(reply, 1) > 0 && entity_kind_key(&events_event_kind, o->event->id, key, sizeof key) &&
        entity_store_get(o->svc->store, key, s_filled_reread, o) == 0)
        return;
    service_call_reply(o->call, &o->event->base);
    s_fill_free(o);
}

static bool s_more_seats(const Metodnet__Event *cur, const Metodnet__Event *next)
{
    if (next->status != METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED || next->waitlisted_count == 0)
        return false;
    if ((cur->capacity != 0 && next->capacity == 0) || next->capacity > cur->capacity)
        return true;
    /* a quota raised, or dropped (that municipality is then bound by the capacity only) */
    for (size_t j = 0; j < cur->n_quotas; j++) {
        const Metodnet__MunicipalityQuota *now = NULL;
        for (size_t i = 0; i < next->n_quotas && now == NULL; i++)
            if (events_eq(cur->quotas[j]->municipality_id, next->quotas[i]->municipality_id))
                now = next->quotas[i];
        if (now == NULL || now->seats > cur->quotas[j]->seats)
            return true;
    }
    return false;
}

void events_event_stored(void *ud, service_call *call, const ProtobufCMessage *current, const ProtobufCMessage *next)
{
    events_service *svc = ud;
    const Metodnet__Event *cur = (const Metodnet__Event *)current, *nxt = (const Metodnet__Event *)next;
    char region[8];
    if (svc == NULL || cur == NULL || !s_more_seats(cur, nxt) || !entity_region_of(nxt->id, region, sizeof region)) {
        service_call_reply(call, next);
        return;
    }
    fill_op *o = xcalloc(1, sizeof *o);
    o->svc = svc;
    o->call = call;
    o->event = (Metodnet__Event *)pbfield_clone(next);
    snprintf(o->region, sizeof o->region, "%s", region);
    if (s_cancel_script(svc, call, region, NULL, nxt->id, 0, "fill", s_filled, o) != 0) {
        service_call_reply(call, next);
        s_fill_free(o);
    }
}
