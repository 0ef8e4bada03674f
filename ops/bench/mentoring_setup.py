#!/usr/bin/env python3
"""mentoring_setup.py — prepares the matching benchmark (ops/bench/mentoring_match.sh) through the
HTTP API of a running stack that holds the generated region (metodctl demo region --load): an
instrument of 10 competences, an independent diagnostics campaign for every teacher of the region,
one result per teacher imported from CSV (deterministic from --seed: experienced teachers score higher
than young ones, strengths at ≥ 85 %, deficits under 50 %), mentor profiles for a share of the
experienced teachers (certified, 3 places), and a regional mentoring programme. Prints one JSON line:
{"programme", "mentee", "municipality", "teachers", "young", "profiles", "results"}.

    mentoring_setup.py --base-url URL --token TOKEN [--seed 10] [--profiles 0.05]
"""

import argparse
import datetime
import http.client
import json
import random
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

COMPETENCES = ["t.subject.1", "t.subject.2", "t.method.1", "t.method.2", "t.assess.1", "t.assess.2",
               "t.psych.1", "t.comm.1", "t.digital.1", "t.digital.2"]
IMPORT_ROWS = 4000


class Api:
    def __init__(self, base_url, token):
        u = urllib.parse.urlparse(base_url)
        self.host, self.port, self.token = u.hostname, u.port or 80, token

    def call(self, method, path, body=None, raw=None, content_type="application/json", timeout=600):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} → {r.status}: {payload[:400]!r}")
        return json.loads(payload) if payload and r.getheader("Content-Type", "").startswith("application/json") else payload


def all_pages(api, path):
    items, cursor = [], ""
    while True:
        sep = "&" if "?" in path else "?"
        page = api.call("GET", f"{path}{sep}limit=500" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
        items += page.get("items", [])
        cursor = page.get("nextCursor", "")
        if not cursor:
            return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--profiles", type=float, default=0.05)
    args = ap.parse_args()
    api = Api(args.base_url, args.token)
    rnd = random.Random(args.seed)
    today = datetime.date.today()
    muns = all_pages(api, "/api/v1/municipalities?regionId=07")
    staff = all_pages(api, "/api/v1/staff?regionId=07&active=true&category=teacher")
    young_cut = today.replace(year=today.year - 35)

    def young(s):
        try:
            return datetime.date.fromisoformat(s.get("birthDate", "")) > young_cut
        except ValueError:
            return False

    items = [{"id": f"q{i + 1}", "competence": c, "kind": "scale", "text": f"Самооценка: {c}",
              "scaleMin": 1, "scaleMax": 5} for i, c in enumerate(COMPETENCES)]
    instrument = api.call("POST", "/api/v1/instruments", {
        "title": "Независимая диагностика учителей региона", "category": "teacher", "items": items})
    campaign = api.call("POST", "/api/v1/diagnostics/campaigns", {
        "title": "Независимая диагностика для наставничества", "instrumentId": instrument["id"],
        "kind": "independent", "startsOn": (today - datetime.timedelta(days=30)).isoformat(),
        "endsOn": "2099-12-31", "target": {"municipalityIds": [m["id"] for m in muns], "categories": ["teacher"]}})
    api.call("POST", f"/api/v1/diagnostics/campaigns/{campaign['id']}/open")
    header = "Код сотрудника;Дата;" + ";".join(COMPETENCES)
    date_ru = today.strftime("%d.%m.%Y")
    rows = []
    for s in staff:
        mean = 50 if young(s) else 66
        scores = [max(0, min(100, int(rnd.gauss(mean, 16)))) for _ in COMPETENCES]
        rows.append(f"{s['id']};{date_ru};" + ";".join(str(x) for x in scores))
    created = 0
    for at in range(0, len(rows), IMPORT_ROWS):
        text = "\r\n".join([header] + rows[at:at + IMPORT_ROWS]) + "\r\n"
        report = api.call("POST", "/api/v1/diagnostics/results/import?campaignId=" + campaign["id"],
                          raw=text.encode("utf-8"), content_type="text/csv")
        created += report.get("created", 0) + report.get("updated", 0)
    experienced = [s for s in staff if not young(s)]
    chosen = rnd.sample(experienced, int(len(experienced) * args.profiles))

    def profile(s):
        api.call("POST", "/api/v1/mentors", {"staffId": s["id"], "certified": True, "certifiedOn": "2025-06-01",
                                             "certificationAct": "Приказ Минпросвещения КБР № 415", "maxMentees": 3})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(profile, chosen))
    programme = api.call("POST", "/api/v1/support-programmes", {
        "kind": "mentoring", "level": "regional", "regionId": "07", "title": "Региональная программа наставничества",
        "startsOn": today.isoformat(), "actNumber": "01-07/112", "actDate": today.isoformat()})
    by_mun = {}
    for s in staff:
        if young(s) and s.get("municipalityIds"):
            by_mun.setdefault(s["municipalityIds"][0], []).append(s)
    municipality = max(by_mun, key=lambda m: (len(by_mun[m]), m))
    mentee = sorted(by_mun[municipality], key=lambda s: s["id"])[0]
    print(json.dumps({"programme": programme["id"], "mentee": mentee["id"], "municipality": municipality,
                      "teachers": len(staff), "young": sum(1 for s in staff if young(s)),
                      "young_in_municipality": len(by_mun[municipality]), "profiles": len(chosen),
                      "results": created}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 — the shell script reports
        print(f"подготовка не удалась: {e}", file=sys.stderr)
        sys.exit(1)
