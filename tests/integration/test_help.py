"""test_help — requests for methodological help and the journal of consultations end to end over HTTP
against a real stack (000 §3.3 п.3; 002 разд.7; 004 §3.4): a teacher files a request, the methodologist
answers it with a consultation of the journal, the request's life (answer, close, reopen; illegal steps
refused with 409 and nothing changed), open requests by municipality, validation in Russian, scope of
a school, a teacher and another municipality, and the CSV export."""

import itertools
import os
import unittest
import urllib.parse

from harness import StackTestCase

REGION = "07"
_n = itertools.count(1)


class HelpTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun_a = cls._created(s.post("/api/v1/municipalities",
                                        {"regionId": REGION, "name": "Терский район", "kind": "district"}))
        cls.mun_b = cls._created(s.post("/api/v1/municipalities",
                                        {"regionId": REGION, "name": "Урванский район", "kind": "district"}))
        cls.org_a = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun_a["id"], "name": "МКОУ СОШ № 3 г.п. Терек", "kind": "school"}))
        cls.org_a2 = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun_a["id"], "name": "МКОУ СОШ с.п. Арик", "kind": "school"}))
        cls.org_b = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun_b["id"], "name": "МКОУ СОШ № 1 г. Нарткала", "kind": "school"}))
        cls.teacher = cls._created(s.post("/api/v1/staff", cls._staff(cls.org_a["id"], "Жилова")))
        cls.two_schools = cls._created(s.post("/api/v1/staff", dict(cls._staff(cls.org_a["id"], "Бекова"),
                                                                    organizationIds=[cls.org_a["id"],
                                                                                     cls.org_a2["id"]])))
        cls.teacher_b = cls._created(s.post("/api/v1/staff", cls._staff(cls.org_b["id"], "Шогенова")))

    @staticmethod
    def _created(r):
        assert r.status == 201, r
        return r.json

    @staticmethod
    def _staff(org_id, last):
        return {"lastName": last, "firstName": "Залина", "middleName": "Мухамедовна", "birthDate": "1990-02-11",
                "professionStartDate": "2014-09-01", "position": "teacher", "category": "teacher",
                "subjects": ["mathematics"], "organizationIds": [org_id]}

    def token(self, role, scope_kind, scope_id, **extra):
        login = f"help{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        r = self.stack.post("/api/v1/users", {"login": login, "password": password, "fullName": "Проверяющий",
                                              "role": role, "scope": {"kind": scope_kind, "id": scope_id}, **extra})
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def ids(self, r):
        self.assertEqual(r.status, 200, r)
        return [item["id"] for item in r.json.get("items", [])]

    def field_errors(self, r):
        self.assertEqual(r.status, 400, r)
        return {d["field"]: d["description"] for d in r.json["error"]["details"]}

    def test_teacher_files_methodologist_answers_with_consultation(self):
        teacher = self.token("teacher", "self", self.teacher["id"], staffId=self.teacher["id"])
        methodologist = self.token("municipal_methodologist", "municipality", self.mun_a["id"])
        filed = self.stack.post("/api/v1/help-requests", {
            "staffId": self.teacher["id"], "topic": "Формирующее оценивание на уроках математики",
            "competences": ["assessment"], "urgency": "high"}, token=teacher)
        self.assertEqual(filed.status, 201, filed)
        req = filed.json
        self.assertEqual(req["status"], "open")
        self.assertEqual(req["organizationId"], self.org_a["id"])  # the teacher's only school
        self.assertEqual(req["municipalityId"], self.mun_a["id"])
        self.assertTrue(req["id"].startswith("07-h"), req)
        # open requests of the municipality, as the methodologist plans the week
        listed = self.ids(self.stack.get(f"/api/v1/help-requests?municipalityId={self.mun_a['id']}&status=open",
                                         token=methodologist))
        self.assertIn(req["id"], listed)
        # the teacher may not answer their own request
        r = self.stack.post(f"/api/v1/help-requests/{req['id']}/status",
                            {"action": "answer", "kind": "other", "note": "Сам себе"}, token=teacher)
        self.assertEqual(r.status, 403, r)
        # a consultation of the journal answers it
        c = self.stack.post("/api/v1/consultations", {
            "asker": "teacher", "askerStaffId": self.teacher["id"], "topic": req["topic"], "form": "online",
            "consultantName": "Методистова Асият Борисовна", "heldOn": "2025-11-12", "durationMinutes": 40,
            "helpRequestId": req["id"], "competences": ["assessment"],
            "summary": "Разобраны приёмы «светофор» и «лист самооценки»"}, token=methodologist)
        self.assertEqual(c.status, 201, c)
        self.assertEqual(c.json["organizationId"], self.org_a["id"])
        self.assertEqual(c.json["municipalityId"], self.mun_a["id"])
        answered = self.stack.post(f"/api/v1/help-requests/{req['id']}/status", {
            "action": "answer", "kind": "consultation", "refId": c.json["id"], "note": "Консультация проведена"},
            token=methodologist)
        self.assertEqual(answered.status, 200, answered)
        self.assertEqual(answered.json["status"], "answered")
        self.assertEqual(answered.json["answers"][0]["refId"], c.json["id"])
        self.assertEqual(answered.json["answers"][0]["kind"], "consultation")
        self.assertTrue(answered.json["answers"][0]["answeredBy"])
        self.assertNotIn(req["id"], self.ids(self.stack.get(
            f"/api/v1/help-requests?municipalityId={self.mun_a['id']}&status=open", token=methodologist)))
        # the teacher sees the consultation they asked for, and closes the request
        self.assertEqual(self.stack.get(f"/api/v1/consultations/{c.json['id']}", token=teacher).status, 200)
        self.assertIn(c.json["id"], self.ids(self.stack.get(f"/api/v1/consultations?helpRequestId={req['id']}",
                                                            token=teacher)))
        closed = self.stack.post(f"/api/v1/help-requests/{req['id']}/status", {"action": "close"}, token=teacher)
        self.assertEqual(closed.status, 200, closed)
        self.assertEqual(closed.json["status"], "closed")
        self.assertTrue(closed.json["closedAt"])
        # a closed request: a second close, an answer and an edit are refused and change nothing
        for body in ({"action": "close"}, {"action": "answer", "kind": "other", "note": "ещё"}):
            r = self.stack.post(f"/api/v1/help-requests/{req['id']}/status", body, token=methodologist)
            self.assertEqual(r.status, 409, r)
        r = self.stack.patch(f"/api/v1/help-requests/{req['id']}", {"topic": "Другая"}, token=teacher)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(self.stack.get(f"/api/v1/help-requests/{req['id']}").json["version"],
                         closed.json["version"])
        reopened = self.stack.post(f"/api/v1/help-requests/{req['id']}/status", {"action": "reopen"},
                                   token=teacher)
        self.assertEqual(reopened.json["status"], "answered", reopened)  # it has an answer already
        self.assertEqual(reopened.json["closedAt"], "")

    def test_validation_in_russian_changes_nothing(self):
        before = self.ids(self.stack.get("/api/v1/help-requests?limit=500"))
        errors = self.field_errors(self.stack.post("/api/v1/help-requests", {"topic": ""}))
        self.assertIn("organizationId", errors)
        self.assertIn("topic", errors)
        self.assertIn("urgency", errors)
        # a person in two schools names the school
        errors = self.field_errors(self.stack.post("/api/v1/help-requests", {
            "staffId": self.two_schools["id"], "topic": "Наставничество", "urgency": "low"}))
        self.assertIn("организациях", errors["organizationId"])
        errors = self.field_errors(self.stack.post("/api/v1/help-requests", {
            "staffId": self.teacher["id"], "organizationId": self.org_b["id"], "topic": "Т", "urgency": "low"}))
        self.assertIn("staffId", errors)
        self.assertEqual(before, self.ids(self.stack.get("/api/v1/help-requests?limit=500")))
        req = self._created(self.stack.post("/api/v1/help-requests", {
            "organizationId": self.org_a2["id"], "topic": "Аттестация педагогов", "urgency": "normal"}))
        for body, field in (({"action": "answer"}, "kind"),
                            ({"action": "answer", "kind": "consultation", "refId": "07-s1"}, "refId"),
                            ({"action": "answer", "kind": "event"}, "refId"),
                            ({"action": "answer", "kind": "other"}, "note"),
                            ({"action": "archive"}, "action")):
            self.assertIn(field, self.field_errors(self.stack.post(f"/api/v1/help-requests/{req['id']}/status",
                                                                   body)))
        self.assertEqual(self.stack.get(f"/api/v1/help-requests/{req['id']}").json["version"], req["version"])
        for body, field in (({"asker": "teacher", "topic": "x", "form": "phone", "consultantName": "М",
                              "heldOn": "2025-10-01"}, "askerStaffId"),
                            ({"asker": "parent", "askerName": "Родителева", "topic": "x", "form": "phone",
                              "consultantName": "М", "heldOn": "2025-10-01"}, "municipalityId"),
                            ({"asker": "parent", "askerName": "Р", "municipalityId": self.mun_a["id"], "topic": "x",
                              "form": "phone", "consultantName": "М", "heldOn": "2999-01-01"}, "heldOn"),
                            ({"asker": "school", "municipalityId": self.mun_a["id"], "topic": "x", "form": "group",
                              "consultantName": "М", "heldOn": "2025-10-01"}, "organizationId"),
                            ({"asker": "parent", "askerName": "Р", "municipalityId": self.mun_a["id"], "topic": "x",
                              "form": "phone", "heldOn": "2025-10-01"}, "consultantName"),
                            ({"asker": "parent", "askerName": "Р", "municipalityId": self.mun_a["id"], "topic": "x",
                              "form": "phone", "consultantName": "М", "heldOn": "2025-10-01",
                              "durationMinutes": 600}, "durationMinutes")):
            self.assertIn(field, self.field_errors(self.stack.post("/api/v1/consultations", body)), body)

    def test_scope_of_the_journal_and_of_requests(self):
        parent = self._created(self.stack.post("/api/v1/consultations", {
            "asker": "parent", "askerName": "Кармова Лариса", "municipalityId": self.mun_a["id"],
            "topic": "Выбор профиля обучения", "form": "phone", "consultantName": "Методистова А. Б.",
            "heldOn": "2025-10-20"}))
        theirs = self._created(self.stack.post("/api/v1/consultations", {
            "asker": "school", "organizationId": self.org_b["id"], "topic": "Рабочие программы",
            "form": "group", "consultantName": "Методистова Б. В.", "heldOn": "2025-10-21"}))
        mine = self.token("municipal_methodologist", "municipality", self.mun_a["id"])
        other = self.token("municipal_methodologist", "municipality", self.mun_b["id"])
        school = self.token("school_admin", "organization", self.org_a["id"])
        # a municipality's journal, a parent's entry without a school included
        listed = self.ids(self.stack.get(f"/api/v1/consultations?municipalityId={self.mun_a['id']}&limit=500",
                                         token=mine))
        self.assertIn(parent["id"], listed)
        self.assertNotIn(theirs["id"], listed)
        self.assertEqual(self.stack.get(f"/api/v1/consultations/{parent['id']}", token=other).status, 404)
        self.assertEqual(self.stack.get(f"/api/v1/consultations/{parent['id']}", token=school).status, 404)
        r = self.stack.patch(f"/api/v1/consultations/{parent['id']}", {"summary": "Дополнено"}, token=mine)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.delete(f"/api/v1/consultations/{theirs['id']}", token=mine).status, 404)
        # a period of the journal
        dated = lambda q: self.ids(self.stack.get("/api/v1/consultations?" + urllib.parse.urlencode(q)))
        self.assertIn(parent["id"], dated({"from": "2025-10-20", "to": "2025-10-20"}))
        self.assertNotIn(parent["id"], dated({"from": "2025-10-21"}))
        self.assertIn(theirs["id"], dated({"asker": "school"}))
        self.assertNotIn(parent["id"], dated({"asker": "school"}))
        self.assertEqual(self.stack.get("/api/v1/consultations?asker=grandma").status, 400)
        # a school files for its people and sees only its own requests
        filed = self.stack.post("/api/v1/help-requests", {
            "staffId": self.teacher["id"], "topic": "Функциональная грамотность", "urgency": "low"}, token=school)
        self.assertEqual(filed.status, 201, filed)
        refused = self.stack.post("/api/v1/help-requests", {
            "staffId": self.teacher_b["id"], "topic": "Чужой", "urgency": "low"}, token=school)
        self.assertEqual(refused.status, 400, refused)
        self.assertEqual(self.stack.get(f"/api/v1/help-requests/{filed.json['id']}", token=other).status, 404)
        # the export carries the list's filters and scope
        csv = self.stack.get(f"/api/v1/export/help-requests?municipalityId={self.mun_a['id']}", token=mine)
        self.assertEqual(csv.status, 200, csv)
        self.assertIn(filed.json["id"].encode(), csv.body)
        csv = self.stack.get("/api/v1/export/consultations?regionId=07", token=other)
        self.assertEqual(csv.status, 200, csv)
        self.assertNotIn(parent["id"].encode(), csv.body)
        self.assertIn(theirs["id"].encode(), csv.body)


if __name__ == "__main__":
    unittest.main()
