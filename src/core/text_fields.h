// Small field parsers every text format of a mail store needs (mbox storage
// headers, dovecot-uidlist, CommuniGate file names, passwd-like files):
// surrounding blanks, plain decimal numbers, IMAP UIDs, blank-separated words,
// lines. One definition so "a UID" or "a line" means the same in every format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/ascii.h"

namespace mailmig {

inline constexpr std::string_view kBlanks = " \t\r\n";

// Without surrounding blanks and the line end.
constexpr std::string_view trim_blanks(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

constexpr bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ascii_iequals(text.substr(0, prefix.size()), prefix);
}

// A decimal number of 1..max_digits digits and nothing else (max_digits <= 19
// cannot overflow).
constexpr std::optional<std::uint64_t> parse_decimal(std::string_view text, std::size_t max_digits = 19) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// An IMAP UID or UIDVALIDITY: 1..2^32-1.
constexpr std::optional<std::uint32_t> parse_uid32(std::string_view text) {
  const auto value = parse_decimal(text, 10);
  if (!value || *value == 0 || *value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

// The words of `text` between any of `separators`, empty ones left out.
inline std::vector<std::string_view> split_words(std::string_view text,
                                                 std::string_view separators = kBlanks) {
  std::vector<std::string_view> out;
  std::size_t pos = text.find_first_not_of(separators);
  while (pos != std::string_view::npos) {
    const std::size_t end = text.find_first_of(separators, pos);
    out.push_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    pos = end == std::string_view::npos ? end : text.find_first_not_of(separators, end);
  }
  return out;
}

// The lines of `text` without their LF or CR LF; a last line without LF is a
// line too, an empty text has none.
inline std::vector<std::string_view> text_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    out.push_back(line);
  }
  return out;
}

}  // namespace mailmig
