"""Network faults on the SOURCE side (issue 15, docs/reliability.md "Source-side
network faults"): servers/fault_proxy.py between mailmig and a private Dovecot
that serves the source mail over IMAP (--source imap://), one schedule per
subTest, each with its own accounts, target tree and state:

  reset      the first two connections reset at 20-250 KB answered: inside the
             FETCH literal of a 300 KB message (the first of every INBOX)
  stall      the first two connections stop answering for --timeout + 3 s there
  truncate   the first two connections' answers cut (FIN) there
  bye        `* BYE [UNAVAILABLE]` instead of the answer to two FETCH commands
  select-no  `NO [UNAVAILABLE]` to the SELECT/EXAMINE of one folder of one account
             (every time in run 1, not in run 2)

Each run exits 0, or 1 with every account or folder that is not complete named
in the report's errors; the same command run again a bounded number of times
completes; then `mailmig verify` (without the proxy) says every source message
is on the target exactly once with its flags and date, and the target tree is
read back too: exactly the source's messages (SHA-256 after CRLF, flags).
"""
import collections
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from servers.dovecot import PrivateDovecot  # noqa: E402
from servers.fault_proxy import Fault, FaultProxy, Inject  # noqa: E402
from test_maildir_cli import owner_spec  # noqa: E402

TIMEOUT = 2
RUN_LIMIT = 120
FOLDERS = {"INBOX": "", "Work": ".Work", "Archive": ".Archive"}
COUNTS = {"INBOX": 12, "Work": 6, "Archive": 4}
LETTERS = ["", "S", "FS", "RS", "DS", "S"]
MAILDIR_FLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "D": "\\Draft"}
DATE = 1_690_000_000
PATTERN = "%d/%n/Maildir"
ACCOUNTS = ("s1", "s2", "s3")
SCHEDULES = ("reset", "stall", "truncate", "bye", "select-no")


def crlf_message(rng, subject, size):
    head = (f"From: sender{rng.randint(1, 9)}@example.org\r\nTo: someone@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@source-faults.test>\r\n\r\n").encode()
    lines = [head]
    total = len(head)
    while total < size:
        line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(72)).encode() + b"\r\n"
        lines.append(line)
        total += len(line)
    return b"".join(lines)


def maildir_letters(name):
    return name.rsplit(":2,", 1)[1] if ":2," in name else ""


class SourceFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailmig-source-faults-")
        os.chmod(cls.work, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.users = {f"{a}@{s}.source-faults.test": f"Pw-{a}-1" for s in SCHEDULES for a in ACCOUNTS}
        cls.source = PrivateDovecot(users=cls.users)
        cls.source.start()
        cls.addClassCleanup(cls.source.stop)
        cls.master = os.path.join(cls.work, "source-master.pw")
        with open(cls.master, "w") as f:
            f.write(cls.source.master_password + "\n")
        os.chmod(cls.master, 0o600)
        cls.owner = owner_spec()
        cls.figures = []

    @classmethod
    def tearDownClass(cls):
        print("\nsource-side network faults:", flush=True)
        for line in cls.figures:
            print("  " + line, flush=True)

    # ---------------------------------------------------------------- plumbing

    def fill_source(self, schedule, seed):
        """Writes the accounts' Maildirs on the source Dovecot; returns
        {(user, folder): Counter((sha256, flags, date))}."""
        rng = random.Random(seed)
        expected = {}
        for account in ACCOUNTS:
            user = f"{account}@{schedule}.source-faults.test"
            box = self.source.maildir_path(user)
            for folder, sub in FOLDERS.items():
                for d in ("cur", "new", "tmp"):
                    os.makedirs(os.path.join(box, sub, d), exist_ok=True)
                sizes = [rng.randint(500, 4000) for _ in range(COUNTS[folder])]
                if folder == "INBOX":
                    sizes[0] = 300_000  # the first FETCH literal is long: the faults land inside it
                got = collections.Counter()
                for i, size in enumerate(sizes):
                    data = crlf_message(rng, f"{account} {folder} {i}", size)
                    letters = LETTERS[(i + len(folder)) % len(LETTERS)]
                    when = DATE + 3600 * i + 11 * len(folder)
                    path = os.path.join(box, sub, "cur", f"{when}.M{i}P1.srcfaults:2,{letters}")
                    with open(path, "wb") as f:
                        f.write(data)
                    os.utime(path, (when, when))
                    got[(hashlib.sha256(data).hexdigest(), frozenset(MAILDIR_FLAGS[c] for c in letters))] += 1
                expected[(user, folder)] = got
            with open(os.path.join(box, "subscriptions"), "w") as f:
                f.write("Work\nArchive\n")
        home = os.path.dirname(self.source.maildir_path(f"x@{schedule}.source-faults.test"))
        for dirpath, dirnames, filenames in os.walk(os.path.dirname(home)):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, self.source.mail_uid, self.source.mail_gid)
        return expected

    def source_args(self, port, users_file):
        return ["--source", f"imap://127.0.0.1:{port}", "--source-ca-file", self.source.ca_file,
                "--source-auth", "dovecot-master", "--source-master-user", self.source.master_user,
                "--source-master-password-file", self.master, "--users-file", users_file]

    def target_args(self, tree, command):
        args = ["--target", "maildir:" + tree, "--target-user-path", PATTERN]
        if command != "verify" and self.owner:
            args += ["--owner", self.owner]
        return args

    def read_target(self, tree, schedule):
        """{(user, folder): Counter((sha256 of the CRLF form, flags))} of the Maildir target."""
        out = {}
        for account in ACCOUNTS:
            box = os.path.join(tree, f"{schedule}.source-faults.test", account, "Maildir")
            for folder, sub in FOLDERS.items():
                got = collections.Counter()
                for d in ("cur", "new"):
                    path = os.path.join(box, sub, d)
                    for name in os.listdir(path) if os.path.isdir(path) else []:
                        with open(os.path.join(path, name), "rb") as f:
                            data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                        got[(hashlib.sha256(data).hexdigest(),
                             frozenset(MAILDIR_FLAGS[c] for c in maildir_letters(name) if c in MAILDIR_FLAGS))] += 1
                if got:
                    out[(f"{account}@{schedule}.source-faults.test", folder)] = got
        return out

    def run_schedule(self, schedule, seed, max_runs, plan=None, injections=(), budget=None, check=None,
                     clean_after_first=False):
        directory = os.path.join(self.work, schedule)
        os.makedirs(directory)
        expected = self.fill_source(schedule, seed)
        users_file = os.path.join(directory, "users.txt")
        with open(users_file, "w") as f:
            f.write("".join(f"{a}@{schedule}.source-faults.test\n" for a in ACCOUNTS))
        tree = os.path.join(directory, "target")
        state = os.path.join(directory, "state")
        started = time.monotonic()
        codes, faults = [], []
        with FaultProxy(self.source.imap_port, seed, plan=plan, injections=injections, budget=budget) as proxy:
            for run in range(1, max_runs + 1):
                if run == 2 and clean_after_first:
                    proxy.injections = []
                before = len(proxy.injected)
                report_path = os.path.join(directory, f"report-{run}.json")
                args = ["migrate", *self.source_args(proxy.port, users_file), *self.target_args(tree, "migrate"),
                        "--state", state, "--timeout", str(TIMEOUT), "--report", report_path, "--quiet",
                        "--jobs", "1"]
                run_started = time.monotonic()
                try:
                    proc = harness.run("mailmig", *args, timeout=RUN_LIMIT, cwd=directory)
                except subprocess.TimeoutExpired as exc:
                    self.fail(f"{schedule} run {run} did not end within {RUN_LIMIT} s ({exc}); {proxy.describe()}")
                where = (f"{schedule} run {run} (exit {proc.returncode}, {time.monotonic() - run_started:.1f} s); "
                         f"{proxy.describe()}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
                self.assertIn(proc.returncode, (0, 1), where)
                with open(report_path, encoding="utf-8") as f:
                    report = json.load(f)
                faults.append(len(proxy.injected) - before)
                codes.append(proc.returncode)
                self.assert_incomplete_named(report, expected, tree, schedule, where)
                if check:
                    check(run, proc, report, where)
                if proc.returncode == 0:
                    break
            else:
                self.fail(f"{schedule}: not complete after {max_runs} runs (exits {codes}); {proxy.describe()}")
            description = proxy.describe()
        self.assertGreater(sum(faults), 0, f"{schedule}: the schedule injected nothing; {description}")
        got = self.read_target(tree, schedule)
        for key in sorted(set(expected) | set(got)):
            self.assertEqual(expected.get(key, collections.Counter()), got.get(key, collections.Counter()),
                             f"{schedule} {key}: the target differs from the source; {description}")
        verify_report = os.path.join(directory, "verify.json")
        verify = harness.run("mailmig", "verify", *self.source_args(self.source.imap_port, users_file),
                             *self.target_args(tree, "verify"), "--state", state, "--report", verify_report,
                             cwd=directory)
        self.assertEqual(0, verify.returncode, f"verify: {verify.stdout[-3000:]}{verify.stderr[-2000:]}")
        with open(verify_report, encoding="utf-8") as f:
            totals = json.load(f)["totals"]
        messages = sum(sum(c.values()) for c in expected.values())
        self.assertEqual((messages, messages, messages, 0),
                         (totals["messages_source"], totals["messages_target"], totals["checked"],
                          totals["differences"]), json.dumps(totals))
        self.figures.append(f"{schedule}: seed {seed}, {len(codes)} run(s) (exits {codes}), faults per run {faults}, "
                            f"{time.monotonic() - started:.1f} s")
        return codes, description

    def assert_incomplete_named(self, report, expected, tree, schedule, where):
        """Every folder the target does not hold whole is named in the errors
        (its own folder, or its account)."""
        named = {(e["account"] if "@" in e["account"] else f'{e["account"]}@{e["domain"]}', e["folder"])
                 for e in report["errors"]}
        named_accounts = {a for a, _ in named}
        for a in report["accounts"]:
            if a["status"] != "done":
                account = a["account"] if "@" in a["account"] else f'{a["account"]}@{a["domain"]}'
                self.assertTrue(account in named_accounts or a.get("note"), f"{account} not named; {where}")
        got = self.read_target(tree, schedule)
        for key, messages in expected.items():
            have = got.get(key, collections.Counter())
            self.assertFalse(have - messages, f"{key}: messages the source does not hold (duplicates?); {where}")
            if have != messages:
                self.assertTrue(key in named or (key[0], "") in named or key[0] in named_accounts,
                                f"{key} incomplete but not named in the errors; {where}")

    # ---------------------------------------------------------------- schedules

    def test_reset_mid_fetch_literal(self):
        self.run_schedule("reset", 7101, 3, budget=2,
                          plan=lambda rng, n: Fault("reset", "s2c", rng.randint(20_000, 250_000)))

    def test_stall_past_timeout_during_fetch(self):
        started = time.monotonic()
        self.run_schedule("stall", 7202, 3, budget=2,
                          plan=lambda rng, n: Fault("stall", "s2c", rng.randint(20_000, 250_000), TIMEOUT + 3))
        self.assertLess(time.monotonic() - started, 90, "two stalls: their timeouts and backoffs, never a hang")

    def test_truncated_fetch_answer(self):
        self.run_schedule("truncate", 7303, 3, budget=2,
                          plan=lambda rng, n: Fault("truncate", "s2c", rng.randint(20_000, 250_000)))

    def test_bye_during_fetch(self):
        self.run_schedule("bye", 7404, 3, injections=[
            Inject(r"^\S+ (?:UID )?FETCH .*BODY", "[UNAVAILABLE] shutting down (fault proxy)", times=2, bye=True)])

    def test_select_of_one_folder_refused(self):
        def check(run, proc, report, where):
            if run != 1:
                return
            self.assertEqual(1, proc.returncode, where)
            problems = [e for e in report["errors"]]
            self.assertTrue(problems, where)
            for e in problems:
                self.assertEqual(("s2", "Work"), (e["account"].split("@")[0], e["folder"]), where)
                self.assertIn("UNAVAILABLE", e["message"], where)
        self.run_schedule("select-no", 7505, 2, clean_after_first=True, check=check, injections=[
            Inject(r'^\S+ (?:SELECT|EXAMINE) "?Work', "NO [UNAVAILABLE] folder offline (fault proxy)", times=None,
                   after=r'LOGIN "?s2@')])


if __name__ == "__main__":
    harness.main()
