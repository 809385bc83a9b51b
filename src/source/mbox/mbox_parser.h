// Splits the line stream of an mbox file into messages in one pass: offsets,
// RFC822.SIZE and the delivered size (storage fields and quoting removed),
// flags, keywords, UID, date. Content-Length is honoured when it is exact
// (lands on the next "From " line or the end of the file), as Dovecot does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/message.h"
#include "format/mbox/lines.h"
#include "format/mbox/message_meter.h"
#include "format/mbox/message_reader.h"
#include "format/mbox/storage_headers.h"
#include "format/mbox/variants.h"
#include "source/source.h"

namespace mailmig::mbox {

// What the first message of a file says about the whole file.
struct FileFacts {
  bool managed = false;          // X-IMAP or X-IMAPbase: Dovecot or UW-IMAP kept it
  std::optional<ImapBase> base;  // UIDVALIDITY and last UID
};

class MboxParser {
 public:
  // Reads `length` bytes at `offset` of the file (for Content-Length checks).
  using PeekFn = std::function<std::string(std::uint64_t offset, std::size_t length)>;

  MboxParser(std::string path, std::uint64_t file_size, ReadRules rules, FileFacts facts, PeekFn peek,
             std::function<void(const MessageInfo&)> on_message, ProblemFn problem);

  void add(const Line& line);
  void finish();

 private:
  enum class State : std::uint8_t { kPreamble, kHeaders, kBody, kAfterLength };

  void start_message(const Line& line);
  void end_message();
  void header_line(const Line& line);
  void end_of_headers(const Line& line);
  void content_line(const Line& line);
  [[nodiscard]] bool length_is_exact(std::uint64_t end) const;
  void report(Scope scope, std::uint64_t offset, std::uint64_t line, std::string message) const;

  std::string path_;
  std::uint64_t file_size_;
  ReadRules rules_;
  FileFacts facts_;
  PeekFn peek_;
  std::function<void(const MessageInfo&)> on_message_;
  ProblemFn problem_;

  State state_ = State::kPreamble;
  bool previous_empty_ = false;
  std::uint64_t messages_ = 0;
  std::uint64_t last_uid_ = 0;  // X-UIDs must grow through the file

  // The current message.
  MessageInfo info_;
  std::uint64_t separator_line_ = 0;
  MessageMeter meter_;
  std::uint64_t body_start_ = 0;
  bool hiding_ = false;  // the header field being read is a storage field
  bool pseudo_ = false;
  bool saw_date_header_ = false;
  std::optional<std::uint64_t> content_length_;
  std::optional<std::uint64_t> length_end_;  // exact end given by Content-Length
};

// Ranges of the message at [data_offset, data_offset+data_length) that are
// delivered: the header without storage fields, then the rest. Reads the
// header lines again through `fd` (positioned anywhere). Throws IoError.
std::vector<ByteRange> delivered_ranges(int fd, const std::string& path, std::uint64_t data_offset,
                                        std::uint64_t data_length);

}  // namespace mailmig::mbox
