"""test_events — the events service end to end over HTTP against a real stack (gateway, auth, registry,
diagnostics, events, Redis): the yearly plan drafted, approved by an order and changed with a reason
(a revision each time); events drafted, published, changed, cancelled and finished with their
DomainEvents on ev:{r:07}:events; who reads what (a draft only its organizers, a municipal event only
its municipality, a regional one everybody of the region); capacity and the waitlist under 50
concurrent registrations for 10 seats (exactly 10 registered, the rest in order on the waitlist,
promotion on cancel, positions closed up); once per person; the audience rule with the organizer's
override; attendance in bulk, which closes the person's route item of kind event in diagnostics; the
lists' filters and the CSV of participants."""

import datetime
import itertools
import os
import re
import shutil
import subprocess
import unittest
import urllib.parse

from harness import StackTestCase, run_concurrently

REGION = "07"
_n = itertools.count(1)


def iso(dt):
    return dt.replace(microsecond=0).isoformat()


class EventsTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": name, "kind": "district"}))
                   for name in ("Терский район", "Баксанский район")]
        cls.org = [cls._created(s.post("/api/v1/organizations", {
            "municipalityId": m["id"], "name": f"МКОУ СОШ № {i + 1}", "kind": "school"})) for i, m in enumerate(cls.mun)]
        cls.staff_a = [cls._created(s.post("/api/v1/staff", cls._staff(cls.org[0]["id"], i, "mathematics")))
                       for i in range(60)]
        cls.russian_a = cls._created(s.post("/api/v1/staff", cls._staff(cls.org[0]["id"], 100, "russian_language")))
        cls.staff_b = [cls._created(s.post("/api/v1/staff", cls._staff(cls.org[1]["id"], 200 + i, "mathematics")))
                       for i in range(3)]
        now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=3)))
        cls.soon = iso(now + datetime.timedelta(days=10))
        cls.soon_end = iso(now + datetime.timedelta(days=10, hours=3))
        cls.started = iso(now - datetime.timedelta(hours=1))
        cls.tomorrow = iso(now + datetime.timedelta(days=1))

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    @staticmethod
    def _staff(org_id, i, subject):
        return {"lastName": f"Шогенова{i}", "firstName": "Залина", "middleName": "Борисовна", "birthDate": "1990-04-12",
                "professionStartDate": "2012-09-01", "position": "teacher", "category": "teacher",
                "subjects": [subject], "organizationIds": [org_id]}

    def user_token(self, role, scope_kind, scope_id, staff_id=None):
        login = f"ev{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        body = {"login": login, "password": password, "fullName": "Пользователь теста", "role": role,
                "scope": {"kind": scope_kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        r = self.stack.post("/api/v1/users", body)
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def methodologist(self, i=0):
        return self.user_token("municipal_methodologist", "municipality", self.mun[i]["id"])

    def teacher(self, staff):
        return self.user_token("teacher", "self", staff["id"], staff["id"])

    def event_body(self, **over):
        body = {"type": "seminar", "level": "municipal", "municipalityId": self.mun[0]["id"],
                "title": "Формирующее оценивание на уроках математики", "startsAt": self.soon, "endsAt": self.soon_end,
                "venue": "МКОУ СОШ № 1, актовый зал", "capacity": 0, "competences": ["t.assess.1"],
                "audience": {"subjects": ["mathematics"]}}
        body.update(over)
        return body

    def published(self, token, **over):
        e = self._created(self.stack.post("/api/v1/events", self.event_body(**over), token=token))
        self.assertEqual(e["status"], "draft")
        r = self.stack.post(f"/api/v1/events/{e['id']}/publish", {}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "published")
        return r.json

    def stream_types(self):
        """The DomainEvent types on the region's stream (each entry's field "event" is a packed
        DomainEvent whose field 1 is its type)."""
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        env = dict(os.environ, REDISCLI_AUTH=self.stack.redis_passwords["ops"])
        out = subprocess.run([cli, "--no-auth-warning", "--user", "ops", "-h", "127.0.0.1", "-p",
                              str(self.stack.redis_port), "--raw", "XRANGE", "ev:{r:%s}:events" % REGION, "-", "+"],
                             env=env, capture_output=True, timeout=10).stdout
        types = set()
        for m in re.finditer(rb"(?=\x0a([\x01-\x7f]))", out):
            n = m.group(1)[0]
            word = out[m.start() + 2:m.start() + 2 + n]
            if re.fullmatch(rb"[a-zA-Z]+\.[a-z]+", word):
                types.add(word.decode())
        return types

    # ---- plans ----

    def test_plan_approved_then_changed_with_reason(self):
        m = self.methodologist()
        plan = self._created(self.stack.post("/api/v1/event-plans", {
            "level": "municipal", "municipalityId": self.mun[0]["id"], "year": 2026,
            "title": "План мероприятий Терского района на 2026/27 учебный год"}, token=m))
        self.assertEqual(plan["status"], "draft")
        self.assertRegex(plan["id"], r"^07-y\d+$")
        # a draft changes freely
        r = self.stack.patch(f"/api/v1/event-plans/{plan['id']}", {"title": "План мероприятий ММС Терского района"},
                             token=m)
        self.assertEqual(r.status, 200, r)
        # approval needs the order
        r = self.stack.post(f"/api/v1/event-plans/{plan['id']}/approve", {"orderNumber": "", "orderDate": "2026-08-30"},
                            token=m)
        self.assertJsonError(r, 400)
        r = self.stack.post(f"/api/v1/event-plans/{plan['id']}/approve",
                            {"orderNumber": "145-о", "orderDate": "2025-08-30"}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "approved")
        self.assertEqual(r.json["orderNumber"], "145-о")
        self.assertTrue(r.json["approvedBy"])
        approved = r.json
        r = self.stack.post(f"/api/v1/event-plans/{plan['id']}/approve",
                            {"orderNumber": "146-о", "orderDate": "2025-08-30"}, token=m)
        self.assertJsonError(r, 409)
        # a change after approval: only with a reason, and it is a revision
        r = self.stack.patch(f"/api/v1/event-plans/{plan['id']}", {"title": "План (ред. 2)"}, token=m)
        err = self.assertJsonError(r, 400)
        self.assertIn("changeReason", str(err))
        self.assertEqual(self.stack.get(f"/api/v1/event-plans/{plan['id']}", token=m).json["version"],
                         approved["version"])
        version = int(approved["version"])
        r = self.stack.patch(f"/api/v1/event-plans/{plan['id']}",
                             {"title": "План (ред. 2)", "changeReason": "Перенос семинара на ноябрь"}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(int(r.json["version"]), version + 1)
        self.assertEqual(len(r.json["revisions"]), 1)
        self.assertEqual(r.json["revisions"][0]["reason"], "Перенос семинара на ноябрь")
        self.assertEqual(int(r.json["revisions"][0]["planVersion"]), version + 1)
        self.assertEqual(r.json.get("changeReason", ""), "")
        # the order cannot be rewritten by a patch
        r = self.stack.patch(f"/api/v1/event-plans/{plan['id']}", {"orderNumber": "1", "changeReason": "x"}, token=m)
        self.assertJsonError(r, 400)
        types = self.stream_types()
        self.assertIn("eventPlan.approved", types)
        self.assertIn("eventPlan.changed", types)
        # the approved plan is read by a school of the municipality and a teacher there, not by the other one
        self.assertEqual(self.stack.get(f"/api/v1/event-plans/{plan['id']}", token=self.teacher(self.staff_a[0])).status,
                         200)
        self.assertEqual(self.stack.get(f"/api/v1/event-plans/{plan['id']}", token=self.teacher(self.staff_b[0])).status,
                         404)
        # an event of the plan keeps it
        self._created(self.stack.post("/api/v1/events", self.event_body(planId=plan["id"]), token=m))
        r = self.stack.delete(f"/api/v1/event-plans/{plan['id']}", token=m)
        self.assertJsonError(r, 409)
        # another municipality's methodologist does not write it
        r = self.stack.patch(f"/api/v1/event-plans/{plan['id']}", {"title": "чужой", "changeReason": "x"},
                             token=self.methodologist(1))
        self.assertIn(r.status, (403, 404), r)

    # ---- events: lifecycle and who reads them ----

    def test_event_lifecycle_and_scope(self):
        m = self.methodologist()
        ta, tb = self.teacher(self.staff_a[1]), self.teacher(self.staff_b[1])
        draft = self._created(self.stack.post("/api/v1/events", self.event_body(title="Мастер-класс «Урок-исследование»",
                                                                               type="master_class"), token=m))
        self.assertRegex(draft["id"], r"^07-e\d+$")
        self.assertEqual(self.stack.get(f"/api/v1/events/{draft['id']}", token=ta).status, 404)
        r = self.stack.post(f"/api/v1/events/{draft['id']}/registrations", {}, token=ta)
        self.assertJsonError(r, 404)
        r = self.stack.post(f"/api/v1/events/{draft['id']}/publish", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["publishedAt"])
        e = r.json
        self.assertEqual(self.stack.get(f"/api/v1/events/{e['id']}", token=ta).status, 200)
        self.assertEqual(self.stack.get(f"/api/v1/events/{e['id']}", token=tb).status, 404)
        ids_b = {x["id"] for x in self.stack.get("/api/v1/events?limit=500", token=tb).json["items"]}
        self.assertNotIn(e["id"], ids_b)
        # a teacher does not publish, change or cancel
        self.assertEqual(self.stack.patch(f"/api/v1/events/{e['id']}", {"title": "x"}, token=ta).status, 403)
        # a change of a published event is event.changed
        r = self.stack.patch(f"/api/v1/events/{e['id']}", {"venue": "МКОУ СОШ № 1, кабинет 12"}, token=m)
        self.assertEqual(r.status, 200, r)
        r = self.stack.post(f"/api/v1/events/{e['id']}/publish", {}, token=m)
        self.assertJsonError(r, 409)
        r = self.stack.delete(f"/api/v1/events/{e['id']}", token=m)
        self.assertJsonError(r, 409)
        r = self.stack.post(f"/api/v1/events/{e['id']}/cancel", {"reason": ""}, token=m)
        self.assertJsonError(r, 400)
        r = self.stack.post(f"/api/v1/events/{e['id']}/cancel", {"reason": "Карантин в школе"}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "cancelled")
        self.assertEqual(self.stack.patch(f"/api/v1/events/{e['id']}", {"title": "x"}, token=m).status, 409)
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {}, token=ta)
        self.assertJsonError(r, 409)
        # a regional event is read by everybody of the region
        reg = self._created(self.stack.post("/api/v1/events", self.event_body(
            level="regional", municipalityId="", title="Региональная конференция «Учитель года»", type="conference",
            quotas=[{"municipalityId": self.mun[0]["id"], "seats": 5}], capacity=20)))
        self._created(self.stack.post(f"/api/v1/events/{reg['id']}/publish", {}))
        self.assertEqual(self.stack.get(f"/api/v1/events/{reg['id']}", token=tb).status, 200)
        ids_b = {x["id"] for x in self.stack.get(f"/api/v1/events?municipalityId={self.mun[1]['id']}&limit=500",
                                                 token=tb).json["items"]}
        self.assertIn(reg["id"], ids_b)
        # a finished event: one that has started
        started = self.published(m, title="Педагогические чтения", type="pedagogical_readings", startsAt=self.started,
                                 endsAt=self.tomorrow)
        r = self.stack.post(f"/api/v1/events/{started['id']}/finish", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "finished")
        types = self.stream_types()
        for t in ("event.published", "event.changed", "event.cancelled", "event.finished"):
            self.assertIn(t, types)

    def test_event_validation_refused_in_russian(self):
        m = self.methodologist()
        for bad in ({"type": ""}, {"endsAt": "2020-01-01T00:00:00+03:00"}, {"venue": "", "onlineUrl": "ftp://x"},
                    {"capacity": -1}, {"quotas": [{"municipalityId": self.mun[0]["id"], "seats": 3}]},
                    {"audience": {"subjects": ["astrology"]}}, {"level": "institutional"}):
            r = self.stack.post("/api/v1/events", self.event_body(**bad), token=m)
            self.assertJsonError(r, 400, f"{bad}: {r!r}")
        r = self.stack.post("/api/v1/events", self.event_body(level="institutional", municipalityId="",
                                                              organizerOrganizationId="07-o999"), token=m)
        self.assertJsonError(r, 400)
        # a school event lies in the school's municipality
        e = self._created(self.stack.post("/api/v1/events", self.event_body(
            level="institutional", municipalityId="", organizerOrganizationId=self.org[0]["id"], type="open_lesson",
            title="Открытый урок геометрии"), token=m))
        self.assertEqual(e["municipalityId"], self.mun[0]["id"])

    # ---- registrations ----

    def test_capacity_and_waitlist_under_concurrency(self):
        m = self.methodologist()
        e = self.published(m, capacity=10, title="Практико-ориентированный семинар", type="practice_seminar")
        people = self.staff_a[:50]

        def register(staff):
            return self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": staff["id"]}, token=m)

        results = run_concurrently(register, [(p,) for p in people], workers=50)
        for r in results:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r.status, 201, r)
        regs = [r.json for r in results]
        registered = [g for g in regs if g["status"] == "registered"]
        waiting = sorted((g for g in regs if g["status"] == "waitlisted"), key=lambda g: g["waitlistPosition"])
        self.assertEqual(len(registered), 10)
        self.assertEqual(len(waiting), 40)
        self.assertEqual([g["waitlistPosition"] for g in waiting], list(range(1, 41)))
        ev = self.stack.get(f"/api/v1/events/{e['id']}", token=m).json
        self.assertEqual((ev["registeredCount"], ev["waitlistedCount"]), (10, 40))
        listed, _ = self.stack.list_all(f"events/{e['id']}/registrations", status="registered")
        self.assertEqual(len(listed), 10)
        # once per person
        r = register(people[0])
        self.assertJsonError(r, 409)
        # a registered person cancels: the first in line takes the seat, the line closes up
        victim = registered[0]
        r = self.stack.post(f"/api/v1/registrations/{victim['id']}/cancel", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "cancelled")
        first = self.stack.get(f"/api/v1/registrations/{waiting[0]['id']}", token=m).json
        self.assertEqual(first["status"], "registered")
        self.assertEqual(first.get("waitlistPosition", 0), 0)
        second = self.stack.get(f"/api/v1/registrations/{waiting[1]['id']}", token=m).json
        self.assertEqual((second["status"], second["waitlistPosition"]), ("waitlisted", 1))
        ev = self.stack.get(f"/api/v1/events/{e['id']}", token=m).json
        self.assertEqual((ev["registeredCount"], ev["waitlistedCount"]), (10, 39))
        # a waitlisted one cancels: nobody promoted, positions contiguous again
        r = self.stack.post(f"/api/v1/registrations/{waiting[5]['id']}/cancel", {}, token=m)
        self.assertEqual(r.status, 200, r)
        still = [self.stack.get(f"/api/v1/registrations/{g['id']}", token=m).json for g in waiting[1:] if g is not waiting[5]]
        self.assertEqual([g["waitlistPosition"] for g in still], list(range(1, 39)))
        ev = self.stack.get(f"/api/v1/events/{e['id']}", token=m).json
        self.assertEqual((ev["registeredCount"], ev["waitlistedCount"]), (10, 38))
        r = self.stack.post(f"/api/v1/registrations/{victim['id']}/cancel", {}, token=m)
        self.assertJsonError(r, 409)
        # more seats: the first in line are promoted at once, the line closes up
        before = self.stack.get(f"/api/v1/events/{e['id']}", token=m).json
        r = self.stack.patch(f"/api/v1/events/{e['id']}", {"capacity": 12}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["registeredCount"], r.json["waitlistedCount"]), (12, 36))
        self.assertEqual(r.header("ETag"), '"%s"' % r.json["version"])
        self.assertGreater(int(r.json["version"]), int(before["version"]) + 1)
        line = [self.stack.get(f"/api/v1/registrations/{g['id']}", token=m).json for g in still]
        self.assertEqual([g["status"] for g in line[:2]], ["registered", "registered"])
        self.assertEqual([g["waitlistPosition"] for g in line[2:]], list(range(1, 37)))
        # the one who cancelled may register again: at the end of the line
        r = register(people[[p["id"] for p in people].index(victim["staffId"])])
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["status"], r.json["waitlistPosition"]), ("waitlisted", 37))
        # the teacher themself: sees their own, cancels their own; not someone else's
        me = self.staff_a[55]
        tok = self.teacher(me)
        mine = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {}, token=tok)
        self.assertEqual(mine.status, 201, mine)
        self.assertEqual(mine.json["staffId"], me["id"])
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_a[56]["id"]}, token=tok)
        self.assertJsonError(r, 403)
        self.assertEqual(self.stack.get(f"/api/v1/registrations/{registered[1]['id']}", token=tok).status, 404)
        r = self.stack.post(f"/api/v1/registrations/{registered[1]['id']}/cancel", {}, token=tok)
        self.assertJsonError(r, 404)
        own = self.stack.get(f"/api/v1/staff/{me['id']}/registrations", token=tok)
        self.assertEqual(own.status, 200, own)
        self.assertEqual([g["id"] for g in own.json["items"]], [mine.json["id"]])
        r = self.stack.post(f"/api/v1/registrations/{mine.json['id']}/cancel", {}, token=tok)
        self.assertEqual(r.status, 200, r)
        # the teacher of the other municipality does not see the list
        r = self.stack.get(f"/api/v1/events/{e['id']}/registrations", token=self.teacher(self.staff_b[0]))
        self.assertJsonError(r, 404)

    def test_quota_of_a_municipality(self):
        e = self.published(True, level="regional", municipalityId="", capacity=4, title="Форум молодых педагогов",
                           type="forum", quotas=[{"municipalityId": self.mun[1]["id"], "seats": 1}])
        r1 = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_b[0]["id"]})
        r2 = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_b[1]["id"]})
        r3 = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_a[57]["id"]})
        self.assertEqual([r.json["status"] for r in (r1, r2, r3)], ["registered", "waitlisted", "registered"])
        # B's seat freed: B's next takes it, not someone of A
        r = self.stack.post(f"/api/v1/registrations/{r1.json['id']}/cancel", {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.get(f"/api/v1/registrations/{r2.json['id']}").json["status"], "registered")

    def test_audience_rule_and_override(self):
        m = self.methodologist()
        e = self.published(m, title="Семинар учителей русского языка", audience={"subjects": ["russian_language"]})
        tok = self.teacher(self.staff_a[58])
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {}, token=tok)
        err = self.assertJsonError(r, 422)
        self.assertIn("предмет", err["message"])
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"audienceOverride": True}, token=tok)
        self.assertJsonError(r, 403)
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.russian_a["id"]}, token=m)
        self.assertEqual(r.status, 201, r)
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations",
                            {"staffId": self.staff_a[58]["id"], "audienceOverride": True}, token=m)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["audienceOverride"])
        # a municipal event is for its municipality
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_b[2]["id"]}, token=m)
        self.assertIn(r.status, (400, 422), r)
        # unknown people and malformed ids
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": "07-s99999"}, token=m)
        self.assertJsonError(r, 400)
        r = self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": "нет"}, token=m)
        self.assertJsonError(r, 400)

    # ---- attendance, route items, participants CSV ----

    def test_attendance_closes_route_item_and_csv(self):
        m = self.methodologist()
        e = self.published(m, title="Вебинар «Цифровые инструменты»", type="webinar", venue="", startsAt=self.started,
                           endsAt=self.tomorrow, onlineUrl="https://vks.example.ru/room/12", capacity=2)
        people = self.staff_a[40:43]
        regs = [self._created(self.stack.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": p["id"]},
                                              token=m)) for p in people]
        self.assertEqual([g["status"] for g in regs], ["registered", "registered", "waitlisted"])
        r = self.stack.post(f"/api/v1/events/{e['id']}/attendance", {"marks": [
            {"registrationId": regs[0]["id"], "attended": True}, {"registrationId": regs[1]["id"], "attended": False},
            {"registrationId": regs[2]["id"], "attended": True}]}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([g["status"] for g in r.json["items"]], ["attended", "absent"])
        self.assertEqual([f["registrationId"] for f in r.json["failures"]], [regs[2]["id"]])
        # a teacher does not mark attendance
        r = self.stack.post(f"/api/v1/events/{e['id']}/attendance", {"marks": [
            {"registrationId": regs[0]["id"], "attended": False}]}, token=self.teacher(people[0]))
        self.assertJsonError(r, 403)
        r = self.stack.post(f"/api/v1/events/{e['id']}/attendance", {"marks": []}, token=m)
        self.assertJsonError(r, 400)
        # attended: no longer cancellable
        r = self.stack.post(f"/api/v1/registrations/{regs[0]['id']}/cancel", {}, token=m)
        self.assertJsonError(r, 409)
        r = self.stack.get(f"/api/v1/events/{e['id']}/registrations.csv", token=m)
        self.assertEqual(r.status, 200, r)
        text = r.body.decode("utf-8-sig")
        self.assertIn("Сертификат", text)
        self.assertIn("Шогенова40 Залина Борисовна", text)
        lines = [line for line in text.splitlines() if line.startswith(regs[0]["id"])]
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].endswith("да"), lines[0])
        r = self.stack.get("/api/v1/export/events?type=webinar", token=m)
        self.assertEqual(r.status, 200, r)
        self.assertIn("Вебинар «Цифровые инструменты»", r.body.decode("utf-8-sig"))

    def test_attendance_marks_the_route_item_of_kind_event_done(self):
        """A person's approved route has an item of kind event naming the event; the registration names the
        item; the organizer's attendance mark closes it in diagnostics through the broker."""
        s = self.stack
        person = self.staff_a[45]
        instrument = self._created(s.post("/api/v1/instruments", {
            "title": "Диагностика для маршрута", "category": "teacher",
            "items": [{"id": "q1", "competence": "t.method.1", "kind": "single_choice", "text": "С чего начинается урок?",
                       "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                                   {"id": "b", "text": "С мотивации", "points": 2}]}]}))
        today = datetime.date.today().isoformat()
        campaign = self._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": "Диагностика перед семинаром", "instrumentId": instrument["id"], "kind": "self",
            "startsOn": today, "endsOn": "2099-12-31",
            "target": {"organizationIds": [self.org[0]["id"]], "categories": ["teacher"]}}))
        self.assertEqual(s.post(f"/api/v1/diagnostics/campaigns/{campaign['id']}/open").status, 200)
        attempt = self._created(s.post("/api/v1/diagnostics/attempts", {"campaignId": campaign["id"],
                                                                         "staffId": person["id"]}))
        self._created(s.post(f"/api/v1/diagnostics/attempts/{attempt['id']}/submit",
                             {"answers": [{"itemId": "q1", "optionIds": ["a"]}]}))
        m = self.methodologist()
        e = self.published(m, title="Семинар «Мотивация на уроке»", startsAt=self.started, endsAt=self.tomorrow,
                           competences=["t.other.1"])
        # the generator proposes a published event for the deficit and the person's subject, not another subject's
        for_math = self.published(m, title="Мастер-класс «Урок открытия нового знания»", type="master_class",
                                  competences=["t.method.1"], audience={"subjects": ["mathematics"]})
        for_russian = self.published(m, title="Семинар для учителей русского языка", competences=["t.method.1"],
                                     audience={"subjects": ["russian_language"]})
        route = self._created(s.post(f"/api/v1/staff/{person['id']}/route", {"startsOn": today}))
        proposed = [i for i in route["items"] if i["kind"] == "event"]
        self.assertEqual([i["referenceId"] for i in proposed], [for_math["id"]], route["items"])
        self.assertEqual((proposed[0]["competence"], proposed[0]["dueOn"]), ("t.method.1", for_math["startsAt"][:10]))
        self.assertNotIn(for_russian["id"], {i.get("referenceId") for i in route["items"]})
        items = route["items"] + [{"kind": "event", "competence": "t.method.1", "title": e["title"],
                                   "referenceId": e["id"], "dueOn": "2099-06-01"}]
        route = self._created(s.patch(f"/api/v1/staff/{person['id']}/route", {"items": items}))
        self._created(s.post(f"/api/v1/staff/{person['id']}/route/approve"))
        item = next(i for i in route["items"] if i["kind"] == "event" and i["referenceId"] == e["id"])
        # the item must be the person's own
        r = s.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.staff_a[46]["id"],
                                                                "routeItemId": item["id"]}, token=m)
        self.assertJsonError(r, 400)
        g = self._created(s.post(f"/api/v1/events/{e['id']}/registrations",
                                 {"staffId": person["id"], "routeItemId": item["id"]}, token=m))
        self.assertEqual(g["routeItemId"], item["id"])
        r = s.post(f"/api/v1/events/{e['id']}/attendance", {"marks": [{"registrationId": g["id"], "attended": True}]},
                   token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json.get("routeItemsDone"), 1, r.json)
        after = s.get(f"/api/v1/staff/{person['id']}/route").json
        done = next(i for i in after["items"] if i["id"] == item["id"])
        self.assertEqual(done["status"], "done")
        self.assertIn(e["id"], done["evidence"])
        # a repeated request (after a lost answer) changes nothing and reports no failure
        r = s.post(f"/api/v1/events/{e['id']}/attendance", {"marks": [{"registrationId": g["id"], "attended": True}]},
                   token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json.get("failures", []), r.json.get("routeItemsDone", 0)), ([], 0), r.json)
        self.assertEqual(s.get(f"/api/v1/registrations/{g['id']}", token=m).json["version"], r.json["items"][0]["version"])

    def test_lists_filter(self):
        m = self.methodologist()
        e = self.published(m, title="Круглый стол по функциональной грамотности", type="round_table",
                           competences=["t.func.2"], audience={"subjects": ["physics"]})
        def ids(query):
            r = self.stack.get("/api/v1/events?" + query, token=m)
            self.assertEqual(r.status, 200, r)
            return {x["id"] for x in r.json["items"]}
        self.assertIn(e["id"], ids("type=round_table"))
        self.assertNotIn(e["id"], ids("type=seminar"))
        self.assertIn(e["id"], ids("competence=t.func.2"))
        self.assertIn(e["id"], ids("subject=physics"))
        self.assertNotIn(e["id"], ids("subject=chemistry"))
        day = self.soon[:10]
        self.assertIn(e["id"], ids(f"from={day}&to={day}"))
        self.assertNotIn(e["id"], ids("to=2020-01-01"))
        self.assertIn(e["id"], ids("status=published&level=municipal"))
        self.assertJsonError(self.stack.get("/api/v1/events?type=party", token=m), 400)
        self.assertJsonError(self.stack.get("/api/v1/events?from=" + urllib.parse.quote("вчера"), token=m), 400)


if __name__ == "__main__":
    unittest.main()
