"""kill -9 at seeded points of a migration and of a sync into the private
Dovecot over IMAP, each time resumed with the same command (docs/reliability.md).

After the last run: `mailmig verify` exits 0 (every message once, flags and
dates as the source's), and an IMAP read-back plus Dovecot's own counts
(doveadm mailbox status) show each source message exactly once, nothing else.

Bounded (ctest): 6 kill points over ~3,000 messages in 10 accounts, --jobs 4;
sync: 4 rounds of source changes each followed by a killed sync.
MAILMIG_RELIABILITY=long: 20 kill points over 20,000 messages; 10 sync rounds.
MAILMIG_RELIABILITY_SEED=N replays a failing seed."""
import json
import os
import random
import time
import unittest

from kill_common import (LONG, KillLog, MaildirSource, assert_same_mail, count_maildir_messages, harness,
                         pick_points, run_killed_at, seed_for, tail)

MIGRATE_POINTS, MIGRATE_MESSAGES = (20, 20000) if LONG else (6, 3000)
SYNC_BASE, SYNC_ROUNDS = (6000, 10) if LONG else (1000, 4)


class KillMigrateIntoDovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_dovecot_with_master(cls, "mailmig-kill-")

    def target_args(self):
        return ["--target", f"imap://127.0.0.1:{self.imap.imap_port}", "--ca-file", self.imap.ca_file,
                "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                "--master-password-file", self.master]

    def command(self, verb, source, name):
        """The one command line every run of a test repeats."""
        return [verb, *source.args(), *self.target_args(), "--provision", "dovecot:" + self.imap.passwd_file,
                "--password-file-out", os.path.join(self.work, name + ".pass"),
                "--state", os.path.join(self.work, name + "-state"), "--jobs", "4",
                "--report", os.path.join(self.work, name + "-report.json")]

    def progress(self):
        return count_maildir_messages(self.imap.mail_root)

    def finish_and_check(self, args, source, name, log):
        out = os.path.join(self.work, f"{name}-final.out")
        rc, seconds, _ = run_killed_at(args, self.work, out, lambda: 0, threshold=1 << 60, delay=0)
        log.note(final_exit=rc, seconds=round(seconds, 1))
        self.assertEqual(0, rc, f"{log}\n{tail(out)}")
        with open(os.path.join(self.work, name + "-report.json"), encoding="utf-8") as f:
            report = json.load(f)
        self.assertEqual([], report["errors"], log)
        verify_report = os.path.join(self.work, name + "-verify.json")
        verify = harness.run("mailmig", "verify", *source.args(), *self.target_args(),
                             "--state", os.path.join(self.work, name + "-state"), "--report", verify_report,
                             cwd=self.work)
        self.assertEqual(0, verify.returncode, f"{log}\n{verify.stdout[-3000:]}\n{verify.stderr[-2000:]}")
        with open(verify_report, encoding="utf-8") as f:
            self.assertEqual(source.total(), json.load(f)["totals"]["messages_target"], log)
        assert_same_mail(self, source.expected(), self.imap, log)

    def test_migrate_killed_at_random_points_then_resumed(self):
        seed = seed_for(1515)
        rng = random.Random(seed)
        source = MaildirSource(os.path.join(self.work, "src-migrate"), "kill.test", 10, MIGRATE_MESSAGES, seed)
        total = source.total()
        log = KillLog(seed, f"migrate, {total} messages, {MIGRATE_POINTS} kill points")
        args = self.command("migrate", source, "migrate")
        base = self.progress()
        started = time.monotonic()
        for i, point in enumerate(pick_points(rng, total // 50, total * 19 // 20, MIGRATE_POINTS)):
            out = os.path.join(self.work, f"migrate-{i}.out")
            # A point the previous run already passed (the watcher polls) moves just ahead.
            point = max(point, self.progress() - base + rng.randrange(1, 60))
            rc, seconds, at = run_killed_at(args, self.work, out, lambda: self.progress() - base, point,
                                            rng.uniform(0, 0.25))
            log.note(point=point, killed=rc is None, at=at, exit=rc, seconds=round(seconds, 1))
            self.assertIn(rc, (None, 0), f"{log}\n{tail(out)}")
        self.assertGreaterEqual(log.killed(), MIGRATE_POINTS // 2 + 1, log)
        self.finish_and_check(args, source, "migrate", log)
        print(f"\n{log}\n  total {time.monotonic() - started:.1f} s", flush=True)

    def test_sync_with_source_changes_killed_then_resumed(self):
        seed = seed_for(2626)
        rng = random.Random(seed)
        source = MaildirSource(os.path.join(self.work, "src-sync"), "killsync.test", 10, SYNC_BASE, seed)
        log = KillLog(seed, f"sync, {source.total()} messages first, {SYNC_ROUNDS} rounds of changes")
        started = time.monotonic()
        first = run_killed_at(self.command("migrate", source, "sync"), self.work,
                              os.path.join(self.work, "sync-first.out"), lambda: 0, 1 << 60, 0)
        self.assertEqual(0, first[0], tail(os.path.join(self.work, "sync-first.out")))
        args = self.command("sync", source, "sync")
        for i in range(SYNC_ROUNDS):
            added = rng.randrange(60, 200)
            source.change(added, rng.randrange(20, 80))
            base = self.progress()
            point = rng.randrange(1, added)
            out = os.path.join(self.work, f"sync-{i}.out")
            rc, seconds, at = run_killed_at(args, self.work, out, lambda: self.progress() - base, point,
                                            rng.uniform(0, 0.25))
            log.note(added=added, point=point, killed=rc is None, at=at, exit=rc, seconds=round(seconds, 1))
            self.assertIn(rc, (None, 0), f"{log}\n{tail(out)}")
        self.assertGreaterEqual(log.killed(), SYNC_ROUNDS // 2 + 1, log)
        self.finish_and_check(args, source, "sync", log)
        print(f"\n{log}\n  total {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    harness.main()
