/* mentoring — the mentoring service: its kinds (mentoring_kinds.c) served by the one entity flow of
 * common/entity_kind.h, the flows that ask the registry first (mentoring_pairs.c), matching and bulk
 * assignment (mentoring_match.c). What is the service's own here: the method table and the CSV export
 * sink (one column per scalar field of the record, as the registry's generic export).
 */
#include "mentoring_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dictionary.h"
#include "pbfield.h"
#include "pbjson.h"
#include "registry_import.pb-c.h"
#include "xalloc.h"

#define EXPORT_MAX_ROWS 100000

/* ---------- the CSV export sink ---------- */

typedef struct {
    service_call *call;
    const entity_kind *kind;
    csv_writer *w;
    int rows;
    ProtobufCMessage **kept; /* the engine reads the page's entities after add(): freed at the end */
    size_t n_kept;
} csv_sink;

static void s_sink_free(csv_sink *s)
{
    for (size_t i = 0; i < s->n_kept; i++)
        protobuf_c_message_free_unpacked(s->kept[i], NULL);
    free(s->kept);
    csv_writer_destroy(&s->w);
    free(s);
}

static void s_cell(csv_writer *w, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;
    char buf[64];
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        if (f->type != PROTOBUF_C_TYPE_STRING) {
            snprintf(buf, sizeof buf, "%zu", n);
            csv_writer_field(w, buf);
            return;
        }
        char *const *items = *(char *const *const *)(base + f->offset);
        size_t len = 1;
        for (size_t i = 0; i < n; i++)
            len += strlen(items[i]) + 2;
        char *joined = xcalloc(1, len);
        for (size_t i = 0; i < n; i++) {
            if (i)
                strcat(joined, ", ");
            strcat(joined, items[i]);
        }
        csv_writer_field(w, joined);
        free(joined);
        return;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        csv_writer_field(w, *(char *const *)(base + f->offset));
        return;
    case PROTOBUF_C_TYPE_BOOL:
        csv_writer_field(w, *(const protobuf_c_boolean *)(base + f->offset) ? "да" : "нет");
        return;
    case PROTOBUF_C_TYPE_INT32:
        snprintf(buf, sizeof buf, "%d", *(const int32_t *)(base + f->offset));
        break;
    case PROTOBUF_C_TYPE_INT64:
        snprintf(buf, sizeof buf, "%lld", (long long)*(const int64_t *)(base + f->offset));
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(buf, sizeof buf, "%.1f", *(const double *)(base + f->offset));
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const char *word = pbjson_enum_word(f->descriptor, *(const int *)(base + f->offset));
        csv_writer_field(w, word ? word : "");
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
        const char *text = sub ? pbfield_string(sub, "result") : NULL;
        csv_writer_field(w, text ? text : "");
        return;
    }
    default:
        buf[0] = '\0';
    }
    csv_writer_field(w, buf);
}

static void *s_export_open(service_call *call, entity_store *store, const entity_kind *kind)
{
    (void)store;
    csv_sink *s = xcalloc(1, sizeof *s);
    s->call = call;
    s->kind = kind;
    s->w = csv_writer_new();
    if (!s->w)
        abort();
    const ProtobufCMessageDescriptor *d = kind->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        char name[64];
        csv_writer_field(s->w, pbjson_json_name(&d->fields[i], name, sizeof name));
    }
    csv_writer_end_row(s->w);
    return s;
}

static bool s_export_add(void *sink, ProtobufCMessage *entity)
{
    csv_sink *s = sink;
    bool ok = s->rows < EXPORT_MAX_ROWS;
    if (ok) {
        const ProtobufCMessageDescriptor *d = s->kind->descriptor;
        for (unsigned i = 0; i < d->n_fields; i++)
            s_cell(s->w, entity, &d->fields[i]);
        csv_writer_end_row(s->w);
        s->rows++;
    }
    s->kept = xrealloc(s->kept, (s->n_kept + 1) * sizeof *s->kept);
    s->kept[s->n_kept++] = entity;
    return ok;
}

static void s_export_finish(void *sink)
{
    csv_sink *s = sink;
    Metodnet__CsvFile file = METODNET__CSV_FILE__INIT;
    size_t len;
    const char *data = csv_writer_data(s->w, &len);
    char filename[64];
    snprintf(filename, sizeof filename, "%s.csv", entity_kind_audit_name(s->kind));
    file.csv.data = (uint8_t *)data;
    file.csv.len = len;
    file.filename = filename;
    file.rows = s->rows;
    service_call_reply(s->call, &file.base);
    s_sink_free(s);
}

static void s_export_fail(void *sink, Metodnet__StatusCode code, const char *message_ru)
{
    csv_sink *s = sink;
    service_call_fail(s->call, code, message_ru);
    s_sink_free(s);
}

static const entity_export_sink s_csv_export = {
    .open = s_export_open,
    .add = s_export_add,
    .finish = s_export_finish,
    .fail = s_export_fail,
    .max_rows = EXPORT_MAX_ROWS,
};

/* ---------- the method table ---------- */

#define ENGINE(ud) (&((mentoring *)(ud))->engine)

static void s_get_programme(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_get(ENGINE(ud), c, r, &mnt_programme_kind, "id");
}
static void s_update_programme(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_update(ENGINE(ud), c, r, &mnt_programme_kind, "id");
}
static void s_delete_programme(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_delete(ENGINE(ud), c, r, &mnt_programme_kind, "id");
}
static void s_list_programmes(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_programme_kind, NULL);
}
static void s_export_programmes(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_programme_kind, &s_csv_export);
}
static void s_list_mentors(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_mentor_kind, NULL);
}
static void s_export_mentors(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_mentor_kind, &s_csv_export);
}
static void s_get_pair(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_get(ENGINE(ud), c, r, &mnt_pair_kind, "id");
}
static void s_pair_transition(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_transition(ENGINE(ud), c, r, &mnt_pair_kind, "id");
}
static void s_list_pairs(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_pair_kind, NULL);
}
static void s_export_pairs(service_call *c, const ProtobufCMessage *r, void *ud)
{
    entity_list(ENGINE(ud), c, r, &mnt_pair_kind, &s_csv_export);
}

static const service_handler_entry s_handlers[] = {
    {"CreateSupportProgramme", mnt_create_programme},
    {"GetSupportProgramme", s_get_programme},
    {"UpdateSupportProgramme", s_update_programme},
    {"DeleteSupportProgramme", s_delete_programme},
    {"ListSupportProgrammes", s_list_programmes},
    {"ExportSupportProgrammes", s_export_programmes},
    {"CreateMentor", mnt_create_mentor},
    {"GetMentor", mnt_get_mentor},
    {"UpdateMentor", mnt_update_mentor},
    {"ListMentors", s_list_mentors},
    {"ExportMentors", s_export_mentors},
    {"CreatePair", mnt_create_pair},
    {"GetPair", s_get_pair},
    {"UpdatePair", mnt_update_pair},
    {"ActivatePair", s_pair_transition},
    {"CompletePair", s_pair_transition},
    {"CancelPair", s_pair_transition},
    {"LogMeeting", s_pair_transition},
    {"ListPairs", s_list_pairs},
    {"ListStaffPairs", s_list_pairs},
    {"ExportPairs", s_export_pairs},
    {"Match", mnt_match},
    {"Assign", mnt_assign},
};

static const service_methods s_service_methods = {&metodnet__mentoring__descriptor, s_handlers,
                                                  sizeof s_handlers / sizeof s_handlers[0]};

const service_methods *mentoring_methods(void)
{
    return &s_service_methods;
}

static void s_free(mentoring *m)
{
    service_client_destroy(&m->client);
    entity_store_destroy(&m->store);
    audit_destroy(&m->audit);
    free(m);
}

mentoring *mentoring_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link)
{
    mentoring *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->loop = loop;
    m->store = entity_store_new(link);
    m->audit = audit_new(link, "mentoring");
    m->client = service_client_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve);
    m->engine = (entity_engine){.store = m->store, .audit = m->audit, .claims = NULL, .ud = m};
    if (m->store == NULL || m->audit == NULL || m->client == NULL) {
        s_free(m);
        return NULL;
    }
    m->worker = service_worker_new(loop, zmq_context, cfg->broker_endpoint, cfg->broker_curve, "mentoring",
                                   cfg->concurrency, cfg->heartbeat, mentoring_methods(), m);
    if (m->worker == NULL) {
        s_free(m);
        return NULL;
    }
    return m;
}

static void s_release(void *service)
{
    s_free(service);
}

void mentoring_shutdown(mentoring *m, void (*done)(void *ud), void *ud)
{
    service_worker_stop_service(m->worker, 3000, s_release, m, done, ud);
}
