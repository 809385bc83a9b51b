// --ldap-filter: the accounts whose directory entries match a filter, as the
// iPlanet batches select them ("(uid=s*)"). The command line asks the
// directory here and hands the names to the engine as Selection::listed
// (engine/selection.h); the engine itself never talks to a directory.
#pragma once

#include <set>
#include <string>

namespace mailmig::directory {

struct LdapQuery {
  std::string url;  // ldap://, ldaps://, ldapi://
  std::string base;
  std::string filter;
  std::string bind_dn;   // empty: anonymous
  std::string password;  // secret
  std::string attribute = "uid";
  std::string ca_file;
  bool insecure = false;
};

// Values of `attribute` (uid) and of mail of every matching entry, lowercased;
// read in pages, so a directory of any size is read completely. Throws
// std::invalid_argument (a usage error) for an incomplete query or a bad URL,
// std::runtime_error naming the URL, base and filter (never the password) when
// the directory cannot be read.
std::set<std::string> ldap_select(const LdapQuery& query);

}  // namespace mailmig::directory
