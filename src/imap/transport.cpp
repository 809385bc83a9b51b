#include "imap/transport.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/unique_fd.h"

namespace mailmig::imap {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// "10 s" for whole seconds, "200 ms" otherwise.
std::string timeout_text(milliseconds timeout) {
  if (timeout.count() != 0 && timeout.count() % 1000 == 0) return fmt::format("{} s", timeout.count() / 1000);
  return fmt::format("{} ms", timeout.count());
}

// "host:port", with brackets around an IPv6 literal so the port stays readable.
std::string host_port(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// Numeric text of a socket address ("192.0.2.1", "2001:db8::1").
std::string address_text(const sockaddr* addr, socklen_t length) {
  char text[NI_MAXHOST] = {};
  if (::getnameinfo(addr, length, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) return "?";
  return text;
}

// 127.0.0.0/8, ::1, or 127.x as an IPv4-mapped IPv6 address (a dual-stack socket).
bool is_loopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    return (ntohl(v4.sin_addr.s_addr) >> 24U) == 127U;
  }
  if (address.ss_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address, sizeof v6);
    if (IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr) && v6.sin6_addr.s6_addr[12] == 127U;
  }
  return false;
}

bool is_ip_literal(const std::string& name) {
  in6_addr buffer{};
  return ::inet_pton(AF_INET, name.c_str(), &buffer) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), &buffer) == 1;
}

// Waits until `fd` is ready for `events` or `deadline` passes, resuming after
// signals. Returns > 0 when ready (or in error / hung up: the next call on the
// socket reports that), 0 at the deadline, < 0 with errno on failure.
int poll_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    const auto wait_ms = static_cast<int>(std::clamp<milliseconds::rep>(left.count(), 0, INT_MAX));
    pollfd entry{fd, events, 0};
    const int rc = ::poll(&entry, 1, wait_ms);
    if (rc >= 0 || errno != EINTR) return rc;
  }
}

Clock::time_point deadline_after(milliseconds timeout) {
  // Clamp so a huge timeout cannot overflow the clock.
  constexpr milliseconds kMax = std::chrono::hours(24 * 365);
  return Clock::now() + std::min(std::max(timeout, milliseconds(0)), kMax);
}

// The queued OpenSSL errors of this thread, "; "-separated, emptying the queue.
std::string openssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256] = {};
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown TLS error" : out;
}

struct AddrInfoFree {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// ---- OpenSSL socket BIO ----
//
// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when the
// peer has gone. A library must not depend on the program ignoring SIGPIPE,
// so TLS records go through this minimal BIO that uses send(MSG_NOSIGNAL).

struct BioState {
  int fd = -1;
  bool eof = false;    // recv() returned 0
  int last_errno = 0;  // errno of the last failed send/recv, for SSL_ERROR_SYSCALL
};

int bio_write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::send(state->fd, data, length, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<std::size_t>(n);
      return 1;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) BIO_set_retry_write(bio);
    state->last_errno = err;
    return 0;
  }
}

int bio_read(BIO* bio, char* data, std::size_t length, std::size_t* read) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::recv(state->fd, data, length, 0);
    if (n > 0) {
      *read = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      // BIO_eof() must report this: OpenSSL then treats a missing close_notify
      // as the end of the stream (SSL_OP_IGNORE_UNEXPECTED_EOF).
      state->eof = true;
      *read = 0;
      return 0;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) BIO_set_retry_read(bio);
    state->last_errno = err;
    return 0;
  }
}

long bio_ctrl(BIO* bio, int command, long /*number*/, void* pointer) {
  const auto* state = static_cast<const BioState*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:  // send() does not buffer
      return 1;
    case BIO_CTRL_EOF:
      return state->eof ? 1 : 0;
    case BIO_C_GET_FD:
      if (pointer != nullptr) *static_cast<int*>(pointer) = state->fd;
      return state->fd;
    default:
      return 0;
  }
}

const BIO_METHOD* socket_bio_method() {
  // Built once and never freed: a constant table shared by every transport.
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mailmig socket");
    if (m != nullptr && (BIO_meth_set_write_ex(m, bio_write) != 1 || BIO_meth_set_read_ex(m, bio_read) != 1 ||
                         BIO_meth_set_ctrl(m, bio_ctrl) != 1)) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

// ---- the transport ----

class SocketTransport final : public Transport {
 public:
  SocketTransport(UniqueFd fd, std::string host, std::uint16_t port, milliseconds timeout)
      : fd_(fd.release()), host_(std::move(host)), timeout_(timeout) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    std::string address = "?";
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
      address = address_text(reinterpret_cast<const sockaddr*>(&peer), length);
      loopback_ = is_loopback(peer);
    }
    description_ = fmt::format("{} ({})", host_port(host_, port), address);
    bio_state_.fd = fd_;
  }
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;
  ~SocketTransport() override { close(); }

  void start_tls(const TlsOptions& options) override;
  [[nodiscard]] bool is_tls() const override { return ssl_ != nullptr; }
  void write_all(std::string_view data) override;
  std::size_t read_some(std::span<char> buffer) override;
  void set_timeout(milliseconds timeout) override { timeout_ = timeout; }
  [[nodiscard]] bool peer_is_loopback() const override { return loopback_; }
  [[nodiscard]] std::string peer_description() const override { return description_; }
  void close() override;
  void abort() override;

 private:
  void require_open(const char* action) const {
    if (fd_ < 0)
      throw NetError(NetError::Kind::Closed, fmt::format("{} {}: connection closed", action, description_));
  }
  // Waits for the socket to be ready for `events`, up to the timeout.
  void wait(short events, const char* action) const;
  [[noreturn]] void throw_errno(const char* action, int err) const {
    throw NetError(NetError::Kind::Io, fmt::format("{} {}: {}", action, description_, error_text(err)));
  }
  void handshake(const TlsOptions& options);
  // Repeats an OpenSSL I/O call, waiting on the socket whenever it wants to
  // read or write. Returns SSL_ERROR_NONE, or the SSL_get_error() of a failure.
  template <class Call>
  int run_tls(const char* action, Call call);
  // Throws the NetError for a failed SSL_read/SSL_write (not WANT_*).
  [[noreturn]] void throw_tls_io(const char* action, int ssl_error);

  int fd_;
  std::string host_;
  std::string description_;
  bool loopback_ = false;
  milliseconds timeout_;
  BioState bio_state_;  // the BIO points here, so it outlives ssl_
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool tls_failed_ = false;  // a fatal TLS error: no close_notify on close
};

void SocketTransport::wait(short events, const char* action) const {
  const int rc = poll_until(fd_, events, deadline_after(timeout_));
  if (rc > 0) return;
  if (rc == 0) {
    throw NetError(NetError::Kind::Timeout,
                   fmt::format("{} {}: timed out after {}", action, description_, timeout_text(timeout_)));
  }
  throw_errno(action, errno);
}

template <class Call>
int SocketTransport::run_tls(const char* action, Call call) {
  for (;;) {
    ERR_clear_error();
    bio_state_.last_errno = 0;
    const int rc = call();
    if (rc > 0) return SSL_ERROR_NONE;
    const int error = SSL_get_error(ssl_.get(), rc);
    if (error == SSL_ERROR_WANT_READ) {
      wait(POLLIN, action);
    } else if (error == SSL_ERROR_WANT_WRITE) {
      wait(POLLOUT, action);
    } else {
      return error;
    }
  }
}

void SocketTransport::throw_tls_io(const char* action, int ssl_error) {
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_SSL) tls_failed_ = true;
  if (ssl_error == SSL_ERROR_SYSCALL && bio_state_.last_errno != 0) {
    ERR_clear_error();
    throw_errno(action, bio_state_.last_errno);
  }
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    throw NetError(NetError::Kind::Io,
                   fmt::format("{} {}: connection closed in a TLS record", action, description_));
  }
  throw NetError(NetError::Kind::Tls, fmt::format("{} {}: {}", action, description_, openssl_errors()));
}

void SocketTransport::start_tls(const TlsOptions& options) {
  require_open("TLS handshake with");
  if (ssl_) throw std::logic_error("start_tls: TLS is already active");
  try {
    handshake(options);
  } catch (...) {
    // A failed handshake leaves the stream in an unknown state; nothing more
    // may be sent on it, least of all in plain text.
    tls_failed_ = true;
    close();
    throw;
  }
}

void SocketTransport::handshake(const TlsOptions& options) {
  const char* const action = "TLS handshake with";
  const auto fail = [&](const std::string& what) {
    return NetError(NetError::Kind::Tls,
                    fmt::format("{} {}: {}: {}", action, description_, what, openssl_errors()));
  };
  ERR_clear_error();

  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_) throw fail("cannot create the TLS context");
  if (SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION) != 1) throw fail("cannot require TLS 1.2");
  // IMAP frames its own data, so a TCP close without close_notify cannot
  // truncate a response unnoticed; many servers close that way after BYE.
  SSL_CTX_set_options(ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  // write_all loops over partial writes itself.
  SSL_CTX_set_mode(ctx_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (options.insecure) {
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_.get(), options.ca_file.c_str(), nullptr) != 1) {
        throw fail(fmt::format("cannot load CA file {}", options.ca_file));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx_.get()) != 1) {
      throw fail("cannot load the system trust store");
    }
  }

  ssl_.reset(SSL_new(ctx_.get()));
  if (!ssl_) throw fail("cannot create the TLS session");
  const BIO_METHOD* method = socket_bio_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) throw fail("cannot create the socket BIO");
  BIO_set_data(bio, &bio_state_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // the session owns the BIO (one reference for both directions)

  const std::string name = options.server_name.empty() ? host_ : options.server_name;
  const bool ip = is_ip_literal(name);
  // SNI carries host names only (RFC 6066).
  if (!ip && SSL_set_tlsext_host_name(ssl_.get(), name.c_str()) != 1)
    throw fail("cannot set the server name");
  if (!options.insecure) {
    if (ip) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), name.c_str()) != 1) {
        throw fail(fmt::format("cannot check the certificate for {}", name));
      }
    } else {
      SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl_.get(), name.c_str()) != 1) {
        throw fail(fmt::format("cannot check the certificate for {}", name));
      }
    }
  }

  const int error = run_tls(action, [&] { return SSL_connect(ssl_.get()); });
  if (error == SSL_ERROR_NONE) return;
  const long verify = SSL_get_verify_result(ssl_.get());
  if (!options.insecure && verify != X509_V_OK) {
    ERR_clear_error();
    throw NetError(NetError::Kind::Verify,
                   fmt::format("{} {}: certificate verify failed: {} (expected name \"{}\")", action,
                               description_, X509_verify_cert_error_string(verify), name));
  }
  if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    const std::string reason =
        bio_state_.last_errno != 0 ? error_text(bio_state_.last_errno) : "connection closed by the server";
    throw NetError(NetError::Kind::Tls, fmt::format("{} {} failed: {}", action, description_, reason));
  }
  throw NetError(NetError::Kind::Tls,
                 fmt::format("{} {} failed: {}", action, description_, openssl_errors()));
}

void SocketTransport::write_all(std::string_view data) {
  const char* const action = "writing to";
  require_open(action);
  if (ssl_) {
    while (!data.empty()) {
      std::size_t written = 0;
      // On WANT_* OpenSSL requires the same arguments again, which holds
      // because `data` only advances after a successful call.
      const int error =
          run_tls(action, [&] { return SSL_write_ex(ssl_.get(), data.data(), data.size(), &written); });
      if (error != SSL_ERROR_NONE) throw_tls_io(action, error);
      data.remove_prefix(written);
    }
    return;
  }
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(action, err);
    wait(POLLOUT, action);
  }
}

std::size_t SocketTransport::read_some(std::span<char> buffer) {
  const char* const action = "reading from";
  require_open(action);
  // A zero-byte read would be indistinguishable from the end of the stream.
  if (buffer.empty()) throw std::invalid_argument("read_some: empty buffer");
  if (ssl_) {
    std::size_t read = 0;
    const int error =
        run_tls(action, [&] { return SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &read); });
    if (error == SSL_ERROR_NONE) return read;
    if (error == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify, or a TCP close (see handshake)
    throw_tls_io(action, error);
  }
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) throw_errno(action, err);
    wait(POLLIN, action);
  }
}

void SocketTransport::abort() {
  if (fd_ < 0) return;
  // Linger 0: close() resets the connection and drops what is not yet sent.
  const linger reset{.l_onoff = 1, .l_linger = 0};
  (void)::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  tls_failed_ = true;  // no close_notify: it would only queue more bytes
  close();
}

void SocketTransport::close() {
  if (fd_ < 0) return;
  if (ssl_ && !tls_failed_) {
    // One attempt to send close_notify; the server's reply is not awaited,
    // and a full send buffer just means it is skipped.
    ERR_clear_error();
    (void)SSL_shutdown(ssl_.get());
  }
  ssl_.reset();
  ctx_.reset();
  ERR_clear_error();
  ::close(fd_);
  fd_ = -1;
  bio_state_.fd = -1;
}

// One non-blocking connect to `address`, bounded by `timeout`. Returns the
// connected socket, or an invalid one with `err` set (ETIMEDOUT and
// `timed_out` when the timeout ran out).
UniqueFd connect_one(const addrinfo& address, milliseconds timeout, int& err, bool& timed_out) {
  timed_out = false;
  UniqueFd fd(
      ::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address.ai_protocol));
  if (fd.get() < 0) {
    err = errno;
    return fd;
  }
  // Best effort: a failure costs latency or dead-peer detection, not correctness.
  const int on = 1;
  if (address.ai_family == AF_INET || address.ai_family == AF_INET6) {
    // Commands are small and pipelined; Nagle would hold them back.
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);

  const auto deadline = deadline_after(timeout);
  if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) == 0) return fd;
  // EINTR: the connection still proceeds asynchronously, like EINPROGRESS.
  if (errno != EINPROGRESS && errno != EINTR) {
    err = errno;
    return UniqueFd(-1);
  }
  const int rc = poll_until(fd.get(), POLLOUT, deadline);
  if (rc == 0) {
    err = ETIMEDOUT;
    timed_out = true;
    return UniqueFd(-1);
  }
  if (rc < 0) {
    err = errno;
    return UniqueFd(-1);
  }
  int so_error = 0;
  socklen_t length = sizeof so_error;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) so_error = errno;
  if (so_error != 0) {
    err = so_error;
    return UniqueFd(-1);
  }
  return fd;
}

}  // namespace

std::unique_ptr<Transport> Transport::connect(const std::string& host, std::uint16_t port,
                                              std::chrono::milliseconds timeout) {
  const std::string where = host_port(host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
  if (rc != 0) {
    const std::string reason = rc == EAI_SYSTEM ? error_text(errno) : ::gai_strerror(rc);
    throw NetError(NetError::Kind::Connect, fmt::format("cannot resolve {}: {}", where, reason));
  }
  const std::unique_ptr<addrinfo, AddrInfoFree> list(raw);

  int err = 0;
  bool timed_out = false;
  std::string last_address;
  int tried = 0;
  for (const addrinfo* address = list.get(); address != nullptr; address = address->ai_next) {
    ++tried;
    last_address = address_text(address->ai_addr, address->ai_addrlen);
    UniqueFd fd = connect_one(*address, timeout, err, timed_out);
    if (fd.get() >= 0) return std::make_unique<SocketTransport>(std::move(fd), host, port, timeout);
  }
  if (tried == 0)
    throw NetError(NetError::Kind::Connect, fmt::format("cannot connect to {}: no address", where));
  const std::string tried_text =
      tried == 1 ? last_address : fmt::format("{} addresses tried, last {}", tried, last_address);
  const std::string reason =
      timed_out ? fmt::format("timed out after {}", timeout_text(timeout)) : error_text(err);
  throw NetError(timed_out ? NetError::Kind::Timeout : NetError::Kind::Connect,
                 fmt::format("cannot connect to {} ({}): {}", where, tried_text, reason));
}

}  // namespace mailmig::imap
