"""Backup import: archive:DIR, archive:- and `mailmig import-backup`.

1. an exploded SME Server backup directory inventories exactly like the
   archive it came from (same messages, flags, keywords, UIDs, problems);
2. `archive:-` fed from a pipe equals `archive:FILE` message for message
   (inventory), and a migrate from the pipe verifies against the file; the
   peak RSS with a 40 MB message stays bounded (release build);
3. `import-backup DIR` into a private Dovecot with the passwd-file
   provisioner: users log in with their old passwords (etc/shadow hashes
   kept), a user without a usable hash gets one in the .pass file, the
   Postfix alias table is exact (groups, pseudonyms), the log has no
   FAIL/ERROR line; a re-run copies nothing and rewrites the same table;
4. damaged backups: a truncated archive and an unreadable mailbox in a
   directory give FAIL/ERROR log lines naming the entry, exit 1, and the
   rest is imported.
"""
import glob
import imaplib
import json
import os
import re
import shutil
import subprocess
import tarfile
import unittest

import harness
from servers.dovecot import PrivateDovecot
from test_archive_source import USERS, add, build_sme_archive, message, strip_locations

DOMAIN = "example.com"
PROBLEM = re.compile(r"(FAIL|ERROR)")

ACCOUNTS_DB = (b"admin=system|FirstName|Local|LastName|Admin\n"
               b"john=user|FirstName|John|LastName|Doe|PasswordSet|yes\n"
               b"mary=user|FirstName|Mary|PasswordSet|yes\n"
               b"bob=user|FirstName|Bob|PasswordSet|yes\n"
               b"sales=group|Description|Sales|Members|john,mary\n"
               b"staff=group|Members|bob,john,mary\n"
               b"john.doe=pseudonym|Account|john\n"
               b"info=pseudonym|Account|sales\n"
               b"primary=ibay|Name|Primary\n")
EXPECTED_ALIASES = ("info@example.com sales@example.com\n"
                    "john.doe@example.com john@example.com\n"
                    "sales@example.com john@example.com,mary@example.com\n"
                    "staff@example.com bob@example.com,john@example.com,mary@example.com\n")
OLD_PASSWORDS = {"john": "Old#John1", "bob": "Old#Bob22"}
MESSAGES = [  # (user, folder dir, name, data)
    ("john", "", "cur/1700000000.M1P1.sme:2,S", message("one", "first")),
    ("john", "", "new/1700000100.M2P1.sme", message("two", "second")),
    ("john", ".Sent", "cur/1700000200.M3P1.sme:2,S", message("sent", "sent mail")),
    ("john", ".Sent", "cur/1700000300.M4P1.sme:2,RS", message("sent2", "more sent mail")),
    ("mary", "", "cur/1700000400.M5P1.sme:2,F", message("mary", "hello mary", 200000)),
    ("bob", "", "cur/1700000500.M6P1.sme:2,", message("bob", "hello bob")),
]


def crypt_sha512(password):
    return subprocess.run(["openssl", "passwd", "-6", "-salt", "mailmigsalt", password], capture_output=True,
                          text=True, check=True).stdout.strip()


def build_backup(path, extra=()):
    """An SME full backup tar.gz: configuration, accounts, etc/shadow, Maildirs."""
    shadow = "".join(f"{u}:{crypt_sha512(p)}:19000:0:99999:7:::\n" for u, p in OLD_PASSWORDS.items())
    shadow += "mary:!!:19000:0:99999:7:::\nroot:*:19000::::::\n"
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "./etc/shadow", shadow.encode())
        add(tar, "./etc/hosts", b"127.0.0.1 localhost\n")
        add(tar, "./home/e-smith/db/configuration", b"DomainName=example.com\nSystemName=sme\n")
        add(tar, "./home/e-smith/db/accounts", ACCOUNTS_DB)
        for user, folder, name, data in MESSAGES:
            add(tar, f"./{USERS}{user}/Maildir/" + (folder + "/" if folder else "") + name, data)
        for name, data in extra:
            add(tar, name, data)


def explode(archive, directory):
    os.makedirs(directory)
    subprocess.run(["tar", "-xzf", archive, "-C", directory], check=True)


def inventory(source, check=None, **kw):
    proc = harness.run("mailmig", "inventory", "--json", "--messages", "--source", source, check=check, **kw)
    return json.loads(proc.stdout)


def problem_lines(log):
    with open(log, encoding="utf-8", errors="replace") as f:
        return [line for line in f if PROBLEM.search(line)]


class BackupSources(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)

    def test_exploded_directory_equals_the_archive(self):
        archive = os.path.join(self.work, "smeserver.tgz")
        build_sme_archive(archive)  # the symlink cur/evil -> /etc/shadow is a problem in both
        directory = os.path.join(self.work, "migration")
        explode(archive, directory)
        from_file = inventory("archive:" + archive, check=1)
        from_dir = inventory("archive:" + directory, check=1)
        self.assertEqual(strip_locations(from_file["domains"]), strip_locations(from_dir["domains"]))
        self.assertEqual([e["message"] for e in from_file["errors"]], [e["message"] for e in from_dir["errors"]])
        self.assertIn("cur/evil", from_dir["errors"][0]["file"])
        self.assertTrue(from_dir["errors"][0]["file"].startswith(directory + "!/"))
        table = harness.run("mailmig", "inventory", "--source", "archive:" + directory, check=1)
        self.assertIn("SME Server full backup migration (directory)", table.stdout + table.stderr)

    def test_stdin_equals_the_archive(self):
        archive = os.path.join(self.work, "smeserver.tgz")
        build_sme_archive(archive)
        from_file = inventory("archive:" + archive, check=1)
        with subprocess.Popen(["cat", archive], stdout=subprocess.PIPE) as cat:
            from_pipe = inventory("archive:-", check=1, stdin=cat.stdout)
        self.assertEqual(strip_locations(from_file["domains"]), strip_locations(from_pipe["domains"]))
        self.assertEqual([e["message"] for e in from_file["errors"]], [e["message"] for e in from_pipe["errors"]])
        self.assertTrue(from_pipe["errors"][0]["file"].startswith("stdin!/"))
        # A run killed while spooling left its spool behind: the next run removes it
        # (its PID is gone); a spool whose PID lives (ours) is left alone.
        tmp = os.path.join(self.work, "tmp")
        gone = subprocess.Popen(["true"])
        gone.wait()
        abandoned = os.path.join(tmp, f"mailmig-stream-{gone.pid}-AbCdEf")
        alive = os.path.join(tmp, f"mailmig-stream-{os.getpid()}-GhIjKl")
        for d in (abandoned, alive):
            os.makedirs(os.path.join(d, "home/e-smith/files/users/x/Maildir/cur"))
        with open(archive, "rb") as f:
            table = harness.run("mailmig", "-v", "inventory", "--source", "archive:-", check=1, stdin=f,
                                env=dict(os.environ, TMPDIR=tmp))
        self.assertRegex(table.stdout + table.stderr, r"read in one pass, \d+ bytes of mail spooled to \S+")
        spool = re.search(r"spooled to (\S+) ", table.stdout + table.stderr).group(1)
        self.assertTrue(os.path.basename(spool).startswith(f"mailmig-stream-"), spool)
        self.assertFalse(os.path.exists(spool), "the spool is removed at exit")
        self.assertFalse(os.path.exists(abandoned), table.stderr)
        self.assertIn(f"spool of a run that was killed (PID {gone.pid})", table.stderr)
        self.assertTrue(os.path.exists(alive))


class ImportIntoDovecot(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = os.path.join(self.work, "master.pw")
        with open(self.master, "w") as f:
            f.write(self.server.master_password + "\n")
        os.chmod(self.master, 0o600)

    def target_args(self):
        return ["--target", f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file,
                "--auth", "dovecot-master", "--master-user", self.server.master_user,
                "--master-password-file", self.master]

    def import_backup(self, backup, *args, check=None, measured=False, state="state", **kw):
        argv = ["import-backup", backup, *self.target_args(), "--provision", "dovecot:" + self.server.passwd_file,
                "--state", os.path.join(self.work, state), *args]
        if measured:
            return harness.run_measured("mailmig", *argv, check=check, cwd=self.work, **kw)
        return harness.run("mailmig", *argv, check=check, cwd=self.work, **kw)

    def messages_of(self, user, folder="INBOX"):
        imap = self.server.login_master(f"{user}@{DOMAIN}")
        try:
            typ, exists = imap.select(f'"{folder}"', readonly=True)
            if typ != "OK" or int(exists[0]) == 0:
                return []
            _, data = imap.fetch("1:*", "(BODY.PEEK[])")
            return [item[1].replace(b"\r\n", b"\n") for item in data if isinstance(item, tuple)]
        finally:
            imap.logout()

    def can_login(self, user, password):
        try:
            self.server.login(f"{user}@{DOMAIN}", password).logout()
            return True
        except imaplib.IMAP4.error:
            return False

    def test_import_backup_directory(self):
        archive = os.path.join(self.work, "backup.tgz")
        build_backup(archive)
        directory = os.path.join(self.work, "migration")
        explode(archive, directory)
        aliases = os.path.join(self.work, "virtual")
        proc = self.import_backup(directory, "--aliases-out", aliases, check=0)
        logs = glob.glob(os.path.join(self.work, "import-backup_*.log"))
        self.assertEqual(1, len(logs), proc.stdout)  # the default name, like cg2kms's
        self.assertRegex(os.path.basename(logs[0]), r"^import-backup_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.log$")
        self.assertEqual([], problem_lines(logs[0]))
        with open(aliases, encoding="utf-8") as f:
            self.assertEqual(EXPECTED_ALIASES, f.read())
        self.assertIn("2 password hashes from etc/shadow", proc.stdout)
        # Old passwords kept where there was a hash; mary's is in the .pass file.
        for user, password in OLD_PASSWORDS.items():
            self.assertTrue(self.can_login(user, password), user)
        passes = glob.glob(os.path.join(self.work, "import-backup_*.pass"))
        self.assertEqual(1, len(passes))
        self.assertEqual(0o600, os.stat(passes[0]).st_mode & 0o777)
        with open(passes[0], encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.startswith("mary")]
        self.assertEqual(1, len(lines), lines)
        mary_password = lines[0].split(",")[1]
        self.assertTrue(self.can_login("mary", mary_password))
        for user, folder, _name, data in MESSAGES:
            self.assertIn(data, self.messages_of(user, "Sent" if folder == ".Sent" else "INBOX"), (user, folder))
        self.assertEqual(2, len(self.messages_of("john", "Sent")))
        # Again: nothing more copied, the same table.
        os.remove(aliases)
        again = self.import_backup(directory, "--aliases-out", aliases, "--log", os.path.join(self.work, "again.log"),
                                   check=0)
        self.assertRegex(again.stdout, r"total\s+complete\s+0\s+6\s+0")
        with open(aliases, encoding="utf-8") as f:
            self.assertEqual(EXPECTED_ALIASES, f.read())
        self.assertEqual([], problem_lines(os.path.join(self.work, "again.log")))
        self.assertEqual(2, len(self.messages_of("john")))

    def test_import_backup_from_a_pipe_bounded_memory(self):
        big = message("big", "large", 40 << 20)
        archive = os.path.join(self.work, "backup.tgz")
        build_backup(archive, extra=[(f"./{USERS}bob/Maildir/cur/1700000600.M7P1.sme:2,S", big)])
        with subprocess.Popen(["cat", archive], stdout=subprocess.PIPE) as cat:
            proc, peak_kb = self.import_backup("-", "--aliases-out", os.path.join(self.work, "virtual"), check=0,
                                               measured=True, stdin=cat.stdout)
        print(f"\npeak RSS of import-backup - with a 40 MB message: {peak_kb} KiB", flush=True)
        if not harness.sanitized():
            self.assertLess(peak_kb, 36 * 1024, "the stream is spooled, not held in memory")
        self.assertIn(big, self.messages_of("bob"))
        # The target holds what the archive file holds: verify against the file.
        verify = harness.run("mailmig", "verify", "--source", "archive:" + archive, *self.target_args(), cwd=self.work)
        self.assertEqual(0, verify.returncode, verify.stdout + verify.stderr)
        logs = glob.glob(os.path.join(self.work, "import-backup_*.log"))
        with open(logs[0], encoding="utf-8") as f:
            self.assertRegex(f.read(), r"stdin: read in one pass; \d+ bytes in 10 files spooled to .*; 1 other files \(20 bytes\)")

    def test_truncated_archive(self):
        archive = os.path.join(self.work, "backup.tgz")
        build_backup(archive)
        plain = subprocess.run(["gzip", "-dc", archive], capture_output=True, check=True).stdout
        with tarfile.open(archive) as tar:
            cut_at = tar.getmember(f"./{USERS}mary/Maildir/cur/1700000400.M5P1.sme:2,F").offset_data + 1000
        truncated = os.path.join(self.work, "truncated.tgz")
        with open(truncated, "wb") as f:
            f.write(subprocess.run(["gzip", "-c"], input=plain[:cut_at], capture_output=True, check=True).stdout)
        log = os.path.join(self.work, "damaged.log")
        self.import_backup(truncated, "--aliases-out", os.path.join(self.work, "virtual"), "--log", log, check=1)
        lines = problem_lines(log)
        self.assertTrue([line for line in lines if "1700000400.M5P1.sme" in line], lines)
        self.assertEqual(2, len(self.messages_of("john")))  # before the damage: imported
        self.assertEqual(2, len(self.messages_of("john", "Sent")))
        # The same from a pipe.
        log2 = os.path.join(self.work, "damaged-pipe.log")
        with open(truncated, "rb") as f:
            self.import_backup("-", "--log", log2, state="state2", check=1, stdin=f)
        self.assertTrue([line for line in problem_lines(log2) if "1700000400.M5P1.sme" in line])

    def test_unreadable_mailbox_in_a_directory(self):
        archive = os.path.join(self.work, "backup.tgz")
        build_backup(archive)
        directory = os.path.join(self.work, "migration")
        explode(archive, directory)
        for user in ("john", "mary", "bob"):
            self.server.add_user(f"{user}@{DOMAIN}", "Preset#Pass1")  # no provisioning as nobody
        locked = os.path.join(directory, USERS, "john/Maildir/.Sent/cur")
        os.chmod(locked, 0)
        locked_message = os.path.join(directory, USERS, "bob/Maildir/cur/1700000500.M6P1.sme:2,")
        os.chmod(locked_message, 0)
        os.chmod(self.work, 0o777)
        os.chown(self.master, 65534, 65534)  # readable by nobody (still 0600), for this test only
        log = os.path.join(self.work, "unreadable.log")
        argv = [harness.binary("mailmig"), "import-backup", directory, *self.target_args(),
                "--state", os.path.join(self.work, "state"), "--log", log,
                "--aliases-out", os.path.join(self.work, "virtual")]
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                              capture_output=True, text=True, cwd=self.work)
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        lines = problem_lines(log)
        self.assertTrue([line for line in lines if "john/Maildir/.Sent/cur" in line and "Permission denied" in line],
                        lines)
        self.assertEqual(2, len(self.messages_of("john")))
        self.assertEqual(1, len(self.messages_of("mary")))
        self.assertTrue([line for line in lines if "bob/Maildir/cur/1700000500.M6P1.sme:2," in line
                         and "Permission denied" in line], lines)
        self.assertEqual(0, len(self.messages_of("bob")))


if __name__ == "__main__":
    harness.main()
