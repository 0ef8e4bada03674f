"""test_import — CSV import and export of the registry end to end over HTTP against a real stack:
Windows-1251 with ';' and UTF-8 with BOM and ',' (files built here), broken quotes (the file is refused
and nothing is stored), wrong dates and an unknown organization (a per-row report with row, column and
a Russian message; valid rows stored, rejected ones not), a duplicate external id in one file, re-import
idempotence, dry run, templates, export → import round trip, export filters and a methodologist's
export scope."""

import csv
import io
import itertools
import os
import unittest
import urllib.parse

from harness import StackTestCase

REGION = "07"
_n = itertools.count(1)

STAFF_HEADER = ["Внешний идентификатор", "Фамилия", "Имя", "Отчество", "Дата рождения",
                "Дата начала работы в профессии", "Должность", "Категория", "Предметы", "Организация",
                "Квалификационная категория", "Работает"]
ORG_HEADER = ["Внешний идентификатор", "Муниципальное образование", "Полное наименование", "Краткое наименование",
              "Вид организации", "ШНОР"]
ORG_TEMPLATE = ORG_HEADER + ["Сложные социальные условия", "Учредитель"]
STAFF_TEMPLATE = STAFF_HEADER + ["Дата присвоения категории", "Дата назначения руководителем", "Кадровый резерв"]


def has_cyrillic(text):
    return any("\u0400" <= ch <= "\u04ff" for ch in text or "")


def csv_text(header, rows, delimiter=";"):
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow(row)
    return out.getvalue()


def parse_export(body):
    """An exported CSV: UTF-8 with BOM, ';'; returns (header, rows as dicts)."""
    assert body.startswith(b"\xef\xbb\xbf"), body[:20]
    reader = csv.reader(io.StringIO(body[3:].decode("utf-8"), newline=""), delimiter=";")
    rows = list(reader)
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


class ImportTest(StackTestCase):
    WORKERS = 2

    @classmethod
    def prepare(cls):
        s = cls.stack
        r = s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        assert r.status == 201, r
        cls.mun_a = cls._created(s.post("/api/v1/municipalities",
                                        {"regionId": REGION, "name": "Терский район", "kind": "district"}))
        cls.mun_b = cls._created(s.post("/api/v1/municipalities",
                                        {"regionId": REGION, "name": "Старомайнский район", "kind": "district"}))
        # organizations every staff test refers to by external id: two in A, one in B
        text = csv_text(ORG_HEADER, [
            ["ОО-A1", "Терский район", "МКОУ СОШ № 1 г.п. Терек", "СОШ № 1", "СОШ", "нет"],
            ["ОО-A2", cls.mun_a["id"], "МКОУ «Лицей № 1» г.п. Терек", "Лицей № 1", "лицей", "да"],
            ["ОО-B1", "Старомайнский район", "МОУ Старомайнская СШ № 1", "СШ № 1", "школа", "нет"],
        ])
        report = cls._import(s, "organizations", text.encode("utf-8"))
        assert report.get("created") == 3, report
        orgs = s.list_all("organizations", regionId=REGION)[0]
        cls.org = {o["externalId"]: o for o in orgs if o.get("externalId")}

    @staticmethod
    def _created(r):
        assert r.status == 201, r
        return r.json

    @staticmethod
    def _import(stack, kind, data, dry_run=False, token=True, expect=200):
        path = f"/api/v1/import/{kind}" + ("?dryRun=true" if dry_run else "")
        r = stack.request("POST", path, raw=data, headers={"Content-Type": "text/csv"}, token=token, timeout=60)
        assert r.status == expect, r
        return r.json

    def import_csv(self, kind, data, **kw):
        return self._import(self.stack, kind, data, **kw)

    def staff_row(self, xid, org="ОО-A1", **over):
        row = {"Внешний идентификатор": xid, "Фамилия": "Кажарова", "Имя": "Мадина", "Отчество": "Аслановна",
               "Дата рождения": "12.04.1985", "Дата начала работы в профессии": "01.09.2007",
               "Должность": "учитель", "Категория": "педагог", "Предметы": "Математика, Физика",
               "Организация": org, "Квалификационная категория": "первая", "Работает": "да"}
        row.update(over)
        return [row[h] for h in STAFF_HEADER]

    def xid(self, tag):
        return f"{tag}-{next(_n)}-{os.urandom(2).hex()}"

    def staff_by_xid(self, **filters):
        items = self.stack.list_all("staff", regionId=REGION, **filters)[0]
        return {s["externalId"]: s for s in items if s.get("externalId")}

    def errors_of(self, report, row):
        return [e for e in report.get("errors", []) if e.get("row") == row]

    def assertRussianErrors(self, report):
        for e in report.get("errors", []):
            self.assertTrue(has_cyrillic(e.get("message")), e)

    # ---- encodings and delimiters ----

    def test_cp1251_semicolon(self):
        org_x, staff_x = self.xid("ОО-1251"), self.xid("СНИЛС-1251")
        orgs = csv_text(ORG_HEADER, [[org_x, "Терский район", "МКОУ «Гимназия № 5» г.п. Терек — корпус «Ёлочка»",
                                      "Гимназия № 5", "гимназия", "нет"]])
        data = orgs.encode("cp1251")
        self.assertRaises(UnicodeDecodeError, data.decode, "utf-8")  # really not UTF-8
        report = self.import_csv("organizations", data)
        self.assertEqual((report.get("rows"), report.get("created"), report.get("rejected", 0)), (1, 1, 0), report)
        org = [o for o in self.stack.list_all("organizations", municipalityId=self.mun_a["id"])[0]
               if o.get("externalId") == org_x]
        self.assertEqual(len(org), 1)
        self.assertEqual(org[0]["name"], "МКОУ «Гимназия № 5» г.п. Терек — корпус «Ёлочка»")
        self.assertEqual(org[0]["kind"], "gymnasium")
        self.assertEqual(org[0]["municipalityId"], self.mun_a["id"])

        staff = csv_text(STAFF_HEADER, [self.staff_row(staff_x, org=org_x, **{
            "Фамилия": "Шогенова", "Имя": "Фатимат", "Отчество": "Хасанбиевна", "Предметы": "Русский язык; Литература",
            "Должность": "заместитель директора", "Категория": "руководитель", "Квалификационная категория": "высшая"})])
        report = self.import_csv("staff", staff.encode("cp1251"))
        self.assertEqual((report.get("rows"), report.get("created")), (1, 1), report)
        person = self.staff_by_xid(organizationId=org[0]["id"])[staff_x]
        self.assertEqual((person["lastName"], person["firstName"], person["middleName"]),
                         ("Шогенова", "Фатимат", "Хасанбиевна"))
        self.assertEqual(person["birthDate"], "1985-04-12")
        self.assertEqual(person["professionStartDate"], "2007-09-01")
        self.assertEqual(person["subjects"], ["russian_language", "literature"])
        self.assertEqual(person["position"], "deputy_director")
        self.assertEqual(person["category"], "manager")
        self.assertEqual(person["qualificationCategory"], "highest")
        self.assertEqual(person["organizationIds"], [org[0]["id"]])
        self.assertEqual(person["municipalityIds"], [self.mun_a["id"]])

    def test_utf8_bom_comma_english_headers(self):
        x1, x2 = self.xid("SNILS-bom"), self.xid("SNILS-bom")
        header = ["externalId", "lastName", "firstName", "middleName", "birthDate", "position", "category",
                  "subjects", "organizationExternalId", "active"]
        text = csv_text(header, [
            # a quoted cell with the delimiter and a line break inside: one record, one spreadsheet row
            [x1, "Иванова", "Мария", "Петровна", "1991-03-14", "учитель", "педагог", "Математика,\nИнформатика",
             "ОО-A1, ОО-A2", "да"],
            [x2, "Битоков", "Аслан", "", "02.11.1978", "teacher", "teacher", "physics", "ОО-B1", "нет"],
        ], delimiter=",")
        self.assertIn('"Математика,\nИнформатика"', text)
        report = self.import_csv("staff", b"\xef\xbb\xbf" + text.encode("utf-8"))
        self.assertEqual((report.get("rows"), report.get("created"), report.get("rejected", 0)), (2, 2, 0), report)
        got = self.staff_by_xid()
        a, b = got[x1], got[x2]
        self.assertEqual(a["subjects"], ["mathematics", "informatics"])
        self.assertEqual(a["organizationIds"], [self.org["ОО-A1"]["id"], self.org["ОО-A2"]["id"]])
        self.assertEqual(a["birthDate"], "1991-03-14")
        self.assertTrue(a["active"])
        self.assertEqual(b["birthDate"], "1978-11-02")
        self.assertFalse(b.get("active", False))
        self.assertEqual(b["municipalityIds"], [self.mun_b["id"]])

    # ---- refused files and rows ----

    def test_broken_quotes_reject_the_file(self):
        good, bad = self.xid("Q"), self.xid("Q")
        text = csv_text(STAFF_HEADER, [self.staff_row(good)])
        # row 3: a quote opened and never closed
        text += ";".join(self.staff_row(bad, **{"Фамилия": '"Незакрытая'})) + "\r\n"
        text += ";".join(self.staff_row(self.xid("Q"))) + "\r\n"
        report = self.import_csv("staff", text.encode("utf-8"))
        self.assertEqual(report.get("created", 0), 0, report)
        self.assertEqual(report.get("updated", 0), 0, report)
        self.assertEqual(len(report["errors"]), 1, report)
        err = report["errors"][0]
        self.assertEqual(err["row"], 3, err)
        self.assertIn("кавычк", err["message"])
        self.assertRussianErrors(report)
        self.assertNotIn(good, self.staff_by_xid())

        # text after a closing quote is refused as well
        text = csv_text(STAFF_HEADER, [self.staff_row(good)]) + \
            ";".join(self.staff_row(bad, **{"Фамилия": '"Иванова"x'})) + "\r\n"
        report = self.import_csv("staff", text.encode("utf-8"))
        self.assertEqual(report.get("created", 0), 0, report)
        self.assertEqual([e["row"] for e in report["errors"]], [3], report)
        self.assertNotIn(good, self.staff_by_xid())

        # an unknown column refuses the file before any row
        text = csv_text(STAFF_HEADER + ["Стаж"], [self.staff_row(good) + ["10"]])
        report = self.import_csv("staff", text.encode("utf-8"))
        self.assertEqual(report.get("created", 0), 0, report)
        self.assertEqual(report["errors"][0]["column"], "Стаж", report)
        self.assertEqual(report["errors"][0]["row"], 1, report)
        self.assertNotIn(good, self.staff_by_xid())

    def test_wrong_dates_and_unknown_organization(self):
        ok1, feb31, month13, words, unknown_org, ok2 = (self.xid("D") for _ in range(6))
        rows = [
            self.staff_row(ok1),
            self.staff_row(feb31, **{"Дата рождения": "31.02.1990"}),
            self.staff_row(month13, **{"Дата начала работы в профессии": "2010-13-01"}),
            self.staff_row(words, **{"Дата рождения": "вчера"}),
            self.staff_row(unknown_org, org="ОО-НЕТ-ТАКОЙ"),
            self.staff_row(ok2, org="ОО-B1"),
        ]
        report = self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8"))
        self.assertEqual(report.get("rows"), 6, report)
        self.assertEqual(report.get("created"), 2, report)
        self.assertEqual(report.get("rejected"), 4, report)
        self.assertRussianErrors(report)
        self.assertEqual(self.errors_of(report, 2), [], report)
        self.assertEqual({e["column"] for e in self.errors_of(report, 3)}, {"Дата рождения"}, report)
        self.assertEqual({e["column"] for e in self.errors_of(report, 4)}, {"Дата начала работы в профессии"}, report)
        self.assertEqual({e["column"] for e in self.errors_of(report, 5)}, {"Дата рождения"}, report)
        org_errors = self.errors_of(report, 6)
        self.assertEqual([e["column"] for e in org_errors], ["Организация"], report)
        self.assertIn("ОО-НЕТ-ТАКОЙ", org_errors[0]["message"])
        self.assertEqual(self.errors_of(report, 7), [], report)
        stored = self.staff_by_xid()
        self.assertIn(ok1, stored)
        self.assertIn(ok2, stored)
        for x in (feb31, month13, words, unknown_org):
            self.assertNotIn(x, stored)

        # an organization of another region's code is not found either, and a bad enum names the choices
        rows = [self.staff_row(self.xid("D"), org="77-o1"),
                self.staff_row(self.xid("D"), **{"Должность": "космонавт"})]
        report = self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8"))
        self.assertEqual(report.get("created", 0), 0, report)
        self.assertEqual([e["column"] for e in self.errors_of(report, 2)], ["Организация"], report)
        position = self.errors_of(report, 3)
        self.assertEqual([e["column"] for e in position], ["Должность"], report)
        self.assertIn("учитель", position[0]["message"])

    def test_duplicate_external_id_in_one_file(self):
        dup, other = self.xid("DUP"), self.xid("DUP")
        rows = [self.staff_row(dup), self.staff_row(other), self.staff_row(dup, **{"Имя": "Марина"})]
        report = self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8"))
        self.assertEqual((report.get("created"), report.get("rejected")), (1, 2), report)
        for row, also in ((2, "4"), (4, "2")):
            errs = self.errors_of(report, row)
            self.assertEqual(len(errs), 1, report)
            self.assertEqual(errs[0]["column"], "Внешний идентификатор")
            self.assertIn(dup, errs[0]["message"])
            self.assertIn(also, errs[0]["message"])
        self.assertRussianErrors(report)
        stored = self.staff_by_xid()
        self.assertNotIn(dup, stored)
        self.assertIn(other, stored)

    # ---- upsert ----

    def test_reimport_is_idempotent_and_updates_changed_columns(self):
        xs = [self.xid("RE") for _ in range(3)]
        data = csv_text(STAFF_HEADER, [self.staff_row(x, org="ОО-A2") for x in xs]).encode("cp1251")
        first = self.import_csv("staff", data)
        self.assertEqual(first.get("created"), 3, first)
        before = self.staff_by_xid(organizationId=self.org["ОО-A2"]["id"])
        second = self.import_csv("staff", data)
        self.assertEqual((second.get("rows"), second.get("created", 0), second.get("updated", 0),
                          second.get("unchanged"), second.get("rejected", 0)), (3, 0, 0, 3, 0), second)
        after = self.staff_by_xid(organizationId=self.org["ОО-A2"]["id"])
        self.assertEqual(after, before, "повторный импорт ничего не меняет")

        # one changed cell → that row updated; a file without a column keeps it
        rows = [self.staff_row(x, org="ОО-A2") for x in xs]
        rows[1][STAFF_HEADER.index("Квалификационная категория")] = "высшая"
        third = self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8"))
        self.assertEqual((third.get("updated"), third.get("unchanged")), (1, 2), third)
        changed = self.staff_by_xid(organizationId=self.org["ОО-A2"]["id"])[xs[1]]
        self.assertEqual(changed["qualificationCategory"], "highest")
        self.assertEqual(int(changed["version"]), int(before[xs[1]]["version"]) + 1)
        # required columns only (the header of docs/import.md for the id), "Работает" changed: the
        # subjects, the dates and the category the file does not have are kept
        narrow_header = ["Внешний идентификатор (СНИЛС)", "Фамилия", "Имя", "Дата рождения", "Должность",
                         "Категория", "Организация", "Работает"]
        narrow = csv_text(narrow_header, [[xs[2], "Кажарова", "Мадина", "12.04.1985", "учитель", "педагог",
                                           "ОО-A2", "нет"]])
        fourth = self.import_csv("staff", narrow.encode("utf-8"))
        self.assertEqual(fourth.get("updated"), 1, fourth)
        kept = self.staff_by_xid(organizationId=self.org["ОО-A2"]["id"])[xs[2]]
        self.assertFalse(kept.get("active", False))
        self.assertEqual(kept["subjects"], before[xs[2]]["subjects"])
        self.assertEqual(kept["middleName"], before[xs[2]]["middleName"])
        self.assertEqual(kept["qualificationCategory"], before[xs[2]]["qualificationCategory"])
        self.assertEqual(kept["professionStartDate"], before[xs[2]]["professionStartDate"])
        # without a required column the file is refused as a whole
        fifth = self.import_csv("staff", csv_text(["Внешний идентификатор", "Работает"], [[xs[2], "да"]])
                                .encode("utf-8"))
        self.assertEqual(fifth.get("updated", 0), 0, fifth)
        self.assertEqual([(e["row"], e["column"]) for e in fifth["errors"]], [(1, "Фамилия")], fifth)
        self.assertFalse(self.staff_by_xid(organizationId=self.org["ОО-A2"]["id"])[xs[2]].get("active", False))

    def test_dry_run_stores_nothing(self):
        xs = [self.xid("DRY") for _ in range(2)]
        rows = [self.staff_row(x) for x in xs] + [self.staff_row(self.xid("DRY"), **{"Дата рождения": "99.99.1999"})]
        data = csv_text(STAFF_HEADER, rows).encode("utf-8")
        count = self.stack.count("staff", regionId=REGION)
        report = self.import_csv("staff", data, dry_run=True)
        self.assertTrue(report.get("dryRun"), report)
        self.assertEqual((report.get("created"), report.get("rejected")), (2, 1), report)
        self.assertEqual([e["row"] for e in report["errors"]], [4], report)
        self.assertEqual(self.stack.count("staff", regionId=REGION), count)
        self.assertFalse(set(xs) & set(self.staff_by_xid()))
        real = self.import_csv("staff", data)
        self.assertFalse(real.get("dryRun", False))
        self.assertEqual(real.get("created"), 2, real)
        again = self.import_csv("staff", data, dry_run=True)
        self.assertEqual((again.get("created", 0), again.get("unchanged")), (0, 2), again)

    # ---- templates and export ----

    def test_templates(self):
        for kind, first in (("staff", "Внешний идентификатор"), ("organizations", "Внешний идентификатор")):
            r = self.stack.get(f"/api/v1/import/templates/{kind}.csv")
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.header("Content-Type", "").startswith("text/csv"), r.headers)
            self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"), r.body[:10])
            first_line = r.body[3:].split(b"\r\n", 1)[0].decode("utf-8")
            self.assertIn(";", first_line)
            header, rows = parse_export(r.body)
            self.assertEqual(header[0], first)
            self.assertEqual(header, STAFF_TEMPLATE if kind == "staff" else ORG_TEMPLATE)
            self.assertEqual(len(rows), 1, "шаблон: заголовок и строка-пример")
        # the template's example row of organizations imports (dry run) with a real municipality name
        r = self.stack.get("/api/v1/import/templates/organizations.csv")
        body = r.body.replace("Терский район".encode(), self.mun_a["name"].encode())
        report = self.import_csv("organizations", body, dry_run=True)
        self.assertEqual(report.get("rejected", 0), 0, report)

    def test_export_round_trips_through_import(self):
        # a municipality of imported records only (API-made ones have no external id)
        mun = self._created(self.stack.post("/api/v1/municipalities", {
            "regionId": REGION, "name": f"ЗАТО п. Горный {next(_n)}", "kind": "zato"}))
        o1, o2 = self.xid("RT-ОО"), self.xid("RT-ОО")
        orgs = csv_text(ORG_HEADER, [[o1, mun["id"], "МБОУ «СОШ № 7; корпус \"Б\"»", "", "СОШ", "да"],
                                     [o2, mun["id"], "=Детский сад «Берёзка»", "-Берёзка", "ДОУ", "нет"]])
        self.assertEqual(self.import_csv("organizations", orgs.encode("utf-8")).get("created"), 2)
        rows = [self.staff_row(self.xid("RT"), org=o1, **{"Отчество": "", "Предметы": "",
                                                           "Дата начала работы в профессии": ""}),
                self.staff_row(self.xid("RT"), org=f"{o1}, {o2}", **{"Квалификационная категория": "",
                                                                     "Фамилия": "Петренко-Ковальская"}),
                self.staff_row(self.xid("RT"), org=o2, **{"Должность": "воспитатель",
                                                           "Предметы": "Дошкольное образование", "Работает": "нет"})]
        self.assertEqual(self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8")).get("created"), 3)

        for kind, n in (("organizations", 2), ("staff", 3)):
            r = self.stack.get(f"/api/v1/export/{kind}?municipalityId={mun['id']}", timeout=60)
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.header("Content-Type", "").startswith("text/csv"), r.headers)
            header, exported = parse_export(r.body)
            self.assertEqual(len(exported), n, r.body.decode("utf-8", "replace"))
            before = self.stack.list_all(kind, municipalityId=mun["id"])[0]
            report = self.import_csv(kind, r.body)
            self.assertEqual((report.get("rows"), report.get("unchanged"), report.get("created", 0),
                              report.get("updated", 0), report.get("rejected", 0)), (n, n, 0, 0, 0),
                             f"{kind}: {report}\n{r.body.decode('utf-8', 'replace')}")
            self.assertEqual(self.stack.list_all(kind, municipalityId=mun["id"])[0], before)
        # formula-looking cells are guarded in the file and come back as they were
        _h, exported = parse_export(self.stack.get(f"/api/v1/export/organizations?municipalityId={mun['id']}").body)
        names = {row["Полное наименование"] for row in exported}
        self.assertIn("'=Детский сад «Берёзка»", names)
        stored = {o["name"] for o in self.stack.list_all("organizations", municipalityId=mun["id"])[0]}
        self.assertIn("=Детский сад «Берёзка»", stored)

    def test_export_with_filter(self):
        xs = {self.xid("F"): ("руководитель", "директор"), self.xid("F"): ("педагог", "учитель"),
              self.xid("F"): ("руководитель", "заместитель директора")}
        rows = [self.staff_row(x, org="ОО-B1", **{"Категория": c, "Должность": p, "Предметы": ""})
                for x, (c, p) in xs.items()]
        self.assertEqual(self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8")).get("created"), 3)
        q = urllib.parse.urlencode({"municipalityId": self.mun_b["id"], "category": "manager"})
        r = self.stack.get(f"/api/v1/export/staff?{q}")
        self.assertEqual(r.status, 200, r)
        _h, exported = parse_export(r.body)
        listed = self.stack.list_all("staff", municipalityId=self.mun_b["id"], category="manager")[0]
        self.assertEqual(len(exported), len(listed))
        self.assertTrue(exported)
        self.assertEqual({row["Категория"] for row in exported}, {"руководитель"})
        got = {row["Внешний идентификатор"] for row in exported}
        self.assertEqual({x for x, (c, _p) in xs.items() if c == "руководитель"}, got & set(xs))
        self.assertJsonError(self.stack.get("/api/v1/export/staff?category=astronaut"), 400)

    def test_methodologist_exports_only_their_municipality(self):
        xa, xb = self.xid("M"), self.xid("M")
        rows = [self.staff_row(xa, org="ОО-A1"), self.staff_row(xb, org="ОО-B1")]
        self.assertEqual(self.import_csv("staff", csv_text(STAFF_HEADER, rows).encode("utf-8")).get("created"), 2)
        login, password = f"metod{next(_n)}{os.urandom(3).hex()}", "Пароль-методиста-" + os.urandom(4).hex()
        r = self.stack.post("/api/v1/users", {"login": login, "password": password, "fullName": "Методист Терского района",
                                              "role": "municipal_methodologist",
                                              "scope": {"kind": "municipality", "id": self.mun_a["id"]}})
        self.assertEqual(r.status, 201, r)
        token = self.stack.login(login, password)
        r = self.stack.get("/api/v1/export/staff", token=token)
        self.assertEqual(r.status, 200, r)
        _h, exported = parse_export(r.body)
        got = {row["Внешний идентификатор"] for row in exported}
        self.assertIn(xa, got)
        self.assertNotIn(xb, got)
        a_orgs = {o.get("externalId") or o["id"] for o in
                  self.stack.list_all("organizations", municipalityId=self.mun_a["id"])[0]}
        for row in exported:
            for ref in row["Организация"].split(", "):
                self.assertIn(ref, a_orgs, row)
        self.assertEqual(len(exported), self.stack.count("staff", municipalityId=self.mun_a["id"]))
        r = self.stack.get("/api/v1/export/organizations", token=token)
        _h, exported = parse_export(r.body)
        self.assertEqual({row["Муниципальное образование"] for row in exported}, {self.mun_a["id"]})
        # their own municipality's rows import; another municipality's organization is not found
        report = self.import_csv("staff", csv_text(STAFF_HEADER, [self.staff_row(self.xid("M"), org="ОО-A1"),
                                                                  self.staff_row(self.xid("M"), org="ОО-B1")])
                                 .encode("utf-8"), token=token)
        self.assertEqual((report.get("created"), report.get("rejected")), (1, 1), report)
        self.assertEqual([e["column"] for e in self.errors_of(report, 3)], ["Организация"], report)
        # a row whose external id belongs to a record they cannot see is refused, not revealed or taken
        report = self.import_csv("staff", csv_text(STAFF_HEADER, [self.staff_row(xb, org="ОО-A1")]).encode("utf-8"),
                                 token=token)
        self.assertEqual(report.get("rejected"), 1, report)
        self.assertIn(xb, self.staff_by_xid(municipalityId=self.mun_b["id"]))

    def test_import_needs_csv_and_login(self):
        data = csv_text(STAFF_HEADER, [self.staff_row(self.xid("X"))]).encode("utf-8")
        r = self.stack.request("POST", "/api/v1/import/staff", raw=data, token=False,
                               headers={"Content-Type": "text/csv"})
        self.assertJsonError(r, 401)
        r = self.stack.request("POST", "/api/v1/import/staff", raw=data)  # application/json
        self.assertJsonError(r, (400, 415))
        r = self.stack.request("POST", "/api/v1/import/staff", raw=b"", headers={"Content-Type": "text/csv"})
        self.assertJsonError(r, 400)
        report = self.import_csv("staff", "Фамилия;Имя\r\n".encode("utf-8"))  # a header and no rows
        self.assertEqual(report.get("created", 0), 0, report)
        self.assertTrue(report.get("errors"), report)
        self.assertRussianErrors(report)


if __name__ == "__main__":
    unittest.main()
