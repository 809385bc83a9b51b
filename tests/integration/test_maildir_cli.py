"""The Maildir target through the real command line (`--target maildir:PATH`,
`--target-user-path`, `--fsync`, `--owner`), served afterwards by a private
Dovecot 2.3 that reads the tree mailmig wrote:

1. migrate a generated CommuniGate store into maildir:DIR; every account
   read back over IMAP equals the manifest (bytes, flags, dates, folders,
   exactly once); `verify --target maildir:DIR` and `verify --target imap://`
   (that Dovecot) exit 0 on the clean accounts and 1 only for the planted
   source errors; a re-run is a no-op;
2. kill -9 at several moments of a larger migration, then resume: every
   message exactly once, and at no moment a partial message visible through
   Dovecot (Dovecot also serves the tree between the kills);
3. stage 2: the store edited on disk, a message delivered through Dovecot,
   `sync --delete` applies exactly the difference and leaves Dovecot's mail;
4. a maildir: source (the tree of 1 after Dovecot expunged and appended in
   it) into maildir:DIR2: UIDVALIDITY and UIDs as in DIR's dovecot-uidlist.
"""
import grp
import json
import os
import pwd
import signal
import subprocess
import time
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot
from test_sync import (add_mdir_message, append_mbox_message, delete_mbox_message, mbox_letters, mdir_files,
                       mdir_letters, new_message, read_mbox, set_mbox_flags, set_mdir_flags, source_folders)

# Accounts of the 'test' profile without planted source errors (as in test_verify.py).
CLEAN = ["john@mail.example.com", "legacy@mail.example.com", "mary@mail.example.com",
         "postmaster@mail.example.com", "alan@example.org"]
JOHN = "john@mail.example.com"
PATTERN = "%d/%n/Maildir"


def owner_spec():
    """USER:GROUP Dovecot's mail processes run as (nobody when we are root)."""
    if os.geteuid() != 0:
        return None
    try:
        nobody = pwd.getpwnam("nobody")
        return f"nobody:{grp.getgrgid(nobody.pw_gid).gr_name}"
    except KeyError:
        raise unittest.SkipTest("no user nobody to own the tree Dovecot serves")


def accounts_of(manifest):
    return [(f'{a["name"]}@{d["name"]}', a) for d in manifest["domains"] for a in d["accounts"]]


def message_files(root):
    """{relative path: size} of every message file in cur/ and new/ under root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) in ("cur", "new"):
            for name in files:
                path = os.path.join(dirpath, name)
                out[os.path.relpath(path, root)] = os.path.getsize(path)
    return out


def uidlists(root):
    """{relative folder dir: (uidvalidity, {uid: file base})} from every dovecot-uidlist under root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        if "dovecot-uidlist" not in files:
            continue
        with open(os.path.join(dirpath, "dovecot-uidlist"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        header = lines[0].split()
        assert header[0] == "3", (dirpath, lines[0])
        uidvalidity = next(int(h[1:]) for h in header[1:] if h.startswith("V"))
        uids = {}
        for line in lines[1:]:
            if not line:
                continue
            uid, rest = line.split(" ", 1)
            uids[int(uid)] = rest[rest.index(":") + 1:]
        out[os.path.relpath(dirpath, root)] = (uidvalidity, uids)
    return out


def total_of(report, key):
    return report["totals"][key]


class MaildirThroughTheCli(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.owner = owner_spec()
        self.runs = 0

    # ------------------------------------------------------------- helpers

    def mailmig(self, command, source, target_dir, *args, check=0, state="state"):
        """Runs migrate/sync into maildir:target_dir; returns (process, report)."""
        self.runs += 1
        report = os.path.join(self.work, f"report{self.runs}.json")
        extra = ["--owner", self.owner] if self.owner else []
        proc = harness.run("mailmig", command, "--source", source, "--target", "maildir:" + target_dir,
                           "--target-user-path", PATTERN, *extra, "--state", os.path.join(self.work, state),
                           "--report", report, *args, check=check, cwd=self.work)
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def verify(self, source, *target_args, check, state=None, users=None):
        self.runs += 1
        report = os.path.join(self.work, f"verify{self.runs}.json")
        args = ["verify", "--source", source, *target_args, "--report", report]
        if state:
            args += ["--state", os.path.join(self.work, state)]
        if users:
            args += ["--users-file", users]
        proc = harness.run("mailmig", *args, check=check, cwd=self.work)
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def dovecot(self, tree, users):
        """A private Dovecot serving `tree` (the layout of --target-user-path %d/%n/Maildir)."""
        dc = PrivateDovecot(users={u: "Any#Pw1" for u in users}, mail_location=f"maildir:{tree}/%d/%n/Maildir")
        dc.start()
        self.addCleanup(dc.stop)
        return dc

    def imap(self, dc, user):
        imap = dc.login_master(user)
        self.addCleanup(quietly, imap.logout)
        return imap

    def imap_args(self, dc):
        master = os.path.join(self.work, "master.pw")
        with open(master, "w") as f:
            f.write(dc.master_password + "\n")
        os.chmod(master, 0o600)
        return ["--target", f"imap://127.0.0.1:{dc.imap_port}", "--ca-file", dc.ca_file, "--auth", "dovecot-master",
                "--master-user", dc.master_user, "--master-password-file", master]

    def assert_owned(self, tree):
        if not self.owner:
            return
        uid = pwd.getpwnam(self.owner.split(":")[0]).pw_uid
        for dirpath, dirs, files in os.walk(tree):
            for name in dirs + files:
                path = os.path.join(dirpath, name)
                if os.path.dirname(path) == tree:  # the domain directories below the root
                    continue
                self.assertEqual(uid, os.lstat(path).st_uid, path)

    # --------------------------------------------------------------- tests

    def test_1_migrate_read_back_verify_and_rerun(self):
        store, manifest = harness.generate_store(self.work, "test", seed=61)
        before = harness.tree_snapshot(store)
        tree = os.path.join(self.work, "mail")
        # The planted source errors make the run end with 1; what could be read is copied.
        proc, report = self.mailmig("migrate", "cgp:" + store, tree, "--fsync", "batch", check=1)
        self.assertEqual(before, harness.tree_snapshot(store), "the source store changed")
        self.assertIn("maildir:" + tree, proc.stdout)
        self.assertEqual(manifest["totals"]["messages"], total_of(report, "copied"), json.dumps(report["totals"]))
        files = message_files(tree)
        self.assertEqual(manifest["totals"]["messages"], len(files))
        self.assertEqual([], [p for p in files if "/tmp/" in p])
        for dirpath, _dirs, names in os.walk(tree):
            if os.path.basename(dirpath) == "tmp":
                self.assertEqual([], names, dirpath)
        self.assert_owned(tree)
        lists = uidlists(tree)
        self.assertTrue(lists)

        users = [u for u, _ in accounts_of(manifest)]
        dc = self.dovecot(tree, users)
        for user, account in accounts_of(manifest):
            rb.compare_account(self, self.imap(dc, user), account, user)
        self.assertNotIn("Error", dc.log_text(), dc.log_text())

        clean = os.path.join(self.work, "clean.txt")
        with open(clean, "w") as f:
            f.write("\n".join(CLEAN) + "\n")
        planted = {e["account"] + "@" + e["domain"] for e in manifest["expected_errors"]}
        maildir_target = ["--target", "maildir:" + tree, "--target-user-path", PATTERN]
        for target, state in ((maildir_target, "state"), (self.imap_args(dc), None)):
            proc, data = self.verify("cgp:" + store, *target, check=0, state=state, users=clean)
            self.assertTrue(data["ok"], proc.stdout[-3000:])
            self.assertEqual(sum(f["messages"] for u, a in accounts_of(manifest) if u in CLEAN
                                 for f in a["folders"] if f["selectable"]),
                             data["totals"]["messages_target"])
            # Every account: exit 1 only because of the planted errors, no differences.
            proc, data = self.verify("cgp:" + store, *target, check=1, state=state)
            self.assertEqual([], [(a["account"], d) for a in data["accounts"] for d in a["differences"]],
                             proc.stdout[-3000:])
            self.assertEqual(planted, {e["account"] + "@" + e["domain"] for e in data["errors"]})

        # A re-run is a no-op: nothing copied, no message file or uidlist changed
        # (Dovecot has meanwhile added its index files to the tree).
        proc, report = self.mailmig("migrate", "cgp:" + store, tree, check=1)
        self.assertEqual(0, total_of(report, "copied"), json.dumps(report["totals"]))
        self.assertEqual(manifest["totals"]["messages"], total_of(report, "already"))
        self.assertEqual(files, message_files(tree))
        self.assertEqual(lists, uidlists(tree))
        for user, account in accounts_of(manifest):
            rb.compare_account(self, self.imap(dc, user), account, user)

    def test_2_kill_9_then_resume_copies_each_message_once(self):
        store, manifest = harness.generate_store(self.work, "bench", seed=62, extra=("--messages", "6000"))
        expected = manifest["totals"]["messages"]
        source = source_folders(store)
        tree = os.path.join(self.work, "mail")
        args = [harness.binary("mailmig"), "migrate", "--source", "cgp:" + store, "--target", "maildir:" + tree,
                "--fsync", "always", "--state", os.path.join(self.work, "state"), "--jobs", "2", "--quiet"]
        if self.owner:
            args += ["--owner", self.owner]
        dc = None
        kills = 0
        for fraction in (0.1, 0.4, 0.7):
            proc = subprocess.Popen(args, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 300
            while proc.poll() is None and time.time() < deadline:
                if len(message_files(tree)) >= fraction * expected:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.01)
            proc.wait()
            if proc.returncode != -signal.SIGKILL:
                break
            # What Dovecot shows right after the kill: only complete source messages, each once.
            if dc is None:
                dc = self.dovecot(tree, list(source))
            self.assert_subset_of_source(dc, source, tree)
        self.assertGreaterEqual(kills, 1, "the migration finished before it could be killed")
        final = subprocess.run(args, cwd=self.work, capture_output=True, text=True)
        self.assertEqual(0, final.returncode, final.stdout[-3000:] + final.stderr[-3000:])
        self.assertEqual(expected, len(message_files(tree)))
        if dc is None:
            dc = self.dovecot(tree, list(source))
        for user, folders in source.items():
            self.assertEqual(folders, self.target_contents(dc, user, folders), user)

    def assert_subset_of_source(self, dc, source, tree):
        parts = [p.split(os.sep) for p in message_files(tree)]
        present = {f"{p[1]}@{p[0]}" for p in parts}
        for user, folders in source.items():
            if user not in present:  # logging in would make Dovecot create the Maildir itself
                continue
            for name, messages in self.target_contents(dc, user, folders).items():
                want = [sha for sha, _ in folders.get(name, [])]
                got = [sha for sha, _ in messages]
                for sha in set(got):
                    self.assertIn(sha, want, f"{user} {name}: not a complete source message")
                    # identical messages may exist in a folder: never more copies than the source has
                    self.assertLessEqual(got.count(sha), want.count(sha), f"{user} {name}: duplicated")

    def target_contents(self, dc, user, wanted):
        """{folder: sorted [(sha256, flags)]} for the folders of `wanted` that Dovecot lists."""
        imap = dc.login_master(user)
        try:
            names = rb.list_folders(imap)
            out = {}
            for name in wanted:
                if name in names:
                    out[name] = sorted((sha, frozenset(flags)) for _, sha, _, flags, _ in rb.fetch_folder(imap, name))
                else:
                    out[name] = []
            return out
        finally:
            quietly(imap.logout)

    def test_3_stage_two_sync_delete_into_the_tree_dovecot_serves(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=63)
        tree = os.path.join(self.work, "mail")
        proc, report = self.mailmig("sync", "cgp:" + store, tree, "--fsync", "never")
        self.assertEqual(manifest["totals"]["messages"], total_of(report, "copied"))
        users = [u for u, _ in accounts_of(manifest)]
        dc = self.dovecot(tree, users)
        for user, account in accounts_of(manifest):
            rb.compare_account(self, self.imap(dc, user), account, user)

        edit_john(store)
        # Mail delivered through the new server meanwhile: never ours to delete.
        imap = dc.login_master(JOHN)
        typ, data = imap.append("INBOX", None, None, new_message("direct").replace(b"\n", b"\r\n"))
        self.assertEqual("OK", typ, data)
        imap.logout()
        mary_before = self.target_contents(dc, "mary@mail.example.com",
                                           source_folders(store, "mary@mail.example.com")["mary@mail.example.com"])

        proc, report = self.mailmig("sync", "cgp:" + store, tree, "--delete")
        t = report["totals"]
        self.assertEqual((5, 3, 3, 3), (t["copied"], t["flag_changes"], t["deleted_on_source"], t["removed"]),
                         json.dumps(t))
        source = source_folders(store, JOHN)[JOHN]
        target = self.target_contents(dc, JOHN, source)
        direct = [m for m in target["INBOX"] if m not in source["INBOX"]]
        self.assertEqual(1, len(direct), target["INBOX"])
        target["INBOX"].remove(direct[0])
        self.assertEqual(source, target)
        self.assertEqual(mary_before, self.target_contents(dc, "mary@mail.example.com", mary_before))
        self.assertNotIn("Error", dc.log_text(), dc.log_text())

        # A third sync: nothing to do.
        proc, report = self.mailmig("sync", "cgp:" + store, tree, "--delete")
        t = report["totals"]
        self.assertEqual((0, 0, 0, 0, 0), (t["copied"], t["flag_changes"], t["deleted_on_source"], t["removed"],
                                           t["errors"]), json.dumps(t))
        proc, data = self.verify("cgp:" + store, "--target", "maildir:" + tree, "--target-user-path", PATTERN,
                                 check=1, state="state")
        # verify reports the message Dovecot received directly as the only difference
        diffs = [(a["account"], d["folder"], d["kind"]) for a in data["accounts"] for d in a["differences"]]
        self.assertEqual([("john", "INBOX", "extra")], diffs, proc.stdout[-3000:])

    def test_4_maildir_source_keeps_uidvalidity_and_uids(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=64)
        tree = os.path.join(self.work, "mail")
        self.mailmig("migrate", "cgp:" + store, tree)
        users = [u for u, _ in accounts_of(manifest)]
        dc = self.dovecot(tree, users)
        # Dovecot makes the UIDs its own: an expunge leaves a gap, an append takes the next UID.
        imap = dc.login_master(JOHN)
        imap.select("INBOX")
        typ, data = imap.uid("SEARCH", "ALL")
        uids = data[0].split()
        self.assertGreater(len(uids), 3)
        imap.uid("STORE", uids[1], "+FLAGS", r"(\Deleted)")
        imap.expunge()
        typ, data = imap.append("INBOX", r"(\Flagged $Later)", None, new_message("dovecot").replace(b"\n", b"\r\n"))
        self.assertEqual("OK", typ, data)
        imap.logout()
        before = {}
        for user in users:
            before[user] = self.read_all(dc, user)
        lists = uidlists(tree)
        dc.stop()

        tree2 = os.path.join(self.work, "mail2")
        proc, report = self.mailmig("migrate", "maildir:" + tree, tree2, "--user-path", tree + "/%d/%n/Maildir",
                                    state="state2")
        self.assertEqual(sum(len(f[1]) for u in before.values() for f in u.values()), total_of(report, "copied"))
        dc2 = self.dovecot(tree2, users)
        for user in users:
            got = self.read_all(dc2, user)
            self.assertEqual(before[user], got, user)
        # ... and those are the UIDs and UIDVALIDITY of DIR's dovecot-uidlist files.
        lists2 = uidlists(tree2)
        self.assertEqual({k: (v, sorted(u)) for k, (v, u) in lists.items()},
                         {k: (v, sorted(u)) for k, (v, u) in lists2.items()})
        john_inbox = os.path.join("mail.example.com", "john", "Maildir")
        self.assertIn(int(uids[0]), lists2[john_inbox][1])
        self.assertNotIn(int(uids[1]), lists2[john_inbox][1])

    def read_all(self, dc, user):
        """{folder: (uidvalidity, [(uid, sha, size, flags, date)])} through IMAP."""
        imap = dc.login_master(user)
        try:
            out = {}
            for name in rb.list_folders(imap):
                messages = rb.fetch_folder(imap, name)
                out[name] = (int(imap.response("UIDVALIDITY")[1][0]), messages)
            return out
        finally:
            quietly(imap.logout)


def edit_john(store):
    """test_sync.py's stage-2 changes: 5 new messages, 3 flag changes, 3 deletions."""
    john = os.path.join(store, "Accounts", "john.macnt")
    inbox = os.path.join(john, "INBOX.mbox")
    append_mbox_message(inbox, "inbox-1")
    append_mbox_message(inbox, "inbox-2", "S")
    first = mbox_letters(read_mbox(inbox)[0])
    set_mbox_flags(inbox, 0, "F" if first != "F" else "S")
    set_mbox_flags(inbox, 3, "SA", ("$Work", "Later"))
    delete_mbox_message(inbox, 5)
    drafts = os.path.join(john, "Drafts.mdir")
    names = mdir_files(drafts)
    set_mdir_flags(drafts, names[0], "SF" if mdir_letters(names[0]) != "SF" else "A")
    os.unlink(os.path.join(drafts, names[1]))
    add_mdir_message(drafts, "drafts-1")
    delete_mbox_message(os.path.join(john, "Work.mbox"), 1)
    append_mbox_message(os.path.join(john, "Later.mbox"), "later-1")
    append_mbox_message(os.path.join(john, "Later.mbox"), "later-2", "SF")


def quietly(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 -- cleanup of a connection that may be gone
        pass


if __name__ == "__main__":
    harness.main()
