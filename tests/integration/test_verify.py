"""mailmig verify against a real server: a store migrated into a private
Dovecot (master user, users created by the passwd-file provisioner, .pass
file) verifies clean -- JSON report valid against docs/verify-report.schema.json,
HTML well-formed with the totals -- and then every kind of damage done to
the target is reported exactly, with exit status 1."""
import csv
import html.parser
import json
import os
import shutil
import tempfile
import unittest

import harness
from imap_readback import mutf7_encode, quote
from servers.dovecot import PrivateDovecot

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "verify-report.schema.json")
# Accounts of the 'test' profile without planted source errors (see expected_errors in its manifest).
CLEAN = ["john@mail.example.com", "legacy@mail.example.com", "mary@mail.example.com",
         "postmaster@mail.example.com", "alan@example.org"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


class WellFormed(html.parser.HTMLParser):
    """Every non-void element opened is closed, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


class VerifyDovecot(unittest.TestCase):
    """One migration, then damage added step by step; each step's verify must
    report exactly the differences made so far."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mailmig-it-")
        os.chmod(cls.work, 0o755)
        cls.server = PrivateDovecot()
        cls.server.start()
        cls.master = write_secret(os.path.join(cls.work, "master.pw"), cls.server.master_password)
        cls.store, cls.manifest = harness.generate_store(cls.work, "test", seed=41)
        cls.state = os.path.join(cls.work, "state")
        cls.pass_file = os.path.join(cls.work, "out.pass")
        cls.users = os.path.join(cls.work, "clean.txt")
        with open(cls.users, "w") as f:
            f.write("\n".join(CLEAN) + "\n")
        # The planted source errors make migrate end with 1; what it could read is on the target.
        harness.run("mailmig", "migrate", "--source", "cgp:" + cls.store, *cls.target_args(),
                    "--provision", "dovecot:" + cls.server.passwd_file, "--state", cls.state,
                    "--password-file-out", cls.pass_file, "--quiet", check=1, cwd=cls.work)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def target_args(cls):
        return ["--target", f"imap://127.0.0.1:{cls.server.imap_port}", "--ca-file", cls.server.ca_file,
                "--auth", "dovecot-master", "--master-user", cls.server.master_user,
                "--master-password-file", cls.master]

    def verify(self, *args, check, name="report"):
        report = os.path.join(self.work, name + ".json")
        page = os.path.join(self.work, name + ".html")
        proc = harness.run("mailmig", "verify", "--source", "cgp:" + self.store, *self.target_args(),
                           "--state", self.state, "--report", report, "--html", page, *args,
                           check=check, cwd=self.work)
        with open(report, encoding="utf-8") as f:
            data = json.load(f)
        self.validate(data)
        with open(page, encoding="utf-8") as f:
            self.check_html(f.read(), data)
        return proc, data

    def validate(self, data):
        import jsonschema
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(data)

    def check_html(self, text, data):
        parser = WellFormed()
        parser.feed(text)
        parser.close()
        self.assertEqual([], parser.errors)
        self.assertEqual([], parser.stack, "elements left open")
        self.assertNotIn("http://", text.replace("https://json-schema.org", ""))  # no external resources
        body = " ".join(parser.text)
        t = data["totals"]
        self.assertIn(f'{t["messages_source"]} / {t["messages_target"]}', body)
        self.assertIn(f'{t["bytes_source"]} / {t["bytes_target"]}', body)

    @staticmethod
    def differences(data):
        return sorted((a["account"] + "@" + a["domain"], d["folder"], d["kind"])
                      for a in data["accounts"] for d in a["differences"])

    def imap(self, user):
        return self.server.login_master(user)

    # ------------------------------------------------------------------ tests

    def test_1_clean_copy_verifies(self):
        proc, data = self.verify("--users-file", self.users, "--pass-file", self.pass_file, check=0)
        self.assertEqual([], self.differences(data))
        self.assertEqual([], data["errors"])
        self.assertTrue(data["ok"])
        self.assertIsNone(data["sampled_percent"])
        t = data["totals"]
        expected = sum(f["messages"] for d in self.manifest["domains"] for a in d["accounts"]
                       if a["name"] + "@" + d["name"] in CLEAN for f in a["folders"] if f["selectable"])
        self.assertEqual(expected, t["messages_source"])
        self.assertEqual(expected, t["messages_target"])
        self.assertEqual(expected, t["checked"])
        self.assertEqual(t["bytes_source"], t["bytes_target"])
        self.assertEqual(len(CLEAN), t["accounts_ok"])
        with open(self.pass_file, newline="", encoding="utf-8") as f:
            listed = {r[0] for r in csv.reader(f)}
        self.assertGreaterEqual(len(listed & set(CLEAN)), 3)
        for a in data["accounts"]:
            self.assertTrue(a["login"]["ok"], a)
            self.assertEqual("dovecot-master", a["login"]["method"])
            # Users whose source hash Dovecot kept are not in the .pass file: nothing to try.
            if a["target_account"] in listed:
                self.assertEqual({"ok": True, "method": "password-file", "error": ""}, a["password_login"])
            else:
                self.assertIsNone(a["password_login"])
        for account in CLEAN:
            self.assertRegex(proc.stdout, account.replace(".", r"\.") + r".* OK\n")

    def test_2_sample_passes_on_the_clean_copy(self):
        proc, data = self.verify("--users-file", self.users, "--sample", "10%", check=0, name="sample")
        self.assertEqual(10, data["sampled_percent"])
        t = data["totals"]
        self.assertGreater(t["checked"], 0)
        self.assertLess(t["checked"], t["messages_source"] // 2)
        self.assertEqual(t["messages_source"], t["messages_target"])
        self.assertIn("sampled: 10%", proc.stdout)

    def test_3_source_errors_are_problems_not_differences(self):
        # Every account: the planted source errors are reported as problems; the
        # copy of what could be read is complete.
        _, data = self.verify(check=1, name="all")
        self.assertEqual([], self.differences(data))
        planted = {e["account"] + "@" + e["domain"] for e in self.manifest["expected_errors"]}
        reported = {e["account"] + "@" + e["domain"] for e in data["errors"]}
        self.assertEqual(planted, reported, json.dumps(data["errors"], indent=1))
        # ... and each planted error is reported where it is (file, and offset when the manifest has one).
        for e in self.manifest["expected_errors"]:
            here = [r for r in data["errors"] if r["account"] == e["account"] and r["file"].endswith(e["file"])]
            self.assertTrue(here, (e, data["errors"]))
            if e["offset"] is not None:
                self.assertIn(e["offset"], [r["offset"] for r in here], e)
        for a in data["accounts"]:
            key = a["account"] + "@" + a["domain"]
            self.assertEqual("problems" if key in planted and a["problems"] else "ok", a["status"], key)

    def test_4_each_kind_of_damage_is_reported_exactly(self):
        expected = []

        def step(what, *diffs, pass_file=None):
            expected.extend(diffs)
            args = ["--users-file", self.users]
            if pass_file:
                args += ["--pass-file", pass_file]
            proc, data = self.verify(*args, check=1, name="damage")
            self.assertEqual(sorted(expected), self.differences(data), f"after {what}:\n{proc.stdout}")
            self.assertFalse(data["ok"])
            self.assertIn("DIFFERS", proc.stdout)

        # missing: a message deleted over IMAP
        imap = self.imap("john@mail.example.com")
        imap.select("INBOX")
        imap.uid("STORE", "1", "+FLAGS.SILENT", r"(\Deleted)")
        imap.uid("EXPUNGE", "1")  # only this one: migrated messages may carry \Deleted
        imap.logout()
        step("deleting a message", ("john@mail.example.com", "INBOX", "missing"))

        # extra: a message nobody migrated
        imap = self.imap("mary@mail.example.com")
        imap.append("INBOX", None, None, b"From: x@example.com\r\nSubject: not from the source\r\n\r\nhello\r\n")
        # duplicated: a second copy of a migrated message
        imap.select("Drafts", readonly=True)
        typ, fetched = imap.uid("FETCH", "1", "(BODY.PEEK[])")
        self.assertEqual("OK", typ)
        imap.append("Drafts", None, None, fetched[0][1])
        imap.logout()
        step("appending", ("mary@mail.example.com", "INBOX", "extra"), ("mary@mail.example.com", "Drafts", "duplicated"))

        # flags_differ: \Flagged toggled on one message
        imap = self.imap("alan@example.org")
        imap.select("INBOX")
        typ, flags = imap.uid("FETCH", "1", "(FLAGS)")
        imap.uid("STORE", "1", "-FLAGS.SILENT" if b"\\Flagged" in flags[0] else "+FLAGS.SILENT", r"(\Flagged)")
        imap.logout()
        step("changing flags", ("alan@example.org", "INBOX", "flags_differ"))

        # missing: a file removed from the Maildir behind Dovecot's back
        cur = os.path.join(self.server.maildir_path("postmaster@mail.example.com"), "cur")
        victim = sorted(os.listdir(cur))[0]
        os.remove(os.path.join(cur, victim))
        step("removing a Maildir file", ("postmaster@mail.example.com", "INBOX", "missing"))

        # folder_missing_on_target / folder_missing_in_source
        imap = self.imap("john@mail.example.com")
        self.assertEqual("OK", imap.delete(quote(mutf7_encode("Work/Projects/2024")))[0])
        self.assertEqual("OK", imap.create("Only-On-Target")[0])
        imap.logout()
        step("deleting and creating folders", ("john@mail.example.com", "Work/Projects/2024", "folder_missing_on_target"),
             ("john@mail.example.com", "Only-On-Target", "folder_missing_in_source"))

        # login_failed: a wrong password in the .pass file
        with open(self.pass_file, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        self.assertIn("legacy@mail.example.com", [r[0] for r in rows])
        wrong = os.path.join(self.work, "wrong.pass")
        with open(wrong, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([r[0], r[1] + "x", r[2]] if r[0].startswith("legacy@") else r for r in rows)
        os.chmod(wrong, 0o600)
        step("a wrong password", ("legacy@mail.example.com", "", "login_failed"), pass_file=wrong)


if __name__ == "__main__":
    harness.main()
