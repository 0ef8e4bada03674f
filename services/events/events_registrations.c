/* events_registrations — the registration flows of the events service: register (the person, their
 * event and the audience checked, then the register script of events_scripts.c), cancel (the cancel
 * script: the first waitlisted who fits promoted in it), and the event kind's stored hook (an event given
 * more seats fills its waitlist at once). Attendance is in events_attendance.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "events_internal.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_service.pb-c.h"
#include "xalloc.h"

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
    if (error != NULL || !events_script_code(reply, &code)) {
        log_error(service_call_request_id(o->call), "запись на мероприятие не удалась: %s",
                  error                                       ? error
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "неожиданный ответ");
        s_register_fail(o, EVENTS_CODE(UNAVAILABLE), events_unavailable_ru);
        return;
    }
    switch (code) {
    case 0:
        o->reg->status = (Metodnet__RegistrationStatus)events_reply_int(reply, 1);
        o->reg->waitlist_position = (int32_t)events_reply_int(reply, 2);
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
        log_error(service_call_request_id(o->call), "запись на мероприятие: код %lld %s", code,
                  events_reply_text(reply, 1));
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
    uint8_t *prefix = events_event_prefix("registration.created", o->call, &prefix_len);

    char keys[6][EVENTS_KEY_MAX];
    events_key(keys[0], sizeof keys[0], o->region, "event", g->event_id);
    events_key(keys[1], sizeof keys[1], o->region, "registration", g->id);
    events_key(keys[2], sizeof keys[2], o->region, "seats", g->event_id);
    events_key(keys[3], sizeof keys[3], o->region, "wait", g->event_id);
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
    if (service_client_get_as_system(o->svc->broker, "registry", "GetStaff", o->staff_id,
                                     &metodnet__staff_member__descriptor, service_call_request_id(o->call),
                                     s_register_staff, o) != 0)
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
    if (error != NULL || !events_script_code(reply, &code)) {
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
        entity_version_mismatch_ru(message, sizeof message, atoll(events_reply_text(reply, 1)));
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
        log_error(service_call_request_id(o->call), "отмена записи: код %lld %s", code, events_reply_text(reply, 1));
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
    if (events_cancel_script(o->svc, o->call, o->region, o->current->id, o->current->event_id, o->req->expected_version,
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
    if (error != NULL || !events_script_code(reply, &code) || code != 0) {
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
    if (events_reply_int(reply, 1) > 0 && entity_kind_key(&events_event_kind, o->event->id, key, sizeof key) &&
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
    if (events_cancel_script(svc, call, region, NULL, nxt->id, 0, "fill", s_filled, o) != 0) {
        service_call_reply(call, next);
        s_fill_free(o);
    }
}
