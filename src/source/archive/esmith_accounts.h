// What the SME Server accounts database (home/e-smith/db/accounts, format in
// esmith_db.h and docs/sme-backup.md) says about mail beyond the mailboxes:
// groups (a mail address that reaches every member) and pseudonyms (another
// address of a user or a group), as aliases in the primary domain; and the
// users' password hashes from the backup's etc/shadow.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "source/archive/esmith_db.h"

namespace mailmig::archive {

struct MailAlias {
  std::string address;               // "local@domain"
  std::vector<std::string> targets;  // "local@domain", at least one
  std::string kind;                  // "group" or "pseudonym", for reports
};

struct EsmithAliases {
  std::vector<MailAlias> aliases;  // sorted by address
  std::vector<std::string> notes;  // references that could not be resolved (for the report)
};

// The users (type "user", plus "admin" whose mail lives in home/e-smith),
// groups and pseudonyms of `accounts`, addressed in `domain`. A pseudonym
// key may carry its own domain ("info@example.org"); members and pseudonym
// targets that are neither a user nor a group are left out with a note.
EsmithAliases esmith_aliases(const EsmithDb& accounts, const std::string& domain);

// user -> crypt(3) hash from an /etc/shadow text; locked ("!...", "*") and
// empty entries are left out (those users get a password by the normal rules).
std::map<std::string, std::string> shadow_hashes(std::string_view shadow);

}  // namespace mailmig::archive
