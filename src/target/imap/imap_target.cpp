#include "target/imap/imap_target.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/sha256.h"
#include "imap/mailboxes.h"
#include "imap/message_data.h"
#include "imap/uid_fetch.h"

namespace mailmig {

namespace {

using imap::u32_of;

constexpr std::size_t kStoresInFlight = 64;  // pipelined UID STOREs before waiting for the oldest

// "(\Seen $Label)" for STORE; empty when there is nothing to change.
std::string store_list(Flags flags, const std::vector<std::string>& keywords) {
  std::string list = flags_to_imap(flags);
  for (const std::string& k : keywords) {
    if (!list.empty()) list += ' ';
    list += k;
  }
  return list.empty() ? list : "(" + list + ")";
}

// One UID FETCH whose FETCH responses go to `on_fetch` as they arrive
// (imap/uid_fetch.h); BODY[] is hashed while it streams (its SHA-256 is passed
// along, empty when the items hold no body).
void fetch_streamed(imap::Session& session, const std::string& set, const std::string& items,
                    const std::function<void(const imap::Item& data, std::string sha256)>& on_fetch) {
  std::unique_ptr<Sha256> streaming;
  const auto sink = [&](std::uint64_t /*index*/, std::uint64_t offset, std::string_view data) {
    if (offset == 0) streaming = std::make_unique<Sha256>();
    streaming->update(data);
  };
  imap::uid_fetch(
      session, set, items,
      [&](const imap::Item& data) {
        std::string sha;
        if (const imap::Item* body = data.get("BODY[]")) {
          if (body->is_streamed() && streaming) {
            sha = streaming->hex();
            streaming.reset();
          } else if (!body->is_streamed()) {
            Sha256 h;
            h.update(body->text);
            sha = h.hex();
          }
        }
        if (data.get("UID") != nullptr)
          on_fetch(data, std::move(sha));  // unsolicited FLAGS updates carry no UID
      },
      sink);
}

class ImapFolder final : public TargetFolder {
 public:
  struct Status {
    std::uint64_t messages = 0;
    std::optional<std::uint32_t> uidvalidity;
    std::optional<std::uint32_t> uidnext;
  };

  ImapFolder(imap::Session& session, imap::NameMapping name, Status status,
             const imap::AppendOptions& options, TargetAccount::ResultFn on_result)
      : session_(session),
        name_(std::move(name)),
        status_(status),
        appender_(session, name_.wire, options,
                  [fn = std::move(on_result)](std::size_t i, const imap::AppendOutcome& o) {
                    fn(i, Delivery{.ok = o.ok,
                                   .uidvalidity = o.uidvalidity,
                                   .uid = o.uid,
                                   .error = o.error,
                                   .code = o.code});
                  }) {}

  void add(const MessageInfo& message, OpenMessage open) override {
    appender_.add(imap::AppendMessage{.size = message.size,
                                      .open = std::move(open),
                                      .flags = message.flags,
                                      .keywords = message.keywords,
                                      .date = message.internal_date});
  }
  void finish() override { appender_.finish(); }
  [[nodiscard]] std::vector<std::size_t> unresolved() const override { return appender_.unresolved(); }
  [[nodiscard]] std::uint64_t existing_messages() const override { return status_.messages; }
  [[nodiscard]] std::optional<std::uint32_t> uidvalidity() const override { return status_.uidvalidity; }
  [[nodiscard]] std::optional<std::uint32_t> uidnext() const override { return status_.uidnext; }
  // IMAP assigns UIDs itself (APPEND cannot ask for one).
  bool keep_uids(std::uint32_t /*source_uidvalidity*/) override { return false; }
  void set_before_send(std::function<void(const std::vector<std::size_t>&)> hook) override {
    appender_.set_before_send(std::move(hook));
  }
  std::vector<std::pair<std::uint32_t, std::string>> hashes_from(std::uint32_t first_uid) override;
  std::optional<std::uint32_t> current_uidnext() override {
    imap::Command status("STATUS");
    status.string(name_.wire, session_.utf8_enabled()).atom("(UIDNEXT)");
    for (const imap::Response& r : session_.run_ok(status).untagged) {
      if (r.keyword != "STATUS" || r.data.size() < 2) continue;
      if (const imap::Item* n = r.data[1].get("UIDNEXT")) {
        if (auto v = u32_of(n)) return v;
      }
    }
    return std::nullopt;
  }
  [[nodiscard]] std::string display_name() const override { return name_.display; }
  void change_flags(std::uint32_t uid, Flags add, Flags remove, const std::vector<std::string>& add_keywords,
                    const std::vector<std::string>& remove_keywords) override;
  void remove(const std::vector<std::uint32_t>& uids) override;
  ~ImapFolder() override {
    try {
      wait_stores(0);
    } catch (const std::exception& e) {
      spdlog::warn("{}: flag changes may be incomplete: {}", name_.display, e.what());
    }
  }
  [[nodiscard]] std::string rename_note() const override {
    if (!name_.altered) return {};
    return fmt::format("stored as \"{}\": the name held the server's hierarchy delimiter", name_.display);
  }

 private:
  // STORE and EXPUNGE need the folder read-write; appending only EXAMINEs it.
  void select_for_writing();
  // Waits until at most `keep` STOREs are outstanding; throws for one refused.
  void wait_stores(std::size_t keep);

  imap::Session& session_;
  imap::NameMapping name_;
  Status status_;
  imap::Appender appender_;
  bool selected_rw_ = false;
  std::vector<imap::Tag> stores_;  // sent, not yet waited for (oldest first)
};

void ImapFolder::select_for_writing() {
  if (selected_rw_) return;
  imap::Command select("SELECT");
  select.string(name_.wire, session_.utf8_enabled());
  const imap::CommandResult r = session_.run_ok(select);
  if (r.code && r.code->name == "READ-ONLY") {
    throw ScopedError(
        Scope::Folder,
        fmt::format("{}: the server opens the folder read-only; flags cannot be changed", name_.display));
  }
  selected_rw_ = true;
}

void ImapFolder::wait_stores(std::size_t keep) {
  while (stores_.size() > keep) {
    const imap::Tag tag = stores_.front();
    stores_.erase(stores_.begin());
    const imap::CommandResult r = session_.wait(tag);
    if (!r.ok()) {
      throw ScopedError(Scope::Folder, fmt::format("{}: UID STORE refused: {}", name_.display, r.describe()),
                        r.code ? r.code->name : std::string());
    }
  }
}

void ImapFolder::change_flags(std::uint32_t uid, Flags add, Flags remove,
                              const std::vector<std::string>& add_keywords,
                              const std::vector<std::string>& remove_keywords) {
  select_for_writing();
  // Pipelined: a sync may change thousands of messages; one round trip each
  // would dominate. .SILENT: the server need not echo the new flags.
  for (const auto& [sign, list] :
       {std::pair{'+', store_list(add, add_keywords)}, std::pair{'-', store_list(remove, remove_keywords)}}) {
    if (list.empty()) continue;
    imap::Command store("UID STORE");
    store.atom(fmt::format("{}", uid)).atom(fmt::format("{}FLAGS.SILENT", sign)).atom(list);
    stores_.push_back(session_.send(store));
  }
  wait_stores(kStoresInFlight);
}

void ImapFolder::remove(const std::vector<std::uint32_t>& uids) {
  if (uids.empty()) return;
  wait_stores(0);
  // Only UID EXPUNGE removes exactly our messages; a plain EXPUNGE would also
  // take whatever else someone marked \Deleted in the folder.
  if (!session_.has_capability("UIDPLUS")) {
    throw ScopedError(Scope::Folder,
                      fmt::format("{}: the server lacks UIDPLUS (UID EXPUNGE); not removing anything rather "
                                  "than expunging messages that are not ours",
                                  name_.display));
  }
  select_for_writing();
  for (const std::string& set : imap::uid_sets(uids)) {
    imap::Command store("UID STORE");
    store.atom(set).atom("+FLAGS.SILENT").atom("(\\Deleted)");
    session_.run_ok(store);
    imap::Command expunge("UID EXPUNGE");
    expunge.atom(set);
    session_.run_ok(expunge);
  }
}

std::vector<std::pair<std::uint32_t, std::string>> ImapFolder::hashes_from(std::uint32_t first_uid) {
  // EXAMINE again: the view selected in open_folder() does not show what other
  // sessions (a killed run's last APPENDs) stored since, and must.
  imap::Command examine("EXAMINE");
  examine.string(name_.wire, session_.utf8_enabled());
  session_.run_ok(examine);
  std::vector<std::pair<std::uint32_t, std::string>> out;
  fetch_streamed(session_, fmt::format("{}:*", first_uid), "(UID BODY.PEEK[])",
                 [&](const imap::Item& data, std::string sha) {
                   const auto n = u32_of(data.get("UID")).value_or(0);
                   // "n:*" also matches the highest UID when it is below n (RFC 3501 sequence rules).
                   if (n >= first_uid) out.emplace_back(n, std::move(sha));
                 });
  return out;
}

class ImapAccount final : public TargetAccount {
 public:
  ImapAccount(std::unique_ptr<imap::Session> session, imap::AppendOptions append)
      : session_(std::move(session)), mailboxes_(*session_), configured_append_(append), append_(append) {}
  ~ImapAccount() override { close(); }

  std::unique_ptr<TargetFolder> open_folder(const std::string& neutral_name, bool subscribe,
                                            ResultFn on_result) override {
    try {
      return open_folder_as_told(neutral_name, subscribe, std::move(on_result));
    } catch (const imap::CommandFailed& e) {
      // A refusal spoils this folder only (over quota: the account); the session is fine.
      const std::string code = e.result().code ? e.result().code->name : std::string();
      throw ScopedError(
          code == "OVERQUOTA" ? Scope::Account : Scope::Folder,
          fmt::format("folder {} cannot be created or opened on the target: {}", neutral_name, e.what()),
          code);
    }
  }

  std::vector<std::string> folders() override { return mailboxes_.list_neutral(); }
  std::string stored_name(const std::string& neutral_name) override {
    imap::NameMapping m = mailboxes_.map(neutral_name);
    return m.display;
  }
  void read_folder(const std::string& neutral_name, const WantBody& want_body,
                   const std::function<void(const StoredMessage&)>& on_message) override;
  void close() override {
    if (session_) session_->logout();
  }
  void set_connection_drops(unsigned drops) override {
    append_ = imap::shrunk_after_drops(configured_append_, drops);
    if (drops != 0) {
      spdlog::debug(
          "appending in batches of at most {} messages / {} bytes, {} in flight, after {} lost "
          "connections",
          append_.batch_count, append_.batch_bytes, append_.window, drops);
    }
  }

 private:
  std::unique_ptr<TargetFolder> open_folder_as_told(const std::string& neutral_name, bool subscribe,
                                                    ResultFn on_result) {
    imap::NameMapping name = mailboxes_.ensure(neutral_name, subscribe);
    imap::Command status("STATUS");
    status.string(name.wire, session_->utf8_enabled()).atom("(MESSAGES UIDNEXT UIDVALIDITY)");
    ImapFolder::Status st;
    for (const imap::Response& r : session_->run_ok(status).untagged) {
      if (r.keyword != "STATUS" || r.data.size() < 2) continue;
      if (const imap::Item* n = r.data[1].get("MESSAGES")) st.messages = n->as_number().value_or(0);
      st.uidnext = u32_of(r.data[1].get("UIDNEXT"));
      st.uidvalidity = u32_of(r.data[1].get("UIDVALIDITY"));
    }
    // Keep the folder open while appending: Dovecot (and others) open and sync
    // a mailbox for every APPEND to an unselected one -- measured 5 ms per
    // message, 4x slower than with it selected. EXAMINE: read-only, no \Recent.
    imap::Command examine("EXAMINE");
    examine.string(name.wire, session_->utf8_enabled());
    session_->run_ok(examine);
    return std::make_unique<ImapFolder>(*session_, std::move(name), st, append_, std::move(on_result));
  }

  std::unique_ptr<imap::Session> session_;
  imap::Mailboxes mailboxes_;
  imap::AppendOptions configured_append_;
  imap::AppendOptions append_;  // configured_append_, shrunk after lost connections
};

StoredMessage stored_message(const imap::Item& data) {
  imap::FetchedMetadata metadata = imap::fetched_metadata(data);
  return StoredMessage{.uid = u32_of(data.get("UID")).value_or(0),
                       .size = metadata.size,
                       .flags = metadata.flags,
                       .keywords = std::move(metadata.keywords),
                       .internal_date = metadata.internal_date};
}

void ImapAccount::read_folder(const std::string& neutral_name, const WantBody& want_body,
                              const std::function<void(const StoredMessage&)>& on_message) {
  const imap::NameMapping name = mailboxes_.map(neutral_name);
  imap::Command examine("EXAMINE");
  examine.string(name.wire, session_->utf8_enabled());
  const imap::CommandResult opened = session_->run(examine);
  if (!opened.ok()) {
    throw TargetFolderMissing(fmt::format("folder {} cannot be opened: {}", name.display, opened.describe()));
  }
  std::uint64_t exists = 0;
  for (const imap::Response& r : opened.untagged) {
    if (r.keyword == "EXISTS" && r.number) exists = *r.number;
  }
  if (exists == 0) return;
  if (!want_body) {
    fetch_streamed(*session_, "1:*", "(UID RFC822.SIZE INTERNALDATE FLAGS BODY.PEEK[])",
                   [&](const imap::Item& data, std::string sha) {
                     StoredMessage m = stored_message(data);
                     m.sha256 = std::move(sha);
                     on_message(m);
                   });
    return;
  }
  // Metadata of all first (small), then bodies of only the wanted messages.
  std::vector<StoredMessage> messages;
  fetch_streamed(
      *session_, "1:*", "(UID RFC822.SIZE INTERNALDATE FLAGS)",
      [&](const imap::Item& data, const std::string& /*sha*/) { messages.push_back(stored_message(data)); });
  std::sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
  std::vector<std::uint32_t> wanted;
  for (const StoredMessage& m : messages) {
    if (want_body(m)) wanted.push_back(m.uid);
  }
  for (const std::string& set : imap::uid_sets(wanted)) {
    fetch_streamed(*session_, set, "(UID BODY.PEEK[])", [&](const imap::Item& data, std::string sha) {
      const std::uint32_t uid = u32_of(data.get("UID")).value_or(0);
      auto it = std::lower_bound(messages.begin(), messages.end(), uid,
                                 [](const StoredMessage& m, std::uint32_t u) { return m.uid < u; });
      if (it != messages.end() && it->uid == uid) it->sha256 = std::move(sha);
    });
  }
  for (const StoredMessage& m : messages) on_message(m);
}

}  // namespace

ImapTarget::ImapTarget(ImapTargetOptions options) : options_(std::move(options)) {}

std::string ImapTarget::describe() const {
  return fmt::format("{} ({} login)", imap::format_server_url(options_.connect.server),
                     imap::auth_method_name(options_.auth));
}

// APPEND sends keywords through sanitize_keyword (imap/appender.h).
std::optional<std::string> ImapTarget::stored_keyword(const std::string& keyword) const {
  return imap::sanitize_keyword(keyword);
}

std::unique_ptr<TargetAccount> ImapTarget::open_account(const std::string& account, const std::string& domain,
                                                        const std::string& user_password) {
  const imap::Credentials credentials = options_.credentials_for(account, domain, user_password);
  std::unique_ptr<imap::Session> session;
  try {
    session = imap::open_session(options_.connect, credentials);
  } catch (const imap::AuthError& e) {
    throw TargetAuthError(e.what());
  }
  return std::make_unique<ImapAccount>(std::move(session), options_.append);
}

}  // namespace mailmig
