"""maildir: and mbox: sources end to end: the test writes a Maildir++ tree and
an mbox tree with known contents (SHA-256 of each message's CRLF form, flags,
keywords, dates), checks `mailmig inventory --json --messages` against them,
then migrates into a private Dovecot and reads every message back."""
import hashlib
import json
import os
import time
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot

DATE = 1706782272  # Thu Feb  1 10:11:12 2024 UTC
CTIME = "Thu Feb  1 10:11:12 2024"


def crlf(data):
    out = bytearray()
    prev = 0
    for b in data:
        if b == 0x0A and prev != 0x0D:
            out += b"\r"
        out.append(b)
        prev = b
    return bytes(out)


def expect(data, flags="", keywords=(), date=DATE):
    return {"sha256": hashlib.sha256(crlf(data)).hexdigest(), "size": len(crlf(data)), "flags": flags,
            "keywords": sorted(keywords), "date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(date))}


def write(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def message(subject, body):
    return (f"From: a@example.org\nSubject: {subject}\nDate: Thu, 01 Feb 2024 10:11:12 +0000\n\n{body}").encode()


def build_maildir(root):
    """A virtual-domain tree: ROOT/example.org/<user>/Maildir. Returns the manifest."""
    box = os.path.join(root, "example.org", "alice", "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(box, d))
    inbox, sent, ete = [], [], []
    m1 = message("seen answered", "one\n")
    write(os.path.join(box, "cur", f"1000.M1.h,S={len(m1)}:2,RSa"), m1, DATE)
    inbox.append(expect(m1, "SA", ["Work"]))
    m2 = message("crlf", "two\r\nmixed\n").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    write(os.path.join(box, "cur", "1001.M2.h:2,FT"), m2, DATE + 60)
    inbox.append(expect(m2, "FD", date=DATE + 60))
    m3 = message("new", "unseen\n")
    write(os.path.join(box, "new", "1002.M3.h"), m3, DATE + 120)
    inbox.append(expect(m3, date=DATE + 120))
    write(os.path.join(box, "tmp", "1003.M4.h"), message("tmp", "in delivery\n"))  # never read
    write(os.path.join(box, "dovecot-keywords"), b"0 Work\n")
    write(os.path.join(box, "dovecot-uidlist"), b"3 V1700000000 N3 Gx\n1 :1000.M1.h,S=%d\n2 :1001.M2.h\n" % len(m1))
    sub = os.path.join(box, ".Sent")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(sub, d))
    m5 = message("sent", "From the start of a line\n")
    write(os.path.join(sub, "cur", "2000.M5.h:2,S"), m5, DATE)
    sent.append(expect(m5, "S"))
    accent = os.path.join(box, ".&AMk-t&AOk-")  # "Été"
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(accent, d))
    m6 = message("8bit", "caf\u00e9\n")  # 8-bit UTF-8 body
    write(os.path.join(accent, "cur", "3000.M6.h:2,"), m6, DATE)
    ete.append(expect(m6))
    write(os.path.join(box, "subscriptions"), b"Sent\n")
    folders = [{"name": "INBOX", "selectable": True, "list": inbox},
               {"name": "Sent", "selectable": True, "list": sent},
               {"name": "\u00c9t\u00e9", "selectable": True, "list": ete}]
    return {"domains": [{"name": "example.org", "accounts": [{"name": "alice", "folders": folders}]}]}


def build_mbox(root):
    """ROOT/example.net/<user>/mail/ with a spool ROOT/spool/<user>. Returns the manifest."""
    mail = os.path.join(root, "example.net", "bob", "mail")
    os.makedirs(os.path.join(mail, ".imap", "INBOX"))
    spool_msgs = [
        (b"Status: RO\nX-Status: AF\nX-Keywords: Project\n", message("flags", "body\n>From quoted\n>>From twice\n"),
         message("flags", "body\nFrom quoted\n>From twice\n"), "SAF", ["Project"]),
        (b"", message("plain", "last line without newline"), message("plain", "last line without newline"), "", []),
    ]
    data = b""
    expected = []
    for storage, stored, delivered, flags, kw in spool_msgs:
        header, body = stored.split(b"\n\n", 1)
        # A body ending in a newline gets the separating empty line; the last one has neither.
        data += f"From a@example.org {CTIME}\n".encode() + header + b"\n" + storage + b"\n" + body
        data += b"\n" if body.endswith(b"\n") else b""
        expected.append(expect(delivered, flags, kw))
    write(os.path.join(root, "spool", "bob"), data)
    body = b"a\n\nFrom inside Thu Feb  1 10:11:12 2024\nunquoted: Dovecot relies on Content-Length\n"
    dev = (f"From x {CTIME}\n".encode() + b"X-IMAPbase: 424242 2 Work\n" + b"Subject: dev\nX-UID: 1\n"
           + b"Content-Length: %d\nStatus: R\n\n" % len(body) + body + b"\n")
    write(os.path.join(mail, "Lists", "dev"), dev)
    write(os.path.join(mail, "notes.txt"), b"not a mailbox\n")
    write(os.path.join(mail, "Empty"), b"")
    folders = [{"name": "INBOX", "selectable": True, "list": expected},
               {"name": "Empty", "selectable": True, "list": []},
               {"name": "Lists/dev", "selectable": True, "list": [expect(b"Subject: dev\n\n" + body, "S")]}]
    return {"domains": [{"name": "example.net", "accounts": [{"name": "bob", "folders": folders}]}]}


class Sources(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)

    def inventory(self, spec, *args, check=None):
        proc = harness.run("mailmig", "inventory", "--json", "--messages", "--source", spec, *args, check=check)
        return json.loads(proc.stdout), proc

    def compare_inventory(self, data, manifest):
        for d_exp, d_got in zip(manifest["domains"], data["domains"]):
            self.assertEqual(d_exp["name"], d_got["name"])
            for a_exp, a_got in zip(d_exp["accounts"], d_got["accounts"]):
                got = {f["name"]: f for f in a_got["folders"]}
                for f_exp in a_exp["folders"]:
                    self.assertIn(f_exp["name"], got)
                    msgs = got[f_exp["name"]].get("list", [])
                    self.assertEqual(len(f_exp["list"]), len(msgs), f_exp["name"])
                    for e, g in zip(f_exp["list"], msgs):
                        for key in ("sha256", "size", "flags", "date"):
                            self.assertEqual(e[key], g[key], (f_exp["name"], key))
                        self.assertEqual(e["keywords"], sorted(g["keywords"]), f_exp["name"])

    def test_maildir_inventory_and_migrate(self):
        root = os.path.join(self.work, "vmail")
        manifest = build_maildir(root)
        data, _ = self.inventory("maildir:" + root, check=0)
        self.compare_inventory(data, manifest)
        before = harness.tree_snapshot(root)
        self.migrate("maildir:" + root, manifest)
        self.assertEqual(before, harness.tree_snapshot(root), "the source tree changed")

    def test_mbox_inventory_and_migrate(self):
        root = os.path.join(self.work, "mboxes")
        manifest = build_mbox(root)
        args = ("--user-path", root + "/%d/%n/mail", "--inbox-path", root + "/spool/%n")
        data, proc = self.inventory("mbox:" + root, *args, check=1)
        self.assertIn("not an mbox file", proc.stdout)  # notes.txt is reported, nothing else
        self.assertEqual(1, len(data["errors"]), data["errors"])
        self.compare_inventory(data, manifest)
        self.migrate("mbox:" + root, manifest, *args, check=1)

    def migrate(self, spec, manifest, *args, check=0):
        server = PrivateDovecot()
        server.start()
        self.addCleanup(server.stop)
        master = os.path.join(self.work, "master.pw")
        with open(master, "w") as f:
            f.write(server.master_password + "\n")
        os.chmod(master, 0o600)
        harness.run("mailmig", "migrate", "--source", spec, "--target", f"imap://127.0.0.1:{server.imap_port}",
                    "--ca-file", server.ca_file, "--auth", "dovecot-master", "--master-user", server.master_user,
                    "--master-password-file", master, "--provision", "dovecot:" + server.passwd_file,
                    "--state", os.path.join(self.work, "state-" + spec.split(":")[0]),
                    "--password-file-out", os.path.join(self.work, spec.split(":")[0] + ".pass"),
                    *args, check=check, cwd=self.work)
        for d in manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = server.login_master(user)
                try:
                    rb.compare_account(self, imap, a, user)
                    for f in a["folders"]:
                        got = rb.fetch_folder(imap, f["name"])
                        for e, g in zip(f["list"], got):
                            self.assertEqual(e["sha256"], g[1], f["name"])  # identical bytes
                finally:
                    imap.logout()


if __name__ == "__main__":
    harness.main()
