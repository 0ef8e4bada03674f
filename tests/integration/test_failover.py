"""test_failover — Redis failover with Sentinel under a light write load: a master, one replica and three
Sentinels (harness HA), every service finding the master through the Sentinels and every entity write
waiting for the replica (METODNET_REDIS_WAIT_REPLICAS=1). kill -9 of the master: the platform serves
reads again and then writes (once the killed node is back, as a replica the Sentinels reconfigure) within
a bound, every write acknowledged (201, i.e. confirmed by WAIT) is there after the failover, and each
write refused in the window, retried with its Idempotency-Key, is there exactly once.

The figures (seconds until reads and writes are served again, writes refused in the window) are
printed; docs/operations.md quotes them."""

import os
import sys
import threading
import time
import unittest

from harness import StackTestCase
from test_resilience import prepare_person, staff

SERVE_BOUND_S = 30.0  # the platform must serve again within this after kill -9 of the master


class FailoverTest(StackTestCase):
    HA = True
    WORKERS = 2
    EXTRA_ENV = {"METODNET_REDIS_WAIT_REPLICAS": "1", "METODNET_REDIS_WAIT_MS": "500",
                 "METODNET_RATE_LIMIT": "0"}

    @classmethod
    def prepare(cls):
        prepare_person(cls)

    def body(self, n):
        return dict(staff(self.org["id"], n), lastName=f"Отказов-{os.getpid()}-{n}")

    def post(self, n):
        """One write with its own Idempotency-Key; (status or error text, id or None)."""
        try:
            r = self.stack.post("/api/v1/staff", self.body(n), headers={"Idempotency-Key": f"failover-{n}"},
                                timeout=8)
            return r.status, (r.json.get("id") if r.status == 201 else None), r
        except OSError as e:
            return f"нет ответа: {e}", None, None

    def test_kill_master_under_load(self):
        stack = self.stack
        old_master = stack.sentinel_master()
        self.assertEqual(old_master, stack.redis_port, "до отказа Sentinel должны называть основной узел")
        attempts = []  # (n, t_sent, t_done, status, id)
        reads = []     # (t_done, ok)
        stop = threading.Event()

        def writer():
            n = 1
            while not stop.is_set():
                t0 = time.monotonic()
                status, sid, _ = self.post(n)
                attempts.append((n, t0, time.monotonic(), status, sid))
                n += 1
                if status != 201:
                    time.sleep(0.05)

        def reader():
            while not stop.is_set():
                try:
                    r = stack.get(f"/api/v1/staff/{self.person['id']}", timeout=5)
                    reads.append((time.monotonic(), r.status == 200))
                except OSError:
                    reads.append((time.monotonic(), False))
                time.sleep(0.05)

        threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        try:
            time.sleep(3)
            acked_before = sum(1 for a in attempts if a[3] == 201)
            self.assertGreater(acked_before, 5, f"до отказа записи не идут: {attempts[-5:]}")
            t_kill = time.monotonic()
            stack.kill9("redis")
            # the Sentinels promote the replica
            new_master = None
            while time.monotonic() - t_kill < SERVE_BOUND_S:
                new_master = stack.sentinel_master()
                if new_master not in (None, old_master):
                    break
                time.sleep(0.1)
            t_promoted = time.monotonic()
            self.assertEqual(new_master, stack.replica_port, "Sentinel не назначили реплику основным узлом")
            # the killed node comes back (as a supervisor would restart it) and is made a replica of the new
            # master: until then WAIT 1 cannot be met and writes are refused (docs/operations.md)
            stack.restart("redis")
            t_back = time.monotonic()
            deadline = t_kill + SERVE_BOUND_S + 10
            while time.monotonic() < deadline:
                if sum(1 for a in attempts if a[1] > t_back and a[3] == 201) >= 20:
                    break
                time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join(30)

        first_read = next((t for t, ok in reads if t > t_kill and ok), None)
        first_write = next((a[2] for a in attempts if a[1] > t_kill and a[3] == 201), None)
        refused = [a for a in attempts if a[3] != 201]
        in_window = [a for a in refused if a[2] > t_kill]
        acked = [a for a in attempts if a[3] == 201]
        n_read = None if first_read is None else first_read - t_kill
        n_write = None if first_write is None else first_write - t_kill
        print(f"\n[failover] kill -9 основного узла: Sentinel назначили новый за {t_promoted - t_kill:.1f} с; "
              f"чтение снова за {n_read if n_read is None else round(n_read, 1)} с, запись (WAIT 1) снова за "
              f"{n_write if n_write is None else round(n_write, 1)} с (старый узел запущен вновь через "
              f"{t_back - t_kill:.1f} с); записей подтверждено {len(acked)}, отказано {len(refused)} "
              f"(в окне {len(in_window)}): {sorted(set(str(a[3]) for a in refused))}", file=sys.stderr)
        self.assertIsNotNone(n_read, "чтение не восстановилось")
        self.assertLess(n_read, SERVE_BOUND_S)
        self.assertIsNotNone(n_write, "запись не восстановилась")
        self.assertLess(n_write, SERVE_BOUND_S)
        self.assertGreaterEqual(stack.sentinel_master(), 1)

        # every acknowledged write is there, on the new master
        lost = []
        for n, _, _, _, sid in acked:
            r = stack.get(f"/api/v1/staff/{sid}")
            if r.status != 200 or r.json.get("lastName") != self.body(n)["lastName"]:
                lost.append((n, sid, r.status))
        self.assertEqual(lost, [], f"подтверждённые записи потеряны: {lost}")

        # each refused one, retried with its Idempotency-Key, ends up there once
        retried = {}
        for n, *_ in refused:
            deadline = time.monotonic() + 30
            while True:
                status, sid, r = self.post(n)
                if status == 201:
                    retried[n] = sid
                    break
                self.assertLess(time.monotonic(), deadline, f"повтор записи {n} не удался: {status} {r!r}")
                time.sleep(0.3)  # 409: the first try with this key is still pending; 503: not confirmed yet
        items, _ = stack.list_all("staff", organizationId=self.org["id"])
        counts = {}
        for item in items:
            counts[item["lastName"]] = counts.get(item["lastName"], 0) + 1
        wrong = {n: counts.get(self.body(n)["lastName"], 0) for n, *_ in attempts
                 if counts.get(self.body(n)["lastName"], 0) != 1}
        self.assertEqual(wrong, {}, "записи, которых нет ровно одной (номер: сколько их)")
        print(f"[failover] после отказа на месте все {len(acked)} подтверждённых; {len(retried)} отказанных "
              f"повторены с тем же Idempotency-Key и есть ровно по одной", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
