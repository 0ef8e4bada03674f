"""test_backup — the restore drill of ops/backup and ops/restore, as an operator runs it: a stack started
by ./ops/up (private data dir, free ports, the binaries of METODNET_BIN_DIR), records written over HTTP,
`./ops/backup --out DIR`, one more record written after the copy, then the stack stopped and its whole
data dir removed; a tampered copy (one byte of the RDB changed) and a restore onto a running stack are
refused with nothing changed; `./ops/restore DIR` and `./ops/up` bring back every record exactly as it
was read before the copy (each read over the API), and the record written after the copy is not there.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

from test_restart import OpsStack

RECORDS = 30


class BackupRestoreDrillTest(unittest.TestCase):
    def setUp(self):
        self.stack = OpsStack()
        self.backups = tempfile.mkdtemp(prefix="metodnet-backup-")
        self.addCleanup(self._down)

    def _down(self):
        code, out, _ = self.stack.ops("down")
        problems = self.stack.log_problems() if os.path.isdir(os.path.join(self.stack.data_dir, "logs")) else []
        if code != 0 or problems:
            print(out, file=sys.stderr)
            print(f"\nжурналы оставлены в {self.stack.data_dir}", file=sys.stderr)
            raise AssertionError(f"./ops/down: код {code}; {'; '.join(problems)}")
        shutil.rmtree(self.stack.data_dir, ignore_errors=True)
        shutil.rmtree(self.backups, ignore_errors=True)

    def up_and_login(self):
        code, out, _ = self.stack.up()
        self.assertEqual(code, 0, f"./ops/up: код {code}\n{out}")
        login, password = self.stack.admin_login_and_password()
        self.stack.tokens = [self.stack.login(login, password)]

    def write_records(self):
        """A region, a municipality, an organization and RECORDS staff members; {path: JSON as read}."""
        s = self.stack
        r = s.post("/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"})
        self.assertEqual(r.status, 201, r)
        r = s.post("/api/v1/municipalities", {"regionId": "07", "name": "Терский район", "kind": "district"})
        self.assertEqual(r.status, 201, r)
        municipality = r.json["id"]
        r = s.post("/api/v1/organizations", {"municipalityId": municipality, "name": "МКОУ СОШ № 1 г.п. Терек",
                                             "shortName": "СОШ № 1", "kind": "school", "lowResults": False,
                                             "sites": []})
        self.assertEqual(r.status, 201, r)
        organization = r.json["id"]
        paths = ["/api/v1/regions/07", f"/api/v1/municipalities/{municipality}",
                 f"/api/v1/organizations/{organization}"]
        for n in range(RECORDS):
            r = s.post("/api/v1/staff", self.staff_body(organization, n))
            self.assertEqual(r.status, 201, r)
            paths.append(f"/api/v1/staff/{r.json['id']}")
        # one record changed after its creation: the copy holds its second version
        r = s.patch(paths[3], {"position": "deputy_director"}, headers={"If-Match": f'"{s.get(paths[3]).json["version"]}"'})
        self.assertEqual(r.status, 200, r)
        records = {}
        for path in paths:
            r = s.get(path)
            self.assertEqual(r.status, 200, r)
            records[path] = r.json
        return organization, records

    @staticmethod
    def staff_body(organization, n):
        return {"lastName": f"Кажарова-{n}", "firstName": "Мадина", "middleName": "Аслановна",
                "birthDate": "1985-04-12", "professionStartDate": "2007-09-01", "position": "teacher",
                "category": "teacher", "subjects": ["mathematics"], "organizationIds": [organization],
                "qualificationCategory": "first", "active": True}

    def redis_state(self):
        """What is in the data dir's redis/ (names and sizes), to show a refused restore changed nothing."""
        root = os.path.join(self.stack.data_dir, "redis")
        state = {}
        for base, _, files in os.walk(root):
            for name in files:
                path = os.path.join(base, name)
                state[os.path.relpath(path, root)] = os.path.getsize(path)
        return state

    def test_backup_destroy_restore_every_record_back(self):
        s = self.stack
        self.up_and_login()
        organization, records = self.write_records()

        copy = os.path.join(self.backups, "copy")
        code, out, seconds = s.ops("backup", "--out", copy)
        self.assertEqual(code, 0, f"./ops/backup: код {code}\n{out}")
        with open(os.path.join(copy, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(manifest["format"], "metodnet-backup/1")
        self.assertTrue(manifest["redis_version"].startswith("7."), manifest)
        # the registry's records of region 07 are counted under their prefix and region tag
        self.assertGreaterEqual(manifest["keys_by_group"].get("reg:{r:07}", 0), RECORDS, manifest)
        self.assertEqual(sum(manifest["keys_by_group"].values()), manifest["keys_total"], manifest)
        names = {f["name"] for f in manifest["files"]}
        self.assertIn("dump.rdb", names)
        self.assertIn("initial-admin", names)
        self.assertEqual(os.stat(copy).st_mode & 0o777, 0o700)
        print(f"\n[backup] ./ops/backup: {manifest['keys_total']} ключей, "
              f"{next(f['bytes'] for f in manifest['files'] if f['name'] == 'dump.rdb')} байт RDB за {seconds:.1f} с",
              file=sys.stderr)

        # a record written after the copy must not come back
        r = s.post("/api/v1/staff", self.staff_body(organization, 999))
        self.assertEqual(r.status, 201, r)
        after_copy = f"/api/v1/staff/{r.json['id']}"

        # restore onto the running stack: refused, nothing changed
        before = self.redis_state()
        code, out, _ = s.ops("restore", copy)
        self.assertNotEqual(code, 0, out)
        self.assertIn("запущен", out)
        self.assertIn("./ops/down", out)
        self.assertEqual(s.get(after_copy).status, 200)

        # disaster: the stack stopped, its whole data dir gone
        code, out, _ = s.ops("down")
        self.assertEqual(code, 0, out)
        self.assertEqual(s.log_problems(), [])
        shutil.rmtree(s.data_dir)
        os.makedirs(s.data_dir)

        # a tampered copy (one byte of the RDB changed): refused before anything is written
        tampered = os.path.join(self.backups, "tampered")
        shutil.copytree(copy, tampered)
        with open(os.path.join(tampered, "dump.rdb"), "r+b") as f:
            f.seek(os.path.getsize(os.path.join(tampered, "dump.rdb")) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x01]))
        code, out, _ = s.ops("restore", tampered)
        self.assertNotEqual(code, 0, out)
        self.assertIn("SHA-256 не совпадает", out)
        self.assertIn("ничего не изменено", out)
        self.assertEqual(self.redis_state(), {}, "отвергнутое восстановление записало файлы в redis/")
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "initial-admin")))
        # a manifest that lies about the size is refused too
        with open(os.path.join(tampered, "manifest.json"), encoding="utf-8") as f:
            lying = json.load(f)
        shutil.copy(os.path.join(copy, "dump.rdb"), os.path.join(tampered, "dump.rdb"))
        next(f for f in lying["files"] if f["name"] == "dump.rdb")["bytes"] += 1
        with open(os.path.join(tampered, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(lying, f)
        code, out, _ = s.ops("restore", tampered)
        self.assertNotEqual(code, 0, out)
        self.assertIn("размер", out)
        self.assertEqual(self.redis_state(), {})

        code, out, seconds = s.ops("restore", copy)
        self.assertEqual(code, 0, f"./ops/restore: код {code}\n{out}")
        self.assertIn(f"Восстановлено ключей: {manifest['keys_total']}", out)
        state = self.redis_state()
        self.assertTrue(any(name.endswith(".manifest") for name in state), state)
        self.assertNotIn("dump.rdb", state)
        print(f"[backup] ./ops/restore: {seconds:.1f} с", file=sys.stderr)

        # ./ops/up on the restored data: the credentials of the copy log in, every record is back
        self.up_and_login()
        for path, record in records.items():
            r = s.get(path)
            self.assertEqual(r.status, 200, f"{path}: {r!r}")
            self.assertEqual(r.json, record, path)
        self.assertEqual(s.get(after_copy).status, 404)
        staff, _ = s.list_all("staff", organizationId=organization)
        self.assertEqual(len(staff), RECORDS, staff)
        # and the restored store takes writes
        r = s.post("/api/v1/staff", self.staff_body(organization, 1000))
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    unittest.main()
