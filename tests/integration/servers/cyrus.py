"""A private, throwaway Cyrus IMAP 3.6 server for integration tests.

    from servers.cyrus import PrivateCyrus

    with PrivateCyrus(users={"alice": "Alice#Pw1"}) as cy:
        imap = cy.login("alice", "Alice#Pw1")          # imaplib.IMAP4 on 127.0.0.1:cy.imap_port
        ...
        proxied = cy.login_as("alice")                 # admin, SASL PLAIN with authzid "alice"

Everything (imapd.conf, cyrus.conf, configdirectory, spool partition, proc/lock dirs,
sasldb, telemetry logs) lives in one temp dir the instance creates.  /etc/imapd.conf,
/etc/cyrus.conf, /var/lib/cyrus, /var/spool/cyrus and /run/cyrus are never read or
written: `master` gets `-C <imapd.conf> -M <cyrus.conf>` and, because master does NOT
hand its -C on to the services it spawns, the imapd command line in cyrus.conf carries
`-C <imapd.conf>` as well.  The only service is `imap` on 127.0.0.1:<free port>; START
and EVENTS are empty and there is no DAEMON section.

The master runs in the foreground (`master -D`) as our own child in its own session,
so stop() ends exactly that process group (the master and its imapd children).
Several instances can run at once.

Users and uids:
  * as root, master drops to the `cyrus` user (group `mail`) that the Debian package
    creates (imapd.conf `cyrus_user`/`cyrus_group`); the data dirs are chowned to it.
  * as any other user, imapd.conf names the current user and group, so everything
    runs as that user.

Passwords are checked by SASL auxprop against a private sasldb (`saslpasswd2 -f`).
The admin user (imapd.conf `admins:` and `proxyservers:`) creates the `user/<name>`
mailboxes and can log in as any user with SASL PLAIN and an authzid.

Python 3 standard library only.  See servers/README.md.
"""
import grp
import imaplib
import os
import pwd
import re
import socket
import subprocess
import sys
import time

from .common import HOST, KEEP_ENV, ServerProcess, quietly  # noqa: F401
from .common import free_port as _free_port   # a module global: tests patch it

CYRUS_BIN = os.environ.get("MAILMIG_CYRUS_BIN", "/usr/lib/cyrus/bin")
MASTER = os.environ.get("MAILMIG_CYRUS_MASTER", os.path.join(CYRUS_BIN, "master"))
# Debian's cyrus-imapd conflicts with dovecot-imapd, so scripts/setup unpacks its imapd
# into /opt/mailmig/cyrus-imapd; an installed package is used when present.
_UNPACKED_IMAPD = "/opt/mailmig/cyrus-imapd/usr/lib/cyrus/bin/imapd"
IMAPD = os.environ.get("MAILMIG_CYRUS_IMAPD", _UNPACKED_IMAPD if os.path.exists(_UNPACKED_IMAPD)
                       else os.path.join(CYRUS_BIN, "imapd"))
SASLPASSWD2 = os.environ.get("MAILMIG_SASLPASSWD2", "/usr/sbin/saslpasswd2")

# Cyrus user names become mailbox names (user/<name>): keep them to a portable set.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class CyrusError(RuntimeError):
    """The private Cyrus could not be set up, started or queried."""


class _PortTaken(CyrusError):
    """Another process listens on the port chosen for this instance."""


def missing_binaries():
    """Paths of required programs that are not installed (empty list when all are there)."""
    return [p for p in (MASTER, IMAPD, SASLPASSWD2) if not os.access(p, os.X_OK)]


# PR_SET_PDEATHSIG (PDEATHSIG_PREEXEC) on the master is only effective as long as its
# credentials do not change: as root, master's switch to the cyrus user clears it
# (kernel rule), which is why there is also a watchdog.
#
# The watchdog: a tiny separate process that holds the read end of a pipe whose only
# write end stays in the test process.  When the test process dies (ctest timeout,
# SIGKILL...) the pipe reaches EOF and the watchdog ends the master's process group.
# stop() kills the watchdog before it closes the pipe, so the watchdog never signals a
# process group id that may have been recycled.
_WATCHDOG_CODE = r"""
import os, signal, sys, time
pgid = int(sys.argv[1])
try:
    while os.read(0, 4096):
        pass
except OSError:
    pass
for sig, pause in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0)):
    try:
        os.killpg(pgid, sig)
    except OSError:
        break
    time.sleep(pause)
"""


def _check_name(kind, value):
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"{kind} {value!r}: must match [a-z0-9][a-z0-9._-]* (lower case)")


def _check_password(name, password):
    if not isinstance(password, str) or not password or any(c in password for c in "\0\r\n"):
        raise ValueError(f"password of {name!r} must be a non-empty str without NUL, CR or LF")


def plain_auth(authzid, authcid, password):
    """An imaplib authenticate() callback for SASL PLAIN (authzid may be "")."""
    blob = f"{authzid}\0{authcid}\0{password}".encode()
    return lambda _challenge: blob


class PrivateCyrus(ServerProcess):
    """One private Cyrus IMAP instance on 127.0.0.1; see the module docstring.

    Attributes (valid after start() unless noted):
      root            the temp dir (valid after construction)
      config_path     imapd.conf of this instance (valid after construction)
      cyrus_conf_path cyrus.conf of this instance (written by start())
      imap_port       plain IMAP (no TLS)
      servername      the name in the greeting, also the SASL realm of the sasldb
      admin_user, admin_password
      users           {name: password}
      pid             the master's pid (= its process group)
      run_user, run_group  the account the Cyrus processes run as
      start_seconds   how long start() took
    """

    error = CyrusError
    group_grace = 0.5

    def __init__(self, users=None, admin_user="admin", admin_password="Admin#Secret1",
                 keep=None, start_timeout=15.0, stop_timeout=10.0, imapd_options=None,
                 telemetry=True):
        _check_name("admin user", admin_user)
        _check_password(admin_user, admin_password)
        if missing_binaries():
            raise CyrusError("Cyrus is not installed (missing: " + ", ".join(missing_binaries())
                             + "); run scripts/setup (it installs cyrus-common and sasl2-bin and unpacks cyrus-imapd)")
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.users = {}
        self._init_process(keep, start_timeout, stop_timeout)
        self.imapd_options = dict(imapd_options or {})
        self.telemetry = telemetry
        self.watchdog = None
        self._watchdog_fd = None
        self.imap_port = None

        # 0755: the cyrus user must reach everything below; short: unix sockets below.
        with self._building_root("mailmig-cyrus-"):
            self.servername = "mailmig-cyrus-" + os.path.basename(self.root).rsplit("-", 1)[-1].lower()
            self.config_path = os.path.join(self.root, "imapd.conf")
            self.cyrus_conf_path = os.path.join(self.root, "cyrus.conf")
            self.config_dir = os.path.join(self.root, "config")     # configdirectory
            self.spool_dir = os.path.join(self.root, "spool")       # partition-default
            self.run_dir = os.path.join(self.root, "run")           # proc, lock, pidfile
            self.sieve_dir = os.path.join(self.root, "sieve")
            self.tmp_dir = os.path.join(self.root, "tmp")           # temp_path
            self.log_dir = os.path.join(self.root, "log")
            self.telemetry_dir = os.path.join(self.config_dir, "log")
            self.stdio_log_file = os.path.join(self.log_dir, "master-stdio.log")
            self.pid_file = os.path.join(self.run_dir, "master.pid")
            self.sasldb_path = os.path.join(self.config_dir, "sasldb2")
            self._choose_identity()
            self._make_dirs()
            self._write_imapd_conf()
            self._saslpasswd(self.admin_user, self.admin_password)
            self._set_users(users or {})
            for name, password in self.users.items():
                self._saslpasswd(name, password)
                self._make_telemetry_dir(name)
            self._make_telemetry_dir(self.admin_user)

    # ---------------------------------------------------------------- setup

    def _choose_identity(self):
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                pw = pwd.getpwnam("cyrus")
            except KeyError:
                raise CyrusError("no 'cyrus' account (created by the cyrus-common package)")
            self.run_user = "cyrus"
            self.run_uid, self.run_gid = pw.pw_uid, pw.pw_gid
        else:
            self.run_uid, self.run_gid = os.geteuid(), os.getegid()
            try:
                self.run_user = pwd.getpwuid(self.run_uid).pw_name
            except KeyError:
                raise CyrusError(f"uid {self.run_uid} has no passwd entry; Cyrus needs a user name "
                                 "for cyrus_user")
        try:
            self.run_group = grp.getgrgid(self.run_gid).gr_name
        except KeyError:
            raise CyrusError(f"gid {self.run_gid} has no group entry; Cyrus needs a group name "
                             "for cyrus_group")

    def _own(self, path):
        if self.as_root:
            os.chown(path, self.run_uid, self.run_gid)

    def _make_dirs(self):
        os.mkdir(self.log_dir, 0o755)
        # What Debian's `cyrus-makedirs` would create (it only reads /etc/imapd.conf, so it is
        # not used): the configdirectory subdirs, the partition, plus our proc/lock/tmp dirs.
        subdirs = [self.config_dir, self.spool_dir, self.run_dir, self.sieve_dir, self.tmp_dir,
                   self.telemetry_dir, os.path.join(self.run_dir, "proc"),
                   os.path.join(self.run_dir, "lock")]
        subdirs += [os.path.join(self.config_dir, d)
                    for d in ("db", "socket", "msg", "user", "quota", "lock", "proc", "ptclient")]
        for d in subdirs:
            os.mkdir(d, 0o755)
            os.chmod(d, 0o755)
            self._own(d)

    def _make_telemetry_dir(self, name):
        # Cyrus writes a protocol transcript (after login) for every userid that has a
        # directory <configdirectory>/log/<userid>.
        if not self.telemetry:
            return
        path = os.path.join(self.telemetry_dir, name)
        if not os.path.isdir(path):
            os.mkdir(path, 0o755)
            self._own(path)

    def _options(self):
        opts = {
            "servername": self.servername,
            "syslog_prefix": self.servername,
            "cyrus_user": self.run_user,
            "cyrus_group": self.run_group,
            "configdirectory": self.config_dir,
            "defaultpartition": "default",
            "partition-default": self.spool_dir,
            "proc_path": os.path.join(self.run_dir, "proc"),
            "mboxname_lockpath": os.path.join(self.run_dir, "lock"),
            "temp_path": self.tmp_dir,
            "sievedir": self.sieve_dir,
            "idlesocket": os.path.join(self.config_dir, "socket", "idle"),
            "notifysocket": os.path.join(self.config_dir, "socket", "notify"),
            "lmtpsocket": os.path.join(self.config_dir, "socket", "lmtp"),
            # Folder names like Dovecot's "/" namespace: INBOX and personal folders side
            # by side, hierarchy separator "/", dots allowed in names.
            "unixhierarchysep": "yes",
            "altnamespace": "yes",
            "admins": self.admin_user,
            "proxyservers": self.admin_user,
            "allowplaintext": "yes",
            "sasl_pwcheck_method": "auxprop",
            "sasl_auxprop_plugin": "sasldb",
            "sasl_sasldb_path": self.sasldb_path,
            "sasl_mech_list": "PLAIN LOGIN",
            "failedloginpause": "0",
            "delete_mode": "immediate",
            "hashimapspool": "no",
            "umask": "022",
        }
        opts.update(self.imapd_options)
        return opts

    def _write_imapd_conf(self):
        lines = ["# Private Cyrus for mailmig integration tests -- generated, complete."]
        for key, value in self._options().items():
            if value is None:
                continue
            value = str(value)
            if "\n" in value or "\n" in key:
                raise ValueError(f"imapd.conf option {key!r}: no newlines allowed")
            lines.append(f"{key}: {value}")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.config_path, 0o644)

    def _cyrus_conf_text(self):
        return f"""# Private Cyrus for mailmig integration tests -- generated, complete.
START {{
}}
SERVICES {{
  imap cmd="{IMAPD} -C {self.config_path}" listen="{HOST}:{self.imap_port}" prefork=0 maxchild=200
}}
EVENTS {{
}}
"""

    def _saslpasswd(self, name, password, delete=False):
        args = [SASLPASSWD2, "-f", self.sasldb_path, "-u", self.servername]
        if delete:
            args += ["-d", name]
            data = None
        else:
            args += ["-c", "-p", name]
            data = password.encode()
        proc = subprocess.run(args, input=data, capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL if data is None else None)
        if proc.returncode != 0:
            raise CyrusError(f"saslpasswd2 {'-d' if delete else '-c'} {name}: exit {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
        # saslpasswd2 runs as us: make the db (and any lock file it left) readable by cyrus.
        for entry in os.listdir(self.config_dir):
            if entry.startswith("sasldb2"):
                path = os.path.join(self.config_dir, entry)
                os.chmod(path, 0o640)
                self._own(path)

    # ---------------------------------------------------------------- users

    def _set_users(self, users):
        for name, password in users.items():
            _check_name("user", name)
            _check_password(name, password)
            if name == self.admin_user:
                raise ValueError(f"{name!r} is the admin user")
            self.users[name] = password

    def add_user(self, name, password):
        """Adds a user (sasldb entry + mailbox user/<name>), or changes its password.
        Works before and after start(); before start() the mailbox is created by start()."""
        self.add_users({name: password})

    def add_users(self, users):
        new = [name for name in users if name not in self.users]
        self._set_users(users)
        for name in users:
            self._saslpasswd(name, self.users[name])
            self._make_telemetry_dir(name)
        if self.running and new:
            self._create_user_mailboxes(new)

    def remove_user(self, name):
        """Deletes the sasldb entry and the mailbox tree user/<name>."""
        if name not in self.users:
            return
        del self.users[name]
        self._saslpasswd(name, None, delete=True)
        if self.running:
            conn = self.login_admin()
            try:
                conn.setacl(self.mailbox_name(name), self.admin_user, "lrswipkxtecda")
                typ, data = conn.delete(self.mailbox_name(name))
                if typ != "OK":
                    raise CyrusError(f"DELETE {self.mailbox_name(name)}: {typ} {data}\n" + self.log_text())
            finally:
                conn.logout()

    def mailbox_name(self, user, folder=None):
        """The admin's name of a user's INBOX (user/<name>) or of one of its folders."""
        return f"user/{user}" + (f"/{folder}" if folder else "")

    def _create_user_mailboxes(self, names):
        conn = self.login_admin()
        try:
            for name in names:
                typ, data = conn.create(self.mailbox_name(name))
                if typ != "OK" and b"already exists" not in b" ".join(d or b"" for d in data).lower():
                    raise CyrusError(f"CREATE {self.mailbox_name(name)}: {typ} {data}\n" + self.log_text())
        finally:
            conn.logout()

    # ------------------------------------------------------------ lifecycle

    def start(self):
        t0 = time.monotonic()
        try:
            self._start_with_retries(self._launch_once, lambda exc: isinstance(exc, _PortTaken))
        except _PortTaken as exc:
            raise CyrusError(f"{exc}; gave up after 3 ports\n" + self.log_text())
        self._create_user_mailboxes(sorted(self.users))
        self.start_seconds = time.monotonic() - t0
        return self

    def _launch_once(self):
        self.imap_port = _free_port()
        with open(self.cyrus_conf_path, "w", encoding="utf-8") as f:
            f.write(self._cyrus_conf_text())
        os.chmod(self.cyrus_conf_path, 0o644)
        self._launch([MASTER, "-C", self.config_path, "-M", self.cyrus_conf_path, "-p", self.pid_file, "-D"],
                     self.stdio_log_file)
        self._start_watchdog()

    def _start_watchdog(self):
        read_fd, write_fd = os.pipe()
        try:
            self.watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG_CODE, str(self.pid), f"watchdog-of-{self.servername}"], stdin=read_fd,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        os.set_inheritable(write_fd, False)
        self._watchdog_fd = write_fd

    def _stop_watchdog(self):
        if self.watchdog is not None:
            if self.watchdog.poll() is None:
                self.watchdog.kill()
            self.watchdog.wait(5)
            self.watchdog = None
        if self._watchdog_fd is not None:
            os.close(self._watchdog_fd)
            self._watchdog_fd = None

    def _listen_inodes(self):
        """Socket inodes LISTENing on 127.0.0.1:imap_port (from /proc/net/tcp), or None."""
        try:
            with open("/proc/net/tcp", encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            return None
        want = f"0100007F:{self.imap_port:04X}"
        inodes = set()
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[1] == want and fields[3] == "0A":
                inodes.add(fields[9])
        return inodes

    def _master_socket_inodes(self):
        inodes = set()
        fd_dir = f"/proc/{self.pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            return None
        return inodes

    def _listener_state(self):
        """"ours" when our master holds the listening socket, "other" when another process
        does, "none" when nobody listens yet, "unknown" when /proc cannot tell."""
        listening = self._listen_inodes()
        mine = self._master_socket_inodes()
        if listening is None or mine is None:
            return "unknown"
        if listening & mine:
            return "ours"
        return "other" if listening else "none"

    def _wait_ready(self, deadline):
        """Waits for our master to listen on imap_port and for imapd's greeting.
        Raises _PortTaken when another process holds the port (Cyrus then keeps running
        without the service and reports the bind error only to syslog)."""
        last_error = None
        t0 = time.monotonic()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                hint = " (78 = EX_CONFIG: a config value was rejected)" if status == 78 else ""
                raise CyrusError(f"cyrus master exited with status {status}{hint} during startup. Cyrus "
                                 "reports the reason only to syslog, so here are its config files:\n"
                                 + self._config_files_text() + self.log_text())
            state = self._listener_state()
            if state == "other" and time.monotonic() - t0 > 1.0:
                raise _PortTaken(f"{HOST}:{self.imap_port} is held by another process")
            if state in ("ours", "unknown"):
                try:
                    with socket.create_connection((HOST, self.imap_port), timeout=5) as s, \
                            s.makefile("rb") as f:
                        greeting = f.readline()
                    if greeting.startswith(b"* OK") and self.servername.encode() in greeting:
                        return
                    last_error = f"unexpected greeting {greeting!r}"
                except OSError as exc:
                    last_error = exc
            else:
                last_error = f"listener state {state}"
            time.sleep(0.05)
        raise CyrusError(f"cyrus did not greet on {HOST}:{self.imap_port} within "
                         f"{self.start_timeout:.0f}s (last error: {last_error})\n" + self.log_text())

    def _terminate(self):
        """SIGTERM to the master, which ends its children and then itself; then the rest
        of its process group (ServerProcess), then the watchdog."""
        try:
            super()._terminate()
        finally:
            self._stop_watchdog()

    # -------------------------------------------------------------- helpers

    def log_text(self, limit=20000):
        """The master's stdout/stderr (imapd's stderr too) and the telemetry transcripts
        (last `limit` chars each).  Cyrus sends its real log to syslog, which tests do
        not see."""
        parts = []
        paths = [self.stdio_log_file]
        if os.path.isdir(self.telemetry_dir):
            for user in sorted(os.listdir(self.telemetry_dir)):
                udir = os.path.join(self.telemetry_dir, user)
                try:
                    paths += [os.path.join(udir, f) for f in sorted(os.listdir(udir))]
                except OSError:
                    pass
        for path in paths:
            try:
                with open(path, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    size = f.tell()
                    f.seek(max(0, size - limit))
                    text = f.read().decode("utf-8", errors="replace")
            except OSError:
                continue
            if text:
                parts.append(f"--- {path} ---\n{text}")
        return "\n".join(parts) if parts else f"(no cyrus output under {self.root})"

    def _config_files_text(self):
        parts = []
        for path in (self.config_path, self.cyrus_conf_path):
            try:
                with open(path, encoding="utf-8") as f:
                    parts.append(f"--- {path} ---\n{f.read()}")
            except OSError:
                pass
        return "".join(parts)

    def connect(self, timeout=10):
        """An unauthenticated imaplib.IMAP4 to 127.0.0.1:imap_port."""
        return imaplib.IMAP4(HOST, self.imap_port, timeout=timeout)

    def login(self, user, password):
        """Logged-in imaplib.IMAP4 (LOGIN command); raises imaplib.IMAP4.error on failure."""
        conn = self.connect()
        try:
            conn.login(user, password)
        except BaseException:
            quietly(conn.shutdown)
            raise
        return conn

    def login_admin(self):
        """Logged in as the admin itself (sees user/<name>/... of everybody)."""
        return self.login(self.admin_user, self.admin_password)

    def login_as(self, user, admin_password=None):
        """Logged in as `user` by the admin: AUTHENTICATE PLAIN with authzid=user."""
        conn = self.connect()
        try:
            conn.authenticate("PLAIN", plain_auth(user, self.admin_user,
                                                  self.admin_password if admin_password is None
                                                  else admin_password))
        except BaseException:
            quietly(conn.shutdown)
            raise
        return conn

    def tool(self, name, *args, check=True, timeout=60, input=None):
        """Runs a Cyrus tool from /usr/lib/cyrus/bin with `-C <this imapd.conf>`
        (e.g. tool("mbpath", "user/alice")); returns a CompletedProcess with text output.
        Run as root, the tools switch to the cyrus user by themselves."""
        proc = subprocess.run([os.path.join(CYRUS_BIN, name), "-C", self.config_path, *args],
                              capture_output=True, text=True, timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise CyrusError(f"{name} {' '.join(args)}: exit {proc.returncode}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
        return proc

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<PrivateCyrus {state} imap={self.imap_port} root={self.root}>"
