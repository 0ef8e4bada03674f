"""harness — starts a real metodnet stack for integration tests: a redis-server with AOF in a temp
dir on a free port, with the ACL users of ops/redis-acl.conf (no connection without a password; each process
connects as its own user, as under ./ops/up, so the tests prove the ACLs suffice), the gateway on a free HTTP port and a free broker port, and N registry workers,
all from METODNET_BIN_DIR (the CMake build dir; ctest sets it). The broker speaks CurveZMQ: the keys are
made in the temp dir by metodnet-keys, as ./ops/up makes them. Logs go to files in the temp dir and
are printed when a test fails. At the end every process gets SIGTERM and must exit cleanly; a
sanitizer report in any log ("ERROR: AddressSanitizer", "runtime error:", LeakSanitizer) fails the
test class.

Nothing is mocked: the tests speak HTTP to the real gateway, which speaks MDP to the real workers,
which keep state in the real Redis.

With ha=True (Stack(ha=True), StackTestCase.HA) Redis is a master, one replica and three Sentinels on
free ports (master name "metodnet", down-after 1 s), every redis-server with the same ACL file, and the
processes find the master through the Sentinels (METODNET_REDIS_SENTINELS), as under
METODNET_REDIS_HA=1 ./ops/up.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HEARTBEAT_MS = 200
HEARTBEAT_LIVENESS = 3
# A command refused by the production Redis ACL, from a script or directly (issue 17, item 4: a script
# refused half-way is not rolled back). Every test runs under ops/redis-acl.conf; any of these in a
# service's log fails the test class.
ACL_REFUSAL_MARKERS = ("can't run this command", "NOPERM", "ACL Redis не разрешает")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")


def free_port():
    """A TCP port nobody listens on right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_acl_rules():
    """[(user, rules)] of ops/redis-acl.conf, the one source of the Redis ACL users."""
    out = []
    with open(os.path.join(source_dir(), "ops", "redis-acl.conf"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, rules = line.partition(" ")
                out.append((name, rules.strip()))
    return out


# The Redis ACL user each process of the stack connects as (by process name prefix).
# The notify service of a test stack: webhooks to the tests' sinks on loopback, regions picked up fast.
NOTIFY_ENV = {"METODNET_WEBHOOK_ALLOW_PRIVATE": "1", "METODNET_NOTIFY_REGIONS_MS": "500"}
# The services that connect to the broker with keys of their own (as ops/lib.sh MN_KEYED_SERVICES).
KEYED_SERVICES = ("auth", "registry", "diagnostics", "events", "mentoring", "indicators", "monitoring", "notify")
REDIS_USER_OF = {"gateway": "gateway", "auth": "auth", "registry": "registry", "diagnostics": "diagnostics",
                 "events": "events", "mentoring": "mentoring", "indicators": "indicators", "monitoring": "monitoring",
                 "notify": "notify"}


def bin_dir():
    d = os.environ.get("METODNET_BIN_DIR")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "build")
    return os.path.abspath(d)


def source_dir():
    d = os.environ.get("METODNET_SOURCE_DIR")
    if not d:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    return os.path.abspath(d)


class _EarlyExit(RuntimeError):
    """A process of the stack died while the stack was starting."""


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body
        self._json = None

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise AssertionError(f"ответ не JSON (HTTP {self.status}): {self.body[:300]!r}") from e
        return self._json

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:300]!r}>"


class Process:
    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.popen = None
        self.expected_exit = False  # set when the test killed it on purpose

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.expected_exit = False

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def kill9(self):
        """kill -9 and reap."""
        self.expected_exit = True
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def terminate(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code, or None if SIGKILL was needed."""
        self.expected_exit = True
        if self.popen is None:
            return 0
        if self.popen.poll() is not None:
            return self.popen.returncode
        try:
            os.kill(self.popen.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            os.kill(self.popen.pid, signal.SIGTERM)
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)
            return None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


class Stack:
    """One private metodnet stack. Use as: s = Stack(workers=2); s.start(); ...; s.stop()."""

    SENTINEL_MASTER = "metodnet"
    SENTINEL_DOWN_AFTER_MS = 1000

    def __init__(self, workers=2, appendfsync="everysec", heartbeat_ms=HEARTBEAT_MS,
                 liveness=HEARTBEAT_LIVENESS, extra_env=None, name="stack", admin_region="07", sessions=8,
                 ha=False, local_broker=True):
        self.ha = ha
        # as ./ops/up: the services of this host reach the broker over ipc:// (no Curve; the socket's
        # directory is the owner's alone), the gateway's TCP endpoint (Curve) is for other hosts
        self.local_broker = local_broker
        self.workers = workers
        self.admin_region = admin_region  # the bootstrap region administrator's region (None: no login)
        self.admin_login = f"admin{admin_region}" if admin_region else None
        self.admin_password = "Тест-пароль-" + os.urandom(6).hex()
        self.sessions = sessions  # session tokens to rotate (each has its own request budget)
        self.tokens = []
        self._token_lock = threading.Lock()
        self._token_next = 0
        self.appendfsync = appendfsync
        self.heartbeat_ms = heartbeat_ms
        self.liveness = liveness
        self.extra_env = dict(extra_env or {})
        self.dir = tempfile.mkdtemp(prefix=f"metodnet-{name}-")
        self.redis_dir = os.path.join(self.dir, "redis")
        os.makedirs(self.redis_dir)
        self.keys_dir = os.path.join(self.dir, "keys")  # the CurveZMQ keys (provision_keys)
        self.broker_local = f"ipc://{os.path.join(self.dir, 'broker', 'broker.sock')}" if local_broker else None
        self.redis_port = free_port()
        self.http_port = free_port()
        self.broker_port = free_port()
        self.replica_port = free_port() if ha else None
        self.sentinel_ports = [free_port() for _ in range(3)] if ha else []
        self.redis_passwords = {name: "redis-" + os.urandom(12).hex() for name, _ in redis_acl_rules()}
        self.procs = {}
        self.problems = []  # shutdown problems found by stop()
        self.stopped = False
        self.base_path = ""

    # ---- processes ----

    def env(self, redis_user=None):
        """The environment of a process; redis_user: the ACL user it connects to Redis as."""
        env = dict(os.environ)
        env.update({
            "METODNET_REDIS_HOST": "127.0.0.1",
            "METODNET_REDIS_PORT": str(self.redis_port),
            "METODNET_BROKER": f"tcp://127.0.0.1:{self.broker_port}",
            "METODNET_HTTP_HOST": "127.0.0.1",
            "METODNET_HTTP_PORT": str(self.http_port),
            "METODNET_HEARTBEAT_MS": str(self.heartbeat_ms),
            "METODNET_HEARTBEAT_LIVENESS": str(self.liveness),
            "METODNET_KEYS_DIR": self.keys_dir,
        })
        # every call a worker answers gets its log line here (./ops/up writes only failed and slow ones):
        # tests read the lines to see which worker served a request
        env.setdefault("METODNET_ACCESS_LOG_SAMPLE", "1")
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env.pop("METODNET_REDIS_SOCKET", None)
        env.pop("METODNET_REDIS_SENTINELS", None)
        if self.ha:
            env["METODNET_REDIS_SENTINELS"] = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
            env["METODNET_REDIS_MASTER_NAME"] = self.SENTINEL_MASTER
        env.pop("METODNET_REDIS_USER", None)
        env.pop("METODNET_REDIS_PASSWORD", None)
        if redis_user:
            env["METODNET_REDIS_USER"] = redis_user
            env["METODNET_REDIS_PASSWORD"] = self.redis_passwords[redis_user]
        env.pop("METODNET_BROKER_LOCAL", None)
        if self.broker_local and redis_user == "gateway":
            env["METODNET_BROKER_LOCAL"] = self.broker_local
        elif self.broker_local and redis_user:
            env["METODNET_BROKER"] = self.broker_local
        env.update(self.extra_env)
        if redis_user and (env.get("METODNET_REDIS_USER") != redis_user or "METODNET_REDIS_SOCKET" in env):
            raise RuntimeError(f"процесс должен подключаться к Redis как {redis_user} (ops/redis-acl.conf), "
                               "EXTRA_ENV не может это менять")
        return env

    def write_redis_acl(self):
        """The ACL file of this stack's Redis (as ops/lib.sh writes it): default user unusable, every user of
        ops/redis-acl.conf with the SHA-256 of its password."""
        path = os.path.join(self.redis_dir, "users.acl")
        with open(path, "w", encoding="utf-8") as f:
            # default: a password nobody knows, not "off" (Redis 7.0 replays the AOF's MULTI/EXEC with
            # the default user's permissions and drops what it may not run: redis/redis#14541)
            f.write(f"user default on #{os.urandom(32).hex()} ~* &* +@all\n")
            for name, rules in redis_acl_rules():
                digest = hashlib.sha256(self.redis_passwords[name].encode()).hexdigest()
                f.write(f"user {name} reset on #{digest} {rules}\n")
        os.chmod(path, 0o600)
        return path

    def keys_tool(self, *args):
        """metodnet-keys of the build with args; returns the CompletedProcess (text)."""
        tool = os.path.join(bin_dir(), "ops", "keys", "metodnet-keys")
        return subprocess.run([tool, *args], env=self.env(), capture_output=True, text=True, timeout=30)

    def provision_keys(self):
        """The CurveZMQ keys of the stack, as ops/lib.sh mn_broker_keys makes them: the broker's key pair and
        one service key per service in keys_dir, each listed in keys_dir/clients."""
        r = self.keys_tool("init", "--dir", self.keys_dir, *KEYED_SERVICES)
        if r.returncode != 0:
            raise RuntimeError(f"metodnet-keys init: код {r.returncode}: {r.stderr.strip()[-500:]}")

    def redis_cli(self, *args, user="ops", timeout=10, port=None):
        """redis-cli as an ACL user of this stack (the password through the environment); port: another
        redis-server of the stack (the replica), default the first master."""
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        env = dict(os.environ, REDISCLI_AUTH=self.redis_passwords[user])
        return subprocess.run([cli, "--no-auth-warning", "--user", user, "-h", "127.0.0.1", "-p",
                               str(port or self.redis_port), *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def sentinel_cli(self, index, *args, timeout=5):
        """redis-cli to Sentinel number index (0..2) of an ha stack (Sentinels have no password here)."""
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        return subprocess.run([cli, "-h", "127.0.0.1", "-p", str(self.sentinel_ports[index]), *args],
                              capture_output=True, text=True, timeout=timeout)

    def sentinel_master(self, index=0):
        """The master's port as Sentinel index names it, None when it does not answer."""
        try:
            r = self.sentinel_cli(index, "SENTINEL", "get-master-addr-by-name", self.SENTINEL_MASTER)
        except subprocess.TimeoutExpired:
            return None
        lines = r.stdout.split()
        return int(lines[1]) if r.returncode == 0 and len(lines) == 2 else None

    def wait_replica_synced(self, port=None, timeout=30.0):
        """Until the replica (port, default the first one) has its link to the master up."""
        deadline = time.monotonic() + timeout
        info = ""
        while time.monotonic() < deadline:
            info = self.redis_cli("INFO", "replication", port=port or self.replica_port).stdout
            if "master_link_status:up" in info:
                return
            time.sleep(0.1)
        raise RuntimeError(f"реплика не связалась с основным узлом за {timeout} с: {info[-300:]}")

    def wait_sentinels(self, timeout=30.0):
        """Until every Sentinel knows the replica and the two other Sentinels (a failover needs both)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = []
            for i in range(len(self.sentinel_ports)):
                r = self.sentinel_cli(i, "SENTINEL", "master", self.SENTINEL_MASTER)
                fields = r.stdout.split("\n")
                info = dict(zip(fields[0::2], fields[1::2]))
                state.append((info.get("num-slaves"), info.get("num-other-sentinels")))
            if all(s == ("1", "2") for s in state):
                return
            time.sleep(0.2)
        raise RuntimeError(f"Sentinel не увидели реплику и друг друга за {timeout} с: {state}")

    def _redis_argv(self, port, data_dir, acl):
        redis_server = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server")
        argv = [redis_server, "--port", str(port), "--bind", "127.0.0.1",
                "--protected-mode", "yes", "--aclfile", acl, "--daemonize", "no", "--dir", data_dir,
                "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "",
                # as ops/lib.sh: entities stay listpack-encoded hashes (docs/performance.md)
                "--hash-max-listpack-value", "1024", "--zset-max-listpack-entries", "1024",
                "--zset-max-listpack-value", "128"]
        if self.ha:  # either node may be a replica after a failover: both know how to follow a master
            argv += ["--masteruser", "replica", "--masterauth", self.redis_passwords["replica"],
                     "--repl-diskless-sync-delay", "0"]  # not 5 s waiting for more replicas
        return argv

    def _start_ha(self, acl):
        """The replica of the master and three Sentinels watching it (configs in the temp dir)."""
        replica_dir = os.path.join(self.dir, "redis-replica")
        os.makedirs(replica_dir, exist_ok=True)
        self._add("redis-replica", self._redis_argv(self.replica_port, replica_dir, acl)
                  + ["--replicaof", "127.0.0.1", str(self.redis_port)]).start()
        self.wait_redis(port=self.replica_port, name="redis-replica")
        self.wait_replica_synced()
        redis_server = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server")
        for i, port in enumerate(self.sentinel_ports):
            conf = os.path.join(self.dir, f"sentinel-{i + 1}.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
                        f"sentinel monitor {self.SENTINEL_MASTER} 127.0.0.1 {self.redis_port} 2\n"
                        f"sentinel down-after-milliseconds {self.SENTINEL_MASTER} "
                        f"{self.SENTINEL_DOWN_AFTER_MS}\n"
                        f"sentinel failover-timeout {self.SENTINEL_MASTER} 5000\n"
                        f"sentinel parallel-syncs {self.SENTINEL_MASTER} 1\n"
                        f"sentinel auth-user {self.SENTINEL_MASTER} sentinel\n"
                        f"sentinel auth-pass {self.SENTINEL_MASTER} {self.redis_passwords['sentinel']}\n")
            os.chmod(conf, 0o600)
            self._add(f"sentinel-{i + 1}", [redis_server, conf, "--sentinel"]).start()
        self.wait_sentinels()

    def _add(self, name, argv):
        user = next((u for prefix, u in REDIS_USER_OF.items() if name.startswith(prefix)), None)
        p = Process(name, argv, self.env(user), os.path.join(self.dir, f"{name}.log"))
        self.procs[name] = p
        return p

    def start(self, ready_timeout=60.0, attempts=3):
        """Starts Redis, the gateway and the workers and waits for /readyz. Free ports are picked
        before the processes bind them, so another program on the machine may take one in between:
        a start whose process dies at once is retried on new ports."""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(ready_timeout)
                return
            except _EarlyExit as e:
                if attempt == attempts:
                    self.stop()
                    raise RuntimeError(str(e)) from None
                print(f"\n[harness] {e}; повторяю запуск на других портах", file=sys.stderr)
                for p in self.procs.values():
                    p.kill9()
                self.redis_port, self.http_port, self.broker_port = free_port(), free_port(), free_port()
                if self.ha:
                    self.replica_port = free_port()
                    self.sentinel_ports = [free_port() for _ in range(3)]
                self.procs = {}
            except BaseException:
                self.stop()  # the caller prints the logs; stop() notes how each process ended
                raise

    def _start_once(self, ready_timeout):
        acl = self.write_redis_acl()
        self._add("redis", self._redis_argv(self.redis_port, self.redis_dir, acl))
        self.procs["redis"].start()
        self.wait_redis()
        if self.ha:
            self._start_ha(acl)
        b = bin_dir()
        gateway = os.path.join(b, "services", "gateway", "metodnet-gateway")
        registry = os.path.join(b, "services", "registry", "metodnet-registry")
        auth = os.path.join(b, "services", "auth", "metodnet-auth")
        diagnostics = os.path.join(b, "services", "diagnostics", "metodnet-diagnostics")
        notify = os.path.join(b, "services", "notify", "metodnet-notify")
        events = os.path.join(b, "services", "events", "metodnet-events")
        mentoring = os.path.join(b, "services", "mentoring", "metodnet-mentoring")
        indicators = os.path.join(b, "services", "indicators", "metodnet-indicators")
        monitoring = os.path.join(b, "services", "monitoring", "metodnet-monitoring")
        for path in (gateway, registry, auth, diagnostics, events, mentoring, indicators, monitoring, notify):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"нет исполняемого файла {path} (METODNET_BIN_DIR={b})")
        self.auth_bin = auth
        self.provision_keys()
        if self.admin_region:
            self.bootstrap_admin(self.admin_region, self.admin_login, self.admin_password)
        self._add("gateway", [gateway]).start()
        self._add("auth", [auth]).start()
        for i in range(1, self.workers + 1):
            self._add(f"registry-{i}", [registry]).start()
        self._add("diagnostics", [diagnostics]).start()
        self._add("notify", [notify])
        self.procs["notify"].env = {**NOTIFY_ENV, **self.procs["notify"].env}
        self.procs["notify"].start()
        self._add("events", [events]).start()
        self._add("mentoring", [mentoring]).start()
        self._add("indicators", [indicators]).start()
        self._add("monitoring", [monitoring]).start()
        self.wait_ready(ready_timeout)
        if self.admin_region:
            self.tokens = [self.login(self.admin_login, self.admin_password) for _ in range(self.sessions)]

    def bootstrap_admin(self, region, login, password):
        """`metodnet-auth bootstrap-admin`: the first administrator of region, straight in Redis."""
        r = subprocess.run([self.auth_bin, "bootstrap-admin", "--region", region, "--login", login,
                            "--full-name", "Администратор для тестов"], input=password + "\n",
                           env=self.env("auth"),
                           capture_output=True, text=True, timeout=60)
        with open(os.path.join(self.dir, "bootstrap.log"), "a", encoding="utf-8") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode not in (0, 3):  # 3: the region has its administrator already
            raise RuntimeError(f"bootstrap-admin: код {r.returncode}: {r.stderr.strip()[-500:]}")

    def login(self, login, password):
        r = self.request("POST", "/api/v1/auth/login", {"login": login, "password": password}, token=False)
        if r.status != 200 or not r.json.get("token"):
            raise RuntimeError(f"вход {login} не удался: {r!r}")
        return r.json["token"]

    def token(self):
        """The next session token of the pool (round robin), None before login."""
        with self._token_lock:
            if not self.tokens:
                return None
            t = self.tokens[self._token_next % len(self.tokens)]
            self._token_next += 1
            return t

    def wait_redis(self, timeout=10.0, port=None, name="redis"):
        """Until Redis serves commands. A "-LOADING" answer means it is loading its AOF: the deadline
        grows with the AOF on disk (as in ops/lib.sh mn_wait_redis: 10 s per 100 MB more). port/name:
        another redis-server of the stack (the replica)."""
        port = port or self.redis_port
        aof_bytes = 0
        data_dir = self.redis_dir if name == "redis" else os.path.join(self.dir, name)
        for root, _, files in os.walk(os.path.join(data_dir, "appendonlydir")):
            aof_bytes += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        deadline = time.monotonic() + timeout + aof_bytes / 10e6
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    password = self.redis_passwords["ops"].encode()
                    s.sendall(b"*3\r\n$4\r\nAUTH\r\n$3\r\nops\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n"
                              % (len(password), password))
                    reply = b""
                    while reply.count(b"\r\n") < 2:
                        chunk = s.recv(256)
                        if not chunk:
                            break
                        reply += chunk
                    if reply.startswith(b"+OK\r\n+PONG"):
                        return
                    # "+OK\r\n-LOADING Redis is loading the dataset in memory": not ready yet
            except OSError:
                pass
            if not self.procs[name].alive():
                raise _EarlyExit(f"redis-server завершился при запуске (порт {port} занят?)")
            time.sleep(0.05)
        raise RuntimeError(f"redis-server не готов за {timeout + aof_bytes / 10e6:.0f} с")

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if not p.alive() and not p.expected_exit:
                    raise _EarlyExit(f"процесс {name} завершился (код {p.popen.returncode})")
            try:
                last = self.request("GET", "/readyz", timeout=2)
                if last.status == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"/readyz не ответил 200 за {timeout} с; последний ответ: {last!r}")

    def kill9(self, name):
        self.procs[name].kill9()

    def restart(self, name, wait=True):
        """Starts the named process again (same port, same data dir for Redis)."""
        p = self.procs[name]
        if p.alive():
            p.terminate()
        p.start()
        if name.startswith("redis") and wait:
            self.wait_redis(port=self.replica_port if name == "redis-replica" else None, name=name)

    def stop(self):
        """SIGTERM in reverse dependency order; records unclean exits and sanitizer reports. Once."""
        if self.stopped:
            return
        self.stopped = True
        order = sorted((n for n in self.procs if n.startswith("registry")), reverse=True)
        order += [n for n in ("notify", "monitoring", "indicators", "mentoring", "events", "diagnostics", "auth")
                  if n in self.procs]
        order += [n for n in ("gateway", "sentinel-1", "sentinel-2", "sentinel-3", "redis-replica", "redis")
                  if n in self.procs]
        for name in order:
            p = self.procs[name]
            was_alive = p.alive()
            died_unexpectedly = not was_alive and not p.expected_exit and p.popen is not None
            code = p.terminate()
            if was_alive and code is None:
                self.problems.append(f"{name}: не остановился по SIGTERM за 15 с (SIGKILL)")
            elif was_alive and code not in (0, -signal.SIGTERM):
                self.problems.append(f"{name}: код выхода {code} после SIGTERM")
            elif died_unexpectedly:
                self.problems.append(f"{name}: завершился сам во время теста (код {p.popen.returncode})")
        for name, p in self.procs.items():
            text = p.log_text()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    self.problems.append(f"{name}: в журнале отчёт санитайзера «{marker}»")
                    break
            if not name.startswith(("redis", "sentinel")):
                for marker in ACL_REFUSAL_MARKERS:
                    if marker in text:
                        self.problems.append(f"{name}: в журнале отказ ACL Redis «{marker}» — команда службы не "
                                             f"разрешена её пользователю в ops/redis-acl.conf")
                        break

    def dump_logs(self, tail_lines=80, stream=sys.stderr):
        for name, p in self.procs.items():
            lines = p.log_text().splitlines()
            print(f"\n----- журнал {name} ({p.log_path}), последние {min(len(lines), tail_lines)} строк -----",
                  file=stream)
            for line in lines[-tail_lines:]:
                print(line, file=stream)
        stream.flush()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- HTTP ----

    def request(self, method, path, body=None, headers=None, raw=None, timeout=10.0, token=True):
        """One HTTP request on a fresh connection. body is JSON-encoded; raw is sent as is. token: True
        = a session token of the pool, False = none, a string = that one."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            h = {"Accept": "application/json"}
            data = None
            if raw is not None:
                data = raw
                h["Content-Type"] = "application/json"
            elif body is not None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                h["Content-Type"] = "application/json"
            bearer = self.token() if token is True else (token or None)
            if bearer:
                h["Authorization"] = "Bearer " + bearer
            h.update(headers or {})
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            payload = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
        finally:
            conn.close()

    def request_expect_continue(self, method, path, raw, headers=None, timeout=10.0):
        """A request with "Expect: 100-continue", as curl and browsers send large bodies: the body
        goes only after "100 Continue", so a server that refuses the body by its Content-Length
        answers without a connection reset racing its answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.putrequest(method, path)
            h = {"Content-Type": "application/json", "Content-Length": str(len(raw)),
                 "Expect": "100-continue", "Accept": "application/json"}
            if self.tokens:
                h["Authorization"] = "Bearer " + self.token()
            h.update(headers or {})
            for k, v in h.items():
                conn.putheader(k, v)
            conn.endheaders()
            sock = conn.sock
            sock.settimeout(timeout)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"соединение закрыто без ответа: {head!r}")
                head += chunk
            if head.startswith(b"HTTP/1.1 100"):
                rest = head.split(b"\r\n\r\n", 1)[1]
                try:
                    sock.sendall(raw)
                except OSError:
                    pass  # the server may answer and close before taking the whole body
                head = rest
            # parse the final answer from what is buffered plus the rest of the stream
            data = head
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
                status_line, _, after = data.partition(b"\r\n")
                hdrs, sep, body = after.partition(b"\r\n\r\n")
                if sep:
                    m = [line.split(b":", 1)[1].strip() for line in hdrs.split(b"\r\n")
                         if line.lower().startswith(b"content-length:")]
                    if m and len(body) >= int(m[0]):
                        break
            status_line, _, after = data.partition(b"\r\n")
            hdrs, _, body = after.partition(b"\r\n\r\n")
            status = int(status_line.split()[1])
            headers_out = {}
            for line in hdrs.split(b"\r\n"):
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers_out[k.decode().strip().lower()] = v.decode().strip()
            return Response(status, headers_out, body)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def list_all(self, collection, limit=500, **filters):
        """Every item of a list, following nextCursor; returns (items, pages)."""
        items, cursor, pages = [], "", 0
        for _ in range(10000):
            q = dict(filters, limit=str(limit))
            if cursor:
                q["cursor"] = cursor
            r = self.get(f"/api/v1/{collection}?{urllib.parse.urlencode(q)}")
            if r.status != 200:
                raise AssertionError(f"список {collection}: {r!r}")
            pages += 1
            items.extend(r.json["items"] if "items" in r.json else [])
            cursor = r.json.get("nextCursor", "")
            if not cursor:
                return items, pages
        raise AssertionError("список не кончается")

    def count(self, collection, **filters):
        return len(self.list_all(collection, **filters)[0])


class StackTestCase(unittest.TestCase):
    """Base class: one stack per test class. Subclasses may set WORKERS, APPENDFSYNC, HEARTBEAT_MS,
    EXTRA_ENV."""

    WORKERS = 2
    APPENDFSYNC = "everysec"
    HEARTBEAT_MS = HEARTBEAT_MS
    EXTRA_ENV = None
    HA = False  # master + replica + three Sentinels (see the module's docstring)
    _failed = False

    @classmethod
    def setUpClass(cls):
        cls._failed = False
        cls.stack = Stack(workers=cls.WORKERS, appendfsync=cls.APPENDFSYNC, heartbeat_ms=cls.HEARTBEAT_MS,
                          extra_env=cls.EXTRA_ENV, name=cls.__name__, ha=cls.HA)
        # a class cleanup runs even when setUpClass fails half-way, so no process outlives the test
        cls.addClassCleanup(cls._stop_stack)
        try:
            cls.stack.start()
            cls.prepare()
        except BaseException:
            cls._failed = True
            raise

    @classmethod
    def prepare(cls):
        """Per-class fixtures on the running stack (override)."""

    @classmethod
    def _stop_stack(cls):
        stack = cls.stack
        stack.stop()
        if stack.problems or cls._failed:
            stack.dump_logs()
        if stack.problems or cls._failed:
            print(f"\nжурналы оставлены в {stack.dir}", file=sys.stderr)
        else:
            stack.cleanup()
        if stack.problems:
            raise AssertionError("при остановке стека: " + "; ".join(stack.problems))

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is not None and not getattr(outcome, "success", True):
            type(self)._failed = True

    # shortcuts
    def assertJsonError(self, r, statuses, msg=None):
        """r is a 4xx/5xx JSON error {"error":{"code","message"(Russian),"details","requestId"}}."""
        if isinstance(statuses, int):
            statuses = (statuses,)
        self.assertIn(r.status, statuses, msg or repr(r))
        err = r.json.get("error")
        self.assertIsInstance(err, dict, f"нет объекта error: {r!r}")
        self.assertTrue(err.get("code"), f"нет error.code: {r!r}")
        self.assertTrue(any("\u0400" <= ch <= "\u04ff" for ch in err.get("message", "")),
                        f"error.message не на русском: {r!r}")
        self.assertTrue(err.get("requestId"), f"нет error.requestId: {r!r}")
        self.assertIsInstance(err.get("details", []), list)
        return err


def run_concurrently(fn, args_list, workers=16):
    """Calls fn(*args) for each args in parallel threads; returns results in order (exceptions kept)."""
    results = [None] * len(args_list)

    def run(i, args):
        try:
            results[i] = fn(*args)
        except Exception as e:  # the caller inspects it
            results[i] = e

    threads = []
    sem = threading.Semaphore(workers)

    def guarded(i, args):
        with sem:
            run(i, args)

    for i, args in enumerate(args_list):
        t = threading.Thread(target=guarded, args=(i, args))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return results
