#!/usr/bin/env python3
"""instructions_client.py — for ops/bench/instructions.sh: sends requests one after another over one
keep-alive connection and fails on any answer that is not 2xx.

    instructions_client.py BASE_URL TOKEN get-staff STAFF_ID N
    instructions_client.py BASE_URL TOKEN post-staff ORG_ID N
    instructions_client.py BASE_URL TOKEN submit IDS_FILE N      (one attempt id a line, N first ones)
"""
import http.client
import json
import sys
import urllib.parse

base, token, what, arg, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def answers(t):
    """The 40 answers of the bench instrument (as ops/bench/submit_attempt.lua)."""
    out = []
    for q in range(1, 41):
        k, c = (q - 1) % 4, (q - 1) // 4
        if k < 2:
            out.append({"itemId": f"q{q}", "optionIds": ["abc"[(t + q) % 3]]})
        elif k == 2:
            out.append({"itemId": f"q{q}", "optionIds": ["a", "b" if (t + q) % 2 == 0 else "c"]})
        elif c % 2 == 0:
            out.append({"itemId": f"q{q}", "value": (t + q) % 5 + 1})
        else:
            out.append({"itemId": f"q{q}", "value": 3.5 if (t + q) % 2 == 0 else 4})
    return {"answers": out}


ids = []
if what == "submit":
    with open(arg, encoding="utf-8") as f:
        ids = [line.strip() for line in f if line.strip()]
    if len(ids) < n:
        sys.exit(f"в {arg} {len(ids)} попыток, нужно {n}")
for i in range(n):
    if what == "get-staff":
        method, path, body = "GET", f"/api/v1/staff/{arg}", None
    elif what == "post-staff":
        method, path = "POST", "/api/v1/staff"
        body = {"lastName": f"Тхагапсоев{i}", "firstName": "Мурат", "middleName": "Асланович",
                "birthDate": "1984-05-17", "professionStartDate": "2006-09-01", "position": "teacher",
                "category": "teacher", "subjects": ["mathematics", "informatics"], "organizationIds": [arg],
                "qualificationCategory": "first", "active": True}
    elif what == "submit":
        method, path, body = "POST", f"/api/v1/diagnostics/attempts/{ids[i]}/submit", answers(i)
    else:
        sys.exit(f"неизвестный вид запроса: {what}")
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    payload = r.read()
    if r.status // 100 != 2:
        sys.exit(f"{method} {path} → HTTP {r.status}: {payload[:300]!r}")
print(n)
