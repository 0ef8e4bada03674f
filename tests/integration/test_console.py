"""test_console — the web console (issue 13) against a real stack with the demo district:

- ConsoleHttpTest: the gateway serves web/dist at / (index.html for a screen's path, hashed assets cached
  for a year, ETag → 304, gzip, strict CSP and the other security headers), and the browser session: login
  with X-Metodnet-CSRF answers the token only as an HttpOnly SameSite=Strict cookie, the cookie stands for
  Bearer, an unsafe method with the cookie but without X-Metodnet-CSRF is refused (403, nothing changes),
  logout clears the cookie and ends the session, a Bearer caller is unaffected by a cookie.
- ConsoleBrowserTest: Debian's chromium driven by playwright-core (web/tests/console.mjs): each demo role
  logs in, walks its screens, performs one real action per screen, which this test then checks through the
  API; no console errors; axe-core finds no serious violations; screenshots go to
  <build dir>/console-screenshots/.

`python3 test_console.py --serve` starts the same stack and keeps it running for working on the console.
"""

import datetime
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

from harness import StackTestCase, bin_dir, source_dir
from notify_sink import Sink, publish_event, verify_signature

sys.path.insert(0, os.path.join(source_dir(), "ops", "demo"))
import demo_district  # noqa: E402
import demo_events  # noqa: E402
import demo_users  # noqa: E402

WEB = os.path.join(source_dir(), "web")
DIST = os.path.join(WEB, "dist")
CHROMIUM = os.environ.get("METODNET_CHROMIUM", "/usr/bin/chromium")

INSTRUMENT = {
    "title": "Самодиагностика учителей: методика и оценивание",
    "category": "teacher",
    "items": [
        {"id": "q1", "competence": "t.method.1", "kind": "single_choice",
         "text": "С чего начинается урок открытия нового знания?",
         "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                     {"id": "b", "text": "С мотивации и актуализации", "points": 2}]},
        {"id": "q2", "competence": "t.assess.1", "kind": "multiple_choice",
         "text": "Что относится к формирующему оцениванию?", "maxPoints": 2,
         "options": [{"id": "a", "text": "Обратная связь по критериям", "points": 1},
                     {"id": "b", "text": "Самооценка по рубрике", "points": 1},
                     {"id": "c", "text": "Итоговая отметка за четверть", "points": -1}]},
        {"id": "q3", "competence": "t.digital.1", "kind": "scale",
         "text": "Насколько уверенно вы работаете в ФГИС «Моя школа»?", "scaleMin": 1, "scaleMax": 5},
    ],
}


# a monitoring form with every field type (docs/monitoring.md)
MONITORING_FIELDS = [
    {"code": "contest_winners", "title": "Победители и призёры конкурсов профессионального мастерства",
     "type": "number", "required": True, "min": 0, "max": 500},
    {"code": "young_share", "title": "Доля молодых педагогов с наставником", "type": "share", "required": True},
    {"code": "best_practice", "title": "Лучшая практика года", "type": "text"},
    {"code": "reserve_plan", "title": "План работы с кадровым резервом", "type": "choice", "required": True,
     "options": ["утверждён", "в разработке", "нет"]},
    {"code": "head_reserve", "title": "Формирование кадрового резерва", "type": "expert_score", "required": True,
     "maxScore": 3, "hint": "0 — не выполняется, 1 — частично, 2 — в основном, 3 — полностью"},
]


def web_built():
    return os.path.isfile(os.path.join(DIST, "index.html"))


def load_demo(stack):
    """The demo district, its demo users and one diagnostics campaign with results for two teachers of the
    demo school (so the teacher's card has a competence profile and a route). Returns the fixture."""
    base = f"http://127.0.0.1:{stack.http_port}"
    api = demo_district.Api(base, timeout=60, tokens=stack.tokens)
    with open(os.devnull, "w") as quiet:
        demo_district.load(demo_district.generate(2021), api, workers=6, progress=quiet)
        # the district's plan of events, its events with registrations (mentoring comes with the district)
        events = demo_events.load(api, say=lambda m: None)
    creds = os.path.join(stack.dir, "credentials")
    with open(creds, "w", encoding="utf-8") as f:
        f.write(f"{stack.admin_login}:{stack.admin_password}\n")
    os.chmod(creds, 0o600)
    rc = demo_users.main(["--base-url", base, "--credentials", creds, "--admin-login", stack.admin_login])
    if rc != 0:
        raise RuntimeError("демо-пользователи не созданы")
    users = dict(demo_users.read_credentials(creds))
    s = stack
    mun = next(m for m in s.get("/api/v1/municipalities?limit=500").json["items"]
               if m["name"] == demo_users.MUNICIPALITY_NAME)
    org = next(o for o in s.list_all("organizations", municipalityId=mun["id"])[0]
               if o["name"] == demo_users.SCHOOL_NAME)
    teachers = s.get("/api/v1/staff?" + urllib.parse.urlencode(
        {"organizationId": org["id"], "category": "teacher", "limit": "3"})).json["items"]
    instrument = _ok(s.post("/api/v1/instruments", INSTRUMENT))
    today = datetime.date.today().isoformat()
    campaign = _ok(s.post("/api/v1/diagnostics/campaigns", {
        "title": "Самодиагностика педагогов Терского района", "instrumentId": instrument["id"], "kind": "self",
        "startsOn": today, "endsOn": "2099-12-31",
        "target": {"organizationIds": [org["id"]], "categories": ["teacher"]}}))
    campaign = _ok(s.post(f"/api/v1/diagnostics/campaigns/{campaign['id']}/open"))
    # the demo teacher (uchitel.sosh1 is the first teacher by name) and one more take it through the API
    teacher_token = s.login("uchitel.sosh1", users["uchitel.sosh1"])
    me = s.get("/api/v1/me", token=teacher_token).json
    taken = []
    other_login = None
    for staff_id, token in ((me["staffId"], teacher_token), (teachers[1]["id"] if teachers[1]["id"] != me["staffId"]
                                                            else teachers[2]["id"], None)):
        if token is None:
            login = "uchitel.test" + os.urandom(2).hex()
            password = "Пароль-учителя-" + os.urandom(4).hex()
            _ok(s.post("/api/v1/users", {"login": login, "password": password, "fullName": "Учитель для теста",
                                         "role": "teacher", "scope": {"kind": "self", "id": staff_id},
                                         "staffId": staff_id}))
            token = s.login(login, password)
            other_login = {"login": login, "password": password}
        attempt = _ok(s.post("/api/v1/diagnostics/attempts", {"campaignId": campaign["id"]}, token=token))
        _ok(s.post(f"/api/v1/diagnostics/attempts/{attempt['id']}/submit", {"answers": [
            {"itemId": "q1", "optionIds": ["a"]}, {"itemId": "q2", "optionIds": ["a", "c"]},
            {"itemId": "q3", "value": 2}]}, token=token))
        taken.append(staff_id)
    # a second open campaign the demo teacher takes in the browser
    second = _ok(s.post("/api/v1/diagnostics/campaigns", {
        "title": "Повторная самодиагностика педагогов СОШ № 1", "instrumentId": instrument["id"], "kind": "self",
        "startsOn": today, "endsOn": "2099-12-31",
        "target": {"organizationIds": [org["id"]], "categories": ["teacher"]}}))
    second = _ok(s.post(f"/api/v1/diagnostics/campaigns/{second['id']}/open"))
    # the demo teacher's route, built and approved by the methodologist's API, for «Мой кабинет»
    route = _ok(s.post(f"/api/v1/staff/{me['staffId']}/route", {"startsOn": today}))
    _ok(s.post(f"/api/v1/staff/{me['staffId']}/route/approve", headers={"If-Match": f'"{route["version"]}"'}))
    # for the events and mentoring screens: the demo's methodical day (open to all subjects) and the webinar
    # that is on now, the demo teacher's surname, the other teacher's deficits (the mentor profile offers them)
    demo = {e["type"]: e for e in s.list_all("events", municipalityId=mun["id"])[0]}
    teacher_name = s.get(f"/api/v1/staff/{me['staffId']}").json["lastName"]
    deficits = s.get(f"/api/v1/staff/{taken[1]}/competence-profile").json.get("deficits") or []
    # indicators: the region's target of I9 (the demo district is below it: recommendations to act on)
    _ok(s.request("PUT", "/api/v1/indicator-targets/I9", {"target": 50}))
    # monitoring: the municipality's campaign with a form of every field type; another school of the district
    # (its own administrator, through the API) has submitted its report, which the methodologist approves
    monitoring = _ok(s.post("/api/v1/monitoring/campaigns", {
        "municipalityId": mun["id"], "title": "Мониторинг методической работы школ", "period": "2025/26",
        "deadline": "2099-05-31T23:59:59+03:00", "organizationKind": "school", "fields": MONITORING_FIELDS}))
    monitoring = _ok(s.post(f"/api/v1/monitoring/campaigns/{monitoring['id']}/open", {},
                            headers={"If-Match": f'"{monitoring["version"]}"'}))
    required = {r["organizationId"] for r in s.get(f"/api/v1/monitoring/campaigns/{monitoring['id']}/reports").json["items"]}
    other_org = next(o for o in s.list_all("organizations", municipalityId=mun["id"])[0]
                     if o["id"] in required and o["id"] != org["id"])
    login = "direktor.test" + os.urandom(2).hex()
    password = "Пароль-директора-" + os.urandom(4).hex()
    _ok(s.post("/api/v1/users", {"login": login, "password": password, "fullName": "Директор для теста",
                                 "role": "school_admin", "scope": {"kind": "organization", "id": other_org["id"]}}))
    _ok(s.post(f"/api/v1/monitoring/campaigns/{monitoring['id']}/reports/{other_org['id']}/submit", {"values": [
        {"code": "contest_winners", "value": "3"}, {"code": "young_share", "value": "60"},
        {"code": "reserve_plan", "value": "утверждён"},
        {"code": "head_reserve", "value": "3", "evidence": "Приказ о кадровом резерве № 12"}]},
        token=s.login(login, password)))
    council = next(c for c in s.list_all("councils")[0] if c.get("municipalityId") == mun["id"])
    return {"base": base, "users": users, "municipality": mun, "organization": org, "campaign": campaign,
            "monitoring": monitoring, "monitoring_other": {"id": other_org["id"],
                                                           "name": other_org.get("shortName") or other_org["name"]},
            "school_short": org.get("shortName") or org["name"], "council": council,
            "second_campaign": second, "events": events, "event_day": demo["methodical_day"],
            "webinar": demo["webinar"], "teacher_name": teacher_name, "other_deficits": deficits,
            "instrument": instrument, "teacher": me["staffId"], "other_teacher": taken[1],
            "other_login": other_login}


def _ok(r):
    if r.status not in (200, 201):
        raise AssertionError(repr(r))
    return r.json


def _cookie(set_cookie):
    m = re.match(r"metodnet_session=([^;]*)", set_cookie or "")
    return m.group(1) if m else None


@unittest.skipUnless(web_built(), "web/dist не собран (npm run build в web/: ./ops/test делает это сам)")
class ConsoleHttpTest(StackTestCase):
    WORKERS = 1
    EXTRA_ENV = {"METODNET_WEB_DIR": DIST}

    @classmethod
    def prepare(cls):
        _ok(cls.stack.post("/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"}))

    def test_static_files(self):
        s = self.stack
        for path in ("/", "/staff/07-s1", "/diagnostics"):
            r = s.request("GET", path, token=False, headers={"Accept": "text/html"})
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.header("content-type").startswith("text/html"), r.headers)
            self.assertEqual(r.header("cache-control"), "no-cache")
            csp = r.header("content-security-policy")
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn("unsafe-inline", csp)
            self.assertEqual(r.header("x-content-type-options"), "nosniff")
            self.assertEqual(r.header("referrer-policy"), "no-referrer")
            self.assertIn(b'<div id="app"', r.body)
            self.assertNotIn(b"<script>", r.body, "no inline script")
        html = s.request("GET", "/", token=False).body.decode()
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
        self.assertTrue(any(a.endswith(".js") for a in assets), html)
        for a in assets:
            r = s.request("GET", a, token=False)
            self.assertEqual(r.status, 200, a)
            self.assertEqual(r.header("cache-control"), "public, max-age=31536000, immutable")
            etag = r.header("etag")
            self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
            again = s.request("GET", a, token=False, headers={"If-None-Match": etag})
            self.assertEqual(again.status, 304)
            self.assertEqual(again.body, b"")
            gz = s.request("GET", a, token=False, headers={"Accept-Encoding": "gzip"})
            if len(r.body) > 2048:
                self.assertEqual(gz.header("content-encoding"), "gzip", a)
                import gzip
                self.assertEqual(gzip.decompress(gz.body), r.body)
        # a missing file is the API's JSON 404; the API itself is unchanged
        self.assertJsonError(s.request("GET", "/assets/nope-123.js", token=False), 404)
        self.assertJsonError(s.request("GET", "/api/v1/nope", token=False), (401, 404))
        self.assertJsonError(s.request("POST", "/", token=False), (404, 405))
        r = s.request("GET", "/api/v1/me")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertIsNone(r.header("set-cookie"))

    def test_browser_session(self):
        s = self.stack
        creds = {"login": s.admin_login, "password": s.admin_password}
        # a plain API login is unchanged: the token in the body, no cookie
        r = s.request("POST", "/api/v1/auth/login", creds, token=False)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json["token"])
        self.assertIsNone(r.header("set-cookie"))
        # the console's login: only the cookie carries the token
        r = s.request("POST", "/api/v1/auth/login", creds, token=False, headers={"X-Metodnet-CSRF": "1"})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json.get("token"), "the token must not reach the page's script")
        self.assertEqual(r.json["user"]["login"], s.admin_login)
        set_cookie = r.header("set-cookie")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"):
            self.assertIn(attr, set_cookie)
        token = _cookie(set_cookie)
        self.assertTrue(token)
        jar = {"Cookie": f"theme=dark; metodnet_session={token}"}
        me = s.request("GET", "/api/v1/me", token=False, headers=jar)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json["login"], s.admin_login)
        # an unsafe method by the cookie without the CSRF header: refused, nothing created
        body = {"regionId": "07", "name": "Муниципалитет CSRF-проверки", "kind": "district"}
        r = s.request("POST", "/api/v1/municipalities", body, token=False, headers=jar)
        err = self.assertJsonError(r, 403)
        self.assertIn("X-Metodnet-CSRF", err["message"])
        names = [m["name"] for m in s.list_all("municipalities")[0]]
        self.assertNotIn(body["name"], names)
        # with it: done
        r = s.request("POST", "/api/v1/municipalities", body, token=False, headers=dict(jar, **{"X-Metodnet-CSRF": "1"}))
        self.assertEqual(r.status, 201, r)
        # a Bearer caller is decided by Authorization alone: a stray cookie neither helps nor hurts
        r = s.request("POST", "/api/v1/municipalities", dict(body, name="Муниципалитет по Bearer"),
                      headers={"Cookie": "metodnet_session=nonsense"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(s.request("GET", "/api/v1/me", token="bad-token", headers=jar).status, 401)
        # a malformed cookie is no session
        self.assertEqual(s.request("GET", "/api/v1/me", token=False,
                                   headers={"Cookie": "metodnet_session=a b;"}).status, 401)
        # logout needs the header too, then clears the cookie and ends the session
        self.assertJsonError(s.request("POST", "/api/v1/auth/logout", token=False, headers=jar), 403)
        r = s.request("POST", "/api/v1/auth/logout", token=False, headers=dict(jar, **{"X-Metodnet-CSRF": "1"}))
        self.assertEqual(r.status, 200, r)
        self.assertIn("Max-Age=0", r.header("set-cookie"))
        self.assertEqual(_cookie(r.header("set-cookie")), "")
        r = s.request("GET", "/api/v1/me", token=False, headers=jar)
        self.assertJsonError(r, 401)
        self.assertIn("Max-Age=0", r.header("set-cookie") or "", "an ended session's cookie is cleared")


    def test_stream_by_session_cookie(self):
        """The notifications stream (SSE) accepts the console's session cookie as the rest of the API does: a
        GET, so no X-Metodnet-CSRF; the caller's scope is the session's; a bad cookie is no session."""
        s = self.stack
        r = s.request("POST", "/api/v1/auth/login", {"login": s.admin_login, "password": s.admin_password},
                      token=False, headers={"X-Metodnet-CSRF": "1"})
        jar = f"metodnet_session={_cookie(r.header('set-cookie'))}"

        def stream(headers):
            conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
            conn.request("GET", "/api/v1/notifications/stream", headers=dict(headers, Accept="text/event-stream"))
            return conn, conn.getresponse()

        conn, resp = stream({"Cookie": f"theme=dark; {jar}"})
        try:
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.getheader("Content-Type").startswith("text/event-stream"))
            self.assertEqual(resp.readline().strip(), b"retry: 3000")
            # a regional event reaches the cookie's stream
            publish_event(s, "event.published", "07-e901", "regional", "", "", "Региональный форум по cookie")
            got = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not got:
                line = resp.readline().decode()
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
            self.assertEqual([g["data"]["event"]["title"] for g in got], ["Региональный форум по cookie"])
        finally:
            conn.close()
        for headers in ({"Cookie": "metodnet_session=nonsense-token-of-nobody-0123456789"},
                        {"Cookie": "metodnet_session=a b;"}, {}):
            conn, resp = stream(headers)
            try:
                self.assertEqual(resp.status, 401, headers)
                self.assertIn("Требуется вход", json.loads(resp.read())["error"]["message"])
            finally:
                conn.close()
        # Authorization decides alone: a bad bearer with a good cookie is refused
        conn, resp = stream({"Cookie": jar, "Authorization": "Bearer bad-token"})
        try:
            self.assertEqual(resp.status, 401)
        finally:
            conn.close()


@unittest.skipUnless(web_built() and os.access(CHROMIUM, os.X_OK) and
                     os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core")),
                     "нужны web/dist, web/node_modules (npm ci) и /usr/bin/chromium (./ops/test ставит их)")
class ConsoleBrowserTest(StackTestCase):
    WORKERS = 2
    EXTRA_ENV = {"METODNET_WEB_DIR": DIST}

    @classmethod
    def prepare(cls):
        cls.fx = load_demo(cls.stack)
        cls.sink = Sink()  # the school system's webhook receiver, on loopback

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "sink", None):
            cls.sink.close()
        super().tearDownClass()

    def test_roles_walk_their_screens(self):
        out = os.path.join(bin_dir(), "console-screenshots")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out, exist_ok=True)
        fx = dict(self.fx, screenshots=out, chromium=CHROMIUM, sink_url=self.sink.url("/hooks/sosh1"))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(fx, f, ensure_ascii=False)
            fixture = f.name
        started = time.monotonic()
        try:
            p = subprocess.run(["node", os.path.join(WEB, "tests", "console.mjs"), fixture], cwd=WEB,
                               capture_output=True, text=True, timeout=600)
        finally:
            os.unlink(fixture)
        print(p.stdout[-6000:], file=sys.stderr)
        print(p.stderr[-6000:], file=sys.stderr)
        self.assertEqual(p.returncode, 0, "браузерный тест консоли не прошёл (вывод выше)")
        report = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"браузерный тест: {time.monotonic() - started:.1f} с, первая отрисовка {report['firstPaintMs']} мс",
              file=sys.stderr)
        self.assertLessEqual(report["firstPaintMs"], 1000)
        s = self.stack
        # every action the roles performed in the browser, checked through the API
        names = [o["name"] for o in s.list_all("organizations", municipalityId=fx["municipality"]["id"])[0]]
        self.assertIn(report["createdOrganization"], names)
        imported = s.list_all("staff", organizationId=fx["organization"]["id"], q=report["importedLastName"])[0]
        self.assertEqual(len(imported), 1, imported)
        campaigns = [c["title"] for c in s.list_all("diagnostics/campaigns")[0]]
        self.assertIn(report["createdCampaign"], campaigns)
        # the methodologist's municipal campaign by nomination, and the school's nominee in it
        made = [c for c in s.list_all("diagnostics/campaigns")[0] if c["title"] == report["nominationCampaign"]]
        self.assertEqual(len(made), 1, made)
        self.assertEqual((made[0].get("municipalityId"), made[0].get("byNomination"), made[0]["status"]),
                         (fx["municipality"]["id"], True, "open"), made)
        progress = s.get(f"/api/v1/diagnostics/campaigns/{made[0]['id']}/progress").json
        self.assertEqual((progress.get("assigned"), progress.get("nominated")), (1, 1), progress)
        self.assertTrue(report["deficitsCsv"].strip(), "CSV сводки дефицитов пуст")
        route = s.get(f"/api/v1/staff/{fx['other_teacher']}/route").json
        self.assertEqual(route["status"], "approved", route)
        # the route's period and tutor set on the card, proposed, sent back with a reason, proposed by the
        # teacher (their agreement), approved; the regeneration kept a version
        self.assertEqual((route.get("tutorStaffId"), route.get("endsOn")), (fx["teacher"], report["routeTutorEnd"]), route)
        self.assertTrue(route.get("agreedBy") and route.get("proposedBy"), route)
        self.assertNotEqual(route.get("declinedComment"), report["routeDeclined"], "согласие снимает причину возврата")
        versions = s.get(f"/api/v1/staff/{fx['other_teacher']}/route/versions").json.get("items") or []
        self.assertGreaterEqual(len(versions), 1, versions)
        mine = s.get(f"/api/v1/staff/{fx['teacher']}/route").json
        self.assertTrue({"in_progress", "done"} & {i.get("status") for i in mine["items"]}, mine)
        # the teacher's done programme item with its proof, confirmed by the methodologist: the record is made
        proven = [i for i in mine["items"] if i.get("evidenceName") == report["routeEvidence"]]
        self.assertEqual(len(proven), 1, mine)
        self.assertEqual((proven[0]["status"], proven[0].get("confirmation")), ("done", "confirmed"), proven)
        self.assertTrue(proven[0].get("qualificationRecordId"), proven)
        mine_records = s.list_all(f"staff/{fx['teacher']}/qualification-records")[0]
        self.assertIn(report["routeDocument"], [r.get("documentNumber") for r in mine_records])
        taken = s.get("/api/v1/diagnostics/results?" + urllib.parse.urlencode(
            {"staffId": fx["teacher"], "campaignId": fx["second_campaign"]["id"]})).json.get("items", [])
        self.assertEqual(len(taken), 1, "педагог прошёл диагностику в браузере")
        self.assertEqual({sc["competence"]: sc.get("points", 0) for sc in taken[0]["scores"]},
                         {"t.method.1": 2, "t.assess.1": 2, "t.digital.1": 3})
        records = s.list_all(f"staff/{fx['teacher']}/qualification-records")[0]
        self.assertIn(report["qualificationDocument"], [r.get("documentNumber") for r in records])
        logins = [u["login"] for u in s.list_all("users")[0]]
        self.assertIn(report["createdUser"], logins)
        keys = [k["name"] for k in s.list_all("api-keys")[0]]
        self.assertIn(report["createdApiKey"], keys)
        # events: the plan approved and changed with its reason, the event published, the webinar's attendance,
        # the school's and the teacher's registrations
        plans = [p for p in s.list_all("event-plans")[0] if p["title"] == report["plan"]["title"]]
        self.assertEqual(len(plans), 1, report["plan"])
        self.assertEqual((plans[0]["status"], plans[0]["orderNumber"]), ("approved", report["plan"]["orderNumber"]))
        self.assertEqual([r["reason"] for r in plans[0]["revisions"]], ["Перенос семинара по решению методического совета"])
        created = [e for e in s.list_all("events", planId=fx["events"]["planId"])[0] if e["title"] == report["createdEvent"]]
        self.assertEqual([(e["status"], e["type"], e["capacity"]) for e in created], [("published", "practice_seminar", 30)])
        marks = s.list_all(f"events/{fx['webinar']['id']}/registrations")[0]
        self.assertTrue(marks)
        self.assertEqual({g["status"] for g in marks}, {"attended"}, "все участники вебинара отмечены")
        imported = s.list_all("staff", organizationId=fx["organization"]["id"], q=report["importedLastName"])[0]
        day = {g["staffId"]: g["status"] for g in s.list_all(f"events/{fx['event_day']['id']}/registrations")[0]}
        self.assertEqual(day.get(imported[0]["id"]), "registered", "школа записала сотрудника")
        self.assertEqual(day.get(fx["teacher"]), "registered", "педагог записался сам")
        # mentoring: the profile, the pair made from the ranking (active, the teacher its mentor), its meeting,
        # the municipality's assignment
        mentor = s.get(f"/api/v1/mentors/{fx['teacher']}").json
        self.assertTrue(mentor["certified"], mentor)
        self.assertEqual((mentor["maxMentees"], sorted(mentor["competences"])), (3, sorted(fx["other_deficits"])))
        pair = s.get(f"/api/v1/mentoring-pairs/{report['pairId']}").json
        self.assertEqual((pair["status"], pair["mentorStaffId"], pair["menteeStaffId"]),
                         ("active", fx["teacher"], fx["other_teacher"]), pair)
        self.assertIn(report["meetingTopic"], [m["topic"] for m in pair["meetings"]])
        if report.get("assignedPairs"):
            proposed = s.list_all("mentoring-pairs", status="proposed", municipalityId=fx["municipality"]["id"])[0]
            self.assertGreaterEqual(len(proposed), report["assignedPairs"])
        # the organization's founder and flags
        made = next(o for o in s.list_all("organizations", municipalityId=fx["municipality"]["id"])[0]
                    if o["name"] == report["createdOrganization"])
        self.assertEqual((made.get("founder"), made.get("lowResults"), made.get("difficultConditions")),
                         ("municipal", True, True), made)
        # the teacher's attestation and reserve (the next attestation is the registry's: five years on)
        teacher = s.get(f"/api/v1/staff/{fx['teacher']}").json
        self.assertEqual((teacher["qualificationCategory"], teacher["qualificationCategoryDate"],
                          teacher["nextAttestationDue"], teacher["personnelReserve"]),
                         ("first", "2024-03-15", "2029-03-15", True), teacher)
        # indicators: the snapshot, the recommendation done, the region's target
        snaps = s.list_all("indicator-snapshots", scopeKind="municipality", scopeId=fx["municipality"]["id"])[0]
        self.assertIn(report["snapshotReason"], [x.get("reason") for x in snaps])
        # the region's own indicator made and renamed in the browser, with its value; the yearly report
        own = [i for i in s.get("/api/v1/indicators").json["items"] if i["code"] == report["ownIndicator"]["code"]]
        self.assertEqual([(i["name"], i.get("own"), i["numerator"]) for i in own],
                         [(report["ownIndicator"]["name"], True, "I9.num")], own)
        region, year = fx["municipality"]["id"].split("-")[0], str(datetime.date.today().year)
        values = s.get("/api/v1/indicator-values?" + urllib.parse.urlencode(
            {"scopeKind": "region", "scopeId": region, "period": year, "indicator": report["ownIndicator"]["code"]})).json
        self.assertTrue([v for v in values.get("items", []) if v["indicator"] == report["ownIndicator"]["code"]], values)
        page = s.get("/api/v1/reports/yearly?" + urllib.parse.urlencode(
            {"scopeKind": "region", "scopeId": region, "year": year, "format": "html"}))
        self.assertEqual(page.status, 200)
        self.assertIn("text/html", page.headers.get("content-type", ""))
        self.assertTrue(report["yearlyReportTitle"], "годовой отчёт открылся без заголовка")
        recs = s.list_all("recommendations", scopeKind="municipality", scopeId=fx["municipality"]["id"],
                          period=str(datetime.date.today().year))[0]
        done = [r for r in recs if r["addresseeName"] == report["recommendationAddressee"] and r["indicator"] == "I9"]
        self.assertEqual([r["status"] for r in done], ["done"], done)
        targets = {i["code"]: i for i in s.get("/api/v1/indicators").json["items"]}
        self.assertEqual((targets["I4"]["hasTarget"], targets["I4"]["target"]), (True, 40.5))
        # monitoring: the campaign created from the template and opened; the other school's report approved;
        # the demo school's report returned with the comment, corrected and submitted again
        made = [c for c in s.list_all("monitoring/campaigns")[0] if c["title"] == report["monitoringCampaign"]]
        self.assertEqual([(c["status"], len(c["fields"]), c["snapshotVersion"]) for c in made], [("closed", 6, "1")],
                         made)
        snaps = s.get(f"/api/v1/monitoring/campaigns/{made[0]['id']}/snapshots").json["items"]
        self.assertEqual([x["version"] for x in snaps], ["1"], snaps)
        mid = fx["monitoring"]["id"]
        other = s.get(f"/api/v1/monitoring/campaigns/{mid}/reports/{fx['monitoring_other']['id']}").json
        self.assertEqual(other["status"], "approved", other)
        mine = s.get(f"/api/v1/monitoring/campaigns/{mid}/reports/{fx['organization']['id']}").json
        values = {v["code"]: (v["value"], v.get("evidence", "")) for v in mine["values"]}
        self.assertEqual(mine["status"], "submitted", mine)
        self.assertEqual(values["contest_winners"][0], "5")
        self.assertIn(values["young_share"][0], ("37.5", "37,5"))
        self.assertEqual(values["reserve_plan"][0], "утверждён")
        self.assertEqual(values["head_reserve"], ("2", "Приказ № 45 от 01.09.2025"))
        self.assertTrue(values["best_practice"][0].startswith("Практика <b>"), values)
        # the registry's help: the consultation, the council's decision, the school's request answered
        consult = [c for c in s.list_all("consultations")[0] if c["topic"] == report["consultationTopic"]]
        self.assertEqual([(c["form"], c["askerStaffId"], c["organizationId"], c["municipalityId"]) for c in consult],
                         [("phone", fx["teacher"], fx["organization"]["id"], fx["municipality"]["id"])], consult)
        decision = [d for d in s.list_all("council-decisions")[0] if d["text"] == report["decisionText"]]
        self.assertEqual([(d["kind"], d["status"], d["councilId"]) for d in decision],
                         [("recommendation", "in_progress", fx["council"]["id"])], decision)
        asked = [h for h in s.list_all("help-requests")[0] if h["topic"] == report["helpTopic"]]
        self.assertEqual([(h["organizationId"], h["urgency"], h["status"]) for h in asked],
                         [(fx["organization"]["id"], "high", "answered")], asked)
        self.assertEqual([a["note"] for a in asked[0]["answers"]], ["Приглашены на семинар по оцениванию"])
        # notifications: the subscription kept, the spare one deleted, the event delivered and signed with the
        # secret the screen showed once
        hooks = {w["url"]: w for w in s.list_all("webhooks")[0]}
        urls = list(hooks)
        self.assertEqual(hooks[fx["sink_url"]]["status"], "disabled", "подписку приостановили в консоли")
        self.assertIn("вручную", hooks[fx["sink_url"]]["disabledReason"])
        self.assertNotIn(report["deletedWebhook"], urls)
        got = self.sink.wait("/hooks/sosh1", 1, timeout=5)
        bodies = [json.loads(b) for _, b, _ in got]
        self.assertIn(report["publishedEvent"], [b["data"]["data"]["event"]["title"] for b in bodies])
        self.assertTrue(all(verify_signature(report["webhookSecret"], h, b) for h, b, _ in got))
        for shot in report["screenshots"]:
            self.assertTrue(os.path.getsize(os.path.join(out, shot)) > 1000, shot)


def serve():
    """Starts the stack with the demo and keeps it up (Ctrl-C or SIGTERM stops it)."""
    import signal
    from harness import Stack

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    stack = Stack(workers=2, name="console-dev", extra_env={"METODNET_WEB_DIR": DIST})
    try:
        stack.start()
        fx = load_demo(stack)
        print(json.dumps(fx, ensure_ascii=False, indent=1))
        print(f"\nОткройте {fx['base']}/  (стек: {stack.dir})", flush=True)
        with open(os.path.join(tempfile.gettempdir(), "metodnet-console-dev.json"), "w", encoding="utf-8") as f:
            json.dump(fx, f, ensure_ascii=False)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        unittest.main()
