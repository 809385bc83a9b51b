"""mailmig sync (stage-2 delta sync) into a private Dovecot: after stage 1 the
source store is edited on disk the way CommuniGate Pro would (messages
appended, flags changed in the storage lines or .mdir names, messages deleted,
a folder added); --dry-run lists exactly those changes and touches nothing;
sync copies exactly the difference and carries the flags; deletions are
reported and only --delete removes them, never mail that reached the target
directly; a third sync is a no-op. Also --rename-map/--lowercase with a folder
collision, and the account hooks."""
import json
import os
import sqlite3
import unittest

import harness
from cgp_store_edit import (add_mdir_message, append_mbox_message, delete_mbox_message, mbox_letters, mdir_files,
                            mdir_letters, new_message, read_mbox, set_mbox_flags, set_mdir_flags)
import imap_readback as rb
from servers.dovecot import PrivateDovecot

JOHN = "john@mail.example.com"

# ---- reading both sides

def source_folders(store, user=None):
    """{account@domain: {folder: sorted [(sha256, flags)]}} of the store as it is now."""
    args = ["inventory", "--source", "cgp:" + store, "--json", "--messages"]
    if user:
        args += ["--user", user]
    data = json.loads(harness.run("mailmig", *args, check=0).stdout)
    out = {}
    for d in data["domains"]:
        for a in d["accounts"]:
            out[f'{a["name"]}@{d["name"]}'] = {
                f["name"]: sorted((m["sha256"], frozenset(rb.expected_flags(m["flags"], m["keywords"])))
                                  for m in f.get("list", []))
                for f in a["folders"] if f["selectable"]}
    return out


def target_folders(server, user):
    """{folder: sorted [(sha256, flags)]} on the target, and {folder: [uids]}."""
    imap = server.login_master(user)
    try:
        contents = {}
        for name in rb.list_folders(imap):
            contents[name] = sorted((sha, frozenset(flags)) for _, sha, _, flags, _ in rb.fetch_folder(imap, name))
        return contents
    finally:
        imap.logout()


def state_dump(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.iterdump())
    finally:
        db.close()


class SyncIntoDovecot(unittest.TestCase):
    def setUp(self):
        self.work = harness.make_tempdir(self)
        self.server = PrivateDovecot()
        self.server.start()
        self.addCleanup(self.server.stop)
        self.master = os.path.join(self.work, "master.pw")
        with open(self.master, "w") as f:
            f.write(self.server.master_password + "\n")
        os.chmod(self.master, 0o600)
        self.runs = 0

    def mailmig(self, command, store, *args, check=0):
        """Runs migrate/sync; returns (process, report dict)."""
        self.runs += 1
        report = os.path.join(self.work, f"report{self.runs}.json")
        proc = harness.run("mailmig", command, "--source", "cgp:" + store, "--target",
                           f"imap://127.0.0.1:{self.server.imap_port}", "--ca-file", self.server.ca_file,
                           "--auth", "dovecot-master", "--master-user", self.server.master_user,
                           "--master-password-file", self.master, "--provision", "dovecot:" + self.server.passwd_file,
                           "--state", os.path.join(self.work, "state"), "--report", report,
                           "--password-file-out", os.path.join(self.work, f"run{self.runs}.pass"), *args,
                           check=check, cwd=self.work)
        with open(report) as f:
            return proc, json.load(f)

    def assert_totals(self, report, **expected):
        got = {k: report["totals"][k] for k in expected}
        self.assertEqual(expected, got, json.dumps(report["totals"]))

    def folder_report(self, report, user, folder):
        for a in report["accounts"]:
            if f'{a["account"]}@{a["domain"]}' == user:
                for f in a["folders"]:
                    if f["name"] == folder:
                        return f
        raise AssertionError(f"{user} {folder} not in the report")

    def edit_john(self, store):
        """The stage-2 changes: 5 new messages, 3 flag changes, 3 deletions."""
        john = os.path.join(store, "Accounts", "john.macnt")
        inbox = os.path.join(john, "INBOX.mbox")
        append_mbox_message(inbox, "inbox-1")
        append_mbox_message(inbox, "inbox-2", "S")
        first = mbox_letters(read_mbox(inbox)[0])
        set_mbox_flags(inbox, 0, "F" if first != "F" else "S")  # flag change
        set_mbox_flags(inbox, 3, "SA", ("$Work", "Later"))   # flags and keywords
        delete_mbox_message(inbox, 5)                        # deletion
        drafts = os.path.join(john, "Drafts.mdir")
        names = mdir_files(drafts)
        set_mdir_flags(drafts, names[0], "SF" if mdir_letters(names[0]) != "SF" else "A")  # flag change
        os.unlink(os.path.join(drafts, names[1]))            # deletion
        add_mdir_message(drafts, "drafts-1")                 # new
        delete_mbox_message(os.path.join(john, "Work.mbox"), 1)  # deletion
        append_mbox_message(os.path.join(john, "Later.mbox"), "later-1")  # a new folder
        append_mbox_message(os.path.join(john, "Later.mbox"), "later-2", "SF")

    def test_stage_two_sync_dry_run_flags_deletions_and_no_op(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=41)
        proc, report = self.mailmig("sync", store)
        self.assert_totals(report, copied=manifest["totals"]["messages"], flag_changes=0, deleted_on_source=0)

        self.edit_john(store)
        # Mail that reaches the target directly (cut-over under way) is never ours to delete.
        imap = self.server.login_master(JOHN)
        imap.append("INBOX", None, None, new_message("direct").replace(b"\n", b"\r\n"))
        imap.logout()
        before_target = {u: target_folders(self.server, u) for u in (JOHN, "mary@mail.example.com")}
        state_file = os.path.join(self.work, "state", "state.sqlite")
        before_state = state_dump(state_file)

        # --dry-run: exactly the changes, nothing touched
        source_before = harness.tree_snapshot(store)
        proc, report = self.mailmig("sync", store, "--dry-run", "--delete", "--log",
                                    os.path.join(self.work, "dry.log"))
        self.assert_totals(report, would_copy=5, flag_changes=3, deleted_on_source=3, copied=0, removed=0)
        self.assertIn(f"{JOHN} INBOX: ", proc.stdout)
        inbox_line = next(l for l in proc.stdout.splitlines() if f"{JOHN} INBOX:" in l)
        self.assertIn("would copy 2, would change flags of 2, would delete 1", inbox_line)
        with open(os.path.join(self.work, "dry.log")) as f:
            log = f.read()
        self.assertEqual(5, log.count("would copy sha256"), log[-3000:])
        self.assertEqual(3, log.count("would change flags of sha256"))
        self.assertEqual(3, log.count("would delete sha256"))
        self.assertEqual(before_target, {u: target_folders(self.server, u) for u in before_target})
        self.assertEqual(before_state, state_dump(state_file))
        self.assertEqual(source_before, harness.tree_snapshot(store), "the source store changed")

        # sync without --delete: the difference, flags carried, deletions kept and reported
        proc, report = self.mailmig("sync", store)
        self.assert_totals(report, copied=5, flag_changes=3, deleted_on_source=3, removed=0)
        self.assertIn("--delete removes them", proc.stdout)
        self.assertEqual(1, self.folder_report(report, JOHN, "INBOX")["deleted_on_source"])
        source = source_folders(store, JOHN)[JOHN]
        target = target_folders(self.server, JOHN)
        direct = [m for m in target["INBOX"] if m not in source["INBOX"]]
        self.assertEqual(2, len(direct))  # the deleted message and the direct one
        for folder in ("Drafts", "Work"):
            extra = [m for m in target[folder] if m not in source[folder]]
            self.assertEqual(1, len(extra), folder)  # still there

        # sync --delete: the target equals the source, the direct message stays
        proc, report = self.mailmig("sync", store, "--delete")
        self.assert_totals(report, copied=0, flag_changes=0, deleted_on_source=3, removed=3)
        target = target_folders(self.server, JOHN)
        direct_sha = [m for m in target["INBOX"] if m not in source["INBOX"]]
        self.assertEqual(1, len(direct_sha))
        target["INBOX"].remove(direct_sha[0])
        for folder, messages in source.items():
            self.assertEqual(messages, target.get(folder, []), folder)
        # untouched accounts stay as stage 1 left them
        self.assertEqual(before_target["mary@mail.example.com"], target_folders(self.server, "mary@mail.example.com"))

        # a third sync: nothing to do
        proc, report = self.mailmig("sync", store, "--delete")
        self.assert_totals(report, copied=0, flag_changes=0, deleted_on_source=0, removed=0, errors=0)
        self.assertIn("complete", proc.stdout)

    def test_rename_map_and_lowercase_with_a_folder_collision(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=42)
        john = os.path.join(store, "Accounts", "john.macnt")
        append_mbox_message(os.path.join(john, "WORK.mbox"), "upper-1")  # "Work" and "WORK": one name lowercased
        rename = os.path.join(self.work, "rename.map")
        with open(rename, "w") as f:
            f.write("# batch 1\nJohn = J.Smith\n")
        args = ("--user", JOHN, "--rename-map", rename, "--lowercase")
        proc, report = self.mailmig("migrate", store, *args)
        account = report["accounts"][0]
        self.assertEqual("j.smith@mail.example.com", account["target_account"])
        self.assertEqual(["j.smith@mail.example.com"], os.listdir(self.server.mail_root))
        work = self.folder_report(report, JOHN, "Work")
        upper = self.folder_report(report, JOHN, "WORK")
        self.assertEqual({"work", "work~2"}, {work["target"], upper["target"]})
        renamed = work if work["target"] == "work~2" else upper
        self.assertIn("renamed", renamed["rename_note"])
        self.assertIn("renamed", proc.stdout)

        imap = self.server.login_master("j.smith@mail.example.com")
        try:
            names = rb.list_folders(imap)
            self.assertIn("work", names)
            self.assertIn("work~2", names)
            self.assertIn(work["target"] + "/projects", names)  # children follow their parent's name
            self.assertIn("entwürfe", names)
            self.assertIn("INBOX/lists", names)
            self.assertEqual(1, len(rb.fetch_folder(imap, upper["target"])))
            self.assertEqual(work["copied"], len(rb.fetch_folder(imap, work["target"])))
        finally:
            imap.logout()

        # The same names on every later run; a sync is a no-op.
        proc, report = self.mailmig("sync", store, *args)
        self.assert_totals(report, copied=0, flag_changes=0, deleted_on_source=0)
        self.assertEqual(upper["target"], self.folder_report(report, JOHN, "WORK")["target"])

    def test_before_hook_refuses_an_account_and_after_hook_gets_the_outcome(self):
        store, manifest = harness.generate_store(self.work, "sample", seed=43)
        envs = os.path.join(self.work, "envs")
        os.mkdir(envs)
        before = 'if [ "$MAILMIG_ACCOUNT" = mary ]; then echo "mary is on hold elsewhere"; exit 7; fi'
        after = f'env | grep "^MAILMIG_" | sort > "{envs}/$MAILMIG_EMAIL.env"'
        proc, report = self.mailmig("sync", store, "--hook-before-account", before, "--hook-after-account", after,
                                    check=1)
        status = {f'{a["account"]}@{a["domain"]}': a for a in report["accounts"]}
        mary = status.pop("mary@mail.example.com")
        self.assertEqual("skipped", mary["status"])
        self.assertIn("7", mary["note"])
        self.assertIn("mary is on hold elsewhere", mary["note"])
        self.assertNotIn("mary@mail.example.com", os.listdir(self.server.mail_root))
        self.assertFalse(os.path.exists(os.path.join(envs, "mary@mail.example.com.env")))
        for user, account in status.items():
            self.assertEqual("done", account["status"], user)
            with open(os.path.join(envs, user + ".env")) as f:
                env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
            name, domain = user.split("@")
            self.assertEqual({"MAILMIG_ACCOUNT": name, "MAILMIG_DOMAIN": domain, "MAILMIG_EMAIL": user,
                              "MAILMIG_TARGET_ACCOUNT": name, "MAILMIG_TARGET_DOMAIN": domain,
                              "MAILMIG_PHASE": "after", "MAILMIG_STATUS": "done",
                              "MAILMIG_COPIED": str(account["copied"])},
                             {k: v for k, v in env.items() if k in (
                                 "MAILMIG_ACCOUNT", "MAILMIG_DOMAIN", "MAILMIG_EMAIL", "MAILMIG_TARGET_ACCOUNT",
                                 "MAILMIG_TARGET_DOMAIN", "MAILMIG_PHASE", "MAILMIG_STATUS", "MAILMIG_COPIED")})
        self.assertGreater(sum(a["copied"] for a in status.values()), 0)
        # Without the refusing hook, the next sync takes mary, and only her.
        proc, report = self.mailmig("sync", store)
        self.assert_totals(report, copied=sum(f["messages"] for d in manifest["domains"] for a in d["accounts"]
                                              if a["name"] == "mary" for f in a["folders"]))


if __name__ == "__main__":
    harness.main()
