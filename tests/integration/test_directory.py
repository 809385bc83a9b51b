"""`mailmig directory` and `imsdirmig` against real, private slapd instances.

* Kopano 4.4.1, offline: slapcat -> `directory rewrite` -> slapadd into a fresh slapd
  that has only the Kopano-shaped schema; every value equal (binary, UTF-8, folded,
  base64), objectClass values renamed, the server socket rewritten (4.4.2).
* Kopano 4.4.1, live: `directory transplant` of 1,000 entries of every type with both
  schemas loaded; killed halfway and re-run it ends exactly like an uninterrupted run.
* iPlanet batch procedure with imsdirmig: hold a batch by filter, release it with -O,
  groups by filter, upgrade (-P for domains), -c past a constraint violation.
* Bad input: malformed LDIF (line numbers), schema syntax errors, a wrong bind
  password, a server that goes away mid-run (the re-run completes)."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from directory_data import (as_bytes, as_dict, expected_after_kopano, ldif_of,  # noqa: E402
                            zarafa_entries)
from servers.slapd import PrivateSlapd, entry_ldif  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "directory")
ZARAFA = os.path.abspath(os.path.join(DATA, "zarafa.schema"))
KOPANO = os.path.abspath(os.path.join(DATA, "kopano.schema"))
IPLANET = os.path.abspath(os.path.join(DATA, "iplanet.schema"))


def connection(ldap, base=None):
    return ["--ldap", ldap.url, "--bind-dn", ldap.admin_dn, "--bind-password-file", ldap.password_file,
            "--base", base or ldap.suffix]


def directory(*args, check=None):
    return harness.run("mailmig", "directory", *args, check=check)


def zarafa_state(ldap):
    """{dn: attrs} of everything under ou=zarafa."""
    return {e.dn: as_dict(e) for e in ldap.search(f"ou=zarafa,{ldap.suffix}", attrs=["*"])}


def load_zarafa(ldap, count):
    entries = zarafa_entries(ldap.suffix, count)
    path = os.path.join(ldap.root, "zarafa-data.ldif")
    with open(path, "w", encoding="utf-8") as f:
        f.write(ldif_of(entries))
    ldap._client("ldapadd", ["-f", path])
    return entries


class KopanoOffline(unittest.TestCase):
    """4.4.1 first method: slapcat, rewrite, slapadd."""

    def test_slapcat_rewrite_slapadd(self):
        work = harness.make_tempdir(self)
        old = PrivateSlapd(schemas=[ZARAFA]).start()
        self.addCleanup(old.stop)
        entries = load_zarafa(old, 60)
        dump = os.path.join(work, "zarafa.ldif")
        old.dump_ldif(dump)
        out = os.path.join(work, "kopano.ldif")
        proc = directory("rewrite", dump, out, "--rules", "zarafa-kopano", "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual((report["matched"], report["failed"]), (len(entries) + 2, 0))   # + suffix, ou=people
        self.assertEqual(report["changed"], len(entries) - 1)                             # ou=zarafa has no Zarafa data
        with open(out, "rb") as f:
            text = f.read()
        self.assertIn(b"\n ", text, "long values are folded")
        self.assertIn(b"dn:: ", text, "UTF-8 DNs are base64")
        self.assertIn(b"objectClass: kopano-user", text)
        self.assertNotIn(b"zarafa", text.lower().replace(b"ou=zarafa", b"").replace(b"ou: zarafa", b""))

        new = PrivateSlapd(schemas=[KOPANO], base_entries=False)
        self.addCleanup(new.stop)
        new.load_ldif(out)
        new.start()
        got = zarafa_state(new)
        for dn, attrs in entries:
            self.assertIn(dn, got)
            self.assertEqual(got[dn], expected_after_kopano(attrs), dn)
        self.assertEqual(got[f"cn=node6,ou=zarafa,{new.suffix}"]["kopanofilepath"], [b"/var/run/kopano/server.sock"])

    def test_seed_sed_is_not_enough(self):
        # The documented `sed 's#^zarafa#kopano#'` leaves objectClass values: the rewrite
        # must rename them (checked above); here its output is compared with sed's.
        work = harness.make_tempdir(self)
        src = os.path.join(work, "in.ldif")
        with open(src, "w", encoding="utf-8") as f:
            f.write("dn: cn=a,dc=example,dc=com\nobjectClass: zarafa-user\nzarafaAccount: 1\n"
                    "zarafaAliases:: IGxlYWRpbmc=\nZARAFAHidden: 0\n")
        out = os.path.join(work, "out.ldif")
        directory("rewrite", src, out, "--rules", "zarafa-kopano", check=0)
        with open(out, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(text, "dn: cn=a,dc=example,dc=com\nobjectClass: kopano-user\nkopanoAccount: 1\n"
                               "kopanoAliases:: IGxlYWRpbmc=\nkopanoHidden: 0\n\n")


class KopanoLive(unittest.TestCase):
    """4.4.1 second method: transplant on a live server with both schemas."""

    COUNT = 1000

    def server(self):
        ldap = PrivateSlapd(schemas=[ZARAFA, KOPANO]).start()
        self.addCleanup(ldap.stop)
        entries = load_zarafa(ldap, self.COUNT)
        return ldap, entries

    def transplant(self, ldap, *extra, check=None):
        return directory("transplant", "--rules", "zarafa-kopano", "--old-schema", ZARAFA, *connection(ldap),
                         *extra, check=check)

    def assert_transplanted(self, ldap, entries):
        got = zarafa_state(ldap)
        for dn, attrs in entries:
            self.assertEqual(got[dn], expected_after_kopano(attrs), dn)
        self.assertEqual(ldap.search(filter="(|(objectClass=zarafa-user)(objectClass=zarafa-server)(zarafaId=*))"), [])

    def test_uninterrupted_then_killed_and_rerun(self):
        work = harness.make_tempdir(self)
        # Uninterrupted.
        a, entries = self.server()
        before_people = a.search(a.people_dn, attrs=["*"])
        proc = self.transplant(a, "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual((report["matched"], report["changed"], report["failed"]), (self.COUNT, self.COUNT, 0))
        self.assert_transplanted(a, entries)
        self.assertEqual([as_dict(e) for e in a.search(a.people_dn, attrs=["*"])], [as_dict(e) for e in before_people])
        again = json.loads(self.transplant(a, "--json", check=0).stdout)
        self.assertEqual((again["matched"], again["changed"]), (0, 0), "a finished transplant finds nothing to do")

        # Killed halfway (SIGKILL after ~300 change records), then re-run.
        b, _ = self.server()
        ldif = os.path.join(work, "changes.ldif")
        argv = [harness.binary("mailmig"), "directory", "transplant", "--rules", "zarafa-kopano", "--old-schema",
                ZARAFA, *connection(b), "--ldif-out", ldif]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with open(ldif, "rb") as f:
                    if f.read().count(b"\ndn") + 1 >= 300:
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        left = len(b.search(f"ou=zarafa,{b.suffix}", "(objectClass=zarafa-user)", ["dn"]))
        self.assertTrue(0 < left < self.COUNT // 3 + 1, f"the kill should land halfway ({left} users left)")
        rerun = json.loads(self.transplant(b, "--json", check=0).stdout)
        self.assertEqual(rerun["failed"], 0)
        self.assertLess(rerun["changed"], self.COUNT)
        self.assert_transplanted(b, entries)
        self.assertEqual(zarafa_state(b), zarafa_state(a))

    def test_dry_run_changes_nothing_and_prints_the_records(self):
        ldap = PrivateSlapd(schemas=[ZARAFA, KOPANO]).start()
        self.addCleanup(ldap.stop)
        load_zarafa(ldap, 9)
        before = zarafa_state(ldap)
        proc = self.transplant(ldap, "--dry-run", check=0)
        self.assertIn("changetype: modify\nadd: objectClass\nobjectClass: kopano-server\n-\n", proc.stdout)
        self.assertIn("add: kopanoFilePath\nkopanoFilePath: /var/run/kopano/server.sock\n-\n", proc.stdout)
        self.assertIn("delete: zarafaFilePath\n-\n", proc.stdout)
        self.assertIn("delete: objectClass\nobjectClass: zarafa-server\n-\n", proc.stdout)
        self.assertIn("9 entries matched, 9 to change", proc.stderr)
        self.assertEqual(zarafa_state(ldap), before)


class SlapdWithMail(unittest.TestCase):
    """o=internet with dc=siroe,dc=com: SIMS-era users, groups and a domain."""

    BASE = "dc=siroe,dc=com,o=internet"
    TLS = False  # True: also StartTLS on the plain port and an ldaps:// listener (throwaway CA)

    def setUp(self):
        self.ldap = PrivateSlapd(suffix="o=internet", schemas=[IPLANET], tls=self.TLS).start()
        self.addCleanup(self.ldap.stop)
        add = self.ldap.add_entry
        add("dc=com,o=internet", {"objectClass": ["domain"], "dc": "com"})
        add(self.BASE, {"objectClass": ["domain", "mailDomain"], "dc": "siroe", "mailHosts": "oldmail.siroe.com",
                        "preferredMailHost": "oldmail.siroe.com"})
        add(f"ou=people,{self.BASE}", {"objectClass": "organizationalUnit", "ou": "people"})
        add(f"ou=groups,{self.BASE}", {"objectClass": "organizationalUnit", "ou": "groups"})
        for uid, host in [("sam", "oldmail.siroe.com"), ("sue", "oldmail.siroe.com"), ("ted", None),
                          ("tim", "oldmail.siroe.com"), ("tom", "oldmail.siroe.com"), ("ann", "oldmail.siroe.com")]:
            attrs = {"objectClass": ["inetOrgPerson", "mailRecipient"], "uid": uid, "cn": uid, "sn": uid,
                     "mail": f"{uid}@siroe.com", "mailDeliveryOption": "mailbox"}
            if host:
                attrs["mailHost"] = host
            if uid == "ann":
                attrs.update({"nsmsgNumMsgQuota": "500", "nsmsgDisallowAccess": "imap"})
            add(f"uid={uid},ou=people,{self.BASE}", attrs)
        add(f"cn=staff,ou=groups,{self.BASE}", {"objectClass": ["groupOfNames", "inetMailGroup"], "cn": "staff",
                                                 "member": f"uid=sam,ou=people,{self.BASE}",
                                                 "mailHost": "oldmail.siroe.com"})
        add(f"cn=old,ou=groups,{self.BASE}", {"objectClass": ["groupOfNames", "mailGroup"], "cn": "old",
                                               "member": f"uid=sam,ou=people,{self.BASE}",
                                               "mailHost": "oldmail.siroe.com"})

    def imsdirmig(self, *args, check=None, password="-j"):
        common = ["-h", "127.0.0.1", "-p", str(self.ldap.port), "-b", self.BASE, "-D", self.ldap.admin_dn]
        common += ["-j", self.ldap.password_file] if password == "-j" else ["-w", password]
        return harness.run("imsdirmig", *common, *args, check=check)

    def user(self, uid):
        return self.ldap.search(f"uid={uid},ou=people,{self.BASE}", scope="base", attrs=["*"])[0]

    def snapshot(self):
        return {e.dn: as_dict(e) for e in self.ldap.search(self.BASE, attrs=["*"])}


class IplanetBatch(SlapdWithMail):

    def test_hold_migrate_release_groups_upgrade(self):
        before = self.snapshot()
        # Hold the batch (uid=s*): exactly sam and sue change.
        proc = self.imsdirmig("-M", "sims", "-m", "users", "-F", "(uid=s*)",
                              "-A", "mailDeliveryOption:hold;mailFolderMap:LOCK", "-O", "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual((report["matched"], report["changed"], report["failed"]), (2, 2, 0))
        after = self.snapshot()
        changed = sorted(dn for dn in after if after[dn] != before[dn])
        self.assertEqual(changed, [f"uid=sam,ou=people,{self.BASE}", f"uid=sue,ou=people,{self.BASE}"])
        for uid in ("sam", "sue"):
            u = self.user(uid)
            self.assertEqual((u["mailDeliveryOption"], u["mailFolderMap"]), (["hold"], ["LOCK"]))
            self.assertNotIn("inetMailUser", u["objectClass"], "a hold does not upgrade the entry")
        # Holding again changes nothing.
        again = json.loads(self.imsdirmig("-M", "sims", "-m", "users", "-F", "(uid=s*)",
                                          "-A", "mailDeliveryOption:hold;mailFolderMap:LOCK", "-O", "--json",
                                          check=0).stdout)
        self.assertEqual((again["matched"], again["changed"], again["unchanged"]), (2, 0, 2))

        # (The batch's mailboxes are migrated here with mailmig migrate.)
        # Release: the dry run prints the exact records and changes nothing.
        release = ["-M", "sims", "-m", "users", "-F", "(uid=s*)", "-O",
                   "-A", "mailDeliveryOption:mailbox;mailhost:newmail.siroe.com"]
        held = self.snapshot()
        dry = self.imsdirmig(*release, "--dry-run", check=0)
        self.assertIn(f"dn: uid=sam,ou=people,{self.BASE}\nchangetype: modify\n"
                      "replace: mailHost\nmailHost: newmail.siroe.com\n-\n"
                      "replace: mailDeliveryOption\nmailDeliveryOption: mailbox\n-\n\n", dry.stdout)
        self.assertEqual(self.snapshot(), held)
        self.imsdirmig(*release, check=0)
        for uid in ("sam", "sue"):
            u = self.user(uid)
            self.assertEqual((u["mailDeliveryOption"], u["mailHost"]), (["mailbox"], ["newmail.siroe.com"]))
        self.assertEqual(self.user("tim")["mailHost"], ["oldmail.siroe.com"])

        # Groups by filter: only the inetMailGroup one.
        self.imsdirmig("-M", "sims", "-m", "groups", "-F", "(objectclass=inetmailgroup)", "-O",
                       "-A", "mailhost:newmail.siroe.com", check=0)
        groups = {e.first("cn"): e.first("mailHost") for e in self.ldap.search(f"ou=groups,{self.BASE}",
                                                                                 "(cn=*)", ["cn", "mailHost"])}
        self.assertEqual(groups, {"staff": "newmail.siroe.com", "old": "oldmail.siroe.com"})

        # Domains with -P (incremental method), then every user and group.
        self.imsdirmig("-M", "sims", "-m", "domains", "-A", "mailroutinghosts:newmail.siroe.com", "-P", check=0)
        domain = self.ldap.search(self.BASE, scope="base", attrs=["*"])[0]
        self.assertIn("inetDomain", domain["objectClass"])
        self.assertEqual((domain["mailRoutingHosts"], domain["mailHosts"]), (["newmail.siroe.com"], ["oldmail.siroe.com"]))
        proc = self.imsdirmig("-M", "sims", "-m", "both", "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual((report["matched"], report["failed"]), (8, 0))
        for uid in ("sam", "ted", "ann"):
            self.assertTrue({"inetUser", "inetMailUser", "inetLocalMailRecipient"} <= set(self.user(uid)["objectClass"]))
        old = self.ldap.search(f"cn=old,ou=groups,{self.BASE}", scope="base", attrs=["objectClass"])[0]
        self.assertIn("inetMailGroup", old["objectClass"])

    def test_nms_maps_attributes_and_reports_what_it_cannot(self):
        proc = self.imsdirmig("-M", "nms", "-m", "users", "-F", "(uid=ann)", "--json", check=0)
        report = json.loads(proc.stdout)
        self.assertEqual(report["changed"], 1)
        self.assertEqual(len(report["notes"]), 1)
        self.assertIn("nsmsgDisallowAccess", report["notes"][0]["message"])
        ann = self.user("ann")
        self.assertEqual(ann["mailMsgQuota"], ["500"])
        self.assertNotIn("nsmsgNumMsgQuota", ann)
        self.assertEqual(ann["nsmsgDisallowAccess"], ["imap"])

    def test_preserve_keeps_the_old_attribute(self):
        self.imsdirmig("-M", "nms", "-m", "users", "-F", "(uid=ann)", "-P", check=0)
        ann = self.user("ann")
        self.assertEqual((ann["mailMsgQuota"], ann["nsmsgNumMsgQuota"]), (["500"], ["500"]))

    def test_continue_past_a_constraint_violation(self):
        # Without -O the value is added: mailHost is single-valued, so tim and tom refuse.
        args = ["-M", "sims", "-m", "users", "-F", "(uid=t*)", "-A", "mailhost:newmail.siroe.com"]
        before = self.snapshot()
        proc = self.imsdirmig(*args, check=1)
        self.assertIn(f"stopped at the first failure, uid=tim,ou=people,{self.BASE}", proc.stdout)
        self.assertIn("Constraint violation", proc.stdout)
        self.assertIn("inetMailUser", self.user("ted")["objectClass"])       # before tim: done
        after = self.snapshot()
        self.assertEqual(after[f"uid=tom,ou=people,{self.BASE}"], before[f"uid=tom,ou=people,{self.BASE}"])
        proc = self.imsdirmig(*args, "-c", "--json", check=1)
        report = json.loads(proc.stdout)
        self.assertEqual((report["matched"], report["changed"], report["unchanged"], report["failed"]), (3, 0, 1, 2))
        self.assertEqual([f["dn"] for f in report["failures"]],
                         [f"uid=tim,ou=people,{self.BASE}", f"uid=tom,ou=people,{self.BASE}"])
        self.assertIn("Constraint violation", report["failures"][0]["error"])

    def test_mailmig_modify_equals_imsdirmig(self):
        proc = directory("modify", "--scope", "users", "--filter", "(uid=s*)", "--overwrite",
                         "--set", "mailDeliveryOption:hold;mailFolderMap:LOCK", *connection(self.ldap, self.BASE),
                         "--json", check=0)
        self.assertEqual(json.loads(proc.stdout)["changed"], 2)
        # A literal semicolon in a value.
        directory("modify", "--scope", "users", "--filter", "(uid=sam)", "--overwrite",
                  "--set", r"mailForwardingAddress:a\;b@siroe.com", *connection(self.ldap, self.BASE), check=0)
        self.assertEqual(self.user("sam")["mailForwardingAddress"], ["a;b@siroe.com"])

    def test_password_on_the_command_line_warns(self):
        proc = self.imsdirmig("-M", "sims", "-m", "users", "-F", "(uid=s*)", "-O", "-A", "mailFolderMap:LOCK",
                              password=self.ldap.admin_password, check=0)
        self.assertIn("-w puts the password where other users can see it", proc.stderr)
        self.assertNotIn(self.ldap.admin_password, proc.stdout + proc.stderr)


class DirectoryOverTls(SlapdWithMail):
    """ldaps:// and --starttls: the server certificate is always verified (--ca-file),
    a refused certificate changes nothing and says why."""

    TLS = True

    def modify(self, url, *extra):
        return directory("modify", "--scope", "users", "--filter", "(uid=sam)", "--overwrite",
                         "--set", "mailFolderMap:LOCK", "--ldap", url, "--bind-dn", self.ldap.admin_dn,
                         "--bind-password-file", self.ldap.password_file, "--base", self.BASE, *extra)

    def test_certificates_are_verified(self):
        before = self.snapshot()
        refused = [(self.ldap.ldaps_url, []), (self.ldap.ldaps_url, ["--ca-file", self.ldap.wrong_ca_file]),
                   (self.ldap.url, ["--starttls"]), (self.ldap.url, ["--starttls", "--ca-file", self.ldap.wrong_ca_file])]
        for url, extra in refused:
            with self.subTest(url=url, extra=extra):
                proc = self.modify(url, *extra)
                self.assertEqual(3, proc.returncode, proc.stdout + proc.stderr)
                self.assertRegex(proc.stderr.lower(), r"certificate|tls", proc.stderr)
                self.assertNotIn(self.ldap.admin_password, proc.stdout + proc.stderr)
        self.assertEqual(before, self.snapshot(), "a refused certificate changes nothing")
        for url, extra in [(self.ldap.ldaps_url, ["--ca-file", self.ldap.ca_file]),
                           (self.ldap.url, ["--starttls", "--ca-file", self.ldap.ca_file])]:
            with self.subTest(url=url, extra=extra):
                self.ldap.modify_ldif(f"dn: uid=sam,ou=people,{self.BASE}\nchangetype: modify\n"
                                      "replace: mailFolderMap\nmailFolderMap: OPEN\n")
                proc = self.modify(url, *extra)
                self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
                self.assertEqual(["LOCK"], self.user("sam")["mailFolderMap"])


class PasswordNotInTheProcessList(SlapdWithMail):

    def test_imsdirmig_w_is_scrubbed_from_proc_cmdline(self):
        # slapd stopped: imsdirmig waits on the bind while /proc/PID/cmdline is read.
        os.kill(self.ldap.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, self.ldap.pid, signal.SIGCONT)
        args = ["-h", "127.0.0.1", "-p", str(self.ldap.port), "-b", self.BASE, "-D", self.ldap.admin_dn,
                "-w", self.ldap.admin_password, "-M", "sims", "-m", "users", "-F", "(uid=s*)", "-O",
                "-A", "mailFolderMap:LOCK"]
        proc = subprocess.Popen([harness.binary("imsdirmig"), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            warning = proc.stderr.readline()  # printed after the arguments were scrubbed
            self.assertIn("-w puts the password where other users can see it", warning)
            with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            self.assertNotIn(self.ldap.admin_password.encode(), b"\0".join(argv))
            self.assertIn(b"-w", argv)
            self.assertIn(b"x" * len(self.ldap.admin_password), argv, "same length, so ps shows the others in place")
        finally:
            proc.kill()
            proc.communicate()


class BadInput(unittest.TestCase):

    def test_malformed_ldif_names_the_lines(self):
        work = harness.make_tempdir(self)
        src = os.path.join(work, "bad.ldif")
        with open(src, "w", encoding="utf-8") as f:
            f.write("version: 1\n\ndn: cn=ok,dc=example,dc=com\ncn: ok\n\n"      # lines 1-5
                    "# a comment\ndn: cn=bad,dc=example,dc=com\ncn: bad\nthis line has no colon\n\n"  # 6-10
                    "dn: cn=b64,dc=example,dc=com\ncn:: !!!notbase64\n\n"           # 11-13
                    "cn: no dn here\n\n"                                              # 14-15
                    "dn: cn=ok2,dc=example,dc=com\nzarafaHidden: 1\n")
        out = os.path.join(work, "out.ldif")
        proc = directory("rewrite", src, out, "--rules", "zarafa-kopano", check=1)
        self.assertIn(f"{src}:9: not \"attribute: value\"", proc.stdout)
        self.assertIn(f"{src}:12: malformed line", proc.stdout)
        self.assertIn(f"{src}:14: a record must start with \"dn:\"", proc.stdout)
        self.assertIn("2 records matched, 1 changed, 1 unchanged, 3 failed", proc.stdout)
        with open(out, encoding="utf-8") as f:
            self.assertIn("kopanoHidden: 1", f.read())

    def test_schema_syntax_error(self):
        work = harness.make_tempdir(self)
        bad = os.path.join(work, "bad.schema")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("# comment\nattributetype ( 1.2.3.4 NAME 'zarafaOk'\n\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n\n"
                    "attributetype ( 1.2.3.5 NAME 'zarafaBroken'\n\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15\n"
                    "\tSINGLE-VALUE BOGUS )\n")
        proc = directory("transplant", "--rules", "zarafa-kopano", "--old-schema", bad, "--ldap", "ldap://127.0.0.1:1",
                         "--base", "dc=example,dc=com", check=2)
        self.assertIn(f"{bad}:7: attributetype definition:", proc.stderr)
        with open(bad, "w", encoding="utf-8") as f:
            f.write("attributetype ( 1.2.3.4 NAME 'a' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\nbogus ( 1 )\n")
        proc = directory("transplant", "--rules", "zarafa-kopano", "--old-schema", bad, "--ldap", "ldap://127.0.0.1:1",
                         "--base", "dc=example,dc=com", check=2)
        self.assertIn(f"{bad}:2: unknown statement \"bogus\"", proc.stderr)

    def test_wrong_bind_password(self):
        ldap = PrivateSlapd(schemas=[ZARAFA, KOPANO]).start()
        self.addCleanup(ldap.stop)
        work = harness.make_tempdir(self)
        pw = os.path.join(work, "wrong.pw")
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"not-the-password\n")
        os.close(fd)
        proc = directory("transplant", "--rules", "zarafa-kopano", "--old-schema", ZARAFA, "--ldap", ldap.url,
                         "--bind-dn", ldap.admin_dn, "--bind-password-file", pw, "--base", ldap.suffix, check=3)
        self.assertIn(f"LDAP bind as {ldap.admin_dn}", proc.stderr)
        self.assertIn("Invalid credentials (49)", proc.stderr)
        self.assertNotIn("not-the-password", proc.stderr)
        env = dict(os.environ, MAILMIG_LDAP_PASSWORD="also-wrong")
        proc = harness.run("mailmig", "directory", "transplant", "--rules", "zarafa-kopano", "--old-schema", ZARAFA,
                           "--ldap", ldap.url, "--bind-dn", ldap.admin_dn, "--base", ldap.suffix, env=env, check=3)
        self.assertIn("Invalid credentials (49)", proc.stderr)

    def test_server_goes_away_mid_run_and_the_rerun_completes(self):
        ldap = PrivateSlapd(schemas=[ZARAFA, KOPANO]).start()
        self.addCleanup(ldap.stop)
        entries = load_zarafa(ldap, 1000)
        work = harness.make_tempdir(self)
        ldif = os.path.join(work, "changes.ldif")
        argv = [harness.binary("mailmig"), "directory", "transplant", "--rules", "zarafa-kopano", "--old-schema",
                ZARAFA, *connection(ldap), "--ldif-out", ldif, "--json"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(ldif) and os.path.getsize(ldif) > 200_000:
                break
            time.sleep(0.005)
        ldap.crash()
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 1, err)
        report = json.loads(out)
        self.assertTrue(report["stopped"])
        self.assertIn("run the same command again", report["stop_reason"])
        self.assertLess(report["changed"], 1000)
        ldap.restart()
        rerun = json.loads(directory("transplant", "--rules", "zarafa-kopano", "--old-schema", ZARAFA,
                                     *connection(ldap), "--json", check=0).stdout)
        self.assertEqual(rerun["failed"], 0)
        got = zarafa_state(ldap)
        for dn, attrs in entries:
            self.assertEqual(got[dn], expected_after_kopano(attrs), dn)


if __name__ == "__main__":
    harness.main()
