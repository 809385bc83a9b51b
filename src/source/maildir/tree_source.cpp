#include "source/maildir/tree_source.h"

#include <algorithm>
#include <cerrno>
#include <tuple>

#include "core/error.h"

namespace mailmig::maildir {

TreeSource::TreeSource(std::vector<TreeAccount> accounts, std::vector<Problem> problems, Opener opener)
    : accounts_(std::move(accounts)), problems_(std::move(problems)), opener_(std::move(opener)) {
  std::stable_sort(accounts_.begin(), accounts_.end(), [](const TreeAccount& a, const TreeAccount& b) {
    return std::tie(a.info.domain, a.info.name) < std::tie(b.info.domain, b.info.name);
  });
}

std::vector<DomainInfo> TreeSource::domains(const ProblemFn& problem) {
  for (const Problem& p : problems_) problem(p);
  std::vector<DomainInfo> out;
  for (const TreeAccount& account : accounts_) {
    if (!out.empty() && out.back().name == account.info.domain) continue;
    out.push_back(
        DomainInfo{.name = account.info.domain, .main = out.empty(), .location = account.info.location});
  }
  return out;
}

std::vector<AccountInfo> TreeSource::accounts(const DomainInfo& domain, const ProblemFn& /*problem*/) {
  std::vector<AccountInfo> out;
  for (const TreeAccount& account : accounts_) {
    if (account.info.domain == domain.name) out.push_back(account.info);
  }
  return out;
}

std::unique_ptr<Account> TreeSource::open_account(const AccountInfo& account) const {
  for (const TreeAccount& candidate : accounts_) {
    if (candidate.info.domain == account.domain && candidate.info.name == account.name)
      return opener_(candidate);
  }
  throw IoError(account.location, ENOENT, "no such account in this source");
}

}  // namespace mailmig::maildir
