"""Self-test of servers/slapd.py: a private OpenLDAP slapd on loopback with a generated
cn=config, the base entry and ou=people, entries added and searched back (non-ASCII
and binary values), admin and user binds ({SSHA} and {CRYPT} hashes), a wrong admin
password, cn=config changes over ldapi, two instances at once, the --serve mode and a
clean stop.  Runs directly (python3 test_slapd_harness.py) or from ctest, which passes
--bin-dir/--tools (accepted and ignored here).  Skips when OpenLDAP is not installed."""
import base64
import hashlib
import os
import socket
import subprocess
import sys
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers.slapd as slapd_module  # noqa: E402
import harness  # noqa: E402
from servers.slapd import (HOST, INVALID_CREDENTIALS, PrivateSlapd, SlapdError, entry_ldif,  # noqa: E402
                           missing_binaries, parse_ldif, ssha)

MISSING = missing_binaries()
SKIP_REASON = ("OpenLDAP is not installed (missing " + ", ".join(MISSING)
               + "); install the Debian packages slapd and ldap-utils") if MISSING else ""

SLAPD_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers", "slapd.py")
ADMIN_PW = "Adm1n:pw with spaces#"
# openssl passwd -6 -salt mailmigSalt 'Crypt#Pw1'
CRYPT_HASH = "{CRYPT}$6$mailmigSalt$T7yq0ah.4olDGgkhm7vYLHmUZb498agfh.cDFzQUcOVdnAemVWwyNfvowvEiuGLXn.d8el70W85i6If3rK1Zj0"


def live_group_members(pgid):
    """Pids of non-zombie processes in process group pgid (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                pids.append(int(entry))
    return pids


def processes_mentioning(text):
    """Pids of live processes whose command line contains text (the serve mode's slapd)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if text in cmdline and cmdline.startswith(slapd_module.SLAPD):
                pids.append(int(entry))
    return pids


def port_is_closed(port):
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return False
    except OSError:
        return True


class LdifParsing(unittest.TestCase):
    """parse_ldif / entry_ldif need no server."""

    def test_plain_base64_folded_and_binary_values(self):
        text = ("dn:: " + base64.b64encode("uid=jörg,ou=people,dc=x".encode()).decode() + "\n"
                "objectClass: inetOrgPerson\n"
                "cn:: " + base64.b64encode("Jörg".encode()).decode() + "\n"
                "description: folded\n  line\n"
                "jpegPhoto:: /9j/\n"
                "mail: a@b\n\n"
                "dn: uid=b,dc=x\n"
                "UID: b\n")
        entries = parse_ldif(text)
        self.assertEqual([e.dn for e in entries], ["uid=jörg,ou=people,dc=x", "uid=b,dc=x"])
        self.assertEqual(entries[0]["CN"], ["Jörg"])
        self.assertEqual(entries[0]["description"], ["folded line"])
        self.assertEqual(entries[0]["jpegphoto"], [b"\xff\xd8\xff"])
        self.assertEqual(entries[1].first("uid"), "b")
        self.assertIn("Uid", entries[1])
        self.assertIsNone(entries[1].first("mail"))

    def test_entry_ldif_base64_when_needed(self):
        text = entry_ldif("uid=a,dc=x", {"cn": ["plain", "Jörg", " lead", "trail ", ":colon"], "x": b"\0"})
        lines = text.splitlines()
        self.assertEqual(lines[0], "dn: uid=a,dc=x")
        self.assertEqual(lines[1], "cn: plain")
        self.assertTrue(all(line.startswith("cn:: ") for line in lines[2:6]), lines)
        self.assertEqual(parse_ldif(text)[0]["cn"], ["plain", "Jörg", " lead", "trail ", ":colon"])
        self.assertEqual(parse_ldif(text)[0]["x"], ["\0"])

    def test_ssha_is_salted_sha1(self):
        raw = base64.b64decode(ssha("Jörg", salt=b"12345678")[len("{SSHA}"):])
        self.assertEqual(raw, hashlib.sha1("Jörg".encode() + b"12345678").digest() + b"12345678")
        self.assertNotEqual(ssha("secret"), ssha("secret"))   # random salt

    def test_bad_suffix_is_refused(self):
        with self.assertRaises(ValueError):
            PrivateSlapd(suffix="cn=x+sn=y,dc=com")


@unittest.skipIf(MISSING, SKIP_REASON)
class PrivateSlapdHarness(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.ldap = PrivateSlapd(admin_password=ADMIN_PW)
        cls.ldap.start()

    @classmethod
    def tearDownClass(cls):
        cls.ldap.stop()

    def test_layout_and_base_entries(self):
        s = self.ldap
        self.assertEqual(s.url, f"ldap://127.0.0.1:{s.port}/")
        self.assertEqual((s.suffix, s.admin_dn, s.people_dn),
                         ("dc=example,dc=com", "cn=admin,dc=example,dc=com", "ou=people,dc=example,dc=com"))
        with open(s.password_file, encoding="utf-8") as f:
            self.assertEqual(f.read(), ADMIN_PW)
        self.assertEqual(os.stat(s.password_file).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(s.root).st_mode & 0o777, 0o755)
        self.assertTrue(os.path.isfile(os.path.join(s.config_dir, "cn=config.ldif")))
        self.assertTrue(os.path.isfile(os.path.join(s.config_dir, "cn=config", "olcDatabase={1}mdb.ldif")))
        base = s.search(s.suffix, scope="base")
        self.assertEqual(len(base), 1)
        self.assertEqual(set(base[0]["objectClass"]), {"dcObject", "organization"})
        self.assertEqual(base[0]["dc"], ["example"])
        people = s.search(s.people_dn, scope="base")
        self.assertEqual(people[0]["ou"], ["people"])
        # The root DSE names the suffix; anonymous may read it.
        dse = s.search("", scope="base", attrs=["namingContexts"], bind_dn="")
        self.assertEqual(dse[0]["namingContexts"], ["dc=example,dc=com"])
        self.assertIn("slapd starting", s.log_text())

    def test_add_and_search_entries(self):
        s = self.ldap
        dn = f"uid=jörg.müller,{s.people_dn}"
        s.add_entry(dn, {
            "objectClass": ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"],
            "uid": "jörg.müller", "cn": "Jörg Müller", "sn": "Müller", "mail": "jm@example.com",
            "uidNumber": "1001", "gidNumber": "100", "homeDirectory": "/home/jm",
            "jpegPhoto": b"\xff\xd8\xff\xe0binary", "userPassword": ssha("Jörg#Pw1")})
        s.add_ldif(f"dn: uid=bob,{s.people_dn}\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob B\nsn: B\n"
                   f"mail: bob@example.com\n\n"
                   f"dn: uid=carol,{s.people_dn}\nobjectClass: inetOrgPerson\nuid: carol\ncn: Carol\nsn: C\n"
                   f"userPassword: {CRYPT_HASH}\n")
        self.addCleanup(s.delete, dn, f"uid=bob,{s.people_dn}", f"uid=carol,{s.people_dn}")

        found = s.search(s.people_dn, "(mail=jm@example.com)", ["cn", "uid", "jpegPhoto", "userPassword"])
        self.assertEqual(len(found), 1)
        e = found[0]
        self.assertEqual(e.dn, dn)
        self.assertEqual(e["cn"], ["Jörg Müller"])
        self.assertEqual(e["uid"], ["jörg.müller"])
        self.assertEqual(e["jpegPhoto"], [b"\xff\xd8\xff\xe0binary"])
        self.assertTrue(e.first("userPassword").startswith("{SSHA}"))   # the admin reads it
        self.assertNotIn("sn", e)                                        # only the asked attrs

        uids = sorted(x.first("uid") for x in s.search(s.people_dn, "(objectClass=inetOrgPerson)", ["uid"]))
        self.assertEqual(uids, ["bob", "carol", "jörg.müller"])
        self.assertEqual(s.search(s.people_dn, "(uid=nobody-here)"), [])
        self.assertEqual(s.search(f"ou=missing,{s.suffix}"), [])          # noSuchObject -> []
        one = s.search(s.suffix, "(objectClass=*)", ["dn"], scope="one")
        self.assertEqual([x.dn for x in one], [s.people_dn])

        # Users bind with their {SSHA} and {CRYPT} (SHA-512 crypt) passwords.
        self.assertTrue(s.can_bind(dn, "Jörg#Pw1"))
        self.assertFalse(s.can_bind(dn, "wrong"))
        self.assertTrue(s.can_bind(f"uid=carol,{s.people_dn}", "Crypt#Pw1"))
        self.assertEqual(s.whoami(f"uid=carol,{s.people_dn}", "Crypt#Pw1"), f"dn:uid=carol,{s.people_dn}")
        # Anonymous and other users read entries but never userPassword.
        anon = s.search(s.people_dn, "(uid=carol)", bind_dn="")
        self.assertEqual(anon[0]["cn"], ["Carol"])
        self.assertNotIn("userPassword", anon[0])
        as_user = s.search(s.people_dn, "(uid=carol)", bind_dn=dn, password="Jörg#Pw1")
        self.assertNotIn("userPassword", as_user[0])

    def test_wrong_admin_password_fails(self):
        s = self.ldap
        with self.assertRaises(SlapdError) as ctx:
            s.search(s.people_dn, password="not-the-password")
        self.assertEqual(ctx.exception.returncode, INVALID_CREDENTIALS)
        self.assertIn("Invalid credentials", str(ctx.exception))
        with self.assertRaises(SlapdError):
            s.add_ldif(f"dn: uid=x,{s.people_dn}\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\n",
                       password="not-the-password")
        self.assertFalse(s.can_bind(s.admin_dn, "not-the-password"))
        self.assertTrue(s.can_bind(s.admin_dn, ADMIN_PW))
        self.assertEqual(s.search(s.people_dn, "(uid=x)"), [])
        self.assertIn('BIND dn="cn=admin,dc=example,dc=com"', s.log_text())
        self.assertIn("err=49", s.log_text())

    def test_duplicate_add_and_schema_violation_fail(self):
        s = self.ldap
        s.add_entry(f"uid=dup,{s.people_dn}", {"objectClass": "inetOrgPerson", "uid": "dup", "cn": "d", "sn": "d"})
        self.addCleanup(s.delete, f"uid=dup,{s.people_dn}")
        with self.assertRaises(SlapdError) as ctx:
            s.add_entry(f"uid=dup,{s.people_dn}", {"objectClass": "inetOrgPerson", "uid": "dup", "cn": "d",
                                                    "sn": "d"})
        self.assertEqual(ctx.exception.returncode, 68)   # entryAlreadyExists
        with self.assertRaises(SlapdError) as ctx:
            s.add_entry(f"uid=nosn,{s.people_dn}", {"objectClass": "inetOrgPerson", "uid": "nosn", "cn": "n"})
        self.assertEqual(ctx.exception.returncode, 65)   # objectClassViolation (sn missing)

    def test_modify_and_config_over_ldapi(self):
        s = self.ldap
        s.add_entry(f"uid=mod,{s.people_dn}", {"objectClass": "inetOrgPerson", "uid": "mod", "cn": "m", "sn": "m"})
        self.addCleanup(s.delete, f"uid=mod,{s.people_dn}")
        s.modify_ldif(f"dn: uid=mod,{s.people_dn}\nchangetype: modify\nadd: mail\nmail: mod@example.com\n")
        self.assertEqual(s.search(s.people_dn, "(uid=mod)", ["mail"])[0]["mail"], ["mod@example.com"])
        s.config_modify("dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSizeLimit\n"
                        "olcSizeLimit: 77\n")
        proc = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H",
                               s.ldapi_url, "-b", "olcDatabase={1}mdb,cn=config", "-s", "base", "olcSizeLimit"],
                              capture_output=True, text=True, env=dict(os.environ, LDAPNOINIT="1"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(parse_ldif(proc.stdout)[0]["olcSizeLimit"], ["77"])
        # The config of this instance is the generated one, not /etc/ldap's.
        proc = subprocess.run(["ldapsearch", "-LLL", "-Q", "-Y", "EXTERNAL", "-H", s.ldapi_url, "-b",
                               "cn=schema,cn=config", "-s", "one", "cn"],
                              capture_output=True, text=True, env=dict(os.environ, LDAPNOINIT="1"))
        names = [e.first("cn") for e in parse_ldif(proc.stdout)]
        self.assertEqual(names, ["{0}core", "{1}cosine", "{2}inetorgperson", "{3}nis"])


@unittest.skipIf(MISSING, SKIP_REASON)
class PrivateSlapdTls(unittest.TestCase):

    def test_ldaps_and_starttls_are_verified(self):
        with PrivateSlapd(tls=True) as s:
            self.assertEqual(s.ldaps_url, f"ldaps://127.0.0.1:{s.ldaps_port}/")
            self.assertNotEqual(s.ldaps_port, s.port)
            for path in (s.ca_file, s.wrong_ca_file, s.cert_file, s.key_file):
                self.assertTrue(os.path.isfile(path), path)
            self.assertEqual(s.whoami(tls="ldaps"), f"dn:{s.admin_dn}")
            self.assertEqual(s.whoami(tls="starttls"), f"dn:{s.admin_dn}")
            with self.assertRaises(SlapdError):
                s.whoami(tls="ldaps", cafile=s.wrong_ca_file)
            with self.assertRaises(SlapdError):
                s.whoami(tls="starttls", cafile=s.wrong_ca_file)
            # The TLS port speaks only TLS; the plain port still works without it.
            self.assertEqual(s.whoami(), f"dn:{s.admin_dn}")
            self.assertIn("TLS established", s.log_text())

    def test_plain_instance_has_no_tls(self):
        with PrivateSlapd() as s:
            self.assertIsNone(s.ldaps_url)
            with self.assertRaises(SlapdError):
                s.whoami(tls="ldaps")


@unittest.skipIf(MISSING, SKIP_REASON)
class PrivateSlapdLifecycle(unittest.TestCase):

    def test_two_instances_at_once_and_clean_stop(self):
        with PrivateSlapd() as one, PrivateSlapd(suffix="dc=mailmig,dc=test", admin_password="Two#2",
                                                 schemas=["misc"]) as two:
            self.assertNotEqual(one.port, two.port)
            self.assertNotEqual(one.root, two.root)
            self.assertEqual(two.admin_dn, "cn=admin,dc=mailmig,dc=test")
            one.add_entry(f"uid=u1,{one.people_dn}", {"objectClass": "inetOrgPerson", "uid": "u1", "cn": "u",
                                                      "sn": "u"})
            # misc.ldif adds inetLocalMailRecipient (mailLocalAddress).
            two.add_entry(f"uid=u2,{two.people_dn}", {"objectClass": ["inetOrgPerson", "inetLocalMailRecipient"],
                                                      "uid": "u2", "cn": "u", "sn": "u",
                                                      "mailLocalAddress": "u2@mailmig.test"})
            with self.assertRaises(SlapdError):   # one has no misc schema
                one.add_entry(f"uid=u3,{one.people_dn}", {"objectClass": ["inetOrgPerson", "inetLocalMailRecipient"],
                                                          "uid": "u3", "cn": "u", "sn": "u"})
            self.assertEqual([e.first("uid") for e in one.search(one.people_dn, "(uid=*)")], ["u1"])
            self.assertEqual([e.first("uid") for e in two.search(two.people_dn, "(uid=*)")], ["u2"])
            self.assertFalse(one.can_bind(one.admin_dn, "Two#2"))
            self.assertTrue(two.can_bind(two.admin_dn, "Two#2"))

            pid, port, root = one.pid, one.port, one.root
            t0 = time.monotonic()
            one.stop()
            self.assertLess(time.monotonic() - t0, one.stop_timeout)
            self.assertFalse(one.running)
            self.assertIsNotNone(one.process.returncode)
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
            self.assertEqual(live_group_members(pid), [])
            self.assertTrue(port_is_closed(port))
            self.assertFalse(os.path.exists(root))
            one.stop()   # idempotent
            # The other instance is unaffected.
            self.assertEqual(two.search(two.people_dn, "(uid=u2)")[0]["mailLocalAddress"], ["u2@mailmig.test"])
            two_pid = two.pid
        self.assertFalse(two.running)
        self.assertEqual(live_group_members(two_pid), [])
        self.assertTrue(port_is_closed(two.port))
        self.assertFalse(os.path.exists(two.root))

    def test_keep_leaves_the_directory(self):
        s = PrivateSlapd(keep=True)
        try:
            with mock.patch("sys.stderr"):
                with s:
                    pid = s.pid
        finally:
            kept = os.path.isdir(s.config_dir)
            s.keep = False
            s._removed = False
            s._remove_tree()
        self.assertTrue(kept)
        self.assertEqual(live_group_members(pid), [])
        self.assertFalse(os.path.exists(s.root))

    def test_taken_port_is_retried(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind((HOST, 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        real = slapd_module._free_port
        ports = iter([taken])
        with mock.patch.object(slapd_module, "_free_port", lambda: next(ports, None) or real()):
            with PrivateSlapd() as s:
                self.assertNotEqual(s.port, taken)
                self.assertTrue(s.can_bind(s.admin_dn, s.admin_password))

    def test_bad_extra_schema_is_reported(self):
        with self.assertRaises(SlapdError) as ctx:
            PrivateSlapd(schemas=["no-such-schema"])
        self.assertIn("no-such-schema", str(ctx.exception))

    def test_serve_mode_runs_until_stdin_closes(self):
        proc = subprocess.Popen([sys.executable, SLAPD_PY, "--serve", "--suffix", "dc=serve,dc=test"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().split()
            self.assertEqual(len(line), 8, line)
            fields = dict(zip(line[0::2], line[1::2]))
            self.assertEqual(list(fields), ["URL", "BASE", "ADMIN", "PWFILE"])
            self.assertEqual(fields["BASE"], "ou=people,dc=serve,dc=test")
            self.assertEqual(fields["ADMIN"], "cn=admin,dc=serve,dc=test")
            with open(fields["PWFILE"], encoding="utf-8") as f:
                password = f.read()
            env = dict(os.environ, LDAPNOINIT="1")
            search = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", fields["URL"], "-D", fields["ADMIN"],
                                     "-y", fields["PWFILE"], "-b", fields["BASE"], "-s", "base", "ou"],
                                    capture_output=True, text=True, env=env)
            self.assertEqual(search.returncode, 0, search.stderr)
            self.assertEqual(parse_ldif(search.stdout)[0]["ou"], ["people"])
            self.assertTrue(password)
            root = os.path.dirname(fields["PWFILE"])
            port = int(fields["URL"].rsplit(":", 1)[1].strip("/"))
            slapd_pids = processes_mentioning(root)
            self.assertEqual(len(slapd_pids), 1)
            self.assertIsNone(proc.poll())
        finally:
            proc.stdin.close()
            rc = proc.wait(20)
            proc.stdout.close()
        self.assertEqual(rc, 0)
        self.assertTrue(port_is_closed(port))
        self.assertFalse(os.path.exists(root))
        with self.assertRaises(ProcessLookupError):
            os.kill(slapd_pids[0], 0)

    def test_serve_mode_with_tls_adds_ldaps_and_the_cas(self):
        proc = subprocess.Popen([sys.executable, SLAPD_PY, "--serve", "--tls"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().split()
            fields = dict(zip(line[0::2], line[1::2]))
            self.assertEqual(list(fields), ["URL", "BASE", "ADMIN", "PWFILE", "LDAPS", "CA", "WRONGCA"])
            self.assertTrue(fields["LDAPS"].startswith("ldaps://127.0.0.1:"))
            self.assertTrue(os.path.isfile(fields["CA"]))
            self.assertTrue(os.path.isfile(fields["WRONGCA"]))
        finally:
            proc.stdin.close()
            rc = proc.wait(20)
            proc.stdout.close()
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(fields["CA"]))



if __name__ == "__main__":
    harness.main()
