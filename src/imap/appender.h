// Pipelined APPEND of a folder's messages: batched into MULTIAPPEND (RFC 3502)
// where offered, otherwise single APPENDs kept in flight in a bounded window;
// literals streamed from the source so memory stays flat for any message size.
// Results come back per message, in the order messages were added.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_reader.h"
#include "core/datetime.h"
#include "core/message.h"
#include "imap/session.h"

namespace mailmig::imap {

struct AppendMessage {
  std::uint64_t size = 0;                             // bytes `open` yields (already CRLF)
  std::function<std::unique_ptr<ByteReader>()> open;  // called when the literal is written
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<DateTime> date;
};

struct AppendOutcome {
  bool ok = false;
  std::optional<std::uint32_t> uidvalidity;  // UIDPLUS APPENDUID
  std::optional<std::uint32_t> uid;
  std::string error;  // server's answer when refused
  std::string code;   // its response code (OVERQUOTA, TRYCREATE, LIMIT ...)
};

enum class AppendMode {
  Auto,         // MULTIAPPEND when offered, else pipelined singles
  RoundTrip,    // one APPEND, wait, next (the slow baseline, for benchmarks)
  Pipelined,    // single APPENDs, several in flight
  MultiAppend,  // batches (falls back to Pipelined without the capability)
};

struct AppendOptions {
  AppendMode mode = AppendMode::Auto;
  std::size_t batch_count = 200;                                 // messages per MULTIAPPEND
  std::uint64_t batch_bytes = std::uint64_t{8} * 1024 * 1024;    // bytes per MULTIAPPEND
  std::size_t window = 16;                                       // commands in flight
  std::uint64_t window_bytes = std::uint64_t{32} * 1024 * 1024;  // bytes in flight
};

class Appender {
 public:
  using Callback = std::function<void(std::size_t index, const AppendOutcome& outcome)>;

  Appender(Session& session, std::string wire_mailbox, AppendOptions options, Callback on_result);

  // Called with the indices of a batch right before its APPEND is written: the
  // caller's write-ahead point (record what may land on the target).
  void set_before_send(std::function<void(const std::vector<std::size_t>& indices)> hook) {
    before_send_ = std::move(hook);
  }

  // Queues a message; may send and may deliver earlier results. Throws
  // NetError / LiteralSizeMismatch when the connection fails: the messages
  // reported by unresolved() then have an unknown outcome.
  void add(AppendMessage message);
  // Sends what is queued and waits for every result.
  void finish();
  // Indices sent or queued whose outcome was not delivered.
  [[nodiscard]] std::vector<std::size_t> unresolved() const;

 private:
  struct Entry {
    std::size_t index;
    AppendMessage message;
  };
  struct InFlight {
    Tag tag;
    std::vector<Entry> entries;
    std::uint64_t bytes;
  };

  void flush();
  void send_batch(std::vector<Entry> entries);
  void complete_oldest();
  void deliver(const InFlight& batch, const CommandResult& result);
  void retry_singly(std::vector<Entry> entries);
  Command build(const std::vector<Entry>& entries) const;

  Session& session_;
  std::string mailbox_;
  AppendOptions options_;
  Callback on_result_;
  std::function<void(const std::vector<std::size_t>&)> before_send_;
  bool multi_ = false;
  std::vector<Entry> queued_;
  std::uint64_t queued_bytes_ = 0;
  std::deque<InFlight> in_flight_;
  std::vector<InFlight> retrying_;  // singles re-sent after a refused MULTIAPPEND
  std::uint64_t in_flight_bytes_ = 0;
  std::size_t next_index_ = 0;
};

// The options after `drops` lost connections. From the first drop on, one
// message per APPEND: a MULTIAPPEND is all or nothing, so a batch lost with
// the link confirms nothing, while single APPENDs are confirmed one by one as
// the server answers them (what it answered before the drop is progress, and
// a link that dies every few hundred KB still finishes). The window (commands
// and bytes in flight) is halved once per drop, down to one command.
AppendOptions shrunk_after_drops(AppendOptions options, unsigned drops);

// Keywords must be IMAP atoms; anything else is replaced by '_' (Dovecot
// rejects 8-bit atoms, every server rejects specials). Empty -> nullopt.
std::optional<std::string> sanitize_keyword(std::string_view keyword);
// "(\Seen $Label1)" for APPEND; never \Recent.
std::string append_flag_list(Flags flags, const std::vector<std::string>& keywords);
// Parses a UIDPLUS uid-set ("5", "5:9", "3,7:8") into UIDs in order.
std::vector<std::uint32_t> parse_uid_set(std::string_view set);

}  // namespace mailmig::imap
