// A byte stream to an IMAP server: TCP, optionally upgraded to TLS (implicit
// TLS or STARTTLS) with OpenSSL. Blocking I/O with a timeout on every wait, so
// a dead server shows up as an error instead of a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mailmig::imap {

// A network failure: connect, read, write, timeout, or the peer closing.
class NetError : public std::runtime_error {
 public:
  enum class Kind { Connect, Timeout, Closed, Io, Tls, Verify };
  NetError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct TlsOptions {
  std::string ca_file;      // PEM bundle to trust instead of the system store
  bool insecure = false;    // skip certificate and host-name verification (warned by the caller)
  std::string server_name;  // SNI and the name the certificate must match; default: the host connected to
};

class Transport {
 public:
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // TCP connection to host:port (IPv4 or IPv6, every address tried in order).
  // Throws NetError(Connect/Timeout).
  static std::unique_ptr<Transport> connect(const std::string& host, std::uint16_t port,
                                            std::chrono::milliseconds timeout);

  // TLS handshake on the open connection, with verification unless insecure.
  // Throws NetError(Tls/Verify/Timeout) with OpenSSL's reason in the message.
  virtual void start_tls(const TlsOptions& options) = 0;
  [[nodiscard]] virtual bool is_tls() const = 0;

  // Writes everything or throws NetError.
  virtual void write_all(std::string_view data) = 0;
  // Reads what is available, waiting up to the timeout for at least one byte.
  // Returns 0 at an orderly end of stream. Throws NetError(Timeout/Io/Tls).
  virtual std::size_t read_some(std::span<char> buffer) = 0;

  virtual void set_timeout(std::chrono::milliseconds timeout) = 0;
  // The peer is 127.0.0.0/8 or ::1 (plaintext credentials are allowed there).
  [[nodiscard]] virtual bool peer_is_loopback() const = 0;
  // "host:port (address)" for messages.
  [[nodiscard]] virtual std::string peer_description() const = 0;
  // Shuts down TLS (best effort) and closes the socket; later calls throw Closed.
  virtual void close() = 0;
  // Closes a connection given up on (timeout, I/O error, broken protocol) so
  // that nothing written to it can still reach the server: a normal close
  // leaves the unsent queue to the kernel, which keeps delivering it after a
  // stall -- an APPEND whose outcome the engine already settled (and resent)
  // would then be stored a second time. TCP: RST, the queue discarded.
  virtual void abort() { close(); }

 protected:
  Transport() = default;
};

}  // namespace mailmig::imap
