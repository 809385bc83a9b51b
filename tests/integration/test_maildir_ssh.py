"""maildir+ssh:// and the sync_maildirs front end against a private sshd
(servers/sshd.py) serving a source tree in the SME Server home layout
(<root>/<user>/Maildir):

1. over ssh into a Maildir target and into the private Dovecot equals the
   local maildir: migration message for message (verify both ways);
2. an unknown host key is refused with its fingerprint and the way to accept
   it; a key the server does not accept is refused;
3. the ssh sessions killed mid-run: the same command again completes and
   verify finds nothing lost or doubled;
4. a message file deleted between listing and reading is skipped with a note
   naming it, the rest of the folder is copied;
5. sync_maildirs -n writes nothing and lists exactly the changes made on the
   source after an import; sync_maildirs copies them; a second run does nothing.
The source tree is snapshotted before and compared after every run.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import harness
from servers.common import quietly  # noqa: F401
from servers.dovecot import PrivateDovecot
from servers.sshd import PrivateSshd

DOMAIN = "example.com"
USERS = ["alice", "bob", "carol"]


def message(user, folder, n, size=0):
    body = f"Message {n} of {user} in {folder}.\n" + ("x" * 76 + "\n") * (size // 77)
    return (f"From: sender{n}@example.net\nTo: {user}@{DOMAIN}\nSubject: {folder} {n}\n"
            f"Message-ID: <{user}.{folder}.{n}@example.net>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
            + body).encode()


def write_message(maildir, sub, name, data, mtime=1704103200):
    path = os.path.join(maildir, sub, name)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))
    return path


def make_maildir(path):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)


def make_source(root, users=USERS, per_folder=6, big=()):
    """SME homes: root/<user>/Maildir with INBOX, .Sent, .Work.Projects; flags,
    keywords and a dovecot-uidlist for alice's INBOX."""
    for user in users:
        md = os.path.join(root, user, "Maildir")
        make_maildir(md)
        for folder, directory in (("INBOX", md), ("Sent", os.path.join(md, ".Sent")),
                                  ("Work/Projects", os.path.join(md, ".Work.Projects"))):
            make_maildir(directory)
            for n in range(per_folder):
                size = 300_000 if (user, folder, n) in big else 200 * n
                flags = ["", "S", "RS", "FS", "Sa", "T"][n % 6]
                sub = "new" if n == per_folder - 1 else "cur"
                name = f"17041032{n:02d}.M{n}P1.source" + ("" if sub == "new" else f":2,{flags}")
                write_message(directory, sub, name, message(user, folder, n, size), 1704103200 + n)
            with open(os.path.join(directory, "dovecot-keywords"), "w") as f:
                f.write("0 $Important\n")
        with open(os.path.join(md, "subscriptions"), "w") as f:
            f.write("Sent\nWork/Projects\n")


class MaildirSshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sshd = PrivateSshd()
        cls.sshd.start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.source = os.path.join(self.work, "home", "e-smith", "files", "users")
        os.makedirs(self.source)
        self.env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        self.env["HOME"] = self.work  # no ~/.ssh of the machine takes part
        self.runs = 0

    def url(self, path=None):
        return f"maildir+ssh://{self.sshd.user}@127.0.0.1:{self.sshd.port}{path or self.source}"

    def ssh_args(self, key=None, known_hosts=None):
        return ["--ssh-key", key or self.sshd.key_file, "--ssh-known-hosts", known_hosts or self.sshd.known_hosts]

    def run_mailmig(self, *args, check=None, name="mailmig"):
        self.runs += 1
        return harness.run(name, *args, check=check, cwd=self.work, env=self.env)

    def migrate(self, source, target, state, *extra, check=0, command="migrate"):
        ssh = self.ssh_args() if source.startswith("maildir+ssh") else []
        return self.run_mailmig(command, "--source", source, "--user-path", "%n/Maildir", "--domain", DOMAIN, *ssh,
                                "--target", "maildir:" + target, "--target-user-path", "%d/%n/Maildir",
                                "--state", os.path.join(self.work, state), *extra, check=check)

    def verify(self, source, target_args, check=0, state=None):
        self.runs += 1
        report = os.path.join(self.work, f"verify{self.runs}.json")
        ssh = self.ssh_args() if source.startswith("maildir+ssh") else []
        args = ["verify", "--source", source, "--user-path", "%n/Maildir", "--domain", DOMAIN, *ssh, *target_args,
                "--report", report]
        if state:
            args += ["--state", os.path.join(self.work, state)]
        proc = harness.run("mailmig", *args, check=check, cwd=self.work, env=self.env)
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def sftp_opens(self):
        return self.sshd.sftp_log_text().count('open "')

    # ------------------------------------------------------------ tests

    def test_1_ssh_equals_local_into_maildir_and_dovecot(self):
        make_source(self.source)
        before = harness.tree_snapshot(self.source)
        over_ssh, local = os.path.join(self.work, "t-ssh"), os.path.join(self.work, "t-local")
        proc = self.migrate(self.url(), over_ssh, "s-ssh")
        self.assertIn("over SFTP", proc.stdout)
        self.assertIn("user path %n/Maildir", proc.stdout)
        self.migrate("maildir:" + self.source, local, "s-local")
        maildir_target = ["--target-user-path", "%d/%n/Maildir"]
        # What came over ssh equals the local source, and the local run's target equals the ssh source.
        _, report = self.verify("maildir:" + self.source, ["--target", "maildir:" + over_ssh, *maildir_target])
        self.assertEqual(len(USERS) * 3 * 6, report["totals"]["messages_source"], report["totals"])
        self.assertEqual(len(USERS) * 3 * 6, report["totals"]["messages_target"], report["totals"])
        self.verify(self.url(), ["--target", "maildir:" + local, *maildir_target])
        # UIDs, flags and keywords kept alike: the two trees hold the same file names' info parts.
        for user in USERS:
            for sub in ("", ".Sent"):
                a = sorted(n.split(":2,")[1] for n in os.listdir(os.path.join(over_ssh, DOMAIN, user, "Maildir", sub, "cur")))
                b = sorted(n.split(":2,")[1] for n in os.listdir(os.path.join(local, DOMAIN, user, "Maildir", sub, "cur")))
                self.assertEqual(b, a, (user, sub))
        # Into Dovecot over IMAP, verified against the local source.
        dc = PrivateDovecot(users={f"{u}@{DOMAIN}": "Any#Pw1" for u in USERS})
        dc.start()
        self.addCleanup(dc.stop)
        master = os.path.join(self.work, "master.pw")
        with open(master, "w") as f:
            f.write(dc.master_password + "\n")
        os.chmod(master, 0o600)
        imap = ["--target", f"imap://127.0.0.1:{dc.imap_port}", "--ca-file", dc.ca_file, "--auth", "dovecot-master",
                "--master-user", dc.master_user, "--master-password-file", master]
        self.run_mailmig("migrate", "--source", self.url(), "--user-path", "%n/Maildir", "--domain", DOMAIN,
                         *self.ssh_args(), *imap, "--state", os.path.join(self.work, "s-imap"), check=0)
        self.verify("maildir:" + self.source, imap)
        self.assertEqual(before, harness.tree_snapshot(self.source), "the source was modified")

    def test_2_unknown_host_key_and_wrong_key_refused(self):
        make_source(self.source, users=["alice"], per_folder=1)
        empty = os.path.join(self.work, "known_hosts")
        open(empty, "w").close()
        target = os.path.join(self.work, "t")
        for known_hosts in (empty, os.path.join(self.work, "missing_known_hosts")):
            proc = self.run_mailmig("migrate", "--source", self.url(), "--domain", DOMAIN,
                                    *self.ssh_args(known_hosts=known_hosts), "--target", "maildir:" + target,
                                    "--state", os.path.join(self.work, "s"))
            self.assertNotEqual(0, proc.returncode)
            text = proc.stdout + proc.stderr
            self.assertIn(self.sshd.fingerprint, text)
            self.assertIn(f"ssh-keyscan -p {self.sshd.port} -t ed25519 127.0.0.1 >> {known_hosts}", text)
            self.assertIn(f"[127.0.0.1]:{self.sshd.port} ssh-ed25519 ", text)
        # A changed key: the known_hosts line of another host key.
        with open(self.sshd.key_file + ".pub") as f:  # any other ed25519 key will do
            other = f.read().split()[1]
        changed = os.path.join(self.work, "changed_known_hosts")
        with open(changed, "w") as f:
            f.write(f"[127.0.0.1]:{self.sshd.port} ssh-ed25519 {other}\n")
        proc = self.run_mailmig("inventory", "--source", self.url(), "--domain", DOMAIN,
                                *self.ssh_args(known_hosts=changed))
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("HAS CHANGED", proc.stderr)
        self.assertIn(self.sshd.fingerprint, proc.stderr)
        # A key the server does not accept; no password is ever tried.
        proc = self.run_mailmig("inventory", "--source", self.url(), "--domain", DOMAIN,
                                *self.ssh_args(key=self.sshd.other_key_file))
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("public-key authentication", proc.stderr)
        self.assertIn("refused", proc.stderr)
        self.assertFalse(os.path.exists(target))
        # The accepted key and known host: the inventory works.
        proc = self.run_mailmig("inventory", "--source", self.url(), "--domain", DOMAIN, *self.ssh_args(), check=0)
        self.assertIn("alice", proc.stdout)

    def test_3_killed_sessions_then_same_command_completes(self):
        users = [f"user{i}" for i in range(6)]
        make_source(self.source, users=users, per_folder=40, big={(u, "INBOX", 3) for u in users})
        before = harness.tree_snapshot(self.source)
        target = os.path.join(self.work, "t")
        opens_before = self.sftp_opens()
        args = ["migrate", "--source", self.url(), "--user-path", "%n/Maildir", "--domain", DOMAIN, *self.ssh_args(),
                "--target", "maildir:" + target, "--target-user-path", "%d/%n/Maildir",
                "--state", os.path.join(self.work, "s"), "--jobs", "3"]
        proc = subprocess.Popen([harness.binary("mailmig"), *args], cwd=self.work, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = 0
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and killed < 2:
            if self.sftp_opens() - opens_before > 150 * (killed + 1):
                for pid in self.sshd.session_pids():
                    quietly(os.kill, pid, signal.SIGKILL)
                killed += 1
            time.sleep(0.005)
        out, err = proc.communicate(timeout=300)
        self.assertGreater(killed, 0, "the run ended before a session could be killed")
        self.assertIn(proc.returncode, (0, 1), out + err)
        self.assertIn("reconnecting", err)
        self.run_mailmig(*args, check=0)
        _, report = self.verify("maildir:" + self.source, ["--target", "maildir:" + target, "--target-user-path",
                                                           "%d/%n/Maildir"], state="s")
        self.assertEqual(len(users) * 3 * 40, report["totals"]["messages_source"], report["totals"])
        self.assertEqual(len(users) * 3 * 40, report["totals"]["messages_target"], report["totals"])
        self.assertEqual(before, harness.tree_snapshot(self.source), "the source was modified")

    def test_4_file_vanishing_between_listing_and_reading(self):
        make_source(self.source, users=["alice"], per_folder=200)
        inbox = os.path.join(self.source, "alice", "Maildir")
        victim = write_message(inbox, "cur", "1799999999.victim.source:2,S", message("alice", "INBOX", 999))
        stop = threading.Event()

        def delete_after_listing():
            # sftp-server logs opendir of new/ once cur/ is listed; the victim is read last of 200.
            marker = f'opendir "{inbox}/new"'
            while not stop.is_set():
                if marker in self.sshd.sftp_log_text():
                    os.unlink(victim)
                    return
                time.sleep(0.002)

        watcher = threading.Thread(target=delete_after_listing)
        watcher.start()
        try:
            target = os.path.join(self.work, "t")
            proc = self.migrate(self.url(), target, "s", "--jobs", "1", check=1)
        finally:
            stop.set()
            watcher.join()
        self.assertFalse(os.path.exists(victim), "the watcher never saw the listing")
        self.assertIn("1799999999.victim.source:2,S", proc.stdout)
        self.assertIn("vanished since the folder was listed", proc.stdout)
        self.assertEqual(200, len(os.listdir(os.path.join(target, DOMAIN, "alice", "Maildir", "cur"))))
        self.verify("maildir:" + self.source, ["--target", "maildir:" + target, "--target-user-path",
                                               "%d/%n/Maildir"])

    def test_5_sync_maildirs_dry_run_sync_and_nothing_left(self):
        make_source(self.source)
        vmail = os.path.join(self.work, "vmail")
        state = os.path.join(self.work, "state")
        # The import (here: the local tree, as an exploded backup would be).
        self.run_mailmig("migrate", "--source", "maildir:" + self.source, "--user-path", "%n/Maildir",
                         "--domain", DOMAIN, "--target", "maildir:" + vmail, "--target-user-path", "%n/Maildir",
                         "--state", state, check=0)
        # The live source moves on: new mail, a flag change, a new folder.
        alice = os.path.join(self.source, "alice", "Maildir")
        write_message(alice, "new", "1800000000.M1P2.source", message("alice", "INBOX", 100))
        write_message(alice, "new", "1800000001.M1P2.source", message("alice", "INBOX", 101))
        old = os.path.join(alice, "cur", "1704103200.M0P1.source:2,")
        os.rename(old, old + "FS")
        newfolder = os.path.join(self.source, "bob", "Maildir", ".Archive")
        make_maildir(newfolder)
        write_message(newfolder, "cur", "1800000002.M1P2.source:2,S", message("bob", "Archive", 1))
        before_source = harness.tree_snapshot(self.source)
        before_target = harness.tree_snapshot(vmail)
        before_state = harness.tree_snapshot(state)
        common = ["-p", str(self.sshd.port), "-s", "127.0.0.1", "--ssh-user", self.sshd.user,
                  "--source-path", self.source, "--target-path", vmail, *self.ssh_args(), "--domain", DOMAIN,
                  "--state", state]
        dry = self.run_mailmig("-n", *common, name="sync_maildirs", check=0)
        self.assertEqual(before_target, harness.tree_snapshot(vmail), "sync_maildirs -n wrote to the target")
        self.assertEqual(before_state, harness.tree_snapshot(state), "sync_maildirs -n wrote the state")
        self.assertEqual(before_source, harness.tree_snapshot(self.source))
        self.assertEqual([], [n for n in os.listdir(self.work) if n.startswith("mailmig")], "files left in cwd")
        plan = folder_counts(dry.stdout)
        self.assertEqual({"alice@example.com INBOX": ("would copy", 2, 1), "bob@example.com Archive": ("would copy", 1, 0)},
                         {k: v for k, v in plan.items() if v[1] or v[2]}, dry.stdout)
        done = self.run_mailmig(*common, name="sync_maildirs", check=0)
        self.assertEqual({"alice@example.com INBOX": ("copied", 2, 1), "bob@example.com Archive": ("copied", 1, 0)},
                         {k: v for k, v in folder_counts(done.stdout).items() if v[1] or v[2]}, done.stdout)
        self.verify("maildir:" + self.source, ["--target", "maildir:" + vmail, "--target-user-path", "%n/Maildir"])
        again = self.run_mailmig(*common, name="sync_maildirs", check=0)
        self.assertEqual({}, {k: v for k, v in folder_counts(again.stdout).items() if v[1] or v[2]}, again.stdout)
        self.assertEqual(before_source, harness.tree_snapshot(self.source), "the source was modified")
        # The seed's help text with the added options.
        helped = self.run_mailmig("-h", name="sync_maildirs", check=0)
        self.assertIn("sync_maildirs [-h] [-n] [-p PORT] -s IPADDR", helped.stdout)
        self.assertIn("--target-path", helped.stdout)
        self.assertEqual(2, self.run_mailmig(name="sync_maildirs").returncode)


def folder_counts(stdout):
    """{"account folder": (verb, messages, flag changes)} from the per-folder lines
    ("... would copy N, would change flags of F" in a dry run, "N copied, ... F flag changes")."""
    out = {}
    for line in stdout.splitlines():
        m = DRY_LINE.match(line)
        if m:
            out[f"{m[1]} {m[2]}"] = ("would copy", int(m[3]), int(m[4] or 0))
            continue
        m = DONE_LINE.match(line)
        if m:
            out[f"{m[1]} {m[2]}"] = ("copied", int(m[3]), int(m[4] or 0))
    return out


DRY_LINE = re.compile(r"^\s+(\S+@\S+) (.+?): \d+ messages, \d+ already copied, would copy (\d+)"
                      r"(?:, would change flags of (\d+))?")
DONE_LINE = re.compile(r"^\s+(\S+@\S+) (.+?): (\d+) copied, \d+ already there(?:.*?, (\d+) flag changes)?")

if __name__ == "__main__":
    harness.main()
