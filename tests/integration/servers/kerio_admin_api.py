"""NOT Kerio Connect: a protocol-faithful test stand-in for the Administration API methods mailmig uses.

Kerio Connect cannot be installed in the test environment, so this small HTTPS
server speaks the part of the Kerio Connect Administration API (JSON-RPC 2.0 at
``/admin/api/jsonrpc/``, see docs/protocols.md#kerio-administration-api)
that mailmig's Kerio provisioner calls:

    Session.login  {userName, password, application:{name, vendor, version}}
                   -> {"token": T}, plus session cookies (Set-Cookie)
    Domains.get    {query:{fields, conditions:[{fieldName:"name", comparator:"Eq", value}], start, limit}}
                   -> {"list":[{"id", "name"}], "totalItems": n}
    Users.get      {query:{... fieldName:"loginName" ...}, domainId}
                   -> {"list":[{"id", "loginName", ...}], "totalItems": n}
    Users.create   {users:[{loginName, fullName, password, domainId, authType, isEnabled}]}
                   -> {"errors":[{inputIndex, code, message, messageParameters}], "result":[{inputIndex, id}]}
    Session.logout {} -> {}

Every call but Session.login needs BOTH the ``X-Token`` header and the session
cookies of one live session; otherwise it gets the JSON-RPC error
``-32001 "Session expired."`` (the code and text of kerio::web::ApiException in
Kerio's API reference).  Facts and their sources:

- Query syntax (fields/conditions/comparator "Eq"/combining/start/limit -1),
  opaque ids, the ``error`` object: http://manuals.kerio.com/connect/api/en/details/index.html
- kerio::web::Error {inputIndex, code, message with %1 placeholders,
  messageParameters{positionalParameters, plurality}}, create() returning
  ``errors`` + ``result`` (CreateResultList), code 1001 "... %1 already exists.",
  8001 "... wrong parameters.": manuals.gfi.com Kerio API reference
  (structkerio_1_1web_1_1_error.html, UserGroups.create).
- "Username or password is not correct." for a failed Session.login: GFI
  support article "Application Passwords Do Not Work With the Kerio Connect
  JSON-RPC API".  The numeric code for it (-32000 here) is NOT verified.
- The cookie names (SESSION_CONNECT_WEBADMIN, TOKEN_CONNECT_WEBADMIN) are
  stand-ins, not verified against a real server.

Usage in Python:

    from servers.kerio_admin_api import KerioAdminApiTestServer
    with KerioAdminApiTestServer(admin_user="admin", admin_password="Admin#Pw1",
                                 domains=["example.com"]) as kerio:
        ... kerio.url ("https://127.0.0.1:PORT"), kerio.ca_file ...
        kerio.add_user("example.com", "alice", "pw")
        kerio.fail_next("Users.create", "Disk full")
        kerio.drop_next("Users.get")          # read the request, close without answering
        assert kerio.calls[-1] == "Session.logout"

    KerioAdminApiWithDovecot(dovecot, ...) is the same server whose users (add_user,
    Users.create) also become Dovecot users login@domain of a PrivateDovecot.

As a child process (for the C++ tests):

    python3 kerio_admin_api.py --serve --admin admin --password-file F \\
        [--domain example.com]... [--user example.com:alice:pw]... [--plain] [--chunked]

prints ``PORT <n> CA <path>`` on stdout and serves until stdin reaches EOF or
SIGTERM.  In that mode a few test-control endpoints exist OUTSIDE the API path
(POST, JSON body): ``/_test/state`` (calls, users without passwords unless
asked, live sessions, logouts, connections that carried API requests, dropped
requests), ``/_test/fail_next`` {method, message, code}, ``/_test/drop_next``
{method, times} (close the connection instead of answering), ``/_test/expire_sessions``.  They are not part of Kerio's API.

Python 3 standard library plus the openssl CLI (MAILMIG_OPENSSL overrides the path).
"""
import argparse
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import sys
import threading
import uuid

if __package__:
    from .common import HOST, KEEP_ENV, OPENSSL, make_root, make_tls_files, quietly, set_nodelay  # noqa: F401
else:   # run as a script: python3 servers/kerio_admin_api.py --serve
    from common import HOST, KEEP_ENV, OPENSSL, make_root, make_tls_files, quietly, set_nodelay  # noqa: F401

API_PATH = "/admin/api/jsonrpc/"
SESSION_COOKIE = "SESSION_CONNECT_WEBADMIN"
TOKEN_COOKIE = "TOKEN_CONNECT_WEBADMIN"
MAX_REQUEST_BODY = 1 << 20

# JSON-RPC 2.0 codes (jsonrpc.org/specification) and Kerio's.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
LOGIN_FAILED = -32000          # unverified: Kerio's code for a failed login
SESSION_EXPIRED = -32001       # kerio::web::ApiException "Session expired."
OPERATION_FAILED = 1000
ALREADY_EXISTS = 1001
WRONG_PARAMETERS = 8001

# Kerio: "Diacritics as well as other special symbols and blanks are disallowed in login names."
_LOGIN_RE = re.compile(r"^[A-Za-z0-9._-]+$")


class KerioApiServerError(RuntimeError):
    """The test server could not start."""


class _RpcError(Exception):
    def __init__(self, code, message, parameters=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameters = parameters


def _kerio_error(code, message, parameters=None, input_index=None):
    error = {"code": code, "message": message}
    if input_index is not None:
        error["inputIndex"] = input_index
    if parameters is not None:
        error["messageParameters"] = {"positionalParameters": list(parameters), "plurality": 1}
    return error


def _parse_cookies(header):
    cookies = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies[name.strip()] = value.strip()
    return cookies


class KerioAdminApiTestServer:
    """See the module docstring.  Attributes for tests:

    domains   list of domain names (add with add_domain)
    users     {domain: {login: {"fullName", "password", "id"}}}
    calls     every JSON-RPC method name received, in order (also refused ones)
    sessions  {token: {"cookies": {...}, "user": name}} of live sessions
    logouts   how many Session.logout calls succeeded
    logins    how many Session.login calls succeeded
    """

    def __init__(self, admin_user="admin", admin_password="Admin#Pw1", domains=("example.com",),
                 tls=True, chunked=False, keep=False):
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.tls = tls
        self.chunked = chunked
        self.keep = keep or bool(os.environ.get(KEEP_ENV))
        self._lock = threading.RLock()
        self._domain_ids = {}
        self.domains = []
        self.users = {}
        self.calls = []
        self.sessions = {}
        self.logins = 0
        self.logouts = 0
        self.api_connections = 0   # connections that carried at least one API request
        self.dropped = 0           # requests answered by closing the connection (drop_next)
        self.control_enabled = False
        self._fail = {}
        self._drop = {}
        self.root = make_root("mailmig-kerio-api-")
        self.ca_file = self.wrong_ca_file = self.cert_file = self.key_file = None
        if tls:
            self._make_tls()
        self._httpd = None
        self._thread = None
        self.host = HOST
        self.port = None
        for name in domains:
            self.add_domain(name)

    # ---- test hooks ----

    def add_domain(self, name):
        with self._lock:
            key = name.lower()
            if key not in self._domain_ids:
                self._domain_ids[key] = "keriodb://domain/" + str(uuid.uuid4())
                self.domains.append(name)
                self.users.setdefault(name, {})
            return self._domain_ids[key]

    def add_user(self, domain, login, password, full_name=""):
        with self._lock:
            self.add_domain(domain)
            users = self.users[self._domain_name(domain)]
            user_id = "keriodb://user/" + self._domain_ids[domain.lower()].rsplit("/", 1)[1] + "/" + str(uuid.uuid4())
            users[login] = {"fullName": full_name, "password": password, "id": user_id}
            return user_id

    def fail_next(self, method, message, code=OPERATION_FAILED):
        """The next call of `method` (after the session check) answers with this JSON-RPC error."""
        with self._lock:
            self._fail[method] = (code, message)

    def drop_next(self, method, times=1):
        """The next `times` calls of `method` get no answer: the server reads the request and
        closes the connection (a server dying mid-request); the call is not carried out."""
        with self._lock:
            self._drop[method] = times

    def take_drop(self, method):
        with self._lock:
            if self._drop.get(method, 0) <= 0:
                return False
            self._drop[method] -= 1
            self.dropped += 1
            return True

    def count_api_connection(self):
        with self._lock:
            self.api_connections += 1

    def expire_sessions(self):
        with self._lock:
            self.sessions.clear()

    def find_user(self, domain, login):
        with self._lock:
            name = self._domain_name(domain)
            if name is None:
                return None
            for existing, data in self.users[name].items():
                if existing.lower() == login.lower():
                    return data
            return None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def endpoint(self):
        return self.url + API_PATH

    def ssl_context(self, cafile=None):
        context = ssl.create_default_context(cafile=cafile or self.ca_file)
        return context

    # ---- lifecycle ----

    def start(self):
        if self._httpd is not None:
            return self
        server = self

        class Handler(_Handler):
            owner = server

        httpd = _Server((HOST, 0), Handler)
        httpd.owner = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(self.cert_file, self.key_file)
            httpd.ssl_context = context
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"kerio-api-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_all()
            self._thread.join(timeout=10)
        if self.root and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        elif self.root:
            print(f"kerio admin API test server files kept in {self.root}", file=sys.stderr)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- internals ----

    def _domain_name(self, domain):
        for name in self.domains:
            if name.lower() == domain.lower():
                return name
        return None

    def _domain_by_id(self, domain_id):
        for name in self.domains:
            if self._domain_ids[name.lower()] == domain_id:
                return name
        return None

    def _make_tls(self):
        self.ca_file, self.wrong_ca_file, self.cert_file, self.key_file = make_tls_files(
            self.root, os.path.basename(self.root), KerioApiServerError)

    def _check_session(self, headers):
        token = headers.get("X-Token")
        cookies = _parse_cookies(headers.get("Cookie"))
        session = self.sessions.get(token) if token else None
        if session is None or any(cookies.get(name) != value for name, value in session["cookies"].items()):
            raise _RpcError(SESSION_EXPIRED, "Session expired.")
        return session

    def dispatch(self, method, params, headers):
        """Runs one JSON-RPC call: returns (result, extra response headers) or raises _RpcError."""
        with self._lock:
            self.calls.append(method)
            if not isinstance(params, dict):
                raise _RpcError(INVALID_PARAMS, "Invalid params.")
            if method == "Session.login":
                return self._login(params)
            if method not in _METHODS:
                raise _RpcError(METHOD_NOT_FOUND, "Method not found.")
            session_token = headers.get("X-Token")
            self._check_session(headers)
            if method in self._fail:
                code, message = self._fail.pop(method)
                raise _RpcError(code, message)
            return _METHODS[method](self, params, session_token)

    def _login(self, params):
        if method_fail := self._fail.pop("Session.login", None):
            raise _RpcError(*method_fail)
        user, password, app = params.get("userName"), params.get("password"), params.get("application")
        if not isinstance(user, str) or not isinstance(password, str) or not isinstance(app, dict) or \
                not all(isinstance(app.get(k), str) for k in ("name", "vendor", "version")):
            raise _RpcError(INVALID_PARAMS, "Invalid params.")
        if user.lower() != self.admin_user.lower() or password != self.admin_password:
            raise _RpcError(LOGIN_FAILED, "Username or password is not correct.")
        token = secrets.token_hex(16)
        cookies = {SESSION_COOKIE: secrets.token_hex(16), TOKEN_COOKIE: secrets.token_hex(8)}
        self.sessions[token] = {"cookies": cookies, "user": user, "application": app}
        self.logins += 1
        set_cookies = [f"{SESSION_COOKIE}={cookies[SESSION_COOKIE]}; path=/admin/; Secure; HttpOnly",
                       f"{TOKEN_COOKIE}={cookies[TOKEN_COOKIE]}; path=/admin/; Secure"]
        return {"token": token}, set_cookies

    def _logout(self, params, token):
        self.sessions.pop(token, None)
        self.logouts += 1
        expired = [f"{SESSION_COOKIE}=; path=/admin/; Max-Age=0", f"{TOKEN_COOKIE}=; path=/admin/; Max-Age=0"]
        return {}, expired

    @staticmethod
    def _query(params):
        query = params.get("query")
        if not isinstance(query, dict):
            raise _RpcError(INVALID_PARAMS, "Invalid params.")
        conditions = query.get("conditions", [])
        fields = query.get("fields", [])
        start, limit = query.get("start", 0), query.get("limit", -1)
        combining = query.get("combining", "And")
        if not isinstance(conditions, list) or not isinstance(fields, list) or not isinstance(start, int) \
                or not isinstance(limit, int) or combining not in ("And", "Or"):
            raise _RpcError(INVALID_PARAMS, "Invalid params.")
        for condition in conditions:
            if not isinstance(condition, dict) or not isinstance(condition.get("fieldName"), str) \
                    or condition.get("comparator") not in ("Eq", "Like") or not isinstance(condition.get("value"), str):
                raise _RpcError(INVALID_PARAMS, "Invalid params.")
        return conditions, fields, start, limit, combining

    @staticmethod
    def _select(rows, conditions, fields, start, limit, combining):
        def matches(row, condition):
            value = str(row.get(condition["fieldName"], ""))
            wanted = condition["value"]
            if condition["comparator"] == "Eq":
                return value.lower() == wanted.lower()
            return wanted.lower() in value.lower()

        test = all if combining == "And" else any
        selected = [row for row in rows if not conditions or test(matches(row, c) for c in conditions)]
        total = len(selected)
        selected = selected[start:] if limit == -1 else selected[start:start + limit]
        if fields:
            selected = [{k: v for k, v in row.items() if k in fields} for row in selected]
        return {"list": selected, "totalItems": total}

    def _domains_get(self, params, token):
        conditions, fields, start, limit, combining = self._query(params)
        rows = [{"id": self._domain_ids[name.lower()], "name": name} for name in self.domains]
        return self._select(rows, conditions, fields, start, limit, combining), []

    def _users_get(self, params, token):
        conditions, fields, start, limit, combining = self._query(params)
        domain = self._domain_by_id(params.get("domainId"))
        if domain is None:
            raise _RpcError(OPERATION_FAILED, "Domain %1 does not exist.", [str(params.get("domainId"))])
        rows = [{"id": data["id"], "loginName": login, "fullName": data["fullName"], "domainId": params["domainId"]}
                for login, data in self.users[domain].items()]
        return self._select(rows, conditions, fields, start, limit, combining), []

    def _users_create(self, params, token):
        users = params.get("users")
        if not isinstance(users, list):
            raise _RpcError(INVALID_PARAMS, "Invalid params.")
        errors, results = [], []
        for index, user in enumerate(users):
            login = user.get("loginName") if isinstance(user, dict) else None
            shown = login if isinstance(login, str) else "?"
            if not isinstance(user, dict) or not isinstance(login, str) or not _LOGIN_RE.match(login) \
                    or not isinstance(user.get("password"), str) or not isinstance(user.get("fullName", ""), str) \
                    or user.get("authType", 0) not in (0, "UInternalAuth") \
                    or not isinstance(user.get("isEnabled", True), bool):
                errors.append(_kerio_error(WRONG_PARAMETERS, "Unable to add/modify user %1, wrong parameters.",
                                           [shown], index))
                continue
            domain = self._domain_by_id(user.get("domainId"))
            if domain is None:
                errors.append(_kerio_error(OPERATION_FAILED, "Domain of user %1 does not exist.", [shown], index))
                continue
            if self.find_user(domain, login) is not None:
                errors.append(_kerio_error(ALREADY_EXISTS, "User %1 already exists.", [login], index))
                continue
            user_id = self.add_user(domain, login, user["password"], user.get("fullName", ""))
            self.users[domain][login]["isEnabled"] = user.get("isEnabled", True)
            results.append({"inputIndex": index, "id": user_id})
        return {"errors": errors, "result": results}, []

    def state(self, with_passwords=False):
        with self._lock:
            users = {domain: {login: {k: v for k, v in data.items() if with_passwords or k != "password"}
                              for login, data in entries.items()}
                     for domain, entries in self.users.items()}
            return {"calls": list(self.calls), "users": users, "sessions": len(self.sessions),
                    "logins": self.logins, "logouts": self.logouts, "domains": list(self.domains),
                    "api_connections": self.api_connections, "dropped": self.dropped}


_METHODS = {
    "Session.logout": KerioAdminApiTestServer._logout,
    "Domains.get": KerioAdminApiTestServer._domains_get,
    "Users.get": KerioAdminApiTestServer._users_get,
    "Users.create": KerioAdminApiTestServer._users_create,
}


class KerioAdminApiWithDovecot(KerioAdminApiTestServer):
    """The admin API test server in front of a started servers.dovecot.PrivateDovecot:
    every user it gets (add_user, Users.create) also becomes the Dovecot user
    `login@domain` with the same password, as users created through a real Kerio's API
    get real mailboxes.  KerioAdminApiWithDovecot(dovecot, **KerioAdminApiTestServer args)."""

    def __init__(self, dovecot, **kw):
        self.dovecot = dovecot
        super().__init__(**kw)

    def add_user(self, domain, login, password, full_name=""):
        user_id = super().add_user(domain, login, password, full_name)
        self.dovecot.add_user(f"{login}@{domain}", password)
        return user_id


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    ssl_context = None
    owner = None

    def __init__(self, *args, **kwargs):
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, sock, add):
        with self._connections_lock:
            if add:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    def get_request(self):
        sock, address = super().get_request()
        set_nodelay(sock)   # headers and body go out in separate writes
        self.track(sock, True)
        return sock, address

    def shutdown_request(self, request):
        self.track(request, False)
        super().shutdown_request(request)

    def close_all(self):
        """Ends every open client connection (keep-alive ones included), so stop() returns promptly."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            quietly(sock.shutdown, socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        # Clients that give up (a refused certificate, a closed connection) are normal in tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KerioAdminApiTestServer/1.0"
    timeout = 30
    owner = None

    def setup(self):
        self.api_used = False
        context = self.server.ssl_context
        if context is not None:
            # The handshake runs here, in the connection's own thread, so a
            # client that never completes it cannot block the accept loop.
            raw = self.request
            raw.settimeout(10)
            self.request = context.wrap_socket(raw, server_side=True)  # detaches `raw`
            self.server.track(raw, False)
            self.server.track(self.request, True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self.server.ssl_context is not None:
                self.server.track(self.request, False)
                quietly(self.request.close)

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        if os.environ.get("MAILMIG_KERIO_API_LOG"):
            super().log_message(format, *args)

    def _send(self, status, payload, cookies=()):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json-rpc; charset=UTF-8")
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        if self.owner.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(body) // 2
            for piece in (body[:half], body[half:]):
                if piece:
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise _RpcError(INVALID_REQUEST, "Invalid request.")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            raise _RpcError(INVALID_REQUEST, "Invalid request.") from None
        if length < 0 or length > MAX_REQUEST_BODY:
            self.close_connection = True
            raise _RpcError(INVALID_REQUEST, "Invalid request.")
        return self.rfile.read(length)

    def do_POST(self):  # noqa: N802 - http.server naming
        if self.path.startswith("/_test/"):
            return self._control()
        request_id = None
        try:
            if self.path != API_PATH:
                self._send(404, {"error": "not found"})
                return
            if not self.api_used:
                self.api_used = True
                self.owner.count_api_connection()
            body = self._read_body()
            try:
                request = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise _RpcError(PARSE_ERROR, "Parse error.") from None
            if not isinstance(request, dict):
                raise _RpcError(INVALID_REQUEST, "Invalid request.")
            request_id = request.get("id")
            method = request.get("method")
            if request.get("jsonrpc") != "2.0" or not isinstance(method, str) or "id" not in request:
                raise _RpcError(INVALID_REQUEST, "Invalid request.")
            if self.owner.take_drop(method):
                self.close_connection = True   # no answer at all
                return
            result, cookies = self.owner.dispatch(method, request.get("params", {}), self.headers)
            self._send(200, {"jsonrpc": "2.0", "id": request_id, "result": result}, cookies)
        except _RpcError as e:
            error = {"code": e.code, "message": e.message}
            if e.parameters is not None:
                error["data"] = {"messageParameters": {"positionalParameters": e.parameters, "plurality": 1}}
            self._send(200, {"jsonrpc": "2.0", "id": request_id, "error": error})

    def do_GET(self):  # noqa: N802
        self.send_response(405)
        self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _control(self):
        owner = self.owner
        if not owner.control_enabled:
            self._send(404, {"error": "not found"})
            return
        try:
            body = json.loads(self._read_body() or b"{}")
        except (_RpcError, ValueError):
            self._send(400, {"error": "bad request"})
            return
        if self.path == "/_test/state":
            self._send(200, owner.state(with_passwords=bool(body.get("passwords"))))
        elif self.path == "/_test/fail_next":
            owner.fail_next(body["method"], body["message"], body.get("code", OPERATION_FAILED))
            self._send(200, {})
        elif self.path == "/_test/drop_next":
            owner.drop_next(body["method"], body.get("times", 1))
            self._send(200, {})
        elif self.path == "/_test/expire_sessions":
            owner.expire_sessions()
            self._send(200, {})
        else:
            self._send(404, {"error": "not found"})


def _serve(argv):
    parser = argparse.ArgumentParser(description="Kerio admin API test server (NOT Kerio Connect)")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--admin", default="admin")
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--domain", action="append", default=[])
    parser.add_argument("--user", action="append", default=[], help="DOMAIN:LOGIN:PASSWORD")
    parser.add_argument("--plain", action="store_true", help="http instead of https (loopback tests)")
    parser.add_argument("--chunked", action="store_true", help="answer with chunked transfer coding")
    args = parser.parse_args(argv)
    with open(args.password_file, encoding="utf-8") as f:
        password = f.read().rstrip("\r\n")
    server = KerioAdminApiTestServer(admin_user=args.admin, admin_password=password, domains=args.domain,
                                     tls=not args.plain, chunked=args.chunked)
    for spec in args.user:
        domain, login, user_password = spec.split(":", 2)
        server.add_user(domain, login, user_password)
    server.control_enabled = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        print(f"PORT {server.port} CA {server.ca_file or '-'}", flush=True)

        def wait_stdin():
            try:
                sys.stdin.buffer.read()
            except OSError:
                pass
            stop.set()

        threading.Thread(target=wait_stdin, daemon=True).start()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1:])
