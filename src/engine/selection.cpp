#include "engine/selection.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "core/ascii.h"

namespace mailmig {

namespace {

bool is_glob(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

// A plain name compares case-insensitively; a glob matches like the shell's,
// case-insensitively, as administrators type "S*" for "sam".
bool matches(const std::string& pattern, const std::string& name) {
  if (is_glob(pattern)) return ::fnmatch(pattern.c_str(), name.c_str(), FNM_CASEFOLD) == 0;
  return ascii_lower(pattern) == ascii_lower(name);
}

// Splits "user@domain" so --user alone can name the domain too.
Selection normalise(Selection s) {
  if (auto at = s.user.rfind('@'); at != std::string::npos) {
    if (s.domain.empty()) s.domain = s.user.substr(at + 1);
    s.user.resize(at);
  }
  return s;
}

// Which listed entries named an account, so the rest can be reported once each.
class ListedMatcher {
 public:
  explicit ListedMatcher(const std::optional<std::set<std::string>>& listed) : listed_(listed) {
    if (listed_) {
      for (const std::string& entry : *listed_) used_.emplace(entry, false);
    }
  }

  // True when there is no list or the account is on it (by name or name@domain).
  bool take(const AccountInfo& account) {
    if (!listed_) return true;
    bool found = false;
    for (const std::string& key :
         {ascii_lower(account.name), ascii_lower(account.name + "@" + account.domain)}) {
      if (auto it = used_.find(key); it != used_.end()) {
        it->second = true;
        found = true;
      }
    }
    return found;
  }

  void report_unused(const Selection& selection, const ProblemFn& problem) const {
    for (const auto& [entry, used] : used_) {
      if (used) continue;
      const std::string where = selection.domain.empty()    ? std::string("the source")
                                : is_glob(selection.domain) ? "the domains matching " + selection.domain
                                                            : "domain " + selection.domain;
      problem(Problem{.scope = Scope::Account,
                      .message = fmt::format("listed in the selection but not in {}: {}", where, entry)});
    }
  }

 private:
  const std::optional<std::set<std::string>>& listed_;
  std::map<std::string, bool> used_;
};

}  // namespace

std::set<std::string> read_users_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read users file {}", path));
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const auto end = line.find_last_not_of(" \t");
    out.insert(ascii_lower(line.substr(start, end - start + 1)));
  }
  if (in.bad()) throw std::runtime_error(fmt::format("error reading users file {}", path));
  return out;
}

std::vector<SelectedDomain> select_accounts(Source& source, const Selection& raw, const ProblemFn& problem) {
  const Selection selection = normalise(raw);
  std::vector<DomainInfo> domains = source.domains(problem);
  if (!selection.domain.empty()) {
    std::erase_if(domains, [&](const DomainInfo& d) { return !matches(selection.domain, d.name); });
    if (domains.empty() && !is_glob(selection.domain)) {
      throw SelectionError(fmt::format("no domain \"{}\" in the source", selection.domain));
    }
  }
  ListedMatcher listed(selection.listed);
  const bool filtered = !selection.user.empty() || selection.listed.has_value();
  std::vector<SelectedDomain> out;
  std::size_t user_matches = 0;
  for (DomainInfo& domain : domains) {
    SelectedDomain selected{.domain = domain};
    for (AccountInfo& account : source.accounts(domain, problem)) {
      // Every account is offered to the list, so an entry is reported only
      // when the selected domains really lack it, not when --user left it out.
      const bool on_list = listed.take(account);
      if (!selection.user.empty() && !matches(selection.user, account.name)) continue;
      ++user_matches;
      if (on_list) selected.accounts.push_back(std::move(account));
    }
    if (filtered && selected.accounts.empty()) continue;
    out.push_back(std::move(selected));
  }
  listed.report_unused(selection, problem);
  if (!selection.user.empty() && !is_glob(selection.user) && user_matches == 0) {
    throw SelectionError(fmt::format("no account \"{}\" in {}", selection.user,
                                     selection.domain.empty() ? "any domain" : "domain " + selection.domain));
  }
  return out;
}

}  // namespace mailmig
