#include "cli/provisioning_adapter.h"

#include <fmt/format.h>

#include <stdexcept>

namespace mailmig::cli {

void ProvisionerAccounts::create(const std::string& account, const std::string& domain,
                                 const AccountInfo& source) {
  const ChosenPassword chosen = choose_password(rules_, source.password);
  // Only when nobody chose a password may the provisioner keep the source's
  // own hash (the user keeps the old password).
  const PasswordInfo keepable = chosen.how == PasswordHow::Generated ? source.password : PasswordInfo{};
  // When the chosen password is certainly the user's, it is in the password
  // file before the user exists: a full disk or a kill between the two then
  // never leaves a user whose password nobody knows (a row for a user whose
  // creation failed is superseded by the next run's row for it).
  const std::string key = account + "@" + domain;
  const bool recorded_ahead = pass_file_ != nullptr && keepable.kind != PasswordInfo::Kind::Encrypted;
  if (recorded_ahead) {
    try {
      pass_file_->add(key, chosen.password, chosen.how);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("its password cannot be recorded: {}", e.what()));
    }
  }
  const Created created = provisioner_.create(NewUser{.account = account,
                                                      .domain = domain,
                                                      .real_name = source.real_name,
                                                      .password = chosen.password,
                                                      .source_password = keepable});
  if (pass_file_ != nullptr && !recorded_ahead && !created.kept_source_hash) {
    pass_file_->add(key, chosen.password, chosen.how);
  }
}

}  // namespace mailmig::cli
