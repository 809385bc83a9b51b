"""Self-test of servers/cyrus.py: a private Cyrus IMAP 3.6 on loopback with sasldb users,
an admin that proxy-authenticates (SASL PLAIN authzid), nested and non-ASCII folders,
APPEND round trip, several instances at once, and a clean stop.  Runs directly
(python3 test_cyrus_harness.py) or from ctest, which passes --bin-dir/--tools
(accepted and ignored here).  Skips when Cyrus is not installed."""
import imaplib
import os
import socket
import sys
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers.cyrus as cyrus_module  # noqa: E402
import harness  # noqa: E402
from servers.cyrus import HOST, CyrusError, PrivateCyrus, missing_binaries, plain_auth  # noqa: E402

ALICE_PW = "Alice#Pw:1 with spaces"   # ':' and spaces survive saslpasswd2 -p
BOB_PW = "B0b-secret"

MISSING = missing_binaries()
SKIP_REASON = ("Cyrus IMAP is not installed (missing " + ", ".join(MISSING)
               + "); scripts/setup installs cyrus-imapd and sasl2-bin") if MISSING else ""


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


def process_uid(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return f.read().split("\nUid:")[1].split()[0]


def port_is_closed(port):
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return False
    except OSError:
        return True


def raw_exchange(sock_file, sock, data, tag):
    """Sends data and returns all lines up to the tagged response."""
    sock.sendall(data)
    lines = []
    while True:
        line = sock_file.readline()
        if not line:
            raise AssertionError(f"EOF before {tag!r}; got {lines}")
        lines.append(line)
        if line.startswith(tag + b" "):
            return lines


@unittest.skipIf(MISSING, SKIP_REASON)
class PrivateCyrusHarness(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cy = PrivateCyrus(users={"alice": ALICE_PW, "bob": BOB_PW})
        cls.cy.start()

    @classmethod
    def tearDownClass(cls):
        cls.cy.stop()

    def imap(self, conn):
        """Registers a logout for a connection and returns it."""
        self.addCleanup(self._close, conn)
        return conn

    @staticmethod
    def _close(conn):
        try:
            conn.logout()
        except Exception:   # e.g. the server already said BYE (mailbox deleted)
            try:
                conn.shutdown()
            except Exception:
                pass

    def explain(self):
        return "\n" + self.cy.log_text()

    def capabilities(self, conn):
        typ, data = conn.capability()
        self.assertEqual(typ, "OK")
        return set(data[0].decode().upper().split())

    # ------------------------------------------------------------------ auth

    def test_login_right_and_wrong_password(self):
        conn = self.imap(self.cy.login("alice", ALICE_PW))
        self.assertEqual(conn.state, "AUTH", self.explain())
        self.assertEqual(conn.select("INBOX")[0], "OK")
        t0 = time.monotonic()
        with self.assertRaises(imaplib.IMAP4.error):
            self.cy.login("alice", ALICE_PW + "x")
        with self.assertRaises(imaplib.IMAP4.error):
            self.cy.login("nosuchuser", ALICE_PW)
        with self.assertRaises(imaplib.IMAP4.error):   # bob's password is not alice's
            self.cy.login("alice", BOB_PW)
        self.assertLess(time.monotonic() - t0, 2)      # failedloginpause: 0
        # Cyrus lower-cases user ids at login.
        self.imap(self.cy.login("Alice", ALICE_PW))

    def test_admin_proxy_login_with_sasl_plain_authzid(self):
        conn = self.imap(self.cy.connect())
        typ, _ = conn.authenticate("PLAIN", plain_auth("alice", self.cy.admin_user, self.cy.admin_password))
        self.assertEqual(typ, "OK", self.explain())
        self.assertEqual(conn.select("INBOX")[0], "OK")
        self.assertEqual(self.imap(self.cy.login_as("bob")).select("INBOX")[0], "OK")
        with self.assertRaises(imaplib.IMAP4.error):   # wrong admin password
            self.cy.login_as("alice", admin_password="not-the-admin-password")
        bob = self.imap(self.cy.connect())
        with self.assertRaises(imaplib.IMAP4.error):   # an ordinary user cannot proxy
            bob.authenticate("PLAIN", plain_auth("alice", "bob", BOB_PW))
        # Plain login of the admin itself: sees every user's tree, in the admin namespace.
        admin = self.imap(self.cy.login_admin())
        typ, data = admin.list('""', "user/%")
        self.assertEqual(typ, "OK")
        names = {line.rsplit(b" ", 1)[-1] for line in data}
        self.assertTrue({b"user/alice", b"user/bob"} <= names, data)

    def test_add_user_change_password_and_remove_after_start(self):
        self.cy.add_user("carol", "carol-1")
        conn = self.imap(self.cy.login("carol", "carol-1"))
        self.assertEqual(conn.select("INBOX")[0], "OK", self.explain())
        self.cy.add_user("carol", "carol-2")
        with self.assertRaises(imaplib.IMAP4.error):
            self.cy.login("carol", "carol-1")
        self.imap(self.cy.login("carol", "carol-2"))
        self.assertEqual(self.imap(self.cy.login_as("carol")).select("INBOX")[0], "OK")
        self.cy.remove_user("carol")
        with self.assertRaises(imaplib.IMAP4.error):
            self.cy.login("carol", "carol-2")
        admin = self.imap(self.cy.login_admin())
        self.assertEqual(admin.list('""', "user/carol")[1], [None])
        with self.assertRaises(ValueError):
            self.cy.add_user("Has Space", "pw")

    # ------------------------------------------------------------- mailbox

    def test_capabilities(self):
        conn = self.imap(self.cy.connect())
        pre = self.capabilities(conn)
        self.assertTrue({"IMAP4REV1", "LITERAL+", "ID", "AUTH=PLAIN", "AUTH=LOGIN", "SASL-IR"} <= pre, pre)
        self.assertNotIn("STARTTLS", pre)            # no TLS configured
        self.assertIn(self.cy.servername.encode(), conn.welcome)
        conn.login("bob", BOB_PW)
        caps = self.capabilities(conn)
        self.assertTrue({"LITERAL+", "MULTIAPPEND", "UIDPLUS", "IDLE", "NAMESPACE", "CONDSTORE",
                         "QRESYNC", "SPECIAL-USE", "CREATE-SPECIAL-USE", "MOVE", "BINARY", "CATENATE",
                         "ESEARCH", "LIST-EXTENDED", "LIST-STATUS", "ENABLE", "UNSELECT", "CHILDREN",
                         "ACL", "QUOTA", "COMPRESS=DEFLATE", "APPENDLIMIT=4294967295"} <= caps, caps)
        self.assertNotIn("LITERAL-", caps)

    def test_namespace_and_nested_non_ascii_folders(self):
        conn = self.imap(self.cy.login("alice", ALICE_PW))
        typ, data = conn.namespace()
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0], b'(("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))')
        folders = ["Projekte/2023/Q1", "&AMQ-rger/Gr&APw-n", "a.b/c", "INBOX/Sub"]   # Ärger/Grün
        for name in folders:
            typ, data = conn.create(name)
            self.assertEqual(typ, "OK", (name, data, self.explain()))
        typ, data = conn.list()
        self.assertEqual(typ, "OK")
        listed = {line.split(b' "/" ', 1)[1].decode() for line in data}
        self.assertTrue({"INBOX", "Projekte", "Projekte/2023", "Projekte/2023/Q1", "&AMQ-rger",
                         "&AMQ-rger/Gr&APw-n", "a.b", "a.b/c", "INBOX/Sub"} <= listed, listed)
        typ, data = conn._simple_command("CREATE", "Gesendet", "(USE (\\Sent))")
        self.assertEqual(typ, "OK", data)
        typ, data = conn.list('""', "Gesendet")
        self.assertIn(b"\\Sent", data[0])
        self.assertEqual(conn.select("&AMQ-rger/Gr&APw-n")[0], "OK")
        # The admin sees the same tree below user/alice.
        admin = self.imap(self.cy.login_admin())
        typ, data = admin.list('""', "user/alice/*")
        names = {line.rsplit(b" ", 1)[-1] for line in data}
        self.assertTrue({b"user/alice/Projekte/2023/Q1", b"user/alice/&AMQ-rger/Gr&APw-n"} <= names, data)

    def test_append_with_flags_keyword_and_date_read_back(self):
        message = (b"From: Sender <sender@example.com>\r\nTo: alice@example.com\r\n"
                   b"Subject: harness round trip\r\nMessage-ID: <harness-1@example.com>\r\n"
                   b"Date: Mon, 02 Jan 2023 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: 8bit\r\n\r\nBody line 1\r\n8-bit body: \xc3\xa4\xc3\xb6\xc3\xbc\r\n")
        conn = self.imap(self.cy.login("alice", ALICE_PW))
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
        # The instant is kept; Cyrus answers in its own zone (UTC here), day space-padded.
        self.assertIn(b'INTERNALDATE " 2-Jan-2023 10:00:00 +0000"', meta)
        self.assertEqual(time.mktime(imaplib.Internaldate2tuple(meta)), 1672653600)
        self.assertIn(b"RFC822.SIZE %d" % len(message), meta)
        # A proxied admin session sees the same message.
        other = self.imap(self.cy.login_as("alice"))
        self.assertEqual(other.select("Archive/2023", readonly=True), ("OK", [b"1"]))

    def test_multiappend_with_non_synchronizing_literals(self):
        m1 = b"Subject: m1\r\n\r\nfirst\r\n"
        m2 = b"Subject: m2\r\n\r\nsecond\r\n"
        with socket.create_connection((HOST, self.cy.imap_port), timeout=10) as s, s.makefile("rb") as f:
            self.assertTrue(f.readline().startswith(b"* OK"))
            raw_exchange(f, s, b'a LOGIN bob {%d+}\r\n%s\r\n' % (len(BOB_PW), BOB_PW.encode()), b"a")
            lines = raw_exchange(f, s, b'b CREATE Multi\r\n', b"b")
            self.assertTrue(lines[-1].startswith(b"b OK"), lines)
            lines = raw_exchange(
                f, s, b'b APPEND Multi (\\Seen) {%d+}\r\n%s (\\Draft kw2) "01-Jan-2020 10:00:00 +0200" {%d+}\r\n%s\r\n'
                % (len(m1), m1, len(m2), m2), b"b")
            self.assertRegex(lines[-1], rb"^b OK \[APPENDUID \d+ 1:2\]")
            raw_exchange(f, s, b"c SELECT Multi\r\n", b"c")
            lines = raw_exchange(f, s, b"d FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])\r\n", b"d")
            text = b"".join(lines)
            self.assertIn(m1, text)
            self.assertIn(m2, text)
            self.assertIn(b'INTERNALDATE " 1-Jan-2020 08:00:00 +0000"', text)   # same instant, UTC
            self.assertIn(b"kw2", text)
            raw_exchange(f, s, b"e LOGOUT\r\n", b"e")

    def test_server_side_message_rewrites(self):
        """Documents what Cyrus (default settings) does to appended bytes."""
        conn = self.imap(self.cy.login("bob", BOB_PW))
        self.assertEqual(conn.create("Rewrites")[0], "OK")
        cases = [
            (b"Subject: \xc3\xa4rger\r\n\r\nx\r\n", b"Subject: XXrger\r\n\r\nx\r\n"),   # munge8bit
            (b"Subject: lf\n\nbody\n", b"Subject: lf\r\n\r\nbody\r\n"),                # bare LF
            (b"Subject: cr\r\n\r\nbo\rdy\r\n", b"Subject: cr\r\n\r\nbo\r\ndy\r\n"),    # bare CR
            (b"Subject: noeol\r\n\r\nbody", b"Subject: noeol\r\n\r\nbody"),           # kept as is
        ]
        conn.select("Rewrites")
        for sent, stored in cases:
            typ, data = conn.append("Rewrites", None, None, sent)
            self.assertEqual(typ, "OK", data)
            uid = data[0].split()[2].rstrip(b"]")
            typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            self.assertEqual(data[0][1], stored)
        typ, data = conn.append("Rewrites", None, None, b"Subject: nul\r\n\r\nbo\0dy\r\n")
        self.assertEqual((typ, data), ("NO", [b"Message contains NUL characters"]))

    def test_keyword_limit_per_mailbox(self):
        conn = self.imap(self.cy.login("bob", BOB_PW))
        self.assertEqual(conn.create("Keywords")[0], "OK")
        flags = "(" + " ".join(f"kw{i}" for i in range(100)) + ")"
        self.assertEqual(conn.append("Keywords", flags, None, b"Subject: k\r\n\r\nx\r\n")[0], "OK")
        typ, data = conn.append("Keywords", "(one_too_many)", None, b"Subject: k\r\n\r\nx\r\n")
        self.assertEqual((typ, data), ("NO", [b"Too many user flags in mailbox"]))
        self.assertEqual(conn.append("Keywords", "(kw7 \\Seen)", None, b"Subject: k\r\n\r\nx\r\n")[0], "OK")

    def test_log_text_and_layout(self):
        self.assertTrue(self.cy.running)
        conn = self.imap(self.cy.login("alice", ALICE_PW))
        conn.select("INBOX")
        self.assertIn("SELECT INBOX", self.cy.log_text())   # telemetry transcript
        self.assertEqual(os.stat(self.cy.root).st_mode & 0o777, 0o755)
        with open(self.cy.config_path, encoding="utf-8") as f:
            config = f.read()
        with open(self.cy.cyrus_conf_path, encoding="utf-8") as f:
            cyrus_conf = f.read()
        for text in (config, cyrus_conf):
            for system_path in ("/etc/", "/var/lib/cyrus", "/var/spool/cyrus", "/run/cyrus"):
                self.assertNotIn(system_path, text)
        self.assertIn(f'cmd="{cyrus_module.IMAPD} -C {self.cy.config_path}"', cyrus_conf)
        self.assertIn(f'listen="{HOST}:{self.cy.imap_port}"', cyrus_conf)
        self.assertIn("unixhierarchysep: yes", config)
        st = os.stat(self.cy.sasldb_path)
        self.assertEqual((st.st_uid, st.st_gid), (self.cy.run_uid, self.cy.run_gid))
        users = {process_uid(pid) for pid in live_group_members(self.cy.pid)}
        if os.geteuid() == 0:
            self.assertEqual(self.cy.run_user, "cyrus")
            self.assertNotIn("0", users)   # master and imapd dropped root
        self.assertEqual(users, {str(self.cy.run_uid)})
        # Cyrus tools run against this instance's config.
        self.assertTrue(self.cy.tool("mbpath", self.cy.mailbox_name("alice")).stdout.strip()
                        .startswith(self.cy.spool_dir + "/"))


@unittest.skipIf(MISSING, SKIP_REASON)
class PrivateCyrusLifecycle(unittest.TestCase):

    def test_two_instances_at_once_and_clean_stop(self):
        with PrivateCyrus(users={"u1": "p1"}) as one, \
                PrivateCyrus(users={"u2": "p2"}, imapd_options={"munge8bit": "no"}) as two:
            self.assertNotEqual(one.imap_port, two.imap_port)
            self.assertNotEqual(one.root, two.root)
            a = one.login("u1", "p1")   # left open: stop() must end its imapd too
            a.select("INBOX")
            self.assertGreaterEqual(len(live_group_members(one.pid)), 2)
            with self.assertRaises(imaplib.IMAP4.error):
                one.login("u2", "p2")
            b = two.login("u2", "p2")
            raw = b"Subject: \xc3\xa4rger\r\n\r\nx\r\n"   # munge8bit: no keeps 8-bit headers
            typ, data = b.append("INBOX", None, None, raw)
            self.assertEqual(typ, "OK", data)
            b.select("INBOX")
            self.assertEqual(b.fetch("1", "(BODY.PEEK[])")[1][0][1], raw)
            b.logout()
            pid, ports, root = one.pid, (one.imap_port,), one.root
            watchdog = one.watchdog.pid
            t0 = time.monotonic()
            one.stop()
            self.assertLess(time.monotonic() - t0, one.stop_timeout)
            self.assertFalse(one.running)
            self.assertIsNotNone(one.process.returncode)
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
            with self.assertRaises(ProcessLookupError):
                os.kill(watchdog, 0)
            self.assertEqual(live_group_members(pid), [])   # no imapd left behind either
            for port in ports:
                self.assertTrue(port_is_closed(port), port)
            self.assertFalse(os.path.exists(root))
            with self.assertRaises((OSError, imaplib.IMAP4.abort)):
                a.noop()
            a.shutdown()
            # The other instance is unaffected.
            c = two.login("u2", "p2")
            self.assertEqual(c.noop()[0], "OK")
            c.logout()
            one.stop()   # idempotent
            two_pid = two.pid
        self.assertFalse(two.running)
        self.assertEqual(live_group_members(two_pid), [])
        self.assertTrue(port_is_closed(two.imap_port))

    def test_taken_port_is_retried(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind((HOST, 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        real = cyrus_module._free_port
        ports = iter([taken])
        with mock.patch.object(cyrus_module, "_free_port", lambda: next(ports, None) or real()):
            with PrivateCyrus(users={"u": "p"}) as cy:
                self.assertNotEqual(cy.imap_port, taken)
                self.imap_ok(cy)

    def imap_ok(self, cy):
        conn = cy.login("u", "p")
        self.assertEqual(conn.select("INBOX")[0], "OK")
        conn.logout()

    def test_startup_error_carries_the_config(self):
        cy = PrivateCyrus(imapd_options={"altnamespace": "maybe"}, start_timeout=5)
        try:
            with self.assertRaises(CyrusError) as ctx:
                cy.start()
            self.assertIn("EX_CONFIG", str(ctx.exception))
            self.assertIn("altnamespace: maybe", str(ctx.exception))
        finally:
            cy.stop()
        self.assertFalse(os.path.exists(cy.root))



if __name__ == "__main__":
    harness.main()
