"""The SME Server -> NethServer procedure end to end (docs/sme-backup.md), with
a real backup and a real sshd (servers/sshd.py) serving the old server's homes:

1. an SME full backup (users, nested folders, flags, identical messages, a
   few hundred messages) is made from the "live host" tree, which then holds
   exactly what the backup holds;
2. `mailmig import-backup` into a NethServer Maildir root: exit 0, no
   FAIL/ERROR in the log, every message there exactly once with its flags
   (content hash + flags, folder by folder);
3. the live host moves on: new mail in INBOX and in an existing folder, new
   (nested) folders, flag changes (read, flagged), a deleted message and a
   brand-new user;
4. `sync_maildirs -n` changes no byte of the destination (nor the state)
   and names exactly those changes per account and folder;
5. `sync_maildirs` brings every change exactly once (no message of the import
   copied again), keeps the deleted message (it came from the backup, another
   source: never deleted by the re-sync) and ignores the new user (users come
   from the destination); the same command again is a no-op, byte for byte;
6. the same procedure into a private Dovecot over IMAP (import-backup
   --target imap://, then `mailmig sync --source maildir+ssh://`), read back
   with UID FETCH;
7. sync_maildirs killed with SIGKILL mid-run, then the very same command:
   every message exactly once.
The state is mailmig's default one (per target), as on a real destination.
"""
import collections
import glob
import os
import re
import signal
import stat
import subprocess
import tarfile
import time
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot
from servers.sshd import PrivateSshd
from test_archive_source import crlf_sha
from test_import_backup import crypt_sha512, problem_lines
from test_maildir_ssh import folder_counts, make_maildir, message, write_message

DOMAIN = "example.com"
USERS = ("bob", "john", "mary")
HOMES = os.path.join("home", "e-smith", "files", "users")
# IMAP folder name -> Maildir++ directory under the user's Maildir.
FOLDERS = {"INBOX": "", "Sent": ".Sent", "Work": ".Work", "Work/Projects": ".Work.Projects",
           "Archive/2023/Q4": ".Archive.2023.Q4"}
FLAG_CYCLE = ["", "S", "RS", "FS", "DS", "ST", "S"]
# Maildir info letters -> IMAP system flags (Maildir's D is \Draft, T is \Deleted).
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
ACCOUNTS_DB = (b"admin=system|FirstName|Local|LastName|Admin\n"
               b"bob=user|FirstName|Bob|PasswordSet|yes\n"
               b"john=user|FirstName|John|LastName|Doe|PasswordSet|yes\n"
               b"mary=user|FirstName|Mary|PasswordSet|yes\n"
               b"staff=group|Members|bob,john,mary\n")


# ---------------------------------------------------------------- Maildir++ trees

def imap_flags(letters):
    return frozenset(MAILDIR_FLAGS[c] for c in letters if c in MAILDIR_FLAGS)


def mailbox_contents(maildir):
    """{folder: Counter[(sha256 of the CRLF form, IMAP flags)]} of one Maildir++ mailbox
    (messages in cur/ and new/; tmp/ is not mail)."""
    out = {}
    for entry in sorted(os.listdir(maildir)):
        if entry == "cur":
            folder, base = "INBOX", maildir
        elif entry.startswith(".") and os.path.isdir(os.path.join(maildir, entry, "cur")):
            folder, base = entry[1:].replace(".", "/"), os.path.join(maildir, entry)
        else:
            continue
        counts = collections.Counter()
        for sub in ("cur", "new"):
            directory = os.path.join(base, sub)
            for name in os.listdir(directory) if os.path.isdir(directory) else []:
                with open(os.path.join(directory, name), "rb") as f:
                    data = f.read()
                letters = name.split(":2,", 1)[1] if ":2," in name else ""
                counts[(crlf_sha(data), imap_flags(letters))] += 1
        out[folder] = counts
    return out


def tree_contents(root, users=None):
    """{user: mailbox_contents} of root/<user>/Maildir (the SME and NethServer layout)."""
    names = users if users is not None else sorted(os.listdir(root))
    return {u: mailbox_contents(os.path.join(root, u, "Maildir"))
            for u in names if os.path.isdir(os.path.join(root, u, "Maildir"))}


def with_parents(contents):
    """contents plus an empty entry for each parent of a nested folder: Maildir++
    stores ".A.B" without ".A", mailmig creates the parent on the target (as an
    empty folder, like a mail client would) so that the tree can be browsed."""
    out = {}
    for user, folders in contents.items():
        out[user] = {f: collections.Counter(c) for f, c in folders.items()}
        for name in folders:
            parts = name.split("/")
            for i in range(1, len(parts)):
                out[user].setdefault("/".join(parts[:i]), collections.Counter())
    return out


def message_count(contents):
    return sum(sum(c.values()) for folders in contents.values() for c in folders.values())


def imap_contents(server, users):
    """The same shape read back from Dovecot over IMAP (UID FETCH of every body)."""
    out = {}
    for user in users:
        imap = server.login_master(f"{user}@{DOMAIN}")
        try:
            out[user] = {name: collections.Counter((sha, frozenset(flags)) for _, sha, _, flags, _ in
                                                   rb.fetch_folder(imap, name))
                         for name in rb.list_folders(imap)}
        finally:
            imap.logout()
    return out


# ---------------------------------------------------------------- the old server

def build_live_host(root, per_folder):
    """The SME Server's files under root: db/configuration, db/accounts,
    etc/shadow and the users' Maildirs (flags cycling, the last message of each
    folder still in new/, john's INBOX holding one message twice)."""
    os.makedirs(os.path.join(root, "home", "e-smith", "db"))
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "home", "e-smith", "db", "configuration"), "wb") as f:
        f.write(b"DomainName=example.com\nSystemName=sme\n")
    with open(os.path.join(root, "home", "e-smith", "db", "accounts"), "wb") as f:
        f.write(ACCOUNTS_DB)
    with open(os.path.join(root, "etc", "shadow"), "w") as f:
        f.write("".join(f"{u}:{crypt_sha512('Old#' + u + '1')}:19000:0:99999:7:::\n" for u in USERS))
    for user in USERS:
        md = os.path.join(root, HOMES, user, "Maildir")
        for fi, (folder, directory) in enumerate(FOLDERS.items()):
            base = os.path.join(md, directory)
            make_maildir(base)
            for n in range(per_folder):
                stamp = 1704103200 + fi * 1000 + n
                size = 120_000 if n == 7 else 150 * n
                data = message(user, folder, n, size)
                if n == per_folder - 1:
                    write_message(base, "new", f"{stamp}.M{n}P{fi}.sme", data, stamp)
                else:
                    flags = FLAG_CYCLE[n % len(FLAG_CYCLE)]
                    write_message(base, "cur", f"{stamp}.M{n}P{fi}.sme:2,{flags}", data, stamp)
    # The same message delivered twice, with other flags: both are kept, once each.
    inbox = os.path.join(root, HOMES, "john", "Maildir")
    write_message(inbox, "cur", "1704200000.M99P0.sme:2,S", message("john", "INBOX", 3), 1704200000)


def make_backup(root, path):
    """The full backup: the old server's tree from /, as a tar.gz."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(root, arcname=".")


def rename_flags(path, letters):
    """A flag change as a mail client makes it: the file moves to cur/ with new info."""
    base = path.split(":2,", 1)[0]
    directory, name = os.path.split(base)
    target = os.path.join(os.path.dirname(directory), "cur", name + ":2," + letters)
    os.rename(path, target)
    return target


def find(maildir, sub, prefix):
    names = [n for n in os.listdir(os.path.join(maildir, sub)) if n.startswith(prefix)]
    assert len(names) == 1, (maildir, sub, prefix, names)
    return os.path.join(maildir, sub, names[0])


def change_live_host(homes, per_folder):
    """What happened on the old server after the backup. Returns
    ({"user@domain Folder": (messages to copy, flag changes)}, the deleted message's key)."""
    john = os.path.join(homes, "john", "Maildir")
    for i in range(3):  # new mail, still unread in new/
        write_message(john, "new", f"1800000{i:03d}.N{i}P1.sme", message("john", "INBOX", 500 + i), 1800000000 + i)
    write_message(john, "cur", "1800000100.N9P1.sme:2,S", message("john", "INBOX", 509), 1800000100)
    mary_projects = os.path.join(homes, "mary", "Maildir", ".Work.Projects")
    for i in range(2):
        write_message(mary_projects, "cur", f"1800000200.N{i}P2.sme:2,", message("mary", "Work/Projects", 600 + i),
                      1800000200 + i)
    bob = os.path.join(homes, "bob", "Maildir")
    for directory, folder, count in ((".Travel", "Travel", 3), (".Travel.2024", "Travel/2024", 2)):
        make_maildir(os.path.join(bob, directory))
        for i in range(count):
            write_message(os.path.join(bob, directory), "cur", f"1800000300.N{i}P3.sme:2,S",
                          message("bob", folder, 700 + i), 1800000300 + i)
    # Flag changes: john marks an unread old message read, mary flags one, bob reads his newest.
    rename_flags(find(john, "cur", "1704103200.M0P0.sme:2,"), "S")
    rename_flags(find(os.path.join(homes, "mary", "Maildir", ".Sent"), "cur", "1704104201.M1P1.sme:2,"), "FS")
    rename_flags(find(bob, "new", f"{1704103200 + per_folder - 1}.M{per_folder - 1}P0.sme"), "S")
    # mary deletes (and expunges) an old message.
    deleted = find(os.path.join(homes, "mary", "Maildir"), "cur", "1704103204.M4P0.sme:2,")
    with open(deleted, "rb") as f:
        deleted_key = (crlf_sha(f.read()), imap_flags(deleted.split(":2,")[1]))
    os.unlink(deleted)
    # A user created on the old server after the backup: no mailbox on the destination.
    dave = os.path.join(homes, "dave", "Maildir")
    make_maildir(dave)
    write_message(dave, "cur", "1800000400.N0P4.sme:2,S", message("dave", "INBOX", 1), 1800000400)
    plan = {"john@example.com INBOX": (4, 1), "mary@example.com Work/Projects": (2, 0),
            "bob@example.com Travel": (3, 0), "bob@example.com Travel/2024": (2, 0),
            "mary@example.com Sent": (0, 1), "bob@example.com INBOX": (0, 1)}
    return plan, deleted_key


# A message the live host deleted came from the backup (another source): kept on the target.
KEPT = r"mary@example\.com INBOX: .*1 copied from another source and not in this one: kept"


def with_deleted_kept(contents, user, folder, key):
    out = {u: {f: collections.Counter(c) for f, c in folders.items()} for u, folders in contents.items()}
    out[user][folder][key] += 1
    return out


def files_and_dirs(snapshot):
    """harness.tree_snapshot() with the directories' mtimes left out."""
    return {path: (entry[:1] if stat.S_ISDIR(entry[0]) else entry) for path, entry in snapshot.items()}


def changed(counts):
    """folder_counts() without the untouched folders: {key: (messages, flag changes)}."""
    return {k: (v[1], v[2]) for k, v in counts.items() if v[1] or v[2]}


class SmeProcedure(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sshd = PrivateSshd()
        cls.sshd.start()
        cls.addClassCleanup(cls.sshd.stop)

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.sme = os.path.join(self.work, "sme")
        self.homes = os.path.join(self.sme, HOMES)
        self.backup = os.path.join(self.work, "smeserver.tgz")
        self.vmail = os.path.join(self.work, "vmail")
        self.env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        self.env["HOME"] = self.work  # no ~/.ssh of this machine takes part

    def seed(self, per_folder):
        """The live host and its backup; returns what the destination must hold after the import."""
        build_live_host(self.sme, per_folder)
        make_backup(self.sme, self.backup)
        return with_parents(tree_contents(self.homes))

    def import_backup(self, *target):
        target = target or ("--target", "maildir:" + self.vmail, "--target-user-path", "%n/Maildir")
        proc = harness.run("mailmig", "import-backup", self.backup, *target,
                           "--aliases-out", os.path.join(self.work, "virtual"), check=0, cwd=self.work, env=self.env)
        logs = glob.glob(os.path.join(self.work, "import-backup_*.log"))
        self.assertEqual(1, len(logs), proc.stdout)
        self.assertEqual([], problem_lines(logs[0]))  # the procedure's grep -E '(FAIL|ERROR)'
        return proc

    def sync_maildirs(self, *extra, check=0):
        return harness.run("sync_maildirs", *extra, "-s", "127.0.0.1", "-p", str(self.sshd.port),
                           "--ssh-user", self.sshd.user, "--ssh-key", self.sshd.key_file,
                           "--ssh-known-hosts", self.sshd.known_hosts, "--source-path", self.homes,
                           "--target-path", self.vmail, "--domain", DOMAIN, check=check, cwd=self.work, env=self.env)

    def state_files(self):
        """Every file of mailmig's default state (per target) with its bytes, mode and mtime."""
        snapshot = harness.tree_snapshot(os.environ["MAILMIG_STATE_HOME"])
        return {path: entry for path, entry in snapshot.items() if not stat.S_ISDIR(entry[0])}

    # ------------------------------------------------------------ tests

    def test_1_import_then_sync_maildirs(self):
        at_backup = self.seed(per_folder=20)
        self.assertEqual(3 * 5 * 20 + 1, message_count(at_backup))
        self.import_backup()
        self.assertEqual(at_backup, tree_contents(self.vmail))

        plan, deleted = change_live_host(self.homes, 20)
        live = tree_contents(self.homes, USERS)
        expected = with_deleted_kept(with_parents(live), "mary", "INBOX", deleted)
        self.assertNotEqual(at_backup, expected)
        before_target = harness.tree_snapshot(self.vmail)
        before_state = self.state_files()
        before_source = harness.tree_snapshot(self.sme)

        # -n: not a byte written, exactly the changes listed.
        log = os.path.join(self.work, "dry.log")
        cwd_before = sorted(os.listdir(self.work))
        dry = self.sync_maildirs("-n", "--log", log)
        self.assertEqual(sorted(cwd_before + ["dry.log"]), sorted(os.listdir(self.work)), "files left in the cwd")
        self.assertEqual(before_target, harness.tree_snapshot(self.vmail), "sync_maildirs -n wrote to the target")
        # (SQLite's WAL and shared-memory files come and go while the state is
        # open, which moves its directory's mtime: the files themselves are compared.)
        self.assertEqual(before_state, self.state_files(), "sync_maildirs -n wrote the state")
        self.assertIn("Dry run: would synchronise 3 user(s) from 127.0.0.1: bob john mary", dry.stdout)
        self.assertEqual(plan, changed(folder_counts(dry.stdout)), dry.stdout)
        self.assertNotIn("dave", dry.stdout)  # users come from the destination
        # mary's deleted message came from the backup (another source): kept, and -n says so as the run does.
        self.assertRegex(dry.stdout, KEPT)
        self.assertNotRegex(dry.stdout, r"deleted on the source")
        with open(log, encoding="utf-8") as f:
            would_copy = sorted(re.findall(r"would copy sha256 ([0-9a-f]{12}) ", f.read()))
        self.assertEqual(11, len(would_copy), would_copy)
        # The messages it names are the new ones (by content; a flag change is no new message).
        new_shas = {sha[:12] for u in USERS for f, c in live[u].items() for sha, _ in c
                    if sha not in {s for s, _ in at_backup[u].get(f, {})}}
        self.assertEqual(new_shas, set(would_copy))

        # The re-sync.
        done = self.sync_maildirs()
        self.assertIn("Synchronising 3 user(s) from 127.0.0.1: bob john mary", done.stdout)
        self.assertEqual(plan, changed(folder_counts(done.stdout)), done.stdout)
        self.assertRegex(done.stdout, KEPT)
        self.assertNotRegex(done.stdout, r"deleted on the source")
        self.assertEqual(expected, tree_contents(self.vmail))  # each message once, flags as on the live host
        self.assertFalse(os.path.exists(os.path.join(self.vmail, "dave")), "a user the destination lacks")
        self.assertEqual(before_source, harness.tree_snapshot(self.sme), "the source was modified")

        # Again: nothing to do, not a byte changed. (Each folder's dovecot-uidlist
        # is read under its dotlock, as Dovecot does, so the folders' directory
        # mtimes move: every file and directory is compared, directory mtimes aside.)
        settled = files_and_dirs(harness.tree_snapshot(self.vmail))
        again = self.sync_maildirs()
        self.assertEqual({}, changed(folder_counts(again.stdout)), again.stdout)
        self.assertRegex(again.stdout, r"total\s+complete\s+0\s+")
        self.assertEqual(settled, files_and_dirs(harness.tree_snapshot(self.vmail)),
                         "a second sync_maildirs changed the target")

    def test_2_import_then_sync_into_imap(self):
        at_backup = self.seed(per_folder=12)
        dc = PrivateDovecot()
        dc.start()
        self.addCleanup(dc.stop)
        master = os.path.join(self.work, "master.pw")
        with open(master, "w") as f:
            f.write(dc.master_password + "\n")
        os.chmod(master, 0o600)
        target = ["--target", f"imap://127.0.0.1:{dc.imap_port}", "--ca-file", dc.ca_file, "--auth",
                  "dovecot-master", "--master-user", dc.master_user, "--master-password-file", master]
        self.import_backup(*target, "--provision", "dovecot:" + dc.passwd_file)
        self.assertEqual(at_backup, imap_contents(dc, USERS))

        plan, deleted = change_live_host(self.homes, 12)
        expected = with_deleted_kept(with_parents(tree_contents(self.homes, USERS)), "mary", "INBOX", deleted)
        users_file = os.path.join(self.work, "users")  # the destination's users, as sync_maildirs takes them
        with open(users_file, "w") as f:
            f.write("".join(u + "\n" for u in USERS))
        url = f"maildir+ssh://{self.sshd.user}@127.0.0.1:{self.sshd.port}{self.homes}"
        sync = ["sync", "--source", url, "--user-path", "%n/Maildir", "--domain", DOMAIN, "--users-file", users_file,
                "--ssh-key", self.sshd.key_file, "--ssh-known-hosts", self.sshd.known_hosts, *target]
        dry = harness.run("mailmig", *sync, "--dry-run", check=0, cwd=self.work, env=self.env)
        self.assertEqual(plan, changed(folder_counts(dry.stdout)), dry.stdout)
        self.assertRegex(dry.stdout, KEPT)
        self.assertEqual(at_backup, imap_contents(dc, USERS), "the dry run changed the target")
        done = harness.run("mailmig", *sync, check=0, cwd=self.work, env=self.env)
        self.assertEqual(plan, changed(folder_counts(done.stdout)), done.stdout)
        self.assertRegex(done.stdout, KEPT)
        self.assertEqual(expected, imap_contents(dc, USERS))
        again = harness.run("mailmig", *sync, check=0, cwd=self.work, env=self.env)
        self.assertEqual({}, changed(folder_counts(again.stdout)), again.stdout)
        self.assertEqual(expected, imap_contents(dc, USERS))

    def test_3_killed_sync_maildirs_then_the_same_command(self):
        self.seed(per_folder=4)
        self.import_backup()
        # Much new mail on the live host, so the kill lands mid-run.
        new = 0
        for user in USERS:
            inbox = os.path.join(self.homes, user, "Maildir")
            for i in range(300):
                write_message(inbox, "cur", f"1800001{i:03d}.K{i}P5.sme:2,S", message(user, "INBOX", 1000 + i, 30_000),
                              1800001000 + i)
                new += 1
        expected = with_parents(tree_contents(self.homes, USERS))
        files_before = self.mail_files()
        args = [harness.binary("sync_maildirs"), "-s", "127.0.0.1", "-p", str(self.sshd.port), "--ssh-user",
                self.sshd.user, "--ssh-key", self.sshd.key_file, "--ssh-known-hosts", self.sshd.known_hosts,
                "--source-path", self.homes, "--target-path", self.vmail, "--domain", DOMAIN]
        proc = subprocess.Popen(args, cwd=self.work, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        arrived = 0
        while proc.poll() is None and time.monotonic() < deadline:
            arrived = self.mail_files() - files_before
            if arrived >= new // 4:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
        self.assertEqual(-signal.SIGKILL, proc.returncode, f"the run ended before the kill ({arrived} of {new})")
        self.assertLess(self.mail_files() - files_before, new, "nothing left to do after the kill")
        before_source = harness.tree_snapshot(self.sme)
        resumed = self.sync_maildirs()
        self.assertRegex(resumed.stdout, r"total\s+complete\s+")
        self.assertEqual(expected, tree_contents(self.vmail))  # what the killed run wrote is not copied again
        self.assertEqual(before_source, harness.tree_snapshot(self.sme), "the source was modified")
        again = self.sync_maildirs()
        self.assertEqual({}, changed(folder_counts(again.stdout)), again.stdout)
        self.assertEqual(expected, tree_contents(self.vmail))

    def mail_files(self):
        count = 0
        for dirpath, _dirs, files in os.walk(self.vmail):
            if os.path.basename(dirpath) in ("cur", "new"):
                count += len(files)
        return count


if __name__ == "__main__":
    harness.main()
