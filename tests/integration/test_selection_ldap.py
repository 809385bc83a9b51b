"""Account selection through the real binary (`mailmig inventory`): --ldap-filter
against a private slapd (anonymous and bound, values lowercased, entries the store
lacks reported), --users-file (alone and intersected with the directory), globs in
--user/--domain, and the usage errors of the directory options.

The store is the generator's clean `sample` profile (no planted errors), so the exit
status says exactly whether the selection reported something: 0 when every listed
account exists, 1 when one does not.  Skips the directory cases when OpenLDAP is not
installed."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from servers.slapd import PrivateSlapd, missing_binaries  # noqa: E402

MISSING = missing_binaries()
SKIP_REASON = ("OpenLDAP is not installed (missing " + ", ".join(MISSING)
               + "); install the Debian packages slapd and ldap-utils") if MISSING else ""

NOT_IN_SOURCE = "listed in the selection but not in the source: "


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class SelectionCase(unittest.TestCase):
    """Shared: one generated store for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailmig-it-")
        os.chmod(cls.work, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.store, cls.manifest = harness.generate_store(cls.work, "sample", seed=3)

    def inventory(self, *extra):
        """(exit status, ["account@domain", ...], [error messages], stderr)."""
        proc = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, "--json", "--no-folders", *extra)
        if proc.returncode in (0, 1):
            report = json.loads(proc.stdout)
            accounts = [f'{a["name"]}@{d["name"]}' for d in report["domains"] for a in d["accounts"]]
            return proc.returncode, accounts, [e["message"] for e in report["errors"]], proc.stderr
        return proc.returncode, None, None, proc.stderr


class SampleStore(SelectionCase):

    def test_sample_profile_accounts(self):
        # The names the other cases rely on.
        names = {d["name"]: [a["name"] for a in d["accounts"]] for d in self.manifest["domains"]}
        self.assertEqual(names, {"mail.example.com": ["john", "legacy", "mary", "postmaster"],
                                 "example.org": ["alan", "alice"]})
        rc, accounts, errors, _ = self.inventory()
        self.assertEqual((rc, errors), (0, []))
        self.assertEqual(len(accounts), 6)


class Globs(SelectionCase):

    def test_user_and_domain_globs(self):
        self.assertEqual(self.inventory("--user", "a*")[:3], (0, ["alan@example.org", "alice@example.org"], []))
        self.assertEqual(self.inventory("--user", "M?RY")[:3], (0, ["mary@mail.example.com"], []))
        self.assertEqual(self.inventory("--user", "[jl]*")[:3],
                         (0, ["john@mail.example.com", "legacy@mail.example.com"], []))
        self.assertEqual(self.inventory("--domain", "*.org")[:3], (0, ["alan@example.org", "alice@example.org"], []))
        self.assertEqual(self.inventory("--user", "*@example.*")[:3],
                         (0, ["alan@example.org", "alice@example.org"], []))

    def test_glob_matching_nothing_is_not_an_error(self):
        self.assertEqual(self.inventory("--user", "s*")[:3], (0, [], []))
        self.assertEqual(self.inventory("--domain", "*.net")[:3], (0, [], []))

    def test_plain_name_matching_nothing_is_a_usage_error(self):
        rc, _, _, stderr = self.inventory("--user", "sam")
        self.assertEqual(rc, 2)
        self.assertIn('no account "sam"', stderr)


class UsersFile(SelectionCase):

    def test_listed_accounts_and_a_missing_entry(self):
        path = os.path.join(self.work, "users-missing.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# batch 1\nAlice\n  MARY@Mail.Example.com \nnobody@example.org\n\n")
        rc, accounts, errors, stderr = self.inventory("--users-file", path)
        self.assertEqual(rc, 1, stderr)
        self.assertEqual(accounts, ["mary@mail.example.com", "alice@example.org"])
        self.assertEqual(errors, [NOT_IN_SOURCE + "nobody@example.org"])

    def test_every_entry_found_is_clean(self):
        path = os.path.join(self.work, "users-ok.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("john\nalan@example.org\n")
        self.assertEqual(self.inventory("--users-file", path)[:3],
                         (0, ["john@mail.example.com", "alan@example.org"], []))

    def test_unreadable_file(self):
        rc, _, _, stderr = self.inventory("--users-file", os.path.join(self.work, "no-such-file"))
        self.assertEqual(rc, 3)
        self.assertIn("cannot read users file", stderr)


class DirectoryOptionsUsage(SelectionCase):

    def test_filter_needs_url_and_base_and_options_need_the_filter(self):
        for args in (["--ldap-filter", "(uid=*)"],
                     ["--ldap-filter", "(uid=*)", "--ldap-url", "ldap://127.0.0.1:1/"],
                     ["--ldap-url", "ldap://127.0.0.1:1/", "--ldap-search-base", "dc=x"],
                     ["--ldap-insecure"]):
            rc, _, _, stderr = self.inventory(*args)
            self.assertEqual(rc, 2, (args, stderr))

    def test_bad_scheme_is_a_usage_error(self):
        rc, _, _, stderr = self.inventory("--ldap-filter", "(uid=*)", "--ldap-url", "http://127.0.0.1/",
                                          "--ldap-search-base", "dc=x")
        self.assertEqual(rc, 2)
        self.assertIn("--ldap-url http://127.0.0.1/: expected one URL ldap://", stderr)


@unittest.skipIf(MISSING, SKIP_REASON)
class LdapFilter(SelectionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ldap = PrivateSlapd()
        cls.ldap.start()
        cls.addClassCleanup(cls.ldap.stop)
        people = cls.ldap.people_dn
        for uid, mail in (("sam", None), ("Susan", None), ("bob", "bob@example.net"), ("Alice", "Alice@Example.org"),
                          ("alan", None), ("Mary", "Mary@Mail.Example.com")):
            attrs = {"objectClass": "inetOrgPerson", "uid": uid, "cn": uid, "sn": uid}
            if mail:
                attrs["mail"] = mail
            cls.ldap.add_entry(f"uid={uid},{people}", attrs)

    def ldap_args(self, flt, *extra):
        return ["--ldap-url", self.ldap.url, "--ldap-search-base", self.ldap.suffix, "--ldap-filter", flt, *extra]

    def test_anonymous_filter_selects_exactly_the_matching_accounts(self):
        self.assertEqual(self.inventory(*self.ldap_args("(uid=a*)"))[:3],
                         (0, ["alan@example.org", "alice@example.org"], []))

    def test_entries_the_store_lacks_are_reported_lowercased(self):
        rc, accounts, errors, stderr = self.inventory(*self.ldap_args("(uid=s*)"))
        self.assertEqual(rc, 1, stderr)
        self.assertEqual(accounts, [])
        self.assertEqual(errors, [NOT_IN_SOURCE + "sam", NOT_IN_SOURCE + "susan"])

    def test_bound_search_with_password_file(self):
        rc, accounts, errors, stderr = self.inventory(*self.ldap_args(
            "(|(uid=mary)(uid=bob))", "--ldap-bind-dn", self.ldap.admin_dn,
            "--ldap-password-file", self.ldap.password_file))
        self.assertEqual(rc, 1, stderr)
        self.assertEqual(accounts, ["mary@mail.example.com"])
        # bob is in the directory (uid and mail) but not in this store.
        self.assertEqual(errors, [NOT_IN_SOURCE + "bob", NOT_IN_SOURCE + "bob@example.net"])

    def test_users_file_and_filter_intersect(self):
        path = os.path.join(self.work, "users-and-ldap.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("alice\nmary\njohn\n")
        self.assertEqual(self.inventory("--users-file", path, *self.ldap_args("(uid=a*)"))[:3],
                         (0, ["alice@example.org"], []))

    def test_wrong_password_names_the_directory_not_the_password(self):
        pw = write_private(os.path.join(self.work, "wrong.pw"), "Not-The#Password\n")
        rc, _, _, stderr = self.inventory(*self.ldap_args("(uid=a*)", "--ldap-bind-dn", self.ldap.admin_dn,
                                                          "--ldap-password-file", pw))
        self.assertEqual(rc, 3, stderr)
        self.assertIn(self.ldap.url, stderr)
        self.assertIn("(uid=a*)", stderr)
        self.assertIn(self.ldap.suffix, stderr)
        self.assertIn("Invalid credentials", stderr)
        self.assertNotIn("Not-The#Password", stderr)

    def test_bad_filter_is_reported(self):
        rc, _, _, stderr = self.inventory(*self.ldap_args("(uid=a*"))
        self.assertEqual(rc, 3, stderr)
        self.assertIn("(uid=a*", stderr)

    def test_more_entries_than_one_page(self):
        # More entries than slapd's default size limit (500): only paging reads them all.
        ldif = "".join(f"dn: uid=bulk{i:03d},{self.ldap.people_dn}\nobjectClass: inetOrgPerson\nuid: bulk{i:03d}\n"
                       f"cn: b\nsn: b\n\n" for i in range(620))
        self.ldap.add_ldif(ldif)
        rc, accounts, errors, _ = self.inventory(*self.ldap_args("(|(uid=bulk*)(uid=alan))"))
        self.assertEqual(rc, 1)
        self.assertEqual(accounts, ["alan@example.org"])
        self.assertEqual(len(errors), 620)
        self.assertEqual(errors[0], NOT_IN_SOURCE + "bulk000")


if __name__ == "__main__":
    harness.main()
