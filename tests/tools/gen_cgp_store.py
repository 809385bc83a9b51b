#!/usr/bin/env python3
"""Deterministic CommuniGate Pro store generator (Python 3 standard library only).

Writes a CGP base directory in the layout and formats described in
docs/cgp-store.md (the ones the C++ reader implements), plus a JSON manifest
(outside the store) with every number a reader must find: domains, accounts,
folders, per-message SHA-256/size/flags/date/UID/offset, totals, and the
deliberately broken items.

  gen_cgp_store.py --out DIR [--seed N] [--profile sample|test|bench]
                   [--messages N] [--manifest FILE] [--main-domain NAME] [--jobs N]

Same arguments -> byte-identical store and manifest (random.Random(seed), fixed
mtimes, no clock).  See tests/tools/README.md for the layout and manifest format.

Every on-disk convention lives in the "Store conventions" section below so it
can be corrected in one place once a real store has been inspected.
"""
import argparse
import base64
import calendar
import hashlib
import json
import os
import random
import re
import sys
import time

GENERATOR = "gen_cgp_store.py"
FIXED_MTIME = 1706780000          # 2024-02-01T09:33:20Z: every file and directory
DEFAULT_MAIN_DOMAIN = "mail.example.com"

# ---------------------------------------------------------------------------
# Store conventions (docs/cgp-store.md, sections 3-6)
# ---------------------------------------------------------------------------

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FLAG_ORDER = "SAFDT"              # manifest and .mdir file names
XSTATUS_ORDER = "AFDT"            # X-Status: letters on disk


def ctime_utc(epoch):
    """'Thu Feb  1 10:11:12 2024' (asctime form, UTC)."""
    t = time.gmtime(epoch)
    return "%s %s %2d %02d:%02d:%02d %d" % (DAYS[t.tm_wday], MONTHS[t.tm_mon - 1], t.tm_mday,
                                            t.tm_hour, t.tm_min, t.tm_sec, t.tm_year)


def zone_text(minutes, colon=False):
    sign = "-" if minutes < 0 else "+"
    m = abs(minutes)
    return "%s%02d%s%02d" % (sign, m // 60, ":" if colon else "", m % 60)


def rfc822_date(epoch, zone):
    """'Thu, 01 Feb 2024 10:11:12 +0100': the instant `epoch` written in `zone` minutes east of UTC."""
    t = time.gmtime(epoch + zone * 60)
    return "%s, %02d %s %d %02d:%02d:%02d %s" % (DAYS[t.tm_wday], t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year,
                                                 t.tm_hour, t.tm_min, t.tm_sec, zone_text(zone))


def iso_date(epoch, zone):
    """Manifest form: '2024-02-01T10:11:12+01:00'."""
    t = time.gmtime(epoch + zone * 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                                                zone_text(zone, colon=True))


def separator_line(sender, epoch, zone, form):
    """The .mbox separator. form 'ctime': 'From sender <ctime UTC>' (zone must be 0);
    form 'rfc': 'From <sender> <RFC 822 date with zone>'."""
    if form == "ctime":
        assert zone == 0
        return ("From %s %s\n" % (sender, ctime_utc(epoch))).encode("ascii")
    return ("From <%s> %s\n" % (sender, rfc822_date(epoch, zone))).encode("ascii")


def storage_lines(uid, flags):
    """Lines after the separator that are not part of the message: X-UID, Status, X-Status."""
    out = b""
    if uid is not None:
        out += b"X-UID: %d\n" % uid
    out += b"Status: RO\n" if "S" in flags else b"Status: O\n"
    xs = "".join(c for c in XSTATUS_ORDER if c in flags)
    if xs:
        out += b"X-Status: " + xs.encode("ascii") + b"\n"
    return out


_FROM_LINE = re.compile(rb"^(>*From )", re.M)


def mboxrd_quote(content):
    """A line matching ^>*From  carries one extra '>' on disk."""
    return _FROM_LINE.sub(rb">\1", content)


MESSAGE_GAP = b"\n"               # the one empty line after every stored message (not part of it)


def mdir_file_name(uid, epoch, flags):
    return "i%08d-%d-%s.msg" % (uid, epoch, flags)


_MDIR_NAME = re.compile(r"i(\d+)-(\d+)-([SAFDTsafdt]*)\.msg")


def mdir_order_key(name):
    """Store order of a .mdir: by UID; names without one (not i<UID>-<epoch>-<flags>.msg) last, by name."""
    m = _MDIR_NAME.fullmatch(name)
    return (int(m.group(1)) if m else 1 << 32, name.encode("utf-8"))


_BARE_LF = re.compile(rb"(?<!\r)\n")


def imap_form(content):
    """What a target receives: every bare LF -> CRLF, existing CRLF and lone CR untouched."""
    return _BARE_LF.sub(b"\r\n", content)


def crlf_size(content):
    return len(content) + content.count(b"\n") - content.count(b"\r\n")


def mutf7_encode(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3) for one hierarchy level of a mailbox name."""
    out, pending = [], []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


_ATOM = re.compile(r"[A-Za-z0-9]+")


def cgp_string(value, escape_codes=()):
    """A CGP string: an atom when possible, else a quoted string. Characters in
    `escape_codes` are written as \\nnn (3 decimal digits) to exercise that escape."""
    if _ATOM.fullmatch(value) and not escape_codes:
        return value
    out = ['"']
    for ch in value:
        if ch in escape_codes or ord(ch) < 0x20:
            out.append("\\%03d" % ord(ch))
        elif ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)              # non-ASCII: raw UTF-8 inside the quotes
    out.append('"')
    return "".join(out)


def settings_file(pairs, crlf=False):
    """A dictionary written one ' Key = value;' pair per line between braces."""
    eol = "\r\n" if crlf else "\n"
    lines = ["{"] + [" %s = %s;" % (k, v) for k, v in pairs] + ["}"]
    return (eol.join(lines) + eol).encode("utf-8")


def flag_string(letters):
    return "".join(c for c in FLAG_ORDER if c in letters)


ALL_FLAG_SETS = [flag_string([c for i, c in enumerate(FLAG_ORDER) if mask >> i & 1]) for mask in range(32)]


def folder_order_key(name):
    """INBOX and its children first, then parents before children by UTF-8 bytes."""
    return (0 if name == "INBOX" or name.startswith("INBOX/") else 1, name.encode("utf-8"))


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

class Msg:
    __slots__ = ("content", "flags", "uid", "epoch", "zone", "form", "sender")

    def __init__(self, content, flags, uid, epoch, zone, form, sender):
        self.content, self.flags, self.uid = content, flags, uid
        self.epoch, self.zone, self.form, self.sender = epoch, zone, form, sender


class Folder:
    def __init__(self, name, fmt, msgs=(), disk=None, subscribed=True, garbage=b"", truncated=False, extras=()):
        self.name = name                  # UTF-8, '/'-separated
        self.fmt = fmt                    # mbox | mdir | dir
        self.msgs = list(msgs)
        self.disk = disk                  # relative to the account dir; None = derived from name
        self.bad_name = False             # disk name is not valid modified UTF-7 (broken item)
        self.subscribed = subscribed
        self.garbage = garbage            # bytes before the first separator (broken item)
        self.truncated = truncated        # last message without trailing newline (broken item)
        self.extras = list(extras)        # .mdir: (file name, bytes, error kind or None, counted)


class Account:
    def __init__(self, domain, name, subdir="", legacy=False):
        self.domain, self.name, self.subdir, self.legacy = domain, name, subdir, legacy
        self.password, self.scheme, self.real_name = "none", "", ""
        self.settings = []                # (key, encoded value)
        self.settings_crlf = False
        self.settings_raw = None          # bytes: written verbatim (broken item)
        self.info_crlf = False
        self.folders = []
        self.symlinks = []                # (file name, target, error kind)


class Domain:
    def __init__(self, name, main):
        self.name, self.main = name, main
        self.accounts = []


# ---------------------------------------------------------------------------
# Message content (sample/test profiles)
# ---------------------------------------------------------------------------

WORDS = ("the quarterly report is attached please review before our meeting on thursday we should "
         "discuss budget travel plans server migration mailbox quota backup schedule project timeline "
         "invoice customer feedback release notes holiday rota network outage incident summary agenda "
         "minutes action items deadline proposal contract draft final version thanks regards").split()
FIRST = ("Anna Ben Chloe David Emma Felix Greta Hugo Ines Jonas Klara Lukas Mia Noah Olga Paul "
         "Rosa Sven Tina Uwe Vera Walter Yara Zoe").split()
LAST = "Meyer Schmidt Novak Rossi Dubois Larsen Kowalski Silva Brown Tanaka Ivanova Okafor".split()
PEER_DOMAINS = ("example.net", "example.org", "mail.example.com", "lists.example.net", "partner.example")
ZONES = (60, 120, -300, 330, 0, -210, 540, 345, -600, 600)
SUBJECTS = ("Quarterly report", "Re: Budget 2024", "Meeting notes", "Fwd: travel plans", "Server migration",
            "Invoice 4711", "Re: Re: holiday rota", "Release notes 3.2", "Incident summary", "Agenda")


class MessageFactory:
    def __init__(self, rng):
        self.rng = rng
        self.counter = 0

    def person(self):
        f, l = self.rng.choice(FIRST), self.rng.choice(LAST)
        return "%s %s" % (f, l), "%s.%s@%s" % (f.lower(), l.lower(), self.rng.choice(PEER_DOMAINS))

    def paragraph(self, words):
        line, lines = [], []
        for _ in range(words):
            line.append(self.rng.choice(WORDS))
            if sum(len(w) + 1 for w in line) > 66:
                lines.append(" ".join(line))
                line = []
        if line:
            lines.append(" ".join(line))
        lines[0] = lines[0][:1].upper() + lines[0][1:]
        return [l.encode("ascii") for l in lines]

    def make(self, rcpt, epoch, zone, *, eol="lf", from_lines=False, utf8=False, latin1=False, long_line=0,
             multipart=False, lone_cr=False, blank_end=False, truncated=False, subject=None, mdir_raw_from=False):
        """Returns the message bytes (what IMAP receives before CRLF conversion)."""
        rng = self.rng
        self.counter += 1
        name, addr = self.person()
        subj = subject if subject is not None else rng.choice(SUBJECTS).encode("ascii")
        hdr_date = epoch - rng.randrange(5, 900)
        charset = b"us-ascii"
        if utf8:
            subj = "Grüße aus München – 日本語のテスト – ".encode("utf-8") + subj
            name = "Jürgen Größ"
            charset = b"utf-8"
        if latin1:
            subj = "R\u00e9sum\u00e9 f\u00fcr M\u00fcller: ".encode("latin-1") + subj
            charset = b"iso-8859-1"
        disp_name = name.encode("utf-8") if utf8 else name.encode("latin-1")
        headers = [
            b"Return-Path: <" + addr.encode() + b">",
            b"Received: from mx%d.%s (mx.%s [192.0.2.%d])" % (rng.randrange(1, 9), addr.split("@")[1].encode(),
                                                              addr.split("@")[1].encode(), rng.randrange(1, 254)),
            b"\tby mail.example.com (CommuniGate Pro SMTP 6.3.4)",
            b"\twith ESMTPS id %d for <%s>; %s" % (1000000 + self.counter, rcpt.encode(),
                                                   rfc822_date(epoch, zone).encode()),
            b'From: "' + disp_name + b'" <' + addr.encode() + b">",
            b"To: <" + rcpt.encode() + b">",
            b"Subject: " + subj,
            b"Date: " + rfc822_date(hdr_date, zone).encode(),
            b"Message-ID: <%08x.%d@%s>" % (rng.getrandbits(32), self.counter, addr.split("@")[1].encode()),
            b"MIME-Version: 1.0",
        ]
        body = []
        for _ in range(rng.randrange(1, 4)):
            body += self.paragraph(rng.randrange(12, 60))
            body.append(b"")
        if from_lines:
            body += [b"From the desk of the administrator: this line starts with From.",
                     b">From a quoted reply that already starts with >From.",
                     b">>From two levels deep.",
                     b"From: a header-like body line; not 'From ', so not quoted.",
                     b"Fromage is not a From line."]
        if mdir_raw_from:
            body += [b"From the team (raw in .mdir: no quoting there)", b">From stays as it is"]
        if utf8:
            body += ["Umlaute: äöü ÄÖÜ ß, Cyrillic: Привет, Japanese: こんにちは".encode("utf-8")]
        if latin1:
            body += ["Gr\u00fc\u00dfe, Fran\u00e7ois".encode("latin-1")]
        if lone_cr:
            body += [b"Total:\r 42 (a lone CR stays a lone CR)"]
        if long_line:
            pattern = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
            body += [(pattern * (long_line // len(pattern) + 1))[:long_line]]
        body.append(b"-- ")
        body.append(name.encode("utf-8") if utf8 else name.encode("latin-1"))
        if blank_end:
            body.append(b"")
        if multipart:
            boundary = b"=_mm_%012x" % rng.getrandbits(48)
            attachment = bytes(rng.getrandbits(8) for _ in range(rng.randrange(2000, 9000)))
            b64 = base64.encodebytes(attachment).rstrip(b"\n").split(b"\n")
            headers.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"')
            body = ([b"This is a multi-part message in MIME format.", b"", b"--" + boundary,
                     b"Content-Type: text/plain; charset=" + charset, b"Content-Transfer-Encoding: 8bit", b""]
                    + body + [b"--" + boundary,
                              b'Content-Type: application/pdf; name="report-%d.pdf"' % self.counter,
                              b'Content-Disposition: attachment; filename="report-%d.pdf"' % self.counter,
                              b"Content-Transfer-Encoding: base64", b""] + b64 + [b"--" + boundary + b"--"])
        else:
            headers.append(b"Content-Type: text/plain; charset=" + charset)
            headers.append(b"Content-Transfer-Encoding: " + (b"8bit" if (utf8 or latin1) else b"7bit"))
        lines = headers + [b""] + body
        if truncated:
            lines.append(b"This last line was cut off in the midd")
        out = bytearray()
        for i, line in enumerate(lines):
            out += line
            if truncated and i == len(lines) - 1:
                break
            if eol == "crlf" or (eol == "mixed" and rng.random() < 0.5):
                out += b"\r\n"
            else:
                out += b"\n"
        return bytes(out), addr


# ---------------------------------------------------------------------------
# Profiles sample / test: a declarative store
# ---------------------------------------------------------------------------

class Builder:
    def __init__(self, seed, main_domain):
        self.rng = random.Random(seed)
        self.factory = MessageFactory(self.rng)
        self.main_domain = main_domain
        self.domains = []

    def domain(self, name, main=False):
        d = Domain(name, main)
        self.domains.append(d)
        return d

    def account(self, domain, name, subdir="", legacy=False):
        a = Account(domain, name, subdir, legacy)
        domain.accounts.append(a)
        return a

    def messages(self, account, n, *, year=None, eols=("lf",) * 6 + ("crlf", "mixed"), flag_sets=None,
                 features=None, no_uid=(), uid_gaps=True, mdir=False, start_uid=1):
        """n messages in date order with UIDs; features: {index: {feature: value}}."""
        rng = self.rng
        lo = _epoch(year or 2019, 1, 1)
        hi = _epoch((year or 2024) + 1, 1, 1) if year else _epoch(2025, 1, 1)
        epochs = sorted(rng.randrange(lo, hi) for _ in range(n))
        flags = list(flag_sets) if flag_sets else []
        while len(flags) < n:
            flags.append(rng.choice(("S", "S", "S", "SA", "", "SF", "", "S")))
        uid = start_uid
        out = []
        rcpt = "%s@%s" % (account.name, account.domain.name if not account.domain.main else self.main_domain)
        for i in range(n):
            feat = dict((features or {}).get(i, {}))
            eol = feat.pop("eol", rng.choice(eols))
            if mdir:
                zone, form = 0, "mdir"
            else:
                form = feat.pop("form", rng.choice(("ctime", "rfc")))
                zone = 0 if form == "ctime" else feat.pop("zone", rng.choice(ZONES))
            sender_override = feat.pop("sender", None)
            content, addr = self.factory.make(rcpt, epochs[i], zone, eol=eol, **feat)
            m_uid = None if i in no_uid else uid
            out.append(Msg(content, flags[i], m_uid, epochs[i], zone, form,
                           sender_override if sender_override is not None else addr))
            uid += rng.choice((1, 1, 1, 2, 3)) if uid_gaps else 1
        return out

    def shuffled_all_flags(self):
        sets = list(ALL_FLAG_SETS)
        self.rng.shuffle(sets)
        return sets


def _epoch(y, m, d):
    return calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0))


def u_crypt(rng):
    alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    salt = "".join(rng.choice(alphabet) for _ in range(8))
    digest = "".join(rng.choice(alphabet) for _ in range(22))
    return "\x01U-crpt$1$%s$%s" % (salt, digest)


def a_crypt(rng):
    return "\x01A-crpt$%s" % "".join(rng.choice("0123456789abcdef") for _ in range(32))


def set_password(account, kind, value=None, escape_codes=()):
    if kind == "none":
        account.password, account.scheme = "none", ""
        return
    account.settings.append(("Password", cgp_string(value, escape_codes)))
    if kind == "encrypted":
        account.password = "encrypted"
        account.scheme = re.match(r"\x01([A-Za-z0-9-]+)", value).group(1)
    else:
        account.password, account.scheme = "plain", ""


def set_real_name(account, name, escape_codes=()):
    account.settings.append(("RealName", cgp_string(name, escape_codes)))
    account.real_name = name


def build_profile(b, profile):
    """sample: a clean demo store. test: everything, including the deliberately broken items."""
    rng = b.rng
    test = profile == "test"
    main = b.domain(b.main_domain, main=True)
    net = b.domain("example.net") if test else None
    org = b.domain("example.org")

    # --- john@main: the feature-rich account ---------------------------------------
    john = b.account(main, "john")
    set_password(john, "plain", "Kq7vR2xPm4")
    set_real_name(john, "John Smith")
    john.settings.append(("ServiceClass", "Standard"))
    john.settings_crlf = True
    inbox_n = 48 if test else 30
    features = {1: {"from_lines": True}, 3: {"utf8": True}, 4: {"latin1": True}, 5: {"multipart": True},
                6: {"eol": "crlf", "from_lines": True}, 7: {"eol": "mixed", "utf8": True}, 8: {"lone_cr": True},
                9: {"blank_end": True}, 10: {"form": "ctime", "sender": "MAILER-DAEMON"},
                11: {"form": "rfc", "zone": -300}, 12: {"form": "rfc", "zone": 330}, 13: {"form": "rfc", "zone": 0},
                14: {"eol": "crlf", "multipart": True}, 15: {"utf8": True, "latin1": True}}
    if test:
        features[16] = {"form": "rfc", "sender": ""}   # bounce: 'From <> date'
    john.folders.append(Folder("INBOX", "mbox", b.messages(john, inbox_n, flag_sets=b.shuffled_all_flags(),
                                                            features=features, no_uid={2, 20} if test else ())))
    john.folders.append(Folder("INBOX/Lists", "mbox", b.messages(john, 20 if test else 8, features={
        0: {"from_lines": True}, 2: {"eol": "crlf"}})))
    john.folders.append(Folder("Sent", "mbox", b.messages(john, 24 if test else 12, features={1: {"eol": "mixed"}})))
    john.folders.append(Folder("Drafts", "mdir", b.messages(
        john, 32 if test else 5, mdir=True, flag_sets=b.shuffled_all_flags() if test else ["ST", "T", "ST", "", "SA"],
        features={0: {"mdir_raw_from": True}, 1: {"eol": "crlf"}, 2: {"utf8": True}, 3: {"eol": "mixed"}})))
    john.folders.append(Folder("Work", "mbox", b.messages(john, 12 if test else 6, features={
        2: {"long_line": 300 * 1024}} if test else {2: {"multipart": True}})))
    john.folders.append(Folder("Work/Projects", "mbox", b.messages(john, 10 if test else 5)))
    john.folders.append(Folder("Work/Projects/2024", "mdir", b.messages(john, 8 if test else 3, year=2024, mdir=True,
                                                                        features={0: {"from_lines": True}})))
    john.folders.append(Folder("Archive/2019", "mbox", b.messages(john, 15 if test else 8, year=2019)))
    john.folders.append(Folder("Entwürfe", "mbox", b.messages(john, 5 if test else 3, features={0: {"utf8": True}})))
    if test:
        john.folders.append(Folder("Отправленные", "mbox", b.messages(john, 5, features={1: {"eol": "crlf"}})))
        john.folders.append(Folder("送信済み", "mbox", b.messages(john, 4)))
        john.folders.append(Folder("Trash", "mbox", [], subscribed=False))           # 0-byte .mbox
        john.folders.append(Folder("Junk", "mdir", [], subscribed=False))            # empty .mdir
    else:
        john.folders.append(Folder("Trash", "mbox", [], subscribed=False))

    # --- legacy single-mailbox account in the main domain --------------------------------
    legacy = b.account(main, "legacy", legacy=True)
    set_password(legacy, "plain", "blue meadow 42")
    set_real_name(legacy, "Legacy User")
    legacy.folders.append(Folder("INBOX", "mbox", b.messages(legacy, 10 if test else 8, no_uid=set(range(10)),
                                                             features={3: {"from_lines": True}})))

    # --- postmaster@main: encrypted (U-crpt) -------------------------------------------------
    pm = b.account(main, "postmaster")
    set_password(pm, "encrypted", u_crypt(rng))
    set_real_name(pm, "Postmaster")
    pm.folders.append(Folder("INBOX", "mbox", b.messages(pm, 16 if test else 10, features={0: {"multipart": True}})))
    pm.folders.append(Folder("Sent", "mbox", b.messages(pm, 4 if test else 3), subscribed=False))

    # --- mary@main in m.sub/: quoted password with escapes, RealName with \nnn -----------------
    mary = b.account(main, "mary", subdir="m.sub")
    set_password(mary, "plain", 'pa ss, "quoted" \\ Grüße, ok', escape_codes=(",",))
    set_real_name(mary, "Mary O'Brien", escape_codes=("'",))
    mary.folders.append(Folder("INBOX", "mbox", b.messages(mary, 24 if test else 14, features={
        0: {"eol": "crlf"}, 1: {"eol": "crlf"}, 2: {"from_lines": True, "eol": "crlf"}})))
    mary.folders.append(Folder("Drafts", "mdir", b.messages(mary, 4 if test else 2, mdir=True,
                                                            flag_sets=["T", "ST", "SAT", "FT"])))

    # --- example.net (test only): A-crpt, no password, broken settings, garbage, truncated -----------
    if test:
        bob = b.account(net, "bob")
        set_password(bob, "encrypted", a_crypt(rng))
        set_real_name(bob, 'Robert "Bob" Tables')
        bob.info_crlf = True
        inbox = Folder("INBOX", "mbox", b.messages(bob, 30, features={4: {"eol": "crlf"}}))
        inbox.garbage = (b"\x00\x00\x00\x1b\xff\xfeGARBAGE remnant of a half-written message\n"
                         b"From: someone@example.net (a header line, not a separator)\n\x01\x02\x03 binary\n\n")
        bob.folders.append(inbox)
        bob.folders.append(Folder("Sent", "mbox", b.messages(bob, 8)))

        carol = b.account(net, "carol")
        set_password(carol, "none")
        set_real_name(carol, "Carol Núñez")
        carol.settings.append(("ServiceClass", "Premium"))
        carol.settings_crlf = True
        carol.folders.append(Folder("INBOX", "mbox", b.messages(carol, 20, features={0: {"utf8": True}})))
        notes = Folder("Notes", "mbox", b.messages(carol, 6, features={5: {"truncated": True, "eol": "lf"}}))
        notes.truncated = True
        carol.folders.append(notes)

        dave = b.account(net, "dave")
        dave.settings_raw = ("{\n Password = %s;\n RealName \"Dave Broken\";\n ServiceClass = Standard;\n}\n"
                             % cgp_string(u_crypt(rng))).encode("utf-8")
        dave.password, dave.scheme, dave.real_name = "none", "", ""   # unreadable settings: nothing known
        dave.folders.append(Folder("INBOX", "mbox", b.messages(dave, 10)))

    # --- example.org: hashed subdirectories ----------------------------------------------------------
    alice = b.account(org, "alice", subdir="a.sub")
    set_password(alice, "plain", "Sonnenblume Übermut 7")
    set_real_name(alice, "Alice Ünal")
    alice.folders.append(Folder("INBOX", "mbox", b.messages(alice, 24 if test else 20, features={
        0: {"utf8": True}, 1: {"latin1": True}, 2: {"eol": "mixed"}})))
    drafts = Folder("Drafts", "mdir", b.messages(alice, 6 if test else 4, mdir=True, flag_sets=["T", "ST", "", "S", "FT", "DT"]))
    alice.folders.append(drafts)
    alice.folders.append(Folder("Sent", "mbox", b.messages(alice, 10 if test else 8)))
    if test:
        # zero-length file (not counted) and a file name outside the pattern (counted, no flags/date/UID)
        drafts.extras.append(("i%08d-%d-S.msg" % (900, _epoch(2024, 3, 1)), b"", "empty-message-file", False))
        stray, _ = b.factory.make("alice@example.org", _epoch(2023, 5, 6), 0)
        drafts.extras.append(("1683331200.M20P4242.oldhost", stray, "bad-mdir-name", True))

    alan = b.account(org, "alan", subdir="a.sub/l.sub")
    set_password(alan, "plain", "Qw3rtZx81")
    set_real_name(alan, "Alan Turing", escape_codes=(" ",))
    alan.folders.append(Folder("INBOX", "mbox", b.messages(alan, 14 if test else 10)))

    if test:
        frank = b.account(org, "frank")
        set_password(frank, "plain", "Fr4nkPw9")
        set_real_name(frank, "Frank Müller-Lüdenscheidt")
        frank.folders.append(Folder("INBOX", "mbox", b.messages(frank, 12)))
        bad = Folder("Bad&name", "mbox", b.messages(frank, 5), disk="Bad&name.mbox")
        bad.bad_name = True
        frank.folders.append(bad)
        frank.symlinks.append(("Evil.mbox", "/etc/hostname", "symlink-outside-store"))


# ---------------------------------------------------------------------------
# Writing sample/test stores
# ---------------------------------------------------------------------------

class Writer:
    def __init__(self, root):
        self.root = root
        self.files = []   # every path written (for fixed mtimes)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def mkdir(self, rel):
        os.makedirs(self.path(rel), exist_ok=True)

    def write(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)

    def fix_mtimes(self):
        for dirpath, dirnames, filenames in os.walk(self.root, topdown=False):
            for name in filenames + dirnames:
                p = os.path.join(dirpath, name)
                if os.path.islink(p):
                    os.utime(p, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
                elif os.path.isfile(p):
                    m = re.match(r"i\d{8}-(\d+)-[SAFDT]*\.msg$", name)
                    t = int(m.group(1)) if m else FIXED_MTIME
                    os.utime(p, (t, t))
                else:
                    os.utime(p, (FIXED_MTIME, FIXED_MTIME))
        os.utime(self.root, (FIXED_MTIME, FIXED_MTIME))


def folder_disk_path(folder):
    if folder.disk is not None:
        return folder.disk
    parts = [mutf7_encode(p) for p in folder.name.split("/")]
    ext = {"mbox": ".mbox", "mdir": ".mdir", "dir": ".folder"}[folder.fmt]
    return "/".join([p + ".folder" for p in parts[:-1]] + [parts[-1] + ext])


def add_directory_folders(account):
    names = {f.name for f in account.folders}
    for f in list(account.folders):
        parts = f.name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in names:
                names.add(parent)
                account.folders.append(Folder(parent, "dir", [], subscribed=False))
    account.folders.sort(key=lambda f: folder_order_key(f.name))


def message_entry(m, offset):
    data = imap_form(m.content)
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "flags": m.flags,
            "date": iso_date(m.epoch, m.zone), "uid": m.uid, "offset": offset}


def write_mbox(w, rel, folder, errors, where):
    buf = bytearray(folder.garbage)
    if folder.garbage:
        errors.append(dict(where, file=rel, offset=0, line=1, kind="garbage-before-first-message"))
    entries = []
    for i, m in enumerate(folder.msgs):
        last = i == len(folder.msgs) - 1
        cut = folder.truncated and last
        assert cut == (not m.content.endswith(b"\n")), (rel, i)
        offset = len(buf)
        buf += separator_line(m.sender, m.epoch, m.zone, m.form)
        buf += storage_lines(m.uid, m.flags)
        buf += mboxrd_quote(m.content)
        if not cut:
            buf += MESSAGE_GAP
        else:
            # offset and line of the cut message's separator
            errors.append(dict(where, file=rel, offset=offset, line=buf.count(b"\n", 0, offset) + 1,
                               kind="truncated-message"))
        entries.append(message_entry(m, offset))
    w.write(rel, bytes(buf))
    return entries


def write_mdir(w, rel, folder, errors, where):
    w.mkdir(rel)
    files = []
    for m in folder.msgs:
        assert m.zone == 0 and m.uid is not None
        files.append((mdir_file_name(m.uid, m.epoch, m.flags), m.content, None, True, m))
    for name, data, kind, counted in folder.extras:
        files.append((name, data, kind, counted, None))
    entries = []
    for name, data, kind, counted, m in sorted(files, key=lambda f: mdir_order_key(f[0])):
        w.write(rel + "/" + name, data)
        if kind:
            errors.append(dict(where, file=rel + "/" + name, offset=None, line=None, kind=kind))
        if not counted:
            continue
        if m is not None:
            entries.append(message_entry(m, 0))
        else:
            conv = imap_form(data)
            entries.append({"sha256": hashlib.sha256(conv).hexdigest(), "size": len(conv), "flags": "",
                            "date": None, "uid": None, "offset": 0})
    return entries


def account_info(account):
    boxes, subs = [], []
    for f in account.folders:
        if f.subscribed:
            subs.append(cgp_string(f.name))
        if f.fmt == "dir":
            continue
        uids = [m.uid for m in f.msgs if m.uid is not None]
        boxes.append("%s={UIDValidity=%d;LastUID=%d;};" % (cgp_string(f.name), 1700000000 + len(boxes) * 7919,
                                                           max(uids) if uids else 0))
    return settings_file([("MailboxInfo", "{" + "".join(boxes) + "}"),
                          ("Subscription", "(" + ", ".join(subs) + ")")], crlf=account.info_crlf)


def write_declarative(builder, root):
    w = Writer(root)
    errors = []
    w.write("Settings/Main.settings", settings_file([("DomainName", cgp_string(builder.main_domain))]))
    manifest_domains = []
    for d in [builder.domains[0]] + sorted(builder.domains[1:], key=lambda d: d.name.encode()):
        ddir = "Accounts" if d.main else "Domains/" + d.name
        pairs = [("DomainAccessModes", "All")]
        if d.name == "example.net":
            pairs.append(("DomainAliases", '("example-net.example", "mail.example.net")'))
        w.write(ddir + "/Settings/Domain.settings", settings_file(pairs))
        accounts_out = []
        for a in sorted(d.accounts, key=lambda a: a.name.encode()):
            base = ddir + ("/" + a.subdir if a.subdir else "")
            if a.legacy:
                adir = base
                location = base + "/" + a.name + ".mbox"
                settings_rel = base + "/" + a.name + ".settings"
            else:
                adir = base + "/" + a.name + ".macnt"
                location = adir
                settings_rel = adir + "/account.settings"
                add_directory_folders(a)
            if a.settings_raw is not None:
                # the broken line is line 3: a key without '='; the error is at the value that follows
                w.write(settings_rel, a.settings_raw)
                line3 = a.settings_raw.split(b"\n")[2]
                column = re.match(rb"\s*[A-Za-z0-9]+\s*", line3).end() + 1
                errors.append(dict(domain=d.name, account=a.name, folder="", file=settings_rel, offset=None,
                                   line=3, column=column, kind="settings-syntax"))
            else:
                w.write(settings_rel, settings_file(a.settings, crlf=a.settings_crlf))
            if not a.legacy:
                w.write(adir + "/account.info", account_info(a))
            folders_out = []
            for f in a.folders:
                rel = location if a.legacy else adir + "/" + folder_disk_path(f)
                where = dict(domain=d.name, account=a.name, folder=f.name)
                if f.bad_name:
                    errors.append(dict(where, file=rel, offset=None, line=None, kind="bad-folder-name"))
                if f.fmt == "mbox":
                    entries = write_mbox(w, rel, f, errors, where)
                elif f.fmt == "mdir":
                    entries = write_mdir(w, rel, f, errors, where)
                else:
                    w.mkdir(rel)
                    entries = []
                folders_out.append({"name": f.name, "selectable": f.fmt != "dir", "subscribed": f.subscribed or a.legacy,
                                    "format": f.fmt, "file": rel, "messages": len(entries),
                                    "bytes": sum(e["size"] for e in entries), "list": entries})
            for name, target, kind in a.symlinks:
                rel = adir + "/" + name
                os.symlink(target, w.path(rel))
                errors.append(dict(domain=d.name, account=a.name, folder="", file=rel, offset=None, line=None,
                                   kind=kind))
            accounts_out.append({"name": a.name, "password": a.password, "password_scheme": a.scheme,
                                 "real_name": a.real_name, "location": location, "folders": folders_out})
        manifest_domains.append({"name": d.name, "main": d.main, "accounts": accounts_out})
    w.fix_mtimes()
    for e in errors:
        e.setdefault("column", None)
    errors = [{k: e[k] for k in ("domain", "account", "folder", "file", "offset", "line", "column", "kind")}
              for e in errors]
    return manifest_domains, errors


# ---------------------------------------------------------------------------
# Profile bench: many accounts, fast writes, per-folder numbers only
# ---------------------------------------------------------------------------

BENCH_DOMAINS = ("example.net", "example.org", "corp.example.com")
# (name, format, share of the account's messages, probability the account has it)
BENCH_FOLDERS = (("INBOX", "mbox", 0.52, 1.0), ("Sent", "mbox", 0.16, 1.0), ("Drafts", "mdir", 0.02, 1.0),
                 ("Archive/2023", "mbox", 0.10, 0.6), ("Work", "mbox", 0.06, 0.5),
                 ("Work/Projects", "mbox", 0.04, 0.5), ("Lists", "mdir", 0.10, 0.3), ("Trash", "mbox", 0.02, 0.8))


def bench_templates(seed):
    """Pre-built message tails (MIME headers + body) in size classes; each as
    (disk bytes, CRLF-converted size, raw bytes). Most 1-7 KB, some 8-85 KB, a few 130-800 KB."""
    rng = random.Random("%s:templates" % seed)
    para = [" ".join(rng.choice(WORDS) for _ in range(11)).encode() for _ in range(200)]

    def text_body(target, crlf=False, from_line=False):
        lines = [b"Content-Type: text/plain; charset=us-ascii", b"Content-Transfer-Encoding: 7bit", b""]
        size = 0
        while size < target:
            line = rng.choice(para)
            lines.append(line)
            size += len(line) + 1
        if from_line:
            lines.insert(5, b"From the archive: a body line that starts with From.")
        eol = b"\r\n" if crlf else b"\n"
        return eol.join(lines) + eol

    def mime_body(target):
        boundary = b"=_bench_%08x" % rng.getrandbits(32)
        blob = rng.randbytes(target * 3 // 4)
        b64 = base64.encodebytes(blob)
        return (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n--' + boundary +
                b"\nContent-Type: text/plain; charset=us-ascii\n\nSee the attachment.\n--" + boundary +
                b'\nContent-Type: application/octet-stream; name="data.bin"\nContent-Transfer-Encoding: base64\n\n'
                + b64 + b"--" + boundary + b"--\n")

    small, medium, large = [], [], []
    for i in range(96):
        small.append(text_body(rng.randrange(500, 6500), crlf=(i % 24 == 0), from_line=(i % 16 == 5)))
    for i in range(24):
        medium.append(mime_body(rng.randrange(8000, 64000)) if i % 2 else text_body(rng.randrange(8000, 40000)))
    for i in range(6):
        large.append(mime_body(rng.randrange(100000, 600000)))

    def pack(body):
        return (mboxrd_quote(body), crlf_size(body), body)
    return [pack(b) for b in small], [pack(b) for b in medium], [pack(b) for b in large]


_TEMPLATES = None


def bench_account(task):
    """Writes one bench account; returns its manifest entry. Deterministic in `task` alone."""
    (seed, root, main_domain, dname, ddir, name, subdir, acc_seed, count) = task
    small, medium, large = _TEMPLATES
    rng = random.Random(acc_seed)
    adir_rel = ddir + ("/" + subdir if subdir else "") + "/" + name + ".macnt"
    adir = os.path.join(root, adir_rel)
    os.makedirs(adir)
    kind = rng.random()
    settings = []
    if kind < 0.55:
        pw, scheme = "plain", ""
        settings.append(("Password", cgp_string("".join(rng.choice("abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479")
                                                        for _ in range(12)))))
    elif kind < 0.9:
        pw, scheme = "encrypted", "U-crpt"
        settings.append(("Password", cgp_string(u_crypt(rng))))
    else:
        pw, scheme = "none", ""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    real_name = "%s %s" % (first, last)
    settings.append(("RealName", cgp_string(real_name)))
    with open(os.path.join(adir, "account.settings"), "wb") as f:
        f.write(settings_file(settings, crlf=rng.random() < 0.1))

    present = [(fname, fmt, share) for fname, fmt, share, prob in BENCH_FOLDERS if rng.random() < prob]
    if not any(p[0] == "Work" for p in present):
        present = [p for p in present if p[0] != "Work/Projects"]
    total_share = sum(p[2] for p in present)
    counts = [int(count * p[2] / total_share) for p in present]
    counts[0] += count - sum(counts)            # INBOX takes the remainder

    rcpt = ("%s@%s" % (name, dname)).encode()
    senders = [("%s %s" % (rng.choice(FIRST), rng.choice(LAST)), "%s@%s" % (rng.choice(FIRST).lower(),
                                                                          rng.choice(PEER_DOMAINS)))
               for _ in range(24)]
    senders = [(n.encode(), a.encode()) for n, a in senders]
    t0 = _epoch(2020, 1, 1) + rng.randrange(0, 86400 * 365)
    folders_out = []
    mdir_mtimes = []
    for (fname, fmt, _), n in zip(present, counts):
        parts = fname.split("/")
        rel = "/".join([p + ".folder" for p in parts[:-1]] + [parts[-1] + "." + fmt])
        path = os.path.join(adir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        nbytes = 0
        t = t0
        step = max(1, (4 * 365 * 86400) // max(n, 1))
        rnd = rng.random
        rr = rng.randrange
        if fmt == "mbox":
            out = open(path, "wb")
            chunk = []
            pending = 0
        else:
            os.mkdir(path)
        for uid in range(1, n + 1):
            t += rr(1, 2 * step)
            r = rnd()
            if r < 0.965:
                disk, conv, raw = small[rr(len(small))]
            elif r < 0.998:
                disk, conv, raw = medium[rr(len(medium))]
            else:
                disk, conv, raw = large[rr(len(large))]
            f_r = rnd()
            flags = "S" if f_r < 0.7 else ("" if f_r < 0.85 else ("SA" if f_r < 0.93 else ("SF" if f_r < 0.98 else "SAFDT"[rr(5)])))
            sname, saddr = senders[rr(24)]
            date = rfc822_date(t, 0).encode()
            head = (b"Return-Path: <%s>\nReceived: from mx.example.net by %s; %s\nFrom: \"%s\" <%s>\nTo: <%s>\n"
                    b"Subject: Bench message %d of %s\nDate: %s\nMessage-ID: <%d.%d@%s>\nMIME-Version: 1.0\n"
                    % (saddr, main_domain.encode(), date, sname, saddr, rcpt, uid, fname.encode(), date, acc_seed, uid,
                       dname.encode()))
            nbytes += len(head) + head.count(b"\n") + conv       # header lines are LF: each gains a CR
            if fmt == "mbox":
                if uid % 3:
                    sep = b"From %s %s\n" % (saddr, ctime_utc(t).encode())
                else:
                    sep = b"From <%s> %s\n" % (saddr, date)
                rec = sep + storage_lines(uid, flags) + head + disk + MESSAGE_GAP
                chunk.append(rec)
                pending += len(rec)
                if pending > (4 << 20):
                    out.write(b"".join(chunk))
                    chunk, pending = [], 0
            else:
                fn = os.path.join(path, mdir_file_name(uid, t, flags))
                with open(fn, "wb") as mf:
                    mf.write(head + raw)           # .mdir: the raw message, no mboxrd quoting
                mdir_mtimes.append((fn, t))
        if fmt == "mbox":
            out.write(b"".join(chunk))
            out.close()
        folders_out.append({"name": fname, "selectable": True, "subscribed": True, "format": fmt,
                            "file": adir_rel + "/" + rel, "messages": n, "bytes": nbytes})
    names = {f["name"] for f in folders_out}
    for f in list(folders_out):
        parent = f["name"].rsplit("/", 1)[0] if "/" in f["name"] else None
        if parent and parent not in names:
            names.add(parent)
            folders_out.append({"name": parent, "selectable": False, "subscribed": False, "format": "dir",
                                "file": adir_rel + "/" + parent + ".folder", "messages": 0, "bytes": 0})
    folders_out.sort(key=lambda f: folder_order_key(f["name"]))
    boxes = "".join("%s={UIDValidity=%d;LastUID=%d;};" % (cgp_string(f["name"]), 1700000000 + i, f["messages"])
                    for i, f in enumerate(folders_out) if f["selectable"])
    subs = ", ".join(cgp_string(f["name"]) for f in folders_out if f["subscribed"])
    with open(os.path.join(adir, "account.info"), "wb") as f:
        f.write(settings_file([("MailboxInfo", "{" + boxes + "}"), ("Subscription", "(" + subs + ")")]))
    for fn, t in mdir_mtimes:
        os.utime(fn, (t, t))
    return {"name": name, "password": pw, "password_scheme": scheme, "real_name": real_name,
            "location": adir_rel, "folders": folders_out}




def _bench_init(seed):
    global _TEMPLATES
    _TEMPLATES = bench_templates(seed)


def write_bench(seed, root, main_domain, n_messages, jobs):
    global _TEMPLATES
    master = random.Random(seed)
    n_acc = max(1, min(2000, -(-n_messages // 500)))
    domains = [(main_domain, "Accounts", True)] + [(d, "Domains/" + d, False) for d in sorted(BENCH_DOMAINS)]
    for dname, ddir, _ in domains:
        os.makedirs(os.path.join(root, ddir, "Settings"))
        with open(os.path.join(root, ddir, "Settings", "Domain.settings"), "wb") as f:
            f.write(settings_file([("DomainAccessModes", "All")]))
    os.makedirs(os.path.join(root, "Settings"))
    with open(os.path.join(root, "Settings", "Main.settings"), "wb") as f:
        f.write(settings_file([("DomainName", cgp_string(main_domain))]))
    weights = [master.lognormvariate(0, 1.0) for _ in range(n_acc)]
    wsum = sum(weights)
    counts = [int(n_messages * w / wsum) for w in weights]
    rest = n_messages - sum(counts)
    order = sorted(range(n_acc), key=lambda i: (-(n_messages * weights[i] / wsum - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    tasks = []
    for i in range(n_acc):
        r = master.random()
        d = 0 if r < 0.4 else 1 + int((r - 0.4) / 0.2)
        d = min(d, len(domains) - 1)
        name = "%s%04d" % (master.choice(FIRST).lower(), i)
        s = master.random()
        subdir = "" if s < 0.5 else (name[0] + ".sub" if s < 0.9 else name[0] + ".sub/" + name[1] + ".sub")
        acc_seed = master.getrandbits(48)
        dname, ddir, _ = domains[d]
        tasks.append((seed, root, main_domain, dname, ddir, name, subdir, acc_seed, counts[i]))
    results = [None] * n_acc
    if jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_bench_init, initargs=(seed,)) as pool:
            for i, res in enumerate(pool.imap(bench_account, tasks, chunksize=4)):
                results[i] = res
    else:
        _bench_init(seed)
        for i, t in enumerate(tasks):
            results[i] = bench_account(t)
    manifest_domains = []
    for di, (dname, ddir, is_main) in enumerate(domains):
        accs = [results[i] for i, t in enumerate(tasks) if t[3] == dname]
        accs.sort(key=lambda a: a["name"].encode())
        manifest_domains.append({"name": dname, "main": is_main, "accounts": accs})
    # fixed mtimes for everything but .mdir message files (those carry their date)
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        if not dirpath.endswith(".mdir"):
            for name in filenames:
                os.utime(os.path.join(dirpath, name), (FIXED_MTIME, FIXED_MTIME))
        os.utime(dirpath, (FIXED_MTIME, FIXED_MTIME))
    return manifest_domains, []


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description="Write a deterministic CommuniGate Pro store and its manifest.")
    p.add_argument("--out", required=True, help="store directory (must not exist or be empty)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", choices=("sample", "test", "bench"), default="test")
    p.add_argument("--messages", type=int, help="bench only: number of messages (default 1000000)")
    p.add_argument("--manifest", help="manifest file (default: DIR/../<basename of DIR>.manifest.json)")
    p.add_argument("--main-domain", default=DEFAULT_MAIN_DOMAIN)
    p.add_argument("--jobs", type=int, default=0, help="bench only: writer processes (default: CPU count); "
                                                      "the output does not depend on it")
    args = p.parse_args(argv)

    def fail(msg):
        print("gen_cgp_store.py: " + msg, file=sys.stderr)
        return 2

    if args.messages is not None and args.profile != "bench":
        return fail("--messages applies to --profile bench only")
    if args.messages is not None and args.messages < 0:
        return fail("--messages must be >= 0")
    main_domain = args.main_domain.strip().lower()
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", main_domain):
        return fail("--main-domain %r is not a domain name" % args.main_domain)
    if main_domain in ("example.net", "example.org") + BENCH_DOMAINS:
        return fail("--main-domain %s clashes with a secondary domain of the generated store" % main_domain)
    out = os.path.abspath(args.out)
    if os.path.lexists(out) and (not os.path.isdir(out) or os.path.islink(out) or os.listdir(out)):
        return fail("%s exists and is not an empty directory; refusing to write into it" % args.out)
    manifest_path = os.path.abspath(args.manifest) if args.manifest else \
        os.path.join(os.path.dirname(out), os.path.basename(out) + ".manifest.json")
    if manifest_path == out or manifest_path.startswith(out + os.sep):
        return fail("the manifest must not be written inside the store")
    if os.path.isdir(manifest_path):
        return fail("%s is a directory" % manifest_path)
    os.umask(0o022)
    os.makedirs(out, exist_ok=True)

    started = time.monotonic()
    if args.profile == "bench":
        n = 1000000 if args.messages is None else args.messages
        jobs = args.jobs or os.cpu_count() or 1
        domains, errors = write_bench(args.seed, out, main_domain, n, jobs)
    else:
        b = Builder(args.seed, main_domain)
        build_profile(b, args.profile)
        domains, errors = write_declarative(b, out)
    elapsed = time.monotonic() - started

    accounts = sum(len(d["accounts"]) for d in domains)
    messages = sum(f["messages"] for d in domains for a in d["accounts"] for f in a["folders"])
    nbytes = sum(f["bytes"] for d in domains for a in d["accounts"] for f in a["folders"])
    manifest = {"generator": GENERATOR, "profile": args.profile, "seed": args.seed, "main_domain": main_domain,
                "domains": domains,
                "totals": {"domains": len(domains), "accounts": accounts, "messages": messages, "bytes": nbytes},
                "expected_errors": errors}
    os.makedirs(os.path.dirname(manifest_path), exist_ok=True)
    with open(manifest_path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(manifest_path)
    print("%s store (seed %d) in %s: %d domains, %d accounts, %d messages, %d bytes (CRLF form), "
          "%d planted errors; %.1f s" % (args.profile, args.seed, args.out, len(domains), accounts, messages, nbytes,
                                        len(errors), elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
