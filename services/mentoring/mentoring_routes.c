/* mentoring_routes — a pair's link to the mentee's individual educational route (ИОМ): the item named by a
 * new pair is checked in the diagnostics service through the broker (it is in the mentee's route, of kind
 * mentoring, not yet done or cancelled), and a pair that becomes completed marks its item done there
 * (SetRouteItemStatus, as the events service does for attendance). Cancelling leaves the item as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnostics.pb-c.h"
#include "diagnostics_service.pb-c.h"
#include "log.h"
#include "mentoring_internal.h"
#include "pbfield.h"
#include "xalloc.h"

bool mnt_route_item_id_valid(const char *item_id, const char *mentee_staff_id)
{
    if (item_id == NULL || mentee_staff_id == NULL || !*mentee_staff_id)
        return false;
    size_t n = strlen(mentee_staff_id);
    if (strlen(item_id) > 80 || strncmp(item_id, mentee_staff_id, n) != 0 || strncmp(item_id + n, "-i", 2) != 0)
        return false;
    const char *digits = item_id + n + 2;
    if (*digits < '1' || *digits > '9' || strlen(digits) > 9)
        return false;
    for (const char *c = digits; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

/* ---------- the check at creation ---------- */

typedef struct {
    mnt_route_item_cb cb;
    void *ud;
    char item_id[96];
} check_ctx;

static void s_route_read(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    check_ctx *c = ud;
    Metodnet__StatusCode code = MNT_CODE(OK);
    const char *message = NULL;
    const Metodnet__RouteItem *item = NULL;
    if (status->code == MNT_CODE(NOT_FOUND) || status->code == MNT_CODE(PERMISSION_DENIED)) {
        code = MNT_CODE(INVALID_ARGUMENT);
        message = "У наставляемого нет составленного маршрута (ИОМ) с этим пунктом";
    } else if (status->code != MNT_CODE(OK)) {
        code = MNT_CODE(UNAVAILABLE);
        message = "Служба диагностики временно недоступна: пункт маршрута не проверен, пара не создана";
    } else {
        const Metodnet__Route *route = (const Metodnet__Route *)response;
        for (size_t i = 0; i < route->n_items && item == NULL; i++)
            if (strcmp(route->items[i]->id, c->item_id) == 0)
                item = route->items[i];
        code = MNT_CODE(INVALID_ARGUMENT);
        if (item == NULL)
            message = "В маршруте наставляемого нет такого пункта";
        else if (item->kind != METODNET__ROUTE_ITEM_KIND__ROUTE_ITEM_KIND_MENTORING)
            message = "Пункт маршрута — не наставничество (kind mentoring)";
        else if (item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE ||
                 item->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_CANCELLED)
            message = "Пункт маршрута уже выполнен или отменён";
        else
            code = MNT_CODE(OK);
    }
    c->cb(code, message, code == MNT_CODE(OK) ? item : NULL, c->ud);
    free(c);
}

void mnt_check_route_item(mentoring *m, service_call *call, const Metodnet__MentoringPair *pair, mnt_route_item_cb cb,
                          void *ud)
{
    check_ctx *c = xcalloc(1, sizeof *c);
    c->cb = cb;
    c->ud = ud;
    snprintf(c->item_id, sizeof c->item_id, "%s", pair->route_item_id);
    Metodnet__GetRouteRequest get = METODNET__GET_ROUTE_REQUEST__INIT;
    get.id = pair->mentee_staff_id;
    /* as the caller: a route they may not read is not theirs to link */
    service_client_request r = {.service = "diagnostics",
                                .method = "GetRoute",
                                .request = &get.base,
                                .response = &metodnet__route__descriptor,
                                .caller = service_call_caller(call),
                                .request_id = service_call_request_id(call),
                                .timeout_ms = 5000};
    if (service_client_call(m->client, &r, s_route_read, c) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = MNT_CODE(UNAVAILABLE);
        s_route_read(&st, NULL, c);
    }
}

/* ---------- completion closes the item ---------- */

typedef struct {
    service_call *call;
    Metodnet__MentoringPair *pair;
} close_ctx;

static void s_item_closed(const Metodnet__Status *status, const ProtobufCMessage *response, void *ud)
{
    (void)response;
    close_ctx *c = ud;
    char note[600];
    if (status->code == MNT_CODE(OK))
        snprintf(note, sizeof note, "Пункт маршрута %s отмечен выполненным", c->pair->route_item_id);
    else
        snprintf(note, sizeof note, "Пара завершена, но пункт маршрута %s не закрыт: %s", c->pair->route_item_id,
                 status->message && *status->message ? status->message : "служба диагностики недоступна");
    if (status->code != MNT_CODE(OK))
        log_error(service_call_request_id(c->call), "%s", note);
    mnt_set(&c->pair->route_item_note, note);
    service_call_reply(c->call, &c->pair->base);
    protobuf_c_message_free_unpacked(&c->pair->base, NULL);
    free(c);
}

void mnt_pair_stored(void *ud, service_call *call, const ProtobufCMessage *current, const ProtobufCMessage *next)
{
    mentoring *m = ud;
    const Metodnet__MentoringPair *was = (const Metodnet__MentoringPair *)current;
    const Metodnet__MentoringPair *p = (const Metodnet__MentoringPair *)next;
    if (m == NULL || was == NULL || p->status != METODNET__PAIR_STATUS__PAIR_STATUS_COMPLETED ||
        was->status == METODNET__PAIR_STATUS__PAIR_STATUS_COMPLETED || !p->route_item_id || !*p->route_item_id) {
        service_call_reply(call, next);
        return;
    }
    close_ctx *c = xcalloc(1, sizeof *c);
    c->call = call;
    c->pair = (Metodnet__MentoringPair *)pbfield_clone(next);
    char evidence[700], now[40];
    snprintf(evidence, sizeof evidence, "Пара наставничества %s завершена (наставник %.300s)", p->id, p->mentor_name);
    mnt_now(now, sizeof now);
    now[10] = '\0'; /* the day of completion */
    Metodnet__SetRouteItemStatusRequest set = METODNET__SET_ROUTE_ITEM_STATUS_REQUEST__INIT;
    set.id = p->mentee_staff_id;
    set.item_id = p->route_item_id;
    set.status = METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE;
    set.evidence = evidence;
    set.completed_on = now;
    set.reference_id = p->id; /* the item names the pair that closed it */
    service_client_request r = {.service = "diagnostics",
                                .method = "SetRouteItemStatus",
                                .request = &set.base,
                                .response = &metodnet__route__descriptor,
                                .caller = service_client_system_principal(),
                                .request_id = service_call_request_id(call),
                                .timeout_ms = 5000};
    if (service_client_call(m->client, &r, s_item_closed, c) != 0) {
        Metodnet__Status st = METODNET__STATUS__INIT;
        st.code = MNT_CODE(UNAVAILABLE);
        s_item_closed(&st, NULL, c);
    }
}
