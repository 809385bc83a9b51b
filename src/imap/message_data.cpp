#include "imap/message_data.h"

#include <fmt/format.h>

#include <algorithm>

namespace mailmig::imap {

ParsedFlags parse_flag_list(const Item& list) {
  static constexpr std::pair<std::string_view, Flag> kSystem[] = {{"\\Seen", kSeen},
                                                                  {"\\Answered", kAnswered},
                                                                  {"\\Flagged", kFlagged},
                                                                  {"\\Deleted", kDeleted},
                                                                  {"\\Draft", kDraft}};
  ParsedFlags out;
  for (const Item& item : list.list) {
    if (!item.is_atom()) continue;
    bool system = false;
    for (const auto& [name, bit] : kSystem) {
      if (item.is_atom(name)) {
        out.flags |= bit;
        system = true;
      }
    }
    if (!system && !item.text.empty() && item.text[0] != '\\') out.keywords.push_back(item.text);
  }
  return out;
}

std::vector<std::string> uid_sets(std::vector<std::uint32_t> uids, std::size_t max_chars) {
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::vector<std::string> sets;
  std::string current;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    const std::string range = j == i ? fmt::format("{}", uids[i]) : fmt::format("{}:{}", uids[i], uids[j]);
    if (!current.empty() && current.size() + 1 + range.size() > max_chars) {
      sets.push_back(std::move(current));
      current.clear();
    }
    if (!current.empty()) current += ',';
    current += range;
    i = j + 1;
  }
  if (!current.empty()) sets.push_back(std::move(current));
  return sets;
}

}  // namespace mailmig::imap
