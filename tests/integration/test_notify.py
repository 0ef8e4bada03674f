"""test_notify — notifications to school systems end to end (issue 9, items 2 and 3) on a real stack with
the events and notify services and real HTTP webhook sinks on loopback (notify_sink.Sink); events are
created, published, changed and cancelled over HTTP through the events service:

- a sink failing twice then succeeding gets the notification with a valid Standard Webhooks signature,
  the same webhook-id every time (once per id after dedup), and the delivery log tells the attempts;
- kill -9 of the notify service and of Redis between attempts loses no delivery, and an event written
  while notify is down is delivered after its restart (the consumer group resumes);
- 410 disables the subscription at once with the reason; enable turns it on again; its owner pauses it by
  hand (disable: nothing is sent, If-Match kept) and enables it again;
- scope: a school of municipality A never sees B's notifications — webhook, feed or stream — and both see
  a regional one; a school's API key manages only its own subscriptions; the secret is shown once;
- the feed pages with no gaps or repeats; the stream resumes with Last-Event-ID without loss and sends
  keep-alive comments; the three channels carry the same records in the same order.
"""

import json
import os
import time
import unittest
import urllib.parse

from harness import StackTestCase, bin_dir
from notify_sink import Sink, SseStream, verify_signature

REGION = "07"
STREAM = "ev:{r:07}:events"


class NotifyCase(StackTestCase):
    """The stack, the sink, two schools with their keys, and the helpers of both test classes."""

    WORKERS = 1
    APPENDFSYNC = "always"  # kill -9 of Redis between attempts must lose nothing
    EXTRA_ENV = {"METODNET_RATE_LIMIT": "0", "METODNET_WEBHOOK_RETRY_SCHEDULE": "1.5",
                 "METODNET_WEBHOOK_TIMEOUT_MS": "3000", "METODNET_SSE_KEEPALIVE_MS": "1000",
                 "METODNET_SSE_POLL_MS": "200"}

    @classmethod
    def prepare(cls):
        s = cls.stack
        cls.sink = Sink()
        cls.addClassCleanup(cls.sink.close)
        cls.seq = 0

        def must(r, status, what):
            if r.status != status:
                raise AssertionError(f"подготовка: {what}: {r!r}")
            return r.json

        must(s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}), 201, "регион")
        cls.mun, cls.org, cls.key = {}, {}, {}
        for side, name in (("A", "А"), ("B", "Б")):
            cls.mun[side] = must(s.post("/api/v1/municipalities", {"regionId": REGION, "name": f"Район {name}",
                                                                    "kind": "district"}), 201, "МО")["id"]
            cls.org[side] = must(s.post("/api/v1/organizations", {
                "municipalityId": cls.mun[side], "name": f"СОШ № 1 района {name}", "shortName": f"СОШ {name}",
                "kind": "school"}), 201, "школа")["id"]
            cls.key[side] = must(s.post("/api/v1/api-keys", {"name": f"Дневник школы {name}", "scope": {
                "kind": "organization", "id": cls.org[side]}}), 201, "API-ключ")["secret"]
        # the notify service picks the region up from the registry and creates its consumer group
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = s.redis_cli("XINFO", "GROUPS", STREAM)
            if "notify" in r.stdout:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("служба уведомлений не создала группу чтения " + STREAM)

    # ---- helpers ----

    def publish(self, kind, mun_side=None, regional=False, title=None):
        """A real event of the events service over HTTP, taken to `kind`: event.published (created and
        published: one notification), event.cancelled (published, then cancelled: two), event.changed
        (published, then changed: two). Returns the event's id."""
        import datetime
        type(self).seq += 1
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=7)
        body = {"type": "seminar", "level": "regional" if regional else "municipal",
                "title": title or f"Семинар {self.seq}", "startsAt": start.isoformat().replace("+00:00", "Z"),
                "endsAt": (start + datetime.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
                "venue": "МКОУ СОШ № 1, актовый зал", "capacity": 0}
        if not regional:
            body["municipalityId"] = self.mun[mun_side]
        r = self.stack.post("/api/v1/events", body)
        self.assertEqual(r.status, 201, r)
        event_id = r.json["id"]
        r = self.stack.post(f"/api/v1/events/{event_id}/publish", {})
        self.assertEqual(r.status, 200, r)
        if kind == "event.cancelled":
            r = self.stack.post(f"/api/v1/events/{event_id}/cancel", {"reason": "Карантин"})
            self.assertEqual(r.status, 200, r)
        elif kind == "event.changed":
            r = self.stack.patch(f"/api/v1/events/{event_id}", {"venue": "МКОУ СОШ № 1, кабинет 12"})
            self.assertEqual(r.status, 200, r)
        return event_id

    def subscribe(self, path, key_side, types=None, **body):
        self.sink.behave(path, **{k: body.pop(k) for k in ("fail_first", "status", "gone", "retry_after")
                                  if k in body})
        r = self.stack.post("/api/v1/webhooks", {"url": self.sink.url(path),
                                                 "eventTypes": types or ["event.published"], **body},
                            token=self.key[key_side] if key_side else True)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["secret"].startswith("whsec_"), r.json)
        return r.json

    def feed(self, token, after="", limit=50):
        q = urllib.parse.urlencode({"after": after, "limit": limit})
        r = self.stack.get(f"/api/v1/notifications?{q}", token=token)
        self.assertEqual(r.status, 200, r)
        return r.json

    def feed_all(self, token, limit=50):
        items, after = [], ""
        for _ in range(200):
            page = self.feed(token, after, limit)
            items += page.get("items", [])
            if not page.get("items"):
                return items
            after = page["nextCursor"]
        raise AssertionError("лента не кончается")

    def wait_feed(self, token, event_id, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.feed_all(token, limit=500):
                if n["data"]["event"]["id"] == event_id:
                    return n
            time.sleep(0.1)
        raise AssertionError(f"уведомление о {event_id} не появилось в ленте")

    def deliveries(self, webhook, token=True):
        r = self.stack.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", token=token)
        self.assertEqual(r.status, 200, r)
        return r.json.get("items", [])

    def check_signed(self, webhook, requests):
        for headers, body, _ in requests:
            self.assertTrue(verify_signature(webhook["secret"], headers, body), headers)
            self.assertLess(abs(int(headers["webhook-timestamp"]) - time.time()), 300)
            self.assertEqual(headers["content-type"], "application/json")


class NotifyTest(NotifyCase):
    # ---- webhooks ----

    def test_sink_failing_twice_gets_it_signed_once_per_id(self):
        hook = self.subscribe("/a/fail-twice", "A", fail_first=2)
        event_id = self.publish("event.published", "A", title="Семинар «Функциональная грамотность»")
        got = self.sink.wait("/a/fail-twice", 3, timeout=30)
        time.sleep(2.5)  # nothing more after the success
        got = self.sink.requests("/a/fail-twice")
        self.assertEqual(len(got), 3)
        self.check_signed(hook, got)
        ids = {h["webhook-id"] for h, _, _ in got}
        self.assertEqual(len(ids), 1, "повторы несут тот же webhook-id")
        body = json.loads(got[-1][1])
        self.assertEqual(body["type"], "event.published")
        self.assertEqual(body["data"]["id"], ids.pop())
        self.assertEqual(body["data"]["data"]["event"]["id"], event_id)
        self.assertEqual(body["data"]["data"]["event"]["title"], "Семинар «Функциональная грамотность»")
        self.assertEqual(body["timestamp"], body["data"]["occurredAt"])
        # the retries waited (1.5 s, at most 20 % more)
        self.assertGreaterEqual(got[1][2] - got[0][2], 1.4)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            d = self.deliveries(hook, token=self.key["A"])
            if d and d[0]["status"] == "succeeded":
                break
            time.sleep(0.1)
        self.assertEqual(d[0]["status"], "succeeded", d)
        self.assertEqual(d[0]["attempts"], 3)
        self.assertEqual([a["responseCode"] for a in d[0]["log"]], [200, 500, 500])
        self.assertIn("ошибка получателя 500", d[0]["log"][1]["responseExcerpt"])
        self.assertEqual(d[0]["lastResponseExcerpt"], '{"ok":true}')
        self.assertGreaterEqual(int(d[0]["lastDurationMs"]), 0)
        # retry by hand: one more attempt, the same id
        r = self.stack.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{d[0]['id']}/retry", token=self.key["A"])
        self.assertEqual(r.status, 200, r)
        again = self.sink.wait("/a/fail-twice", 4, timeout=10)
        self.assertEqual(again[-1][0]["webhook-id"], got[0][0]["webhook-id"])

    def test_kill9_of_notify_and_redis_between_attempts_loses_nothing(self):
        hook = self.subscribe("/a/kill", "A", fail_first=2)
        first = self.publish("event.published", "A")
        self.sink.wait("/a/kill", 1, timeout=15)
        self.stack.kill9("notify")
        # written while notify is down: the consumer group keeps it for the restart
        second = self.publish("event.published", "A")
        time.sleep(0.5)
        self.stack.restart("notify")
        self.sink.wait("/a/kill", 2, timeout=30)
        self.stack.kill9("redis")
        time.sleep(0.3)
        self.stack.restart("redis")
        got = self.sink.wait("/a/kill", 4, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = {json.loads(b)["data"]["data"]["event"]["id"] for h, b, _ in self.sink.requests("/a/kill")}
            statuses = [d["status"] for d in self.deliveries(hook)]
            if ok >= {first, second} and statuses == ["succeeded", "succeeded"]:
                break
            time.sleep(0.2)
        self.assertEqual(ok, {first, second})
        self.assertEqual(statuses, ["succeeded", "succeeded"])
        got = self.sink.requests("/a/kill")
        self.check_signed(hook, got)
        self.assertEqual(len({h["webhook-id"] for h, _, _ in got}), 2)
        # the feed has each once
        feed = [n["data"]["event"]["id"] for n in self.feed_all(self.key["A"], limit=500)]
        self.assertEqual(feed.count(first), 1)
        self.assertEqual(feed.count(second), 1)

    def test_410_disables_at_once_and_enable_turns_it_on(self):
        hook = self.subscribe("/a/gone", "A", gone=True)
        self.publish("event.published", "A")
        self.sink.wait("/a/gone", 1, timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            w = self.stack.get(f"/api/v1/webhooks/{hook['id']}", token=self.key["A"]).json
            if w["status"] == "disabled":
                break
            time.sleep(0.1)
        self.assertEqual(w["status"], "disabled", w)
        self.assertIn("410", w["disabledReason"])
        self.assertEqual(self.deliveries(hook)[0]["status"], "failed")
        time.sleep(2)
        self.assertEqual(len(self.sink.requests("/a/gone")), 1, "после 410 не повторяют")
        # a disabled subscription gets nothing new
        self.publish("event.published", "A")
        time.sleep(1.5)
        self.assertEqual(len(self.sink.requests("/a/gone")), 1)
        r = self.stack.post(f"/api/v1/webhooks/{hook['id']}/enable", token=self.key["A"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "enabled")
        self.assertEqual(r.json.get("secret", ""), "", "секрет показывается только при создании")
        self.sink.behave("/a/gone")
        self.publish("event.published", "A")
        self.sink.wait("/a/gone", 2, timeout=15)

    def test_pause_by_hand_and_enable(self):
        hook = self.subscribe("/a/pause", "A")
        # a stale version is refused, nothing changes
        r = self.stack.post(f"/api/v1/webhooks/{hook['id']}/disable", token=self.key["A"],
                            headers={"If-Match": f'"{int(hook["version"]) + 5}"'})
        self.assertEqual(r.status, 412, r)
        unchanged = self.stack.get(f"/api/v1/webhooks/{hook['id']}", token=self.key["A"]).json
        self.assertEqual(unchanged["status"], "enabled")
        r = self.stack.post(f"/api/v1/webhooks/{hook['id']}/disable", token=self.key["A"],
                            headers={"If-Match": f'"{hook["version"]}"'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "disabled")
        self.assertIn("вручную", r.json["disabledReason"])
        self.assertEqual(r.json.get("secret", ""), "")
        again = self.stack.post(f"/api/v1/webhooks/{hook['id']}/disable", token=self.key["A"])
        self.assertEqual((again.status, again.json["version"]), (200, r.json["version"]), "повторная пауза ничего не меняет")
        # paused: nothing is sent
        self.publish("event.published", "A")
        time.sleep(1.5)
        self.assertEqual(self.sink.requests("/a/pause"), [])
        r = self.stack.post(f"/api/v1/webhooks/{hook['id']}/enable", token=self.key["A"])
        self.assertEqual((r.status, r.json["status"], r.json["disabledReason"]), (200, "enabled", ""), r)
        self.publish("event.published", "A")
        self.sink.wait("/a/pause", 1, timeout=15)

    def test_retry_after_is_honoured(self):
        self.subscribe("/a/later", "A", fail_first=1, status=429, retry_after=4)
        self.publish("event.published", "A")
        got = self.sink.wait("/a/later", 2, timeout=20)
        self.assertGreaterEqual(got[1][2] - got[0][2], 3.9, "не раньше Retry-After (4 с), а не через 1,5 с")

    def test_failing_the_whole_window_disables_with_the_reason(self):
        hook = self.subscribe("/a/down", "A", fail_first=1000, status=503)
        self.publish("event.published", "A")
        got = self.sink.wait("/a/down", 10, timeout=40)  # the first attempt and 9 retries
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            w = self.stack.get(f"/api/v1/webhooks/{hook['id']}", token=self.key["A"]).json
            if w["status"] == "disabled":
                break
            time.sleep(0.1)
        self.assertEqual(w["status"], "disabled", w)
        self.assertIn("72 часов", w["disabledReason"])
        d = self.deliveries(hook, token=self.key["A"])[0]
        self.assertEqual((d["status"], d["attempts"], d["lastResponseCode"]), ("failed", 10, 503))
        time.sleep(2)
        self.assertEqual(len(self.sink.requests("/a/down")), len(got), "после отключения попыток нет")

    def test_school_key_manages_only_its_own_subscriptions(self):
        a = self.subscribe("/a/own", "A")
        b = self.subscribe("/b/own", "B")
        self.assertEqual(a["organizationId"], self.org["A"])
        self.assertEqual(a["municipalityId"], self.mun["A"])
        for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries"), ("POST", "/enable"),
                               ("POST", "/disable")):
            r = self.stack.request(method, f"/api/v1/webhooks/{b['id']}{suffix}", token=self.key["A"])
            self.assertEqual(r.status, 404, (method, suffix, r))
            self.assertJsonError(r, 404)
        listed = [w["id"] for w in self.stack.get("/api/v1/webhooks", token=self.key["A"]).json["items"]]
        self.assertIn(a["id"], listed)
        self.assertNotIn(b["id"], listed)
        got = self.stack.get(f"/api/v1/webhooks/{a['id']}", token=self.key["A"]).json
        self.assertEqual(got.get("secret", ""), "")
        # a key cannot take another school's scope
        r = self.stack.post("/api/v1/webhooks", {"url": self.sink.url("/x"), "organizationId": self.org["B"],
                                                 "municipalityId": self.mun["B"]}, token=self.key["A"])
        self.assertEqual(r.status, 403, r)
        # bad input: a clear Russian answer and nothing stored
        r = self.stack.post("/api/v1/webhooks", {"url": "ftp://x", "eventTypes": ["event.unknown"]},
                            token=self.key["A"])
        self.assertEqual(r.status, 400, r)
        fields = {d["field"] for d in r.json["error"]["details"]}
        self.assertEqual(fields, {"url", "eventTypes[0]"})
        r = self.stack.delete(f"/api/v1/webhooks/{a['id']}", token=self.key["A"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.get(f"/api/v1/webhooks/{a['id']}", token=self.key["A"]).status, 404)

    # ---- scope on every channel ----

    def test_school_of_A_never_sees_B_on_any_channel(self):
        hook_a = self.subscribe("/a/scope", "A", types=["event.published", "event.cancelled"])
        hook_b = self.subscribe("/b/scope", "B", types=["event.published", "event.cancelled"])
        stream_a = SseStream(self.stack.http_port, self.key["A"])
        self.assertEqual(stream_a.status, 200)
        try:
            time.sleep(0.5)
            in_b = self.publish("event.published", "B")
            cancelled_b = self.publish("event.cancelled", "B")
            regional = self.publish("event.published", regional=True)
            got_b = self.sink.wait("/b/scope", 4, timeout=20)  # published, published + cancelled, regional
            got_a = self.sink.wait("/a/scope", 1, timeout=20)
            time.sleep(1.5)
            got_a = self.sink.requests("/a/scope")
            seen_a = [json.loads(b)["data"]["data"]["event"]["id"] for _, b, _ in got_a]
            seen_b = {json.loads(b)["data"]["data"]["event"]["id"] for _, b, _ in got_b}
            self.assertEqual(seen_a, [regional])
            self.assertEqual(seen_b, {in_b, cancelled_b, regional})
            self.check_signed(hook_a, got_a)
            self.check_signed(hook_b, got_b)
            feed_a = {n["data"]["event"]["id"] for n in self.feed_all(self.key["A"])}
            feed_b = {n["data"]["event"]["id"] for n in self.feed_all(self.key["B"])}
            self.assertNotIn(in_b, feed_a)
            self.assertNotIn(cancelled_b, feed_a)
            self.assertIn(regional, feed_a)
            self.assertTrue({in_b, cancelled_b, regional} <= feed_b)
            streamed = [e["data"]["data"]["event"]["id"] for e in stream_a.events(5, timeout=3)]
            self.assertEqual(streamed, [regional])
            # a stream from the start shows A nothing of B either
            full = SseStream(self.stack.http_port, self.key["A"], query="?after=0-0")
            try:
                ids = {e["data"]["data"]["event"]["id"] for e in full.events(500, timeout=3)}
            finally:
                full.close()
            self.assertEqual(ids, feed_a)
        finally:
            stream_a.close()

    # ---- feed and stream ----

    def test_feed_pages_without_gaps_and_channels_agree(self):
        hook = self.subscribe("/a/order", "A", types=["event.published", "event.changed"])
        published = [self.publish("event.published", "A") for i in range(7)]
        self.wait_feed(self.key["A"], published[-1])
        whole = self.feed_all(self.key["A"], limit=500)
        paged = self.feed_all(self.key["A"], limit=2)
        self.assertEqual([n["id"] for n in paged], [n["id"] for n in whole])
        self.assertEqual(len({n["id"] for n in paged}), len(paged), "без повторов")
        cursors = [n["cursor"] for n in whole]
        self.assertEqual(cursors, sorted(cursors, key=lambda c: tuple(int(x) for x in c.split("-"))))
        mine = [n["data"]["event"]["id"] for n in whole if n["data"]["event"]["id"] in published]
        self.assertEqual(mine, published, "порядок событий службы мероприятий")
        # the stream from the start: the same records in the same order
        stream = SseStream(self.stack.http_port, self.key["A"], query="?after=0-0")
        try:
            events = stream.events(len(whole), timeout=5)
        finally:
            stream.close()
        self.assertEqual([e["id"] for e in events], cursors)
        self.assertEqual([e["data"] for e in events], whole)
        self.assertEqual([e["event"] for e in events], [n["type"] for n in whole])
        # the webhooks: the same records
        got = self.sink.wait("/a/order", 7, timeout=20)
        by_id = {n["id"]: n for n in whole}
        for _, body, _ in got:
            record = json.loads(body)["data"]
            self.assertEqual(record, by_id[record["id"]])
        # a cursor that is not one: a clear answer
        r = self.stack.get("/api/v1/notifications?after=abc", token=self.key["A"])
        self.assertEqual(r.status, 400, r)
        self.assertJsonError(r, 400)

    def test_stream_resumes_with_last_event_id_and_keeps_alive(self):
        stream = SseStream(self.stack.http_port, self.key["A"])
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.resp.getheader("Content-Type").startswith("text/event-stream"))
        try:
            time.sleep(0.3)
            first = [self.publish("event.published", "A") for _ in range(2)]
            events = stream.events(2, timeout=10)
            self.assertEqual([e["data"]["data"]["event"]["id"] for e in events], first)
            last_id = events[-1]["id"]
            stream.events(1, timeout=2.5)  # idle: keep-alive comments only
            self.assertIn(": keep-alive", stream.comments)
        finally:
            stream.close()
        # missed while disconnected
        missed = [self.publish("event.published", "A") for _ in range(3)]
        self.wait_feed(self.key["A"], missed[-1])
        resumed = SseStream(self.stack.http_port, self.key["A"], last_event_id=last_id)
        try:
            events = resumed.events(3, timeout=10)
            self.assertEqual([e["data"]["data"]["event"]["id"] for e in events], missed)
            more = self.publish("event.published", "A")
            self.assertEqual([e["data"]["data"]["event"]["id"] for e in resumed.events(1, timeout=10)], [more])
        finally:
            resumed.close()
        r = self.stack.request("GET", "/api/v1/notifications/stream", token=False)
        self.assertEqual(r.status, 401)
        self.assertJsonError(r, 401)
        r = self.stack.request("GET", "/api/v1/notifications/stream", headers={"Last-Event-ID": "x"},
                               token=self.key["A"])
        self.assertEqual(r.status, 400)

    def test_many_open_streams_on_one_gateway(self):
        streams = [SseStream(self.stack.http_port, self.key["A" if i % 2 else "B"]) for i in range(200)]
        try:
            self.assertTrue(all(s.status == 200 for s in streams))
            time.sleep(0.5)
            event_id = self.publish("event.published", regional=True)
            for s in streams:
                got = s.events(1, timeout=10)
                self.assertEqual([e["data"]["data"]["event"]["id"] for e in got], [event_id])
        finally:
            for s in streams:
                s.close()


class NotifyEventsServiceTest(NotifyCase):
    """The same contract with the real events service: events created, published, changed and cancelled
    over HTTP reach a school's webhook, feed and stream; kill -9 of the events service and of notify
    between attempts loses nothing."""

    def http_event(self, mun_side, title):
        import datetime
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=7)
        body = {"type": "seminar", "level": "municipal", "municipalityId": self.mun[mun_side], "title": title,
                "startsAt": start.isoformat().replace("+00:00", "Z"),
                "endsAt": (start + datetime.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
                "venue": "МКОУ СОШ № 1, актовый зал", "capacity": 0}
        r = self.stack.post("/api/v1/events", body)
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def test_real_events_reach_the_school_on_every_channel(self):
        hook = self.subscribe("/a/real", "A", types=["event.published", "event.changed", "event.cancelled"],
                              fail_first=1)
        other = self.subscribe("/b/real", "B", types=["event.published", "event.changed", "event.cancelled"])
        stream = SseStream(self.stack.http_port, self.key["A"])
        try:
            event_id = self.http_event("A", "Мастер-класс «Смысловое чтение»")
            r = self.stack.post(f"/api/v1/events/{event_id}/publish", {})
            self.assertEqual(r.status, 200, r)
            self.sink.wait("/a/real", 1, timeout=15)  # the first attempt fails
            self.stack.kill9("events")
            self.stack.kill9("notify")
            self.stack.restart("events")
            self.stack.restart("notify")
            self.stack.wait_ready()
            r = self.stack.patch(f"/api/v1/events/{event_id}", {"venue": "МКОУ СОШ № 1, кабинет 12"})
            self.assertEqual(r.status, 200, r)
            r = self.stack.post(f"/api/v1/events/{event_id}/cancel", {"reason": "Карантин в школе"})
            self.assertEqual(r.status, 200, r)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                done = [d for d in self.deliveries(hook) if d["status"] == "succeeded"]
                if len(done) == 3:
                    break
                time.sleep(0.2)
            self.assertEqual(len(done), 3, self.deliveries(hook))
            got = self.sink.requests("/a/real")
            self.check_signed(hook, got)
            types = {json.loads(b)["type"] for _, b, _ in got}
            self.assertEqual(types, {"event.published", "event.changed", "event.cancelled"})
            feed = [n for n in self.feed_all(self.key["A"], limit=500) if n["data"]["event"]["id"] == event_id]
            self.assertEqual([n["type"] for n in feed], ["event.published", "event.changed", "event.cancelled"])
            self.assertEqual(feed[1]["data"]["event"]["venue"], "МКОУ СОШ № 1, кабинет 12")
            self.assertEqual(feed[2]["data"]["event"]["status"], "cancelled")
            streamed = [e for e in stream.events(10, timeout=5) if e["data"]["data"]["event"]["id"] == event_id]
            self.assertEqual([e["data"] for e in streamed], feed)
            self.assertEqual(self.sink.requests("/b/real"), [], "школа района Б не получает мероприятия района А")
            feed_b = [n for n in self.feed_all(self.key["B"]) if n["data"]["event"]["id"] == event_id]
            self.assertEqual(feed_b, [])
            self.assertTrue(other["id"])
        finally:
            stream.close()


if __name__ == "__main__":
    unittest.main()
