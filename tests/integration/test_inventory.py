"""mailmig inventory on generated CommuniGate stores, checked number by number
against the generator's manifest; errors located exactly; the store untouched."""
import json
import os
import re
import shutil
import subprocess
import unittest

import harness


class InventoryAgainstManifest(unittest.TestCase):

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.store, self.manifest = harness.generate_store(self.work, "test", seed=7)
        self.root = os.path.realpath(self.store)

    def inventory(self, *extra, check=None):
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, "--json", *extra, check=check)
        return proc, json.loads(proc.stdout)

    def test_every_number_matches_the_manifest(self):
        before = harness.tree_snapshot(self.store)
        proc, report = self.inventory("--messages", check=1)
        self.assertEqual(before, harness.tree_snapshot(self.store), "the store changed during the inventory")

        expected_domains = [d["name"] for d in self.manifest["domains"]]
        self.assertEqual(expected_domains, [d["name"] for d in report["domains"]])
        for exp_d, got_d in zip(self.manifest["domains"], report["domains"]):
            self.assertEqual(exp_d["main"], got_d["main"], exp_d["name"])
            self.assertEqual([a["name"] for a in exp_d["accounts"]], [a["name"] for a in got_d["accounts"]])
            for exp_a, got_a in zip(exp_d["accounts"], got_d["accounts"]):
                where = f'{exp_a["name"]}@{exp_d["name"]}'
                self.assertEqual(exp_a["password"], got_a["password"], where)
                if exp_a.get("password_scheme"):
                    self.assertEqual(exp_a["password_scheme"], got_a.get("password_scheme"), where)
                if exp_a.get("real_name"):
                    self.assertEqual(exp_a["real_name"], got_a["real_name"], where)
                self.assertEqual([f["name"] for f in exp_a["folders"]], [f["name"] for f in got_a["folders"]], where)
                for exp_f, got_f in zip(exp_a["folders"], got_a["folders"]):
                    fwhere = f'{where} {exp_f["name"]}'
                    self.assertEqual(exp_f["selectable"], got_f["selectable"], fwhere)
                    self.assertEqual(exp_f["messages"], got_f["messages"], fwhere)
                    self.assertEqual(exp_f["bytes"], got_f["bytes"], fwhere)
                    exp_list = exp_f.get("list", [])
                    got_list = got_f.get("list", [])
                    self.assertEqual(len(exp_list), len(got_list), fwhere)
                    for i, (em, gm) in enumerate(zip(exp_list, got_list)):
                        mwhere = f"{fwhere} message {i}"
                        self.assertEqual(em["sha256"], gm["sha256"], mwhere)
                        self.assertEqual(em["size"], gm["size"], mwhere)
                        self.assertEqual(em["flags"], gm["flags"], mwhere)
                        self.assertEqual(em["date"], gm["date"], mwhere)
                        self.assertEqual(em["uid"], gm["uid"], mwhere)
                        if exp_f.get("format") == "mbox":
                            self.assertEqual(em["offset"], gm["offset"], mwhere)
        totals = self.manifest["totals"]
        for key in ("domains", "accounts", "messages", "bytes"):
            self.assertEqual(totals[key], report["totals"][key], key)
        self.assertIn("problem(s) found", proc.stderr)

    def test_every_broken_item_is_reported_where_it_is(self):
        _, report = self.inventory(check=1)
        errors = report["errors"]
        unmatched = list(errors)
        for exp in self.manifest["expected_errors"]:
            path = os.path.join(self.root, exp["file"])
            candidates = [e for e in unmatched if e["file"].rstrip("/") == path.rstrip("/")]
            self.assertTrue(candidates, f"no error reported for {exp} in {json.dumps(errors, indent=1)}")
            err = candidates[0]
            unmatched.remove(err)
            self.assertEqual(exp["domain"], err["domain"], exp)
            if exp.get("account"):
                self.assertEqual(exp["account"], err["account"], exp)
            if exp.get("offset") is not None:
                self.assertEqual(exp["offset"], err["offset"], exp)
            if exp.get("line") is not None:
                self.assertEqual(exp["line"], err["line"], exp)
            self.assertTrue(err["message"], exp)
        self.assertEqual([], unmatched, "errors reported that the generator did not plant")
        self.assertEqual(len(errors), report["totals"]["errors"])

    def test_text_overview_has_totals_and_error_summary(self):
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, check=1)
        t = self.manifest["totals"]
        self.assertIn(f'Totals: {t["domains"]} domains, {t["accounts"]} accounts, {t["messages"]} messages, '
                      f'{t["bytes"]} bytes', proc.stdout)
        self.assertIn(f'Errors ({len(self.manifest["expected_errors"])}):', proc.stdout)
        for d in self.manifest["domains"]:
            for a in d["accounts"]:
                self.assertIn(f'{a["name"]}@{d["name"]}', proc.stdout)

    def test_no_plain_password_is_ever_printed(self):
        passwords = []
        for dirpath, _, files in os.walk(self.store):
            for name in files:
                if name.endswith(".settings") and "Settings" not in dirpath:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        m = re.search(rb'^\s*Password\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)\s*;', f.read(), re.M)
                    if m and not m.group(1).startswith(b'"\\001'):
                        value = m.group(1).strip(b'"')
                        if b"\\" not in value and len(value) >= 4:
                            passwords.append(value.decode("utf-8", "replace"))
        self.assertTrue(passwords, "the generated store should contain plain passwords")
        for args in (["--json", "--messages"], []):
            proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, *args)
            for pw in passwords:
                self.assertNotIn(pw, proc.stdout)
                self.assertNotIn(pw, proc.stderr)

    def test_domain_and_user_selection(self):
        domain = self.manifest["domains"][1]
        _, report = self.inventory("--domain", domain["name"], check=None)
        self.assertEqual([domain["name"]], [d["name"] for d in report["domains"]])
        self.assertEqual(sum(a_f["messages"] for a in domain["accounts"] for a_f in a["folders"]),
                         report["totals"]["messages"])
        account = domain["accounts"][0]
        _, report = self.inventory("--user", f'{account["name"]}@{domain["name"]}')
        self.assertEqual(1, report["totals"]["accounts"])
        self.assertEqual(account["name"], report["domains"][0]["accounts"][0]["name"])
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, "--domain", "no-such.example",
                           check=2)
        self.assertIn("no-such.example", proc.stderr)
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, "--user", "nobody-here",
                           check=2)
        self.assertIn("nobody-here", proc.stderr)

    def test_main_domain_override(self):
        _, report = self.inventory("--main-domain", "primary.example")
        mains = [d for d in report["domains"] if d["main"]]
        self.assertEqual(["primary.example"], [d["name"] for d in mains])

    def test_not_a_store_is_fatal(self):
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.work, check=3)
        self.assertIn("not a CommuniGate Pro store", proc.stderr)
        proc = harness.run("mailmig", "inventory", "--source", "nonsense:" + self.work, check=2)
        self.assertIn("not supported", proc.stderr)

    def test_live_server_is_refused_unless_allowed(self):
        # A process named CGServer whose PID is in the store's ProcessID file.
        fake = os.path.join(self.work, "CGServer")
        os.symlink(shutil.which("sleep"), fake)
        server = subprocess.Popen([fake, "60"])
        self.addCleanup(server.wait)
        self.addCleanup(server.kill)
        copy = os.path.join(self.work, "live")
        shutil.copytree(self.store, copy, symlinks=True)
        with open(os.path.join(copy, "ProcessID"), "w") as f:
            f.write(f"{server.pid}\n")
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + copy, check=3)
        self.assertIn("running", proc.stderr)
        self.assertIn(str(server.pid), proc.stderr)
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + copy, "--allow-live-store", "--json")
        report = json.loads(proc.stdout)
        # A live store: the planted truncated last message reads as one still
        # being appended: left out for the next sync, not reported as damage.
        truncated = [e for e in self.manifest["expected_errors"] if e["kind"] == "truncated-message"]
        self.assertEqual(1, len(truncated), self.manifest["expected_errors"])
        self.assertEqual(self.manifest["totals"]["messages"] - 1, report["totals"]["messages"])
        self.assertFalse([e for e in report["errors"] if "truncated" in e["message"]], report["errors"])
        self.assertIn("still being written", proc.stderr)
        server.kill()
        server.wait()
        # A stale ProcessID (process gone) does not block.
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + copy, "--json")
        self.assertIn(proc.returncode, (0, 1))

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), harness.ROOT_ONLY + " to drop privileges")
    def test_unreadable_mailbox_is_reported_and_the_rest_continues(self):
        copy = os.path.join(self.work, "perm")
        shutil.copytree(self.store, copy, symlinks=True)
        for dirpath, dirnames, files in os.walk(copy):
            os.chmod(dirpath, 0o755)
            for name in files:
                os.chmod(os.path.join(dirpath, name), 0o644)
        domain = self.manifest["domains"][0]
        account = next(a for a in domain["accounts"] if any(f["format"] == "mbox" and f["messages"] for f in a["folders"]))
        folder = next(f for f in account["folders"] if f["format"] == "mbox" and f["messages"])
        locked = os.path.join(copy, folder["file"])
        os.chmod(locked, 0)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               harness.binary("mailmig"), "inventory", "--source", "cgp:" + copy, "--json"],
                              capture_output=True, text=True)
        self.assertEqual(1, proc.returncode, proc.stderr)
        report = json.loads(proc.stdout)
        hits = [e for e in report["errors"] if e["file"] == os.path.realpath(locked)]
        self.assertEqual(1, len(hits), report["errors"])
        self.assertIn("Permission denied", hits[0]["message"])
        self.assertEqual(account["name"], hits[0]["account"])
        self.assertEqual(folder["name"], hits[0]["folder"])
        self.assertEqual(self.manifest["totals"]["messages"] - folder["messages"], report["totals"]["messages"])


class SampleStore(unittest.TestCase):
    def test_sample_store_is_clean(self):
        work = harness.make_tempdir(self)
        store, manifest = harness.generate_store(work, "sample", seed=1)
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + store, "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual([], report["errors"])
        self.assertEqual(manifest["totals"]["messages"], report["totals"]["messages"])
        self.assertEqual(manifest["totals"]["bytes"], report["totals"]["bytes"])


if __name__ == "__main__":
    harness.main()
