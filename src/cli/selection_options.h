// The account selection and naming options every command shares: --domain,
// --user (names or globs), --users-file, --ldap-filter with its directory
// options, --rename-map, --lowercase.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/problem.h"
#include "engine/naming.h"
#include "engine/selection.h"
#include "source/source.h"

namespace mailmig::cli {

struct SelectionArgs {
  Selection selection;                 // --domain, --user
  std::string users_file;              // --users-file
  std::string ldap_filter;             // --ldap-filter "(uid=s*)"
  std::string ldap_url;                // --ldap-url ldap://host
  std::string ldap_base;               // --ldap-search-base
  std::string ldap_bind_dn;            // --ldap-bind-dn
  std::string ldap_password_file;      // --ldap-password-file (mode 600)
  std::string ldap_attribute = "uid";  // --ldap-attribute
  std::string ldap_ca_file;            // --ldap-ca-file
  bool ldap_insecure = false;          // --ldap-insecure
};

struct NamingArgs {
  std::string rename_map;  // --rename-map FILE
  bool lowercase = false;  // --lowercase
};

void add_selection_options(CLI::App& command, SelectionArgs& args);
void add_naming_options(CLI::App& command, NamingArgs& args);

// The Selection with `listed` filled from --users-file and/or --ldap-filter
// (both: their intersection), for commands that call select_accounts
// themselves (inventory). Throws std::runtime_error like resolve_selection.
Selection listed_selection(const SelectionArgs& args);

// The selected accounts in source order. Listed names that match no account
// go to `sink`. Throws SelectionError (usage) or std::runtime_error (a file or
// the directory could not be read).
std::vector<AccountInfo> resolve_selection(Source& source, const SelectionArgs& args, ProblemSink& sink);

// Throws std::runtime_error for an unreadable or malformed map.
NamingRules load_naming(const NamingArgs& args);

}  // namespace mailmig::cli
