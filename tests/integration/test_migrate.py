"""mailmig migrate: users created by the Dovecot passwd-file provisioner, mail
copied with the Dovecot master user, read back identical; the .pass file;
re-runs are no-ops; kill -9 at any moment and a resume copy every message
exactly once; the source store is never modified."""
import csv
import json
import os
import signal
import subprocess
import time
import unittest

import harness
import imap_readback as rb
from imap_readback import login_plain
from servers.dovecot import PrivateDovecot


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def read_pass_file(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["account", "password", "how"], rows[0]
    return {r[0]: (r[1], r[2]) for r in rows[1:]}


class MigrateIntoDovecot(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = write_secret(os.path.join(self.work, "master.pw"), self.server.master_password)

    def migrate(self, store, *args, check=None, cwd=None):
        return harness.run("mailmig", "migrate", "--source", "cgp:" + store, "--target",
                           f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file,
                           "--auth", "dovecot-master", "--master-user", self.server.master_user,
                           "--master-password-file", self.master, "--provision", "dovecot:" + self.server.passwd_file,
                           "--state", os.path.join(self.work, "state"), *args, check=check, cwd=cwd or self.work)

    def assert_everything_once(self, manifest):
        for d in manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = self.server.login_master(user)
                try:
                    rb.compare_account(self, imap, a, user)
                finally:
                    imap.logout()

    def test_end_to_end_with_provisioning_and_a_broken_mailbox(self):
        store, manifest = harness.generate_store(self.work, "test", seed=21)
        before = harness.tree_snapshot(store)
        pass_out = os.path.join(self.work, "out.pass")
        report = os.path.join(self.work, "report.json")
        proc = self.migrate(store, "--password-file-out", pass_out, "--report", report, "--jobs", "3", check=1)
        self.assertEqual(before, harness.tree_snapshot(store), "the source store changed")
        self.assertIn("INCOMPLETE", proc.stdout)
        self.assertIn("truncated", proc.stdout)  # the broken mailbox is in the problem summary
        self.assert_everything_once(manifest)

        # .pass: mode 600, one row per created user whose password we set
        self.assertEqual(0o600, os.stat(pass_out).st_mode & 0o777)
        rows = read_pass_file(pass_out)
        kinds = {a["name"] + "@" + d["name"]: a["password"] for d in manifest["domains"] for a in d["accounts"]}
        for account, kind in kinds.items():
            if kind == "plain":
                self.assertEqual("migrated", rows[account][1], account)
            elif kind == "none":
                self.assertEqual("generated", rows[account][1], account)
        # a created user logs in with the password from the .pass file
        for account, (password, how) in rows.items():
            imap = login_plain(self.server, account, password)
            imap.logout()
        data = json.load(open(report))
        self.assertEqual(manifest["totals"]["messages"], data["totals"]["copied"])

        # the same command again is a no-op
        proc = self.migrate(store, "--password-file-out", os.path.join(self.work, "again.pass"), check=1)
        again = {}
        for line in proc.stdout.splitlines():
            if line.startswith("total"):
                again = line.split()
        self.assertEqual("0", again[2], proc.stdout)  # copied
        self.assertEqual(str(manifest["totals"]["messages"]), again[3])  # already
        self.assert_everything_once(manifest)

    def test_existing_user_needs_force(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=22)
        self.server.add_user("alan@example.org", "Existing#1")
        proc = self.migrate(store, "--user", "alan@example.org", check=1)
        self.assertIn("already exists", proc.stdout)
        self.assertIn("exists", proc.stdout)
        proc = self.migrate(store, "--user", "alan@example.org", "--force", check=0)
        imap = login_plain(self.server, "alan@example.org", "Existing#1")  # password left as it was
        imap.logout()
        account = next(a for d in manifest["domains"] for a in d["accounts"] if a["name"] == "alan")
        imap = self.server.login_master("alan@example.org")
        rb.compare_account(self, imap, account, "alan")
        imap.logout()

    def test_dry_run_touches_nothing(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=23)
        passwd_before = open(self.server.passwd_file).read()
        proc = self.migrate(store, "--dry-run", check=0)
        self.assertIn("would copy", proc.stdout)
        self.assertEqual(passwd_before, open(self.server.passwd_file).read())
        self.assertFalse(os.path.exists(os.path.join(self.server.mail_root, "john@mail.example.com")))

    def test_kill_9_at_several_points_then_resume_copies_everything_once(self):
        store, manifest = harness.generate_store(self.work, "bench", seed=24, extra=("--messages", "3000"))
        expected = manifest["totals"]["messages"]
        state = os.path.join(self.work, "state")
        args = [harness.binary("mailmig"), "migrate", "--source", "cgp:" + store, "--target",
                f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file, "--auth",
                "dovecot-master", "--master-user", self.server.master_user, "--master-password-file", self.master,
                "--provision", "dovecot:" + self.server.passwd_file, "--state", state, "--jobs", "2", "--quiet",
                "--password-file-out", os.path.join(self.work, "kill.pass")]
        kills = 0
        for fraction in (0.15, 0.45, 0.75):
            proc = subprocess.Popen(args, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 120
            while proc.poll() is None and time.time() < deadline:
                if self.count_messages() >= fraction * expected:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.02)
            proc.wait()
        self.assertGreaterEqual(kills, 1, "the migration finished before it could be killed")
        # The very same command (the same password file included) finishes the job.
        final = subprocess.run(args, cwd=self.work, capture_output=True, text=True)
        self.assertEqual(0, final.returncode, final.stdout[-3000:] + final.stderr[-3000:])
        pass_file = os.path.join(self.work, "kill.pass")
        self.assertEqual(0o600, os.stat(pass_file).st_mode & 0o777)
        with open(pass_file, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        self.assertEqual(["account", "password", "how"], rows[0])
        accounts = [r[0] for r in rows[1:]]
        self.assertEqual(len(accounts), len(set(accounts)), "an account's password recorded twice")
        self.assertEqual(expected, self.count_messages())
        for d in manifest["domains"]:
            for a in d["accounts"]:
                got = self.count_messages(f'{a["name"]}@{d["name"]}')
                want = sum(f["messages"] for f in a["folders"] if f["selectable"])
                self.assertEqual(want, got, a["name"])

    def test_password_file_out_is_continued_only_when_it_is_ours(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=27)
        mine = os.path.join(self.work, "mine.pass")
        self.migrate(store, "--user", "alan@example.org", "--password-file-out", mine, check=0)
        first = read_pass_file(mine)
        self.assertIn("alan@example.org", first)
        self.migrate(store, "--user", "mary@mail.example.com", "--password-file-out", mine, check=0)
        both = read_pass_file(mine)
        self.assertEqual(first["alan@example.org"], both["alan@example.org"])
        self.assertIn("mary@mail.example.com", both)
        # Not ours: readable by others, or not a password file at all.
        for name, text, mode in (("open.pass", "account,password,how\r\n", 0o644), ("other.csv", "a,b\n", 0o600)):
            path = os.path.join(self.work, name)
            with open(path, "w", newline="") as f:
                f.write(text)
            os.chmod(path, mode)
            proc = self.migrate(store, "--user", "john@mail.example.com", "--password-file-out", path, check=3)
            self.assertIn("refusing", proc.stderr)
            with open(path, newline="") as f:
                self.assertEqual(text, f.read())

    def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(self):
        store, manifest = harness.generate_store(self.work, "bench", seed=25, extra=("--messages", "2000"))
        expected = manifest["totals"]["messages"]
        args = [harness.binary("mailmig"), "migrate", "--source", "cgp:" + store, "--target",
                f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file, "--auth",
                "dovecot-master", "--master-user", self.server.master_user, "--master-password-file", self.master,
                "--provision", "dovecot:" + self.server.passwd_file, "--state", os.path.join(self.work, "state"),
                "--jobs", "1"]
        proc = subprocess.Popen(args, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline and self.count_messages() < 0.3 * expected:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        if self.count_messages() < expected:  # it was still running when interrupted
            self.assertEqual(130, proc.returncode, out + err)  # README: 130 for SIGINT
            self.assertRegex(out, r"interrupted|not started")
            self.assertIn("run the same command again", err)
        final = subprocess.run(args, cwd=self.work, capture_output=True, text=True)
        self.assertEqual(0, final.returncode, final.stdout[-3000:])
        self.assertEqual(expected, self.count_messages())

    def test_users_file_selects_accounts(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=26)
        users = os.path.join(self.work, "users.txt")
        with open(users, "w") as f:
            f.write("# batch 1\nalan@example.org\n  mary@mail.example.com  \n")
        proc = self.migrate(store, "--users-file", users, "--password-file-out", os.path.join(self.work, "u.pass"),
                            check=0)
        self.assertIn("alan@example.org", proc.stdout)
        self.assertIn("mary@mail.example.com", proc.stdout)
        self.assertNotIn("john@mail.example.com", proc.stdout)
        self.assertEqual({"alan@example.org", "mary@mail.example.com"}, set(os.listdir(self.server.mail_root)))

    def test_a_broken_account_that_is_not_selected_does_not_fail_the_run(self):
        store, manifest = harness.generate_store(self.work, "test", seed=27)
        broken = {(e["domain"], e["account"]) for e in manifest["expected_errors"]}
        self.assertIn("settings-syntax", {e["kind"] for e in manifest["expected_errors"]},
                      "the test store plants an unreadable settings file")
        # --user without a domain: every domain's account list is read, the broken ones' too.
        names = [a["name"] for d in manifest["domains"] for a in d["accounts"]]
        clean = next((d["name"], a["name"]) for d in manifest["domains"] for a in d["accounts"]
                     if (d["name"], a["name"]) not in broken and names.count(a["name"]) == 1)
        proc = self.migrate(store, "--user", clean[1], "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual([], report["errors"])
        self.assertEqual([clean], [(a["domain"], a["account"]) for a in report["accounts"]])

    def count_messages(self, user=None):
        users = [user] if user else os.listdir(self.server.mail_root)
        total = 0
        for u in users:
            maildir = os.path.join(self.server.mail_root, u, "Maildir")
            for dirpath, dirnames, files in os.walk(maildir):
                if os.path.basename(dirpath) in ("cur", "new"):
                    total += len(files)
        return total


if __name__ == "__main__":
    harness.main()
