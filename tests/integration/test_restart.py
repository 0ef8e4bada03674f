"""test_restart — a store of real size survives restarts as an operator does them: ≥ 100,000 staff
members are written straight into Redis (tests/tools/gen_staff.c, the registry's own layout, piped to
`redis-cli --pipe`), then the stack is restarted with `./ops/down` + `./ops/up`, and Redis is killed
with -9 under a read load and brought back by `./ops/up`. Each time: ready again, every record
readable, the time to ready printed; while Redis loads, a read answers 503 with Retry-After (never
404, 500 or a corrupt record), and `./ops/up` shows the loading progress instead of giving up.

The real scripts drive the real binaries of METODNET_BIN_DIR (`--no-build`), on free ports and a temp
data dir. METODNET_RESTART_STAFF sets the number of records (default 100000).
"""

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import SANITIZER_MARKERS, Stack, bin_dir, free_port, source_dir

STAFF = int(os.environ.get("METODNET_RESTART_STAFF", "100000"))


class OpsStack(Stack):
    """A stack run by ./ops/up and ./ops/down: the harness's HTTP helpers, the scripts' processes."""

    def __init__(self):
        super().__init__(workers=1, name="restart")
        self.data_dir = self.dir
        self.ops_env = dict(os.environ)
        for key in list(self.ops_env):
            if key.startswith("METODNET_") and key not in ("METODNET_BIN_DIR", "METODNET_SOURCE_DIR"):
                del self.ops_env[key]
        self.ops_env.update({
            "METODNET_DATA_DIR": self.data_dir,
            "METODNET_HTTP_PORT": str(self.http_port),
            "METODNET_REDIS_PORT": str(self.redis_port),
            "METODNET_BROKER": f"tcp://127.0.0.1:{self.broker_port}",
            "METODNET_BUILD_DIR": bin_dir(),
            "METODNET_READY_TIMEOUT": "120",
            "METODNET_LOG_LEVEL": "warn",
            "METODNET_RATE_LIMIT": "0",
        })
        self.ops_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        self.ops_env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")

    def ops(self, script, *args, timeout=600):
        """Runs ops/<script>; returns (exit code, output, seconds)."""
        started = time.monotonic()
        r = subprocess.run([os.path.join(source_dir(), "ops", script), *args], env=self.ops_env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr, time.monotonic() - started

    def up(self):
        return self.ops("up", "--no-build", "--no-demo", "--workers", "1")

    def redis_password(self, user):
        with open(os.path.join(self.data_dir, "redis-passwords"), encoding="utf-8") as f:
            for line in f:
                name, _, password = line.strip().partition(" ")
                if name == user:
                    return password
        raise AssertionError(f"нет пароля Redis пользователя {user}")

    def redis_cli(self, *args, user="ops", timeout=60, input=None):
        env = dict(os.environ, REDISCLI_AUTH=self.redis_password(user))
        return subprocess.run([shutil.which("redis-cli") or "/usr/bin/redis-cli", "--no-auth-warning", "--user",
                               user, "-h", "127.0.0.1", "-p", str(self.redis_port), *args], env=env,
                              capture_output=True, input=input, timeout=timeout)

    def pid(self, name):
        try:
            with open(os.path.join(self.data_dir, "run", f"{name}.pid"), encoding="utf-8") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def admin_login_and_password(self):
        with open(os.path.join(self.data_dir, "initial-admin"), encoding="utf-8") as f:
            login, _, password = f.readline().strip().partition(":")
        return login, password

    def log_problems(self):
        problems = []
        logs = os.path.join(self.data_dir, "logs")
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    problems.append(f"{name}: отчёт санитайзера «{marker}»")
        return problems


class RestartOfABigStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = OpsStack()
        cls.addClassCleanup(cls._down)
        code, out, seconds = cls.stack.up()
        if code != 0:
            raise AssertionError(f"первый ./ops/up: код {code}\n{out}")
        login, password = cls.stack.admin_login_and_password()
        cls.stack.tokens = [cls.stack.login(login, password)]
        s = cls.stack
        r = s.post("/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"})
        assert r.status == 201, r
        r = s.post("/api/v1/municipalities", {"regionId": "07", "name": "Большой район", "kind": "district"})
        assert r.status == 201, r
        cls.municipality = r.json["id"]
        r = s.post("/api/v1/organizations", {"municipalityId": cls.municipality, "name": "МКОУ СОШ № 1",
                                             "shortName": "СОШ № 1", "kind": "school"})
        assert r.status == 201, r
        cls.organization = r.json["id"]
        # ≥ 100,000 staff members straight into Redis, as the registry stores them
        gen = subprocess.run([os.path.join(bin_dir(), "tests", "metodnet-gen-staff"), "--region", "07",
                              "--municipality", cls.municipality, "--organization", cls.organization,
                              "--count", str(STAFF), "--first", "1000"], capture_output=True, timeout=300)
        assert gen.returncode == 0, gen.stderr
        loaded = s.redis_cli("--pipe", input=gen.stdout, timeout=300)
        assert loaded.returncode == 0 and b"errors: 0" in loaded.stdout, loaded.stdout + loaded.stderr
        cls.ids = {f"07-s{n}" for n in range(1000, 1000 + STAFF)}
        print(f"\n[restart] записано {STAFF} сотрудников прямо в Redis ({len(gen.stdout) / 1e6:.0f} МБ команд)",
              file=sys.stderr)

    @classmethod
    def _down(cls):
        code, out, _ = cls.stack.ops("down")
        problems = cls.stack.log_problems()
        if code != 0 or problems:
            print(out, file=sys.stderr)
            print(f"\nжурналы оставлены в {cls.stack.data_dir}", file=sys.stderr)
            raise AssertionError(f"./ops/down: код {code}; {'; '.join(problems)}")
        shutil.rmtree(cls.stack.data_dir, ignore_errors=True)

    def assertEveryRecordReadable(self):
        items, pages = self.stack.list_all("staff", municipalityId=self.municipality)
        got = {item["id"] for item in items}
        self.assertEqual(len(got), STAFF, f"прочитано {len(got)} из {STAFF} за {pages} страниц")
        self.assertEqual(got, self.ids)
        for staff_id in random.sample(sorted(self.ids), 20):
            r = self.stack.get(f"/api/v1/staff/{staff_id}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["organizationIds"], [self.organization])

    def relogin(self):
        login, password = self.stack.admin_login_and_password()
        self.stack.tokens = [self.stack.login(login, password)]

    def test_1_down_and_up_of_a_big_store(self):
        s = self.stack
        aof = subprocess.run(["du", "-sb", os.path.join(s.data_dir, "redis", "appendonlydir")],
                             capture_output=True, text=True).stdout.split()[0]
        code, out, _ = s.ops("down")
        self.assertEqual(code, 0, out)
        code, out, seconds = s.up()
        print(f"\n[restart] ./ops/down + ./ops/up: готово за {seconds:.1f} с (AOF {int(aof) / 1e6:.0f} МБ)\n"
              + "\n".join(line for line in out.splitlines() if "Redis" in line), file=sys.stderr)
        self.assertEqual(code, 0, out)
        self.assertIn("Служба готова", out)
        self.assertNotIn("ОШИБКА", out)
        self.relogin()
        self.assertEveryRecordReadable()

    def test_2_kill9_of_redis_under_a_read_load(self):
        s = self.stack
        ids = sorted(self.ids)
        statuses, bad, stop = {}, [], threading.Event()
        lock = threading.Lock()

        def reader():
            while not stop.is_set():
                staff_id = random.choice(ids)
                try:
                    r = s.get(f"/api/v1/staff/{staff_id}", timeout=15)
                except OSError as e:  # the gateway stays up: a refused connection is a defect
                    with lock:
                        bad.append(f"GET {staff_id}: {e!r}")
                    continue
                with lock:
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status == 503 and not r.header("retry-after"):
                        bad.append(f"503 без Retry-After: {r!r}")
                    elif r.status not in (200, 503):
                        bad.append(f"GET {staff_id}: {r!r}")
                    elif r.status == 200 and r.json.get("id") != staff_id:
                        bad.append(f"GET {staff_id}: чужая запись {r!r}")

        readers = [threading.Thread(target=reader) for _ in range(4)]
        for t in readers:
            t.start()
        try:
            time.sleep(1.0)
            redis_pid = s.pid("redis")
            self.assertIsNotNone(redis_pid)
            os.kill(redis_pid, 9)
            killed = time.monotonic()
            time.sleep(0.3)
            code, out, _ = s.up()  # starts what is missing: Redis; the services are left running
            ready = time.monotonic() - killed
            self.assertEqual(code, 0, out)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in readers:
                t.join(30)
        print(f"\n[restart] kill -9 Redis под нагрузкой чтения: снова готово через {ready:.1f} с; ответы {statuses}",
              file=sys.stderr)
        self.assertEqual(bad[:5], [])
        self.assertGreater(statuses.get(200, 0), 0)
        for name in ("gateway", "auth", "registry-1", "diagnostics-1"):
            pid = s.pid(name)
            self.assertIsNotNone(pid, name)
            os.kill(pid, 0)  # still the same process: nothing crashed or had to be restarted
        self.assertEveryRecordReadable()


if __name__ == "__main__":
    unittest.main()
