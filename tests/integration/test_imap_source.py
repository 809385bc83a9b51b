"""An IMAP server as the source (--source imap://...), end to end between two
private Dovecots: the source is filled over IMAP (pipelined LITERAL+ APPENDs,
so bare-LF messages reach the server unchanged) with nested, non-ASCII and
\\Noselect folders, subscriptions, every flag combination, keywords,
INTERNALDATEs with zones, an empty folder, a ~20 MB message and a few thousand
small ones; migrate copies every message exactly once with identical bytes
(SHA-256 of BODY[]), flags, keywords, dates, folders and subscriptions, with
bounded memory; verify agrees; sync --delete applies exactly the source's
changes and a third sync is a no-op; the source is never modified (\\Seen
kept: EXAMINE and BODY.PEEK). Also the --source-auth user form with a wrong
password for one account, and a source connection killed mid-run."""
import datetime
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot

DOMAIN = "src.example"
ALICE, BOB, CAROL = (f"{n}@{DOMAIN}" for n in ("alice", "bob", "carol"))
PASSWORDS = {ALICE: "Alice#Pw1", BOB: "Bob#Pw2", CAROL: "Carol#Pw3"}
MANY = 3000                       # small messages in one folder: many read-ahead batches
BIG = 20 * 1024 * 1024            # one message through the streamed-literal path and a temp file
RSS_BOUND_KB = 200 * 1024         # generous: the point is "bounded", the number is reported

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
KEYWORDS = ("$Work", "Later", "$Label1", "NonJunk")
ZONES = ("+0000", "+0530", "-0800", "+1345", "-0330")


def message(tag, lf=False, extra=b""):
    text = (f"From: Source Test <src@example.net>\r\nTo: <{tag}@src.example>\r\nSubject: message {tag}\r\n"
            f"Message-ID: <{tag}@imap-source.example.net>\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\n"
            f"Body of {tag}.\r\nSecond line.\r\n").encode() + extra
    return text.replace(b"\r\n", b"\n") if lf else text


def big_message():
    rng = random.Random(20)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    line = bytes(rng.choice(alphabet) for _ in range(76)) + b"\r\n"
    body = bytearray()
    n = 0
    while len(body) < BIG:
        # Varying lines so no two 1 MiB chunks of the literal are alike.
        body += line[n % 70:] + line[:n % 70]
        n += 1
    head = (b"From: Big <big@example.net>\r\nSubject: twenty megabytes\r\nMessage-ID: <big@imap-source.example.net>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    return head + bytes(body)


def imap_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RawImap:
    """A master login on the source with a raw socket: APPENDs pipelined with
    LITERAL+ ({n+}), the bytes sent exactly as given (imaplib turns every line
    end into CRLF, which would hide the bare-LF case)."""

    def __init__(self, server, user):
        self.sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=120)
        self.reader = self.sock.makefile("rb")
        self.reader.readline()
        self.n = 0
        self.command(f"LOGIN {imap_quote(user + '*' + server.master_user)} {imap_quote(server.master_password)}")

    def _tag(self):
        self.n += 1
        return f"r{self.n}"

    def _read_until(self, tags):
        """Reads responses until every tag in `tags` completed; returns {tag: line}."""
        done = {}
        while len(done) < len(tags):
            line = self.reader.readline()
            if not line:
                raise AssertionError("the source server hung up")
            m = re.match(rb"(r\d+) (OK|NO|BAD)", line)
            if m and m.group(1).decode() in tags:
                done[m.group(1).decode()] = line
        return done

    def command(self, text):
        tag = self._tag()
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        line = self._read_until({tag})[tag]
        assert b" OK" in line, (text, line)

    def append_many(self, folder_wire, items):
        """items: [(flags list, INTERNALDATE text or None, bytes)], pipelined."""
        tags = set()
        failed = []

        def send():
            for flags, date, body in items:
                tag = self._tag()
                tags.add(tag)
                parts = [tag, "APPEND", imap_quote(folder_wire), "(" + " ".join(flags) + ")"]
                if date:
                    parts.append(imap_quote(date))
                self.sock.sendall((" ".join(parts) + f" {{{len(body)}+}}\r\n").encode() + body + b"\r\n")

        # Replies are read while we write, so neither side's buffer fills up.
        writer = threading.Thread(target=send)
        writer.start()
        expected = len(items)
        seen = 0
        while seen < expected:
            line = self.reader.readline()
            if not line:
                raise AssertionError("the source server hung up during APPEND")
            m = re.match(rb"(r\d+) (OK|NO|BAD)", line)
            if m:
                seen += 1
                if m.group(2) != b"OK":
                    failed.append(line)
        writer.join()
        assert not failed, failed[:3]

    def close(self):
        self.command("LOGOUT")
        self.sock.close()


def folder_tree(server, user):
    """{neutral name: (selectable, subscribed)} of every folder (LIST and LSUB)."""
    imap = server.login_master(user)
    try:
        def parse(data):
            out = {}
            for line in data:
                if line is None:
                    continue
                if isinstance(line, tuple):
                    line = line[0] + b" " + line[1]
                m = re.match(rb'\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.*)$', line)
                name = m.group("name").decode()
                if name.startswith('"'):
                    name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                out[rb.mutf7_decode(name)] = m.group("flags").decode()
            return out
        listed = parse(imap.list('""', "*")[1])
        subscribed = parse(imap.lsub('""', "*")[1])
        return {name: ("\\Noselect" not in flags and "\\NonExistent" not in flags, name in subscribed)
                for name, flags in listed.items()}
    finally:
        imap.logout()


def contents(server, user):
    """{folder: [(sha256, size, flags, internaldate epoch)] in UID order} of the
    selectable folders, read with EXAMINE and BODY.PEEK (nothing changes)."""
    imap = server.login_master(user)
    try:
        return {name: [(sha, size, frozenset(flags), when) for _, sha, size, flags, when in rb.fetch_folder(imap, name)]
                for name in rb.list_folders(imap)}
    finally:
        imap.logout()


def source_pids(server, user):
    """Pids of the source Dovecot's imap processes serving `user` (verbose_proctitle
    names the user); only processes of that instance's own process group."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            if os.getpgid(int(entry)) != server.process.pid:
                continue
        except (OSError, ProcessLookupError):
            continue
        # "<instance name>/imap [user 127.0.0.1 ...]"
        if re.search(r"/imap \[" + re.escape(user) + " ", cmdline):
            pids.append(int(entry))
    return pids


class ImapSource(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.source = PrivateDovecot(users=PASSWORDS)
        cls.source.start()
        try:
            cls.expected_counts = cls.fill_source()
        except BaseException:
            cls.source.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.source.stop()

    @classmethod
    def fill_source(cls):
        """Fills alice (the folder tree, flags, dates, bare LF), bob (20 MB + MANY)
        and carol (a little); returns {user: message count}."""
        counts = {}
        alice = RawImap(cls.source, ALICE)
        for name in ("Work", "Work/Projects", "Entwürfe", "Archive/2023/Q1", "Empty", "Ünïcödé/Tief & tiefer"):
            alice.command("CREATE " + imap_quote(rb.mutf7_encode(name)))
        for name in ("INBOX", "Work/Projects", "Entwürfe", "Archive/2023/Q1", "Empty"):
            alice.command("SUBSCRIBE " + imap_quote(rb.mutf7_encode(name)))
        inbox = []
        for mask in range(1 << len(SYSTEM_FLAGS)):  # every combination of the system flags
            flags = [f for i, f in enumerate(SYSTEM_FLAGS) if mask & (1 << i)]
            keywords = [k for i, k in enumerate(KEYWORDS) if mask % (i + 2) == 0]
            date = f"{1 + mask % 28:02d}-{('Jan', 'Jun', 'Dec')[mask % 3]}-20{10 + mask % 14} " \
                   f"{mask % 24:02d}:{mask % 60:02d}:{(mask * 7) % 60:02d} {ZONES[mask % len(ZONES)]}"
            inbox.append((flags + keywords, date, message(f"combo-{mask}", lf=mask % 4 == 1)))
        alice.append_many("INBOX", inbox)
        work = [([], None, message(f"work-{i}", lf=i % 2 == 0)) for i in range(5)]
        alice.append_many("Work", work)
        deep = [(["\\Seen", "$Work"], "29-Feb-2024 23:59:59 -1200", message("projects-0")),
                (["\\Flagged"], "01-Mar-2024 00:00:00 +1400", message("projects-1", lf=True))]
        alice.append_many(rb.mutf7_encode("Work/Projects"), deep)
        alice.append_many(rb.mutf7_encode("Entwürfe"), [(["\\Draft"], None, message("entwurf-ü"))])
        alice.append_many(rb.mutf7_encode("Archive/2023/Q1"), [(["\\Seen"], "15-Jan-2023 12:00:00 +0100",
                                                               message("archived"))])
        alice.append_many(rb.mutf7_encode("Ünïcödé/Tief & tiefer"), [([], None, message("tief"))])
        alice.close()
        counts[ALICE] = len(inbox) + len(work) + len(deep) + 3

        bob = RawImap(cls.source, BOB)
        bob.command("CREATE Big")
        bob.command("CREATE Many")
        bob.append_many("Big", [(["\\Seen"], "10-Oct-2022 10:10:10 +0200", big_message())])
        many = [(["\\Seen"] if i % 3 else [], None, message(f"many-{i}", extra=b"x" * (i % 500) + b"\r\n"))
                for i in range(MANY)]
        bob.append_many("Many", many)
        bob.close()
        counts[BOB] = 1 + MANY

        carol = RawImap(cls.source, CAROL)
        carol.append_many("INBOX", [([], None, message(f"carol-{i}")) for i in range(3)])
        carol.close()
        counts[CAROL] = 3
        return counts

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.target = PrivateDovecot()
        self.target.start()
        self.addCleanup(self.target.stop)
        self.source_master = os.path.join(self.work, "source-master.pw")
        self.target_master = os.path.join(self.work, "target-master.pw")
        for path, pw in ((self.source_master, self.source.master_password),
                         (self.target_master, self.target.master_password)):
            with open(path, "w") as f:
                f.write(pw + "\n")
            os.chmod(path, 0o600)
        self.users_file = os.path.join(self.work, "users.txt")
        with open(self.users_file, "w") as f:
            f.write("".join(u + "\n" for u in PASSWORDS))
        self.runs = 0

    # ---- running mailmig

    def source_args(self, auth="dovecot-master"):
        # Dovecot offers STARTTLS, which the source always takes: its CA must be trusted.
        args = ["--source", f"imap://127.0.0.1:{self.source.imap_port}", "--source-ca-file", self.source.ca_file,
                "--source-auth", auth]
        if auth != "user":
            args += ["--source-master-user", self.source.master_user,
                     "--source-master-password-file", self.source_master]
        return args

    def target_args(self):
        return ["--target", f"imap://127.0.0.1:{self.target.imap_port}", "--ca-file", self.target.ca_file,
                "--auth", "dovecot-master", "--master-user", self.target.master_user,
                "--master-password-file", self.target_master]

    def mailmig(self, command, *args, source=None, check=0, timed=False):
        """Runs migrate/sync/verify; returns (process, report dict, peak RSS in KiB or None)."""
        self.runs += 1
        report = os.path.join(self.work, f"report{self.runs}.json")
        argv = [harness.binary("mailmig"), command, *(source or self.source_args()), *self.target_args(),
                "--state", os.path.join(self.work, "state"), "--report", report, *args]
        if command != "verify":
            argv += ["--provision", "dovecot:" + self.target.passwd_file,
                     "--password-file-out", os.path.join(self.work, f"run{self.runs}.pass")]
        if timed:
            argv = ["/usr/bin/time", "-v", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=self.work, timeout=900)
        if proc.returncode != check:
            raise AssertionError(f"mailmig {command}: exit {proc.returncode}, expected {check}\n"
                                 f"stdout:\n{proc.stdout[-6000:]}\nstderr:\n{proc.stderr[-6000:]}")
        rss = None
        if timed:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
            rss = int(m.group(1))
        with open(report) as f:
            return proc, json.load(f), rss

    def assert_totals(self, report, **expected):
        got = {k: report["totals"][k] for k in expected}
        self.assertEqual(expected, got, json.dumps(report["totals"]))

    def assert_same(self, user, source_contents=None):
        """The target holds exactly the source's messages, folders and subscriptions."""
        src = source_contents if source_contents is not None else contents(self.source, user)
        dst = contents(self.target, user)
        for folder, messages in src.items():
            self.assertIn(folder, dst, f"{user}: folder {folder} missing on the target")
            got = dst[folder]
            self.assertEqual(len(messages), len(got), f"{user} {folder}: message count")
            self.assertEqual(messages, got, f"{user} {folder}: bytes, sizes, flags, keywords or dates differ")
        src_tree, dst_tree = folder_tree(self.source, user), folder_tree(self.target, user)
        parents = {name for name, (selectable, _) in src_tree.items() if not selectable}
        self.assertEqual(set(), set(dst) - set(src) - parents, f"{user}: extra folders on the target")
        for name, (selectable, subscribed) in src_tree.items():
            self.assertIn(name, dst_tree, f"{user}: {name}")
            self.assertEqual(subscribed, dst_tree[name][1], f"{user} {name}: subscription")
            if not selectable:
                # A \Noselect parent may become an empty folder on the target: it must hold nothing.
                self.assertEqual([], dst.get(name, []), f"{user} {name}")

    # ---- the tests

    def test_master_migrate_verify_sync_delete_and_no_op(self):
        before = {u: contents(self.source, u) for u in PASSWORDS}
        tree = folder_tree(self.source, ALICE)
        self.assertFalse(tree["Archive"][0], "the test needs a \\Noselect parent on the source")
        self.assertIn("Ünïcödé/Tief & tiefer", tree)

        proc, report, rss = self.mailmig("migrate", "--users-file", self.users_file, timed=True)
        total = sum(self.expected_counts.values())
        self.assert_totals(report, copied=total, failed=0, errors=0)
        print(f"\npeak RSS of migrate ({total} messages incl. one of {BIG >> 20} MiB): {rss} KiB", flush=True)
        if not harness.sanitized():
            self.assertLess(rss, RSS_BOUND_KB)
        for user in PASSWORDS:
            self.assert_same(user, before[user])
        self.assertEqual(self.expected_counts[BOB], sum(len(m) for m in before[BOB].values()))
        # Read-only: nothing on the source changed (unseen messages stay unseen).
        self.assertEqual(before, {u: contents(self.source, u) for u in PASSWORDS})
        unseen = sum(1 for m in before[ALICE]["INBOX"] if "\\Seen" not in m[2])
        self.assertEqual(16, unseen)

        proc, vreport, _ = self.mailmig("verify", "--users-file", self.users_file)
        self.assertEqual(0, proc.returncode)

        # The source changes: 3 new, 2 flag changes, 2 deletions, a new folder with 2.
        imap = self.source.login_master(ALICE)
        try:
            for i in range(3):
                imap.append("INBOX", "(\\Seen)" if i else None, None, message(f"new-{i}"))
            imap.select("INBOX")
            typ, data = imap.uid("SEARCH", "ALL")
            uids = data[0].split()
            imap.uid("STORE", uids[0], "+FLAGS", "(\\Flagged $Changed)")
            imap.uid("STORE", uids[3], "-FLAGS", "(\\Seen)")
            doomed = b",".join((uids[5], uids[6]))
            imap.uid("STORE", doomed, "+FLAGS", "(\\Deleted)")
            typ, data = imap.uid("EXPUNGE", doomed)
            self.assertEqual("OK", typ, data)
            imap.create("Later")
            imap.append("Later", None, None, message("later-0"))
            imap.append("Later", "(\\Answered)", None, message("later-1"))
        finally:
            imap.logout()

        proc, report, _ = self.mailmig("sync", "--delete", "--users-file", self.users_file)
        self.assert_totals(report, copied=5, flag_changes=2, deleted_on_source=2, removed=2, failed=0, errors=0)
        for user in PASSWORDS:
            self.assert_same(user)

        proc, report, _ = self.mailmig("sync", "--delete", "--users-file", self.users_file)
        self.assert_totals(report, copied=0, flag_changes=0, deleted_on_source=0, removed=0, errors=0)

    def test_user_login_with_passwords_file_and_one_wrong_password(self):
        passwords = os.path.join(self.work, "source.passwords")
        with open(passwords, "w") as f:
            f.write(f"{ALICE} {PASSWORDS[ALICE]}\n{CAROL} Not-Carols-Password\n")
        os.chmod(passwords, 0o600)
        before = contents(self.source, ALICE)
        proc, report, _ = self.mailmig("migrate", source=[*self.source_args("user"), "--source-passwords", passwords],
                                       check=1)
        accounts = {f'{a["account"]}@{a["domain"]}': a for a in report["accounts"]}
        self.assertEqual({ALICE, CAROL}, set(accounts))
        self.assertEqual("done", accounts[ALICE]["status"], accounts[ALICE])
        # Counted now: another test may have changed alice's mail already.
        self.assertEqual(sum(len(m) for m in before.values()), accounts[ALICE]["copied"])
        self.assertNotEqual("done", accounts[CAROL]["status"], accounts[CAROL])
        carol_errors = [e for e in report["errors"] if e["account"] == "carol"]
        self.assertTrue(carol_errors, report["errors"])
        self.assertTrue(any(re.search(r"auth|login|password", e["message"], re.I) for e in carol_errors), carol_errors)
        self.assertNotIn("Not-Carols-Password", proc.stdout + proc.stderr + json.dumps(report))
        self.assert_same(ALICE, before)

    def test_source_connection_killed_mid_run(self):
        before = contents(self.source, BOB)
        argv = [harness.binary("mailmig"), "migrate", *self.source_args(), *self.target_args(), "--user", BOB,
                "--state", os.path.join(self.work, "state"), "--report", os.path.join(self.work, "kill.json"),
                "--provision", "dovecot:" + self.target.passwd_file,
                "--password-file-out", os.path.join(self.work, "kill.pass")]
        run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.work)
        killed = []
        deadline = time.monotonic() + 120
        # The target folder Many is created right before the source folder is
        # read: the source's imap process for bob is killed then, while the
        # metadata or the first read-ahead batches are on the wire (the whole
        # folder is read within about a second, so the poll must be quick).
        many = os.path.join(self.target.maildir_path(BOB), ".Many")
        while run.poll() is None and time.monotonic() < deadline and not killed:
            if os.path.isdir(many):
                for pid in source_pids(self.source, BOB):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.005)
        out, _ = run.communicate(timeout=600)
        if not killed:
            self.skipTest("the migration finished before the source connection could be killed")
        with open(os.path.join(self.work, "kill.json")) as f:
            report = json.load(f)
        self.assertEqual(0, run.returncode, out[-6000:])
        self.assertIn("reconnecting", out)
        self.assert_totals(report, copied=self.expected_counts[BOB], failed=0, errors=0)
        self.assert_same(BOB, before)


if __name__ == "__main__":
    harness.main()
