"""Shared by the kill, signal and disk-full tests: the generated Maildir source,
runs killed at seeded points, and read-backs that prove every message is on the
target exactly once.

Kill points are counted in messages arrived on the target: a seeded RNG picks
N counts spread over the run's work; a watcher polls the target's files (the
private Dovecot stores Maildir too) and sends SIGKILL once the count is
reached, after a further seeded delay of 0-250 ms so the kill lands inside a
batch, a write or a state commit rather than between folders."""
import collections
import hashlib
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
import imap_readback as rb  # noqa: E402

LONG = os.environ.get("MAILMIG_RELIABILITY", "") == "long"
FOLDERS = ("INBOX", "Work", "Archive")
# Maildir info letters (T is "trashed", \Deleted: not generated).
LETTER_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}
BASE_DATE = 1_700_000_000


def sizes(rng):
    """Mostly small messages, now and then a larger one (a kill then lands mid-literal)."""
    return rng.choice((600, 900, 1500, 2500, 4000, 4000, 8000, 60000 if rng.random() < 0.03 else 3000))


def message_bytes(rng, user, folder, serial, size):
    header = (f"From: sender{serial % 17}@example.org\r\nTo: {user}\r\n"
              f"Subject: {folder} message {serial}\r\nMessage-ID: <{serial}.{user}@gen.test>\r\n"
              f"Date: Thu, 01 Feb 2024 10:11:12 +0000\r\n\r\n")
    line = f"{user} {folder} {serial} " + "".join(rng.choice("abcdefghij ") for _ in range(60)) + "\r\n"
    body = (line * (size // len(line) + 1))[:max(size - len(header), 10)]
    if not body.endswith("\r\n"):  # no bare CR (Dovecot drops one before CRLF: not our subject here)
        body = body.rstrip("\r") + "\r\n"
    return (header + body).encode()


class MaildirSource:
    """ROOT/<domain>/<user>/Maildir with INBOX, .Work, .Archive; CRLF messages
    (what the target stores, so the SHA-256 of the file is the one read back)."""

    def __init__(self, root, domain, accounts, messages, seed):
        self.root, self.domain, self.rng = root, domain, random.Random(seed)
        self.users = [f"user{i:02d}@{domain}" for i in range(accounts)]
        self.serial = 0
        per = [messages // accounts + (1 if i < messages % accounts else 0) for i in range(accounts)]
        for user, count in zip(self.users, per):
            for folder in FOLDERS:
                for sub in ("cur", "new", "tmp"):
                    os.makedirs(os.path.join(self.folder_dir(user, folder), sub), exist_ok=True)
            for _ in range(count):
                self.add(user, self.rng.choice(FOLDERS + ("INBOX",)))
            # Two identical messages in one folder: both must arrive, once each.
            path = self.add(user, "INBOX")
            with open(path, "rb") as f:
                twin = f.read()
            self.add(user, "INBOX", data=twin)

    def args(self):
        return ["--source", "maildir:" + self.root, "--user-path", self.root + "/%d/%n/Maildir"]

    def folder_dir(self, user, folder):
        base = os.path.join(self.root, self.domain, user.split("@")[0], "Maildir")
        return base if folder == "INBOX" else os.path.join(base, "." + folder)

    def add(self, user, folder, data=None):
        self.serial += 1
        data = data or message_bytes(self.rng, user, folder, self.serial, sizes(self.rng))
        when = BASE_DATE + self.serial * 37
        if self.rng.random() < 0.15:
            path = os.path.join(self.folder_dir(user, folder), "new", f"{when}.M{self.serial}P1.gen,S={len(data)}")
        else:
            letters = "".join(sorted(c for c in "DFRS" if self.rng.random() < 0.3))
            path = os.path.join(self.folder_dir(user, folder), "cur",
                                f"{when}.M{self.serial}P1.gen,S={len(data)}:2,{letters}")
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (when, when))
        return path

    def change(self, new_messages, flag_changes):
        """Stage-2 changes on the source: new messages and flags changed (renames in cur/)."""
        for _ in range(new_messages):
            self.add(self.rng.choice(self.users), self.rng.choice(FOLDERS))
        files = sorted(os.path.join(d, n) for d, _, names in os.walk(self.root) if d.endswith("/cur")
                       for n in names)
        for path in self.rng.sample(files, min(flag_changes, len(files))):
            base, letters = path.rsplit(":2,", 1)
            toggled = "".join(sorted(set(letters) ^ {self.rng.choice("FRS")}))
            os.rename(path, base + ":2," + toggled)

    def expected(self):
        """{user: {folder: Counter((sha256, flags, date))}}."""
        out = {}
        for user in self.users:
            out[user] = {}
            for folder in FOLDERS:
                counter = collections.Counter()
                for sub in ("cur", "new"):
                    directory = os.path.join(self.folder_dir(user, folder), sub)
                    for name in os.listdir(directory):
                        path = os.path.join(directory, name)
                        with open(path, "rb") as f:
                            sha = hashlib.sha256(f.read()).hexdigest()
                        letters = name.split(":2,", 1)[1] if ":2," in name else ""
                        flags = frozenset(LETTER_FLAGS[c] for c in letters if c in LETTER_FLAGS)
                        counter[(sha, flags, int(os.stat(path).st_mtime))] += 1
                out[user][folder] = counter
        return out

    def total(self):
        return sum(sum(c.values()) for folders in self.expected().values() for c in folders.values())


def count_maildir_messages(root):
    """Message files in every cur/ and new/ below root (the target's progress)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.endswith("/cur") or dirpath.endswith("/new"):
            count += len(filenames)
    return count


def pick_points(rng, start, end, n):
    """n sorted counts, distinct where possible, in [start, end)."""
    span = max(end - start, 1)
    if span >= n:
        return sorted(rng.sample(range(start, end), n))
    return sorted(start + rng.randrange(span) for _ in range(n))


class KillLog:
    """What each run did, printed with the seed when a test fails."""

    def __init__(self, seed, label):
        self.seed, self.label, self.runs = seed, label, []

    def note(self, **fields):
        self.runs.append(fields)

    def killed(self):
        return sum(1 for r in self.runs if r.get("killed"))

    def __str__(self):
        lines = [f"{self.label}: seed {self.seed} (rerun with MAILMIG_RELIABILITY_SEED={self.seed})"]
        for i, r in enumerate(self.runs, 1):
            lines.append(f"  run {i}: " + ", ".join(f"{k}={v}" for k, v in r.items()))
        return "\n".join(lines)


def seed_for(default):
    return int(os.environ.get("MAILMIG_RELIABILITY_SEED", default))


def start(args, cwd, out_path):
    out = open(out_path, "w")
    try:
        return subprocess.Popen([harness.binary("mailmig"), *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        out.close()


def run_killed_at(args, cwd, out_path, progress, threshold, delay, timeout=600):
    """Runs mailmig ARGS; SIGKILL once progress() >= threshold, then `delay` s
    later. Returns (exit code or None when killed, seconds, progress at the kill)."""
    started = time.monotonic()
    proc = start(args, cwd, out_path)
    try:
        while proc.poll() is None:
            if progress() >= threshold:
                time.sleep(delay)
                if proc.poll() is None:
                    at = progress()
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return None, time.monotonic() - started, at
                break
            if time.monotonic() - started > timeout:
                raise AssertionError(f"mailmig {' '.join(args)} still running after {timeout} s")
            time.sleep(0.02)
        proc.wait(timeout=timeout)
        return proc.returncode, time.monotonic() - started, progress()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def tail(path, limit=4000):
    with open(path, errors="replace") as f:
        return f.read()[-limit:]


def imap_contents(server, user):
    """{folder: Counter((sha256, flags, date))} read back over IMAP (master login)."""
    imap = server.login_master(user)
    try:
        out = {}
        for name in rb.list_folders(imap):
            out[name] = collections.Counter(
                (sha, frozenset(flags), when) for _, sha, _, flags, when in rb.fetch_folder(imap, name))
        return out
    finally:
        imap.logout()


def assert_same_mail(testcase, expected, server, log):
    """Every source message exactly once on the target (bytes, flags, date),
    nothing else; the doveadm counts agree."""
    for user, folders in expected.items():
        got = imap_contents(server, user)
        for folder, counter in folders.items():
            have = got.get(folder, collections.Counter())
            missing = counter - have
            extra = have - counter
            testcase.assertFalse(missing or extra,
                                 f"{user} {folder}: {sum(missing.values())} missing, {sum(extra.values())} "
                                 f"extra (duplicates or wrong flags/dates)\n{log}")
        testcase.assertEqual(set(folders), set(got), f"{user}: folders\n{log}")
        # An independent count: Dovecot's own index, per folder.
        status = server.doveadm("-f", "tab", "mailbox", "status", "-u", user, "messages", "*").stdout
        counts = {}
        for line in status.splitlines()[1:]:
            if line.strip():
                counts[len(counts)] = int(line.split("\t")[-1])
        testcase.assertEqual(sum(sum(c.values()) for c in folders.values()), sum(counts.values()),
                             f"{user}: doveadm mailbox status\n{status}\n{log}")
