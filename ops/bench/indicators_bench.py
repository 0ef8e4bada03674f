#!/usr/bin/env python3
"""indicators_bench — the measuring half of ops/bench/indicators.sh (parts (a) and (c) of issue 11) against a
running stack: loads a region (municipalities, schools, staff through the CSV import), waits until the
indicators service has stored everyone, then measures the first read of a period (the scan that builds its
counters), reads, change-to-visible delay under a steady write rate, the cost of one applied change
(apply.lua, from Redis' SLOWLOG) with 0, 1 and 8 registered periods, the memory of the indicator state, and
a generated national dataset (the region's state copied with DUMP/RESTORE into 28 regions with generated
records per person) against 4 GiB. Exit 1 when a bound is missed (100 ms per read, p99 freshness 1 s, 4 GiB)."""

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

A = argparse.ArgumentParser()
for name, kind in (("url", str), ("login", str), ("password", str), ("staff", int), ("municipalities", int),
                   ("schools", int), ("rate", int), ("seconds", int), ("redis-port", int), ("ops-password", str),
                   ("redis-get-rps", float), ("redis-eval-rps", float), ("national", int)):
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


class Resp:
    """a minimal RESP client (pipelined commands, binary values) for SLOWLOG, DUMP/RESTORE and the generator"""

    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", args.redis_port))
        self.f = self.s.makefile("rb")
        self.out = []
        self.n = 0
        self.call("AUTH", "ops", args.ops_password)

    @staticmethod
    def enc(*a):
        parts = [b"*%d\r\n" % len(a)]
        for x in a:
            x = x if isinstance(x, bytes) else str(x).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(x), x))
        return b"".join(parts)

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"RESP: {line!r}")

    def call(self, *a):
        self.s.sendall(self.enc(*a))
        return self.read()

    def pipe(self, *a):
        self.out.append(self.enc(*a))
        self.n += 1
        if self.n >= 2000:
            self.flush()

    def flush(self):
        if self.out:
            self.s.sendall(b"".join(self.out))
            for _ in range(self.n):
                try:
                    self.read()
                except RuntimeError as e:
                    sys.exit(f"Redis: {e}")
            self.out, self.n = [], 0

    def scan(self, match):
        cur, keys = b"0", []
        while True:
            cur, batch = self.call("SCAN", cur, "MATCH", match, "COUNT", 5000)
            keys += batch
            if cur in (b"0", 0):
                return keys


R = Resp()


def slowlog_start():
    R.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    R.call("CONFIG", "SET", "slowlog-max-len", "200000")
    R.call("SLOWLOG", "RESET")


def slowlog_applies():
    """durations (µs) of apply.lua calls (EVALSHA whose first key is ind:{r:07}:applied) since slowlog_start"""
    entries = R.call("SLOWLOG", "GET", "200000")
    R.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    R.call("SLOWLOG", "RESET")
    out = []
    for e in entries:
        a = e[3]
        if len(a) > 3 and a[0].upper() == b"EVALSHA" and a[3].endswith(b":applied"):
            out.append(int(e[2]))
    return out


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


def caught_up():
    deadline = time.monotonic() + 600
    while group_lag() > 0:
        if time.monotonic() > deadline:
            sys.exit("служба показателей не догнала поток реестра за 600 с")
        time.sleep(0.2)


caught_up()
stored_s = time.monotonic() - t0


def staff_writes(n, org_id, tag):
    for i in range(n):
        must(call("POST", "/api/v1/staff", {"lastName": f"{tag}{i}", "firstName": "Учительница",
                                             "birthDate": "1990-01-01", "professionStartDate": "2015-09-01",
                                             "position": "teacher", "category": "teacher",
                                             "subjects": ["mathematics"], "organizationIds": [org_id]}), "создание")
    caught_up()


lst = must(call("GET", f"/api/v1/organizations?municipalityId={muns[0]}&limit=500"), "организации")
org_id = [o for o in lst["items"] if o.get("externalId") == orgs[0]][0]["id"]
# the cost of one applied change without any registered period (nothing read yet)
slowlog_start()
staff_writes(200, org_id, "Без")
cost0 = slowlog_applies()
extra_staff = 200
t1 = time.perf_counter()
v = {x["indicator"]: x for x in region_values()["items"]}
first_ms = (time.perf_counter() - t1) * 1000
teachers += extra_staff
if int(v["I1"].get("denominator", 0)) != teachers or int(v["I2"].get("denominator", 0)) != managers:
    sys.exit(f"значения не сходятся с загруженным: I1 {v['I1']}, I2 {v['I2']}, ожидалось {teachers} и {managers}")
caught_s = time.monotonic() - t0
print(f"загрузка: {args.staff} сотрудников, {len(orgs)} школ, {len(muns)} районов за {load_s:.1f} с; "
      f"поток применён через {stored_s:.1f} с от начала; первое чтение 2026 (счётчики периода строятся проходом "
      f"по {args.staff + extra_staff} людям) {first_ms:.0f} мс; всё готово через {caught_s:.1f} с")

# ---- reads ----
def timed(path):
    t = time.perf_counter()
    must(call("GET", path), path)
    return (time.perf_counter() - t) * 1000


region_ms = [timed("/api/v1/indicator-values?scopeKind=region&scopeId=07&period=2026&by=municipality")
             for _ in range(30)]
mun_ms = [timed(f"/api/v1/indicator-values?scopeKind=municipality&scopeId={m}&period=2026") for m in muns for _ in range(3)]
ok = True
verdicts = []
for name, xs in (("регион по районам", region_ms), ("район", mun_ms)):
    verdicts.append((max(xs) <= 100, f"чтение 13 показателей ({name}) ≤ 100 мс: max {max(xs):.1f} мс"))
    line = f"чтение ({name}): p50 {pct(xs, 50):.1f} мс, p99 {pct(xs, 99):.1f} мс, max {max(xs):.1f} мс"
    if max(xs) > 100:
        ok = False
        line += "  — ВЫШЕ 100 мс"
    print(line)
org_ms = [timed("/api/v1/indicator-values?scopeKind=region&scopeId=07&period=2026&by=organization")
          for _ in range(5)]
print(f"чтение (регион по {len(orgs)} школам, вне границы): p50 {pct(org_ms, 50):.1f} мс, max {max(org_ms):.1f} мс")
rps = 1000.0 / statistics.mean(region_ms)
if args.redis_get_rps:
    print(f"отношение: чтение региона {rps:.1f} запросов/с = {rps / args.redis_get_rps:.6f} × redis-benchmark GET "
          f"({args.redis_get_rps:.0f}/с), {rps / max(args.redis_eval_rps, 1):.6f} × EVALSHA ({args.redis_eval_rps:.0f}/с)")

# ---- freshness under a steady write rate ----


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


slowlog_start()
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
cost1 = slowlog_applies()
line = (f"свежесть при {achieved:.0f} записях/с ({writes} записей): p50 {pct(delays, 50):.1f} мс, "
        f"p99 {pct(delays, 99):.1f} мс, max {max(delays):.1f} мс; не дошло {missing}")
verdicts.append((not missing and pct(delays, 99) <= 1000,
                 f"изменение видно ≤ 1 с при {achieved:.0f} записях/с: p99 {pct(delays, 99):.1f} мс, не дошло {missing}"))
if missing or pct(delays, 99) > 1000:
    ok = False
    line += "  — НЕ В ПРЕДЕЛАХ 1 с"
print(line)

# ---- the write cost with 8 registered periods ----
more = ["2025", "2024", "2023", "2025/26", "2024/25", "2026-01-01..2026-03-31", "2026-01-01..2026-06-30"]
builds = []
for period in more:
    t = time.perf_counter()
    must(call("GET", f"/api/v1/indicator-values?scopeKind=region&scopeId=07&period={urllib.parse.quote(period)}"),
         "период")
    builds.append((time.perf_counter() - t) * 1000)
n_periods = int(rcli("ZCARD", "ind:{r:07}:periods"))
slowlog_start()
staff_writes(200, org_id, "Восемь")
cost8 = slowlog_applies()
print(f"первое чтение ещё 7 периодов (построение счётчиков): p50 {pct(builds, 50):.0f} мс, max {max(builds):.0f} мс; "
      f"зарегистрировано периодов: {n_periods}")
for name, xs in (("0 периодов", cost0), ("1 период", cost1), (f"{n_periods} периодов", cost8)):
    if xs:
        print(f"стоимость записи (apply.lua одного изменения, SLOWLOG), {name}: p50 {pct(xs, 50)} мкс, "
              f"p99 {pct(xs, 99)} мкс, среднее {statistics.mean(xs):.0f} мкс ({len(xs)} вызовов)")
region_ms8 = [timed("/api/v1/indicator-values?scopeKind=region&scopeId=07&period=2026&by=municipality")
              for _ in range(10)]
print(f"чтение региона по районам при {n_periods} периодах: p99 {pct(region_ms8, 99):.1f} мс")

# ---- memory ----
def state_bytes(pattern):
    total, n = 0, 0
    for k in R.scan(pattern):
        total += R.call("MEMORY", "USAGE", k, "SAMPLES", "0") or 0
        n += 1
    return total, n


total, keys = state_bytes("ind:{r:07}:*")
ctotal, ckeys = state_bytes("ind:{r:07}:c:*")
people = args.staff + writes + 2 * extra_staff
used0 = int(R.call("INFO", "memory").decode().split("used_memory:")[1].split("\r\n")[0])
print(f"память состояния показателей региона: {total / 1048576:.1f} МиБ в {keys} ключах, {total / people:.0f} байт "
      f"на сотрудника; из них счётчики {n_periods} периодов {ctotal / 1048576:.2f} МиБ в {ckeys} ключах "
      f"(всего used_memory Redis {used0 / 1048576:.1f} МиБ)")

# ---- (c) the national dataset, generated ----
# The region's state (40 000 people, their organizations, counters of the registered periods) is copied with
# DUMP/RESTORE under another region's hash tag; the first copy gets generated records per person at the
# densities below (results, routes, attendances, memberships, pairs — the records the indicators keep, in
# the layout apply.lua writes), then that copy is copied again until the national staff count is reached.
copies = -(-args.national // (args.staff + writes + 2 * extra_staff))
src_keys = R.scan("ind:{r:07}:*")


def copy_region(src_tag, dst_tag, keys):
    R.flush()
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        R.s.sendall(b"".join(R.enc("DUMP", k) for k in batch))
        dumps = [R.read() for _ in batch]
        for k, d in zip(batch, dumps):
            if d is not None:
                R.pipe("RESTORE", k.replace(src_tag, dst_tag), "0", d, "REPLACE")
    R.flush()


t = time.monotonic()
copy_region(b"{r:07}", b"{r:g1}", src_keys)
staff_ids = [m.decode() for m in R.call("SMEMBERS", "ind:{r:g1}:people")]
rnd = random.Random(11)
P = "ind:{r:g1}:"
for i, pid in enumerate(staff_ids):
    # 2 independent results with 3 deficits each, a route of 6 items, 3 attendances, 1 membership, a pair for
    # one person in 5; two ДПП completions for one in 3
    R.pipe("HSET", P + "res:" + pid, f"{pid}-r1", "07-c1|2026-03-1%d|t.a.1,t.b.2,t.c.3" % (i % 10),
           f"{pid}-r2", "07-c2|2025-03-1%d|t.a.1,t.d.4,t.e.5" % (i % 10))
    R.pipe("HSET", P + "route:" + pid, *[x for n in range(1, 7) for x in (str(n), "in_progress|2026-04-0%d" % n)])
    R.pipe("HSET", P + "att:" + pid, *[x for n in range(3) for x in (f"{pid}-g{n}", f"07-e{rnd.randrange(2000)}")])
    R.pipe("HSET", P + "mem:" + pid, f"{pid}-k1", f"07-a{rnd.randrange(300)}|2025-09-01|")
    if i % 5 == 0:
        R.pipe("HSET", P + "pair:" + pid, f"07-p{i}", f"mentee|07-g1|2026-02-01||07-s{i + 1}")
    if i % 3 == 0:
        R.pipe("HSET", P + "q:" + pid, f"{pid}-q1", "07-d1|2026-05-20", f"{pid}-q2", "07-d2|2024-05-20")
    R.pipe("SADD", P + "facts", pid)
    R.pipe("SADD", P + "cpp:07-c1", pid)
R.flush()
g_keys = R.scan("ind:{r:g1}:*")
for c in range(2, copies + 1):
    copy_region(b"{r:g1}", b"{r:g%d}" % c, g_keys)
used = int(R.call("INFO", "memory").decode().split("used_memory:")[1].split("\r\n")[0])
national = copies * (args.staff + writes + 2 * extra_staff)
per_copy = (used - used0) / copies
gib = used / 1073741824
line = (f"национальный набор (сгенерирован за {time.monotonic() - t:.0f} с): {copies} регионов × "
        f"{args.staff + writes + 2 * extra_staff} = {national} сотрудников, с записями на человека (2 результата, "
        f"маршрут из 6 пунктов, 3 посещения, членство, пара у каждого 5-го, 2 курса у каждого 3-го) и счётчиками "
        f"{n_periods} периодов: {per_copy / 1048576:.1f} МиБ на регион, used_memory {gib:.2f} ГиБ — "
        f"{'помещается' if gib <= 4 else 'НЕ помещается'} в 4 ГиБ")
if gib > 4:
    ok = False
print(line)
verdicts.append((gib <= 4, f"национальный набор {national} сотрудников в 4 ГиБ Redis: {gib:.2f} ГиБ"))
for good, text in verdicts:
    print(("PASS " if good else "FAIL ") + text)
sys.exit(0 if ok else 1)
