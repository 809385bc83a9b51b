"""TLS refusals: mailmig refuses, by default, a server certificate signed by an
unknown CA, an expired one, and one for another host name -- on the IMAP
target, the IMAP source and the Kerio admin API client -- and never sends a
byte of the protocol (so no credential) over such a connection.  The same
server with a good certificate gets the client's first command: the test would
see a client that did not check.  Also the STARTTLS-stripping case: an IMAP
server reached through a non-loopback address that does not offer STARTTLS
never receives LOGIN or the password.

The certificates are made by the test with the openssl CLI (a throwaway CA,
like servers/common.make_tls_files); the servers are small threads speaking
just enough IMAP or HTTP to record what the client sent."""
import os
import socket
import ssl
import subprocess
import threading
import unittest

import harness
from servers.common import OPENSSL

PASSWORD = "Tls#Secret-Pw9"
CNF = (
    "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
    "[ca_ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
    "[good]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n"
    "[other_host]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:mail.other.example\n")


def make_certificates(directory):
    """ca.pem (trusted by the client), and four server certificates: good.pem,
    wrong-ca.pem (signed by an unrelated CA), expired.pem (validity ended
    yesterday), other-host.pem (names only mail.other.example); each with a .key."""
    def openssl(*args):
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, cwd=directory)

    with open(os.path.join(directory, "openssl.cnf"), "w", encoding="ascii") as f:
        f.write(CNF)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "ca_ext", *ec,
                "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "30", "-subj", "/CN=mailmig tls test " + ca)
    for name, ca, days, ext in (("good", "ca", "30", "good"), ("wrong-ca", "other-ca", "30", "good"),
                                ("expired", "ca", "-1", "good"), ("other-host", "ca", "30", "other_host")):
        openssl("req", "-new", "-config", "openssl.cnf", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + ("mail.other.example" if name == "other-host" else "localhost"))
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-set_serial",
                str(abs(hash(name)) % 10**12 + 1), "-days", days, "-extfile", "openssl.cnf", "-extensions", ext,
                "-out", name + ".pem")
    return os.path.join(directory, "ca.pem")


class RecordingServer:
    """Accepts connections on `host`, optionally wraps them in TLS with `cert`, greets
    (IMAP) or waits (HTTP), and records every byte received after the handshake."""

    def __init__(self, host="127.0.0.1", cert=None, imap_greeting=None):
        self.received = b""
        self.handshakes_failed = 0
        self.context = None
        if cert:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert, cert[:-4] + ".key")
        self.greeting = imap_greeting
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        conn.settimeout(20)
        try:
            if self.context:
                try:
                    conn = self.context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    with self.lock:
                        self.handshakes_failed += 1
                    return
            if self.greeting:
                conn.sendall(self.greeting)
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                with self.lock:
                    self.received += data
                if self.greeting:
                    # Answer each tagged command with BAD, CAPABILITY with the greeting's set.
                    for line in data.split(b"\r\n"):
                        parts = line.split(b" ")
                        if len(parts) >= 2 and parts[1].upper() == b"CAPABILITY":
                            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + parts[0] + b" OK done\r\n")
                        elif len(parts) >= 2:
                            conn.sendall(parts[0] + b" NO [AUTHENTICATIONFAILED] no\r\n")
                else:
                    conn.sendall(b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        self.sock.close()


def write_private(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


class TlsRefusals(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.certs = os.path.join(self.work, "certs")
        os.makedirs(self.certs)
        self.ca = make_certificates(self.certs)
        # A one-message Maildir source: ROOT/example.org/alice/Maildir.
        self.maildir = os.path.join(self.work, "maildirs")
        box = os.path.join(self.maildir, "example.org", "alice", "Maildir")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, d))
        with open(os.path.join(box, "cur", "1706782272.M1P1.host:2,S"), "wb") as f:
            f.write(b"From: a@example.org\r\nSubject: tls\r\n\r\nbody\r\n")
        self.passwords = write_private(os.path.join(self.work, "passwords"), f"alice@example.org {PASSWORD}\n")
        self.admin_pw = write_private(os.path.join(self.work, "admin.pw"), PASSWORD + "\n")
        self.runs = 0

    def server(self, cert_name, **kw):
        server = RecordingServer(cert=os.path.join(self.certs, cert_name + ".pem") if cert_name else None, **kw)
        self.addCleanup(server.stop)
        return server

    def mailmig(self, *args):
        self.runs += 1
        state = os.path.join(self.work, f"state{self.runs}")
        return harness.run("mailmig", "migrate", *args, "--state", state, "--timeout", "20", cwd=self.work)

    def imap_target(self, port):
        return self.mailmig("--source", "maildir:" + self.maildir, "--target", f"imaps://localhost:{port}",
                            "--ca-file", self.ca, "--auth", "user", "--passwords", self.passwords)

    def imap_source(self, port):
        return self.mailmig("--source", f"imaps://localhost:{port}", "--source-ca-file", self.ca,
                            "--source-auth", "user", "--source-passwords", self.passwords,
                            "--target", "maildir:" + os.path.join(self.work, "out"))

    def kerio(self, port):
        return self.mailmig("--source", "maildir:" + self.maildir, "--target", "maildir:" + os.path.join(self.work, "out"),
                            "--provision", f"kerio:https://localhost:{port}", "--provision-user", "admin",
                            "--provision-password-file", self.admin_pw, "--provision-ca-file", self.ca)

    def check_client(self, name, run, imap):
        greeting = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test\r\n" if imap else None
        good = self.server("good", imap_greeting=greeting)
        run(good.port)
        self.assertGreater(len(good.received), 0, f"{name}: the control run with a good certificate sent nothing")
        for bad in ("wrong-ca", "expired", "other-host"):
            with self.subTest(client=name, certificate=bad):
                server = self.server(bad, imap_greeting=greeting)
                proc = run(server.port)
                self.assertNotEqual(0, proc.returncode, proc.stdout + proc.stderr)
                self.assertEqual(b"", server.received, f"{name} sent protocol bytes over a {bad} connection")
                self.assertGreaterEqual(server.handshakes_failed, 1)
                output = (proc.stdout + proc.stderr).lower()
                self.assertTrue("certificate" in output or "verif" in output, proc.stdout + proc.stderr)
                self.assertNotIn(PASSWORD, proc.stdout + proc.stderr)

    def test_imap_target_refuses_bad_certificates(self):
        self.check_client("IMAP target", self.imap_target, imap=True)

    def test_imap_source_refuses_bad_certificates(self):
        self.check_client("IMAP source", self.imap_source, imap=True)

    def test_kerio_admin_api_refuses_bad_certificates(self):
        self.check_client("Kerio admin API", self.kerio, imap=False)

    def test_no_starttls_on_a_non_loopback_address_sends_no_credential(self):
        host = non_loopback_address()
        # The server offers no STARTTLS (as if a proxy stripped it from the list).
        server = RecordingServer(host=host, imap_greeting=b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] stripped\r\n")
        self.addCleanup(server.stop)
        for args in (["--source", "maildir:" + self.maildir, "--target", f"imap://{host}:{server.port}",
                      "--auth", "user", "--passwords", self.passwords],
                     ["--source", f"imap://{host}:{server.port}", "--source-auth", "user",
                      "--source-passwords", self.passwords, "--target", "maildir:" + os.path.join(self.work, "out")]):
            with self.subTest(args=args[:4]):
                before = len(server.received)
                proc = self.mailmig(*args)
                self.assertNotEqual(0, proc.returncode)
                sent = server.received[before:]
                self.assertNotIn(b"LOGIN", sent.upper())
                self.assertNotIn(b"AUTHENTICATE", sent.upper())
                self.assertNotIn(PASSWORD.encode(), sent)
                self.assertIn("STARTTLS", proc.stdout + proc.stderr)


def non_loopback_address():
    """An address of this machine outside 127/8, so the client sees a remote peer."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        address = probe.getsockname()[0]
    finally:
        probe.close()
    if address.startswith("127."):
        raise AssertionError("this machine has no non-loopback IPv4 address to test with")
    return address


if __name__ == "__main__":
    harness.main()
