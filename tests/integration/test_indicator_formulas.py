"""test_indicator_formulas — own indicators, exports and the yearly report end to end over HTTP against a
real stack (gateway, auth, registry, indicators, monitoring, Redis) on a small dataset whose values are
worked out here by hand:

  region 07: M1 (schools O1, O2), M2 (school O3); teachers T1, T2 (O1), T3 (O2), T4 (O3); manager G1 (O1);
  T1 is a member of M1's network community (I9: 1 of 4 teachers); a monitoring campaign of M1 for 2026 with
  a number field contest_winners: O1 reports 3 and is approved, O2 reports 5 and is only submitted.

  NET   = I9.num / teachers (share)            region 1/4 = 25,0 %   M1 1/3 = 33,3 %   M2 0/1 = 0,0 %
  SPO   = staff / organizations (number)       region 5/3 = 1,67     M1 4/2 = 2,00     M2 1/1 = 1,00
  WIN   = campaign.contest_winners / teachers  region 3/4 = 0,75     M1 3/3 = 1,00     M2 0/1 = 0,00

Bad formulas are refused with the position in Russian and nothing is stored; a target of an own code; If-Match
on update; delete. The value table as CSV and XLSX (the XLSX opened with zipfile and its XML read); the yearly
report as XLSX (sheets, cells against the values API) and as HTML (the numbers with commas, text escaped)."""

import datetime
import io
import os
import re
import time
import unittest
import xml.etree.ElementTree as ET
import zipfile

from harness import StackTestCase

REGION = "07"
Y = "2026"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def details(r):
    return {d["field"]: d["description"] for d in r.json["error"].get("details", [])}


def xlsx_sheets(data):
    """{sheet name: {cell ref: value}} of an XLSX (shared strings and inline numbers resolved)."""
    z = zipfile.ZipFile(io.BytesIO(data))
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            shared.append("".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])))
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for s in wb.find("m:sheets", NS):
        rid = s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
        sheet = ET.fromstring(z.read("xl/" + target[rid]))
        cells = {}
        for c in sheet.iter("{%s}c" % NS["m"]):
            v = c.find("m:v", NS)
            if v is None:
                continue
            cells[c.get("r")] = shared[int(v.text)] if c.get("t") == "s" else float(v.text)
        out[s.get("name")] = cells
    return out


def rows_of(cells):
    """{row number: {column letter: value}}"""
    rows = {}
    for ref, v in cells.items():
        col, row = re.match(r"([A-Z]+)(\d+)", ref).groups()
        rows.setdefault(int(row), {})[col] = v
    return rows


class IndicatorFormulasTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.m1 = cls._ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский район", "kind": "district"}))
        cls.m2 = cls._ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Баксанский район", "kind": "district"}))
        org = lambda m, name: cls._ok(s.post("/api/v1/organizations", {
            "municipalityId": m["id"], "name": name, "shortName": name, "kind": "school", "founder": "municipal"}))
        cls.o1, cls.o2, cls.o3 = org(cls.m1, "МКОУ СОШ № 1"), org(cls.m1, "МКОУ СОШ № 2"), org(cls.m2, "МКОУ СОШ № 3")
        staff = lambda o, cat, pos="teacher": cls._ok(s.post("/api/v1/staff", {
            "lastName": "Кодзоков", "firstName": "Аслан", "birthDate": "1985-01-01", "professionStartDate": "2010-09-01",
            "position": pos, "category": cat, "subjects": ["mathematics"], "organizationIds": [o["id"]]}))
        cls.t1 = staff(cls.o1, "teacher")
        staff(cls.o1, "teacher")
        staff(cls.o2, "teacher")
        staff(cls.o3, "teacher")
        staff(cls.o1, "manager", pos="director")
        a1 = cls._ok(s.post("/api/v1/associations", {"name": "Сетевое сообщество учителей математики",
                                                     "kind": "network_community", "level": "municipal",
                                                     "municipalityId": cls.m1["id"], "subject": "mathematics",
                                                     "network": True}))
        cls._ok(s.post(f"/api/v1/associations/{a1['id']}/members", {"staffId": cls.t1["id"], "joinedOn": "2026-02-01"}))
        cls.admin = True  # the stack's bootstrap administrator of region 07
        cls.meth1 = cls._user("municipal_methodologist", "municipality", cls.m1["id"])
        cls.meth2 = cls._user("municipal_methodologist", "municipality", cls.m2["id"])
        # the monitoring campaign of M1 for 2026: O1 approved (3), O2 submitted only (5)
        due = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        c = cls._ok(s.post("/api/v1/monitoring/campaigns", {
            "municipalityId": cls.m1["id"], "title": "Мониторинг <конкурсов> & олимпиад", "period": Y,
            "deadline": due, "organizationKind": "school",
            "fields": [{"code": "contest_winners", "title": "Победители конкурсов", "type": "number",
                        "required": True}]}, token=cls.meth1))
        cls.campaign = cls._ok(s.post(f"/api/v1/monitoring/campaigns/{c['id']}/open", {}, token=cls.meth1))
        for o, n in ((cls.o1, "3"), (cls.o2, "5")):
            head = cls._user("school_admin", "organization", o["id"])
            cls._ok(s.post(f"/api/v1/monitoring/campaigns/{c['id']}/reports/{o['id']}/submit",
                           {"values": [{"code": "contest_winners", "value": n}]}, token=head))
        cls._ok(s.post(f"/api/v1/monitoring/campaigns/{c['id']}/reports/{cls.o1['id']}/approve", {}, token=cls.meth1))
        # the consumer has applied the dataset: 4 teachers in the region, 1 in a network community
        deadline = time.monotonic() + 15
        while True:
            r = s.get(f"/api/v1/indicator-values?scopeKind=region&scopeId={REGION}&period={Y}&indicator=I9",
                      token=cls.admin)
            if r.status == 200 and r.json["items"] and int(r.json["items"][0]["denominator"]) == 4 \
                    and int(r.json["items"][0]["numerator"]) == 1:
                break
            assert time.monotonic() < deadline, r
            time.sleep(0.2)
        own = [("NET", "Доля педагогов в сетевых сообществах", "I9.num", "teachers", "share"),
               ("SPO", "Работников на организацию", "staff", "organizations", "number"),
               ("WIN", "Победители конкурсов на педагога", "campaign.contest_winners", "teachers", "number")]
        for code, name, num, den, unit in own:
            cls._ok(s.post("/api/v1/indicators", {"code": code, "name": name, "numerator": num, "denominator": den,
                                                  "unit": unit}, token=cls.admin))

    @staticmethod
    def _ok(r):
        assert r.status in (200, 201), r
        return r.json

    @classmethod
    def _user(cls, role, kind, scope_id):
        login = f"frm{os.urandom(4).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        r = cls.stack.post("/api/v1/users", {"login": login, "password": password, "fullName": "Пользователь теста",
                                             "role": role, "scope": {"kind": kind, "id": scope_id}})
        assert r.status == 201, r
        return cls.stack.login(login, password)

    def values(self, **q):
        q = dict({"scopeKind": "region", "scopeId": REGION, "period": Y}, **q)
        path = "/api/v1/indicator-values?" + "&".join(f"{k}={v}" for k, v in q.items())
        return self.stack.get(path, token=self.admin)

    def own_rows(self, r, code):
        items = {(v["scopeId"]): v for v in r.json["items"] + r.json.get("breakdown", []) if v["indicator"] == code}
        return items

    # ---- values ----

    def test_values_by_hand(self):
        r = self.values(by="municipality")
        self.assertEqual(r.status, 200, r)
        net, spo, win = (self.own_rows(r, c) for c in ("NET", "SPO", "WIN"))
        m1, m2 = self.m1["id"], self.m2["id"]
        self.assertEqual((int(net[REGION]["numerator"]), int(net[REGION]["denominator"]), net[REGION]["value"]),
                         (1, 4, 25.0))
        self.assertEqual((net[m1]["value"], net[m2]["value"]), (33.3, 0.0))
        self.assertTrue(net[REGION]["own"])
        self.assertEqual((spo[REGION]["value"], spo[m1]["value"], spo[m2]["value"]), (1.67, 2.0, 1.0))
        self.assertEqual((spo[REGION]["numeratorValue"], spo[REGION]["denominatorValue"]), (5, 3))
        self.assertEqual((win[REGION]["value"], win[m1]["value"], win[m2]["value"]), (0.75, 1.0, 0.0))
        self.assertEqual(net[m1]["scopeName"], "Терский район")
        # the catalogue's rows are still there; one own indicator alone
        self.assertIn("I9", {v["indicator"] for v in r.json["items"]})
        one = self.values(indicator="WIN", scopeKind="municipality", scopeId=m1, by="organization")
        self.assertEqual(one.status, 200, one)
        rows = self.own_rows(one, "WIN")
        self.assertEqual({v["indicator"] for v in one.json["items"] + one.json["breakdown"]}, {"WIN"})
        self.assertEqual((rows[m1]["value"], rows[self.o1["id"]]["value"], rows[self.o2["id"]]["value"]), (1.0, 1.5, 0.0))
        bad = self.values(indicator="NOPE")
        self.assertEqual(bad.status, 400, bad)
        self.assertIn("Нет такого показателя", details(bad)["indicator"])

    def test_catalogue_lists_own_with_targets(self):
        r = self.stack.put("/api/v1/indicator-targets/NET", {"target": 30}, token=self.admin) \
            if hasattr(self.stack, "put") else self.stack.request("PUT", "/api/v1/indicator-targets/NET",
                                                                  {"target": 30}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["target"], 30)
        bad = self.stack.request("PUT", "/api/v1/indicator-targets/NET", {"target": 130}, token=self.admin)
        self.assertEqual(bad.status, 400, bad)
        cat = self.stack.get("/api/v1/indicators", token=self.meth1)
        self.assertEqual(cat.status, 200, cat)
        by_code = {i["code"]: i for i in cat.json["items"]}
        self.assertEqual(len([c for c in by_code if re.fullmatch(r"I\d+", c)]), 13)
        self.assertTrue(by_code["NET"]["own"])
        self.assertEqual((by_code["NET"]["numerator"], by_code["NET"]["denominator"]), ("I9.num", "teachers"))
        self.assertEqual(by_code["NET"]["target"], 30)
        v = self.values(indicator="NET").json["items"][0]
        self.assertEqual((v["value"], v["target"], v["met"]), (25.0, 30, False))

    def test_bad_formulas_refused_with_position_and_nothing_stored(self):
        cases = [
            ({"numerator": "I9.num +", "denominator": "teachers"}, "numerator",
             "Ошибка в формуле числителя, позиция 9: ожидалось число или показатель"),
            ({"numerator": "I9.num", "denominator": "teachers * (2"}, "denominator",
             "Ошибка в формуле знаменателя, позиция 14: не закрыта скобка, открытая в позиции 12"),
            ({"numerator": "teachers2 + 1", "denominator": "teachers"}, "numerator", "неизвестный показатель «teachers2»"),
            ({"numerator": "I3.den", "denominator": "teachers"}, "numerator", "нет знаменателя"),
            ({"numerator": "учителя", "denominator": "teachers"}, "numerator", "позиция 1: недопустимый символ «у»"),
            ({"numerator": "campaign.no_such_field", "denominator": "teachers"}, "numerator",
             "«campaign.no_such_field»"),
            ({"numerator": "I9.num", "denominator": ""}, "denominator", "У доли нужен знаменатель"),
        ]
        for i, (body, field, text) in enumerate(cases):
            r = self.stack.post("/api/v1/indicators", dict(body, code=f"BAD{i}", name="Плохой", unit="share"),
                                token=self.admin)
            self.assertEqual(r.status, 400, (body, r))
            self.assertIn(text, details(r).get(field, ""), (body, r.json))
        codes = {i["code"] for i in self.stack.get("/api/v1/indicators", token=self.admin).json["items"]}
        self.assertFalse({c for c in codes if c.startswith("BAD")}, codes)
        # a catalogue code, a taken code, someone else than the region's administrator
        r = self.stack.post("/api/v1/indicators", {"code": "i9", "name": "x", "numerator": "1", "unit": "count"},
                            token=self.admin)
        self.assertEqual(r.status, 400, r)
        r = self.stack.post("/api/v1/indicators", {"code": "NET", "name": "x", "numerator": "1", "unit": "count"},
                            token=self.admin)
        self.assertEqual(r.status, 409, r)
        r = self.stack.post("/api/v1/indicators", {"code": "MINE", "name": "x", "numerator": "1", "unit": "count"},
                            token=self.meth1)
        self.assertEqual(r.status, 403, r)

    def test_update_with_if_match_and_delete(self):
        r = self.stack.post("/api/v1/indicators", {"code": "TMP", "name": "Временный", "numerator": "teachers",
                                                   "unit": "count"}, token=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(int(r.json["version"]), 1)
        r = self.stack.request("PUT", "/api/v1/indicators/TMP", {"name": "Временный", "numerator": "teachers * 2",
                                                                 "unit": "count"},
                               headers={"If-Match": '"1"'}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(int(r.json["version"]), 2)
        self.assertEqual(self.values(indicator="TMP").json["items"][0]["value"], 8)
        stale = self.stack.request("PUT", "/api/v1/indicators/TMP", {"name": "x", "numerator": "1", "unit": "count"},
                                   headers={"If-Match": '"1"'}, token=self.admin)
        self.assertEqual(stale.status, 412, stale)
        bad = self.stack.request("PUT", "/api/v1/indicators/TMP", {"name": "x", "numerator": "1 +", "unit": "count"},
                                 token=self.admin)
        self.assertEqual(bad.status, 400, bad)
        self.assertEqual(self.values(indicator="TMP").json["items"][0]["value"], 8)  # unchanged
        r = self.stack.delete("/api/v1/indicators/TMP", token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.delete("/api/v1/indicators/TMP", token=self.admin).status, 404)
        self.assertEqual(self.values(indicator="TMP").status, 400)

    # ---- exports ----

    def test_csv_and_xlsx_exports(self):
        r = self.values(by="municipality", format="csv")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("text/csv"), r.headers)
        self.assertIn(".csv", r.header("content-disposition"))
        text = r.body.decode("utf-8-sig")
        lines = [line.split(";") for line in text.strip().split("\r\n")]
        self.assertEqual(lines[0][0], "Показатель")
        net = [line for line in lines if line[0] == "NET" and line[3] == REGION][0]
        self.assertEqual((net[6], net[7], net[8], net[9]), ("1", "4", "25,0", "%"))
        spo_m1 = [line for line in lines if line[0] == "SPO" and line[3] == self.m1["id"]][0]
        self.assertEqual(spo_m1[8], "2,00")
        r = self.values(by="municipality", format="xlsx")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        sheets = xlsx_sheets(r.body)
        self.assertEqual(list(sheets), ["Значения", "Сведения"])
        rows = rows_of(sheets["Значения"])
        self.assertEqual(rows[1]["A"], "Показатель")
        api = {(v["indicator"], v["scopeId"]): v for v in self.values(by="municipality").json["items"]
               + self.values(by="municipality").json["breakdown"]}
        seen = 0
        for n, row in rows.items():
            if n == 1:
                continue
            v = api[(row["A"], row["D"])]
            if v["hasValue"]:
                self.assertAlmostEqual(row["I"], v["value"], places=6, msg=row)
                seen += 1
        self.assertGreater(seen, 20)
        self.assertEqual(self.values(format="pdf").status, 400)

    def test_snapshot_freezes_own_indicators_too(self):
        r = self.stack.post("/api/v1/indicator-snapshots", {"scopeKind": "region", "scopeId": REGION, "period": Y},
                            token=self.admin)
        self.assertEqual(r.status, 201, r)
        frozen = {(v["indicator"], v["scopeId"]): v for v in r.json["values"]}
        self.assertEqual(frozen[("NET", REGION)]["value"], 25.0)
        self.assertEqual(frozen[("WIN", self.m1["id"])]["value"], 1.0)
        self.assertIn(("I9", REGION), frozen)

    # ---- recommendations of an own indicator ----

    def test_own_share_below_target_gets_an_addressed_recommendation(self):
        r = self.stack.request("PUT", "/api/v1/indicator-targets/NET", {"target": 30}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        r = self.stack.get(f"/api/v1/recommendations?scopeKind=region&scopeId={REGION}&period={Y}&indicator=NET",
                           token=self.admin)
        self.assertEqual(r.status, 200, r)
        # region 1 of 4 = 25,0 % < 30 %: 2 of 4 needed, 1 more; M1 (1 of 3 = 33,3 %) is above, M2 (0 of 1) short by 1
        self.assertEqual(len(r.json["items"]), 1, r.json)
        rec = r.json["items"][0]
        self.assertEqual((rec["indicator"], rec["addresseeId"], int(rec["peopleToReach"])), ("NET", self.m2["id"], 1))
        self.assertEqual(rec["text"], "Баксанский район: довести показатель NET до цели — не хватает 1 "
                                      "(NET: 0.0 % при цели 30.0 %)")
        self.assertEqual(rec["addresseeKind"], "municipal_service")

    # ---- the yearly report ----

    def test_yearly_report_xlsx_and_html(self):
        self.assertEqual(self.stack.request("PUT", "/api/v1/indicator-targets/NET", {"target": 30},
                                            token=self.admin).status, 200)
        r = self.stack.get(f"/api/v1/reports/yearly?scopeKind=municipality&scopeId={self.m1['id']}&year={Y}"
                           f"&format=xlsx", token=self.meth1)
        self.assertEqual(r.status, 200, r)
        sheets = xlsx_sheets(r.body)
        self.assertEqual(list(sheets), ["Показатели", "По территориям", "Рекомендации", "Мониторинг"])
        main = rows_of(sheets["Показатели"])
        self.assertIn("Терский район", main[1]["A"])
        by_code = {row["A"]: row for n, row in main.items() if n > 3}
        api = {v["indicator"]: v for v in self.stack.get(
            f"/api/v1/indicator-values?scopeKind=municipality&scopeId={self.m1['id']}&period={Y}",
            token=self.meth1).json["items"]}
        self.assertAlmostEqual(by_code["NET"]["D"], api["NET"]["value"])
        self.assertAlmostEqual(by_code["NET"]["D"], 33.3)
        self.assertAlmostEqual(by_code["I9"]["D"], api["I9"]["value"])
        # the year before: the same teachers, nobody a member yet (joined 2026-02-01): 0 of 3, change +33,3
        self.assertEqual((by_code["NET"]["E"], by_code["NET"]["F"]), (0.0, 33.3))
        mon = rows_of(sheets["Мониторинг"])
        self.assertEqual(mon[2]["A"], "Мониторинг <конкурсов> & олимпиад")
        self.assertEqual((mon[2]["E"], mon[2]["F"], mon[2]["G"]), (2, 2, 1))
        self.assertAlmostEqual(mon[2]["H"], 0.5)
        html = self.stack.get(f"/api/v1/reports/yearly?scopeKind=region&scopeId={REGION}&year={Y}", token=self.admin)
        self.assertEqual(html.status, 200, html)
        self.assertTrue(html.header("content-type").startswith("text/html"))
        page = html.body.decode("utf-8")
        self.assertIn("Аналитический отчёт", page)
        self.assertIn("@media print", page)
        self.assertIn("<td>NET</td><td>Доля педагогов в сетевых сообществах</td><td>25,0 %</td>", page)
        self.assertIn("Мониторинг &lt;конкурсов&gt; &amp; олимпиад", page)
        self.assertNotIn("<конкурсов>", page)
        self.assertIn("50,0 %", page)  # 1 of 2 schools approved
        self.assertIn("Баксанский район: довести показатель NET до цели", page)  # the recommendation
        self.assertIn(datetime.date.today().strftime("%d.%m.%Y"), page)
        # a school's head: the report of the own organization only
        head = self._user("school_admin", "organization", self.o1["id"])
        own = self.stack.get(f"/api/v1/reports/yearly?scopeKind=organization&scopeId={self.o1['id']}", token=head)
        self.assertEqual(own.status, 200, own)
        self.assertIn("Полнота сдачи отчётов показывается в отчётах муниципалитета", own.body.decode("utf-8"))
        self.assertEqual(self.stack.get(f"/api/v1/reports/yearly?scopeKind=organization&scopeId={self.o2['id']}",
                                        token=head).status, 403)
        # scope: another municipality's methodologist, a bad format, a bad year
        self.assertEqual(self.stack.get(f"/api/v1/reports/yearly?scopeKind=municipality&scopeId={self.m1['id']}",
                                        token=self.meth2).status, 403)
        self.assertEqual(self.stack.get(f"/api/v1/reports/yearly?scopeKind=region&scopeId={REGION}&format=doc",
                                        token=self.admin).status, 400)
        self.assertEqual(self.stack.get(f"/api/v1/reports/yearly?scopeKind=region&scopeId={REGION}&year=26",
                                        token=self.admin).status, 400)


if __name__ == "__main__":
    unittest.main()
