// Which accounts a command works on: --domain, --user (name or name@domain).
#pragma once

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig {

struct Selection {
  std::string domain;  // empty: all domains; may be a glob (fnmatch, case-insensitive)
  std::string user;    // empty: all accounts; "user@domain" also selects the domain; may be a glob
  // When set: only accounts listed (lowercased "account" or "account@domain").
  // The caller fills it from wherever the list comes from (--users-file below,
  // --ldap-filter through directory/ldap_select.h): the engine receives the
  // names, never asks a directory. Entries matching no account are reported.
  std::optional<std::set<std::string>> listed;
};

// --users-file: one account per line ("account" or "account@domain"), blank
// lines and '#' comments ignored; lowercased. Throws std::runtime_error.
std::set<std::string> read_users_file(const std::string& path);

// Thrown when the selection names a domain or account the source does not have.
class SelectionError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SelectedDomain {
  DomainInfo domain;
  std::vector<AccountInfo> accounts;
};

// Domains in source order with their selected accounts; with a user selection,
// domains without a match are left out. Throws SelectionError when a plain
// (non-glob) --domain or --user names nothing; listed entries that match no
// account go to `problem` (Scope::Account) and the rest is selected.
std::vector<SelectedDomain> select_accounts(Source& source, const Selection& selection,
                                            const ProblemFn& problem);

}  // namespace mailmig
