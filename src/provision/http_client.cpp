#include "provision/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "core/ascii.h"

namespace mailmig::provision {
namespace {

// RFC 9110 token characters.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
    return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
  });
}

// curl_global_init is not safe to run concurrently with anything else in
// curl; once per process, before the first handle. Never cleaned up: the
// process ends first.
void init_curl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK)
    throw HttpError(fmt::format("cannot initialise libcurl: {}", curl_easy_strerror(result)));
}

}  // namespace

struct HttpClient::Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  // CURLOPT_WRITEFUNCTION: collects the body; returning less than it got
  // makes curl abort the transfer (CURLE_WRITE_ERROR).
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& self = *static_cast<Connection*>(user);
    const std::size_t bytes = size * count;
    if (bytes > self.max_body - self.body.size()) {
      self.too_large = true;
      return 0;
    }
    try {
      self.body.append(data, bytes);
    } catch (const std::bad_alloc&) {
      return 0;  // no exception may cross curl's C frames
    }
    return bytes;
  }

  // CURLOPT_PREREQFUNCTION: runs once the connection stands (also a reused
  // one), before the request is sent.
  static int on_connected(void* user, char* primary_ip, char* /*local_ip*/, int primary_port,
                          int /*local_port*/) {
    auto& self = *static_cast<Connection*>(user);
    try {
      if (is_loopback_address(primary_ip)) return CURL_PREREQFUNC_OK;
      self.refused_peer = fmt::format("{} port {}", primary_ip, primary_port);
    } catch (const std::exception&) {
      self.refused_peer = "a peer";  // no exception may cross curl's C frames
    }
    return CURL_PREREQFUNC_ABORT;
  }

  // CURLOPT_SSL_CTX_FUNCTION: OpenSSL checks the host name during the
  // handshake (curl checks it only afterwards), so a server with another
  // host's certificate sees the handshake fail, as with our IMAP transport.
  static CURLcode on_ssl_context(CURL* /*easy*/, void* ssl_context, void* user) {
    const auto& self = *static_cast<const Connection*>(user);
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(static_cast<SSL_CTX*>(ssl_context));
    in6_addr ignored{};
    const bool ip = ::inet_pton(AF_INET, self.host.c_str(), &ignored) == 1 ||
                    ::inet_pton(AF_INET6, self.host.c_str(), &ignored) == 1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, self.host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, self.host.c_str(), 0);
    return set == 1 ? CURLE_OK : CURLE_SSL_CERTPROBLEM;
  }

  CURL* easy = nullptr;
  std::string host;  // the name the certificate must carry
  std::array<char, CURL_ERROR_SIZE> error{};
  std::size_t max_body = 0;
  std::string body;  // of the response being read
  bool too_large = false;
  std::string refused_peer;  // a plain-http peer outside loopback
};

bool is_loopback_address(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string http_origin(const HttpClientOptions& options) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", options.tls ? "https" : "http", ipv6 ? "[" : "", options.host,
                     ipv6 ? "]" : "", options.port);
}

bool is_acceptable_header(std::string_view name, std::string_view value) {
  if (!is_token(name) || value.empty()) return false;  // curl drops a header without a value
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return false;
  constexpr std::array<std::string_view, 6> kSetByTheClient = {"Host",       "Content-Length",    "Cookie",
                                                               "Connection", "Transfer-Encoding", "Expect"};
  return std::none_of(kSetByTheClient.begin(), kSetByTheClient.end(),
                      [&](std::string_view reserved) { return ascii_iequals(name, reserved); });
}

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), origin_(http_origin(options_)) {
  if (options_.host.empty()) throw std::invalid_argument("HttpClient: empty host");
  if (options_.port == 0) throw std::invalid_argument("HttpClient: port 0");
}

HttpClient::~HttpClient() = default;

void HttpClient::close() {
  connection_.reset();
}

void HttpClient::clear_cookies() {
  if (connection_) curl_easy_setopt(connection_->easy, CURLOPT_COOKIELIST, "ALL");
}

void HttpClient::open() {
  init_curl_once();
  auto connection = std::make_unique<Connection>();
  connection->easy = curl_easy_init();
  if (connection->easy == nullptr) throw HttpError(fmt::format("{}: cannot create a curl handle", origin_));
  connection->max_body = options_.max_response_bytes;
  CURL* easy = connection->easy;
  const auto set = [&](CURLoption option, auto value) {
    const CURLcode result = curl_easy_setopt(easy, option, value);
    if (result != CURLE_OK)
      throw HttpError(fmt::format("{}: cannot set up curl: {}", origin_, curl_easy_strerror(result)));
  };
  // Never CURLOPT_VERBOSE: it would print the X-Token header and the bodies.
  set(CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: several threads
  set(CURLOPT_ERRORBUFFER, connection->error.data());
  set(CURLOPT_PROTOCOLS_STR, options_.tls ? "https" : "http");
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_COOKIEFILE, "");  // the in-memory cookie engine, nothing read from disk
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  set(CURLOPT_WRITEFUNCTION, &Connection::on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(connection.get()));
  if (options_.tls) {
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_SSL_VERIFYPEER, options_.insecure ? 0L : 1L);
    set(CURLOPT_SSL_VERIFYHOST, options_.insecure ? 0L : 2L);
    if (!options_.insecure) {
      connection->host = options_.host;
      set(CURLOPT_SSL_CTX_FUNCTION, &Connection::on_ssl_context);
      set(CURLOPT_SSL_CTX_DATA, static_cast<void*>(connection.get()));
    }
    if (!options_.ca_file.empty()) {
      // Instead of the system store, not in addition to it.
      set(CURLOPT_CAINFO, options_.ca_file.c_str());
      set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    }
  } else if (options_.require_loopback_for_plain) {
    set(CURLOPT_PREREQFUNCTION, &Connection::on_connected);
    set(CURLOPT_PREREQDATA, static_cast<void*>(connection.get()));
  }
  connection_ = std::move(connection);
}

HttpResponse HttpClient::post(std::string_view path, std::string_view body, const HttpHeaders& headers) {
  if (path.empty() || path.front() != '/' ||
      path.find_first_of(std::string_view(" \r\n\0#?", 6)) != std::string_view::npos)
    throw std::invalid_argument(
        "HttpClient::post: the path must start with / and contain no spaces, line breaks, ? or #");
  using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
  HeaderList list(nullptr, &curl_slist_free_all);
  const auto add = [&](const std::string& line) {
    // Returns the head of the list (the new one for an empty list), nullptr
    // without memory (the list is then unchanged).
    curl_slist* head = curl_slist_append(list.get(), line.c_str());
    if (head == nullptr) throw std::bad_alloc();
    if (!list) list.reset(head);
  };
  for (const auto& [name, value] : headers) {
    if (!is_acceptable_header(name, value))
      throw std::invalid_argument(fmt::format("HttpClient::post: header {} refused", name));
    add(fmt::format("{}: {}", name, value));
  }
  add("Expect:");  // no 100-continue round trip for larger bodies

  if (!connection_) open();
  Connection& connection = *connection_;
  CURL* easy = connection.easy;
  const std::string url = origin_ + std::string(path);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());  // not copied: lives until perform returns
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list.get());
  connection.body.clear();
  connection.too_large = false;
  connection.refused_peer.clear();
  connection.error[0] = '\0';

  const CURLcode result = curl_easy_perform(easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));

  if (connection.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    connection.body.clear();
    throw HttpError(fmt::format("{}: response larger than the limit of {} bytes; refused", url,
                                options_.max_response_bytes));
  }
  if (!connection.refused_peer.empty()) {
    throw HttpError(
        fmt::format("refusing plain http to {} ({}): only loopback test servers may use http, "
                    "use https",
                    origin_, connection.refused_peer));
  }
  if (result != CURLE_OK) {
    const char* reason = connection.error[0] != '\0' ? connection.error.data() : curl_easy_strerror(result);
    throw HttpError(fmt::format("{}: {}", url, reason));
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse response;
  response.status = static_cast<int>(status);
  response.body = std::move(connection.body);
  connection.body.clear();
  return response;
}

}  // namespace mailmig::provision
