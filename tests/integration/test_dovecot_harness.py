"""Self-test of servers/dovecot.py: a private Dovecot on loopback with users, a master
user, STARTTLS/IMAPS against a throwaway CA, APPEND round trip, several instances at
once, and a clean stop.  Runs directly (python3 test_dovecot_harness.py) or from ctest,
which passes --bin-dir/--tools (accepted and ignored here)."""
import imaplib
import os
import shutil
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from servers.dovecot import HOST, DovecotError, PrivateDovecot  # noqa: E402

ALICE_PW = "Alice#Pw:1 with spaces"   # ':' and spaces survive the passwd-file
BOB_PW = "B0b-secret"


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
            if int(fields[2]) == pgid and fields[0] != b"Z":
                pids.append(int(entry))
    return pids


def port_is_closed(port):
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return False
    except OSError:
        return True


class PrivateDovecotHarness(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dc = PrivateDovecot(users={"alice": ALICE_PW, "bob": BOB_PW})
        cls.dc.start()

    @classmethod
    def tearDownClass(cls):
        cls.dc.stop()

    def imap(self, conn):
        """Registers a logout for a connection and returns it."""
        self.addCleanup(self._close, conn)
        return conn

    @staticmethod
    def _close(conn):
        try:
            conn.logout()
        except Exception:
            pass

    def explain(self):
        return "\n" + self.dc.log_text()

    def capabilities(self, conn):
        typ, data = conn.capability()
        self.assertEqual(typ, "OK")
        return set(data[0].decode().upper().split())

    # ------------------------------------------------------------------ auth

    def test_login_right_and_wrong_password(self):
        conn = self.imap(self.dc.login("alice", ALICE_PW))
        self.assertEqual(conn.state, "AUTH", self.explain())
        self.assertEqual(conn.select("INBOX")[0], "OK")
        with self.assertRaises(imaplib.IMAP4.error):
            self.dc.login("alice", ALICE_PW + "x")
        with self.assertRaises(imaplib.IMAP4.error):
            self.dc.login("nosuchuser", ALICE_PW)

    def test_master_user_login_and_sasl_plain_authzid(self):
        conn = self.imap(self.dc.login_master("bob"))
        self.assertEqual(conn.state, "AUTH", self.explain())
        conn = self.imap(self.dc.connect())
        authzid = f"alice\0{self.dc.master_user}\0{self.dc.master_password}".encode()
        typ, _ = conn.authenticate("PLAIN", lambda _: authzid)
        self.assertEqual(typ, "OK")
        self.assertEqual(conn.select("INBOX")[0], "OK")
        with self.assertRaises(imaplib.IMAP4.error):   # wrong master password
            self.dc.login(f"bob*{self.dc.master_user}", "not-the-master-password")
        with self.assertRaises(imaplib.IMAP4.error):   # target user must exist
            self.dc.login_master("nosuchuser")
        with self.assertRaises(imaplib.IMAP4.error):   # the master user alone is no mail user
            self.dc.login(self.dc.master_user, self.dc.master_password)
        self.assertIn("Master user logging in as alice", self.dc.log_text())

    def test_add_user_and_change_password_after_start(self):
        t0 = time.monotonic()
        self.dc.add_user("Carol", "carol-1")
        conn = self.imap(self.dc.login("carol", "carol-1"))
        self.assertEqual(conn.state, "AUTH", self.explain())
        self.dc.add_user("carol", "carol-2")        # same length: only the mtime changes
        with self.assertRaises(imaplib.IMAP4.error):
            self.dc.login("carol", "carol-1")
        self.imap(self.dc.login("carol", "carol-2"))
        self.imap(self.dc.login_master("carol"))
        self.dc.remove_user("carol")
        with self.assertRaises(imaplib.IMAP4.error):
            self.dc.login("carol", "carol-2")
        self.assertLess(time.monotonic() - t0, 6)

    # ------------------------------------------------------------------- TLS

    def test_starttls_verified_with_ca_and_rejected_with_wrong_ca(self):
        conn = self.imap(self.dc.connect("starttls"))
        self.assertIsInstance(conn.sock, ssl.SSLSocket)
        self.assertEqual(conn.login("alice", ALICE_PW)[0], "OK")
        self.assertNotIn("STARTTLS", self.capabilities(conn))
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.dc.connect("starttls", cafile=self.dc.wrong_ca_file)
        # The certificate also verifies for the name "localhost".
        plain = self.imap(imaplib.IMAP4(HOST, self.dc.imap_port, timeout=10))
        plain.host = "localhost"
        plain.starttls(ssl_context=self.dc.ssl_context())
        self.assertEqual(plain.sock.getpeercert()["subject"], ((("commonName", "localhost"),),))

    def test_imaps_verified_with_ca_and_rejected_with_wrong_ca(self):
        conn = self.imap(self.dc.login("bob", BOB_PW, tls="imaps"))
        self.assertIsInstance(conn.sock, ssl.SSLSocket)
        self.assertEqual(conn.state, "AUTH")
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.dc.connect("imaps", cafile=self.dc.wrong_ca_file)
        with self.assertRaises(ssl.SSLCertVerificationError):   # system trust store: unknown CA
            imaplib.IMAP4_SSL(HOST, self.dc.imaps_port, ssl_context=ssl.create_default_context(), timeout=10)

    # ------------------------------------------------------------- mailbox

    def test_capabilities(self):
        conn = self.imap(self.dc.connect())
        pre = self.capabilities(conn)
        self.assertTrue({"IMAP4REV1", "STARTTLS", "LITERAL+", "AUTH=PLAIN"} <= pre, pre)
        conn.login("bob", BOB_PW)
        caps = self.capabilities(conn)
        self.assertTrue({"LITERAL+", "MULTIAPPEND", "UIDPLUS", "IDLE", "NAMESPACE", "CONDSTORE",
                         "SPECIAL-USE", "MOVE"} <= caps, caps)

    def test_append_with_flags_and_keyword_and_read_back(self):
        message = (b"From: Sender <sender@example.com>\r\nTo: alice@example.com\r\n"
                   b"Subject: harness round trip\r\nMessage-ID: <harness-1@example.com>\r\n"
                   b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\nBody line 1\r\nBody line 2\r\n")
        conn = self.imap(self.dc.login("alice", ALICE_PW))
        self.assertEqual(conn.create("Archive/2023")[0], "OK")
        typ, data = conn.append("Archive/2023", r"(\Seen \Flagged $Forwarded MyKeyword)",
                                imaplib.Time2Internaldate(1672653600), message)
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"APPENDUID", data[0])   # UIDPLUS
        conn.select("Archive/2023")
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        meta, body = data[0]
        self.assertEqual(body, message)
        for flag in (rb"\Seen", rb"\Flagged", b"$Forwarded", b"MyKeyword"):
            self.assertIn(flag, meta)
        self.assertIn(b"02-Jan-2023", meta)
        # On disk: one file in the user's Maildir, owned by the mail uid.
        folder = os.path.join(self.dc.maildir_path("alice"), ".Archive.2023", "cur")
        files = os.listdir(folder)
        self.assertEqual(len(files), 1, files)
        st = os.stat(os.path.join(folder, files[0]))
        self.assertEqual((st.st_uid, st.st_gid), (self.dc.mail_uid, self.dc.mail_gid))
        self.assertNotEqual(st.st_uid, 0)
        with open(os.path.join(folder, files[0]), "rb") as f:
            self.assertEqual(f.read().replace(b"\n", b"\r\n"), message)
        # doveadm against this instance sees the same.
        listing = self.dc.doveadm("mailbox", "list", "-u", "alice").stdout.split()
        self.assertIn("Archive/2023", listing)
        fetched = self.dc.doveadm("fetch", "-u", "alice", "flags hdr.subject", "mailbox", "Archive/2023").stdout
        self.assertIn("MyKeyword", fetched)
        self.assertIn("harness round trip", fetched)
        # A second session through the master user sees it too.
        other = self.imap(self.dc.login_master("alice"))
        self.assertEqual(other.select("Archive/2023", readonly=True), ("OK", [b"1"]))

    def test_many_connections_per_user(self):
        conns = [self.imap(self.dc.login("bob", BOB_PW)) for _ in range(15)]
        for conn in conns:
            self.assertEqual(conn.noop()[0], "OK")

    def test_log_text_and_layout(self):
        self.assertTrue(self.dc.running)
        self.assertIn("starting up for imap", self.dc.log_text())
        self.assertEqual(os.stat(self.dc.root).st_mode & 0o777, 0o755)
        with open(self.dc.config_path, encoding="utf-8") as f:
            config = f.read()
        self.assertNotIn("/etc/dovecot", config)
        self.assertNotIn("!include", config)
        self.assertEqual(self.dc.maildir_path("Alice"),
                         os.path.join(self.dc.root, "mail", "alice", "Maildir"))
        if os.geteuid() == 0:
            self.assertNotEqual(self.dc.mail_uid, 0)
        else:
            self.assertEqual(self.dc.mail_uid, os.geteuid())


class PrivateDovecotLifecycle(unittest.TestCase):

    def test_two_instances_at_once_and_clean_stop(self):
        with PrivateDovecot(users={"u1": "p1"}) as one, PrivateDovecot(users={"u2": "p2"}) as two:
            self.assertEqual(len({one.imap_port, one.imaps_port, two.imap_port, two.imaps_port}), 4)
            self.assertNotEqual(one.root, two.root)
            self.assertNotEqual(one.pid, two.pid)
            a = one.login("u1", "p1")   # left open: stop() must end its imap process too
            self.assertGreater(len(live_group_members(one.pid)), 3)
            b = two.login("u2", "p2")
            with self.assertRaises(imaplib.IMAP4.error):
                one.login("u2", "p2")
            with self.assertRaises(ssl.SSLCertVerificationError):   # each has its own CA
                one.connect("imaps", cafile=two.ca_file)
            b.logout()
            pid, group_pid, ports, root = one.pid, one.pid, (one.imap_port, one.imaps_port), one.root
            t0 = time.monotonic()
            one.stop()
            self.assertLess(time.monotonic() - t0, one.stop_timeout)
            self.assertFalse(one.running)
            self.assertIsNotNone(one.process.returncode)
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
            self.assertEqual(live_group_members(group_pid), [])   # no child left behind either
            for port in ports:
                self.assertTrue(port_is_closed(port), port)
            self.assertFalse(os.path.exists(root))
            with self.assertRaises((OSError, imaplib.IMAP4.abort)):
                a.noop()
            # The other instance is unaffected.
            c = two.login("u2", "p2")
            self.assertEqual(c.noop()[0], "OK")
            c.logout()
            one.stop()   # idempotent
        self.assertFalse(two.running)
        self.assertTrue(port_is_closed(two.imap_port))

    def test_keep_leaves_the_directory_and_startup_errors_carry_the_log(self):
        dc = PrivateDovecot(keep=True, extra_config="this_setting_does_not_exist = 1\n", start_timeout=5)
        try:
            with self.assertRaises(DovecotError) as ctx:
                dc.start()
            self.assertIn("this_setting_does_not_exist", str(ctx.exception))
            dc.stop()
            self.assertTrue(os.path.isdir(dc.root))
        finally:
            shutil.rmtree(dc.root, ignore_errors=True)



if __name__ == "__main__":
    harness.main()
