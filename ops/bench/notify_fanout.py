"""notify_fanout.py — the driver of ops/bench/notify_fanout.sh: 1,500 webhook subscriptions to one local
sink (one asyncio process on loopback, a path per endpoint), one regional event, every delivery received
and its Standard Webhooks signature verified; against a curl --parallel baseline of the same number of
POSTs of the same body to the same sink, measured in the same run.

Prints NOTE lines and a VERDICT line; exits 1 when a delivery is missing after 10 s or a signature does
not verify."""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


class Sink:
    """HTTP/1.1 keep-alive POST receiver; records (path, headers, body, time) of every request."""

    def __init__(self):
        self.records = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0, backlog=4096))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.records.append((path, headers, body, time.time()))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()


def verify(secret, headers, body):
    key = base64.b64decode(secret[len("whsec_"):])
    signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    want = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return want in headers.get("webhook-signature", "").split(" ")


def api(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--endpoints", type=int, default=1500)
    ap.add_argument("--publish", required=True, help="command that publishes one regional event")
    ap.add_argument("--parallel", type=int, default=256)
    args = ap.parse_args()
    n = args.endpoints
    sink = Sink()
    print(f"== Приёмник на 127.0.0.1:{sink.port}, {n} адресов /s/<k>; подписки на event.published", file=sys.stderr)
    secrets = {}
    t = time.monotonic()

    def subscribe(k):
        w = api(args.base_url, args.token, "POST", "/api/v1/webhooks",
                {"url": f"http://127.0.0.1:{sink.port}/s/{k}", "eventTypes": ["event.published"]})
        return f"/s/{k}", w["secret"]

    with ThreadPoolExecutor(16) as pool:
        for path, secret in pool.map(subscribe, range(n)):
            secrets[path] = secret
    print(f"   {n} подписок за {time.monotonic() - t:.1f} с", file=sys.stderr)

    # baseline: the same number of POSTs of a body of the same size, curl --parallel, same sink
    body = b'{"type":"event.published","timestamp":"x","data":{}}'.ljust(1200, b" ")
    with tempfile.TemporaryDirectory() as tmp:
        body_file = os.path.join(tmp, "body.json")
        with open(body_file, "wb") as f:
            f.write(body)
        config = os.path.join(tmp, "urls.txt")
        with open(config, "w") as f:
            for k in range(n):
                f.write(f'url = "http://127.0.0.1:{sink.port}/base/{k}"\n-o /dev/null\n')
        before = len(sink.records)
        t0 = time.time()
        subprocess.run(["curl", "-s", "--parallel", "--parallel-max", str(args.parallel), "--parallel-immediate",
                        "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + body_file,
                        "-K", config], check=True, stderr=subprocess.DEVNULL)
        base_s = time.time() - t0
        base_got = len(sink.records) - before
    base_rate = base_got / base_s if base_s else 0
    print(f"   базовая линия curl --parallel (max {args.parallel}): {base_got} POST за {base_s:.2f} с, "
          f"{base_rate:.0f}/с", file=sys.stderr)

    sink.records.clear()
    t0 = time.time()
    subprocess.run(args.publish, shell=True, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len({r[0] for r in sink.records if r[0].startswith("/s/")}) >= n:
            break
        time.sleep(0.01)
    records = [r for r in sink.records if r[0].startswith("/s/")]
    first = {}
    bad = 0
    ids = set()
    for path, headers, payload, at in records:
        if not verify(secrets.get(path, "whsec_"), headers, payload):
            bad += 1
            continue
        ids.add(headers.get("webhook-id"))
        first.setdefault(path, at)
    delays = [at - t0 for at in first.values()]
    delivered = len(first)
    span = max(delays) if delays else 0
    rate = delivered / span if span else 0
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    ratio = rate / base_rate if base_rate else 0
    print(f"NOTE доставлено и проверено {delivered} из {n} за {span:.2f} с: {rate:.0f} доставок/с, "
          f"задержка p50 {p50 * 1000:.0f} мс, p99 {p99 * 1000:.0f} мс; одно уведомление: {len(ids) == 1}")
    print(f"NOTE базовая линия curl --parallel: {base_rate:.0f} POST/с; отношение {ratio:.2f}")
    ok = delivered == n and bad == 0 and len(ids) == 1 and span <= 10
    print(f"VERDICT {'OK' if ok else 'FAIL'}: {delivered}/{n} за {span:.2f} с (≤ 10 с), подписи неверны: {bad}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
