"""test_sort_text_migration — index members of a store written before the compact sort text
(common/entity_layout.h, entity_sort_collate) become what the services now write, by
ops/migrate/sort_text.lua (run by ./ops/up): the test writes records over HTTP, turns their index
members back into the older form (UTF-8 Cyrillic in the text part), runs the migration page by page
as ops/lib.sh does, and checks that every member is again exactly what the services wrote, that a
second run changes nothing, and that lists, name search and a rename work on the migrated store
(no stale member is left behind)."""

import os
import unittest
import urllib.parse

from harness import source_dir, StackTestCase

REGION = "07"

# Every member "<text>\x1f<id>" of every index, as hex (the members are bytes, not UTF-8).
DUMP_LUA = r"""
local out, cursor = {}, '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', '*:ix:*', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    if redis.call('TYPE', key)['ok'] == 'zset' then
      for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        if string.find(m, '\031', 1, true) then
          out[#out + 1] = key .. ' ' .. (string.gsub(m, '.', function(c) return string.format('%02x', string.byte(c)) end))
        end
      end
    end
  end
until cursor == '0'
return out
"""

# The older form: each one-byte letter 0x80..0x9f standing alone (not inside a UTF-8 sequence of
# another character) back to its two UTF-8 bytes — what the services wrote before.
UNMIGRATE_LUA = r"""
local function expand(text)
  local out, i, n = {}, 1, #text
  while i <= n do
    local b = string.byte(text, i)
    local len = 1
    if b >= 0xF0 then len = 4 elseif b >= 0xE0 then len = 3 elseif b >= 0xC0 then len = 2 end
    if len > 1 then
      out[#out + 1] = string.sub(text, i, i + len - 1)
    elseif b >= 0x80 and b <= 0x8F then
      out[#out + 1] = '\208' .. string.char(b + 0x30)
    elseif b >= 0x90 and b <= 0x9F then
      out[#out + 1] = '\209' .. string.char(b - 0x10)
    else
      out[#out + 1] = string.char(b)
    end
    i = i + len
  end
  return table.concat(out)
end
local changed, cursor = 0, '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', '*:ix:*', 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    if redis.call('TYPE', key)['ok'] == 'zset' then
      for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        local text, id = string.match(m, '^(.*)\031([^\031]*)$')
        if text and expand(text) ~= text then
          redis.call('ZREM', key, m)
          redis.call('ZADD', key, 0, expand(text) .. '\031' .. id)
          changed = changed + 1
        end
      end
    end
  end
until cursor == '0'
redis.call('DEL', 'ops:{g}:migrated:sort_text')
return changed
"""


class SortTextMigrationTest(StackTestCase):
    WORKERS = 1

    @classmethod
    def prepare(cls):
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        cls.mun = cls._created(s.post("/api/v1/municipalities",
                                      {"regionId": REGION, "name": "Терский район", "kind": "district"}))
        cls.org = cls._created(s.post("/api/v1/organizations", {
            "municipalityId": cls.mun["id"], "name": "МКОУ СОШ № 3 г.п. Терек", "kind": "school"}))
        cls.people = [cls._created(s.post("/api/v1/staff", {
            "lastName": last, "firstName": first, "middleName": "Аслановна", "birthDate": "1985-04-12",
            "professionStartDate": "2007-09-01", "position": "teacher", "category": "teacher",
            "subjects": ["mathematics"], "organizationIds": [cls.org["id"]]}))
            for last, first in [("Ёлкина", "Марина"), ("Яхъяева", "Ася"), ("Абазова", "Zarina"),
                                ("Шогенова", "Ѣлена"), ("Кажарова", "Мадина")]]
        cls.programme = cls._created(s.post("/api/v1/programmes", {
            "title": "Формирующее оценивание на уроках математики", "provider": "ЦНППМ", "hours": 36,
            "format": "distance"}))

    @staticmethod
    def _created(r):
        assert r.status == 201, r
        return r.json

    def eval(self, script, *args):
        r = self.stack.redis_cli("EVAL", script, "0", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("ERR", r.stdout)
        return r.stdout.split("\n")[:-1] if r.stdout.endswith("\n") else r.stdout.split("\n")

    def migrate(self):
        """As mn_migrate_sort_text: a page per call until the cursor comes back as 0."""
        with open(os.path.join(source_dir(), "ops", "migrate", "sort_text.lua"), encoding="utf-8") as f:
            script = f.read()
        cursor, keys, members, calls = "0", 0, 0, 0
        while True:
            out = self.eval(script, cursor, "7")
            self.assertEqual(len(out), 3, out)
            cursor, keys, members, calls = out[0], keys + int(out[1]), members + int(out[2]), calls + 1
            if cursor == "0":
                return keys, members, calls

    def names(self, path):
        r = self.stack.get(path)
        self.assertEqual(r.status, 200, r)
        return [item["lastName"] for item in r.json["items"]]

    def test_older_members_become_the_compact_form(self):
        written = sorted(self.eval(DUMP_LUA))
        self.assertGreater(len(written), 10)
        # the region's staff index holds one-byte letters now: "ёлкина" is folded to "елкина" and sorts by е
        self.assertEqual(self.names(f"/api/v1/staff?organizationId={self.org['id']}&limit=50"),
                         ["Абазова", "Ёлкина", "Кажарова", "Шогенова", "Яхъяева"])
        # an older store: the same members with UTF-8 letters
        turned = int(self.eval(UNMIGRATE_LUA)[0])
        self.assertGreater(turned, 10)
        older = sorted(self.eval(DUMP_LUA))
        self.assertNotEqual(older, written)
        self.assertEqual(len(older), len(written))
        # the migration, a few keys per call
        keys, members, calls = self.migrate()
        self.assertEqual(members, turned)
        self.assertGreater(calls, 1)
        self.assertGreater(keys, 3)
        self.assertEqual(sorted(self.eval(DUMP_LUA)), written)
        self.assertEqual(self.stack.redis_cli("EXISTS", "ops:{g}:migrated:sort_text").stdout.strip(), "1")
        # done once: the marked store is not walked again; without the mark a walk changes nothing
        self.assertEqual(self.migrate(), (0, 0, 1))
        self.stack.redis_cli("DEL", "ops:{g}:migrated:sort_text")
        keys, members, _ = self.migrate()
        self.assertEqual((keys, members), (0, 0))
        # the migrated store works: order, name prefix, word search, a rename leaves no stale member
        self.assertEqual(self.names(f"/api/v1/staff?organizationId={self.org['id']}&limit=50"),
                         ["Абазова", "Ёлкина", "Кажарова", "Шогенова", "Яхъяева"])
        self.assertEqual(self.names(f"/api/v1/staff?q={urllib.parse.quote('ЕЛК')}&limit=50"), ["Ёлкина"])
        self.assertEqual(self.names(f"/api/v1/staff?q={urllib.parse.quote('шогенова Ѣ')}&limit=50"), ["Шогенова"])
        found = self.stack.get(f"/api/v1/programmes?q={urllib.parse.quote('оценив')}&limit=50")
        self.assertEqual([p["id"] for p in found.json["items"]], [self.programme["id"]])
        person = self.people[0]
        renamed = self.stack.patch(f"/api/v1/staff/{person['id']}", {"lastName": "Бекова"},
                                   headers={"If-Match": f'"{person["version"]}"'})
        self.assertEqual(renamed.status, 200, renamed)
        members_of_person = [line for line in self.eval(DUMP_LUA)
                             if line.startswith("reg:{r:07}:ix:staff ") and
                             line.endswith("1f" + person["id"].encode().hex())]
        self.assertEqual(len(members_of_person), 1, members_of_person)
        self.assertEqual(self.names(f"/api/v1/staff?organizationId={self.org['id']}&limit=50"),
                         ["Абазова", "Бекова", "Кажарова", "Шогенова", "Яхъяева"])
        self.assertEqual(self.names(f"/api/v1/staff?q={urllib.parse.quote('ёлк')}&limit=50"), [])


if __name__ == "__main__":
    unittest.main()
