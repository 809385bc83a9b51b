"""A full disk under each file mailmig writes (docs/reliability.md): the state
directory, the Maildir target, the report (--report) and the password file
(--password-file-out). Each lies on a small tmpfs this test mounts (root only;
CI runs as root) and fills. Expected: a clear error naming the file, exit 1
(3 when nothing could start), nothing recorded as done that is not on the
target, and once space is freed the same command completes with nothing twice."""
import collections
import csv
import glob
import hashlib
import imaplib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import unittest

from kill_common import MaildirSource, assert_same_mail, count_maildir_messages, harness
from servers.dovecot import PrivateDovecot
from test_maildir_cli import owner_spec


class DiskFull(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest(harness.ROOT_ONLY + ": mounts a tmpfs to fill it")
        cls.imap = PrivateDovecot()
        cls.imap.start()
        cls.addClassCleanup(cls.imap.stop)

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.master = os.path.join(self.work, "master.pw")
        with open(self.master, "w") as f:
            f.write(self.imap.master_password + "\n")
        os.chmod(self.master, 0o600)

    def mount(self, name, size):
        """A tmpfs of `size` at WORK/name, unmounted (only it) in teardown."""
        path = os.path.join(self.work, name)
        os.mkdir(path)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path], check=True)
        self.addCleanup(subprocess.run, ["umount", path], check=True)
        return path

    @staticmethod
    def fill(mount, leave=0):
        """A filler file taking all but `leave` bytes of the tmpfs; returns its path."""
        filler = os.path.join(mount, "filler")
        st = os.statvfs(mount)
        size = st.f_bavail * st.f_frsize - leave
        with open(filler, "wb") as f:
            f.write(b"\0" * max(size, 0))
        return filler

    def imap_target(self):
        return ["--target", f"imap://127.0.0.1:{self.imap.imap_port}", "--ca-file", self.imap.ca_file,
                "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                "--master-password-file", self.master]

    def run_mailmig(self, args):
        return harness.run("mailmig", *args, cwd=self.work, timeout=600)

    def assert_complete(self, args, source, target_check):
        proc = self.run_mailmig(args)
        self.assertEqual(0, proc.returncode, f"after freeing space\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
        target_check()
        return proc

    def test_state_directory_full(self):
        mount = self.mount("state-fs", "2m")
        filler = self.fill(mount, leave=320 * 1024)
        source = MaildirSource(os.path.join(self.work, "src"), "fullstate.test", 6, 1500, 21)
        state = os.path.join(mount, "state")
        args = ["migrate", *source.args(), *self.imap_target(), "--provision", "dovecot:" + self.imap.passwd_file,
                "--password-file-out", os.path.join(self.work, "run.pass"), "--state", state, "--jobs", "4"]
        proc = self.run_mailmig(args)
        text = proc.stdout + proc.stderr
        self.assertEqual(1, proc.returncode, text[-4000:])  # once running: the failure is reported, not a crash
        self.assertIn("state.sqlite", text)
        self.assertRegex(text, "(?i)full|no space")
        print(f"\nstate on a full disk: exit {proc.returncode}: "
              f"{next(line for line in text.splitlines() if 'state.sqlite' in line and 'ull' in line)}", flush=True)
        # Whatever the state says is done is on the target.
        copy = os.path.join(self.work, "state-copy")
        os.mkdir(copy)
        for path in glob.glob(os.path.join(state, "state.sqlite*")):
            shutil.copy(path, copy)
        if os.path.exists(os.path.join(copy, "state.sqlite")):
            db = sqlite3.connect(os.path.join(copy, "state.sqlite"))
            done = db.execute("SELECT m.account, f.target_folder, m.sha256, COUNT(*) FROM messages m JOIN folders f "
                              "ON f.account = m.account AND f.folder = m.folder WHERE m.status = 'done' "
                              "GROUP BY 1, 2, 3").fetchall()
            db.close()
            by_user = collections.defaultdict(list)
            for account, folder, sha, n in done:
                by_user[account].append((folder, sha, n))
            from kill_common import imap_contents
            for account, rows in by_user.items():
                have = imap_contents(self.imap, account)
                for folder, sha, n in rows:
                    on_target = sum(c for (s, _, _), c in have.get(folder, {}).items() if s == sha)
                    self.assertGreaterEqual(on_target, n, f"{account} {folder} {sha}: done in the state only")
        os.unlink(filler)
        self.assert_complete(args, source, lambda: assert_same_mail(self, source.expected(), self.imap, "state"))

    def test_maildir_target_full(self):
        mount = self.mount("target-fs", "2m")
        owner = owner_spec()
        source = MaildirSource(os.path.join(self.work, "src"), "fulltree.test", 6, 1500, 22)
        tree = os.path.join(mount, "tree")
        target = ["--target", "maildir:" + tree, "--target-user-path", "%d/%n/Maildir"]
        state = ["--state", os.path.join(self.work, "state")]
        args = ["migrate", *source.args(), *target, *state, "--jobs", "4"] + (["--owner", owner] if owner else [])
        proc = self.run_mailmig(args)
        text = proc.stdout + proc.stderr
        self.assertEqual(1, proc.returncode, text[-4000:])
        self.assertIn(tree, text)
        self.assertRegex(text, "(?i)no space")
        subprocess.run(["mount", "-o", "remount,size=64m", mount], check=True)

        def check():
            whole = collections.Counter()
            for folders in source.expected().values():
                for counter in folders.values():
                    for (sha, _, _), n in counter.items():
                        whole[sha] += n
            found = collections.Counter()
            for dirpath, _, filenames in os.walk(tree):
                if dirpath.endswith("/tmp"):
                    self.assertEqual([], filenames, dirpath)
                if dirpath.endswith(("/cur", "/new")):
                    for name in filenames:
                        with open(os.path.join(dirpath, name), "rb") as f:
                            data = f.read()
                        found[hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")).hexdigest()] += 1
            self.assertEqual(whole, found, "partial or duplicated files in the Maildir target")
            verify = self.run_mailmig(["verify", *source.args(), *target, *state])
            self.assertEqual(0, verify.returncode, verify.stdout[-3000:])

        self.assert_complete(args, source, check)

    def test_report_file_full(self):
        mount = self.mount("report-fs", "64k")
        filler = self.fill(mount)
        source = MaildirSource(os.path.join(self.work, "src"), "fullreport.test", 2, 40, 23)
        report = os.path.join(mount, "report.json")
        target = ["--target", "maildir:" + os.path.join(self.work, "tree"), "--target-user-path", "%d/%n/Maildir"]
        for verb in ("migrate", "verify"):
            with self.subTest(verb=verb):
                args = [verb, *source.args(), *target, "--state", os.path.join(self.work, "state"),
                        "--report", report]
                proc = self.run_mailmig(args)
                self.assertEqual(1, proc.returncode, proc.stdout[-2000:] + proc.stderr)
                self.assertIn(report, proc.stderr)
                self.assertRegex(proc.stderr, "(?i)no space")
                self.assertEqual(["filler"], os.listdir(mount))  # no partial report, no temporary file
        os.unlink(filler)
        for verb in ("migrate", "verify"):
            args = [verb, *source.args(), *target, "--state", os.path.join(self.work, "state"), "--report", report]
            proc = self.run_mailmig(args)
            self.assertEqual(0, proc.returncode, proc.stdout[-2000:] + proc.stderr)
            with open(report, encoding="utf-8") as f:
                totals = json.load(f)["totals"]
            self.assertEqual(source.total(), totals.get("messages_target", totals.get("already", 0) +
                                                        totals.get("copied", 0)))

    def test_password_file_full(self):
        mount = self.mount("pass-fs", "256k")
        # Long names: 60 accounts' rows need more than the one page left free.
        source = MaildirSource(os.path.join(self.work, "src"), "full-password-file.a-rather-long-domain.test", 60,
                               120, 24)
        pass_file = os.path.join(mount, "run.pass")
        filler = self.fill(mount, leave=4096)
        args = ["migrate", *source.args(), *self.imap_target(), "--provision", "dovecot:" + self.imap.passwd_file,
                "--password-file-out", pass_file, "--state", os.path.join(self.work, "state"), "--jobs", "4"]
        proc = self.run_mailmig(args)
        text = proc.stdout + proc.stderr
        self.assertIn(proc.returncode, (1, 3), text[-4000:])
        self.assertIn(pass_file, text)
        self.assertRegex(text, "(?i)no space")
        os.unlink(filler)
        self.assert_complete(args, source, lambda: None)
        # Every account on the target has a recorded password, and it is the one that logs in.
        with open(pass_file, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        passwords = {row[0]: row[1] for row in rows}  # the last row of an account is its password
        self.assertEqual(sorted(source.users), sorted(passwords))
        time.sleep(1.1)  # Dovecot looks at its passwd-file at most once a second
        failed = []
        for user in source.users:
            try:
                self.imap.login(user, passwords[user]).logout()
            except imaplib.IMAP4.error as e:
                failed.append((user, str(e), [r for r in rows if r[0] == user]))
        self.assertEqual([], failed, f"{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
        assert_same_mail(self, source.expected(), self.imap, "pass")


if __name__ == "__main__":
    harness.main()
