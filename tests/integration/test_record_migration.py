"""test_record_migration — `metodnet-registry migrate-records` (run by ./ops/up) on a store as an older
version wrote it: the test writes records over HTTP, then rewrites their stored protobuf bytes and
attribute tokens into the older form (an organization without a founder, an association of the legacy
kind «network_community» without the network flag and with one subject and no subjects list, a staff
member without the derived next attestation), and checks that a dry run counts them and changes no
byte, that the migration brings each to today's form with the next version, its list filters (tokens)
and a domain event each, and that a second run changes nothing."""

import os
import subprocess
import unittest

from harness import StackTestCase

REGION = "07"

# The stored hash of a record: its protobuf bytes as hex, its version and its attribute string.
READ_LUA = r"""
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return false end
return {(string.gsub(d, '.', function(c) return string.format('%02x', string.byte(c)) end)),
        redis.call('HGET', KEYS[1], 'v'), redis.call('HGET', KEYS[1], 'a')}
"""
WRITE_LUA = r"""
local d = string.gsub(ARGV[1], '..', function(h) return string.char(tonumber(h, 16)) end)
redis.call('HSET', KEYS[1], 'd', d, 'a', ARGV[2])
return 1
"""


def _varint(data, i):
    value, shift = 0, 0
    while True:
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7


def _encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wire_fields(data):
    """[(field number, the field's bytes with its tag)] of a protobuf message, in stored order."""
    fields, i = [], 0
    while i < len(data):
        start = i
        tag, i = _varint(data, i)
        wire = tag & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            n, i = _varint(data, i)
            i += n
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
        fields.append((tag >> 3, data[start:i]))
    return fields


def legacy(data, drop=(), varints=None):
    """The message without the fields in drop, with the varint fields of varints set."""
    varints = varints or {}
    kept = b"".join(raw for number, raw in wire_fields(data) if number not in drop and number not in varints)
    return kept + b"".join(_encode_varint(number << 3) + _encode_varint(v) for number, v in varints.items())


class RecordMigrationTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        ok = cls._created
        ok(s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}))
        cls.mun = ok(s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский район",
                                                       "kind": "district"}))
        cls.school = ok(s.post("/api/v1/organizations", {"municipalityId": cls.mun["id"],
                                                         "name": "МКОУ СОШ № 3 г.п. Терек", "kind": "school"}))
        cls.centre = ok(s.post("/api/v1/organizations", {"municipalityId": cls.mun["id"],
                                                         "name": "ГБУ ДПО ЦНППМ", "kind": "regional_centre"}))
        cls.teacher = ok(s.post("/api/v1/staff", {
            "lastName": "Кажарова", "firstName": "Мадина", "birthDate": "1985-04-12",
            "professionStartDate": "2007-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["mathematics"], "organizationIds": [cls.school["id"]],
            "qualificationCategory": "first", "qualificationCategoryDate": "2023-03-15"}))
        cls.association = ok(s.post("/api/v1/associations", {
            "name": "Сетевое сообщество учителей математики", "level": "municipal", "kind": "professional_community",
            "municipalityId": cls.mun["id"], "subject": "mathematics", "network": True}))

    @staticmethod
    def _created(r):
        assert r.status == 201, r
        return r.json

    def stored(self, key):
        r = self.stack.redis_cli("EVAL", READ_LUA, "1", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        hexdata, version, attributes = r.stdout.rstrip("\n").split("\n")
        return bytes.fromhex(hexdata), int(version), attributes

    def rewrite(self, key, data, attributes):
        r = self.stack.redis_cli("EVAL", WRITE_LUA, "1", key, data.hex(), attributes)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "1"), r.stderr)

    def migrate(self, *args):
        registry = os.path.join(os.environ["METODNET_BIN_DIR"], "services", "registry", "metodnet-registry")
        return subprocess.run([registry, "migrate-records", *args], env=self.stack.env("ops"), capture_output=True,
                              text=True, timeout=60)

    def get(self, path):
        r = self.stack.get(path)
        self.assertEqual(r.status, 200, r)
        return r.json

    def ids(self, path):
        return [item["id"] for item in self.get(path)["items"]]

    def test_older_records_become_todays(self):
        keys = {
            "school": f"reg:{{r:{REGION}}}:org:{self.school['id']}",
            "centre": f"reg:{{r:{REGION}}}:org:{self.centre['id']}",
            "teacher": f"reg:{{r:{REGION}}}:staff:{self.teacher['id']}",
            "association": f"reg:{{r:{REGION}}}:assoc:{self.association['id']}",
        }
        written = {name: self.stored(key) for name, key in keys.items()}
        self.assertEqual(self.get(f"/api/v1/organizations/{self.school['id']}")["founder"], "municipal")
        self.assertEqual(self.get(f"/api/v1/staff/{self.teacher['id']}")["nextAttestationDue"], "2028-03-15")
        # the older form: no founder (field 15), its token gone; the network kind (3) with no flag (11)
        # and no subjects list (16); no next attestation (field 20)
        for name in ("school", "centre"):
            data, _, attrs = written[name]
            self.assertIn("|founder:", attrs)
            attrs = "|".join(t for t in attrs.split("|") if not t.startswith("founder:"))
            self.rewrite(keys[name], legacy(data, drop={15}), attrs)
        data, _, attrs = written["teacher"]
        self.rewrite(keys["teacher"], legacy(data, drop={20}), attrs)
        data, _, attrs = written["association"]
        attrs = attrs.replace("|kind:professional_community|", "|kind:network_community|").replace("|net:true|",
                                                                                                  "|net:false|")
        self.rewrite(keys["association"], legacy(data, drop={11, 16}, varints={4: 3}), attrs)
        older = {name: self.stored(key) for name, key in keys.items()}
        self.assertIsNone(self.get(f"/api/v1/organizations/{self.school['id']}").get("founder"))
        self.assertNotIn(self.school["id"], self.ids("/api/v1/organizations?founder=municipal&limit=50"))
        self.assertEqual(self.get(f"/api/v1/associations/{self.association['id']}")["kind"], "network_community")
        stream = f"reg:{{r:{REGION}}}:events"
        events_before = int(self.stack.redis_cli("XLEN", stream).stdout)

        # a dry run counts and changes nothing
        r = self.migrate("--dry-run")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("требуют обновления 4", r.stdout)
        self.assertIn("ничего не изменено", r.stdout)
        self.assertEqual({name: self.stored(key) for name, key in keys.items()}, older)

        r = self.migrate()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("обновлено 4", r.stdout.splitlines()[-1])
        self.assertIn("регион 07, организации: прочитано 2, обновлено 2", r.stdout)
        self.assertEqual(int(self.stack.redis_cli("XLEN", stream).stdout), events_before + 4)
        for name, key in keys.items():
            self.assertEqual(self.stored(key)[1], older[name][1] + 1, name)

        school = self.get(f"/api/v1/organizations/{self.school['id']}")
        self.assertEqual(school["founder"], "municipal")
        self.assertEqual(self.get(f"/api/v1/organizations/{self.centre['id']}")["founder"], "regional")
        self.assertIn(self.school["id"], self.ids("/api/v1/organizations?founder=municipal&limit=50"))
        self.assertEqual(self.ids("/api/v1/organizations?founder=regional&limit=50"), [self.centre["id"]])
        self.assertEqual(self.get(f"/api/v1/staff/{self.teacher['id']}")["nextAttestationDue"], "2028-03-15")
        association = self.get(f"/api/v1/associations/{self.association['id']}")
        self.assertEqual((association["kind"], association["network"], association["subjects"]),
                         ("professional_community", True, ["mathematics"]))
        self.assertEqual(self.ids("/api/v1/associations?network=true&limit=50"), [self.association["id"]])
        self.assertEqual(self.ids("/api/v1/associations?kind=network_community&limit=50"), [])
        # the stored state is today's in every byte the services would write but the version and time
        self.assertEqual(self.stored(keys["association"])[2], written["association"][2])
        self.assertEqual(self.stored(keys["school"])[2], written["school"][2])

        # a second run: nothing left
        r = self.migrate()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("обновлено 0", r.stdout.splitlines()[-1])
        self.assertEqual(int(self.stack.redis_cli("XLEN", stream).stdout), events_before + 4)
        # the migrated record takes a change with its new version
        renamed = self.stack.patch(f"/api/v1/organizations/{self.school['id']}", {"name": "МКОУ СОШ № 3"},
                                   headers={"If-Match": f'"{school["version"]}"'})
        self.assertEqual(renamed.status, 200, renamed)

    def test_usage_and_unreachable_store(self):
        r = self.migrate("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("migrate-records [--dry-run]", r.stderr)
        r = self.migrate("--bogus")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        env = dict(self.stack.env("ops"), METODNET_REDIS_PORT="1")
        registry = os.path.join(os.environ["METODNET_BIN_DIR"], "services", "registry", "metodnet-registry")
        r = subprocess.run([registry, "migrate-records"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Ошибка", r.stdout)


if __name__ == "__main__":
    unittest.main()
