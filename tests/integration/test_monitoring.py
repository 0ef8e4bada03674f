"""test_monitoring — the monitoring service end to end over HTTP against a real stack (gateway, auth,
registry, diagnostics, events, monitoring, Redis): a municipality's campaign made from the shipped
template (the seeds' qualitative criteria as expert scores), opened (its scope fixed from the registry,
by kind), a school's draft, submit, return with a comment, resubmit and approval; field validation by
type with Russian messages naming the field; the deadline refused and a reopen that accepts the late
report; who may write what (a school only its own report, a methodologist of municipality A not B's);
progress per municipality with the late schools; the snapshot at each close, unchanged by later
changes, a new version after reopen and close, and the indicators service's part recorded as pending
while that service is not on the broker; 60 schools submitting at once, none lost."""

import datetime
import itertools
import os
import time
import unittest

from harness import StackTestCase, run_concurrently

REGION = "07"
_n = itertools.count(1)
BASE = "/api/v1/monitoring/campaigns"


def message(r):
    return r.json["error"]["message"]


def violations(r):
    return {d["field"]: d["description"] for d in r.json["error"].get("details", [])}


def in_seconds(s):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=s)
    return t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class MonitoringTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": name, "kind": "district"}))
                   for name in ("Терский район", "Баксанский район")]
        cls.schools_a = [cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[0]["id"], "name": f"МКОУ СОШ № {i + 1}", "kind": "school"})) for i in range(3)]
        cls.preschool_a = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[0]["id"], "name": "МКДОУ детский сад № 1", "kind": "preschool"}))
        cls.school_b = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[1]["id"], "name": "МКОУ СОШ № 1 с. Заюково", "kind": "school"}))

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    def user_token(self, role, scope_kind, scope_id):
        login = f"mon{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        r = self.stack.post("/api/v1/users", {"login": login, "password": password, "fullName": "Пользователь теста",
                                              "role": role, "scope": {"kind": scope_kind, "id": scope_id}})
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def methodologist(self, i=0):
        return self.user_token("municipal_methodologist", "municipality", self.mun[i]["id"])

    def school_admin(self, org):
        return self.user_token("school_admin", "organization", org["id"])

    def campaign(self, token, **over):
        body = {"municipalityId": self.mun[0]["id"], "title": "Мониторинг эффективности руководителей",
                "period": "2025/26", "deadline": in_seconds(3600), "template": "school-heads",
                "organizationKind": "school"}
        body.update(over)
        r = self.stack.post(BASE, body, token=token)
        self.assertEqual(r.status, 201, r)
        return r.json

    def opened(self, token, **over):
        c = self.campaign(token, **over)
        r = self.stack.post(f"{BASE}/{c['id']}/open", {}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "open")
        return r.json

    def full_values(self, c, score="2"):
        return [{"code": f["code"], "value": score, "evidence": "https://school.example/report.pdf"}
                for f in c["fields"]]

    def report_path(self, c, org):
        return f"{BASE}/{c['id']}/reports/{org['id']}"

    # ---- templates and the form ----

    def test_templates_ship_the_seed_criteria_as_expert_scores(self):
        r = self.stack.get("/api/v1/monitoring/form-templates")
        self.assertEqual(r.status, 200, r)
        codes = {t["code"]: t for t in r.json["items"]}
        self.assertEqual(set(codes), {"school-heads", "methodical-work"})
        heads = codes["school-heads"]["fields"]
        self.assertEqual(len(heads), 6)
        self.assertTrue(all(f["type"] == "expert_score" and f["maxScore"] == 3 and f["required"] for f in heads))
        self.assertIn("Формирование кадрового резерва", [f["title"] for f in heads])
        self.assertEqual({f["source"] for f in heads}, {"004 §3.1"})
        self.assertEqual(len(codes["methodical-work"]["fields"]), 7)
        m = self.methodologist()
        c = self.campaign(m, deadline="2030-05-31T23:59:59+03:00")
        self.assertEqual(c["deadline"], "2030-05-31T20:59:59.000Z")  # kept in UTC, compared as text by the scripts
        self.assertEqual(c["status"], "draft")
        self.assertRegex(c["id"], r"^07-c\d+$")
        self.assertEqual([f["code"] for f in c["fields"]], [f["code"] for f in heads])

    def test_campaign_form_validated_with_russian_messages(self):
        m = self.methodologist()
        r = self.stack.post(BASE, {"municipalityId": self.mun[0]["id"], "title": "Мониторинг", "period": "2025/27",
                                   "deadline": "31.05.2026", "fields": [
                                       {"code": "Bad Code", "title": "Число победителей", "type": "number"},
                                       {"code": "choice", "title": "Форма", "type": "choice", "options": ["один"]},
                                       {"code": "score", "title": "Оценка", "type": "expert_score", "maxScore": 0},
                                       {"code": "score", "title": "Ещё", "type": "text"}]}, token=m)
        self.assertEqual(r.status, 400, r)
        fields = violations(r)
        self.assertIn("period", fields)
        self.assertIn("deadline", fields)
        self.assertIn("fields[0].code", fields)
        self.assertIn("fields[1]", fields)
        self.assertIn("fields[2]", fields)
        self.assertIn("fields[3].code", fields)
        self.assertIn("«score»", fields["fields[3].code"])
        r = self.stack.post(BASE, {"municipalityId": self.mun[0]["id"], "title": "М", "period": "2026",
                                   "deadline": in_seconds(60), "template": "нет-такого"}, token=m)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(list(violations(r)), ["template"])

    # ---- the lifecycle ----

    def test_draft_submit_return_resubmit_approve(self):
        m = self.methodologist()
        c = self.opened(m)
        self.assertEqual(c["requiredCount"], 3)  # the schools of municipality A, not the preschool, not B's
        school = self.schools_a[0]
        sa = self.school_admin(school)
        path = self.report_path(c, school)
        r = self.stack.get(path, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json["status"])  # not started (the zero of ReportStatus)
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 400, r)
        self.assertIn("Отчёт ещё не заполнен", violations(r)["values"])
        draft = self.full_values(c)[:2]
        r = self.stack.request("PUT", path, {"values": draft}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "draft")
        self.assertEqual(len(r.json["missing"]), 4)
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 400, r)
        self.assertIn("Заполните обязательные поля", violations(r)["values"])
        self.assertEqual(self.stack.get(path, token=sa).json["status"], "draft")  # no change
        r = self.stack.request("PUT", path, {"values": self.full_values(c)}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["missing"], [])
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "submitted")
        self.assertTrue(r.json["submittedAt"])
        r = self.stack.request("PUT", path, {"values": self.full_values(c, "3")}, token=sa)
        self.assertEqual(r.status, 409, r)
        self.assertIn("ждёт проверки", message(r))
        r = self.stack.post(path + "/return", {}, token=m)
        self.assertEqual(r.status, 400, r)  # a return needs its comment
        self.assertEqual(list(violations(r)), ["comment"])
        r = self.stack.post(path + "/return", {"comment": "Приложите приказ о кадровом резерве"}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "returned")
        self.assertEqual(r.json["comment"], "Приложите приказ о кадровом резерве")
        r = self.stack.post(path + "/submit", {"values": self.full_values(c, "3")}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "submitted")
        r = self.stack.post(path + "/approve", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "approved")
        self.assertEqual({v["value"] for v in r.json["values"]}, {"3"})
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 409, r)
        self.assertIn("утверждён", message(r))
        p = self.stack.get(f"{BASE}/{c['id']}/progress", token=m)
        self.assertEqual(p.status, 200, p)
        self.assertEqual(p.json["total"]["required"], 3)
        self.assertEqual(p.json["total"]["approved"], 1)
        self.assertEqual(p.json["total"]["notStarted"], 2)
        self.assertEqual(p.json["municipalities"][0]["municipalityId"], self.mun[0]["id"])
        lst = self.stack.get(f"{BASE}/{c['id']}/reports?status=approved", token=m)
        self.assertEqual(lst.status, 200, lst)
        self.assertEqual([x["organizationId"] for x in lst.json["items"]], [school["id"]])

    def test_field_validation_by_type(self):
        m = self.methodologist()
        c = self.opened(m, template="", fields=[
            {"code": "winners", "title": "Число победителей конкурсов", "type": "number", "min": 0, "max": 500,
             "required": True},
            {"code": "share_courses", "title": "Доля педагогов, прошедших курсы", "type": "share"},
            {"code": "note", "title": "Комментарий", "type": "text"},
            {"code": "form", "title": "Форма наставничества", "type": "choice", "options": ["индивидуальная", "групповая"]},
            {"code": "reserve", "title": "Кадровый резерв", "type": "expert_score", "maxScore": 3}])
        sa = self.school_admin(self.schools_a[1])
        path = self.report_path(c, self.schools_a[1])
        bad = [{"code": "winners", "value": "двенадцать"}, {"code": "share_courses", "value": "120"},
               {"code": "form", "value": "дистанционная"}, {"code": "reserve", "value": "4"},
               {"code": "nope", "value": "1"}, {"code": "note", "value": "ок", "evidence": "x"}]
        r = self.stack.request("PUT", path, {"values": bad}, token=sa)
        self.assertEqual(r.status, 400, r)
        v = violations(r)
        self.assertIn("«Число победителей конкурсов»: введите число", v["values[0].value"])
        self.assertIn("от 0 до 100", v["values[1].value"])
        self.assertIn("выберите один из вариантов", v["values[2].value"])
        self.assertIn("от 0 до 3", v["values[3].value"])
        self.assertIn("требует подтверждения", v["values[3].evidence"])
        self.assertIn("нет в форме", v["values[4].code"])
        self.assertIn("только к экспертной оценке", v["values[5].evidence"])
        self.assertIsNone(self.stack.get(path, token=sa).json["status"])  # nothing stored
        r = self.stack.request("PUT", path, {"values": [{"code": "winners", "value": "501"}]}, token=sa)
        self.assertEqual(r.status, 400, r)
        self.assertIn("от 0 до 500", violations(r)["values[0].value"])
        good = [{"code": "winners", "value": "12"}, {"code": "share_courses", "value": "87,5"},
                {"code": "form", "value": "групповая"},
                {"code": "reserve", "value": "2", "evidence": "Приказ № 45 от 01.09.2025"}]
        r = self.stack.post(path + "/submit", {"values": good}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "submitted")

    def test_deadline_refused_then_reopen_accepts(self):
        m = self.methodologist()
        c = self.opened(m, deadline=in_seconds(2))
        school = self.schools_a[2]
        sa = self.school_admin(school)
        path = self.report_path(c, school)
        self.assertEqual(self.stack.request("PUT", path, {"values": self.full_values(c)}, token=sa).status, 200)
        time.sleep(3.2)
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 409, r)
        self.assertIn("Срок сдачи отчёта истёк", message(r))
        self.assertEqual(self.stack.get(path, token=sa).json["status"], "draft")
        p = self.stack.get(f"{BASE}/{c['id']}/progress", token=m).json
        self.assertTrue(p["pastDeadline"])
        self.assertEqual(len(p["late"]), 3)
        self.assertEqual(self.stack.post(f"{BASE}/{c['id']}/reopen", {}, token=m).status, 409)  # open, not closed
        closed = self.stack.post(f"{BASE}/{c['id']}/close", {}, token=m)
        self.assertEqual(closed.status, 200, closed)
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 409, r)
        self.assertIn("не открыта", message(r))
        r = self.stack.post(f"{BASE}/{c['id']}/reopen", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["reopened"])
        r = self.stack.post(path + "/submit", {}, token=sa)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["late"])

    # ---- scope ----

    def test_scope_of_writes(self):
        m_a, m_b = self.methodologist(0), self.methodologist(1)
        c = self.opened(m_a)
        own, other = self.schools_a[0], self.schools_a[1]
        sa = self.school_admin(own)
        r = self.stack.request("PUT", self.report_path(c, other), {"values": []}, token=sa)
        self.assertEqual(r.status, 403, r)
        r = self.stack.post(self.report_path(c, other) + "/submit", {}, token=sa)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.stack.get(self.report_path(c, other), token=sa).status, 404)
        # a school outside the campaign's scope (municipality B) cannot report in it
        sb = self.school_admin(self.school_b)
        r = self.stack.request("PUT", self.report_path(c, self.school_b), {"values": []}, token=sb)
        self.assertIn(r.status, (404,), r)
        # the school cannot approve, open or close
        self.assertEqual(self.stack.post(f"{BASE}/{c['id']}/close", {}, token=sa).status, 403)
        self.assertEqual(self.stack.post(self.report_path(c, own) + "/approve", {}, token=sa).status, 403)
        self.assertEqual(self.stack.get(f"{BASE}/{c['id']}/progress", token=sa).status, 403)
        # B's methodologist does not see A's campaign, nor approve A's school
        self.assertEqual(self.stack.get(f"{BASE}/{c['id']}", token=m_b).status, 404)
        self.assertEqual(self.stack.post(self.report_path(c, own) + "/submit", {"values": self.full_values(c)},
                                         token=sa).status, 200)
        r = self.stack.post(self.report_path(c, own) + "/approve", {}, token=m_b)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.stack.get(self.report_path(c, own), token=sa).json["status"], "submitted")
        # a regional campaign: B's methodologist approves B's school, not A's
        admin = True
        rc = self.stack.post(BASE, {"regionId": REGION, "title": "Региональный мониторинг", "period": "2026",
                                    "deadline": in_seconds(3600), "template": "methodical-work"}, token=admin)
        self.assertEqual(rc.status, 201, rc)
        self.assertEqual(self.stack.post(BASE, {"regionId": REGION, "title": "Чужой", "period": "2026",
                                                "deadline": in_seconds(3600), "template": "methodical-work"},
                                         token=m_a).status, 403)
        rc = self.stack.post(f"{BASE}/{rc.json['id']}/open", {}, token=admin).json
        # every organization of the region (no kind)
        self.assertEqual(rc["requiredCount"], self.stack.count("organizations", regionId=REGION))
        for org, approver, stranger in ((self.school_b, m_b, m_a), (own, m_a, m_b)):
            t = self.school_admin(org)
            self.assertEqual(self.stack.post(self.report_path(rc, org) + "/submit",
                                             {"values": self.full_values(rc)}, token=t).status, 200)
            self.assertEqual(self.stack.post(self.report_path(rc, org) + "/approve", {}, token=stranger).status, 403)
            self.assertEqual(self.stack.post(self.report_path(rc, org) + "/approve", {}, token=approver).status, 200)
        p = self.stack.get(f"{BASE}/{rc['id']}/progress", token=m_b).json
        self.assertEqual([x["municipalityId"] for x in p["municipalities"]], [self.mun[1]["id"]])

    # ---- snapshots ----

    def test_snapshot_is_frozen_and_versioned(self):
        if "indicators" in self.stack.procs:  # the indicators service away: its part waits as pending
            self.stack.kill9("indicators")
        m = self.methodologist()
        c = self.opened(m)
        s0, s1 = self.schools_a[0], self.schools_a[1]
        for org in (s0, s1):
            t = self.school_admin(org)
            self.assertEqual(self.stack.post(self.report_path(c, org) + "/submit", {"values": self.full_values(c, "1")},
                                             token=t).status, 200)
        self.assertEqual(self.stack.post(self.report_path(c, s0) + "/approve", {}, token=m).status, 200)
        r = self.stack.post(f"{BASE}/{c['id']}/close", {}, token=m)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(int(r.json["snapshotVersion"]), 1)
        snap1 = self.stack.get(f"{BASE}/{c['id']}/snapshots/1", token=m)
        self.assertEqual(snap1.status, 200, snap1)
        self.assertEqual([x["organizationId"] for x in snap1.json["reports"]], [s0["id"]])
        self.assertEqual(snap1.json["approved"], 1)
        self.assertEqual(snap1.json["required"], 3)
        # no indicators service on the broker: the campaign's snapshot stands, the other is pending
        self.assertEqual(snap1.json["indicatorSnapshot"], "pending")
        # each read of a pending one asks the indicators service again (whoever takes it off the pending set);
        # still unavailable → back on the set, still pending
        member = f"{c['id']}:1"
        self.assertIn(member, self.stack.redis_cli("SMEMBERS", "mon:{r:07}:ind:pending").stdout.split())
        self.assertEqual(self.stack.get(f"{BASE}/{c['id']}/snapshots/1", token=m).json["indicatorSnapshot"], "pending")
        asked = self.stack.procs["monitoring"].log_text().count(f"кампании {c['id']} (")
        self.assertEqual(asked, 3, "the close and each of the two reads asked the indicators service")
        self.assertIn(member, self.stack.redis_cli("SMEMBERS", "mon:{r:07}:ind:pending").stdout.split())
        if "indicators" in self.stack.procs:  # back: the next read gets the indicators' snapshot made
            self.stack.restart("indicators")
            deadline = time.time() + 15
            state = "pending"
            while state == "pending" and time.time() < deadline:
                state = self.stack.get(f"{BASE}/{c['id']}/snapshots/1", token=m).json["indicatorSnapshot"]
                time.sleep(0.3)
            self.assertTrue(state.startswith("created:"), state)
            self.assertNotIn(member, self.stack.redis_cli("SMEMBERS", "mon:{r:07}:ind:pending").stdout.split())
            snap1.json["indicatorSnapshot"] = state
        # reopen, return s0, s0 resubmits other values, approve s0 and s1, close again
        self.assertEqual(self.stack.post(f"{BASE}/{c['id']}/reopen", {}, token=m).status, 200)
        self.assertEqual(self.stack.post(self.report_path(c, s1) + "/approve", {}, token=m).status, 200)
        r = self.stack.post(f"{BASE}/{c['id']}/close", {}, token=m)
        self.assertEqual(int(r.json["snapshotVersion"]), 2)
        again = self.stack.get(f"{BASE}/{c['id']}/snapshots/1", token=m).json
        self.assertEqual(again, snap1.json)  # version 1 unchanged
        snap2 = self.stack.get(f"{BASE}/{c['id']}/snapshots/2", token=m).json
        self.assertEqual(sorted(x["organizationId"] for x in snap2["reports"]), sorted([s0["id"], s1["id"]]))
        lst = self.stack.get(f"{BASE}/{c['id']}/snapshots", token=m).json
        self.assertEqual([int(x["version"]) for x in lst["items"]], [1, 2])
        self.assertEqual(self.stack.get(f"{BASE}/{c['id']}/snapshots/3", token=m).status, 404)
        sa = self.school_admin(s0)
        self.assertEqual(self.stack.get(f"{BASE}/{c['id']}/snapshots/1", token=sa).status, 404)
        # an open campaign's form cannot change any more
        r = self.stack.patch(f"{BASE}/{c['id']}", {"title": "Другое"}, token=m,
                             headers={"If-Match": str(r.json["version"])})
        self.assertEqual(r.status, 409, r)

    # ---- many schools at once ----

    def test_concurrent_submits_of_many_schools(self):
        admin = True
        orgs = [self._created(self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun[1]["id"], "name": f"МКОУ ООШ № {100 + i}", "kind": "school"}))
            for i in range(60)]
        c = self.stack.post(BASE, {"municipalityId": self.mun[1]["id"], "title": "Мониторинг Баксанского района",
                                   "period": "2026", "deadline": in_seconds(3600), "template": "school-heads",
                                   "organizationKind": "school"}, token=admin).json
        c = self.stack.post(f"{BASE}/{c['id']}/open", {}, token=admin).json
        self.assertEqual(c["requiredCount"], 61)
        tokens = [self.school_admin(o) for o in orgs]
        values = self.full_values(c)

        def submit(org, token):
            return self.stack.post(self.report_path(c, org) + "/submit", {"values": values}, token=token).status

        results = run_concurrently(submit, list(zip(orgs, tokens)), workers=30)
        self.assertEqual(results, [200] * 60)
        p = self.stack.get(f"{BASE}/{c['id']}/progress", token=admin).json
        self.assertEqual(p["total"]["submitted"], 60)
        self.assertEqual(p["total"]["notStarted"], 1)
        self.assertEqual(int(self.stack.redis_cli("HLEN", "mon:{r:07}:rs:" + c["id"]).stdout), 60)


if __name__ == "__main__":
    unittest.main()
