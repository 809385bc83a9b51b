"""cg2kms -migrate end to end: Kerio master authentication (test front end)
and Kerio admin API user creation (test server), both NOT Kerio, relaying to a
private Dovecot. Password rules, .pass and .log files, -force, -quiet."""
import csv
import glob
import os
import unittest

import harness
import imap_readback as rb
from imap_readback import login_plain
from servers.dovecot import PrivateDovecot
from servers.kerio_admin_api import KerioAdminApiWithDovecot
from servers.kerio_imap_frontend import KerioImapTestFrontend

MASTER = "Kerio#Master1"


def read_pass(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["account", "password", "how"], rows
    return {r[0]: (r[1], r[2]) for r in rows[1:]}


class Cg2kmsMigrate(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.store, self.manifest = harness.generate_store(self.work, "sample", seed=31)
        self.dovecot = PrivateDovecot()
        self.dovecot.start()
        self.addCleanup(self.dovecot.stop)
        self.kerio = KerioImapTestFrontend(self.dovecot, MASTER)
        self.kerio.start()
        self.addCleanup(self.kerio.stop)
        # Users created through the admin API become Dovecot users, as on a real Kerio.
        self.api = KerioAdminApiWithDovecot(self.dovecot, admin_user="Admin", admin_password=MASTER,
                                            domains=[d["name"] for d in self.manifest["domains"]])
        self.api.start()
        self.addCleanup(self.api.stop)
        self.run_dir = os.path.join(self.work, "run")
        os.mkdir(self.run_dir)

    def cg2kms(self, *args, check=None):
        return harness.run("cg2kms", "-path", self.store, "-migrate", "-server", "127.0.0.1", "-port",
                           str(self.kerio.port), "-password", MASTER, "-adminUrl", self.api.url, "-caFile",
                           self.api.ca_file, "-state", os.path.join(self.work, "state"), *args, check=check,
                           cwd=self.run_dir)

    def files(self, pattern):
        return sorted(glob.glob(os.path.join(self.run_dir, pattern)))

    def test_whole_store_migrates_completely_and_verifiably(self):
        before = harness.tree_snapshot(self.store)
        proc = self.cg2kms("-force", check=0)
        self.assertEqual(before, harness.tree_snapshot(self.store))
        for d in self.manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = self.dovecot.login_master(user)
                rb.compare_account(self, imap, a, user)
                imap.logout()
                self.assertIn(user, proc.stdout)  # one status line per folder on screen
        (pass_file,) = self.files("cg2kms_*.pass")
        (log_file,) = self.files("cg2kms_*.log")
        self.assertRegex(os.path.basename(pass_file), r"^cg2kms_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\.pass$")
        self.assertEqual(0o600, os.stat(pass_file).st_mode & 0o777)
        rows = read_pass(pass_file)
        for d in self.manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                password, how = rows[user]
                self.assertEqual({"plain": "migrated", "encrypted": "generated", "none": "generated"}[a["password"]],
                                 how, user)
                imap = login_plain(self.dovecot, user, password)  # the password handed out works
                imap.logout()
        with open(log_file, encoding="utf-8") as f:
            log = f.read()
        self.assertIn("INBOX", log)
        self.assertNotIn(MASTER, log)
        for password, _ in rows.values():
            self.assertNotIn(password, log)
        # again: nothing left to do
        proc = self.cg2kms("-force", check=0)
        self.assertRegex(proc.stdout, r"total\s+complete\s+0\s+%d" % self.manifest["totals"]["messages"])

    def test_password_precedence(self):
        domain = "mail.example.com"
        accounts = {a["name"]: a for d in self.manifest["domains"] if d["name"] == domain for a in d["accounts"]}
        encrypted = next(n for n, a in accounts.items() if a["password"] == "encrypted")
        plain = next(n for n, a in accounts.items() if a["password"] == "plain" and n != "john")
        cases = [
            (encrypted, ["-forceSetPass", "Forced#1"], "forced", "Forced#1"),
            (plain, ["-setPass", "Set#1"], "migrated", None),
            (encrypted, ["-setPass", "Set#2"], "set", "Set#2"),
        ]
        for i, (user, extra, how, password) in enumerate(cases):
            for f in self.files("cg2kms_*.pass"):
                os.remove(f)
            if i > 0:  # a fresh target user for each row
                self.api.users.get(domain, {}).pop(user, None)
            state = os.path.join(self.work, f"state{i}")
            proc = harness.run("cg2kms", "-path", self.store, "-migrate", "-server", "127.0.0.1", "-port",
                               str(self.kerio.port), "-password", MASTER, "-adminUrl", self.api.url, "-caFile",
                               self.api.ca_file, "-state", state, "-domain", domain, "-user", user, "-force", *extra,
                               check=0, cwd=self.run_dir)
            (pass_file,) = self.files("cg2kms_*.pass")
            rows = read_pass(pass_file)
            got_password, got_how = rows[f"{user}@{domain}"]
            self.assertEqual(how, got_how, (user, extra, proc.stdout))
            if password:
                self.assertEqual(password, got_password)
            self.assertEqual(got_password, self.api.users[domain][user]["password"])

    def test_existing_user_is_not_migrated_without_force(self):
        self.api.add_user("example.org", "alan", "Old#Pw1")
        proc = self.cg2kms("-domain", "example.org", "-user", "alan", check=1)
        self.assertIn("already exists", proc.stdout)
        imap = self.dovecot.login_master("alan@example.org")
        self.assertEqual([], rb.fetch_folder(imap, "INBOX"))
        imap.logout()
        self.cg2kms("-domain", "example.org", "-user", "alan", "-force", check=0)
        self.assertEqual("Old#Pw1", self.api.users["example.org"]["alan"]["password"])  # password left alone
        account = next(a for d in self.manifest["domains"] for a in d["accounts"] if a["name"] == "alan")
        imap = self.dovecot.login_master("alan@example.org")
        rb.compare_account(self, imap, account, "alan")
        imap.logout()

    def test_quiet(self):
        proc = self.cg2kms("-domain", "example.org", "-quiet", check=0)
        self.assertEqual("", proc.stdout)
        self.assertEqual("", proc.stderr)
        self.assertEqual(1, len(self.files("cg2kms_*.log")))


if __name__ == "__main__":
    harness.main()
