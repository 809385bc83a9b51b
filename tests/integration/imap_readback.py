"""Reads a mailbox tree back over IMAP (imaplib) and compares it with what the
store generator's manifest says the target must hold: bytes (SHA-256), flags,
keywords and INTERNALDATE, folder by folder."""
import base64
import datetime
import hashlib
import imaplib
import re


def mutf7_encode(text):
    """RFC 3501 modified UTF-7 (for selecting folders in the checks)."""
    out, run = [], []

    def flush():
        if run:
            b = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()
    for ch in text:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(text):
    def repl(m):
        body = m.group(1)
        if body == "":
            return "&"
        b = body.replace(",", "/")
        b += "=" * (-len(b) % 4)
        return base64.b64decode(b).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", repl, text)


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def list_folders(imap):
    """Selectable folder names (UTF-8, '/' separated) on the server."""
    typ, data = imap.list('""', "*")
    assert typ == "OK", data
    names = []
    for line in data:
        if isinstance(line, tuple):
            line = line[0] + b" " + line[1]
        m = re.match(rb'\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.*)$', line)
        assert m, line
        if b"\\Noselect" in m.group("flags") or b"\\NonExistent" in m.group("flags"):
            continue
        name = m.group("name").decode()
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        names.append(mutf7_decode(name))
    return sorted(names)


def fetch_folder(imap, name):
    """[(uid, sha256, size, flags-set, internaldate-epoch)] in UID order."""
    typ, data = imap.select(quote(mutf7_encode(name)), readonly=True)
    assert typ == "OK", (name, data)
    if int(data[0]) == 0:
        return []
    typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, body = item
        uid = int(re.search(rb"UID (\d+)", meta).group(1))
        size = int(re.search(rb"RFC822.SIZE (\d+)", meta).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split())
        flags.discard("\\Recent")
        date = imaplib.Internaldate2tuple(meta)
        m = re.search(rb'INTERNALDATE "([^"]+)"', meta)
        when = datetime.datetime.strptime(m.group(1).decode(), "%d-%b-%Y %H:%M:%S %z").timestamp()
        out.append((uid, hashlib.sha256(body).hexdigest(), size, flags, int(when)))
        assert date is not None
    out.sort()
    return out


LETTERS = {"S": "\\Seen", "A": "\\Answered", "F": "\\Flagged", "D": "\\Deleted", "T": "\\Draft"}


def expected_flags(letters, keywords=()):
    return {LETTERS[c] for c in letters} | set(keywords)


def iso_epoch(text):
    return int(datetime.datetime.fromisoformat(text).timestamp())


def compare_account(testcase, imap, manifest_account, where):
    """Every selectable manifest folder with messages must be on the server with
    exactly those messages in source order (bytes, flags, date)."""
    folders = list_folders(imap)
    for folder in manifest_account["folders"]:
        if not folder["selectable"]:
            continue
        fwhere = f'{where} {folder["name"]}'
        testcase.assertIn(folder["name"], folders, fwhere)
        got = fetch_folder(imap, folder["name"])
        exp = folder.get("list", [])
        testcase.assertEqual(len(exp), len(got), fwhere)
        for i, (e, g) in enumerate(zip(exp, got)):
            _, sha, size, flags, when = g
            testcase.assertEqual(e["sha256"], sha, f"{fwhere} message {i}")
            testcase.assertEqual(e["size"], size, f"{fwhere} message {i}")
            testcase.assertEqual(expected_flags(e["flags"], e.get("keywords", ())), flags, f"{fwhere} message {i}")
            if e.get("date"):
                testcase.assertEqual(iso_epoch(e["date"]), when, f"{fwhere} message {i}")


def login_plain(server, user, password):
    """Logs in with AUTHENTICATE PLAIN, which carries UTF-8 passwords (imaplib's LOGIN is ASCII only)."""
    imap = server.connect()
    imap.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode("utf-8"))
    return imap
