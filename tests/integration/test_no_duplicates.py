"""Nothing duplicated, whatever happened before (issue 11, part 1).

The same mail reaches the target from several sources in a real migration: a
backup archive first, then the live host; or an mbox export and the Maildir
it came from. Each pair below migrates with the first source, then syncs with
the second source and a fresh --state: nothing may be appended again (the
target is read once and the messages found by content), and verify with the
second source says every message is there exactly once.

Also, tried as a new user would: the same command from another working
directory (default state), a lost state, and two runs with different states
into the same target at the same time.
"""
import json
import os
import shutil
import subprocess
import tarfile
import time
import unittest

import harness
from test_maildir_cli import owner_spec
from test_source_target_matrix import build_maildir_tree, write_archive

PATTERN = "%d/%n/Maildir"
FLAG_STATUS = {"S": b"Status: RO\n", "": b"Status: O\n"}


def mbox_of_maildir(maildir_root, mbox_root, domain, users):
    """The same mail as an mbox tree: each Maildir folder of each user becomes
    one mboxrd file (the INBOX a spool file), in the order of its file names,
    with the Seen flag as a Status header. Returns the mbox source arguments."""
    for user in users:
        name = user.split("@")[0]
        box = os.path.join(maildir_root, domain, name, "Maildir")
        for folder in sorted(d for d in os.listdir(box) if d == "cur" or d.startswith(".")):
            base = os.path.join(box, folder) if folder != "cur" else box
            records = []
            for sub in ("cur", "new"):
                directory = os.path.join(base, sub)
                for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
                    with open(os.path.join(directory, entry), "rb") as f:
                        data = f.read()
                    # The separator line carries the date the Maildir keeps as the file's mtime.
                    ctime = time.strftime("%a %b %e %H:%M:%S %Y",
                                          time.gmtime(os.stat(os.path.join(directory, entry)).st_mtime))
                    seen = "S" in entry.split(":2,")[-1] if ":2," in entry else False
                    if b"\n\n" not in data:  # headers only: no place for a Status line
                        records.append(f"From sender@example.org {ctime}\n".encode() + data + b"\n")
                        continue
                    header, body = data.split(b"\n\n", 1)
                    quoted = b"".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line
                                      for line in body.splitlines(keepends=True))
                    records.append(f"From sender@example.org {ctime}\n".encode() + header + b"\n" +
                                   FLAG_STATUS["S" if seen else ""] + b"\n" + quoted + b"\n")
            if folder == "cur":
                path = os.path.join(mbox_root, "spool", name)
            else:
                path = os.path.join(mbox_root, domain, name, "mail", *folder[1:].split("."))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"".join(records))
    return ["--source", "mbox:" + mbox_root, "--user-path", mbox_root + "/%d/%n/mail",
            "--inbox-path", mbox_root + "/spool/%n"]


class NoDuplicatesAcrossSources(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_dovecot_with_master(cls, "mailmig-nodup-")
        cls.owner = owner_spec()
        cls.runs = 0

    def target(self, kind, tree=None):
        if kind == "imap":
            return ["--target", f"imap://127.0.0.1:{self.imap.imap_port}", "--ca-file", self.imap.ca_file,
                    "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                    "--master-password-file", self.master]
        return ["--target", "maildir:" + tree, "--target-user-path", PATTERN] + (
            ["--owner", self.owner] if self.owner else [])

    def mailmig(self, command, source, target, *extra, check=0, cwd=None):
        type(self).runs += 1
        report = os.path.join(self.work, f"report-{self.runs}.json")
        args = [command, *source, *target, "--report", report, *extra]
        if command != "verify" and "--provision" not in extra and target[1].startswith("imap"):
            args += ["--provision", "dovecot:" + self.imap.passwd_file,
                     "--password-file-out", os.path.join(self.work, f"run-{self.runs}.pass")]
        proc = harness.run("mailmig", *args, cwd=cwd or self.work)
        if proc.returncode != check:
            raise AssertionError(f"mailmig {' '.join(args)}: exit {proc.returncode}, expected {check}\n"
                                 f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-3000:]}")
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def maildir_source(self, name):
        """A Maildir tree (alice, carol) in its own domain; returns (dir, domain, users, count, source args)."""
        directory = os.path.join(self.work, name)
        os.makedirs(directory)
        domain = f"{name}.nodup.test"
        root = os.path.join(directory, "vmail")
        users, count = build_maildir_tree(root, domain)
        return directory, domain, root, users, count

    def assert_second_source_appends_nothing(self, first, second, target, count):
        _, report = self.mailmig("migrate", first, target, "--state", os.path.join(self.work, f"s{self.runs}-a"))
        self.assertEqual(count, report["totals"]["copied"])
        # --force: a fresh state does not know that the users on the target are this migration's.
        _, report = self.mailmig("sync", second, target, "--state", os.path.join(self.work, f"s{self.runs}-b"),
                                 "--force")
        totals = report["totals"]
        self.assertEqual(0, totals["copied"], json.dumps(totals))
        self.assertEqual(count, totals["found_on_target"], json.dumps(totals))
        self.assertEqual(count, totals["target_hashed"])  # the cost: the target read once
        _, verify = self.mailmig("verify", second, target)  # exit 0: every message once, flags and dates as the source's
        self.assertEqual(count, verify["totals"]["messages_target"])
        # And the second source's own state now knows it all: a no-op, reading nothing more.
        _, report = self.mailmig("sync", second, target, "--state", os.path.join(self.work, f"s{self.runs - 2}-b"))
        self.assertEqual(0, report["totals"]["copied"])
        self.assertEqual(0, report["totals"]["target_hashed"])

    def test_archive_then_maildir_into_maildir_and_imap(self):
        for kind in ("maildir", "imap"):
            with self.subTest(target=kind):
                directory, domain, root, users, count = self.maildir_source("a2m-" + kind)
                archive = os.path.join(directory, "backup.tar.gz")
                write_archive(root, archive)
                self.assert_second_source_appends_nothing(
                    ["--source", "archive:" + archive],
                    ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"],
                    self.target(kind, os.path.join(directory, "target")), count)

    def test_exploded_backup_directory_then_maildir(self):
        directory, domain, root, users, count = self.maildir_source("dir2m")
        archive = os.path.join(directory, "backup.tar.gz")
        write_archive(root, archive)
        exploded = os.path.join(directory, "migration")  # the backup unpacked, as the seed's procedure does
        os.makedirs(exploded)
        with tarfile.open(archive) as tar:
            tar.extractall(exploded)
        self.assert_second_source_appends_nothing(
            ["--source", "archive:" + exploded],
            ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"],
            self.target("maildir", os.path.join(directory, "target")), count)

    def test_mbox_then_maildir_of_the_same_mail(self):
        directory, domain, root, users, count = self.maildir_source("mbox2m")
        # An mbox folder is a file and cannot also hold subfolders: the nested folder goes.
        for user in users:
            nested = os.path.join(root, domain, user.split("@")[0], "Maildir", ".Work.Reports")
            if os.path.isdir(nested):
                count -= sum(len(os.listdir(os.path.join(nested, d))) for d in ("cur", "new"))
                shutil.rmtree(nested)
        mbox = mbox_of_maildir(root, os.path.join(directory, "mboxes"), domain, users)
        self.assert_second_source_appends_nothing(
            mbox, ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"],
            self.target("maildir", os.path.join(directory, "target")), count)

    def test_default_state_does_not_depend_on_the_working_directory(self):
        directory, domain, root, users, count = self.maildir_source("cwd")
        source = ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"]
        target = self.target("maildir", os.path.join(directory, "target"))
        elsewhere = os.path.join(directory, "elsewhere")
        os.makedirs(elsewhere)
        _, first = self.mailmig("migrate", source, target)
        self.assertEqual(count, first["totals"]["copied"])
        proc, again = self.mailmig("migrate", source, target, cwd=elsewhere)
        self.assertEqual(0, again["totals"]["copied"])
        self.assertEqual(count, again["totals"]["already"])  # from the same state, not by reading the target
        self.assertEqual(0, again["totals"]["target_hashed"])
        self.assertFalse(os.path.exists(os.path.join(elsewhere, "mailmig-state")))

    def test_two_runs_with_different_states_at_once(self):
        directory = os.path.join(self.work, "concurrent")
        os.makedirs(directory)
        store, manifest = harness.generate_store(directory, "bench", seed=31, extra=("--messages", "1500"))
        expected = manifest["totals"]["messages"]
        tree = os.path.join(directory, "target")
        args = [harness.binary("mailmig"), "migrate", "--source", "cgp:" + store,
                *self.target("maildir", tree), "--jobs", "2", "--quiet"]
        procs = [subprocess.Popen(args + ["--state", os.path.join(directory, f"state-{i}")], cwd=directory,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
        outputs = [p.communicate(timeout=300)[0] for p in procs]
        codes = [p.returncode for p in procs]
        self.assertTrue(all(c in (0, 1) for c in codes), outputs)
        if 1 in codes:
            self.assertIn("another mailmig run", "".join(outputs))
        # Whatever each did, the same command again finishes the job, and nothing is twice.
        final = subprocess.run(args + ["--state", os.path.join(directory, "state-1")], cwd=directory,
                               capture_output=True, text=True)
        self.assertEqual(0, final.returncode, final.stdout[-3000:])
        _, verify = self.mailmig("verify", ["--source", "cgp:" + store], self.target("maildir", tree),
                                 "--state", os.path.join(directory, "state-1"))
        self.assertEqual(expected, verify["totals"]["messages_target"], json.dumps(verify["totals"]))


if __name__ == "__main__":
    harness.main()
