/* notify_internal — what the parts of the notify service share: notify.c (the service, the method
 * table, regions), notify_webhooks.c (subscriptions on the entity engine, their deliveries' log),
 * notify_consumer.c (domain events → notification records, the feed), notify_delivery.c (signed
 * deliveries with retries). */
#ifndef METODNET_NOTIFY_INTERNAL_H
#define METODNET_NOTIFY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "entity_kind.h"
#include "entity_store.h"
#include "notify.h"
#include "notify.pb-c.h"
#include "notify_http.h"
#include "redis_link.h"
#include "service_client.h"
#include "service_worker.h"

#define NOTIFY_KEY_MAX     200
#define NOTIFY_REGIONS_MAX 100
#define NOTIFY_SCHEDULE    9 /* retries after the first attempt */

extern const char *const notify_unavailable_ru;
extern const char *const notify_denied_ru;

typedef struct {
    char id[8];
    bool group_ready;  /* XGROUP CREATE answered */
    bool reading;      /* a read or a record is in flight */
    bool pending_done; /* our own pending entries (after a restart) are read again */
    bool claiming;     /* a claim of due deliveries is in flight */
} notify_region;

struct notify {
    uv_loop_t *loop;
    redis_link *link;
    entity_store *store;
    audit *audit;
    service_client *registry;
    service_worker *worker;
    notify_http *http;
    entity_engine engine;
    notify_region regions[NOTIFY_REGIONS_MAX];
    size_t n_regions;
    uv_timer_t *regions_timer, *read_timer, *due_timer;
    bool regions_asking;
    unsigned refs; /* background work in flight (reads, claims, attempts, disables): freed after the last */
    bool released, freeing;
    bool due_kick; /* a notification was recorded: claim due deliveries at the next tick */
    bool stopping;
    /* settings (environment) */
    bool allow_private;
    uint32_t timeout_ms;
    uint32_t regions_every_ms;
    uint32_t max_in_flight;
    double schedule_s[NOTIFY_SCHEDULE];
    char consumer[64];
    redis_script *record_script, *claim_script, *complete_script, *retry_script, *deliveries_script;
};

extern const entity_kind notify_webhook_kind;

/* ---- notify.c ---- */
/* Background work holds the service: after the stop, the last notify_unref frees it. */
void notify_ref(notify *n);
void notify_unref(notify *n);
notify_region *notify_region_find(notify *n, const char *region);
/* The region of the caller for feed and webhooks: its own; a system caller names it. */
bool notify_caller_region(const Metodnet__Principal *caller, const char *given, char out[8]);
/* The notification types a subscription may name. */
bool notify_type_known(const char *type);
extern const char *const notify_types[];

/* ---- notify_webhooks.c ---- */
void notify_create_webhook(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_get_webhook(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_delete_webhook(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_list_webhooks(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_enable_webhook(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_disable_webhook(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_list_deliveries(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_retry_delivery(service_call *call, const ProtobufCMessage *request, void *ud);
/* Disables a subscription with the reason (a delivery's outcome): load, change, save. */
void notify_webhook_disable(notify *n, const char *webhook_id, const char *reason_ru);
extern const char notify_deliveries_lua[];
extern const char notify_retry_lua[];

/* ---- notify_consumer.c ---- */
void notify_consumer_tick(notify *n);
void notify_list_notifications(service_call *call, const ProtobufCMessage *request, void *ud);
void notify_get_heads(service_call *call, const ProtobufCMessage *request, void *ud);
/* Whether caller may see a notification of that scope. */
bool notify_visible(const Metodnet__Principal *caller, const Metodnet__NotificationScope *scope);
extern const char notify_record_lua[];

/* ---- notify_delivery.c ---- */
void notify_delivery_tick(notify *n);
extern const char notify_claim_lua[];
extern const char notify_complete_lua[];

#endif
