"""test_compose — the docker compose deployment file is valid (docker-compose config -q) and wires
the same processes as ops/up: Redis on the private network only, the gateway published, every
service of the platform (two registry workers)."""

import os
import shutil
import subprocess
import unittest

from harness import source_dir


class ComposeTest(unittest.TestCase):
    def setUp(self):
        self.compose = shutil.which("docker-compose")
        if not self.compose:
            self.skipTest("docker-compose не установлен (ops/test его устанавливает)")
        self.file = os.path.join(source_dir(), "compose", "docker-compose.yml")

    def config(self, *args):
        return subprocess.run([self.compose, "-f", self.file, "config", *args], capture_output=True,
                              text=True, timeout=60)

    @staticmethod
    def service_blocks(text):
        """{service: its lines of the normalised YAML}, by indentation (no YAML parser in stdlib)."""
        blocks, current, inside = {}, None, False
        for line in text.splitlines():
            if line.startswith("services:"):
                inside = True
                continue
            if inside and line and not line.startswith(" "):
                inside = False
            if not inside:
                continue
            if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
                current = line.strip()[:-1]
                blocks[current] = ""
            elif current:
                blocks[current] += line + "\n"
        return blocks

    def test_config_is_valid(self):
        r = self.config("-q")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_services(self):
        r = self.config("--services")
        self.assertEqual(r.returncode, 0, r.stderr)
        services = set(r.stdout.split())
        self.assertIn("redis", services)
        self.assertIn("gateway", services)
        registry = [s for s in services if s.startswith("registry")]
        self.assertTrue(registry, services)
        # the whole platform for one region: every service has at least one worker
        for name in ("auth", "registry", "diagnostics", "events", "mentoring", "indicators", "monitoring",
                     "notify"):
            self.assertTrue(any(s == name or s.startswith(name + "-") for s in services), (name, services))

        r = self.config()
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout
        # Redis is never published to the host; the gateway is.
        blocks = self.service_blocks(text)
        self.assertNotIn("ports", blocks["redis"], "Redis не публикуется наружу")
        self.assertIn("8080", blocks["gateway"])
        self.assertIn("appendonly", text)
        self.assertIn("METODNET_BROKER", text)
        # the broker speaks CurveZMQ only: the keys are made first and every process of the broker's
        # network mounts them (docs/security.md)
        self.assertIn("keys", services)
        self.assertIn("metodnet-keys", blocks["keys"])
        for name in ["gateway", *registry]:
            self.assertIn("/var/lib/metodnet/keys", blocks[name], name)
            self.assertIn("service_completed_successfully", blocks[name], name)


if __name__ == "__main__":
    unittest.main()
