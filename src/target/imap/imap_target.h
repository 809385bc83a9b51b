// The IMAP target: one authenticated session per account, folders created on
// demand, messages appended through the pipelined Appender.
#pragma once

#include "imap/appender.h"
#include "imap/login.h"
#include "target/target.h"

namespace mailmig {

// The server and how its accounts log in, then how messages are appended.
struct ImapTargetOptions : imap::ServerLogin {
  imap::AppendOptions append;
};

class ImapTarget final : public Target {
 public:
  explicit ImapTarget(ImapTargetOptions options);
  std::unique_ptr<TargetAccount> open_account(const std::string& account, const std::string& domain,
                                              const std::string& user_password) override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] std::optional<std::string> stored_keyword(const std::string& keyword) const override;

 private:
  ImapTargetOptions options_;
};

}  // namespace mailmig
