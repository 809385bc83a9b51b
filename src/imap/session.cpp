#include "imap/session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "core/ascii.h"

namespace mailmig::imap {

namespace {

constexpr std::size_t kReadBuffer = std::size_t{256} * 1024;
constexpr std::uint64_t kLiteralPlusMax = std::uint64_t{100} * 1024;  // mbsync's choice
constexpr std::uint64_t kLiteralMinusMax = 4096;                      // RFC 7888

// What the trace shows of a server response: long strings are cut, bodies never shown.
std::string trace_view(const Response& response) {
  std::string text = to_debug_string(response);
  if (text.size() > 300) text = text.substr(0, 300) + fmt::format("... ({} more bytes)", text.size() - 300);
  return text;
}

}  // namespace

std::string tag_text(Tag tag) {
  return fmt::format("a{}", tag);
}

std::string CommandResult::describe() const {
  std::string out = status;
  if (code) {
    out += " [" + code->name;
    for (const Item& arg : code->args) out += " " + to_debug_string(arg);
    out += "]";
  }
  if (!text.empty()) out += " " + text;
  return out;
}

CommandFailed::CommandFailed(const std::string& command, CommandResult result)
    : std::runtime_error(fmt::format("{} failed: {}", command, result.describe())),
      result_(std::move(result)) {}

Session::Session(std::unique_ptr<Transport> transport, Options options)
    : transport_(std::move(transport)), options_(std::move(options)), read_buf_(kReadBuffer) {
  // Several sessions often share a peer; a number tells them apart in traces and errors.
  static std::atomic<unsigned> sessions{0};
  peer_ = fmt::format("#{} {}", ++sessions, transport_->peer_description());
  transport_->set_timeout(options_.timeout);
}

void Session::drop_connection() {
  broken_ = true;
  transport_->abort();
}

void Session::write(std::string_view data) {
  try {
    transport_->write_all(data);
  } catch (const NetError&) {
    drop_connection();
    throw;
  }
}

void Session::fail(const std::string& why) {
  drop_connection();
  throw NetError(NetError::Kind::Closed, fmt::format("{}: {}", peer_, why));
}

Response Session::read_response() {
  if (broken_) throw NetError(NetError::Kind::Closed, fmt::format("{}: connection is closed", peer_));
  for (;;) {
    std::optional<Response> response;
    try {
      response = parser_.next();
    } catch (const ProtocolError& e) {
      fail(fmt::format("protocol error from server: {}", e.what()));
    }
    if (response) {
      if (options_.trace) options_.trace->server(peer_, trace_view(*response));
      return std::move(*response);
    }
    std::size_t n = 0;
    try {
      n = transport_->read_some(read_buf_);
    } catch (const NetError& e) {
      drop_connection();
      std::string what = e.what();
      if (!bye_text_.empty()) what += fmt::format(" (server said BYE: {})", bye_text_);
      if (!pending_.empty()) what += fmt::format(" while waiting for {}", tag_text(pending_.front()));
      throw NetError(e.kind(), what);
    }
    if (n == 0) {
      std::string what = "server closed the connection";
      if (!bye_text_.empty()) what += fmt::format(" (BYE: {})", bye_text_);
      if (!pending_.empty()) what += fmt::format(" with {} command(s) unanswered", pending_.size());
      fail(what);
    }
    parser_.feed(std::string_view(read_buf_.data(), n));
  }
}

void Session::dispatch(Response& response) {
  switch (response.type) {
    case Response::Type::Continuation:
      continuation_ = response.text;
      return;
    case Response::Type::Untagged:
      // RFC 3501 7.1: an ALERT "MUST be presented to the user".
      if (response.code && response.code->name == "ALERT") spdlog::warn("{} says: {}", peer_, response.text);
      if (response.status == "BYE") bye_text_ = response.text.empty() ? "(no text)" : response.text;
      if (response.keyword == "CAPABILITY") set_capabilities(response.data);
      if (response.code && response.code->name == "CAPABILITY") set_capabilities(response.code->args);
      if (untagged_handler_ && !response.is_status() && untagged_handler_(response)) return;
      untagged_.push_back(std::move(response));
      return;
    case Response::Type::Tagged: {
      if (response.code && response.code->name == "CAPABILITY") set_capabilities(response.code->args);
      if (response.code && response.code->name == "ALERT") spdlog::warn("{} says: {}", peer_, response.text);
      const std::string& t = response.tag;
      Tag tag = 0;
      if (t.size() > 1 && (t[0] == 'a' || t[0] == 'A')) tag = std::strtoull(t.c_str() + 1, nullptr, 10);
      auto it = std::find(pending_.begin(), pending_.end(), tag);
      if (it == pending_.end()) fail(fmt::format("response with unknown tag {}", t));
      pending_.erase(it);
      CommandResult result{.status = response.status,
                           .code = std::move(response.code),
                           .text = std::move(response.text),
                           .untagged = std::move(untagged_)};
      untagged_.clear();
      completed_.emplace(tag, std::move(result));
      return;
    }
  }
}

void Session::read_greeting() {
  Response greeting = read_response();
  if (greeting.type != Response::Type::Untagged || greeting.status.empty()) {
    fail("no IMAP greeting");
  }
  if (greeting.code && greeting.code->name == "CAPABILITY") set_capabilities(greeting.code->args);
  if (greeting.status == "BYE") fail(fmt::format("server refused the connection: {}", greeting.text));
  if (greeting.status == "PREAUTH")
    preauth_ = true;
  else if (greeting.status != "OK")
    fail(fmt::format("unexpected greeting {}", greeting.status));
}

bool Session::has_capability(std::string_view name) const {
  return caps_.contains(ascii_upper(name));
}

void Session::set_capabilities(const std::vector<Item>& atoms) {
  caps_.clear();
  caps_fresh_ = true;
  for (const Item& item : atoms) {
    if (item.is_atom()) caps_.insert(ascii_upper(item.text));
  }
}

void Session::refresh_capabilities() {
  if (caps_fresh_) return;
  run_ok(Command("CAPABILITY"));
}

void Session::starttls(const TlsOptions& tls) {
  run_ok(Command("STARTTLS"));
  // Anything buffered before the handshake would be a plaintext injection (CVE-2011-0411 style).
  if (parser_.buffered() != 0) fail("server sent data after STARTTLS before the TLS handshake");
  transport_->start_tls(tls);
  if (options_.trace) options_.trace->note(peer_, "TLS established");
  mark_capabilities_stale();
  refresh_capabilities();
}

bool Session::nonsync_literal_ok(std::uint64_t size) const {
  if (has_capability("LITERAL+")) return size <= kLiteralPlusMax;
  if (has_capability("LITERAL-")) return size <= kLiteralMinusMax;
  return false;
}

void Session::write_literal(const Command::Literal& literal) {
  if (!literal.open) {
    write(literal.data);
    return;
  }
  std::unique_ptr<ByteReader> reader = literal.open();
  std::array<char, std::size_t{64} * 1024> buf{};
  std::uint64_t sent = 0;
  while (sent < literal.size) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), literal.size - sent));
    const std::size_t n = reader->read(std::span<char>(buf.data(), want));
    if (n == 0) break;
    write(std::string_view(buf.data(), n));
    sent += n;
  }
  const bool longer = sent == literal.size && reader->read(std::span<char>(buf.data(), 1)) != 0;
  if (sent != literal.size || longer) {
    // The server expects exactly `size` bytes; the stream cannot be repaired.
    drop_connection();
    throw LiteralSizeMismatch(
        fmt::format("message is {} than the {} bytes announced (it changed while being copied)",
                    longer ? "longer" : "shorter", literal.size));
  }
}

Tag Session::send(const Command& command) {
  if (broken_) throw NetError(NetError::Kind::Closed, fmt::format("{}: connection is closed", peer_));
  const Tag tag = next_tag_++;
  pending_.push_back(tag);
  std::string trace_line = tag_text(tag) + " ";
  std::string chunk = trace_line;
  const auto& parts = command.parts();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Command::Part& part = parts[i];
    chunk += part.text;
    trace_line += part.secret ? std::string("<redacted>") : part.text;
    if (!part.literal) continue;
    const Command::Literal& literal = *part.literal;
    const bool nonsync = nonsync_literal_ok(literal.size);
    const std::string marker = fmt::format("{{{}{}}}\r\n", literal.size, nonsync ? "+" : "");
    chunk += marker;
    write(chunk);
    chunk.clear();
    if (!nonsync) {
      if (!wait_continuation(tag)) {
        // The server refused the literal (NO/BAD): the command is over.
        if (options_.trace) options_.trace->client(peer_, trace_line + "<refused literal>");
        return tag;
      }
    }
    write_literal(literal);
    trace_line += fmt::format("{{{}{}}} <{} bytes{}>", literal.size, nonsync ? "+" : "", literal.size,
                              literal.secret ? ", redacted" : "");
  }
  chunk += "\r\n";
  write(chunk);
  if (options_.trace) options_.trace->client(peer_, trace_line);
  return tag;
}

std::optional<std::string> Session::wait_continuation(Tag tag) {
  for (;;) {
    if (continuation_) {
      std::string text = std::move(*continuation_);
      continuation_.reset();
      return text;
    }
    if (completed_.contains(tag)) return std::nullopt;
    Response response = read_response();
    dispatch(response);
  }
}

void Session::send_continuation(std::string_view line, bool secret) {
  write(std::string(line) + "\r\n");
  if (options_.trace) options_.trace->client(peer_, secret ? std::string_view("<redacted>") : line);
}

CommandResult Session::wait(Tag tag) {
  for (;;) {
    if (auto it = completed_.find(tag); it != completed_.end()) {
      CommandResult result = std::move(it->second);
      completed_.erase(it);
      return result;
    }
    Response response = read_response();
    if (response.type == Response::Type::Continuation &&
        std::find(pending_.begin(), pending_.end(), tag) != pending_.end()) {
      // Nobody asked for a continuation: a server waiting for data we will not send.
      fail(fmt::format("unexpected continuation request while waiting for {}", tag_text(tag)));
    }
    dispatch(response);
  }
}

CommandResult Session::run(const Command& command) {
  return wait(send(command));
}

CommandResult Session::run_ok(const Command& command) {
  CommandResult result = run(command);
  if (!result.ok()) throw CommandFailed(command.verb(), std::move(result));
  return result;
}

void Session::logout() {
  if (broken_) return;
  try {
    transport_->set_timeout(std::chrono::seconds(5));
    run(Command("LOGOUT"));
  } catch (const std::exception&) {
    // The server may close before answering; either way we are done.
  }
  broken_ = true;
  transport_->close();
}

}  // namespace mailmig::imap
