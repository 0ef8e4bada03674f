"""test_netns — workers on other hosts (issue 15): a registry worker in network namespace A and a
diagnostics worker in namespace B, each behind a veth pair to the root namespace, where Redis and the
gateway with its broker run and listen on the veth addresses too (METODNET_BROKER_BIND, Redis --bind);
the workers connect over TCP with Curve keys of their own "host" (only broker.pub copied, their public
keys added to the broker's list). The root namespace's registry and diagnostics workers are stopped,
so every registry and diagnostics request is served from the namespaces. Then A's
link is cut by dropping every packet on both ends (nftables ingress: no RST, no ICMP, as a dead cable
or host), right before a request: the broker must expire A's worker within one heartbeat expiry, fail
that in-flight request at once with 503 (not at the request deadline) and close its side of the dead
TCP connections (ZMTP heartbeats); B must keep serving; once the link is back A's worker must register
again and serve within a bounded time. Measured times are printed (docs/operations.md, «Обработчики
на других машинах»).

Needs root and `ip netns`; where namespaces cannot be made the test is skipped with a message.
Without nft the link is cut by `ip link set down` on both ends instead (said in the output).
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

from harness import StackTestCase, bin_dir

PID = os.getpid()
NS_A, NS_B = f"mn{PID}a", f"mn{PID}b"
CUT_TABLE = f"mn{PID}cut"  # nftables netdev table of the cut, on both ends of A's link


def run(*argv, ns=None, check=True, stdin=None):
    """A command (in namespace ns); a failure raises with its stderr."""
    full = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    r = subprocess.run(full, input=stdin, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}: код {r.returncode}: {r.stderr.strip()}")
    return r


def pick_subnets():
    """Two free private /30 networks, by this process's pid in 10.200.0.0/17 (another run at the same time
    has another pid); a block any address or route of the host overlaps is passed over."""
    used = run("ip", "-4", "-o", "addr", "show").stdout + run("ip", "-4", "route", "show", "table", "all").stdout
    base = (PID % 4096) * 8
    for _ in range(4096):
        third, fourth = divmod(base, 256)
        prefix = f"10.{200 + third // 256}.{third % 256}."
        if prefix not in used:
            return (f"{prefix}{fourth}", f"{prefix}{fourth + 4}")
        base = (base + 8) % 32768
    raise RuntimeError("нет свободной сети 10.200.0.0/17 для veth")


def _ip4(net, host):
    a, b, c, d = (int(x) for x in net.split("."))
    return f"{a}.{b}.{c}.{d + host}"


class _Link:
    """Namespace ns and a veth pair: root end root_dev (net+1/30), namespace end ns_dev (net+2/30)."""

    def __init__(self, ns, net):
        self.ns = ns
        self.root_dev, self.ns_dev = f"{ns}0", f"{ns}1"
        self.root_ip, self.ns_ip = _ip4(net, 1), _ip4(net, 2)

    def create(self):
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.root_dev, "type", "veth", "peer", "name", self.ns_dev)
        run("ip", "link", "set", self.ns_dev, "netns", self.ns)
        run("ip", "addr", "add", f"{self.root_ip}/30", "dev", self.root_dev)
        run("ip", "link", "set", self.root_dev, "up")
        run("ip", "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_dev, ns=self.ns)
        run("ip", "link", "set", self.ns_dev, "up", ns=self.ns)
        run("ip", "link", "set", "lo", "up", ns=self.ns)

    def destroy(self):
        run("ip", "link", "del", self.root_dev, check=False)  # takes the peer along
        run("ip", "netns", "del", self.ns, check=False)


def _nft_drop_all(dev, ns=None):
    rules = (f"table netdev {CUT_TABLE} {{\n chain in {{\n  type filter hook ingress device \"{dev}\" priority 0;"
             f" policy drop;\n }}\n}}\n")
    run("nft", "-f", "-", ns=ns, stdin=rules)


def sweep_stale():
    """Namespaces (and their veths) and nft tables of earlier runs killed before their cleanup."""
    listed = run("ip", "netns", "list", check=False).stdout
    for name in re.findall(r"^mn(\d+)[ab]\b", listed, re.M):
        if not os.path.exists(f"/proc/{name}"):
            for side in "ab":
                _Link(f"mn{name}{side}", "10.0.0.0").destroy()
    if shutil.which("nft"):
        tables = run("nft", "list", "tables", check=False).stdout
        for pid in re.findall(r"^table netdev mn(\d+)cut$", tables, re.M):
            if not os.path.exists(f"/proc/{pid}"):
                run("nft", "delete", "table", "netdev", f"mn{pid}cut", check=False)


def _can_make_namespaces():
    """None, or why network namespaces cannot be made here (Russian)."""
    if os.geteuid() != 0:
        return "нужны права root"
    if not shutil.which("ip"):
        return "нет программы ip (iproute2)"
    probe = f"mn{PID}probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip netns add не удался: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _workers(stack, service):
    """metodnet_broker_workers of service in the gateway's /metrics (0 when not listed)."""
    text = stack.get("/metrics", timeout=5).body.decode()
    m = re.search(r'^metodnet_broker_workers\{service="%s"\} (\d+)$' % re.escape(service), text, re.M)
    return int(m.group(1)) if m else 0


def _established(port, ip):
    """TCP connections of the root namespace in state ESTABLISHED from local port to the peer ip."""
    out = run("ss", "-Htn", "state", "established", "dst", ip, "sport", "=", f":{port}").stdout
    return [line for line in out.splitlines() if line.strip()]


def _wait(cond, timeout, what):
    """Polls cond every 20 ms; returns the seconds it took; fails naming what."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"за {timeout} с не дождались: {what}")


class NetnsTest(StackTestCase):
    WORKERS = 1
    # expiry = 300 ms × 3 = 0.9 s; METODNET_NETNS_HEARTBEAT_MS=1000 measures the production default
    HEARTBEAT_MS = int(os.environ.get("METODNET_NETNS_HEARTBEAT_MS", "300"))
    CONCURRENCY = 2  # MDP connections of each namespace worker: 2 workers at the broker
    CUT_S = float(os.environ.get("METODNET_NETNS_CUT_S", "6"))  # how long A's link stays cut
    # a request held by a lost worker must fail at its expiry, far from this deadline
    REQUEST_TIMEOUT_MS = max(8000, HEARTBEAT_MS * 3 * 3)
    EXTRA_ENV = {"METODNET_REQUEST_TIMEOUT_MS": str(REQUEST_TIMEOUT_MS)}

    @classmethod
    def setUpClass(cls):
        why = _can_make_namespaces()
        if why:
            raise unittest.SkipTest(f"сетевые пространства имён здесь не создать ({why}): тест пропущен")
        sweep_stale()
        net_a, net_b = pick_subnets()
        cls.a, cls.b = _Link(NS_A, net_a), _Link(NS_B, net_b)
        cls.addClassCleanup(cls._destroy_links)  # after the stack's cleanup (LIFO): its processes are gone
        cls.a.create()
        cls.b.create()
        cls.BIND_ADDRESSES = (cls.a.root_ip, cls.b.root_ip)
        super().setUpClass()

    @classmethod
    def _destroy_links(cls):
        if shutil.which("nft"):
            run("nft", "delete", "table", "netdev", CUT_TABLE, check=False)
        for link in (cls.a, cls.b):
            link.destroy()

    def host_keys(self, link, service):
        """The keys dir of the "host" behind link, made as docs/operations.md tells: a key of its own
        (`metodnet-keys new`), its line added to the broker's clients (read again by the running
        gateway), and only broker.pub copied from the broker's keys dir."""
        s = self.stack
        keys = os.path.join(s.dir, f"keys-{link.ns}")
        os.makedirs(keys, mode=0o700)
        shutil.copy(os.path.join(s.keys_dir, "broker.pub"), keys)
        r = s.keys_tool("new", "service", service, os.path.join(keys, f"{service}.key"))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(s.keys_dir, "clients"), "a", encoding="utf-8") as f:
            f.write(r.stdout)
        return keys

    def start_in(self, link, service, name):
        """The service's binary in link's namespace, to the broker (TCP, Curve with the host's own key)
        and Redis at the root end of the link."""
        binary = os.path.join(bin_dir(), "services", service, f"metodnet-{service}")
        s = self.stack
        return s.add_process(name, ["ip", "netns", "exec", link.ns, binary], {
            "METODNET_BROKER": f"tcp://{link.root_ip}:{s.broker_port}",
            "METODNET_KEYS_DIR": self.host_keys(link, service),
            "METODNET_REDIS_HOST": link.root_ip,
            "METODNET_CONCURRENCY": str(self.CONCURRENCY),
        })

    def cut(self):
        """Every packet on A's link dropped at both ends; returns how."""
        if shutil.which("nft"):
            _nft_drop_all(self.a.root_dev)
            _nft_drop_all(self.a.ns_dev, ns=self.a.ns)
            return "nftables: все пакеты отбрасываются на входе обоих концов veth"
        run("ip", "link", "set", self.a.root_dev, "down")
        run("ip", "link", "set", self.a.ns_dev, "down", ns=self.a.ns)
        return "nft нет: канал отключён (ip link set down на обоих концах)"

    def restore(self):
        if shutil.which("nft"):
            run("nft", "delete", "table", "netdev", CUT_TABLE)
            run("nft", "delete", "table", "netdev", CUT_TABLE, ns=self.a.ns)
        else:
            run("ip", "link", "set", self.a.root_dev, "up")
            run("ip", "link", "set", self.a.ns_dev, "up", ns=self.a.ns)

    def rid(self, tag):
        return f"netns-{tag}-{time.monotonic_ns()}"

    def call(self, method, path, body=None, tag="call", timeout=15):
        """(response, request id, seconds)."""
        rid = self.rid(tag)
        t0 = time.monotonic()
        r = self.stack.request(method, path, body, headers={"X-Request-Id": rid}, timeout=timeout)
        return r, rid, time.monotonic() - t0

    def assert_served_by(self, proc, rids):
        deadline = time.monotonic() + 3  # workers write their log line right after the reply
        missing = rids
        while missing and time.monotonic() < deadline:
            text = proc.log_text()
            missing = [rid for rid in rids if rid not in text]
            time.sleep(0.05)
        self.assertFalse(missing, f"{proc.name} не обслужил запросы {missing}")

    def test_workers_in_namespaces_and_a_cut_link(self):
        s = self.stack
        expiry = self.HEARTBEAT_MS * 3 / 1000.0
        interval = self.HEARTBEAT_MS / 1000.0
        # ---- the namespace workers take over from the root namespace's ----
        reg = self.start_in(self.a, "registry", "registry-netns")
        diag = self.start_in(self.b, "diagnostics", "diagnostics-netns")
        _wait(lambda: _workers(s, "registry") >= 1 + self.CONCURRENCY, 20, "обработчик реестра из пространства A")
        _wait(lambda: _workers(s, "diagnostics") >= 1 + self.CONCURRENCY, 20, "служба диагностики из пространства B")
        self.assertEqual(s.procs["registry-1"].terminate(), 0)
        self.assertEqual(s.procs["diagnostics"].terminate(), 0)
        _wait(lambda: _workers(s, "registry") == self.CONCURRENCY, 10, "остались только обработчики реестра из A")
        _wait(lambda: _workers(s, "diagnostics") == self.CONCURRENCY, 10, "осталась только диагностика из B")
        self.assertTrue(reg.alive() and diag.alive(), reg.log_text()[-2000:] + diag.log_text()[-2000:])

        # ---- GET and POST through the gateway, served from the namespaces ----
        served = []
        r, rid, _ = self.call("POST", "/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"})
        self.assertEqual(r.status, 201, r)
        served.append(rid)
        r, rid, _ = self.call("POST", "/api/v1/municipalities",
                              {"regionId": "07", "name": "Чегемский муниципальный район", "kind": "district"})
        self.assertEqual(r.status, 201, r)
        served.append(rid)
        r, rid, _ = self.call("POST", "/api/v1/organizations", {
            "municipalityId": r.json["id"], "name": "МКОУ СОШ № 2 г.п. Чегем", "shortName": "СОШ № 2",
            "kind": "school"})
        self.assertEqual(r.status, 201, r)
        served.append(rid)
        org = r.json
        r, rid, _ = self.call("POST", "/api/v1/staff", {
            "lastName": "Тхамокова", "firstName": "Залина", "middleName": "Хасановна", "birthDate": "1984-03-02",
            "professionStartDate": "2006-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["mathematics"], "organizationIds": [org["id"]]})
        self.assertEqual(r.status, 201, r)
        served.append(rid)
        person = r.json
        r, rid, _ = self.call("GET", f"/api/v1/staff/{person['id']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["lastName"], "Тхамокова")
        served.append(rid)
        self.assert_served_by(reg, served)

        diag_served = []
        r, rid, _ = self.call("GET", "/api/v1/competences")
        self.assertEqual(r.status, 200, r)
        diag_served.append(rid)
        r, rid, _ = self.call("POST", "/api/v1/instruments", {
            "title": "Входная диагностика учителей математики", "category": "teacher",
            "items": [{"id": "q1", "competence": "t.subject.1", "kind": "numeric",
                       "text": "Найдите корень уравнения 3x − 6 = 0", "maxPoints": 1, "correctValue": 2,
                       "tolerance": 0.01}]})
        self.assertEqual(r.status, 201, r)
        instrument = r.json
        diag_served.append(rid)
        r, rid, _ = self.call("GET", f"/api/v1/instruments/{instrument['id']}")
        self.assertEqual(r.status, 200, r)
        diag_served.append(rid)
        self.assert_served_by(diag, diag_served)

        # ---- cut A's link, a request right after ----
        before = _established(s.broker_port, self.a.ns_ip)
        self.assertGreaterEqual(len(before), self.CONCURRENCY, f"соединения брокера с A: {before}")
        how = self.cut()
        t_cut = time.monotonic()
        inflight = {}

        def in_flight():
            inflight["r"], inflight["rid"], inflight["t"] = self.call("GET", f"/api/v1/staff/{person['id']}",
                                                                      tag="inflight")

        thread = threading.Thread(target=in_flight)
        thread.start()
        _wait(lambda: _workers(s, "registry") == 0, 10, "брокер снял обработчик за обрывом")
        t_expired = time.monotonic() - t_cut
        thread.join(15)
        self.assertFalse(thread.is_alive(), "запрос на обработчике за обрывом не завершился за 15 с")
        r, elapsed = inflight["r"], inflight["t"]
        # the broker's side of the dead TCP connections is closed too (ZMTP heartbeats), not left to
        # the kernel's retransmission timeout of a quarter of an hour
        _wait(lambda: not _established(s.broker_port, self.a.ns_ip), 10,
              f"брокер закрыл мёртвые TCP-соединения с {self.a.ns_ip}")
        t_closed = time.monotonic() - t_cut
        # B is not touched by A's cut
        rb, _, tb = self.call("GET", f"/api/v1/instruments/{instrument['id']}", tag="during-cut")
        self.assertEqual(rb.status, 200, rb)
        # down long enough for the worker's redial backoff to reach its cap (5 intervals, mdp_worker.c)
        time.sleep(max(0.0, self.CUT_S - (time.monotonic() - t_cut)))
        self.restore()
        t_restore = time.monotonic()
        t_registered = _wait(lambda: _workers(s, "registry") == self.CONCURRENCY, 30,
                             "обработчик реестра снова зарегистрировался после восстановления связи")

        def serves():
            r2, _, _ = self.call("GET", f"/api/v1/staff/{person['id']}", tag="after", timeout=10)
            return r2.status == 200

        t_served = _wait(serves, 30, "запросы к реестру снова выполняются")
        print(f"\n[netns] обрыв: {how}\n"
              f"[netns] пульс {self.HEARTBEAT_MS} мс × 3 = срок {expiry:.1f} с\n"
              f"[netns] брокер снял обработчик через {t_expired:.2f} с после обрыва\n"
              f"[netns] запрос на обработчике за обрывом: HTTP {r.status} через {elapsed:.2f} с "
              f"(срок запроса {self.REQUEST_TIMEOUT_MS / 1000:.0f} с)\n"
              f"[netns] брокер закрыл свою сторону мёртвых TCP-соединений через {t_closed:.2f} с\n"
              f"[netns] B во время обрыва A: HTTP {rb.status} за {tb:.3f} с\n"
              f"[netns] канал A был оборван {t_restore - t_cut:.1f} с\n"
              f"[netns] после восстановления: регистрация через {t_registered:.2f} с, первый успешный "
              f"запрос ещё через {t_served:.2f} с", file=sys.stderr)

        # the broker noticed the loss by heartbeats alone, within one expiry (plus its 100 ms sweep)
        self.assertGreaterEqual(t_expired, expiry - interval - 0.05, "снят раньше срока пульса: обрыв не глухой?")
        self.assertLessEqual(t_expired, expiry + 0.5, f"снят через {t_expired:.2f} с, срок {expiry:.1f} с")
        # ZMTP: a PING each interval, the connection closed when nothing came within the expiry after one
        self.assertLessEqual(t_closed, expiry + interval + 0.5, f"мёртвые соединения закрыты через {t_closed:.2f} с")
        # the request it held failed then, not at the request deadline
        err = self.assertJsonError(r, 503)
        self.assertLessEqual(elapsed, expiry + 0.6, f"ответ {r.status} пришёл через {elapsed:.2f} с")
        self.assertNotIn(inflight["rid"], reg.log_text(), "запрос дошёл до обработчика через оборванный канал")
        self.assertEqual(err["code"], "unavailable")
        # bounded return: what is left of an expiry on a socket opened in the dark, then a redial after at
        # most 1.5 × the capped backoff (5 intervals), then one connect and READY
        bound = expiry + 1.5 * 5 * interval + 1.0
        self.assertLessEqual(t_registered, bound, f"снова зарегистрирован через {t_registered:.2f} с")
        self.assertTrue(reg.alive() and diag.alive())
        self.assertEqual(_workers(s, "diagnostics"), self.CONCURRENCY)


if __name__ == "__main__":
    unittest.main()
