// Creating the users a migration needs on the target: one interface, chosen by
// --provision (kerio:URL, dovecot:FILE, ldap:URL, command:CMD, none).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/password_info.h"

namespace mailmig {

// A user to create. The password is the plain one the password rules chose
// (forced, migrated, set or generated); `source_password` is what the source
// stored, for a provisioner that can keep a hash as it is.
struct NewUser {
  std::string account;  // login name without domain
  std::string domain;
  std::string real_name;
  std::string password;  // secret
  PasswordInfo source_password;
};

struct Created {
  // True when the provisioner stored the source's own hash instead of
  // `password` (the user keeps the old password; nothing to hand out).
  bool kept_source_hash = false;
};

// A group or another address of a mailbox (a pseudonym) to create on the
// target, for a provisioner that can_create_aliases().
struct NewAlias {
  std::string address;               // "local@domain"
  std::vector<std::string> targets;  // "local@domain", at least one
  // A group is always an entry of its own (even with one member); a
  // pseudonym with one target is another address of that target.
  bool group = false;
};

struct AliasOutcome {
  std::string done;                   // for the log: "created ...", "unchanged", ...
  std::vector<std::string> problems;  // parts left out (a member not found); the rest is done
};

class ProvisionError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Provisioner {
 public:
  Provisioner() = default;
  Provisioner(const Provisioner&) = delete;
  Provisioner& operator=(const Provisioner&) = delete;
  virtual ~Provisioner() = default;

  // "Kerio Connect admin API at https://host:4040" for reports.
  [[nodiscard]] virtual std::string describe() const = 0;
  // Whether the user exists on the target. Throws ProvisionError.
  virtual bool exists(const std::string& account, const std::string& domain) = 0;
  // Creates a missing user. Throws ProvisionError (user names the account).
  virtual Created create(const NewUser& user) = 0;
  // Groups and pseudonyms: only a provisioner that answers true implements
  // create_alias() and alias_plan() (the others throw ProvisionError).
  [[nodiscard]] virtual bool can_create_aliases() const { return false; }
  // Creates the alias, or completes one a run made before (adds what is
  // missing, never removes, never duplicates). Throws ProvisionError when
  // nothing of it could be done (the message names the alias).
  virtual AliasOutcome create_alias(const NewAlias& alias);
  // What create_alias() would do, for a dry run (no server contact).
  [[nodiscard]] virtual std::string alias_plan(const NewAlias& alias) const;
  // Called once at the end of a run (flush, log out). Must be safe to call twice.
  virtual void finish() {}
};

struct ProvisionOptions {
  std::string admin_user;      // kerio/ldap: who logs in to create users
  std::string admin_password;  // secret
  std::string ca_file;         // kerio (https), ldap (ldaps/StartTLS)
  bool insecure = false;
  std::string ldap_base;      // ldap: where entries go, e.g. "ou=people,dc=example,dc=com"
  std::string ldap_template;  // ldap: file of attribute lines with %u %d %n %p placeholders (optional)
};

// Parses none | kerio:https://HOST:4040 | dovecot:FILE | ldap:ldap://HOST | command:CMD.
// Returns nullptr for "none". Throws std::invalid_argument for a bad spec.
std::unique_ptr<Provisioner> make_provisioner(const std::string& spec, const ProvisionOptions& options);

}  // namespace mailmig
