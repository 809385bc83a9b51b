"""Hostile stores and archives never make mailmig read or write outside the
source and target roots, never hang, and never put control characters on the
terminal raw; what is hostile is reported and skipped, and the run ends with
exit 1.

The test builds, next to a canary directory holding mail-like files:
  * a CommuniGate store with a folder symlink pointing into the canary, a
    FIFO named account.settings, a FIFO named like a mailbox, a folder name and
    a real name with terminal escape sequences, and an overlong folder name;
  * a tar archive (SME Server layout) with entries climbing out with "..",
    one making an account named "..", an absolute path, and a hard link to
    a path with "..".
Both are inventoried and migrated into a Maildir target (the account
directories also via the Dovecot passwd-file provisioner); then the canary
and everything outside the target and state are unchanged, and the target
holds only the accounts' own trees."""
import json
import os
import tarfile
import io
import unittest

import harness

MESSAGE = b"From a@b Thu Feb  1 10:11:12 2024\nSubject: ok\n\nbody\n"
ESC_FOLDER = "Evil\x1b[2J\x1b]0;owned\x07"
ESC_NAME = "Mallory\x1b[31m\x9bX"


def add(tar, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 1700000000
    info.mode = 0o600
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        info.linkname = link
        tar.addfile(info)


class HostileInput(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.canary = os.path.join(self.work, "canary")
        os.makedirs(os.path.join(self.canary, "Maildir", "cur"))
        with open(os.path.join(self.canary, "secret.mbox"), "wb") as f:
            f.write(MESSAGE.replace(b"ok", b"CANARY"))
        with open(os.path.join(self.canary, "Maildir", "cur", "1.M1P1.h:2,S"), "wb") as f:
            f.write(b"Subject: CANARY\n\nx\n")
        self.target = os.path.join(self.work, "target")
        os.makedirs(self.target)
        self.users = os.path.join(self.work, "users.passwd")

    def snapshot_outside(self):
        """Everything under the work directory except the target, the states and reports."""
        snap = harness.tree_snapshot(self.work)
        return {k: v for k, v in snap.items()
                if not k.startswith(("target", "state", "report")) and k != "users.passwd"
                and not k.startswith("users.passwd")}

    def build_store(self):
        store = os.path.join(self.work, "store")
        acc = os.path.join(store, "Accounts")
        os.makedirs(os.path.join(acc, "good.macnt"))
        with open(os.path.join(acc, "good.macnt", "INBOX.mbox"), "wb") as f:
            f.write(MESSAGE)
        with open(os.path.join(acc, "good.macnt", ESC_FOLDER + ".mbox"), "wb") as f:
            f.write(MESSAGE)
        with open(os.path.join(acc, "good.macnt", "account.settings"), "wb") as f:
            f.write(b'{ Password = "Pw#good1"; RealName = "' + ESC_NAME.encode() + b'"; }\n')
        os.symlink(os.path.join(self.canary, "secret.mbox"), os.path.join(acc, "good.macnt", "Outside.mbox"))
        os.symlink("../../../canary", os.path.join(acc, "good.macnt", "Up.folder"))
        with open(os.path.join(acc, "good.macnt", "L" * 250 + ".mbox"), "wb") as f:
            f.write(MESSAGE)
        os.makedirs(os.path.join(acc, "fifo.macnt"))
        os.mkfifo(os.path.join(acc, "fifo.macnt", "account.settings"))
        os.mkfifo(os.path.join(acc, "fifo.macnt", "INBOX.mbox"))
        os.makedirs(os.path.join(store, "Settings"))
        with open(os.path.join(store, "Settings", "Main.settings"), "wb") as f:
            f.write(b"{ DomainName = main.example; }\n")
        return store

    def build_archive(self):
        path = os.path.join(self.work, "backup.tar")
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            add(tar, "home/e-smith/db/configuration", b"DomainName=example.com\n")
            add(tar, "home/e-smith/files/users/john/Maildir/cur/1700000000.M1P1.h:2,S", b"Subject: kept\n\nx\n")
            add(tar, "home/e-smith/files/users/../Maildir/cur/1700000001.M2P1.h:2,S", b"Subject: root\n\nx\n")
            add(tar, "home/e-smith/files/users/john/Maildir/../../../../../../canary/cur/1700000002.M3P1.h",
                b"Subject: up\n\nx\n")
            add(tar, "/abs/home/e-smith/files/users/eve/Maildir/../../../../../../../../tmp/x/cur/1.M1P1.h",
                b"Subject: abs\n\nx\n")
            add(tar, "home/e-smith/files/users/john/Maildir/cur/1700000004.M5P1.h:2,S", kind=tarfile.LNKTYPE,
                link="../../canary/secret.mbox")
        return path

    def migrate(self, source, tag):
        report = os.path.join(self.work, f"report-{tag}.json")
        proc = harness.run("mailmig", "migrate", "--source", source, "--target", "maildir:" + self.target,
                           "--target-user-path", "%d/%n/Maildir", "--provision", "dovecot:" + self.users,
                           "--set-password", "Any#Pw-1", "--state", os.path.join(self.work, "state-" + tag),
                           "--report", report, "--password-file-out", os.path.join(self.work, f"state-{tag}.pass"),
                           "--timeout", "30", cwd=self.work, timeout=300)
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def assert_target_is_only_accounts(self):
        for root, dirs, files in os.walk(self.target, followlinks=False):
            for name in dirs + files:
                path = os.path.join(root, name)
                self.assertFalse(os.path.islink(path), path)
                self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(self.target) + os.sep), path)
        for domain in os.listdir(self.target):
            self.assertNotIn(domain, ("..", "."))
            for account in os.listdir(os.path.join(self.target, domain)):
                self.assertNotIn(account, ("..", "."))

    def test_store_and_archive(self):
        store = self.build_store()
        archive = self.build_archive()
        before = self.snapshot_outside()

        # inventory: ends (a FIFO once hung it), exit 1, no raw escape on screen.
        inv = harness.run("mailmig", "inventory", "--source", "cgp:" + store, cwd=self.work, timeout=120)
        self.assertEqual(1, inv.returncode, inv.stdout + inv.stderr)
        self.assertNotIn("\x1b", inv.stdout + inv.stderr)
        self.assertNotIn("\x07", inv.stdout + inv.stderr)
        self.assertIn("Evil\\x1b[2J", inv.stdout)
        self.assertIn("Mallory\\x1b[31m\\x9bX", inv.stdout)
        inv_json = harness.run("mailmig", "inventory", "--json", "--source", "cgp:" + store, cwd=self.work,
                               timeout=120)
        data = json.loads(inv_json.stdout)
        folders = [f["name"] for d in data["domains"] for a in d["accounts"] for f in a["folders"]]
        self.assertIn(ESC_FOLDER, folders)  # JSON keeps the exact name
        self.assertNotIn("Outside", folders)
        self.assertNotIn("Up", folders)
        problems = json.dumps(data.get("problems", data.get("errors", [])))
        self.assertIn("fifo.macnt/account.settings", problems)
        self.assertIn("Outside.mbox", problems)

        proc, report = self.migrate("cgp:" + store, "store")
        self.assertEqual(1, proc.returncode, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertNotIn("\x1b", proc.stdout + proc.stderr)
        text = proc.stdout + proc.stderr
        self.assertIn("fifo.macnt", text)
        self.assertIn("Outside.mbox", text)

        proc, report = self.migrate("archive:" + archive, "archive")
        self.assertEqual(1, proc.returncode, proc.stdout[-3000:] + proc.stderr[-3000:])
        text = proc.stdout + proc.stderr
        self.assertIn("users/../Maildir/cur/1700000001.M2P1.h:2,S", text)
        self.assertIn("canary/cur/1700000002.M3P1.h", text)
        self.assertIn("hard link to \"../../canary/secret.mbox\"", text)
        self.assertTrue(os.path.isdir(os.path.join(self.target, "example.com", "john", "Maildir")))
        with open(self.users, encoding="utf-8") as f:
            users = f.read()
        self.assertNotIn("..@", users)
        self.assertIn("john@example.com", users)

        self.assertEqual(before, self.snapshot_outside(), "something outside the roots changed")
        self.assert_target_is_only_accounts()
        self.assertFalse(os.path.exists("/tmp/x/cur/1.M1P1.h"))


if __name__ == "__main__":
    harness.main()
