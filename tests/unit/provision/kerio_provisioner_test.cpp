// The Kerio provisioner and its HTTP client (libcurl) against the
// protocol-faithful test server tests/integration/servers/kerio_admin_api.py
// (NOT Kerio Connect), started as a child process for each test: HTTPS with a
// throwaway CA on 127.0.0.1.
#include "provision/kerio/kerio_provisioner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "provision/http_client.h"

namespace mailmig {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// tests/data may not exist, so the path is built lexically from its parent (tests/).
std::string server_script() {
  return (std::filesystem::path(MAILMIG_TEST_DATA).parent_path() / "integration" / "servers" /
          "kerio_admin_api.py")
      .string();
}
const char* const kAdmin = "kadmin";
const char* const kAdminPassword = "Adm1n#Secret:pw";
const char* const kUserPassword = "Us3r#Secret!pw";

// The test server as a child process; stopped (stdin closed, SIGTERM, then
// SIGKILL if needed) and its files removed when this object goes away.
class KerioApiServer {
 public:
  explicit KerioApiServer(const std::vector<std::string>& extra_args = {}) {
    std::random_device random;
    password_file_ = std::filesystem::temp_directory_path() /
                     ("mailmig-kerio-test-pw-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    {
      std::ofstream out(password_file_);
      out << kAdminPassword << "\n";
    }
    std::filesystem::permissions(password_file_,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

    std::vector<std::string> args = {"python3",
                                     server_script(),
                                     "--serve",
                                     "--admin",
                                     kAdmin,
                                     "--password-file",
                                     password_file_.string(),
                                     "--domain",
                                     "example.com",
                                     "--domain",
                                     "other.org",
                                     "--user",
                                     "example.com:bob:BobPw1"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int in_pipe[2] = {-1, -1};
    int out_pipe[2] = {-1, -1};
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Child: only async-signal-safe calls until exec.
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_ = in_pipe[1];
    stdout_ = out_pipe[0];

    // "PORT <n> CA <path>\n"
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd entry{stdout_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) <= 0) {
        stop();
        throw std::runtime_error("the Kerio API test server did not start in time");
      }
      char chunk[512];
      const ssize_t n = ::read(stdout_, chunk, sizeof chunk);
      if (n <= 0) {
        stop();
        throw std::runtime_error("the Kerio API test server exited during start-up");
      }
      line.append(chunk, static_cast<std::size_t>(n));
    }
    line.resize(line.find('\n'));
    const std::size_t ca_at = line.find(" CA ");
    if (line.rfind("PORT ", 0) != 0 || ca_at == std::string::npos) {
      stop();
      throw std::runtime_error("unexpected start-up line: " + line);
    }
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5, ca_at - 5)));
    ca_file_ = line.substr(ca_at + 4);
  }
  KerioApiServer(const KerioApiServer&) = delete;
  KerioApiServer& operator=(const KerioApiServer&) = delete;
  ~KerioApiServer() { stop(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& ca_file() const { return ca_file_; }
  [[nodiscard]] std::string url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(port_);
  }

  [[nodiscard]] ProvisionOptions options(const std::string& password = kAdminPassword) const {
    ProvisionOptions options;
    options.admin_user = kAdmin;
    options.admin_password = password;
    options.ca_file = ca_file_;
    return options;
  }

  // A test-control endpoint (outside the API path).
  json control(const std::string& path, const json& body = json::object(), bool tls = true) const {
    provision::HttpClientOptions options;
    options.host = "127.0.0.1";
    options.port = port_;
    options.tls = tls;
    options.ca_file = ca_file_;
    options.timeout = 10s;
    provision::HttpClient client(options);
    const provision::HttpResponse response =
        client.post(path, body.dump(), {{"Content-Type", "application/json"}});
    if (response.status != 200)
      throw std::runtime_error("control " + path + ": HTTP " + std::to_string(response.status));
    return json::parse(response.body);
  }
  [[nodiscard]] json state(bool tls = true) const {
    return control("/_test/state", {{"passwords", true}}, tls);
  }

 private:
  void stop() {
    if (stdin_ >= 0) ::close(stdin_);  // the server stops at EOF on stdin
    stdin_ = -1;
    if (pid_ > 0) {
      int status = 0;
      bool exited = false;
      for (int i = 0; i < 100 && !exited; ++i) {
        exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
        if (!exited) std::this_thread::sleep_for(50ms);
        if (i == 40) ::kill(pid_, SIGTERM);
      }
      if (!exited) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    if (stdout_ >= 0) ::close(stdout_);
    stdout_ = -1;
    std::error_code ignored;
    if (!password_file_.empty()) std::filesystem::remove(password_file_, ignored);
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::uint16_t port_ = 0;
  std::string ca_file_;
  std::filesystem::path password_file_;
};

NewUser new_user(const std::string& account, const std::string& domain = "example.com") {
  NewUser user;
  user.account = account;
  user.domain = domain;
  user.real_name = "Test " + account;
  user.password = kUserPassword;
  return user;
}

std::vector<std::string> calls(const json& state) {
  return state["calls"].get<std::vector<std::string>>();
}

// Runs `action`, expects a ProvisionError, returns its message.
template <class Action>
std::string provision_error(Action action) {
  try {
    action();
  } catch (const ProvisionError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ProvisionError";
  return {};
}

void expect_no_secrets(const std::string& message) {
  EXPECT_EQ(message.find(kAdminPassword), std::string::npos) << message;
  EXPECT_EQ(message.find(kUserPassword), std::string::npos) << message;
}

TEST(KerioProvisioner, LoginExistsCreateAndLogout) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  EXPECT_EQ(provisioner->describe(), "Kerio Connect admin API at " + server.url());
  EXPECT_TRUE(server.state()["calls"].empty()) << "logs in lazily, on first use";

  EXPECT_FALSE(provisioner->exists("alice", "example.com"));
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  EXPECT_TRUE(provisioner->exists("BOB", "EXAMPLE.COM")) << "login names are case-insensitive";
  EXPECT_FALSE(provisioner->exists("bob", "other.org"));

  const Created created = provisioner->create(new_user("alice"));
  EXPECT_FALSE(created.kept_source_hash);
  EXPECT_TRUE(provisioner->exists("alice", "example.com"));

  json state = server.state();
  const json& alice = state["users"]["example.com"]["alice"];
  EXPECT_EQ(alice["password"], kUserPassword);
  EXPECT_EQ(alice["fullName"], "Test alice");
  EXPECT_EQ(alice["isEnabled"], true);
  EXPECT_EQ(state["sessions"], 1);
  EXPECT_EQ(state["logins"], 1);
  const std::vector<std::string> expected = {"Session.login", "Domains.get",  "Users.get",
                                             "Users.get",     "Users.get",    "Domains.get",
                                             "Users.get",     "Users.create", "Users.get"};
  EXPECT_EQ(calls(state), expected) << "one login; the domain id is looked up once per domain";
  EXPECT_EQ(state["api_connections"], 1) << "all on one keep-alive connection";

  provisioner->finish();
  state = server.state();
  EXPECT_EQ(state["sessions"], 0);
  EXPECT_EQ(state["logouts"], 1);
  EXPECT_EQ(calls(state).back(), "Session.logout");
  provisioner->finish();  // idempotent: no second logout
  EXPECT_EQ(server.state()["logouts"], 1);
}

TEST(KerioProvisioner, DuplicateCreateIsProvisionError) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  const std::string message = provision_error([&] { (void)provisioner->create(new_user("bob")); });
  EXPECT_NE(message.find("bob@example.com"), std::string::npos) << message;
  EXPECT_NE(message.find("User bob already exists."), std::string::npos) << message;
  EXPECT_NE(message.find("code 1001"), std::string::npos) << message;
  expect_no_secrets(message);
  // The stored password is unchanged.
  EXPECT_EQ(server.state()["users"]["example.com"]["bob"]["password"], "BobPw1");
}

TEST(KerioProvisioner, RefusedLoginNameIsProvisionError) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  const std::string message = provision_error([&] { (void)provisioner->create(new_user("john doe")); });
  EXPECT_NE(message.find("Unable to add/modify user john doe, wrong parameters."), std::string::npos)
      << message;
  EXPECT_NE(message.find("code 8001"), std::string::npos) << message;
  expect_no_secrets(message);
}

TEST(KerioProvisioner, MissingDomainIsProvisionError) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  EXPECT_EQ(provision_error([&] { (void)provisioner->exists("alice", "nowhere.test"); }),
            "domain nowhere.test does not exist in Kerio Connect; create it first");
  const std::string message =
      provision_error([&] { (void)provisioner->create(new_user("alice", "nowhere.test")); });
  EXPECT_NE(message.find("domain nowhere.test does not exist in Kerio Connect; create it first"),
            std::string::npos)
      << message;
  EXPECT_EQ(server.state()["users"].size(), 2U) << "no domain was created";
}

TEST(KerioProvisioner, WrongAdminPasswordIsProvisionError) {
  const KerioApiServer server;
  const std::string wrong = "Wr0ng#Admin#Pw";
  const auto provisioner = make_kerio_provisioner(server.url(), server.options(wrong));
  const std::string message = provision_error([&] { (void)provisioner->exists("bob", "example.com"); });
  EXPECT_EQ(message, "Kerio admin API Session.login: Username or password is not correct. (code -32000)");
  EXPECT_EQ(message.find(wrong), std::string::npos);
  EXPECT_EQ(calls(server.state()), std::vector<std::string>{"Session.login"});
  provisioner->finish();  // nothing to log out of
  EXPECT_EQ(server.state()["logouts"], 0);
}

TEST(KerioProvisioner, TlsIsVerified) {
  const KerioApiServer server;
  {
    // The certificate names localhost too.
    const auto provisioner = make_kerio_provisioner(server.url("localhost"), server.options());
    EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  }
  {
    ProvisionOptions options = server.options();
    options.ca_file.clear();  // the system store does not know the test CA
    const auto provisioner = make_kerio_provisioner(server.url(), options);
    const std::string message = provision_error([&] { (void)provisioner->exists("bob", "example.com"); });
    EXPECT_NE(message.find("Kerio admin API Session.login"), std::string::npos) << message;
    EXPECT_NE(message.find("SSL certificate problem"), std::string::npos) << message;
    EXPECT_EQ(server.state()["api_connections"], 1) << "nothing was sent over the refused connection";
  }
  {
    ProvisionOptions options = server.options();
    options.ca_file.clear();
    options.insecure = true;
    const auto provisioner = make_kerio_provisioner(server.url(), options);
    EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  }
}

TEST(KerioProvisioner, ServerRequiresTokenAndCookie) {
  const KerioApiServer server;
  provision::HttpClientOptions options;
  options.host = "127.0.0.1";
  options.port = server.port();
  options.ca_file = server.ca_file();
  options.timeout = 10s;
  provision::HttpClient client(options);
  const auto rpc = [&](const std::string& method, const json& params, const std::string& token) {
    provision::HttpHeaders headers = {{"Content-Type", "application/json-rpc"}};
    if (!token.empty()) headers.emplace_back("X-Token", token);
    const json request = {{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}};
    const provision::HttpResponse response = client.post("/admin/api/jsonrpc/", request.dump(), headers);
    EXPECT_EQ(response.status, 200);
    return json::parse(response.body);
  };
  const json login = rpc("Session.login",
                         {{"userName", kAdmin},
                          {"password", kAdminPassword},
                          {"application", {{"name", "t"}, {"vendor", "t"}, {"version", "1"}}}},
                         "");
  const std::string token = login["result"]["token"];
  const json query = {{"query", {{"conditions", json::array()}, {"fields", json::array({"name"})}}}};

  client.clear_cookies();
  EXPECT_EQ(rpc("Domains.get", query, token)["error"]["code"], -32001) << "token without the cookie";
  EXPECT_EQ(rpc("Domains.get", query, token)["error"]["message"], "Session expired.");
  // Log in again for fresh cookies, then send them without the token.
  const json again = rpc("Session.login",
                         {{"userName", kAdmin},
                          {"password", kAdminPassword},
                          {"application", {{"name", "t"}, {"vendor", "t"}, {"version", "1"}}}},
                         "");
  const std::string token2 = again["result"]["token"];
  EXPECT_EQ(rpc("Domains.get", query, "")["error"]["code"], -32001) << "cookie without the token";
  EXPECT_EQ(rpc("Domains.get", query, token)["error"]["code"], -32001) << "another session's token";
  const json ok = rpc("Domains.get", query, token2);
  ASSERT_TRUE(ok.contains("result")) << ok.dump();
  EXPECT_EQ(ok["result"]["totalItems"], 2);
  EXPECT_EQ(ok["id"], 7);
  EXPECT_EQ(server.state()["api_connections"], 1) << "all on one keep-alive connection";
}

TEST(KerioProvisioner, LogsInAgainWhenTheSessionExpired) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  (void)server.control("/_test/expire_sessions");
  EXPECT_FALSE(provisioner->exists("carol", "example.com"));
  (void)provisioner->create(new_user("carol"));
  const json state = server.state();
  EXPECT_EQ(state["logins"], 2);
  EXPECT_TRUE(state["users"]["example.com"].contains("carol"));
}

TEST(KerioProvisioner, JsonRpcErrorsNameMethodMessageAndCode) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  (void)server.control("/_test/fail_next",
                       {{"method", "Users.get"}, {"message", "Database is busy."}, {"code", 1000}});
  EXPECT_EQ(provision_error([&] { (void)provisioner->exists("bob", "example.com"); }),
            "Kerio admin API Users.get: Database is busy. (code 1000)");
  EXPECT_TRUE(provisioner->exists("bob", "example.com")) << "only the next call failed";

  (void)server.control("/_test/fail_next",
                       {{"method", "Users.create"}, {"message", "Access denied."}, {"code", 1004}});
  const std::string message = provision_error([&] { (void)provisioner->create(new_user("dave")); });
  EXPECT_NE(message.find("dave@example.com"), std::string::npos) << message;
  EXPECT_NE(message.find("Kerio admin API Users.create: Access denied. (code 1004)"), std::string::npos)
      << message;
  expect_no_secrets(message);
}

TEST(KerioProvisioner, ConcurrentCallersShareOneSession) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(6);
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 3; ++i) {
          const std::string account = "user" + std::to_string(t) + "x" + std::to_string(i);
          if (!provisioner->exists(account, "other.org"))
            (void)provisioner->create(new_user(account, "other.org"));
          if (!provisioner->exists(account, "other.org")) ++failures;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  provisioner->finish();
  const json state = server.state();
  EXPECT_EQ(state["users"]["other.org"].size(), 18U);
  EXPECT_EQ(state["logins"], 1);
  EXPECT_EQ(state["logouts"], 1);
}

TEST(KerioProvisioner, ChunkedResponses) {
  const KerioApiServer server({"--chunked"});
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  (void)provisioner->create(new_user("erin"));
  EXPECT_TRUE(provisioner->exists("erin", "example.com"));
}

// The HTTP client on the wire, against the same server.
provision::HttpClientOptions client_options(const KerioApiServer& server) {
  provision::HttpClientOptions options;
  options.host = "127.0.0.1";
  options.port = server.port();
  options.ca_file = server.ca_file();
  options.timeout = 10s;
  return options;
}

TEST(KerioHttp, OversizedResponsesAreRefused) {
  // With Content-Length (refused before the body is read) and chunked (refused while reading).
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"--chunked"}}) {
    const KerioApiServer server(args);
    provision::HttpClientOptions options = client_options(server);
    options.max_response_bytes = 64;  // the state answer is longer, "{}" is not
    provision::HttpClient client(options);
    try {
      (void)client.post("/_test/state", "{}", {{"Content-Type", "application/json"}});
      ADD_FAILURE() << "no HttpError";
    } catch (const provision::HttpError& e) {
      EXPECT_NE(std::string(e.what()).find("larger than the limit of 64 bytes; refused"), std::string::npos)
          << e.what();
    }
    const provision::HttpResponse small =
        client.post("/_test/expire_sessions", "{}", {{"Content-Type", "application/json"}});
    EXPECT_EQ(small.status, 200);
    EXPECT_EQ(small.body, "{}");
  }
}

TEST(KerioHttp, DroppedConnectionsAreErrorsOrSentAgainOnce) {
  const KerioApiServer server;
  const auto provisioner = make_kerio_provisioner(server.url(), server.options());
  // A new connection closed before the answer: an error, not sent again.
  (void)server.control("/_test/drop_next", {{"method", "Session.login"}});
  std::string message = provision_error([&] { (void)provisioner->exists("bob", "example.com"); });
  EXPECT_EQ(message.rfind("Kerio admin API Session.login: " + server.url() + "/admin/api/jsonrpc/: ", 0), 0U)
      << message;
  expect_no_secrets(message);
  json state = server.state();
  EXPECT_EQ(state["dropped"], 1);
  EXPECT_EQ(state["logins"], 0);
  EXPECT_TRUE(provisioner->exists("bob", "example.com")) << "the next call connects again";

  // A reused connection closed before the answer: the request was not carried
  // out, so it is sent once more on a new connection.
  (void)server.control("/_test/drop_next", {{"method", "Users.get"}});
  EXPECT_FALSE(provisioner->exists("zed", "example.com"));
  state = server.state();
  EXPECT_EQ(state["dropped"], 2);
  EXPECT_EQ(state["api_connections"], 3);

  // ... but only once: closed again, it is an error.
  (void)server.control("/_test/drop_next", {{"method", "Users.get"}, {"times", 2}});
  message = provision_error([&] { (void)provisioner->exists("zed", "example.com"); });
  EXPECT_EQ(message.rfind("Kerio admin API Users.get: ", 0), 0U) << message;
  EXPECT_EQ(server.state()["dropped"], 4);
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  EXPECT_EQ(server.state()["logins"], 1) << "the session survived the dropped connections";
}

// An IPv4 address of this machine outside 127/8 (no packet is sent for a UDP connect).
std::string non_loopback_address() {
  const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(9);
  ::inet_pton(AF_INET, "192.0.2.1", &target.sin_addr);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  const bool ok = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0 &&
                  ::getsockname(probe, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  if (probe >= 0) ::close(probe);
  std::array<char, INET_ADDRSTRLEN> text{};
  if (!ok || ::inet_ntop(AF_INET, &local.sin_addr, text.data(), text.size()) == nullptr)
    throw std::runtime_error("this machine has no non-loopback IPv4 address to test with");
  return text.data();
}

TEST(KerioHttp, PlainHttpToANonLoopbackPeerSendsNothing) {
  const std::string address = non_loopback_address();
  ASSERT_FALSE(provision::is_loopback_address(address)) << address;
  // A listening socket is enough: the kernel completes the TCP handshake.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in bound{};
  bound.sin_family = AF_INET;
  ::inet_pton(AF_INET, address.c_str(), &bound.sin_addr);
  socklen_t length = sizeof bound;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&bound), sizeof bound), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length), 0);

  provision::HttpClientOptions options;
  options.host = address;
  options.port = ntohs(bound.sin_port);
  options.tls = false;
  options.timeout = 10s;
  provision::HttpClient client(options);
  try {
    (void)client.post("/admin/api/jsonrpc/", R"({"password":"x"})", {{"X-Token", "t"}});
    ADD_FAILURE() << "no HttpError";
  } catch (const provision::HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing plain http to http://" + address), std::string::npos)
        << e.what();
  }
  pollfd waiting{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 5000), 1) << "the client did connect";
  const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(connection, 0);
  pollfd reading{connection, POLLIN, 0};
  ASSERT_EQ(::poll(&reading, 1, 5000), 1);
  std::array<char, 64> buffer{};
  EXPECT_EQ(::recv(connection, buffer.data(), buffer.size(), 0), 0) << "closed without sending a byte";
  ::close(connection);
  ::close(listener);
}

TEST(KerioProvisioner, PlainHttpOnlyForLoopback) {
  const KerioApiServer server({"--plain"});
  ProvisionOptions options = server.options();
  options.ca_file.clear();
  const auto provisioner =
      make_kerio_provisioner("http://127.0.0.1:" + std::to_string(server.port()), options);
  EXPECT_TRUE(provisioner->exists("bob", "example.com"));
  provisioner->finish();
  EXPECT_EQ(server.state(/*tls=*/false)["logouts"], 1);

  EXPECT_THROW((void)make_kerio_provisioner("http://mail.example.com:4040", options), std::invalid_argument);
  EXPECT_THROW((void)make_kerio_provisioner("http://10.0.0.1", options), std::invalid_argument);
}

TEST(KerioProvisioner, UrlParsing) {
  ProvisionOptions options;
  options.admin_user = "admin";
  options.admin_password = "pw";
  EXPECT_EQ(make_kerio_provisioner("https://mail.example.com", options)->describe(),
            "Kerio Connect admin API at https://mail.example.com:4040");
  EXPECT_EQ(make_kerio_provisioner("HTTPS://mail.example.com:8443/", options)->describe(),
            "Kerio Connect admin API at https://mail.example.com:8443");
  EXPECT_EQ(make_kerio_provisioner("https://mail.example.com/admin/api/jsonrpc/", options)->describe(),
            "Kerio Connect admin API at https://mail.example.com:4040");
  EXPECT_EQ(make_kerio_provisioner("https://[2001:db8::1]:4040", options)->describe(),
            "Kerio Connect admin API at https://[2001:db8::1]:4040");
  EXPECT_EQ(make_kerio_provisioner("http://[::1]:4040", options)->describe(),
            "Kerio Connect admin API at http://[::1]:4040");
  EXPECT_EQ(make_kerio_provisioner("http://localhost", options)->describe(),
            "Kerio Connect admin API at http://localhost:4040");
  for (const char* bad :
       {"mail.example.com", "ftp://mail.example.com", "https://", "https://:4040",
        "https://mail.example.com:0", "https://mail.example.com:65536",
        "https://mail.example.com:", "https://mail.example.com:40x0", "https://admin:pw@mail.example.com",
        "https://mail.example.com/webmail/", "https://[2001:db8::1", "https://mail.example.com?x=1"}) {
    EXPECT_THROW((void)make_kerio_provisioner(bad, options), std::invalid_argument) << bad;
  }
  ProvisionOptions no_admin;
  EXPECT_THROW((void)make_kerio_provisioner("https://mail.example.com", no_admin), std::invalid_argument);
}

}  // namespace
}  // namespace mailmig
