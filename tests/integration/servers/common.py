"""Plumbing shared by the private test servers in this directory.

    free_port()                  a loopback TCP port that was free a moment ago
    quietly(call, *args)         call, ignoring OSError (closing sockets that may be gone)
    set_nodelay(sock)            TCP_NODELAY, if the socket allows it
    PDEATHSIG_PREEXEC, spawn()   a child in its own session, SIGTERM when we die, output to a log
    group_alive(), kill_group(), wait_group_gone(), terminate_group()
                                 ending exactly one process group
    keep_requested(), make_root()
                                 the temp dir of an instance and MAILMIG_KEEP_SERVERS
    register_live(), forget_live()
                                 instances that an atexit hook stops
    make_tls_files()             a throwaway CA, server certificate and unrelated CA
    StartStopContext             `with x:` for objects with start()/stop()
    ServerProcess                the lifecycle of one daemon built from the pieces above

Python 3 standard library (plus the openssl CLI for make_tls_files).  See README.md.
"""
import atexit
import collections
import contextlib
import ctypes
import ctypes.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
KEEP_ENV = "MAILMIG_KEEP_SERVERS"
OPENSSL = os.environ.get("MAILMIG_OPENSSL", "/usr/bin/openssl")


# ------------------------------------------------------------------ sockets

def free_port():
    """A TCP port on HOST that was free when this returned (bound to port 0 and closed).
    Another process may take it before the server binds it, so callers retry."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def quietly(call, *args):
    """call(*args), ignoring OSError: for closing or shutting down sockets and
    connections whose peer may already be gone, e.g. quietly(sock.close)."""
    try:
        call(*args)
    except OSError:
        pass


def set_nodelay(sock):
    """Turns off Nagle's algorithm: without it, a reply sent in several writes waits
    for the client's delayed ACK (~40 ms)."""
    quietly(sock.setsockopt, socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -------------------------------------------------------- child processes

def _pdeathsig_preexec():
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    prctl = ctypes.CDLL(libc_name, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1

    def preexec():
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return preexec


# Child side of Popen: the kernel sends the child SIGTERM when the thread that started
# it dies (e.g. the test process killed by a ctest timeout), so no orphaned server keeps
# running.  A change of credentials in the child (setuid) clears it.  None without libc.
PDEATHSIG_PREEXEC = _pdeathsig_preexec()


def spawn(argv, log_path, cwd, preexec=PDEATHSIG_PREEXEC):
    """Starts argv as our child in a session of its own, so that its process group
    (pgid == its pid) holds exactly its processes.  stdin is /dev/null; stdout and
    stderr are appended to log_path, never a pipe that could fill up."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd, start_new_session=True, preexec_fn=preexec)


def group_alive(pgid):
    """True while a live (non-zombie) process of process group pgid exists.  Zombies
    are skipped: reparented children are reaped by whatever init the machine has,
    sometimes only after a while, and they hold no port or file."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def kill_group(pgid, sig):
    """Sends sig to process group pgid, if it still exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_group_gone(pgid, seconds):
    """Waits up to `seconds` for group_alive(pgid) to become false; True if it did."""
    deadline = time.monotonic() + seconds
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def terminate_group(proc, stop_timeout, grace=0.3):
    """Ends the session leader `proc` started by spawn() and everything in its group:
    SIGTERM to the leader and a wait of stop_timeout (then SIGKILL to the group); once
    the leader is gone, whatever is left in the group gets `grace` seconds, then
    SIGTERM, then after 2 s SIGKILL."""
    pgid = proc.pid
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            kill_group(pgid, signal.SIGKILL)
            proc.wait(5)
    if wait_group_gone(pgid, grace):
        return
    kill_group(pgid, signal.SIGTERM)
    if wait_group_gone(pgid, 2.0):
        return
    kill_group(pgid, signal.SIGKILL)
    wait_group_gone(pgid, 5.0)


# ---------------------------------------------------------------- temp dirs

def keep_requested(keep=None):
    """`keep` if it is given, else whether MAILMIG_KEEP_SERVERS is set (and not "0")."""
    if keep is None:
        return os.environ.get(KEEP_ENV, "") not in ("", "0")
    return keep


def make_root(prefix, short=False):
    """A new temp dir `<tmp>/<prefix>XXXXXXXX`, mode 0755 so that server processes
    running as another user reach the files below it.  short=True puts it under /tmp
    when the default temp dir has a long path, so that unix socket paths below it stay
    well under their limit of 108 bytes."""
    parent = "/tmp" if short and len(tempfile.gettempdir()) > 40 else None
    root = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        os.chmod(root, 0o755)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


# ------------------------------------------------- instances stopped at exit

_live = set()
_live_lock = threading.Lock()


def register_live(instance):
    """instance.stop() will run at interpreter exit unless forget_live(instance) ran first."""
    with _live_lock:
        _live.add(instance)


def forget_live(instance):
    with _live_lock:
        _live.discard(instance)


@atexit.register
def _stop_all_at_exit():
    with _live_lock:
        instances = list(_live)
    for instance in instances:
        try:
            instance.stop()
        except Exception as exc:  # pragma: no cover - best effort at interpreter exit
            print(f"{type(instance).__name__}: cleanup of {instance.root} failed: {exc}", file=sys.stderr)


# ---------------------------------------------------------------------- TLS

TlsFiles = collections.namedtuple("TlsFiles", "ca_file wrong_ca_file cert_file key_file")

_OPENSSL_CNF = (
    "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
    "[ca_ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[server_ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\nsubjectAltName = {san}\n"
    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid,issuer\n")


def make_tls_files(directory, tag, error=RuntimeError, dns_names=("localhost",)):
    """Throwaway TLS material made with the openssl CLI in `directory` (EC P-256, valid
    30 days, proper CA/leaf extensions): ca.pem, server.pem + server.key signed by it
    (CN localhost, SANs DNS:<each of dns_names> and IP:127.0.0.1), and wrong-ca.pem, an
    unrelated CA so that a test can show that verification fails.  `tag` goes into the
    CA names.  Returns TlsFiles; an openssl failure raises `error`."""
    def openssl(*args):
        proc = subprocess.run([OPENSSL, *args], capture_output=True, text=True, cwd=directory)
        if proc.returncode != 0:
            raise error(f"openssl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")

    san = ",".join([f"DNS:{name}" for name in dns_names] + ["IP:127.0.0.1"])
    cnf = os.path.join(directory, "openssl.cnf")
    with open(cnf, "w", encoding="ascii") as f:
        f.write(_OPENSSL_CNF.format(san=san))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def make_ca(stem, cn):
        openssl("req", "-x509", "-new", "-config", cnf, "-extensions", "ca_ext", *ec,
                "-keyout", stem + ".key", "-out", stem + ".pem", "-days", "30", "-subj", "/CN=" + cn)
        return os.path.join(directory, stem + ".pem")

    ca_file = make_ca("ca", f"mailmig test CA {tag}")
    wrong_ca_file = make_ca("wrong-ca", f"mailmig unrelated CA {tag}")
    openssl("req", "-new", "-config", cnf, *ec, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(secrets.randbits(63)), "-days", "30", "-extfile", cnf,
            "-extensions", "server_ext", "-out", "server.pem")
    return TlsFiles(ca_file, wrong_ca_file, os.path.join(directory, "server.pem"),
                    os.path.join(directory, "server.key"))


# ------------------------------------------------------------ base classes

class StartStopContext:
    """`with x:` starts x unless it was started already (and stops it again if start()
    fails), and stops it on exit.  Subclasses define start(), stop(), _has_started()."""

    def __enter__(self):
        if not self._has_started():
            try:
                self.start()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class ServerProcess(StartStopContext):
    """The lifecycle of one server daemon that runs as our child in a session of its own,
    with all its files in one temp dir (`root`).  A subclass:

      * calls _init_process() in its constructor, and fills the temp dir inside
        `with self._building_root(prefix):`;
      * defines start(), which calls _start_with_retries(launch, lost_port); launch()
        writes the config and calls _launch(argv, log_path);
      * defines _wait_ready(deadline), which raises `error` until the server answers.

    It then has running, stop() (idempotent; SIGTERM, SIGKILL after stop_timeout, then
    the rest of the process group, then the temp dir unless keep), `with`, and an atexit
    hook that stops it if the test forgets to.
    """

    error = RuntimeError   # the subclass's exception class
    group_grace = 0.3      # seconds the group may take to vanish after its leader

    def _init_process(self, keep, start_timeout, stop_timeout):
        self.keep = keep_requested(keep)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.process = None
        self.pid = None
        self.start_seconds = None
        self._stopped = False
        self._removed = False

    @contextlib.contextmanager
    def _building_root(self, prefix):
        """Creates the temp dir `root` (make_root(prefix, short=True)) for the with-block
        that fills it; if the block fails, the dir is removed again."""
        self.root = make_root(prefix, short=True)
        register_live(self)
        try:
            yield self.root
        except BaseException:
            self._remove_tree(force=True)
            raise

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def _has_started(self):
        return self.process is not None

    def _launch(self, argv, log_path, preexec=PDEATHSIG_PREEXEC):
        """Runs argv with spawn() in root; sets process and pid."""
        self.process = spawn(argv, log_path, cwd=self.root, preexec=preexec)
        self.pid = self.process.pid

    def _start_with_retries(self, launch, lost_port, attempts=3):
        """launch(), then _wait_ready().  If that raises `error` and lost_port(exc) says
        another process took a port between the probe and the bind, the server is ended
        and launch() runs again (with new ports), up to `attempts` times in all."""
        if self.process is not None:
            raise self.error(f"this {type(self).__name__} was already started")
        for attempt in range(attempts):
            launch()
            try:
                self._wait_ready(time.monotonic() + self.start_timeout)
                return
            except self.error as exc:
                retry = lost_port(exc)
                self._terminate()
                if not retry or attempt == attempts - 1:
                    raise
                self.process = None

    def _wait_ready(self, deadline):
        raise NotImplementedError

    def _terminate(self):
        if self.process is not None:
            terminate_group(self.process, self.stop_timeout, self.group_grace)

    def stop(self):
        """Ends exactly this server (SIGTERM, SIGKILL after stop_timeout, then the rest of
        its process group), then removes the temp dir unless keep=True /
        MAILMIG_KEEP_SERVERS=1.  Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._terminate()
        finally:
            forget_live(self)
            self._remove_tree()

    def _kept_hint(self):
        """What the "kept" message says after the temp dir's path."""
        return f"(config {self.config_path})"

    def _remove_tree(self, force=False):
        if self._removed:
            return
        if self.keep and not force:
            print(f"{type(self).__name__}: kept {self.root} {self._kept_hint()}", file=sys.stderr)
            return
        self._removed = True
        forget_live(self)
        shutil.rmtree(self.root, ignore_errors=True)
