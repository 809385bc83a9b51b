#include "target/imap/imap_target.h"

#include <fmt/format.h>

#include "imap/mailboxes.h"

namespace mailmig {

namespace {

class ImapFolder final : public TargetFolder {
 public:
  ImapFolder(imap::Session& session, imap::NameMapping name, std::uint64_t existing, const imap::AppendOptions& options,
             TargetAccount::ResultFn on_result)
      : name_(std::move(name)),
        existing_(existing),
        appender_(session, name_.wire, options, [fn = std::move(on_result)](std::size_t i, const imap::AppendOutcome& o) {
          fn(i, Delivery{.ok = o.ok, .uidvalidity = o.uidvalidity, .uid = o.uid, .error = o.error, .code = o.code});
        }) {}

  void add(const MessageInfo& message, OpenMessage open) override {
    appender_.add(imap::AppendMessage{.size = message.size, .open = std::move(open), .flags = message.flags,
                                      .keywords = message.keywords, .date = message.internal_date});
  }
  void finish() override { appender_.finish(); }
  [[nodiscard]] std::vector<std::size_t> unresolved() const override { return appender_.unresolved(); }
  [[nodiscard]] std::uint64_t existing_messages() const override { return existing_; }
  [[nodiscard]] std::string display_name() const override { return name_.display; }
  [[nodiscard]] std::string rename_note() const override {
    if (!name_.altered) return {};
    return fmt::format("stored as \"{}\": the name held the server's hierarchy delimiter", name_.display);
  }

 private:
  imap::NameMapping name_;
  std::uint64_t existing_;
  imap::Appender appender_;
};

class ImapAccount final : public TargetAccount {
 public:
  ImapAccount(std::unique_ptr<imap::Session> session, imap::AppendOptions append)
      : session_(std::move(session)), mailboxes_(*session_), append_(append) {}
  ~ImapAccount() override { close(); }

  std::unique_ptr<TargetFolder> open_folder(const std::string& neutral_name, bool subscribe,
                                            ResultFn on_result) override {
    imap::NameMapping name = mailboxes_.ensure(neutral_name, subscribe);
    imap::Command status("STATUS");
    status.string(name.wire, session_->utf8_enabled()).atom("(MESSAGES)");
    std::uint64_t existing = 0;
    for (const imap::Response& r : session_->run_ok(status).untagged) {
      if (r.keyword != "STATUS" || r.data.size() < 2) continue;
      if (const imap::Item* n = r.data[1].get("MESSAGES")) existing = n->as_number().value_or(0);
    }
    return std::make_unique<ImapFolder>(*session_, std::move(name), existing, append_, std::move(on_result));
  }

  std::vector<std::string> folders() override { return mailboxes_.list_neutral(); }
  void close() override {
    if (session_) session_->logout();
  }

 private:
  std::unique_ptr<imap::Session> session_;
  imap::Mailboxes mailboxes_;
  imap::AppendOptions append_;
};

}  // namespace

ImapTarget::ImapTarget(ImapTargetOptions options) : options_(std::move(options)) {}

std::string ImapTarget::describe() const {
  const auto& s = options_.connect.server;
  return fmt::format("{}://{}:{} ({} login)", s.implicit_tls ? "imaps" : "imap", s.host, s.port,
                     imap::auth_method_name(options_.auth));
}

std::unique_ptr<TargetAccount> ImapTarget::open_account(const std::string& account, const std::string& domain,
                                                        const std::string& user_password) {
  imap::Credentials credentials{.method = options_.auth,
                                .user = format_login(options_.login_format, account, domain),
                                .password = options_.auth == imap::AuthMethod::User ? user_password
                                                                                    : options_.master_password,
                                .master_user = options_.master_user,
                                .master_separator = options_.master_separator};
  std::unique_ptr<imap::Session> session;
  try {
    session = imap::open_session(options_.connect, credentials);
  } catch (const imap::AuthError& e) {
    throw TargetAuthError(e.what());
  }
  return std::make_unique<ImapAccount>(std::move(session), options_.append);
}

}  // namespace mailmig
