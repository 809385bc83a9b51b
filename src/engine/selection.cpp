#include "engine/selection.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace mailmig {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// Splits "user@domain" so --user alone can name the domain too.
Selection normalise(Selection s) {
  if (auto at = s.user.rfind('@'); at != std::string::npos) {
    if (s.domain.empty()) s.domain = s.user.substr(at + 1);
    s.user.resize(at);
  }
  return s;
}

}  // namespace

std::vector<SelectedDomain> select_accounts(Source& source, const Selection& raw, const ProblemFn& problem) {
  const Selection selection = normalise(raw);
  std::vector<DomainInfo> domains = source.domains(problem);
  if (!selection.domain.empty()) {
    std::erase_if(domains, [&](const DomainInfo& d) { return !iequals(d.name, selection.domain); });
    if (domains.empty()) throw SelectionError(fmt::format("no domain \"{}\" in the source", selection.domain));
  }
  std::vector<SelectedDomain> out;
  std::size_t matched = 0;
  for (DomainInfo& domain : domains) {
    SelectedDomain selected{.domain = domain};
    for (AccountInfo& account : source.accounts(domain, problem)) {
      if (!selection.user.empty() && !iequals(account.name, selection.user)) continue;
      selected.accounts.push_back(std::move(account));
    }
    matched += selected.accounts.size();
    if (!selection.user.empty() && selected.accounts.empty()) continue;
    out.push_back(std::move(selected));
  }
  if (!selection.user.empty() && matched == 0) {
    throw SelectionError(fmt::format("no account \"{}\" in {}", selection.user,
                                     selection.domain.empty() ? "any domain" : "domain " + selection.domain));
  }
  return out;
}

}  // namespace mailmig
