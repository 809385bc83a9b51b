"""SIGTERM and SIGINT stop migrate, sync, verify and copy cleanly
(docs/reliability.md): what is in flight finishes, the state is consistent
and its lock released, the run says that the same command resumes, and exits
130 (SIGINT) or 143 (SIGTERM), as README's exit codes say. Then the same
command finishes the job with nothing twice. And two runs on one state at
once: the second refuses at once, naming the lock, while the first (--jobs 4)
goes on undisturbed."""
import json
import os
import random
import signal
import subprocess
import time
import unittest
import zlib

from kill_common import (KillLog, MaildirSource, assert_same_mail, count_maildir_messages, harness, seed_for,
                         start, tail)

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
MESSAGES = 1000
STOP_WITHIN = 60  # seconds from the signal to the exit: an account's folder in flight finishes


class Signals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.start_dovecot_with_master(cls, "mailmig-signals-")
        cls.rng = random.Random(seed_for(4848))

    def target_args(self):
        return ["--target", f"imap://127.0.0.1:{self.imap.imap_port}", "--ca-file", self.imap.ca_file,
                "--auth", "dovecot-master", "--master-user", self.imap.master_user,
                "--master-password-file", self.master]

    def command(self, verb, source, name):
        args = [verb, *source.args(), *self.target_args()]
        if verb in ("migrate", "sync"):
            args += ["--provision", "dovecot:" + self.imap.passwd_file, "--password-file-out",
                     os.path.join(self.work, name + ".pass"), "--state", os.path.join(self.work, name + "-state"),
                     "--jobs", "4", "--report", os.path.join(self.work, name + "-report.json")]
        elif verb == "verify":
            state = os.path.join(self.work, name + "-state")
            args += (["--state", state] if os.path.isdir(state) else []) + [
                "--jobs", "4", "--report", os.path.join(self.work, name + "-verify.json")]
        else:
            args += ["--jobs", "4"]
        return args

    def progress(self):
        return count_maildir_messages(self.imap.mail_root)

    def interrupt(self, args, sig, when, out):
        """Starts mailmig ARGS, sends `sig` once when() is true; returns (exit code, seconds to stop)."""
        proc = start(args, self.work, out)
        try:
            deadline = time.monotonic() + 300
            while proc.poll() is None and not when():
                self.assertLess(time.monotonic(), deadline, tail(out))
                time.sleep(0.02)
            self.assertIsNone(proc.poll(), f"finished before the signal\n{tail(out)}")
            time.sleep(self.rng.uniform(0, 0.2))
            sent = time.monotonic()
            proc.send_signal(sig)
            proc.wait(timeout=STOP_WITHIN)
            return proc.returncode, time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def finish(self, args, name):
        proc = harness.run("mailmig", *args, cwd=self.work)
        self.assertEqual(0, proc.returncode, f"{name}: the same command again\n{proc.stdout[-3000:]}\n"
                                             f"{proc.stderr[-2000:]}")
        return proc

    def stop_and_resume(self, verb, sig, source, name):
        args = self.command(verb, source, name)
        base = self.progress()
        out = os.path.join(self.work, f"{name}.out")
        rc, seconds = self.interrupt(args, sig, lambda: self.progress() - base >= 50, out)
        text = tail(out)
        self.assertEqual(EXIT[sig], rc, text)
        self.assertIn("run the same command again", text)
        self.assertIn(signal.Signals(sig).name, text)
        print(f"\n{name}: {signal.Signals(sig).name} -> exit {rc} after {seconds:.2f} s", flush=True)
        with open(os.path.join(self.work, name + "-report.json"), encoding="utf-8") as f:
            statuses = {a["status"] for a in json.load(f)["accounts"]}
        self.assertTrue(statuses & {"interrupted", "not started"}, statuses)
        # The lock is released and the state consistent: the same command finishes the job.
        self.finish(args, name)
        return args

    def verify_clean(self, source, name):
        proc = self.finish(self.command("verify", source, name), name + " verify")
        with open(os.path.join(self.work, name + "-verify.json"), encoding="utf-8") as f:
            self.assertEqual(source.total(), json.load(f)["totals"]["messages_target"])
        assert_same_mail(self, source.expected(), self.imap, name)
        return proc

    def test_migrate_and_sync_stop_on_sigterm_and_sigint(self):
        for verb, sig in (("migrate", signal.SIGTERM), ("migrate", signal.SIGINT)):
            with self.subTest(verb=verb, signal=sig.name):
                name = f"{verb}-{sig.name.lower()}"
                source = MaildirSource(os.path.join(self.work, "src-" + name), name + ".sig.test", 8, MESSAGES,
                                       zlib.crc32(name.encode()) % 1000)
                self.stop_and_resume(verb, sig, source, name)
                self.verify_clean(source, name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(verb="sync", signal=sig.name):
                name = f"sync-{sig.name.lower()}"
                source = MaildirSource(os.path.join(self.work, "src-" + name), name + ".sig.test", 8, 400, 7)
                self.finish(self.command("migrate", source, name), name + " stage 1")
                source.change(MESSAGES // 2, 200)
                self.stop_and_resume("sync", sig, source, name)
                self.verify_clean(source, name)

    def test_verify_stops_without_a_report(self):
        name = "verified"
        source = MaildirSource(os.path.join(self.work, "src-" + name), name + ".sig.test", 8, 3 * MESSAGES, 11)
        self.finish(self.command("migrate", source, name), name)
        args = self.command("verify", source, name)
        report = os.path.join(self.work, name + "-verify.json")
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                out = os.path.join(self.work, f"verify-{sig.name}.out")
                if os.path.exists(report):
                    os.unlink(report)
                # Verify shows no progress while it works: the signal follows its first line.
                rc, seconds = self.interrupt(args, sig, lambda: "Verifying" in tail(out), out)
                self.assertEqual(EXIT[sig], rc, tail(out))
                self.assertIn("run the same command again", tail(out))
                self.assertFalse(os.path.exists(report), "an interrupted verify wrote a report")
                self.assertEqual([], [n for n in os.listdir(self.work) if "mailmig-tmp" in n])
        self.verify_clean(source, name)

    def test_copy_stops_between_accounts(self):
        name = "copied"
        source = MaildirSource(os.path.join(self.work, "src-" + name), name + ".sig.test", 8, MESSAGES, 13)
        self.imap.add_users({user: "Any#Pw1" for user in source.users})  # copy creates no users
        args = self.command("copy", source, name)
        base = self.progress()
        out = os.path.join(self.work, "copy.out")
        rc, seconds = self.interrupt(args, signal.SIGTERM, lambda: self.progress() - base >= 50, out)
        text = tail(out)
        self.assertEqual(143, rc, text)
        not_started = [u for u in source.users if u in text.split("Not started", 1)[-1]]
        self.assertIn("copy those accounts with --user", text)
        # Every started account was finished: copying the others completes the job, nothing twice.
        for user in not_started:
            self.finish([*args, "--user", user], f"copy {user}")
        self.verify_clean(source, name)

    def test_a_second_run_on_the_same_state_refuses_naming_the_lock(self):
        name = "twice"
        source = MaildirSource(os.path.join(self.work, "src-" + name), name + ".sig.test", 10, MESSAGES, 17)
        args = self.command("migrate", source, name)
        base = self.progress()
        first = start(args, self.work, os.path.join(self.work, "first.out"))
        try:
            while self.progress() - base < 50 and first.poll() is None:
                time.sleep(0.02)
            self.assertIsNone(first.poll(), tail(os.path.join(self.work, "first.out")))
            started = time.monotonic()
            second = harness.run("mailmig", *args, cwd=self.work, timeout=60)
            waited = time.monotonic() - started
            self.assertEqual(3, second.returncode, second.stdout + second.stderr)
            lock = os.path.join(self.work, name + "-state", "lock")
            self.assertIn(lock, second.stderr)
            self.assertIn(f"pid {first.pid}", second.stderr)
            self.assertLess(waited, 10)
            first.wait(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        self.assertEqual(0, first.returncode, tail(os.path.join(self.work, "first.out")))
        self.verify_clean(source, name)


if __name__ == "__main__":
    harness.main()
