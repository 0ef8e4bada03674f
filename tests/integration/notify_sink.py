"""notify_sink — what the notification tests and ops/bench/notify_fanout.sh share: a real HTTP webhook
receiver on loopback (one process, many paths, each path with its own behaviour), the Standard Webhooks
signature check written independently of the service (Python's hmac), and a small Server-Sent Events
reader."""

import base64
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(secret, headers, body):
    """True when webhook-signature carries a v1 signature of "id.timestamp.body" with the secret."""
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    signed = f"{msg_id}.{ts}.".encode() + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in headers.get("webhook-signature", "").split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, want):
            return True
    return False


class Sink:
    """A webhook receiver. behave(path, fail_first=0, status=500, gone=False, retry_after=None): the first
    fail_first requests to path get `status` (with Retry-After when given), the rest 200 (410 for gone).
    received[path] = [(headers, body, time)]."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = {}
        self.rules = {}
        self.counts = {}
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with sink.lock:
                    n = sink.counts.get(self.path, 0)
                    sink.counts[self.path] = n + 1
                    sink.received.setdefault(self.path, []).append((headers, body, time.time()))
                    fail_first, status, gone, retry_after = sink.rules.get(self.path, (0, 500, False, None))
                code = 410 if gone else (status if n < fail_first else 200)
                answer = b'{"ok":true}' if code == 200 else ("ошибка получателя %d" % code).encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                if retry_after is not None and code != 200:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, path, fail_first=0, status=500, gone=False, retry_after=None):
        with self.lock:
            self.rules[path] = (fail_first, status, gone, retry_after)

    def requests(self, path):
        with self.lock:
            return list(self.received.get(path, []))

    def wait(self, path, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{path}: за {timeout} с пришло {len(self.requests(path))} запросов из {count}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SseStream:
    """An open GET /api/v1/notifications/stream; events() reads parsed events until a deadline."""

    def __init__(self, port, token, last_event_id=None, query=""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Accept": "text/event-stream", "Authorization": "Bearer " + token}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/api/v1/notifications/stream" + query, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.comments = []

    def events(self, count, timeout=10.0):
        """Up to count events ({"id", "event", "data"}) received within timeout."""
        out = []
        current = {}
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            self.conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                line = self.resp.readline()
            except (socket.timeout, TimeoutError):
                break
            if not line:
                break
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if "data" in current:
                    current["data"] = json.loads(current["data"])
                    out.append(current)
                current = {}
            elif line.startswith(":"):
                self.comments.append(line)
            else:
                field, _, value = line.partition(":")
                current[field] = value[1:] if value.startswith(" ") else value
        return out

    def close(self):
        self.conn.close()


def publish_event(stack, kind, event_id, level, municipality, organizer, title, status="published",
                  stream="ev:{r:07}:events"):
    """Writes a domain event exactly as the events service writes it (tests/tools/event_pack.c packs a
    DomainEvent with its Event) into its stream, as the operator's Redis user."""
    import os
    import subprocess
    from harness import bin_dir
    packed = subprocess.run([os.path.join(bin_dir(), "tests", "metodnet-event-pack"), kind, event_id, level,
                             municipality, organizer, title, status], capture_output=True, check=True).stdout
    r = subprocess.run(["redis-cli", "--no-auth-warning", "--user", "ops", "-h", "127.0.0.1", "-p",
                        str(stack.redis_port), "-x", "XADD", stream, "*", "event"], input=packed,
                       env=dict(os.environ, REDISCLI_AUTH=stack.redis_passwords["ops"]), capture_output=True,
                       timeout=10)
    if r.returncode != 0:
        raise AssertionError(f"XADD {stream}: {r.stderr!r}")
