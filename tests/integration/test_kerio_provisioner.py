"""Self-test of servers/kerio_admin_api.py, the Kerio admin API test stand-in
(NOT Kerio Connect) that the C++ test unit_provision_kerio_provisioner_test
drives mailmig's Kerio provisioner against.  Talks to it with urllib over
HTTPS verified with its throwaway CA.

Run directly (python3 tests/integration/test_kerio_provisioner.py) or through
ctest; --bin-dir/--tools are accepted and not needed.
"""
import json
import os
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from servers.kerio_admin_api import KerioAdminApiTestServer  # noqa: E402

APP = {"name": "mailmig-selftest", "vendor": "mailmig", "version": "1"}
SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers", "kerio_admin_api.py")


class Client:
    """A tiny JSON-RPC client: keeps the token and the cookies from Set-Cookie."""

    def __init__(self, server, cafile=None):
        self.server = server
        self.context = server.ssl_context(cafile)
        self.token = None
        self.cookies = {}
        self.next_id = 1

    def raw(self, method, params, token=True, cookies=True):
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        self.next_id += 1
        request = urllib.request.Request(self.server.endpoint, data=body, method="POST",
                                         headers={"Content-Type": "application/json-rpc",
                                                  "Accept": "application/json-rpc"})
        if token and self.token:
            request.add_header("X-Token", self.token)
        if cookies and self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                pair, _, attributes = header.partition(";")
                name, _, value = pair.strip().partition("=")
                if "max-age=0" in attributes.lower().replace(" ", ""):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            answer = json.load(response)
            assert answer["jsonrpc"] == "2.0" and answer["id"] == self.next_id - 1, answer
            return answer

    def call(self, method, params=None):
        answer = self.raw(method, params or {})
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer["result"]

    def login(self, user="admin", password="Admin#Pw1"):
        result = self.call("Session.login", {"userName": user, "password": password, "application": APP})
        self.token = result["token"]
        return result


def query(field, value, fields=("id",)):
    return {"query": {"fields": list(fields), "conditions": [{"fieldName": field, "comparator": "Eq", "value": value}],
                      "combining": "And", "start": 0, "limit": -1}}


class KerioAdminApiServerTest(unittest.TestCase):
    def setUp(self):
        self.server = KerioAdminApiTestServer(domains=["example.com", "other.org"])
        self.server.start()
        self.addCleanup(self.server.stop)
        self.client = Client(self.server)

    def domain_id(self, name="example.com"):
        result = self.client.call("Domains.get", query("name", name, ("id", "name")))
        self.assertEqual(result["totalItems"], 1)
        return result["list"][0]["id"]

    def test_login_sets_token_and_cookies(self):
        result = self.client.login()
        self.assertTrue(result["token"])
        self.assertEqual(sorted(self.client.cookies), ["SESSION_CONNECT_WEBADMIN", "TOKEN_CONNECT_WEBADMIN"])
        self.assertEqual(self.server.logins, 1)
        self.assertEqual(self.server.sessions[result["token"]]["application"], APP)

    def test_wrong_credentials(self):
        answer = self.client.raw("Session.login", {"userName": "admin", "password": "nope", "application": APP})
        self.assertEqual(answer["error"], {"code": -32000, "message": "Username or password is not correct."})
        self.assertNotIn("result", answer)
        self.assertEqual(self.client.cookies, {})
        answer = self.client.raw("Session.login", {"userName": "admin", "password": "Admin#Pw1"})
        self.assertEqual(answer["error"]["code"], -32602, "application is required")

    def test_calls_need_token_and_cookie(self):
        self.client.login()
        params = query("name", "example.com")
        for token, cookies in ((False, False), (True, False), (False, True)):
            answer = self.client.raw("Domains.get", params, token=token, cookies=cookies)
            self.assertEqual(answer["error"], {"code": -32001, "message": "Session expired."}, (token, cookies))
        self.assertIn("result", self.client.raw("Domains.get", params))

    def test_domains_get(self):
        self.client.login()
        result = self.client.call("Domains.get", query("name", "EXAMPLE.com", ("id", "name")))
        self.assertEqual(result["totalItems"], 1)
        self.assertEqual(result["list"][0]["name"], "example.com")
        self.assertTrue(result["list"][0]["id"].startswith("keriodb://domain/"))
        self.assertEqual(self.client.call("Domains.get", query("name", "missing.test"))["list"], [])
        everything = self.client.call("Domains.get", {"query": {"conditions": [], "fields": ["name"]}})
        self.assertEqual([d["name"] for d in everything["list"]], ["example.com", "other.org"])

    def test_users_create_get_and_duplicates(self):
        self.client.login()
        domain_id = self.domain_id()
        user = {"loginName": "alice", "fullName": "Alice A", "password": "Al1ce#pw", "domainId": domain_id,
                "authType": 0, "isEnabled": True}
        result = self.client.call("Users.create", {"users": [user]})
        self.assertEqual(result["errors"], [])
        self.assertEqual(len(result["result"]), 1)
        self.assertEqual(result["result"][0]["inputIndex"], 0)
        self.assertTrue(result["result"][0]["id"])
        self.assertEqual(self.server.users["example.com"]["alice"]["password"], "Al1ce#pw")
        self.assertEqual(self.server.users["example.com"]["alice"]["fullName"], "Alice A")

        found = self.client.call("Users.get", {**query("loginName", "ALICE", ("id", "loginName")), "domainId": domain_id})
        self.assertEqual(found["totalItems"], 1)
        self.assertEqual(found["list"][0], {"id": result["result"][0]["id"], "loginName": "alice"})
        other = self.client.call("Users.get", {**query("loginName", "alice"), "domainId": self.domain_id("other.org")})
        self.assertEqual(other["list"], [])

        duplicate = self.client.call("Users.create", {"users": [dict(user, loginName="Alice")]})
        self.assertEqual(duplicate["result"], [])
        self.assertEqual(duplicate["errors"], [{
            "code": 1001, "message": "User %1 already exists.", "inputIndex": 0,
            "messageParameters": {"positionalParameters": ["Alice"], "plurality": 1}}])

    def test_users_create_validates(self):
        self.client.login()
        domain_id = self.domain_id()
        good = {"loginName": "bob", "fullName": "", "password": "pw", "domainId": domain_id, "authType": 0,
                "isEnabled": True}
        bad = [dict(good, loginName="john doe"), dict(good, loginName=""), {k: v for k, v in good.items()
                                                                            if k != "password"},
               dict(good, authType=3), dict(good, isEnabled="yes")]
        result = self.client.call("Users.create", {"users": bad + [good]})
        self.assertEqual([e["inputIndex"] for e in result["errors"]], [0, 1, 2, 3, 4])
        self.assertTrue(all(e["code"] == 8001 for e in result["errors"]), result["errors"])
        self.assertEqual(result["result"][0]["inputIndex"], 5)
        unknown_domain = self.client.call("Users.create", {"users": [dict(good, loginName="carol", domainId="x")]})
        self.assertEqual(unknown_domain["errors"][0]["code"], 1000)
        self.assertEqual(sorted(self.server.users["example.com"]), ["bob"])

    def test_fail_next_and_calls(self):
        self.client.login()
        self.server.fail_next("Domains.get", "Database is busy.", 1000)
        answer = self.client.raw("Domains.get", query("name", "example.com"))
        self.assertEqual(answer["error"], {"code": 1000, "message": "Database is busy."})
        self.assertIn("result", self.client.raw("Domains.get", query("name", "example.com")))
        self.assertEqual(self.server.calls, ["Session.login", "Domains.get", "Domains.get"])

    def test_drop_next_closes_without_answering(self):
        self.client.login()
        self.server.drop_next("Domains.get")
        with self.assertRaises((urllib.error.URLError, ConnectionError)):
            self.client.raw("Domains.get", query("name", "example.com"))
        self.assertEqual(self.server.dropped, 1)
        self.assertEqual(self.server.calls, ["Session.login"], "a dropped call is not carried out")
        self.assertIn("result", self.client.raw("Domains.get", query("name", "example.com")))
        self.assertEqual(self.server.api_connections, 3, "urllib opens a connection per request")

    def test_logout_ends_the_session(self):
        self.client.login()
        token = self.client.token
        self.assertEqual(self.client.call("Session.logout"), {})
        self.assertEqual(self.server.logouts, 1)
        self.assertNotIn(token, self.server.sessions)
        self.assertEqual(self.client.cookies, {}, "logout expires the cookies")
        answer = self.client.raw("Domains.get", query("name", "example.com"))
        self.assertEqual(answer["error"]["code"], -32001)

    def test_protocol_errors(self):
        request = urllib.request.Request(self.server.endpoint, data=b"{not json", method="POST")
        with urllib.request.urlopen(request, context=self.client.context, timeout=10) as response:
            self.assertEqual(json.load(response)["error"]["code"], -32700)
        self.client.login()
        self.assertEqual(self.client.raw("Users.nosuch", {})["error"]["code"], -32601)
        wrong_path = urllib.request.Request(self.server.url + "/webmail/api/jsonrpc/", data=b"{}", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(wrong_path, context=self.client.context, timeout=10)
        self.assertEqual(caught.exception.code, 404)
        control = urllib.request.Request(self.server.url + "/_test/state", data=b"{}", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(control, context=self.client.context, timeout=10)
        self.assertEqual(caught.exception.code, 404, "control endpoints exist only in --serve mode")

    def test_certificate(self):
        self.client.login()  # verified against ca_file with host 127.0.0.1
        wrong = Client(self.server, cafile=self.server.wrong_ca_file)
        with self.assertRaises(urllib.error.URLError) as caught:
            wrong.login()
        self.assertIsInstance(caught.exception.reason, ssl.SSLCertVerificationError)


class ServeModeTest(unittest.TestCase):
    def test_serve_prints_port_and_stops_at_stdin_eof(self):
        with tempfile.TemporaryDirectory() as tmp:
            password_file = os.path.join(tmp, "pw")
            with open(password_file, "w", encoding="utf-8") as f:
                f.write("S3rve#pw\n")
            proc = subprocess.Popen([sys.executable, SERVER_SCRIPT, "--serve", "--admin", "root",
                                     "--password-file", password_file, "--domain", "example.com",
                                     "--user", "example.com:bob:BobPw1"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                words = proc.stdout.readline().split()
                self.assertEqual((words[0], words[2]), ("PORT", "CA"), words)
                port, ca_file = int(words[1]), words[3]
                context = ssl.create_default_context(cafile=ca_file)

                def post(path, payload, headers=None):
                    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", method="POST",
                                                     data=json.dumps(payload).encode(), headers=headers or {})
                    with urllib.request.urlopen(request, context=context, timeout=10) as response:
                        return json.load(response), response.headers.get_all("Set-Cookie") or []

                answer, cookies = post("/admin/api/jsonrpc/", {
                    "jsonrpc": "2.0", "id": 1, "method": "Session.login",
                    "params": {"userName": "root", "password": "S3rve#pw", "application": APP}})
                self.assertIn("token", answer["result"])
                self.assertEqual(len(cookies), 2)
                state, _ = post("/_test/state", {"passwords": True})
                self.assertEqual(state["users"]["example.com"]["bob"]["password"], "BobPw1")
                self.assertEqual(state["calls"], ["Session.login"])
                self.assertEqual(state["sessions"], 1)
                state, _ = post("/_test/state", {})
                self.assertNotIn("password", state["users"]["example.com"]["bob"])
            finally:
                proc.stdin.close()
                try:
                    self.assertEqual(proc.wait(timeout=15), 0)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                    proc.stdout.close()


if __name__ == "__main__":
    if any(arg.startswith("--bin-dir") for arg in sys.argv):
        harness.main()  # from ctest: --bin-dir/--tools accepted and not needed
    else:
        unittest.main(verbosity=2)
