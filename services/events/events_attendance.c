/* events_attendance — the organizer's bulk attendance: each mark one entity_kind_save of the registration
 * (registered | attended | absent → attended | absent); an attended registration with a route item marks
 * the item done in diagnostics through the broker (SetRouteItemStatus). What could not be marked is
 * answered in failures, the rest goes on.
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
#include "xalloc.h"

/* ---------- attendance ---------- */

typedef struct {
    events_service *svc;
    service_call *call;
    const Metodnet__MarkAttendanceRequest *req;
    char region[8];
    Metodnet__Event *event;
    size_t next;                               /* the mark being done */
    Metodnet__Registration *current, *updated; /* of that mark */
    bool unchanged;                            /* that mark was made so before */
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
    if (o->unchanged && status->code == EVENTS_CODE(CONFLICT)) { /* a repeated mark: the item is closed */
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

static void s_close_route_item(attendance_op *o);

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
    s_close_route_item(o);
}

/* An attended registration naming a route item: the item done in diagnostics. */
static void s_close_route_item(attendance_op *o)
{
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
    Metodnet__RegistrationStatus wanted = mark->attended ? METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED
                                                         : METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ABSENT;
    o->updated = (Metodnet__Registration *)pbfield_clone(&o->current->base);
    o->unchanged = st == wanted;
    if (o->unchanged) { /* marked so already (a repeated request): nothing to store, the route item again */
        protobuf_c_message_free_unpacked(&o->current->base, NULL);
        o->current = NULL;
        s_close_route_item(o);
        return;
    }
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
