"""kill -9 at seeded points of the other long commands (docs/reliability.md):
verify, `mailmig directory transplant` and `mailmig config takeover
--move-data`. The kill points are offsets drawn from a seeded RNG over the
duration of an uninterrupted reference run of the same command on the same
data; after the kills, the same command finishes and its result equals the
reference's:

* verify: a kill leaves nothing behind (no temporary file, the state
  unchanged); the report is absent or complete, never a part;
* directory transplant: the directory read back with ldapsearch equals the
  uninterrupted run's, entry for entry;
* config takeover --move-data: the configuration tree equals the
  uninterrupted run's, every attachment file once with its bytes, the backups
  of both directories hold the trees as they were before the first run."""
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import unittest

from kill_common import LONG, KillLog, MaildirSource, harness, pick_points, run_killed_at, seed_for, tail

INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration")
sys.path.insert(0, INTEGRATION)
from directory_data import as_dict, ldif_of, zarafa_entries  # noqa: E402
from servers.slapd import PrivateSlapd  # noqa: E402

POINTS = 12 if LONG else 4
DIRECTORY_ENTRIES = 3000 if LONG else 1000
VERIFY_MESSAGES = 20000 if LONG else 3000
DATA = os.path.join(INTEGRATION, "..", "data")
ZARAFA = os.path.abspath(os.path.join(DATA, "directory", "zarafa.schema"))
KOPANO = os.path.abspath(os.path.join(DATA, "directory", "kopano.schema"))


def timed(args, cwd, out):
    started = time.monotonic()
    rc, _, _ = run_killed_at(args, cwd, out, lambda: 0, 1 << 60, 0)
    return rc, time.monotonic() - started


def tree_files(root, replace=None):
    """{relative path: (mode, sha256 or link target)} of a tree; `replace` (old, new) bytes in contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.islink(path):
                value = os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    data = f.read()
                if replace:
                    data = data.replace(*replace)
                value = hashlib.sha256(data).hexdigest()
            else:
                value = "dir"
            out[os.path.relpath(path, root)] = (st.st_mode, value)
    return out


def state_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.iterdump())
    finally:
        db.close()


class KillTools(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)

    def kill_loop(self, args, cwd, duration, rng, log, after_kill=None):
        """POINTS runs killed at seeded offsets within `duration`; stops early when one completes."""
        for i in range(POINTS):
            delay = rng.uniform(0.05, 0.6) * duration
            out = os.path.join(self.work, f"{log.label.split()[0]}-{i}.out")
            rc, seconds, _ = run_killed_at(args, cwd, out, lambda: 1, 0, delay)
            log.note(after=round(delay, 2), killed=rc is None, exit=rc)
            if after_kill:
                after_kill(rc, out)
            if rc is not None:
                break
        self.assertGreaterEqual(log.killed(), 1, log)

    def test_verify_killed_leaves_nothing_behind(self):
        seed = seed_for(5151)
        rng = random.Random(seed)
        source = MaildirSource(os.path.join(self.work, "src"), "killverify.test", 10, VERIFY_MESSAGES, seed)
        tree = os.path.join(self.work, "tree")
        state = os.path.join(self.work, "state")
        target = ["--target", "maildir:" + tree, "--target-user-path", "%d/%n/Maildir"]
        harness.run("mailmig", "migrate", *source.args(), *target, "--state", state, "--quiet", check=0,
                    cwd=self.work)
        reports = os.path.join(self.work, "reports")
        os.mkdir(reports)
        report = os.path.join(reports, "verify.json")
        html = os.path.join(reports, "verify.html")
        args = ["verify", *source.args(), *target, "--state", state, "--jobs", "4", "--report", report,
                "--html", html]
        rows = state_rows(os.path.join(state, "state.sqlite"))
        state_files = sorted(os.listdir(state))
        rc, duration = timed(args, self.work, os.path.join(self.work, "verify-reference.out"))
        self.assertEqual(0, rc, tail(os.path.join(self.work, "verify-reference.out")))
        with open(report, encoding="utf-8") as f:
            reference = json.load(f)
        log = KillLog(seed, f"verify {source.total()} messages, reference {duration:.1f} s")

        def after_kill(rc, out):
            # The report of the reference run stays until a run replaces it whole.
            self.assertEqual(sorted(os.listdir(reports)), ["verify.html", "verify.json"], log)
            with open(report, encoding="utf-8") as f:
                self.assertEqual(reference["totals"], json.load(f)["totals"], log)
            self.assertEqual(state_files, sorted(os.listdir(state)), f"{log}\n{tail(out)}")
            self.assertEqual(rows, state_rows(os.path.join(state, "state.sqlite")), log)
            self.assertEqual([], os.listdir(os.path.join(self.work, "tmp")), log)

        os.mkdir(os.path.join(self.work, "tmp"))
        os.environ["TMPDIR"] = os.path.join(self.work, "tmp")
        self.addCleanup(os.environ.pop, "TMPDIR")
        os.unlink(report)
        os.unlink(html)
        # Without an earlier report: absent after a kill, never a part.
        rc, _, _ = run_killed_at(args, self.work, os.path.join(self.work, "verify-first.out"), lambda: 1, 0,
                                 rng.uniform(0.05, 0.6) * duration)
        log.note(first_without_report=True, killed=rc is None)
        if rc is None:
            self.assertEqual([], os.listdir(reports), log)
        else:
            self.assertEqual(0, rc)
        timed(args, self.work, os.path.join(self.work, "verify-again.out"))
        self.kill_loop(args, self.work, duration, rng, log, after_kill)
        rc, _ = timed(args, self.work, os.path.join(self.work, "verify-final.out"))
        self.assertEqual(0, rc, log)
        print(f"\n{log}", flush=True)

    def test_directory_transplant_killed_then_rerun(self):
        seed = seed_for(6262)
        rng = random.Random(seed)
        servers = []
        for _ in range(2):
            ldap = PrivateSlapd(schemas=[ZARAFA, KOPANO]).start()
            self.addCleanup(ldap.stop)
            entries = zarafa_entries(ldap.suffix, DIRECTORY_ENTRIES)
            path = os.path.join(self.work, f"data-{len(servers)}.ldif")
            with open(path, "w", encoding="utf-8") as f:
                f.write(ldif_of(entries))
            ldap._client("ldapadd", ["-f", path])
            servers.append(ldap)

        def args(ldap):
            return ["directory", "transplant", "--rules", "zarafa-kopano", "--old-schema", ZARAFA, "--ldap", ldap.url,
                    "--bind-dn", ldap.admin_dn, "--bind-password-file", ldap.password_file, "--base", ldap.suffix]

        def state(ldap):
            return {e.dn: as_dict(e) for e in ldap.search(attrs=["*"])}

        reference, killed = servers
        rc, duration = timed(args(reference), self.work, os.path.join(self.work, "dir-reference.out"))
        self.assertEqual(0, rc, tail(os.path.join(self.work, "dir-reference.out")))
        log = KillLog(seed, f"directory transplant of {DIRECTORY_ENTRIES} entries, reference {duration:.1f} s")
        # Its run time varies too much under load for time offsets: the kill
        # points count the change records the run has written (--ldif-out).
        changes = os.path.join(self.work, "changes.ldif")
        command = [*args(killed), "--ldif-out", changes]

        def records():
            try:
                with open(changes, "rb") as f:
                    return f.read().count(b"\ndn:")
            except FileNotFoundError:
                return 0

        for i in range(POINTS):
            point = rng.randrange(10, DIRECTORY_ENTRIES // (POINTS + 1))
            if os.path.exists(changes):
                os.unlink(changes)  # the count starts from this run's records
            rc, seconds, at = run_killed_at(command, self.work, os.path.join(self.work, f"dir-{i}.out"), records,
                                            point, rng.uniform(0, 0.05))
            log.note(point=point, killed=rc is None, at=at, exit=rc, seconds=round(seconds, 2))
            self.assertIn(rc, (None, 0), log)
        self.assertGreaterEqual(log.killed(), POINTS // 2 + 1, log)
        rc, _ = timed(command, self.work, os.path.join(self.work, "dir-final.out"))
        self.assertEqual(0, rc, f"{log}\n{tail(os.path.join(self.work, 'dir-final.out'))}")
        self.assertEqual(state(reference), state(killed), log)
        print(f"\n{log}", flush=True)

    def test_config_takeover_killed_then_rerun(self):
        seed = seed_for(7373)
        rng = random.Random(seed)
        root_fs = os.geteuid() == 0
        env_copy = {} if root_fs else {"MAILMIG_MOVE_DATA_COPY": "1"}

        def setup(name):
            base = os.path.join(self.work, name)
            files = {}
            old = os.path.join(base, "var-lib-zarafa", "attachments")
            for i in range(600 if LONG else 300):
                rel = f"{i % 10}/{i // 10 % 10}/{i}"
                data = hashlib.sha256(str(i).encode()).digest() * (1024 + 97 * i % 4096)
                os.makedirs(os.path.join(old, os.path.dirname(rel)), exist_ok=True)
                with open(os.path.join(old, rel), "wb") as f:
                    f.write(data)
                files[rel] = hashlib.sha256(data).hexdigest()
            shutil.copytree(os.path.join(DATA, "config", "etc-zarafa"), os.path.join(base, "zarafa"), symlinks=True)
            shutil.copytree(os.path.join(DATA, "config", "kopano-defaults"), os.path.join(base, "kopano"),
                            symlinks=True)
            with open(os.path.join(base, "zarafa", "server.cfg"), "a", encoding="utf-8") as f:
                f.write(f"attachment_path = {old}\n")
            new_parent = os.path.join(base, "newfs")
            os.mkdir(new_parent)
            if root_fs:  # another file system: the move copies and verifies
                subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", new_parent], check=True)
                self.addCleanup(subprocess.run, ["umount", new_parent], check=True)
            backups = os.path.join(base, "backups")
            os.mkdir(backups)
            before = {d: tree_files(os.path.join(base, d)) for d in ("zarafa", "kopano")}
            return base, files, before, [
                "config", "takeover", "--from", os.path.join(base, "zarafa"), "--to", os.path.join(base, "kopano"),
                "--rules", "zarafa-kopano", "--owner", "root:root", "--backup-dir", backups,
                "--move-data", old, os.path.join(new_parent, "attachments")]

        env = dict(os.environ, **env_copy)
        ref_base, files, _, ref_args = setup("reference")
        started = time.monotonic()
        reference = subprocess.run([harness.binary("mailmig"), *ref_args], env=env, capture_output=True, text=True)
        duration = time.monotonic() - started
        self.assertIn(reference.returncode, (0, 1), reference.stdout + reference.stderr)
        base, _, before, args = setup("killed")
        log = KillLog(seed, f"config takeover moving {len(files)} files, reference {duration:.2f} s")
        os.environ.update(env_copy)
        self.addCleanup(lambda: [os.environ.pop(k, None) for k in env_copy])
        # Points count the files the move has verified (lines of its state
        # file, which the resumed runs continue): the run is too short and
        # varies too much under load for time offsets alone.
        move_state = os.path.join(base, "newfs", "attachments", ".mailmig-move-data.state")

        def moved_files():
            try:
                with open(move_state, "rb") as f:
                    return f.read().count(b"\n")
            except FileNotFoundError:
                return 0

        for i, point in enumerate(pick_points(rng, 5, len(files) * 9 // 10, POINTS)):
            point = max(point, moved_files() + rng.randrange(1, 10))
            rc, seconds, at = run_killed_at(args, self.work, os.path.join(self.work, f"config-{i}.out"), moved_files,
                                            point, rng.uniform(0, 0.02))
            log.note(point=point, killed=rc is None, at=at, exit=rc, seconds=round(seconds, 2))
            if rc is not None:
                break
        self.assertGreaterEqual(log.killed(), POINTS // 2 + 1, log)
        final = subprocess.run([harness.binary("mailmig"), *args], env=env, capture_output=True, text=True)
        self.assertEqual(reference.returncode, final.returncode, f"{log}\n{final.stdout}\n{final.stderr}")
        replace = (ref_base.encode(), base.encode())
        self.assertEqual(tree_files(os.path.join(ref_base, "kopano"), replace), tree_files(os.path.join(base, "kopano")),
                         log)
        moved = {}
        new = os.path.join(base, "newfs", "attachments")
        for dirpath, _, names in os.walk(new):
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    moved[os.path.relpath(os.path.join(dirpath, name), new)] = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(files, moved, log)
        # The backups hold both directories as they were before the first run.
        backups = os.path.join(base, "backups")
        found = {}
        for entry in os.listdir(backups):
            for d, snapshot in before.items():
                if tree_files(os.path.join(backups, entry)) == snapshot:
                    found[d] = entry
        self.assertEqual({"zarafa", "kopano"}, set(found), f"{log}\nbackups: {os.listdir(backups)}")
        print(f"\n{log}", flush=True)


if __name__ == "__main__":
    harness.main()
