"""mailmig copy into real IMAP servers: every auth form, TLS policy, folder
names, flags/keywords/dates read back byte-identical, big messages with flat
memory, dropped connections, and no duplicates on a second run."""
import hashlib
import os
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot
from servers.cyrus import PrivateCyrus
from servers.kerio_imap_frontend import KerioImapTestFrontend

USER_PW = "User#Pw 1"


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def cgp_message(sender, date, status, xstatus, keywords, body):
    head = f"From {sender} {date}\nX-UID: 1\nStatus: {status}\n"
    if xstatus:
        head += f"X-Status: {xstatus}\n"
    if keywords:
        head += f"X-Keywords: {' '.join(keywords)}\n"
    return head + body + "\n"


# Neutral names; the store files are named with their modified UTF-7 components.
EDGE_FOLDERS = ["INBOX", "Tom & Jerry", "😂 Fun", "Entwürfe", "Отправленные", "送信済み/深い/フォルダ"]


def store_path(neutral):
    """"A/B/C" -> "A.folder/B.folder/C.mbox" with each component in modified UTF-7."""
    parts = [rb.mutf7_encode(p) for p in neutral.split("/")]
    return "/".join([p + ".folder" for p in parts[:-1]] + [parts[-1] + ".mbox"])


FLAG_CASES = [  # (Status, X-Status, keywords, expected letters)
    ("RO", "", [], "S"),
    ("O", "", [], ""),
    ("RO", "A", [], "SA"),
    ("RO", "F", ["$Label1"], "SF"),
    ("O", "D", [], "D"),
    ("O", "T", ["Important", "$Forwarded"], "T"),
    ("RO", "AFDT", ["Work"], "SAFDT"),
]


def write_edge_store(root, domain="edge.example"):
    """A small CommuniGate store with awkward names, every flag and keywords; returns a manifest-like dict."""
    acct = os.path.join(root, "Domains", domain, "eve.macnt")
    os.makedirs(acct)
    with open(os.path.join(acct, "account.settings"), "w") as f:
        f.write(f' {{\n Password = "{USER_PW}";\n}}\n')
    folders = []
    for n, name in enumerate(EDGE_FOLDERS):
        path = os.path.join(acct, store_path(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        listing, text = [], ""
        for i, (status, xstatus, keywords, letters) in enumerate(FLAG_CASES):
            body = (f"From: a@b.example\nSubject: {name} {i}\nDate: Thu, 01 Feb 2024 10:11:12 +0100\n\n"
                    f"Hello {i}\nFrom here on\n")
            quoted = body.replace("\nFrom here", "\n>From here")
            date = f"Thu Feb  {1 + i} 1{n}:11:12 2024"
            text += cgp_message("a@b.example", date, status, xstatus, keywords, quoted)
            crlf = body.replace("\n", "\r\n").encode()
            listing.append({"sha256": hashlib.sha256(crlf).hexdigest(), "size": len(crlf), "flags": letters,
                            "keywords": keywords, "date": f"2024-02-{1 + i:02d}T1{n}:11:12+00:00"})
        with open(path, "w") as f:
            f.write(text)
        folders.append({"name": name, "selectable": True, "list": listing})
    # parents of the nested folder exist on the target but hold nothing
    folders.append({"name": "送信済み", "selectable": False, "list": []})
    return {"domain": domain, "account": {"name": "eve", "folders": folders}}


class DovecotTarget(unittest.TestCase):
    """One private Dovecot per test; the sample store copied in with one auth form."""

    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.store, self.manifest = harness.generate_store(self.work, "sample", seed=5)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        users = {}
        for d in self.manifest["domains"]:
            for a in d["accounts"]:
                users[f'{a["name"]}@{d["name"]}'] = USER_PW
        self.server.add_users(users)
        self.master_file = write_secret(os.path.join(self.work, "master.pw"), self.server.master_password)
        self.passwords = write_secret(os.path.join(self.work, "users.pw"),
                                      "\n".join(f"{u} {USER_PW}" for u in users))

    def copy(self, *args, target=None, check=None, env=None):
        target = target or f"imap://127.0.0.1:{self.server.imap_port}"
        return harness.run("mailmig", "copy", "--source", "cgp:" + self.store, "--target", target,
                           "--ca-file", self.server.ca_file, *args, check=check, env=env)

    def assert_all_copied(self):
        for d in self.manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = self.server.login_master(user)
                try:
                    rb.compare_account(self, imap, a, user)
                finally:
                    imap.logout()

    def test_dovecot_master_user(self):
        proc = self.copy("--auth", "dovecot-master", "--master-user", self.server.master_user,
                         "--master-password-file", self.master_file, check=0)
        self.assertIn(f'Copied {self.manifest["totals"]["messages"]} messages', proc.stdout)
        self.assert_all_copied()

    def test_sasl_authzid(self):
        env = dict(os.environ, MAILMIG_MASTER_PASSWORD=self.server.master_password)
        self.copy("--auth", "sasl-authzid", "--master-user", self.server.master_user, check=0, env=env)
        self.assert_all_copied()

    def test_user_login_with_password_list_over_imaps(self):
        self.copy("--auth", "user", "--passwords", self.passwords, "--jobs", "3",
                  target=f"imaps://127.0.0.1:{self.server.imaps_port}", check=0)
        self.assert_all_copied()

    def test_kerio_master_authentication_through_the_test_front_end(self):
        with KerioImapTestFrontend(self.server, "Kerio#Master1") as kerio:
            pw = write_secret(os.path.join(self.work, "kerio.pw"), "Kerio#Master1")
            self.copy("--auth", "kerio-master", "--master-password-file", pw,
                      target=f"imap://127.0.0.1:{kerio.port}", check=0)
            self.assertEqual(sorted({f'{a["name"]}@{d["name"]}' for d in self.manifest["domains"] for a in d["accounts"]}),
                             sorted(set(kerio.master_logins)))
        self.assert_all_copied()

    def test_wrong_passwords_are_refused_per_account(self):
        bad = write_secret(os.path.join(self.work, "bad.pw"), "wrong")
        cases = [
            ("dovecot-master", ["--master-user", self.server.master_user, "--master-password-file", bad]),
            ("sasl-authzid", ["--master-user", self.server.master_user, "--master-password-file", bad]),
            ("user", ["--passwords", write_secret(os.path.join(self.work, "badusers.pw"),
                                                  "\n".join(f"{u} nope" for u in self.server.users))]),
        ]
        for auth, extra in cases:
            proc = self.copy("--auth", auth, *extra, "--user", "john@mail.example.com", check=1)
            self.assertIn("login on the target failed", proc.stdout, auth)
            self.assertIn("1 account(s) not logged in", proc.stdout, auth)
        with KerioImapTestFrontend(self.server, "Kerio#Master1") as kerio:
            proc = self.copy("--auth", "kerio-master", "--master-password-file", bad, "--user", "john@mail.example.com",
                             target=f"imap://127.0.0.1:{kerio.port}", check=1)
            self.assertIn("X-MASTERAUTH failed", proc.stdout)
            self.assertGreaterEqual(kerio.masterauth_failures, 1)

    def test_tls_is_verified_and_starttls_used(self):
        trace = os.path.join(self.work, "trace.txt")
        args = ["--auth", "dovecot-master", "--master-user", self.server.master_user,
                "--master-password-file", self.master_file, "--user", "john@mail.example.com"]
        self.copy(*args, "--trace", trace, check=0)
        with open(trace, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("STARTTLS", text)
        self.assertIn("TLS established", text)
        self.assertNotIn(self.server.master_password, text)
        self.assertIn("<redacted>", text)
        self.assertNotIn("Subject:", text, "message bodies must not be traced")
        self.assertEqual(0o600, os.stat(trace).st_mode & 0o777)
        for target in (f"imap://127.0.0.1:{self.server.imap_port}", f"imaps://127.0.0.1:{self.server.imaps_port}"):
            proc = harness.run("mailmig", "copy", "--source", "cgp:" + self.store, "--target", target,
                               "--ca-file", self.server.wrong_ca_file, *args, check=1)
            self.assertIn("certificate verify failed", proc.stdout, target)
        # --insecure connects anyway, and says so
        proc = harness.run("mailmig", "copy", "--source", "cgp:" + self.store, "--allow-nonempty", "--target",
                           f"imaps://127.0.0.1:{self.server.imaps_port}", "--insecure", *args, check=0)
        self.assertIn("not verified", proc.stderr)

    def test_second_copy_refuses_non_empty_folders(self):
        args = ["--auth", "dovecot-master", "--master-user", self.server.master_user,
                "--master-password-file", self.master_file, "--user", "john@mail.example.com"]
        self.copy(*args, check=0)
        proc = self.copy(*args, check=1)
        self.assertIn("already holds", proc.stdout)
        self.assertIn("Copied 0 messages", proc.stdout)
        account = next(a for d in self.manifest["domains"] for a in d["accounts"] if a["name"] == "john")
        imap = self.server.login_master("john@mail.example.com")
        rb.compare_account(self, imap, account, "john")  # still exactly one copy of each
        imap.logout()

    def test_every_append_mode_gives_the_same_result(self):
        for mode in ("roundtrip", "pipelined", "multiappend"):
            user = {"roundtrip": "mary", "pipelined": "john", "multiappend": "alice"}[mode]
            d = next(d for d in self.manifest["domains"] if any(a["name"] == user for a in d["accounts"]))
            self.copy("--auth", "dovecot-master", "--master-user", self.server.master_user, "--master-password-file",
                      self.master_file, "--user", f"{user}@{d['name']}", "--append-mode", mode, check=0)
            imap = self.server.login_master(f"{user}@{d['name']}")
            rb.compare_account(self, imap, next(a for a in d["accounts"] if a["name"] == user), mode)
            imap.logout()


class AwkwardNamesAndFlags(unittest.TestCase):
    def test_names_flags_keywords_dates(self):
        work = harness.make_tempdir(self)
        store = os.path.join(work, "edge")
        expected = write_edge_store(store)
        with PrivateDovecot() as server:
            server.add_user("eve@edge.example", USER_PW)
            proc = harness.run("mailmig", "copy", "--source", "cgp:" + store, "--main-domain", "main.example",
                               "--target", f"imap://127.0.0.1:{server.imap_port}", "--ca-file", server.ca_file,
                               "--auth", "user", check=0)
            self.assertIn(f"Copied {len(EDGE_FOLDERS) * len(FLAG_CASES)} messages", proc.stdout)
            imap = server.login("eve@edge.example", USER_PW)
            folders = rb.list_folders(imap)
            for name in EDGE_FOLDERS:
                self.assertIn(name, folders)
            rb.compare_account(self, imap, expected["account"], "eve")
            imap.logout()


class OtherHierarchy(unittest.TestCase):
    def test_dot_separator_and_inbox_prefix(self):
        """A Courier/Cyrus-style namespace: "." separator under "INBOX."; a "." inside a
        source folder name must not create a level (it becomes "_")."""
        work = harness.make_tempdir(self)
        store = os.path.join(work, "edge")
        write_edge_store(store)
        extra = os.path.join(store, "Domains", "edge.example", "eve.macnt", "v1.2 Release.mbox")
        with open(extra, "w") as f:
            f.write(cgp_message("a@b", "Thu Feb  1 10:11:12 2024", "RO", "", [], "Subject: dot\n\nx\n"))
        with PrivateDovecot(separator=".", namespace_prefix="INBOX.") as server:
            server.add_user("eve@edge.example", USER_PW)
            proc = harness.run("mailmig", "copy", "--source", "cgp:" + store, "--main-domain", "main.example",
                               "--target", f"imap://127.0.0.1:{server.imap_port}", "--ca-file", server.ca_file,
                               "--auth", "user", check=0)
            self.assertIn('v1.2 Release (stored as "INBOX.v1_2 Release"', proc.stdout)
            imap = server.login("eve@edge.example", USER_PW)
            typ, data = imap.list('""', "*")
            listed = {rb.mutf7_decode(line.decode().rsplit(' "." ', 1)[-1].strip('"')) for line in data}
            imap.logout()
        for name in ("INBOX", "INBOX.Tom & Jerry", "INBOX.😂 Fun", "INBOX.送信済み.深い.フォルダ", "INBOX.v1_2 Release"):
            self.assertIn(name, listed)
        self.assertNotIn("INBOX.v1.2 Release", listed)


class CyrusTarget(unittest.TestCase):
    """A second server catches protocol assumptions: Cyrus with SASL PLAIN authzid (admin
    proxying), plain IMAP on loopback (the private Cyrus has no TLS)."""

    def test_copy_with_admin_authzid_and_read_back(self):
        work = harness.make_tempdir(self)
        store, manifest = harness.generate_store(work, "sample", seed=13)
        # munge8bit off: by default Cyrus rewrites 8-bit header bytes to 'X', which would
        # (rightly) fail the byte comparison below.
        with PrivateCyrus(imapd_options={"munge8bit": "no"}) as server:
            users = {a["name"]: USER_PW for d in manifest["domains"] for a in d["accounts"]}
            server.add_users(users)
            pw = write_secret(os.path.join(work, "admin.pw"), server.admin_password)
            proc = harness.run("mailmig", "copy", "--source", "cgp:" + store, "--target",
                               f"imap://127.0.0.1:{server.imap_port}", "--auth", "sasl-authzid", "--master-user",
                               server.admin_user, "--master-password-file", pw, "--login-format", "%u", check=0)
            self.assertIn(f'Copied {manifest["totals"]["messages"]} messages', proc.stdout)
            for d in manifest["domains"]:
                for a in d["accounts"]:
                    imap = server.login_as(a["name"])
                    try:
                        rb.compare_account(self, imap, a, a["name"])
                    finally:
                        imap.logout()


class BigMessagesAndFailures(unittest.TestCase):
    def test_200_mb_message_keeps_memory_flat(self):
        work = harness.make_tempdir(self)
        store = os.path.join(work, "big")
        acct = os.path.join(store, "Accounts", "big.macnt")
        os.makedirs(acct)
        with open(os.path.join(acct, "account.settings"), "w") as f:
            f.write(f' {{\n Password = "{USER_PW}";\n}}\n')
        line = ("0123456789abcdef" * 4 + "\n").encode()  # 65-byte lines, LF: converted on the fly
        size_lines = (200 * 1024 * 1024) // len(line)
        h = hashlib.sha256()
        header = b"From: big@x.example\nSubject: big\n\n"
        with open(os.path.join(acct, "INBOX.mbox"), "wb") as f:
            f.write(b"From big@x.example Thu Feb  1 10:11:12 2024\nStatus: RO\n")
            f.write(header)
            h.update(header.replace(b"\n", b"\r\n"))
            chunk = line * 16384
            crlf_chunk = chunk.replace(b"\n", b"\r\n")
            for _ in range(size_lines // 16384):
                f.write(chunk)
                h.update(crlf_chunk)
            f.write(b"\n")
        with PrivateDovecot() as server:
            server.add_user("big@main.example", USER_PW)
            proc, peak_kb = harness.run_measured(
                "mailmig", "copy", "--source", "cgp:" + store, "--main-domain", "main.example", "--target",
                f"imap://127.0.0.1:{server.imap_port}", "--ca-file", server.ca_file, "--auth", "user", check=0)
            self.assertIn("Copied 1 messages", proc.stdout)
            print(f"\npeak RSS of copying a 200 MB message: {peak_kb} KiB", flush=True)
            if not harness.sanitized():
                self.assertLess(peak_kb / 1024, 120, "mailmig's peak RSS should not grow with message size")
            imap = server.login("big@main.example", USER_PW)
            got = rb.fetch_folder(imap, "INBOX")
            imap.logout()
            self.assertEqual(1, len(got))
            self.assertEqual(h.hexdigest(), got[0][1])
            status = server.doveadm("mailbox", "status", "-u", "big@main.example", "messages vsize", "INBOX").stdout
            self.assertIn("messages=1", status)

    def test_connection_dropped_mid_append_is_reported(self):
        work = harness.make_tempdir(self)
        store, manifest = harness.generate_store(work, "sample", seed=9)
        with PrivateDovecot() as server:
            for d in manifest["domains"]:
                for a in d["accounts"]:
                    server.add_user(f'{a["name"]}@{d["name"]}', USER_PW)
            pw = write_secret(os.path.join(work, "kerio.pw"), "K#1")
            with KerioImapTestFrontend(server, "K#1") as kerio:
                kerio.drop_after_bytes(20000)
                proc = harness.run("mailmig", "copy", "--source", "cgp:" + store, "--user", "john@mail.example.com",
                                   "--target", f"imap://127.0.0.1:{kerio.port}", "--auth", "kerio-master",
                                   "--master-password-file", pw, check=1)
                self.assertTrue(kerio.wait_dropped(10))
            self.assertIn("copy stopped", proc.stdout)
            self.assertIn("john", proc.stdout)
            self.assertRegex(proc.stdout, r"closed the connection|Connection reset|Broken pipe|outcome unknown")


if __name__ == "__main__":
    harness.main()
