"""Self-test of servers/kerio_imap_frontend.py, the Kerio master-auth TEST front end
(not Kerio) in front of a private Dovecot: X-MASTERAUTH challenge/response, X-SETUSER,
byte-exact relay of a large LITERAL+ APPEND and its FETCH, refusals (wrong master
password, unknown user, X-SETUSER first), ordinary LOGIN relayed to Dovecot, concurrent
clients with IDLE, drop_after_bytes() mid-APPEND, and stop().  Runs directly
(python3 test_kerio_frontend.py) or from ctest, which passes --bin-dir/--tools
(accepted and ignored here)."""
import imaplib
import os
import random
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from servers.dovecot import PrivateDovecot  # noqa: E402
from servers.kerio_imap_frontend import (  # noqa: E402
    GREETING_TEXT, KerioImapTestFrontend, digest_for)

KERIO_MASTER = "Kerio#Master:pw 1"
USERS = {"alice": "Alice-pw1", "bob": "Bob-pw2", "carol": "Carol-pw3"}
TIMEOUT = 10


class RawClient:
    """A minimal IMAP client on a plain socket, enough to drive the exchange by hand."""

    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.buf = bytearray()
        self.greeting = self.readline()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by the server")
        self.buf += data

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def response(self, tag):
        """Reads up to the tagged reply; returns (items, tagged_line).  items are lines
        (bytes) and, for literals in responses, the literal data (bytes) right after
        the line that announced it."""
        items = []
        tag = tag.encode() + b" "
        while True:
            line = self.readline()
            items.append(line)
            m = re.search(rb"\{(\d+)\}$", line)
            if m:
                items.append(self.read_exact(int(m.group(1))))
                continue
            if line.startswith(tag):
                return items, line

    def command(self, tag, text):
        self.send(f"{tag} {text}\r\n".encode())
        return self.response(tag)

    def master_auth(self, password, tag="ma"):
        self.send(f"{tag} X-MASTERAUTH\r\n".encode())
        cont = self.readline()
        assert cont.startswith(b"+ "), cont
        challenge = cont[2:].decode()
        self.send(digest_for(challenge, password).encode() + b"\r\n")
        return challenge, self.response(tag)[1]

    def wait_eof(self, timeout=TIMEOUT):
        """True if the server closes the connection within timeout (reading any data)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def close_quietly(imap):
    try:
        imap.shutdown()
    except OSError:
        pass


def make_message(size, seed):
    """A CRLF message of about `size` bytes whose body holds every 8-bit byte value
    except NUL, CR and LF."""
    rnd = random.Random(seed)
    alphabet = bytes(b for b in range(1, 256) if b not in (10, 13))
    head = (f"From: Kerio Test <kt@example.com>\r\nTo: user@example.com\r\nSubject: relay {seed}\r\n"
            f"Message-ID: <relay-{seed}@example.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode()
    lines = []
    total = len(head)
    while total < size:
        line = bytes(rnd.choice(alphabet) for _ in range(76)) + b"\r\n"
        lines.append(line)
        total += len(line)
    return head + b"".join(lines)


class KerioFrontendTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dc = PrivateDovecot(users=USERS)
        cls.dc.start()
        try:
            cls.kerio = KerioImapTestFrontend(cls.dc, KERIO_MASTER, transcript=True).start()
        except BaseException:
            cls.dc.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.kerio.stop()
        cls.dc.stop()

    def client(self):
        c = RawClient(self.kerio.address)
        self.addCleanup(c.close)
        return c

    def relayed(self, user):
        """A client switched to `user` through X-MASTERAUTH + X-SETUSER."""
        c = self.client()
        _, tagged = c.master_auth(KERIO_MASTER)
        self.assertEqual(tagged, b"ma OK X-MASTERAUTH Welcome to server, master")
        self.assertEqual(c.command("su", f'X-SETUSER "{user}"')[1], b"su OK X-SETUSER completed",
                         self.dc.log_text())
        return c

    def explain(self):
        return "\n" + self.kerio.transcript_text()[-5000:] + "\n" + self.dc.log_text()[-5000:]

    # -------------------------------------------------------------- local part

    def test_greeting_and_pre_auth_commands(self):
        c = self.client()
        m = re.fullmatch(rb"\* OK \[CAPABILITY ([^\]]+)\] (.*)", c.greeting)
        self.assertIsNotNone(m, c.greeting)
        self.assertEqual(m.group(2).decode(), GREETING_TEXT)
        caps = m.group(1).decode().split()
        self.assertEqual(caps[:5], ["IMAP4rev1", "LITERAL+", "MULTIAPPEND", "UIDPLUS", "X-MASTERAUTH"])
        self.assertTrue({"IDLE", "AUTH=PLAIN", "MOVE", "CONDSTORE"} <= set(caps), caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertEqual(caps, self.kerio.capabilities)

        items, tagged = c.command("a1", "CAPABILITY")
        self.assertEqual(items[0], b"* CAPABILITY " + " ".join(caps).encode())
        self.assertTrue(tagged.startswith(b"a1 OK"))
        self.assertTrue(c.command("a2", "noop")[1].startswith(b"a2 OK"))
        items, tagged = c.command("a3", 'ID ("name" "mailmig")')
        self.assertEqual((items[0], tagged[:5]), (b"* ID NIL", b"a3 OK"))
        self.assertTrue(c.command("a4", "STARTTLS")[1].startswith(b"a4 NO "))
        self.assertTrue(c.command("a5", "SELECT INBOX")[1].startswith(b"a5 BAD "))
        # An unknown command with a synchronizing literal is refused without "+".
        self.assertTrue(c.command("a6", "FROB {5}")[1].startswith(b"a6 BAD "))
        # A non-synchronizing literal is consumed, not taken for a command.
        c.send(b"a7 FROB {9+}\r\na8 NOOP\r\n\r\n")
        self.assertTrue(c.response("a7")[1].startswith(b"a7 BAD "))
        self.assertEqual(c.command("a9", 'X-SETUSER "alice"')[1], b"a9 NO X-SETUSER not authenticated as master")
        self.assertTrue(c.command("b1", "X-SETUSER")[1].startswith(b"b1 BAD "))
        items, tagged = c.command("b2", "LOGOUT")
        self.assertEqual((items[0][:5], tagged[:5]), (b"* BYE", b"b2 OK"))
        self.assertTrue(c.wait_eof())

    def test_wrong_master_password_and_cancel(self):
        before = self.kerio.masterauth_failures
        c = self.client()
        _, tagged = c.master_auth(KERIO_MASTER + "x")
        self.assertEqual(tagged, b"ma NO X-MASTERAUTH failed")
        self.assertEqual(self.kerio.masterauth_failures, before + 1)
        self.assertEqual(c.command("s1", 'X-SETUSER "alice"')[1], b"s1 NO X-SETUSER not authenticated as master")
        # Upper-case hex is not what Kerio documents: refused too.
        c.send(b"m2 X-MASTERAUTH\r\n")
        challenge = c.readline()[2:].decode()
        c.send(digest_for(challenge, KERIO_MASTER).upper().encode() + b"\r\n")
        self.assertEqual(c.response("m2")[1], b"m2 NO X-MASTERAUTH failed")
        # "*" cancels the exchange.
        c.send(b"m3 X-MASTERAUTH\r\n")
        self.assertTrue(c.readline().startswith(b"+ <"))
        c.send(b"*\r\n")
        self.assertTrue(c.response("m3")[1].startswith(b"m3 BAD "))
        self.assertEqual(self.kerio.masterauth_failures, before + 2)
        # The right answer still works on the same connection, and challenges are fresh.
        ch1, tagged = c.master_auth(KERIO_MASTER, tag="m4")
        self.assertEqual(tagged, b"m4 OK X-MASTERAUTH Welcome to server, master")
        ch2, _ = c.master_auth(KERIO_MASTER, tag="m5")
        self.assertNotEqual(ch1, ch2)
        self.assertRegex(ch1, r"^<[0-9a-f]{32}@kerio-test>$")

    def test_setuser_unknown_user_then_known(self):
        c = self.client()
        self.assertEqual(c.master_auth(KERIO_MASTER)[1], b"ma OK X-MASTERAUTH Welcome to server, master")
        c.send(b"s1 X-SETUSER {10}\r\n")                 # literal form
        self.assertTrue(c.readline().startswith(b"+ "))
        c.send(b"nosuchuser\r\n")
        self.assertEqual(c.response("s1")[1], b"s1 NO X-SETUSER failed: no such user")
        self.assertIn("nosuchuser", self.kerio.setuser_failures)
        self.assertNotIn("nosuchuser", self.kerio.master_logins)
        # Atom form, after a failure on the same connection.
        self.assertEqual(c.command("s2", "X-SETUSER carol")[1], b"s2 OK X-SETUSER completed", self.explain())
        items, tagged = c.command("s3", "CAPABILITY")    # now Dovecot answers
        self.assertTrue(tagged.startswith(b"s3 OK"))
        self.assertIn(b"MULTIAPPEND", items[0])
        self.assertNotIn(b"X-MASTERAUTH", items[0])

    # -------------------------------------------------------------------- relay

    def test_master_auth_append_literal_plus_and_fetch_back(self):
        c = self.relayed("alice")
        self.assertIn("alice", self.kerio.master_logins)
        self.assertTrue(c.command("c1", "CREATE Relay")[1].startswith(b"c1 OK"))
        self.assertTrue(c.command("c2", "SELECT Relay")[1].startswith(b"c2 OK"), self.explain())
        small = make_message(2000, "small")
        big = make_message(3 * 1024 * 1024, "big")
        # LITERAL+ APPEND, then MULTIAPPEND of both in one command.
        c.send(b"c3 APPEND Relay (\\Seen) {%d+}\r\n" % len(small) + small + b"\r\n")
        tagged = c.response("c3")[1]
        self.assertRegex(tagged, rb"^c3 OK \[APPENDUID \d+ 1\]")
        c.send(b"c4 APPEND Relay {%d+}\r\n" % len(big) + big + b" {%d+}\r\n" % len(small) + small + b"\r\n")
        tagged = c.response("c4")[1]
        self.assertRegex(tagged, rb"^c4 OK \[APPENDUID \d+ 2:3\]")
        items, tagged = c.command("c5", "UID FETCH 1:3 (FLAGS BODY.PEEK[])")
        self.assertTrue(tagged.startswith(b"c5 OK"))
        bodies = [item for prev, item in zip(items, items[1:]) if re.search(rb"\{\d+\}$", prev)]
        self.assertEqual(len(bodies), 3)
        self.assertEqual(bodies[0], small)
        self.assertEqual(bodies[1], big)
        self.assertEqual(bodies[2], small)
        self.assertIn(b"\\Seen", items[0])
        # A synchronizing literal goes through the relay too.
        c.send(b"c6 APPEND Relay {%d}\r\n" % len(small))
        self.assertTrue(c.readline().startswith(b"+"))
        c.send(small + b"\r\n")
        self.assertTrue(c.response("c6")[1].startswith(b"c6 OK"))
        # Logout: Dovecot closes, so the client sees the connection end.
        self.assertTrue(c.command("c7", "LOGOUT")[1].startswith(b"c7 OK"))
        self.assertTrue(c.wait_eof())
        # The transcript never holds the digest or a password.
        text = self.kerio.transcript_text()
        self.assertIn("<redacted>", text)
        self.assertNotIn(self.dc.master_password, text)
        self.assertNotIn(KERIO_MASTER, text)
        for _, challenge in re.findall(r"#(\d+) S: \+ (<[0-9a-f]+@kerio-test>)", text):
            self.assertNotIn(digest_for(challenge, KERIO_MASTER), text)

    def test_ordinary_login_through_front_end(self):
        before = self.kerio.user_logins
        imap = imaplib.IMAP4(*self.kerio.address, timeout=TIMEOUT)
        self.addCleanup(close_quietly, imap)
        self.assertIn("X-MASTERAUTH", imap.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            imap.login("bob", "wrong password")
        self.assertEqual(imap.login("bob", USERS["bob"])[0], "OK")
        self.assertEqual(imap.select("INBOX")[0], "OK")
        self.assertEqual(imap.logout()[0], "BYE")
        # SASL PLAIN (with a continuation) and a LOGIN with synchronizing literals.
        imap2 = imaplib.IMAP4(*self.kerio.address, timeout=TIMEOUT)
        self.addCleanup(close_quietly, imap2)
        self.assertEqual(imap2.authenticate("PLAIN", lambda _: f"\0carol\0{USERS['carol']}".encode())[0], "OK")
        self.assertEqual(imap2.select("INBOX")[0], "OK")
        c = self.client()
        c.send(b"l1 LOGIN {5}\r\n")
        self.assertTrue(c.readline().startswith(b"+"))
        c.send(b"alice {%d}\r\n" % len(USERS["alice"]))
        self.assertTrue(c.readline().startswith(b"+"))
        c.send(USERS["alice"].encode() + b"\r\n")
        self.assertTrue(c.response("l1")[1].startswith(b"l1 OK"), self.explain())
        # The front end counts a login in its session thread, which may run after the
        # client has already seen the OK: wait for it instead of racing it.
        deadline = time.time() + 5
        while self.kerio.user_logins < before + 3 and time.time() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.kerio.user_logins, before + 3)
        text = self.kerio.transcript_text()
        self.assertNotIn(USERS["bob"], text)
        self.assertNotIn(USERS["carol"], text)

    def test_two_clients_at_once_with_idle(self):
        watcher = self.relayed("bob")
        writer = self.relayed("bob")
        self.assertTrue(watcher.command("w1", "CREATE Watched")[1].startswith(b"w1 OK"))
        self.assertTrue(watcher.command("w2", "SELECT Watched")[1].startswith(b"w2 OK"))
        watcher.send(b"w3 IDLE\r\n")
        self.assertTrue(watcher.readline().startswith(b"+"))
        errors = []

        def append(n):
            try:
                msg = make_message(50000, f"idle-{n}")
                writer.send(b"x%d APPEND Watched {%d+}\r\n" % (n, len(msg)) + msg + b"\r\n")
                tagged = writer.response(f"x{n}")[1]
                if not tagged.startswith(b"x%d OK" % n):
                    errors.append(tagged)
            except Exception as exc:   # reported below
                errors.append(exc)

        t = threading.Thread(target=append, args=(1,))
        t.start()
        # The IDLEing client sees the new message through its own relay.
        line = watcher.readline()
        while not line.endswith(b" EXISTS"):
            line = watcher.readline()
        self.assertEqual(line, b"* 1 EXISTS")
        watcher.send(b"DONE\r\n")
        self.assertTrue(watcher.response("w3")[1].startswith(b"w3 OK"))
        t.join(TIMEOUT)
        self.assertEqual(errors, [])
        # More simultaneous sessions, all appending at once.
        clients = [self.relayed(user) for user in ("alice", "bob", "carol", "alice")]
        results = []

        def work(i, c):
            msg = make_message(100000, f"par-{i}")
            c.send(b"p APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
            results.append(c.response("p")[1][:4])

        threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(TIMEOUT)
        self.assertEqual(results, [b"p OK"] * 4)

    def test_drop_after_bytes_mid_append(self):
        c = self.relayed("carol")
        self.assertTrue(c.command("d1", "CREATE Dropped")[1].startswith(b"d1 OK"))
        msg = make_message(20000, "dropped")
        line = b"d2 APPEND Dropped {%d+}\r\n" % len(msg)
        partial = line + msg[:8000]
        self.kerio.drop_after_bytes(len(partial))
        self.addCleanup(self.kerio.cancel_drop)
        drops = self.kerio.drops
        c.send(partial)                 # exactly the budget: the server then cuts
        self.assertTrue(self.kerio.wait_dropped(TIMEOUT))
        t0 = time.monotonic()
        c.sock.settimeout(TIMEOUT)
        self.assertEqual(c.sock.recv(100), b"")    # a clean EOF, no data
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(self.kerio.drops, drops + 1)
        # Nothing was stored, and the front end keeps serving new connections.
        other = self.relayed("carol")
        items, tagged = other.command("d3", "STATUS Dropped (MESSAGES)")
        self.assertTrue(tagged.startswith(b"d3 OK"), tagged)
        self.assertIn(b"(MESSAGES 0)", items[0])

    def test_stop_closes_clients_and_listener(self):
        fe = KerioImapTestFrontend(self.dc, "other master")
        with fe:
            relayed = RawClient(fe.address)
            self.addCleanup(relayed.close)
            self.assertEqual(relayed.master_auth("other master")[1][:5], b"ma OK")
            self.assertEqual(relayed.command("s", "X-SETUSER alice")[1], b"s OK X-SETUSER completed")
            idle = RawClient(fe.address)      # still in the local (pre-auth) part
            self.addCleanup(idle.close)
            self.assertEqual(fe.active_sessions, 2)
        self.assertTrue(relayed.wait_eof(5))
        self.assertTrue(idle.wait_eof(5))
        self.assertEqual(fe.active_sessions, 0)
        with self.assertRaises(OSError):
            socket.create_connection(fe.address, timeout=2).close()
        fe.stop()   # idempotent



if __name__ == "__main__":
    harness.main()
