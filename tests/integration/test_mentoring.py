"""test_mentoring — the mentoring service end to end over HTTP against a real stack (gateway, auth,
registry, diagnostics, mentoring, Redis): support programmes, mentor profiles, pairs and their
lifecycle (illegal transitions refused, nothing changed), a mentor's load never exceeded under
concurrent pair creation, a person never their own mentor, one open pair per mentor, mentee and
programme, the mentor logging meetings and the mentee only reading; matching on the deficits measured
by diagnostics (strong in the deficit first, the same school before another municipality, certified
first on ties, full mentors left out, the mentee and people outside the caller's scope never shown);
the bulk assignment optimal, within every mentor's load, and created as proposed pairs."""

import concurrent.futures
import datetime
import os
import urllib.parse

from harness import StackTestCase

REGION = "07"

INSTRUMENT = {
    "title": "Диагностика для наставничества",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.assess.1", "kind": "scale", "text": "Оценивание", "scaleMin": 1, "scaleMax": 5},
        {"id": "q2", "competence": "t.method.1", "kind": "scale", "text": "Методика", "scaleMin": 1, "scaleMax": 5},
        {"id": "q3", "competence": "t.digital.1", "kind": "scale", "text": "Цифра", "scaleMin": 1, "scaleMax": 5},
    ],
}


class MentoringTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = [cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": n, "kind": "district"}))
                   for n in ("Терский район", "Баксанский район")]
        cls.org = [cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[i]["id"], "name": f"МКОУ СОШ № {i + 1}", "kind": "school"}))
            for i in (0, 0, 1)]
        today = datetime.date.today()
        cls.today = today.isoformat()
        cls.today_ru = today.strftime("%d.%m.%Y")
        young = (today - datetime.timedelta(days=365 * 25)).isoformat()
        old = (today - datetime.timedelta(days=365 * 50)).isoformat()
        start_young = (today - datetime.timedelta(days=365)).isoformat()
        start_old = (today - datetime.timedelta(days=365 * 25)).isoformat()

        def staff(i, org, birth, start, subject="mathematics"):
            return cls._created(s.post("/api/v1/staff", {
                "lastName": f"Сотрудник{i}", "firstName": "Анна", "birthDate": birth, "professionStartDate": start,
                "position": "teacher", "category": "teacher", "subjects": [subject],
                "organizationIds": [cls.org[org]["id"]]}))
        # mentee (young, school 0); mentors: same school strong in the deficit, same school not strong,
        # another municipality strong, same school strong but full later, a Russian teacher
        cls.mentee = staff(0, 0, young, start_young)
        cls.mentee2 = staff(1, 0, young, start_young)
        cls.strong_same = staff(2, 1, old, start_old)        # school 1 (same municipality), strong in assess
        cls.weak_same_school = staff(3, 0, old, start_old)   # same school, not strong in assess
        cls.strong_other_mun = staff(4, 2, old, start_old)   # other municipality, strong in assess
        cls.strong_same_school = staff(5, 0, old, start_old)  # same school, strong in assess
        cls.twin_a = staff(6, 1, old, start_old)             # identical to twin_b; b is certified
        cls.twin_b = staff(7, 1, old, start_old)
        cls.instrument = cls._created(s.post("/api/v1/instruments", INSTRUMENT))
        c = cls._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": "Независимая диагностика", "instrumentId": cls.instrument["id"], "kind": "independent",
            "startsOn": (today - datetime.timedelta(days=30)).isoformat(), "endsOn": "2099-12-31",
            "target": {"municipalityIds": [m["id"] for m in cls.mun], "categories": ["teacher"]}}))
        assert s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open").status == 200
        cls.campaign = c
        # scale 1..5 → percent (v − 1)/4: 5 = 100 % (strength), 1 = 0 % (deficit), 3 = 50 %
        rows = [
            (cls.mentee, 1, 3, 3),
            (cls.mentee2, 1, 3, 3),
            (cls.strong_same, 5, 3, 3),
            (cls.weak_same_school, 3, 3, 3),
            (cls.strong_other_mun, 5, 3, 3),
            (cls.strong_same_school, 5, 3, 3),
            (cls.twin_a, 5, 3, 3),
            (cls.twin_b, 5, 3, 3),
        ]
        header = "Код сотрудника;Внешний идентификатор;ФИО;Дата;t.assess.1;t.method.1;t.digital.1"
        lines = [header] + [f"{p['id']};;;{cls.today_ru};{(a - 1) * 25};{(b - 1) * 25};{(d - 1) * 25}"
                            for p, a, b, d in rows]
        r = s.request("POST", "/api/v1/diagnostics/results/import?" + urllib.parse.urlencode({"campaignId": c["id"]}),
                      raw=("\r\n".join(lines) + "\r\n").encode("utf-8"), headers={"Content-Type": "text/csv"})
        assert r.status == 200 and r.json.get("created") == len(rows), r
        cls.programme = cls._created(s.post("/api/v1/support-programmes", {
            "kind": "mentoring", "level": "municipal", "municipalityId": cls.mun[0]["id"],
            "title": "Программа наставничества Терского района", "startsOn": cls.today,
            "actNumber": "125-о", "actDate": cls.today}))
        cls.programme2 = cls._created(s.post("/api/v1/support-programmes", {
            "kind": "young_support", "level": "institutional", "organizationId": cls.org[0]["id"],
            "title": "Школа молодого педагога", "startsOn": cls.today}))

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

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

    def pair(self, mentor, mentee, programme=None, token=True):
        return self.stack.post("/api/v1/mentoring-pairs", {
            "programmeId": (programme or self.programme)["id"], "form": "young_specialist",
            "mentorStaffId": mentor["id"], "menteeStaffId": mentee["id"], "startsOn": self.today,
            "competences": ["t.assess.1"], "plan": [{"title": "Посещение уроков", "dueOn": "2099-01-01"}]},
            token=token)

    # ---- programmes and mentors ----

    def test_1_programme_and_mentor(self):
        s = self.stack
        self.assertEqual(self.programme["status"], "active")
        self.assertEqual(self.programme2["municipalityId"], self.mun[0]["id"])  # from the registry
        r = s.post("/api/v1/support-programmes", {"kind": "mentoring", "level": "institutional",
                                                  "organizationId": REGION + "-o99999", "title": "X",
                                                  "startsOn": self.today})
        self.assertEqual(r.status, 400, r)
        self.assertIn("Организация не найдена", str(r.json))
        r = s.post("/api/v1/support-programmes", {"kind": "mentoring", "level": "municipal",
                                                  "municipalityId": self.mun[0]["id"], "title": "",
                                                  "startsOn": "31.12.2025"})
        self.assertEqual(r.status, 400, r)
        r = s.get("/api/v1/support-programmes?kind=young_support")
        self.assertEqual([p["id"] for p in r.json["items"]], [self.programme2["id"]])
        r = s.get("/api/v1/export/support-programmes")
        self.assertEqual(r.status, 200, r)
        self.assertIn("Школа молодого педагога", r.body.decode("utf-8"))

        m = self._created(s.post("/api/v1/mentors", {"staffId": self.twin_b["id"], "certified": True,
                                                     "certifiedOn": self.today, "certificationAct": "Приказ № 7",
                                                     "maxMentees": 3}))
        self.assertEqual(m["id"], REGION + "-m" + self.twin_b["id"].split("-s")[1])
        self.assertEqual(m["fullName"], "Сотрудник7 Анна")
        r = s.get(f"/api/v1/mentors/{self.twin_b['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["certified"])
        self.assertEqual(s.post("/api/v1/mentors", {"staffId": self.twin_b["id"]}).status, 409)
        r = s.post("/api/v1/mentors", {"staffId": self.twin_a["id"], "maxMentees": 11})
        self.assertEqual(r.status, 400, r)
        r = s.post("/api/v1/mentors", {"staffId": REGION + "-s99999"})
        self.assertEqual(r.status, 400, r)
        r = s.get("/api/v1/mentors?certified=true")
        self.assertEqual([x["staffId"] for x in r.json["items"]], [self.twin_b["id"]])
        r = s.request("PATCH", f"/api/v1/mentors/{self.twin_b['id']}", {"availabilityNote": "по средам"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["availabilityNote"], "по средам")
        self.assertEqual(s.get("/api/v1/export/mentors").status, 200)

    # ---- pairs: lifecycle ----

    def test_2_lifecycle(self):
        s = self.stack
        r = self.pair(self.mentee, self.mentee)
        self.assertEqual(r.status, 400, r)
        self.assertIn("самому себе", str(r.json))
        p = self._created(self.pair(self.strong_same, self.mentee2, self.programme2))
        self.assertEqual(p["status"], "proposed")
        self.assertEqual(p["mentorName"], "Сотрудник2 Анна")
        self.assertEqual(len(p["history"]), 1)
        # one open pair per mentor, mentee and programme
        self.assertEqual(self.pair(self.strong_same, self.mentee2, self.programme2).status, 409)
        pid = p["id"]
        # illegal: complete or log a meeting before activation — nothing changes
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/complete", {"outcome": {"result": "Готово"}})
        self.assertEqual(r.status, 409, r)
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/meetings",
                   {"meeting": {"heldOn": self.today, "topic": "Знакомство", "durationMinutes": 45}})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(s.get(f"/api/v1/mentoring-pairs/{pid}").json["version"], p["version"])
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/activate", {})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "active")
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{pid}/activate", {}).status, 409)
        # the mentor logs a meeting; the mentee reads, may not log; an outsider sees nothing
        mentor_token = self.user_token("teacher", "self", self.strong_same["id"], self.strong_same["id"])
        mentee_token = self.user_token("teacher", "self", self.mentee2["id"], self.mentee2["id"])
        other_token = self.user_token("teacher", "self", self.twin_a["id"], self.twin_a["id"])
        meeting = {"meeting": {"heldOn": self.today, "topic": "Анализ урока", "durationMinutes": 45}}
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/meetings", meeting, token=mentor_token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["meetings"]), 1)
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{pid}/meetings", meeting, token=mentee_token).status, 403)
        self.assertEqual(s.get(f"/api/v1/mentoring-pairs/{pid}", token=mentee_token).status, 200)
        self.assertEqual(s.get(f"/api/v1/mentoring-pairs/{pid}", token=other_token).status, 404)
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{pid}/complete", {"outcome": {"result": "x"}},
                                token=mentor_token).status, 403)
        r = s.get(f"/api/v1/staff/{self.mentee2['id']}/mentoring", token=mentee_token)
        self.assertEqual([x["id"] for x in r.json["items"]], [pid])
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/meetings", {"meeting": {"heldOn": "2999-01-01", "topic": "",
                                                                           "durationMinutes": 0}})
        self.assertEqual(r.status, 400, r)
        r = s.post(f"/api/v1/mentoring-pairs/{pid}/complete",
                   {"outcome": {"result": "Дефицит в оценивании закрыт", "competencesClosed": ["t.assess.1"]}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "completed")
        self.assertEqual([h["status"] for h in r.json["history"]], ["proposed", "active", "completed"])
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{pid}/cancel", {"reason": "x"}).status, 409)
        # a new pair of the same people is allowed once the old one is closed
        p2 = self._created(self.pair(self.strong_same, self.mentee2, self.programme2))
        r = s.post(f"/api/v1/mentoring-pairs/{p2['id']}/cancel", {})
        self.assertEqual(r.status, 400, r)  # a reason is required
        r = s.post(f"/api/v1/mentoring-pairs/{p2['id']}/cancel", {"reason": "Наставник в отпуске"})
        self.assertEqual(r.status, 200, r)
        r = s.get("/api/v1/mentoring-pairs?status=completed")
        self.assertEqual([x["id"] for x in r.json["items"]], [pid])
        r = s.get("/api/v1/export/mentoring-pairs?programmeId=" + self.programme2["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.decode("utf-8").count("\n"), 3)  # header + two pairs

    # ---- load ----

    def test_3_load_never_exceeded_concurrently(self):
        s = self.stack
        mentor = self._created(s.post("/api/v1/staff", {
            "lastName": "Нагрузкина", "firstName": "Мария", "birthDate": "1970-01-01", "position": "teacher",
            "category": "teacher", "subjects": ["mathematics"], "organizationIds": [self.org[0]["id"]]}))
        self._created(s.post("/api/v1/mentors", {"staffId": mentor["id"], "maxMentees": 3}))
        mentees = [self._created(s.post("/api/v1/staff", {
            "lastName": f"Молодой{i}", "firstName": "Иван", "birthDate": "2000-01-01", "position": "teacher",
            "category": "teacher", "subjects": ["mathematics"], "organizationIds": [self.org[0]["id"]]}))
            for i in range(10)]
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            results = list(pool.map(lambda m: self.pair(mentor, m), mentees))
        created = [r for r in results if r.status == 201]
        self.assertEqual(len(created), 3, [r.status for r in results])
        self.assertEqual(sorted(r.json["loadSlot"] for r in created), [1, 2, 3])
        for r in results:
            self.assertIn(r.status, (201, 409), r)
        r = s.get("/api/v1/mentoring-pairs?mentorStaffId=" + mentor["id"])
        self.assertEqual(len(r.json["items"]), 3)
        # cancelling one frees a place
        s.post(f"/api/v1/mentoring-pairs/{created[0].json['id']}/cancel", {"reason": "Переезд"})
        rest = [m for m in mentees if m["id"] not in {r.json["menteeStaffId"] for r in created}]
        self.assertEqual(self.pair(mentor, rest[0]).status, 201)
        self.assertEqual(self.pair(mentor, rest[1]).status, 409)

    # ---- matching ----

    def match(self, mentee, token=True, **q):
        q = {"menteeId": mentee["id"], "limit": 50, **q}
        return self.stack.get("/api/v1/mentoring/matches?" + urllib.parse.urlencode(q), token=token)

    def test_4_matching(self):
        s = self.stack
        r = self.match(self.mentee, programmeId=self.programme["id"])
        self.assertEqual(r.status, 200, r)
        m = r.json
        self.assertEqual(m["deficits"], ["t.assess.1"])
        ids = [c["staffId"] for c in m["items"]]
        self.assertNotIn(self.mentee["id"], ids)
        rank = {sid: i for i, sid in enumerate(ids)}
        # strong in the deficit outranks one who is not (even from the same school)
        self.assertLess(rank[self.strong_same["id"]], rank[self.weak_same_school["id"]])
        # the same school outranks another municipality
        self.assertLess(rank[self.strong_same_school["id"]], rank[self.strong_other_mun["id"]])
        # certified first between otherwise equal candidates
        self.assertLess(rank[self.twin_b["id"]], rank[self.twin_a["id"]])
        by_id = {c["staffId"]: c for c in m["items"]}
        best = by_id[self.strong_same_school["id"]]
        self.assertEqual(best["coveredDeficits"], ["t.assess.1"])
        self.assertIn("где у наставляемого дефицит", best["explanation"])
        self.assertIn("тот же предмет", best["explanation"])
        self.assertIn("та же школа", best["explanation"])
        self.assertIn("свободно 2 места из 2", best["explanation"])
        self.assertIn("сертифицированный наставник", by_id[self.twin_b["id"]]["explanation"])
        parts = {p["name"]: p for p in best["parts"]}
        self.assertEqual(set(parts), {"deficit", "subject", "proximity", "certified", "capacity", "experience"})
        self.assertAlmostEqual(sum(p["points"] for p in parts.values()), best["score"], places=1)
        scores = [c["score"] for c in m["items"]]
        self.assertEqual(scores, sorted(scores, reverse=True))
        # deterministic: the same answer again
        self.assertEqual([c["staffId"] for c in self.match(self.mentee).json["items"]], ids)
        # a full mentor is left out
        full = [c for c in m["items"] if c["fullName"].startswith("Нагрузкина")]
        self.assertEqual(full, [])
        # scope: a methodologist of the mentee's municipality sees no one of the other; another
        # municipality's methodologist does not find the mentee; a teacher may not ask
        mm = self.user_token("municipal_methodologist", "municipality", self.mun[0]["id"])
        r = self.match(self.mentee, token=mm)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(self.strong_other_mun["id"], [c["staffId"] for c in r.json["items"]])
        self.assertIn(self.strong_same["id"], [c["staffId"] for c in r.json["items"]])
        sa = self.user_token("school_admin", "organization", self.org[0]["id"])
        r = self.match(self.mentee, token=sa)
        self.assertEqual({c["staffId"] for c in r.json["items"]} & {self.strong_same["id"], self.twin_b["id"]}, set())
        other = self.user_token("municipal_methodologist", "municipality", self.mun[1]["id"])
        self.assertEqual(self.match(self.mentee, token=other).status, 404)
        teacher = self.user_token("teacher", "self", self.mentee["id"], self.mentee["id"])
        self.assertEqual(self.match(self.mentee, token=teacher).status, 403)
        self.assertEqual(s.get("/api/v1/mentoring/matches?menteeId=x").status, 400)
        self.assertEqual(self.match(self.mentee, programmeId=REGION + "-g99999").status, 404)

    def test_5_assignment(self):
        s = self.stack
        prog = self._created(s.post("/api/v1/support-programmes", {
            "kind": "young_support", "level": "municipal", "municipalityId": self.mun[0]["id"],
            "title": "Поддержка молодых педагогов", "startsOn": self.today}))
        body = {"programmeId": prog["id"], "menteeIds": [self.mentee["id"], self.mentee2["id"]], "dryRun": True}
        r = s.post("/api/v1/mentoring/assignments", body)
        self.assertEqual(r.status, 200, r)
        a = r.json
        self.assertEqual(len(a["assignments"]), 2, a)
        self.assertGreaterEqual(a["totalScore"], a["greedyTotalScore"])
        self.assertEqual(s.get("/api/v1/mentoring-pairs?programmeId=" + prog["id"]).json.get("items", []), [])
        body["dryRun"] = False
        r = s.post("/api/v1/mentoring/assignments", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["created"], 2, r.json)
        pairs = s.get("/api/v1/mentoring-pairs?programmeId=" + prog["id"]).json["items"]
        self.assertEqual(sorted(p["menteeStaffId"] for p in pairs), sorted([self.mentee["id"], self.mentee2["id"]]))
        self.assertEqual({p["status"] for p in pairs}, {"proposed"})
        # again: both already have a pair in the programme
        r = s.post("/api/v1/mentoring/assignments", body)
        self.assertEqual(r.json.get("created", 0), 0)
        self.assertEqual(len(r.json["unmatched"]), 2)
        self.assertIn("Уже есть пара", r.json["unmatched"][0]["reason"])
        # every young teacher of the municipality, dry run; every mentor within its places
        r = s.post("/api/v1/mentoring/assignments", {"programmeId": prog["id"], "municipalityId": self.mun[0]["id"],
                                                    "dryRun": True})
        self.assertEqual(r.status, 200, r)
        load = {}
        for x in r.json.get("assignments", []):
            load[x["mentorId"]] = load.get(x["mentorId"], 0) + 1
        for mentor_id, n in load.items():
            m = s.get(f"/api/v1/mentors/{mentor_id}")
            limit = m.json["maxMentees"] if m.status == 200 else 2
            self.assertLessEqual(n, limit)
        self.assertGreaterEqual(r.json["totalScore"], r.json["greedyTotalScore"])
        self.assertEqual(s.post("/api/v1/mentoring/assignments", {"programmeId": prog["id"]}).status, 400)
        teacher = self.user_token("teacher", "self", self.mentee["id"], self.mentee["id"])
        self.assertEqual(s.post("/api/v1/mentoring/assignments", body, token=teacher).status, 403)
