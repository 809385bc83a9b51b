// One IMAP connection: greeting, capabilities, and pipelined commands. Many
// commands may be in flight; each completes with its tagged response, and
// results are collected by tag. Hand-written rather than a library client
// because pipelining APPEND with streamed literals is where the speed is and
// no maintained C/C++ IMAP library offers it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "imap/command.h"
#include "imap/response.h"
#include "imap/response_parser.h"
#include "imap/trace.h"
#include "imap/transport.h"

namespace mailmig::imap {

using Tag = std::uint64_t;

// The tagged completion of a command, with the untagged responses that
// arrived while it was the oldest command outstanding.
struct CommandResult {
  std::string status;  // OK, NO, BAD
  std::optional<ResponseCode> code;
  std::string text;
  std::vector<Response> untagged;

  [[nodiscard]] bool ok() const { return status == "OK"; }
  // "NO [TRYCREATE] Mailbox doesn't exist" for messages.
  [[nodiscard]] std::string describe() const;
};

// A command the server answered NO or BAD, when the caller asked for OK.
class CommandFailed : public std::runtime_error {
 public:
  CommandFailed(const std::string& command, CommandResult result);
  [[nodiscard]] const CommandResult& result() const { return result_; }

 private:
  CommandResult result_;
};

// The message bytes a streamed literal produced did not match its announced
// size (the source changed under us). The connection is unusable afterwards.
class LiteralSizeMismatch : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Session {
 public:
  struct Options {
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    std::shared_ptr<Trace> trace;  // protocol trace; may be null
  };

  Session(std::unique_ptr<Transport> transport, Options options);

  // Reads the greeting (OK or PREAUTH) and its capabilities. Throws on BYE.
  void read_greeting();
  [[nodiscard]] bool preauthenticated() const { return preauth_; }

  [[nodiscard]] bool has_capability(std::string_view name) const;
  [[nodiscard]] const std::set<std::string>& capabilities() const { return caps_; }
  // Issues CAPABILITY unless a response since the last change carried them.
  void refresh_capabilities();
  // After STARTTLS or a login the old set no longer holds.
  void mark_capabilities_stale() { caps_fresh_ = false; }
  // Replaces the capability set from a CAPABILITY response code or data.
  void set_capabilities(const std::vector<Item>& atoms);

  // STARTTLS and TLS handshake; capabilities are re-read afterwards.
  void starttls(const TlsOptions& tls);

  // Sends a command (literal handling per LITERAL+/LITERAL-); returns its tag.
  // Sync literals wait for the continuation, handling other responses meanwhile.
  Tag send(const Command& command);
  // Waits for the tagged completion of `tag`.
  CommandResult wait(Tag tag);
  // send + wait.
  CommandResult run(const Command& command);
  // run, throwing CommandFailed unless OK.
  CommandResult run_ok(const Command& command);

  // Sends a continuation answer line (SASL); the line is traced as <redacted>
  // when secret.
  void send_continuation(std::string_view line, bool secret);
  // Waits for a "+ ..." continuation request (returns its text) or the tagged
  // completion of `tag` (returns nullopt; the result is kept for wait()).
  std::optional<std::string> wait_continuation(Tag tag);

  [[nodiscard]] std::size_t in_flight() const { return pending_.size(); }
  // Large literals (FETCH bodies) go to `sink` instead of memory; see ResponseParser.
  void set_literal_sink(ResponseParser::LiteralSink sink) { parser_.set_literal_sink(std::move(sink)); }
  // Untagged data responses go to `handler` first as they arrive; when it
  // returns true the response is consumed and not kept for the command's
  // result (a FETCH of a whole folder in bounded memory). Null to stop.
  using UntaggedHandler = std::function<bool(Response&)>;
  void set_untagged_handler(UntaggedHandler handler) { untagged_handler_ = std::move(handler); }
  [[nodiscard]] bool utf8_enabled() const { return utf8_enabled_; }
  void set_utf8_enabled(bool on) { utf8_enabled_ = on; }
  [[nodiscard]] Transport& transport() { return *transport_; }
  [[nodiscard]] std::string peer() const { return peer_; }
  // Closes the connection (LOGOUT when it is still healthy).
  void logout();

  // Non-synchronizing literal allowed for `size` bytes (mbsync's rule: LITERAL+
  // up to 100 KiB, LITERAL- up to 4 KiB; larger ones wait for the server).
  [[nodiscard]] bool nonsync_literal_ok(std::uint64_t size) const;

 private:
  // Reads and dispatches one response; returns it.
  Response read_response();
  void dispatch(Response& response);
  void write_literal(const Command::Literal& literal);
  void fail(const std::string& why);
  // Marks the session broken and aborts the transport (see Transport::abort).
  void drop_connection();
  // transport_->write_all; a failure drops the connection.
  void write(std::string_view data);

  std::unique_ptr<Transport> transport_;
  Options options_;
  std::string peer_;
  ResponseParser parser_;
  std::vector<char> read_buf_;
  std::set<std::string> caps_;
  bool preauth_ = false;
  bool caps_fresh_ = false;
  bool utf8_enabled_ = false;
  bool broken_ = false;
  std::string bye_text_;

  Tag next_tag_ = 1;
  std::vector<Tag> pending_;                 // in send order
  std::map<Tag, CommandResult> completed_;   // done but not yet waited for
  std::vector<Response> untagged_;           // since the last completion
  std::optional<std::string> continuation_;  // a "+" not yet consumed
  UntaggedHandler untagged_handler_;
};

// "a12" style tags.
std::string tag_text(Tag tag);

}  // namespace mailmig::imap
