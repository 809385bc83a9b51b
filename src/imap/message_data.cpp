#include "imap/message_data.h"

#include <fmt/format.h>

#include <algorithm>

namespace mailmig::imap {

std::optional<std::uint32_t> u32_of(const Item* item) {
  if (item == nullptr) return std::nullopt;
  auto n = item->as_number();
  if (!n || *n > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

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

FetchedMetadata fetched_metadata(const Item& data) {
  FetchedMetadata out;
  if (const Item* size = data.get("RFC822.SIZE")) out.size = size->as_number().value_or(0);
  if (const Item* flags = data.get("FLAGS"); flags != nullptr && flags->is_list()) {
    ParsedFlags parsed = parse_flag_list(*flags);
    out.flags = parsed.flags;
    out.keywords = std::move(parsed.keywords);
  }
  if (const Item* date = data.get("INTERNALDATE")) {
    if (auto text = date->as_astring()) out.internal_date = parse_imap_datetime(*text);
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
