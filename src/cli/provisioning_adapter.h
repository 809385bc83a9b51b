// The engine's AccountProvisioning on top of a provision::Provisioner: the
// password rules of the run choose each new user's password, and the
// passwords set go to the run's password file.
#pragma once

#include <string>

#include "engine/account_provisioning.h"
#include "provision/passwords.h"
#include "provision/provisioner.h"

namespace mailmig::cli {

class ProvisionerAccounts final : public AccountProvisioning {
 public:
  // `pass_file` may be null (a dry run creates nothing).
  ProvisionerAccounts(Provisioner& provisioner, PasswordRules rules, PassFile* pass_file)
      : provisioner_(provisioner), rules_(std::move(rules)), pass_file_(pass_file) {}

  bool exists(const std::string& account, const std::string& domain) override {
    return provisioner_.exists(account, domain);
  }
  void create(const std::string& account, const std::string& domain, const AccountInfo& source) override;
  [[nodiscard]] std::string describe() const override { return provisioner_.describe(); }

 private:
  Provisioner& provisioner_;
  PasswordRules rules_;
  PassFile* pass_file_;
};

}  // namespace mailmig::cli
