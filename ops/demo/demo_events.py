#!/usr/bin/env python3
"""demo_events — the demo district's events (after demo_district.py, the same way): the municipal plan of
events for the school year approved by the education authority's order, a handful of its events (a
seminar, a master class with few seats and a waitlist, the «Единый методический день», a webinar that is
on now, a contest) and one regional conference with per-municipality quotas; teachers registered, the
webinar's attendance marked. Dates are relative to today (a published event must not be over).

Loading reconciles: the plan is found by title, events by title, registrations by person (the service
refuses a second one), so a second run creates nothing. Python 3 standard library only.

    demo_events.py [--base-url http://127.0.0.1:8080] [--login admin] [--password-file FILE]
"""

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_district import MUNICIPALITY_NAME, REGION, Api, ApiError, _create, _key, _message  # noqa: E402

PLAN_TITLE = "План методических мероприятий Терского муниципального района"

# (title, type, level, days from today to the start, hours, seats, competences, subjects, registered)
EVENTS = [
    ("Семинар «Формирующее оценивание на уроках математики»", "seminar", "municipal", 14, 3, 40,
     ["t.assess.1", "t.assess.2"], ["mathematics"], 12),
    ("Мастер-класс «Смысловое чтение на уроках литературы»", "master_class", "municipal", 21, 2, 8,
     ["t.method.2"], ["russian_language", "literature"], 11),
    ("Единый методический день «Функциональная грамотность»", "methodical_day", "municipal", 35, 6, 0,
     ["t.subject.2", "t.comm.1"], [], 15),
    ("Вебинар «ФГИС „Моя школа“: цифровые инструменты учителя»", "webinar", "municipal", 0, 26, 0,
     ["t.digital.1"], [], 6),
    ("Муниципальный этап конкурса «Учитель года»", "contest", "municipal", 60, 8, 20, ["t.method.1"], [], 4),
]
REGIONAL = ("Региональная конференция «Наставничество в образовании»", "conference", "regional", 45, 6, 60,
            ["t.comm.2"], [], 5)


def _when(days, hours):
    tz = datetime.timezone(datetime.timedelta(hours=3))
    now = datetime.datetime.now(tz).replace(minute=0, second=0, microsecond=0)
    start = now - datetime.timedelta(hours=1) if days == 0 else (now + datetime.timedelta(days=days)).replace(hour=10)
    return start.isoformat(), (start + datetime.timedelta(hours=hours)).isoformat()


def _event_body(spec, mun_id, plan_id, org_id):
    title, kind, level, days, hours, seats, competences, subjects, _ = spec
    starts, ends = _when(days, hours)
    body = {"type": kind, "level": level, "title": title, "startsAt": starts, "endsAt": ends, "capacity": seats,
            "competences": competences, "audience": {"subjects": subjects}, "organizerOrganizationId": org_id}
    if kind == "webinar":
        body["onlineUrl"] = "https://vks.example.ru/terek/webinar"
    else:
        body["venue"] = "МКОУ «Лицей № 1» г.п. Терек, актовый зал"
    if level == "regional":
        body["quotas"] = [{"municipalityId": mun_id, "seats": 10}]
    else:
        body["municipalityId"] = mun_id
        body["planId"] = plan_id
    return body


def load(api, say=lambda m: print(m, file=sys.stderr, flush=True)):
    region = REGION["id"]
    muns = [m for m in api.list_all("/api/v1/municipalities", regionId=region) if m["name"] == MUNICIPALITY_NAME]
    if not muns:
        raise ApiError("нет демонстрационного района: сначала demo_district.py")
    mun_id = muns[0]["id"]
    orgs = {o["name"]: o["id"] for o in api.list_all("/api/v1/organizations", municipalityId=mun_id)}
    organizer = orgs.get("МКОУ «Лицей № 1» г.п. Терек") or next(iter(orgs.values()))
    teachers = api.list_all("/api/v1/staff", municipalityId=mun_id, category="teacher")
    by_subject = {}
    for t in sorted(teachers, key=lambda s: s["id"]):
        for subject in t.get("subjects") or []:
            by_subject.setdefault(subject, []).append(t["id"])

    plans = [p for p in api.list_all("/api/v1/event-plans", municipalityId=mun_id) if p["title"] == PLAN_TITLE]
    year = datetime.date.today().year if datetime.date.today().month >= 8 else datetime.date.today().year - 1
    if plans:
        plan = plans[0]
    else:
        plan = _create(api, "/api/v1/event-plans", "event-plan", {
            "level": "municipal", "municipalityId": mun_id, "year": year, "title": PLAN_TITLE})
    if plan["status"] != "approved":
        order_date = datetime.date.today().isoformat()
        body = {"orderNumber": "214-о", "orderDate": order_date}
        status, payload = api.request("POST", f"/api/v1/event-plans/{plan['id']}/approve", body,
                                      idempotency_key=_key("approve", dict(body, id=plan["id"])))
        if status != 200:
            raise ApiError(f"утверждение плана: HTTP {status}: {_message(payload)}")
    say(f"План мероприятий {plan['id']} утверждён")

    existing = {e["title"]: e for e in api.list_all("/api/v1/events", regionId=region)}
    made = registered = 0
    result = {"planId": plan["id"], "eventIds": []}
    for spec in EVENTS + [REGIONAL]:
        title, wanted = spec[0], spec[8]
        e = existing.get(title)
        if e is None:
            e = _create(api, "/api/v1/events", "event", _event_body(spec, mun_id, plan["id"], organizer))
            made += 1
        if e["status"] == "draft":
            status, payload = api.request("POST", f"/api/v1/events/{e['id']}/publish", {},
                                          idempotency_key=_key("publish", {"id": e["id"]}))
            if status != 200:
                raise ApiError(f"публикация «{title}»: HTTP {status}: {_message(payload)}")
            e = payload
        result["eventIds"].append(e["id"])
        subjects = spec[7] or ["mathematics", "russian_language", "physics", "history"]
        people = [p for s in subjects for p in by_subject.get(s, [])]
        people = sorted(set(people), key=people.index)[:wanted]
        have = {g["staffId"] for g in api.list_all(f"/api/v1/events/{e['id']}/registrations")}
        for staff_id in people:
            if staff_id in have:
                continue
            body = {"staffId": staff_id}
            status, payload = api.request("POST", f"/api/v1/events/{e['id']}/registrations", body,
                                          idempotency_key=_key("registration", dict(body, event=e["id"])))
            if status != 201:
                raise ApiError(f"запись на «{title}»: HTTP {status}: {_message(payload)}")
            registered += 1
        if spec[1] == "webinar":
            regs = api.list_all(f"/api/v1/events/{e['id']}/registrations", status="registered")
            marks = [{"registrationId": g["id"], "attended": i % 5 != 4} for i, g in enumerate(regs)]
            if marks:
                status, payload = api.request("POST", f"/api/v1/events/{e['id']}/attendance", {"marks": marks},
                                              idempotency_key=_key("attendance", {"event": e["id"], "marks": marks}))
                if status != 200:
                    raise ApiError(f"посещение «{title}»: HTTP {status}: {_message(payload)}")
    say(f"Мероприятий: {len(result['eventIds'])} (создано сейчас {made}), записей создано сейчас {registered}")
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description="Мероприятия демонстрационного Терского района: загрузка через API")
    p.add_argument("--base-url", default=os.environ.get("METODNET_BASE_URL", "http://127.0.0.1:%s" %
                                                        os.environ.get("METODNET_HTTP_PORT", "8080")))
    p.add_argument("--login", default=os.environ.get("METODNET_LOGIN"),
                   help="вход администратора региона 07 (иначе токен из METODNET_API_TOKEN)")
    p.add_argument("--password-file", metavar="FILE", help="файл с паролем (иначе переменная METODNET_PASSWORD)")
    args = p.parse_args(argv)
    api = Api(args.base_url, token=os.environ.get("METODNET_API_TOKEN"))
    try:
        if args.login:
            if args.password_file:
                with open(args.password_file, encoding="utf-8") as f:
                    password = f.readline().rstrip("\r\n")
            else:
                password = os.environ.get("METODNET_PASSWORD", "")
            api.login(args.login, password)
        load(api)
    except ApiError as e:
        print(f"[ОШИБКА] {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
