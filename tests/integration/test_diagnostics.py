"""test_diagnostics — diagnostics of professional deficits and individual educational routes end to
end over HTTP against a real stack (gateway, auth, registry, diagnostics, Redis): the default
competence framework, an instrument and a campaign for the mathematics teachers of two municipalities
opened from the registry, logged-in teachers taking it, exact server-side scoring, scope of results
(a teacher sees only their own, a methodologist only their municipality's), a deterministic route
generated, approved and worked through until the qualification record appears in the registry,
malformed answers refused with nothing stored, and late submits refused."""

import datetime
import itertools
import os
import unittest
import urllib.parse

from harness import StackTestCase

REGION = "07"
_n = itertools.count(1)

# q1 single choice (t.method.1: b = 2 of 2); q2 multiple choice (t.assess.1: a 1, b 1, c −1, max 2);
# q3 scale 1..5 (t.digital.1: value − 1 of 4); q4 numeric (t.subject.1: 3.5 ± 0.05 → 3 of 3).
# t.assess.1: threshold 50 %, mastery 100 %; the rest take the defaults 50 % / 85 %.
INSTRUMENT = {
    "title": "Единая региональная диагностика учителей математики",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.method.1", "kind": "single_choice", "text": "С чего начинается урок открытия нового знания?",
         "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                     {"id": "b", "text": "С мотивации и актуализации", "points": 2}]},
        {"id": "q2", "competence": "t.assess.1", "kind": "multiple_choice", "text": "Что относится к формирующему оцениванию?",
         "maxPoints": 2,
         "options": [{"id": "a", "text": "Обратная связь по критериям", "points": 1},
                     {"id": "b", "text": "Самооценка по рубрике", "points": 1},
                     {"id": "c", "text": "Итоговая отметка за четверть", "points": -1}]},
        {"id": "q3", "competence": "t.digital.1", "kind": "scale", "text": "Насколько уверенно вы работаете в ФГИС «Моя школа»?",
         "scaleMin": 1, "scaleMax": 5},
        {"id": "q4", "competence": "t.subject.1", "kind": "numeric", "text": "Найдите корень уравнения 2x − 7 = 0",
         "maxPoints": 3, "correctValue": 3.5, "tolerance": 0.05},
    ],
    "thresholds": [{"competence": "t.assess.1", "thresholdPercent": 50, "masteryPercent": 100}],
}


def answers(q1, q2, q3, q4):
    return [{"itemId": "q1", "optionIds": [q1]}, {"itemId": "q2", "optionIds": list(q2)},
            {"itemId": "q3", "value": q3}, {"itemId": "q4", "value": q4}]


class DiagnosticsTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": name, "kind": "district"}))
                   for name in ("Терский район", "Баксанский район", "Чегемский район")]
        cls.org = [cls._created(s.post("/api/v1/organizations", {
            "municipalityId": m["id"], "name": f"МКОУ СОШ № {i + 1}", "kind": "school"})) for i, m in enumerate(cls.mun)]
        today = datetime.date.today()
        cls.today = today.isoformat()
        year_ago = (today - datetime.timedelta(days=365)).isoformat()
        cls.site = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[1]["id"], "name": "МКОУ Гимназия № 1 г. Баксан", "kind": "school",
            "sites": [{"kind": "internship", "startDate": year_ago, "theme": "Формирующее оценивание"}]}))
        # mathematics teachers: two in m1, one in m2 (targeted); one in m3 and a Russian teacher in m1 (not)
        cls.t_a = cls._created(s.post("/api/v1/staff", cls._staff(cls.org[0]["id"], 1, "mathematics")))
        cls.t_b = cls._created(s.post("/api/v1/staff", cls._staff(cls.org[1]["id"], 2, "mathematics")))
        cls.t_c = cls._created(s.post("/api/v1/staff", cls._staff(cls.org[0]["id"], 3, "mathematics")))
        cls._created(s.post("/api/v1/staff", cls._staff(cls.org[2]["id"], 4, "mathematics")))
        cls._created(s.post("/api/v1/staff", cls._staff(cls.org[0]["id"], 5, "russian_language")))
        for title, federal in (("Современный урок математики", False),
                               ("Методика обучения математике по обновлённым ФГОС", True)):
            cls._created(s.post("/api/v1/programmes", {
                "regionId": REGION, "title": title, "provider": "ЦНППМ КБР", "hours": 72 if federal else 36,
                "format": "blended", "federalRegistry": federal, "competences": ["t.method.1", "t.digital.1"]}))
        cls.instrument = cls._created(s.post("/api/v1/instruments", INSTRUMENT))
        cls.campaign = cls._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": "Диагностика учителей математики Терского и Баксанского районов",
            "instrumentId": cls.instrument["id"], "kind": "self", "startsOn": cls.today, "endsOn": "2099-12-31",
            "target": {"municipalityIds": [cls.mun[0]["id"], cls.mun[1]["id"]], "categories": ["teacher"],
                       "subjects": ["mathematics"]}}))
        r = s.post(f"/api/v1/diagnostics/campaigns/{cls.campaign['id']}/open")
        assert r.status == 200, r
        cls.opened = r.json

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    @staticmethod
    def _staff(org_id, i, subject):
        return {"lastName": f"Кажарова{i}", "firstName": "Мадина", "birthDate": "1985-04-12",
                "professionStartDate": "2007-09-01", "position": "teacher", "category": "teacher",
                "subjects": [subject], "organizationIds": [org_id]}

    def user_token(self, role, scope_kind, scope_id, staff_id=None):
        login = f"user{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        body = {"login": login, "password": password, "fullName": "Пользователь теста", "role": role,
                "scope": {"kind": scope_kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        r = self.stack.post("/api/v1/users", body)
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def teacher(self, staff):
        return self.user_token("teacher", "self", staff["id"], staff["id"])

    def take(self, token, staff, given):
        """Starts (idempotently) and submits; returns the submit response."""
        r = self.stack.post("/api/v1/diagnostics/attempts", {"campaignId": self.campaign["id"]}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["staffId"], staff["id"])
        return self.stack.post(f"/api/v1/diagnostics/attempts/{r.json['id']}/submit", {"answers": given}, token=token)

    def attempt_id(self, staff):
        return f"{self.campaign['id']}-s{staff['id'].split('-s')[1]}"

    @staticmethod
    def scores(result):
        return {s["competence"]: (s.get("points", 0), s["maxPoints"], s.get("percent", 0), s.get("deficit", False),
                                  s.get("strength", False)) for s in result["scores"]}

    # ---- the tests (unittest runs them in name order; each prepares what it needs) ----

    def test_framework_default_readable(self):
        token = self.teacher(self.t_c)
        r = self.stack.get("/api/v1/competences", token=token)
        self.assertEqual(r.status, 200, r)
        ids = {f["id"]: f for f in r.json["items"]}
        self.assertEqual(set(ids), {f"{REGION}-teacher", f"{REGION}-manager"})
        teacher = ids[f"{REGION}-teacher"]
        self.assertEqual(len(teacher["components"]), 6)
        self.assertIn(str(teacher.get("version", "0")), ("0",))
        codes = {c["code"] for comp in teacher["components"] for c in comp["competences"]}
        self.assertIn("t.method.1", codes)
        # a teacher does not edit the framework
        self.assertJsonError(self.stack.patch(f"/api/v1/competences/{REGION}-teacher", {"title": "Моя рамка"},
                                              token=token), 403)

    def test_campaign_assigned_from_registry(self):
        self.assertEqual(self.opened["status"], "open")
        self.assertEqual(self.opened["assigned"], 3)  # the teacher of m3 and the Russian teacher are not sent
        r = self.stack.get(f"/api/v1/diagnostics/campaigns/{self.campaign['id']}/progress")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["assigned"], 3)
        self.assertEqual({o["organizationId"] for o in r.json["organizations"]}, {self.org[0]["id"], self.org[1]["id"]})
        # a teacher sees the instrument without its scoring
        r = self.stack.get(f"/api/v1/instruments/{self.instrument['id']}", token=self.teacher(self.t_c))
        self.assertEqual(r.status, 200, r)
        self.assertEqual([o.get("points", 0) for o in r.json["items"][0]["options"]], [0, 0])
        self.assertEqual(r.json["items"][3].get("correctValue", 0), 0)

    def test_scoring_scope_route(self):
        s = self.stack
        token_a, token_b = self.teacher(self.t_a), self.teacher(self.t_b)
        # A: q1 b 2/2; q2 a+c 1−1 = 0/2; q3 3 → 2/4 = 50 % (exactly the threshold: no deficit); q4 3.54 → 3/3
        r = self.take(token_a, self.t_a, answers("b", "ac", 3, 3.54))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "completed")
        result_a = r.json["result"]
        self.assertEqual(self.scores(result_a), {
            "t.assess.1": (0, 2, 0, True, False),
            "t.digital.1": (2, 4, 50, False, False),
            "t.method.1": (2, 2, 100, False, True),
            "t.subject.1": (3, 3, 100, False, True),
        })
        self.assertEqual(result_a["deficits"], ["t.assess.1"])
        self.assertEqual(result_a["strengths"], ["t.method.1", "t.subject.1"])
        self.assertEqual(str(result_a["instrumentVersion"]), "1")
        # B: q1 a 0/2; q2 a+b 2/2 (mastery 100 %: strength); q3 2 → 1/4 = 25 %; q4 3.6 → 0/3
        r = self.take(token_b, self.t_b, answers("a", "ab", 2, 3.6))
        self.assertEqual(r.status, 200, r)
        result_b = r.json["result"]
        self.assertEqual(self.scores(result_b), {
            "t.assess.1": (2, 2, 100, False, True),
            "t.digital.1": (1, 4, 25, True, False),
            "t.method.1": (0, 2, 0, True, False),
            "t.subject.1": (0, 3, 0, True, False),
        })
        # a second submit with other answers changes nothing
        again = self.take(token_a, self.t_a, answers("a", "ab", 5, 0))
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json["result"], result_a)

        # scope: a teacher sees only their own results
        id_a, id_b = self.attempt_id(self.t_a), self.attempt_id(self.t_b)
        self.assertEqual(s.get(f"/api/v1/diagnostics/results/{id_a}", token=token_a).status, 200)
        self.assertJsonError(s.get(f"/api/v1/diagnostics/results/{id_b}", token=token_a), 404)
        self.assertJsonError(s.get(f"/api/v1/staff/{self.t_b['id']}/competence-profile", token=token_a), 404)
        r = s.get(f"/api/v1/diagnostics/results?campaignId={self.campaign['id']}", token=token_a)
        self.assertEqual([x["id"] for x in r.json["items"]], [id_a])
        r = s.get(f"/api/v1/staff/{self.t_a['id']}/competence-profile", token=token_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["deficits"], ["t.assess.1"])
        # a methodologist only their municipality's
        methodologist = self.user_token("municipal_methodologist", "municipality", self.mun[0]["id"])
        self.assertEqual(s.get(f"/api/v1/diagnostics/results/{id_a}", token=methodologist).status, 200)
        self.assertJsonError(s.get(f"/api/v1/diagnostics/results/{id_b}", token=methodologist), 404)
        r = s.get(f"/api/v1/diagnostics/results?campaignId={self.campaign['id']}", token=methodologist)
        self.assertEqual([x["id"] for x in r.json["items"]], [id_a])
        r = s.get(f"/api/v1/diagnostics/results?campaignId={self.campaign['id']}")
        self.assertEqual(sorted(x["id"] for x in r.json["items"]), sorted([id_a, id_b]))
        r = s.get(f"/api/v1/diagnostics/results?staffId={self.t_b['id']}&campaignId={self.campaign['id']}")
        self.assertEqual([x["id"] for x in r.json["items"]], [id_b])

        # the route of B: generated by B's methodologist, deterministic
        methodologist_b = self.user_token("municipal_methodologist", "municipality", self.mun[1]["id"])
        route = f"/api/v1/staff/{self.t_b['id']}/route"
        self.assertJsonError(s.post(route, {"startsOn": "2026-09-01"}, token=methodologist), 404)
        self.assertJsonError(s.post(route, {"startsOn": "2026-09-01"}, token=token_b), 403)
        first = s.post(route, {"startsOn": "2026-09-01"}, token=methodologist_b)
        self.assertEqual(first.status, 200, first)
        second = s.post(route, {"startsOn": "2026-09-01"}, token=methodologist_b)
        self.assertEqual(second.status, 200, second)

        def without_ids(items):
            return [{k: v for k, v in item.items() if k != "id"} for item in items]

        self.assertEqual(without_ids(first.json["items"]), without_ids(second.json["items"]))
        items = second.json["items"]
        self.assertEqual([d["competence"] for d in second.json["deficits"]],
                         ["t.digital.1", "t.method.1", "t.subject.1"])
        method = [i for i in items if i["competence"] == "t.method.1"]
        self.assertEqual([i["kind"] for i in method], ["programme", "programme", "internship", "self_education"])
        self.assertTrue(method[0]["federalRegistry"])  # ФР ДПП first
        self.assertEqual(method[2]["organizationId"], self.site["id"])
        # t.subject.1 has no programme in the catalogue: an internship and self-education
        self.assertEqual([i["kind"] for i in items if i["competence"] == "t.subject.1"], ["internship", "self_education"])

        # approve; B works through the first programme: planned → in_progress → done
        r = s.post(f"{route}/approve", token=methodologist_b)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "approved")
        item = method[0]["id"]
        status = f"{route}/items/{item}/status"
        self.assertJsonError(s.post(status, {"status": "in_progress"}, token=token_a), 404)
        r = s.post(status, {"status": "in_progress"}, token=token_b)
        self.assertEqual(r.status, 200, r)
        # the teacher's own mark needs a proof and waits for the methodologist: no record (nothing for I11) yet
        self.assertJsonError(s.post(status, {"status": "done", "documentNumber": "072400031337"}, token=token_b), 400)
        r = s.post(status, {"status": "done", "documentNumber": "072400031337", "evidence": "Удостоверение",
                            "evidenceName": "Удостоверение о ПК № 072400031337"}, token=token_b)
        self.assertEqual(r.status, 200, r)
        pending = [i for i in r.json["items"] if i["id"] == item][0]
        self.assertEqual((pending["status"], pending["confirmation"]), ("done", "pending"))
        self.assertFalse(pending.get("qualificationRecordId"))
        r = s.get(f"/api/v1/staff/{self.t_b['id']}/qualification-records", token=token_b)
        self.assertEqual(r.json.get("items", []), [])
        self.assertJsonError(s.post(f"{route}/items/{item}/confirm", {}, token=token_b), 403)
        r = s.post(f"{route}/items/{item}/confirm", {}, token=methodologist_b)
        self.assertEqual(r.status, 200, r)
        done = [i for i in r.json["items"] if i["id"] == item][0]
        self.assertEqual((done["status"], done["confirmation"]), ("done", "confirmed"))
        record_id = done["qualificationRecordId"]
        self.assertTrue(record_id)
        self.assertJsonError(s.post(status, {"status": "in_progress"}, token=token_b), 409)
        r = s.get(f"/api/v1/staff/{self.t_b['id']}/qualification-records", token=token_b)
        self.assertEqual(r.status, 200, r)
        records = r.json["items"]
        self.assertEqual([x["id"] for x in records], [record_id])
        self.assertEqual(records[0]["source"], "route")
        self.assertEqual(records[0]["routeItemId"], item)
        self.assertEqual(records[0]["programmeId"], method[0]["programmeId"])
        self.assertEqual(records[0]["documentNumber"], "072400031337")
        self.assertEqual(records[0]["completedOn"], self.today)

    def test_malformed_answers_store_nothing(self):
        s = self.stack
        token = self.teacher(self.t_c)
        r = s.post("/api/v1/diagnostics/attempts", {"campaignId": self.campaign["id"]}, token=token)
        self.assertEqual(r.status, 200, r)
        attempt = r.json
        path = f"/api/v1/diagnostics/attempts/{attempt['id']}"
        for bad, field in ((answers("z", "a", 3, 1), "answers[0].optionIds[0]"),
                           (answers("a", "a", 6, 1), "answers[2].value"),
                           (answers("a", "a", 2.5, 1), "answers[2].value"),
                           ([{"itemId": "q9", "value": 1}], "answers[0].itemId"),
                           ([{"itemId": "q1", "optionIds": ["a", "b"]}], "answers[0].optionIds")):
            r = s.post(f"{path}/submit", {"answers": bad}, token=token)
            self.assertJsonError(r, 400, bad)
            fields = [d.get("field") for d in r.json["error"].get("details", [])]
            self.assertIn(field, fields, r.json)
        r = s.get(path, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "started")
        self.assertEqual(r.json["version"], attempt["version"])
        self.assertEqual(r.json.get("answers", []), [])
        r = s.get(f"/api/v1/diagnostics/results?staffId={self.t_c['id']}")
        self.assertEqual(r.json.get("items", []), [])

    def test_late_submit_refused(self):
        s = self.stack
        week_ago = (datetime.date.today() - datetime.timedelta(days=7)).isoformat()
        c = self._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": "Поздняя кампания", "instrumentId": self.instrument["id"], "kind": "independent",
            "startsOn": week_ago, "endsOn": self.today,
            "target": {"organizationIds": [self.org[0]["id"]], "subjects": ["mathematics"]}}))
        self.assertEqual(s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open").status, 200)
        token = self.teacher(self.t_c)
        r = s.post("/api/v1/diagnostics/attempts", {"campaignId": c["id"]}, token=token)
        self.assertEqual(r.status, 200, r)
        attempt = r.json
        # the window ends yesterday: the submit comes too late
        yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
        r = s.patch(f"/api/v1/diagnostics/campaigns/{c['id']}", {"endsOn": yesterday})
        self.assertEqual(r.status, 200, r)
        r = s.post(f"/api/v1/diagnostics/attempts/{attempt['id']}/submit", {"answers": answers("b", "ab", 5, 3.5)},
                   token=token)
        self.assertJsonError(r, 409)
        r = s.get(f"/api/v1/diagnostics/attempts/{attempt['id']}", token=token)
        self.assertEqual(r.json["status"], "started")
        r = s.get(f"/api/v1/diagnostics/results?{urllib.parse.urlencode({'campaignId': c['id']})}")
        self.assertEqual(r.json.get("items", []), [])


if __name__ == "__main__":
    unittest.main()
