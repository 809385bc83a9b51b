"""Sizes and counts (issue 15, docs/reliability.md "Sizes and counts"): each
item either works or fails alone, named with its account and folder, never
the run; `mailmig verify` then finds everything complete except the items
that failed, and names those.

  huge message   120 MB (long: 2 GB) from a CommuniGate store (.mbox and .mdir),
                 an mbox tree and a Maildir tree, into the private Dovecot over IMAP
                 and into a Maildir target; mailmig's peak RSS (GNU time) must stay
                 below RSS_BOUND_MB whatever the size: the message is streamed
  counts         a folder of 5,000 tiny messages (long: 500,000), an account with
                 500 folders (long: 10,000), 100 nested levels, a message with a
                 10 MB header line (Maildir source), and a folder whose name is
                 64 KB (mbox source: 262 nested directories, longer than PATH_MAX),
                 into both targets (the bounded form sends the 5,000 messages and
                 500 folders into the IMAP target only)

The corpora come from gen_limits.py (seeded) in the test's temp dir.  Bounded
form for CI; the long form is `MAILMIG_RELIABILITY=long ctest --test-dir
build/release -L reliability` (or this file with --bin-dir).  Figures (seconds,
MB/s, peak RSS) are printed at the end; docs/reliability.md records them.
"""
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from test_maildir_cli import owner_spec  # noqa: E402

import gen_limits as gen  # noqa: E402

LONG = os.environ.get("MAILMIG_RELIABILITY") == "long"
HUGE_MB = 2048 if LONG else 120
TINY = 500_000 if LONG else 5_000
FOLDERS = 10_000 if LONG else 500
# Peak RSS of one migrate or verify run, whatever the message size (measured:
# 19-21 MiB with a 300 MB message, 43 MiB for 22,000 messages in 2,000
# folders); asserted for the release build only (harness.sanitized()).
RSS_BOUND_MB = 64
SEED = 15
PATTERN = "%d/%n/Maildir"
RUN_LIMIT = 3600 if LONG else 600


class Sizes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_dovecot_with_master(cls, "mailmig-sizes-")
        cls.owner = owner_spec()
        cls.figures = []
        cls.runs = 0

    @classmethod
    def tearDownClass(cls):
        print(f"\nsizes and counts ({'long' if LONG else 'bounded'} form):", flush=True)
        for line in cls.figures:
            print("  " + line, flush=True)

    # ---------------------------------------------------------------- plumbing

    def target_args(self, target, command):
        if target == "imap":
            return ["--target", f"imap://127.0.0.1:{self.imap.imap_port}", "--ca-file", self.imap.ca_file,
                    "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                    "--master-password-file", self.master] + (["--force"] if command != "verify" else [])
        args = ["--target", "maildir:" + self.tree(target), "--target-user-path", PATTERN]
        if command != "verify" and self.owner:
            args += ["--owner", self.owner]
        return args

    def tree(self, target):
        return os.path.join(self.work, "target-" + target.split(":", 1)[1])

    def mailmig(self, command, source, target, state, label):
        """Runs migrate or verify under GNU time; returns (process, report, peak RSS in MB, seconds)."""
        type(self).runs += 1
        report = os.path.join(self.work, f"{self.runs}-{command}.json")
        args = [command, *source, *self.target_args(target, command), "--state", state, "--report", report]
        if command != "verify":
            args.append("--quiet")
        started = time.monotonic()
        proc, peak_kb = harness.run_measured("mailmig", *args, timeout=RUN_LIMIT, cwd=self.work)
        seconds = time.monotonic() - started
        where = (f"{label}: mailmig {command} exit {proc.returncode}, {seconds:.1f} s\n"
                 f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
        self.assertIn(proc.returncode, (0, 1), where)
        with open(report, encoding="utf-8") as f:
            data = json.load(f)
        return proc, data, peak_kb / 1024, seconds, where

    def add_target_users(self, expected):
        users = {account for account, _ in expected}
        self.imap.add_users({u: "Any#Pw1" for u in users if u not in self.imap.users})

    def check_migrated(self, report, expected, failed, where):
        """Every error names its account and folder and is one of the `failed`
        items (account, folder); every other folder was copied whole."""
        for e in report["errors"]:
            account = f'{e["account"]}@{e["domain"]}' if e["domain"] and "@" not in e["account"] else e["account"]
            self.assertTrue(e["account"] and e["folder"] and e["message"], f"error without its item: {e}\n{where}")
            self.assertIn((account, e["folder"]), failed, f"an error on an item that must work: {e}\n{where}")
        copied = {}
        for a in report["accounts"]:
            account = a["account"] if "@" in a["account"] else f'{a["account"]}@{a["domain"]}'
            for f in a["folders"]:
                copied[(account, f["name"])] = (f["copied"], f["messages"], f.get("note", ""))
        for key, count in expected.items():
            if key in failed:
                continue
            got = copied.get(key)
            self.assertIsNotNone(got, f"{key} not in the report\n{where}")
            self.assertEqual(count, got[1], f"{key}: messages seen\n{where}")
            self.assertEqual(got[0], got[1], f"{key}: not every message copied ({got[2]})\n{where}")

    def check_verified(self, proc, report, expected, failed, where):
        """verify: every folder complete except the failed ones, which are named."""
        named = set()
        for a in report["accounts"]:
            account = a["target_account"]
            for d in a["differences"]:
                named.add((account, d["folder"]))
                self.assertIn((account, d["folder"]), failed, f"verify: a difference in a complete item: {d}\n{where}")
            for f in a["folders"]:
                if (account, f["name"]) in failed or f["name"] is None:
                    continue
                self.assertEqual(expected.get((account, f["name"]), f["messages_source"]), f["messages_source"],
                                 f"verify: {account} {f['name']} source count\n{where}")
                self.assertEqual((f["messages_source"], 0), (f["messages_target"], f["differences"]),
                                 f"verify: {account} {f['name']}\n{where}")
        for e in report["errors"]:
            account = f'{e["account"]}@{e["domain"]}' if "@" not in e["account"] else e["account"]
            named.add((account, e["folder"]))
            self.assertIn((account, e["folder"]), failed, f"verify: an error on a complete item: {e}\n{where}")
        self.assertEqual(0 if not failed else 1, proc.returncode, where)
        if failed:
            self.assertTrue(named & set(failed), f"verify names none of the failed items\n{where}")

    # ---------------------------------------------------------------- the tests

    def test_huge_message_streams_with_flat_rss(self):
        message = gen.huge_message(os.path.join(self.work, "huge.eml"), HUGE_MB << 20, SEED)
        size = os.path.getsize(message)
        for kind in ("cgp", "mbox", "maildir"):
            for target in ("imap", "maildir:huge"):
                with self.subTest(source=kind, target=target):
                    domain = f"{kind}-{target.split(':')[0]}.huge.test"
                    root = os.path.join(self.work, f"huge-{kind}-{domain}")
                    if kind == "cgp":
                        expected = gen.cgp_store(root, message, domain)
                        source = ["--source", "cgp:" + root]
                    elif kind == "mbox":
                        expected = gen.mbox_tree(root, message, domain)
                        source = ["--source", "mbox:" + root, "--user-path", root + "/%d/%n/mail",
                                  "--inbox-path", root + "/spool/%n"]
                    else:
                        expected = gen.maildir_tree(root, message, domain)
                        source = ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"]
                    if target == "imap":
                        self.add_target_users(expected)
                    state = os.path.join(self.work, f"state-huge-{kind}-{target}")
                    label = f"huge {HUGE_MB} MB {kind} -> {target}"
                    proc, report, rss, seconds, where = self.mailmig("migrate", source, target, state, label)
                    self.assertEqual(0, proc.returncode, where)
                    self.check_migrated(report, expected, set(), where)
                    vproc, vreport, vrss, vseconds, vwhere = self.mailmig("verify", source, target, state, label)
                    self.check_verified(vproc, vreport, expected, set(), vwhere)
                    count = sum(expected.values())
                    self.figures.append(
                        f"{label}: {count} x {size / 2**20:.0f} MiB, migrate {seconds:.1f} s "
                        f"({count * size / 2**20 / seconds:.0f} MiB/s), peak RSS {rss:.1f} MiB; "
                        f"verify {vseconds:.1f} s, peak RSS {vrss:.1f} MiB")
                    if not harness.sanitized():
                        self.assertLess(rss, RSS_BOUND_MB, f"migrate peak RSS {rss:.1f} MiB\n{where}")
                        self.assertLess(vrss, RSS_BOUND_MB, f"verify peak RSS {vrss:.1f} MiB\n{vwhere}")
                    shutil.rmtree(root)
        os.unlink(message)
        for target in ("maildir:huge",):
            shutil.rmtree(self.tree(target), ignore_errors=True)

    def test_counts_nesting_long_names_long_headers(self):
        started = time.monotonic()
        counts = os.path.join(self.work, "counts")
        expected = gen.counts_maildir(counts, TINY, FOLDERS, SEED)
        longname = os.path.join(self.work, "longname")
        long_expected = gen.long_name_mbox(longname)
        # The 64 KB folder and the directories leading to it: the mbox source cannot open a
        # directory whose path is longer than PATH_MAX (it names the first one, "File name
        # too long"), and a Maildir++ target cannot make a folder directory longer than 255
        # bytes (".a.b.c" names): those fail, each named; nothing else may.
        parts = gen.long_name_parts()
        long_branch = {("longname@" + gen.COUNTS_DOMAIN, "/".join(parts[:i])) for i in range(1, len(parts) + 1)}
        self.figures.append(f"counts corpus ({TINY} tiny, {FOLDERS} folders, {gen.DEEP_LEVELS} levels, "
                            f"10 MB header line, 64 KB folder name) written in {time.monotonic() - started:.1f} s")
        # The bounded form sends the many messages and folders over IMAP only (the product's
        # path, and the slower one); the Maildir target gets the rest there, everything in
        # the long form.
        small = os.path.join(self.work, "counts-small")
        small_expected = gen.counts_maildir(small, 0, 0, SEED) if not LONG else expected
        maildir_source = {"imap": (counts, expected), "maildir:counts": (small, small_expected) if not LONG
                          else (counts, expected)}
        for target in ("imap", "maildir:counts"):
            root, maildir_expected = maildir_source[target]
            sources = {
                "maildir": (["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"],
                            maildir_expected),
                "mbox": (["--source", "mbox:" + longname, "--user-path", longname + "/%d/%n/mail",
                          "--inbox-path", longname + "/spool/%n"], long_expected),
            }
            for kind, (source, want) in sources.items():
                with self.subTest(source=kind, target=target):
                    if target == "imap":
                        self.add_target_users(want)
                    # The 64 KB folder name cannot be a Maildir++ directory (255 bytes) nor an
                    # IMAP mailbox of Dovecot: it must fail alone, named; everything else works.
                    failed = long_branch if kind == "mbox" else set()
                    state = os.path.join(self.work, f"state-counts-{kind}-{target}")
                    label = f"counts {kind} -> {target}"
                    proc, report, rss, seconds, where = self.mailmig("migrate", source, target, state, label)
                    self.assertEqual(1 if failed else 0, proc.returncode, where)
                    self.check_migrated(report, want, failed, where)
                    if failed:
                        named = [e for e in report["errors"] if ("longname@" + gen.COUNTS_DOMAIN, e["folder"]) in failed]
                        self.assertTrue(any("too long" in e["message"].lower() for e in named),
                                        f"the long folder's failure is not named clearly\n{where}")
                    vproc, vreport, vrss, vseconds, vwhere = self.mailmig("verify", source, target, state, label)
                    self.check_verified(vproc, vreport, want, failed, vwhere)
                    self.figures.append(f"{label}: {sum(want.values())} messages in {len(want)} folders, "
                                        f"migrate {seconds:.1f} s, peak RSS {rss:.1f} MiB; verify {vseconds:.1f} s, "
                                        f"peak RSS {vrss:.1f} MiB; failed as expected: {len(failed)}")
                    if not harness.sanitized():
                        self.assertLess(rss, RSS_BOUND_MB, where)
                        self.assertLess(vrss, RSS_BOUND_MB, vwhere)


if __name__ == "__main__":
    harness.main()
