"""A private, throwaway OpenSSH server (sshd) for integration tests.

    from servers.sshd import PrivateSshd

    with PrivateSshd() as ssh:          # 127.0.0.1:ssh.port, user ssh.user
        ssh.key_file                    # private key the server accepts (ed25519, no passphrase)
        ssh.known_hosts                 # a known_hosts file holding the server's host key
        ssh.fingerprint                 # "SHA256:..." of the host key
        ssh.session_pids()              # the per-connection sshd processes (to kill one)
        ssh.sftp_log_text()             # what sftp-server logged (VERBOSE: opendir, open, ...)

Everything (host key, client keys, authorized_keys, sshd_config, the pid file, the logs)
lives in one temp dir.  /etc/ssh is never read for configuration (-f points at ours)
and never written.  sshd runs in the foreground (-D -e) as our child in its own
session and logs to a file; it accepts public keys only (root too: CI runs as root,
PermitRootLogin prohibit-password), StrictModes no (the temp dir belongs to the test),
no PAM.  The SFTP subsystem is Debian's sftp-server run through a small wrapper that
appends its VERBOSE log to sftp.log, so a test can react to what the client reads.

sshd insists on its privilege-separation directory (/run/sshd) when run as root; it is
created (empty, mode 0755, as the openssh-server package does) if missing.

Python 3 standard library plus the openssh-server and openssh-client packages.
"""
import os
import pwd
import socket
import subprocess
import time

if __package__:
    from .common import HOST, ServerProcess
    from .common import free_port as _free_port
else:
    from common import HOST, ServerProcess
    from common import free_port as _free_port

SSHD = os.environ.get("MAILMIG_SSHD", "/usr/sbin/sshd")
SSH_KEYGEN = os.environ.get("MAILMIG_SSH_KEYGEN", "/usr/bin/ssh-keygen")
SFTP_SERVER = os.environ.get("MAILMIG_SFTP_SERVER", "/usr/lib/openssh/sftp-server")


class SshdError(RuntimeError):
    """The private sshd could not be set up or started."""


def missing_binaries():
    return [p for p in (SSHD, SSH_KEYGEN, SFTP_SERVER) if not os.access(p, os.X_OK)]


def keygen(path, comment="mailmig-test"):
    """A new ed25519 key pair without passphrase at path / path.pub; returns path."""
    proc = subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SshdError(f"ssh-keygen failed: {proc.stderr}")
    return path


def fingerprint_of(pub_path):
    """The SHA256 fingerprint of a public key file ("SHA256:...")."""
    proc = subprocess.run([SSH_KEYGEN, "-l", "-E", "sha256", "-f", pub_path], capture_output=True, text=True,
                          check=True)
    return proc.stdout.split()[1]


class PrivateSshd(ServerProcess):
    error = SshdError

    def __init__(self, keep=None, start_timeout=20, stop_timeout=5):
        self._init_process(keep, start_timeout, stop_timeout)
        self.port = None
        self.user = pwd.getpwuid(os.getuid()).pw_name
        with self._building_root("mailmig-sshd-") as root:
            self.host_key = keygen(os.path.join(root, "ssh_host_ed25519_key"), "mailmig-test-host")
            self.key_file = keygen(os.path.join(root, "client_key"), "mailmig-test-client")
            self.other_key_file = keygen(os.path.join(root, "other_key"), "mailmig-test-unauthorised")
            for path in (self.key_file, self.other_key_file):
                os.chmod(path, 0o600)
            self.authorized_keys = os.path.join(root, "authorized_keys")
            with open(self.key_file + ".pub", encoding="ascii") as src, \
                    open(self.authorized_keys, "w", encoding="ascii") as dst:
                dst.write(src.read())
            self.fingerprint = fingerprint_of(self.host_key + ".pub")
            self.config_path = os.path.join(root, "sshd_config")
            self.log_file = os.path.join(root, "sshd.log")
            self.sftp_log = os.path.join(root, "sftp.log")
            self.pid_file = os.path.join(root, "sshd.pid")
            self.known_hosts = os.path.join(root, "known_hosts")
            self.sftp_wrapper = os.path.join(root, "sftp-server")
            with open(self.sftp_wrapper, "w", encoding="ascii") as f:
                f.write(f"#!/bin/sh\nexec {SFTP_SERVER} -e -l VERBOSE 2>>{self.sftp_log}\n")
            os.chmod(self.sftp_wrapper, 0o755)

    def _config(self):
        return "\n".join([
            f"Port {self.port}",
            f"ListenAddress {HOST}",
            f"HostKey {self.host_key}",
            f"PidFile {self.pid_file}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "MaxStartups 100",
            "MaxSessions 100",
            "LogLevel VERBOSE",
            f"Subsystem sftp {self.sftp_wrapper}",
            "",
        ])

    def start(self):
        missing = missing_binaries()
        if missing:
            raise SshdError("OpenSSH is not installed (missing " + ", ".join(missing) + ")")
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        t0 = time.monotonic()
        self._start_with_retries(self._launch_once, lambda exc: "Address already in use" in self.log_text())
        self.start_seconds = time.monotonic() - t0
        return self

    def _launch_once(self):
        self.port = _free_port()
        with open(self.config_path, "w", encoding="ascii") as f:
            f.write(self._config())
        with open(self.host_key + ".pub", encoding="ascii") as f:
            key_type, key = f.read().split()[:2]
        with open(self.known_hosts, "w", encoding="ascii") as f:
            f.write(f"[{HOST}]:{self.port} {key_type} {key}\n")
        self._launch([SSHD, "-D", "-e", "-f", self.config_path], self.log_file)

    def _wait_ready(self, deadline):
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SshdError(f"sshd exited with status {self.process.returncode} during startup\n"
                                + self.log_text())
            try:
                with socket.create_connection((HOST, self.port), timeout=2) as s:
                    banner = s.recv(256)
                if banner.startswith(b"SSH-2.0-") and "Server listening" in self.log_text():
                    return
                last = banner
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise SshdError(f"sshd did not answer on {HOST}:{self.port} ({last})\n" + self.log_text())

    def session_pids(self):
        """PIDs of the per-connection sshd processes (children of the listener)."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.pid and fields[0] not in (b"Z", b"X"):
                out.append(int(entry))
        return out

    def log_text(self, limit=20000):
        return _tail(self.log_file, limit)

    def sftp_log_text(self, limit=10_000_000):
        return _tail(self.sftp_log, limit)

    def _kept_hint(self):
        return f"(config {self.config_path})"


def _tail(path, limit):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
