#include "source/mbox/storage_headers.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "core/ascii.h"

namespace mailmig::mbox {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  const std::size_t first = text.find_first_not_of(kBlank);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlank) - first + 1);
}

std::optional<std::uint64_t> decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  constexpr std::string_view kSeparators = " \t\r\n";
  std::size_t pos = text.find_first_not_of(kSeparators);
  while (pos != std::string_view::npos) {
    const std::size_t end = text.find_first_of(kSeparators, pos);
    out.push_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    pos = end == std::string_view::npos ? end : text.find_first_not_of(kSeparators, end);
  }
  return out;
}

}  // namespace

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
}

StorageHeader classify_header(std::string_view line) {
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
    if (name.size() == known.size() && starts_with_ci(name, known)) return kind;
  }
  return StorageHeader::None;
}

std::string_view header_value(std::string_view line) {
  const std::size_t colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : trim(line.substr(colon + 1));
}

Flags status_flags(std::string_view value) {
  Flags flags = 0;
  for (const char c : value) {
    if (c == 'R') flags |= kSeen;
  }
  return flags;
}

Flags x_status_flags(std::string_view value) {
  Flags flags = 0;
  for (const char c : value) {
    switch (c) {
      case 'A':
        flags |= kAnswered;
        break;
      case 'F':
        flags |= kFlagged;
        break;
      case 'T':
        flags |= kDraft;
        break;
      case 'D':
        flags |= kDeleted;
        break;
      default:
        break;
    }
  }
  return flags;
}

void add_keywords(std::string_view value, std::vector<std::string>& keywords) {
  for (std::string_view word : words(value)) {
    if (std::find(keywords.begin(), keywords.end(), word) == keywords.end()) keywords.emplace_back(word);
  }
}

std::optional<std::uint32_t> parse_uid(std::string_view value) {
  const auto number = decimal(trim(value), 10);
  if (!number || *number == 0 || *number > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*number);
}

std::optional<std::uint64_t> parse_length(std::string_view value) {
  return decimal(trim(value), 19);
}

std::optional<ImapBase> parse_imap_base(std::string_view value) {
  const std::vector<std::string_view> fields = words(value);
  if (fields.size() < 2) return std::nullopt;
  const auto validity = parse_uid(fields[0]);
  const auto last = decimal(fields[1], 10);
  if (!validity || !last || *last > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  ImapBase out{.uidvalidity = *validity, .last_uid = static_cast<std::uint32_t>(*last)};
  for (std::size_t i = 2; i < fields.size(); ++i) out.keywords.emplace_back(fields[i]);
  return out;
}

std::optional<DateTime> separator_date(std::string_view line) {
  constexpr std::string_view kFrom = "From ";
  if (!line.starts_with(kFrom)) return std::nullopt;
  const std::string_view rest = trim(line.substr(kFrom.size()));
  // "From sender date": the sender is one word (or "<...>" with spaces); try
  // the date after each of the first few words, for senders with blanks.
  constexpr int kMaxTries = 6;
  if (auto date = parse_ctime(rest)) return date;  // "From  date": an empty sender
  std::size_t pos = 0;
  for (int i = 0; i < kMaxTries; ++i) {
    pos = rest.find_first_of(" \t", pos);
    if (pos == std::string_view::npos) break;
    pos = rest.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) break;
    const std::string_view text = trim(rest.substr(pos));
    if (auto date = parse_ctime(text)) return date;
    if (auto date = parse_rfc5322_date(text)) return date;
    // ctime followed by "remote from host" or a zone (UUCP, some MTAs).
    constexpr std::size_t kCtimeLength = 24;
    if (text.size() > kCtimeLength) {
      if (auto date = parse_ctime(text.substr(0, kCtimeLength))) return date;
    }
  }
  return std::nullopt;
}

}  // namespace mailmig::mbox
