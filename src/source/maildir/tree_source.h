// A Source over accounts found up front (by a --user-path pattern or a layout
// detected on disk): both on-disk per-user sources (maildir:, mbox:) list
// their domains and accounts the same way and differ only in how an account
// is opened.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig::maildir {

struct TreeAccount {
  AccountInfo info;   // info.location: the account's Maildir or mail directory
  std::string inbox;  // mbox: the INBOX file (spool), empty when none
};

class TreeSource final : public Source {
 public:
  using Opener = std::function<std::unique_ptr<Account>(const TreeAccount&)>;

  // `problems` were found while discovering the accounts; domains() reports them.
  TreeSource(std::vector<TreeAccount> accounts, std::vector<Problem> problems, Opener opener);

  std::vector<DomainInfo> domains(const ProblemFn& problem) override;
  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& account) const override;

  [[nodiscard]] std::size_t account_count() const { return accounts_.size(); }

 private:
  std::vector<TreeAccount> accounts_;
  std::vector<Problem> problems_;
  Opener opener_;
};

}  // namespace mailmig::maildir
