#include "source/maildir/uidlist.h"

#include <limits>
#include <vector>

namespace mailmig::maildir {
namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  constexpr std::size_t kMaxDigits = 19;
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::optional<std::uint32_t> uid32(std::string_view text) {
  auto value = number(text);
  if (!value || *value == 0 || *value > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    const std::size_t end = line.find(' ', start);
    out.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    pos = end == std::string_view::npos ? line.size() : end;
  }
  return out;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    fn(line);
    pos = end + 1;
  }
}

}  // namespace

std::optional<UidList> parse_uidlist(std::string_view text, std::string& error, std::size_t& bad_lines) {
  bad_lines = 0;
  const std::size_t header_end = text.find('\n');
  const std::string_view header = text.substr(0, header_end);
  const std::vector<std::string_view> fields = words(header);
  UidList out;
  int version = 0;
  if (!fields.empty() && fields[0] == "3") {
    version = 3;
    for (std::size_t i = 1; i < fields.size(); ++i) {
      if (fields[i].starts_with('V')) out.uidvalidity = uid32(fields[i].substr(1));
      if (fields[i].starts_with('N')) out.next_uid = uid32(fields[i].substr(1)).value_or(0);
    }
  } else if (fields.size() >= 3 && fields[0] == "1") {
    version = 1;
    out.uidvalidity = uid32(fields[1]);
    out.next_uid = uid32(fields[2]).value_or(0);
  } else {
    error = fields.empty() ? "empty header" : "unknown format version \"" + std::string(fields[0]) + "\"";
    return std::nullopt;
  }
  if (!out.uidvalidity) {
    error = "no UIDVALIDITY in the header";
    return std::nullopt;
  }
  if (header_end == std::string_view::npos) return out;
  for_each_line(text.substr(header_end + 1), [&](std::string_view line) {
    if (line.empty()) return;
    const std::size_t space = line.find(' ');
    const auto uid = uid32(line.substr(0, space));
    std::string_view base;
    if (space != std::string_view::npos) {
      if (version == 3) {
        // Extension fields ("W1234 S1200 G...") come first; the name follows " :".
        const std::size_t colon = line.find(" :", space);
        base = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 2);
      } else {
        base = line.substr(space + 1);
      }
    }
    if (!uid || base.empty()) {
      ++bad_lines;
      return;
    }
    out.uids.emplace(std::string(base), *uid);
  });
  return out;
}

KeywordTable parse_keywords(std::string_view text) {
  KeywordTable table;
  for_each_line(text, [&](std::string_view line) {
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space + 1 >= line.size()) return;
    const auto index = number(line.substr(0, space));
    if (!index || *index >= table.size()) return;
    table[*index] = std::string(line.substr(space + 1));
  });
  return table;
}

}  // namespace mailmig::maildir
