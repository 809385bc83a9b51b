// An HTTP(S) POST client for JSON-RPC admin APIs (the Kerio admin API), on
// libcurl (docs/protocols.md#kerio-administration-api).
//
// One curl easy handle per client: curl keeps the connection alive between
// requests and, when a reused connection turns out to be dead before any
// answer byte, sends the request once more on a new one. Cookies live in
// curl's in-memory cookie engine. TLS certificates and host names are verified
// unless `insecure`. Plain http only to a loopback peer (checked after
// connecting, before the request is sent). Responses beyond a size limit are
// refused. curl honours the standard proxy variables (https_proxy, no_proxy,
// ...). Not thread-safe: callers lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailmig::provision {

// A transport failure, a refused (oversized, non-loopback plain) response.
// The message names the URL and curl's reason; never a request body.
class HttpError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
};

struct HttpClientOptions {
  std::string host;
  std::uint16_t port = 0;
  bool tls = true;
  std::string ca_file;    // PEM bundle to trust instead of the system store
  bool insecure = false;  // skip certificate and host-name verification (warned by the caller)
  // Plain http only to a loopback peer (checked after connecting).
  bool require_loopback_for_plain = true;
  // For connecting, and for a whole request and its answer.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::size_t max_response_bytes = std::size_t{16} << 20;  // 16 MiB of body
};

// 127.0.0.0/8, ::1 or an IPv4-mapped 127.x address (a literal, no name lookup).
[[nodiscard]] bool is_loopback_address(const std::string& address);

// "https://host:port", IPv6 literals in brackets.
[[nodiscard]] std::string http_origin(const HttpClientOptions& options);

// A header we send: the name an RFC 9110 token, the value without CR, LF or
// NUL, and neither set by the client itself (Host, Content-Length, Cookie,
// Connection, Transfer-Encoding, Expect).
[[nodiscard]] bool is_acceptable_header(std::string_view name, std::string_view value);

class HttpClient {
 public:
  // Throws std::invalid_argument for an empty host or port 0.
  explicit HttpClient(HttpClientOptions options);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  // POSTs `body` to `path` ("/admin/api/jsonrpc/") with the extra headers.
  // Returns any status; throws HttpError on transport failures and refused
  // responses, std::invalid_argument for a bad path or header.
  HttpResponse post(std::string_view path, std::string_view body, const HttpHeaders& headers = {});

  // Forgets every cookie (a new login follows).
  void clear_cookies();
  // Closes the connection and forgets the cookies; the next post() starts afresh.
  void close();
  [[nodiscard]] const std::string& origin() const { return origin_; }

 private:
  struct Connection;  // the curl easy handle and the state of one request
  void open();

  HttpClientOptions options_;
  std::string origin_;
  std::unique_ptr<Connection> connection_;  // created on first use
};

}  // namespace mailmig::provision
