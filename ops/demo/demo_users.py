#!/usr/bin/env python3
"""demo_users — one user of each lower role in the demo district, created through the API by the
region administrator (ops/up runs it after the demo data is loaded):

    metodist.terek  municipal_methodologist, scope: Терский муниципальный район
    direktor.sosh1  school_admin,            scope: МКОУ СОШ № 1 г.п. Терек
    uchitel.sosh1   teacher,                 scope: self (the first teacher of that school by name)

Credentials live in one file (ops/up: <data dir>/initial-admin, mode 0600), one `login:password` line
per user; the first line is the region administrator's and is only read. Idempotent: a user present in
the store and in the file is left alone; a user in the store but not in the file gets a new password
(POST /api/v1/users/{id}/password); a user in the file but not in the store is created with the
file's password. Passwords are never printed or logged. Python 3 standard library only.

    demo_users.py --base-url URL --credentials FILE [--admin-login admin]
"""

import argparse
import json
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

MUNICIPALITY_NAME = "Терский муниципальный район"
SCHOOL_NAME = "МКОУ СОШ № 1 г.п. Терек"
REGION = "07"


class ApiError(RuntimeError):
    pass


def read_credentials(path):
    """[(login, password)] in file order."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if ":" in line:
                login, password = line.split(":", 1)
                out.append((login, password))
    return out


def write_credentials(path, entries):
    """Rewrites the file atomically, mode 0600."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for login, password in entries:
            f.write(f"{login}:{password}\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.token = None

    def call(self, method, path, body=None, ok=(200, 201)):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            payload = e.read().decode("utf-8", errors="replace")
            if e.code in ok:
                return e.code, json.loads(payload)
            try:
                message = json.loads(payload)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = payload[:200]
            raise ApiError(f"{method} {path.split('?')[0]}: HTTP {e.code}: {message}") from None

    def get(self, path, **query):
        return self.call("GET", f"{path}?{urllib.parse.urlencode(query)}" if query else path)[1]


def find_one(items, what, predicate):
    for item in items:
        if predicate(item):
            return item
    raise ApiError(f"в демо-данных не найдено: {what}")


def main(argv=None):
    p = argparse.ArgumentParser(description="Демонстрационные пользователи каждой роли в Терском районе")
    p.add_argument("--base-url", required=True)
    p.add_argument("--credentials", required=True, help="файл login:password (первая строка — администратор)")
    p.add_argument("--admin-login", default="admin")
    args = p.parse_args(argv)

    entries = read_credentials(args.credentials)
    admin = dict(entries).get(args.admin_login)
    if admin is None:
        print(f"[ОШИБКА] в {args.credentials} нет строки {args.admin_login}:…", file=sys.stderr)
        return 1
    api = Api(args.base_url)
    try:
        _, login = api.call("POST", "/api/v1/auth/login", {"login": args.admin_login, "password": admin})
        api.token = login["token"]
        mun = find_one(api.get("/api/v1/municipalities", regionId=REGION, limit="500")["items"],
                       MUNICIPALITY_NAME, lambda m: m["name"] == MUNICIPALITY_NAME)
        org = find_one(api.get("/api/v1/organizations", municipalityId=mun["id"], limit="500")["items"],
                       SCHOOL_NAME, lambda o: o["name"] == SCHOOL_NAME)
        teacher = find_one(api.get("/api/v1/staff", organizationId=org["id"], category="teacher",
                                   limit="1")["items"], f"учитель в {SCHOOL_NAME}", lambda s: True)
        teacher_name = " ".join(x for x in (teacher.get("lastName"), teacher.get("firstName"),
                                            teacher.get("middleName")) if x)
        wanted = [
            {"login": "metodist.terek", "fullName": "Методист Терского района",
             "role": "municipal_methodologist", "scope": {"kind": "municipality", "id": mun["id"]}},
            {"login": "direktor.sosh1", "fullName": f"Администратор: {SCHOOL_NAME}",
             "role": "school_admin", "scope": {"kind": "organization", "id": org["id"]}},
            {"login": "uchitel.sosh1", "fullName": teacher_name or "Учитель",
             "role": "teacher", "scope": {"kind": "self", "id": teacher["id"]}, "staffId": teacher["id"]},
        ]
        existing = {}
        cursor = ""
        while True:
            page = api.get("/api/v1/users", limit="500", **({"cursor": cursor} if cursor else {}))
            for u in page.get("items", []):
                existing[u["login"]] = u
            cursor = page.get("nextCursor", "")
            if not cursor:
                break
        known = dict(entries)
        for user in wanted:
            password = known.get(user["login"])
            if user["login"] in existing:
                if password is None:
                    password = secrets.token_urlsafe(15)
                    api.call("POST", f"/api/v1/users/{existing[user['login']]['id']}/password",
                             {"password": password})
                    print(f"Пользователю {user['login']} задан новый пароль (его не было в файле)", file=sys.stderr)
                else:
                    continue
            else:
                password = password or secrets.token_urlsafe(15)
                api.call("POST", "/api/v1/users", dict(user, password=password))
                print(f"Создан пользователь {user['login']} ({user['role']})", file=sys.stderr)
            if user["login"] not in known:
                entries.append((user["login"], password))
                known[user["login"]] = password
            write_credentials(args.credentials, entries)
    except (ApiError, OSError, KeyError, ValueError) as e:
        print(f"[ОШИБКА] демо-пользователи: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
