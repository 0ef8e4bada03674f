"""test_diagnostics_plan — issue 12, «Diagnostics and routes (ИОМ)», end to end over HTTP against a real
stack: municipal campaigns (a municipal methodologist runs self-diagnostics of their own municipality;
independent ones and other municipalities refused), a school nominating its staff (nominees expected,
counted in the progress; another school's teacher refused, nothing written), the summary of deficits by
organization and subject for a campaign and for a scope (scope-checked, CSV), and the route's tutor,
agreement (draft → proposed → agreed → approved), confirmation of a teacher's done item (no
qualification record before it — the source of I11), period, new item forms, a school administrator's
routes of their own staff only, and the versions kept by regeneration."""

import datetime
import itertools
import os
import unittest

from harness import StackTestCase

REGION = "07"
_n = itertools.count(1)

# q1 single choice (t.method.1), q2 scale 1..5 (t.digital.1): answers "a", 1 give both deficits
INSTRUMENT = {
    "title": "Самодиагностика учителей",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.method.1", "kind": "single_choice", "text": "С чего начинается урок?",
         "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                     {"id": "b", "text": "С мотивации", "points": 2}]},
        {"id": "q2", "competence": "t.digital.1", "kind": "scale", "text": "Уверенность в ФГИС «Моя школа»",
         "scaleMin": 1, "scaleMax": 5},
    ],
}
WEAK = [{"itemId": "q1", "optionIds": ["a"]}, {"itemId": "q2", "value": 1}]       # both deficits
HALF = [{"itemId": "q1", "optionIds": ["b"]}, {"itemId": "q2", "value": 1}]       # t.digital.1 only


class DiagnosticsPlanTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": n, "kind": "district"}))
                   for n in ("Терский район", "Баксанский район")]
        cls.org_a = cls._ok(s.post("/api/v1/organizations", {"municipalityId": cls.mun[0]["id"], "name": "СОШ № 1",
                                                            "kind": "school"}))
        cls.org_b = cls._ok(s.post("/api/v1/organizations", {"municipalityId": cls.mun[0]["id"], "name": "СОШ № 2",
                                                            "kind": "school"}))
        cls.org_c = cls._ok(s.post("/api/v1/organizations", {"municipalityId": cls.mun[1]["id"], "name": "СОШ № 3",
                                                            "kind": "school"}))
        cls.today = datetime.date.today().isoformat()
        # school A: two mathematics teachers and a Russian teacher; school B and C: one each
        cls.a1 = cls._staff(cls.org_a, 1, "mathematics")
        cls.a2 = cls._staff(cls.org_a, 2, "mathematics")
        cls.a3 = cls._staff(cls.org_a, 3, "russian_language")
        cls.b1 = cls._staff(cls.org_b, 4, "mathematics")
        cls.c1 = cls._staff(cls.org_c, 5, "mathematics")
        cls.tutor = cls._staff(cls.org_b, 6, "mathematics")
        cls._ok(s.post("/api/v1/programmes", {
            "regionId": REGION, "title": "Методика обучения математике", "provider": "ЦНППМ КБР", "hours": 72,
            "format": "blended", "federalRegistry": True, "competences": ["t.method.1", "t.digital.1"]}))
        cls.instrument = cls._ok(s.post("/api/v1/instruments", INSTRUMENT))

    @staticmethod
    def _ok(r):
        assert r.status in (200, 201), r
        return r.json

    @classmethod
    def _staff(cls, org, i, subject):
        return cls._ok(cls.stack.post("/api/v1/staff", {
            "lastName": f"Шогенова{i}", "firstName": "Алина", "birthDate": "1988-03-02",
            "professionStartDate": "2010-09-01", "position": "teacher", "category": "teacher",
            "subjects": [subject], "organizationIds": [org["id"]]}))

    def user(self, role, scope_kind, scope_id, staff_id=None):
        login = f"plan{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        body = {"login": login, "password": password, "fullName": "Пользователь теста", "role": role,
                "scope": {"kind": scope_kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        r = self.stack.post("/api/v1/users", body)
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def teacher(self, staff):
        return self.user("teacher", "self", staff["id"], staff["id"])

    def methodologist(self, mun):
        return self.user("municipal_methodologist", "municipality", mun["id"])

    def school(self, org):
        return self.user("school_admin", "organization", org["id"])

    def campaign(self, token=True, **over):
        body = {"title": f"Самодиагностика {next(_n)}", "instrumentId": self.instrument["id"], "kind": "self",
                "startsOn": self.today, "endsOn": "2099-12-31"}
        body.update(over)
        return self.stack.post("/api/v1/diagnostics/campaigns", body, token=token)

    def submit(self, campaign_id, staff, answers):
        token = self.teacher(staff)
        r = self.stack.post("/api/v1/diagnostics/attempts", {"campaignId": campaign_id}, token=token)
        self.assertEqual(r.status, 200, r)
        r = self.stack.post(f"/api/v1/diagnostics/attempts/{r.json['id']}/submit", {"answers": answers}, token=token)
        self.assertEqual(r.status, 200, r)
        return token

    # ---- 1. municipal campaigns, nominations ----

    def test_municipal_campaign_and_nominations(self):
        s = self.stack
        m1, m2 = self.methodologist(self.mun[0]), self.methodologist(self.mun[1])
        # independent diagnostics stay the regional centre's
        err = self.assertJsonError(self.campaign(token=m1, kind="independent"), 403)
        self.assertIn("ЦНППМ", err["message"])
        # another municipality in the target is refused
        r = self.campaign(token=m1, target={"municipalityIds": [self.mun[1]["id"]]})
        err = self.assertJsonError(r, 400)
        self.assertIn("campaign.target.municipalityIds[0]", [d.get("field") for d in err.get("details", [])])
        self.assertJsonError(self.campaign(token=m1, municipalityId=self.mun[1]["id"]), 403)
        # the methodologist's campaign is municipal: their municipality, the whole of it when no target
        c = self.campaign(token=m1)
        self.assertEqual(c.status, 201, c)
        c = c.json
        self.assertEqual(c["municipalityId"], self.mun[0]["id"])
        self.assertEqual(c["target"]["municipalityIds"], [self.mun[0]["id"]])
        # another municipality's methodologist and a school do not run it
        self.assertJsonError(s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open", token=m2), 403)
        self.assertJsonError(s.patch(f"/api/v1/diagnostics/campaigns/{c['id']}", {"title": "Чужая"}, token=m2), 403)
        self.assertJsonError(s.patch(f"/api/v1/diagnostics/campaigns/{c['id']}", {"kind": "independent"},
                                     token=m1), 400)
        r = s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open", token=m1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["assigned"], 5)  # a1 a2 a3 b1 tutor; not c1 (m2)
        # a campaign with an organization of another municipality in its target assigns only its own people
        c2 = self._ok(self.campaign(token=m1, target={"organizationIds": [self.org_a["id"], self.org_c["id"]]}))
        r = s.post(f"/api/v1/diagnostics/campaigns/{c2['id']}/open", token=m1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["assigned"], 3)

        # by nomination: opening assigns nobody, the schools name their people
        n = self._ok(self.campaign(token=m1, byNomination=True))
        r = s.post(f"/api/v1/diagnostics/campaigns/{n['id']}/open", token=m1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json.get("assigned", 0), 0)
        school_a = self.school(self.org_a)
        path = f"/api/v1/diagnostics/campaigns/{n['id']}/nominations"
        # another school's teacher refuses the whole request: nothing written
        r = s.post(path, {"staffIds": [self.a1["id"], self.b1["id"]]}, token=school_a)
        err = self.assertJsonError(r, 400)
        self.assertEqual([d.get("field") for d in err["details"]], ["staffIds[1]"])
        r = s.get(f"/api/v1/diagnostics/campaigns/{n['id']}/progress", token=m1)
        self.assertEqual(r.json.get("assigned", 0), 0, r.json)
        # a teacher does not nominate
        self.assertJsonError(s.post(path, {"staffIds": [self.a1["id"]]}, token=self.teacher(self.a1)), 403)
        r = s.post(path, {"staffIds": [self.a1["id"], self.a2["id"]]}, token=school_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(r.json["nominated"]), sorted([self.a1["id"], self.a2["id"]]))
        r = s.post(path, {"staffIds": [self.a1["id"]]}, token=school_a)
        self.assertEqual((r.json.get("nominated", []), r.json["already"]), ([], [self.a1["id"]]))
        # a person of another municipality is not in a municipal campaign's territory
        r = s.post(path, {"staffIds": [self.c1["id"]]})
        err = self.assertJsonError(r, 400)
        self.assertIn("муниципалитете", err["details"][0]["description"])
        # progress by school counts the nominees
        r = s.get(f"/api/v1/diagnostics/campaigns/{n['id']}/progress", token=m1)
        self.assertEqual((r.json["assigned"], r.json["nominated"]), (2, 2))
        rows = {x["organizationId"]: x for x in r.json["organizations"]}
        self.assertEqual(list(rows), [self.org_a["id"]])
        self.assertEqual(rows[self.org_a["id"]]["nominated"], 2)
        # the nominee is who the campaign expects; a teacher not nominated is not
        self.submit(n["id"], self.a1, WEAK)
        r = s.post("/api/v1/diagnostics/attempts", {"campaignId": n["id"]}, token=self.teacher(self.a3))
        self.assertJsonError(r, 404)
        r = s.get(f"/api/v1/diagnostics/attempts/{n['id']}-s{self.a1['id'].split('-s')[1]}", token=m1)
        self.assertEqual(r.json["nominatedBy"] != "", True)
        self.assertEqual(r.json["subjects"], ["mathematics"])

    # ---- 2. the summary of deficits ----

    def test_deficit_summary(self):
        s = self.stack
        c = self._ok(self.campaign(target={"municipalityIds": [self.mun[0]["id"], self.mun[1]["id"]]}))
        self.assertEqual(s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open").status, 200)
        self.submit(c["id"], self.a1, WEAK)
        self.submit(c["id"], self.a2, HALF)
        self.submit(c["id"], self.a3, HALF)
        self.submit(c["id"], self.c1, WEAK)
        r = s.get(f"/api/v1/diagnostics/deficits?campaignId={c['id']}")
        self.assertEqual(r.status, 200, r)
        summary = r.json
        self.assertEqual(summary["people"], 4)
        self.assertEqual([(d["competence"], d["people"], d["percent"]) for d in summary["deficits"]],
                         [("t.digital.1", 4, 100), ("t.method.1", 2, 50)])
        orgs = {g["organizationId"]: g for g in summary["organizations"]}
        self.assertEqual(orgs[self.org_a["id"]]["people"], 3)
        self.assertEqual([(d["competence"], d["people"]) for d in orgs[self.org_a["id"]]["deficits"]],
                         [("t.digital.1", 3), ("t.method.1", 1)])
        subjects = {g["subject"]: g for g in summary["subjects"]}
        self.assertEqual(subjects["mathematics"]["people"], 3)
        self.assertEqual(subjects["russian_language"]["people"], 1)
        self.assertEqual([(d["competence"], d["people"]) for d in subjects["mathematics"]["deficits"]],
                         [("t.digital.1", 3), ("t.method.1", 2)])
        # scope: the methodologist of m2 counts only their municipality's people
        r = s.get(f"/api/v1/diagnostics/deficits?campaignId={c['id']}", token=self.methodologist(self.mun[1]))
        self.assertEqual(r.json["people"], 1)
        self.assertEqual(list({g["organizationId"] for g in r.json["organizations"]}), [self.org_c["id"]])
        # a school its own
        r = s.get(f"/api/v1/diagnostics/deficits?campaignId={c['id']}", token=self.school(self.org_a))
        self.assertEqual(r.json["people"], 3)
        # by scope: the latest result of each person of the organization
        r = s.get(f"/api/v1/diagnostics/deficits?organizationId={self.org_a['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json["people"], 3)
        self.assertEqual(r.json["organizationId"], self.org_a["id"])
        # a methodologist of another municipality sees nothing of school A; a teacher no summary at all
        r = s.get(f"/api/v1/diagnostics/deficits?organizationId={self.org_a['id']}",
                  token=self.methodologist(self.mun[1]))
        self.assertEqual(r.json.get("people", 0), 0)
        self.assertJsonError(s.get(f"/api/v1/diagnostics/deficits?campaignId={c['id']}",
                                   token=self.teacher(self.a1)), 403)
        self.assertJsonError(s.get(f"/api/v1/diagnostics/deficits?campaignId={c['id']}&organizationId="
                                   f"{self.org_a['id']}"), 400)
        # the CSV
        r = s.get(f"/api/v1/export/deficits?campaignId={c['id']}")
        self.assertEqual(r.status, 200, r)
        text = r.body.decode("utf-8-sig")
        self.assertTrue(text.startswith("Разрез;Организация;Предмет;Компетенция"), text[:200])
        self.assertIn("всего;;;t.digital.1;4;4;100.0", text)
        self.assertIn(f"организация;{self.org_a['id']};;t.method.1;1;3;33.3", text)

    # ---- 3. routes: tutor, agreement, confirmation, period, forms, school, versions ----

    def route_person(self, staff):
        c = self._ok(self.campaign(target={"organizationIds": [staff["organizationIds"][0]]}))
        self.assertEqual(self.stack.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open").status, 200)
        self.submit(c["id"], staff, WEAK)

    def test_route_agreement_tutor_confirmation(self):
        s = self.stack
        person = self._staff(self.org_a, 20, "mathematics")
        self.route_person(person)
        route = f"/api/v1/staff/{person['id']}/route"
        # a school administrator builds routes of their own staff, not of another school's
        other_school = self.school(self.org_b)
        self.assertJsonError(s.post(route, {"startsOn": "2026-09-01"}, token=other_school), 404)
        school_a = self.school(self.org_a)
        self.assertJsonError(s.post(route, {"startsOn": "2026-09-01", "endsOn": "2026-08-01"}, token=school_a), 400)
        r = s.post(route, {"startsOn": "2026-09-01"}, token=school_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["startsOn"], r.json["endsOn"], r.json["status"]), ("2026-09-01", "2027-08-31", "draft"))
        items = r.json["items"]
        # the tutor: validated, of the region, from the registry
        for bad in ("не-id", "08-s1", person["id"], "07-s999999"):
            self.assertJsonError(s.patch(route, {"tutorStaffId": bad}, token=school_a), 400, bad)
        r = s.patch(route, {"tutorStaffId": self.tutor["id"], "endsOn": "2027-06-30"}, token=school_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["tutorName"], "Шогенова6 Алина")
        self.assertEqual(r.json["endsOn"], "2027-06-30")
        # new forms of items; a due date after the period's end refused
        extra = [{"kind": k, "competence": "t.method.1", "title": t, "dueOn": "2027-03-01"}
                 for k, t in (("master_class", "Мастер-класс «Урок открытия»"),
                              ("experience_exchange", "Обмен опытом в РМО"),
                              ("lesson_visit", "Посещение уроков наставника"))]
        late = dict(extra[0], dueOn="2027-12-01")
        self.assertJsonError(s.patch(route, {"items": items + [late], "endsOn": "2027-06-30"}, token=school_a), 400)
        self.assertJsonError(s.patch(route, {"items": items + [dict(extra[0], kind="lecture")]}, token=school_a), 400)
        r = s.patch(route, {"items": items + extra}, token=school_a)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["kind"] for i in r.json["items"][-3:]], ["master_class", "experience_exchange",
                                                                      "lesson_visit"])
        # an item added later than the end without a new end: the period grows to hold it
        r = s.patch(route, {"items": r.json["items"] + [late]}, token=school_a)
        self.assertEqual((r.status, r.json["endsOn"]), (200, "2027-12-01"), r)
        r = s.patch(route, {"items": r.json["items"][:-1], "endsOn": "2027-06-30"}, token=school_a)
        self.assertEqual((r.status, r.json["endsOn"]), (200, "2027-06-30"), r)
        # propose → the teacher agrees → approve
        teacher = self.teacher(person)
        m1 = self.methodologist(self.mun[0])
        r = s.post(f"{route}/propose", token=m1)
        self.assertEqual((r.status, r.json["status"]), (200, "proposed"), r)
        self.assertJsonError(s.post(f"{route}/approve", token=m1), 409)
        self.assertJsonError(s.post(f"{route}/agree", {}, token=m1), 403)
        self.assertJsonError(s.post(f"{route}/agree", {"decline": True}, token=teacher), 400)  # a reason is needed
        r = s.post(f"{route}/agree", {"decline": True, "comment": "Хочу стажировку весной"}, token=teacher)
        self.assertEqual((r.json["status"], r.json["declinedComment"]), ("draft", "Хочу стажировку весной"))
        self.assertEqual(s.post(f"{route}/propose", token=m1).json["status"], "proposed")
        r = s.post(f"{route}/agree", {}, token=teacher)
        self.assertEqual((r.status, r.json["status"]), (200, "agreed"), r)
        self.assertTrue(r.json["agreedAt"])
        r = s.post(f"{route}/approve", token=m1)
        self.assertEqual((r.status, r.json["status"]), (200, "approved"), r)
        programmes = [i for i in r.json["items"] if i["kind"] == "programme"]
        self.assertTrue(programmes)
        item = programmes[0]["id"]
        status = f"{route}/items/{item}/status"
        # the teacher's done: a proof needed; then it waits; no qualification record (I11 counts records)
        self.assertJsonError(s.post(status, {"status": "done"}, token=teacher), 400)
        self.assertJsonError(s.post(status, {"status": "done", "evidenceUrl": "ftp://x"}, token=teacher), 400)
        r = s.post(status, {"status": "done", "evidenceUrl": "https://portfolio.example/pk-1",
                            "documentNumber": "072400000001"}, token=teacher)
        self.assertEqual(r.status, 200, r)
        done = [i for i in r.json["items"] if i["id"] == item][0]
        self.assertEqual((done["status"], done["confirmation"]), ("done", "pending"))
        records = s.get(f"/api/v1/staff/{person['id']}/qualification-records").json.get("items", [])
        self.assertEqual(records, [])
        # a school administrator does not confirm; the tutor reads the route and does
        self.assertJsonError(s.post(f"{route}/items/{item}/confirm", {}, token=school_a), 403)
        tutor = self.teacher(self.tutor)
        self.assertEqual(s.get(route, token=tutor).status, 200)
        self.assertJsonError(s.post(f"{route}/items/{item}/confirm", {"returned": True}, token=tutor), 400)
        r = s.post(f"{route}/items/{item}/confirm", {"returned": True, "comment": "Нет номера приказа"}, token=tutor)
        back = [i for i in r.json["items"] if i["id"] == item][0]
        self.assertEqual((back["status"], back["confirmation"]), ("in_progress", "returned"))
        self.assertJsonError(s.post(f"{route}/items/{item}/confirm", {}, token=tutor), 409)
        r = s.post(status, {"status": "done", "evidenceName": "Удостоверение № 072400000001"}, token=teacher)
        self.assertEqual([i for i in r.json["items"] if i["id"] == item][0]["confirmation"], "pending")
        r = s.post(f"{route}/items/{item}/confirm", {}, token=tutor)
        self.assertEqual(r.status, 200, r)
        done = [i for i in r.json["items"] if i["id"] == item][0]
        self.assertEqual(done["confirmation"], "confirmed")
        records = s.get(f"/api/v1/staff/{person['id']}/qualification-records").json["items"]
        self.assertEqual([x["id"] for x in records], [done["qualificationRecordId"]])
        # a tutor is nobody else's: another teacher neither reads nor confirms
        self.assertJsonError(s.get(route, token=self.teacher(self.a2)), 404)
        # the methodologist's own done is confirmed at once
        other = [i for i in programmes[1:]] or []
        if other:
            r = s.post(f"{route}/items/{other[0]['id']}/status", {"status": "done"}, token=m1)
            self.assertEqual([i for i in r.json["items"] if i["id"] == other[0]["id"]][0]["confirmation"],
                             "confirmed")

    def test_route_teacher_proposes_and_versions(self):
        s = self.stack
        person = self._staff(self.org_b, 30, "mathematics")
        self.route_person(person)
        route = f"/api/v1/staff/{person['id']}/route"
        m1 = self.methodologist(self.mun[0])
        first = self._ok(s.post(route, {"startsOn": "2026-09-01"}, token=m1))
        self.assertEqual(s.get(f"{route}/versions", token=m1).json.get("items", []), [])
        second = self._ok(s.post(route, {"startsOn": "2026-10-01", "endsOn": "2027-05-31"}, token=m1))
        third = self._ok(s.post(route, {"startsOn": "2026-11-01"}, token=m1))
        self.assertEqual(third.get("versions", []), [])  # only …/route/versions answers them
        r = s.get(f"{route}/versions", token=self.teacher(person))
        self.assertEqual(r.status, 200, r)
        versions = r.json["items"]
        self.assertEqual([v["version"] for v in versions], [second["version"], first["version"]])
        self.assertEqual([v["route"]["startsOn"] for v in versions], ["2026-10-01", "2026-09-01"])
        self.assertEqual(versions[0]["route"]["endsOn"], "2027-05-31")
        self.assertTrue(all(v["replacedAt"] for v in versions))
        self.assertEqual(versions[0]["route"].get("versions", []), [])
        # another municipality's methodologist does not read them
        self.assertJsonError(s.get(f"{route}/versions", token=self.methodologist(self.mun[1])), 404)
        # the teacher proposes their own route: that is their agreement; the methodologist approves
        teacher = self.teacher(person)
        self.assertJsonError(s.post(f"/api/v1/staff/{self.a1['id']}/route/propose", token=teacher), 404)
        r = s.post(f"{route}/propose", token=teacher)
        self.assertEqual((r.status, r.json["status"]), (200, "agreed"), r)
        self.assertEqual(s.post(f"{route}/approve", token=m1).json["status"], "approved")


if __name__ == "__main__":
    unittest.main()
