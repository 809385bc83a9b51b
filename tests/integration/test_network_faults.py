"""Network faults between mailmig and the IMAP target (issue 15, docs/reliability.md).

A Maildir source of six accounts (INBOX, Work, Archive; 300 messages, four of
250-450 KB) is migrated into the private Dovecot THROUGH servers/fault_proxy.py,
one schedule per subTest, each into its own domain with its own state:

  a  every connection reset after 500-800 KB sent (the known bug: batches bigger
     than a connection lives were re-sent forever and accounts gave up)
  b  30% of the connections reset at a random offset (0-60 KB sent, 0-2.5 KB
     answered): mid-login, mid-literal, mid-MULTIAPPEND, mid-answer
  c  two connections stall longer than --timeout; two have an answer truncated;
     two are half-closed towards mailmig (the first two reached, at random offsets)
  d  APPEND of one account answered NO [OVERQUOTA]
  e  CREATE of one folder answered NO [TRYCREATE], of another BAD
  f  BYE in the middle of a session (on an APPEND, then on a STATUS)

What must hold for every schedule: each run exits 0, or 1 with every account
that is not done named in the report (errors or account note); an account the
report says is done holds exactly its messages already; the same command run
again a bounded number of times completes; at the end every source message is
on the target exactly once (SHA-256 of the bytes, flags, INTERNALDATE), nothing
else is, and `mailmig verify` exits 0.  A failure prints the proxy's seed and
every fault it injected and the bytes of every connection; the runs use
--jobs 1 so that a seed gives the same schedule again.
"""
import collections
import hashlib
import json
import os
import random
import subprocess
import time
import unittest

import harness
import imap_readback as rb
from servers.fault_proxy import FaultProxy, Fault, Inject, random_resets, reset_after

ACCOUNTS = [f"u{i}" for i in range(1, 7)]
FOLDERS = {"INBOX": "", "Work": ".Work", "Archive": ".Archive"}
COUNTS = {"INBOX": 30, "Work": 12, "Archive": 8}
LARGE = {("u1", "INBOX"): [300_000, 450_000], ("u3", "Work"): [250_000], ("u5", "Archive"): [400_000]}
LETTERS = ["", "S", "FS", "RS", "DS", "S"]
MAILDIR_FLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "D": "\\Draft"}
TIMEOUT = 2          # --timeout of every run (seconds)
B_SEEDS = (2602, 2604, 2606)
SCHEDULES = ("a-reset-each", *(f"b-random-{seed}" for seed in B_SEEDS), "c-stall", "c-truncate", "c-halfclose",
             "d-quota", "e-create", "f-bye")
RUN_LIMIT = 120      # a run taking longer than this is a hang
DATE = 1_690_000_000


def crlf_message(rng, subject, size):
    head = (f"From: sender{rng.randint(1, 9)}@example.org\r\nTo: someone@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@faults.test>\r\n\r\n").encode()
    lines = []
    total = len(head)
    while total < size:
        line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(72)).encode() + b"\r\n"
        lines.append(line)
        total += len(line)
    return head + b"".join(lines)


def build_source(root, domain, seed):
    """The Maildir tree; returns {(account, folder): Counter((sha256, flags, date))}."""
    rng = random.Random(seed)
    expected = {}
    for account in ACCOUNTS:
        box = os.path.join(root, domain, account, "Maildir")
        for folder, sub in FOLDERS.items():
            for d in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(box, sub, d), exist_ok=True)
            sizes = [rng.randint(600, 3000) for _ in range(COUNTS[folder])] + LARGE.get((account, folder), [])
            got = collections.Counter()
            for i, size in enumerate(sizes):
                data = crlf_message(rng, f"{account} {folder} {i}", size)
                letters = LETTERS[(i + len(folder)) % len(LETTERS)]
                when = DATE + 3600 * i + 7 * len(account)
                path = os.path.join(box, sub, "cur", f"{when}.M{i}P1.faults:2,{letters}")
                with open(path, "wb") as f:
                    f.write(data)
                os.utime(path, (when, when))
                flags = frozenset(MAILDIR_FLAGS[c] for c in letters)
                got[(hashlib.sha256(data).hexdigest(), flags, when)] += 1
            expected[(account, folder)] = got
        with open(os.path.join(box, "subscriptions"), "w") as f:
            f.write("Work\nArchive\n")
    return expected


class NetworkFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_dovecot_with_master(cls, "mailmig-faults-")
        # The users exist before the runs (--force): a user created by the run
        # becomes visible to Dovecot only with the next second's passwd-file
        # read, a wait per account that would dominate the test's time.
        cls.imap.add_users({f"{a}@{name}.faults.test": f"Pw-{a}-1" for name in SCHEDULES for a in ACCOUNTS})
        cls.figures = []
        cls.started = time.monotonic()

    @classmethod
    def tearDownClass(cls):
        print(f"\nnetwork faults, {time.monotonic() - cls.started:.1f} s in all:", flush=True)
        for line in cls.figures:
            print("  " + line, flush=True)

    # ---------------------------------------------------------------- plumbing

    def target_args(self, port):
        return ["--target", f"imap://127.0.0.1:{port}", "--ca-file", self.imap.ca_file,
                "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                "--master-password-file", self.master]

    def migrate(self, case, port, run, proxy):
        report = os.path.join(case["dir"], f"report-{run}.json")
        args = ["migrate", *case["source"], *self.target_args(port), "--state", case["state"],
                "--timeout", str(TIMEOUT), "--report", report, "--quiet", "--jobs", "1", "--force"]
        started = time.monotonic()
        try:
            proc = harness.run("mailmig", *args, timeout=RUN_LIMIT, cwd=case["dir"])
        except subprocess.TimeoutExpired as exc:  # a hang
            self.fail(f"run {run} did not end within {RUN_LIMIT} s ({exc}); {proxy.describe()}")
        seconds = time.monotonic() - started
        where = f"run {run} (exit {proc.returncode}, {seconds:.1f} s); {proxy.describe()}\n" \
                f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        self.assertIn(proc.returncode, (0, 1), where)
        self.assertTrue(os.path.exists(report), where)
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f), where

    def read_target(self, domain):
        """{(account, folder): Counter((sha256, flags, date))} of everything on the target."""
        out = {}
        for account in ACCOUNTS:
            try:
                imap = self.imap.login_master(f"{account}@{domain}")
            except Exception:  # not created yet: holds nothing
                continue
            try:
                for folder in rb.list_folders(imap):
                    got = collections.Counter()
                    for _, sha, _, flags, when in rb.fetch_folder(imap, folder):
                        got[(sha, frozenset(flags), when)] += 1
                    if got:
                        out[(account, folder)] = got
            finally:
                imap.logout()
        return out

    def assert_same(self, expected, got, where):
        if expected != got:
            missing, extra = expected - got, got - expected
            self.fail(f"{len(missing)} missing: {sorted(missing.items())[:5]}\n"
                      f"{len(extra)} extra: {sorted(extra.items())[:5]}\n{where}")

    def assert_done_accounts_complete(self, case, report, where):
        """Every account not done is named; every done one holds exactly its mail."""
        named = {e["account"] for e in report["errors"]}
        target = self.read_target(case["domain"])
        for a in report["accounts"]:
            if a["status"] != "done":
                self.assertTrue(a["account"] in named or a["note"], f"{a['account']} not named; {where}")
                continue
            for folder in FOLDERS:
                key = (a["account"], folder)
                self.assert_same(case["expected"][key], target.get(key, collections.Counter()),
                                 f"{key} done but not exactly its messages; {where}")
        return target

    def run_schedule(self, name, seed, max_runs, plan=None, injections=(), final_clean=True, check=None,
                     budget=None):
        """Runs the same command through a FaultProxy until it exits 0 (at most
        max_runs times); `check(run, proc, report, where)` sees each run.  With
        final_clean, the injections are dropped after the first run (as when the
        quota is raised) -- the byte faults stay."""
        self.assertIn(name, SCHEDULES)
        directory = os.path.join(self.work, name)
        os.makedirs(directory)
        domain = f"{name}.faults.test"
        root = os.path.join(directory, "vmail")
        case = {"dir": directory, "domain": domain, "state": os.path.join(directory, "state"),
                "expected": build_source(root, domain, seed),
                "source": ["--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir"]}
        started = time.monotonic()
        codes, faults = [], []
        with FaultProxy(self.imap.imap_port, seed, plan=plan, injections=injections, budget=budget) as proxy:
            for run in range(1, max_runs + 1):
                if run == 2 and final_clean:
                    proxy.injections = []
                before = len(proxy.injected)
                proc, report, where = self.migrate(case, proxy.port, run, proxy)
                faults.append(len(proxy.injected) - before)
                codes.append(proc.returncode)
                self.assert_done_accounts_complete(case, report, where)
                if check:
                    check(run, proc, report, where)
                if proc.returncode == 0:
                    break
            else:
                self.fail(f"{name}: not complete after {max_runs} runs (exits {codes}); {proxy.describe()}")
            description = proxy.describe()
        self.assertGreater(sum(faults), 0, f"{name}: the schedule injected nothing; {description}")
        target = self.read_target(domain)
        for key in sorted(set(case["expected"]) | set(target)):
            self.assert_same(case["expected"].get(key, collections.Counter()), target.get(key, collections.Counter()),
                             f"{name} {key}: the target differs from the source; {description}")
        verify = harness.run("mailmig", "verify", *case["source"], *self.target_args(self.imap.imap_port),
                             "--state", case["state"], cwd=directory)
        self.assertEqual(0, verify.returncode, f"verify: {verify.stdout[-3000:]}{verify.stderr[-2000:]}")
        self.figures.append(f"{name}: seed {seed}, {len(codes)} run(s) (exits {codes}), faults per run {faults}, "
                            f"{time.monotonic() - started:.1f} s")
        return codes, description

    # ---------------------------------------------------------------- schedules

    def test_a_every_connection_reset_after_a_few_hundred_kb(self):
        codes, description = self.run_schedule("a-reset-each", 1501, 5, plan=reset_after(500_000, 800_000, "c2s"))
        # Every attempt confirms messages, so the first run finishes (it once took 4+ runs, or never).
        self.assertEqual([0], codes, description)

    def test_b_random_resets_on_30_percent_of_connections(self):
        for seed in B_SEEDS:
            with self.subTest(seed=seed):
                self.run_schedule(f"b-random-{seed}", seed, 5, plan=random_resets(0.3, 60_000, 2_500))

    def test_c_stall_truncate_half_close(self):
        schedules = {
            "c-stall": lambda rng: Fault("stall", "c2s", rng.randint(2_000, 15_000), TIMEOUT + 3),
            "c-truncate": lambda rng: Fault("truncate", "s2c", rng.randint(300, 1_200)),
            "c-halfclose": lambda rng: Fault("halfclose", "s2c", rng.randint(300, 1_200)),
        }
        for i, (name, fault) in enumerate(schedules.items()):
            with self.subTest(schedule=name):
                started = time.monotonic()
                self.run_schedule(name, 3700 + i, 3, plan=lambda rng, n, f=fault: f(rng), budget=2)
                # Two faulty connections: no more than their timeouts and backoffs, never a hang.
                self.assertLess(time.monotonic() - started, 90)

    def test_d_over_quota_for_one_account(self):
        def check(run, proc, report, where):
            status = {a["account"]: a["status"] for a in report["accounts"]}
            if run == 1:
                self.assertEqual(1, proc.returncode, where)
                self.assertEqual("failed", status["u4"], where)
                self.assertTrue(all(s == "done" for a, s in status.items() if a != "u4"), where)
                self.assertIn("quota", json.dumps(report["accounts"]).lower(), where)
        self.run_schedule("d-quota", 4801, 2, check=check, injections=[
            Inject(r"^\S+ APPEND ", "NO [OVERQUOTA] Quota exceeded (fault proxy)", times=None,
                   after=r'LOGIN "?u4@')])

    def test_e_create_refused(self):
        def check(run, proc, report, where):
            if run != 1:
                return
            self.assertEqual(1, proc.returncode, where)
            accounts = {a["account"]: a for a in report["accounts"]}
            for account, folder in (("u2", "Work"), ("u6", "Archive")):
                folders = {f["name"]: f for f in accounts[account]["folders"]}
                self.assertIn("FAILED", folders[folder]["note"], where)
                self.assertTrue(any(e["account"] == account and e["folder"] == folder for e in report["errors"]),
                                where)
                # The folders after it were copied.
                self.assertTrue(all(f["copied"] == f["messages"] for n, f in folders.items() if n != folder),
                                where)
        self.run_schedule("e-create", 5901, 2, check=check, injections=[
            Inject(r'^\S+ CREATE "?Work', "NO [TRYCREATE] refused (fault proxy)", after=r'LOGIN "?u2@'),
            Inject(r'^\S+ CREATE "?Archive', "BAD refused (fault proxy)", after=r'LOGIN "?u6@')])

    def test_f_bye_mid_session(self):
        self.run_schedule("f-bye", 6101, 3, final_clean=False, injections=[
            Inject(r"^\S+ APPEND ", "[UNAVAILABLE] shutting down (fault proxy)", times=2, bye=True),
            Inject(r"^\S+ STATUS ", "[LIMIT] too many (fault proxy)", times=1, bye=True)])


if __name__ == "__main__":
    harness.main()
