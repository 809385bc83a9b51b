#!/usr/bin/env python3
"""The GroupWise seed's two-stage post-office migration, run on the sample
CommuniGate store (docs/cutover.md): stage 1 copies everything while the old
server is "live", the mailboxes are checked (log in, verify contents), users
keep working on the old server (new mail, flags changed, mail deleted, a new
folder), then stage 2 copies only what changed (dry run first), names
lowercase (the GroupWise rule), and the final verify is clean. After the cut
over new mail reaches the new server directly; a third sync with --delete
changes nothing and leaves that mail alone.

Works on a copy of the store: the sample itself is never modified."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import cgp_store_edit as edit  # noqa: E402
from servers.dovecot import PrivateDovecot  # noqa: E402


class Run:
    def __init__(self, bin_dir, store, run_dir, dovecot):
        self.mailmig = os.path.join(os.path.abspath(bin_dir), "mailmig")
        self.store = store
        self.run_dir = run_dir
        self.dovecot = dovecot
        self.syncs = 0
        self.master = os.path.join(run_dir, "master.pw")
        with open(self.master, "w") as f:
            f.write(dovecot.master_password + "\n")
        os.chmod(self.master, 0o600)

    def common(self):
        return ["--source", "cgp:" + self.store, "--target", f"imap://127.0.0.1:{self.dovecot.imap_port}",
                "--ca-file", self.dovecot.ca_file, "--auth", "dovecot-master", "--master-user",
                self.dovecot.master_user, "--master-password-file", self.master,
                "--state", os.path.join(self.run_dir, "state"), "--lowercase"]

    def mailmig_run(self, title, *args, expect=(0,)):
        print(f"\n== {title}\n$ mailmig {' '.join(args[:1])} ... {' '.join(a for a in args[1:] if a.startswith('--d'))}",
              flush=True)
        started = time.monotonic()
        proc = subprocess.run([self.mailmig, *args], cwd=self.run_dir, capture_output=True, text=True)
        print(proc.stdout.rstrip())
        if proc.returncode not in expect:
            print(proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"mailmig {args[0]} exited with {proc.returncode} (expected {expect})")
        print(f"({time.monotonic() - started:.1f} s, exit {proc.returncode})")
        return proc

    def sync(self, title, *extra):
        self.syncs += 1
        report = os.path.join(self.run_dir, f"sync-{self.syncs}.json")
        # Stage 1 creates the users: its .pass file is the one verify logs in with.
        passwords = "passwords.pass" if self.syncs == 1 else f"passwords-{self.syncs}.pass"
        self.mailmig_run(title, "sync", *self.common(), "--provision", "dovecot:" + self.dovecot.passwd_file,
                         "--password-file-out", os.path.join(self.run_dir, passwords), "--report", report,
                         "--quiet", *extra)
        with open(report, encoding="utf-8") as f:
            return json.load(f)["totals"]

    def verify(self, title, name):
        self.mailmig_run(title, "verify", *self.common(), "--pass-file", os.path.join(self.run_dir, "passwords.pass"),
                         "--report", os.path.join(self.run_dir, name + ".json"),
                         "--html", os.path.join(self.run_dir, name + ".html"))


def change_the_source(store):
    """What users do on the old server between the stages."""
    john = os.path.join(store, "Accounts", "john.macnt")
    edit.append_mbox_message(os.path.join(john, "INBOX.mbox"), "late-1")
    edit.append_mbox_message(os.path.join(john, "INBOX.mbox"), "late-2", letters="S")
    edit.set_mbox_flags(os.path.join(john, "Sent.mbox"), 0, "SAF")      # answered + flagged now
    edit.delete_mbox_message(os.path.join(john, "Work.mbox"), 1)        # deleted by the user
    drafts = os.path.join(john, "Drafts.mdir")
    first = edit.mdir_files(drafts)[0]
    edit.set_mdir_flags(drafts, first, "S")                              # flags in the .mdir file name
    edit.add_mdir_message(drafts, "draft-late")
    alice = glob.glob(os.path.join(store, "Domains", "example.org", "**", "alice.macnt"), recursive=True)[0]
    edit.append_mbox_message(os.path.join(alice, "Projects.mbox"), "new-folder-1")  # a new folder
    edit.delete_mbox_message(os.path.join(alice, "INBOX.mbox"), 0)
    return {"new": 4, "flags": 2, "deleted": 2}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--store", required=True, help="the sample store (copied, never modified)")
    parser.add_argument("--run-dir", required=True, help="emptied first; keeps state, reports and passwords")
    args = parser.parse_args()
    run_dir = os.path.abspath(args.run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    os.chmod(run_dir, 0o700)
    store = os.path.join(run_dir, "old-server")
    shutil.copytree(os.path.abspath(args.store), store, symlinks=True)

    with PrivateDovecot() as dovecot:
        run = Run(args.bin_dir, store, run_dir, dovecot)
        stage1 = run.sync("Stage 1: bulk copy while the old server is live (users created, names lowercased)",
                          "--allow-live-store")
        run.verify("Check after stage 1: log in to every mailbox and verify its contents", "verify-stage1")

        expected = change_the_source(store)
        print(f"\n== Users keep working on the old server: {expected['new']} new messages (one in a new folder), "
              f"{expected['flags']} flag changes, {expected['deleted']} deletions", flush=True)
        planned = run.sync("Stage 2 rehearsal: what would change (dry run, touches nothing)", "--dry-run")
        stage2 = run.sync("Stage 2: old server stopped; copy only what changed", "--delete")
        run.verify("Final check", "verify-final")

        print("\n== Cut over: new mail reaches the new server directly", flush=True)
        imap = dovecot.login_master("john@mail.example.com")
        try:
            imap.append("INBOX", None, None, edit.new_message("direct").replace(b"\n", b"\r\n"))
        finally:
            imap.logout()
        again = run.sync("A third sync (--delete): nothing to do, and the new mail is not touched", "--delete")
        imap = dovecot.login_master("john@mail.example.com")
        try:
            imap.select("INBOX", readonly=True)
            _, found = imap.search(None, "SUBJECT", '"stage 2 direct"')
            direct_kept = len(found[0].split()) == 1
        finally:
            imap.logout()

    problems = []
    want = (expected["new"], expected["flags"], expected["deleted"])
    if (planned["would_copy"], planned["flag_changes"], planned["deleted_on_source"]) != want:
        problems.append(f"the dry run planned {planned}, expected new/flags/deleted {want}")
    if (stage2["copied"], stage2["flag_changes"], stage2["removed"]) != want:
        problems.append(f"stage 2 did {stage2}, expected new/flags/removed {want}")
    if (again["copied"], again["flag_changes"], again["removed"]) != (0, 0, 0):
        problems.append(f"the third sync was not a no-op: {again}")
    if not direct_kept:
        problems.append("mail delivered directly to the new server did not survive the third sync")
    print(f"\nstage 1: {stage1['copied']} messages copied; stage 2: {stage2['copied']} copied, "
          f"{stage2['flag_changes']} flag changes, {stage2['removed']} removed; verify clean; "
          f"third sync: no-op\nreports in {run_dir}")
    if problems:
        print("PROBLEMS: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
