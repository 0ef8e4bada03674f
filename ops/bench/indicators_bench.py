#!/usr/bin/env python3
"""indicators_bench — the measuring half of ops/bench/indicators.sh (part (a) of issue 11) against a running
stack: loads a region (municipalities, schools, staff through the CSV import), waits until the indicators
service has counted everyone, then measures reads, change-to-visible delay under a steady write rate and the
memory of the indicator state. Exit 1 when a bound is missed (100 ms per read, p99 freshness 1 s)."""

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

A = argparse.ArgumentParser()
for name, kind in (("url", str), ("login", str), ("password", str), ("staff", int), ("municipalities", int),
                   ("schools", int), ("rate", int), ("seconds", int), ("redis-port", int), ("ops-password", str),
                   ("redis-get-rps", float), ("redis-eval-rps", float)):
    A.add_argument("--" + name, type=kind, required=True)
args = A.parse_args()
TOKEN = None


def call(method, path, body=None, raw=None, ctype="application/json", timeout=600):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(args.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:300]


def must(status_body, what):
    status, body = status_body
    if status not in (200, 201):
        sys.exit(f"{what}: HTTP {status} {body}")
    return body


def rcli(*a):
    return subprocess.run(["redis-cli", "--no-auth-warning", "-p", str(args.redis_port), "--user", "ops", "-a",
                           args.ops_password, *a], capture_output=True, text=True, check=True).stdout.strip()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


TOKEN = must(call("POST", "/api/v1/auth/login", {"login": args.login, "password": args.password}), "вход")["token"]
must(call("POST", "/api/v1/regions", {"id": "07", "name": "Регион замера"}), "регион")
muns = [must(call("POST", "/api/v1/municipalities", {"regionId": "07", "name": f"Район {i + 1}", "kind": "district"}),
             "муниципалитет")["id"] for i in range(args.municipalities)]
rows = ["externalId;municipalityId;name;kind"]
for m, mid in enumerate(muns):
    for s in range(args.schools):
        rows.append(f"ORG-{m}-{s};{mid};МКОУ СОШ № {s + 1} района {m + 1};school")
t0 = time.monotonic()
must(call("POST", "/api/v1/import/organizations", raw=("\r\n".join(rows) + "\r\n").encode(), ctype="text/csv"),
     "импорт организаций")
orgs = [f"ORG-{m}-{s}" for m in range(args.municipalities) for s in range(args.schools)]
managers = 0
for start in range(0, args.staff, 2000):
    rows = ["externalId;lastName;firstName;birthDate;professionStartDate;position;category;subjects;organizationExternalId"]
    for i in range(start, min(args.staff, start + 2000)):
        manager = i % 10 == 0
        managers += manager
        birth = f"{1965 + i % 35}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append(f"{100000 + i:06d}-{i};Фамилия{i};Имя;{birth};{2018 + i % 8}-09-01;"
                    f"{'director' if manager else 'teacher'};{'manager' if manager else 'teacher'};"
                    f"{'mathematics' if i % 3 else 'russian_language'};{orgs[i % len(orgs)]}")
    report = must(call("POST", "/api/v1/import/staff", raw=("\r\n".join(rows) + "\r\n").encode(), ctype="text/csv"),
                  "импорт сотрудников")
    if int(report.get("created", 0)) != len(rows) - 1:
        sys.exit(f"импорт сотрудников: создано {report.get('created')} из {len(rows) - 1}: {report.get('errors', [])[:3]}")
load_s = time.monotonic() - t0
teachers = args.staff - managers


def region_values(by="municipality"):
    return must(call("GET", f"/api/v1/indicator-values?scopeKind=region&scopeId=07&period=2026&by={by}"), "значения")


def group_lag():
    """entries of the registry's stream not yet acknowledged by the indicators' group (XINFO GROUPS)"""
    out = rcli("XINFO", "GROUPS", "reg:{r:07}:events").split("\n")
    info = dict(zip(out[0::2], out[1::2]))
    return int(info.get("lag", "1") or 1) + int(info.get("pending", "1") or 1)


deadline = time.monotonic() + 600
while group_lag() > 0:
    if time.monotonic() > deadline:
        sys.exit("служба показателей не догнала поток реестра за 600 с")
    time.sleep(0.5)
v = {x["indicator"]: x for x in region_values()["items"]}
if int(v["I1"].get("denominator", 0)) != teachers or int(v["I2"].get("denominator", 0)) != managers:
    sys.exit(f"значения не сходятся с загруженным: I1 {v['I1']}, I2 {v['I2']}, ожидалось {teachers} и {managers}")
caught_s = time.monotonic() - t0
print(f"загрузка: {args.staff} сотрудников, {len(orgs)} школ, {len(muns)} районов за {load_s:.1f} с; "
      f"показатели досчитаны через {caught_s:.1f} с от начала")

# ---- reads ----
def timed(path):
    t = time.perf_counter()
    must(call("GET", path), path)
    return (time.perf_counter() - t) * 1000


region_ms = [timed("/api/v1/indicator-values?scopeKind=region&scopeId=07&period=2026&by=municipality")
             for _ in range(30)]
mun_ms = [timed(f"/api/v1/indicator-values?scopeKind=municipality&scopeId={m}&period=2026") for m in muns for _ in range(3)]
ok = True
for name, xs in (("регион по районам", region_ms), ("район", mun_ms)):
    line = f"чтение ({name}): p50 {pct(xs, 50):.1f} мс, p99 {pct(xs, 99):.1f} мс, max {max(xs):.1f} мс"
    if max(xs) > 100:
        ok = False
        line += "  — ВЫШЕ 100 мс"
    print(line)
rps = 1000.0 / statistics.mean(region_ms)
if args.redis_get_rps:
    print(f"отношение: чтение региона {rps:.1f} запросов/с = {rps / args.redis_get_rps:.6f} × redis-benchmark GET "
          f"({args.redis_get_rps:.0f}/с), {rps / max(args.redis_eval_rps, 1):.6f} × EVALSHA ({args.redis_eval_rps:.0f}/с)")

# ---- freshness under a steady write rate ----
org_ext = orgs[0]
org_id = None
st, body = call("GET", "/api/v1/organizations?regionId=07&q=" + urllib.parse.quote("МКОУ СОШ № 1 района 1") + "&limit=5") \
    if False else (None, None)
lst = must(call("GET", f"/api/v1/organizations?municipalityId={muns[0]}&limit=500"), "организации")
org_id = [o for o in lst["items"] if o.get("externalId") == org_ext][0]["id"]


def org_den():
    r = must(call("GET", f"/api/v1/indicator-values?scopeKind=organization&scopeId={org_id}&period=2026&indicator=I1"),
             "значение школы")
    return int(r["items"][0].get("denominator", 0))


base = org_den()
acks = []
stop = threading.Event()
seen = {}


def poller():
    while not stop.is_set():
        n = org_den() - base
        now = time.monotonic()
        for k in range(1, n + 1):
            seen.setdefault(k, now)
        time.sleep(0.005)


writes = args.rate * args.seconds
pt = threading.Thread(target=poller)
pt.start()
start = time.monotonic()
lock = threading.Lock()
acks = []


def writer(offset, step):
    for i in range(offset, writes, step):
        target = start + i / args.rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        must(call("POST", "/api/v1/staff", {"lastName": f"Новая{i}", "firstName": "Учительница",
                                             "birthDate": "1990-01-01", "professionStartDate": "2015-09-01",
                                             "position": "teacher", "category": "teacher",
                                             "subjects": ["mathematics"], "organizationIds": [org_id]}), "создание")
        with lock:
            acks.append(time.monotonic())


ws = [threading.Thread(target=writer, args=(k, 4)) for k in range(4)]
for w in ws:
    w.start()
for w in ws:
    w.join()
acks.sort()
achieved = writes / (time.monotonic() - start)
deadline = time.monotonic() + 10
while len(seen) < writes and time.monotonic() < deadline:
    time.sleep(0.05)
stop.set()
pt.join()
# the k-th counted person against the k-th acknowledged write (acknowledgements sorted): with several
# writers this pairs counts with acknowledgements in time order, which bounds each write's delay
delays = [(seen[k] - acks[k - 1]) * 1000 for k in range(1, writes + 1) if k in seen]
delays = [max(0.0, d) for d in delays]
missing = writes - len(delays)
line = (f"свежесть при {achieved:.0f} записях/с ({writes} записей): p50 {pct(delays, 50):.1f} мс, "
        f"p99 {pct(delays, 99):.1f} мс, max {max(delays):.1f} мс; не дошло {missing}")
if missing or pct(delays, 99) > 1000:
    ok = False
    line += "  — НЕ В ПРЕДЕЛАХ 1 с"
print(line)

# ---- memory ----
lua = ("local cur, total, n = '0', 0, 0 repeat local r = redis.call('SCAN', cur, 'MATCH', ARGV[1], 'COUNT', 1000) "
       "cur = r[1] for _, k in ipairs(r[2]) do total = total + (redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') or 0) "
       "n = n + 1 end until cur == '0' return {total, n}")
out = rcli("EVAL", lua, "0", "ind:{r:07}:*").split()
total, keys = int(out[0]), int(out[1])
people = args.staff + writes
used = [line for line in rcli("INFO", "memory").splitlines() if line.startswith("used_memory:")][0].split(":")[1]
print(f"память состояния показателей: {total / 1048576:.1f} МиБ в {keys} ключах, {total / people:.0f} байт на сотрудника "
      f"(всего used_memory Redis {int(used) / 1048576:.1f} МиБ)")
sys.exit(0 if ok else 1)
