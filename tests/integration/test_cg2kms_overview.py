"""cg2kms front end: the original command line, help, overview and errors."""
import array
import fcntl
import json
import os
import termios
import subprocess
import time
import unittest

import harness


class Cg2kmsCommandLine(unittest.TestCase):
    def test_help_for_help_question_mark_and_no_arguments(self):
        for args in ([], ["-help"], ["-?"], ["-HELP"]):
            proc = harness.run("cg2kms", *args, check=0)
            self.assertIn("Usage: cg2kms -path PATH", proc.stdout, args)
            for option in ("-path", "-domain", "-user", "-server", "-port", "-password", "-setPass",
                           "-forceSetPass", "-migrate", "-force", "-primaryDomain", "-quiet", "-help"):
                self.assertIn(option, proc.stdout)

    def test_usage_errors(self):
        cases = [
            (["-domain", "x.com"], "-path is required"),
            (["-path"], "needs a value"),
            (["-path", "/x", "-bogus"], "unknown option -bogus"),
            (["-path", "/x", "-port", "http"], "not a port number"),
            (["-path", "/x", "-migrate", "-password", "p"], "-migrate needs -server"),
            (["-path", "/x", "-migrate", "-server", "localhost"], "-migrate needs -password"),
            (["-path", "/x", "-user", "john"], "-user needs -domain"),
            (["-path", "/x", "-forceSetPass", "p"], "single user"),
        ]
        for args, message in cases:
            proc = harness.run("cg2kms", *args, check=2)
            self.assertIn(message, proc.stderr, args)

    def test_password_is_not_left_in_the_process_listing(self):
        # Block the process on a full 4 KiB stdout pipe: it has parsed its options by then,
        # so /proc/<pid>/cmdline shows what `ps` would show for the rest of its run.
        work = harness.make_tempdir(self)
        store, _ = harness.generate_store(work, "test", seed=2)
        r, w = os.pipe()
        fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
        proc = subprocess.Popen([harness.binary("cg2kms"), "-path", store, "-json", "-setPass", "An0ther#Secret",
                                 "-password", "Sup3rSecret!"], stdout=w, stderr=subprocess.PIPE)
        os.close(w)
        deadline = time.time() + 30
        while pipe_bytes(r) < 4096 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "cg2kms should be blocked writing its report")
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        self.assertIn(b"-password", cmdline)
        self.assertNotIn(b"Sup3rSecret!", cmdline)
        self.assertNotIn(b"An0ther#Secret", cmdline)
        out = b""
        while chunk := os.read(r, 65536):
            out += chunk
        os.close(r)
        _, err = proc.communicate()
        self.assertNotIn(b"Sup3rSecret!", out + err)
        json.loads(out)


F_SETPIPE_SZ = 1031


def pipe_bytes(fd):
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


class Cg2kmsOverview(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.store, self.manifest = harness.generate_store(self.work, "test", seed=11)

    def test_overview_lists_every_domain_and_user(self):
        proc = harness.run("cg2kms", "-path", self.store, check=1)
        for d in self.manifest["domains"]:
            self.assertIn(f'Domain {d["name"]}', proc.stdout)
            for a in d["accounts"]:
                self.assertIn(f'{a["name"]}@{d["name"]}', proc.stdout)
        t = self.manifest["totals"]
        self.assertIn(f'{t["messages"]} messages, {t["bytes"]} bytes', proc.stdout)

    def test_json_equals_mailmig_inventory(self):
        a = harness.run("cg2kms", "-path", self.store, "-json", "-primaryDomain", "main.example")
        b = harness.run("mailmig", "inventory", "--source", "cgp:" + self.store, "--json",
                        "--main-domain", "main.example")
        self.assertEqual(json.loads(a.stdout), json.loads(b.stdout))
        self.assertEqual(a.returncode, b.returncode)
        self.assertTrue(any(d["name"] == "main.example" and d["main"] for d in json.loads(a.stdout)["domains"]))

    def test_domain_and_user_filters(self):
        domain = self.manifest["domains"][1]
        account = domain["accounts"][-1]
        proc = harness.run("cg2kms", "-path", self.store, "-domain", domain["name"], "-json")
        report = json.loads(proc.stdout)
        self.assertEqual([domain["name"]], [d["name"] for d in report["domains"]])
        self.assertEqual(len(domain["accounts"]), report["totals"]["accounts"])
        proc = harness.run("cg2kms", "-path", self.store, "-domain", domain["name"], "-user", account["name"], "-json")
        report = json.loads(proc.stdout)
        self.assertEqual([account["name"]], [a["name"] for a in report["domains"][0]["accounts"]])

    def test_quiet_prints_nothing_but_keeps_the_exit_status(self):
        proc = harness.run("cg2kms", "-path", self.store, "-quiet", check=1)
        self.assertEqual("", proc.stdout)
        self.assertEqual("", proc.stderr)

    def test_missing_store(self):
        proc = harness.run("cg2kms", "-path", os.path.join(self.work, "nope"), check=3)
        self.assertIn("no such directory", proc.stderr)


if __name__ == "__main__":
    harness.main()
