/* indicators_facts — a domain event of another service (registry, diagnostics, events) turned into the
 * flat fact apply.lua stores: the person, organization, result, completion, membership, attendance or
 * route item as the indicators need it. Each event carries its entity's whole state after the change,
 * so a fact replaces what was stored for the entity (a replay of an old entry is refused by the
 * entity's last applied entry id, apply.lua). A recompute builds the same facts from the list replies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnostics.pb-c.h"
#include "events.pb-c.h"
#include "indicators_internal.h"
#include "registry.pb-c.h"
#include "xalloc.h"

#define QUALITY_TAG "управление качеством образования"

static void s_arg(ind_fact *f, const char *fmt, ...)
{
    if (f->n >= IND_MAX_ARGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    f->args[f->n++] = xstrdup(buf);
}

static const char *s(const char *v)
{
    return v ? v : "";
}

/* a list joined by commas (ids and codes hold no commas); a value with one is dropped */
static void s_list(ind_fact *f, char **items, size_t n)
{
    char buf[1024];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!items[i] || !items[i][0] || strchr(items[i], ',') || strchr(items[i], '|'))
            continue;
        int w = snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", items[i]);
        if (w < 0 || (size_t)w >= sizeof buf - used)
            break;
        used += (size_t)w;
    }
    s_arg(f, "%s", buf);
}

/* the day of an RFC 3339 time or a date */
static void s_day(ind_fact *f, const char *t)
{
    s_arg(f, "%.10s", s(t));
}

static bool s_educational(Metodnet__OrganizationKind k)
{
    return k >= METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_SCHOOL &&
           k <= METODNET__ORGANIZATION_KIND__ORGANIZATION_KIND_VOCATIONAL;
}

static void s_entity(ind_fact *f, const char *kind, const char *id)
{
    snprintf(f->entity, sizeof f->entity, "%s:%s", kind, s(id));
}

static void s_staff(ind_fact *f, const char *id, const Metodnet__StaffMember *m)
{
    s_entity(f, "staff", id);
    snprintf(f->op, sizeof f->op, "staff");
    s_arg(f, "%s", id);
    s_arg(f, "%s", m ? "0" : "1");
    if (!m)
        return;
    s_arg(f, "%s", m->active ? "1" : "0");
    s_arg(f, "%s",
          m->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_TEACHER   ? "teacher"
          : m->category == METODNET__STAFF_CATEGORY__STAFF_CATEGORY_MANAGER ? "manager"
                                                                            : "");
    s_arg(f, "%s", s(m->birth_date));
    s_arg(f, "%s", s(m->profession_start_date));
    s_list(f, m->subjects, m->n_subjects);
    s_list(f, m->organization_ids, m->n_organization_ids);
    s_list(f, m->municipality_ids, m->n_municipality_ids);
    s_arg(f, "%s", s(m->region_id));
}

static void s_org(ind_fact *f, const char *id, const Metodnet__Organization *o)
{
    s_entity(f, "org", id);
    snprintf(f->op, sizeof f->op, "org");
    s_arg(f, "%s", id);
    s_arg(f, "%s", o ? "0" : "1");
    if (!o)
        return;
    s_arg(f, "%s", s_educational(o->kind) ? "1" : "0");
    s_arg(f, "%s", o->founder == METODNET__ORGANIZATION_FOUNDER__ORGANIZATION_FOUNDER_MUNICIPAL ? "1" : "0");
    s_arg(f, "%s", s(o->municipality_id));
    s_arg(f, "%s", s(o->short_name)[0] ? o->short_name : s(o->name));
    s_arg(f, "%s", (o->low_results || o->difficult_conditions) ? "1" : "0");
    s_arg(f, "%s", s(o->region_id));
}

static void s_mun(ind_fact *f, const char *id, const Metodnet__Municipality *m)
{
    s_entity(f, "mun", id);
    snprintf(f->op, sizeof f->op, "mun");
    s_arg(f, "%s", id);
    s_arg(f, "%s", m ? "0" : "1");
    s_arg(f, "%s", m ? s(m->name) : "");
}

static void s_campaign(ind_fact *f, const char *id, const Metodnet__Campaign *c)
{
    s_entity(f, "campaign", id);
    snprintf(f->op, sizeof f->op, "campaign");
    s_arg(f, "%s", id);
    s_arg(f, "%s", c && c->kind == METODNET__CAMPAIGN_KIND__CAMPAIGN_KIND_INDEPENDENT ? "1" : "0");
}

static void s_result(ind_fact *f, const Metodnet__Result *r)
{
    s_entity(f, "result", r->id);
    snprintf(f->op, sizeof f->op, "result");
    s_arg(f, "%s", s(r->staff_id));
    s_arg(f, "%s", s(r->id));
    s_arg(f, "%s", s(r->campaign_id));
    s_day(f, r->completed_at);
    s_list(f, r->deficits, r->n_deficits);
}

static void s_programme(ind_fact *f, const char *id, const Metodnet__Programme *p)
{
    s_entity(f, "programme", id);
    snprintf(f->op, sizeof f->op, "programme");
    s_arg(f, "%s", id);
    s_arg(f, "%s", p ? "0" : "1");
    if (!p)
        return;
    s_arg(f, "%s", p->federal_registry ? "1" : "0");
    s_list(f, p->competences, p->n_competences);
    bool quality = false;
    for (size_t i = 0; i < p->n_tags; i++)
        if (p->tags[i] && strcmp(p->tags[i], QUALITY_TAG) == 0)
            quality = true;
    s_arg(f, "%s", quality ? "1" : "0");
}

static void s_qual(ind_fact *f, const char *id, const Metodnet__QualificationRecord *q)
{
    s_entity(f, "qual", id);
    snprintf(f->op, sizeof f->op, "qual");
    s_arg(f, "%s", q ? s(q->staff_id) : "");
    s_arg(f, "%s", id);
    s_arg(f, "%s", q ? "0" : "1");
    s_arg(f, "%s", q ? s(q->programme_id) : "");
    s_arg(f, "%s", q ? s(q->completed_on) : "");
    /* «только подтверждённые»: a completion with its certificate number */
    s_arg(f, "%s", q && q->document_number && q->document_number[0] ? "1" : "0");
}

static void s_assoc(ind_fact *f, const char *id, const Metodnet__Association *a)
{
    s_entity(f, "assoc", id);
    snprintf(f->op, sizeof f->op, "assoc");
    s_arg(f, "%s", id);
    s_arg(f, "%s", a ? "0" : "1");
    if (!a)
        return;
    s_arg(f, "%s", a->network ? "1" : "0");
    s_day(f, a->created_at);
    char *homes[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (a->level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        homes[n++] = a->organization_id;
    if (a->level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        homes[n++] = a->municipality_id;
    homes[n++] = a->region_id;
    s_list(f, homes, n);
}

static void s_member(ind_fact *f, const char *id, const Metodnet__AssociationMembership *m)
{
    s_entity(f, "member", id);
    snprintf(f->op, sizeof f->op, "member");
    s_arg(f, "%s", m ? s(m->staff_id) : "");
    s_arg(f, "%s", id);
    s_arg(f, "%s", m ? "0" : "1");
    s_arg(f, "%s", m ? s(m->association_id) : "");
    s_arg(f, "%s", m ? s(m->joined_on) : "");
    s_arg(f, "%s", m ? s(m->left_on) : "");
}

static void s_event(ind_fact *f, const char *id, const Metodnet__Event *e)
{
    s_entity(f, "event", id);
    snprintf(f->op, sizeof f->op, "event");
    s_arg(f, "%s", id);
    bool gone = !e || e->status == METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED;
    s_arg(f, "%s", gone ? "1" : "0");
    s_day(f, e ? e->starts_at : "");
    s_arg(f, "%s", e ? s(e->support_programme_id) : "");
}

static void s_registration(ind_fact *f, const char *id, const Metodnet__Registration *r)
{
    s_entity(f, "registration", id);
    snprintf(f->op, sizeof f->op, "registration");
    s_arg(f, "%s", r ? s(r->staff_id) : "");
    s_arg(f, "%s", id);
    s_arg(f, "%s", r ? s(r->event_id) : "");
    s_arg(f, "%s", r && r->status == METODNET__REGISTRATION_STATUS__REGISTRATION_STATUS_ATTENDED ? "1" : "0");
}

static void s_route(ind_fact *f, const Metodnet__Route *r)
{
    s_entity(f, "route", r->id);
    snprintf(f->op, sizeof f->op, "route");
    s_arg(f, "%s", s(r->staff_id));
    for (size_t i = 0; i < r->n_items; i++) {
        const Metodnet__RouteItem *it = r->items[i];
        const char *status = it->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_DONE          ? "done"
                             : it->status == METODNET__ROUTE_ITEM_STATUS__ROUTE_ITEM_STATUS_IN_PROGRESS ? "in_progress"
                                                                                                        : "";
        if (!status[0])
            continue;
        const char *day = it->completed_on && it->completed_on[0] ? it->completed_on : s(r->updated_at);
        s_arg(f, "%s|%.10s", status, day);
    }
}

void ind_fact_free(ind_fact *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->args[i]);
    f->n = 0;
}

static bool s_kind(const char *type, const char *kind)
{
    size_t n = strlen(kind);
    return strncmp(type, kind, n) == 0 && type[n] == '.';
}

/* entity NULL: a delete */
static int s_fact(const char *type, const char *id, const ProtobufCMessageDescriptor *d, const uint8_t *data,
                  size_t len, const ProtobufCMessage *given, ind_fact *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
    bool deleted = strstr(type, ".deleted") != NULL;
    ProtobufCMessage *m = NULL;
    const ProtobufCMessage *e = given;
    const ProtobufCMessageDescriptor *want = NULL;
    if (s_kind(type, "staff"))
        want = &metodnet__staff_member__descriptor;
    else if (s_kind(type, "org"))
        want = &metodnet__organization__descriptor;
    else if (s_kind(type, "mun"))
        want = &metodnet__municipality__descriptor;
    else if (s_kind(type, "campaign"))
        want = &metodnet__campaign__descriptor;
    else if (s_kind(type, "result"))
        want = &metodnet__result__descriptor;
    else if (s_kind(type, "programme"))
        want = &metodnet__programme__descriptor;
    else if (s_kind(type, "qual"))
        want = &metodnet__qualification_record__descriptor;
    else if (s_kind(type, "assoc"))
        want = &metodnet__association__descriptor;
    else if (s_kind(type, "member"))
        want = &metodnet__association_membership__descriptor;
    else if (s_kind(type, "event"))
        want = &metodnet__event__descriptor;
    else if (s_kind(type, "registration"))
        want = &metodnet__registration__descriptor;
    else if (s_kind(type, "route"))
        want = &metodnet__route__descriptor;
    if (!want) {
        snprintf(out->entity, sizeof out->entity, "other:%s", s(id));
        return 0; /* a kind no indicator reads: acknowledged only */
    }
    if (!given && !deleted) {
        if (!data || len == 0)
            return -1;
        m = protobuf_c_message_unpack(want, NULL, len, data);
        if (!m)
            return -1;
        e = m;
    }
    if (given && given->descriptor != want)
        return -1;
    if (deleted)
        e = NULL;
    int rc = 0;
    if (want == &metodnet__staff_member__descriptor)
        s_staff(out, id, (const Metodnet__StaffMember *)e);
    else if (want == &metodnet__organization__descriptor)
        s_org(out, id, (const Metodnet__Organization *)e);
    else if (want == &metodnet__municipality__descriptor)
        s_mun(out, id, (const Metodnet__Municipality *)e);
    else if (want == &metodnet__campaign__descriptor)
        s_campaign(out, id, (const Metodnet__Campaign *)e);
    else if (want == &metodnet__result__descriptor) {
        if (e)
            s_result(out, (const Metodnet__Result *)e);
        else
            snprintf(out->entity, sizeof out->entity, "result:%s", s(id));
    } else if (want == &metodnet__programme__descriptor)
        s_programme(out, id, (const Metodnet__Programme *)e);
    else if (want == &metodnet__qualification_record__descriptor)
        s_qual(out, id, (const Metodnet__QualificationRecord *)e);
    else if (want == &metodnet__association__descriptor)
        s_assoc(out, id, (const Metodnet__Association *)e);
    else if (want == &metodnet__association_membership__descriptor)
        s_member(out, id, (const Metodnet__AssociationMembership *)e);
    else if (want == &metodnet__event__descriptor)
        s_event(out, id, (const Metodnet__Event *)e);
    else if (want == &metodnet__registration__descriptor)
        s_registration(out, id, (const Metodnet__Registration *)e);
    else if (want == &metodnet__route__descriptor) {
        if (e)
            s_route(out, (const Metodnet__Route *)e);
        else
            snprintf(out->entity, sizeof out->entity, "route:%s", s(id));
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int ind_fact_from_event(const char *prefix, const uint8_t *data, size_t len, ind_fact *out)
{
    (void)prefix;
    memset(out, 0, sizeof *out);
    Metodnet__DomainEvent *ev = metodnet__domain_event__unpack(NULL, len, data);
    if (!ev)
        return -1;
    int rc = -1;
    if (ev->type && ev->type[0] && ev->entity_id && ev->entity_id[0] && strlen(ev->entity_id) < 64)
        rc = s_fact(ev->type, ev->entity_id, NULL, ev->entity.data, ev->entity.len, NULL, out);
    metodnet__domain_event__free_unpacked(ev, NULL);
    if (rc != 0)
        ind_fact_free(out);
    return rc;
}

int ind_fact_from_entity(const char *type, const char *entity_id, const ProtobufCMessage *entity, ind_fact *out)
{
    return s_fact(type, entity_id, NULL, NULL, 0, entity, out);
}
