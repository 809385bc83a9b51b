"""A private, throwaway OpenLDAP (slapd 2.5) server for integration tests.

    from servers.slapd import PrivateSlapd

    with PrivateSlapd() as ldap:                       # dc=example,dc=com on 127.0.0.1:ldap.port
        ldap.add_ldif(f"dn: uid=alice,{ldap.people_dn}\\nobjectClass: inetOrgPerson\\n"
                      "uid: alice\\ncn: Alice\\nsn: Alice\\n")
        for entry in ldap.search(ldap.people_dn, "(uid=alice)", ["cn", "mail"]):
            print(entry.dn, entry["cn"])

Everything (the cn=config directory, the mdb database, the pid/args files, the ldapi
socket, the log) lives in one temp dir the instance creates.  /etc/ldap and
/var/lib/ldap are never written (only the schema LDIFs in /etc/ldap/schema are read),
and the client tools run with LDAPNOINIT=1, so no ldap.conf or .ldaprc changes them.

The cn=config directory is built offline with `slapadd -n0 -F <root>/slapd.d` from an
LDIF the helper generates; the base entry and `ou=people` are loaded with `slapadd -b
<suffix>` before the server starts.  slapd then runs in the foreground (`slapd -d stats
-F <root>/slapd.d -h "ldap://127.0.0.1:<port>/ ldapi://<root>/run/ldapi"`) as our own
child in its own session, so stop() ends exactly that process.  Several instances can
run at once.

With tls=True the instance also gets a throwaway CA and server certificate: StartTLS on
the plain port and an ldaps:// listener on a second port.

slapd runs as the user running the tests (root in CI): no `-u/-g`, so there is no
privilege switch, the parent-death signal stays in force, and the same code works for
an ordinary user.  That user (matched by its uid/gid over ldapi with SASL EXTERNAL)
may also change cn=config (`config_modify`).

Python 3 standard library only.  See servers/README.md.
"""
import argparse
import base64
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

if __package__:
    from .common import HOST, KEEP_ENV, OPENSSL, ServerProcess, make_tls_files  # noqa: F401
    from .common import free_port as _free_port   # a module global: tests patch it
else:   # run as a script: python3 servers/slapd.py --serve
    from common import HOST, KEEP_ENV, OPENSSL, ServerProcess, make_tls_files  # noqa: F401
    from common import free_port as _free_port

SLAPD = os.environ.get("MAILMIG_SLAPD", "/usr/sbin/slapd")
SLAPADD = os.environ.get("MAILMIG_SLAPADD", "/usr/sbin/slapadd")
SLAPCAT = os.environ.get("MAILMIG_SLAPCAT", "/usr/sbin/slapcat")
LDAP_BIN = os.environ.get("MAILMIG_LDAP_BIN", "/usr/bin")   # ldapsearch, ldapadd, ldapmodify, ...
MODULE_PATH = os.environ.get("MAILMIG_SLAPD_MODULES", "/usr/lib/ldap")
SCHEMA_DIR = os.environ.get("MAILMIG_SLAPD_SCHEMA_DIR", "/etc/ldap/schema")
BASE_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

# LDAP result codes the helpers mention by name.
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49


class SlapdError(RuntimeError):
    """The private slapd could not be set up, started or queried.  `returncode` is the
    exit status of the failing client tool (the LDAP result code for ldapsearch and
    friends), or None."""

    def __init__(self, message, returncode=None):
        super().__init__(message)
        self.returncode = returncode


def missing_binaries():
    """Paths of required programs that are not installed (empty list when all are there)."""
    tools = [os.path.join(LDAP_BIN, t) for t in ("ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami")]
    return [p for p in (SLAPD, SLAPADD, *tools) if not os.access(p, os.X_OK)] + \
        [p for p in (os.path.join(MODULE_PATH, "back_mdb.so"),) if not os.path.exists(p)]


# slapd is started without -u/-g, so no credential change clears the parent-death
# signal (PR_SET_PDEATHSIG) that common.spawn() sets.


def ssha(password, salt=None):
    """`{SSHA}` hash of password (str or bytes), as slappasswd -h {SSHA} makes it."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    salt = secrets.token_bytes(8) if salt is None else salt
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password + salt).digest() + salt).decode("ascii")


def _split_rdn(dn):
    """('dc', 'example') for 'dc=example,dc=com' (first RDN, single-valued, unescaped)."""
    first = dn.split(",", 1)[0]
    if "=" not in first or "+" in first or "\\" in first:
        raise ValueError(f"suffix {dn!r}: the first RDN must be a plain attr=value")
    attr, value = first.split("=", 1)
    return attr.strip().lower(), value.strip()


def _base_entry_ldif(suffix):
    attr, value = _split_rdn(suffix)
    classes = {
        "dc": ["dcObject", "organization"],
        "o": ["organization"],
        "ou": ["organizationalUnit"],
        "c": ["country"],
        "l": ["locality"],
    }
    if attr not in classes:
        raise ValueError(f"suffix {suffix!r}: first RDN must be dc=, o=, ou=, c= or l=")
    lines = [f"dn: {suffix}"] + [f"objectClass: {oc}" for oc in classes[attr]] + [f"{attr}: {value}"]
    if attr == "dc":
        lines.append(f"o: {value}")
    return "\n".join(lines) + "\n"


def _ldif_value(attr, value):
    """One LDIF line; base64 (`attr:: ...`) when the value is not a safe string."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    safe = raw and all(0x20 <= b < 0x7f for b in raw) and raw[:1] not in (b" ", b":", b"<") \
        and not raw.endswith(b" ")
    if safe:
        return f"{attr}: {raw.decode('ascii')}"
    return f"{attr}:: {base64.b64encode(raw).decode('ascii')}"


def entry_ldif(dn, attrs):
    """LDIF text of one entry from a dict {attr: value or [values]} (str or bytes values)."""
    lines = [_ldif_value("dn", dn)]
    for attr, values in attrs.items():
        if isinstance(values, (str, bytes)):
            values = [values]
        lines += [_ldif_value(attr, v) for v in values]
    return "\n".join(lines) + "\n"


class LdapEntry(dict):
    """One search result: `dn` plus {attribute: [values]} with case-insensitive
    attribute names.  Values are str, or bytes when they are not valid UTF-8."""

    def __init__(self, dn):
        super().__init__()
        self.dn = dn

    def add(self, attr, value):
        super().setdefault(attr.lower(), []).append(value)

    def __getitem__(self, attr):
        return super().__getitem__(attr.lower())

    def __contains__(self, attr):
        return super().__contains__(attr.lower())

    def get(self, attr, default=None):
        return super().get(attr.lower(), default)

    def first(self, attr, default=None):
        values = self.get(attr)
        return values[0] if values else default

    def __repr__(self):
        return f"LdapEntry({self.dn!r}, {dict.__repr__(self)})"


def parse_ldif(text):
    """Entries of `ldapsearch -LLL -o ldif-wrap=no` output (bytes or str); `::` values are
    base64-decoded; folded lines (leading space) are joined anyway."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    entries = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = []
        for line in block.split("\n"):
            if line.startswith("#"):
                continue
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            elif line:
                lines.append(line)
        if not lines:
            continue
        entry = None
        for line in lines:
            attr, sep, rest = line.partition(":")
            if not sep:
                raise SlapdError(f"unparsable LDIF line {line!r}")
            if rest.startswith(":"):
                raw = base64.b64decode(rest[1:].strip())
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    value = raw
            else:
                value = rest[1:] if rest.startswith(" ") else rest
                value = value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
            if entry is None:
                if attr.lower() != "dn":
                    raise SlapdError(f"LDIF record does not start with dn: {line!r}")
                entry = LdapEntry(value if isinstance(value, str) else value.decode("utf-8", "replace"))
            else:
                entry.add(attr, value)
        entries.append(entry)
    return entries


def _schema_path(name):
    if os.sep in name or name.endswith(".ldif") or name.endswith(".schema"):
        return name
    return os.path.join(SCHEMA_DIR, name + ".ldif")


def schema_file_ldif(path):
    """cn=config LDIF of an OpenLDAP .schema file (slapd.conf syntax: attributetype,
    objectclass and objectidentifier statements, continued on lines that start with
    blanks), so a test can load a schema written as a .schema file, as vendors ship them."""
    name = os.path.splitext(os.path.basename(path))[0]
    statements = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                if not statements:
                    raise SlapdError(f"{path}:{lineno}: continuation line before any statement")
                statements[-1][1] += " " + line.strip()
                continue
            keyword, _, rest = line.partition(" ")
            statements.append([keyword.lower(), rest.strip()])
    attr = {"attributetype": "olcAttributeTypes", "objectclass": "olcObjectClasses",
            "objectidentifier": "olcObjectIdentifier"}
    lines = [f"dn: cn={name},cn=schema,cn=config", "objectClass: olcSchemaConfig", f"cn: {name}"]
    for keyword, text in statements:
        if keyword not in attr:
            raise SlapdError(f"{path}: unknown statement {keyword!r}")
        lines.append(f"{attr[keyword]}: {text}")
    return "\n".join(lines) + "\n"


class PrivateSlapd(ServerProcess):
    """One private slapd instance on 127.0.0.1; see the module docstring.

    Attributes (valid after start() unless noted):
      root            the temp dir (valid after construction)
      suffix          the database suffix, e.g. dc=example,dc=com
      people_dn       ou=people,<suffix> (created at start)
      admin_dn        cn=admin,<suffix> (olcRootDN), admin_password its password
      password_file   file holding exactly the admin password (mode 0600)
      port, url       ldap://127.0.0.1:<port>/
      ldapi_url       ldapi://<root>/run/ldapi (URL-encoded); SASL EXTERNAL manages cn=config
      config_dir      the slapd.d (cn=config) directory, data_dir the mdb directory
      pid, start_seconds, running
    """

    error = SlapdError

    def __init__(self, suffix="dc=example,dc=com", admin_password="Admin#Secret1", schemas=None,
                 keep=None, start_timeout=15.0, stop_timeout=10.0, log_level="stats", idle_timeout=None,
                 tls=False, base_entries=True):
        if not admin_password or "\0" in admin_password or "\n" in admin_password:
            raise ValueError("admin_password must be non-empty, without NUL or newline")
        self.suffix = suffix
        _base_entry_ldif(suffix)   # validates the suffix early
        self.people_dn = f"ou=people,{suffix}"
        self.admin_dn = f"cn=admin,{suffix}"
        self.admin_password = admin_password
        self.schemas = list(BASE_SCHEMAS) + [s for s in (schemas or []) if s not in BASE_SCHEMAS]
        self._init_process(keep, start_timeout, stop_timeout)
        self.log_level = log_level
        # olcIdleTimeout: slapd closes client connections idle this many seconds (None: never),
        # so a test can see how a client copes with a connection the server dropped.
        self.idle_timeout = idle_timeout
        # tls=True: a throwaway CA and server certificate, StartTLS on the plain port and an
        # ldaps:// listener on a second port.
        self.tls = tls
        # base_entries=False: an empty database (a test slapadds a whole dump with load_ldif()).
        self.base_entries = base_entries
        self.ldaps_port = None
        self.ldaps_url = None
        self.ca_file = self.wrong_ca_file = self.cert_file = self.key_file = None
        self.port = None
        self.url = None

        with self._building_root("mailmig-slapd-"):   # short: the ldapi socket path (root/run/ldapi)
            self.config_dir = os.path.join(self.root, "slapd.d")
            self.data_dir = os.path.join(self.root, "data")
            self.run_dir = os.path.join(self.root, "run")
            self.log_dir = os.path.join(self.root, "log")
            self.log_file = os.path.join(self.log_dir, "slapd.log")
            self.config_ldif_path = os.path.join(self.root, "config.ldif")
            self.password_file = os.path.join(self.root, "admin.pw")
            self.ldapi_path = os.path.join(self.run_dir, "ldapi")
            self.ldapi_url = "ldapi://" + urllib.parse.quote(self.ldapi_path, safe="")
            self.tls_dir = os.path.join(self.root, "tls")
            for d in (self.config_dir, self.data_dir, self.run_dir, self.log_dir, self.tls_dir):
                os.mkdir(d, 0o755)
                os.chmod(d, 0o755)
            self._write_secret(self.password_file, admin_password)
            if tls:
                self._make_tls()
            self._build_config()

    # ---------------------------------------------------------------- setup

    @staticmethod
    def _write_secret(path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    def _make_tls(self):
        """EC P-256 CA + server certificate (CN localhost, SAN DNS:localhost, IP:127.0.0.1 and
        this machine's host name), and an unrelated CA, as for servers/dovecot.py.
        libldap checks a URL host "localhost" against the local host name (it replaces it with
        the FQDN), hence the extra names."""
        names = ["localhost"]
        for name in (socket.gethostname(), socket.getfqdn()):
            if name and name not in names and all(c.isalnum() or c in ".-" for c in name):
                names.append(name)
        self.ca_file, self.wrong_ca_file, self.cert_file, self.key_file = make_tls_files(
            self.tls_dir, os.path.basename(self.root), SlapdError, names)

    def _schema_ldif(self):
        parts = []
        for name in self.schemas:
            path = _schema_path(name)
            try:
                if path.endswith(".schema"):
                    parts.append(schema_file_ldif(path))
                    continue
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise SlapdError(f"schema {name!r}: cannot read {path}: {exc}") from exc
            # Drop comments: a schema LDIF is one entry (dn: cn=<name>,cn=schema,cn=config).
            body = "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()
            parts.append(body + "\n")
        return "\n".join(parts)

    def _config_ldif(self):
        uid, gid = os.geteuid(), os.getegid()
        peer = f"gidNumber={gid}+uidNumber={uid},cn=peercred,cn=external,cn=auth"
        idle = f"olcIdleTimeout: {int(self.idle_timeout)}\n" if self.idle_timeout else ""
        tls = (f"olcTLSCACertificateFile: {self.ca_file}\nolcTLSCertificateFile: {self.cert_file}\n"
               f"olcTLSCertificateKeyFile: {self.key_file}\n") if self.tls else ""
        return f"""# Private slapd for mailmig integration tests -- generated, complete.
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {self.run_dir}/slapd.pid
olcArgsFile: {self.run_dir}/slapd.args
olcLogLevel: {self.log_level}
olcToolThreads: 1
{idle}{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_PATH}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{self._schema_ldif()}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 5000
olcAccess: {{0}}to * by dn.exact={peer} manage by * break
olcAccess: {{1}}to dn.exact="" by * read
olcAccess: {{2}}to dn.base="cn=Subschema" by * read

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact={peer} manage by * break

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {self.data_dir}
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcSuffix: {self.suffix}
olcRootDN: {self.admin_dn}
olcRootPW: {ssha(self.admin_password)}
olcLastMod: TRUE
olcDbIndex: objectClass eq
olcDbIndex: cn,uid,mail eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""

    def _build_config(self):
        with open(self.config_ldif_path, "w", encoding="utf-8") as f:
            f.write(self._config_ldif())
        self._run_tool([SLAPADD, "-n0", "-F", self.config_dir, "-l", self.config_ldif_path], "slapadd -n0")
        if not self.base_entries:
            return
        base_ldif = os.path.join(self.root, "base.ldif")
        with open(base_ldif, "w", encoding="utf-8") as f:
            f.write(_base_entry_ldif(self.suffix) + "\n"
                    + entry_ldif(self.people_dn, {"objectClass": "organizationalUnit", "ou": "people"}))
        self._run_tool([SLAPADD, "-F", self.config_dir, "-b", self.suffix, "-l", base_ldif], "slapadd -b")

    def load_ldif(self, path):
        """slapadd of an LDIF file into the (stopped) database, as an administrator
        restores a dump; raises SlapdError with slapadd's output when it refuses."""
        if self.running:
            raise SlapdError("load_ldif() is for a stopped server (slapadd)")
        return self._run_tool([SLAPADD, "-F", self.config_dir, "-b", self.suffix, "-l", path], "slapadd -l " + path)

    def dump_ldif(self, path):
        """slapcat of the database to path (a stopped or a running server: mdb reads are safe)."""
        self._run_tool([SLAPCAT, "-F", self.config_dir, "-b", self.suffix, "-l", path], "slapcat")

    def _run_tool(self, argv, what):
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        if proc.returncode != 0:
            raise SlapdError(f"{what} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}", proc.returncode)
        return proc

    # ------------------------------------------------------------ lifecycle

    def start(self):
        missing = missing_binaries()
        if missing:
            raise SlapdError("OpenLDAP is not installed (missing " + ", ".join(missing) + ")")
        t0 = time.monotonic()
        self._start_with_retries(self._launch_once, lambda exc: "Address already in use" in self.log_text()
                                 or "errno=98" in self.log_text())
        self.start_seconds = time.monotonic() - t0
        return self

    def _launch_once(self):
        self.port = _free_port()
        self.url = f"ldap://{HOST}:{self.port}/"
        listeners = [self.url, self.ldapi_url]
        if self.tls:
            self.ldaps_port = _free_port()
            while self.ldaps_port == self.port:
                self.ldaps_port = _free_port()
            self.ldaps_url = f"ldaps://{HOST}:{self.ldaps_port}/"
            listeners.append(self.ldaps_url)
        self._launch([SLAPD, "-d", self.log_level, "-F", self.config_dir, "-h", " ".join(listeners)],
                     self.log_file)

    def crash(self):
        """SIGKILL to exactly this slapd, as a crash or a pulled cable: clients see the
        connection go; the files stay, so restart() brings the same directory back."""
        if self.running:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self):
        """Starts this instance again on its own files (after crash(); a new port)."""
        self._terminate()
        self.process = None
        self.pid = None
        return self.start()

    def _wait_ready(self, deadline):
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SlapdError(f"slapd exited with status {self.process.returncode} during startup\n"
                                 + self.log_text())
            try:
                # slapd binds every listener first (and exits if a bind fails), and calls
                # listen() only once its daemon thread runs.  The ldapi socket is ours alone,
                # so once it accepts, the TCP port is this slapd's, not a racing process's.
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect(self.ldapi_path)
                self.whoami(timeout=5)   # a real admin bind: the database and the root password work
                return
            except (OSError, SlapdError, subprocess.TimeoutExpired) as exc:
                last_error = exc
            time.sleep(0.02)
        raise SlapdError(f"slapd did not answer on {self.url} within {self.start_timeout:.0f}s "
                         f"(last error: {last_error})\n" + self.log_text())

    # stop() (ServerProcess): slapd starts no helper processes, but its session (pgid ==
    # its pid) is checked anyway so that nothing of it can stay behind.

    def _kept_hint(self):
        return (f"(run again with: {SLAPD} -d {self.log_level} "
                f"-F {self.config_dir} -h ldap://{HOST}:<port>/)")

    # -------------------------------------------------------------- clients

    def _client(self, tool, args, input_text=None, bind_dn=None, password=None, check=True, timeout=60,
                sasl_external=False, tls=None, cafile=None):
        """Runs an OpenLDAP client tool against this instance.  Default identity: the admin
        (simple bind, password from password_file); sasl_external=True binds over ldapi.
        tls: None (plain), "starttls" (-ZZ) or "ldaps"; verified against cafile or ca_file."""
        env = dict(os.environ, LDAPNOINIT="1")
        argv = [os.path.join(LDAP_BIN, tool), "-o", "nettimeout=10"]
        if tls is not None:
            if not self.tls:
                raise SlapdError("this PrivateSlapd was made without tls=True")
            # LDAPNOINIT would also ignore the LDAPTLS_* variables: instead no ldap.conf, no
            # ldaprc and none of the caller's LDAP* variables.
            env = {k: v for k, v in os.environ.items() if not k.startswith("LDAP")}
            env.update(LDAPCONF="/dev/null", LDAPRC="mailmig-no-such-ldaprc",
                       LDAPTLS_CACERT=cafile or self.ca_file, LDAPTLS_REQCERT="demand")
        pw_path = None
        if sasl_external:
            argv += ["-H", self.ldapi_url, "-Y", "EXTERNAL", "-Q"]
        else:
            if tls not in (None, "starttls", "ldaps"):
                raise ValueError(f"tls must be None, 'starttls' or 'ldaps', not {tls!r}")
            argv += ["-H", self.ldaps_url if tls == "ldaps" else self.url, "-x"] + (["-ZZ"] if tls == "starttls" else [])
            if bind_dn is None:
                bind_dn, pw_path = self.admin_dn, self.password_file
                if password is not None and password != self.admin_password:
                    pw_path = None
            if bind_dn != "":
                if pw_path is None:
                    # Never on the command line (ps): a one-off 0600 file.
                    pw_path = os.path.join(self.root, f"bind-{secrets.token_hex(6)}.pw")
                    self._write_secret(pw_path, password if password is not None else "")
                argv += ["-D", bind_dn, "-y", pw_path]
        try:
            proc = subprocess.run(argv + list(args), input=(input_text or "").encode("utf-8"),
                                  capture_output=True, env=env, timeout=timeout)
        finally:
            if pw_path is not None and pw_path != self.password_file:
                try:
                    os.unlink(pw_path)
                except OSError:
                    pass
        if check and proc.returncode != 0:
            raise SlapdError(f"{tool} {' '.join(args)}: exit {proc.returncode}\n"
                             f"{proc.stderr.decode('utf-8', 'replace')}{proc.stdout.decode('utf-8', 'replace')}",
                             proc.returncode)
        return proc

    def add_ldif(self, text, bind_dn=None, password=None):
        """ldapadd of the LDIF `text` (one or more entries) as the admin (or bind_dn)."""
        self._client("ldapadd", [], input_text=text, bind_dn=bind_dn, password=password)

    def add_entry(self, dn, attrs):
        """Adds one entry from {attr: value or [values]}; values may be non-ASCII."""
        self.add_ldif(entry_ldif(dn, attrs))

    def modify_ldif(self, text, bind_dn=None, password=None):
        """ldapmodify of `text` (changetype records) as the admin (or bind_dn)."""
        self._client("ldapmodify", [], input_text=text, bind_dn=bind_dn, password=password)

    def delete(self, *dns, recursive=False):
        """ldapdelete as the admin; recursive=True also removes the subtrees (-r)."""
        if dns:
            self._client("ldapdelete", (["-r"] if recursive else []) + list(dns))

    def config_modify(self, text):
        """ldapmodify of cn=config over ldapi with SASL EXTERNAL (the peercred identity of
        the user running the tests has `manage` on cn=config)."""
        self._client("ldapmodify", [], input_text=text, sasl_external=True)

    def search(self, base=None, filter="(objectClass=*)", attrs=None, scope="sub", bind_dn=None, password=None):
        """ldapsearch -LLL -o ldif-wrap=no; returns [LdapEntry].  base defaults to the
        suffix ("" is the root DSE), scope is base|one|sub|children.  The admin sees everything (userPassword
        too); bind_dn="" searches anonymously.  A missing base gives [] (noSuchObject);
        any other failure raises SlapdError (returncode = LDAP result code)."""
        base = self.suffix if base is None else base
        args = ["-LLL", "-o", "ldif-wrap=no", "-b", base, "-s", scope, filter] + list(attrs or [])
        proc = self._client("ldapsearch", args, bind_dn=bind_dn, password=password, check=False)
        if proc.returncode == NO_SUCH_OBJECT:
            return []
        if proc.returncode != 0:
            raise SlapdError(f"ldapsearch -b {base!r} {filter}: exit {proc.returncode}\n"
                             f"{proc.stderr.decode('utf-8', 'replace')}", proc.returncode)
        return parse_ldif(proc.stdout)

    def whoami(self, bind_dn=None, password=None, timeout=15, tls=None, cafile=None):
        """ldapwhoami with a simple bind (default: the admin); returns the authzid
        ("dn:cn=admin,..."); raises SlapdError (returncode 49 for a wrong password).
        tls/cafile as for the other clients (tls=True instances only)."""
        proc = self._client("ldapwhoami", [], bind_dn=bind_dn, password=password, timeout=timeout, tls=tls,
                            cafile=cafile)
        return proc.stdout.decode("utf-8", "replace").strip()

    def can_bind(self, dn, password):
        """True when a simple bind as dn with password succeeds."""
        try:
            self.whoami(dn, password)
            return True
        except SlapdError as exc:
            if exc.returncode == INVALID_CREDENTIALS:
                return False
            raise

    def log_text(self, limit=20000):
        """slapd's own output (log level `log_level`, on stderr under -d), last `limit`
        chars, for failure messages."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - limit))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return f"(no slapd log under {self.log_dir})"
        return f"--- {self.log_file} ---\n{text}" if text else f"(empty slapd log {self.log_file})"

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<PrivateSlapd {state} url={self.url} suffix={self.suffix} root={self.root}>"


# ------------------------------------------------------------------ --serve

def serve(argv=None):
    """`python3 slapd.py --serve [--suffix S] [--admin-password P] [--schema NAME ...] [--idle-timeout N] [--tls]`:
    starts an instance, prints one line
        URL <url> BASE <people dn> ADMIN <admin dn> PWFILE <file with the admin password>
    (with --tls followed by " LDAPS <ldaps url> CA <ca pem> WRONGCA <unrelated ca pem>")
    to stdout, and runs until its stdin reaches EOF (or SIGTERM/SIGINT), then stops the
    server.  For tests in other languages that own the lifetime through a pipe."""
    parser = argparse.ArgumentParser(prog="slapd.py", description=serve.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--suffix", default="dc=example,dc=com")
    parser.add_argument("--admin-password", default="Admin#Secret1")
    parser.add_argument("--schema", action="append", default=[])
    parser.add_argument("--idle-timeout", type=int, default=None)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args(argv)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    instance = PrivateSlapd(suffix=args.suffix, admin_password=args.admin_password, schemas=args.schema,
                            idle_timeout=args.idle_timeout, tls=args.tls)
    try:
        instance.start()
        line = (f"URL {instance.url} BASE {instance.people_dn} ADMIN {instance.admin_dn} "
                f"PWFILE {instance.password_file}")
        if args.tls:
            line += f" LDAPS {instance.ldaps_url} CA {instance.ca_file} WRONGCA {instance.wrong_ca_file}"
        print(line, flush=True)
        while os.read(0, 4096):
            pass
    finally:
        instance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
