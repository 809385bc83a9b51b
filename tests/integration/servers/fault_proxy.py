"""A fault-injecting TCP proxy for IMAP, between mailmig and a real server.

    with FaultProxy(upstream_port, seed=7, plan=reset_after(200_000, 400_000)) as proxy:
        ... --target imap://127.0.0.1:{proxy.port} ...
        proxy.injected   # what it did, one line per fault
        proxy.describe() # "seed 7: ..." for failure messages

Each accepted connection gets its own random.Random(f"{seed}/{n}") (n = the
connection's number, from 0), so a schedule depends only on the seed and the
order of connections, not on thread timing (mailmig --jobs 1 makes that order
repeatable).  `plan(rng, n)` returns the Fault of that connection, or None;
with budget=K only the first K planned faults that are reached fire:

    Fault("reset", "c2s", at)     forward `at` bytes client->server, then RST both sides
    Fault("reset", "s2c", at)     the same, server->client
    Fault("stall", dir, at, secs) forward `at` bytes, then nothing for `secs` seconds (a path
                                  that stops delivering).  The bytes held back stand for the
                                  client's unsent queue: if the client resets the connection
                                  meanwhile they are dropped, as its kernel would; if it closes
                                  normally they still reach the server afterwards, as an
                                  orphaned socket's queue does
    Fault("truncate", "s2c", at)  forward `at` bytes of the server's answers, then close both (FIN)
    Fault("halfclose", "s2c", at) forward `at` bytes, then shutdown(SHUT_WR) towards the client:
                                  it reads EOF while its writes still reach the server

`injections` are Inject rules on whole IMAP commands (literals are followed,
so a MULTIAPPEND is one command): the first `times` commands whose first line
matches `pattern` are answered by the proxy instead of the server -- the
command is changed so that the server does nothing (a plain command becomes
NOOP, an APPEND goes to a mailbox that does not exist), and the server's tagged
answer is replaced by `TAG <answer>`; with bye=True the proxy sends
`* BYE <answer>` instead and closes both sides.

STARTTLS is removed from the server's capabilities so that the proxy sees the
protocol (mailmig allows plain text to a loopback address; its TLS checks have
their own test).

With imap=False (LDAP, HTTP) the bytes are forwarded as they arrive, not cut
into IMAP lines (injections and STARTTLS stripping need imap=True); the byte
faults work the same.  reset_answer_to=REGEX resets the connection (RST both
sides) instead of forwarding the server's first bytes after a request whose
client bytes match REGEX (reset_answer_times times in all, 1 by default): the
server carried the request out, the client never learns it -- the case where
a retry must not do it twice.

Standard library only; stop() closes exactly the sockets it opened and joins
exactly the threads it started.
"""
import collections
import errno
import random
import re
import socket
import struct
import sys
import threading

from servers.common import HOST, StartStopContext, quietly, set_nodelay

Fault = collections.namedtuple("Fault", "kind direction at seconds", defaults=(0.0,))


def _bytes(text):
    return text.encode() if isinstance(text, str) else text


class Inject:
    """Answer the first `times` commands matching `pattern` (None: every one) on
    connections where an earlier client line matched `after` (e.g. the LOGIN of
    one account; None: on every connection)."""

    def __init__(self, pattern, answer, times=1, bye=False, after=None):
        self.pattern = re.compile(_bytes(pattern))
        self.after = re.compile(_bytes(after)) if after is not None else None
        self.answer = _bytes(answer)
        self.times = times
        self.bye = bye


VOID_MAILBOX = b'"mailmig-fault-proxy-void"'
_LITERAL_END = re.compile(rb"\{(\d+)\+?\}\r\n$")
_APPEND = re.compile(rb'^(\S+ (?:UID )?APPEND )("(?:[^"\\]|\\.)*"|[^ \r\n{]+)(.*)$', re.S | re.I)
_CAPS = re.compile(rb"^\* (?:OK \[CAPABILITY |CAPABILITY )", re.I)


class _Splitter:
    """Cuts an IMAP byte stream into ("line", bytes incl. CRLF) and ("literal", bytes)
    pieces; `first` says whether a line starts a new command/response."""

    def __init__(self):
        self.buf = b""
        self.literal_left = 0
        self.first = True

    def feed(self, data):
        self.buf += data
        while self.buf:
            if self.literal_left:
                piece, self.buf = self.buf[:self.literal_left], self.buf[self.literal_left:]
                self.literal_left -= len(piece)
                yield "literal", piece, False
                continue
            end = self.buf.find(b"\r\n")
            if end < 0:
                return
            line, self.buf = self.buf[:end + 2], self.buf[end + 2:]
            first = self.first
            m = _LITERAL_END.search(line)
            self.literal_left = int(m.group(1)) if m else 0
            self.first = m is None
            yield "line", line, first


class _Connection:
    def __init__(self, proxy, number, client, server, fault):
        self.proxy = proxy
        self.number = number
        self.client = client
        self.server = server
        self.fault = fault
        self.sent = {"c2s": 0, "s2c": 0}
        self.replace = {}  # tag -> answer replacing the server's tagged response
        self.armed = set()  # Inject rules whose `after` matched on this connection
        self.halfclosed = False
        self.requested = b""  # client bytes since the last answer (reset_answer_to)
        self.reset_on_answer = None
        self.closed = threading.Event()
        self.lock = threading.Lock()

    def note(self, text):
        self.proxy._note(f"conn {self.number}: {text}")

    def close(self, reset=False):
        with self.lock:
            if self.closed.is_set():
                return
            self.closed.set()
        self.proxy._closed(self)
        for s in (self.client, self.server):
            if reset:  # linger 0: close() sends RST; SHUT_RD wakes the other pump's recv()
                quietly(s.setsockopt, socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                quietly(s.shutdown, socket.SHUT_RD)
            else:
                quietly(s.shutdown, socket.SHUT_RDWR)
            quietly(s.close)

    def send(self, direction, data):
        """Forwards data in `direction`, applying this connection's fault at its byte."""
        out = self.server if direction == "c2s" else self.client
        if direction == "s2c" and self.reset_on_answer is not None:
            self.note(f"reset instead of the answer to a request matching {self.reset_on_answer!r}")
            self.close(reset=True)
            raise OSError("fault: reset before the answer")
        if direction == "c2s" and self.proxy.reset_answer_to is not None:
            self.requested = (self.requested + data)[-65536:]
            if self.proxy.reset_answer_to.search(self.requested) and self.proxy._take_answer_reset():
                self.reset_on_answer = self.proxy.reset_answer_to.pattern.decode("utf-8", "replace")
        f = self.fault
        if f is not None and f.direction == direction and self.sent[direction] + len(data) >= f.at:
            if not self.proxy._take_budget():
                self.fault = f = None
        if f is not None and f.direction == direction and self.sent[direction] + len(data) >= f.at:
            head = f.at - self.sent[direction]
            out.sendall(data[:head])
            self.sent[direction] += head
            data = data[head:]
            self.fault = None
            if f.kind == "reset":
                self.note(f"reset after {f.at} bytes {direction}")
                self.close(reset=True)
                raise OSError("fault: reset")
            if f.kind == "truncate":
                self.note(f"truncated after {f.at} bytes {direction}")
                self.close()
                raise OSError("fault: truncated")
            if f.kind == "halfclose":
                self.note(f"half-closed towards the client after {f.at} bytes {direction}")
                quietly(self.client.shutdown, socket.SHUT_WR)
                self.halfclosed = True
                return
            if f.kind == "stall":
                self.note(f"stalled {f.seconds} s after {f.at} bytes {direction}")
                if self.proxy._stopping.wait(f.seconds) or self.closed.is_set():
                    raise OSError("fault: stopped while stalled")
                if direction == "c2s" and self._client_aborted():
                    # The held bytes were the client's unsent queue: an abortive close drops them.
                    self.note(f"client reset during the stall: {len(data)} held bytes dropped")
                    self.close(reset=True)
                    raise OSError("fault: client reset while stalled")
        if self.halfclosed and direction == "s2c":
            return
        out.sendall(data)
        self.sent[direction] += len(data)

    def _client_aborted(self):
        # An RST sets the socket's error even while unread bytes wait in front of it.
        if self.client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET:
            return True
        try:
            self.client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:  # ECONNRESET: the client closed with RST
            return True
        return False

    # ---- client -> server: commands, maybe answered by the proxy
    def pump_c2s(self):
        splitter = _Splitter()
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    quietly(self.server.shutdown, socket.SHUT_WR)
                    return
                if not self.proxy.imap:
                    self.send("c2s", data)
                    continue
                for kind, piece, first in splitter.feed(data):
                    if kind == "line" and first:
                        piece = self.inject(piece)
                        if piece is None:
                            return
                    self.send("c2s", piece)
        except OSError:
            pass
        finally:
            self.close()

    def inject(self, line):
        for rule in self.proxy.injections:
            if rule.after is not None and id(rule) not in self.armed:
                if rule.after.search(line):
                    self.armed.add(id(rule))
                continue
            with self.proxy._lock:
                if rule.times == 0 or not rule.pattern.search(line):
                    continue
                if rule.times is not None:
                    rule.times -= 1
            tag = line.split(b" ", 1)[0]
            shown = line[:80].decode("utf-8", "replace").strip()
            if rule.bye:
                self.note(f"BYE {rule.answer.decode()} instead of {shown!r}")
                quietly(self.client.sendall, b"* BYE " + rule.answer + b"\r\n")
                self.close()
                return None
            self.replace[tag] = rule.answer
            self.note(f"{tag.decode()} {rule.answer.decode()} instead of {shown!r}")
            m = _APPEND.match(line)
            if m:
                return m.group(1) + VOID_MAILBOX + m.group(3)
            return tag + b" NOOP\r\n"
        return line

    # ---- server -> client: answers, STARTTLS removed, tagged answers replaced
    def pump_s2c(self):
        splitter = _Splitter()
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    return
                if not self.proxy.imap:
                    self.send("s2c", data)
                    continue
                for kind, piece, first in splitter.feed(data):
                    if kind == "line" and first:
                        piece = self.rewrite(piece)
                    self.send("s2c", piece)
        except OSError:
            pass
        finally:
            self.close()

    def rewrite(self, line):
        if _CAPS.match(line):
            return re.sub(rb" STARTTLS\b", b"", line)
        tag = line.split(b" ", 1)[0]
        answer = self.replace.pop(tag, None)
        if answer is not None:
            return tag + b" " + answer + b"\r\n"
        return line


class FaultProxy(StartStopContext):
    def __init__(self, upstream_port, seed, plan=None, injections=(), upstream_host=HOST, budget=None, imap=True,
                 reset_answer_to=None, reset_answer_times=1):
        self.upstream = (upstream_host, upstream_port)
        self.imap = imap
        self.reset_answer_to = re.compile(_bytes(reset_answer_to)) if reset_answer_to is not None else None
        self.reset_answer_times = reset_answer_times
        self.budget = budget  # at most this many planned faults fire (None: all)
        self.seed = seed
        self.plan = plan or (lambda rng, n: None)
        self.injections = list(injections)
        self.injected = []
        self.traffic = []  # bytes forwarded per closed connection
        self.connections = 0
        self.port = None
        self._listener = None
        self._threads = []
        self._conns = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def _has_started(self):
        return self._listener is not None

    def _note(self, text):
        with self._lock:
            self.injected.append(text)

    def _take_budget(self):
        with self._lock:
            if self.budget is None:
                return True
            if self.budget == 0:
                return False
            self.budget -= 1
            return True

    def _take_answer_reset(self):
        with self._lock:
            if self.reset_answer_times <= 0:
                return False
            self.reset_answer_times -= 1
            return True

    def _closed(self, conn):
        with self._lock:
            self.traffic.append(f"conn {conn.number}: {conn.sent['c2s']} bytes c2s, {conn.sent['s2c']} s2c")

    def describe(self):
        with self._lock:
            lines = list(self.injected)
            traffic = sorted(self.traffic, key=lambda t: int(t.split()[1].rstrip(":")))
        return (f"fault proxy seed {self.seed}, {self.connections} connections, {len(lines)} faults:\n  " +
                "\n  ".join(lines) + "\n traffic:\n  " + "\n  ".join(traffic))

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)

    def _spawn(self, target):
        t = threading.Thread(target=target, daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError:
                quietly(client.close)
                continue
            set_nodelay(client)
            set_nodelay(server)
            with self._lock:
                number = self.connections
                self.connections += 1
            fault = self.plan(random.Random(f"{self.seed}/{number}"), number)
            conn = _Connection(self, number, client, server, fault)
            with self._lock:
                self._conns.append(conn)
            if self._stopping.is_set():
                conn.close()
                return
            self._spawn(conn.pump_c2s)
            self._spawn(conn.pump_s2c)

    def stop(self):
        if self._listener is None or self._stopping.is_set():
            return
        self._stopping.set()
        quietly(self._listener.shutdown, socket.SHUT_RDWR)
        quietly(self._listener.close)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.close()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(10)
            if t.is_alive():
                print(f"FaultProxy (seed {self.seed}): a thread did not end", file=sys.stderr)


# ---------------------------------------------------------------- schedules

def reset_after(low, high, direction="c2s"):
    """Every connection reset after a random number of bytes in [low, high]."""
    return lambda rng, n: Fault("reset", direction, rng.randint(low, high))


def random_resets(share, c2s_max, s2c_max):
    """`share` of the connections reset at a random offset in a random direction
    (up to c2s_max bytes sent by the client, s2c_max by the server)."""
    def plan(rng, n):
        if rng.random() >= share:
            return None
        direction = rng.choice(("c2s", "s2c"))
        return Fault("reset", direction, rng.randint(0, c2s_max if direction == "c2s" else s2c_max))
    return plan
