#include "format/mbox/separator.h"

#include <string>

#include "core/text_fields.h"

namespace mailmig::mbox {
namespace {

constexpr std::size_t kCtimeLength = 24;  // "Thu Feb  1 10:11:12 2024"

std::optional<DateTime> date_at(std::string_view text) {
  text = trim_blanks(text);
  if (text.empty()) return std::nullopt;
  if (auto date = parse_ctime(text)) return date;
  if (auto date = parse_rfc5322_date(text)) return date;
  if (text.size() > kCtimeLength) return parse_ctime(text.substr(0, kCtimeLength));
  return std::nullopt;
}

}  // namespace

std::optional<DateTime> separator_date(std::string_view line) {
  if (!line.starts_with(kFromPrefix)) return std::nullopt;
  const std::string_view rest = trim_blanks(line.substr(kFromPrefix.size()));
  // The usual line first: one sender word, or "<...>" that may hold blanks.
  std::size_t sender_end = std::string_view::npos;
  if (rest.starts_with('<')) {
    sender_end = rest.find("> ");
    if (sender_end != std::string_view::npos) ++sender_end;
  } else {
    sender_end = rest.find_first_of(" \t");
  }
  if (sender_end != std::string_view::npos) {
    if (auto date = date_at(rest.substr(sender_end))) return date;
  }
  // Odd lines only: the date from each word on (the first try: an empty sender).
  constexpr int kMaxTries = 8;
  std::size_t pos = 0;
  for (int i = 0; i < kMaxTries && pos != std::string_view::npos; ++i) {
    if (auto date = date_at(rest.substr(pos))) return date;
    pos = rest.find_first_of(" \t", pos);
    if (pos != std::string_view::npos) pos = rest.find_first_not_of(" \t", pos);
  }
  return std::nullopt;
}

void start_message_info(MessageInfo& info, const Line& separator, std::optional<DateTime> date) {
  info.id = std::to_string(separator.offset);
  info.offset = separator.offset;
  info.flags = 0;
  info.keywords.clear();
  info.internal_date = date;  // when it does not parse, the Date: header may stand in
  info.uid.reset();
  info.data_offset = separator.end();
  info.data_length = info.size = info.stored_size = 0;
}

}  // namespace mailmig::mbox
