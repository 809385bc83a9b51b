"""KerioImapTestFrontend -- a TEST SERVER for the integration tests.

This is NOT Kerio; a test stand-in that implements only Kerio's documented
master-auth exchange.  Kerio Connect cannot be installed in the test
environment, so this small IMAP front end speaks the X-MASTERAUTH / X-SETUSER
exchange (see docs/protocols.md#kerio-imap-master-authentication) to the client
and relays everything else to a private Dovecot (servers/dovecot.py):

    C: a X-MASTERAUTH
    S: + <challenge>
    C: <lowercase hex MD5(challenge + master_password)>
    S: a OK X-MASTERAUTH Welcome to server, master        | a NO X-MASTERAUTH failed
    C: b X-SETUSER "user"
    S: b OK X-SETUSER completed                           | b NO X-SETUSER failed: no such user
    ... from here on the bytes go unchanged to and from a Dovecot session that
        the front end logged in as `user*<dovecot master>`.

Ordinary LOGIN / AUTHENTICATE are relayed to Dovecot too, so per-user logins
through the front end also work.  Plaintext on 127.0.0.1 only: STARTTLS is
refused with NO.

    from servers.dovecot import PrivateDovecot
    from servers.kerio_imap_frontend import KerioImapTestFrontend

    with PrivateDovecot(users={"alice": "pw"}) as dc, \\
         KerioImapTestFrontend(dc, "Kerio#Master1") as kerio:
        ... connect the client under test to kerio.host:kerio.port ...
        assert kerio.master_logins == ["alice"]

Python 3 standard library only.  See servers/README.md.
"""
import hashlib
import re
import secrets
import select
import socket
import sys
import threading

from .common import HOST, StartStopContext, quietly, set_nodelay

GREETING_TEXT = "Kerio Connect test front end ready"
_MAX_LINE = 64 * 1024
_LITERAL_RE = re.compile(rb"\{(\d{1,10})(\+?)\}$")
# Listed first in the greeting when the backend offers them; the rest follow in backend order.
_PREFERRED_ORDER = ("IMAP4REV1", "LITERAL+", "MULTIAPPEND", "UIDPLUS")
# Not advertised by the front end: it refuses STARTTLS itself.
_DROPPED_CAPS = ("STARTTLS", "LOGINDISABLED")


class FrontendError(RuntimeError):
    """The front end could not start (e.g. the Dovecot backend is not reachable)."""


class _Closed(Exception):
    """The peer closed the connection (or the session was aborted)."""


def digest_for(challenge, master_password):
    """What a client must answer to `+ <challenge>`: lowercase hex MD5 of the UTF-8 bytes
    of challenge + master_password (challenge taken verbatim after "+ ")."""
    return hashlib.md5((challenge + master_password).encode("utf-8")).hexdigest()


def _imap_astring(value):
    """value as an IMAP astring for a command we send to Dovecot: a quoted string when it
    is printable ASCII, otherwise a LITERAL+ (Dovecot offers LITERAL+ before login)."""
    raw = value.encode("utf-8")
    if all(0x20 <= b < 0x7F for b in raw):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d+}\r\n" % len(raw) + raw


class _Reader:
    """Buffered line/byte reader on a blocking socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.buf += data

    def readline(self):
        """One line without its CRLF (a bare LF is accepted too)."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > _MAX_LINE:
                raise ValueError("line too long")
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def take_rest(self):
        data = bytes(self.buf)
        self.buf.clear()
        return data


def _tokenize(text):
    """Tokens of an IMAP argument string: atoms, quoted strings (unescaped), "(" and ")".
    Returns (tokens, literal) where literal is (n, synchronizing) if the text ends in a
    literal announcement {n} / {n+}, else None.  Raises ValueError on a syntax error."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == " ":
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        elif c == '"':
            i += 1
            out = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted string")
                c = text[i]
                if c == "\\":
                    if i + 1 >= n or text[i + 1] not in '\\"':
                        raise ValueError("bad escape in quoted string")
                    out.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    out.append(c)
                    i += 1
            tokens.append(("q", "".join(out)))
        else:
            j = i
            while j < n and text[j] not in ' ()"':
                j += 1
            tokens.append(text[i:j])
            i = j
    literal = None
    if tokens and isinstance(tokens[-1], str):
        m = _LITERAL_RE.match(tokens[-1].encode())
        if m and m.end() == len(tokens[-1]):
            tokens.pop()
            literal = (int(m.group(1)), m.group(2) != b"+")
    # Quoted strings become plain values; keep atoms and parens as they are.
    return [t[1] if isinstance(t, tuple) else t for t in tokens], literal


class _Session:
    """One client connection (and, after login, its Dovecot connection)."""

    def __init__(self, frontend, number, client):
        self.frontend = frontend
        self.number = number
        self.client = client
        self.backend = None
        self.thread = None
        self.pump_thread = None
        self.master_ok = False
        self.relaying = False
        self._lock = threading.Lock()
        self._aborted = False

    # Shutting down both sockets wakes any thread blocked in recv/send on them; the
    # session's own thread closes them once its pump thread has ended.
    def abort(self):
        with self._lock:
            self._aborted = True
            socks = [s for s in (self.client, self.backend) if s is not None]
        for s in socks:
            quietly(s.shutdown, socket.SHUT_RDWR)

    @property
    def aborted(self):
        return self._aborted

    def set_backend(self, sock):
        with self._lock:
            self.backend = sock
            aborted = self._aborted
        if aborted:
            self.abort()

    def close_backend(self):
        with self._lock:
            sock, self.backend = self.backend, None
        if sock is not None:
            quietly(sock.close)

    def close(self):
        self.abort()
        self.close_backend()
        quietly(self.client.close)


class KerioImapTestFrontend(StartStopContext):
    """Test server: Kerio's IMAP master authentication in front of a PrivateDovecot.

    KerioImapTestFrontend(backend, master_password, *, transcript=False,
                          capability_user=None, backend_timeout=10.0)
      backend          a started servers.dovecot.PrivateDovecot
      master_password  the Kerio master password the client must prove (str)
      transcript       record the locally handled part of every session (see .transcript)
      capability_user  backend user for fetching the post-login capabilities at start()
                       (default: the alphabetically first of backend.users; with no user,
                       only the pre-login capabilities are advertised)

    start()/stop() or `with`; host, port, address; greeting, capabilities;
    master_logins, masterauth_failures, setuser_failures, user_logins, drops;
    transcript; drop_after_bytes(n), cancel_drop(), wait_dropped(timeout).
    """

    def __init__(self, backend, master_password, *, transcript=False, capability_user=None,
                 backend_timeout=10.0):
        if not isinstance(master_password, str):
            raise TypeError("master_password must be a str")
        self.backend = backend
        self.master_password = master_password
        self.record_transcript = transcript
        self.capability_user = capability_user
        self.backend_timeout = backend_timeout
        self.host = HOST
        self.port = None
        self.capabilities = []
        self.greeting = None
        self.last_challenge = None
        self._listener = None
        self._accept_thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sessions = set()
        self._session_count = 0
        self._master_logins = []
        self._setuser_failures = []
        self._masterauth_failures = 0
        self._user_logins = 0
        self._drops = 0
        self._drop_budget = None
        self._dropped = threading.Event()
        self._transcript = []
        self._started = False

    # ------------------------------------------------------------ lifecycle

    @property
    def address(self):
        return (self.host, self.port)

    def start(self):
        if self._started:
            raise FrontendError("this KerioImapTestFrontend was already started")
        self._started = True
        self._fetch_backend_capabilities()
        self.greeting = f"* OK [CAPABILITY {' '.join(self.capabilities)}] {GREETING_TEXT}"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"kerio-frontend-{self.port}")
        self._accept_thread.start()
        return self

    def stop(self):
        """Closes the listener and every client and backend socket, joins all threads.
        Safe to call more than once."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        if self._listener is not None:
            quietly(self._listener.close)
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            s.abort()
        for s in sessions:
            if s.thread is not None:
                s.thread.join(5)
            s.close()

    def _has_started(self):   # for `with` (StartStopContext)
        return self._started

    def __repr__(self):
        return f"<KerioImapTestFrontend {self.host}:{self.port} -> dovecot {self.backend.imap_port}>"

    # ---------------------------------------------------------- observations

    @property
    def master_logins(self):
        """Users switched to with a successful X-SETUSER, in order (a copy)."""
        with self._lock:
            return list(self._master_logins)

    @property
    def masterauth_failures(self):
        """Number of X-MASTERAUTH answers that did not match."""
        with self._lock:
            return self._masterauth_failures

    @property
    def setuser_failures(self):
        """Users for which X-SETUSER was refused by the backend (a copy)."""
        with self._lock:
            return list(self._setuser_failures)

    @property
    def user_logins(self):
        """Number of ordinary LOGIN/AUTHENTICATE relayed to Dovecot that succeeded."""
        with self._lock:
            return self._user_logins

    @property
    def drops(self):
        """Number of connections cut by drop_after_bytes()."""
        with self._lock:
            return self._drops

    @property
    def active_sessions(self):
        with self._lock:
            return len(self._sessions)

    @property
    def transcript(self):
        """With transcript=True: [(session_number, direction, text)] of what the front end
        handled itself.  direction: "C" client->front end, "S" front end->client,
        "B>"/"B<" front end<->Dovecot during X-SETUSER, "-" events (e.g. "<relay>").
        Relayed bytes are not recorded.  The X-MASTERAUTH answer, LOGIN/AUTHENTICATE
        arguments and the Dovecot master password appear only as "<redacted>"."""
        with self._lock:
            return list(self._transcript)

    def transcript_text(self):
        return "\n".join(f"#{n} {d}: {t}" for n, d, t in self.transcript)

    # ------------------------------------------------------------ fault hook

    def drop_after_bytes(self, n):
        """Arms a one-shot fault: after relaying n more bytes from a client to Dovecot
        (counted over all relaying sessions), the session that reaches n is cut: exactly
        n bytes are forwarded, then its client and backend sockets are shut down
        (shutdown(SHUT_RDWR) + close; the client reads EOF, or a reset if it had sent
        more than we read).  n=0 cuts on the next relayed data."""
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._drop_budget = n
            self._dropped.clear()

    def cancel_drop(self):
        with self._lock:
            self._drop_budget = None

    def wait_dropped(self, timeout=10):
        """True once the armed drop has happened."""
        return self._dropped.wait(timeout)

    # -------------------------------------------------------------- internals

    def _note(self, session, direction, text):
        if self.record_transcript:
            with self._lock:
                self._transcript.append((session.number if session else 0, direction, text))

    def _fetch_backend_capabilities(self):
        """Pre- and post-login capabilities of the backend, merged.  NOTE: real Kerio
        Connect's capability list is different (it is Kerio's, not Dovecot's); this only
        makes the front end advertise what the relayed sessions can really do, plus
        X-MASTERAUTH.  Clients should re-issue CAPABILITY after X-SETUSER/LOGIN (they then
        get Dovecot's own post-login list, without X-MASTERAUTH)."""
        try:
            sock = socket.create_connection((HOST, self.backend.imap_port), timeout=self.backend_timeout)
        except OSError as exc:
            raise FrontendError(f"Dovecot backend on {HOST}:{self.backend.imap_port} unreachable: {exc}")
        caps = []
        try:
            reader = _Reader(sock)
            reader.readline()
            caps += self._backend_capability(sock, reader, b"C1")
            user = self.capability_user
            if user is None and getattr(self.backend, "users", None):
                user = sorted(self.backend.users)[0]
            if user is not None:
                ok, _ = self._backend_command(
                    sock, reader, b"C2", b"LOGIN " + _imap_astring(f"{user}*{self.backend.master_user}")
                    + b" " + _imap_astring(self.backend.master_password))
                if not ok:
                    raise FrontendError(f"master login as {user!r} on the Dovecot backend failed")
                caps += self._backend_capability(sock, reader, b"C3")
            try:
                sock.sendall(b"C4 LOGOUT\r\n")
            except OSError:
                pass
        except (OSError, _Closed, ValueError) as exc:
            raise FrontendError(f"could not read the capabilities of the Dovecot backend: {exc!r}")
        finally:
            sock.close()
        seen, merged = set(), []
        for cap in caps:
            key = cap.upper()
            if key in seen or key in _DROPPED_CAPS:
                continue
            seen.add(key)
            merged.append(cap)
        first = [c for want in _PREFERRED_ORDER for c in merged if c.upper() == want]
        rest = [c for c in merged if c not in first]
        if not first or first[0].upper() != "IMAP4REV1":
            first.insert(0, "IMAP4rev1")
        self.capabilities = first + ["X-MASTERAUTH"] + rest

    @staticmethod
    def _backend_command(sock, reader, tag, command):
        """Sends `tag command`, returns (ok, [untagged lines]) at the tagged reply."""
        sock.sendall(tag + b" " + command + b"\r\n")
        untagged = []
        while True:
            line = reader.readline()
            if line.startswith(tag + b" "):
                return line[len(tag) + 1:].upper().startswith(b"OK"), untagged
            untagged.append(line)

    def _backend_capability(self, sock, reader, tag):
        ok, lines = self._backend_command(sock, reader, tag, b"CAPABILITY")
        caps = []
        for line in lines:
            if line.upper().startswith(b"* CAPABILITY "):
                caps += line[len(b"* CAPABILITY "):].decode("ascii", "replace").split()
        return caps

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            client.settimeout(None)
            set_nodelay(client)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    return
                self._session_count += 1
                session = _Session(self, self._session_count, client)
                self._sessions.add(session)
            session.thread = threading.Thread(target=self._serve, args=(session,), daemon=True,
                                              name=f"kerio-frontend-{self.port}-c{session.number}")
            session.thread.start()

    # ---------------------------------------------------------- one session

    def _send(self, session, line):
        self._note(session, "S", line)
        session.client.sendall(line.encode("utf-8") + b"\r\n")

    def _serve(self, session):
        try:
            self._send(session, self.greeting)
            reader = _Reader(session.client)
            while not session.relaying:
                self._one_command(session, reader)
            self._relay(session, reader.take_rest())
        except (_Closed, OSError):
            pass
        except ValueError as exc:       # overlong line
            try:
                self._send(session, f"* BYE {exc}")
            except OSError:
                pass
        except Exception as exc:  # pragma: no cover - a bug in the test server; show it
            print(f"KerioImapTestFrontend session #{session.number}: {exc!r}", file=sys.stderr)
        finally:
            session.abort()
            if session.pump_thread is not None:
                session.pump_thread.join(10)
            session.close()
            with self._lock:
                self._sessions.discard(session)

    def _one_command(self, session, reader):
        line = reader.readline()
        text = line.decode("utf-8", "replace")
        parts = text.split(" ", 2)
        if len(parts) < 2 or not parts[0] or not parts[1] or any(c in parts[0] for c in '*+(){%"\\'):
            self._note(session, "C", text)
            self._send(session, "* BAD Error in IMAP command received by server.")
            return
        tag, command = parts[0], parts[1].upper()
        rest = parts[2] if len(parts) > 2 else ""

        if command in ("LOGIN", "AUTHENTICATE"):
            shown = f"{tag} {parts[1]} <redacted>"
            if command == "AUTHENTICATE" and rest:
                shown = f"{tag} {parts[1]} {rest.split(' ', 1)[0]} <redacted>"
            self._note(session, "C", shown)
            self._relay_login(session, reader, tag, line)
            return
        self._note(session, "C", text)
        handled = ("CAPABILITY", "NOOP", "LOGOUT", "ID", "STARTTLS", "X-MASTERAUTH", "X-SETUSER")
        args = self._read_args(session, reader, tag, rest, accept_literals=command in handled)
        if args is None:
            return
        if command == "CAPABILITY":
            self._send(session, "* CAPABILITY " + " ".join(self.capabilities))
            self._send(session, f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            self._send(session, f"{tag} OK NOOP completed")
        elif command == "LOGOUT":
            self._send(session, "* BYE Kerio Connect test front end logging out")
            self._send(session, f"{tag} OK LOGOUT completed")
            raise _Closed()
        elif command == "ID":
            self._send(session, "* ID NIL")
            self._send(session, f"{tag} OK ID completed")
        elif command == "STARTTLS":
            self._send(session, f"{tag} NO STARTTLS is not supported by the Kerio test front end "
                                "(plaintext on loopback only)")
        elif command == "X-MASTERAUTH":
            if args:
                self._send(session, f"{tag} BAD X-MASTERAUTH takes no arguments")
            else:
                self._master_auth(session, reader, tag)
        elif command == "X-SETUSER":
            if len(args) != 1 or args[0] in ("(", ")") or not args[0]:
                self._send(session, f"{tag} BAD X-SETUSER expects one user name")
            elif not session.master_ok:
                self._send(session, f"{tag} NO X-SETUSER not authenticated as master")
            else:
                self._set_user(session, tag, args[0])
        else:
            state = "before X-SETUSER" if session.master_ok else "in the not-authenticated state"
            self._send(session, f"{tag} BAD Command {parts[1]} unknown or not allowed {state}")

    def _read_args(self, session, reader, tag, rest, accept_literals):
        """Arguments of a locally handled command, reading any literals (answering "+"
        to synchronizing ones only for commands we handle).  None if already answered."""
        args = []
        while True:
            try:
                tokens, literal = _tokenize(rest)
            except ValueError as exc:
                self._send(session, f"{tag} BAD {exc}")
                return None
            args += tokens
            if literal is None:
                return args
            size, synchronizing = literal
            if synchronizing:
                if not accept_literals:
                    self._send(session, f"{tag} BAD Command unknown or not allowed in this state")
                    return None
                self._send(session, "+ Ready for literal data")
            args.append(reader.read_exact(size).decode("utf-8", "replace"))
            rest = reader.readline().decode("utf-8", "replace")

    def _master_auth(self, session, reader, tag):
        challenge = f"<{secrets.token_hex(16)}@kerio-test>"
        self.last_challenge = challenge
        session.master_ok = False
        self._send(session, f"+ {challenge}")
        answer = reader.readline()
        self._note(session, "C", "*" if answer == b"*" else "<redacted>")
        if answer == b"*":
            self._send(session, f"{tag} BAD X-MASTERAUTH cancelled")
            return
        expected = digest_for(challenge, self.master_password).encode("ascii")
        if secrets.compare_digest(answer, expected):
            session.master_ok = True
            self._send(session, f"{tag} OK X-MASTERAUTH Welcome to server, master")
        else:
            with self._lock:
                self._masterauth_failures += 1
            self._send(session, f"{tag} NO X-MASTERAUTH failed")

    def _connect_backend(self, session):
        sock = socket.create_connection((HOST, self.backend.imap_port), timeout=self.backend_timeout)
        set_nodelay(sock)
        session.set_backend(sock)
        reader = _Reader(sock)
        greeting = reader.readline()
        if not greeting.startswith(b"* OK"):
            raise OSError(f"unexpected Dovecot greeting {greeting!r}")
        return sock, reader

    def _set_user(self, session, tag, user):
        if "*" in user or any(ord(c) < 0x20 for c in user):
            self._send(session, f"{tag} NO X-SETUSER failed: no such user")
            with self._lock:
                self._setuser_failures.append(user)
            return
        try:
            sock, breader = self._connect_backend(session)
            login = (b"LOGIN " + _imap_astring(f"{user}*{self.backend.master_user}") + b" "
                     + _imap_astring(self.backend.master_password))
            self._note(session, "B>", f'K1 LOGIN "{user}*{self.backend.master_user}" <redacted>')
            ok, untagged = self._backend_command(sock, breader, b"K1", login)
        except (OSError, _Closed, ValueError) as exc:
            session.close_backend()
            if session.aborted:
                raise _Closed()
            self._note(session, "-", f"backend error: {exc!r}")
            self._send(session, f"{tag} NO X-SETUSER failed: backend unavailable")
            return
        for line in untagged:
            self._note(session, "B<", line.decode("utf-8", "replace"))
        self._note(session, "B<", "K1 " + ("OK" if ok else "NO"))
        if not ok:
            session.close_backend()
            with self._lock:
                self._setuser_failures.append(user)
            self._send(session, f"{tag} NO X-SETUSER failed: no such user")
            return
        sock.settimeout(None)
        with self._lock:
            self._master_logins.append(user)
        self._send(session, f"{tag} OK X-SETUSER completed")
        leftover = breader.take_rest()
        if leftover:
            session.client.sendall(leftover)
        session.relaying = True

    def _relay_login(self, session, reader, tag, first_line):
        """LOGIN/AUTHENTICATE: hand the command to a fresh Dovecot connection and pass the
        exchange (continuations, literals) through until Dovecot's tagged reply.  OK ->
        pure relay from then on; NO/BAD -> drop that connection, back to local handling."""
        try:
            sock, breader = self._connect_backend(session)
        except (OSError, _Closed, ValueError) as exc:
            session.close_backend()
            if session.aborted:
                raise _Closed()
            self._note(session, "-", f"backend error: {exc!r}")
            self._send(session, f"{tag} NO [UNAVAILABLE] backend unavailable")
            return
        sock.settimeout(None)
        self._to_backend(session, first_line + b"\r\n")
        pending = reader.take_rest()
        if pending:
            self._to_backend(session, pending)
        tag_b = tag.encode("utf-8") + b" "
        while True:
            # Dovecot's replies are complete lines before the tagged one: scan those lines
            # and pass them on; client bytes (continuation answers, literals) go straight on.
            while True:
                i = breader.buf.find(b"\n")
                if i < 0:
                    break
                line = bytes(breader.buf[:i + 1])
                del breader.buf[:i + 1]
                session.client.sendall(line)
                self._note(session, "B<", line.rstrip(b"\r\n").decode("utf-8", "replace"))
                if line.startswith(tag_b):
                    status = line[len(tag_b):].split(b" ", 1)[0].upper()
                    if status == b"OK":
                        with self._lock:
                            self._user_logins += 1
                        rest = breader.take_rest()
                        if rest:
                            session.client.sendall(rest)
                        session.relaying = True
                    else:
                        session.close_backend()
                    return
            readable, _, _ = select.select([session.client, sock], [], [], 1.0)
            if session.aborted:
                raise _Closed()
            if sock in readable:
                breader._fill()
            if session.client in readable:
                data = session.client.recv(65536)
                if not data:
                    raise _Closed()
                self._to_backend(session, data)

    # ------------------------------------------------------------------ relay

    def _to_backend(self, session, data):
        """Forwards client bytes to Dovecot, honouring drop_after_bytes()."""
        drop = False
        with self._lock:
            if self._drop_budget is not None:
                if len(data) >= self._drop_budget:
                    data = data[:self._drop_budget]
                    self._drop_budget = None
                    self._drops += 1
                    drop = True
                else:
                    self._drop_budget -= len(data)
        if data:
            session.backend.sendall(data)
        if drop:
            self._note(session, "-", "<dropped by drop_after_bytes>")
            session.abort()
            self._dropped.set()
            raise _Closed()

    def _relay(self, session, pending):
        """Pure byte relay in both directions until either side closes: one thread per
        direction (so neither side can block the other), no parsing."""
        self._note(session, "-", "<relay>")
        if pending:
            self._to_backend(session, pending)
        session.pump_thread = threading.Thread(target=self._pump_to_client, args=(session,), daemon=True,
                                               name=f"kerio-frontend-{self.port}-b{session.number}")
        session.pump_thread.start()
        while True:
            data = session.client.recv(65536)
            if not data:
                return          # client closed: _serve's finally closes the backend too
            self._to_backend(session, data)

    def _pump_to_client(self, session):
        try:
            while True:
                data = session.backend.recv(65536)
                if not data:
                    break
                session.client.sendall(data)
        except OSError:
            pass
        finally:
            # Dovecot closed (or the client went away): the client sees the drop now.
            session.abort()
