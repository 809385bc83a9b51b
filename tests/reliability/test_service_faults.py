"""Network faults between mailmig and the services around a migration (issue
15, docs/reliability.md "Source-side network faults"), through
servers/fault_proxy.py in raw mode (bytes forwarded as they come):

  ldap   the proxy in front of the private slapd that selects the accounts
         (--ldap-filter): (a) the first connection is reset in the middle of
         the search results: the search is read again and the run completes;
         (b) every connection is reset so: after 3 attempts the run ends exit 3
         (nothing could be done) naming the directory, having migrated nothing;
         the re-run without faults migrates every account.  A partial answer
         never becomes the selection (a run that silently leaves accounts out).
  kerio  the proxy in front of the Kerio admin API test server (plain HTTP on
         loopback, NOT Kerio) that creates the target users (--provision
         kerio:): the connection is reset right after the server received
         Users.create, before its answer (the user exists, mailmig cannot know).
         The account fails (named) or is retried; Users.create never makes a
         user twice (the server refuses a duplicate, which mailmig must not take
         for a new account's failure on the re-run); the re-run completes and
         every message is on the target exactly once.
"""
import collections
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
import imap_readback as rb  # noqa: E402
from servers.dovecot import PrivateDovecot  # noqa: E402
from servers.fault_proxy import Fault, FaultProxy  # noqa: E402
from servers.kerio_admin_api import KerioAdminApiWithDovecot  # noqa: E402
from servers.slapd import PrivateSlapd  # noqa: E402
from test_maildir_cli import owner_spec  # noqa: E402

DATE = 1_690_000_000
PATTERN = "%d/%n/Maildir"
RUN_LIMIT = 120


def message(tag):
    return (f"From: svc@example.net\r\nTo: {tag}@example.net\r\nSubject: {tag}\r\n"
            f"Message-ID: <{tag}@service-faults.test>\r\n\r\nBody of {tag}.\r\n").encode()


def write_private(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def build_maildir(root, domain, accounts, per_account):
    """{(user, "INBOX"): Counter(sha256)}"""
    expected = {}
    for account in accounts:
        box = os.path.join(root, domain, account, "Maildir")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, d))
        got = collections.Counter()
        for i in range(per_account):
            data = message(f"{account}-{i}")
            path = os.path.join(box, "cur", f"{DATE + i}.M{i}P1.svc:2,S")
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (DATE + i, DATE + i))
            got[hashlib.sha256(data).hexdigest()] += 1
        expected[(f"{account}@{domain}", "INBOX")] = got
    return expected


class ServiceFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailmig-service-faults-")
        os.chmod(cls.work, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.owner = owner_spec()
        cls.figures = []

    @classmethod
    def tearDownClass(cls):
        print("\nservice faults:", flush=True)
        for line in cls.figures:
            print("  " + line, flush=True)

    def run_mailmig(self, args, where_extra, directory, codes=(0, 1)):
        try:
            proc = harness.run("mailmig", *args, timeout=RUN_LIMIT, cwd=directory)
        except Exception as exc:  # subprocess.TimeoutExpired: a hang
            self.fail(f"mailmig did not end: {exc}; {where_extra()}")
        where = (f"exit {proc.returncode}; {where_extra()}\nstdout:\n{proc.stdout[-3000:]}\n"
                 f"stderr:\n{proc.stderr[-3000:]}")
        self.assertIn(proc.returncode, codes, where)
        return proc, where

    def read_tree(self, tree, domain, accounts):
        out = {}
        for account in accounts:
            got = collections.Counter()
            for d in ("cur", "new"):
                path = os.path.join(tree, domain, account, "Maildir", d)
                for name in os.listdir(path) if os.path.isdir(path) else []:
                    with open(os.path.join(path, name), "rb") as f:
                        data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                    got[hashlib.sha256(data).hexdigest()] += 1
            if got:
                out[(f"{account}@{domain}", "INBOX")] = got
        return out

    def test_ldap_selection_reset_mid_search(self):
        started = time.monotonic()
        directory = os.path.join(self.work, "ldap")
        os.makedirs(directory)
        domain = "ldap.service-faults.test"
        accounts = [f"l{i:02d}" for i in range(40)]
        root = os.path.join(directory, "vmail")
        expected = build_maildir(root, domain, accounts, 2)
        # Reset after 100-2500 bytes answered (bind answer ~14 bytes, then 40 entries of
        # ~80 bytes): in the middle of the search results.
        mid_search = lambda rng, n: Fault("reset", "s2c", rng.randint(100, 2500))  # noqa: E731
        with PrivateSlapd() as ldap:
            for account in accounts:
                ldap.add_entry(f"uid={account},{ldap.people_dn}",
                               {"objectClass": "inetOrgPerson", "uid": account, "cn": account, "sn": account,
                                "mail": f"{account}@{domain}"})
            password = write_private(os.path.join(directory, "ldap.pw"), ldap.admin_password)

            def migrate(case, run, port, codes):
                tree = os.path.join(directory, f"target-{case}")
                args = ["migrate", "--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir",
                        "--target", "maildir:" + tree, "--target-user-path", PATTERN,
                        "--state", os.path.join(directory, f"state-{case}"),
                        "--report", os.path.join(directory, f"report-{case}-{run}.json"), "--quiet",
                        "--ldap-url", f"ldap://127.0.0.1:{port}/", "--ldap-search-base", ldap.people_dn,
                        "--ldap-filter", "(objectClass=inetOrgPerson)", "--ldap-bind-dn", ldap.admin_dn,
                        "--ldap-password-file", password]
                if self.owner:
                    args += ["--owner", self.owner]
                return (*self.run_mailmig(args, proxy.describe, directory, codes),
                        self.read_tree(tree, domain, accounts))

            # (a) one cut search: read again, the run completes.
            with FaultProxy(ldap.port, 8101, imap=False, budget=1, plan=mid_search) as proxy:
                proc, where, got = migrate("a", 1, proxy.port, (0,))
                self.assertEqual(1, len(proxy.injected), where)
                self.assertEqual(expected, got, where)
                self.assertIn("searching again", proc.stdout + proc.stderr, where)
                description_a = proxy.describe().splitlines()[0]
            # (b) every search cut: exit 3 after 3 attempts, nothing migrated; the re-run completes.
            with FaultProxy(ldap.port, 8102, imap=False, plan=mid_search) as proxy:
                proc, where, got = migrate("b", 1, proxy.port, (3,))
                self.assertEqual(3, len(proxy.injected), where)
                self.assertEqual({}, got, f"a cut LDAP answer selected accounts; {where}")
                self.assertRegex(proc.stderr, r"LDAP ldap://127\.0\.0\.1:\d+/ .*gave up after 3 attempts", where)
                description_b = proxy.describe().splitlines()[0]
                proxy.plan = lambda rng, n: None
                proc, where, got = migrate("b", 2, proxy.port, (0,))
                self.assertEqual(expected, got, where)
        self.figures.append(f"ldap: (a) exit 0, {description_a}; (b) exits [3, 0], {description_b}; "
                            f"{time.monotonic() - started:.1f} s")

    def test_kerio_reset_during_user_creation(self):
        started = time.monotonic()
        directory = os.path.join(self.work, "kerio")
        os.makedirs(directory)
        domain = "kerio.service-faults.test"
        accounts = ["k1", "k2", "k3"]
        root = os.path.join(directory, "vmail")
        expected = build_maildir(root, domain, accounts, 3)
        with PrivateDovecot() as dovecot:
            master = write_private(os.path.join(directory, "master.pw"), dovecot.master_password)
            admin = write_private(os.path.join(directory, "admin.pw"), "Admin#Pw1")
            api = KerioAdminApiWithDovecot(dovecot, admin_user="admin", admin_password="Admin#Pw1",
                                           domains=[domain], tls=False)
            # Every user the server makes (Users.create goes through add_user), by login.
            created = collections.Counter()
            make_user = api.add_user

            def counting_add_user(domain_name, login, password, full_name=""):
                created[login] += 1
                return make_user(domain_name, login, password, full_name)
            api.add_user = counting_add_user
            with api, FaultProxy(api.port, 8202, imap=False, reset_answer_to=rb'"Users\.create"') as proxy:
                codes = []
                for run in (1, 2, 3):
                    report = os.path.join(directory, f"report-{run}.json")
                    args = ["migrate", "--source", "maildir:" + root, "--user-path", root + "/%d/%n/Maildir",
                            "--target", f"imap://127.0.0.1:{dovecot.imap_port}", "--ca-file", dovecot.ca_file,
                            "--auth", "dovecot-master", "--master-user", dovecot.master_user,
                            "--master-password-file", master,
                            "--provision", f"kerio:http://127.0.0.1:{proxy.port}", "--provision-user", "admin",
                            "--provision-password-file", admin,
                            "--password-file-out", os.path.join(directory, f"run{run}.pass"),
                            "--state", os.path.join(directory, "state"), "--report", report, "--quiet",
                            "--timeout", "5", "--jobs", "1"]
                    proc, where = self.run_mailmig(args, proxy.describe, directory)
                    codes.append(proc.returncode)
                    creates = api.calls.count("Users.create")
                    where += f"\nAPI calls: {api.calls}"
                    # Each account was made at most once, whatever happened (the lost answer included).
                    self.assertTrue(all(n == 1 for n in created.values()), f"made twice: {created}; {where}")
                    if run == 1:
                        self.assertTrue(proxy.injected, f"no fault injected; {where}")
                        if proc.returncode != 0:
                            with open(report, encoding="utf-8") as f:
                                data = json.load(f)
                            failed = [a for a in data["accounts"] if a["status"] != "done"]
                            self.assertTrue(failed, where)
                            named = {e["account"].split("@")[0] for e in data["errors"]}
                            for a in failed:
                                self.assertTrue(a["account"].split("@")[0] in named or a.get("note"), where)
                            continue
                    if proc.returncode == 0:
                        break
                else:
                    self.fail(f"kerio: not complete after 3 runs (exits {codes}); {proxy.describe()}")
                self.assertEqual(set(accounts), set(api.users.get(domain, {})), api.calls)
                self.assertEqual({a: 1 for a in accounts}, dict(created), api.calls)
                description = proxy.describe()
            for account in accounts:
                imap = dovecot.login_master(f"{account}@{domain}")
                try:
                    got = collections.Counter(sha for _, sha, _, _, _ in rb.fetch_folder(imap, "INBOX"))
                finally:
                    imap.logout()
                self.assertEqual(expected[(f"{account}@{domain}", "INBOX")], got, f"{account}; {description}")
        self.figures.append(f"kerio: exits {codes}, Users.create calls {creates}, "
                            f"{time.monotonic() - started:.1f} s; {description.splitlines()[0]}")


if __name__ == "__main__":
    harness.main()
