"""test_broker_auth — nobody speaks to the MDP broker without a key (issue 15, docs/security.md "Брокер MDP").

The attacker is a local process that connects to the broker port and sends `registry.GetStaff` with a
hand-made envelope whose caller says ROLE_SYSTEM, scope ALL (tests/tools/mdp_probe.c, built as
metodnet-mdp-probe). Against the real stack of harness.py (broker behind CurveZMQ, keys made by
metodnet-keys as ./ops/up makes them):
  1. without a key: the connection never completes, the request is never answered;
  2. with a valid Curve key nobody listed: refused by the ZAP handler, never answered, and the
     gateway logs the key's z85 prefix;
  3. with a listed key that is a gateway's, not a service's: the forged ROLE_SYSTEM envelope gets a
     PERMISSION_DENIED reply and no personal data; a worker with such a key is not registered;
  4. with a service key: the same request is answered with the staff member (services still work).
"""

import os
import pwd
import subprocess
import time
import unittest

from harness import StackTestCase, bin_dir, free_port

REGION = "07"
PROBE_TIMEOUT_MS = 1500


class BrokerAuthTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        r = s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        assert r.status == 201, r
        r = s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский муниципальный район",
                                              "kind": "district"})
        assert r.status == 201, r
        mun = r.json["id"]
        r = s.post("/api/v1/organizations", {"municipalityId": mun, "name": "МКОУ СОШ № 3 г.п. Терек",
                                             "shortName": "СОШ № 3", "kind": "school"})
        assert r.status == 201, r
        cls.last_name = "Секретова" + os.urandom(3).hex()
        r = s.post("/api/v1/staff", {
            "lastName": cls.last_name, "firstName": "Мадина", "middleName": "Аслановна",
            "birthDate": "1985-04-12", "professionStartDate": "2007-09-01", "position": "teacher",
            "category": "teacher", "subjects": ["mathematics"], "organizationIds": [r.json["id"]],
            "qualificationCategory": "first", "active": True})
        assert r.status == 201, r
        cls.staff_id = r.json["id"]
        cls.endpoint = f"tcp://127.0.0.1:{s.broker_port}"
        cls.broker_pub = os.path.join(s.keys_dir, "broker.pub")
        # a valid Curve key pair that nobody put on the broker's list
        cls.intruder_key = os.path.join(s.dir, "intruder.key")
        r = s.keys_tool("new", "service", "intruder", cls.intruder_key)
        assert r.returncode == 0, r.stderr
        cls.intruder_public = r.stdout.split()[2]
        # a listed key of the gateway kind (as a gateway in a process of its own would hold): added to the
        # clients file of the running broker, which reads the list again when the file changes
        cls.gateway_key = os.path.join(s.dir, "outside-gateway.key")
        r = s.keys_tool("new", "gateway", "outside", cls.gateway_key)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(s.keys_dir, "clients"), "a", encoding="utf-8") as f:
            f.write(r.stdout)

    def probe(self, *args, caller="system", timeout_ms=PROBE_TIMEOUT_MS):
        tool = os.path.join(bin_dir(), "tests", "metodnet-mdp-probe")
        r = subprocess.run([tool, "--endpoint", self.endpoint, "--service", "registry", "--method", "GetStaff",
                            "--id", self.staff_id, "--caller", caller, "--timeout-ms", str(timeout_ms), *args],
                           capture_output=True, text=True, timeout=30)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        out = {}
        for line in r.stdout.splitlines():
            name, _, value = line.partition(" ")
            out[name] = value
        out["payload"] = bytes.fromhex(out.get("payload_hex", ""))
        return out

    def assertNoPersonalData(self, out):
        self.assertNotIn(self.last_name.encode(), out["payload"], "ушли персональные данные")
        self.assertNotIn(b"1985-04-12", out["payload"], "ушла дата рождения")

    def gateway_log(self):
        return self.stack.procs["gateway"].log_text()

    def test_1_without_a_key_the_request_is_never_answered(self):
        out = self.probe()
        self.assertEqual(out["answered"], "0", out)
        self.assertNoPersonalData(out)

    def test_2_unknown_key_is_refused_and_logged(self):
        out = self.probe("--broker-pub", self.broker_pub, "--key", self.intruder_key)
        self.assertEqual(out["answered"], "0", out)
        self.assertNoPersonalData(out)
        prefix = self.intruder_public[:8]
        deadline = time.monotonic() + 5
        while prefix not in self.gateway_log() and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = [line for line in self.gateway_log().splitlines() if prefix in line]
        self.assertTrue(lines, f"в журнале шлюза нет отказа ключу {prefix}…")
        self.assertIn("не в списке клиентов", lines[0])
        self.assertNotIn(self.intruder_public, self.gateway_log(), "ключ целиком в журнал не пишется")
        # libzmq retries the handshake every 100 ms: the log stays bounded (at most 5 lines in 10 s)
        time.sleep(1.5)
        self.assertLessEqual(sum(1 for line in self.gateway_log().splitlines() if "отказано в подключении" in line),
                             5 + 1)

    def test_3_gateway_key_cannot_claim_the_system(self):
        out = self.probe("--broker-pub", self.broker_pub, "--key", self.gateway_key)
        self.assertEqual(out["answered"], "1", out)
        self.assertEqual(out["code"], "3", out)  # STATUS_CODE_PERMISSION_DENIED
        self.assertIn("ROLE_SYSTEM", out["message"])
        self.assertTrue(any("\u0400" <= ch <= "\u04ff" for ch in out["message"]), out)
        self.assertNoPersonalData(out)
        self.assertIn("отказан запрос к registry от «gateway:outside»", self.gateway_log())
        metrics = self.stack.get("/metrics").body.decode()
        refused = [line for line in metrics.splitlines() if line.startswith("metodnet_broker_refused_total ")]
        self.assertTrue(refused and int(refused[0].split()[1]) >= 1, refused)

    def test_3_gateway_key_carries_an_end_users_principal(self):
        """The gateway kind exists for end users' requests: a region administrator's principal passes."""
        out = self.probe("--broker-pub", self.broker_pub, "--key", self.gateway_key, caller="region-admin")
        self.assertEqual(out["answered"], "1", out)
        self.assertEqual(out["code"], "0", out)
        self.assertIn(self.last_name.encode(), out["payload"])

    def test_3_worker_with_a_gateway_key_is_not_registered(self):
        """A registry process whose key is the gateway kind is told DISCONNECT on READY: it never serves."""
        s = self.stack
        other = os.path.join(s.dir, "keys-outside")
        os.makedirs(other, mode=0o700)
        with open(self.broker_pub, encoding="utf-8") as src, open(os.path.join(other, "broker.pub"), "w") as dst:
            dst.write(src.read())
        with open(self.gateway_key, encoding="utf-8") as src:
            key_text = src.read()
        fd = os.open(os.path.join(other, "registry.key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as dst:
            dst.write(key_text)
        registry = os.path.join(bin_dir(), "services", "registry", "metodnet-registry")
        p = s._add("registry-outside", [registry])
        p.env = dict(p.env, METODNET_KEYS_DIR=other, METODNET_BROKER=self.endpoint)  # TCP: keys count there
        p.start()
        try:
            deadline = time.monotonic() + 10
            marker = "отказано в регистрации обработчика registry: «gateway:outside»"
            while marker not in self.gateway_log() and time.monotonic() < deadline:
                self.assertTrue(p.alive(), p.log_text()[-2000:])
                time.sleep(0.1)
            self.assertIn(marker, self.gateway_log())
        finally:
            self.assertEqual(p.terminate(), 0, p.log_text()[-2000:])

    def test_4_service_key_still_works(self):
        out = self.probe("--broker-pub", self.broker_pub, "--key", os.path.join(self.stack.keys_dir, "auth.key"))
        self.assertEqual(out["answered"], "1", out)
        self.assertEqual(out["code"], "0", out)
        self.assertIn(self.last_name.encode(), out["payload"])
        self.assertIn(b"1985-04-12", out["payload"])

    def test_key_files_are_private(self):
        s = self.stack
        self.assertEqual(os.stat(s.keys_dir).st_mode & 0o777, 0o700)
        for name in os.listdir(s.keys_dir):
            mode = os.stat(os.path.join(s.keys_dir, name)).st_mode & 0o777
            if name.endswith(".key"):
                self.assertEqual(mode, 0o600, name)
        with open(os.path.join(s.keys_dir, "clients"), encoding="utf-8") as f:
            kinds = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
        self.assertTrue(set(kinds) <= {"service", "gateway"}, kinds)


class LocalEndpointTest(StackTestCase):
    """The broker's ipc:// endpoint for the services of its own host (./ops/up's default): no Curve, so
    the file system must keep everyone else out — and a broker whose socket directory is open to others
    does not start."""
    WORKERS = 1

    @classmethod
    def prepare(cls):
        r = cls.stack.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"})
        assert r.status in (201, 409), r

    def test_services_serve_over_the_local_endpoint(self):
        s = self.stack
        self.assertTrue(s.broker_local.startswith("ipc://"))
        self.assertEqual(s.get(f"/api/v1/regions/{REGION}").status, 200)
        self.assertIn("локальный, без CurveZMQ", s.procs["registry-1"].log_text())
        path = s.broker_local[len("ipc://"):]
        mode = os.stat(os.path.dirname(path)).st_mode & 0o777
        self.assertEqual(mode, 0o700, oct(mode))

    def probe_as(self, user):
        tool = os.path.join(bin_dir(), "tests", "metodnet-mdp-probe")
        argv = [tool, "--endpoint", self.stack.broker_local, "--service", "mmi.service", "--method", "x",
                "--timeout-ms", str(PROBE_TIMEOUT_MS)]
        if user is not None:
            pw = pwd.getpwnam(user)
            argv = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def test_another_user_cannot_reach_it(self):
        if os.geteuid() != 0:
            self.skipTest("нужен root, чтобы запустить зонд от имени другого пользователя")
        # the owner's own process reaches the broker over the local endpoint (mmi.service answers)...
        mine = self.probe_as(None)
        self.assertIn("answered 1", mine.stdout, mine.stdout + mine.stderr)
        # ...a process of another user does not even get to connect (directory 0700)
        other = self.probe_as("nobody")
        self.assertEqual(other.returncode, 3, other.stdout + other.stderr)  # the probe ran: no reply came
        self.assertNotIn("answered 1", other.stdout, other.stdout + other.stderr)

    def test_open_directory_refuses_to_start(self):
        s = self.stack
        bad_dir = os.path.join(s.dir, "open-broker")
        os.makedirs(bad_dir)
        os.chmod(bad_dir, 0o755)
        gateway = os.path.join(bin_dir(), "services", "gateway", "metodnet-gateway")
        env = dict(s.procs["gateway"].env, METODNET_BROKER_LOCAL=f"ipc://{bad_dir}/broker.sock",
                   METODNET_HTTP_PORT=str(free_port()), METODNET_BROKER=f"tcp://127.0.0.1:{free_port()}")
        r = subprocess.run([gateway], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("доступен не только владельцу", r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(bad_dir, "broker.sock")))


if __name__ == "__main__":
    unittest.main()
