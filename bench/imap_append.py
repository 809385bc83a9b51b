#!/usr/bin/env python3
"""IMAP APPEND benchmark: mailmig's append modes against Dovecot's own peers.

Builds one deterministic corpus (default 20,000 messages, ~200 MB: mostly 2-8 KB,
a few of 16-128 KB and 256 KB-1 MB) and loads the SAME messages into a fresh
private Dovecot (tests/integration/servers/dovecot.py) with:

  mailmig copy --append-mode roundtrip | pipelined | multiappend
      on 1 connection (one account holding the whole corpus, --jobs 1) and on
      4 connections (4 accounts holding a quarter each, --jobs 4);
  doveadm import   (Dovecot's local import from mbox files; 1 user, and 4 users
                    as 4 parallel processes);
  mbsync           (isync: a local Maildir copy pushed over IMAP; 1 channel, and
                    4 parallel mbsync processes), when /usr/bin/mbsync exists.

Every run starts with a fresh Dovecot instance (empty mailboxes) and is checked
afterwards: per user the message count, \\Seen count, total virtual size and the
multiset of per-message virtual sizes must match the corpus, else the run is
marked WRONG. Timings are printed, never asserted.

Usage: bench/imap_append.py [--messages N] [--size-scale F] [--only NAME,...]
       [--repeat R] [--plain] [--workdir DIR] [--keep] [--json FILE]
Python 3 standard library only; run as root or as a user Dovecot can run as.
"""
import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from servers.dovecot import DovecotError, PrivateDovecot  # noqa: E402

MAIN_DOMAIN = "bench.example"
PASSWORD = "Bench#Pw1"
SINGLE = ["all"]                       # 1-connection runs: one account, whole corpus
QUAD = ["q1", "q2", "q3", "q4"]        # 4-connection runs: message i goes to QUAD[i % 4]
MBSYNC = shutil.which("mbsync")
DOVEADM = os.environ.get("MAILMIG_DOVEADM", "/usr/bin/doveadm")
DOVECOT = os.environ.get("MAILMIG_DOVECOT", "/usr/sbin/dovecot")

# ----------------------------------------------------------------- corpus

WORDS = ("migration mailbox server account folder message header body append literal "
         "pipeline connection latency throughput batch window quota index cache store "
         "domain user password flag seen draft answered deleted recent archive project "
         "report meeting budget schedule invoice customer contract review release "
         "network storage backup restore policy security update version support ticket "
         "the of and to in is that for it as with was on be at by this had not are but "
         "from or have an they which one you were her all she there would their we him").split()


def text_pool(rng, lines=6000):
    """Body lines of 30-76 characters, lower case only, so no line starts with 'From '."""
    out = []
    for _ in range(lines):
        target = rng.randint(30, 76)
        line = []
        length = 0
        while length < target:
            w = rng.choice(WORDS)
            line.append(w)
            length += len(w) + 1
        out.append(" ".join(line))
    return out


def pick_size(rng, scale):
    r = rng.random()
    if r < 0.005:
        size = rng.randint(256 * 1024, 1024 * 1024)
    elif r < 0.04:
        size = rng.randint(16 * 1024, 128 * 1024)
    else:
        size = rng.randint(2 * 1024, 8 * 1024)
    return max(600, int(size * scale))


def text_body(rng, pool, size):
    parts = []
    n = 0
    i = rng.randrange(len(pool))
    while n < size:
        line = pool[i % len(pool)]
        parts.append(line)
        n += len(line) + 1
        i += 1
    return "\n".join(parts) + "\n"


def base64_lines(rng, size):
    import base64
    raw = rng.randbytes(size * 3 // 4)
    enc = base64.b64encode(raw).decode("ascii")
    return "\n".join(enc[k:k + 76] for k in range(0, len(enc), 76)) + "\n"


def make_message(i, t, size, rng, pool):
    """One message (LF line ends), roughly `size` bytes."""
    sender = f"sender{i % 97}@example.org"
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
    head = (f"Return-Path: <{sender}>\n"
            f"Received: from mx.example.org by {MAIN_DOMAIN}; {date}\n"
            f"From: Sender {i % 97} <{sender}>\n"
            f"To: Bench User <user@{MAIN_DOMAIN}>\n"
            f"Subject: bench message {i} {rng.choice(WORDS)} {rng.choice(WORDS)}\n"
            f"Date: {date}\n"
            f"Message-ID: <bench.{i}.{t}@example.org>\n"
            "MIME-Version: 1.0\n")
    remaining = max(100, size - len(head) - 60)
    if size >= 16 * 1024 and rng.random() < 0.7:
        boundary = f"=_bench_{i}"
        text = text_body(rng, pool, min(2000, remaining // 4))
        attach = base64_lines(rng, max(100, remaining - len(text) - 300))
        body = (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
                "This is a multi-part message in MIME format.\n\n"
                f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n{text}\n"
                f"--{boundary}\nContent-Type: application/octet-stream; name=\"file{i}.bin\"\n"
                f"Content-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"file{i}.bin\"\n\n{attach}\n"
                f"--{boundary}--\n")
    else:
        body = "Content-Type: text/plain; charset=us-ascii\n\n" + text_body(rng, pool, remaining)
    return (head + body).encode("ascii")


def build_corpus(work, n, scale, seed, with_maildir):
    """Writes the same messages as
      store-1/  CGP store, account all (whole corpus)   -> mailmig 1 connection
      store-4/  CGP store, accounts q1..q4 (a quarter)  -> mailmig 4 connections
      mbox-1/<user>/INBOX, mbox-4/<user>/INBOX          -> doveadm import
      maildir-1/<user>/{cur,new,tmp}, maildir-4/...     -> mbsync
    and returns the expected per-user numbers."""
    rng = random.Random(seed)
    pool = text_pool(rng)
    expected = {u: {"messages": 0, "unseen": 0, "vsize": 0, "sizes": []} for u in SINGLE + QUAD}
    files = {}
    for store, users in (("store-1", SINGLE), ("store-4", QUAD)):
        os.makedirs(os.path.join(work, store, "Settings"))
        with open(os.path.join(work, store, "Settings", "Main.settings"), "w") as f:
            f.write(f"{{\n DomainName = \"{MAIN_DOMAIN}\";\n}}\n")
        for u in users:
            acc = os.path.join(work, store, "Accounts", f"{u}.macnt")
            os.makedirs(acc)
            with open(os.path.join(acc, "account.settings"), "w") as f:
                f.write(f"{{\n Password = \"{PASSWORD}\";\n RealName = \"Bench {u}\";\n}}\n")
            files[u] = open(os.path.join(acc, "INBOX.mbox"), "wb", buffering=1 << 20)
            if with_maildir:
                for sub in ("cur", "new", "tmp"):
                    os.makedirs(os.path.join(work, "maildir-" + store[-1], u, sub))
    t0 = 1672531200  # 2023-01-01T00:00:00Z
    total_bytes = 0
    big = 0
    for i in range(n):
        t = t0 + i * 1523
        size = pick_size(rng, scale)
        msg = make_message(i, t, size, rng, pool)
        seen = rng.random() < 0.7
        flagged = rng.random() < 0.05
        vsize = len(msg) + msg.count(b"\n")  # CRLF form: what IMAP carries and Dovecot's vsize counts
        total_bytes += vsize
        big += vsize >= 16 * 1024
        sep = (f"From {'sender' + str(i % 97)}@example.org {time.asctime(time.gmtime(t))}\n"
               f"Status: {'RO' if seen else 'O'}\n" + ("X-Status: F\n" if flagged else "")).encode("ascii")
        record = sep + msg + b"\n"
        mflags = ("F" if flagged else "") + ("S" if seen else "")
        for u in (SINGLE[0], QUAD[i % 4]):
            files[u].write(record)
            e = expected[u]
            e["messages"] += 1
            e["unseen"] += not seen
            e["vsize"] += vsize
            e["sizes"].append(vsize)
            if with_maildir:
                path = os.path.join(work, "maildir-" + ("1" if u in SINGLE else "4"), u, "cur",
                                    f"{t}.M{i}P1.bench:2,{mflags}")
                with open(path, "wb") as f:
                    f.write(msg)
                os.utime(path, (t, t))
    for f in files.values():
        f.close()
    # doveadm import reads plain mbox files: the CGP INBOX.mbox files are valid mboxes
    # (ctime separators, Status/X-Status lines, no body line starting with "From "),
    # copied so Dovecot can never touch the store mailmig reads.
    for store, users in (("store-1", SINGLE), ("store-4", QUAD)):
        for u in users:
            d = os.path.join(work, "mbox-" + store[-1], u)
            os.makedirs(d)
            shutil.copyfile(os.path.join(work, store, "Accounts", f"{u}.macnt", "INBOX.mbox"),
                            os.path.join(d, "INBOX"))
    for e in expected.values():
        e["sizes"].sort()
    return expected, total_bytes, big


def warm_cache(path):
    """Reads every file once so all runs see the corpus in the page cache."""
    for root, _dirs, names in os.walk(path):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


# ----------------------------------------------------------------- runs

class RunFailed(Exception):
    pass


def server_cpu(dc):
    """CPU seconds (user + system) used so far by this Dovecot instance: every process of its
    process group (the master started it in its own session), plus what the master's reaped
    children (finished imap processes) used."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields[0] = state (3rd field of stat), so utime = fields[11], stime = [12], cutime/cstime = [13]/[14]
        if int(fields[2]) == dc.pid:
            total += int(fields[11]) + int(fields[12])
            if int(entry) == dc.pid:
                total += int(fields[13]) + int(fields[14])
    return total / tck


RUN_TIMEOUT = 1800.0  # seconds; --timeout


def timed(procs_args, env=None):
    """Starts every command line at once, waits for all; returns (seconds, client CPU s, outputs).
    A run still going after RUN_TIMEOUT is killed and reported as a hang."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env) for a in procs_args]
    outs = []
    for args, p in zip(procs_args, procs):
        try:
            out, _ = p.communicate(timeout=max(1.0, t0 + RUN_TIMEOUT - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                if q.poll() is None:
                    q.kill()
            out, _ = p.communicate()
            raise RunFailed(f"no end after {RUN_TIMEOUT:.0f} s (killed): {' '.join(args)}\n"
                            + out.decode("utf-8", "replace")[-4000:])
        outs.append((p.returncode, out.decode("utf-8", "replace")))
    secs = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return secs, cpu, outs


def check_outputs(name, args_list, outs):
    for args, (rc, out) in zip(args_list, outs):
        if rc != 0:
            raise RunFailed(f"{name}: exit {rc}: {' '.join(args)}\n{out[-4000:]}")


def run_mailmig(dc, work, mailmig, mode, conns, plain):
    store = os.path.join(work, "store-1" if conns == 1 else "store-4")
    pwfile = os.path.join(work, "master.pw")
    with open(pwfile, "w") as f:
        f.write(dc.master_password)
    os.chmod(pwfile, 0o600)
    # imap:// = STARTTLS when the server offers it (mailmig always upgrades); with --plain
    # Dovecot runs with ssl = no and mailmig logs in without TLS (allowed on loopback).
    target = f"imap://127.0.0.1:{dc.imap_port}"
    args = [mailmig, "copy", "--source", "cgp:" + store, "--target", target,
            "--auth", "dovecot-master", "--master-user", dc.master_user, "--master-password-file", pwfile,
            "--login-format", "%u", "--append-mode", mode, "--jobs", str(conns), "--quiet"]
    if not plain:
        args += ["--ca-file", dc.ca_file]
    secs, cpu, outs = timed([args])
    check_outputs(f"mailmig --append-mode {mode}", [args], outs)
    return secs, cpu, outs[0][1].strip().splitlines()[-1:] if outs[0][1].strip() else []


def run_mailmig_migrate(dc, work, mailmig, conns, plain, run_dir):
    """mailmig migrate: the full engine -- SHA-256 of every message, write-ahead
    state in SQLite, MULTIAPPEND -- into a fresh state directory; peak RSS via
    /usr/bin/time."""
    store = os.path.join(work, "store-1" if conns == 1 else "store-4")
    pwfile = os.path.join(work, "master.pw")
    with open(pwfile, "w") as f:
        f.write(dc.master_password)
    os.chmod(pwfile, 0o600)
    rss_file = os.path.join(run_dir, "rss.txt")
    args = ["/usr/bin/time", "-f", "%M", "-o", rss_file, mailmig, "migrate", "--source", "cgp:" + store,
            "--target", f"imap://127.0.0.1:{dc.imap_port}", "--auth", "dovecot-master", "--master-user",
            dc.master_user, "--master-password-file", pwfile, "--login-format", "%u", "--jobs", str(conns),
            "--state", os.path.join(run_dir, "state"), "--quiet"]
    if not plain:
        args += ["--ca-file", dc.ca_file]
    secs, cpu, outs = timed([args])
    check_outputs("mailmig migrate", [args], outs)
    with open(rss_file) as f:
        rss_mb = int(f.read().split()[-1]) / 1024
    return secs, cpu, [f"peak RSS {rss_mb:.1f} MiB"]


def run_doveadm_import(dc, work, conns):
    users = SINGLE if conns == 1 else QUAD
    base = os.path.join(work, "mbox-" + str(conns))
    if os.geteuid() == 0:
        # The import runs as the mail uid; the (read-only) mbox files need no write access,
        # but mbox locking wants a writable directory.
        for u in users:
            os.chown(os.path.join(base, u), dc.mail_uid, dc.mail_gid)
    all_args = []
    for u in users:
        d = os.path.join(base, u)
        all_args.append([DOVEADM, "-c", dc.config_path, "import", "-u", u,
                         f"mbox:{d}:INBOX={d}/INBOX:INDEX=MEMORY", "", "all"])
    secs, cpu, outs = timed(all_args)
    check_outputs("doveadm import", all_args, outs)
    return secs, cpu, []


MBSYNC_CONF = """# mbsync (isync {version}) config written by bench/imap_append.py
IMAPAccount {user}
# "localhost": the certificate's name (mbsync 1.4 does not match IP SANs); Dovecot listens on 127.0.0.1
Host localhost
Port {port}
User {user}
Pass {password}
SSLType {ssltype}
{cafile}AuthMechs LOGIN
# PipelineDepth: not set = unlimited (mbsync's default)

IMAPStore {user}-far
Account {user}

MaildirStore {user}-near
Path {maildir}/
Inbox {maildir}
SubFolders Verbatim

Channel {user}
Far :{user}-far:
Near :{user}-near:
Patterns INBOX
Create Far
Sync Push
Expunge None
CopyArrivalDate yes
SyncState {state}/
"""


def run_mbsync(dc, work, conns, plain, run_dir):
    users = SINGLE if conns == 1 else QUAD
    version = subprocess.run([MBSYNC, "--version"], capture_output=True, text=True).stdout.strip()
    all_args = []
    for u in users:
        # mbsync renames Maildir files (adds ,U=uid) and keeps state: work on a hard-link
        # copy with fresh state so every run pushes the whole corpus.
        near = os.path.join(run_dir, "maildir", u)
        shutil.copytree(os.path.join(work, "maildir-" + str(conns), u), near, copy_function=os.link)
        state = os.path.join(run_dir, "mbsync-state", u)
        os.makedirs(state)
        conf = os.path.join(run_dir, f"mbsyncrc-{u}")
        with open(conf, "w") as f:
            f.write(MBSYNC_CONF.format(
                version=version, user=u, port=dc.imap_port, password=PASSWORD,
                ssltype="None" if plain else "STARTTLS",
                cafile="" if plain else f"CertificateFile {dc.ca_file}\n",
                maildir=near, state=state))
        os.chmod(conf, 0o600)
        all_args.append([MBSYNC, "-q", "-c", conf, u])
    secs, cpu, outs = timed(all_args)
    check_outputs("mbsync", all_args, outs)
    return secs, cpu, []


# mbsync adds one header line to every message it uploads ("X-TUID: <12 chars>" + CRLF),
# to find the message again; it stays in the stored message.
MBSYNC_TUID_BYTES = len(b"X-TUID: 123456789012\r\n")


def verify(dc, users, expected, added_per_message=0):
    """Counts, \\Seen, total and per-message virtual sizes per user, from Dovecot itself."""
    problems = []
    for u in users:
        e = dict(expected[u])
        if added_per_message:
            e["vsize"] += added_per_message * e["messages"]
            e["sizes"] = [s + added_per_message for s in e["sizes"]]
        out = dc.doveadm("mailbox", "status", "-u", u, "messages unseen vsize", "INBOX").stdout
        got = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
        for key in ("messages", "unseen", "vsize"):
            if int(got.get(key, -1)) != e[key]:
                problems.append(f"{u}: {key} {got.get(key)} != expected {e[key]}")
        sizes = dc.doveadm("fetch", "-u", u, "size.virtual", "mailbox", "INBOX", timeout=300).stdout
        got_sizes = sorted(int(line.split(":", 1)[1]) for line in sizes.splitlines() if line.startswith("size.virtual:"))
        if got_sizes != e["sizes"]:
            problems.append(f"{u}: per-message sizes differ ({len(got_sizes)} fetched, "
                            f"{sum(a != b for a, b in zip(got_sizes, e['sizes']))} mismatched)")
    return problems


# ----------------------------------------------------------------- main

def machine_line():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dv = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, Dovecot {dv}"


def main():
    global RUN_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="messages in the corpus (default 20000)")
    ap.add_argument("--size-scale", type=float, default=1.0, help="multiply every message size (default 1.0: ~200 MB)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mailmig", default=os.path.join(REPO, "build", "release", "src", "mailmig"))
    ap.add_argument("--only", default="",
                    help="comma list of runs: roundtrip,pipelined,multiappend,migrate,doveadm,mbsync")
    ap.add_argument("--connections", default="1,4", help="comma list of 1 and/or 4 (default 1,4)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the median is reported (default 1)")
    ap.add_argument("--plain", action="store_true",
                    help="Dovecot without TLS (ssl = no): IMAP clients log in in clear text on loopback; "
                         "default: STARTTLS, verified against the private CA")
    ap.add_argument("--workdir", help="where the corpus is built (default: a new dir under $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--timeout", type=float, default=RUN_TIMEOUT,
                    help="seconds before a run counts as hung and is killed (default 1800)")
    args = ap.parse_args()
    RUN_TIMEOUT = args.timeout

    if not os.access(args.mailmig, os.X_OK):
        sys.exit(f"imap_append.py: no mailmig at {args.mailmig}; build it: "
                 "cmake --preset release && cmake --build --preset release --target mailmig")
    names = ["roundtrip", "pipelined", "multiappend", "migrate", "doveadm", "mbsync"]
    wanted = [n for n in names if not args.only or n in args.only.split(",")]
    if "mbsync" in wanted and not MBSYNC:
        print("note: mbsync not installed (Debian package isync); its rows are skipped", file=sys.stderr)
        wanted.remove("mbsync")
    conns_list = [int(c) for c in args.connections.split(",")]

    work = args.workdir or tempfile.mkdtemp(prefix="mailmig-bench-append-")
    os.makedirs(work, exist_ok=True)
    if os.listdir(work):
        sys.exit(f"imap_append.py: work dir {work} is not empty")
    os.chmod(work, 0o755)  # Dovecot's mail uid must reach the mbox files (doveadm import)
    try:
        t = time.monotonic()
        expected, total_bytes, big = build_corpus(work, args.messages, args.size_scale, args.seed,
                                                  with_maildir="mbsync" in wanted)
        warm_cache(work)
        print(f"corpus: {args.messages} messages, {total_bytes / 1e6:.1f} MB in CRLF form "
              f"({big} of >= 16 KB), seed {args.seed}, size scale {args.size_scale}; "
              f"built in {time.monotonic() - t:.1f} s under {work}", flush=True)
        print(f"machine: {machine_line()}", flush=True)
        results = []
        for conns in conns_list:
            users = SINGLE if conns == 1 else QUAD
            for name in wanted:
                samples = []
                for rep in range(args.repeat):
                    run_dir = tempfile.mkdtemp(prefix="run-", dir=work)
                    os.chmod(run_dir, 0o755)
                    dc = PrivateDovecot(users={u: PASSWORD for u in SINGLE + QUAD},
                                        extra_config="ssl = no\n" if args.plain else "")
                    status = "ok"
                    note = []
                    try:
                        dc.start()
                        server0 = server_cpu(dc)
                        if name == "doveadm":
                            secs, cpu, note = run_doveadm_import(dc, work, conns)
                        elif name == "mbsync":
                            secs, cpu, note = run_mbsync(dc, work, conns, args.plain, run_dir)
                        elif name == "migrate":
                            secs, cpu, note = run_mailmig_migrate(dc, work, args.mailmig, conns, args.plain, run_dir)
                        else:
                            secs, cpu, note = run_mailmig(dc, work, args.mailmig, name, conns, args.plain)
                        server = server_cpu(dc) - server0
                        problems = verify(dc, users, expected, MBSYNC_TUID_BYTES if name == "mbsync" else 0)
                        if problems:
                            status = "WRONG"
                            print(f"  {name} x{conns}: VERIFY FAILED:\n    " + "\n    ".join(problems), flush=True)
                    except (RunFailed, DovecotError, subprocess.TimeoutExpired) as exc:
                        status, secs, cpu, server = "FAILED", float("nan"), float("nan"), float("nan")
                        print(f"  {name} x{conns}: {exc}", flush=True)
                    finally:
                        dc.stop()
                        shutil.rmtree(run_dir, ignore_errors=True)
                    samples.append((secs, cpu, status, server))
                    # The 1-minute load average shows whether something else shared the machine.
                    print(f"  {name:<11} x{conns}  run {rep + 1}: {secs:7.2f} s  client CPU {cpu:6.2f} s  "
                          f"server CPU {server:6.2f} s  load {os.getloadavg()[0]:4.1f}  {status}"
                          + (f"  [{note[0]}]" if note else ""), flush=True)
                ok = [s for s in samples if s[2] == "ok"]
                status = "ok" if len(ok) == len(samples) else samples[-1][2] if not ok else "partly wrong"
                pick = ok or samples
                secs = statistics.median(s[0] for s in pick)
                cpu = statistics.median(s[1] for s in pick)
                server = statistics.median(s[3] for s in pick)
                results.append({"run": name, "connections": conns, "messages": args.messages,
                                "bytes": total_bytes, "seconds": secs, "client_cpu_seconds": cpu, "server_cpu_seconds": server,
                                "status": status, "samples": [s[0] for s in samples]})
        print_table(results, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"corpus": {"messages": args.messages, "bytes": total_bytes, "seed": args.seed,
                                      "size_scale": args.size_scale}, "machine": machine_line(),
                           "tls": "none" if args.plain else "STARTTLS", "results": results}, f, indent=1)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        elif not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


LABEL = {"roundtrip": "mailmig `--append-mode roundtrip`", "pipelined": "mailmig `--append-mode pipelined`",
         "multiappend": "mailmig `--append-mode multiappend`", "doveadm": "`doveadm import` (local, mbox)",
         "mbsync": "mbsync (Maildir -> IMAP)",
         "migrate": "mailmig `migrate` (hash + state + MULTIAPPEND)"}


def print_table(results, args):
    base = {r["connections"]: r for r in results if r["run"] == "doveadm" and r["status"] == "ok"}
    print()
    print("| run | connections | messages | seconds | msgs/s | MB/s | vs doveadm import | client CPU s | "
          "Dovecot CPU s | check |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["seconds"]
        rate = r["messages"] / s if s == s and s > 0 else float("nan")
        mbs = r["bytes"] / 1e6 / s if s == s and s > 0 else float("nan")
        b = base.get(r["connections"])
        ratio = f"{b['seconds'] / s:.2f}" if b and s == s and s > 0 else "-"
        conns = r["connections"] if r["run"] != "doveadm" else f"{r['connections']} (process{'es' if r['connections'] > 1 else ''})"
        print(f"| {LABEL[r['run']]} | {conns} | {r['messages']:,} | {s:.2f} | {rate:,.0f} | {mbs:.1f} | {ratio} | "
              f"{r['client_cpu_seconds']:.1f} | {r['server_cpu_seconds']:.1f} | {r['status']} |")
    print()
    print("msgs/s and MB/s over the wall time of the client process(es); MB = 10^6 bytes of the messages in "
          "CRLF form; 'vs doveadm import' = its time / this time, with the same number of parallel streams "
          "(> 1 is faster than doveadm import).")


if __name__ == "__main__":
    main()
