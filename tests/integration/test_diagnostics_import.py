"""test_diagnostics_import — import of results from an external diagnostic centre over HTTP against a
real stack: a Windows-1251 file with ';', people named by platform id or by external id (СНИЛС), an
unknown person, a bad score and a person named twice reported per row and column in Russian; a dry run
stores nothing; the real import stores results whose deficits show in the competence profile;
re-importing the same file changes nothing; other scores update; scope and campaign kind enforced."""

import datetime
import os
import urllib.parse

from harness import StackTestCase

REGION = "07"

INSTRUMENT = {
    "title": "Независимая диагностика учителей математики",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.method.1", "kind": "single_choice", "text": "Этап урока",
         "options": [{"id": "a", "text": "Проверка", "points": 0}, {"id": "b", "text": "Мотивация", "points": 2}]},
        {"id": "q2", "competence": "t.assess.1", "kind": "scale", "text": "Оценивание", "scaleMin": 1, "scaleMax": 5},
        {"id": "q3", "competence": "t.subject.1", "kind": "numeric", "text": "Корень 2x − 7 = 0",
         "maxPoints": 3, "correctValue": 3.5, "tolerance": 0.05},
    ],
    "thresholds": [{"competence": "t.assess.1", "thresholdPercent": 50, "masteryPercent": 100}],
}


class DiagnosticsImportTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": n, "kind": "district"}))
                   for n in ("Терский район", "Баксанский район")]
        cls.org = [cls._created(s.post("/api/v1/organizations", {
            "municipalityId": m["id"], "name": f"МКОУ СОШ № {i + 1}", "kind": "school"})) for i, m in enumerate(cls.mun)]
        cls.staff = [cls._created(s.post("/api/v1/staff", {
            "lastName": f"Шогенова{i}", "firstName": "Залина", "birthDate": "1984-02-03", "position": "teacher",
            "category": "teacher", "subjects": ["mathematics"], "organizationIds": [cls.org[i % 2]["id"]],
            "externalId": f"100-200-30{i} 0{i}"})) for i in range(4)]
        cls.instrument = cls._created(s.post("/api/v1/instruments", INSTRUMENT))
        today = datetime.date.today()
        cls.today_ru = today.strftime("%d.%m.%Y")
        cls.campaign = cls._campaign("independent", today)
        cls.self_campaign = cls._campaign("self", today)

    @classmethod
    def _campaign(cls, kind, today):
        s = cls.stack
        c = cls._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": f"Независимая диагностика ({kind})", "instrumentId": cls.instrument["id"], "kind": kind,
            "startsOn": (today - datetime.timedelta(days=30)).isoformat(), "endsOn": "2099-12-31",
            "target": {"municipalityIds": [cls.mun[0]["id"]], "categories": ["teacher"]}}))
        r = s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open")
        assert r.status == 200, r
        return r.json

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    def upload(self, text, campaign=None, dry_run=False, encoding="cp1251", token=True):
        q = {"campaignId": (campaign or self.campaign)["id"]}
        if dry_run:
            q["dryRun"] = "true"
        return self.stack.request("POST", "/api/v1/diagnostics/results/import?" + urllib.parse.urlencode(q),
                                  raw=text.encode(encoding), headers={"Content-Type": "text/csv"}, token=token)

    def results(self, staff):
        r = self.stack.get("/api/v1/diagnostics/results?" + urllib.parse.urlencode(
            {"campaignId": self.campaign["id"], "staffId": staff["id"]}))
        self.assertEqual(r.status, 200, r)
        return r.json.get("items", [])

    def user_token(self, role, scope_kind, scope_id, staff_id=None):
        login = "u" + os.urandom(5).hex()
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        body = {"login": login, "password": password, "fullName": "Пользователь теста", "role": role,
                "scope": {"kind": scope_kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        r = self.stack.post("/api/v1/users", body)
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def file(self, rows):
        header = "Код сотрудника;Внешний идентификатор;ФИО;Дата;t.assess.1;t.method.1;t.subject.1"
        return "\r\n".join([header] + rows) + "\r\n"

    def test_1_template(self):
        r = self.stack.get("/api/v1/diagnostics/results/import/template.csv?campaignId=" + self.campaign["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/csv", r.header("content-type", ""))
        text = r.body.decode("utf-8-sig")
        header = text.split("\r\n")[0].split(";")
        self.assertEqual(header, ["Код сотрудника", "Внешний идентификатор", "ФИО", "Дата", "t.assess.1",
                                  "t.method.1", "t.subject.1"])

    def test_2_import_dry_run_then_real_then_again(self):
        a, b, c = self.staff[0], self.staff[1], self.staff[2]
        text = self.file([
            f"{a['id']};;Шогенова0 Залина;{self.today_ru};40;90;17/20",          # row 2: by id
            f";{b['externalId']};Шогенова1 Залина;{self.today_ru};75,5 %;50;3/3",  # row 3: by СНИЛС
            f"{REGION}-s99999;;Неизвестная;{self.today_ru};50;50;50",           # row 4: unknown
            f"{self.staff[3]['id']};;;{self.today_ru};50;105;50",               # row 5: bad score
            f"{c['id']};;;{self.today_ru};60;60;60",                            # rows 6, 7: twice
            f";{c['externalId']};;{self.today_ru};61;61;61",
        ])
        # dry run: the same report, nothing stored
        r = self.upload(text, dry_run=True)
        self.assertEqual(r.status, 200, r)
        report = r.json
        self.assertTrue(report["dryRun"])
        self.assertEqual((report["rows"], report.get("created", 0), report.get("rejected", 0)), (6, 2, 4), report)
        self.assertEqual(self.results(a), [])
        self.assertEqual(self.results(b), [])

        r = self.upload(text)
        self.assertEqual(r.status, 200, r)
        report = r.json
        self.assertEqual((report.get("created", 0), report.get("updated", 0), report.get("rejected", 0)), (2, 0, 4),
                         report)
        errors = {(e["row"], e.get("column", "")): e["message"] for e in report["errors"]}
        self.assertIn("не найден", errors[(4, "Код сотрудника")])
        self.assertIn("процент", errors[(5, "t.method.1")])
        self.assertIn("несколько раз", errors[(6, "")])
        self.assertIn("несколько раз", errors[(7, "")])
        self.assertEqual(self.results(c), [])
        self.assertEqual(self.results(self.staff[3]), [])

        # the imported person's profile shows the deficit with the instrument's own threshold
        r = self.stack.get(f"/api/v1/staff/{a['id']}/competence-profile")
        self.assertEqual(r.status, 200, r)
        profile = r.json
        self.assertEqual(profile["latest"]["source"], "import")
        self.assertEqual(profile["deficits"], ["t.assess.1"])
        self.assertEqual(profile["strengths"], ["t.method.1", "t.subject.1"])  # 17/20 = 85 % = mastery
        scores = {s["competence"]: s for s in profile["latest"]["scores"]}
        self.assertEqual(scores["t.assess.1"]["percent"], 40)
        self.assertEqual((scores["t.subject.1"]["points"], scores["t.subject.1"]["maxPoints"]), (17, 20))
        b_result = self.results(b)
        self.assertEqual(len(b_result), 1)
        self.assertNotIn("t.assess.1", b_result[0].get("deficits", []))  # 75.5 ≥ 50
        self.assertEqual(b_result[0].get("strengths", []), ["t.subject.1"])

        # the same file again: nothing new
        r = self.upload(text)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json.get("created", 0), r.json.get("updated", 0), r.json.get("unchanged", 0)), (0, 0, 2),
                         r.json)
        self.assertEqual(len(self.results(a)), 1)

        # other scores for one person: that result is replaced, not duplicated
        r = self.upload(self.file([f"{a['id']};;;{self.today_ru};55;90;17/20"]), encoding="utf-8")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json.get("created", 0), r.json.get("updated", 0)), (0, 1), r.json)
        got = self.results(a)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].get("deficits", []), [])

    def test_3_file_errors_and_rules(self):
        # unknown column: the whole file is refused
        r = self.upload("Код сотрудника;Дата;t.unknown.9\r\n07-s1;01.01.2020;50\r\n")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json.get("created", 0), 0)
        self.assertIn("Неизвестный столбец", r.json["errors"][0]["message"])
        # a date outside the campaign
        r = self.upload(self.file([f"{self.staff[3]['id']};;;01.01.2001;50;50;50"]))
        self.assertEqual(r.json.get("rejected", 0), 1, r.json)
        self.assertEqual(r.json["errors"][0]["column"], "Дата")
        # a campaign of self-diagnostics takes no imports
        r = self.upload(self.file([f"{self.staff[3]['id']};;;{self.today_ru};50;50;50"]), campaign=self.self_campaign)
        self.assertEqual(r.status, 409, r)
        # a teacher may not import
        teacher = self.user_token("teacher", "self", self.staff[3]["id"], self.staff[3]["id"])
        r = self.upload(self.file([f"{self.staff[3]['id']};;;{self.today_ru};50;50;50"]), token=teacher)
        self.assertEqual(r.status, 403, r)
        # a methodologist of the second municipality: a person of the first is not found for them
        methodologist = self.user_token("municipal_methodologist", "municipality", self.mun[1]["id"])
        other, own = self.staff[2], self.staff[3]   # staff[2] in m1, staff[3] in m2
        r = self.upload(self.file([f"{other['id']};;;{self.today_ru};50;50;50",
                                   f"{own['id']};;;{self.today_ru};50;50;50"]), token=methodologist)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json.get("created", 0), r.json.get("rejected", 0)), (1, 1), r.json)
        self.assertIn("не найден", r.json["errors"][0]["message"])
        self.assertEqual(len(self.results(own)), 1)
        self.assertEqual(self.results(other), [])
