#include "imap/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// SIGPIPE keeps its default action in the test thread on purpose: if the
// transport ever wrote to a dead socket without MSG_NOSIGNAL, the whole test
// binary would die. The in-process servers block it in their own threads.

namespace mailmig::imap {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kTimeout = 5s;

// ---- throwaway certificates ----

// A test CA with a server certificate for localhost / 127.0.0.1 / ::1, and an
// unrelated CA, made with the openssl command once per test run.
class Certs {
 public:
  Certs() {
    std::string pattern = (fs::temp_directory_path() / "mailmig-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::ofstream(dir_ / "server.ext") << "basicConstraints=critical,CA:FALSE\n"
                                          "keyUsage=critical,digitalSignature\n"
                                          "extendedKeyUsage=serverAuth\n"
                                          "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n";
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    run("req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj '/CN=mailmig test CA'");
    run("req -x509 " + key + " -keyout other.key -out other.pem -days 2 -subj '/CN=mailmig other CA'");
    run("req " + key + " -keyout server.key -out server.csr -subj /CN=localhost");
    run("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 "
        "-extfile server.ext -out server.pem");
  }
  Certs(const Certs&) = delete;
  Certs& operator=(const Certs&) = delete;
  ~Certs() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  [[nodiscard]] std::string ca() const { return (dir_ / "ca.pem").string(); }
  [[nodiscard]] std::string other_ca() const { return (dir_ / "other.pem").string(); }
  [[nodiscard]] std::string server_cert() const { return (dir_ / "server.pem").string(); }
  [[nodiscard]] std::string server_key() const { return (dir_ / "server.key").string(); }

 private:
  void run(const std::string& args) const {
    const std::string log = (dir_ / "openssl.log").string();
    const std::string command = "cd '" + dir_.string() + "' && openssl " + args + " >'" + log + "' 2>&1";
    if (std::system(command.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe): before any server thread
      std::stringstream text;
      text << std::ifstream(log).rdbuf();
      throw std::runtime_error("openssl " + args + " failed:\n" + text.str());
    }
  }

  fs::path dir_;
};

const Certs& certs() {
  static const Certs instance;
  return instance;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

SSL_CTX* server_ctx() {
  static const std::unique_ptr<SSL_CTX, SslCtxFree> ctx = [] {
    std::unique_ptr<SSL_CTX, SslCtxFree> made(SSL_CTX_new(TLS_server_method()));
    if (!made || SSL_CTX_use_certificate_chain_file(made.get(), certs().server_cert().c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(made.get(), certs().server_key().c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("cannot set up the test server's TLS context");
    }
    return made;
  }();
  return ctx.get();
}

// ---- in-process server ----

bool make_address(const std::string& ip, std::uint16_t port, sockaddr_storage& out, socklen_t& length) {
  out = {};
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, ip.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&out, &v4, sizeof v4);
    length = sizeof v4;
    return true;
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, ip.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&out, &v6, sizeof v6);
    length = sizeof v6;
    return true;
  }
  return false;
}

// A socket bound to `ip` port 0; the port it got, or 0 when that fails.
std::uint16_t bind_any_port(int fd, const std::string& ip) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (!make_address(ip, 0, address, length)) return 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) return 0;
  length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    return ntohs(v4.sin_port);
  }
  sockaddr_in6 v6{};
  std::memcpy(&v6, &address, sizeof v6);
  return ntohs(v6.sin6_port);
}

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = bind_any_port(fd, "::1") != 0;
  ::close(fd);
  return ok;
}

// Accepts one connection on `ip` and runs `handler` on it in a thread; the
// socket is closed when the handler returns. Blocking sockets with 10 s
// timeouts, so a broken test fails instead of hanging.
class TestServer {
 public:
  using Handler = std::function<void(int fd)>;

  explicit TestServer(Handler handler, const std::string& ip = "127.0.0.1") {
    sockaddr_storage probe{};
    socklen_t unused = 0;
    if (!make_address(ip, 0, probe, unused)) throw std::runtime_error("bad address " + ip);
    listen_fd_ = ::socket(probe.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    port_ = listen_fd_ >= 0 ? bind_any_port(listen_fd_, ip) : 0;
    if (port_ == 0 || ::listen(listen_fd_, 4) != 0 || ::pipe2(stop_, O_CLOEXEC) != 0) {
      throw std::runtime_error("cannot listen on " + ip);
    }
    thread_ = std::thread([this, run = std::move(handler)] { serve(run); });
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    const char wake = 0;
    (void)::write(stop_[1], &wake, 1);
    thread_.join();
    ::close(stop_[0]);
    ::close(stop_[1]);
    ::close(listen_fd_);
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  void serve(const Handler& handler) const {
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

    pollfd waits[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (::poll(waits, 2, 30000) <= 0 || (waits[0].revents & POLLIN) == 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    const timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    // Without it each TLS test waits 40 ms for a delayed ACK (Nagle after the
    // server's two session-ticket records).
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    try {
      handler(fd);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "server: " << e.what();
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// ---- server-side helpers (blocking) ----

void send_text(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("server send failed");
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string recv_line(int fd) {
  std::string line;
  char c = 0;
  while (line.empty() || line.back() != '\n') {
    if (::recv(fd, &c, 1, 0) != 1) throw std::runtime_error("server recv failed");
    line += c;
  }
  return line;
}

// Reads until the client closes (or the 10 s socket timeout).
void drain_until_eof(int fd) {
  char buffer[4096];
  while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
  }
}

SslPtr tls_accept(int fd) {
  SslPtr ssl(SSL_new(server_ctx()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) throw std::runtime_error("server SSL_new failed");
  if (SSL_accept(ssl.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ssl;
}

void tls_send(SSL* ssl, std::string_view data) {
  std::size_t written = 0;
  if (SSL_write_ex(ssl, data.data(), data.size(), &written) != 1 || written != data.size()) {
    throw std::runtime_error("server SSL_write failed");
  }
}

std::string tls_recv_exact(SSL* ssl, std::size_t size, std::size_t chunk = 4096) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (out.size() < size) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl, buffer.data(), std::min(chunk, size - out.size()), &got) != 1) {
      throw std::runtime_error("server SSL_read failed");
    }
    out.append(buffer.data(), got);
  }
  return out;
}

// The SSL_get_error() that ends reading: SSL_ERROR_ZERO_RETURN after close_notify.
int tls_read_until_end(SSL* ssl) {
  char buffer[4096];
  std::size_t got = 0;
  int rc = 0;
  while ((rc = SSL_read_ex(ssl, buffer, sizeof buffer, &got)) == 1) {
  }
  const int error = SSL_get_error(ssl, rc);
  ERR_clear_error();
  return error;
}

// ---- client-side helpers ----

std::string read_exact(Transport& transport, std::size_t size, std::size_t chunk = 4096) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (out.size() < size) {
    const std::size_t n = transport.read_some(std::span(buffer.data(), std::min(chunk, size - out.size())));
    if (n == 0) throw std::runtime_error("unexpected end of stream");
    out.append(buffer.data(), n);
  }
  return out;
}

std::unique_ptr<Transport> connect_to(const TestServer& server, const std::string& host = "127.0.0.1") {
  return Transport::connect(host, server.port(), kTimeout);
}

TlsOptions trusting(const std::string& ca_file, std::string server_name = {}) {
  TlsOptions options;
  options.ca_file = ca_file;
  options.server_name = std::move(server_name);
  return options;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(generator() & 0xFFU);
  return out;
}

// Writes until write_all throws (the peer is gone), returning the error.
NetError write_until_error(Transport& transport) {
  const std::string chunk(std::size_t{64} * 1024, 'x');
  for (int i = 0; i < 400; ++i) {
    try {
      transport.write_all(chunk);
    } catch (const NetError& e) {
      return e;
    }
    std::this_thread::sleep_for(5ms);
  }
  throw std::runtime_error("writing to a closed peer never failed");
}

// ---- plain TCP ----

TEST(TransportPlain, EchoRoundTrip) {
  TestServer server([](int fd) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) send_text(fd, std::string_view(buffer, n));
  });
  auto transport = connect_to(server);
  EXPECT_FALSE(transport->is_tls());
  EXPECT_NE(transport->peer_description().find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << transport->peer_description();
  transport->write_all("a1 NOOP\r\n");
  EXPECT_EQ(read_exact(*transport, 9), "a1 NOOP\r\n");
  transport->write_all("a2 LOGOUT\r\n");
  EXPECT_EQ(read_exact(*transport, 11, 3), "a2 LOGOUT\r\n");
}

TEST(TransportPlain, ConnectionRefusedNamesThePort) {
  // Bound but not listening: connections are refused, and the port cannot be
  // taken by anyone else meanwhile.
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const std::uint16_t port = bind_any_port(holder, "127.0.0.1");
  ASSERT_NE(port, 0);
  try {
    (void)Transport::connect("127.0.0.1", port, kTimeout);
    ADD_FAILURE() << "connected to a closed port";
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), NetError::Kind::Connect);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
  ::close(holder);
}

TEST(TransportPlain, ConnectTimesOut) {
  // A listener that never accepts, with its backlog full: Linux drops further
  // SYNs, so the next connect hangs until our timeout.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const std::uint16_t port = bind_any_port(listener, "127.0.0.1");
  ASSERT_NE(port, 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  std::vector<std::unique_ptr<Transport>> fillers;
  std::string outcome;
  for (int i = 0; i < 8 && outcome.empty(); ++i) {
    try {
      fillers.push_back(Transport::connect("127.0.0.1", port, 200ms));
    } catch (const NetError& e) {
      EXPECT_EQ(e.kind(), NetError::Kind::Timeout) << e.what();
      outcome = e.what();
    }
  }
  ::close(listener);
  if (outcome.empty()) GTEST_SKIP() << "the kernel accepted every connection";
  EXPECT_NE(outcome.find("timed out after 200 ms"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << outcome;
}

TEST(TransportPlain, ConnectByNameTriesEveryAddress) {
  // The server listens on IPv4 only; if "localhost" resolves to ::1 first,
  // that attempt is refused and 127.0.0.1 must be tried next.
  TestServer server([](int fd) { send_text(fd, "hi"); });
  auto transport = connect_to(server, "localhost");
  EXPECT_EQ(read_exact(*transport, 2), "hi");
  EXPECT_NE(transport->peer_description().find("localhost:"), std::string::npos);
}

TEST(TransportPlain, ReadTimesOut) {
  TestServer server(drain_until_eof);
  auto transport = connect_to(server);
  transport->set_timeout(200ms);
  char buffer[16];
  try {
    (void)transport->read_some(buffer);
    ADD_FAILURE() << "read returned without data";
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), NetError::Kind::Timeout) << e.what();
    EXPECT_NE(std::string(e.what()).find("200 ms"), std::string::npos) << e.what();
  }
}

TEST(TransportPlain, EndOfStreamReadsZero) {
  TestServer server([](int fd) { send_text(fd, "* BYE\r\n"); });
  auto transport = connect_to(server);
  EXPECT_EQ(read_exact(*transport, 7), "* BYE\r\n");
  char buffer[16];
  EXPECT_EQ(transport->read_some(buffer), 0U);
  EXPECT_EQ(transport->read_some(buffer), 0U);
}

TEST(TransportPlain, PeerIsLoopbackIpv4) {
  TestServer server([](int) {});
  EXPECT_TRUE(connect_to(server)->peer_is_loopback());
}

TEST(TransportPlain, PeerIsLoopbackIpv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  TestServer server([](int) {}, "::1");
  auto transport = connect_to(server, "::1");
  EXPECT_TRUE(transport->peer_is_loopback());
  EXPECT_NE(transport->peer_description().find("[::1]:"), std::string::npos) << transport->peer_description();
}

TEST(TransportPlain, PeerIsLoopbackIpv4Mapped) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6";
  TestServer server([](int) {});
  std::unique_ptr<Transport> transport;
  try {
    transport = connect_to(server, "::ffff:127.0.0.1");
  } catch (const NetError& e) {
    GTEST_SKIP() << "no dual-stack sockets: " << e.what();
  }
  EXPECT_TRUE(transport->peer_is_loopback());
}

TEST(TransportPlain, CallsAfterCloseThrowClosed) {
  TestServer server(drain_until_eof);
  auto transport = connect_to(server);
  transport->close();
  transport->close();  // idempotent
  char buffer[16];
  for (const auto& call : std::initializer_list<std::function<void()>>{
           [&] { transport->write_all("x"); },
           [&] { (void)transport->read_some(buffer); },
           [&] { transport->start_tls({}); },
       }) {
    try {
      call();
      ADD_FAILURE() << "no exception after close()";
    } catch (const NetError& e) {
      EXPECT_EQ(e.kind(), NetError::Kind::Closed) << e.what();
    }
  }
}

TEST(TransportPlain, WriteToVanishedPeerThrowsWithoutSigpipe) {
  TestServer server([](int fd) {
    // Reset only once the client is surely connected, or connect() fails.
    EXPECT_EQ(recv_line(fd), "hi\n");
    const linger reset{1, 0};  // close with RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  });
  auto transport = connect_to(server);
  transport->write_all("hi\n");
  const NetError error = write_until_error(*transport);
  EXPECT_EQ(error.kind(), NetError::Kind::Io) << error.what();
}

// ---- TLS ----

class TransportTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)server_ctx(); }  // makes the certificates before any thread
};

// Handshakes, then echoes one line; expects the client's close_notify.
void tls_echo_line(int fd, const char* expected_sni) {
  const SslPtr ssl = tls_accept(fd);
  if (!ssl) return;  // the client gave up; its side of the test reports why
  const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
  if (expected_sni == nullptr) {
    EXPECT_EQ(sni, nullptr) << "SNI " << sni;
  } else {
    EXPECT_STREQ(sni, expected_sni);
  }
  std::string line;
  while (line.empty() || line.back() != '\n') line += tls_recv_exact(ssl.get(), 1);
  tls_send(ssl.get(), line);
  EXPECT_EQ(tls_read_until_end(ssl.get()), SSL_ERROR_ZERO_RETURN) << "no close_notify from the client";
}

TEST_F(TransportTls, VerifiedWithCaFileAndServerName) {
  TestServer server([](int fd) { tls_echo_line(fd, "localhost"); });
  auto transport = connect_to(server);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  EXPECT_TRUE(transport->is_tls());
  transport->write_all("a1 CAPABILITY\r\n");
  EXPECT_EQ(read_exact(*transport, 15), "a1 CAPABILITY\r\n");
  transport->close();
  EXPECT_FALSE(transport->is_tls());
}

TEST_F(TransportTls, DefaultServerNameIpLiteralMatchesIpSan) {
  TestServer server([](int fd) { tls_echo_line(fd, nullptr); });  // no SNI for an IP
  auto transport = connect_to(server, "127.0.0.1");
  transport->start_tls(trusting(certs().ca()));
  transport->write_all("ok\n");
  EXPECT_EQ(read_exact(*transport, 3), "ok\n");
}

TEST_F(TransportTls, DefaultServerNameHostName) {
  TestServer server([](int fd) { tls_echo_line(fd, "localhost"); });
  auto transport = connect_to(server, "localhost");
  transport->start_tls(trusting(certs().ca()));
  transport->write_all("ok\n");
  EXPECT_EQ(read_exact(*transport, 3), "ok\n");
}

// Expects start_tls to fail with `kind`; returns the message.
std::string expect_start_tls_failure(const TlsOptions& options, NetError::Kind kind,
                                     const std::string& host = "127.0.0.1") {
  TestServer server([](int fd) { (void)tls_accept(fd); });
  auto transport = Transport::connect(host, server.port(), kTimeout);
  try {
    transport->start_tls(options);
    ADD_FAILURE() << "handshake succeeded";
    return {};
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    // A failed handshake closes the transport: nothing may follow in plain text.
    EXPECT_THROW(transport->write_all("a1 LOGIN user secret\r\n"), NetError);
    return e.what();
  }
}

TEST_F(TransportTls, WrongCaFailsVerification) {
  const std::string message =
      expect_start_tls_failure(trusting(certs().other_ca(), "localhost"), NetError::Kind::Verify);
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
}

TEST_F(TransportTls, WrongHostNameFailsVerification) {
  const std::string message =
      expect_start_tls_failure(trusting(certs().ca(), "other.example"), NetError::Kind::Verify);
  EXPECT_NE(message.find("other.example"), std::string::npos) << message;
}

TEST_F(TransportTls, WrongIpFailsVerification) {
  (void)expect_start_tls_failure(trusting(certs().ca(), "127.0.0.2"), NetError::Kind::Verify);
}

TEST_F(TransportTls, MissingCaFileIsATlsError) {
  const std::string message =
      expect_start_tls_failure(trusting("/nonexistent/ca.pem", "localhost"), NetError::Kind::Tls);
  EXPECT_NE(message.find("/nonexistent/ca.pem"), std::string::npos) << message;
}

TEST_F(TransportTls, InsecureAcceptsWrongCaAndName) {
  TestServer server([](int fd) { tls_echo_line(fd, "other.example"); });
  auto transport = connect_to(server);
  TlsOptions options = trusting(certs().other_ca(), "other.example");
  options.insecure = true;
  transport->start_tls(options);
  transport->write_all("ok\n");
  EXPECT_EQ(read_exact(*transport, 3), "ok\n");
}

TEST_F(TransportTls, StartTlsAfterPlainExchange) {
  TestServer server([](int fd) {
    send_text(fd, "* OK ready\r\n");
    ASSERT_EQ(recv_line(fd), "a STARTTLS\r\n");
    send_text(fd, "a OK begin\r\n");
    const SslPtr ssl = tls_accept(fd);
    ASSERT_TRUE(ssl);
    EXPECT_EQ(tls_recv_exact(ssl.get(), 8), "b NOOP\r\n");
    tls_send(ssl.get(), "b OK done\r\n");
    EXPECT_EQ(tls_read_until_end(ssl.get()), SSL_ERROR_ZERO_RETURN);
  });
  auto transport = connect_to(server);
  EXPECT_EQ(read_exact(*transport, 12), "* OK ready\r\n");
  transport->write_all("a STARTTLS\r\n");
  EXPECT_EQ(read_exact(*transport, 12), "a OK begin\r\n");
  transport->start_tls(trusting(certs().ca(), "localhost"));
  transport->write_all("b NOOP\r\n");
  EXPECT_EQ(read_exact(*transport, 11), "b OK done\r\n");
}

TEST_F(TransportTls, LargeTransferBothWays) {
  constexpr std::size_t kSize = 20U << 20U;
  const std::string upload = random_bytes(kSize, 1);
  const std::string download = random_bytes(kSize, 2);
  TestServer server([&](int fd) {
    const SslPtr ssl = tls_accept(fd);
    ASSERT_TRUE(ssl);
    EXPECT_TRUE(tls_recv_exact(ssl.get(), kSize, 777) == upload);  // not EXPECT_EQ: 20 MB diffs
    tls_send(ssl.get(), download);
    (void)tls_read_until_end(ssl.get());
  });
  auto transport = connect_to(server);
  transport->set_timeout(30s);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  transport->write_all(upload);
  EXPECT_TRUE(read_exact(*transport, kSize, 1000) == download);
}

TEST_F(TransportTls, ServerCloseNotifyReadsZero) {
  TestServer server([](int fd) {
    const SslPtr ssl = tls_accept(fd);
    ASSERT_TRUE(ssl);
    tls_send(ssl.get(), "* BYE\r\n");
    (void)SSL_shutdown(ssl.get());
    drain_until_eof(fd);
  });
  auto transport = connect_to(server);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  EXPECT_EQ(read_exact(*transport, 7), "* BYE\r\n");
  char buffer[16];
  EXPECT_EQ(transport->read_some(buffer), 0U);
}

// The server drops the TCP connection in the middle of the TLS session; the
// client must see the end of the stream or an error, not wait for the timeout.
void expect_end_or_error_after_abrupt_close(bool reset) {
  TestServer server([reset](int fd) {
    const SslPtr ssl = tls_accept(fd);
    ASSERT_TRUE(ssl);
    tls_send(ssl.get(), "* partial");
    // A reset discards unread data, so wait until the client has it.
    EXPECT_EQ(tls_recv_exact(ssl.get(), 4), "got\n");
    if (reset) {
      const linger abort_close{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    } else {
      ::shutdown(fd, SHUT_RDWR);
    }
  });  // no SSL_shutdown: the SSL object is freed without close_notify
  auto transport = connect_to(server);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  EXPECT_EQ(read_exact(*transport, 9), "* partial");
  transport->write_all("got\n");
  try {
    char buffer[16];
    EXPECT_EQ(transport->read_some(buffer), 0U);
  } catch (const NetError& e) {
    EXPECT_NE(e.kind(), NetError::Kind::Timeout) << e.what();
  }
}

TEST_F(TransportTls, ServerClosesWithoutCloseNotify) {
  expect_end_or_error_after_abrupt_close(false);
}

TEST_F(TransportTls, ServerResetsConnection) {
  expect_end_or_error_after_abrupt_close(true);
}

TEST_F(TransportTls, CloseSendsCloseNotifyAndLaterCallsThrowClosed) {
  TestServer server([](int fd) {
    const SslPtr ssl = tls_accept(fd);
    ASSERT_TRUE(ssl);
    EXPECT_EQ(tls_read_until_end(ssl.get()), SSL_ERROR_ZERO_RETURN) << "no close_notify from the client";
  });
  auto transport = connect_to(server);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  transport->close();
  try {
    transport->write_all("a1 LOGOUT\r\n");
    ADD_FAILURE() << "write after close()";
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), NetError::Kind::Closed) << e.what();
  }
  char buffer[16];
  EXPECT_THROW((void)transport->read_some(buffer), NetError);
}

TEST_F(TransportTls, WriteToVanishedPeerThrowsWithoutSigpipe) {
  TestServer server([](int fd) {
    const SslPtr ssl = tls_accept(fd);
    const linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  });
  auto transport = connect_to(server);
  transport->start_tls(trusting(certs().ca(), "localhost"));
  const NetError error = write_until_error(*transport);
  EXPECT_NE(error.kind(), NetError::Kind::Timeout) << error.what();
}

TEST_F(TransportTls, HandshakeTimesOut) {
  TestServer server(drain_until_eof);  // never answers the ClientHello
  auto transport = connect_to(server);
  transport->set_timeout(200ms);
  try {
    transport->start_tls(trusting(certs().ca(), "localhost"));
    ADD_FAILURE() << "handshake with a silent server succeeded";
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), NetError::Kind::Timeout) << e.what();
  }
}

TEST_F(TransportTls, PlainTextServerIsATlsError) {
  TestServer server([](int fd) {
    send_text(fd, "* OK IMAP4rev1 server ready, no TLS here\r\n");
    drain_until_eof(fd);
  });
  auto transport = connect_to(server);
  try {
    transport->start_tls(trusting(certs().ca(), "localhost"));
    ADD_FAILURE() << "handshake with a plain-text server succeeded";
  } catch (const NetError& e) {
    EXPECT_EQ(e.kind(), NetError::Kind::Tls) << e.what();
  }
}

TEST_F(TransportTls, SeveralConnectionsOnSeveralThreads) {
  constexpr int kThreads = 4;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> clients;
  std::vector<std::unique_ptr<TestServer>> servers;
  clients.reserve(kThreads);
  servers.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    servers.push_back(std::make_unique<TestServer>([](int fd) { tls_echo_line(fd, "localhost"); }));
  }
  for (int i = 0; i < kThreads; ++i) {
    clients.emplace_back([&, port = servers[i]->port(), i] {
      try {
        auto transport = Transport::connect("127.0.0.1", port, kTimeout);
        transport->start_tls(trusting(certs().ca(), "localhost"));
        const std::string line = "line " + std::to_string(i) + "\n";
        transport->write_all(line);
        if (read_exact(*transport, line.size()) == line) ++succeeded;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(succeeded.load(), kThreads);
}

}  // namespace
}  // namespace mailmig::imap
