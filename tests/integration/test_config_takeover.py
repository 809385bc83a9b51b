"""`mailmig config takeover` on fixture trees (tests/data/config): /etc/zarafa
with administrator changes, Zarafa's pristine example configuration, and
Kopano's commented-out defaults.

1. merge with and without --old-defaults and copy: the destination equals the
   expected tree byte for byte, modes 640/750; the effective mysql_database and
   attachment_path still name the data; a second run changes nothing;
2. --dry-run writes nothing (tree snapshot) and shows the diffs;
3. failures (a file that cannot be written halfway through staging, a
   directory where a file must go) leave the destination byte-identical;
4. an owner that cannot be set is printed as the command to run (exit 1);
5. --move-data across two file systems (a tmpfs when root; else the copy path
   forced): killed halfway, resumed, every file exactly once and verified.
"""
import grp
import hashlib
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import time
import unittest

import harness

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "config")
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "rules", "config")
ROOT = os.geteuid() == 0


class ConfigTakeover(harness.unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.zarafa = os.path.join(self.work, "etc", "zarafa")
        self.kopano = os.path.join(self.work, "etc", "kopano")
        self.backups = os.path.join(self.work, "backups")
        os.makedirs(self.backups)
        os.makedirs(os.path.dirname(self.zarafa))
        shutil.copytree(os.path.join(DATA, "etc-zarafa"), self.zarafa, symlinks=True)
        shutil.copytree(os.path.join(DATA, "kopano-defaults"), self.kopano, symlinks=True)
        for root in (self.zarafa, self.kopano):
            for dirpath, dirs, files in os.walk(root):
                os.chmod(dirpath, 0o755)
                for f in files:
                    if not os.path.islink(os.path.join(dirpath, f)):
                        os.chmod(os.path.join(dirpath, f), 0o644)

    def takeover(self, *extra, check=None, env=None, **kw):
        owner = "root:root" if ROOT else f"{os.getuid()}:{os.getgid()}"
        args = ["config", "takeover", "--from", self.zarafa, "--to", self.kopano, "--rules", "zarafa-kopano",
                "--backup-dir", self.backups, *extra]
        if "--owner" not in extra:
            args += ["--owner", "root:root"]
        return harness.run("mailmig", *args, check=check, env=env, **kw)

    def assert_tree_equals_expected(self, name):
        expected = os.path.join(DATA, "expected", name)
        got = sorted(os.path.relpath(os.path.join(d, f), self.kopano)
                     for d, dirs, files in os.walk(self.kopano) for f in files + dirs)
        want = sorted(os.path.relpath(os.path.join(d, f), expected)
                      for d, dirs, files in os.walk(expected) for f in files + dirs)
        self.assertEqual(got, want)
        for rel in want:
            a, b = os.path.join(self.kopano, rel), os.path.join(expected, rel)
            if os.path.islink(b):
                self.assertEqual(os.readlink(a), os.readlink(b), rel)
            elif os.path.isfile(b):
                with open(a, "rb") as fa, open(b, "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), rel)
                self.assertEqual(os.stat(a).st_mode & 0o7777, 0o640, rel)
            else:
                self.assertEqual(os.stat(a).st_mode & 0o7777, 0o750, rel)
        self.assertEqual(os.stat(self.kopano).st_mode & 0o7777, 0o750)

    def effective(self, key, name="server.cfg"):
        value = None
        with open(os.path.join(self.kopano, name), encoding="utf-8") as f:
            for line in f:
                s = line.strip()
                if s.startswith("#") or "=" not in s:
                    continue
                k, v = s.split("=", 1)
                if k.strip() == key:
                    value = v.strip()
        return value

    def check_strategy(self, name, *extra):
        proc = self.takeover(*extra, check=1)  # exit 1: leftover zarafa values need a person
        self.assertIn("mysql_user = zarafa still names zarafa", proc.stdout)
        self.assertNotIn("fixture-db-password", proc.stdout)
        self.assert_tree_equals_expected(name)
        self.assertEqual(self.effective("mysql_database"), "zarafa")
        self.assertEqual(self.effective("attachment_path"), "/var/lib/zarafa/attachments")
        self.assertEqual(os.readlink(os.path.join(self.kopano, "webapp")), "/usr/share/kopano-webapp")
        backups = sorted(os.listdir(self.backups))
        self.assertEqual(len([b for b in backups if b.startswith("zarafa.bak-")]), 1)
        self.assertEqual(len([b for b in backups if b.startswith("kopano.bak-")]), 1)
        kopano_backup = os.path.join(self.backups, [b for b in backups if b.startswith("kopano.bak-")][0])
        with open(os.path.join(kopano_backup, "server.cfg"), "rb") as f, \
                open(os.path.join(DATA, "kopano-defaults", "server.cfg"), "rb") as g:
            self.assertEqual(f.read(), g.read())
        before = harness.tree_snapshot(self.work)
        again = self.takeover(*extra)
        self.assertIn("nothing to do", again.stdout)
        self.assertEqual(harness.tree_snapshot(self.work), before)
        return proc

    def test_merge_with_old_defaults(self):
        proc = self.check_strategy("merge-old-defaults", "--old-defaults", os.path.join(DATA, "zarafa-defaults"))
        self.assertIn("server_ssl_enabled = yes is not read by kopano; use server_listen_tls", proc.stdout)
        self.assertNotIn("server_tcp_port = 236 is not read", proc.stdout)  # the default: nothing lost

    def test_merge_without_old_defaults(self):
        proc = self.check_strategy("merge")
        self.assertIn("server_tcp_port = 236 is not read by kopano", proc.stdout)

    def test_copy(self):
        self.check_strategy("copy", "--strategy", "copy")
        orig = self.kopano + "-orig"
        self.assertTrue(os.path.isfile(os.path.join(orig, "presence.cfg")))

    def test_dry_run_writes_nothing(self):
        before = harness.tree_snapshot(self.work)
        proc = self.takeover("--dry-run", "--old-defaults", os.path.join(DATA, "zarafa-defaults"), check=1)
        self.assertEqual(harness.tree_snapshot(self.work), before)
        self.assertIn(f"--- {self.kopano}/server.cfg\n+++ {self.kopano}/server.cfg\n", proc.stdout)
        self.assertIn("-#mysql_database = kopano\n+mysql_database = zarafa\n", proc.stdout)
        self.assertIn("renamed    server.cfg:143         enable_hosted_zarafa -> enable_hosted_kopano", proc.stdout)
        self.assertIn(f"chmod 640 {self.kopano}/server.cfg", proc.stdout)
        self.assertIn("mysql_password = ********", proc.stdout)
        self.assertNotIn("fixture-db-password", proc.stdout)
        js = json.loads(self.takeover("--dry-run", "--json", check=1).stdout)
        self.assertTrue(js["dry_run"])
        self.assertIn("server.cfg", [f["path"] for f in js["files"]])
        self.assertEqual(harness.tree_snapshot(self.work), before)

    def test_failure_halfway_leaves_destination(self):
        before = harness.tree_snapshot(self.kopano)
        # Every input file fits under the limit (the backups succeed); server.cfg
        # as approach b writes it (with its notes) does not: staging fails part way.
        biggest = max(os.lstat(os.path.join(d, f)).st_size for root in (self.zarafa, self.kopano)
                      for d, _, files in os.walk(root) for f in files)
        merged = os.path.getsize(os.path.join(DATA, "expected", "copy", "server.cfg"))
        self.assertGreater(merged, biggest)

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 1, biggest + 1))

        proc = self.takeover("--strategy", "copy", check=3, preexec_fn=limit)
        self.assertIn("is unchanged", proc.stderr)
        self.assertIn(".kopano.mailmig-staging/server.cfg: write: File too large", proc.stderr)
        self.assertEqual(harness.tree_snapshot(self.kopano), before)
        self.assertEqual([e for e in os.listdir(os.path.dirname(self.kopano)) if "staging" in e], [])
        # A directory where a file must go: nothing written either.
        os.remove(os.path.join(self.kopano, "spooler.cfg"))
        os.mkdir(os.path.join(self.kopano, "spooler.cfg"))
        before = harness.tree_snapshot(self.kopano)
        proc = self.takeover(check=3)
        self.assertIn("cannot be replaced", proc.stderr)
        self.assertEqual(harness.tree_snapshot(self.kopano), before)

    def test_owner_that_cannot_be_set_is_a_command(self):
        proc = self.takeover("--owner", "root:mailmig-no-such-group", check=1)
        self.assertIn(f"chown -R root:mailmig-no-such-group {self.kopano}", proc.stdout)

    def test_usage_errors(self):
        harness.run("mailmig", "config", "takeover", "--from", self.zarafa, "--to", self.kopano, check=2)
        harness.run("mailmig", "config", "takeover", "--from", self.zarafa + "-missing", "--to", self.kopano,
                    "--rules", "zarafa-kopano", check=2)
        harness.run("mailmig", "config", "takeover", "--from", self.zarafa, "--to", self.kopano,
                    "--rules", "no-such-rules", check=2)


class MoveData(harness.unittest.TestCase):
    """--move-data between two file systems, killed and resumed."""

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.env = dict(os.environ)
        self.old = os.path.join(self.work, "var-lib-zarafa", "attachments")
        if ROOT:
            # A second file system: a small tmpfs mounted for this test only.
            self.mnt = os.path.join(self.work, "tmpfs")
            os.mkdir(self.mnt)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", self.mnt], check=True)
            self.addCleanup(subprocess.run, ["umount", self.mnt], check=True)
            self.new = os.path.join(self.mnt, "attachments")
        else:
            self.new = os.path.join(self.work, "var-lib-kopano", "attachments")
            os.makedirs(os.path.dirname(self.new))
            self.env["MAILMIG_MOVE_DATA_COPY"] = "1"
        self.files = {}
        for i in range(300):
            rel = f"{i % 10}/{i // 10 % 10}/{i}"
            data = hashlib.sha256(str(i).encode()).digest() * (1024 + 97 * i % 4096)
            path = os.path.join(self.old, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            self.files[rel] = hashlib.sha256(data).hexdigest()
        self.zarafa = os.path.join(self.work, "zarafa")
        self.kopano = os.path.join(self.work, "kopano")
        shutil.copytree(os.path.join(DATA, "etc-zarafa"), self.zarafa, symlinks=True)
        shutil.copytree(os.path.join(DATA, "kopano-defaults"), self.kopano, symlinks=True)
        with open(os.path.join(self.zarafa, "server.cfg"), "a", encoding="utf-8") as f:
            f.write(f"attachment_path = {self.old}\n")

    def args(self):
        return [harness.binary("mailmig"), "config", "takeover", "--from", self.zarafa, "--to", self.kopano,
                "--rules", "zarafa-kopano", "--owner", "root:root", "--backup-dir", self.work,
                "--move-data", self.old, self.new]

    def test_killed_and_resumed(self):
        state = os.path.join(self.new, ".mailmig-move-data.state")
        proc = subprocess.Popen(self.args(), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                with open(state, encoding="utf-8") as f:
                    if len(f.readlines()) >= 30:
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        self.assertIsNone(proc.poll(), "the move finished before it could be killed")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Nothing lost at the kill: every file is in the source, or verified in the destination.
        for rel, sha in self.files.items():
            places = [p for p in (os.path.join(self.old, rel), os.path.join(self.new, rel)) if os.path.exists(p)]
            self.assertTrue(places, rel)
            with open(places[-1], "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha, rel)
        # The configuration was not swapped in before the data were moved.
        self.assertIsNone(re_value(os.path.join(self.kopano, "server.cfg"), "attachment_path"))

        proc = subprocess.run(self.args(), env=self.env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)  # leftover-name warnings
        self.assertIn("by copy", proc.stdout)
        moved = {}
        for dirpath, _, files in os.walk(self.new):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    moved[os.path.relpath(os.path.join(dirpath, name), self.new)] = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(moved, self.files)  # every file once, no state or part files left
        self.assertEqual([f for _, _, fs in os.walk(self.old) for f in fs], [])
        self.assertEqual(re_value(os.path.join(self.kopano, "server.cfg"), "attachment_path"), self.new)
        again = subprocess.run(self.args(), env=self.env, capture_output=True, text=True)
        self.assertIn("nothing to do", again.stdout)

    def test_one_file_system_is_a_rename(self):
        self.new = os.path.join(self.work, "var-lib-kopano", "attachments")
        os.makedirs(os.path.dirname(self.new), exist_ok=True)
        env = {k: v for k, v in self.env.items() if k != "MAILMIG_MOVE_DATA_COPY"}
        inode = os.stat(os.path.join(self.old, "0/0/0")).st_ino
        proc = subprocess.run(self.args(), env=env, capture_output=True, text=True)
        self.assertIn("by rename (one file system)", proc.stdout)
        self.assertEqual(os.stat(os.path.join(self.new, "0/0/0")).st_ino, inode)
        self.assertFalse(os.path.exists(self.old))
        self.assertEqual(re_value(os.path.join(self.kopano, "server.cfg"), "attachment_path"), self.new)

    @unittest.skipUnless(ROOT, harness.ROOT_ONLY + ": only root changes owners")
    def test_files_of_the_old_service_user_go_to_the_new_one(self):
        # The rules' service-user line, pointed at two users every Debian system has.
        rules = os.path.join(self.work, "owners.rules")
        with open(os.path.join(RULES, "zarafa-kopano.rules"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("service-user zarafa:zarafa kopano:kopano", text)
        with open(rules, "w", encoding="utf-8") as f:
            f.write(text.replace("service-user zarafa:zarafa kopano:kopano", "service-user nobody:nogroup daemon:daemon"))
        nobody, daemon = pwd.getpwnam("nobody"), pwd.getpwnam("daemon")
        nogroup, daemon_group = grp.getgrnam("nogroup").gr_gid, grp.getgrnam("daemon").gr_gid
        old_owned = sorted(self.files)[::3]
        for rel in old_owned:
            os.chown(os.path.join(self.old, rel), nobody.pw_uid, nogroup)
        args = [a if a != "zarafa-kopano" else rules for a in self.args()]
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True)
        self.assertIn(proc.returncode, (0, 1), proc.stdout + proc.stderr)  # 1: leftover-name warnings only
        for rel in self.files:
            st = os.stat(os.path.join(self.new, rel))
            expected = (daemon.pw_uid, daemon_group) if rel in old_owned else (0, 0)
            self.assertEqual((st.st_uid, st.st_gid), expected, rel)

    def test_dry_run_moves_nothing(self):
        proc = subprocess.run(self.args() + ["--dry-run"], env=self.env, capture_output=True, text=True)
        self.assertIn(f"data to move {self.old} -> {self.new}: 300 files", proc.stdout)
        self.assertEqual(sum(len(fs) for _, _, fs in os.walk(self.old)), 300)


def re_value(path, key):
    value = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s.startswith("#") and "=" in s and s.split("=", 1)[0].strip() == key:
                value = s.split("=", 1)[1].strip()
    return value


if __name__ == "__main__":
    harness.main()
