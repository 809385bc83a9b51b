// Which accounts a command works on: --domain, --user (name or name@domain).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig {

struct Selection {
  std::string domain;  // empty: all domains
  std::string user;    // empty: all accounts; "user@domain" also selects the domain
};

// Thrown when the selection names a domain or account the source does not have.
class SelectionError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SelectedDomain {
  DomainInfo domain;
  std::vector<AccountInfo> accounts;
};

// Domains in source order with their selected accounts; with a user selection,
// domains without a match are left out. Throws SelectionError.
std::vector<SelectedDomain> select_accounts(Source& source, const Selection& selection, const ProblemFn& problem);

}  // namespace mailmig
