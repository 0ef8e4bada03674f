"""test_indicators — the indicators service end to end over HTTP against a real stack (gateway, auth,
registry, diagnostics, events, indicators, Redis): the values of I1–I13 on a handcrafted dataset whose
expected numerators and denominators are written here by hand (a person of two schools, boundary ages
and start dates, a regional school outside I1, empty denominators, half-up rounding), by municipality,
organization and subject; periods (calendar year, school year, date range, bad ones refused in Russian);
targets and «met»; freshness (a change visible within 1 s); a kill -9 of the consumer mid-stream loses
and double-counts nothing; a poison entry lands in the dead-letter stream and the rest goes on; who sees
which scope."""

import os
import subprocess
import time
import unittest

from harness import StackTestCase

REGION = "07"
Y = "2026"
# every period's first read builds its counters in several calls of values.lua (3 people per call), so the
# tests see the building path and the writes that land while it runs (inherited by the stack's processes)
os.environ["METODNET_INDICATORS_BUILD_CHUNK"] = "3"


class IndicatorsTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.m1 = cls._ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский район", "kind": "district"}))
        cls.m2 = cls._ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Баксанский район", "kind": "district"}))
        org = lambda m, name, kind="school", founder="municipal": cls._ok(s.post("/api/v1/organizations", {
            "municipalityId": m["id"], "name": name, "shortName": name, "kind": kind, "founder": founder}))
        cls.o1 = org(cls.m1, "МКОУ СОШ № 1")
        cls.o2 = org(cls.m1, "МКОУ СОШ № 2")
        cls.o3 = org(cls.m2, "ГБОУ Лицей № 3", founder="regional")
        cls.o4 = org(cls.m2, "МКДОУ Детский сад № 4", kind="preschool")
        staff = lambda orgs, cat, birth, start, subjects, pos="teacher": cls._ok(s.post("/api/v1/staff", {
            "lastName": "Кодзоков", "firstName": "Аслан", "birthDate": birth, "professionStartDate": start,
            "position": pos, "category": cat, "subjects": subjects, "organizationIds": [o["id"] for o in orgs]}))
        # T1: two schools of M1, young (31 on 2026-12-31), early career (started 2024-09-01)
        cls.t1 = staff([cls.o1, cls.o2], "teacher", "1995-06-01", "2024-09-01", ["mathematics"])
        # T2: 35 on 2026-12-31 exactly (birthday that day): not young
        cls.t2 = staff([cls.o1], "teacher", "1991-12-31", "2010-09-01", ["mathematics", "physics"])
        # T3: regional lyceum (outside I1); 34 on the reference date; started exactly 3 years before it: not early
        cls.t3 = staff([cls.o3], "teacher", "1992-01-01", "2023-12-31", ["russian_language"])
        # T4: municipal kindergarten
        cls.t4 = staff([cls.o4], "teacher", "1980-03-03", "2001-09-01", ["mathematics"])
        # T5: young, early career, started 2024-01-01 (less than 3 years before the reference date)
        cls.t5 = staff([cls.o2], "teacher", "2000-01-01", "2024-01-01", ["russian_language"])
        cls.g1 = staff([cls.o1], "manager", "1975-01-01", "2000-09-01", [], pos="director")
        cls.g3 = staff([cls.o3], "manager", "1970-01-01", "1995-09-01", [], pos="director")
        # associations: a network community of M1 (home: municipality), a school association of O3
        cls.a1 = cls._ok(s.post("/api/v1/associations", {"name": "Сетевое сообщество учителей математики",
                                                          "kind": "network_community", "level": "municipal",
                                                          "municipalityId": cls.m1["id"], "subject": "mathematics",
                                                          "network": True}))
        cls.a2 = cls._ok(s.post("/api/v1/associations", {"name": "ШМО учителей русского языка",
                                                          "kind": "methodological_association", "level": "institutional",
                                                          "organizationId": cls.o3["id"], "subject": "russian_language"}))
        today = time.strftime("%Y-%m-%d")
        cls.today = today
        cls._ok(s.post(f"/api/v1/associations/{cls.a1['id']}/members", {"staffId": cls.t1["id"], "joinedOn": "2026-02-01"}))
        cls._ok(s.post(f"/api/v1/associations/{cls.a2['id']}/members", {"staffId": cls.t3["id"], "joinedOn": "2026-02-01"}))
        # a programme tagged «управление качеством образования» completed by G1 (so O1's team is trained)
        cls.p1 = cls._ok(s.post("/api/v1/programmes", {"title": "Управление качеством образования в ОО",
                                                        "regionId": REGION, "provider": "ЦНППМ КБР", "hours": 36,
                                                        "format": "distance", "federalRegistry": True,
                                                        "competences": ["pedagogy.assessment"],
                                                        "tags": ["управление качеством образования"]}))
        cls._ok(s.post("/api/v1/qualification-records", {"staffId": cls.g1["id"], "programmeId": cls.p1["id"],
                                                          "completedOn": "2025-05-20", "hours": 36,
                                                          "documentNumber": "072400001234"}))

    @staticmethod
    def _ok(r):
        assert r.status in (200, 201), r
        return r.json

    def values(self, scope_kind="region", scope_id=REGION, period=Y, by=None, token=True, expect=200, **extra):
        q = f"/api/v1/indicator-values?scopeKind={scope_kind}&scopeId={scope_id}&period={period}"
        if by:
            q += f"&by={by}"
        for k, v in extra.items():
            q += f"&{k}={v}"
        r = self.stack.get(q, token=token)
        self.assertEqual(r.status, expect, r)
        return r.json

    @staticmethod
    def table(resp, key="items"):
        """{(scopeId, indicator, subject): (numerator, denominator, value)}"""
        out = {}
        for v in resp.get(key, []):
            out[(v.get("scopeId", ""), v["indicator"], v.get("subject", ""))] = (
                int(v.get("numerator", 0)), int(v.get("denominator", 0)), v.get("value") if v.get("hasValue") else None)
        return out

    def wait_values(self, check, timeout=10.0, **kw):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.values(**kw)
            if check(last):
                return last
            time.sleep(0.05)
        self.fail(f"значения не сошлись за {timeout} с: {last}")

    def test_01_region_values_by_hand(self):
        # people: T1 T2 T3 T4 T5 teachers (5), G1 G3 managers (2); municipal teachers: T1 T2 T4 T5 (T3 regional)
        # I9: T1 in a network community on the reference date → 1/5 = 20.0
        # I10: two associations whose homes lie in the region
        # I12: organizations of educational kinds with ≥1 manager: O1 (G1 trained) and O3 (G3 not) → 1/2 = 50.0
        # I13: young early-career teachers: T1 (start 2024-09-01), T5 (2024-01-01); T3 started exactly 3 years
        #      before: not counted; T1 is a member in P → 1/2 = 50.0
        # I4: young teachers (<35 on 2026-12-31): T1 (31), T3 (34), T5 (26); T2 is 35 that day → 0/3 = 0.0
        r = self.wait_values(lambda r: self.table(r).get((REGION, "I12", ""), (0, 0))[1] == 2
                             and self.table(r).get((REGION, "I9", ""), (0, 0))[0] == 1
                             and self.table(r).get((REGION, "I1", ""), (0, 0))[1] == 4)
        t = self.table(r)
        self.assertEqual(r["period"], "2026")
        self.assertEqual(r["periodStart"], "2026-01-01")
        self.assertEqual(r["periodEnd"], "2026-12-31")
        self.assertEqual(t[(REGION, "I1", "")], (0, 4, 0.0))
        self.assertEqual(t[(REGION, "I2", "")], (0, 2, 0.0))
        self.assertEqual(t[(REGION, "I4", "")], (0, 3, 0.0))
        self.assertEqual(t[(REGION, "I6", "")], (0, 5, 0.0))
        self.assertEqual(t[(REGION, "I9", "")], (1, 5, 20.0))
        self.assertEqual(t[(REGION, "I10", "")], (2, 0, 2))
        self.assertEqual(t[(REGION, "I11", "")], (0, 5, 0.0))
        self.assertEqual(t[(REGION, "I12", "")], (1, 2, 50.0))
        self.assertEqual(t[(REGION, "I13", "")], (1, 2, 50.0))
        self.assertEqual(t[(REGION, "I3", "")], (0, 0, 0))
        self.assertEqual(len(r["items"]), 13)

    def test_02_by_municipality_and_organization(self):
        r = self.wait_values(lambda r: self.table(r, "breakdown").get((self.m1["id"], "I9", ""), (0, 0))[0] == 1,
                             by="municipality")
        b = self.table(r, "breakdown")
        m1, m2 = self.m1["id"], self.m2["id"]
        # M1: T1 (two schools, once), T2, T5 → 3 teachers; T1 networked → 1/3 = 33.3 (half-up of 33.33)
        self.assertEqual(b[(m1, "I9", "")], (1, 3, 33.3))
        self.assertEqual(b[(m1, "I1", "")], (0, 3, 0.0))
        # M2: T3 (regional: not in I1) and T4 → I1 1 teacher, I9 0/2
        self.assertEqual(b[(m2, "I1", "")], (0, 1, 0.0))
        self.assertEqual(b[(m2, "I9", "")], (0, 2, 0.0))
        self.assertEqual(b[(m1, "I10", "")], (1, 0, 1))
        self.assertEqual(b[(m2, "I10", "")], (1, 0, 1))
        r = self.values("municipality", m1, by="organization")
        b = self.table(r, "breakdown")
        # T1 counts once in each school: O1 has T1, T2; O2 has T1, T5
        self.assertEqual(b[(self.o1["id"], "I9", "")], (1, 2, 50.0))
        self.assertEqual(b[(self.o2["id"], "I9", "")], (1, 2, 50.0))
        self.assertEqual(b[(self.o1["id"], "I12", "")], (1, 1, 100.0))
        self.assertEqual(self.table(r)[(m1, "I9", "")], (1, 3, 33.3))
        names = {v["scopeId"]: v.get("scopeName") for v in r["breakdown"]}
        self.assertEqual(names[self.o1["id"]], "МКОУ СОШ № 1")

    def test_03_by_subject(self):
        r = self.wait_values(lambda r: any(v.get("subject") == "physics" for v in r.get("breakdown", [])),
                             by="subject")
        b = self.table(r, "breakdown")
        # municipal teachers by subject: mathematics T1 T2 T4, physics T2, russian_language T5 (T3 regional)
        self.assertEqual(b[(REGION, "I1", "mathematics")], (0, 3, 0.0))
        self.assertEqual(b[(REGION, "I1", "physics")], (0, 1, 0.0))
        self.assertEqual(b[(REGION, "I1", "russian_language")], (0, 1, 0.0))

    def test_04_periods(self):
        r = self.values(period="2025/26")
        self.assertEqual((r["periodStart"], r["periodEnd"]), ("2025-09-01", "2026-08-31"))
        # on 2026-08-31 T2 is 34: young (T1, T2, T3, T5)
        self.assertEqual(self.table(r)[(REGION, "I4", "")][1], 4)
        r = self.values(period="2026-01-01..2026-01-31")
        # the network membership starts 2026-02-01: nobody networked on 2026-01-31
        self.assertEqual(self.table(r)[(REGION, "I9", "")], (0, 5, 0.0))
        bad = self.stack.get(f"/api/v1/indicator-values?scopeKind=region&scopeId={REGION}&period=2025/27")
        self.assertJsonError(bad, 400)
        self.assertIn("Учебный год", str(bad.json))
        bad = self.stack.get(f"/api/v1/indicator-values?scopeKind=region&scopeId={REGION}&by=class")
        self.assertJsonError(bad, 400)
        bad = self.stack.get(f"/api/v1/indicator-values?scopeKind=region&scopeId={REGION}&indicator=I99")
        self.assertJsonError(bad, 400)
        bad = self.stack.get(f"/api/v1/indicator-values?scopeKind=region&scopeId={self.m1['id']}")
        self.assertJsonError(bad, 400)
        bad = self.stack.get("/api/v1/indicator-values?scopeKind=municipality&scopeId=07")
        self.assertJsonError(bad, 400)

    def test_05_targets_and_catalogue(self):
        r = self.stack.request("PUT", "/api/v1/indicator-targets/I9", {"target": 20})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["target"], 20)
        r = self.stack.request("PUT", "/api/v1/indicator-targets/I12", {"target": 80})
        self.assertEqual(r.status, 200, r)
        self.assertJsonError(self.stack.request("PUT", "/api/v1/indicator-targets/I9", {"target": 120}), 400)
        self.assertJsonError(self.stack.request("PUT", "/api/v1/indicator-targets/I77", {"target": 1}), 400)
        cat = self.stack.get("/api/v1/indicators")
        self.assertEqual(cat.status, 200, cat)
        self.assertEqual([i["code"] for i in cat.json["items"]], [f"I{n}" for n in range(1, 14)])
        self.assertEqual(cat.json["items"][8].get("target"), 20)
        v = {x["indicator"]: x for x in self.values()["items"]}
        self.assertTrue(v["I9"]["met"])       # 20.0 ≥ 20
        self.assertFalse(v["I12"].get("met", False))  # 50.0 < 80

    def test_06_freshness(self):
        # a new network member shows in I9 within a second
        t0 = time.monotonic()
        self._ok(self.stack.post(f"/api/v1/associations/{self.a1['id']}/members",
                                 {"staffId": self.t4["id"], "joinedOn": "2026-03-01"}))
        self.wait_values(lambda r: self.table(r)[(REGION, "I9", "")][0] == 2, timeout=1.0)
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_07_access(self):
        teacher = self._user("teacher", "self", self.t1["id"], self.t1["id"])
        r = self.values(token=teacher, expect=403)
        meth = self._user("municipal_methodologist", "municipality", self.m1["id"])
        self.values("municipality", self.m1["id"], token=meth)
        self.values("organization", self.o1["id"], token=meth)
        self.values("municipality", self.m2["id"], token=meth, expect=403)
        self.values("organization", self.o3["id"], token=meth, expect=403)
        self.values(token=meth, expect=403)
        school = self._user("school_admin", "organization", self.o1["id"])
        self.values("organization", self.o1["id"], token=school)
        self.values("organization", self.o2["id"], token=school, expect=403)
        self.values("municipality", self.m1["id"], token=school, expect=403)
        r = self.stack.request("PUT", "/api/v1/indicator-targets/I1", {"target": 50}, token=meth)
        self.assertJsonError(r, 403)
        del r

    def test_08_snapshots(self):
        a = self.stack.post("/api/v1/indicator-snapshots", {"scopeKind": "municipality", "scopeId": self.m1["id"],
                                                            "period": Y, "campaignId": "07-c1", "reason": "закрытие"})
        self.assertEqual(a.status, 201, a)
        self.assertEqual(a.json["version"], "1")
        rows = {(v["scopeId"], v["indicator"]): (int(v["numerator"]), int(v.get("denominator", 0)))
                for v in a.json["values"]}
        self.assertEqual(rows[(self.m1["id"], "I9")], (1, 3))
        self.assertEqual(rows[(self.o1["id"], "I9")], (1, 2))
        # a change after the snapshot does not alter it; a second one is version 2
        self._ok(self.stack.post(f"/api/v1/associations/{self.a1['id']}/members",
                                 {"staffId": self.t5["id"], "joinedOn": "2026-03-01"}))
        self.wait_values(lambda r: self.table(r)[(self.m1["id"], "I9", "")][0] == 2, scope_kind="municipality",
                         scope_id=self.m1["id"])
        b = self.stack.post("/api/v1/indicator-snapshots", {"scopeKind": "municipality", "scopeId": self.m1["id"],
                                                            "period": Y})
        self.assertEqual(b.json["version"], "2")
        got = self.stack.get(f"/api/v1/indicator-snapshots/{a.json['id']}")
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json["values"], a.json["values"])
        listed = self.stack.get(f"/api/v1/indicator-snapshots?scopeId={self.m1['id']}")
        self.assertEqual([s["version"] for s in listed.json["items"]], ["2", "1"])
        self.assertJsonError(self.stack.get("/api/v1/indicator-snapshots/07-s999"), 404)
        meth2 = self._user("municipal_methodologist", "municipality", self.m2["id"])
        self.assertJsonError(self.stack.get(f"/api/v1/indicator-snapshots/{a.json['id']}", token=meth2), 404)

    def test_09_recommendations(self):
        self.assertEqual(self.stack.request("PUT", "/api/v1/indicator-targets/I12", {"target": 80}).status, 200)
        r = self.stack.get(f"/api/v1/recommendations?scopeKind=region&scopeId={REGION}&period={Y}&indicator=I12")
        self.assertEqual(r.status, 200, r)
        recs = r.json["items"]
        # I12 in the region: 1 of 2 teams (50.0 < 80): one more team; M1's team is trained, M2's (O3) is not
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertEqual(rec["addresseeId"], self.m2["id"])
        self.assertEqual(rec["addresseeKind"], "municipal_service")
        self.assertEqual(int(rec["peopleToReach"]), 1)
        self.assertTrue(rec["text"].startswith("Баксанский район: направить управленческие команды"), rec["text"])
        self.assertEqual(rec["deadline"], "2026-12-31")
        self.assertEqual(rec["status"], "sent")
        self.assertEqual([c["id"] for c in rec["contributors"]], [self.m2["id"]])
        # by school inside M2: the lyceum's head is the addressee
        r = self.stack.get(f"/api/v1/recommendations?scopeKind=municipality&scopeId={self.m2['id']}&period={Y}"
                           "&indicator=I12")
        self.assertEqual([x["addresseeId"] for x in r.json["items"]], [self.o3["id"]])
        self.assertEqual(r.json["items"][0]["addresseeKind"], "school_head")
        rid = rec["id"]
        ok = self.stack.post(f"/api/v1/recommendations/{rid}/status", {"status": "done"})
        self.assertJsonError(ok, 409)
        ok = self.stack.post(f"/api/v1/recommendations/{rid}/status", {"status": "accepted"})
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual(ok.json["status"], "accepted")
        # asking again keeps the state
        again = self.stack.get(f"/api/v1/recommendations?scopeKind=region&scopeId={REGION}&period={Y}&indicator=I12")
        self.assertEqual(again.json["items"][0]["status"], "accepted")
        self.assertEqual(self.stack.post(f"/api/v1/recommendations/{rid}/status", {"status": "done"}).json["status"],
                         "done")
        self.assertJsonError(self.stack.post("/api/v1/recommendations/07-r1/status", {"status": "done"}), 404)

    def tearDown(self):
        """after every scenario the full recompute from the source services agrees with the incremental
        state (metodctl indicators recompute --check exits 0)"""
        super().tearDown()
        if getattr(self, "_outcome", None) is not None and not getattr(self._outcome, "success", True):
            return
        self.assert_recompute_agrees()

    def assert_recompute_agrees(self, timeout=15.0):
        from harness import bin_dir
        binary = os.path.join(bin_dir(), "ops", "metodctl", "metodctl")
        env = dict(os.environ, METODNET_URL=f"http://127.0.0.1:{self.stack.http_port}",
                   METODNET_TOKEN=self.stack.tokens[0])
        deadline = time.monotonic() + timeout
        while True:  # the stream may still be catching up with the last writes of the scenario
            p = subprocess.run([binary, "indicators", "recompute", "--check"], env=env, capture_output=True,
                               text=True, timeout=60)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("расхождений с инкрементальным состоянием: 0", p.stdout)

    def test_12_recompute_finds_a_difference(self):
        """a change behind the consumer's back (a counter of the incremental state edited directly: drift) is
        found, in the values and in the counters themselves"""
        key = "ind:{r:07}:c:2026-01-01..2026-12-31@35:07"
        self.values()  # the year's counters exist
        self.stack.redis_cli("HINCRBY", key, "d:I1", "1")
        from harness import bin_dir
        binary = os.path.join(bin_dir(), "ops", "metodctl", "metodctl")
        env = dict(os.environ, METODNET_URL=f"http://127.0.0.1:{self.stack.http_port}",
                   METODNET_TOKEN=self.stack.tokens[0])
        p = subprocess.run([binary, "indicators", "recompute", "--check"], env=env, capture_output=True, text=True,
                           timeout=60)
        self.stack.redis_cli("HINCRBY", key, "d:I1", "-1")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("I1 07", p.stdout)
        self.assertIn("счётчик 2026-01-01..2026-12-31@35 07 d:I1", p.stdout)

    def subject_count(self, subject):
        r = self.values(by="subject")
        return self.table(r, "breakdown").get((REGION, "I1", subject), (0, 0))[1]

    def test_10_kill9_mid_stream(self):
        """kill -9 of the consumer while creates and updates stream in: after the restart every person is
        counted once, in the subject of their last change (a replayed older entry changes nothing)."""
        import threading
        done = []

        def writer():
            for i in range(30):
                r = self.stack.post("/api/v1/staff", {
                    "lastName": f"Жерукова{i}", "firstName": "Алла", "birthDate": "1980-01-01",
                    "professionStartDate": "2005-09-01", "position": "teacher", "category": "teacher",
                    "subjects": ["chemistry"], "organizationIds": [self.o4["id"]]})
                assert r.status == 201, r
                u = self.stack.request("PATCH", f"/api/v1/staff/{r.json['id']}", {"subjects": ["biology"]},
                                       headers={"If-Match": '"1"'})
                assert u.status == 200, u
                done.append(r.json["id"])

        t = threading.Thread(target=writer)
        t.start()
        while len(done) < 10:
            time.sleep(0.01)
        self.stack.kill9("indicators")
        t.join()
        self.stack.restart("indicators")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.subject_count("biology") == 30 and self.subject_count("chemistry") == 0:
                break
            time.sleep(0.2)
        self.assertEqual(self.subject_count("biology"), 30)
        self.assertEqual(self.subject_count("chemistry"), 0)
        # nothing left pending for the group
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pending = self.stack.redis_cli("XPENDING", "reg:{r:07}:events", "indicators").stdout.split()
            if pending and pending[0] == "0":
                break
            time.sleep(0.2)
        self.assertEqual(pending[0], "0", pending)

    def test_11_poison_entry(self):
        """an entry that is no DomainEvent goes to ind:{r:07}:dead after 3 deliveries; the rest goes on."""
        bad = self.stack.redis_cli("XADD", "reg:{r:07}:events", "*", "event", "\xff\xfe-не-protobuf").stdout.strip()
        self.assertRegex(bad, r"^\d+-\d+$")
        before = self.subject_count("geography")
        self._ok(self.stack.post("/api/v1/staff", {
            "lastName": "Тхагапсоева", "firstName": "Рита", "birthDate": "1980-01-01",
            "professionStartDate": "2005-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["geography"], "organizationIds": [self.o4["id"]]}))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and self.subject_count("geography") != before + 1:
            time.sleep(0.05)
        self.assertEqual(self.subject_count("geography"), before + 1, "запись после отравленной не применена")
        deadline = time.monotonic() + 15
        dead = ""
        while time.monotonic() < deadline:
            dead = self.stack.redis_cli("XRANGE", "ind:{r:07}:dead", "-", "+").stdout
            if bad in dead:
                break
            time.sleep(0.2)
        self.assertIn(bad, dead)
        self.assertIn("reg:{r:07}:events", dead)
        pending = self.stack.redis_cli("XPENDING", "reg:{r:07}:events", "indicators").stdout.split()
        self.assertEqual(pending[0], "0", pending)

    def m1_table(self, key="items", **kw):
        kw.setdefault("scope_kind", "municipality")
        kw.setdefault("scope_id", self.m1["id"])
        return self.table(self.values(**kw), key)

    def wait_m1(self, want, timeout=10.0, **kw):
        """waits until every (indicator → (numerator, denominator)) of want holds for M1"""
        deadline = time.monotonic() + timeout
        t = {}
        while time.monotonic() < deadline:
            t = self.m1_table(**kw)
            if all(t.get((self.m1["id"], k, ""), (None, None))[:2] == v for k, v in want.items()):
                return t
            time.sleep(0.05)
        self.fail(f"значения МО не сошлись за {timeout} с: {want} ≠ {t}")

    def test_13_mentoring_programmes_and_pairs(self):
        """I3, I5, I8 (support programmes), I6, I7 and the pair parts of I4 and I13 from the mentoring
        service's stream, by hand on M1 (T1 of O1 and O2, T2 of O1, T5 of O2; young: T1, T5; young and
        early-career: T1, T5, both network members since test_08), and an attendance of a young_support programme's event in I4."""
        s = self.stack
        m1, m2 = self.m1["id"], self.m2["id"]
        sp = lambda body: self._ok(s.post("/api/v1/support-programmes", dict(
            {"title": "Программа", "actNumber": "1-о", "actDate": "2026-01-10"}, **body)))
        sp1 = sp({"kind": "mentoring", "level": "municipal", "municipalityId": m1, "startsOn": "2026-01-15"})
        sp2 = sp({"kind": "young_support", "level": "institutional", "organizationId": self.o2["id"],
                  "startsOn": "2026-02-01"})
        sp({"kind": "association_support", "level": "regional", "regionId": REGION, "startsOn": "2025-01-01",
            "endsOn": "2025-12-31"})
        sp({"kind": "mentoring", "level": "institutional", "organizationId": self.o3["id"],
            "startsOn": "2026-03-01"})
        # programmes: I3 M1 = SP2 (of O2), I5 M1 = SP1, region 2 (SP1, SP4 of O3 in M2), I8: SP3 ended in 2025
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            b = self.table(self.values(by="municipality"), "breakdown")
            if b.get((m2, "I5", ""), (0,))[0] == 1:
                break
            time.sleep(0.05)
        t = self.table(self.values(by="municipality"))
        self.assertEqual(t[(REGION, "I3", "")], (1, 0, 1))
        self.assertEqual(t[(REGION, "I5", "")], (2, 0, 2))
        self.assertEqual(t[(REGION, "I8", "")], (0, 0, 0))
        b = self.table(self.values(by="municipality"), "breakdown")
        self.assertEqual(b[(m1, "I3", "")], (1, 0, 1))
        self.assertEqual(b[(m1, "I5", "")], (1, 0, 1))
        self.assertEqual(b[(m2, "I3", "")], (0, 0, 0))
        self.assertEqual(b[(m2, "I5", "")], (1, 0, 1))
        self.assertEqual(self.table(self.values(period="2025"))[(REGION, "I8", "")], (1, 0, 1))
        # T2 is a certified mentor (since 2026-03-01)
        mentor = self._ok(s.post("/api/v1/mentors", {"staffId": self.t2["id"], "certified": True,
                                                     "certifiedOn": "2026-03-01", "certificationAct": "Приказ № 7",
                                                     "maxMentees": 3}))
        pair = lambda prog, mentor_, mentee, start: self._ok(s.post("/api/v1/mentoring-pairs", {
            "programmeId": prog["id"], "form": "young_specialist", "mentorStaffId": mentor_["id"],
            "menteeStaffId": mentee["id"], "startsOn": start, "competences": ["t.assess.1"]}))
        pa = pair(sp1, self.t2, self.t1, "2026-04-01")   # mentoring: T1 mentee, T2 mentor
        pb = pair(sp2, self.t2, self.t5, "2026-05-01")   # young_support: T5 mentee
        pair(sp1, self.t5, self.t2, "2026-04-01")        # proposed only: never counts
        # nothing counts before activation
        self.wait_m1({"I6": (0, 3), "I7": (0, 3), "I4": (0, 2), "I13": (2, 2)})
        for p in (pa, pb):
            r = s.post(f"/api/v1/mentoring-pairs/{p['id']}/activate", {}, headers={"If-Match": f'"{p["version"]}"'})
            self.assertEqual(r.status, 200, r)
        # I6: T1, T2 → 2/3 = 66.7; I7: T1 (mentor certified) → 1/3 = 33.3; I4: T5 of the young_support
        # pair → 1/2; I13: T1 and T5 (members since test_08, and mentees now) → 2/2
        t = self.wait_m1({"I6": (2, 3), "I7": (1, 3), "I4": (1, 2), "I13": (2, 2)})
        self.assertEqual(t[(m1, "I6", "")], (2, 3, 66.7))
        self.assertEqual(t[(m1, "I7", "")], (1, 3, 33.3))
        self.assertEqual(t[(m1, "I4", "")], (1, 2, 50.0))
        b = self.m1_table("breakdown", by="organization")
        self.assertEqual(b[(self.o1["id"], "I6", "")], (2, 2, 100.0))  # T1, T2
        self.assertEqual(b[(self.o2["id"], "I6", "")], (1, 2, 50.0))   # T1 of T1, T5
        self.assertEqual(b[(self.o2["id"], "I7", "")], (1, 2, 50.0))
        # the first quarter: the pairs start later
        q1 = self.m1_table(period="2026-01-01..2026-03-31")
        self.assertEqual(q1[(m1, "I6", "")], (0, 3, 0.0))
        # an attended event of the young_support programme: T1 → I4 2/2
        e = self._ok(s.post("/api/v1/events", {
            "type": "seminar", "level": "municipal", "municipalityId": m1, "title": "Школа молодого педагога",
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)), "venue": "МКОУ СОШ № 2",
            "capacity": 0, "competences": ["t.assess.1"], "supportProgrammeId": sp2["id"]}))
        self.assertEqual(s.post(f"/api/v1/events/{e['id']}/publish", {}).status, 200)
        g = self._ok(s.post(f"/api/v1/events/{e['id']}/registrations", {"staffId": self.t1["id"]}))
        r = s.post(f"/api/v1/events/{e['id']}/attendance", {"marks": [{"registrationId": g["id"], "attended": True}]})
        self.assertEqual(r.status, 200, r)
        self.wait_m1({"I4": (2, 2)})
        self.assert_recompute_agrees()
        # the mentor loses the certification: I7 0/3 (the mentee's value follows the mentor's profile)
        r = s.request("PATCH", f"/api/v1/mentors/{self.t2['id']}", {"certified": False, "certifiedOn": "", "certificationAct": ""},
                      headers={"If-Match": f'"{mentor["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.wait_m1({"I7": (0, 3), "I6": (2, 3)})
        self.assert_recompute_agrees()
        # a completed pair still counts in the year it was active
        pa2 = s.get(f"/api/v1/mentoring-pairs/{pa['id']}").json
        r = s.post(f"/api/v1/mentoring-pairs/{pa['id']}/complete", {"outcome": {"result": "Готово"}},
                   headers={"If-Match": f'"{pa2["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.wait_m1({"I6": (2, 3)})
        r = s.request("PATCH", f"/api/v1/support-programmes/{sp1['id']}", {"kind": "young_support"},
                      headers={"If-Match": f'"{sp1["version"]}"'})
        self.assertEqual(r.status, 200, r)
        # SP1 is a young_support project now: its pair is no mentoring (I6 0/3), T1 was its mentee (I4 2/2
        # already by the event), I3 M1: SP1 and SP2
        t = self.wait_m1({"I6": (0, 3), "I4": (2, 2), "I3": (2, 0), "I5": (0, 0)})
        self.assert_recompute_agrees()
        # T6: young, early career, of O1, no membership, event or route: outside I13's numerator until a pair
        # (of any programme) makes them a mentee — I13 M1 2/3, then 3/3; I4 3 young (T1, T5, T6) → 2/3, then
        # 3/3 (SP2 is young_support)
        t6 = self._ok(s.post("/api/v1/staff", {
            "lastName": "Шогенова", "firstName": "Мадина", "birthDate": "2001-04-04",
            "professionStartDate": "2025-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["biology"], "organizationIds": [self.o1["id"]]}))
        self.wait_m1({"I13": (2, 3), "I4": (2, 3), "I6": (0, 4)})
        pc = pair(sp2, self.t2, t6, "2026-10-01")
        r = s.post(f"/api/v1/mentoring-pairs/{pc['id']}/activate", {}, headers={"If-Match": f'"{pc["version"]}"'})
        self.assertEqual(r.status, 200, r)
        t = self.wait_m1({"I13": (3, 3), "I4": (3, 3)})
        self.assertEqual(t[(m1, "I13", "")], (3, 3, 100.0))
        # before the pair's start (the first half of the year) T6 is not supported
        h1 = self.m1_table(period="2026-01-01..2026-06-30")
        self.assertEqual(h1[(m1, "I13", "")][:2], (2, 3))
        self.assert_recompute_agrees()

    def test_14_periods_lru_and_restart(self):
        """at most 8 periods keep counters (the least recently read one is dropped, and built again when read);
        a change touching more people than reeval_max restarts the scan of the registered periods instead of
        re-evaluating them one by one — the values and the recompute agree either way"""
        first = self.table(self.values(period="2026-02-01..2026-02-28"))
        for month in range(3, 12):
            self.values(period=f"2026-{month:02d}-01..2026-{month:02d}-28")
        keys = self.stack.redis_cli("ZRANGE", "ind:{r:07}:periods", "0", "-1").stdout.split()
        self.assertEqual(len(keys), 8, keys)
        self.assertNotIn("2026-02-01..2026-02-28@35", keys)
        self.assertEqual(self.table(self.values(period="2026-02-01..2026-02-28")), first)
        # the lyceum O3 becomes municipal: its teacher T3 enters I1 (M2: T3, T4 and the teachers of O4)
        before = self.table(self.values(scope_kind="municipality", scope_id=self.m2["id"]))
        self.stack.redis_cli("HSET", "ind:{r:07}:cfg", "reeval_max", "0")
        try:
            o3 = self.stack.get(f"/api/v1/organizations/{self.o3['id']}").json
            r = self.stack.request("PATCH", f"/api/v1/organizations/{self.o3['id']}", {"founder": "municipal"},
                                   headers={"If-Match": f'"{o3["version"]}"'})
            self.assertEqual(r.status, 200, r)
            n, d = before[(self.m2["id"], "I1", "")][:2]
            deadline = time.monotonic() + 10
            t = {}
            while time.monotonic() < deadline:
                t = self.table(self.values(scope_kind="municipality", scope_id=self.m2["id"]))
                if t[(self.m2["id"], "I1", "")][:2] == (n, d + 1):
                    break
                time.sleep(0.05)
            self.assertEqual(t[(self.m2["id"], "I1", "")][:2], (n, d + 1))
            self.assert_recompute_agrees()
        finally:
            self.stack.redis_cli("HDEL", "ind:{r:07}:cfg", "reeval_max")

    def test_15_build_while_writing(self):
        """a period first read while people are written: the scan (3 people per call) and the writes that land
        meanwhile count everyone once — the same denominators as the year with the same reference date, and
        the recompute agrees"""
        import threading
        made = []

        def writer():
            for i in range(15):
                r = self.stack.post("/api/v1/staff", {
                    "lastName": f"Карданова{i}", "firstName": "Зарема", "birthDate": "1998-05-05",
                    "professionStartDate": "2024-09-01", "position": "teacher", "category": "teacher",
                    "subjects": ["history"], "organizationIds": [self.o4["id"], self.o1["id"]]})
                assert r.status == 201, r
                made.append(r.json["id"])

        t = threading.Thread(target=writer)
        t.start()
        while t.is_alive():
            self.values(period="2026-07-01..2026-12-31", by="municipality")
        t.join()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            year = self.table(self.values(by="subject"), "breakdown")
            if year.get((REGION, "I1", "history"), (0, 0))[1] == 15:
                break
            time.sleep(0.05)
        year = self.table(self.values(by="municipality"), "breakdown")
        half = self.table(self.values(period="2026-07-01..2026-12-31", by="municipality"), "breakdown")
        for key in ((self.m1["id"], "I1", ""), (self.m2["id"], "I1", ""), (self.m1["id"], "I6", ""),
                    (self.m2["id"], "I9", "")):
            self.assertEqual(half[key][1], year[key][1], key)
        self.assertEqual(len(made), 15)

    def _user(self, role, kind, scope_id, staff_id=None):
        login = f"ind{os.urandom(4).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        body = {"login": login, "password": password, "fullName": "Пользователь теста", "role": role,
                "scope": {"kind": kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        r = self.stack.post("/api/v1/users", body)
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)


if __name__ == "__main__":
    unittest.main()
