"""kill -9 at seeded points of a migration into a Maildir target, resumed with
the same command each time (docs/reliability.md).

After the last run: no message file in new/ or cur/ that is not a whole
source message, no duplicate, nothing left in any tmp/, each folder's
`dovecot-uidlist` names exactly the files there, and a real Dovecot serving
the tree lists the same UIDs and counts and every source message once with
its flags and date; `mailmig verify` exits 0.

Bounded: 6 kill points over ~3,000 messages in 10 accounts, --jobs 4.
MAILMIG_RELIABILITY=long: 20 points over 20,000 messages."""
import collections
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
import unittest

from kill_common import (LONG, KillLog, MaildirSource, assert_same_mail, count_maildir_messages, harness,
                         pick_points, run_killed_at, seed_for, tail)
import imap_readback as rb
from servers.dovecot import PrivateDovecot
from test_maildir_cli import owner_spec

POINTS, MESSAGES = (20, 20000) if LONG else (6, 3000)


def read_uidlist(path):
    """(header fields, {uid: file base name}) of a dovecot-uidlist (version 3)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = lines[0].split()
    records = {}
    for line in lines[1:]:
        if not line:
            continue
        fields, name = line.split(":", 1) if " :" in line else (line.split(" ", 1)[0], line.split(" ", 1)[1])
        records[int(fields.split()[0])] = name.split(":2,")[0]
    return header, records


class KillMigrateIntoMaildir(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.owner = owner_spec()

    def test_migrate_killed_at_random_points_then_resumed(self):
        seed = seed_for(3737)
        rng = random.Random(seed)
        source = MaildirSource(os.path.join(self.work, "src"), "killmd.test", 10, MESSAGES, seed)
        total = source.total()
        tree = os.path.join(self.work, "tree")
        target = ["--target", "maildir:" + tree, "--target-user-path", "%d/%n/Maildir"] + (
            ["--owner", self.owner] if self.owner else [])
        state = os.path.join(self.work, "state")
        args = ["migrate", *source.args(), *target, "--state", state, "--jobs", "4",
                "--report", os.path.join(self.work, "report.json")]
        log = KillLog(seed, f"migrate into Maildir, {total} messages, {POINTS} kill points")
        started = time.monotonic()
        for i, point in enumerate(pick_points(rng, total // 50, total * 19 // 20, POINTS)):
            out = os.path.join(self.work, f"run-{i}.out")
            # A point the previous run already passed (the watcher polls) moves just ahead.
            point = max(point, count_maildir_messages(tree) + rng.randrange(1, 60))
            rc, seconds, at = run_killed_at(args, self.work, out, lambda: count_maildir_messages(tree), point,
                                            rng.uniform(0, 0.25))
            log.note(point=point, killed=rc is None, at=at, exit=rc, seconds=round(seconds, 1))
            self.assertIn(rc, (None, 0), f"{log}\n{tail(out)}")
        self.assertGreaterEqual(log.killed(), POINTS // 2 + 1, log)
        out = os.path.join(self.work, "final.out")
        rc, seconds, _ = run_killed_at(args, self.work, out, lambda: 0, 1 << 60, 0)
        log.note(final_exit=rc, seconds=round(seconds, 1))
        self.assertEqual(0, rc, f"{log}\n{tail(out)}")

        # On disk: whole messages only, each once per folder, nothing in tmp/.
        expected = source.expected()
        whole = {sha for folders in expected.values() for c in folders.values() for sha, _, _ in c}
        uidlists = {}
        for dirpath, dirnames, filenames in os.walk(tree):
            if dirpath.endswith("/tmp"):
                self.assertEqual([], filenames, f"orphaned files in {dirpath}\n{log}")
            if dirpath.endswith("/cur") or dirpath.endswith("/new"):
                for name in filenames:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        data = f.read()
                    sha = hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")).hexdigest()
                    self.assertIn(sha, whole, f"not a whole source message: {dirpath}/{name}\n{log}")
            if "dovecot-uidlist" in filenames:
                files = {n.split(":2,")[0] for sub in ("cur", "new")
                         for n in os.listdir(os.path.join(dirpath, sub))}
                header, records = read_uidlist(os.path.join(dirpath, "dovecot-uidlist"))
                self.assertEqual(files, set(records.values()), f"{dirpath}: dovecot-uidlist vs files\n{log}")
                self.assertEqual(len(records), len(set(records.values())), f"{dirpath}: a file twice\n{log}")
                next_uid = int(next(h[1:] for h in header if h.startswith("N")))
                self.assertGreater(next_uid, max(records, default=0), f"{dirpath}: N{next_uid}\n{log}")
                uidlists[dirpath] = records
        self.assertTrue(uidlists, "no dovecot-uidlist written")

        # A real Dovecot over the tree: the same UIDs, every message once with flags and date.
        dovecot = PrivateDovecot(users={u: "Any#Pw1" for u in source.users},
                                 mail_location=f"maildir:{tree}/%d/%n/Maildir")
        dovecot.start()
        self.addCleanup(dovecot.stop)
        for user in source.users:
            imap = dovecot.login_master(user)
            try:
                for folder in rb.list_folders(imap):
                    base = os.path.join(tree, "killmd.test", user.split("@")[0], "Maildir")
                    path = base if folder == "INBOX" else os.path.join(base, "." + folder)
                    try:
                        uids = [uid for uid, *_ in rb.fetch_folder(imap, folder)]
                    except AssertionError as e:
                        # Seen once under ASan: [SERVERBUG] on SELECT of a folder
                        # whose files and uidlist had passed the checks above;
                        # Dovecot's own logs say why.
                        raise AssertionError(f"{user} {folder}: {e}\n{log}\n{dovecot.log_text(8000)}") from e
                    self.assertEqual(sorted(uidlists.get(path, {})), uids, f"{user} {folder}: UIDs\n{log}")
            finally:
                imap.logout()
        assert_same_mail(self, expected, dovecot, log)
        verify = harness.run("mailmig", "verify", *source.args(), *target, "--state", state, cwd=self.work)
        self.assertEqual(0, verify.returncode, f"{log}\n{verify.stdout[-3000:]}")
        print(f"\n{log}\n  total {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    harness.main()
