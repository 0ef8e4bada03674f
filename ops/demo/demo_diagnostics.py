"""demo_diagnostics — the diagnostics part of the demo district (loaded by demo_district.py after the
mentoring part; issue 12): the district's own self-diagnostic campaign run by the municipality and filled
by nomination (the first school nominates its teachers, 001 п.14.1), answers of six of them (so the
summary of deficits GET /api/v1/diagnostics/deficits has something to rank), and two routes: the demo
teacher's (uchitel.sosh1) with a tutor, proposed and waiting for their agreement, and a colleague's,
approved, its first programme done and confirmed (a qualification record). Dates are the real today's
(a campaign opens only within its window). What exists (the campaign by title) is kept: a re-run adds
nothing."""

import datetime
import hashlib

CAMPAIGN_TITLE = "Самодиагностика профессиональных дефицитов учителей Терского района"
INSTRUMENT = {
    "title": "Самодиагностика учителя: методика, оценивание, цифровая среда, предмет",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.method.1", "kind": "single_choice",
         "text": "С чего начинается урок открытия нового знания?",
         "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                     {"id": "b", "text": "С мотивации и актуализации знаний", "points": 2}]},
        {"id": "q2", "competence": "t.assess.1", "kind": "multiple_choice", "maxPoints": 2,
         "text": "Что относится к формирующему оцениванию?",
         "options": [{"id": "a", "text": "Обратная связь по критериям", "points": 1},
                     {"id": "b", "text": "Самооценка по рубрике", "points": 1},
                     {"id": "c", "text": "Итоговая отметка за четверть", "points": -1}]},
        {"id": "q3", "competence": "t.digital.1", "kind": "scale", "scaleMin": 1, "scaleMax": 5,
         "text": "Насколько уверенно вы работаете в ФГИС «Моя школа»?"},
    ],
}
# six answer sheets: each gives a different mix of deficits (t.digital.1 the most common)
ANSWERS = [("a", "c", 1), ("b", "c", 2), ("a", "ab", 1), ("b", "a", 5), ("a", "c", 2), ("b", "ab", 1)]


def _ok(status, payload, what):
    if status not in (200, 201):
        message = (payload or {}).get("error", {}).get("message", "") if isinstance(payload, dict) else ""
        raise RuntimeError(f"{what}: HTTP {status}: {message}")
    return payload


def _call(api, method, path, body, what):
    """One change; with an Idempotency-Key, so a throttled (429) or unavailable (503) answer is retried
    by the Api without doing the change twice."""
    digest = hashlib.sha256(f"{method} {path} {body!r}".encode()).hexdigest()
    return _ok(*api.request(method, path, body, idempotency_key=f"demo-diag-{digest[:40]}"), what)


def load_diagnostics(api, create, mun_id, org_ids, say):
    """create(api, path, kind, body) → the created record (demo_district._create)."""
    school = org_ids[0]
    teachers = [s["id"] for s in api.list_all("/api/v1/staff", organizationId=school, category="teacher")]
    found = [c for c in api.list_all("/api/v1/diagnostics/campaigns", regionId="07") if c["title"] == CAMPAIGN_TITLE]
    if found:
        say("Диагностика: кампания района уже есть")
        return {"diagnosticsCampaignId": found[0]["id"], "routeStaffIds": teachers[:2]}
    instrument = create(api, "/api/v1/instruments", "instrument", INSTRUMENT)
    today = datetime.date.today()
    campaign = create(api, "/api/v1/diagnostics/campaigns", "campaign", {
        "title": CAMPAIGN_TITLE, "instrumentId": instrument["id"], "kind": "self", "municipalityId": mun_id,
        "byNomination": True, "startsOn": today.isoformat(), "endsOn": (today + datetime.timedelta(days=60)).isoformat(),
        "target": {"municipalityIds": [mun_id], "categories": ["teacher"]}})
    cid = campaign["id"]
    _call(api, "POST", f"/api/v1/diagnostics/campaigns/{cid}/open", None, "открытие кампании")
    nominees = teachers[:8]
    _call(api, "POST", f"/api/v1/diagnostics/campaigns/{cid}/nominations", {"staffIds": nominees},
          "выдвижение школы")
    for staff, (q1, q2, q3) in zip(nominees, ANSWERS):
        attempt = _call(api, "POST", "/api/v1/diagnostics/attempts", {"campaignId": cid, "staffId": staff},
                        "начало диагностики")
        answers = [{"itemId": "q1", "optionIds": [q1]}, {"itemId": "q2", "optionIds": list(q2)},
                   {"itemId": "q3", "value": q3}]
        _call(api, "POST", f"/api/v1/diagnostics/attempts/{attempt['id']}/submit", {"answers": answers},
              "сдача диагностики")
    # the demo teacher's route: a tutor, proposed, waiting for the teacher's agreement
    first, second = nominees[0], nominees[1]
    _call(api, "POST", f"/api/v1/staff/{first}/route", {"startsOn": today.isoformat()}, "маршрут")
    _call(api, "PATCH", f"/api/v1/staff/{first}/route", {"tutorStaffId": nominees[-1]}, "тьютор маршрута")
    _call(api, "POST", f"/api/v1/staff/{first}/route/propose", None, "маршрут предложен педагогу")
    # a colleague's: approved, the first programme done and confirmed by the methodological service
    route = _call(api, "POST", f"/api/v1/staff/{second}/route", {"startsOn": today.isoformat()}, "маршрут 2")
    _call(api, "POST", f"/api/v1/staff/{second}/route/approve", None, "утверждение маршрута")
    programmes = [i for i in route.get("items", []) if i["kind"] == "programme"]
    if programmes:
        _call(api, "POST", f"/api/v1/staff/{second}/route/items/{programmes[0]['id']}/status",
              {"status": "done", "documentNumber": "072400017001",
               "evidenceName": "Удостоверение о повышении квалификации № 072400017001"}, "пункт выполнен")
    say(f"Диагностика: кампания района, выдвинуто {len(nominees)}, сдали {min(len(nominees), len(ANSWERS))}, "
        "два маршрута")
    return {"diagnosticsCampaignId": cid, "routeStaffIds": [first, second]}
