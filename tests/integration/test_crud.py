"""test_crud — the registry's HTTP API end to end against a real stack: create/read/list/update/delete
of regions, municipalities, organizations and staff, optimistic concurrency, references, validation,
Idempotency-Key, request ids, OpenAPI, metrics and health endpoints."""

import itertools
import json
import time
import unittest
import urllib.parse

from harness import StackTestCase

REGION = "07"  # the stack's bootstrap administrator is the administrator of this region
_names = itertools.count(1)


def staff_body(org_id, **over):
    body = {
        "lastName": "Кажарова", "firstName": "Мадина", "middleName": "Аслановна",
        "birthDate": "1985-04-12", "professionStartDate": "2007-09-01",
        "position": "teacher", "category": "teacher", "subjects": ["mathematics"],
        "organizationIds": [org_id], "qualificationCategory": "first", "active": True,
    }
    body.update(over)
    return body


class CrudTest(StackTestCase):
    WORKERS = 2

    @classmethod
    def prepare(cls):
        # a region administrator may create its own region only, so every test works inside "07"
        cls.region_created = cls.stack.post("/api/v1/regions",
                                            {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        assert cls.region_created.status == 201, cls.region_created

    # ---- helpers ----

    def make_region(self):
        r = self.stack.get(f"/api/v1/regions/{REGION}")
        self.assertEqual(r.status, 200, r)
        return r.json

    def make_municipality(self, region_id, name=None, kind="district"):
        name = name or f"Тестовый муниципальный район {next(_names)}"
        r = self.stack.post("/api/v1/municipalities", {"regionId": region_id, "name": name, "kind": kind})
        self.assertEqual(r.status, 201, r)
        return r.json

    def make_organization(self, municipality_id, name="МКОУ СОШ № 1 г.п. Терек", kind="school", **over):
        body = {"municipalityId": municipality_id, "name": name, "shortName": name[:20], "kind": kind,
                "lowResults": False, "sites": []}
        body.update(over)
        r = self.stack.post("/api/v1/organizations", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def make_tree(self):
        region = self.make_region()
        mun = self.make_municipality(region["id"])
        org = self.make_organization(mun["id"])
        return region, mun, org

    def assertCreated(self, r, collection):
        self.assertEqual(r.status, 201, r)
        entity = r.json
        self.assertTrue(entity.get("id"), r)
        self.assertEqual(r.header("ETag"), f'"{entity["version"]}"')
        self.assertTrue(r.header("Location", "").endswith(f"/api/v1/{collection}/{entity['id']}"),
                        r.headers)
        return entity

    # ---- create / read ----

    def test_create_and_read_chain(self):
        rid = REGION
        region = self.assertCreated(self.region_created, "regions")
        self.assertEqual(region["id"], rid)
        self.assertEqual(region["name"], "Кабардино-Балкарская Республика")
        self.assertEqual(str(region["version"]), "1")

        r = self.stack.post("/api/v1/municipalities",
                            {"regionId": rid, "name": "Терский муниципальный район", "kind": "district"})
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["id"].startswith(f"{rid}-"), r.json)
        mun = self.assertCreated(r, "municipalities")
        self.assertEqual(mun["regionId"], rid)
        self.assertEqual(mun["kind"], "district")

        site = {"kind": "innovation", "startDate": "2021-09-01", "endDate": "2023-08-31",
                "theme": "Функциональная грамотность"}
        r = self.stack.post("/api/v1/organizations",
                            {"municipalityId": mun["id"], "name": "МКОУ СОШ № 3 г.п. Терек", "shortName": "СОШ № 3",
                             "kind": "school", "lowResults": True, "sites": [site]})
        org = self.assertCreated(r, "organizations")
        self.assertEqual(org["regionId"], rid, "регион организации выводится из муниципалитета")
        self.assertTrue(org["lowResults"])
        self.assertEqual(org["sites"][0]["kind"], "innovation")
        self.assertEqual(org["sites"][0]["startDate"], "2021-09-01")

        body = staff_body(org["id"], subjects=["russian_language", "literature"])
        r = self.stack.post("/api/v1/staff", body)
        person = self.assertCreated(r, "staff")
        for field in ("lastName", "firstName", "middleName", "birthDate", "professionStartDate", "position",
                      "category", "subjects", "organizationIds", "qualificationCategory", "active"):
            self.assertEqual(person[field], body[field], field)
        self.assertEqual(person["regionId"], rid)
        self.assertEqual(person["municipalityIds"], [mun["id"]])
        self.assertIsInstance(person["version"], str, "int64 передаётся строкой")

        for collection, entity in (("regions", region), ("municipalities", mun), ("organizations", org),
                                   ("staff", person)):
            r = self.stack.get(f"/api/v1/{collection}/{entity['id']}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json, entity, collection)
            self.assertEqual(r.header("ETag"), f'"{entity["version"]}"')

    def test_region_id_is_unique(self):
        region = self.make_region()
        r = self.stack.post("/api/v1/regions", {"id": region["id"], "name": "Другое имя"})
        self.assertIn(r.status, (409,), r)
        self.assertJsonError(r, 409)
        self.assertEqual(self.stack.get(f"/api/v1/regions/{region['id']}").json["name"], region["name"])

    def test_unknown_id_is_404(self):
        # well-formed ids (they carry their region, docs/decisions/0001) that name nothing
        region = self.make_region()
        rid = region["id"]
        for collection, unknown in (("regions", "99"), ("municipalities", f"{rid}-m999999"),
                                    ("organizations", f"{rid}-o999999"), ("staff", f"{rid}-s999999"),
                                    ("staff", "99-s1")):
            r = self.stack.get(f"/api/v1/{collection}/{unknown}")
            self.assertJsonError(r, 404, f"{collection}/{unknown}: {r!r}")

    # ---- lists ----

    def test_list_pagination_and_filters(self):
        region = self.make_region()
        mun = self.make_municipality(region["id"])
        kinds = ["school", "lyceum", "school", "preschool", "gymnasium"]
        made = [self.make_organization(mun["id"], name=f"Организация {i} {k}", kind=k)
                for i, k in enumerate(kinds)]
        items, pages = self.stack.list_all("organizations", limit=2, municipalityId=mun["id"])
        ids = [o["id"] for o in items]
        self.assertEqual(len(ids), len(set(ids)), "повторы между страницами")
        self.assertEqual(set(ids), {o["id"] for o in made}, "страницы потеряли или добавили элементы")
        self.assertEqual(pages, 3)

        items, _ = self.stack.list_all("organizations", municipalityId=mun["id"], kind="school")
        self.assertEqual(sorted(o["id"] for o in items), sorted(o["id"] for o in made if o["kind"] == "school"))

        items, _ = self.stack.list_all("organizations", municipalityId=mun["id"], q="Организация 3")
        self.assertEqual([o["id"] for o in items], [made[3]["id"]])

        items, _ = self.stack.list_all("municipalities", regionId=region["id"], q=mun["name"])
        self.assertEqual([m["id"] for m in items], [mun["id"]])

        # a page of exactly the limit, then an empty end
        r = self.stack.get(f"/api/v1/organizations?limit=500&municipalityId={mun['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json.get("nextCursor", ""), "")
        self.assertEqual(len(r.json.get("items", [])), 5)

    def test_staff_filters(self):
        _, mun, org = self.make_tree()
        org2 = self.make_organization(mun["id"], name="МКДОУ «Детский сад № 1»", kind="preschool")
        people = [
            staff_body(org["id"], lastName="Шогенова", subjects=["mathematics", "informatics"]),
            staff_body(org["id"], lastName="Шериев", firstName="Мурат", middleName="Хасанович",
                       subjects=["physics"], active=False),
            staff_body(org["id"], lastName="Иванова", position="director", category="manager", subjects=[]),
            staff_body(org2["id"], lastName="Бозиева", position="educator", subjects=["preschool_education"]),
        ]
        made = []
        for p in people:
            r = self.stack.post("/api/v1/staff", p)
            self.assertEqual(r.status, 201, r)
            made.append(r.json)

        def ids(**filters):
            return sorted(s["id"] for s in self.stack.list_all("staff", **filters)[0])

        self.assertEqual(ids(organizationId=org["id"]), sorted(m["id"] for m in made[:3]))
        self.assertEqual(ids(organizationId=org2["id"]), [made[3]["id"]])
        self.assertEqual(ids(municipalityId=mun["id"]), sorted(m["id"] for m in made))
        self.assertEqual(ids(municipalityId=mun["id"], category="manager"), [made[2]["id"]])
        self.assertEqual(ids(municipalityId=mun["id"], subject="mathematics"), [made[0]["id"]])
        self.assertEqual(ids(municipalityId=mun["id"], active="false"), [made[1]["id"]])
        self.assertEqual(ids(municipalityId=mun["id"], q="Шо"), [made[0]["id"]])

    def test_list_limit_bounds(self):
        region = self.make_region()
        for good in ("1", "500"):
            r = self.stack.get(f"/api/v1/staff?regionId={region['id']}&limit={good}")
            self.assertEqual(r.status, 200, r)
        for bad in ("501", "-1", "abc"):
            r = self.stack.get(f"/api/v1/staff?regionId={region['id']}&limit={bad}")
            err = self.assertJsonError(r, 400, f"limit={bad}: {r!r}")
            self.assertIn("limit", json.dumps(err), f"limit={bad}: ошибка не о limit: {err}")
        r = self.stack.get(f"/api/v1/staff?regionId={region['id']}&cursor=" + urllib.parse.quote("не-курсор\x1f"))
        self.assertIn(r.status, (200, 400), r)

    def test_list_limit_zero_is_rejected(self):
        # the contract is 1..500 (absent = 50); an explicit 0 is out of range, not "the default"
        region = self.make_region()
        r = self.stack.get(f"/api/v1/staff?regionId={region['id']}&limit=0")
        self.assertJsonError(r, 400, f"limit=0: {r!r}")

    # ---- update ----

    def test_patch_with_if_match(self):
        _, _, org = self.make_tree()
        r = self.stack.post("/api/v1/staff", staff_body(org["id"]))
        person = r.json
        self.assertEqual(person["version"], "1")

        r = self.stack.patch(f"/api/v1/staff/{person['id']}", {"firstName": "Залина"}, headers={"If-Match": '"1"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["version"], "2")
        self.assertEqual(r.json["firstName"], "Залина")
        self.assertEqual(r.json["lastName"], person["lastName"], "частичное изменение не трогает другие поля")
        self.assertEqual(r.json["subjects"], person["subjects"])
        self.assertEqual(r.header("ETag"), '"2"')

        r = self.stack.patch(f"/api/v1/staff/{person['id']}", {"firstName": "Фатима"}, headers={"If-Match": '"1"'})
        self.assertJsonError(r, 412)
        r = self.stack.get(f"/api/v1/staff/{person['id']}")
        self.assertEqual(r.json["firstName"], "Залина")
        self.assertEqual(r.json["version"], "2")

        # the organization too, with the enum and a nested list
        r = self.stack.patch(f"/api/v1/organizations/{org['id']}", {"lowResults": True},
                             headers={"If-Match": f'"{org["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["lowResults"])
        self.assertEqual(r.json["name"], org["name"])

    def test_if_match_follows_rfc_9110(self):
        _, _, org = self.make_tree()
        person = self.stack.post("/api/v1/staff", staff_body(org["id"])).json
        path = f"/api/v1/staff/{person['id']}"
        # "*": any current version
        r = self.stack.patch(path, {"firstName": "Залина"}, headers={"If-Match": "*"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["version"], "2")
        # strong comparison: the weak form of the current tag does not match; unknown tags are 412, not 400
        for tag in ('W/"2"', '"abc"', '"0"', 'W/"1", W/"2"'):
            r = self.stack.patch(path, {"firstName": "Фатима"}, headers={"If-Match": tag})
            self.assertJsonError(r, 412, f"If-Match: {tag}")
        # a list holding the current version matches
        r = self.stack.patch(path, {"firstName": "Фатима"}, headers={"If-Match": 'W/"1", "2"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["version"], "3")
        # malformed: 400, nothing changed
        for tag in ('"3', "abc", "W/3"):
            r = self.stack.patch(path, {"firstName": "Мадина"}, headers={"If-Match": tag})
            self.assertJsonError(r, 400, f"If-Match: {tag}")
        r = self.stack.get(path)
        self.assertEqual(r.json["firstName"], "Фатима")
        self.assertEqual(r.json["version"], "3")
        # a missing record is 404 whatever the precondition (RFC 9110 §13.2.1)
        r = self.stack.delete("/api/v1/staff/07-s999999", headers={"If-Match": "*"})
        self.assertJsonError(r, 404)

    def test_patch_validation_keeps_entity(self):
        _, _, org = self.make_tree()
        person = self.stack.post("/api/v1/staff", staff_body(org["id"])).json
        r = self.stack.patch(f"/api/v1/staff/{person['id']}", {"birthDate": "1985-13-01"}, headers={"If-Match": '"1"'})
        self.assertJsonError(r, 400)
        self.assertEqual(self.stack.get(f"/api/v1/staff/{person['id']}").json, person)

    # ---- delete ----

    def test_delete_then_404(self):
        _, _, org = self.make_tree()
        person = self.stack.post("/api/v1/staff", staff_body(org["id"])).json
        r = self.stack.delete(f"/api/v1/staff/{person['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"id": person["id"]})
        self.assertJsonError(self.stack.get(f"/api/v1/staff/{person['id']}"), 404)
        self.assertEqual(self.stack.count("staff", organizationId=org["id"]), 0, "удалённый остался в индексе")
        self.assertJsonError(self.stack.delete(f"/api/v1/staff/{person['id']}"), 404)

    def test_delete_organization_with_staff_is_409(self):
        _, mun, org = self.make_tree()
        person = self.stack.post("/api/v1/staff", staff_body(org["id"])).json
        r = self.stack.delete(f"/api/v1/organizations/{org['id']}")
        self.assertJsonError(r, 409)
        self.assertEqual(self.stack.get(f"/api/v1/organizations/{org['id']}").json, org)
        self.assertEqual(self.stack.get(f"/api/v1/staff/{person['id']}").json, person)
        self.assertEqual(self.stack.count("organizations", municipalityId=mun["id"]), 1)
        # once the staff member is gone, the organization can go
        self.assertEqual(self.stack.delete(f"/api/v1/staff/{person['id']}").status, 200)
        self.assertEqual(self.stack.delete(f"/api/v1/organizations/{org['id']}").status, 200)
        self.assertJsonError(self.stack.get(f"/api/v1/organizations/{org['id']}"), 404)

    # ---- references ----

    def test_references_must_exist(self):
        region, mun, org = self.make_tree()
        before = self.stack.count("staff", organizationId=org["id"])
        unknown_org = f"{region['id']}-o987654"
        r = self.stack.post("/api/v1/staff", staff_body(unknown_org))
        self.assertJsonError(r, (400, 404))
        r = self.stack.post("/api/v1/staff", staff_body(org["id"], organizationIds=[org["id"], unknown_org]))
        self.assertJsonError(r, (400, 404))
        self.assertEqual(self.stack.count("staff", organizationId=org["id"]), before, "сохранено с битой ссылкой")
        self.assertEqual(self.stack.count("staff", municipalityId=mun["id"]), before)

        r = self.stack.post("/api/v1/organizations", {"municipalityId": f"{region['id']}-m987654", "name": "Школа",
                                                       "kind": "school"})
        self.assertJsonError(r, (400, 404))
        self.assertEqual(self.stack.count("organizations", municipalityId=mun["id"]), 1)

    # ---- validation ----

    def test_validation_errors(self):
        _, _, org = self.make_tree()
        good = staff_body(org["id"])
        cases = {
            "несуществующая дата": (json.dumps(dict(good, birthDate="2020-02-30")), "birthDate"),
            "неизвестное значение перечисления": (json.dumps(dict(good, position="astronaut")), "position"),
            "неизвестный предмет": (json.dumps(dict(good, subjects=["astrology"])), "subjects"),
            "неизвестное поле": (json.dumps(dict(good, shoeSize=42)), None),
            "неверный тип (строка вместо bool)": (json.dumps(dict(good, active="yes")), None),
            "неверный тип (число вместо строки)": (json.dumps(dict(good, lastName=5)), None),
            "пустая фамилия": (json.dumps(dict(good, lastName="")), "lastName"),
            "битый JSON": ('{"lastName": "Кажарова", ', None),
            "не объект": ("[1, 2, 3]", None),
        }
        before = self.stack.count("staff", organizationId=org["id"])
        for what, (raw, field) in cases.items():
            with self.subTest(what):
                r = self.stack.request("POST", "/api/v1/staff", raw=raw.encode("utf-8"))
                err = self.assertJsonError(r, 400, f"{what}: {r!r}")
                if field:
                    fields = [d.get("field", "") for d in err.get("details") or []]
                    self.assertTrue(any(field in f for f in fields), f"{what}: нет поля {field} в details: {err}")
                self.assertEqual(self.stack.count("staff", organizationId=org["id"]), before, what)

    def test_oversize_body(self):
        _, _, org = self.make_tree()
        before = self.stack.count("staff", organizationId=org["id"])
        big = json.dumps(staff_body(org["id"], lastName="Я" * (600 * 1024))).encode("utf-8")
        self.assertGreater(len(big), 1024 * 1024)
        r = self.stack.request_expect_continue("POST", "/api/v1/staff", big)
        self.assertJsonError(r, (400, 413))
        self.assertEqual(self.stack.count("staff", organizationId=org["id"]), before)
        self.assertEqual(self.stack.get("/readyz").status, 200)

    # ---- idempotency, request id ----

    def test_idempotency_key(self):
        _, _, org = self.make_tree()
        body = staff_body(org["id"], lastName="Хатуева")
        key = {"Idempotency-Key": "crud-idem-1"}
        first = self.stack.post("/api/v1/staff", body, headers=key)
        self.assertEqual(first.status, 201, first)
        self.assertNotEqual((first.header("Idempotent-Replayed") or "").lower(), "true")
        again = self.stack.post("/api/v1/staff", body, headers=key)
        self.assertEqual(again.status, 201, again)
        self.assertEqual((again.header("Idempotent-Replayed") or "").lower(), "true", again.headers)
        self.assertEqual(again.json["id"], first.json["id"])
        self.assertEqual(self.stack.count("staff", organizationId=org["id"]), 1, "повтор создал второго")

        other = self.stack.post("/api/v1/staff", dict(body, lastName="Другая"), headers=key)
        self.assertJsonError(other, 422)
        self.assertEqual(self.stack.count("staff", organizationId=org["id"]), 1)

        # a different key creates anew
        third = self.stack.post("/api/v1/staff", body, headers={"Idempotency-Key": "crud-idem-2"})
        self.assertEqual(third.status, 201, third)
        self.assertNotEqual(third.json["id"], first.json["id"])

    def test_request_id_echoed(self):
        r = self.stack.get("/api/v1/regions?limit=1", headers={"X-Request-Id": "test-rid-42"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Request-Id"), "test-rid-42")
        r = self.stack.get("/api/v1/staff/99-s99999", headers={"X-Request-Id": "test-rid-43"})
        self.assertEqual(r.header("X-Request-Id"), "test-rid-43")
        self.assertEqual(self.assertJsonError(r, 404)["requestId"], "test-rid-43")
        r = self.stack.get("/api/v1/staff/99-s99999")
        generated = r.header("X-Request-Id")
        self.assertTrue(generated, "без X-Request-Id шлюз создаёт свой")
        self.assertEqual(r.json["error"]["requestId"], generated)

    # ---- authentication ----

    def test_api_needs_a_session(self):
        r = self.stack.get(f"/api/v1/regions/{REGION}", token=False)
        self.assertJsonError(r, 401)
        r = self.stack.get(f"/api/v1/regions/{REGION}", token="not-a-token-" + "0" * 40)
        self.assertJsonError(r, 401)
        r = self.stack.post("/api/v1/regions", {"id": "08", "name": "Другой регион"}, token=False)
        self.assertJsonError(r, 401)
        r = self.stack.request("POST", "/api/v1/auth/login", {"login": self.stack.admin_login, "password": "неверный"},
                               token=False)
        self.assertJsonError(r, 401)
        # a region administrator cannot create another region
        r = self.stack.post("/api/v1/regions", {"id": "08", "name": "Другой регион"})
        self.assertJsonError(r, (403, 404))
        self.assertEqual(self.stack.get("/api/v1/regions/08").status, 404)

    # ---- service endpoints ----

    def test_openapi_lists_staff(self):
        r = self.stack.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200, r)
        doc = r.json
        self.assertIn("openapi", doc)
        paths = doc.get("paths", {})
        self.assertIn("/api/v1/staff", paths)
        staff_item = [p for p in paths if p.startswith("/api/v1/staff/{")]
        self.assertTrue(staff_item, list(paths))
        self.assertIn("post", {m.lower() for m in paths["/api/v1/staff"]})
        self.assertTrue({"get", "patch", "delete"} <= {m.lower() for m in paths[staff_item[0]]})

    def test_metrics(self):
        self.stack.get("/api/v1/regions?limit=1")
        r = self.stack.get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"metodnet_http_requests_total", r.body)

    def test_health(self):
        self.assertEqual(self.stack.get("/healthz").status, 200)
        self.assertEqual(self.stack.get("/readyz").status, 200)


if __name__ == "__main__":
    unittest.main()


class IdempotencyInProgressTest(StackTestCase):
    """A retry while the first try with the same Idempotency-Key is still running (here: no registry worker
    is there to take it) is told 409 at once, in Russian, with Retry-After; once the first try has ended,
    the retry runs (what ops/chaos's client does after a gateway or Redis was killed)."""
    WORKERS = 1
    EXTRA_ENV = {"METODNET_REQUEST_TIMEOUT_MS": "3000"}

    def test_retry_while_the_first_try_runs(self):
        import threading
        s = self.stack
        r = s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        self.assertEqual(r.status, 201, r)
        body = {"regionId": REGION, "name": "Урванский муниципальный район", "kind": "district"}
        key = {"Idempotency-Key": "in-progress-1"}
        s.procs["registry-1"].terminate()  # the first try waits in the broker's queue
        first = {}
        t = threading.Thread(target=lambda: first.update(r=s.post("/api/v1/municipalities", body, headers=key)))
        t.start()
        try:
            # the first try's record is in Redis ("pending") before the retry is sent
            for _ in range(100):
                if s.redis_cli("--scan", "--pattern", "gw:idem:*").stdout.strip():
                    break
                time.sleep(0.02)
            retry = s.post("/api/v1/municipalities", body, headers=key)
            self.assertFalse(first, "первая попытка закончилась раньше повтора")
            self.assertJsonError(retry, 409)
            self.assertIn("повторите", retry.json["error"]["message"])
            self.assertEqual(retry.header("Retry-After"), "1", retry.headers)
        finally:
            t.join(30)
        self.assertIn(first["r"].status, (503, 504), first["r"])  # no worker took it
        s.restart("registry-1")
        s.wait_ready()
        again = s.post("/api/v1/municipalities", body, headers=key)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(s.count("municipalities", regionId=REGION), 1)
