"""Editing a CommuniGate Pro store on disk the way the server writes it (see
tests/tools/README.md): messages appended to a .mbox or .mdir, flags changed
in the storage lines or .mdir file names, messages deleted. Used by the
stage-2 tests and the two-stage sample run."""
import os
import re

STORAGE_LINE = re.compile(rb"^(X-UID|Status|X-Status|X-Keywords):", re.I)


def read_mbox(path):
    """Records of a .mbox: {"sep": separator line, "storage": [lines], "content": message}."""
    with open(path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n\n"), path
    # A record is separator, storage lines, content (ending in a newline) and one
    # empty line; a "From " at a line start inside content is always quoted.
    chunks = data[:-1].split(b"\n\nFrom ")
    records = []
    for i, chunk in enumerate(chunks):
        rec = (b"From " if i else b"") + chunk + (b"\n" if i < len(chunks) - 1 else b"")
        pos = rec.index(b"\n") + 1
        storage = []
        while True:
            end = rec.index(b"\n", pos) + 1
            if not STORAGE_LINE.match(rec[pos:end]):
                break
            storage.append(rec[pos:end])
            pos = end
        records.append({"sep": rec[:rec.index(b"\n") + 1], "storage": storage, "content": rec[pos:]})
    return records


def write_mbox(path, records):
    with open(path, "wb") as f:
        for r in records:
            f.write(r["sep"] + b"".join(r["storage"]) + r["content"] + b"\n")


def storage_lines(uid, letters, keywords=()):
    lines = [f"X-UID: {uid}\n".encode()] if uid is not None else []
    lines.append(b"Status: RO\n" if "S" in letters else b"Status: O\n")
    other = "".join(c for c in "AFDT" if c in letters)
    if other:
        lines.append(f"X-Status: {other}\n".encode())
    if keywords:
        lines.append(("X-Keywords: " + " ".join(keywords) + "\n").encode())
    return lines


def mbox_uid(record):
    for line in record["storage"]:
        if line.lower().startswith(b"x-uid:"):
            return int(line.split(b":")[1])
    return None


def mbox_letters(record):
    letters = ""
    for line in record["storage"]:
        head, _, value = line.decode().partition(":")
        if head.lower() == "status" and "R" in value:
            letters += "S"
        elif head.lower() == "x-status":
            letters += "".join(c for c in "AFDT" if c in value)
    return letters


def set_mbox_flags(path, index, letters, keywords=()):
    records = read_mbox(path)
    records[index]["storage"] = storage_lines(mbox_uid(records[index]), letters, keywords)
    write_mbox(path, records)


def delete_mbox_message(path, index):
    records = read_mbox(path)
    del records[index]
    write_mbox(path, records)


def new_message(tag):
    return (f"From: Stage Two <s2@example.net>\nTo: <john@mail.example.com>\nSubject: stage 2 {tag}\n"
            f"Message-ID: <{tag}@stage2.example.net>\nDate: Mon, 01 Jul 2024 10:00:00 +0000\n\n"
            f"New mail {tag} that arrived after stage 1.\n").encode()


def append_mbox_message(path, tag, letters=""):
    records = read_mbox(path) if os.path.exists(path) else []
    uid = max([mbox_uid(r) or 0 for r in records] + [0]) + 1
    records.append({"sep": b"From s2@example.net Mon Jul  1 10:00:00 2024\n", "storage": storage_lines(uid, letters),
                    "content": new_message(tag)})
    write_mbox(path, records)


def mdir_files(mdir):
    return sorted(os.listdir(mdir))


def mdir_letters(name):
    return name[:-len(".msg")].rsplit("-", 1)[1]


def set_mdir_flags(mdir, name, letters):
    stem = name[:-len(".msg")].rsplit("-", 1)[0]
    os.rename(os.path.join(mdir, name), os.path.join(mdir, f"{stem}-{letters}.msg"))


def add_mdir_message(mdir, tag):
    uid = max(int(n[1:9]) for n in mdir_files(mdir)) + 1
    path = os.path.join(mdir, f"i{uid:08d}-1719828000-.msg")
    with open(path, "wb") as f:
        f.write(new_message(tag))
    os.utime(path, (1719828000, 1719828000))
