/* indicators_facts — a domain event of another service (registry, diagnostics, events) turned into the
 * flat fact apply.lua stores: the person, organization, result, completion, membership, attendance,
 * route item, support programme, mentor profile or mentoring pair as the indicators need it. Each event carries its entity's whole state after the change,
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
#include "mentoring.pb-c.h"
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

/* the owner scopes of a record of level (organization, municipality, region): the comma list apply.lua keeps
 * in sps:<scope> / assocs:<scope> */
static void s_homes(ind_fact *f, Metodnet__HomeLevel level, char *org, char *mun, char *region)
{
    char *homes[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (level == METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL)
        homes[n++] = org;
    if (level != METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL)
        homes[n++] = mun;
    homes[n++] = region;
    s_list(f, homes, n);
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
    s_homes(f, a->level, a->organization_id, a->municipality_id, a->region_id);
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

/* a support programme (mentoring service): kind, active interval (ends_on; a closed one without it ends on the
 * day it was closed), owner scopes */
static void s_sprog(ind_fact *f, const char *id, const Metodnet__SupportProgramme *p)
{
    s_entity(f, "sprog", id);
    snprintf(f->op, sizeof f->op, "sprog");
    s_arg(f, "%s", id);
    s_arg(f, "%s", p ? "0" : "1");
    if (!p)
        return;
    s_arg(f, "%s",
          p->kind == METODNET__SUPPORT_PROGRAMME_KIND__SUPPORT_PROGRAMME_KIND_MENTORING       ? "mentoring"
          : p->kind == METODNET__SUPPORT_PROGRAMME_KIND__SUPPORT_PROGRAMME_KIND_YOUNG_SUPPORT ? "young_support"
          : p->kind == METODNET__SUPPORT_PROGRAMME_KIND__SUPPORT_PROGRAMME_KIND_ASSOCIATION_SUPPORT
              ? "association_support"
              : "");
    s_day(f, p->starts_on);
    if (s(p->ends_on)[0] || p->status != METODNET__SUPPORT_PROGRAMME_STATUS__SUPPORT_PROGRAMME_STATUS_CLOSED)
        s_day(f, p->ends_on);
    else
        s_day(f, p->updated_at);
    s_homes(f, p->level, p->organization_id, p->municipality_id, p->region_id);
}

/* "07-m12" (a mentor profile) → "07-s12" (its staff member) */
static void s_mentor_staff(const char *id, char *out, size_t size)
{
    const char *dash = id ? strchr(id, '-') : NULL;
    if (dash && dash[1] == 'm')
        snprintf(out, size, "%.*s-s%s", (int)(dash - id), id, dash + 2);
    else
        snprintf(out, size, "%s", "");
}

/* a mentor profile: the day the mentor passed the competitive selection (empty: not certified; certified
 * without a date: certified all along) */
static void s_mentor(ind_fact *f, const char *id, const Metodnet__MentorProfile *m)
{
    s_entity(f, "mentor", id);
    snprintf(f->op, sizeof f->op, "mentor");
    char staff[64];
    s_mentor_staff(id, staff, sizeof staff);
    s_arg(f, "%s", m && s(m->staff_id)[0] ? m->staff_id : staff);
    s_arg(f, "%s", m ? "0" : "1");
    if (!m)
        return;
    if (!m->certified)
        s_arg(f, "%s", "");
    else if (s(m->certified_on)[0])
        s_day(f, m->certified_on);
    else
        s_arg(f, "%s", "0000-01-01");
}

/* a pair: active from its start (startsOn, or the day it was activated) to the day it was completed or
 * cancelled (open: no end); a pair never activated (proposed, or cancelled while proposed) is no pair
 * for the indicators and is removed */
static void s_pair(ind_fact *f, const char *id, const Metodnet__MentoringPair *p)
{
    s_entity(f, "pair", id);
    snprintf(f->op, sizeof f->op, "pair");
    s_arg(f, "%s", id);
    const char *activated = NULL, *ended = NULL;
    if (p)
        for (size_t i = 0; i < p->n_history; i++) {
            const Metodnet__PairStatusChange *h = p->history[i];
            if (h->status == METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE && !activated)
                activated = s(h->at);
            if ((h->status == METODNET__PAIR_STATUS__PAIR_STATUS_COMPLETED ||
                 h->status == METODNET__PAIR_STATUS__PAIR_STATUS_CANCELLED) &&
                activated)
                ended = s(h->at);
        }
    bool was_active = p && (activated || p->status == METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE ||
                            p->status == METODNET__PAIR_STATUS__PAIR_STATUS_COMPLETED);
    s_arg(f, "%s", was_active ? "0" : "1");
    if (!was_active)
        return;
    s_arg(f, "%s", s(p->programme_id));
    s_arg(f, "%s", s(p->mentor_staff_id));
    s_arg(f, "%s", s(p->mentee_staff_id));
    s_day(f, s(p->starts_on)[0] ? p->starts_on : s(activated));
    bool open = p->status == METODNET__PAIR_STATUS__PAIR_STATUS_ACTIVE;
    s_day(f, open ? "" : (ended ? ended : s(p->updated_at)));
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
    else if (s_kind(type, "sprog"))
        want = &metodnet__support_programme__descriptor;
    else if (s_kind(type, "mentor"))
        want = &metodnet__mentor_profile__descriptor;
    else if (s_kind(type, "pair"))
        want = &metodnet__mentoring_pair__descriptor;
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
    } else if (want == &metodnet__support_programme__descriptor)
        s_sprog(out, id, (const Metodnet__SupportProgramme *)e);
    else if (want == &metodnet__mentor_profile__descriptor)
        s_mentor(out, id, (const Metodnet__MentorProfile *)e);
    else if (want == &metodnet__mentoring_pair__descriptor)
        s_pair(out, id, (const Metodnet__MentoringPair *)e);
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
