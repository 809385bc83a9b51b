// What the engine needs from the target's user directory, declared here so
// the engine depends on no directory or protocol library: whether an account
// exists, and to create it with a password the run's rules choose. The CLI
// adapts provision::Provisioner to it (cli/provisioning_adapter.h).
#pragma once

#include <string>

#include "source/source.h"

namespace mailmig {

class AccountProvisioning {
 public:
  AccountProvisioning() = default;
  AccountProvisioning(const AccountProvisioning&) = delete;
  AccountProvisioning& operator=(const AccountProvisioning&) = delete;
  virtual ~AccountProvisioning() = default;

  // Whether `account`@`domain` exists on the target. Throws when that cannot be told.
  virtual bool exists(const std::string& account, const std::string& domain) = 0;
  // Creates `account`@`domain` for the source account `source` (its real
  // name; its password or hash when the rules keep it), recording the
  // password it set. Throws when the user cannot be created.
  virtual void create(const std::string& account, const std::string& domain, const AccountInfo& source) = 0;
  // For messages: which directory, e.g. "dovecot passwd-file /etc/dovecot/users".
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace mailmig
