"""The Maildir target's tree served by a real Dovecot 2.3: the unit-test
fixture (tests/unit/target/maildir_fixture_test.cpp) writes a tree with the
target, a private Dovecot serves it, and everything is read back over IMAP:
UIDs and UIDVALIDITY as written (keep_uids), flags, keywords, INTERNALDATE,
SHA-256 of BODY[] equal to the source's bytes, folder names (non-ASCII,
nested, renamed), subscriptions; Dovecot then appends without UID clashes.
A writer killed mid-run leaves no partial message visible."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot

USER = "alice@example.com"
PASSWORD = "Alice#Pw1"
FIXTURE = "unit_target_maildir_fixture_test"


def fixture_binary():
    if harness.ARGS is None or harness.ARGS.bin_dir is None:
        raise unittest.SkipTest("needs --bin-dir")
    # Unit tests live next to src/ in the same build tree: build/<preset>/tests/unit/.
    path = os.path.normpath(os.path.join(harness.ARGS.bin_dir, "..", "tests", "unit", FIXTURE))
    if not os.path.exists(path):
        raise AssertionError(f"{path} not built (cmake --build ... --target {FIXTURE})")
    return path


class MaildirTreeTest(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="mailmig-maildir-")
        os.chmod(self.out, 0o755)  # Dovecot's mail processes (nobody when we are root) must pass
        self.addCleanup(shutil.rmtree, self.out, True)
        self.dc = PrivateDovecot(users={USER: PASSWORD},
                                 mail_location=f"maildir:{self.out}/mail/%d/%n/Maildir")
        self.addCleanup(self.dc.stop)

    def env(self, **extra):
        env = dict(os.environ, MAILDIR_FIXTURE_OUT=self.out,
                   MAILDIR_FIXTURE_OWNER=f"{self.dc.mail_uid}:{self.dc.mail_gid}")
        env.update(extra)
        return env

    def write_tree(self):
        proc = subprocess.run([fixture_binary()], env=self.env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout[-4000:] + proc.stderr[-4000:])
        with open(os.path.join(self.out, "manifest.json"), encoding="utf-8") as f:
            return json.load(f)

    def login(self):
        imap = self.dc.login(USER, PASSWORD)
        self.addCleanup(lambda: rb_quietly(imap.logout))
        return imap

    def test_dovecot_serves_the_tree_as_written(self):
        manifest = self.write_tree()
        self.dc.start()
        imap = self.login()
        names = rb.list_folders(imap)
        for folder in manifest["folders"]:
            name = folder["name"]
            self.assertIn(name, names)
            typ, _ = imap.select(rb.quote(rb.mutf7_encode(name)), readonly=True)
            self.assertEqual(typ, "OK", name)
            self.assertEqual(int(imap.response("UIDVALIDITY")[1][0]), folder["uidvalidity"], name)
            got = rb.fetch_folder(imap, name)
            exp = folder["messages"]
            self.assertEqual([g[0] for g in got], [e["uid"] for e in exp], name)
            for e, (uid, sha, size, flags, when) in zip(exp, got):
                where = f"{name} UID {uid}"
                self.assertEqual(sha, e["sha256"], where)
                self.assertEqual(size, e["size"], where)
                self.assertEqual(flags, rb.expected_flags(e["flags"], e["keywords"]), where)
                self.assertEqual(when, e["date"], where)
            typ, data = imap.status(rb.quote(rb.mutf7_encode(name)), "(UIDNEXT)")
            self.assertEqual(int(re.search(rb"UIDNEXT (\d+)", data[0]).group(1)), folder["uidnext"], name)
        # Kept source UIDs (1, 2, 5 under UIDVALIDITY 4242), nested, non-ASCII, renamed.
        by_name = {f["name"]: f for f in manifest["folders"]}
        self.assertEqual(by_name["INBOX"]["uidvalidity"], 4242)
        self.assertEqual([m["uid"] for m in by_name["INBOX"]["messages"]], [1, 2, 5])
        self.assertIn("Entwürfe", by_name)
        self.assertIn("A/B", by_name)
        self.assertIn("Lists/dev_announce", by_name)
        # Subscriptions as Dovecot reads them.
        typ, data = imap.lsub('""', "*")
        self.assertEqual(typ, "OK")
        subscribed = sorted(rb.mutf7_decode(re.match(rb'\([^)]*\) "." (.*)$', line).group(1).decode().strip('"'))
                            for line in data if line)
        self.assertEqual(subscribed, ["A/B", "Entwürfe", "INBOX"])
        # Dovecot appends after what we wrote: the next UID continues, no clash.
        for name, expect_uid in (("INBOX", 6), ("A/B", 5), ("Entwürfe", 2)):
            typ, data = imap.append(rb.quote(rb.mutf7_encode(name)), r"(\Seen)", None,
                                    b"Subject: appended by Dovecot\r\n\r\nhello\r\n")
            self.assertEqual(typ, "OK", data)
            uidvalidity, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups())
            self.assertEqual((uidvalidity, uid), (by_name[name]["uidvalidity"], expect_uid), name)
        got = rb.fetch_folder(imap, "INBOX")
        self.assertEqual([g[0] for g in got], [1, 2, 5, 6])
        self.assertEqual(self.dc.log_text().count("Error"), 0, self.dc.log_text())

    def test_a_killed_writer_leaves_no_partial_message_visible(self):
        proc = subprocess.Popen([fixture_binary()], env=self.env(MAILDIR_FIXTURE_SLOW="1"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        committed = 0
        deadline = time.monotonic() + 120
        while committed == 0 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("committed "):
                committed += 1
        self.assertGreater(committed, 0, proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(1.0)  # well into writing the next batch
        self.assertIsNone(proc.poll(), "the writer finished before it could be interrupted")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rest = proc.stdout.read()
        committed += rest.count("committed ")
        folder = os.path.join(self.out, "mail", "example.com", "alice", "Maildir", ".Slow")
        self.assertTrue(os.listdir(os.path.join(folder, "tmp")), "expected half-written files in tmp/")
        with open(os.path.join(self.out, "slow.json"), encoding="utf-8") as f:
            source = json.load(f)["sha256"]
        self.dc.start()
        imap = self.login()
        got = rb.fetch_folder(imap, "Slow")
        # Everything reported is there; whatever else is visible is a complete
        # source message (a kill between rename and uidlist update), no partials.
        self.assertGreaterEqual(len(got), committed)
        self.assertLess(len(got), len(source))
        hashes = [g[1] for g in got]
        self.assertEqual(len(set(hashes)), len(hashes))
        for uid, sha, *_ in got:
            self.assertIn(sha, source, f"UID {uid} is not a complete source message")
        self.assertEqual(hashes, source[:len(hashes)])  # in source order, UIDs 1..n
        self.assertEqual([g[0] for g in got], list(range(1, len(got) + 1)))


def rb_quietly(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 -- cleanup of a connection that may be gone
        pass


if __name__ == "__main__":
    harness.main()
