/* registry_resolve — ResolveStaff (see registry_resolve.h): refs shaped like staff ids of the region
 * are taken as ids, every ref is also looked up as an external id (one HMGET on the claims hash), then
 * each distinct id is read (at most S_WINDOW reads in flight) and kept when the caller may read it. */
#include "registry_resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.pb-c.h"
#include "registry_kinds.h"
#include "xalloc.h"

#define S_WINDOW 32

typedef struct {
    service_call *call;
    entity_store *store;
    char region[8];
    char **ids; /* distinct staff ids to read, in the order of refs */
    size_t n_ids;
    Metodnet__StaffMember **found; /* per id; NULL = absent or not visible */
    size_t next, pending;
    bool failed;
} resolve_job;

typedef struct {
    resolve_job *job;
    size_t index;
} resolve_read;

static void s_job_free(resolve_job *job)
{
    for (size_t i = 0; i < job->n_ids; i++) {
        free(job->ids[i]);
        if (job->found[i])
            metodnet__staff_member__free_unpacked(job->found[i], NULL);
    }
    free(job->ids);
    free(job->found);
    free(job);
}

static void s_add_id(resolve_job *job, const char *id)
{
    for (size_t i = 0; i < job->n_ids; i++)
        if (strcmp(job->ids[i], id) == 0)
            return;
    job->ids[job->n_ids] = xstrdup(id);
    job->n_ids++;
}

static void s_finish(resolve_job *job)
{
    if (job->failed) {
        service_call_fail(job->call, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE,
                          "Хранилище реестра временно недоступно, повторите позже");
        s_job_free(job);
        return;
    }
    Metodnet__ResolveStaffResponse response = METODNET__RESOLVE_STAFF_RESPONSE__INIT;
    Metodnet__StaffMember **items = xcalloc(job->n_ids ? job->n_ids : 1, sizeof *items);
    for (size_t i = 0; i < job->n_ids; i++)
        if (job->found[i])
            items[response.n_items++] = job->found[i];
    response.items = items;
    service_call_reply(job->call, &response.base);
    free(items);
    s_job_free(job);
}

static void s_pump(resolve_job *job);

static void s_read_done(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                        void *ud)
{
    (void)version;
    resolve_read *r = ud;
    resolve_job *job = r->job;
    if (result == ENTITY_OK) {
        Metodnet__StaffMember *s = metodnet__staff_member__unpack(NULL, len, data);
        if (s && registry_allows(&registry_staff_kind, service_call_caller(job->call), &s->base, SCOPE_READ))
            job->found[r->index] = s;
        else if (s)
            metodnet__staff_member__free_unpacked(s, NULL);
    } else if (result != ENTITY_NOT_FOUND) {
        log_error(service_call_request_id(job->call), "ResolveStaff: чтение не удалось: %s", error ? error : "?");
        job->failed = true;
    }
    free(r);
    job->pending--;
    s_pump(job);
}

static void s_pump(resolve_job *job)
{
    while (!job->failed && job->pending < S_WINDOW && job->next < job->n_ids) {
        size_t i = job->next++;
        char key[REGISTRY_KEY_MAX];
        if (!registry_entity_key(&registry_staff_kind, job->ids[i], key, sizeof key))
            continue;
        resolve_read *r = xmalloc(sizeof *r);
        r->job = job;
        r->index = i;
        job->pending++;
        if (entity_store_get(job->store, key, s_read_done, r) != 0) {
            free(r);
            job->pending--;
            job->failed = true;
        }
    }
    if (job->pending == 0 && (job->failed || job->next >= job->n_ids))
        s_finish(job);
}

static bool s_is_staff_id(const char *ref, const char *region)
{
    size_t len = strlen(ref);
    if (len < 5 || len > 40 || strncmp(ref, region, 2) != 0 || strncmp(ref + 2, "-s", 2) != 0)
        return false;
    for (size_t i = 4; i < len; i++)
        if (ref[i] < '0' || ref[i] > '9')
            return false;
    return true;
}

static void s_on_claims(entity_result result, const char *const *owners, size_t n, const char *error, void *ud)
{
    resolve_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "ResolveStaff: внешние идентификаторы не прочитаны: %s",
                  error ? error : "?");
        job->failed = true;
        s_finish(job);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (owners[i] && s_is_staff_id(owners[i], job->region))
            s_add_id(job, owners[i]);
    s_pump(job);
}

void registry_resolve_staff(service_call *call, const ProtobufCMessage *request, entity_store *store)
{
    const Metodnet__ResolveStaffRequest *req = (const Metodnet__ResolveStaffRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    const char *region = *req->region_id ? req->region_id : caller->region_id;
    if (req->n_refs > REGISTRY_RESOLVE_MAX_REFS) {
        service_call_fail(call, METODNET__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT,
                          "Не более 1000 сотрудников в одном запросе");
        return;
    }
    resolve_job *job = xcalloc(1, sizeof *job);
    job->call = call;
    job->store = store;
    if (region == NULL || !registry_region_of(region, job->region, sizeof job->region) ||
        strcmp(job->region, region) != 0) {
        s_finish(job); /* no region: nobody */
        return;
    }
    /* every ref may add its own id and the owner of it as an external id */
    job->ids = xcalloc(2 * req->n_refs + 1, sizeof *job->ids);
    job->found = xcalloc(2 * req->n_refs + 1, sizeof *job->found);
    for (size_t i = 0; i < req->n_refs; i++)
        if (s_is_staff_id(req->refs[i], job->region))
            s_add_id(job, req->refs[i]);
    if (req->n_refs == 0) {
        s_finish(job);
        return;
    }
    char key[REGISTRY_KEY_MAX];
    registry_claims_key(&registry_staff_kind, job->region, key, sizeof key);
    if (entity_store_claim_owners(store, key, (const char *const *)req->refs, req->n_refs, s_on_claims, job) != 0) {
        job->failed = true;
        s_finish(job);
    }
}
