#include "engine/naming.h"

#include <fmt/format.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/ascii.h"

namespace mailmig {

namespace {

// Unicode lowercase (ICU, root locale: no Turkish dotless i surprises), so
// "ÜBERSICHT" and "Übersicht" collide like "WORK" and "Work" do. A name that
// is not valid UTF-8 is lowercased in ASCII only: its bytes are never replaced.
std::string lowercase(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return ascii_lower(text);
  }
  UErrorCode status = U_ZERO_ERROR;
  // Validate first: fromUTF8 would turn a bad byte into U+FFFD silently.
  u_strFromUTF8(nullptr, 0, nullptr, text.data(), static_cast<int32_t>(text.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return ascii_lower(text);
  std::string out;
  icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())))
      .toLower(icu::Locale::getRoot())
      .toUTF8String(out);
  return out;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

constexpr std::string_view kInbox = "INBOX";

bool is_inbox(std::string_view component) {
  return ascii_lower(component) == "inbox";
}

// The plain transformation of a whole name: --lowercase lowercases every
// component except the inbox itself (IMAP's INBOX is case-insensitive, and
// Kerio/Dovecot store it as "INBOX"), so "INBOX/Projects" -> "INBOX/projects".
std::string transform(const NamingRules& rules, std::string_view name) {
  if (!rules.lowercase) return std::string(name);
  if (name == kInbox) return std::string(name);
  if (name.starts_with("INBOX/")) return std::string(kInbox) + lowercase(name.substr(kInbox.size()));
  return lowercase(name);
}

// What two names are compared by: the target's stored form, with a leading
// INBOX component in one case because IMAP makes "inbox" and "INBOX" one folder.
std::string collision_key(const std::function<std::string(const std::string&)>& stored_name,
                          const std::string& target) {
  std::string normal = target;
  if (is_inbox(std::string_view(normal).substr(0, normal.find('/'))))
    normal.replace(0, kInbox.size(), kInbox);
  return stored_name(normal);
}

class Planner {
 public:
  Planner(const NamingRules& rules, const std::function<std::string(const std::string&)>& stored_name)
      : rules_(rules), stored_name_(stored_name) {}

  // A name an earlier run created: taken whether or not the folder still exists,
  // so a new folder is never merged into a folder that holds migrated mail.
  void reserve(const std::string& source, const std::string& target) {
    taken_.emplace(collision_key(stored_name_, target), Holder{source, target});
    planned_[source] = target;
  }

  PlannedFolder plan(const std::string& source) {
    if (auto it = planned_.find(source); it != planned_.end()) {
      return kept(source, it->second);
    }
    const auto [plain, parent_note] = follow_parent(source);
    std::string target = plain;
    std::string note = parent_note;
    std::string key = collision_key(stored_name_, target);
    if (auto clash = taken_.find(key); clash != taken_.end()) {
      const Holder& holder = clash->second;
      const std::string base = plain;
      for (unsigned n = 2;; ++n) {
        target = fmt::format("{}~{}", base, n);
        key = collision_key(stored_name_, target);
        if (!taken_.contains(key)) break;
      }
      note = holder.target == plain
                 ? fmt::format("renamed to \"{}\": \"{}\" and \"{}\" both become \"{}\"", target,
                               holder.source, source, plain)
                 : fmt::format("renamed to \"{}\": \"{}\" and \"{}\" both are stored as \"{}\"", target,
                               holder.source, source, clash->first);
    }
    taken_.emplace(key, Holder{source, target});
    planned_[source] = target;
    return {.source = source, .target = target, .note = note};
  }

 private:
  struct Holder {
    std::string source;
    std::string target;
  };

  PlannedFolder kept(const std::string& source, const std::string& target) const {
    PlannedFolder folder{.source = source, .target = target, .note = {}};
    if (target != transform(rules_, source)) {
      folder.note = fmt::format("keeps \"{}\" from an earlier run", target);
    }
    return folder;
  }

  // The nearest planned ancestor's target plus the transformed rest, so the
  // children of a renamed folder stay inside it. The note says so when that
  // differs from the plain transformation.
  std::pair<std::string, std::string> follow_parent(const std::string& source) const {
    const std::string plain = transform(rules_, source);
    for (auto slash = source.rfind('/'); slash != std::string::npos && slash > 0;
         slash = source.rfind('/', slash - 1)) {
      const auto it = planned_.find(source.substr(0, slash));
      if (it == planned_.end()) continue;
      std::string target = it->second + transform(rules_, std::string_view(source).substr(slash));
      if (target == plain) return {target, {}};
      return {target, fmt::format("inside \"{}\", planned as \"{}\"", it->first, it->second)};
    }
    return {plain, {}};
  }

  const NamingRules& rules_;
  const std::function<std::string(const std::string&)>& stored_name_;
  std::map<std::string, Holder> taken_;         // collision key -> who has it
  std::map<std::string, std::string> planned_;  // source -> target
};

}  // namespace

std::map<std::string, std::string> read_rename_map(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read the rename map {}", path));
  std::map<std::string, std::string> map;
  std::map<std::string, unsigned> first_line;
  std::string line;
  unsigned number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) {
      throw std::runtime_error(fmt::format("{}:{}: expected old=New, found no '='", path, number));
    }
    const std::string key = lowercase(trim(text.substr(0, eq)));
    const std::string value(trim(text.substr(eq + 1)));
    if (key.empty() || value.empty()) {
      throw std::runtime_error(fmt::format("{}:{}: expected old=New, one side is empty", path, number));
    }
    if (auto [it, inserted] = map.emplace(key, value); !inserted && it->second != value) {
      throw std::runtime_error(fmt::format("{}:{}: \"{}\" is renamed to \"{}\" here and to \"{}\" on line {}",
                                           path, number, key, value, it->second, first_line[key]));
    }
    first_line.emplace(key, number);
  }
  if (in.bad()) throw std::runtime_error(fmt::format("error reading the rename map {}", path));
  return map;
}

TargetAccountName target_account_name(const NamingRules& rules, const AccountInfo& account) {
  TargetAccountName name{.account = account.name, .domain = account.domain};
  auto it = rules.rename.find(lowercase(account.name + "@" + account.domain));
  if (it == rules.rename.end()) it = rules.rename.find(lowercase(account.name));
  if (it != rules.rename.end()) {
    const std::string& mapped = it->second;
    if (const auto at = mapped.rfind('@'); at != std::string::npos) {
      name.account = mapped.substr(0, at);
      name.domain = mapped.substr(at + 1);
    } else {
      name.account = mapped;
    }
  }
  if (rules.lowercase) {
    name.account = lowercase(name.account);
    name.domain = lowercase(name.domain);
  }
  return name;
}

std::vector<PlannedFolder> plan_folder_names(
    const NamingRules& rules, const std::vector<FolderInfo>& folders,
    const std::function<std::string(const std::string&)>& stored_name,
    const std::map<std::string, std::string>& earlier) {
  Planner planner(rules, stored_name);
  for (const auto& [source, target] : earlier) planner.reserve(source, target);
  std::vector<PlannedFolder> out(folders.size());
  // The inbox first: wherever the store lists it, "Inbox" must never take INBOX.
  for (std::size_t i = 0; i < folders.size(); ++i) {
    if (folders[i].name == kInbox) out[i] = planner.plan(folders[i].name);
  }
  for (std::size_t i = 0; i < folders.size(); ++i) {
    if (folders[i].name != kInbox) out[i] = planner.plan(folders[i].name);
  }
  return out;
}

}  // namespace mailmig
