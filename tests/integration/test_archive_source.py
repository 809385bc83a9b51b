"""archive:FILE: a backup archive read in place, never exploded to disk.

1. an SME Server style tar.gz (home/e-smith/files/users/<u>/Maildir, the
   domain in home/e-smith/db/configuration) built here with known messages:
   `inventory --json --messages` reports the SHA-256 of each message's CRLF
   form, flags, dovecot-keywords keywords, dovecot-uidlist UIDs, a non-ASCII
   folder, the symlink reported; `migrate` into a private Dovecot reads back
   identical;
2. a tar.zst (tar.xz without the zstd tool) of a generated CommuniGate store:
   the inventory equals the on-disk store's, the migration matches the
   manifest exactly like the on-disk store does;
3. a truncated tar.gz: a clear error naming the archive, the entry and the
   offset, exit status 1; the entries before the damage are still listed.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import unittest

import harness
import imap_readback as rb
from servers.dovecot import PrivateDovecot

USERS = "home/e-smith/files/users/"
MTIME = 1700000000


def crlf_sha(data):
    return hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")).hexdigest()


def add(tar, name, data=b"", mtime=MTIME, kind="file", link=None):
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    if kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = link
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def message(subject, body, size=0):
    text = f"From: a@example.com\nSubject: {subject}\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\n{body}\n".encode()
    if size:
        text += b"x" * 76 + b"\n"
        text += (b"y" * 99 + b"\n") * (size // 100)
    return text


# (user, folder directory, sub, file name, data, mtime, uid, flags, keywords)
SME_MESSAGES = [
    ("john", "", "cur", "1700000000.M1P1.sme,S=1:2,S", message("one", "first"), MTIME, 1, "S", []),
    ("john", "", "cur", "1700000100.M2P1.sme:2,RSa", message("two", "second\nline"), MTIME + 100, 2, "SA", ["$Work"]),
    ("john", "", "new", "1700000200.M3P1.sme", message("three", "third"), MTIME + 200, 3, "", []),
    ("john", ".Sent", "cur", "1700000300.M4P1.sme:2,S", message("sent", "sent mail"), MTIME + 300, None, "S", []),
    ("john", ".&AMk-t&AOk-.R&AOk-sum&AOk-", "cur", "1700000400.M5P1.sme:2,F", message("ete", "été", 300000),
     MTIME + 400, None, "F", []),
    ("mary", "", "cur", "1700000500.M6P1.sme:2,ST", message("mary", "deleted one"), MTIME + 500, None, "SD", []),
]
FOLDER_NAMES = {"": "INBOX", ".Sent": "Sent", ".&AMk-t&AOk-.R&AOk-sum&AOk-": "Été/Résumé"}


def build_sme_archive(path):
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "./home/e-smith/db/configuration", b"# comment\nDomainName=example.com\nSystemName=sme\n"
            b"imap=service|status|enabled|TCPPort|143\n")
        add(tar, "./home/e-smith/db/accounts", b"john=user|FirstName|John|LastName|Doe|Uid|5001\n")
        # Archive order is deliberately not folder order: INBOX is split around Sent.
        order = [0, 3, 1, 4, 2, 5]
        for i in order:
            user, folder, sub, name, data, mtime, _uid, _flags, _kw = SME_MESSAGES[i]
            base = f"./{USERS}{user}/Maildir/" + (folder + "/" if folder else "")
            add(tar, base + f"{sub}/{name}", data, mtime)
        add(tar, f"./{USERS}john/Maildir/dovecot-uidlist",
            b"3 V1700000000 N4 Gabcdef\n1 :1700000000.M1P1.sme,S=1\n2 W123 :1700000100.M2P1.sme\n"
            b"3 :1700000200.M3P1.sme\n")
        add(tar, f"./{USERS}john/Maildir/dovecot-keywords", b"0 $Work\n")
        add(tar, f"./{USERS}john/Maildir/subscriptions", b"V\t2\n\nSent\n")
        add(tar, f"./{USERS}john/Maildir/cur/evil", kind="symlink", link="/etc/shadow")
        add(tar, f"./{USERS}john/Maildir/tmp/1700000600.M7P1.sme", b"half a delivery")


def expected_sme():
    """{user: {folder: [(sha, size, flags, keywords, uid, date)] in archive order}}."""
    out = {}
    for (user, folder, _sub, _name, data, mtime, uid, flags, keywords) in SME_MESSAGES:
        out.setdefault(user, {}).setdefault(FOLDER_NAMES[folder], []).append(
            (crlf_sha(data), len(data.replace(b"\n", b"\r\n")), flags, keywords, uid, mtime))
    return out


def inventory(source, *args, check=None):
    proc = harness.run("mailmig", "inventory", "--json", "--messages", "--source", source, *args, check=check)
    return proc, json.loads(proc.stdout)


def strip_locations(value):
    if isinstance(value, dict):
        return {k: strip_locations(v) for k, v in value.items() if k not in ("location", "file", "offset", "line",
                                                                            "column")}
    if isinstance(value, list):
        items = [strip_locations(v) for v in value]
        # Folders come in archive order from archive:, in name order from cgp:.
        if items and all(isinstance(v, dict) and "selectable" in v for v in items):
            items.sort(key=lambda f: f["name"])
        return items
    return value


class ArchiveSource(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)

    def test_sme_backup_inventory(self):
        archive = os.path.join(self.work, "smeserver.tgz")
        build_sme_archive(archive)
        before = os.stat(archive)
        proc, data = inventory("archive:" + archive, check=1)  # the symlink is a problem
        self.assertEqual(before.st_mtime_ns, os.stat(archive).st_mtime_ns)
        self.assertEqual(["example.com"], [d["name"] for d in data["domains"]])
        expected = expected_sme()
        accounts = {a["name"]: a for a in data["domains"][0]["accounts"]}
        self.assertEqual({"john", "mary"}, set(accounts))
        self.assertEqual("John Doe", accounts["john"]["real_name"])
        for user, folders in expected.items():
            got = {f["name"]: f for f in accounts[user]["folders"]}
            for folder, messages in folders.items():
                rows = [(m["sha256"], m["size"], m["flags"], m["keywords"], m["uid"],
                         rb.iso_epoch(m["date"])) for m in got[folder]["list"]]
                self.assertEqual(sorted(messages), sorted(rows), f"{user} {folder}")
        self.assertEqual(["INBOX", "Sent", "Été", "Été/Résumé"], [f["name"] for f in accounts["john"]["folders"]])
        self.assertTrue(got_subscribed(accounts["john"], "Sent"))
        self.assertEqual(1, len(data["errors"]), data["errors"])
        self.assertIn("symbolic link", data["errors"][0]["message"])
        self.assertIn("cur/evil", data["errors"][0]["file"])
        # The layout is told.
        table = harness.run("mailmig", "inventory", "--source", "archive:" + archive, check=1)
        self.assertIn("SME Server full backup smeserver.tgz", table.stdout + table.stderr)
        self.assertIn("2 users in example.com", table.stdout + table.stderr)

    def test_sme_without_configuration_needs_domain(self):
        archive = os.path.join(self.work, "homes.tar")
        with tarfile.open(archive, "w") as tar:
            add(tar, f"{USERS}bob/Maildir/cur/1.M1:2,S", message("b", "bob"))
        proc = harness.run("mailmig", "inventory", "--source", "archive:" + archive)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("--domain", proc.stdout + proc.stderr)
        _, data = inventory("archive:" + archive, "--domain", "example.net", check=0)
        self.assertEqual("example.net", data["domains"][0]["name"])

    def test_truncated_archive_names_the_entry(self):
        archive = os.path.join(self.work, "smeserver.tgz")
        build_sme_archive(archive)
        with open(archive, "rb") as f:
            raw = f.read()
        # Uncompressed tar + gzip that stops inside the big message of Été/Résumé.
        plain = os.path.join(self.work, "plain.tar")
        with open(plain, "wb") as f:
            f.write(subprocess.run(["gzip", "-dc"], input=raw, capture_output=True, check=True).stdout)
        with tarfile.open(plain) as tar:
            big = tar.getmember(f"./{USERS}john/Maildir/.&AMk-t&AOk-.R&AOk-sum&AOk-/cur/1700000400.M5P1.sme:2,F")
        with open(plain, "rb") as f:
            cut = f.read(big.offset_data + 1000)
        truncated = os.path.join(self.work, "truncated.tar.gz")
        with open(truncated, "wb") as f:
            f.write(subprocess.run(["gzip", "-c"], input=cut, capture_output=True, check=True).stdout)
        proc, data = inventory("archive:" + truncated, check=1)
        text = json.dumps(data["errors"], ensure_ascii=False)
        self.assertIn("truncated.tar.gz", text)
        self.assertIn("1700000400.M5P1.sme", text)  # the entry name
        self.assertIn("offset", text)
        # What came before the damage is still there.
        john = [a for a in data["domains"][0]["accounts"] if a["name"] == "john"][0]
        self.assertGreaterEqual(sum(f["messages"] for f in john["folders"]), 3)


def got_subscribed(account, name):
    return [f for f in account["folders"] if f["name"] == name][0]["subscribed"]


class ArchiveIntoDovecot(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = os.path.join(self.work, "master.pw")
        with open(self.master, "w") as f:
            f.write(self.server.master_password + "\n")
        os.chmod(self.master, 0o600)

    def migrate(self, source, *args, check=None):
        return harness.run("mailmig", "migrate", "--source", source, "--target",
                           f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file,
                           "--auth", "dovecot-master", "--master-user", self.server.master_user,
                           "--master-password-file", self.master, "--provision", "dovecot:" + self.server.passwd_file,
                           "--state", os.path.join(self.work, "state-" + os.path.basename(source)), *args,
                           check=check, cwd=self.work)

    def test_sme_backup_reads_back_identical(self):
        archive = os.path.join(self.work, "smeserver.tgz")
        build_sme_archive(archive)
        _, data = inventory("archive:" + archive, check=1)
        self.migrate("archive:" + archive, "--jobs", "2", check=1)  # the symlink problem
        for account in data["domains"][0]["accounts"]:
            user = account["name"] + "@example.com"
            imap = self.server.login_master(user)
            try:
                rb.compare_account(self, imap, account, user)
            finally:
                imap.logout()

    def test_cgp_store_archive_matches_the_manifest(self):
        store, manifest = harness.generate_store(self.work, "test", seed=21)
        if shutil.which("zstd"):
            archive = os.path.join(self.work, "cgp.tar.zst")
            tar = os.path.join(self.work, "cgp.tar")
            with tarfile.open(tar, "w") as t:
                t.add(store, arcname="CommuniGate")
            subprocess.run(["zstd", "-q", "--rm", tar, "-o", archive], check=True)
        else:
            archive = os.path.join(self.work, "cgp.tar.xz")
            with tarfile.open(archive, "w:xz") as t:
                t.add(store, arcname="CommuniGate")
        on_disk = json.loads(harness.run("mailmig", "inventory", "--json", "--messages", "--source", "cgp:" + store,
                                         "--main-domain", manifest["domains"][0]["name"]).stdout)
        proc, in_archive = inventory("archive:" + archive, "--main-domain", manifest["domains"][0]["name"])
        self.assertEqual(strip_locations(on_disk["domains"]), strip_locations(in_archive["domains"]))
        self.assertEqual(len(on_disk["errors"]), len(in_archive["errors"]))
        table = harness.run("mailmig", "inventory", "--source", "archive:" + archive, "--main-domain",
                            manifest["domains"][0]["name"])
        self.assertIn("CommuniGate Pro store in " + os.path.basename(archive), table.stdout + table.stderr)
        proc = self.migrate("archive:" + archive, "--jobs", "3", check=1)
        self.assertIn("truncated", proc.stdout)  # the planted broken mailbox, as with cgp:
        for d in manifest["domains"]:
            for a in d["accounts"]:
                user = f'{a["name"]}@{d["name"]}'
                imap = self.server.login_master(user)
                try:
                    rb.compare_account(self, imap, a, user)
                finally:
                    imap.logout()


if __name__ == "__main__":
    harness.main()
