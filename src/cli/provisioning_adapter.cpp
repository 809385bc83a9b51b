#include "cli/provisioning_adapter.h"

namespace mailmig::cli {

void ProvisionerAccounts::create(const std::string& account, const std::string& domain,
                                 const AccountInfo& source) {
  const ChosenPassword chosen = choose_password(rules_, source.password);
  const Created created = provisioner_.create(
      NewUser{.account = account,
              .domain = domain,
              .real_name = source.real_name,
              .password = chosen.password,
              // Only when nobody chose a password may the provisioner keep the
              // source's own hash (the user keeps the old password).
              .source_password = chosen.how == PasswordHow::Generated ? source.password : PasswordInfo{}});
  if (pass_file_ != nullptr && !created.kept_source_hash) {
    pass_file_->add(account + "@" + domain, chosen.password, chosen.how);
  }
}

}  // namespace mailmig::cli
