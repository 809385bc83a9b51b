"""A private, throwaway Dovecot 2.3 IMAP server for integration tests.

    from servers.dovecot import PrivateDovecot

    with PrivateDovecot(users={"alice": "Alice#Pw1"}) as dc:
        imap = dc.login("alice", "Alice#Pw1")          # imaplib.IMAP4 on 127.0.0.1:dc.imap_port
        ...
        print(dc.doveadm("mailbox", "list", "-u", "alice").stdout)

Everything (config, base_dir, state, logs, certificates, users, mail) lives in one
temp dir the instance creates; nothing from /etc/dovecot is read and no system-wide
Dovecot is touched.  The daemon is run in the foreground (`dovecot -F -c CONFIG`) as
our own child in its own session, so stop() ends exactly that process tree.  Several
instances can run at once (own temp dir, base_dir and loopback ports each).

Users and uids:
  * as root, Dovecot runs the normal privilege-separated way (master as root, login
    processes as `dovenull`, internal processes as `dovecot` -- falling back to
    `nobody` if those accounts are missing) and all mail is accessed as the
    unprivileged `nobody` user and its primary group (Dovecot refuses uid 0 for
    mail); the mail tree is chowned to it.
  * as any other user, Dovecot runs entirely as that user (default_internal_user =
    default_login_user = mail uid, default_internal_group = mail gid = the current
    user and group, no chroots).

Python 3 standard library only.  See servers/README.md.
"""
import base64
import grp
import imaplib
import os
import pwd
import socket
import ssl
import subprocess
import time

from .common import HOST, KEEP_ENV, OPENSSL, ServerProcess, make_tls_files, quietly  # noqa: F401
from .common import free_port as _free_port   # a module global: tests patch it

DOVECOT = os.environ.get("MAILMIG_DOVECOT", "/usr/sbin/dovecot")
DOVEADM = os.environ.get("MAILMIG_DOVEADM", "/usr/bin/doveadm")


class DovecotError(RuntimeError):
    """The private Dovecot could not be set up, started or queried."""


def _check_name(kind, value):
    if not value or any(c in value for c in ":*\n\r\t ") or "\0" in value:
        raise ValueError(f"{kind} {value!r}: must be non-empty without ':', '*', whitespace or NUL")


class PrivateDovecot(ServerProcess):
    """One private Dovecot instance on 127.0.0.1; see the module docstring.

    Attributes (valid after start() unless noted):
      root           the temp dir (valid after construction)
      config_path    the complete dovecot.conf of this instance
      imap_port      plain IMAP + STARTTLS
      imaps_port     implicit TLS
      ca_file        PEM of the throwaway CA that signed the server certificate
                     (CN/SAN localhost, SAN IP 127.0.0.1)
      wrong_ca_file  PEM of an unrelated CA (verification against it must fail)
      master_user, master_password
      users          {name: password}
      pid            the dovecot master's pid
      mail_uid, mail_gid  the owner of all mail files
      start_seconds  how long start() took
    """

    error = DovecotError

    def __init__(self, users=None, master_user="master", master_password="Master#Secret1",
                 keep=None, start_timeout=15.0, stop_timeout=10.0, extra_config="",
                 separator="/", namespace_prefix="", mail_location=None):
        _check_name("master user", master_user)
        self.master_user = master_user.lower()
        self.master_password = master_password
        self.users = {}
        self._init_process(keep, start_timeout, stop_timeout)
        self.extra_config = extra_config
        # Hierarchy of the personal namespace: "/" and no prefix, or e.g. "." and
        # "INBOX." to behave like Courier/Cyrus-style servers.
        self.separator = separator
        self.namespace_prefix = namespace_prefix
        # Serve an existing tree instead of the instance's own mail dir, e.g.
        # "maildir:/some/tree/%d/%n/Maildir" (Dovecot variables allowed).
        self.mail_location = mail_location
        self.imap_port = None
        self.imaps_port = None
        self._passwd_mtime = 0

        # 0755: the auth process runs unprivileged and must reach the passwd-files.
        with self._building_root("mailmig-dovecot-"):
            self.config_path = os.path.join(self.root, "dovecot.conf")
            self.base_dir = os.path.join(self.root, "run")
            self.state_dir = os.path.join(self.root, "state")
            self.log_dir = os.path.join(self.root, "log")
            self.auth_dir = os.path.join(self.root, "auth")
            self.tls_dir = os.path.join(self.root, "tls")
            self.mail_root = os.path.join(self.root, "mail")
            self.log_file = os.path.join(self.log_dir, "dovecot.log")
            self.info_log_file = os.path.join(self.log_dir, "dovecot-info.log")
            self.stdio_log_file = os.path.join(self.log_dir, "dovecot-stdio.log")
            self.passwd_file = os.path.join(self.auth_dir, "users.passwd")
            self.master_passwd_file = os.path.join(self.auth_dir, "master.passwd")
            for d in (self.state_dir, self.log_dir, self.auth_dir, self.tls_dir, self.mail_root):
                os.mkdir(d, 0o755)
                os.chmod(d, 0o755)
            self._choose_identities()
            if os.geteuid() == 0:
                os.chown(self.mail_root, self.mail_uid, self.mail_gid)
            self._make_tls()
            self._write_passwd(self.master_passwd_file, {self.master_user: self.master_password})
            self._set_users(users or {})
            self._write_users()

    # ---------------------------------------------------------------- setup

    def _choose_identities(self):
        self.as_root = os.geteuid() == 0
        if self.as_root:
            def existing(name, fallback):
                try:
                    pwd.getpwnam(name)
                    return name
                except KeyError:
                    return fallback
            try:
                nobody = pwd.getpwnam("nobody")
                self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
            except KeyError:
                self.mail_uid = self.mail_gid = 65534
            self.internal_user = existing("dovecot", "nobody")
            self.login_user = existing("dovenull", "nobody")
            self.internal_group = None   # Dovecot's default ("dovecot")
            try:
                grp.getgrnam("dovecot")
            except KeyError:
                self.internal_group = grp.getgrgid(self.mail_gid).gr_name
        else:
            self.mail_uid, self.mail_gid = os.geteuid(), os.getegid()
            try:
                name = pwd.getpwuid(self.mail_uid).pw_name
            except KeyError:
                raise DovecotError(f"uid {self.mail_uid} has no passwd entry; Dovecot needs a user name "
                                   "for default_internal_user/default_login_user")
            self.internal_user = self.login_user = name
            try:
                self.internal_group = grp.getgrgid(self.mail_gid).gr_name
            except KeyError:
                raise DovecotError(f"gid {self.mail_gid} has no group entry; Dovecot needs a group name "
                                   "for default_internal_group")

    def _make_tls(self):
        self.ca_file, self.wrong_ca_file, self.cert_file, self.key_file = make_tls_files(
            self.tls_dir, os.path.basename(self.root), DovecotError)

    @staticmethod
    def _norm(name):
        _check_name("user", name)
        # Dovecot's default auth_username_format is %Lu: user names are case-insensitive.
        return name.lower()

    def _write_passwd(self, path, users):
        # {PLAIN.B64}: any password (':' included) survives the ':'-separated format.
        lines = "".join(f"{name}:{{PLAIN.B64}}{base64.b64encode(pw.encode()).decode()}\n"
                        for name, pw in sorted(users.items()))
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(lines)
        os.chmod(tmp, 0o644)
        # Dovecot 2.3 reloads a passwd-file when its mtime (whole seconds) or size changed:
        # give every version a distinct mtime, even several writes within one second.
        now = time.time()
        stamp = max(int(now), self._passwd_mtime + 1)
        self._passwd_mtime = stamp
        os.utime(tmp, (stamp, stamp))
        os.replace(tmp, path)
        return now

    def _write_users(self):
        written = self._write_passwd(self.passwd_file, self.users)
        if self.running:
            # The auth process stats the file at most once per (ioloop) second: step past
            # the wall-clock second of this write so the next lookup is sure to see it.
            time.sleep(max(0.0, int(written) + 1.02 - time.time()))

    def add_user(self, name, password):
        """Adds (or re-passwords) a user; works before and after start()."""
        self.add_users({name: password})

    def add_users(self, users):
        """Adds (or re-passwords) several users with a single rewrite of the passwd-file."""
        self._set_users(users)
        self._write_users()

    def _set_users(self, users):
        for name, password in users.items():
            if not isinstance(password, str) or "\0" in password:
                raise ValueError(f"password of {name!r} must be a str without NUL")
            self.users[self._norm(name)] = password

    def remove_user(self, name):
        self.users.pop(self._norm(name), None)
        self._write_users()

    def _config_text(self):
        r = self.root
        chroot_off = ""
        if not self.as_root:
            chroot_off = "".join(f"service {s} {{\n  chroot =\n}}\n" for s in (
                "anvil", "aggregator", "director", "imap-urlauth-login"))
        return f"""# Private Dovecot for mailmig integration tests -- generated, complete, includes nothing.
instance_name = mailmig-{os.path.basename(r).rsplit('-', 1)[-1]}
base_dir = {self.base_dir}
state_dir = {self.state_dir}
log_path = {self.log_file}
info_log_path = {self.info_log_file}
debug_log_path = {self.info_log_file}
protocols = imap
listen = {HOST}
verbose_proctitle = yes

default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
{f"default_internal_group = {self.internal_group}" if self.internal_group else ""}
first_valid_uid = {self.mail_uid}
last_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
last_valid_gid = {self.mail_gid}

ssl = yes
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
auth_verbose = yes
auth_cache_size = 0

passdb {{
  driver = passwd-file
  args = {self.master_passwd_file}
  master = yes
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = {self.passwd_file}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.mail_root}/%u
}}

mail_location = {self.mail_location or f"maildir:{self.mail_root}/%u/Maildir"}
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = {self.separator}
  prefix = {self.namespace_prefix}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.imaps_port}
    ssl = yes
  }}
{"  chroot =" if not self.as_root else ""}
}}
{chroot_off}
# No anvil auth penalty (2..15 s delays for every login from an IP after a failed one,
# which makes wrong-password tests slow and flaky): the auth process finds no
# anvil-auth-penalty socket and runs without penalties.
service anvil {{
  unix_listener anvil-auth-penalty {{
    path = anvil-auth-penalty-disabled
  }}
}}

protocol imap {{
  mail_max_userip_connections = 100
}}
{self.extra_config}
"""

    # ------------------------------------------------------------ lifecycle

    def start(self):
        t0 = time.monotonic()
        self._start_with_retries(self._launch_once,
                                 lambda exc: "Address already in use" in self.log_text())
        self.start_seconds = time.monotonic() - t0
        return self

    def _launch_once(self):
        self.imap_port = _free_port()
        self.imaps_port = _free_port()
        while self.imaps_port == self.imap_port:
            self.imaps_port = _free_port()
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self._config_text())
        self._launch([DOVECOT, "-F", "-c", self.config_path], self.stdio_log_file)

    def _wait_ready(self, deadline):
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DovecotError(f"dovecot exited with status {self.process.returncode} during startup\n"
                                   + self.log_text())
            try:
                with socket.create_connection((HOST, self.imap_port), timeout=2) as s:
                    greeting = s.makefile("rb").readline()
                if greeting.startswith(b"* OK"):
                    return
                last_error = f"unexpected greeting {greeting!r}"
            except OSError as exc:
                last_error = exc
            time.sleep(0.05)
        raise DovecotError(f"dovecot did not greet on {HOST}:{self.imap_port} within "
                           f"{self.start_timeout:.0f}s (last error: {last_error})\n" + self.log_text())

    # stop() (ServerProcess): after the master, it also ends what is left in its process
    # group: Dovecot 2.3 leaves mail processes of open sessions (and the log/stats
    # processes serving them) running.

    # -------------------------------------------------------------- helpers

    def log_text(self, limit=20000):
        """All of this instance's log files (last `limit` chars each), for failure messages."""
        parts = []
        for path in (self.stdio_log_file, self.log_file, self.info_log_file):
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if text:
                parts.append(f"--- {path} ---\n{text[-limit:]}")
        return "\n".join(parts) if parts else f"(no dovecot logs under {self.log_dir})"

    def maildir_path(self, user):
        return os.path.join(self.mail_root, self._norm(user), "Maildir")

    def ssl_context(self, cafile=None):
        """A verifying client context trusting `cafile` (default: this instance's CA)."""
        return ssl.create_default_context(cafile=cafile or self.ca_file)

    def connect(self, tls=None, cafile=None, timeout=10):
        """An unauthenticated imaplib connection to 127.0.0.1.
        tls: None (plain imap_port), "starttls" (imap_port + STARTTLS) or "imaps" (imaps_port)."""
        if tls is None:
            return imaplib.IMAP4(HOST, self.imap_port, timeout=timeout)
        ctx = self.ssl_context(cafile)
        if tls == "imaps":
            return imaplib.IMAP4_SSL(HOST, self.imaps_port, ssl_context=ctx, timeout=timeout)
        if tls == "starttls":
            conn = imaplib.IMAP4(HOST, self.imap_port, timeout=timeout)
            try:
                conn.starttls(ssl_context=ctx)
            except BaseException:
                quietly(conn.shutdown)
                raise
            return conn
        raise ValueError(f"tls must be None, 'starttls' or 'imaps', not {tls!r}")

    def login(self, user, password, tls=None):
        """Logged-in imaplib.IMAP4 (LOGIN command); raises imaplib.IMAP4.error on failure."""
        conn = self.connect(tls)
        try:
            conn.login(user, password)
        except BaseException:
            quietly(conn.shutdown)
            raise
        return conn

    def login_master(self, user, tls=None):
        """Logged in as `user` via the master user (LOGIN user*master)."""
        return self.login(f"{user}*{self.master_user}", self.master_password, tls)

    def doveadm(self, *args, check=True, timeout=60, input=None):
        """Runs `doveadm -c <this config> ARGS...`; returns CompletedProcess (text)."""
        proc = subprocess.run([DOVEADM, "-c", self.config_path, *args], capture_output=True, text=True,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)}: exit {proc.returncode}\nstdout:\n{proc.stdout}\n"
                               f"stderr:\n{proc.stderr}\n{self.log_text()}")
        return proc

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<PrivateDovecot {state} imap={self.imap_port} imaps={self.imaps_port} root={self.root}>"
