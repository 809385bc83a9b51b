#!/usr/bin/env python3
"""Maildir benchmark: mailmig's Maildir source and target against Dovecot's own tools.

Corpus: the deterministic corpus of bench/imap_append.py (default 20,000 messages,
~220 MB in CRLF form) in four accounts q1..q4@bench.example (every fourth message
each), written as a CommuniGate store and migrated once with
`mailmig migrate --target maildir:SRC` into a Dovecot Maildir++ tree
SRC/bench.example/qN/Maildir (with dovecot-uidlist), owned by Dovecot's mail uid.
That tree is the source of every run:

  maildir-batch   mailmig migrate --source maildir:SRC --target maildir:DST --fsync batch
  maildir-never   the same with --fsync never
  imap            mailmig migrate --source maildir:SRC --target imap://127.0.0.1:PORT
                  --auth dovecot-master (STARTTLS, MULTIAPPEND) into a private Dovecot
  doveadm-import  doveadm import -u qN@bench.example maildir:SRC/.../Maildir "" all
                  (Dovecot's local copy, no network), one process per account
  dsync           doveadm backup -R -u qN@bench.example maildir:SRC/.../Maildir
                  (dsync one-way, keeps UIDs like mailmig's keep_uids), one process per account
  *-nolink        the two above with maildir_copy_with_hardlinks = no: by default Dovecot
                  copies Maildir files into a Maildir on the same file system by hard link,
                  writing no message data at all

mailmig runs with --jobs 4 (four accounts in parallel), Dovecot's tools as four
processes at once. Every run starts with an empty destination (a fresh private
Dovecot, tests/integration/servers/dovecot.py, whose config has mail_fsync = never)
and is checked afterwards from Dovecot itself (a Dovecot serving DST for the
maildir runs): per account the message count, unseen count, total virtual size and
sorted per-message virtual sizes must equal the corpus, else the row says WRONG.
Timings are printed, never asserted; --repeat R reports the median.

Usage: bench/maildir.py [--messages N] [--size-scale F] [--repeat R] [--only NAME,...]
       [--workdir DIR] [--keep] [--json FILE]
Python 3 standard library only; run as root (Dovecot's tools run as its mail uid).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from imap_append import (DOVEADM, MAIN_DOMAIN, QUAD, RunFailed, build_corpus, check_outputs,  # noqa: E402
                         machine_line, server_cpu, timed, verify, warm_cache)
from servers.dovecot import DovecotError, PrivateDovecot  # noqa: E402

import imap_append  # noqa: E402  (RUN_TIMEOUT lives there)

USERS = [f"{u}@{MAIN_DOMAIN}" for u in QUAD]
PASSWORD = "Bench#Pw1"
NAMES = ["maildir-batch", "maildir-never", "imap", "doveadm-import", "dsync", "doveadm-import-nolink", "dsync-nolink"]
# Dovecot copies a Maildir file into a Maildir by hard link (maildir_copy_with_hardlinks = yes, the
# default), so its import and dsync write no message data; the -nolink runs turn that off.
NOLINK = "maildir_copy_with_hardlinks = no\n"
LABEL = {"maildir-batch": "mailmig Maildir -> Maildir, `--fsync batch`",
         "maildir-never": "mailmig Maildir -> Maildir, `--fsync never`",
         "imap": "mailmig Maildir -> IMAP (Dovecot, MULTIAPPEND, STARTTLS)",
         "doveadm-import": "`doveadm import` Maildir -> Dovecot (local)",
         "dsync": "`doveadm backup -R` (dsync) Maildir -> Dovecot (local)",
         "doveadm-import-nolink": "`doveadm import`, `maildir_copy_with_hardlinks = no`",
         "dsync-nolink": "`doveadm backup -R` (dsync), `maildir_copy_with_hardlinks = no`"}


def mail_owner(dc):
    import grp
    import pwd
    return f"{pwd.getpwuid(dc.mail_uid).pw_name}:{grp.getgrgid(dc.mail_gid).gr_name}"


def source_maildir(user_root, user):
    name, domain = user.split("@")
    return os.path.join(user_root, domain, name, "Maildir")


def build_source(work, mailmig, owner):
    """The Maildir corpus SRC, written once by mailmig from the CGP store of the corpus."""
    src = os.path.join(work, "src")
    args = [mailmig, "migrate", "--source", "cgp:" + os.path.join(work, "store-4"), "--target", "maildir:" + src,
            "--fsync", "never", "--state", os.path.join(work, "src-state"), "--quiet"]
    if owner:
        args += ["--owner", owner]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"maildir.py: building the Maildir corpus failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return src


def link_copy(src, dst, owner_ids):
    """A hard-link copy (new directories, same files): Dovecot's tools may write index or
    uidlist files into what they read; the corpus itself must stay as it is."""
    shutil.copytree(src, dst, copy_function=os.link)
    if owner_ids:
        for dirpath, dirs, _files in os.walk(dst):
            for d in dirs:
                os.chown(os.path.join(dirpath, d), *owner_ids)
        os.chown(dst, *owner_ids)


def run_mailmig(args, dc, work, src, run_dir, name):
    state = os.path.join(run_dir, "state")
    rss_file = os.path.join(run_dir, "rss.txt")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file, args.mailmig, "migrate", "--source", "maildir:" + src,
           "--user-path", src + "/%d/%n/Maildir", "--state", state, "--jobs", str(args.jobs), "--quiet"]
    if name == "imap":
        pwfile = os.path.join(run_dir, "master.pw")
        with open(pwfile, "w") as f:
            f.write(dc.master_password)
        os.chmod(pwfile, 0o600)
        cmd += ["--target", f"imap://127.0.0.1:{dc.imap_port}", "--ca-file", dc.ca_file, "--auth", "dovecot-master",
                "--master-user", dc.master_user, "--master-password-file", pwfile]
    else:
        cmd += ["--target", "maildir:" + os.path.join(run_dir, "dst"), "--fsync", name.split("-")[1]]
        if os.geteuid() == 0:
            cmd += ["--owner", mail_owner(dc)]
    secs, cpu, outs = timed([cmd])
    check_outputs(name, [cmd], outs)
    with open(rss_file) as f:
        rss_mb = int(f.read().split()[-1]) / 1024
    return secs, cpu, [f"peak RSS {rss_mb:.1f} MiB"]


def run_doveadm(dc, src, run_dir, name):
    copy = os.path.join(run_dir, "src-copy")
    link_copy(src, copy, (dc.mail_uid, dc.mail_gid) if os.geteuid() == 0 else None)
    all_args = []
    for u in USERS:
        location = f"maildir:{source_maildir(copy, u)}:INDEX=MEMORY"
        if name.startswith("doveadm-import"):
            all_args.append([DOVEADM, "-c", dc.config_path, "import", "-u", u, location, "", "all"])
        else:
            all_args.append([DOVEADM, "-c", dc.config_path, "backup", "-R", "-u", u, location])
    secs, cpu, outs = timed(all_args)
    check_outputs(name, all_args, outs)
    return secs, cpu, []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="messages in the corpus (default 20000)")
    ap.add_argument("--size-scale", type=float, default=1.0, help="multiply every message size (default 1.0)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mailmig", default=os.path.join(REPO, "build", "release", "src", "mailmig"))
    ap.add_argument("--only", default="", help="comma list of runs: " + ",".join(NAMES))
    ap.add_argument("--jobs", type=int, default=4, help="mailmig --jobs (default 4: the four accounts at once)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per row; the median is reported (default 3)")
    ap.add_argument("--workdir", help="where the corpus is built (default: a new dir under $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--timeout", type=float, default=imap_append.RUN_TIMEOUT,
                    help="seconds before a run counts as hung and is killed (default 1800)")
    args = ap.parse_args()
    imap_append.RUN_TIMEOUT = args.timeout
    if not os.access(args.mailmig, os.X_OK):
        sys.exit(f"maildir.py: no mailmig at {args.mailmig}; build it: "
                 "cmake --preset release && cmake --build --preset release --target mailmig")
    wanted = [n for n in NAMES if not args.only or n in args.only.split(",")]

    work = args.workdir or tempfile.mkdtemp(prefix="mailmig-bench-maildir-")
    os.makedirs(work, exist_ok=True)
    if os.listdir(work):
        sys.exit(f"maildir.py: work dir {work} is not empty")
    os.chmod(work, 0o755)  # Dovecot's mail uid must reach the trees
    try:
        t = time.monotonic()
        expected, total_bytes, big = build_corpus(work, args.messages, args.size_scale, args.seed, with_maildir=False)
        # The expected numbers per account, under the names Dovecot knows them by.
        expected = {f"{u}@{MAIN_DOMAIN}": expected[u] for u in QUAD}
        probe = PrivateDovecot()  # only for the mail uid/gid the tree must belong to
        owner = mail_owner(probe) if os.geteuid() == 0 else None
        probe.stop()
        src = build_source(work, args.mailmig, owner)
        shutil.rmtree(os.path.join(work, "store-1"))
        warm_cache(src)
        print(f"corpus: {args.messages} messages, {total_bytes / 1e6:.1f} MB in CRLF form ({big} of >= 16 KB), "
              f"4 accounts, seed {args.seed}, size scale {args.size_scale}; Maildir built in "
              f"{time.monotonic() - t:.1f} s under {src}", flush=True)
        print(f"machine: {machine_line()}", flush=True)
        results = []
        for name in wanted:
            samples = []
            for rep in range(args.repeat):
                run_dir = tempfile.mkdtemp(prefix="run-", dir=work)
                os.chmod(run_dir, 0o755)
                dc = PrivateDovecot(users={u: PASSWORD for u in USERS},
                                    extra_config=NOLINK if name.endswith("-nolink") else "")
                checker = None
                status, note = "ok", []
                try:
                    dc.start()
                    server0 = server_cpu(dc)
                    if name.startswith("maildir-") or name == "imap":
                        secs, cpu, note = run_mailmig(args, dc, work, src, run_dir, name)
                    else:
                        secs, cpu, note = run_doveadm(dc, src, run_dir, name)
                    server = server_cpu(dc) - server0
                    if name.startswith("maildir-"):
                        # What mailmig wrote, as a Dovecot serving that tree sees it.
                        checker = PrivateDovecot(users={u: PASSWORD for u in USERS},
                                                 mail_location=f"maildir:{run_dir}/dst/%d/%n/Maildir")
                        checker.start()
                    problems = verify(checker or dc, USERS, expected)
                    if problems:
                        status = "WRONG"
                        print(f"  {name}: VERIFY FAILED:\n    " + "\n    ".join(problems), flush=True)
                except (RunFailed, DovecotError, subprocess.TimeoutExpired) as exc:
                    status, secs, cpu, server = "FAILED", float("nan"), float("nan"), float("nan")
                    print(f"  {name}: {exc}", flush=True)
                finally:
                    dc.stop()
                    if checker:
                        checker.stop()
                    shutil.rmtree(run_dir, ignore_errors=True)
                samples.append((secs, cpu, status, server))
                print(f"  {name:<14} run {rep + 1}: {secs:7.2f} s  client CPU {cpu:6.2f} s  server CPU {server:6.2f} s"
                      f"  load {os.getloadavg()[0]:4.1f}  {status}" + (f"  [{note[0]}]" if note else ""), flush=True)
            ok = [s for s in samples if s[2] == "ok"]
            status = "ok" if len(ok) == len(samples) else samples[-1][2] if not ok else "partly wrong"
            pick = ok or samples
            results.append({"run": name, "messages": args.messages, "bytes": total_bytes,
                            "seconds": statistics.median(s[0] for s in pick),
                            "client_cpu_seconds": statistics.median(s[1] for s in pick),
                            "server_cpu_seconds": statistics.median(s[3] for s in pick),
                            "status": status, "samples": [s[0] for s in samples]})
        print_table(results)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"corpus": {"messages": args.messages, "bytes": total_bytes, "seed": args.seed,
                                      "size_scale": args.size_scale, "accounts": 4}, "machine": machine_line(),
                           "jobs": args.jobs, "results": results}, f, indent=1)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        elif not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def print_table(results):
    base = next((r for r in results if r["run"] == "doveadm-import" and r["status"] == "ok"), None)
    print()
    print("| run | messages | seconds (median) | msgs/s | MB/s | vs doveadm import | client CPU s | Dovecot CPU s | "
          "check |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["seconds"]
        good = s == s and s > 0
        rate = r["messages"] / s if good else float("nan")
        mbs = r["bytes"] / 1e6 / s if good else float("nan")
        ratio = f"{base['seconds'] / s:.2f}" if base and good else "-"
        print(f"| {LABEL[r['run']]} | {r['messages']:,} | {s:.2f} | {rate:,.0f} | {mbs:.1f} | {ratio} | "
              f"{r['client_cpu_seconds']:.1f} | {r['server_cpu_seconds']:.1f} | {r['status']} |")
    print()
    print("msgs/s and MB/s over the wall time of the client process(es); MB = 10^6 bytes in CRLF form; "
          "'vs doveadm import' = its time / this time (> 1 is faster); Dovecot CPU = the target Dovecot "
          "instance's processes (the doveadm tools do their work in the client processes).")


if __name__ == "__main__":
    main()
