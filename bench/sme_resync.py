#!/usr/bin/env python3
"""The SME Server -> NethServer re-sync, measured: mailmig's sync_maildirs against
rsync over ssh (what NethServer's own sync_maildirs.sh runs), on the same tree.

Corpus: the live host of tests/integration/test_sme_procedure.py (3 users, 5
folders each, PER_FOLDER messages per folder, one 120 KB message per folder,
the rest 0-15 KB), backed up as a tar.gz and imported with `mailmig
import-backup` into a Maildir root; then the live host receives NEW messages in
john's INBOX. A private sshd (tests/integration/servers/sshd.py) serves the
live host on loopback; `--delay MS` adds MS of delay each way on loopback with
`tc netem` (root; removed afterwards).

Rows (wall time, median of --repeat runs):
  import        mailmig import-backup of the backup
  resync        sync_maildirs after the import: only the NEW messages copied,
                nothing from the import again (asserted: the row says WRONG otherwise)
  resync-noop   the same command again: nothing to copy
  rsync         rsync -a over ssh of the same homes into a copy of the imported
                tree (rsync compares names, so it copies every file whose name
                differs: the import wrote Dovecot names, the live host has SME names)
  rsync-noop    rsync again
Timings are printed, never asserted.
Usage: bench/sme_resync.py [--per-folder N] [--new N] [--repeat R] [--delay MS] [--keep]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from servers.sshd import PrivateSshd  # noqa: E402
from test_maildir_ssh import message, write_message  # noqa: E402
from test_sme_procedure import HOMES, build_live_host, make_backup  # noqa: E402

BIN = os.path.join(HERE, "..", "build", "release", "src")


def timed(args, env, cwd):
    start = time.monotonic()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args[:3])}...: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def count_files(root):
    return sum(len(files) for d, _, files in os.walk(root) if os.path.basename(d) in ("cur", "new"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-folder", type=int, default=200)
    ap.add_argument("--new", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--delay", type=int, default=0, help="ms added each way on loopback (tc netem)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mailmig-bench-sme-")
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env["HOME"] = work
    env["MAILMIG_STATE_HOME"] = os.path.join(work, "state-home")
    sme = os.path.join(work, "sme")
    homes = os.path.join(sme, HOMES)
    build_live_host(sme, args.per_folder)
    backup = os.path.join(work, "smeserver.tgz")
    make_backup(sme, backup)
    inbox = os.path.join(homes, "john", "Maildir")
    rows = {}
    netem = False
    with PrivateSshd() as ssh:
        if args.delay:
            subprocess.run(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", f"{args.delay}ms"], check=True)
            netem = True
        try:
            ssh_cmd = f"ssh -p {ssh.port} -i {ssh.key_file} -o UserKnownHostsFile={ssh.known_hosts} -o BatchMode=yes"
            for r in range(args.repeat):
                vmail = os.path.join(work, f"vmail{r}")
                env["MAILMIG_STATE_HOME"] = os.path.join(work, f"state-home{r}")
                t, _ = timed([os.path.join(BIN, "mailmig"), "import-backup", backup, "--target", "maildir:" + vmail,
                              "--target-user-path", "%n/Maildir", "--log", os.path.join(work, f"import{r}.log"),
                              "--aliases-out", os.path.join(work, f"virtual{r}")],
                             env, work)
                rows.setdefault("import", []).append(t)
                rsync_dst = os.path.join(work, f"rsync{r}")
                shutil.copytree(vmail, rsync_dst, symlinks=True)
                for i in range(args.new):
                    write_message(inbox, "new", f"19{r:02d}{i:06d}.N{i}P9.sme", message("john", "INBOX", 10_000 * (r + 1) + i),
                                  1900000000 + i)
                sync = [os.path.join(BIN, "sync_maildirs"), "-s", "127.0.0.1", "-p", str(ssh.port), "--ssh-user",
                        ssh.user, "--ssh-key", ssh.key_file, "--ssh-known-hosts", ssh.known_hosts, "--source-path",
                        homes, "--target-path", vmail, "--domain", "example.com"]
                before = count_files(vmail)
                t, out = timed(sync, env, work)
                rows.setdefault("resync", []).append(t)
                copied = count_files(vmail) - before
                if copied != args.new:
                    rows.setdefault("WRONG", []).append(copied)
                t, _ = timed(sync, env, work)
                rows.setdefault("resync-noop", []).append(t)
                for row in ("rsync", "rsync-noop"):
                    t0 = time.monotonic()
                    for user in ("bob", "john", "mary"):
                        src = os.path.join(homes, user, "Maildir") + "/"
                        dst = os.path.join(rsync_dst, user, "Maildir") + "/"
                        subprocess.run(["rsync", "-a", "-e", ssh_cmd, f"{ssh.user}@127.0.0.1:{src}", dst], check=True,
                                       env=env)
                    rows.setdefault(row, []).append(time.monotonic() - t0)
                rows.setdefault("rsync files after", []).append(count_files(rsync_dst))
                rows.setdefault("mailmig files after", []).append(count_files(vmail))
        finally:
            if netem:
                subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
    total = count_files(homes)
    print(f"corpus: {total} messages on the live host ({args.new} new after the backup), "
          f"delay {args.delay} ms each way, median of {args.repeat}")
    print(f"{'row':22} {'value':>10}")
    for name, values in rows.items():
        value = statistics.median(values)
        print(f"{name:22} {value:10.2f}" if isinstance(value, float) else f"{name:22} {value:10}")
    if args.keep:
        print("kept:", work)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
