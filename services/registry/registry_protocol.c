/* registry_protocol — CouncilMeetingProtocol: the printable minutes (протокол заседания, 004 §2.5–2.6; 001 п.10)
 * of a held council meeting as an HTML page (A4 print CSS, Russian, dates ДД.ММ.ГГГГ, every text escaped).
 * Reads the meeting (scope as for reading it), its council, and the council decisions linked to the meeting;
 * a planned meeting has no minutes yet (409). The page goes out as a file (FileBody, ROUTE_FILE_OUT). */
#include "registry_protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.pb-c.h"
#include "registry_catalogue.h"
#include "registry_kinds.h"
#include "registry_service.pb-c.h"
#include "validate.h"
#include "xalloc.h"
#include "html_page.h"

#define S_MAX_DECISIONS 200

typedef struct {
    service_call *call;
    entity_store *store;
    char region[8];
    Metodnet__CouncilMeeting *meeting;
    Metodnet__Council *council;
    Metodnet__CouncilDecision **decisions;
    size_t n_decisions;
} protocol_job;

static const char s_unavailable_ru[] = "Хранилище реестра временно недоступно, повторите позже";

static void s_job_free(protocol_job *job)
{
    if (job->meeting)
        metodnet__council_meeting__free_unpacked(job->meeting, NULL);
    if (job->council)
        metodnet__council__free_unpacked(job->council, NULL);
    for (size_t i = 0; i < job->n_decisions; i++)
        metodnet__council_decision__free_unpacked(job->decisions[i], NULL);
    free(job->decisions);
    free(job);
}

static void s_fail(protocol_job *job, Metodnet__StatusCode code, const char *message_ru)
{
    service_call_fail(job->call, code, message_ru);
    s_job_free(job);
}

/* ---------- the page ---------- */

/* "2026-03-05" → "05.03.2026"; anything else → "—". */
static const char *s_date(const char *ymd, char *out, size_t size)
{
    int day = 0;
    if (ymd == NULL || !date_parse(ymd, &day) || strlen(ymd) != 10) {
        snprintf(out, size, "«___» ________ 20__ г.");
        return out;
    }
    snprintf(out, size, "%.2s.%.2s.%.4s", ymd + 8, ymd + 5, ymd);
    return out;
}

static const char *s_level_ru(Metodnet__HomeLevel level)
{
    switch (level) {
    case METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL:
        return "региональный";
    case METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL:
        return "муниципальный";
    case METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL:
        return "образовательной организации";
    default:
        return "—";
    }
}

static const char *s_status_ru(Metodnet__DecisionStatus status)
{
    switch (status) {
    case METODNET__DECISION_STATUS__DECISION_STATUS_IN_PROGRESS:
        return "исполняется";
    case METODNET__DECISION_STATUS__DECISION_STATUS_DONE:
        return "исполнено";
    case METODNET__DECISION_STATUS__DECISION_STATUS_NOT_DONE:
        return "не исполнено";
    default:
        return "поручено";
    }
}

static void s_signature(html_page *p, const char *role, const char *name, const char *signed_on)
{
    char date[40];
    html_raw(p, "<tr><td class=\"role\">");
    html_raw(p, role);
    html_raw(p, "</td><td class=\"line\">&nbsp;</td><td class=\"name\">");
    if (name && *name)
        html_esc(p, name);
    else
        html_raw(p, "____________________");
    html_raw(p, "</td><td class=\"date\">");
    html_raw(p, s_date(signed_on, date, sizeof date));
    html_raw(p, "</td></tr>\n");
}

static void s_render(const protocol_job *job, html_page *p)
{
    const Metodnet__CouncilMeeting *m = job->meeting;
    const Metodnet__Council *c = job->council;
    char date[40];
    html_raw(p, "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Протокол заседания");
    if (m->minutes_number && *m->minutes_number) {
        html_raw(p, " № ");
        html_esc(p, m->minutes_number);
    }
    html_raw(p, ": ");
    html_esc(p, c->name);
    html_raw(p, "</title>\n<style>\n"
                "body{font-family:'PT Serif','Times New Roman',serif;font-size:12pt;margin:2em;color:#000;"
                "line-height:1.35}\n"
                "h1{font-size:15pt;text-align:center;margin:.2em 0}.center{text-align:center}\n"
                "h2{font-size:12.5pt;margin-top:1.3em}\n"
                "table{border-collapse:collapse;width:100%;margin:.4em 0}\n"
                "th,td{border:1px solid #555;padding:3px 6px;vertical-align:top;text-align:left}th{background:#eee}\n"
                "td.n{text-align:right;white-space:nowrap}.muted{color:#555}\n"
                "table.sign td{border:none;padding:1.2em 6px 0 0}table.sign td.line{border-bottom:1px solid #000;"
                "width:30%}table.sign td.role{width:20%}\n"
                "@media print{@page{size:A4 portrait;margin:20mm 15mm 20mm 25mm}body{margin:0}"
                "h2{page-break-after:avoid}tr{page-break-inside:avoid}thead{display:table-header-group}}\n"
                "</style></head><body>\n<p class=\"center\">");
    html_esc(p, c->name);
    html_raw(p, "<br><span class=\"muted\">методический совет, уровень: ");
    html_raw(p, s_level_ru(c->level));
    html_raw(p, "</span></p>\n<h1>ПРОТОКОЛ");
    if (m->minutes_number && *m->minutes_number) {
        html_raw(p, " № ");
        html_esc(p, m->minutes_number);
    }
    html_raw(p, "</h1>\n<p class=\"center\">заседания методического совета</p>\n<table class=\"meta\"><tbody>\n");
    html_raw(p, "<tr><th>Дата</th><td>");
    html_raw(p, s_date(m->held_on, date, sizeof date));
    html_raw(p, "</td></tr>\n<tr><th>Место / форма проведения</th><td>");
    if (m->place && *m->place)
        html_esc(p, m->place);
    else
        html_raw(p, "—");
    html_raw(p, "</td></tr>\n");
    html_fmt(p, "<tr><th>Присутствовали</th><td>%d из %d членов совета</td></tr>\n", (int)m->members_present,
             (int)m->members_total);
    html_raw(p, "<tr><th>Кворум</th><td>");
    html_raw(p, m->quorum ? "есть (присутствует более половины состава)"
                          : "нет (присутствует половина состава или меньше)");
    html_raw(p, "</td></tr>\n");
    if (c->n_external_members > 0) {
        html_raw(p, "<tr><th>Внешние члены совета</th><td>");
        for (size_t i = 0; i < c->n_external_members; i++) {
            const Metodnet__ExternalMember *e = c->external_members[i];
            if (i > 0)
                html_raw(p, "; ");
            html_esc(p, e->full_name);
            if (e->affiliation && *e->affiliation) {
                html_raw(p, " (");
                html_esc(p, e->affiliation);
                html_raw(p, ")");
            }
            if (e->role && *e->role) {
                html_raw(p, " — ");
                html_esc(p, e->role);
            }
        }
        html_raw(p, "</td></tr>\n");
    }
    if (m->n_invited > 0) {
        html_raw(p, "<tr><th>Приглашённые</th><td>");
        for (size_t i = 0; i < m->n_invited; i++) {
            if (i > 0)
                html_raw(p, "; ");
            html_esc(p, m->invited[i]);
        }
        html_raw(p, "</td></tr>\n");
    }
    html_raw(p, "</tbody></table>\n<h2>Повестка и голосование</h2>\n<table><thead><tr><th>№</th><th>Вопрос</th>"
                "<th>Решение</th><th>За</th><th>Против</th><th>Воздержались</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < m->n_agenda; i++) {
        const Metodnet__AgendaItem *a = m->agenda[i];
        html_fmt(p, "<tr><td class=\"n\">%zu</td><td>", i + 1);
        html_esc(p, a->title);
        html_raw(p, "</td><td>");
        if (a->decision && *a->decision)
            html_esc_lines(p, a->decision);
        else
            html_raw(p, "—");
        html_fmt(p, "</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%d</td></tr>\n",
                 (int)a->votes_for, (int)a->votes_against, (int)a->votes_abstained);
    }
    html_raw(p, "</tbody></table>\n");
    if (m->decisions && *m->decisions) {
        html_raw(p, "<h2>Постановили</h2>\n<p>");
        html_esc_lines(p, m->decisions);
        html_raw(p, "</p>\n");
    }
    html_raw(p, "<h2>Решения и рекомендации</h2>\n");
    if (job->n_decisions == 0) {
        html_raw(p, "<p class=\"muted\">Поручений по итогам заседания не записано.</p>\n");
    } else {
        html_raw(p, "<table><thead><tr><th>№</th><th>Вид</th><th>Содержание</th><th>Адресат</th><th>Срок</th>"
                    "<th>Состояние</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < job->n_decisions; i++) {
            const Metodnet__CouncilDecision *d = job->decisions[i];
            html_fmt(p, "<tr><td class=\"n\">%zu</td><td>%s</td><td>", i + 1,
                     d->kind == METODNET__DECISION_KIND__DECISION_KIND_RECOMMENDATION ? "рекомендация" : "решение");
            html_esc_lines(p, d->text);
            html_raw(p, "</td><td>");
            html_esc(p, d->addressee);
            html_raw(p, "</td><td>");
            html_raw(p, s_date(d->due_on, date, sizeof date));
            html_raw(p, "</td><td>");
            html_raw(p, s_status_ru(d->status));
            html_raw(p, "</td></tr>\n");
        }
        html_raw(p, "</tbody></table>\n");
    }
    html_raw(p, "<table class=\"sign\"><tbody>\n");
    s_signature(p, "Председатель", m->chair_name, m->signed_on);
    s_signature(p, "Секретарь", m->secretary_name, m->signed_on);
    html_raw(p, "</tbody></table>\n</body></html>\n");
}

/* Decisions in the order they were taken (ids grow with time). */
static int s_by_id(const void *a, const void *b)
{
    const Metodnet__CouncilDecision *x = *(Metodnet__CouncilDecision *const *)a;
    const Metodnet__CouncilDecision *y = *(Metodnet__CouncilDecision *const *)b;
    size_t lx = strlen(x->id), ly = strlen(y->id);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->id, y->id);
}

static void s_finish(protocol_job *job)
{
    qsort(job->decisions, job->n_decisions, sizeof *job->decisions, s_by_id);
    html_page p = {0};
    s_render(job, &p);
    Metodnet__FileBody file = METODNET__FILE_BODY__INIT;
    file.content.data = (uint8_t *)p.data;
    file.content.len = p.len;
    file.content_type = "text/html; charset=utf-8";
    char name[80];
    snprintf(name, sizeof name, "protocol-%s.html", job->meeting->id);
    file.filename = name;
    Metodnet__CouncilMeetingProtocolResponse response = METODNET__COUNCIL_MEETING_PROTOCOL_RESPONSE__INIT;
    response.file = &file;
    service_call_reply(job->call, &response.base);
    free(p.data);
    s_job_free(job);
}

static void s_decisions_done(entity_result result, const entity_blob *items, size_t n, const char *next_member,
                             const char *error, void *ud)
{
    (void)next_member;
    protocol_job *job = ud;
    if (result != ENTITY_OK) {
        log_error(service_call_request_id(job->call), "протокол: решения не прочитаны: %s", error ? error : "?");
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    job->decisions = xcalloc(n ? n : 1, sizeof *job->decisions);
    for (size_t i = 0; i < n; i++) {
        Metodnet__CouncilDecision *d = metodnet__council_decision__unpack(NULL, items[i].len, items[i].data);
        if (d && strcmp(d->meeting_id, job->meeting->id) == 0 &&
            registry_allows(&registry_decision_kind, service_call_caller(job->call), &d->base, SCOPE_READ))
            job->decisions[job->n_decisions++] = d;
        else if (d)
            metodnet__council_decision__free_unpacked(d, NULL);
    }
    s_finish(job);
}

static void s_council_done(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                           void *ud)
{
    (void)version;
    protocol_job *job = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, registry_council_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK || (job->council = metodnet__council__unpack(NULL, len, data)) == NULL) {
        log_error(service_call_request_id(job->call), "протокол: совет не прочитан: %s", error ? error : "повреждён");
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    char index[REGISTRY_KEY_MAX], prefix[REGISTRY_KEY_MAX];
    snprintf(index, sizeof index, "reg:{r:%s}:ix:decision:meeting:%s", job->region, job->meeting->id);
    registry_key_prefix(&registry_decision_kind, job->region, prefix, sizeof prefix);
    entity_list_query q = {.index_key = index, .entity_key_prefix = prefix, .limit = S_MAX_DECISIONS};
    if (entity_store_list(job->store, &q, s_decisions_done, job) != 0)
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

static void s_meeting_done(entity_result result, const uint8_t *data, size_t len, int64_t version, const char *error,
                           void *ud)
{
    (void)version;
    protocol_job *job = ud;
    if (result == ENTITY_NOT_FOUND) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, registry_meeting_kind.not_found_ru);
        return;
    }
    if (result != ENTITY_OK || (job->meeting = metodnet__council_meeting__unpack(NULL, len, data)) == NULL) {
        log_error(service_call_request_id(job->call), "протокол: заседание не прочитано: %s",
                  error ? error : "повреждено");
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
        return;
    }
    if (!registry_allows(&registry_meeting_kind, service_call_caller(job->call), &job->meeting->base, SCOPE_READ)) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, registry_meeting_kind.not_found_ru);
        return;
    }
    if (job->meeting->status == METODNET__MEETING_STATUS__MEETING_STATUS_PLANNED) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_CONFLICT,
               "Заседание ещё не проведено: протокол оформляется после заседания (отметьте его проведённым: "
               "status = held)");
        return;
    }
    char key[REGISTRY_KEY_MAX];
    if (!registry_entity_key(&registry_council_kind, job->meeting->council_id, key, sizeof key)) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, registry_council_kind.not_found_ru);
        return;
    }
    if (entity_store_get(job->store, key, s_council_done, job) != 0)
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}

void registry_meeting_protocol(service_call *call, const ProtobufCMessage *request, entity_store *store)
{
    const Metodnet__GetRequest *req = (const Metodnet__GetRequest *)request;
    protocol_job *job = xcalloc(1, sizeof *job);
    job->call = call;
    job->store = store;
    char key[REGISTRY_KEY_MAX];
    if (req->id == NULL || !registry_entity_key(&registry_meeting_kind, req->id, key, sizeof key) ||
        !registry_region_of(req->id, job->region, sizeof job->region)) {
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_NOT_FOUND, registry_meeting_kind.not_found_ru);
        return;
    }
    if (entity_store_get(store, key, s_meeting_done, job) != 0)
        s_fail(job, METODNET__STATUS_CODE__STATUS_CODE_UNAVAILABLE, s_unavailable_ru);
}
