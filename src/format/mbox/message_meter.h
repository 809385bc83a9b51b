// The sizes of one mbox message, counted per line as the lines pass, so one
// pass over a file yields each message's stored range, its RFC822.SIZE and the
// size it has once storage fields and quoting are removed. Both mbox readers
// (cgp: .mbox mailboxes, mbox: files) count through this.
//
// The empty line before a separator is not part of the message, but it is only
// known to be that once the next line is seen: it is held back ("pending
// blank") and added to the message when the message goes on.
#pragma once

#include <cstdint>

#include "core/message.h"
#include "format/mbox/lines.h"
#include "format/mbox/variants.h"

namespace mailmig::mbox {

class MessageMeter {
 public:
  // A new message whose stored bytes begin at `data_offset`.
  void start(std::uint64_t data_offset);
  // A line of the message; an empty one is held back (it may be the separator's).
  void add(const Line& line);
  // A line of the message, held back never (the empty line that ends a header).
  void add_own(const Line& line);
  // A storage line directly after the separator: the stored bytes begin after it.
  void skip_leading(const Line& line);
  // A storage header field inside the header: stored, not delivered.
  void hide(const Line& line);
  // The message ends at `end` whatever its lines said (an exact Content-Length).
  void end_at(std::uint64_t end) { content_end_ = end; }
  // A line counted only for its quoting (the last body line of a Content-Length).
  void count_quoting(const Line& line);

  [[nodiscard]] std::uint64_t data_offset() const { return data_offset_; }
  [[nodiscard]] std::uint64_t data_length() const { return content_end_ - data_offset_; }
  // data_offset, data_length, stored_size and size of `info` for a reader that undoes `unquote`.
  void finish(MessageInfo& info, Unquote unquote) const;

 private:
  void settle_blank();

  std::uint64_t data_offset_ = 0;
  std::uint64_t content_end_ = 0;  // end of the message's last line taken
  std::uint64_t hidden_ = 0;       // bytes of storage fields inside the header
  std::uint64_t bare_lfs_ = 0;     // LFs without CR: one byte more each in RFC822.SIZE
  std::uint64_t quoted_one_ = 0;   // lines ^>From_  (mboxo quoting)
  std::uint64_t quoted_all_ = 0;   // lines ^>+From_ (mboxrd quoting)
  bool blank_pending_ = false;
  std::uint64_t blank_end_ = 0;
  std::uint64_t blank_bare_lf_ = 0;
};

}  // namespace mailmig::mbox
