#include "source/archive/esmith_accounts.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "core/text_fields.h"

namespace mailmig::archive {
namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    pos = end + 1;
  }
  return out;
}

std::string prop(const EsmithRecord& record, const std::string& name) {
  auto it = record.props.find(name);
  return it == record.props.end() ? std::string() : it->second;
}

}  // namespace

EsmithAliases esmith_aliases(const EsmithDb& accounts, const std::string& domain) {
  EsmithAliases out;
  const auto is_mailbox = [&](const std::string& name) {
    if (name == "admin") return true;  // the administrator's mailbox always exists
    auto it = accounts.find(name);
    return it != accounts.end() && (it->second.type == "user" || it->second.type == "group");
  };
  const auto address = [&](const std::string& name) { return ascii_lower(name) + "@" + domain; };
  for (const auto& [key, record] : accounts) {
    if (record.type == "group") {
      MailAlias alias{.address = address(key), .targets = {}, .kind = "group"};
      for (const std::string& member : split_list(prop(record, "Members"))) {
        auto it = accounts.find(member);
        if (member == "admin" || (it != accounts.end() && it->second.type == "user")) {
          alias.targets.push_back(address(member));
        } else {
          out.notes.push_back(
              fmt::format("group {}: member \"{}\" is not a user of the backup: left out", key, member));
        }
      }
      if (alias.targets.empty()) {
        out.notes.push_back(fmt::format("group {}: no member is a user of the backup: no alias", key));
        continue;
      }
      std::sort(alias.targets.begin(), alias.targets.end());
      alias.targets.erase(std::unique(alias.targets.begin(), alias.targets.end()), alias.targets.end());
      out.aliases.push_back(std::move(alias));
    } else if (record.type == "pseudonym") {
      const std::string target = prop(record, "Account");
      if (target.empty() || !is_mailbox(target)) {
        out.notes.push_back(
            fmt::format("pseudonym {}: its account \"{}\" is neither a user nor a group of the backup: "
                        "no alias",
                        key, target));
        continue;
      }
      // "name" is in the primary domain; "name@other.domain" names its own.
      const std::string from = key.find('@') != std::string::npos ? ascii_lower(key) : address(key);
      out.aliases.push_back(MailAlias{.address = from, .targets = {address(target)}, .kind = "pseudonym"});
    }
  }
  std::sort(out.aliases.begin(), out.aliases.end(),
            [](const MailAlias& a, const MailAlias& b) { return a.address < b.address; });
  return out;
}

std::map<std::string, std::string> shadow_hashes(std::string_view shadow) {
  std::map<std::string, std::string> out;
  for (const std::string_view line : text_lines(shadow)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view hash = line.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));
    if (hash.empty() || hash.front() == '!' || hash.front() == '*') continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(hash));
  }
  return out;
}

}  // namespace mailmig::archive
