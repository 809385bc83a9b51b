// The Maildir target: writes a Dovecot 2.3 compatible Maildir++ tree directly
// (dovecot-uidlist, dovecot-keywords, subscriptions), for migrations onto a
// server whose store is local and as a target that needs no server at all.
// Layout and names: names.h; UIDs, locks and crash behaviour: mailbox.h and
// maildir_folder.h; formats: uidlist.h, keywords.h, filename.h.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "target/target.h"

namespace mailmig {

struct MaildirTargetOptions {
  std::string root;  // PATH of maildir:PATH
  std::string path_pattern =
      "%d/%n/Maildir";  // per account below root: %d domain, %n local part, %u address, %% '%'
  enum class Fsync { Never, Batch, Always } fsync = Fsync::Batch;
  // chown every directory and file we create (running as root for a server
  // whose mail belongs to e.g. vmail); unset = leave our own uid/gid.
  std::optional<uid_t> owner_uid;
  std::optional<gid_t> owner_gid;
};

class MaildirTarget final : public Target {
 public:
  explicit MaildirTarget(MaildirTargetOptions options);
  // Creates the account's Maildir root when missing; the password is not needed.
  std::unique_ptr<TargetAccount> open_account(const std::string& account, const std::string& domain,
                                              const std::string& user_password) override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::optional<std::string> stored_keyword(const std::string& keyword) const override;

 private:
  MaildirTargetOptions options_;
};

}  // namespace mailmig
