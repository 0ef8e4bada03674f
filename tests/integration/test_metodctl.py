"""test_metodctl — the built metodctl binary against a real stack: --help of every command, exit codes
(wrong password 4, not logged in 4, rejected rows 2, unknown command 1, no server 3), the token file
(mode 0600 under XDG_CONFIG_HOME), import with a summary and original row numbers across chunks, a
broken file sent nowhere, export with a BOM, and deterministic demo files."""

import csv
import io
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import SANITIZER_MARKERS, StackTestCase, bin_dir, free_port

REGION = "07"
STAFF_HEADER = ["Внешний идентификатор", "Фамилия", "Имя", "Отчество", "Дата рождения", "Должность", "Категория",
                "Предметы", "Организация"]


def has_cyrillic(text):
    return any("\u0400" <= ch <= "\u04ff" for ch in text or "")


def csv_bytes(header, rows, encoding="utf-8"):
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode(encoding)


class MetodctlTest(StackTestCase):
    WORKERS = 2

    @classmethod
    def prepare(cls):
        cls.binary = os.path.join(bin_dir(), "ops", "metodctl", "metodctl")
        if not os.access(cls.binary, os.X_OK):
            raise RuntimeError(f"нет исполняемого файла {cls.binary}")
        cls.home = tempfile.mkdtemp(prefix="metodctl-")
        cls.addClassCleanup(shutil.rmtree, cls.home, True)
        cls.config = os.path.join(cls.home, "config")
        os.makedirs(cls.config)
        s = cls.stack
        assert s.post("/api/v1/regions", {"id": REGION, "name": "Кабардино-Балкарская Республика"}).status == 201
        r = s.post("/api/v1/municipalities", {"regionId": REGION, "name": "Терский район", "kind": "district"})
        assert r.status == 201, r
        cls.mun = r.json

    def run_ctl(self, *args, input_text=None, env=None, config=None, timeout=120):
        e = dict(os.environ)
        e.pop("METODNET_TOKEN", None)
        e.update({"METODNET_URL": f"http://127.0.0.1:{self.stack.http_port}",
                  "XDG_CONFIG_HOME": config or self.config, "HOME": self.home})
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        e.update(env or {})
        p = subprocess.run([self.binary, *args], input=(input_text or "").encode(), env=e, capture_output=True,
                           timeout=timeout, cwd=self.home)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, err, f"metodctl {' '.join(args)}: {err[-3000:]}")
        return p.returncode, out, err

    def login(self, config=None):
        code, _out, err = self.run_ctl("login", "--login", self.stack.admin_login,
                                       input_text=self.stack.admin_password + "\n", config=config)
        self.assertEqual(code, 0, err)
        return err

    def path(self, name):
        return os.path.join(self.home, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def import_organizations(self, *xids):
        rows = [[x, self.mun["name"], f"МКОУ СОШ «{x}» г.п. Терек", "СОШ", "нет"] for x in xids]
        f = self.write(f"orgs-{xids[0]}.csv", csv_bytes(
            ["Внешний идентификатор", "Муниципальное образование", "Полное наименование", "Вид организации", "ШНОР"],
            rows, "cp1251"))
        code, _out, err = self.run_ctl("import", "organizations", f)
        self.assertEqual(code, 0, err)

    # ---- usage ----

    def test_help_of_every_command(self):
        for args in (["--help"], ["login", "--help"], ["import", "--help"], ["export", "--help"],
                     ["users", "--help"], ["demo", "--help"]):
            code, out, err = self.run_ctl(*args)
            self.assertEqual(code, 0, f"{args}: {err}")
            self.assertTrue(has_cyrillic(out), f"{args}: {out!r}")
            self.assertIn("metodctl", out)

    def test_unknown_command_and_bad_usage(self):
        code, out, err = self.run_ctl("frobnicate")
        self.assertEqual(code, 1)
        self.assertIn("неизвестная команда", err)
        self.assertEqual(self.run_ctl()[0], 1)
        self.assertEqual(self.run_ctl("import", "pupils", "x.csv")[0], 1)
        self.assertEqual(self.run_ctl("demo", "galaxy")[0], 1)
        self.assertEqual(self.run_ctl("--bogus")[0], 1)

    # ---- login and the token ----

    def test_login_wrong_password_and_token_file(self):
        config = tempfile.mkdtemp(dir=self.home)
        code, _out, err = self.run_ctl("login", "--login", self.stack.admin_login, input_text="не тот пароль\n",
                                       config=config)
        self.assertEqual(code, 4, err)
        self.assertTrue(has_cyrillic(err), err)
        token = os.path.join(config, "metodnet", "token")
        self.assertFalse(os.path.exists(token))
        # without a token a command that needs one says so and exits 4
        code, _out, err = self.run_ctl("export", "staff", "-o", self.path("never.csv"), config=config)
        self.assertEqual(code, 4, err)
        self.assertIn("metodctl login", err)
        self.assertFalse(os.path.exists(self.path("never.csv")))

        self.login(config=config)
        mode = stat.S_IMODE(os.stat(token).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        with open(token, encoding="utf-8") as f:
            self.assertTrue(f.read().strip())
        code, _out, err = self.run_ctl("export", "organizations", "-o", self.path("orgs-ok.csv"), config=config)
        self.assertEqual(code, 0, err)
        # a token the server does not know: 4 again
        with open(token, "w", encoding="utf-8") as f:
            f.write("not-a-token\n")
        code, _out, err = self.run_ctl("export", "organizations", "-o", self.path("orgs-bad.csv"), config=config)
        self.assertEqual(code, 4, err)

    def test_no_server_is_exit_3(self):
        self.login()
        code, _out, err = self.run_ctl("--server", f"http://127.0.0.1:{free_port()}", "export", "staff")
        self.assertEqual(code, 3, err)
        self.assertIn("нет связи", err)

    # ---- import and export ----

    def test_import_staff_summary_and_exit_codes(self):
        self.login()
        self.import_organizations("CTL-ОО-1", "CTL-ОО-2")
        rows = [["CTL-S1", "Кумыкова", "Лариса", "Мухамедовна", "03.05.1980", "учитель", "педагог", "Химия",
                 "CTL-ОО-1"],
                ["CTL-S2", "Тхагапсоев", "Заур", "Асланович", "1975-11-21", "директор", "руководитель", "",
                 "CTL-ОО-2"]]
        f = self.write("staff-ok.csv", csv_bytes(STAFF_HEADER, rows))
        code, out, err = self.run_ctl("import", "staff", f)
        self.assertEqual(code, 0, err)
        self.assertIn("создано 2", err)
        self.assertIn("отклонено 0", err)
        code, out, err = self.run_ctl("import", "staff", f)
        self.assertEqual(code, 0, err)
        self.assertIn("без изменений 2", err)

        bad = rows + [["CTL-S3", "Бекулова", "Асият", "", "31.02.1990", "учитель", "педагог", "", "CTL-ОО-1"]]
        f = self.write("staff-bad.csv", csv_bytes(STAFF_HEADER, bad, "cp1251"))
        code, out, err = self.run_ctl("import", "staff", f)
        self.assertEqual(code, 2, err)
        self.assertIn("строка 4", err)
        self.assertIn("Дата рождения", err)
        self.assertIn("отклонено 1", err)
        listed = {s.get("externalId") for s in self.stack.list_all("staff", municipalityId=self.mun["id"])[0]}
        self.assertTrue({"CTL-S1", "CTL-S2"} <= listed)
        self.assertNotIn("CTL-S3", listed)

        # a file the server refuses as a whole (unknown column) is a refusal too, not a success
        f = self.write("staff-column.csv", csv_bytes(STAFF_HEADER + ["Стаж"], [rows[0] + ["12"]]))
        code, out, err = self.run_ctl("import", "staff", f)
        self.assertEqual(code, 2, err)
        self.assertIn("Стаж", err)

    def test_import_reports_original_rows_across_chunks(self):
        self.login()
        self.import_organizations("CTL-ОО-BIG")
        rows = [[f"CTL-BIG-{i}", "Кажарова", "Мадина", "Аслановна", "12.04.1985", "учитель", "педагог",
                 "Математика", "CTL-ОО-BIG"] for i in range(2100)]
        rows[2050][4] = "дата"  # file row 2052: in the second chunk of 2000
        data = csv_bytes(STAFF_HEADER, rows[:10]) + b"\r\n" + csv_bytes(STAFF_HEADER, rows[10:]).split(b"\r\n", 1)[1]
        # a blank line after row 11 shifts every later spreadsheet row by one: file row 2053
        f = self.write("staff-big.csv", data)
        count = self.stack.count("staff", municipalityId=self.mun["id"])
        code, out, err = self.run_ctl("import", "staff", f, "--dry-run", timeout=300)
        self.assertEqual(code, 2, err)
        self.assertIn("строка 2053, «Дата рождения»", err)
        self.assertIn("Проверка (ничего не записано): строк 2100, создано 2099", err)
        self.assertEqual(self.stack.count("staff", municipalityId=self.mun["id"]), count)

    def test_broken_file_is_not_sent(self):
        self.login()
        self.import_organizations("CTL-ОО-Q")
        rows = [[f"CTL-Q-{i}", "Кажарова", "Мадина", "", "12.04.1985", "учитель", "педагог", "", "CTL-ОО-Q"]
                for i in range(2500)]
        data = csv_bytes(STAFF_HEADER, rows) + '"CTL-Q-x;Незакрытая;кавычка\r\n'.encode()
        f = self.write("staff-broken.csv", data)
        code, _out, err = self.run_ctl("import", "staff", f, timeout=300)
        self.assertEqual(code, 1, err)
        self.assertIn("кавычк", err)
        listed = {s.get("externalId") for s in self.stack.list_all("staff", municipalityId=self.mun["id"])[0]}
        self.assertNotIn("CTL-Q-0", listed, "части испорченного файла не должны загружаться")
        code, _out, err = self.run_ctl("import", "staff", self.path("нет-такого.csv"))
        self.assertEqual(code, 1, err)

    def test_export_writes_csv_with_bom(self):
        self.login()
        self.import_organizations("CTL-ОО-E")
        rows = [["CTL-E1", "Шериева", "Залина", "Муратовна", "01.01.1990", "учитель", "педагог", "Биология",
                 "CTL-ОО-E"]]
        code, _out, err = self.run_ctl("import", "staff", self.write("staff-e.csv", csv_bytes(STAFF_HEADER, rows)))
        self.assertEqual(code, 0, err)
        out_file = self.path("кадры.csv")
        code, _out, err = self.run_ctl("export", "staff", f"municipalityId={self.mun['id']}", "subject=biology",
                                       "-o", out_file)
        self.assertEqual(code, 0, err)
        with open(out_file, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"), data[:10])
        lines = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))
        self.assertEqual(lines[0][0], "Внешний идентификатор")
        self.assertIn("CTL-E1", [r[0] for r in lines[1:]])
        self.assertTrue(all("Биология" in r[lines[0].index("Предметы")] for r in lines[1:]), lines)
        # to stdout without -o
        code, out, err = self.run_ctl("export", "organizations")
        self.assertEqual(code, 0, err)
        self.assertIn("CTL-ОО-E", out)
        # a filter the server refuses: 2
        code, _out, err = self.run_ctl("export", "staff", "category=astronaut")
        self.assertEqual(code, 2, err)

    # ---- demo ----

    def test_demo_files_are_deterministic(self):
        def demo(seed, prefix):
            code, _out, err = self.run_ctl("demo", "district", "--seed", str(seed), "--out", self.path(prefix))
            self.assertEqual(code, 0, err)
            files = []
            for kind in ("organizations", "staff"):
                with open(self.path(f"{prefix}-{kind}.csv"), "rb") as f:
                    files.append(f.read())
            return files

        a, b, c = demo(7, "demo-a"), demo(7, "demo-b"), demo(8, "demo-c")
        self.assertEqual(a, b, "одно зерно — одинаковые файлы")
        self.assertNotEqual(a[1], c[1], "другое зерно — другие сотрудники")
        for data in a:
            self.assertTrue(data.startswith(b"\xef\xbb\xbf"))
        staff = list(csv.reader(io.StringIO(a[1][3:].decode("utf-8"), newline=""), delimiter=";"))
        orgs = list(csv.reader(io.StringIO(a[0][3:].decode("utf-8"), newline=""), delimiter=";"))
        self.assertEqual(len(orgs) - 1, 24)
        self.assertEqual(len(staff) - 1, 619 + 252 + 70)
        # the files are in the import format: a dry run of both takes every row
        self.login()
        self.assertEqual(orgs[1][1], self.mun["name"])  # the demo district is the stack's municipality
        code, _out, err = self.run_ctl("import", "organizations", self.path("demo-a-organizations.csv"))
        self.assertEqual(code, 0, err)
        code, _out, err = self.run_ctl("import", "staff", self.path("demo-a-staff.csv"), "--dry-run", timeout=300)
        self.assertEqual(code, 0, err)
        self.assertIn(f"создано {len(staff) - 1}", err)


if __name__ == "__main__":
    unittest.main()
