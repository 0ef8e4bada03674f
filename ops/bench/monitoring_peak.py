#!/usr/bin/env python3
"""monitoring_peak.py — the generator and the setup of ops/bench/monitoring_peak.sh (the reporting peak).

    monitoring_peak.py setup --base-url URL --token TOKEN --schools N --municipalities M --out DIR
        region 07, M municipalities, N schools (one CSV import), a regional monitoring campaign from the
        "school-heads" template (6 expert-assessed fields with evidence) opened for every school; writes
        DIR/campaign (its id), DIR/schools (organization id, municipality id a line), DIR/fields.
    monitoring_peak.py sessions --schools-file F --out FILE
        one school administrator session per school (a Principal as auth's session script stores it:
        role school_admin, scope the organization), as redis-cli commands on stdout, tokens into FILE —
        logging 1,500 administrators in would measure Argon2id, not the peak; the gateway and auth check
        each token exactly as a login's.
    monitoring_peak.py submit --base-url URL --campaign ID --tokens FILE --schools-file F --fields F
            --concurrency C
        every school submits its whole form (POST …/reports/{org}/submit with values) once, with its own
        token, at most C at a time; --window W spreads the starts evenly over W seconds (latency counted from
        each school's due moment, so a late start is not hidden), 0 sends them at once; prints one RESULT
        line (count, seconds, rps, p50/p99/max ms, statuses).
"""

import argparse
import hashlib
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse


def api(base_url, token, method, path, body=None, raw=None, content_type="application/json", timeout=300):
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={"Authorization": "Bearer " + token, "Content-Type": content_type})
    r = conn.getresponse()
    text = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {text[:300]!r}")
    return json.loads(text) if text else {}


def setup(a):
    post = lambda path, body: api(a.base_url, a.token, "POST", path, body)  # noqa: E731
    post("/api/v1/regions", {"id": "07", "name": "Регион замера"})
    muns = [post("/api/v1/municipalities", {"regionId": "07", "name": f"Район {i + 1}", "kind": "district"})["id"]
            for i in range(a.municipalities)]
    rows = ["externalId;municipalityId;name;kind"]
    for i in range(a.schools):
        rows.append(f"PEAK-{i + 1};{muns[i % len(muns)]};МБОУ СОШ № {i + 1};school")
    report = api(a.base_url, a.token, "POST", "/api/v1/import/organizations", raw=("\r\n".join(rows) + "\r\n").encode(),
                 content_type="text/csv; charset=utf-8")
    if report.get("created") != a.schools:
        raise SystemExit(f"импорт организаций: {report}")
    schools = []
    cursor = ""
    while True:
        q = f"/api/v1/organizations?regionId=07&limit=500" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = api(a.base_url, a.token, "GET", q)
        schools += [(o["id"], o["municipalityId"]) for o in page["items"]]
        cursor = page.get("nextCursor") or ""
        if not cursor:
            break
    deadline = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    os.makedirs(a.out, exist_ok=True)
    ids = []
    for title in ("Мониторинг эффективности руководителей", "Мониторинг (залп)"):
        c = post("/api/v1/monitoring/campaigns", {"regionId": "07", "title": title, "period": "2025/26",
                                                  "deadline": deadline, "template": "school-heads",
                                                  "organizationKind": "school"})
        c = post(f"/api/v1/monitoring/campaigns/{c['id']}/open", {})
        if c["requiredCount"] != a.schools:
            raise SystemExit(f"в охвате {c['requiredCount']} организаций, а не {a.schools}")
        ids.append(c["id"])
    with open(os.path.join(a.out, "campaign"), "w") as f:
        f.write(" ".join(ids) + "\n")
    with open(os.path.join(a.out, "schools"), "w") as f:
        f.writelines(f"{o} {m}\n" for o, m in schools)
    with open(os.path.join(a.out, "fields"), "w") as f:
        json.dump([x["code"] for x in c["fields"]], f)
    print(" ".join(ids))


def pb_string(num, s):
    b = s.encode()
    return bytes([num << 3 | 2, len(b)]) + b


def pb_varint(num, v):
    return bytes([num << 3, v])


def sessions(a):
    """redis-cli commands (one a line, inline syntax) creating a session per school."""
    now_ms = int(time.time() * 1000)
    tokens = []
    for line in open(a.schools_file):
        org, mun = line.split()
        token = "mns_" + secrets.token_hex(16)
        user = "bench-sa-" + org
        principal = (pb_string(1, user) + pb_varint(2, 3) + pb_varint(3, 4) + pb_string(4, org) + pb_string(5, "07") +
                     pb_string(6, mun))
        key = "auth:{g}:session:" + hashlib.sha256(token.encode()).hexdigest()
        # redis-cli reads "\xNN" inside double quotes as a byte
        p = "".join(f"\\x{b:02x}" for b in principal)
        sys.stdout.write(f'HSET {key} p "{p}" u {user} c {now_ms}\nPEXPIRE {key} 3600000\n')
        tokens.append(token)
    with open(a.out, "w") as f:
        f.writelines(t + "\n" for t in tokens)


def submit(a):
    campaign = a.campaign
    tokens = [t.strip() for t in open(a.tokens)]
    schools = [line.split()[0] for line in open(a.schools_file)]
    codes = json.load(open(a.fields))
    u = urllib.parse.urlsplit(a.base_url)
    jobs = list(zip(schools, tokens))
    latencies = [0.0] * len(jobs)
    statuses = [0] * len(jobs)
    nxt = [0]
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(jobs):
                break
            org, token = jobs[i]
            due = start + i * step  # paced: school i starts at its moment of the window
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            values = [{"code": c, "value": str((i + k) % 4), "evidence": f"Приказ № {i + 1}-{k} от 01.09.2025"}
                      for k, c in enumerate(codes)]
            body = json.dumps({"values": values}, ensure_ascii=False).encode()
            t0 = min(time.perf_counter(), due) if step else time.perf_counter()  # late start counts as latency
            try:
                conn.request("POST", f"/api/v1/monitoring/campaigns/{campaign}/reports/{org}/submit", body=body,
                             headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                statuses[i] = r.status
            except (OSError, http.client.HTTPException):
                statuses[i] = -1
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
            latencies[i] = (time.perf_counter() - t0) * 1000.0
        conn.close()

    start = time.perf_counter()
    step = a.window / len(jobs) if a.window > 0 else 0.0
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    lat = sorted(latencies)
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]  # noqa: E731
    ok = sum(1 for s in statuses if 200 <= s < 300)
    other = {}
    for s in statuses:
        if not 200 <= s < 300:
            other[s] = other.get(s, 0) + 1
    print(f"RESULT n={len(jobs)} ok={ok} seconds={seconds:.2f} rps={len(jobs) / seconds:.1f} p50_ms={pct(0.50):.2f} "
          f"p99_ms={pct(0.99):.2f} max_ms={lat[-1]:.2f} failed={sum(other.values())} statuses={other}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--base-url", required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--schools", type=int, default=1500)
    s.add_argument("--municipalities", type=int, default=20)
    s.add_argument("--out", required=True)
    s = sub.add_parser("sessions")
    s.add_argument("--schools-file", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("submit")
    s.add_argument("--base-url", required=True)
    s.add_argument("--campaign", required=True)
    s.add_argument("--tokens", required=True)
    s.add_argument("--schools-file", required=True)
    s.add_argument("--fields", required=True)
    s.add_argument("--concurrency", type=int, default=32)
    s.add_argument("--window", type=float, default=0.0, help="spread the submits over this many seconds (0: at once)")
    a = p.parse_args()
    {"setup": setup, "sessions": sessions, "submit": submit}[a.cmd](a)


if __name__ == "__main__":
    main()
