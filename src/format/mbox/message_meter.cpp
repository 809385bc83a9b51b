#include "format/mbox/message_meter.h"

namespace mailmig::mbox {

void MessageMeter::start(std::uint64_t data_offset) {
  *this = MessageMeter{};
  data_offset_ = content_end_ = data_offset;
}

void MessageMeter::settle_blank() {
  if (!blank_pending_) return;
  content_end_ = blank_end_;
  bare_lfs_ += blank_bare_lf_;
  blank_pending_ = false;
}

void MessageMeter::add(const Line& line) {
  settle_blank();
  if (line.is_empty()) {
    blank_pending_ = true;
    blank_end_ = line.end();
    blank_bare_lf_ = line.bare_lf();
    return;
  }
  add_own(line);
}

void MessageMeter::add_own(const Line& line) {
  settle_blank();
  content_end_ = line.end();
  bare_lfs_ += line.bare_lf();
  count_quoting(line);
}

void MessageMeter::count_quoting(const Line& line) {
  if (line.head.starts_with(">From ")) ++quoted_one_;
  if (line.quoted_from) ++quoted_all_;
}

void MessageMeter::skip_leading(const Line& line) {
  data_offset_ = content_end_ = line.end();
}

void MessageMeter::hide(const Line& line) {
  settle_blank();
  hidden_ += line.length;
  content_end_ = line.end();
}

void MessageMeter::finish(MessageInfo& info, Unquote unquote) const {
  info.data_offset = data_offset_;
  info.data_length = data_length();
  std::uint64_t quoted = 0;
  if (unquote == Unquote::One) quoted = quoted_one_;
  if (unquote == Unquote::All) quoted = quoted_all_;
  info.stored_size = info.data_length - hidden_ - quoted;
  info.size = info.stored_size + bare_lfs_;
}

}  // namespace mailmig::mbox
