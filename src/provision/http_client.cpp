#include "provision/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

namespace mailmig::provision {
namespace {

constexpr std::size_t kMaxLine = std::size_t{8} * 1024;          // status line, header line, chunk-size line
constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;  // the whole header section
constexpr std::size_t kMaxHeaderCount = 200;
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (header names, cookie names).
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
    return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
  });
}

// A header value we send: no CR, LF or NUL (no header injection).
bool is_safe_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Every comma-separated element of a list header, trimmed and lower-cased.
std::vector<std::string> list_elements(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view part = trim(value.substr(0, comma));
    if (!part.empty()) {
      std::string item(part);
      std::transform(item.begin(), item.end(), item.begin(), lower);
      out.push_back(std::move(item));
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) out.push_back(value);
  }
  return out;
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  if (options_.host.empty()) throw std::invalid_argument("HttpClient: empty host");
  if (options_.port == 0) throw std::invalid_argument("HttpClient: port 0");
}

HttpClient::~HttpClient() {
  close();
}

std::string HttpClient::origin() const {
  return fmt::format("{}://{}:{}", options_.tls ? "https" : "http", host_for_url(options_.host),
                     options_.port);
}

void HttpClient::close() {
  if (transport_) transport_->close();
  transport_.reset();
  buffer_.clear();
  buffer_pos_ = 0;
}

void HttpClient::connect() {
  close();
  try {
    auto transport = imap::Transport::connect(options_.host, options_.port, options_.timeout);
    ++connections_opened_;
    if (options_.tls) {
      transport->start_tls(options_.tls_options);
    } else if (options_.require_loopback_for_plain && !transport->peer_is_loopback()) {
      const std::string peer = transport->peer_description();
      transport->close();
      throw HttpError(
          fmt::format("refusing plain http to {}: only loopback test servers may use http, "
                      "use https",
                      peer));
    }
    transport_ = std::move(transport);
  } catch (const imap::NetError& e) {
    throw HttpError(e.what());
  }
}

std::string HttpClient::build_request(std::string_view path, std::string_view body,
                                      const HttpHeaders& headers) const {
  if (path.empty() || path.front() != '/' ||
      path.find_first_of(std::string_view(" \r\n\0", 4)) != std::string_view::npos)
    throw std::invalid_argument(
        "HttpClient::post: the path must start with / and contain no spaces or line breaks");
  std::string request =
      fmt::format("POST {} HTTP/1.1\r\nHost: {}:{}\r\n", path, host_for_url(options_.host), options_.port);
  for (const auto& [name, value] : headers) {
    if (!is_token(name) || !is_safe_value(value))
      throw std::invalid_argument(fmt::format("HttpClient::post: invalid header {}", name));
    for (const char* reserved : {"Host", "Content-Length", "Cookie", "Connection", "Transfer-Encoding"}) {
      if (iequals(name, reserved))
        throw std::invalid_argument(fmt::format("HttpClient::post: header {} is set by the client", name));
    }
    request += name;
    request += ": ";
    request += value;
    request += "\r\n";
  }
  if (!cookies_.empty()) {
    request += "Cookie: ";
    for (std::size_t i = 0; i < cookies_.size(); ++i) {
      if (i != 0) request += "; ";
      request += cookies_[i].first;
      request += '=';
      request += cookies_[i].second;
    }
    request += "\r\n";
  }
  request += fmt::format("Content-Length: {}\r\n\r\n", body.size());
  request += body;
  return request;
}

HttpResponse HttpClient::post(std::string_view path, std::string_view body, const HttpHeaders& headers) {
  const std::string request = build_request(path, body, headers);
  for (int attempt = 0;; ++attempt) {
    bool reused = transport_ != nullptr;
    // An idle keep-alive connection with something to read was closed (or
    // spoiled) by the server: replace it before sending anything on it.
    if (reused && transport_->readable_now()) {
      close();
      reused = false;
    }
    if (!transport_) connect();
    bool got_response_bytes = false;
    try {
      return exchange(request, got_response_bytes);
    } catch (const imap::NetError& e) {
      close();
      // A reused connection that the server closed before answering: the
      // request was not processed, so it is sent once more on a new one.
      if (reused && !got_response_bytes && attempt == 0) continue;
      throw HttpError(e.what());
    } catch (const HttpError&) {
      close();
      if (reused && !got_response_bytes && attempt == 0) continue;
      throw;
    }
  }
}

bool HttpClient::fill() {
  if (buffer_pos_ > 0 && buffer_pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, buffer_pos_);
    buffer_pos_ = 0;
  }
  std::array<char, kReadChunk> chunk{};
  const std::size_t n = transport_->read_some(std::span<char>(chunk));
  if (n == 0) return false;
  buffer_.append(chunk.data(), n);
  return true;
}

std::string HttpClient::read_line(std::size_t limit, const char* what) {
  for (;;) {
    const std::size_t lf = buffer_.find('\n', buffer_pos_);
    if (lf != std::string::npos) {
      if (lf - buffer_pos_ > limit) throw HttpError(fmt::format("{}: {} too long", origin(), what));
      std::string line = buffer_.substr(buffer_pos_, lf - buffer_pos_);
      buffer_pos_ = lf + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buffer_.size() - buffer_pos_ > limit) throw HttpError(fmt::format("{}: {} too long", origin(), what));
    if (!fill()) throw HttpError(fmt::format("{}: connection closed in the {}", origin(), what));
  }
}

void HttpClient::add_body_bytes(std::size_t count) {
  if (count > options_.max_response_bytes - body_bytes_) {
    throw HttpError(fmt::format("{}: response larger than the limit of {} bytes; refused", origin(),
                                options_.max_response_bytes));
  }
  body_bytes_ += count;
}

void HttpClient::read_exact(std::size_t count, std::string& out) {
  while (count > 0) {
    if (buffer_pos_ == buffer_.size() && !fill()) {
      throw HttpError(fmt::format("{}: connection closed with {} body bytes missing", origin(), count));
    }
    const std::size_t take = std::min(count, buffer_.size() - buffer_pos_);
    out.append(buffer_, buffer_pos_, take);
    buffer_pos_ += take;
    count -= take;
  }
}

void HttpClient::read_to_end(std::string& out) {
  for (;;) {
    const std::size_t available = buffer_.size() - buffer_pos_;
    add_body_bytes(available);
    out.append(buffer_, buffer_pos_, available);
    buffer_pos_ = buffer_.size();
    if (!fill()) return;
  }
}

void HttpClient::read_chunked(std::string& out) {
  for (;;) {
    const std::string line = read_line(kMaxLine, "chunk size line");
    std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size()) {
      if (ec == std::errc::result_out_of_range) add_body_bytes(options_.max_response_bytes + 1);
      throw HttpError(fmt::format("{}: malformed chunk size", origin()));
    }
    if (size == 0) break;
    add_body_bytes(size);
    read_exact(size, out);
    if (!read_line(kMaxLine, "chunk end").empty())
      throw HttpError(fmt::format("{}: malformed chunk end", origin()));
  }
  // Trailer fields (ignored) up to the empty line.
  std::size_t trailer_bytes = 0;
  for (;;) {
    const std::string line = read_line(kMaxLine, "trailer");
    if (line.empty()) return;
    trailer_bytes += line.size();
    if (trailer_bytes > kMaxHeaderBytes)
      throw HttpError(fmt::format("{}: trailer section too large", origin()));
  }
}

HttpResponse HttpClient::exchange(const std::string& request, bool& got_response_bytes) {
  transport_->write_all(request);
  HttpResponse response;
  bool keep_alive = true;

  for (;;) {
    // Status line.
    if (buffer_pos_ == buffer_.size()) {
      if (!fill()) throw HttpError(fmt::format("{}: connection closed before a response", origin()));
    }
    got_response_bytes = true;
    const std::string status_line = read_line(kMaxLine, "status line");
    // HTTP/1.1 200 OK
    if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 ||
        (status_line[7] != '0' && status_line[7] != '1') || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
      throw HttpError(fmt::format("{}: not an HTTP/1.x response", origin()));
    }
    const bool http10 = status_line[7] == '0';
    int status = 0;
    const auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    if (ec != std::errc() || end != status_line.data() + 12 || status < 100) {
      throw HttpError(fmt::format("{}: bad status code", origin()));
    }
    response = HttpResponse{};
    response.status = status;
    response.reason = status_line.size() > 13 ? status_line.substr(13) : std::string();

    // Header section.
    std::size_t header_bytes = 0;
    for (;;) {
      std::string line = read_line(kMaxLine, "header line");
      if (line.empty()) break;
      header_bytes += line.size();
      if (header_bytes > kMaxHeaderBytes || response.headers.size() >= kMaxHeaderCount)
        throw HttpError(fmt::format("{}: header section too large", origin()));
      if (line.front() == ' ' || line.front() == '\t')
        throw HttpError(fmt::format("{}: folded header line (obsolete) refused", origin()));
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos || !is_token(std::string_view(line).substr(0, colon)))
        throw HttpError(fmt::format("{}: malformed header line", origin()));
      response.headers.emplace_back(line.substr(0, colon),
                                    std::string(trim(std::string_view(line).substr(colon + 1))));
    }

    keep_alive = !http10;
    for (const std::string& value : response.headers_named("Connection")) {
      for (const std::string& token : list_elements(value)) {
        if (token == "close") keep_alive = false;
        if (token == "keep-alive" && http10) keep_alive = true;
      }
    }
    // 1xx interim responses (100 Continue, 103 Early Hints) precede the real one.
    if (status >= 100 && status < 200 && status != 101) continue;
    if (status == 101) throw HttpError(fmt::format("{}: unexpected protocol switch", origin()));
    break;
  }

  body_bytes_ = 0;
  const int status = response.status;
  const std::vector<std::string> transfer_encodings = response.headers_named("Transfer-Encoding");
  const std::vector<std::string> lengths = response.headers_named("Content-Length");
  if (status == 204 || status == 304) {
    // No body.
  } else if (!transfer_encodings.empty()) {
    std::vector<std::string> codings;
    for (const std::string& value : transfer_encodings) {
      for (std::string& coding : list_elements(value)) codings.push_back(std::move(coding));
    }
    // With both, Transfer-Encoding wins and the connection is not reused (RFC 9112 §6.3).
    if (!lengths.empty()) keep_alive = false;
    if (!codings.empty() && codings.back() == "chunked") {
      if (codings.size() != 1)
        throw HttpError(fmt::format("{}: unsupported transfer coding {}", origin(), codings.front()));
      read_chunked(response.body);
    } else {
      throw HttpError(fmt::format("{}: unsupported transfer coding", origin()));
    }
  } else if (!lengths.empty()) {
    std::size_t length = 0;
    bool first = true;
    for (const std::string& value : lengths) {
      for (const std::string& element : list_elements(value)) {
        std::size_t parsed = 0;
        const auto [end, ec] = std::from_chars(element.data(), element.data() + element.size(), parsed);
        if (ec == std::errc::result_out_of_range) add_body_bytes(options_.max_response_bytes + 1);
        if (ec != std::errc() || end != element.data() + element.size() || (!first && parsed != length))
          throw HttpError(fmt::format("{}: invalid Content-Length", origin()));
        length = parsed;
        first = false;
      }
    }
    if (first) throw HttpError(fmt::format("{}: invalid Content-Length", origin()));
    add_body_bytes(length);  // refuses an oversized body before reading it
    response.body.reserve(length);
    read_exact(length, response.body);
  } else {
    // Delimited by the end of the connection.
    keep_alive = false;
    read_to_end(response.body);
  }

  remember_cookies(response);
  // Bytes after the response on a keep-alive connection are a protocol error
  // (we never pipeline), so such a connection is not reused either.
  if (!keep_alive || buffer_pos_ != buffer_.size()) close();
  return response;
}

void HttpClient::remember_cookies(const HttpResponse& response) {
  for (const std::string& value : response.headers_named("Set-Cookie")) {
    std::string_view rest(value);
    const std::size_t semicolon = rest.find(';');
    const std::string_view pair = trim(rest.substr(0, semicolon));
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = trim(pair.substr(0, equals));
    std::string_view cookie_value = trim(pair.substr(equals + 1));
    if (cookie_value.size() >= 2 && cookie_value.front() == '"' && cookie_value.back() == '"') {
      cookie_value = cookie_value.substr(1, cookie_value.size() - 2);
    }
    if (!is_token(name) || !is_safe_value(cookie_value) || cookie_value.find(';') != std::string_view::npos)
      continue;
    // Max-Age=0 (or negative) deletes the cookie; other attributes are not needed
    // for one server and one path.
    bool expired = false;
    if (semicolon != std::string_view::npos) {
      std::string_view attributes = rest.substr(semicolon + 1);
      while (!attributes.empty()) {
        const std::size_t next = attributes.find(';');
        const std::string_view attribute = trim(attributes.substr(0, next));
        const std::size_t eq = attribute.find('=');
        if (eq != std::string_view::npos && iequals(trim(attribute.substr(0, eq)), "Max-Age")) {
          const std::string_view age = trim(attribute.substr(eq + 1));
          if (!age.empty() && (age.front() == '-' || age == "0")) expired = true;
        }
        if (next == std::string_view::npos) break;
        attributes.remove_prefix(next + 1);
      }
    }
    const auto existing = std::find_if(cookies_.begin(), cookies_.end(),
                                       [&](const auto& cookie) { return cookie.first == name; });
    if (expired) {
      if (existing != cookies_.end()) cookies_.erase(existing);
    } else if (existing != cookies_.end()) {
      existing->second = std::string(cookie_value);
    } else {
      cookies_.emplace_back(std::string(name), std::string(cookie_value));
    }
  }
}

}  // namespace mailmig::provision
