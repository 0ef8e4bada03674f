"""test_chaos — the chaos check of ops/chaos (chaos.py) on the sanitizer build: two rounds (kill -9 of Redis,
then of the gateway with its broker) under writes at 200 a second, nothing lost, nothing doubled, the indicators'
recompute agreeing, every restarted process clean under ASan/UBSan at the end. Then the verification itself is
shown to fail when it must: an acknowledged record deleted through the API is reported lost, a second record
with the marker of an acknowledged write (created without its Idempotency-Key) is reported as a duplicate.

ops/test runs the ten rounds of ./ops/chaos on the Release build; this test runs its two most telling rounds where
the sanitizers watch the restart paths (reconnects to Redis and to a new broker), and checks the checker.
"""

import unittest

import chaos


class ChaosTest(unittest.TestCase):
    def test_kills_lose_and_double_nothing_and_the_check_sees_both(self):
        run = chaos.Chaos(rounds=2, rate=200, seconds_per_round=6, victims=["redis", "gateway"])
        try:
            ok = run.run()
            rows = run.round_rows
            self.assertTrue(ok, "; ".join(run.failures))
            self.assertEqual([r["victim"] for r in rows], ["redis", "gateway"])
            self.assertTrue(all(r["serve_s"] is not None for r in rows), rows)
            acked = [w for w in run.load.writes if w.outcome == "acked"]
            self.assertGreaterEqual(len(acked), 1000, "нагрузка не дошла до 1000 подтверждённых записей")
            self.assertEqual(run.result["records"], len(acked))

            # the checker is not blind: delete one acknowledged record, double another
            stack = run.stack
            gone, doubled = acked[10], acked[20]
            r = stack.get(f"/api/v1/staff/{gone.record_id}")
            self.assertEqual(r.status, 200, r)
            r = stack.delete(f"/api/v1/staff/{gone.record_id}", headers={"If-Match": f'"{r.json["version"]}"'})
            self.assertIn(r.status, (200, 204), r)
            r = stack.request("POST", "/api/v1/staff", raw=doubled.body)
            self.assertEqual(r.status, 201, r)
            second = r.json["id"]
            res = chaos.verify(run.load.writes, chaos.list_staff(stack, run.org_id), run.run_id)
            self.assertEqual(res["lost"], [(gone.seq, gone.record_id)])
            self.assertEqual([(seq, sorted(ids)) for seq, ids in res["duplicated"]],
                             [(doubled.seq, sorted([doubled.record_id, second]))])
            self.assertEqual(res["unknown"], [])
        finally:
            run.stop()
        # stop() adds the stack's shutdown problems (an unclean exit, a sanitizer report) to the failures
        self.assertEqual(run.failures, [], "; ".join(run.failures))


if __name__ == "__main__":
    unittest.main()
