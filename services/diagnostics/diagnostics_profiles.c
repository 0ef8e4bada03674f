/* diagnostics_profiles — ListLatestResults: the latest completed result of each of many staff members
 * of one region at once (the mentoring service's matching reads its candidates' strengths and its
 * mentees' deficits this way, through the broker, never the diagnostics keys). One pipelined read of
 * each person's newest result index entry; people without a result, or whose result the caller may
 * not read, are left out. The call is audited once (a bulk read for matching), not per person.
 */
#include "diagnostics_internal.h"
#include "xalloc.h"

#define LATEST_MAX_IDS 1000

typedef struct latest_op latest_op;

typedef struct {
    latest_op *op;
    size_t index;
} latest_slot;

struct latest_op {
    diagnostics *d;
    service_call *call;
    const Metodnet__Principal *caller;
    char region[4];
    size_t n;
    size_t pending;
    bool failed;
    Metodnet__Attempt **latest; /* per id asked, NULL when none */
    latest_slot *slots;
};

static void s_finish(latest_op *o)
{
    if (o->failed) {
        service_call_fail(o->call, CODE(UNAVAILABLE), diag_unavailable_ru);
    } else {
        Metodnet__ListLatestResultsResponse response = METODNET__LIST_LATEST_RESULTS_RESPONSE__INIT;
        Metodnet__Result **items = xcalloc(o->n + 1, sizeof *items);
        size_t n = 0;
        for (size_t i = 0; i < o->n; i++)
            if (o->latest[i] && o->latest[i]->result && diag_attempt_allows(o->caller, o->latest[i], SCOPE_READ))
                items[n++] = o->latest[i]->result;
        response.items = items;
        response.n_items = n;
        diag_audit(o->d, o->call, "list", "result", "", o->region);
        service_call_reply(o->call, &response.base);
        free(items);
    }
    for (size_t i = 0; i < o->n; i++)
        diag_free_message(o->latest[i]);
    free(o->latest);
    free(o->slots);
    free(o);
}

static void s_listed(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                     const char *error, void *ud)
{
    (void)next_member;
    latest_slot *slot = ud;
    latest_op *o = slot->op;
    if (result != ENTITY_OK) {
        if (!o->failed)
            log_error(service_call_request_id(o->call), "последний результат не получен: %s", error ? error : "?");
        o->failed = true;
    } else if (n > 0) {
        Metodnet__Attempt *a = metodnet__attempt__unpack(NULL, items[0].len, items[0].data);
        if (a && a->status == METODNET__ATTEMPT_STATUS__ATTEMPT_STATUS_COMPLETED && a->result)
            o->latest[slot->index] = a;
        else
            diag_free_message(a);
    }
    if (--o->pending == 0)
        s_finish(o);
}

void diag_list_latest_results(service_call *call, const ProtobufCMessage *request, void *ud)
{
    const Metodnet__ListLatestResultsRequest *req = (const Metodnet__ListLatestResultsRequest *)request;
    const Metodnet__Principal *caller = service_call_caller(call);
    char region[4];
    if (!diag_region_of(req->region_id, region) || strlen(req->region_id) != 2) {
        validation v;
        validation_init(&v);
        validation_add(&v, "regionId", "Укажите регион (две цифры)");
        service_call_fail_validation(call, &v);
        validation_free(&v);
        return;
    }
    if (req->n_staff_ids > LATEST_MAX_IDS) {
        service_call_fail(call, CODE(INVALID_ARGUMENT), "Не больше 1000 сотрудников за один запрос");
        return;
    }
    Metodnet__ListLatestResultsResponse empty = METODNET__LIST_LATEST_RESULTS_RESPONSE__INIT;
    if (!diag_region_readable(caller, region) || req->n_staff_ids == 0) {
        service_call_reply(call, &empty.base);
        return;
    }
    latest_op *o = xcalloc(1, sizeof *o);
    o->d = ud;
    o->call = call;
    o->caller = caller;
    memcpy(o->region, region, sizeof region);
    o->n = req->n_staff_ids;
    o->latest = xcalloc(o->n, sizeof *o->latest);
    o->slots = xcalloc(o->n, sizeof *o->slots);
    o->pending = 1; /* until every read is sent */
    char index[DIAG_KEY_MAX], prefix[DIAG_KEY_MAX];
    snprintf(prefix, sizeof prefix, "diag:{r:%s}:attempt:", region);
    for (size_t i = 0; i < o->n; i++) {
        char staff_region[4];
        if (!diag_staff_id_ok(req->staff_ids[i], staff_region) || strcmp(staff_region, region) != 0)
            continue;
        snprintf(index, sizeof index, "diag:{r:%s}:ix:result:staff:%s", region, req->staff_ids[i]);
        entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = 1};
        o->slots[i] = (latest_slot){o, i};
        o->pending++;
        if (entity_store_list(o->d->store, &q, s_listed, &o->slots[i]) != 0) {
            o->pending--;
            o->failed = true;
        }
    }
    if (--o->pending == 0)
        s_finish(o);
}
