"""make_region.py — for ops/bench/bench.sh: creates MUNS municipalities of region 07 with ORGS schools
each over the API (one keep-alive connection) and prints the schools' ids, comma-separated.
Usage: make_region.py BASE_URL TOKEN MUNS ORGS"""
import http.client
import json
import sys
import urllib.parse

base, token, muns, orgs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def post(path, body):
    conn.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit(f"POST {path} → HTTP {r.status}: {data[:300]!r}")
    return json.loads(data)["id"]


ids = []
for m in range(muns):
    mun = post("/api/v1/municipalities", {"regionId": "07", "name": f"Муниципальный район № {m + 1}",
                                          "kind": "district"})
    for o in range(orgs):
        ids.append(post("/api/v1/organizations", {"municipalityId": mun, "name": f"МКОУ СОШ № {o + 1} района {m + 1}",
                                                  "shortName": f"СОШ № {o + 1}", "kind": "school"}))
print(",".join(ids))
