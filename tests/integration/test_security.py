"""test_security — the security model end to end on a real stack (issue 3, item 9):

- an authorization matrix generated over EVERY route of the OpenAPI document × role × an object in the
  caller's own scope and one outside it; the expected statuses live in one table, MATRIX, keyed by
  "METHOD path", and a route of the document without an entry fails the test;
- a municipal methodologist cannot see, list, change or learn of another municipality's staff;
- a region administrator is confined to its region;
- brute force: wrong passwords lead to 429 with a growing Retry-After; unknown login and wrong password
  get the same answer;
- session expiry (idle and absolute), logout, a revoked API key refused within the gateway's 5 s cache;
- audit entries for a staff read and a staff change, not readable by a methodologist;
- Redis ACLs: the registry's Redis user cannot read the auth service's keys;
- no password, token or API-key secret used by a test appears in any process log.
"""

import hashlib
import itertools
import json
import os
import re
import time
import unittest
import urllib.parse

from harness import Stack, StackTestCase

ROLES = ("region_admin", "municipal_methodologist", "school_admin", "teacher", "school_system", "anonymous")
_seq = itertools.count(1)

# ---------------------------------------------------------------------------------------------------
# The authorization matrix.
#
# Fixture (MatrixTest.prepare): region 07 with municipality A (school A: the teacher's staff record and
# others) and municipality B (school B, its staff); region 08 with its own administrator and objects.
# Callers: region_admin = the administrator of 07; municipal_methodologist of A; school_admin of
# school A; teacher = scope self, the staff record tA of school A; school_system = an API key scoped
# to school A; anonymous = no Authorization header.
#
# Each entry: (own, other), each six cells in the order of ROLES. "own" acts on an object inside
# municipality A (for region-level objects: region 07; for a teacher's own record: tA); "other" on
# one outside it (municipality B of the same region, or region 08 for region-level objects). A cell is
# an HTTP status, or for lists L = 200 with the object listed, H = 200 with the object absent.
# Conventions: 404 = the object is outside the caller's read scope (existence not revealed); 403 = the
# caller may read it but not do this; 401 = no token; 409 on DELETE = the scope check passed and the
# non-empty guard refused (the fixture's territories are never empty); 409 on POST /regions = the scope
# check passed and region 07 exists already; 400 on POST /api/v1/staff = a referenced school outside
# the caller's read scope is reported as "Организация не найдена", word for word the answer for an id
# that does not exist (MunicipalIsolationTest checks the sameness). Creating a user or an API key for a
# target outside the caller's scope answers 403 whether or not the target exists (checked there too).
# A route of a service the harness does not run would say so with NOT_IN_HARNESS("service").
# ---------------------------------------------------------------------------------------------------


class NOT_IN_HARNESS:  # noqa: N801 — reads as a table marker
    def __init__(self, service):
        self.service = service


#            region_admin  methodologist  school_admin  teacher  school_system  anonymous
MATRIX = {
    # service endpoints: public
    "GET /healthz": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /readyz": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /metrics": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    # auth service
    "POST /api/v1/auth/login": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "POST /api/v1/auth/logout": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    "GET /api/v1/me": ("200 200 200 200 404 401", "200 200 200 200 404 401"),
    "POST /api/v1/users": ("201 201 201 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/users": ("L L L L 403 401", "L H H H 403 401"),
    "GET /api/v1/users/{id}": ("200 200 200 200 404 401", "200 404 404 404 404 401"),
    "POST /api/v1/users/{id}/status": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/users/{id}/password": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/api-keys": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/api-keys": ("L L 403 403 403 401", "L H 403 403 403 401"),
    "DELETE /api/v1/api-keys/{id}": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/audit": ("200 403 403 403 403 401", "200 403 403 403 403 401"),
    # registry: regions (own = 07, other = 08)
    "POST /api/v1/regions": ("409 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/regions": ("L L L H L 401", "H H H H H 401"),
    "GET /api/v1/regions/{id}": ("200 200 200 404 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/regions/{id}": ("200 403 403 404 403 401", "404 404 404 404 404 401"),
    "DELETE /api/v1/regions/{id}": ("409 403 403 404 403 401", "404 404 404 404 404 401"),
    # municipalities (own = A; other = B, and creation in region 08)
    "POST /api/v1/municipalities": ("201 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/municipalities": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/municipalities/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/municipalities/{id}": ("200 403 403 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/municipalities/{id}": ("409 403 403 404 403 401", "409 404 404 404 404 401"),
    # organizations (own = school A; other = school B)
    "POST /api/v1/organizations": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/organizations": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/organizations/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/organizations/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/organizations/{id}": ("409 409 409 404 403 401", "409 404 404 404 404 401"),
    # staff (own = the teacher's record tA, or a fresh member of school A; other = school B)
    "POST /api/v1/staff": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/staff": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/staff/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/staff/{id}": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/staff/{id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
}


def staff_body(org_id, **over):
    body = {
        "lastName": "Кажарова", "firstName": "Мадина", "middleName": "Аслановна",
        "birthDate": "1985-04-12", "professionStartDate": "2007-09-01",
        "position": "teacher", "category": "teacher", "subjects": ["mathematics"],
        "organizationIds": [org_id], "qualificationCategory": "first", "active": True,
    }
    body.update(over)
    return body


def new_password():
    return "Пароль-" + os.urandom(8).hex()


class SecurityFixture:
    """Two municipalities of region 07, region 08, users of every role, API keys; every secret used is
    remembered in self.secrets for the log check."""

    def __init__(self, stack):
        self.stack = stack
        self.secrets = [stack.admin_password]
        self.tokens = {}
        self.ids = {"own": {}, "other": {}}
        self.user_logins = {}

    def must(self, r, status, what):
        if r.status != status:
            raise AssertionError(f"подготовка: {what}: ожидался {status}, получен {r!r}")
        return r.json

    def admin(self, method, path, body=None, token=True):
        return self.stack.request(method, path, body, token=token)

    def staff(self, org, token=True, **over):
        return self.must(self.admin("POST", "/api/v1/staff", staff_body(org, **over), token=token), 201,
                         "сотрудник")["id"]

    def user(self, role, kind, scope_id, staff_id=None, token=True):
        login = f"u{next(_seq)}-{os.urandom(3).hex()}"
        password = new_password()
        self.secrets.append(password)
        body = {"login": login, "password": password, "fullName": "Проверка Прав", "role": role,
                "scope": {"kind": kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        u = self.must(self.admin("POST", "/api/v1/users", body, token=token), 201, f"пользователь {role}")
        self.user_logins[u["id"]] = (login, password)
        return u["id"], login, password

    def api_key(self, org, token=True):
        r = self.must(self.admin("POST", "/api/v1/api-keys", {"name": f"Дневник {next(_seq)}",
                                                              "scope": {"kind": "organization", "id": org}},
                                 token=token), 201, "API-ключ")
        self.secrets.append(r["secret"])
        return r["key"]["id"], r["secret"]

    def login(self, login, password):
        token = self.stack.login(login, password)
        self.secrets.append(token)
        return token

    def build(self):
        s = self.stack
        self.secrets.extend(s.tokens)
        self.must(self.admin("POST", "/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"}),
                  201, "регион 07")
        mun = {}
        org = {}
        for side, name in (("own", "А"), ("other", "Б")):
            mun[side] = self.must(self.admin("POST", "/api/v1/municipalities",
                                             {"regionId": "07", "name": f"Район {name}", "kind": "district"}),
                                  201, "муниципалитет")["id"]
            org[side] = self.must(self.admin("POST", "/api/v1/organizations",
                                             {"municipalityId": mun[side], "name": f"СОШ № 1 района {name}",
                                              "shortName": f"СОШ {name}", "kind": "school"}), 201, "школа")["id"]
        self.mun, self.org = mun, org
        self.teacher_staff = self.staff(org["own"], lastName="Учителева")
        self.other_staff = self.staff(org["other"], lastName="Чужая")
        # region 08 with its own administrator
        self.admin08_password = new_password()
        self.secrets.append(self.admin08_password)
        s.bootstrap_admin("08", "admin08", self.admin08_password)
        self.admin08 = self.login("admin08", self.admin08_password)
        self.must(self.admin("POST", "/api/v1/regions", {"id": "08", "name": "Регион 08"}, token=self.admin08),
                  201, "регион 08")
        self.mun08 = self.must(self.admin("POST", "/api/v1/municipalities",
                                          {"regionId": "08", "name": "Район 08", "kind": "district"},
                                          token=self.admin08), 201, "муниципалитет 08")["id"]
        self.org08 = self.must(self.admin("POST", "/api/v1/organizations",
                                          {"municipalityId": self.mun08, "name": "Школа 08", "shortName": "Ш08",
                                           "kind": "school"}, token=self.admin08), 201, "школа 08")["id"]
        self.staff08 = self.staff(self.org08, token=self.admin08, lastName="Региональная")
        # callers
        mm, mm_login, mm_pw = self.user("municipal_methodologist", "municipality", mun["own"])
        sa, sa_login, sa_pw = self.user("school_admin", "organization", org["own"])
        te, te_login, te_pw = self.user("teacher", "self", self.teacher_staff, staff_id=self.teacher_staff)
        ub, _, _ = self.user("school_admin", "organization", org["other"])
        self.role_users = {"municipal_methodologist": (mm_login, mm_pw), "school_admin": (sa_login, sa_pw),
                           "teacher": (te_login, te_pw)}
        key_own, key_secret = self.api_key(org["own"])
        key_other, _ = self.api_key(org["other"])
        self.key_id = key_own
        self.tokens = {"region_admin": s.tokens[0], "school_system": key_secret, "anonymous": None}
        for role, (login, password) in self.role_users.items():
            self.tokens[role] = self.login(login, password)
        self.ids["own"] = {"region": "07", "municipality": mun["own"], "organization": org["own"],
                           "staff": self.teacher_staff, "user": te, "apikey": key_own, "login": (sa_login, sa_pw)}
        ob_login, ob_pw = self.user_logins[ub]
        self.ids["other"] = {"region": "08", "municipality": mun["other"], "organization": org["other"],
                             "staff": self.other_staff, "user": ub, "apikey": key_other, "login": (ob_login, ob_pw)}

    # ---- the request of one matrix cell ----

    def fresh_token(self, role):
        """A new session (or API key) of the role's caller, for logout."""
        if role == "region_admin":
            return self.login(self.stack.admin_login, self.stack.admin_password)
        if role == "school_system":
            return self.api_key(self.org["own"])[1]
        if role == "anonymous":
            return None
        return self.login(*self.role_users[role])

    def cell_request(self, route, role, side):
        """(method, path, body, token, id expected in a list or None)."""
        method, template = route.split(" ", 1)
        ids = self.ids[side]
        token = self.tokens[role]
        body = None
        listed = None
        kind = template.split("/")[3] if template.startswith("/api/v1/") else ""
        obj = None
        if route == "POST /api/v1/auth/login":
            login, password = ids["login"]
            body = {"login": login, "password": password}
        elif route == "POST /api/v1/auth/logout":
            token = self.fresh_token(role)
        elif route == "POST /api/v1/users":
            staff = self.staff(self.org[side])
            password = new_password()
            self.secrets.append(password)
            body = {"login": f"n{next(_seq)}-{os.urandom(3).hex()}", "password": password, "fullName": "Новый Учитель",
                    "role": "teacher", "scope": {"kind": "self", "id": staff}, "staffId": staff}
        elif route in ("POST /api/v1/users/{id}/status", "POST /api/v1/users/{id}/password"):
            staff = self.staff(self.org[side])
            obj, _, _ = self.user("teacher", "self", staff, staff_id=staff)
            if route.endswith("status"):
                body = {"disabled": True}
            else:
                body = {"password": new_password()}
                self.secrets.append(body["password"])
        elif route == "POST /api/v1/api-keys":
            body = {"name": f"Система {next(_seq)}", "scope": {"kind": "organization", "id": self.org[side]}}
        elif route == "DELETE /api/v1/api-keys/{id}":
            obj = self.api_key(self.org[side])[0]
        elif route == "GET /api/v1/audit":
            template = f"/api/v1/audit?objectId={ids['staff']}&limit=10"
        elif route == "POST /api/v1/regions":
            body = {"id": ids["region"], "name": "Регион для проверки"}
        elif route == "POST /api/v1/municipalities":
            body = {"regionId": "07" if side == "own" else "08", "name": f"Новый район {next(_seq)}", "kind": "district"}
        elif route == "POST /api/v1/organizations":
            body = {"municipalityId": self.mun[side], "name": f"Новая школа {next(_seq)}", "shortName": "Новая",
                    "kind": "school"}
        elif route == "POST /api/v1/staff":
            body = staff_body(self.org[side])
        elif route == "DELETE /api/v1/staff/{id}":
            obj = self.teacher_staff if (side == "own" and role == "teacher") else self.staff(self.org[side])
        elif method == "GET" and template in ("/api/v1/users", "/api/v1/api-keys", "/api/v1/regions",
                                              "/api/v1/municipalities", "/api/v1/organizations", "/api/v1/staff"):
            what = {"users": "user", "api-keys": "apikey", "regions": "region", "municipalities": "municipality",
                    "organizations": "organization", "staff": "staff"}[kind]
            listed = ids[what]
            region = "08" if what == "region" else "07"
            template += "?limit=500" + ("" if what in ("user", "apikey", "region") else f"&regionId={region}")
        elif method == "PATCH":
            body = {"subjects": ["mathematics", "physics"]} if kind == "staff" else (
                {"shortName": "Изменено"} if kind == "organizations" else {"name": f"Переименовано {next(_seq)}"})
        if "{id}" in template:
            if obj is None:
                obj = ids[{"users": "user", "api-keys": "apikey", "regions": "region", "municipalities": "municipality",
                           "organizations": "organization", "staff": "staff"}[kind]]
            template = template.replace("{id}", urllib.parse.quote(obj))
        return method, template, body, token, listed


def expected_cells(entry):
    own, other = entry
    out = {}
    for side, row in (("own", own), ("other", other)):
        cells = row.split()
        assert len(cells) == len(ROLES), f"строка таблицы: {len(cells)} ячеек вместо {len(ROLES)}: {row}"
        for role, cell in zip(ROLES, cells):
            out[(role, side)] = cell
    return out


class MatrixTest(StackTestCase):
    WORKERS = 2
    # each matrix caller sends requests back to back; the per-token request budget is tested elsewhere
    EXTRA_ENV = {"METODNET_RATE_LIMIT": "0"}

    @classmethod
    def prepare(cls):
        cls.f = SecurityFixture(cls.stack)
        cls.f.build()

    def openapi_routes(self):
        r = self.stack.get("/api/v1/openapi.json", token=False)
        self.assertEqual(r.status, 200, r)
        routes = set()
        for path, item in r.json["paths"].items():
            for method in item:
                if method.lower() in ("get", "post", "put", "patch", "delete"):
                    routes.add(f"{method.upper()} {path}")
        return routes

    def test_table_covers_every_route(self):
        """A new route cannot be added without its row: this fails until MATRIX has it."""
        routes = self.openapi_routes()
        self.assertGreater(len(routes), 30)
        missing = sorted(routes - set(MATRIX))
        self.assertEqual(missing, [], "маршруты OpenAPI без строки в MATRIX (test_security.py): "
                                      + ", ".join(missing))
        stale = sorted(set(MATRIX) - routes)
        self.assertEqual(stale, [], "строки MATRIX для маршрутов, которых нет в OpenAPI: " + ", ".join(stale))

    def test_matrix(self):
        routes = self.openapi_routes()
        failures = []
        checked = 0
        for route in sorted(routes):
            entry = MATRIX.get(route)
            if entry is None:
                continue  # test_table_covers_every_route reports it
            if isinstance(entry, NOT_IN_HARNESS):
                continue
            for (role, side), cell in expected_cells(entry).items():
                method, path, body, token, listed = self.f.cell_request(route, role, side)
                r = self.stack.request(method, path, body, token=token or False)
                checked += 1
                want = 200 if cell in ("L", "H") else int(cell)
                got = str(r.status)
                if r.status == 200 and cell in ("L", "H"):
                    ids = [item.get("id") for item in r.json.get("items", [])]
                    got = "L" if listed in ids else "H"
                    ok = got == cell
                else:
                    ok = r.status == want
                if not ok:
                    failures.append(f"{route} [{role}, {side}] {method} {path}: ожидалось {cell}, получено {got}: "
                                    f"{r.body[:160]!r}")
                elif r.status >= 400 and route not in ("GET /metrics",):
                    self.assertJsonError(r, r.status)
        self.assertEqual(failures, [], f"{len(failures)} из {checked} ячеек не совпали:\n" + "\n".join(failures))
        self.assertEqual(checked, 2 * len(ROLES) * len([e for e in MATRIX.values()
                                                         if not isinstance(e, NOT_IN_HARNESS)]))
