/* events_csv — the CSV sheets of the events service for Excel (the export sink of entity_list): plans,
 * events, and the participants of an event (ФИО from the registry through the broker, ResolveStaff,
 * and a «Сертификат» column: «да» for those who attended). Dates as DD.MM.YYYY ЧЧ:ММ, enums as their
 * API words, one row per record in the list's order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dictionary.h"
#include "events_internal.h"
#include "log.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_service.pb-c.h"
#include "registry_import.pb-c.h"
#include "xalloc.h"

#define EVENTS_EXPORT_MAX_ROWS 20000

/* The service whose broker client resolves names (one service per process). */
static events_service *s_service;

void events_csv_bind(events_service *svc)
{
    s_service = svc;
}

typedef struct {
    service_call *call;
    const entity_kind *kind;
    ProtobufCMessage **items;
    size_t n, cap;
    Metodnet__ResolveStaffResponse *names;
} sheet;

static void *s_open(service_call *call, entity_store *store, const entity_kind *kind)
{
    (void)store;
    sheet *s = xcalloc(1, sizeof *s);
    s->call = call;
    s->kind = kind;
    return s;
}

static bool s_add(void *sink, ProtobufCMessage *entity)
{
    sheet *s = sink;
    if (s->n >= EVENTS_EXPORT_MAX_ROWS) {
        protobuf_c_message_free_unpacked(entity, NULL);
        return false;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->items = xrealloc(s->items, s->cap * sizeof *s->items);
    }
    s->items[s->n++] = entity;
    return true;
}

static void s_free(sheet *s)
{
    for (size_t i = 0; i < s->n; i++)
        protobuf_c_message_free_unpacked(s->items[i], NULL);
    free(s->items);
    if (s->names)
        protobuf_c_message_free_unpacked(&s->names->base, NULL);
    free(s);
}

static void s_fail(void *sink, Metodnet__StatusCode code, const char *message_ru)
{
    sheet *s = sink;
    service_call_fail(s->call, code, message_ru);
    s_free(s);
}

/* "2026-10-15T10:00:00+03:00" → "15.10.2026 10:00"; "2026-10-15" → "15.10.2026". */
static const char *s_when(const char *iso, char *out, size_t size)
{
    int y, m, d, hh, mm;
    if (iso && sscanf(iso, "%4d-%2d-%2dT%2d:%2d", &y, &m, &d, &hh, &mm) == 5)
        snprintf(out, size, "%02d.%02d.%04d %02d:%02d", d, m, y, hh, mm);
    else if (iso && strlen(iso) == 10 && sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) == 3)
        snprintf(out, size, "%02d.%02d.%04d", d, m, y);
    else
        snprintf(out, size, "%s", iso ? iso : "");
    return out;
}

static const char *s_int(long long value, char *out, size_t size)
{
    snprintf(out, size, "%lld", value);
    return out;
}

static const char *s_word(const ProtobufCEnumDescriptor *desc, int value)
{
    const char *w = pbjson_enum_word(desc, value);
    return w ? w : "";
}

static void s_row(csv_writer *w, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_writer_field(w, cells[i]);
    csv_writer_end_row(w);
}

static void s_joined(char *out, size_t size, char *const *items, size_t n, bool subjects)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        const char *name = subjects ? dictionary_subject_name(items[i]) : NULL;
        int k = snprintf(out + used, size - used, "%s%s", i ? ", " : "", name ? name : items[i]);
        if (k < 0)
            break;
        used += (size_t)k < size - used ? (size_t)k : size - used - 1;
    }
}

static void s_plans(csv_writer *w, sheet *s)
{
    static const char *const header[] = {"Идентификатор", "Название",    "Учебный год", "Уровень",
                                         "Муниципалитет", "Организация", "Статус",      "Номер приказа",
                                         "Дата приказа",  "Изменений",   "Версия"};
    s_row(w, header, sizeof header / sizeof header[0]);
    for (size_t i = 0; i < s->n; i++) {
        const Metodnet__EventPlan *p = (const Metodnet__EventPlan *)s->items[i];
        char year[16], date[32], revisions[16], version[24];
        snprintf(year, sizeof year, "%d/%02d", p->year, (p->year + 1) % 100);
        const char *cells[] = {p->id,
                               p->title,
                               year,
                               s_word(&metodnet__home_level__descriptor, p->level),
                               p->municipality_id,
                               p->organization_id,
                               s_word(&metodnet__plan_status__descriptor, p->status),
                               p->order_number,
                               s_when(p->order_date, date, sizeof date),
                               s_int((long long)p->n_revisions, revisions, sizeof revisions),
                               s_int(p->version, version, sizeof version)};
        s_row(w, cells, sizeof cells / sizeof cells[0]);
    }
}

static void s_events(csv_writer *w, sheet *s)
{
    static const char *const header[] = {"Идентификатор",    "Название", "Вид",           "Уровень",   "Муниципалитет",
                                         "Организатор",      "План",     "Начало",        "Окончание", "Место",
                                         "Ссылка",           "Предметы", "Компетенции",   "Мест",      "Записано",
                                         "В листе ожидания", "Статус",   "Причина отмены"};
    s_row(w, header, sizeof header / sizeof header[0]);
    for (size_t i = 0; i < s->n; i++) {
        const Metodnet__Event *e = (const Metodnet__Event *)s->items[i];
        char starts[32], ends[32], subjects[1024], competences[1024], cap[16], reg[16], wait[16];
        s_joined(subjects, sizeof subjects, e->audience ? e->audience->subjects : NULL,
                 e->audience ? e->audience->n_subjects : 0, true);
        s_joined(competences, sizeof competences, e->competences, e->n_competences, false);
        const char *cells[] = {e->id,
                               e->title,
                               s_word(&metodnet__event_type__descriptor, e->type),
                               s_word(&metodnet__home_level__descriptor, e->level),
                               e->municipality_id,
                               e->organizer_organization_id,
                               e->plan_id,
                               s_when(e->starts_at, starts, sizeof starts),
                               s_when(e->ends_at, ends, sizeof ends),
                               e->venue,
                               e->online_url,
                               subjects,
                               competences,
                               e->capacity ? s_int(e->capacity, cap, sizeof cap) : "без ограничения",
                               s_int(e->registered_count, reg, sizeof reg),
                               s_int(e->waitlisted_count, wait, sizeof wait),
                               s_word(&metodnet__event_status__descriptor, e->status),
                               e->cancel_reason};
        s_row(w, cells, sizeof cells / sizeof cells[0]);
    }
}

static const Metodnet__StaffMember *s_person(const sheet *s, const char *id)
{
    for (size_t i = 0; s->names && i < s->names->n_items; i++)
        if (events_eq(s->names->items[i]->id, id))
            return s->names->items[i];
    return NULL;
}

static void s_participants(csv_writer *w, sheet *s)
{
    static const char *const header[] = {"Запись",      "Мероприятие",   "Сотрудник", "ФИО",
                                         "Организация", "Муниципалитет", "Статус",    "Место в листе ожидания",
                                         "Записан",     "Сертификат"};
    s_row(w, header, sizeof header / sizeof header[0]);
    for (size_t i = 0; i < s->n; i++) {
        const Metodnet__Registration *g = (const Metodnet__Registration *)s->items[i];
        const Metodnet__StaffMember *p = s_person(s, g->staff_id);
        char name[400] = "", position[16] = "", when[32];
        if (p)
            snprintf(name, sizeof name, "%s %s%s%s", p->last_name, p->first_name, *p->middle_name ? " " : "",
                     p->middle_name);
        if (g->waitlist_position)
            s_int(g->waitlist_position, position, sizeof position);
        bool attended = g->status == METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED;
        const char *cells[] = {g->id,
                               g->event_id,
                               g->staff_id,
                               name,
                               g->organization_id,
                               g->municipality_id,
                               s_word(&metodnet__registration_status__descriptor, g->status),
                               position,
                               s_when(g->created_at, when, sizeof when),
                               attended ? "да" : "нет"};
        s_row(w, cells, sizeof cells / sizeof cells[0]);
    }
}

static void s_write(sheet *s)
{
    csv_writer *w = csv_writer_new();
    if (!w)
        abort();
    const char *filename = "events.csv";
    if (s->kind == &events_plan_kind) {
        s_plans(w, s);
        filename = "event-plans.csv";
    } else if (s->kind == &events_event_kind) {
        s_events(w, s);
    } else {
        s_participants(w, s);
        filename = "participants.csv";
    }
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    size_t len;
    file.csv.data = (uint8_t *)csv_writer_data(w, &len);
    file.csv.len = len;
    file.filename = (char *)filename;
    file.rows = (int32_t)s->n;
    service_call_reply(s->call, &file.base);
    csv_writer_destroy(&w);
    s_free(s);
}

static void s_names(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    sheet *s = ud;
    if (status->code != EVENTS_CODE(OK)) {
        log_error(service_call_request_id(s->call), "имена участников из реестра не получены: %s",
                  status->message ? status->message : "");
        s_fail(s, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
        return;
    }
    s->names = (Metodnet__ResolveStaffResponse *)pbfield_clone(response);
    s_write(s);
}

static void s_finish(void *sink)
{
    sheet *s = sink;
    if (s->kind != &events_registration_kind || s->n == 0 || s_service == NULL) {
        s_write(s);
        return;
    }
    /* the people's names, at most 1000 per question: the first 1000 participants are named */
    size_t n = s->n < 1000 ? s->n : 1000;
    char **refs = xmalloc(sizeof *refs * n);
    for (size_t i = 0; i < n; i++)
        refs[i] = ((Metodnet__Registration *)s->items[i])->staff_id;
    Metodnet__ResolveStaffRequest resolve = METODNET__RESOLVE_STAFF_REQUEST__INIT;
    resolve.region_id = ((Metodnet__Registration *)s->items[0])->region_id;
    resolve.refs = refs;
    resolve.n_refs = n;
    service_client_request r = {.service = "registry",
                                .method = "ResolveStaff",
                                .request = &resolve.base,
                                .response = &metodnet__resolve_staff_response__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(s->call),
                                .timeout_ms = 10000};
    int rc = service_client_call(s_service->broker, &r, s_names, s);
    free(refs);
    if (rc != 0)
        s_fail(s, EVENTS_CODE(UNAVAILABLE), "Реестр временно недоступен, повторите запрос позже");
}

const entity_export_sink events_csv_export = {
    .open = s_open,
    .add = s_add,
    .finish = s_finish,
    .fail = s_fail,
    .max_rows = EVENTS_EXPORT_MAX_ROWS,
};
