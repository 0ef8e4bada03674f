"""test_resilience — what happens when processes fail: two registry workers share the load, a worker
that stops heartbeating fails its in-flight request with 503 while the other keeps serving, and a
kill -9 of Redis loses no acknowledged create and the service recovers by itself."""

import os
import re
import signal
import threading
import time
import unittest

from harness import StackTestCase, run_concurrently


def setup_tree(stack, region_id):
    r = stack.post("/api/v1/regions", {"id": region_id, "name": "Кабардино-Балкарская Республика"})
    assert r.status == 201, r
    r = stack.post("/api/v1/municipalities", {"regionId": region_id, "name": "Терский муниципальный район",
                                              "kind": "district"})
    assert r.status == 201, r
    mun = r.json
    r = stack.post("/api/v1/organizations", {"municipalityId": mun["id"], "name": "МКОУ СОШ № 1 г.п. Терек",
                                             "shortName": "СОШ № 1", "kind": "school"})
    assert r.status == 201, r
    return mun, r.json


def staff(org_id, n):
    return {"lastName": f"Шогенов{'а' if n % 2 else ''}", "firstName": "Мурат" if n % 2 == 0 else "Мадина",
            "middleName": "Асланович" if n % 2 == 0 else "Аслановна", "birthDate": "1980-01-15",
            "professionStartDate": "2002-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["physics"], "organizationIds": [org_id], "qualificationCategory": "highest",
            "active": True}


def prepare_person(cls):
    """The class's tree (cls.mun, cls.org) and one staff member in it (cls.person)."""
    cls.mun, cls.org = setup_tree(cls.stack, "07")
    r = cls.stack.post("/api/v1/staff", staff(cls.org["id"], 0))
    assert r.status == 201, r
    cls.person = r.json


class WorkersTest(StackTestCase):
    """Two registry processes; short heartbeats. Each worker process opens 2 MDP connections, so a
    burst of requests necessarily lands on both processes."""

    WORKERS = 2
    HEARTBEAT_MS = 300  # expiry = 300 ms × 3 = 0.9 s
    EXTRA_ENV = {"METODNET_CONCURRENCY": "2", "METODNET_LOG_LEVEL": "debug"}

    @classmethod
    def prepare(cls):
        prepare_person(cls)

    def get_person(self, rid):
        t0 = time.monotonic()
        try:
            r = self.stack.get(f"/api/v1/staff/{self.person['id']}", headers={"X-Request-Id": rid}, timeout=15)
            return r.status, time.monotonic() - t0
        except OSError as e:
            return f"нет ответа: {e}", time.monotonic() - t0

    def test_1_two_workers_share_load(self):
        rids = [f"share-{os.getpid()}-{i}" for i in range(120)]
        results = run_concurrently(self.get_person, [(rid,) for rid in rids], workers=8)
        statuses = [s for s, _ in results]
        self.assertEqual(statuses.count(200), len(rids), statuses)
        time.sleep(0.3)  # let the workers flush their log lines
        # Each registry process logs every handled request (a JSON line with the request id and/or the
        # method name); count, per process, the requests of this burst that it handled.
        handled = {}
        for name in ("registry-1", "registry-2"):
            text = self.stack.procs[name].log_text()
            by_id = sum(1 for rid in rids if rid in text)
            by_method = len(re.findall(r"GetStaff", text))
            handled[name] = max(by_id, by_method)
        self.assertGreater(handled["registry-1"], 0, f"registry-1 не обработал ни одного запроса: {handled}")
        self.assertGreater(handled["registry-2"], 0, f"registry-2 не обработал ни одного запроса: {handled}")

    def test_2_stuck_worker_fails_fast_and_other_serves(self):
        victim = self.stack.procs["registry-1"]
        expiry = self.HEARTBEAT_MS * 3 / 1000.0
        victim.signal(signal.SIGSTOP)
        try:
            # A burst right after the stop: the broker still believes registry-1's connections are idle,
            # so some requests go to it and hang there until its heartbeat expires.
            results = run_concurrently(self.get_person, [(f"stuck-{i}",) for i in range(16)], workers=16)
            stuck = [(s, t) for s, t in results if s != 200]
            served = [(s, t) for s, t in results if s == 200]
            self.assertTrue(stuck, f"ни один запрос не попал на остановленный обработчик: {results}")
            for status, elapsed in stuck:
                self.assertEqual(status, 503, results)
                self.assertLessEqual(elapsed, expiry + 1.0, f"503 пришёл через {elapsed:.2f} с: {results}")
            self.assertTrue(served, f"второй обработчик не ответил ни на один запрос: {results}")
            fast = [t for _, t in served if t < expiry]
            self.assertTrue(fast, f"второй обработчик отвечал медленно: {results}")
            # after the expiry everything goes to registry-2
            results = run_concurrently(self.get_person, [(f"after-{i}",) for i in range(20)], workers=8)
            self.assertEqual([s for s, _ in results], [200] * 20, results)
        finally:
            self.stack.kill9("registry-1")
        self.assertEqual(self.stack.get("/readyz").status, 200, "один обработчик жив — служба готова")
        r = self.stack.post("/api/v1/staff", staff(self.org["id"], 3))
        self.assertEqual(r.status, 201, r)

        # a restarted worker registers again and takes requests
        self.stack.restart("registry-1")
        deadline = time.monotonic() + 15
        seen = False
        while time.monotonic() < deadline and not seen:
            # bursts wider than registry-2's connections, whatever order the broker picks workers in
            rids = [f"back-{time.monotonic_ns()}-{i}" for i in range(8)]
            results = run_concurrently(self.get_person, [(rid,) for rid in rids], workers=8)
            self.assertEqual([s for s, _ in results], [200] * 8, results)
            time.sleep(0.2)
            text = self.stack.procs["registry-1"].log_text()
            seen = any(rid in text for rid in rids)
        self.assertTrue(seen, "перезапущенный registry-1 не получил ни одного запроса за 15 с")


class RedisCrashTest(StackTestCase):
    """kill -9 of Redis in the middle of creates. Redis runs with appendfsync always here: the test
    checks that every acknowledged (201) create survives, which the default everysec would guarantee
    only up to the last second."""

    WORKERS = 2
    APPENDFSYNC = "always"

    def test_acknowledged_creates_survive_kill9(self):
        mun, org = setup_tree(self.stack, "07")
        acknowledged = []
        failures = []

        def create(n):
            if len(failures) >= 8:
                return "не отправлен"  # Redis is gone: enough failures seen, keep the test short
            try:
                r = self.stack.post("/api/v1/staff", staff(org["id"], n), timeout=15)
            except OSError as e:
                failures.append(e)
                return None
            if r.status == 201:
                acknowledged.append(r.json["id"])
            else:
                failures.append(r.status)
            return r.status

        # a first batch, then a second one with Redis killed in its middle
        first = run_concurrently(create, [(n,) for n in range(40)], workers=8)
        self.assertEqual(first.count(201), 40, first)
        self.assertEqual(failures, [])

        killer = threading.Timer(0.15, self.stack.kill9, args=("redis",))
        killer.start()
        second = run_concurrently(create, [(n,) for n in range(40, 400)], workers=8)
        killer.join()
        self.assertFalse(self.stack.procs["redis"].alive())
        self.assertGreater(second.count(201), 0, f"Redis убит раньше, чем что-то создалось: {second[:20]}")
        self.assertTrue(failures, "ни одно создание не заметило гибели Redis")

        # while Redis is down the service says it is not ready
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = self.stack.get("/readyz").status
            if status == 503:
                break
            time.sleep(0.1)
        self.assertEqual(status, 503, "/readyz без Redis должен отвечать 503")
        r = self.stack.post("/api/v1/staff", staff(org["id"], 1000), timeout=15)
        self.assertGreaterEqual(r.status, 500, f"создание без Redis не может быть подтверждено: {r!r}")

        # same port, same data dir: the AOF brings everything back; the service reconnects by itself
        self.stack.restart("redis")
        self.stack.wait_ready(30)
        missing = []
        for sid in acknowledged:
            r = self.stack.get(f"/api/v1/staff/{sid}")
            if r.status != 200:
                missing.append((sid, r.status))
        self.assertEqual(missing, [], f"подтверждённые создания потеряны: {missing[:10]}")
        listed = {s["id"] for s in self.stack.list_all("staff", organizationId=org["id"])[0]}
        self.assertTrue(set(acknowledged) <= listed, "подтверждённые есть, но пропали из индекса")

        r = self.stack.post("/api/v1/staff", staff(org["id"], 2000))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.stack.get(f"/api/v1/staff/{r.json['id']}").status, 200)


if __name__ == "__main__":
    unittest.main()
