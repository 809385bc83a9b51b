#include "format/mbox/storage_headers.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "core/ascii.h"
#include "core/text_fields.h"

namespace mailmig::mbox {

StorageHeader classify_header(std::string_view line) {
  const char first = ascii_lower(line.empty() ? '\0' : line[0]);
  if (first != 'c' && first != 's' && first != 'x') return StorageHeader::None;  // the common case, quickly
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return StorageHeader::None;
  // RFC 5322 allows no blank before ':', obsolete syntax does; accept it as Dovecot does.
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  static constexpr std::array<std::pair<std::string_view, StorageHeader>, 7> kNames{{
      {"Content-Length", StorageHeader::ContentLength},
      {"Status", StorageHeader::Status},
      {"X-Status", StorageHeader::XStatus},
      {"X-Keywords", StorageHeader::XKeywords},
      {"X-UID", StorageHeader::XUid},
      {"X-IMAP", StorageHeader::XImap},
      {"X-IMAPbase", StorageHeader::XImapBase},
  }};
  for (const auto& [known, kind] : kNames) {
    if (ascii_iequals(name, known)) return kind;
  }
  return StorageHeader::None;
}

std::string_view header_value(std::string_view line) {
  const std::size_t colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : trim_blanks(line.substr(colon + 1));
}

Flags status_flags(std::string_view value) {
  Flags flags = 0;
  for (const char c : value) {
    if (ascii_lower(c) == 'r') flags |= kSeen;
  }
  return flags;
}

Flags x_status_flags(std::string_view value) {
  Flags flags = 0;
  for (const char c : value) {
    switch (ascii_lower(c)) {
      case 'a':
        flags |= kAnswered;
        break;
      case 'f':
        flags |= kFlagged;
        break;
      case 't':
        flags |= kDraft;
        break;
      case 'd':
        flags |= kDeleted;
        break;
      default:
        break;
    }
  }
  return flags;
}

void add_keywords(std::string_view value, bool complete, std::vector<std::string>& keywords) {
  constexpr std::string_view kSeparators = " \t\r\n,";
  std::vector<std::string_view> words = split_words(value, kSeparators);
  if (!complete && !words.empty() && words.back().end() == value.end()) words.pop_back();
  for (const std::string_view word : words) {
    if (std::find(keywords.begin(), keywords.end(), word) == keywords.end()) keywords.emplace_back(word);
  }
}

std::optional<std::uint32_t> parse_uid(std::string_view value) {
  return parse_uid32(trim_blanks(value));
}

std::optional<std::uint64_t> parse_length(std::string_view value) {
  return parse_decimal(trim_blanks(value), 19);
}

std::optional<ImapBase> parse_imap_base(std::string_view value) {
  const std::vector<std::string_view> fields = split_words(value);
  if (fields.size() < 2) return std::nullopt;
  const auto validity = parse_uid32(fields[0]);
  const auto last = parse_decimal(fields[1], 10);
  if (!validity || !last || *last > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  ImapBase out{.uidvalidity = *validity, .last_uid = static_cast<std::uint32_t>(*last)};
  for (std::size_t i = 2; i < fields.size(); ++i) out.keywords.emplace_back(fields[i]);
  return out;
}

bool is_pseudo_message_header(std::string_view line) {
  const StorageHeader kind = classify_header(line);
  return kind == StorageHeader::XImap ||
         (starts_with_ci(line, "Subject:") && ascii_iequals(header_value(line), kPseudoSubject));
}

}  // namespace mailmig::mbox
