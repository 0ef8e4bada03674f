/* registry_csv — the descriptor-driven CSV sheet of a registry entity (see registry_csv.h). */
#include "registry_csv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "dictionary.h"
#include "pbjson.h"
#include "xalloc.h"

typedef struct {
    const char *message; /* short name of the entity message; NULL = any entity */
    const char *field;   /* proto field name */
    const char *title;   /* Russian column title */
} s_title;

static const s_title s_titles[] = {
    /* associations */
    {"Association", "leader_staff_id", "Руководитель"},
    {"Association", "network", "Сетевое сообщество"},
    {"Association", "subjects", "Предметы"},
    {"Association", "founded_order", "Решение о создании"},
    {"Association", "founded_on", "Дата создания"},
    {"Association", "closed_on", "Дата закрытия"},
    {"Association", "years", "Планы и отчёты"},
    {NULL, "external_members", "Внешние участники"},
    /* help requests and consultations */
    {"HelpRequest", "topic", "Тема запроса"},
    {"HelpRequest", "urgency", "Срочность"},
    {"HelpRequest", "status", "Статус"},
    {"HelpRequest", "answers", "Ответы"},
    {"HelpRequest", "closed_at", "Закрыт"},
    {"Consultation", "asker", "Кто обратился"},
    {"Consultation", "asker_staff_id", "Обратившийся работник"},
    {"Consultation", "asker_name", "Обратившийся"},
    {"Consultation", "topic", "Тема"},
    {"Consultation", "form", "Форма"},
    {"Consultation", "consultant_staff_id", "Консультант (работник)"},
    {"Consultation", "consultant_name", "Консультант"},
    {"Consultation", "held_on", "Дата"},
    {"Consultation", "duration_minutes", "Минут"},
    {"Consultation", "summary", "Итог"},
    {"Consultation", "help_request_id", "Запрос"},
    {"CouncilDecision", "council_id", "Совет"},
    {"CouncilDecision", "meeting_id", "Заседание"},
    {"CouncilDecision", "text", "Текст"},
    {"CouncilDecision", "addressee", "Адресат"},
    {"CouncilDecision", "addressee_organization_id", "Организация-адресат"},
    {"CouncilDecision", "due_on", "Срок"},
    {"CouncilDecision", "status", "Исполнение"},
    {"CouncilDecision", "execution_note", "Как исполнено"},
    {"CouncilDecision", "done_on", "Дата исполнения"},
    /* memberships */
    {"AssociationMembership", "association_id", "Объединение"},
    {"AssociationMembership", "joined_on", "Дата вступления"},
    {"AssociationMembership", "left_on", "Дата выхода"},
    /* councils */
    {"Council", "chair_staff_id", "Председатель"},
    {"Council", "deputy_staff_id", "Заместитель председателя"},
    {"Council", "secretary_staff_id", "Секретарь"},
    {"Council", "member_staff_ids", "Члены совета"},
    {"Council", "approved_by", "Состав утверждён"},
    {"Council", "years", "Планы работы"},
    /* council meetings */
    {"CouncilMeeting", "council_id", "Совет"},
    {"CouncilMeeting", "held_on", "Дата заседания"},
    {"CouncilMeeting", "agenda", "Повестка"},
    {"CouncilMeeting", "attendee_staff_ids", "Присутствовали"},
    {"CouncilMeeting", "invited", "Приглашённые"},
    {"CouncilMeeting", "decisions", "Решения"},
    {"CouncilMeeting", "minutes_number", "Номер протокола"},
    {"CouncilMeeting", "status", "Состояние"},
    {"CouncilMeeting", "documents", "Документы"},
    {"CouncilMeeting", "members_present", "Присутствовало членов"},
    {"CouncilMeeting", "members_total", "Состав совета"},
    {"CouncilMeeting", "quorum", "Кворум"},
    {"CouncilMeeting", "place", "Место проведения"},
    {"CouncilMeeting", "chair_name", "Подписал председатель"},
    {"CouncilMeeting", "secretary_name", "Подписал секретарь"},
    {"CouncilMeeting", "signed_on", "Дата подписания"},
    /* programmes */
    {"Programme", "title", "Название программы"},
    {"Programme", "provider", "Организатор обучения"},
    {"Programme", "format", "Форма обучения"},
    {"Programme", "federal_registry", "В ФР ДПП"},
    {"Programme", "tags", "Теги"},
    {"Programme", "url", "Ссылка"},
    /* qualification records */
    {"QualificationRecord", "programme_id", "Программа"},
    {"QualificationRecord", "programme_title", "Название программы"},
    {"QualificationRecord", "completed_on", "Дата окончания"},
    {"QualificationRecord", "document_number", "Номер удостоверения"},
    {"QualificationRecord", "source", "Источник"},
    {"QualificationRecord", "route_item_id", "Пункт маршрута"},
    {"QualificationRecord", "provider", "Организатор обучения"},
    {"QualificationRecord", "started_on", "Дата начала"},
    /* practices */
    {"Practice", "title", "Название практики"},
    {"Practice", "author_staff_id", "Автор"},
    {"Practice", "attachments", "Материалы (ссылки)"},
    {"Practice", "status", "Статус"},
    {"Practice", "reviews", "Экспертиза"},
    {"Practice", "published_at", "Опубликована"},
    /* every entity */
    {NULL, "id", "Идентификатор"},
    {NULL, "region_id", "Регион"},
    {NULL, "municipality_id", "Муниципалитет"},
    {NULL, "organization_id", "Организация"},
    {NULL, "organization_ids", "Организации"},
    {NULL, "municipality_ids", "Муниципалитеты"},
    {NULL, "staff_id", "Сотрудник"},
    {NULL, "name", "Наименование"},
    {NULL, "kind", "Вид"},
    {NULL, "level", "Уровень"},
    {NULL, "subject", "Предмет"},
    {NULL, "theme", "Тема"},
    {NULL, "description", "Описание"},
    {NULL, "competences", "Компетенции"},
    {NULL, "hours", "Часы"},
    {NULL, "version", "Версия"},
    {NULL, "created_at", "Создано"},
    {NULL, "updated_at", "Изменено"},
};

static const struct {
    const char *message;
    const char *filename;
} s_filenames[] = {
    {"Municipality", "municipalities.csv"},
    {"Association", "associations.csv"},
    {"AssociationMembership", "memberships.csv"},
    {"Council", "councils.csv"},
    {"CouncilMeeting", "council-meetings.csv"},
    {"Programme", "programmes.csv"},
    {"QualificationRecord", "qualification-records.csv"},
    {"HelpRequest", "help-requests.csv"},
    {"Consultation", "consultations.csv"},
    {"CouncilDecision", "council-decisions.csv"},
    {"Practice", "practices.csv"},
};

const char *registry_csv_title(const ProtobufCMessageDescriptor *desc, const char *field)
{
    for (size_t i = 0; i < sizeof s_titles / sizeof s_titles[0]; i++)
        if ((s_titles[i].message == NULL || strcmp(s_titles[i].message, desc->short_name) == 0) &&
            strcmp(s_titles[i].field, field) == 0)
            return s_titles[i].title;
    return NULL;
}

const char *registry_csv_filename(const ProtobufCMessageDescriptor *desc)
{
    for (size_t i = 0; i < sizeof s_filenames / sizeof s_filenames[0]; i++)
        if (strcmp(s_filenames[i].message, desc->short_name) == 0)
            return s_filenames[i].filename;
    return "export.csv";
}

void registry_csv_header(csv_writer *w, const ProtobufCMessageDescriptor *desc)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *title = registry_csv_title(desc, f->name);
        char json[128];
        csv_writer_field(w, title ? title : pbjson_json_name(f, json, sizeof json));
    }
    csv_writer_end_row(w);
}

/* A growing cell. */
typedef struct {
    char *data;
    size_t len, cap;
} s_cell;

static void s_put(s_cell *c, const char *text)
{
    size_t n = strlen(text);
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        c->data = xrealloc(c->data, c->cap);
    }
    memcpy(c->data + c->len, text, n + 1);
    c->len += n;
}

static bool s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One value of field at p (a scalar, not a message) appended to c. */
static void s_value(s_cell *c, const ProtobufCFieldDescriptor *f, const void *p)
{
    char text[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(text, sizeof text, "%" PRId32, *(const int32_t *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(text, sizeof text, "%" PRIu32, *(const uint32_t *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(text, sizeof text, "%" PRId64, *(const int64_t *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(text, sizeof text, "%" PRIu64, *(const uint64_t *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(text, sizeof text, "%g", (double)*(const float *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(text, sizeof text, "%g", *(const double *)p);
        s_put(c, text);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        s_put(c, *(const protobuf_c_boolean *)p ? "да" : "нет");
        return;
    case PROTOBUF_C_TYPE_ENUM: {
        int value = *(const int *)p;
        const char *word = pbjson_enum_word(f->descriptor, value);
        if (word) {
            s_put(c, word);
        } else if (value != 0) {
            snprintf(text, sizeof text, "%d", value);
            s_put(c, text);
        }
        return;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (s == NULL)
            return;
        int y, m, d;
        char tail;
        if ((s_ends_with(f->name, "_on") || s_ends_with(f->name, "_date")) &&
            sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(s) == 10) {
            snprintf(text, sizeof text, "%02d.%02d.%04d", d, m, y);
            s_put(c, text);
        } else if (strcmp(f->name, "subject") == 0 || strcmp(f->name, "subjects") == 0) {
            const char *name = dictionary_subject_name(s);
            s_put(c, name ? name : s);
        } else {
            s_put(c, s);
        }
        return;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        /* no registry entity has bytes; their size keeps the column honest */
        snprintf(text, sizeof text, "%zu байт", ((const ProtobufCBinaryData *)p)->len);
        s_put(c, text);
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return;
    }
}

static void s_message_json(s_cell *c, const ProtobufCFieldDescriptor *f, const void *field, size_t n)
{
    json_t *json;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (n == 0)
            return;
        json = json_array();
        ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)field;
        for (size_t i = 0; json && i < n; i++) {
            json_t *item = items[i] ? pbjson_to_json(items[i]) : NULL;
            if (item == NULL || json_array_append_new(json, item) != 0)
                abort();
        }
    } else {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)field;
        if (m == NULL)
            return;
        json = pbjson_to_json(m);
    }
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (text == NULL)
        abort();
    s_put(c, text);
    free(text);
}

void registry_csv_row(csv_writer *w, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    s_cell cell = {NULL, 0, 0};
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *field = (const char *)msg + f->offset;
        cell.len = 0;
        s_put(&cell, "");
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                s_message_json(&cell, f, field, n);
            } else {
                const char *items = *(const char *const *)field;
                size_t size = pbjson_value_size(f->type);
                for (size_t j = 0; j < n; j++) {
                    if (j)
                        s_put(&cell, ", ");
                    s_value(&cell, f, items + j * size);
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            s_message_json(&cell, f, field, 1);
        } else {
            s_value(&cell, f, field);
        }
        csv_writer_field(w, cell.data);
    }
    csv_writer_end_row(w);
    free(cell.data);
}
