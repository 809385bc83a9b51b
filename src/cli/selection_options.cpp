#include "cli/selection_options.h"

#include <iterator>
#include <set>
#include <utility>

#include "cli/target_options.h"
#include "directory/ldap_select.h"

namespace mailmig::cli {

namespace {

// --users-file and --ldap-filter together: the file's entries the directory
// also names. Either side may say "name" or "name@domain", so the result is
// the more precise form of each entry found on both sides.
std::set<std::string> intersect_lists(const std::set<std::string>& file,
                                      const std::set<std::string>& directory) {
  std::set<std::string> both;
  for (const std::string& entry : file) {
    const auto at = entry.rfind('@');
    if (directory.contains(entry) || (at != std::string::npos && directory.contains(entry.substr(0, at)))) {
      both.insert(entry);
      continue;
    }
    if (at != std::string::npos) continue;
    const std::string prefix = entry + "@";
    for (auto it = directory.lower_bound(prefix); it != directory.end() && it->starts_with(prefix); ++it) {
      both.insert(*it);
    }
  }
  return both;
}

}  // namespace

void add_selection_options(CLI::App& command, SelectionArgs& args) {
  command.add_option("--domain", args.selection.domain,
                     "Only this domain (a glob like 'example.*' is allowed)");
  command.add_option("--user", args.selection.user,
                     "Only this account: name or name@domain, or a glob like 's*' (case-insensitive)");
  command.add_option("--users-file", args.users_file,
                     "Only the accounts listed in FILE (name or name@domain per line, # comments)");
  auto* filter = command.add_option("--ldap-filter", args.ldap_filter,
                                    "Only the accounts whose directory entries match, e.g. '(uid=s*)'");
  auto* url = command.add_option("--ldap-url", args.ldap_url,
                                 "Directory for --ldap-filter: ldap://, ldaps://, ldapi://");
  auto* base =
      command.add_option("--ldap-search-base", args.ldap_base, "Subtree searched, e.g. ou=people,o=example");
  filter->needs(url)->needs(base);
  // Directory options without a filter would be ignored and select every
  // account: a usage error rather than a surprise migration of everything.
  for (CLI::Option* option :
       {url, base, command.add_option("--ldap-bind-dn", args.ldap_bind_dn, "Bind DN (default: anonymous)"),
        command.add_option("--ldap-password-file", args.ldap_password_file,
                           "File holding the bind password (mode 600)"),
        command.add_option("--ldap-attribute", args.ldap_attribute,
                           "Attribute holding the account name (default uid; mail is read too)"),
        command.add_option("--ldap-ca-file", args.ldap_ca_file, "CA certificates for ldaps:// and StartTLS"),
        command.add_flag("--ldap-insecure", args.ldap_insecure,
                         "Do not check the directory's certificate")}) {
    option->needs(filter);
  }
}

void add_naming_options(CLI::App& command, NamingArgs& args) {
  command.add_option(
      "--rename-map", args.rename_map,
      "Rename accounts: FILE of old=New lines (old is name or name@domain; New may add @domain)");
  command.add_flag("--lowercase", args.lowercase,
                   "Lowercase account, domain and folder names (INBOX stays INBOX)");
}

Selection listed_selection(const SelectionArgs& args) {
  Selection selection = args.selection;
  if (!args.users_file.empty()) selection.listed = read_users_file(args.users_file);
  if (!args.ldap_filter.empty()) {
    directory::LdapQuery query{.url = args.ldap_url,
                               .base = args.ldap_base,
                               .filter = args.ldap_filter,
                               .bind_dn = args.ldap_bind_dn,
                               .password = args.ldap_password_file.empty()
                                               ? std::string()
                                               : read_secret_file(args.ldap_password_file),
                               .attribute = args.ldap_attribute,
                               .ca_file = args.ldap_ca_file,
                               .insecure = args.ldap_insecure};
    std::set<std::string> found;
    try {
      found = directory::ldap_select(query);
    } catch (const std::invalid_argument& e) {
      throw SelectionError(e.what());  // an incomplete query or a bad URL: a usage error
    }
    selection.listed = selection.listed ? intersect_lists(*selection.listed, found) : std::move(found);
  }
  return selection;
}

std::vector<AccountInfo> resolve_selection(Source& source, const SelectionArgs& args, ProblemSink& sink) {
  std::vector<AccountInfo> accounts;
  const Selection selection = listed_selection(args);
  std::vector<Problem> listing;  // what reading the account list found
  for (SelectedDomain& selected :
       select_accounts(source, selection, [&](Problem p) { listing.push_back(std::move(p)); })) {
    std::move(selected.accounts.begin(), selected.accounts.end(), std::back_inserter(accounts));
  }
  // A broken account that is not selected (its settings unreadable) must not
  // make a run for other accounts fail; problems of no account are kept.
  std::set<std::pair<std::string, std::string>> chosen;
  for (const AccountInfo& a : accounts) chosen.emplace(a.domain, a.name);
  for (Problem& p : listing) {
    if (p.account.empty() || chosen.contains({p.domain, p.account})) sink.add(std::move(p));
  }
  return accounts;
}

NamingRules load_naming(const NamingArgs& args) {
  NamingRules rules;
  if (!args.rename_map.empty()) rules.rename = read_rename_map(args.rename_map);
  rules.lowercase = args.lowercase;
  return rules;
}

}  // namespace mailmig::cli
