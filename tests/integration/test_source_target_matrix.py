"""Issue 7's "Done when": every source works with every target through
`mailmig migrate`, `sync` and `verify`.

Sources: cgp:STORE (the generator's sample profile), maildir:TREE, mbox:TREE,
imap:// (a private Dovecot filled here) and archive:FILE (a tar.gz of a
Maildir tree). Targets: imap:// (a private Dovecot, master login, users
provisioned into its passwd-file) and maildir:DIR (written directly, owned by
Dovecot's mail user when we are root, and served by a second private Dovecot
so what was written is read back over IMAP).

For each of the 10 pairs: migrate copies everything (exit 0), verify agrees
(exit 0), the target read back equals the source; then the source changes
(one new message and one flag change; the archive is rebuilt with one more
message), sync copies exactly that (report totals), verify agrees again, the
read back still matches, and a third run (sync) is a no-op.

Every pair has its own copy of the source (the IMAP source: its own users),
its own --state, and its own domains on the targets: one Dovecot per role
serves all pairs. Each pair is a test method with a subTest, so
`-k cgp_to_maildir` runs one and a failure names its pair.
"""
import json
import os
import shutil
import tarfile
import tempfile
import time
import unittest

import harness
from cgp_store_edit import append_mbox_message, mbox_letters, read_mbox, set_mbox_flags
import imap_readback as rb
from servers.dovecot import PrivateDovecot
from test_imap_source import KEYWORDS, SYSTEM_FLAGS, ZONES, RawImap, imap_quote
from test_imap_source import message as imap_message
from test_maildir_cli import owner_spec
from test_sources import CTIME, DATE, build_maildir, build_mbox, message, write
from test_sync import target_folders

SOURCES = ("cgp", "maildir", "mbox", "imap", "archive")
TARGETS = ("imap", "maildir")
PATTERN = "%d/%n/Maildir"                 # --target-user-path of the Maildir target
CGP_SEEDS = {"imap": 71, "maildir": 72}   # one sample store per cgp pair


def pair_domain(source, target):
    """The target domain of a pair's accounts (the cgp store keeps its own two)."""
    return f"{source}-to-{target}.matrix.test"


# ---------------------------------------------------------------- source trees

MAILDIR_LETTERS = ["", "S", "RS", "FS", "DS", "S", "F", "RFS", "", "S"]


def add_maildir_account(box, tag):
    """A second Maildir++ account: INBOX (10), Work (4), Work/Reports (2); returns 16."""
    count = 0
    for folder, n in (("", 10), (".Work", 4), (".Work.Reports", 2)):
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, folder, d), exist_ok=True)
        for i in range(n):
            letters = MAILDIR_LETTERS[(i + len(folder)) % len(MAILDIR_LETTERS)]
            data = message(f"{tag} {folder or 'INBOX'} {i}", f"Message {i} of {tag}{folder}.\nSecond line.\n")
            write(os.path.join(box, folder, "cur", f"{DATE + i}.M{i}P7.{tag}:2,{letters}"), data, DATE + 60 * i)
            count += 1
    write(os.path.join(box, "subscriptions"), b"Work\nWork/Reports\n")
    return count


def build_maildir_tree(root, domain):
    """test_sources' Maildir tree (alice: keywords, uidlist, new/, a non-ASCII folder)
    moved to `domain`, plus carol; returns (users, message count)."""
    build_maildir(root)
    os.rename(os.path.join(root, "example.org"), os.path.join(root, domain))
    count = 5 + add_maildir_account(os.path.join(root, domain, "carol", "Maildir"), "carol")
    return [f"alice@{domain}", f"carol@{domain}"], count


def mbox_record(subject, body, storage=b"", sender="sender@example.org"):
    """One mboxrd record with its storage headers and the separating empty line
    (body lines starting with From are already quoted by the caller)."""
    header, content = message(subject, body).split(b"\n\n", 1)
    return f"From {sender} {CTIME}\n".encode() + header + b"\n" + storage + b"\n" + content + b"\n"


def build_mbox_tree(root, domain):
    """test_sources' mbox tree (bob: spool with quoted From lines, a Dovecot-kept
    file, an empty mailbox) moved to `domain` without its not-a-mailbox file,
    plus dave (spool of 6, Work of 4); returns (users, message count)."""
    build_mbox(root)
    os.unlink(os.path.join(root, "example.net", "bob", "mail", "notes.txt"))  # reported: exit 1
    os.rename(os.path.join(root, "example.net"), os.path.join(root, domain))
    storages = [b"Status: RO\n", b"Status: RO\nX-Status: A\n", b"Status: O\n", b"", b"Status: RO\nX-Status: F\n",
                b"Status: RO\nX-Status: AF\n"]
    spool = b"".join(mbox_record(f"dave {i}", f"Spool message {i}.\n>From the start of a line\n", storages[i])
                     for i in range(6))
    write(os.path.join(root, "spool", "dave"), spool)
    work = b"".join(mbox_record(f"dave work {i}", f"Work message {i}.\n", storages[(i + 2) % 6]) for i in range(4))
    write(os.path.join(root, domain, "dave", "mail", "Work"), work)
    return [f"bob@{domain}", f"dave@{domain}"], 3 + 10


def write_archive(tree, path):
    """A tar.gz of the Maildir tree (vmail/<domain>/<user>/Maildir), replaced atomically."""
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        tar.add(tree, arcname="vmail")
    os.replace(tmp, path)


def fill_imap_account(server, user, alice):
    """alice: INBOX (12, flag/keyword/date combinations, some bare-LF), Work (4),
    Entwürfe (1), Archive/2023 (2, under a \\Noselect parent); anyone else:
    INBOX (5). Returns the message count."""
    imap = RawImap(server, user)
    try:
        if not alice:
            imap.append_many("INBOX", [([], None, imap_message(f"{user}-{i}")) for i in range(5)])
            return 5
        for name in ("Work", "Entwürfe", "Archive/2023"):
            imap.command("CREATE " + imap_quote(rb.mutf7_encode(name)))
        for name in ("INBOX", "Work", "Archive/2023"):
            imap.command("SUBSCRIBE " + imap_quote(rb.mutf7_encode(name)))
        inbox = []
        for mask in range(12):
            flags = [f for i, f in enumerate(SYSTEM_FLAGS) if (mask * 5) & (1 << i)]
            keywords = [k for i, k in enumerate(KEYWORDS) if mask % (i + 2) == 0]
            date = f"{1 + mask:02d}-{('Jan', 'Jun', 'Dec')[mask % 3]}-2023 {mask:02d}:{mask * 4:02d}:07 " \
                   f"{ZONES[mask % len(ZONES)]}"
            inbox.append((flags + keywords, date, imap_message(f"{user}-inbox-{mask}", lf=mask % 4 == 1)))
        imap.append_many("INBOX", inbox)
        imap.append_many("Work", [([], None, imap_message(f"{user}-work-{i}", lf=i % 2 == 0)) for i in range(4)])
        imap.append_many(rb.mutf7_encode("Entwürfe"), [(["\\Draft"], None, imap_message(f"{user}-entwurf"))])
        imap.append_many("Archive/2023", [(["\\Seen"], "15-Jan-2023 12:00:00 +0100", imap_message(f"{user}-arch-{i}"))
                                          for i in range(2)])
        return 12 + 4 + 1 + 2
    finally:
        imap.close()


# ---------------------------------------------------------------- the test

class Pair:
    """One source/target combination: its directory, source arguments, accounts,
    the number of messages the source holds, and how to change the source."""

    def __init__(self, source, target, root):
        self.source, self.target = source, target
        self.name = f"{source}->{target}"
        self.dir = os.path.join(root, f"{source}-to-{target}")
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.domain = pair_domain(source, target)
        self.source_args = []
        self.users = []
        self.messages = 0
        self.runs = 0


class SourceTargetMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailmig-matrix-")
        os.chmod(cls.work, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.owner = owner_spec()
        cls.started = time.monotonic()

        # The IMAP source: alice and bob of each imap pair's domain.
        cls.imap_users = {target: [f"alice@{pair_domain('imap', target)}", f"bob@{pair_domain('imap', target)}"]
                          for target in TARGETS}
        cls.imap_source = PrivateDovecot(users={u: "Source#Pw1" for us in cls.imap_users.values() for u in us})
        cls.imap_source.start()
        cls.addClassCleanup(cls.imap_source.stop)
        cls.imap_counts = {}
        for users in cls.imap_users.values():
            for user in users:
                cls.imap_counts[user] = fill_imap_account(cls.imap_source, user, user.startswith("alice@"))

        # The IMAP target: users created by mailmig (--provision dovecot:FILE).
        cls.imap_target = PrivateDovecot()
        cls.imap_target.start()
        cls.addClassCleanup(cls.imap_target.stop)

        # The Maildir target: one tree, served by a Dovecot that reads it.
        cls.tree = os.path.join(cls.work, "maildir-target")
        cls.tree_server = PrivateDovecot(mail_location=f"maildir:{cls.tree}/{PATTERN}")
        cls.tree_server.start()
        cls.addClassCleanup(cls.tree_server.stop)

        cls.passwords = {}
        for name, server in (("source", cls.imap_source), ("imap-target", cls.imap_target),
                             ("tree-server", cls.tree_server)):
            path = os.path.join(cls.work, name + ".master.pw")
            with open(path, "w") as f:
                f.write(server.master_password + "\n")
            os.chmod(path, 0o600)
            cls.passwords[name] = path
        print(f"\nmatrix setup: {time.monotonic() - cls.started:.1f}s", flush=True)

    # ------------------------------------------------------------ the sources

    def make_pair(self, source, target):
        pair = Pair(source, target, self.work)
        getattr(self, "prepare_" + source)(pair)
        return pair

    def prepare_cgp(self, pair):
        pair.store, manifest = harness.generate_store(pair.dir, "sample", seed=CGP_SEEDS[pair.target])
        pair.source_args = ["--source", "cgp:" + pair.store]
        pair.users = [f'{a["name"]}@{d["name"]}' for d in manifest["domains"] for a in d["accounts"]]
        pair.messages = manifest["totals"]["messages"]

    def change_cgp(self, pair):
        """cgp_store_edit: a message appended to john's INBOX.mbox, the flags of its first changed."""
        inbox = os.path.join(pair.store, "Accounts", "john.macnt", "INBOX.mbox")
        first = mbox_letters(read_mbox(inbox)[0])
        append_mbox_message(inbox, "matrix-1", "S")
        set_mbox_flags(inbox, 0, "F" if first != "F" else "S")
        return 1, 1

    def prepare_maildir(self, pair):
        pair.root = os.path.join(pair.dir, "vmail")
        pair.users, pair.messages = build_maildir_tree(pair.root, pair.domain)
        pair.source_args = ["--source", "maildir:" + pair.root, "--user-path", pair.root + "/%d/%n/Maildir"]

    def change_maildir(self, pair):
        """A file in alice's cur/ with flags in its name (not in her dovecot-uidlist yet),
        and one of carol's messages renamed with another flag."""
        alice = os.path.join(pair.root, pair.domain, "alice", "Maildir", "cur")
        data = message("after stage 1", "New in the Maildir.\n")
        write(os.path.join(alice, f"{DATE + 5000}.M99P8.h,S={len(data)}:2,FS"), data, DATE + 5000)
        carol = os.path.join(pair.root, pair.domain, "carol", "Maildir", "cur")
        name = sorted(n for n in os.listdir(carol) if n.endswith(":2,S"))[0]
        os.rename(os.path.join(carol, name), os.path.join(carol, name[:-len("S")] + "RS"))
        return 1, 1

    def prepare_mbox(self, pair):
        pair.root = os.path.join(pair.dir, "mboxes")
        pair.users, pair.messages = build_mbox_tree(pair.root, pair.domain)
        pair.source_args = ["--source", "mbox:" + pair.root, "--user-path", pair.root + "/%d/%n/mail",
                            "--inbox-path", pair.root + "/spool/%n"]

    def change_mbox(self, pair):
        """dave's spool: a message appended, the first one's Status: RO becomes O (unseen)."""
        spool = os.path.join(pair.root, "spool", "dave")
        with open(spool, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"From "), data[:200])
        first = data.index(b"Status: RO\n")
        self.assertLess(first, data.index(b"\n\nFrom "), "the first record must carry Status: RO")
        data = data[:first] + b"Status: O\n" + data[first + len(b"Status: RO\n"):]
        data += mbox_record("dave after stage 1", "Appended to the spool.\n", b"Status: RO\n",
                            sender="s2@example.net")
        with open(spool, "wb") as f:
            f.write(data)
        return 1, 1

    def prepare_imap(self, pair):
        pair.users = self.imap_users[pair.target]
        pair.messages = sum(self.imap_counts[u] for u in pair.users)
        users_file = os.path.join(pair.dir, "users.txt")
        with open(users_file, "w") as f:
            f.write("".join(u + "\n" for u in pair.users))
        # Dovecot offers STARTTLS, which the source always takes: its CA must be trusted.
        pair.source_args = ["--source", f"imap://127.0.0.1:{self.imap_source.imap_port}",
                            "--source-ca-file", self.imap_source.ca_file, "--source-auth", "dovecot-master",
                            "--source-master-user", self.imap_source.master_user,
                            "--source-master-password-file", self.passwords["source"], "--users-file", users_file]

    def change_imap(self, pair):
        """APPEND to alice's INBOX, STORE +FLAGS \\Flagged on her first Work message."""
        imap = self.imap_source.login_master(pair.users[0])
        try:
            typ, data = imap.append("INBOX", "(\\Seen)", None, imap_message(f"{pair.users[0]}-after-stage-1"))
            self.assertEqual("OK", typ, data)
            typ, data = imap.select("Work")
            self.assertEqual("OK", typ, data)
            typ, data = imap.uid("SEARCH", "ALL")
            typ, data = imap.uid("STORE", data[0].split()[0], "+FLAGS", "(\\Flagged)")
            self.assertEqual("OK", typ, data)
        finally:
            imap.logout()
        return 1, 1

    def prepare_archive(self, pair):
        pair.tree = os.path.join(pair.dir, "archive-tree")
        pair.users, pair.messages = build_maildir_tree(pair.tree, pair.domain)
        pair.archive = os.path.join(pair.dir, "vmail.tar.gz")
        write_archive(pair.tree, pair.archive)
        pair.source_args = ["--source", "archive:" + pair.archive]

    def change_archive(self, pair):
        """The backup taken again with one more message in carol's Work."""
        data = message("after stage 1", "New before the second backup.\n")
        write(os.path.join(pair.tree, pair.domain, "carol", "Maildir", ".Work", "cur",
                           f"{DATE + 5000}.M98P8.h:2,S"), data, DATE + 5000)
        write_archive(pair.tree, pair.archive)
        return 1, 0

    # -------------------------------------------------------- running mailmig

    def target_args(self, pair, command):
        if pair.target == "imap":
            t = self.imap_target
            args = ["--target", f"imap://127.0.0.1:{t.imap_port}", "--ca-file", t.ca_file,
                    "--auth", "dovecot-master", "--master-user", t.master_user,
                    "--master-password-file", self.passwords["imap-target"]]
            if command != "verify":
                args += ["--provision", "dovecot:" + t.passwd_file,
                         "--password-file-out", os.path.join(pair.dir, f"run{pair.runs}.pass")]
            return args
        args = ["--target", "maildir:" + self.tree, "--target-user-path", PATTERN]
        if command != "verify" and self.owner:
            args += ["--owner", self.owner]
        return args

    def mailmig(self, pair, command, check=0):
        """Runs migrate/sync/verify for the pair; returns (process, report dict)."""
        pair.runs += 1
        report = os.path.join(pair.dir, f"{pair.runs}-{command}.json")
        args = [command, *pair.source_args, *self.target_args(pair, command), "--state", pair.state,
                "--report", report]
        proc = harness.run("mailmig", *args, cwd=pair.dir)
        if proc.returncode != check:
            raise AssertionError(
                f"{pair.name}: mailmig {' '.join(args)}\nexit {proc.returncode}, expected {check}\n"
                f"stdout:\n{proc.stdout[-5000:]}\nstderr:\n{proc.stderr[-3000:]}")
        with open(report, encoding="utf-8") as f:
            return proc, json.load(f)

    def assert_totals(self, pair, step, report, **expected):
        got = {k: report["totals"].get(k) for k in expected}
        self.assertEqual(expected, got, f"{pair.name} {step}: {json.dumps(report['totals'])}")

    def assert_verified(self, pair, step, messages):
        proc, data = self.mailmig(pair, "verify")
        self.assertTrue(data["ok"], f"{pair.name} {step}:\n{proc.stdout[-3000:]}")
        t = data["totals"]
        self.assertEqual((messages, messages, 0), (t["messages_source"], t["messages_target"], t["differences"]),
                         f"{pair.name} {step}: {json.dumps(t)}")

    # ------------------------------------------------------ reading both sides

    def source_contents(self, pair, user):
        """{folder: sorted [(sha256, flags)]} of the selectable folders the source has now."""
        if pair.source == "imap":
            return target_folders(self.imap_source, user)  # EXAMINE + BODY.PEEK: the source is not changed
        proc = harness.run("mailmig", "inventory", *pair.source_args, "--json", "--messages", "--user", user,
                           check=0)
        data = json.loads(proc.stdout)
        accounts = [a for d in data["domains"] for a in d["accounts"] if f'{a["name"]}@{d["name"]}' == user]
        self.assertEqual(1, len(accounts), f"{pair.name}: {user} in the source inventory")
        return {f["name"]: sorted((m["sha256"], frozenset(rb.expected_flags(m["flags"], m["keywords"])))
                                  for m in f.get("list", []))
                for f in accounts[0]["folders"] if f["selectable"]}

    def target_server(self, pair):
        if pair.target == "imap":
            return self.imap_target
        # Logging in to an account whose Maildir is not there yet would make Dovecot create it.
        for user in pair.users:
            name, domain = user.split("@")
            self.assertTrue(os.path.isdir(os.path.join(self.tree, domain, name, "Maildir")), f"{pair.name}: {user}")
        self.tree_server.add_users({u: "Any#Pw1" for u in pair.users if u not in self.tree_server.users})
        return self.tree_server

    def assert_same(self, pair, step):
        """Read back over IMAP, every account holds exactly the source's messages and flags."""
        server = self.target_server(pair)
        for user in pair.users:
            src = self.source_contents(pair, user)
            dst = target_folders(server, user)
            for folder, messages in src.items():
                if messages:
                    self.assertIn(folder, dst, f"{pair.name} {step}: {user} {folder} missing on the target")
                self.assertEqual(messages, dst.get(folder, []), f"{pair.name} {step}: {user} {folder}")
            for folder in set(dst) - set(src):
                self.assertEqual([], dst[folder], f"{pair.name} {step}: {user} {folder} only on the target")

    # ------------------------------------------------------------- one pair

    def run_pair(self, source, target):
        started = time.monotonic()
        with self.subTest(source=source, target=target):
            pair = self.make_pair(source, target)
            self.assertGreater(pair.messages, 10, pair.name)

            proc, report = self.mailmig(pair, "migrate")
            self.assert_totals(pair, "migrate", report, copied=pair.messages, failed=0, errors=0)
            self.assert_verified(pair, "after migrate", pair.messages)
            self.assert_same(pair, "after migrate")

            copied, flag_changes = getattr(self, "change_" + source)(pair)
            proc, report = self.mailmig(pair, "sync")
            self.assert_totals(pair, "sync", report, copied=copied, flag_changes=flag_changes, deleted_on_source=0,
                               failed=0, errors=0)
            self.assert_verified(pair, "after sync", pair.messages + copied)
            self.assert_same(pair, "after sync")

            proc, report = self.mailmig(pair, "sync")
            self.assert_totals(pair, "second sync", report, copied=0, flag_changes=0, deleted_on_source=0,
                               failed=0, errors=0)
        print(f"\n{source}->{target}: {time.monotonic() - started:.1f}s", flush=True)


def _pair_test(source, target):
    def test(self):
        self.run_pair(source, target)
    test.__name__ = f"test_{source}_to_{target}"
    test.__doc__ = f"{source}: -> {target}: migrate, verify, change, sync, verify, no-op sync"
    return test


for _source in SOURCES:
    for _target in TARGETS:
        setattr(SourceTargetMatrix, f"test_{_source}_to_{_target}", _pair_test(_source, _target))


if __name__ == "__main__":
    harness.main()
