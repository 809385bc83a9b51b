"""`mailmig import-backup --provision ldap:URL` into a private slapd: the SME
Server groups and pseudonyms become LDAP entries (the mail goes to a
maildir: target, which needs no authentication).

1. a dry run changes nothing in the directory and says which entries it
   would create;
2. the import creates the users (old password hashes kept), one
   groupOfNames + extensibleObject entry per group with exactly its members'
   DNs and its address, each pseudonym as another `mail` value of its
   user's or group's entry; --aliases-out still writes the Postfix table;
   the log has no FAIL/ERROR line; a second run changes nothing in the
   directory (no value twice) and exits 0;
3. a user that exists already in another shape (objectClass account, which
   takes no `mail`): its pseudonym is a FAIL/ERROR line naming it, exit 1,
   every other user, group and pseudonym is imported;
4. with neither an LDAP provisioner nor --aliases-out the groups and
   pseudonyms are one problem line (not imported), exit 1.
"""
import os
import re
import tarfile
import unittest

import harness
from servers.slapd import PrivateSlapd
from test_archive_source import USERS, add
from test_import_backup import ACCOUNTS_DB, EXPECTED_ALIASES, MESSAGES, OLD_PASSWORDS, crypt_sha512, problem_lines

DOMAIN = "example.com"


def build_backup(path, accounts_db):
    """An SME full backup tar.gz like test_import_backup's, with `accounts_db`."""
    shadow = "".join(f"{u}:{crypt_sha512(p)}:19000:0:99999:7:::\n" for u, p in OLD_PASSWORDS.items())
    shadow += "mary:!!:19000:0:99999:7:::\n"
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "./etc/shadow", shadow.encode())
        add(tar, "./home/e-smith/db/configuration", b"DomainName=example.com\nSystemName=sme\n")
        add(tar, "./home/e-smith/db/accounts", accounts_db)
        for user, folder, name, data in MESSAGES:
            add(tar, f"./{USERS}{user}/Maildir/" + (folder + "/" if folder else "") + name, data)


def snapshot(ldap):
    """Every entry under the base: {dn: {attr: sorted values}} (values as stored, so
    a value stored twice would show)."""
    return {e.dn.lower(): {a: sorted(v) for a, v in e.items()} for e in ldap.search(ldap.people_dn)}


class ImportIntoLdap(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.ldap = PrivateSlapd()
        self.ldap.start()
        self.addCleanup(self.ldap.stop)
        self.base = self.ldap.people_dn

    def import_backup(self, backup, *args, log="import.log", check=None):
        argv = ["import-backup", backup, "--target", "maildir:" + os.path.join(self.work, "mail"),
                "--provision", "ldap:" + self.ldap.url, "--ldap-base", self.base,
                "--provision-user", self.ldap.admin_dn, "--provision-password-file", self.ldap.password_file,
                "--state", os.path.join(self.work, "state"), "--log", os.path.join(self.work, log), *args]
        return harness.run("mailmig", *argv, check=check, cwd=self.work)

    def entry(self, filter):
        entries = self.ldap.search(self.base, filter)
        self.assertEqual(1, len(entries), (filter, entries))
        return entries[0]

    def dn(self, rdn):
        return f"{rdn},{self.base}".lower()

    def members(self, group):
        return sorted(m.lower() for m in self.entry(f"(cn={group})")["member"])

    def test_groups_and_pseudonyms_become_entries(self):
        backup = os.path.join(self.work, "backup.tgz")
        build_backup(backup, ACCOUNTS_DB)
        empty = snapshot(self.ldap)

        plan = self.import_backup(backup, "--dry-run", log="dry.log", check=0)
        self.assertEqual(empty, snapshot(self.ldap), "a dry run writes nothing")
        self.assertIn(f"group sales@{DOMAIN}: would create or complete the LDAP entry cn=sales,{self.base}",
                      plan.stdout)
        self.assertIn(f"pseudonym info@{DOMAIN}: would add mail info@{DOMAIN} to the LDAP entry of sales@{DOMAIN}",
                      plan.stdout)
        self.assertIn(f"aliases: would write 2 group(s) and 2 pseudonym(s) to LDAP directory at {self.ldap.url}",
                      plan.stdout)

        aliases = os.path.join(self.work, "virtual")
        proc = self.import_backup(backup, "--aliases-out", aliases, check=0)
        self.assertEqual([], problem_lines(os.path.join(self.work, "import.log")), proc.stdout)
        self.assertIn(f"aliases: 2 group(s) and 2 pseudonym(s) written to LDAP directory at {self.ldap.url}",
                      proc.stdout)
        with open(aliases, encoding="utf-8") as f:
            self.assertEqual(EXPECTED_ALIASES, f.read())  # both, when both are asked for

        for user in ("john", "mary", "bob"):
            self.entry(f"(uid={user})")
        for user, password in OLD_PASSWORDS.items():
            self.assertTrue(self.ldap.can_bind(f"uid={user},{self.base}", password), user)
        self.assertEqual([self.dn("uid=john"), self.dn("uid=mary")], self.members("sales"))
        self.assertEqual([self.dn("uid=bob"), self.dn("uid=john"), self.dn("uid=mary")], self.members("staff"))
        sales = self.entry("(cn=sales)")
        self.assertEqual(self.dn("cn=sales"), sales.dn.lower())
        self.assertEqual(["extensibleObject", "groupOfNames", "top"], sorted(sales["objectClass"]))
        self.assertEqual([f"info@{DOMAIN}", f"sales@{DOMAIN}"], sorted(sales["mail"]))
        self.assertEqual([f"staff@{DOMAIN}"], self.entry("(cn=staff)")["mail"])
        self.assertEqual([f"john.doe@{DOMAIN}", f"john@{DOMAIN}"], sorted(self.entry("(uid=john)")["mail"]))
        self.assertEqual([f"mary@{DOMAIN}"], self.entry("(uid=mary)")["mail"])
        # The addresses resolve as a mail server asks: one entry per address.
        for address in ("sales", "staff", "info", "john.doe", "john", "mary", "bob"):
            self.entry(f"(mail={address}@{DOMAIN})")

        # Again: the directory stays exactly as it is, exit 0.
        before = snapshot(self.ldap)
        again = self.import_backup(backup, log="again.log", check=0)
        self.assertEqual([], problem_lines(os.path.join(self.work, "again.log")), again.stdout)
        self.assertIn("aliases: 2 group(s) and 2 pseudonym(s) written to", again.stdout)
        self.assertEqual(before, snapshot(self.ldap))

    def test_pseudonym_of_a_refused_user_is_a_problem(self):
        # bob exists already as an entry of another shape: not ours, and it takes no mail.
        self.ldap.add_entry(f"uid=bob,{self.base}", {"objectClass": ["top", "account"], "uid": "bob"})
        backup = os.path.join(self.work, "backup.tgz")
        build_backup(backup, ACCOUNTS_DB + b"bobby=pseudonym|Account|bob\n")
        proc = self.import_backup(backup, check=1)
        problems = problem_lines(os.path.join(self.work, "import.log"))
        bobby = [line for line in problems if f"pseudonym bobby@{DOMAIN}" in line]
        self.assertEqual(1, len(bobby), problems)
        self.assertIn(f"uid=bob,{self.base}", bobby[0])
        self.assertTrue(any(re.search(r"bob.*already exists on the target", line) for line in problems), problems)
        self.assertEqual([], [line for line in problems if "bob" not in line])  # nothing else failed
        self.assertIn("aliases: 2 group(s) and 2 pseudonym(s) written to", proc.stdout)
        self.assertIn("1 failed", proc.stdout)
        # Everything else is there.
        self.assertEqual(["account", "top"], sorted(self.entry("(uid=bob)")["objectClass"]))
        self.assertNotIn("mail", self.entry("(uid=bob)"))
        self.assertEqual([self.dn("uid=bob"), self.dn("uid=john"), self.dn("uid=mary")], self.members("staff"))
        self.assertEqual([self.dn("uid=john"), self.dn("uid=mary")], self.members("sales"))
        self.assertEqual([f"john.doe@{DOMAIN}", f"john@{DOMAIN}"], sorted(self.entry("(uid=john)")["mail"]))
        self.assertEqual([f"info@{DOMAIN}", f"sales@{DOMAIN}"], sorted(self.entry("(cn=sales)")["mail"]))


class NowhereToPutAliases(unittest.TestCase):
    def test_aliases_without_a_destination_are_a_problem(self):
        work = harness.make_tempdir(self)
        backup = os.path.join(work, "backup.tgz")
        build_backup(backup, ACCOUNTS_DB)
        log = os.path.join(work, "import.log")
        harness.run("mailmig", "import-backup", backup, "--target", "maildir:" + os.path.join(work, "mail"),
                    "--state", os.path.join(work, "state"), "--log", log, check=1, cwd=work)
        problems = problem_lines(log)
        self.assertEqual(1, len(problems), problems)
        self.assertIn("2 group(s) and 2 pseudonym(s) not imported: say where with --aliases-out FILE or "
                      "--provision ldap:URL", problems[0])


if __name__ == "__main__":
    harness.main()
