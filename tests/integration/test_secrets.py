"""No password used in a run leaks: a full migration of a generated CommuniGate
store into the private Dovecot, with users created by the passwd-file
provisioner and every password option of mailmig (--set-password,
--force-set-password, --master-password-file, the store's own plain
passwords, the generated ones), hooks and an IMAP trace.  The test collects
every file the run produced (stdout/stderr, --log, --report, the state
directory with its database, the trace, what the hooks saw) and the argv of
the running process (/proc/PID/cmdline, polled by the test and read by the
hooks from their parent) and of the hooks themselves, and fails on any
password in plain, base64 (at every alignment) or URL-encoded form.  The
.pass file is where passwords belong: it must be mode 0600 instead.  State
directories are 0700.  The secret options warn that others can read them."""
import ast
import base64
import csv
import os
import re
import subprocess
import time
import unittest
import urllib.parse

import harness
from servers.dovecot import PrivateDovecot

SET_PASSWORD = "SetPw#Kept-4471"
FORCE_PASSWORD = "ForcePw#Only-9923"


def store_plain_passwords():
    """The plain passwords the generator writes into account.settings."""
    with open(os.path.join(harness.ARGS.tools, "gen_cgp_store.py"), encoding="utf-8") as f:
        source = f.read()
    found = [ast.literal_eval(m.group(1))
             for m in re.finditer(r'set_password\(\w+, "plain", ("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')', source)]
    if len(found) < 3:
        raise AssertionError(f"the generator's plain passwords were not found ({found})")
    return found


def encodings(secret):
    """Forms in which `secret` must not appear: plain, base64 at the three
    alignments it can have inside a longer base64 text (inner part only),
    URL-encoded."""
    raw = secret.encode("utf-8")
    forms = {raw}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).rstrip(b"=")
        inner = encoded[4:-4] if shift else encoded[:-4]
        if len(inner) >= 8:
            forms.add(inner)
    for quoted in (urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)):
        forms.add(quoted.encode("ascii"))
    return forms


class NoSecretLeaks(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.out = os.path.join(self.work, "out")  # everything the runs produce
        os.makedirs(self.out)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.secrets_dir = os.path.join(self.work, "secrets")  # our inputs, secret by design
        os.makedirs(self.secrets_dir, mode=0o700)
        self.master = os.path.join(self.secrets_dir, "master.pw")
        with open(self.master, "w", encoding="utf-8") as f:
            f.write(self.server.master_password + "\n")
        os.chmod(self.master, 0o600)

    def run_watched(self, args):
        """Runs mailmig, polling /proc/PID/cmdline while it runs; returns
        (returncode, stdout, stderr, set of argv snapshots)."""
        proc = subprocess.Popen([harness.binary("mailmig"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=self.work)
        snapshots = set()
        path = f"/proc/{proc.pid}/cmdline"
        # The first snapshot may predate the scrubbing (the kernel shows argv as
        # exec passed it until the program rewrites it): only what is seen after
        # the program wrote its first output line counts; the hooks' view of
        # their parent is checked in full.
        while proc.poll() is None:
            try:
                with open(path, "rb") as f:
                    snapshots.add(f.read())
            except OSError:
                pass
            time.sleep(0.005)
        stdout, stderr = proc.communicate()
        return proc.returncode, stdout, stderr, snapshots

    def test_nothing_but_the_pass_file_holds_a_password(self):
        store, manifest = harness.generate_store(self.work, "test", seed=31)
        hook_dir = os.path.join(self.out, "hooks")
        os.makedirs(hook_dir)
        # Each hook records mailmig's argv (its parent, while the run goes on),
        # its own argv and its environment.
        hook = (f'cat /proc/$PPID/cmdline > "{hook_dir}/parent-argv.$$"; '
                f'cat /proc/$$/cmdline > "{hook_dir}/hook-argv.$$"; env > "{hook_dir}/env.$$"')
        pass_file = os.path.join(self.out, "run.pass")
        state = os.path.join(self.out, "state")
        common = ["--target", f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file,
                  "--auth", "dovecot-master", "--master-user", self.server.master_user,
                  "--master-password-file", self.master, "--provision", "dovecot:" + self.server.passwd_file,
                  "--state", state, "--password-file-out", pass_file, "--hook-before-account", hook,
                  "--hook-after-account", hook]
        rc1, out1, err1, argv1 = self.run_watched(
            ["-v", "migrate", "--source", "cgp:" + store, *common, "--set-password", SET_PASSWORD, "--jobs", "2",
             "--log", os.path.join(self.out, "run1.log"), "--report", os.path.join(self.out, "run1.json"),
             "--trace", os.path.join(self.out, "run1.trace")])
        self.assertEqual(1, rc1, (out1 + err1).decode(errors="replace")[-3000:])  # the store has broken mailboxes
        self.assertIn(b"--set-password on the command line can be read by other users", err1)
        # One account alone, with --force-set-password (the generator's john@ of the main domain).
        main = next(d for d in manifest["domains"] if d["main"])
        rc2, out2, err2, argv2 = self.run_watched(
            ["migrate", "--source", "cgp:" + store, *common, "--user", "john@" + main["name"], "--force",
             "--force-set-password", FORCE_PASSWORD, "--log", os.path.join(self.out, "run2.log"),
             "--report", os.path.join(self.out, "run2.json"), "--trace", os.path.join(self.out, "run2.trace")])
        self.assertIn(rc2, (0, 1), (out2 + err2).decode(errors="replace")[-3000:])
        self.assertIn(b"--force-set-password on the command line can be read by other users", err2)
        for name, data in (("stdout1", out1), ("stderr1", err1), ("stdout2", out2), ("stderr2", err2)):
            with open(os.path.join(self.out, name), "wb") as f:
                f.write(data)

        # The .pass file: where the passwords set belong, private.
        self.assertEqual(0o600, os.stat(pass_file).st_mode & 0o777)
        with open(pass_file, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        generated = [r[1] for r in rows if len(r) >= 3 and r[-1] == "generated"]
        # --set-password wins over generating one: it went to the created users.
        self.assertIn(SET_PASSWORD, [r[1] for r in rows if len(r) >= 2])
        # State directories are private.
        self.assertEqual(0o700, os.stat(state).st_mode & 0o777)
        for root, dirs, _ in os.walk(state):
            for d in dirs:
                self.assertEqual(0o700, os.stat(os.path.join(root, d)).st_mode & 0o777, os.path.join(root, d))

        secrets = {SET_PASSWORD, FORCE_PASSWORD, self.server.master_password, *store_plain_passwords(),
                   *(p for p in generated if len(p) >= 6)}
        forms = {form: secret for secret in secrets for form in encodings(secret)}

        # Files the runs produced (the hooks' records included), the .pass file excepted.
        files = 0
        hooks_seen = 0
        for root, _, names in os.walk(self.out):
            for name in names:
                path = os.path.join(root, name)
                if path == pass_file:
                    continue
                files += 1
                hooks_seen += name.startswith("parent-argv.")
                with open(path, "rb") as f:
                    data = f.read()
                for form, secret in forms.items():
                    self.assertNotIn(form, data, f"{path} holds a password ({secret!r}) as {form!r}")
        self.assertGreater(hooks_seen, 2, "the hooks did not run")
        self.assertGreater(files, 10)
        # The process lists seen while the runs went on (after start-up).
        for snapshot in argv1 | argv2:
            if b"xxxx" not in snapshot and (SET_PASSWORD.encode() in snapshot or FORCE_PASSWORD.encode() in snapshot):
                continue  # read before the program scrubbed its argv (microseconds after exec)
            for form, secret in forms.items():
                self.assertNotIn(form, snapshot, f"argv of the running mailmig holds {secret!r}")
        self.assertTrue(any(b"xxxx" in s for s in argv1), "no snapshot of the scrubbed argv was taken")


if __name__ == "__main__":
    harness.main()
