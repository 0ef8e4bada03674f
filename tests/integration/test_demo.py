"""test_demo — the demo district of ops/demo/demo_district.py: the generated data is deterministic and
plausible (counts from the district's programme, age mix, dates, names, subject codes the server
knows; associations, the council, programmes with the diagnostics framework's competence codes and
practices in every review state), and loading it through the real API twice stores each record exactly
once."""

import datetime
import io
import os
import re
import sys
import unittest
import urllib.parse

from harness import StackTestCase, source_dir

sys.path.insert(0, os.path.join(source_dir(), "ops", "demo"))
import demo_district  # noqa: E402
import demo_events  # noqa: E402


def framework_competence_codes():
    """Competence codes of the diagnostics default framework (services/diagnostics/diagnostics_model.c)."""
    path = os.path.join(source_dir(), "services", "diagnostics", "diagnostics_model.c")
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r'\{"([tm]\.[a-z]+\.\d+)"', f.read()))


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

    def test_catalogue_is_plausible(self):
        cat = self.data["catalogue"]
        staff = self.data["staff"]
        self.assertEqual(demo_district.generate(2021)["catalogue"], cat)
        self.assertNotEqual(demo_district.generate(2022)["catalogue"]["associations"], cat["associations"])
        known_subjects = server_subject_codes()
        kinds = [a["body"]["kind"] for a in cat["associations"]]
        levels = [a["body"]["level"] for a in cat["associations"]]
        self.assertGreaterEqual(kinds.count("methodological_association"), 8)
        self.assertIn("professional_community", kinds)  # a network community: the flag network
        self.assertTrue(any(a["body"]["network"] for a in cat["associations"]))
        self.assertIn("institutional", levels)
        self.assertIn("municipal", levels)
        names = [a["body"]["name"] for a in cat["associations"]]
        self.assertEqual(len(names), len(set(names)))
        self.assertTrue(any(n.startswith("ШМО") for n in names) and any(n.startswith("РМО") for n in names))
        for a in cat["associations"]:
            body = a["body"]
            self.assertTrue(body.get("subject") or body.get("theme"), body)
            if body.get("subject"):
                self.assertIn(body["subject"], known_subjects)
            leader = body["leaderStaffId"]["$staff"]
            self.assertEqual(a["members"][0]["staff"], leader, "руководитель — член объединения")
            people = [m["staff"] for m in a["members"]]
            self.assertEqual(len(people), len(set(people)))
            self.assertGreaterEqual(len(people), 3, body["name"])
            for m in a["members"]:
                person = staff[m["staff"]]
                self.assertEqual(person["category"], "teacher")
                self.assertGreaterEqual(m["joinedOn"], person["professionStartDate"])
                if m["leftOn"]:
                    self.assertGreater(m["leftOn"], m["joinedOn"])
                if body["level"] == "institutional":
                    self.assertEqual(person["organizationIds"], [body["organizationId"]["$org"]])
        self.assertTrue(any(m["leftOn"] for a in cat["associations"] for m in a["members"]))

        council = cat["council"]["body"]
        roles = [council["chairStaffId"]["$staff"], council["deputyStaffId"]["$staff"],
                 council["secretaryStaffId"]["$staff"]] + [m["$staff"] for m in council["memberStaffIds"]]
        self.assertEqual(len(roles), len(set(roles)))
        self.assertEqual(staff[roles[0]]["position"], "director")
        self.assertGreaterEqual(len(cat["council"]["meetings"]), 1)
        for m in cat["council"]["meetings"]:
            self.assertTrue(m["agenda"] and m["decisions"] and m["attendeeStaffIds"])
            for person in m["attendeeStaffIds"]:
                self.assertIn(person["$staff"], roles)

        codes = framework_competence_codes()
        self.assertIn("t.subject.1", codes)
        self.assertIn("t.digital.3", codes)
        self.assertTrue(any(c.startswith("m.") for c in codes))
        programmes = cat["programmes"]
        self.assertGreaterEqual(len(programmes), 8)
        in_fr = sum(1 for p in programmes if p["federalRegistry"])
        self.assertTrue(0 < in_fr < len(programmes), in_fr)
        used = set()
        for p in programmes:
            self.assertTrue(16 <= p["hours"] <= 1000)
            self.assertIn(p["format"], ("in_person", "distance", "blended"))
            self.assertTrue(p["competences"])
            for c in p["competences"]:
                self.assertIn(c, codes, p["title"])
                used.add(c)
        self.assertTrue(any(c.startswith("m.") for c in used) and any(c.startswith("t.") for c in used))
        self.assertTrue(any("управление качеством образования" in p["tags"] for p in programmes))

        statuses = [p["status"] for p in cat["practices"]]
        self.assertGreaterEqual(statuses.count("published"), 2)
        self.assertEqual(set(statuses), {"submitted", "under_review", "published", "rejected"})
        for p in cat["practices"]:
            for c in p["body"]["competences"]:
                self.assertIn(c, codes)
            self.assertIn(p["body"]["subject"], known_subjects)
            self.assertEqual(staff[p["body"]["authorStaffId"]["$staff"]]["category"], "teacher")

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

        cat = data["catalogue"]
        counts = self.catalogue_counts(mun_id)
        self.assertEqual(counts["associations"], len(cat["associations"]))
        self.assertEqual(counts["members"], sum(len(a["members"]) for a in cat["associations"]))
        self.assertEqual(counts["left"], sum(1 for a in cat["associations"] for m in a["members"] if m["leftOn"]))
        self.assertEqual(counts["councils"], 1)
        self.assertEqual(counts["meetings"], len(cat["council"]["meetings"]))
        self.assertEqual(counts["programmes"], len(cat["programmes"]))
        self.assertEqual(counts["programmes_fr"], sum(1 for p in cat["programmes"] if p["federalRegistry"]))
        self.assertEqual(counts["practices"], {s: sum(1 for p in cat["practices"] if p["status"] == s)
                                               for s in ("submitted", "under_review", "published", "rejected")})
        # the network community and a programme found by a framework competence, published practices by word
        self.assertEqual(self.stack.count("associations", network="true"), 1)
        self.assertGreaterEqual(self.stack.count("programmes", competence="t.digital.3"), 1)
        r = self.stack.get("/api/v1/practices?" + urllib.parse.urlencode({"q": "чтение", "status": "published"}))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json.get("items", [])), 1, r)
        meeting = self.stack.get(f"/api/v1/council-meetings/{first['meetingIds'][0]}")
        self.assertEqual(meeting.status, 200, meeting)
        self.assertTrue(meeting.json["agenda"] and meeting.json["decisions"])

        # the district's own diagnostics (ops/demo/demo_diagnostics.py): a municipal campaign by nomination,
        # the summary of deficits of six answers, the demo teacher's route proposed with a tutor
        campaign = self.stack.get(f"/api/v1/diagnostics/campaigns/{first['diagnosticsCampaignId']}").json
        self.assertEqual((campaign["municipalityId"], campaign["byNomination"]), (mun_id, True))
        summary = self.stack.get(f"/api/v1/diagnostics/deficits?campaignId={campaign['id']}").json
        self.assertEqual(summary["people"], 6)
        self.assertEqual(summary["deficits"][0]["competence"], "t.digital.1")
        route = self.stack.get(f"/api/v1/staff/{first['routeStaffIds'][0]}/route").json
        self.assertEqual(route["status"], "proposed")
        self.assertTrue(route["tutorStaffId"])

        # a second run (as after a failure) finds everything and creates nothing
        second = demo_district.load(data, api, workers=6, progress=log)
        self.assertEqual(second, first)
        self.assertEqual(self.stack.count("staff", municipalityId=mun_id), len(data["staff"]))
        self.assertEqual(self.stack.count("municipalities", regionId="07"), 1)
        self.assertIn("осталось 0", log.getvalue())
        self.assertEqual(self.catalogue_counts(mun_id), counts)
        self.assertIn("записей о членстве создано сейчас 0, выходов 0", log.getvalue())

        # the district's events (ops/demo/demo_events.py): an approved plan, published events, registrations
        # with a waitlist, attendance of the event on now; a second run creates nothing
        events = demo_events.load(api, say=lambda m: log.write(m + "\n"))
        plan = self.stack.get(f"/api/v1/event-plans/{events['planId']}").json
        self.assertEqual((plan["status"], plan["orderNumber"]), ("approved", "214-о"))
        self.assertEqual(len(events["eventIds"]), len(demo_events.EVENTS) + 1)
        master = self.stack.get(f"/api/v1/events/{events['eventIds'][1]}").json
        self.assertEqual((master["registeredCount"], master["waitlistedCount"]), (8, 3))
        webinar = events["eventIds"][3]
        self.assertGreater(self.stack.count(f"events/{webinar}/registrations", status="attended"), 0)
        registrations = sum(self.stack.count(f"events/{e}/registrations") for e in events["eventIds"])
        self.assertEqual(demo_events.load(api, say=lambda m: log.write(m + "\n")), events)
        self.assertIn("записей создано сейчас 0", log.getvalue())
        self.assertEqual(sum(self.stack.count(f"events/{e}/registrations") for e in events["eventIds"]),
                         registrations)

    def catalogue_counts(self, mun_id):
        memberships = []
        associations = self.stack.list_all("associations", regionId="07")[0]
        for a in associations:
            memberships += self.stack.list_all(f"associations/{a['id']}/members")[0]
        councils = self.stack.list_all("councils", municipalityId=mun_id)[0]
        practices = self.stack.list_all("practices", municipalityId=mun_id)[0]
        return {
            "associations": len(associations), "members": len(memberships),
            "left": sum(1 for m in memberships if m.get("leftOn")), "councils": len(councils),
            "meetings": sum(self.stack.count(f"councils/{c['id']}/meetings") for c in councils),
            "programmes": self.stack.count("programmes", regionId="07"),
            "programmes_fr": self.stack.count("programmes", regionId="07", federalRegistry="true"),
            "practices": {s: sum(1 for p in practices if p.get("status", "submitted") == s)
                          for s in ("submitted", "under_review", "published", "rejected")},
        }


if __name__ == "__main__":
    unittest.main()
