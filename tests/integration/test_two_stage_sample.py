"""The GroupWise two-stage procedure on a freshly generated sample store runs
clean end to end (tests/tools/two_stage_sample.py checks every count itself:
stage 2 copies exactly the changes, verify is clean, the third sync is a
no-op and leaves mail delivered directly to the new server alone)."""
import os
import subprocess
import sys
import unittest

import harness


class TwoStageSample(unittest.TestCase):
    def test_two_stage_procedure_is_clean(self):
        work = harness.make_tempdir(self)
        store, _ = harness.generate_store(work, "sample", seed=1)
        run_dir = os.path.join(work, "run")
        proc = subprocess.run([sys.executable, os.path.join(harness.ARGS.tools, "two_stage_sample.py"), "--bin-dir",
                               harness.ARGS.bin_dir, "--store", store, "--run-dir", run_dir],
                              capture_output=True, text=True)
        self.assertEqual(0, proc.returncode, proc.stdout[-6000:] + proc.stderr[-3000:])
        self.assertIn("verify clean", proc.stdout)
        for name in ("verify-stage1.json", "verify-final.json", "verify-final.html", "passwords.pass"):
            self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
        self.assertEqual(0o600, os.stat(os.path.join(run_dir, "passwords.pass")).st_mode & 0o777)


if __name__ == "__main__":
    harness.main()
