"""Deterministic (seeded) corpora for the size and count limits of
test_sizes.py, written into the test's temp dir (nothing big is checked in).

    huge_message(path, size, seed)    one message of `size` bytes (LF line ends, base64-like
                                      lines), written in 1 MiB steps: the generator's own
                                      memory stays small whatever the size
    cgp_store(root, message, domain)  a CommuniGate store: account big@DOMAIN with the
                                      message in INBOX.mbox and in Huge.mdir
    mbox_tree(root, message, domain)  mbox: big@DOMAIN's spool (INBOX) holds the message
    maildir_tree(root, message, dom.) Maildir: big@DOMAIN's INBOX holds the message
    counts_maildir(root, sizes, seed) Maildir: tiny@ (N tiny messages), folders@ (N folders),
                                      deep@ (100 nested levels), header@ (a 10 MB header line)
    long_name_mbox(root, seed)        mbox: longname@ with a folder whose name is 64 KB
                                      (262 nested directories of 250 bytes: longer than
                                      PATH_MAX, made with dir_fd), and two normal folders

Each returns {(account, folder): message count} of what it wrote (folder names
'/'-separated, as mailmig reports them).  Run as a script to write them by
hand: python3 gen_limits.py --out DIR [--huge-mb N].
"""
import argparse
import os
import random
import shutil

DOMAIN = "huge.test"
COUNTS_DOMAIN = "limits.test"
DATE = 1_700_000_000
CTIME = "Tue Nov 14 22:13:20 2023"
HEADER_LINE = 10 * 1024 * 1024
LONG_NAME_COMPONENT = 250
LONG_NAME_LEVELS = 262          # 262 * 251 - 1 bytes: a 64 KB folder name
DEEP_LEVELS = 100
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def small_message(tag, body=""):
    return (f"From: Limits <limits@example.net>\nTo: <{tag.split()[0]}@limits.test>\nSubject: {tag}\n"
            f"Message-ID: <{tag.replace(' ', '.').replace('/', '.')}@limits.test>\n"
            f"Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n{body or 'Body of ' + tag}\n").encode()


def huge_message(path, size, seed):
    """Writes one message of exactly `size` bytes; returns the path."""
    rng = random.Random(seed)
    head = (b"From: Huge <huge@example.net>\nTo: <big@huge.test>\nSubject: a very large message\n"
            b"Message-ID: <huge@limits.test>\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMIME-Version: 1.0\n"
            b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
    lines = [bytes(rng.choice(ALPHABET) for _ in range(76)) + b"\n" for _ in range(64)]
    block = b"".join(lines[(i * 7) % 64] for i in range(13797))  # ~1 MiB of varied lines
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        step = 0
        while left > 0:
            # Rotate by whole lines so no two MiB of the message are alike.
            shift = (step % 64) * 77
            chunk = (block[shift:] + block[:shift])[:left]
            if len(chunk) == left and not chunk.endswith(b"\n"):
                chunk = chunk[:-1] + b"\n"
            f.write(chunk)
            left -= len(chunk)
            step += 1
    return path


def _copy_into(out, path):
    with open(path, "rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def cgp_store(root, message, domain=DOMAIN):
    """big@DOMAIN (the main domain): INBOX.mbox and Huge.mdir each hold `message`."""
    os.makedirs(os.path.join(root, "Settings"))
    with open(os.path.join(root, "Settings", "Main.settings"), "wb") as f:
        f.write(f"{{\n DomainName = {domain};\n}}\n".encode())
    account = os.path.join(root, "Accounts", "big.macnt")
    os.makedirs(os.path.join(account, "Huge.mdir"))
    with open(os.path.join(account, "account.settings"), "wb") as f:
        f.write(b'{\n RealName = "Big Messages";\n}\n')
    with open(os.path.join(account, "INBOX.mbox"), "wb") as out:
        out.write(f"From huge@example.net {CTIME}\nX-UID: 1\nStatus: RO\n".encode())
        _copy_into(out, message)
        out.write(b"\n")
    _link_or_copy(message, os.path.join(account, "Huge.mdir", f"i00000001-{DATE}-S.msg"))
    return {("big@" + domain, "INBOX"): 1, ("big@" + domain, "Huge"): 1}


def mbox_tree(root, message, domain=DOMAIN):
    os.makedirs(os.path.join(root, domain, "big", "mail"))
    os.makedirs(os.path.join(root, "spool"))
    with open(os.path.join(root, "spool", "big"), "wb") as out:
        out.write(f"From huge@example.net {CTIME}\nStatus: RO\n".encode())
        _copy_into(out, message)
        out.write(b"\n")
    return {("big@" + domain, "INBOX"): 1}


def maildir_tree(root, message, domain=DOMAIN):
    box = os.path.join(root, domain, "big", "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(box, d))
    path = os.path.join(box, "cur", f"{DATE}.M1P1.limits:2,S")
    _link_or_copy(message, path)
    os.utime(path, (DATE, DATE))
    return {("big@" + domain, "INBOX"): 1}


def _maildir_folder(box, name):
    path = os.path.join(box, "." + name.replace("/", ".") if name != "INBOX" else box)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return os.path.join(path, "cur")


def _put(cur, i, data, letters="S"):
    path = os.path.join(cur, f"{DATE + i}.M{i}P1.limits:2,{letters}")
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (DATE + i, DATE + i))


def counts_maildir(root, tiny, folders, seed):
    rng = random.Random(seed)
    expected = {}
    base = os.path.join(root, COUNTS_DOMAIN)

    box = os.path.join(base, "tiny", "Maildir")
    cur = _maildir_folder(box, "INBOX")
    for i in range(tiny):
        _put(cur, i, small_message(f"tiny {i}", f"{rng.randrange(10 ** 6)}"), "S" if i % 3 else "")
    expected[("tiny@" + COUNTS_DOMAIN, "INBOX")] = tiny

    box = os.path.join(base, "folders", "Maildir")
    _maildir_folder(box, "INBOX")
    expected[("folders@" + COUNTS_DOMAIN, "INBOX")] = 0
    subscriptions = []
    for n in range(folders):
        name = f"F{n:05d}"
        _put(_maildir_folder(box, name), n, small_message(f"folders {name}"))
        expected[("folders@" + COUNTS_DOMAIN, name)] = 1
        subscriptions.append(name)
    with open(os.path.join(box, "subscriptions"), "w") as f:
        f.write("".join(s + "\n" for s in subscriptions))

    box = os.path.join(base, "deep", "Maildir")
    _maildir_folder(box, "INBOX")
    expected[("deep@" + COUNTS_DOMAIN, "INBOX")] = 0
    for level in range(1, DEEP_LEVELS + 1):
        name = "/".join(["n"] * level)
        _put(_maildir_folder(box, name), level, small_message(f"deep level {level}"))
        expected[("deep@" + COUNTS_DOMAIN, name)] = 1

    box = os.path.join(base, "header", "Maildir")
    cur = _maildir_folder(box, "INBOX")
    subject = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(4096))
    long_subject = (subject * (HEADER_LINE // len(subject) + 1))[:HEADER_LINE]
    _put(cur, 1, small_message(f"header long").replace(b"Subject: header long",
                                                        b"Subject: " + long_subject.encode()))
    _put(cur, 2, small_message("header normal"))
    expected[("header@" + COUNTS_DOMAIN, "INBOX")] = 2
    return expected


def long_name_parts():
    return [f"{i:03d}" + "L" * (LONG_NAME_COMPONENT - 3) for i in range(LONG_NAME_LEVELS)]


def long_name_mbox(root):
    """longname@limits.test: spool (1), Normal (2), Zeta (1), and the 64 KB folder (1)."""
    mail = os.path.join(root, COUNTS_DOMAIN, "longname", "mail")
    os.makedirs(mail)
    os.makedirs(os.path.join(root, "spool"), exist_ok=True)

    def mbox(tags):
        return b"".join(f"From limits@example.net {CTIME}\nStatus: RO\n".encode() + small_message(t) + b"\n"
                        for t in tags)
    with open(os.path.join(root, "spool", "longname"), "wb") as f:
        f.write(mbox(["longname inbox"]))
    for name, n in (("Normal", 2), ("Zeta", 1)):
        with open(os.path.join(mail, name), "wb") as f:
            f.write(mbox([f"longname {name} {i}" for i in range(n)]))
    parts = long_name_parts()
    fd = os.open(mail, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            os.mkdir(part, dir_fd=fd)
            nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        wfd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        with os.fdopen(wfd, "wb") as f:
            f.write(mbox(["longname deep"]))
    finally:
        os.close(fd)
    account = "longname@" + COUNTS_DOMAIN
    return {(account, "INBOX"): 1, (account, "Normal"): 2, (account, "Zeta"): 1, (account, "/".join(parts)): 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--huge-mb", type=int, default=300)
    parser.add_argument("--tiny", type=int, default=20_000)
    parser.add_argument("--folders", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    os.makedirs(args.out)
    message = huge_message(os.path.join(args.out, "huge.eml"), args.huge_mb << 20, args.seed)
    cgp_store(os.path.join(args.out, "cgp"), message)
    mbox_tree(os.path.join(args.out, "mbox"), message)
    maildir_tree(os.path.join(args.out, "maildir"), message)
    counts_maildir(os.path.join(args.out, "counts"), args.tiny, args.folders, args.seed)
    long_name_mbox(os.path.join(args.out, "longname"))


if __name__ == "__main__":
    main()
