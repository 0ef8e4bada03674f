"""test_registry_catalogue — associations, memberships, councils, the programme catalogue, qualification
records and the bank of practices end to end over HTTP against a real stack: membership history
(join, leave, re-join), review transitions (illegal ones refused with 409), programme search,
qualification records idempotent by route item, and object-level scope of a methodologist."""

import itertools
import os
import unittest
import urllib.parse

from harness import source_dir, StackTestCase

REGION = "07"
_n = itertools.count(1)


class CatalogueTest(StackTestCase):
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
        cls.org_a = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun_a["id"], "name": "МКОУ СОШ № 3 г.п. Терек", "kind": "school"}))
        cls.org_b = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun_b["id"], "name": "МОУ Старомайнская СШ № 1", "kind": "school"}))
        cls.staff_a = [cls._created(s.post("/api/v1/staff", cls._staff(cls.org_a["id"], i))) for i in range(3)]
        cls.staff_b = cls._created(s.post("/api/v1/staff", cls._staff(cls.org_b["id"], 9)))

    @staticmethod
    def _created(r):
        assert r.status == 201, r
        return r.json

    @staticmethod
    def _staff(org_id, i):
        return {"lastName": f"Кажарова{i}", "firstName": "Мадина", "middleName": "Аслановна",
                "birthDate": "1985-04-12", "professionStartDate": "2007-09-01", "position": "teacher",
                "category": "teacher", "subjects": ["mathematics"], "organizationIds": [org_id]}

    def user_token(self, role, scope_kind, scope_id):
        login = f"user{next(_n)}{os.urandom(3).hex()}"
        password = "Пароль-для-теста-" + os.urandom(4).hex()
        r = self.stack.post("/api/v1/users", {"login": login, "password": password, "fullName": "Проверяющий",
                                              "role": role, "scope": {"kind": scope_kind, "id": scope_id}})
        self.assertEqual(r.status, 201, r)
        return self.stack.login(login, password)

    def ids(self, r):
        self.assertEqual(r.status, 200, r)
        return [item["id"] for item in r.json.get("items", [])]

    # ---- associations and memberships ----

    def make_association(self, **over):
        body = {"name": f"РМО учителей математики {next(_n)}", "kind": "methodological_association",
                "level": "municipal", "municipalityId": self.mun_a["id"], "subject": "mathematics",
                "leaderStaffId": self.staff_a[0]["id"], "network": False}
        body.update(over)
        r = self.stack.post("/api/v1/associations", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def test_membership_history(self):
        a = self.make_association(network=True)
        members = f"/api/v1/associations/{a['id']}/members"
        s1, s2 = self.staff_a[1]["id"], self.staff_a[2]["id"]
        first = self.stack.post(members, {"staffId": s1, "joinedOn": "2023-09-01"})
        self.assertEqual(first.status, 201, first)
        self.assertEqual(first.json["associationId"], a["id"])
        self.assertEqual(first.json["level"], "municipal")
        # an open membership is unique per person and association
        self.assertJsonError(self.stack.post(members, {"staffId": s1, "joinedOn": "2023-10-01"}), 409)
        self.assertEqual(self.stack.post(members, {"staffId": s2, "joinedOn": "2024-01-15"}).status, 201)

        leave = f"{members}/{first.json['id']}/leave"
        self.assertJsonError(self.stack.post(leave, {"leftOn": "2023-09-01"}), 400)  # not after joining
        left = self.stack.post(leave, {"leftOn": "2024-05-31"})
        self.assertEqual(left.status, 200, left)
        self.assertEqual(left.json["leftOn"], "2024-05-31")
        self.assertJsonError(self.stack.post(leave, {"leftOn": "2024-06-30"}), 409)  # already left
        # a re-join is a new record; the old one is kept
        again = self.stack.post(members, {"staffId": s1, "joinedOn": "2024-09-01"})
        self.assertEqual(again.status, 201, again)
        self.assertNotEqual(again.json["id"], first.json["id"])

        every = self.ids(self.stack.get(members))
        self.assertEqual(sorted(every), sorted([first.json["id"], again.json["id"],
                                                self.ids(self.stack.get(members + "?staffId=" + s2))[0]]))
        # members on a date: left_on is the first day outside
        on = lambda d: self.ids(self.stack.get(f"{members}?on={d}"))
        self.assertIn(first.json["id"], on("2024-05-30"))
        self.assertNotIn(first.json["id"], on("2024-05-31"))
        self.assertEqual(len(on("2024-07-01")), 1)  # only s2
        self.assertEqual(len(on("2024-09-01")), 2)
        # members at some time in a period
        period = self.ids(self.stack.get(f"{members}?from=2024-06-01&to=2024-08-31"))
        self.assertEqual(len(period), 1)
        period = self.ids(self.stack.get(f"{members}?from=2024-05-01&to=2024-08-31"))
        self.assertEqual(len(period), 2)
        # a person's memberships, and a membership under another association is not there
        mine = self.ids(self.stack.get(f"/api/v1/staff/{s1}/memberships"))
        self.assertEqual(sorted(mine), sorted([first.json["id"], again.json["id"]]))
        other = self.make_association()
        self.assertJsonError(self.stack.post(f"/api/v1/associations/{other['id']}/members/{again.json['id']}/leave",
                                             {"leftOn": "2025-01-01"}), 404)
        self.assertJsonError(self.stack.get(f"{members}?on=2024-13-01"), 400)
        # history keeps the association
        self.assertJsonError(self.stack.delete(f"/api/v1/associations/{a['id']}"), 409)
        # network associations are listed by the flag
        self.assertIn(a["id"], self.ids(self.stack.get("/api/v1/associations?network=true&limit=500")))
        self.assertNotIn(other["id"], self.ids(self.stack.get("/api/v1/associations?network=true&limit=500")))

    def test_unique_values_of_an_older_store_become_claims(self):
        """A store written before the service kit kept one open membership per person and one record per
        route item as single-member sorted sets; ops/migrate/unique_to_claims.lua (run by ./ops/up) turns
        them into claims, and the rules hold on the migrated records."""
        a = self.make_association()
        members = f"/api/v1/associations/{a['id']}/members"
        person = self.staff_a[0]["id"]
        joined = self.stack.post(members, {"staffId": person, "joinedOn": "2023-09-01"})
        self.assertEqual(joined.status, 201, joined)
        prog = self.stack.post("/api/v1/programmes", {"title": "Миграция хранилища", "provider": "ЦНППМ",
                                                      "hours": 36, "format": "distance"})
        item = f"07-ri{next(_n)}"
        record = self.stack.post("/api/v1/qualification-records", {
            "staffId": person, "programmeId": prog.json["id"], "completedOn": "2024-04-20", "source": "route",
            "routeItemId": item})
        self.assertEqual(record.status, 201, record)
        # the previous layout: no claims, a one-member index per unique value
        pair = f"{a['id']}:{person}"
        self.stack.redis_cli("HDEL", "reg:{r:07}:claim:member:associationStaff", pair)
        self.stack.redis_cli("HDEL", "reg:{r:07}:claim:qual:routeItemId", item)
        self.stack.redis_cli("ZADD", f"reg:{{r:07}}:ix:member:active:{pair}", "0", joined.json["id"])
        self.stack.redis_cli("ZADD", f"reg:{{r:07}}:ix:qual:route:{item}", "0", record.json["id"])
        with open(os.path.join(source_dir(), "ops", "migrate", "unique_to_claims.lua"), encoding="utf-8") as f:
            script = f.read()
        # and auth's login index (the administrator's login as an older store kept it)
        login = self.stack.admin_login
        owner = self.stack.redis_cli("HGET", "auth:{g}:claim:user:login", login).stdout.strip()
        self.assertTrue(owner, "the login is a claim")
        self.stack.redis_cli("HDEL", "auth:{g}:claim:user:login", login)
        self.stack.redis_cli("ZADD", f"auth:{{g}}:login:{login}", "0", owner)
        moved = self.stack.redis_cli("EVAL", script, "0")
        self.assertEqual(moved.returncode, 0, moved.stderr)
        self.assertEqual(moved.stdout.split(), ["1", "1", "1"])
        self.assertEqual(self.stack.redis_cli("HGET", "auth:{g}:claim:user:login", login).stdout.strip(), owner)
        self.stack.login(login, self.stack.admin_password)  # the migrated login finds its user
        self.assertEqual(self.stack.redis_cli("EXISTS", f"reg:{{r:07}}:ix:member:active:{pair}").stdout.strip(), "0")
        self.assertEqual(self.stack.redis_cli("HGET", "reg:{r:07}:claim:member:associationStaff", pair).stdout.strip(),
                         joined.json["id"])
        again = self.stack.redis_cli("EVAL", script, "0")  # done once: the store is marked
        self.assertEqual(again.stdout.split(), ["0", "0", "0"])
        self.assertEqual(self.stack.redis_cli("EXISTS", "ops:{g}:migrated:unique_to_claims").stdout.strip(), "1")
        # the migrated values hold: a second open membership is refused, the same route item answers its record
        self.assertJsonError(self.stack.post(members, {"staffId": person, "joinedOn": "2023-10-01"}), 409)
        same = self.stack.post("/api/v1/qualification-records", {
            "staffId": person, "programmeId": prog.json["id"], "completedOn": "2024-04-20", "source": "route",
            "routeItemId": item})
        self.assertEqual(same.json.get("id"), record.json["id"], same)
        # and leaving frees the migrated claim: a re-join is a new record
        left = self.stack.post(f"{members}/{joined.json['id']}/leave", {"leftOn": "2024-05-31"})
        self.assertEqual(left.status, 200, left)
        self.assertEqual(self.stack.redis_cli("HGET", "reg:{r:07}:claim:member:associationStaff", pair).stdout.strip(),
                         "")
        self.assertEqual(self.stack.post(members, {"staffId": person, "joinedOn": "2024-09-01"}).status, 201)

    def test_association_home_is_consistent(self):
        r = self.stack.post("/api/v1/associations", {"name": "ШМО", "kind": "methodological_association",
                                                     "level": "institutional", "subject": "mathematics"})
        err = self.assertJsonError(r, 400)
        self.assertIn("organizationId", [d.get("field") for d in err["details"]])
        r = self.stack.post("/api/v1/associations", {"name": "РМО", "kind": "methodological_association",
                                                     "level": "municipal", "municipalityId": self.mun_a["id"],
                                                     "organizationId": self.org_a["id"], "theme": "ФГОС"})
        self.assertJsonError(r, 400)
        school = self.make_association(level="institutional", municipalityId="", organizationId=self.org_a["id"],
                                       name="ШМО учителей математики")
        self.assertEqual(school["municipalityId"], self.mun_a["id"])  # derived from the organization

    def test_scope_of_a_methodologist(self):
        school = self.make_association(level="institutional", municipalityId="", organizationId=self.org_a["id"],
                                       name="ШМО начальных классов", subject="", theme="Начальная школа")
        theirs = self.user_token("municipal_methodologist", "municipality", self.mun_b["id"])
        ours = self.user_token("municipal_methodologist", "municipality", self.mun_a["id"])
        # a methodologist of another municipality does not learn the association exists
        self.assertJsonError(self.stack.get(f"/api/v1/associations/{school['id']}", token=theirs), 404)
        listed = self.ids(self.stack.get("/api/v1/associations?limit=500", token=theirs))
        self.assertNotIn(school["id"], listed)
        self.assertEqual(self.stack.get(f"/api/v1/associations/{school['id']}", token=ours).status, 200)
        # the municipality's own associations are written by its methodologists, not by others
        body = {"name": "РМО учителей физики", "kind": "methodological_association", "level": "municipal",
                "municipalityId": self.mun_a["id"], "subject": "physics"}
        self.assertEqual(self.stack.post("/api/v1/associations", body, token=ours).status, 201)
        self.assertJsonError(self.stack.post("/api/v1/associations", body, token=theirs), 403)
        # a regional association is read by everyone in the region, written by the region only
        regional = self.make_association(level="regional", municipalityId="", name="Региональное сообщество",
                                         kind="network_community", network=True, subject="", theme="Цифровая школа",
                                         leaderStaffId="")
        self.assertEqual(self.stack.get(f"/api/v1/associations/{regional['id']}", token=theirs).status, 200)
        self.assertJsonError(self.stack.patch(f"/api/v1/associations/{regional['id']}", {"theme": "Другая"},
                                              token=theirs), 403)
        # members from another municipality's school are not visible to take in
        self.assertJsonError(self.stack.post(f"/api/v1/associations/{school['id']}/members",
                                             {"staffId": self.staff_b["id"], "joinedOn": "2024-09-01"}, token=ours), 400)

    # ---- councils ----

    def test_council_and_meetings(self):
        council = self.stack.post("/api/v1/councils", {
            "name": "Муниципальный методический совет", "level": "municipal", "municipalityId": self.mun_a["id"],
            "chairStaffId": self.staff_a[0]["id"], "deputyStaffId": self.staff_a[1]["id"],
            "secretaryStaffId": self.staff_a[2]["id"], "memberStaffIds": [self.staff_a[1]["id"]],
            "approvedBy": "постановление администрации № 12"})
        self.assertEqual(council.status, 201, council)
        # 001 п.10: a council of every level, the region's too
        regional = self.stack.post("/api/v1/councils", {
            "name": "Региональный методический совет", "level": "regional", "regionId": REGION,
            "chairStaffId": self.staff_a[0]["id"],
            "externalMembers": [{"fullName": "Кочесокова Зарема Хасановна", "affiliation": "КБГУ",
                                 "role": "эксперт"}]})
        self.assertEqual(regional.status, 201, regional)
        self.assertEqual(regional.json["externalMembers"][0]["fullName"], "Кочесокова Зарема Хасановна")
        same = self.stack.post("/api/v1/councils", {
            "name": "Совет", "level": "municipal", "municipalityId": self.mun_a["id"],
            "chairStaffId": self.staff_a[0]["id"], "secretaryStaffId": self.staff_a[0]["id"]})
        self.assertJsonError(same, 400)
        meetings = f"/api/v1/councils/{council.json['id']}/meetings"
        m = self.stack.post(meetings, {"heldOn": "2024-10-15", "agenda": [
            {"title": "Итоги диагностики профессиональных дефицитов", "speakerStaffId": self.staff_a[0]["id"],
             "decision": "Утвердить план адресной помощи"}],
            "attendeeStaffIds": [self.staff_a[0]["id"], self.staff_a[1]["id"]],
            "invited": ["Представитель Управления образования"], "decisions": "Протокол № 2", "minutesNumber": "2"})
        self.assertEqual(m.status, 201, m)
        self.assertEqual(m.json["councilId"], council.json["id"])
        self.assertJsonError(self.stack.post(meetings, {"heldOn": "2024-11-15", "agenda": []}), 400)
        self.assertEqual(self.ids(self.stack.get(meetings + "?from=2024-10-01&to=2024-10-31")), [m.json["id"]])
        self.assertEqual(self.ids(self.stack.get(meetings + "?from=2024-11-01")), [])
        p = self.stack.patch(f"/api/v1/council-meetings/{m.json['id']}", {"decisions": "Протокол № 2, исправлен"})
        self.assertEqual(p.status, 200, p)
        self.assertJsonError(self.stack.delete(f"/api/v1/councils/{council.json['id']}"), 409)
        self.assertEqual(self.stack.delete(f"/api/v1/council-meetings/{m.json['id']}").status, 200)
        self.assertEqual(self.stack.delete(f"/api/v1/councils/{council.json['id']}").status, 200)

    # ---- programmes ----

    def test_programme_search(self):
        def make(title, **over):
            body = {"title": title, "provider": "ЦНППМ КБР", "hours": 72, "format": "blended",
                    "federalRegistry": False, "competences": ["assessment.formative"], "tags": []}
            body.update(over)
            r = self.stack.post("/api/v1/programmes", body)
            self.assertEqual(r.status, 201, r)
            return r.json["id"]

        tag = f"управление качеством образования {next(_n)}"
        p1 = make("Управление качеством образования в школе", federalRegistry=True, tags=[tag],
                  competences=["management.quality"])
        p2 = make("Формирующее оценивание: качество и качественные методики")  # two words share a prefix
        p3 = make("Цифровые инструменты учителя", competences=["digital.tools"], format="distance")
        q = lambda text, **f: self.ids(self.stack.get("/api/v1/programmes?" + urllib.parse.urlencode(
            {"q": text, "limit": 500, **f})))
        found = q("качеств")
        self.assertIn(p1, found)
        self.assertIn(p2, found)
        self.assertNotIn(p3, found)
        self.assertEqual(found.count(p2), 1)  # listed once although two title words match
        self.assertEqual([i for i in q("качеством управление") if i in (p1, p2, p3)], [p1])
        self.assertEqual([i for i in q("цифр") if i in (p1, p2, p3)], [p3])
        # paging through a word search never repeats an item
        seen, cursor = [], None
        while True:
            params = {"q": "качеств", "limit": 1}
            if cursor:
                params["cursor"] = cursor
            r = self.stack.get("/api/v1/programmes?" + urllib.parse.urlencode(params))
            self.assertEqual(r.status, 200, r)
            seen += [i["id"] for i in r.json["items"]]
            cursor = r.json.get("nextCursor")
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertIn(p2, seen)
        lst = lambda **f: self.ids(self.stack.get("/api/v1/programmes?" + urllib.parse.urlencode({"limit": 500, **f})))
        self.assertEqual([i for i in lst(competence="digital.tools") if i in (p1, p2, p3)], [p3])
        self.assertEqual(lst(tag=tag.upper()), [p1])
        self.assertIn(p1, lst(federalRegistry="true"))
        self.assertNotIn(p2, lst(federalRegistry="true"))
        self.assertJsonError(self.stack.post("/api/v1/programmes", {"title": "Короткая", "provider": "ИРО",
                                                                    "hours": 8, "format": "distance"}), 400)
        # everyone in the region reads the catalogue; only the region writes it
        teacher_school = self.user_token("school_admin", "organization", self.org_b["id"])
        self.assertEqual(self.stack.get(f"/api/v1/programmes/{p3}", token=teacher_school).status, 200)
        self.assertIn(p3, self.ids(self.stack.get("/api/v1/programmes?limit=500", token=teacher_school)))
        self.assertJsonError(self.stack.patch(f"/api/v1/programmes/{p3}", {"hours": 36}, token=teacher_school), 403)

    # ---- qualification records ----

    def test_qualification_record_idempotent_by_route_item(self):
        prog = self.stack.post("/api/v1/programmes", {"title": "Наставничество в школе", "provider": "ЦНППМ",
                                                      "hours": 36, "format": "distance"})
        self.assertEqual(prog.status, 201, prog)
        staff = self.staff_a[1]["id"]
        body = {"staffId": staff, "programmeId": prog.json["id"], "completedOn": "2024-04-20",
                "documentNumber": "КБР-000123", "source": "route", "routeItemId": f"07-ri{next(_n)}"}
        first = self.stack.post("/api/v1/qualification-records", body)
        self.assertEqual(first.status, 201, first)
        self.assertEqual(first.json["programmeTitle"], "Наставничество в школе")
        self.assertEqual(first.json["hours"], 36)
        self.assertEqual(first.json["organizationIds"], [self.org_a["id"]])
        self.assertEqual(first.json["municipalityIds"], [self.mun_a["id"]])
        again = self.stack.post("/api/v1/qualification-records", body)
        self.assertIn(again.status, (200, 201), again)
        self.assertEqual(again.json["id"], first.json["id"])
        self.assertEqual(again.json["version"], first.json["version"])
        other = dict(body, staffId=self.staff_a[2]["id"])
        self.assertJsonError(self.stack.post("/api/v1/qualification-records", other), 409)
        listed = self.ids(self.stack.get(f"/api/v1/staff/{staff}/qualification-records"))
        self.assertEqual(listed.count(first.json["id"]), 1)
        # the programme with records is kept, the person too
        self.assertJsonError(self.stack.delete(f"/api/v1/programmes/{prog.json['id']}"), 409)
        self.assertJsonError(self.stack.delete(f"/api/v1/staff/{staff}"), 409)
        self.assertJsonError(self.stack.post("/api/v1/qualification-records", {
            "staffId": staff, "completedOn": "2099-01-01", "programmeTitle": "Будущее", "hours": 10}), 400)
        theirs = self.user_token("municipal_methodologist", "municipality", self.mun_b["id"])
        self.assertJsonError(self.stack.get(f"/api/v1/qualification-records/{first.json['id']}", token=theirs), 404)
        self.assertEqual(self.stack.delete(f"/api/v1/qualification-records/{first.json['id']}").status, 200)
        self.assertEqual(self.ids(self.stack.get(f"/api/v1/staff/{staff}/qualification-records")).count(
            first.json["id"]), 0)

    # ---- practices ----

    def test_practice_review_flow(self):
        author = self.staff_a[2]["id"]
        r = self.stack.post("/api/v1/practices", {
            "title": "Смысловое чтение на уроках математики", "authorStaffId": author, "subject": "mathematics",
            "competences": ["methodical.reading"], "description": "Приёмы работы с текстом задачи",
            "attachments": ["https://example.org/practice.pdf"], "status": "published"})
        self.assertEqual(r.status, 201, r)
        p = r.json
        self.assertEqual(p["status"], "submitted")  # the client does not choose the status
        self.assertEqual(p["organizationId"], self.org_a["id"])
        review = f"/api/v1/practices/{p['id']}/review"
        err = self.assertJsonError(self.stack.post(review, {"action": "publish"}), 409)
        self.assertIn("подана", err["message"])
        self.assertEqual(self.stack.post(review, {"action": "start"}).json["status"], "under_review")
        self.assertJsonError(self.stack.post(review, {"action": "start"}), 409)
        self.assertJsonError(self.stack.patch(f"/api/v1/practices/{p['id']}", {"title": "Новое"}), 409)
        self.assertJsonError(self.stack.post(review, {"action": "reject"}), 400)  # a reason is required
        self.assertJsonError(self.stack.post(review, {"action": "approve"}), 400)
        rejected = self.stack.post(review, {"action": "reject", "comment": "Добавьте результаты"})
        self.assertEqual(rejected.json["status"], "rejected", rejected)
        self.assertJsonError(self.stack.post(review, {"action": "publish"}), 409)
        self.assertEqual(self.stack.patch(f"/api/v1/practices/{p['id']}",
                                          {"description": "Приёмы и результаты"}).status, 200)
        self.assertEqual(self.stack.post(review, {"action": "resubmit"}).json["status"], "submitted")
        self.stack.post(review, {"action": "start"})
        published = self.stack.post(review, {"action": "publish", "comment": "Рекомендована"})
        self.assertEqual(published.json["status"], "published", published)
        self.assertTrue(published.json["publishedAt"])
        self.assertEqual([x["action"] for x in published.json["reviews"]],
                         ["start", "reject", "resubmit", "start", "publish"])
        self.assertJsonError(self.stack.post(review, {"action": "reject", "comment": "поздно"}), 409)
        # search of published practices; the bank is open to the region
        other_school = self.user_token("school_admin", "organization", self.org_b["id"])
        found = self.ids(self.stack.get("/api/v1/practices?" + urllib.parse.urlencode(
            {"q": "чтение", "status": "published", "subject": "mathematics"}), token=other_school))
        self.assertEqual(found, [p["id"]])
        # a school administrator is not a reviewer
        draft = self.stack.post("/api/v1/practices", {"title": "Черновик", "authorStaffId": self.staff_b["id"],
                                                      "description": "Описание"}, token=other_school)
        self.assertEqual(draft.status, 201, draft)
        self.assertJsonError(self.stack.post(f"/api/v1/practices/{draft.json['id']}/review", {"action": "start"},
                                             token=other_school), 403)
        theirs = self.user_token("municipal_methodologist", "municipality", self.mun_a["id"])
        self.assertJsonError(self.stack.get(f"/api/v1/practices/{draft.json['id']}", token=theirs), 404)
        bad = self.stack.post("/api/v1/practices", {"title": "Ссылки", "authorStaffId": author, "description": "x",
                                                    "attachments": ["ftp://example.org/x"]})
        self.assertJsonError(bad, 400)
        many = self.stack.post("/api/v1/practices", {"title": "Ссылки", "authorStaffId": author, "description": "x",
                                                     "attachments": [f"https://e.org/{i}" for i in range(11)]})
        self.assertJsonError(many, 400)

    # ---- sites ----

    def test_sites_and_low_results_support(self):
        org = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": f"МКОУ СОШ № {next(_n)} с. Верхний Акбаш", "kind": "school",
            "lowResults": True, "lowResultsSupport": "Программа перехода в эффективный режим",
            "curatorOrganizationId": self.org_a["id"],
            "sites": [{"kind": "internship", "startDate": "2023-09-01", "endDate": "2024-08-31", "theme": "ФГОС"}]})
        self.assertEqual(org.status, 201, org)
        bad = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": "Школа", "kind": "school", "lowResults": False,
            "lowResultsSupport": "План"})
        self.assertJsonError(bad, 400)
        sites = lambda **f: self.ids(self.stack.get("/api/v1/organizations?" + urllib.parse.urlencode(
            {"limit": 500, **f})))
        self.assertIn(org.json["id"], sites(siteKind="internship", siteOn="2024-01-10"))
        self.assertNotIn(org.json["id"], sites(siteKind="internship", siteOn="2024-09-01"))
        self.assertNotIn(org.json["id"], sites(siteKind="base", siteOn="2024-01-10"))
        self.assertEqual(sites(curatorOrganizationId=self.org_a["id"]), [org.json["id"]])
        self.assertJsonError(self.stack.delete(f"/api/v1/organizations/{self.org_a['id']}"), 409)

    def test_municipal_programmes_and_qualification_kinds(self):
        # 000 §3.3 п.2: a municipality writes its own programmes into the region's catalogue
        mine = self.user_token("municipal_methodologist", "municipality", self.mun_a["id"])
        theirs = self.user_token("municipal_methodologist", "municipality", self.mun_b["id"])
        body = {"municipalityId": self.mun_a["id"], "title": f"Школа молодого педагога {next(_n)}",
                "provider": "ИМЦ Терского района", "hours": 18, "format": "in_person"}
        own = self.stack.post("/api/v1/programmes", body, token=mine)
        self.assertEqual(own.status, 201, own)
        self.assertEqual(own.json["regionId"], REGION)  # from the municipality
        self.assertJsonError(self.stack.post("/api/v1/programmes", dict(body, municipalityId=self.mun_b["id"]),
                                             token=mine), 403)
        self.assertJsonError(self.stack.post("/api/v1/programmes", {"regionId": REGION, "title": "Региональная",
                                                                    "provider": "ЦНППМ", "hours": 36,
                                                                    "format": "distance"}, token=mine), 403)
        self.assertEqual(self.stack.get(f"/api/v1/programmes/{own.json['id']}", token=theirs).status, 200)
        self.assertJsonError(self.stack.patch(f"/api/v1/programmes/{own.json['id']}", {"hours": 20},
                                              token=theirs), 403)
        r = self.stack.patch(f"/api/v1/programmes/{own.json['id']}", {"hours": 24}, token=mine)
        self.assertEqual(r.status, 200, r)
        listed = self.ids(self.stack.get(f"/api/v1/programmes?municipalityId={self.mun_a['id']}&limit=500"))
        self.assertEqual(listed, [own.json["id"]])
        # 002 разд.7: kinds of qualification records, provider and start of a programme outside the catalogue
        person = self.staff_a[1]["id"]
        rec = lambda **f: self.stack.post("/api/v1/qualification-records", {"staffId": person, **f})
        plain = rec(programmeTitle="Цифровая образовательная среда", hours=36, completedOn="2025-03-01")
        self.assertEqual(plain.status, 201, plain)
        self.assertEqual(plain.json["kind"], "advanced_training")  # the default
        retraining = rec(kind="retraining", programmeTitle="Педагогическое образование: учитель информатики",
                         provider="КБГУ", startedOn="2024-09-01", completedOn="2025-05-30", hours=520,
                         documentNumber="072400012345")
        self.assertEqual(retraining.status, 201, retraining)
        self.assertEqual(retraining.json["provider"], "КБГУ")
        degree = rec(kind="higher_education", programmeTitle="Магистратура «Менеджмент в образовании»",
                     provider="КБГУ", completedOn="2024-07-01")
        self.assertEqual(degree.status, 201, degree)  # a degree needs no hours
        catalogue = rec(programmeId=own.json["id"], completedOn="2025-04-01")
        self.assertEqual(catalogue.json["provider"], "ИМЦ Терского района", catalogue)  # from the catalogue
        for bad, field in ((dict(kind="retraining", programmeTitle="Коротко", hours=72, completedOn="2025-01-01"),
                            "hours"),
                           (dict(programmeTitle="Курс", hours=36, startedOn="2025-02-01", completedOn="2025-01-01"),
                            "startedOn"),
                           (dict(kind="doctorate", programmeTitle="Курс", hours=36, completedOn="2025-01-01"),
                            "kind")):
            r = rec(**bad)
            self.assertJsonError(r, 400)
            self.assertIn(field, str(r.json), r)
        by_kind = self.ids(self.stack.get(f"/api/v1/staff/{person}/qualification-records?kind=retraining"))
        self.assertEqual(by_kind, [retraining.json["id"]])

    def test_staff_attestation_history_and_reserve(self):
        base = dict(self._staff(self.org_a["id"], 70), qualificationCategory="first",
                    qualificationCategoryDate="2022-12-20",
                    employment=[{"organizationId": self.org_b["id"], "position": "teacher", "from": "2007-09-01",
                                 "to": "2015-08-31"},
                                {"organizationId": self.org_a["id"], "position": "teacher", "from": "2015-09-01"}])
        made = self.stack.post("/api/v1/staff", base)
        self.assertEqual(made.status, 201, made)
        self.assertEqual(made.json["nextAttestationDue"], "2027-12-20")  # a category is set for five years
        self.assertEqual(len(made.json["employment"]), 2)
        self.assertEqual(made.json["employment"][1]["to"], "")
        head = self.stack.post("/api/v1/staff", dict(self._staff(self.org_a["id"], 71), category="manager",
                                                     position="director", appointedOn="2024-08-15",
                                                     personnelReserve=False))
        self.assertEqual(head.status, 201, head)
        reserve = self.stack.post("/api/v1/staff", dict(self._staff(self.org_a["id"], 72), personnelReserve=True))
        self.assertEqual(reserve.status, 201, reserve)
        listed = lambda **f: self.ids(self.stack.get("/api/v1/staff?" + urllib.parse.urlencode(
            {"limit": 500, "organizationId": self.org_a["id"], **f})))
        self.assertIn(reserve.json["id"], listed(personnelReserve="true"))
        self.assertNotIn(head.json["id"], listed(personnelReserve="true"))
        self.assertIn(head.json["id"], listed(personnelReserve="false"))
        self.assertIn(made.json["id"], listed(attestationDueBefore="2027-12-31"))
        self.assertNotIn(made.json["id"], listed(attestationDueBefore="2027-12-19"))
        self.assertNotIn(reserve.json["id"], listed(attestationDueBefore="2099-01-01"))  # no category date
        self.assertJsonError(self.stack.get("/api/v1/staff?attestationDueBefore=2027-13-45"), 400)
        # the category changes: the due date follows
        r = self.stack.patch(f"/api/v1/staff/{made.json['id']}", {"qualificationCategory": "highest",
                                                                  "qualificationCategoryDate": "2024-02-29"},
                             headers={"If-Match": f'"{made.json["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["nextAttestationDue"], "2029-02-28")
        for bad, field in (({"qualificationCategory": "none", "qualificationCategoryDate": "2022-01-01"},
                            "qualificationCategoryDate"),
                           ({"appointedOn": "2020-01-01"}, "appointedOn"),
                           ({"employment": [{"organizationId": self.org_a["id"], "position": "teacher",
                                             "from": "2020-01-01", "to": "2019-01-01"}]}, "employment[0].to"),
                           ({"employment": [{"organizationId": "школа", "position": "teacher",
                                             "from": "2020-01-01"}]}, "employment[0].organizationId"),
                           ({"employment": [{"organizationId": self.org_a["id"], "from": "2020-01-01"}]},
                            "employment[0].position")):
            bad_r = self.stack.post("/api/v1/staff", dict(self._staff(self.org_a["id"], 73), **bad))
            self.assertJsonError(bad_r, 400)
            self.assertIn(field, str(bad_r.json), bad_r)
        # nextAttestationDue is the system's: a client's value is ignored
        r = self.stack.post("/api/v1/staff", dict(self._staff(self.org_a["id"], 74), nextAttestationDue="2030-01-01"))
        self.assertEqual(r.json["nextAttestationDue"], "", r)

    def test_association_life(self):
        # the seeds' kinds, several subjects, the founding decision, the closing date, plans and reports,
        # members from outside the registry; "network" said one way
        lab = self.make_association(kind="research_laboratory", name=f"Лаборатория {next(_n)}", subject="",
                                    subjects=["mathematics", "physics"], foundedOrder="Приказ № 112-ОД",
                                    foundedOn="2023-09-01",
                                    years=[{"year": 2024, "plan": "План на 2024/25", "report": "Отчёт за 2024/25"}],
                                    externalMembers=[{"fullName": "Шогенов Аслан Мухамедович",
                                                      "affiliation": "КБГУ", "role": "научный руководитель"}])
        self.assertEqual(lab["subject"], "mathematics")  # the first of subjects, for older clients
        self.assertEqual(lab["subjects"], ["mathematics", "physics"])
        self.assertEqual(lab["externalMembers"][0]["affiliation"], "КБГУ")
        by_subject = lambda s: self.ids(self.stack.get(f"/api/v1/associations?subject={s}&limit=500"))
        self.assertIn(lab["id"], by_subject("physics"))
        legacy = self.make_association(kind="network_community", network=False, name=f"Сеть {next(_n)}")
        self.assertEqual((legacy["kind"], legacy["network"]), ("professional_community", True))
        # an older client changes subject: subjects follow
        r = self.stack.patch(f"/api/v1/associations/{legacy['id']}", {"subject": "chemistry"},
                             headers={"If-Match": f'"{legacy["version"]}"'})
        self.assertEqual((r.json["subject"], r.json["subjects"]), ("chemistry", ["chemistry"]), r)
        r = self.stack.patch(f"/api/v1/associations/{lab['id']}", {"closedOn": "2025-06-01"},
                             headers={"If-Match": f'"{lab["version"]}"'})
        self.assertEqual(r.status, 200, r)
        active = lambda day: self.ids(self.stack.get(f"/api/v1/associations?activeOn={day}&limit=500"))
        self.assertIn(lab["id"], active("2024-10-01"))
        self.assertNotIn(lab["id"], active("2023-08-31"))  # not founded yet
        self.assertNotIn(lab["id"], active("2025-06-01"))  # closed: the first day it no longer works
        for bad, field in (({"closedOn": "2023-01-01"}, "closedOn"),
                           ({"years": [{"year": 1990}]}, "years[0].year"),
                           ({"years": [{"year": 2024}, {"year": 2024}]}, "years[1].year"),
                           ({"externalMembers": [{"affiliation": "КБГУ"}]}, "externalMembers[0].fullName"),
                           ({"subjects": ["mathematics", "mathematics"]}, "subjects[1]"),
                           ({"subjects": ["astrology"]}, "subjects[0]")):
            r2 = self.stack.patch(f"/api/v1/associations/{lab['id']}", bad,
                                  headers={"If-Match": f'"{r.json["version"]}"'})
            self.assertJsonError(r2, 400)
            self.assertIn(field, str(r2.json), r2)

    def test_meeting_planned_then_held_with_quorum_and_votes(self):
        a0, a1, a2 = (s["id"] for s in self.staff_a)
        council = self._created(self.stack.post("/api/v1/councils", {
            "name": f"Методический совет школы {next(_n)}", "level": "institutional",
            "organizationId": self.org_a["id"], "chairStaffId": a0, "secretaryStaffId": a1, "memberStaffIds": [a2],
            "years": [{"year": 2025, "plan": "Август: анализ; ноябрь: диагностика; март: итоги"}]}))
        meetings = f"/api/v1/councils/{council['id']}/meetings"
        # 004 §2.5: the secretary prepares the agenda and the documents of a planned meeting
        planned = self.stack.post(meetings, {"heldOn": "2099-03-20", "agenda": [{"title": "Итоги диагностики"}],
                                             "documents": [{"title": "Справка по итогам диагностики",
                                                            "url": "https://imc.example.ru/spravka.pdf"}]})
        self.assertEqual(planned.status, 201, planned)
        self.assertEqual(planned.json["status"], "planned")  # a day ahead: planned
        for bad, field in (({"minutesNumber": "1"}, "minutesNumber"),
                           ({"agenda": [{"title": "Итоги", "decision": "Принять", "votesFor": 2}]}, "votesFor"),
                           ({"status": "held"}, "heldOn")):
            r = self.stack.patch(f"/api/v1/council-meetings/{planned.json['id']}", bad,
                                 headers={"If-Match": f'"{planned.json["version"]}"'})
            self.assertJsonError(r, 400)
            self.assertIn(field, str(r.json), r)
        self.assertIn(planned.json["id"], self.ids(self.stack.get(f"{meetings}?status=planned")))
        held = self._created(self.stack.post(meetings, {
            "heldOn": "2025-03-20", "status": "held", "minutesNumber": "3", "attendeeStaffIds": [a0, a1],
            "agenda": [{"title": "Итоги диагностики", "decision": "Утвердить план", "votesFor": 2}]}))
        self.assertEqual((held["membersPresent"], held["membersTotal"], held["quorum"]), (2, 3, True))
        thin = self._created(self.stack.post(meetings, {"heldOn": "2025-04-20", "minutesNumber": "4",
                                                       "attendeeStaffIds": [a2], "agenda": [{"title": "Разное"}]}))
        self.assertEqual((thin["status"], thin["quorum"]), ("held", False))
        # numbered minutes: a number once per council
        dup = self.stack.post(meetings, {"heldOn": "2025-05-20", "minutesNumber": "3", "agenda": [{"title": "Х"}]})
        self.assertJsonError(dup, 409)
        self.assertIn("номером", dup.json["error"]["message"])
        too_many = self.stack.patch(f"/api/v1/council-meetings/{held['id']}", {
            "agenda": [{"title": "Итоги", "decision": "Принять", "votesFor": 2, "votesAgainst": 1}]},
            headers={"If-Match": f'"{held["version"]}"'})
        self.assertJsonError(too_many, 400)
        back = self.stack.patch(f"/api/v1/council-meetings/{held['id']}", {"status": "planned"},
                                headers={"If-Match": f'"{held["version"]}"'})
        self.assertJsonError(back, 400)

    def test_meeting_protocol_printable_html(self):
        """004 §2.5–2.6, 001 п.10: the minutes of a held meeting as a printable page, signed; a planned one has none."""
        a0, a1, a2 = (s["id"] for s in self.staff_a)
        council = self._created(self.stack.post("/api/v1/councils", {
            "name": f"Совет <b>«Альфа»</b> & Co {next(_n)}", "level": "municipal",
            "municipalityId": self.mun_a["id"], "chairStaffId": a0, "secretaryStaffId": a1, "memberStaffIds": [a2],
            "externalMembers": [{"fullName": "Кодзоков А. <script>", "affiliation": "КБГУ", "role": "эксперт"}]}))
        meetings = f"/api/v1/councils/{council['id']}/meetings"
        planned = self._created(self.stack.post(meetings, {"heldOn": "2099-03-20", "agenda": [{"title": "План"}]}))
        r = self.stack.get(f"/api/v1/council-meetings/{planned['id']}/protocol")
        self.assertJsonError(r, 409)
        self.assertIn("ещё не проведено", r.json["error"]["message"])
        for bad, field in (({"chairName": "Иванова И. И."}, "chairName"), ({"signedOn": "2025-03-21"}, "signedOn")):
            r = self.stack.patch(f"/api/v1/council-meetings/{planned['id']}", bad,
                                 headers={"If-Match": f'"{planned["version"]}"'})
            self.assertJsonError(r, 400)
            self.assertIn(field, str(r.json), r)
        bad = self.stack.post(meetings, {"heldOn": "2025-03-20", "signedOn": "2025-03-19", "agenda": [{"title": "Х"}]})
        self.assertJsonError(bad, 400)
        self.assertIn("signedOn", str(bad.json))
        held = self._created(self.stack.post(meetings, {
            "heldOn": "2025-03-20", "minutesNumber": "7/25", "place": "ИМЦ, ауд. 12 & онлайн",
            "attendeeStaffIds": [a0, a1],
            "agenda": [{"title": "Итоги <диагностики>", "decision": "Утвердить план \"А\"", "votesFor": 1,
                        "votesAgainst": 0, "votesAbstained": 1},
                       {"title": "Разное"}],
            "chairName": "Иванова И. И.", "secretaryName": "Петров П. <П.>", "signedOn": "2025-03-21"}))
        self.assertEqual((held["place"], held["signedOn"]), ("ИМЦ, ауд. 12 & онлайн", "2025-03-21"))
        for text, due in (("Провести семинар <для> учителей", "2025-05-01"), ("Подготовить справку", "2025-06-15")):
            self._created(self.stack.post("/api/v1/council-decisions", {
                "councilId": council["id"], "meetingId": held["id"], "kind": "decision", "text": text,
                "addressee": "МКОУ СОШ № 3 & ИМЦ", "dueOn": due}))
        r = self.stack.get(f"/api/v1/council-meetings/{held['id']}/protocol")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type", "").startswith("text/html"), r.header("content-type", ""))
        page = r.body.decode("utf-8")
        for part in ("ПРОТОКОЛ № 7/25", "Совет &lt;b&gt;«Альфа»&lt;/b&gt; &amp; Co", "муниципальный", "20.03.2025",
                     "ИМЦ, ауд. 12 &amp; онлайн", "2 из 3 членов совета", "Кворум</th><td>есть",
                     "Кодзоков А. &lt;script&gt; (КБГУ) — эксперт", "Итоги &lt;диагностики&gt;",
                     "Утвердить план &quot;А&quot;",
                     "<td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">1</td>",
                     "Провести семинар &lt;для&gt; учителей", "МКОУ СОШ № 3 &amp; ИМЦ", "01.05.2025", "15.06.2025",
                     "Председатель", "Иванова И. И.", "Петров П. &lt;П.&gt;", "21.03.2025", "size:A4"):
            self.assertIn(part, page)
        self.assertNotIn("<script>", page)
        self.assertNotIn("<диагностики>", page)
        self.assertLess(page.index("Провести семинар"), page.index("Подготовить справку"))
        # a meeting without quorum says so; another district's methodologist does not read it
        thin = self._created(self.stack.post(meetings, {"heldOn": "2025-04-20", "attendeeStaffIds": [a2],
                                                       "agenda": [{"title": "Разное"}]}))
        page = self.stack.get(f"/api/v1/council-meetings/{thin['id']}/protocol").body.decode("utf-8")
        self.assertIn("Кворум</th><td>нет", page)
        self.assertIn("Поручений по итогам заседания не записано", page)
        other = self.user_token("municipal_methodologist", "municipality", self.mun_b["id"])
        self.assertJsonError(self.stack.get(f"/api/v1/council-meetings/{held['id']}/protocol", token=other), 404)
        self.assertJsonError(self.stack.get("/api/v1/council-meetings/07-k999999/protocol"), 404)

    def test_practice_authors_panel_and_uptake(self):
        a0, a1, a2 = (s["id"] for s in self.staff_a)
        p = self.stack.post("/api/v1/practices", {
            "title": f"Управленческая практика {next(_n)}", "authorStaffId": a0, "coAuthorStaffIds": [a1, a2],
            "collective": "Администрация школы", "kind": "managerial", "level": "municipal",
            "description": "Внутришкольная система оценки качества"})
        self.assertEqual(p.status, 201, p)
        self.assertEqual((p.json["kind"], p.json["level"]), ("managerial", "municipal"))
        plain = self._created(self.stack.post("/api/v1/practices", {
            "title": f"Практика {next(_n)}", "authorStaffId": a0, "description": "Описание"}))
        self.assertEqual((plain["kind"], plain["level"]), ("pedagogical", "institutional"))  # the defaults
        self.assertIn(p.json["id"], self.ids(self.stack.get(f"/api/v1/practices?authorStaffId={a2}&limit=500")))
        self.assertEqual(self.ids(self.stack.get("/api/v1/practices?kind=managerial&limit=500")), [p.json["id"]])
        for bad, field in (({"coAuthorStaffIds": [a0]}, "coAuthorStaffIds[0]"),
                           ({"coAuthorStaffIds": [a1, a1]}, "coAuthorStaffIds[1]")):
            r = self.stack.post("/api/v1/practices", {"title": "Х", "authorStaffId": a0, "description": "О", **bad})
            self.assertJsonError(r, 400)
            self.assertIn(field, str(r.json), r)
        review = f"/api/v1/practices/{p.json['id']}/review"
        score = {"action": "score", "expertName": "Гуашева Л. А.", "criterion": "результативность", "score": 4,
                 "maxScore": 5}
        self.assertJsonError(self.stack.post(review, score), 409)  # not under review yet
        self.assertEqual(self.stack.post(review, {"action": "start"}).status, 200)
        r = self.stack.post(review, score)
        self.assertEqual(r.status, 200, r)
        r = self.stack.post(review, dict(score, score=5))  # the same expert and criterion: replaced
        self.assertEqual([(s["criterion"], s["score"]) for s in r.json["expertScores"]], [("результативность", 5)])
        r = self.stack.post(review, dict(score, criterion="тиражируемость", score=3))
        self.assertEqual(len(r.json["expertScores"]), 2)
        for bad, field in ((dict(score, score=6), "score"), (dict(score, maxScore=0), "maxScore"),
                           (dict(score, expertName=""), "expertName")):
            r2 = self.stack.post(review, bad)
            self.assertJsonError(r2, 400)
            self.assertIn(field, str(r2.json), r2)
        teacher = self.user_token("school_admin", "organization", self.org_a["id"])
        self.assertJsonError(self.stack.post(review, score, token=teacher), 403)
        # the scores are the panel's: an update cannot write them
        r = self.stack.patch(f"/api/v1/practices/{plain['id']}", {"expertScores": [{"criterion": "x", "score": 1}]},
                             headers={"If-Match": f'"{plain["version"]}"'})
        self.assertJsonError(r, 400)
        # uptake by another school
        r = self.stack.patch(f"/api/v1/practices/{plain['id']}", {"uptakes": [
            {"organizationId": self.org_b["id"], "since": "2025-02-01", "note": "Внедрено в 5–6 классах"}]},
            headers={"If-Match": f'"{plain["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertIn(plain["id"], self.ids(self.stack.get(
            f"/api/v1/practices?uptakeOrganizationId={self.org_b['id']}&limit=500")))
        r = self.stack.patch(f"/api/v1/practices/{plain['id']}", {"uptakes": [
            {"organizationId": self.org_a["id"], "since": "2025-02-01"}]},
            headers={"If-Match": f'"{r.json["version"]}"'})
        self.assertJsonError(r, 400)

    def test_council_decisions_addressed_with_deadline_and_execution(self):
        a0 = self.staff_a[0]["id"]
        council = self._created(self.stack.post("/api/v1/councils", {
            "name": f"Совет {next(_n)}", "level": "municipal", "municipalityId": self.mun_a["id"], "chairStaffId": a0}))
        other = self._created(self.stack.post("/api/v1/councils", {
            "name": f"Совет {next(_n)}", "level": "municipal", "municipalityId": self.mun_a["id"], "chairStaffId": a0}))
        meeting = self._created(self.stack.post(f"/api/v1/councils/{council['id']}/meetings", {
            "heldOn": "2025-03-20", "minutesNumber": "5", "agenda": [{"title": "Итоги диагностики"}]}))
        body = {"councilId": council["id"], "meetingId": meeting["id"], "kind": "decision",
                "text": "Провести семинар по формирующему оцениванию", "addressee": "МКОУ СОШ № 3",
                "addresseeOrganizationId": self.org_a["id"], "dueOn": "2025-05-01"}
        late = self.stack.post("/api/v1/council-decisions", body)
        self.assertEqual(late.status, 201, late)
        self.assertEqual((late.json["status"], late.json["municipalityId"]), ("assigned", self.mun_a["id"]))
        future = self._created(self.stack.post("/api/v1/council-decisions", dict(body, dueOn="2099-01-01",
                                                                              kind="recommendation")))
        listed = lambda **f: self.ids(self.stack.get("/api/v1/council-decisions?" + urllib.parse.urlencode(
            {"councilId": council["id"], "limit": 500, **f})))
        self.assertEqual(listed(overdue="true"), [late.json["id"]])
        self.assertEqual(listed(overdue="false"), [future["id"]])
        self.assertEqual(listed(kind="recommendation"), [future["id"]])
        self.assertIn(late.json["id"], self.ids(self.stack.get(
            f"/api/v1/council-decisions?addresseeOrganizationId={self.org_a['id']}&limit=500")))
        for bad, field in (({"status": "done"}, "doneOn"), ({"status": "not_done"}, "executionNote"),
                           ({"doneOn": "2025-04-01"}, "doneOn")):
            r = self.stack.patch(f"/api/v1/council-decisions/{late.json['id']}", bad,
                                 headers={"If-Match": f'"{late.json["version"]}"'})
            self.assertJsonError(r, 400)
            self.assertIn(field, str(r.json), r)
        r = self.stack.patch(f"/api/v1/council-decisions/{late.json['id']}", {
            "status": "done", "doneOn": "2025-04-28", "executionNote": "Семинар проведён, 34 участника"},
            headers={"If-Match": f'"{late.json["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(listed(overdue="true"), [])
        r = self.stack.post("/api/v1/council-decisions", dict(body, councilId=other["id"]))
        self.assertJsonError(r, 400)  # the meeting of another council
        self.assertIn("meetingId", str(r.json))
        # a council and a meeting with decisions stay
        self.assertJsonError(self.stack.delete(f"/api/v1/council-meetings/{meeting['id']}"), 409)
        self.assertJsonError(self.stack.delete(f"/api/v1/councils/{council['id']}"), 409)

    def test_founder_flags_and_site_acts(self):
        # 003 §2.2: two flags; I1 counts municipal organizations, so every organization has a founder
        made = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": f"МКОУ СОШ № {next(_n)} с. Псыгансу", "kind": "school",
            "difficultConditions": True, "lowResultsSupport": "Адресная программа поддержки"})
        self.assertEqual(made.status, 201, made)
        self.assertEqual(made.json["founder"], "municipal")  # the default of a municipal school
        self.assertTrue(made.json["difficultConditions"])
        self.assertFalse(made.json["lowResults"])
        college = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": f"Колледж № {next(_n)}", "kind": "vocational"})
        self.assertEqual(college.json["founder"], "regional", college)
        authority = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": f"Управление образования № {next(_n)}",
            "kind": "education_authority", "founder": "municipal"})
        self.assertEqual(authority.status, 201, authority)
        private = self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": f"Частная школа № {next(_n)}", "kind": "school",
            "founder": "private"})
        self.assertEqual(private.json["founder"], "private", private)
        listed = lambda **f: self.ids(self.stack.get("/api/v1/organizations?" + urllib.parse.urlencode(
            {"limit": 500, "municipalityId": self.mun_a["id"], **f})))
        self.assertIn(made.json["id"], listed(difficultConditions="true"))
        self.assertNotIn(made.json["id"], listed(lowResults="true"))
        self.assertIn(private.json["id"], listed(founder="private"))
        self.assertNotIn(made.json["id"], listed(founder="private"))
        self.assertJsonError(self.stack.get("/api/v1/organizations?founder=state"), 400)
        self.assertJsonError(self.stack.post("/api/v1/organizations", {
            "municipalityId": self.mun_a["id"], "name": "Школа", "kind": "school", "founder": "state"}), 400)
        # a site's act, curator and report (001 п.8)
        site = {"kind": "innovation", "startDate": "2025-09-01", "theme": "Функциональная грамотность",
                "orderNumber": "245-ОД", "orderDate": "2025-08-20", "curatorStaffId": self.staff_a[0]["id"],
                "report": "Отчёт за 2025/26 учебный год: https://example.org/report.pdf"}
        r = self.stack.patch(f"/api/v1/organizations/{made.json['id']}", {"sites": [site]},
                             headers={"If-Match": f'"{made.json["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["sites"][0]["curatorStaffId"], self.staff_a[0]["id"])
        self.assertEqual(r.json["sites"][0]["orderNumber"], "245-ОД")
        for bad_site, field in (({**site, "orderDate": "2025-09-20"}, "sites[0].orderDate"),
                                ({**site, "curatorStaffId": "кто-то"}, "sites[0].curatorStaffId"),
                                ({**site, "curatorStaffId": "07-s999999"}, None),
                                ({**site, "report": "я" * 4001}, "sites[0].report")):
            bad = self.stack.patch(f"/api/v1/organizations/{made.json['id']}", {"sites": [bad_site]},
                                   headers={"If-Match": f'"{r.json["version"]}"'})
            self.assertIn(bad.status, (400, 422), bad)
            if field:
                self.assertIn(field, str(bad.json), bad)
        self.assertEqual(self.stack.get(f"/api/v1/organizations/{made.json['id']}").json["version"],
                         r.json["version"])  # a refused change changes nothing

    def test_openapi_lists_catalogue_routes(self):
        doc = self.stack.get("/api/v1/openapi.json")
        if doc.status == 404:
            doc = self.stack.get("/openapi.json")
        self.assertEqual(doc.status, 200, doc)
        paths = doc.json["paths"]
        for path in ("/api/v1/associations/{association_id}/members",
                     "/api/v1/associations/{association_id}/members/{membership_id}/leave",
                     "/api/v1/councils/{council_id}/meetings", "/api/v1/programmes",
                     "/api/v1/staff/{staff_id}/qualification-records", "/api/v1/practices/{id}/review"):
            self.assertIn(path, paths)


if __name__ == "__main__":
    unittest.main()
