#!/usr/bin/env python3
"""diagnostics_setup.py — prepares the peak benchmark of diagnostics (ops/bench/diagnostics_peak.sh)
through the HTTP API of a running stack: region 07, two municipalities with organizations, N
mathematics teachers spread over them, a 40-item instrument and an open campaign for the
mathematics teachers of both municipalities. Prints the attempt ids (one a line) to --ids.

    diagnostics_setup.py --base-url URL --token TOKEN --teachers 5000 --ids FILE
"""

import argparse
import datetime
import http.client
import json
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

COMPETENCES = ["t.subject.1", "t.subject.2", "t.method.1", "t.method.2", "t.assess.1", "t.assess.2",
               "t.psych.1", "t.comm.1", "t.digital.1", "t.digital.2"]


def instrument():
    """40 items over 10 competences: per competence two single choice, a multiple choice and a scale
    or a numeric item."""
    items = []
    for c, code in enumerate(COMPETENCES):
        for k in range(4):
            n = len(items) + 1
            item = {"id": f"q{n}", "competence": code, "text": f"Задание {n} по компетенции {code}"}
            if k < 2:
                item.update(kind="single_choice", options=[
                    {"id": "a", "text": "Первый вариант", "points": 0},
                    {"id": "b", "text": "Второй вариант", "points": 2},
                    {"id": "c", "text": "Третий вариант", "points": 1}])
            elif k == 2:
                item.update(kind="multiple_choice", maxPoints=2, options=[
                    {"id": "a", "text": "Верное утверждение", "points": 1},
                    {"id": "b", "text": "Ещё одно верное", "points": 1},
                    {"id": "c", "text": "Неверное утверждение", "points": -1}])
            elif c % 2 == 0:
                item.update(kind="scale", scaleMin=1, scaleMax=5)
            else:
                item.update(kind="numeric", maxPoints=2, correctValue=3.5, tolerance=0.01)
            items.append(item)
    return {"title": "Пиковая диагностика учителей математики", "category": "teacher", "items": items}


class Api:
    def __init__(self, base_url, token):
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.token = u.hostname, u.port or 80, token
        self.local = threading.local()

    def call(self, method, path, body=None, timeout=120):
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # a kept-alive connection the gateway closed while it sat idle (its keep-alive timeout;
                # slow under callgrind): nothing was answered on it, so once more on a new one
                self.local.conn = None
                if not reused or attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.local.conn = None
                raise
        if resp.status // 100 != 2:
            raise RuntimeError(f"{method} {path} → HTTP {resp.status}: {payload[:300]!r}")
        return json.loads(payload) if payload else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--teachers", type=int, default=5000)
    ap.add_argument("--organizations", type=int, default=20)
    ap.add_argument("--ids", required=True)
    a = ap.parse_args()
    api = Api(a.base_url, a.token)
    api.call("POST", "/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"})
    muns = [api.call("POST", "/api/v1/municipalities", {"regionId": "07", "name": name, "kind": "district"})["id"]
            for name in ("Терский муниципальный район", "Баксанский муниципальный район")]
    orgs = [api.call("POST", "/api/v1/organizations", {"municipalityId": muns[i % 2], "name": f"МКОУ СОШ № {i + 1}",
                                                        "kind": "school"})["id"] for i in range(a.organizations)]

    def staff(i):
        return api.call("POST", "/api/v1/staff", {
            "lastName": f"Тхагапсоев{i}", "firstName": "Мурат", "birthDate": "1984-05-17",
            "professionStartDate": "2006-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["mathematics"], "organizationIds": [orgs[i % len(orgs)]], "active": True})["id"]

    with ThreadPoolExecutor(16) as pool:
        staff_ids = list(pool.map(staff, range(a.teachers)))
    ins = api.call("POST", "/api/v1/instruments", instrument())
    today = datetime.date.today().isoformat()
    c = api.call("POST", "/api/v1/diagnostics/campaigns", {
        "title": "Пиковая диагностика", "instrumentId": ins["id"], "kind": "self", "startsOn": today,
        "endsOn": "2099-12-31", "target": {"municipalityIds": muns, "categories": ["teacher"], "subjects": ["mathematics"]}})
    opened = api.call("POST", f"/api/v1/diagnostics/campaigns/{c['id']}/open")
    if opened.get("assigned") != a.teachers:
        sys.exit(f"назначено {opened.get('assigned')} вместо {a.teachers}")
    with open(a.ids, "w", encoding="utf-8") as f:
        for s in staff_ids:
            f.write(f"{c['id']}-s{s.split('-s')[1]}\n")
    print(c["id"])


if __name__ == "__main__":
    main()
