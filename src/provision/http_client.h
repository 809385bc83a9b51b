// A minimal HTTP/1.1 client over imap::Transport, for JSON-RPC admin APIs.
// Hand-written: no HTTP client library is in our dependency set, and the
// Kerio admin API needs only POST on one keep-alive connection.
//
// One connection per client object, opened on first use and kept alive; a
// connection the server closed in the meantime is replaced once. Set-Cookie
// name=value pairs are remembered and sent back in a Cookie header. Responses
// are framed by Content-Length, chunked transfer coding, or the end of the
// connection, and refused beyond a size limit. Not thread-safe: callers lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imap/transport.h"

namespace mailmig::provision {

// A transport failure, a malformed or oversized response. The message names
// the server; it never contains request bodies.
class HttpError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;  // in arrival order, names as sent
  std::string body;

  // The first header with this name (case-insensitive).
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  // Every header with this name (e.g. Set-Cookie).
  [[nodiscard]] std::vector<std::string> headers_named(std::string_view name) const;
};

struct HttpClientOptions {
  std::string host;
  std::uint16_t port = 0;
  bool tls = true;
  imap::TlsOptions tls_options;  // ca_file, insecure, server_name
  // Plain http only to a loopback peer (checked after connecting).
  bool require_loopback_for_plain = true;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::size_t max_response_bytes = std::size_t{16} << 20;  // 16 MiB of body
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  // POSTs `body` to `path` ("/admin/api/jsonrpc/") with the extra headers
  // (Host, Content-Length, Cookie and Connection are set here). Returns any
  // status; throws HttpError on transport or framing failures.
  HttpResponse post(std::string_view path, std::string_view body, const HttpHeaders& headers = {});

  // Cookies captured from Set-Cookie, as name=value pairs in arrival order.
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& cookies() const { return cookies_; }
  void clear_cookies() { cookies_.clear(); }

  // Closes the connection (the next post() opens a new one). Keeps cookies.
  void close();
  [[nodiscard]] bool connected() const { return transport_ != nullptr; }
  // How many TCP connections this client has opened, for tests and reports.
  [[nodiscard]] int connections_opened() const { return connections_opened_; }
  // "https://host:port"
  [[nodiscard]] std::string origin() const;

 private:
  void connect();
  // One request/response exchange on the current connection. Sets
  // `got_response_bytes` once any byte of the response arrived.
  HttpResponse exchange(const std::string& request, bool& got_response_bytes);
  std::string build_request(std::string_view path, std::string_view body, const HttpHeaders& headers) const;
  void remember_cookies(const HttpResponse& response);

  // Reading, buffered.
  bool fill();  // false at end of stream
  std::string read_line(std::size_t limit, const char* what);
  void read_exact(std::size_t count, std::string& out);
  void read_to_end(std::string& out);
  void read_chunked(std::string& out);
  void add_body_bytes(std::size_t count);

  HttpClientOptions options_;
  std::unique_ptr<imap::Transport> transport_;
  std::string buffer_;  // bytes read but not consumed
  std::size_t buffer_pos_ = 0;
  std::size_t body_bytes_ = 0;  // of the response being read
  std::vector<std::pair<std::string, std::string>> cookies_;
  int connections_opened_ = 0;
};

}  // namespace mailmig::provision
