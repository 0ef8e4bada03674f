"""test_demo — the demo district of ops/demo/demo_district.py: the generated data is deterministic and
plausible (counts from the district's programme, age mix, dates, names, subject codes the server
knows), and loading it through the real API twice stores each record exactly once."""

import datetime
import io
import os
import re
import sys
import unittest

from harness import StackTestCase, source_dir

sys.path.insert(0, os.path.join(source_dir(), "ops", "demo"))
import demo_district  # noqa: E402


def server_subject_codes():
    """Subject codes of common/dictionary.c (the server's list is the truth)."""
    path = os.path.join(source_dir(), "common", "dictionary.c")
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r'\{\s*"([a-z_]+)"\s*,', f.read()))


class DemoDataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = demo_district.generate(2021)

    def test_deterministic(self):
        self.assertEqual(demo_district.generate(2021), self.data)
        self.assertNotEqual(demo_district.generate(2022)["staff"], self.data["staff"])

    def test_counts(self):
        staff = self.data["staff"]
        self.assertEqual(self.data["region"], {"id": "07", "name": "Кабардино-Балкарская Республика"})
        self.assertEqual(self.data["municipality"]["name"], "Терский муниципальный район")
        self.assertEqual(self.data["municipality"]["kind"], "district")
        self.assertEqual(len(self.data["organizations"]), 24)
        self.assertEqual(sum(1 for s in staff if s["position"] == "teacher"), 619)
        educators = [s for s in staff if s["position"] == "educator"]
        self.assertEqual(len(educators), 252)
        preschool_kinds = {"preschool", "progymnasium", "primary_school_kindergarten"}
        for s in educators:
            self.assertEqual(s["category"], "teacher")
            self.assertEqual(s["subjects"], ["preschool_education"])
            self.assertIn(self.data["organizations"][s["organizationIds"][0]]["kind"], preschool_kinds)
        managers = [s for s in staff if s["category"] == "manager"]
        self.assertTrue(65 <= len(managers) <= 75, len(managers))
        self.assertTrue(all(s["position"] in ("director", "deputy_director") for s in managers))
        names = [o["name"] for o in self.data["organizations"]]
        self.assertEqual(len(names), len(set(names)))
        self.assertIn("МКОУ СОШ № 1 г.п. Терек", names)

    def test_people_are_plausible(self):
        ref = demo_district.REFERENCE_DATE
        known = server_subject_codes()
        self.assertTrue(known, "не нашёл кодов предметов в common/dictionary.c")
        keys = set()
        young = 0
        for s in self.data["staff"]:
            birth = datetime.date.fromisoformat(s["birthDate"])
            start = datetime.date.fromisoformat(s["professionStartDate"])
            age = (ref - birth).days / 365.25
            self.assertTrue(20 <= age <= 71, s)
            young += age < 35
            self.assertGreaterEqual((start - birth).days / 365.25, 18, s)
            self.assertLessEqual(start, ref, s)
            for code in s["subjects"]:
                self.assertIn(code, known, s)
            if s["category"] == "teacher" and s["position"] == "teacher":
                self.assertIn(len(s["subjects"]), (1, 2), s)
            female = s["middleName"].endswith("на")
            self.assertTrue(s["middleName"].endswith(("вна", "чна", "ична")) if female
                            else s["middleName"].endswith(("вич", "ич")), s)
            if s["lastName"].endswith(("ов", "ев", "ёв", "ин")):
                self.assertFalse(female, f"мужская фамилия у женщины: {s}")
            if s["lastName"].endswith(("ова", "ева", "ёва", "ина")):
                self.assertTrue(female, f"женская фамилия у мужчины: {s}")
            key = (s["lastName"], s["firstName"], s["middleName"], s["birthDate"])
            self.assertNotIn(key, keys)
            keys.add(key)
        share = young / len(self.data["staff"])
        self.assertTrue(0.20 <= share <= 0.25, f"доля моложе 35: {share:.3f}")

    def test_dry_run_prints_counts(self):
        out = io.StringIO()
        old, sys.stdout = sys.stdout, out
        try:
            self.assertEqual(demo_district.main(["--dry-run"]), 0)
        finally:
            sys.stdout = old
        self.assertIn("учителей: 619", out.getvalue())
        self.assertIn("воспитателей: 252", out.getvalue())


class DemoLoadTest(StackTestCase):
    WORKERS = 2

    def test_load_twice_stores_once(self):
        data = demo_district.generate(2021)
        api = demo_district.Api(f"http://127.0.0.1:{self.stack.http_port}", timeout=30)
        api.login(self.stack.admin_login, self.stack.admin_password, sessions=6)
        log = io.StringIO()
        first = demo_district.load(data, api, workers=6, progress=log)
        mun_id = first["municipalityId"]
        self.assertEqual(self.stack.count("organizations", municipalityId=mun_id), 24)
        self.assertEqual(self.stack.count("staff", municipalityId=mun_id), len(data["staff"]))
        self.assertEqual(self.stack.count("staff", municipalityId=mun_id, category="manager"),
                         sum(1 for s in data["staff"] if s["category"] == "manager"))
        self.assertEqual(self.stack.count("staff", organizationId=first["organizationIds"][0]),
                         sum(1 for s in data["staff"] if s["organizationIds"] == [0]))

        # a second run (as after a failure) finds everything and creates nothing
        second = demo_district.load(data, api, workers=6, progress=log)
        self.assertEqual(second, first)
        self.assertEqual(self.stack.count("staff", municipalityId=mun_id), len(data["staff"]))
        self.assertEqual(self.stack.count("municipalities", regionId="07"), 1)
        self.assertIn("осталось 0", log.getvalue())


if __name__ == "__main__":
    unittest.main()
