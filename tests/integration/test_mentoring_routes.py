"""test_mentoring_routes — mentoring items of a teacher's individual educational route (ИОМ) end to end
over HTTP against a real stack: the route generator asks the mentoring service for the best mentor and
proposes a mentoring item naming the colleague strong in the deficit (with the match's Russian
explanation); without such a colleague, or with the mentoring service down, the route has no mentoring
item; a pair names the item (checked: the mentee's route, kind mentoring, still open); completing the
pair marks the item done, cancelling leaves it as it was."""

import datetime
import time
import urllib.parse

from harness import StackTestCase

REGION = "07"

INSTRUMENT = {
    "title": "Диагностика для маршрутов с наставничеством",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.assess.1", "kind": "scale", "text": "Оценивание", "scaleMin": 1, "scaleMax": 5},
        {"id": "q2", "competence": "t.method.1", "kind": "scale", "text": "Методика", "scaleMin": 1, "scaleMax": 5},
        {"id": "q3", "competence": "t.digital.1", "kind": "scale", "text": "Цифра", "scaleMin": 1, "scaleMax": 5},
    ],
}


class MentoringRoutesTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = cls._created(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский район",
                                                                 "kind": "district"}))
        cls.org = cls._created(s.post("/api/v1/organizations", {"municipalityId": cls.mun["id"],
                                                                "name": "МКОУ СОШ № 1", "kind": "school"}))
        today = datetime.date.today()
        cls.today = today.isoformat()

        def staff(name, birth, start):
            return cls._created(s.post("/api/v1/staff", {
                "lastName": name, "firstName": "Анна", "birthDate": birth, "professionStartDate": start,
                "position": "teacher", "category": "teacher", "subjects": ["mathematics"],
                "organizationIds": [cls.org["id"]]}))
        cls.mentee = staff("Молодова", "2000-01-01", (today - datetime.timedelta(days=365)).isoformat())
        cls.mentee2 = staff("Новикова", "2001-01-01", (today - datetime.timedelta(days=200)).isoformat())
        cls.lonely = staff("Цифрова", "2000-01-01", (today - datetime.timedelta(days=365)).isoformat())
        cls.strong = staff("Опытова", "1970-01-01", "1995-09-01")
        cls.ordinary = staff("Обычнова", "1975-01-01", "2000-09-01")
        cls.instrument = cls._created(s.post("/api/v1/instruments", INSTRUMENT))
        c = cls._created(s.post("/api/v1/diagnostics/campaigns", {
            "title": "Независимая диагностика", "instrumentId": cls.instrument["id"], "kind": "independent",
            "startsOn": (today - datetime.timedelta(days=30)).isoformat(), "endsOn": "2099-12-31",
            "target": {"municipalityIds": [cls.mun["id"]], "categories": ["teacher"]}}))
        assert s.post(f"/api/v1/diagnostics/campaigns/{c['id']}/open").status == 200
        # percents: 0 = deficit, 100 = strength, 50 = neither. The mentee lacks assessment (the strong
        # colleague's strength); the lonely one lacks digital skills, where nobody is strong.
        rows = [(cls.mentee, 0, 50, 50), (cls.mentee2, 0, 50, 50), (cls.lonely, 50, 50, 0), (cls.strong, 100, 50, 50),
                (cls.ordinary, 50, 50, 50)]
        header = "Код сотрудника;Внешний идентификатор;ФИО;Дата;t.assess.1;t.method.1;t.digital.1"
        day = today.strftime("%d.%m.%Y")
        lines = [header] + [f"{p['id']};;;{day};{a};{b};{d}" for p, a, b, d in rows]
        r = s.request("POST", "/api/v1/diagnostics/results/import?" + urllib.parse.urlencode({"campaignId": c["id"]}),
                      raw=("\r\n".join(lines) + "\r\n").encode("utf-8"), headers={"Content-Type": "text/csv"})
        assert r.status == 200 and r.json.get("created") == len(rows), r
        cls.programme = cls._created(s.post("/api/v1/support-programmes", {
            "kind": "mentoring", "level": "municipal", "municipalityId": cls.mun["id"],
            "title": "Программа наставничества Терского района", "startsOn": cls.today}))

    @staticmethod
    def _created(r):
        assert r.status in (200, 201), r
        return r.json

    def generate(self, person):
        r = self.stack.post(f"/api/v1/staff/{person['id']}/route", {"startsOn": self.today})
        self.assertEqual(r.status, 200, r)
        return r.json

    @staticmethod
    def mentoring_items(route):
        return [i for i in route.get("items", []) if i["kind"] == "mentoring"]

    def pair(self, route_item_id, mentee=None, mentor=None):
        return self.stack.post("/api/v1/mentoring-pairs", {
            "programmeId": self.programme["id"], "form": "young_specialist",
            "mentorStaffId": (mentor or self.strong)["id"], "menteeStaffId": (mentee or self.mentee)["id"],
            "startsOn": self.today, "competences": ["t.assess.1"], "routeItemId": route_item_id})

    def item(self, person, item_id):
        r = self.stack.get(f"/api/v1/staff/{person['id']}/route")
        self.assertEqual(r.status, 200, r)
        return next(i for i in r.json["items"] if i["id"] == item_id)

    def test_1_route_proposes_the_strong_colleague(self):
        s = self.stack
        route = self.generate(self.mentee)
        items = self.mentoring_items(route)
        self.assertEqual(len(items), 1, route)
        m = items[0]
        self.assertEqual(m["mentorStaffId"], self.strong["id"])
        self.assertEqual(m["competence"], "t.assess.1")
        self.assertEqual(m["status"], "planned")
        self.assertIn("Опытова Анна", m["title"])
        self.assertIn("где у наставляемого дефицит", m["explanation"])
        due = datetime.date.fromisoformat(self.today) + datetime.timedelta(days=180)
        self.assertEqual(m["dueOn"], due.isoformat())
        # the same route again: deterministic, still one mentoring item
        again = self.generate(self.mentee)
        self.assertEqual([(i["kind"], i["competence"], i.get("mentorStaffId", "")) for i in again["items"]],
                         [(i["kind"], i["competence"], i.get("mentorStaffId", "")) for i in route["items"]])
        # nobody strong in digital skills: no mentoring item, the route is there
        lonely = self.generate(self.lonely)
        self.assertEqual(self.mentoring_items(lonely), [])
        self.assertTrue(lonely["items"])
        self.assertEqual(s.get(f"/api/v1/staff/{self.lonely['id']}/route").status, 200)

    def test_2_pair_linked_and_completed_marks_done(self):
        s = self.stack
        route = self.generate(self.mentee)
        item = self.mentoring_items(route)[0]
        other = next(i for i in route["items"] if i["kind"] != "mentoring")
        self.assertEqual(s.post(f"/api/v1/staff/{self.mentee['id']}/route/approve").status, 200)
        # the link is checked: format, the mentee's route, kind mentoring — nothing is created
        before = s.count("mentoring-pairs")
        for bad, text in ((f"{self.lonely['id']}-i1", "Пункт маршрута наставляемого"),
                          ("x", "Пункт маршрута наставляемого"),
                          (f"{self.mentee['id']}-i999", "нет такого пункта"),
                          (other["id"], "не наставничество")):
            r = self.pair(bad)
            self.assertEqual(r.status, 400, (bad, r))
            self.assertIn(text, str(r.json), bad)
        r = self.pair(item["id"], mentee=self.lonely)  # an item of another person's route
        self.assertEqual(r.status, 400, r)
        self.assertEqual(s.count("mentoring-pairs"), before)
        # a pair from the proposed item: the item's mentor and competence are taken
        p = self._created(s.post("/api/v1/mentoring-pairs", {
            "programmeId": self.programme["id"], "form": "young_specialist", "menteeStaffId": self.mentee["id"],
            "startsOn": self.today, "routeItemId": item["id"]}))
        self.assertEqual(p["routeItemId"], item["id"])
        self.assertEqual(p["mentorStaffId"], self.strong["id"])
        self.assertEqual(p["competences"], ["t.assess.1"])
        self.assertEqual(p.get("routeItemNote", ""), "")
        r = s.patch(f"/api/v1/mentoring-pairs/{p['id']}", {"routeItemId": f"{self.mentee['id']}-i1"})
        self.assertEqual(r.status, 400, r)  # the link is not changed afterwards
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{p['id']}/activate", {}).status, 200)
        self.assertEqual(self.item(self.mentee, item["id"])["status"], "planned")
        r = s.post(f"/api/v1/mentoring-pairs/{p['id']}/complete",
                   {"outcome": {"result": "Дефицит в оценивании закрыт", "competencesClosed": ["t.assess.1"]}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "completed")
        self.assertIn("отмечен выполненным", r.json["routeItemNote"])
        done = self.item(self.mentee, item["id"])
        self.assertEqual(done["status"], "done")
        self.assertEqual(done["completedOn"], datetime.datetime.now(datetime.timezone.utc).date().isoformat())
        self.assertIn(p["id"], done["evidence"])
        self.assertEqual(done["referenceId"], p["id"])  # the item names the pair that closed it
        # the note is the answer's, not stored
        self.assertEqual(s.get(f"/api/v1/mentoring-pairs/{p['id']}").json.get("routeItemNote", ""), "")
        # a done item cannot be linked again
        r = self.pair(item["id"], mentor=self.ordinary)
        self.assertEqual(r.status, 400, r)
        self.assertIn("уже выполнен", str(r.json))

    def test_3_cancel_leaves_the_item_and_mentoring_down(self):
        s = self.stack
        # a fresh draft route of the lonely person edited to have a mentoring item by hand
        route = self.generate(self.lonely)
        items = [{"id": i["id"], "kind": i["kind"], "competence": i["competence"], "title": i["title"],
                  "dueOn": i["dueOn"]} for i in route["items"]]
        items.append({"kind": "mentoring", "competence": "t.digital.1", "title": "Наставничество по цифре",
                      "dueOn": "2099-01-01", "mentorStaffId": self.ordinary["id"]})
        r = s.patch(f"/api/v1/staff/{self.lonely['id']}/route", {"items": items})
        self.assertEqual(r.status, 200, r)
        item = self.mentoring_items(r.json)[0]
        p = self._created(self.pair(item["id"], mentee=self.lonely, mentor=self.ordinary))
        r = s.post(f"/api/v1/mentoring-pairs/{p['id']}/cancel", {"reason": "Наставник уволился"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.item(self.lonely, item["id"])["status"], "planned")
        # the route not approved: completing the pair says the item was not closed, the pair is completed
        p = self._created(self.pair(item["id"], mentee=self.lonely, mentor=self.ordinary))
        self.assertEqual(s.post(f"/api/v1/mentoring-pairs/{p['id']}/activate", {}).status, 200)
        r = s.post(f"/api/v1/mentoring-pairs/{p['id']}/complete", {"outcome": {"result": "Готово"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "completed")
        self.assertIn("не закрыт", r.json["routeItemNote"])
        self.assertIn("не утверждён", r.json["routeItemNote"])
        self.assertEqual(self.item(self.lonely, item["id"])["status"], "planned")
        # a mentor named on an item of another kind, a bad mentor id: refused
        for bad in ({**items[0], "mentorStaffId": self.ordinary["id"]}, {**items[-1], "mentorStaffId": "x y"}):
            r = s.patch(f"/api/v1/staff/{self.lonely['id']}/route", {"items": [bad]})
            self.assertEqual(r.status, 400, r)
            self.assertIn("Наставник", str(r.json))
        # the mentoring service down: the route is still generated, without a mentoring item
        s.kill9("mentoring")
        try:
            route = self.generate(self.mentee2)
            self.assertEqual(self.mentoring_items(route), [])
            self.assertTrue(route["items"])
        finally:
            s.restart("mentoring")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.mentoring_items(self.generate(self.mentee2)):
                break
            time.sleep(0.5)
        self.assertEqual(len(self.mentoring_items(self.generate(self.mentee2))), 1)
