"""test_export — CSV export of every registry list end to end over HTTP against a real stack
(municipalities, associations, memberships, councils, council meetings, programmes, qualification
records, practices): each is text/csv in UTF-8 with BOM and ';' with one column per field (Russian
titles, enum words, dates as DD.MM.YYYY, repeated values joined, sub-messages as JSON), holds exactly
what the list holds for the same query parameters, honours a filter, and a municipal methodologist's
export holds only their municipality's objects."""

import csv
import io
import itertools
import json
import os
import unittest
import urllib.parse

from harness import StackTestCase

REGION = "07"
_n = itertools.count(1)


def parse_export(body):
    """An exported CSV: UTF-8 with BOM, ';', CRLF; returns (header, rows as dicts)."""
    assert body.startswith(b"\xef\xbb\xbf"), body[:20]
    text = body[3:].decode("utf-8")
    assert text.endswith("\r\n"), text[-20:]
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


class ExportTest(StackTestCase):
    WORKERS = 2

    @classmethod
    def prepare(cls):
        s = cls.stack
        r = s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        assert r.status == 201, r
        cls.mun = {side: cls._created(s.post("/api/v1/municipalities", {
            "regionId": REGION, "name": name, "kind": "district"})) for side, name in
            (("a", "Терский район"), ("b", "Старомайнский район"))}
        cls.city = cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "г. Красноярск",
                                                                  "kind": "city"}))
        cls.org = {side: cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun[side]["id"], "name": f"СОШ № 1 ({side})", "shortName": f"СОШ {side}",
            "kind": "school"})) for side in ("a", "b")}
        cls.staff = {side: cls._created(s.post("/api/v1/staff", {
            "lastName": "Иванова" if side == "a" else "Петрова", "firstName": "Анна", "birthDate": "1990-05-17",
            "position": "teacher", "category": "teacher", "subjects": ["mathematics"],
            "organizationIds": [cls.org[side]["id"]], "active": True})) for side in ("a", "b")}
        cls.assoc = {side: cls._created(s.post("/api/v1/associations", {
            "name": f"РМО учителей математики ({side})", "kind": "methodological_association", "level": "municipal",
            "municipalityId": cls.mun[side]["id"], "subject": "mathematics"})) for side in ("a", "b")}
        cls.member = {side: cls._created(s.post(f"/api/v1/associations/{cls.assoc[side]['id']}/members", {
            "staffId": cls.staff[side]["id"], "joinedOn": "2024-09-01"})) for side in ("a", "b")}
        cls.council = {side: cls._created(s.post("/api/v1/councils", {
            "name": f"Методический совет ({side})", "level": "institutional", "organizationId": cls.org[side]["id"],
            "chairStaffId": cls.staff[side]["id"], "memberStaffIds": [cls.staff[side]["id"]]}))
            for side in ("a", "b")}
        cls.meeting = {side: cls._created(s.post(f"/api/v1/councils/{cls.council[side]['id']}/meetings", {
            "heldOn": "2024-10-15", "agenda": [{"title": "Итоги диагностики; план", "decision": "Принять"}],
            "invited": ["ЦНППМ, методист", "ИРО, проректор"], "minutesNumber": "3"})) for side in ("a", "b")}
        cls.late_meeting = cls._created(s.post(f"/api/v1/councils/{cls.council['a']['id']}/meetings", {
            "heldOn": "2025-03-10", "agenda": [{"title": "Наставничество"}]}))
        cls.programme = {fr: cls._created(s.post("/api/v1/programmes", {
            "regionId": REGION, "title": title, "provider": "ЦНППМ КБР", "hours": 36, "format": "blended",
            "federalRegistry": fr, "competences": ["t.method.1", "t.digital.1"],
            "tags": ["управление качеством образования"]})) for fr, title in
            ((True, "Современный урок математики"), (False, "Цифровая школа"))}
        cls.qual = {side: cls._created(s.post("/api/v1/qualification-records", {
            "staffId": cls.staff[side]["id"], "programmeId": cls.programme[True]["id"], "completedOn": "2024-04-20",
            "documentNumber": f"07-{side}-1"})) for side in ("a", "b")}
        cls.practice = {side: cls._created(s.post("/api/v1/practices", {
            "title": f"Смысловое чтение на уроках математики ({side})", "authorStaffId": cls.staff[side]["id"],
            "subject": "mathematics", "description": "Приёмы работы с текстом задачи",
            "attachments": ["https://example.org/a.pdf", "https://example.org/b.pdf"]})) for side in ("a", "b")}
        # one practice under review: the status filter tells them apart
        r = s.post(f"/api/v1/practices/{cls.practice['b']['id']}/review", {"action": "start"})
        assert r.status == 200, r

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    # export path, list collection, query of both (besides the filter), the a-side object and b-side one
    def cases(self):
        return [
            ("municipalities", "municipalities", {"regionId": REGION}, self.mun["a"], self.mun["b"]),
            ("associations", "associations", {"regionId": REGION}, self.assoc["a"], self.assoc["b"]),
            ("memberships", f"associations/{self.assoc['a']['id']}/members", {"associationId": self.assoc["a"]["id"]},
             self.member["a"], self.member["b"]),
            ("councils", "councils", {"regionId": REGION}, self.council["a"], self.council["b"]),
            ("council-meetings", f"councils/{self.council['a']['id']}/meetings", {"councilId": self.council["a"]["id"]},
             self.meeting["a"], self.meeting["b"]),
            ("programmes", "programmes", {"regionId": REGION}, self.programme[True], None),
            ("qualification-records", "qualification-records", {"regionId": REGION}, self.qual["a"], self.qual["b"]),
            ("practices", "practices", {"regionId": REGION}, self.practice["a"], self.practice["b"]),
        ]

    def export(self, kind, query, token=True):
        r = self.stack.get(f"/api/v1/export/{kind}?{urllib.parse.urlencode(query)}", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("text/csv"), r.header("content-type"))
        return parse_export(r.body)

    def test_every_export_is_excel_csv_of_the_list(self):
        for kind, collection, query, a, _b in self.cases():
            with self.subTest(kind=kind):
                header, rows = self.export(kind, query)
                self.assertEqual(header[0], "Идентификатор")
                self.assertIn("Регион", header)
                self.assertIn("Создано", header)
                listed = self.stack.list_all(collection, **{k: v for k, v in query.items()
                                                            if not collection.endswith(("members", "meetings"))})[0]
                self.assertEqual([row["Идентификатор"] for row in rows], [item["id"] for item in listed])
                self.assertIn(a["id"], {row["Идентификатор"] for row in rows})

    def test_cells(self):
        _h, rows = self.export("council-meetings", {"councilId": self.council["a"]["id"]})
        row = {r["Идентификатор"]: r for r in rows}[self.meeting["a"]["id"]]
        self.assertEqual(row["Дата заседания"], "15.10.2024")
        self.assertEqual(row["Приглашённые"], "ЦНППМ, методист, ИРО, проректор")
        self.assertEqual(row["Номер протокола"], "3")
        self.assertEqual(row["Уровень"], "institutional")
        agenda = json.loads(row["Повестка"])
        self.assertEqual([(i["title"], i["decision"]) for i in agenda], [("Итоги диагностики; план", "Принять")])
        _h, rows = self.export("programmes", {"regionId": REGION})
        row = {r["Идентификатор"]: r for r in rows}[self.programme[True]["id"]]
        self.assertEqual(row["В ФР ДПП"], "да")
        self.assertEqual(row["Часы"], "36")
        self.assertEqual(row["Компетенции"], "t.method.1, t.digital.1")
        self.assertEqual(row["Форма обучения"], "blended")
        self.assertEqual(row["Теги"], "управление качеством образования")
        _h, rows = self.export("practices", {"regionId": REGION})
        row = {r["Идентификатор"]: r for r in rows}[self.practice["a"]["id"]]
        self.assertEqual(row["Статус"], "submitted")
        self.assertEqual(row["Предмет"], "Математика")
        self.assertEqual(row["Материалы (ссылки)"], "https://example.org/a.pdf, https://example.org/b.pdf")
        _h, rows = self.export("memberships", {"associationId": self.assoc["a"]["id"]})
        self.assertEqual(rows[0]["Дата вступления"], "01.09.2024")
        self.assertEqual(rows[0]["Дата выхода"], "")

    def test_one_filter_each(self):
        filters = {
            "municipalities": ({"regionId": REGION, "kind": "city"}, {self.city["id"]}),
            "associations": ({"municipalityId": self.mun["b"]["id"]}, {self.assoc["b"]["id"]}),
            "memberships": ({"associationId": self.assoc["b"]["id"]}, {self.member["b"]["id"]}),
            "councils": ({"organizationId": self.org["a"]["id"]}, {self.council["a"]["id"]}),
            "council-meetings": ({"councilId": self.council["a"]["id"], "from": "2025-01-01"},
                                 {self.late_meeting["id"]}),
            "programmes": ({"regionId": REGION, "federalRegistry": "false"}, {self.programme[False]["id"]}),
            "qualification-records": ({"staffId": self.staff["b"]["id"]}, {self.qual["b"]["id"]}),
            "practices": ({"regionId": REGION, "status": "under_review"}, {self.practice["b"]["id"]}),
        }
        for kind, (query, want) in filters.items():
            with self.subTest(kind=kind):
                _h, rows = self.export(kind, query)
                self.assertEqual({row["Идентификатор"] for row in rows}, want)

    def test_text_search_writes_each_programme_once(self):
        # both title words start with «мат»: the word index holds the programme twice
        p = self._created(self.stack.post("/api/v1/programmes", {
            "regionId": REGION, "title": f"Математика и математическая грамотность {next(_n)}", "provider": "ИРО",
            "hours": 72, "format": "distance"}))
        _h, rows = self.export("programmes", {"regionId": REGION, "q": "мат"})
        ids = [row["Идентификатор"] for row in rows]
        self.assertEqual(ids.count(p["id"]), 1, ids)
        self.assertIn(self.programme[True]["id"], ids)
        self.assertNotIn(self.programme[False]["id"], ids)

    def test_bad_filter_is_refused(self):
        r = self.stack.get("/api/v1/export/practices?status=lost")
        self.assertEqual(r.status, 400, r)
        self.assertIn("status", r.body.decode("utf-8"))

    def test_methodologist_exports_only_their_municipality(self):
        login, password = f"metod{next(_n)}{os.urandom(3).hex()}", "Пароль-методиста-" + os.urandom(4).hex()
        r = self.stack.post("/api/v1/users", {"login": login, "password": password,
                                              "fullName": "Методист Терского района",
                                              "role": "municipal_methodologist",
                                              "scope": {"kind": "municipality", "id": self.mun["a"]["id"]}})
        self.assertEqual(r.status, 201, r)
        token = self.stack.login(login, password)
        a_mun, a_org, a_staff = self.mun["a"]["id"], self.org["a"]["id"], self.staff["a"]["id"]
        for kind, _collection, query, a, b in self.cases():
            if kind in ("memberships", "council-meetings"):
                query = {}  # the whole region as the methodologist sees it
            with self.subTest(kind=kind):
                header, rows = self.export(kind, query, token=token)
                ids = {row["Идентификатор"] for row in rows}
                self.assertIn(a["id"], ids)
                if b is not None:
                    self.assertNotIn(b["id"], ids)
                for row in rows:
                    if kind == "municipalities":
                        self.assertEqual(row["Идентификатор"], a_mun)
                    elif kind == "programmes":
                        self.assertEqual(row["Регион"], REGION)  # the region's catalogue is everyone's
                    elif kind == "qualification-records":
                        self.assertEqual(row["Сотрудник"], a_staff)
                    else:
                        self.assertEqual(row["Муниципалитет"], a_mun, row)
                        if "Организация" in header and row["Организация"]:
                            self.assertEqual(row["Организация"], a_org)


if __name__ == "__main__":
    unittest.main()
