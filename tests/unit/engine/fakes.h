// The shared test doubles of the engine's tests: one in-memory store that is
// a Source (accounts -> folders -> messages) and a Target (accounts ->
// mailboxes), recording what the engine did to it, with fault injection for
// every failure scope: a folder CREATE refused (folder scope), an APPEND
// refused for one message (message scope, or OVERQUOTA), an account-scoped
// refusal, a connection that drops once or after N appends or always, a
// source message that cannot be read, a source folder that cannot be listed
// or scanned cleanly, and a source that gave up on its own connection. The
// target reads back what it holds (verify) with the same faults: a folder
// refused, a connection that drops once or on every read, a refused login.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/string_reader.h"
#include "core/error.h"
#include "core/message.h"
#include "core/sha256.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig::fakes {

using mailmig::testing::StringReader;

// ---- source -------------------------------------------------------------------

struct SourceMessage {
  std::string body;  // CRLF already: what the target receives
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<std::uint32_t> uid;  // a source that keeps UIDs
  bool unreadable = false;           // open() fails (a damaged message: message scope)
  std::optional<std::int64_t> date;  // INTERNALDATE, epoch seconds
};

struct SourceFolder {
  std::vector<SourceMessage> messages;
  bool broken = false;  // the scan reports a problem (a corrupt mailbox)
  // The source gave up on its connection while this folder was read (an IMAP
  // source after its retries): the scan throws a ScopedError of account scope.
  bool connection_lost = false;
  std::optional<std::uint32_t> uidvalidity;
};

inline int g_opens = 0;  // message bodies read from the fake source

using SourceFolders = std::map<std::string, SourceFolder>;

class FakeFolder final : public Folder {
 public:
  explicit FakeFolder(SourceFolder folder) : folder_(std::move(folder)) {}
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override {
    if (folder_.connection_lost) throw ScopedError(Scope::Account, "source connection lost, 4 attempts made");
    if (folder_.broken) problem(Problem{.file = "/store/box", .offset = 0, .message = "garbage"});
    for (std::size_t i = 0; i < folder_.messages.size(); ++i) {
      const SourceMessage& m = folder_.messages[i];
      on_message(
          MessageInfo{.id = std::to_string(i),
                      .file = "/store/box",
                      .offset = i * 100,
                      .size = m.body.size(),
                      .stored_size = m.body.size(),
                      .flags = m.flags,
                      .keywords = m.keywords,
                      .internal_date = m.date ? std::optional(DateTime{.epoch = *m.date}) : std::nullopt,
                      .uid = m.uid});
    }
  }
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override {
    ++g_opens;
    const SourceMessage& m = folder_.messages.at(std::stoul(message.id));
    if (m.unreadable) throw IoError(message.file, EIO, "read error", message.offset);
    return std::make_unique<StringReader>(m.body);
  }

 private:
  SourceFolder folder_;
};

class FakeSource;

class FakeAccount final : public Account {
 public:
  FakeAccount(AccountInfo info, FakeSource& source) : info_(std::move(info)), source_(source) {}
  [[nodiscard]] const AccountInfo& info() const override { return info_; }
  std::vector<FolderInfo> folders(const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override;

 private:
  AccountInfo info_;
  FakeSource& source_;
};

class FakeSource final : public Source {
 public:
  SourceFolders folders;  // of the one account, edited between runs
  // Called as a folder is opened for a scan: a live server changing the store meanwhile.
  std::function<void(SourceFolders&)> on_open;
  // A folder the listing could not read: reported as a problem, left out of the list.
  std::string unlisted;
  std::vector<DomainInfo> domains(const ProblemFn& /*problem*/) override {
    return {DomainInfo{.name = "d.example"}};
  }
  std::vector<AccountInfo> accounts(const DomainInfo& /*domain*/, const ProblemFn& /*problem*/) override {
    return {account()};
  }
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& info) const override {
    return std::make_unique<FakeAccount>(info, const_cast<FakeSource&>(*this));  // NOLINT: test double
  }
  static AccountInfo account() { return AccountInfo{.domain = "d.example", .name = "John"}; }
};

inline std::vector<FolderInfo> FakeAccount::folders(const ProblemFn& problem) {
  std::vector<FolderInfo> out;
  for (const auto& [name, f] : source_.folders) {
    if (name == source_.unlisted) {
      problem(Problem{.scope = Scope::Folder, .folder = name, .message = "cannot list the folder"});
      continue;
    }
    out.push_back(FolderInfo{.name = name, .uidvalidity = f.uidvalidity});
  }
  return out;
}

inline std::unique_ptr<Folder> FakeAccount::open_folder(const FolderInfo& folder) const {
  if (source_.on_open) source_.on_open(source_.folders);
  return std::make_unique<FakeFolder>(source_.folders.at(folder.name));
}

// ---- target -------------------------------------------------------------------

struct TargetMessage {
  std::uint32_t uid = 0;
  std::string sha256;
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::uint64_t size = 0;  // RFC822.SIZE
  std::optional<DateTime> date;
};

struct TargetMailbox {
  std::uint32_t uidvalidity = 1000;
  std::uint32_t uidnext = 1;
  std::vector<TargetMessage> messages;

  TargetMessage* find(std::uint32_t uid) {
    for (TargetMessage& m : messages) {
      if (m.uid == uid) return &m;
    }
    return nullptr;
  }
};

// Everything the engine did to the target, to prove what it did and did not touch.
struct TargetLog {
  std::vector<std::string> logins;  // "account@domain"
  std::uint64_t appends = 0;
  std::vector<std::string> flag_calls;      // "folder uid +add -remove +kw -kw"
  std::vector<std::string> removals;        // "folder uid"
  std::vector<std::string> opened_folders;  // neutral names
  std::uint64_t bodies_read = 0;            // by read_folder
};

// Faults the target injects (see FakeTarget).
struct TargetFaults {
  // Message bodies refused on APPEND, with the code given (e.g. OVERQUOTA, or empty).
  std::map<std::string, std::string> refuse_message;
  // The connection drops at the APPEND after this many stored on it (per
  // connection, every connection: a link that breaks every N messages).
  std::optional<unsigned> drop_after_appends;
};

class FakeTargetFolder final : public TargetFolder {
 public:
  FakeTargetFolder(std::string name, TargetMailbox& box, TargetLog& log, bool uidplus, TargetFaults& faults,
                   unsigned& appends_on_connection, TargetAccount::ResultFn on_result)
      : name_(std::move(name)),
        box_(box),
        log_(log),
        uidplus_(uidplus),
        faults_(faults),
        appends_on_connection_(appends_on_connection),
        on_result_(std::move(on_result)),
        uidnext_(box.uidnext) {}

  void add(const MessageInfo& message, OpenMessage open) override {
    const std::size_t index = added_++;
    if (before_send_) before_send_({index});
    if (faults_.drop_after_appends && appends_on_connection_ >= *faults_.drop_after_appends) {
      unresolved_.push_back(index);
      throw std::runtime_error("connection reset by peer");
    }
    const std::unique_ptr<ByteReader> reader = open();
    std::string bytes;
    std::array<char, 4096> chunk{};
    for (std::size_t n; (n = reader->read(chunk)) != 0;) bytes.append(chunk.data(), n);
    if (const auto refused = faults_.refuse_message.find(bytes); refused != faults_.refuse_message.end()) {
      on_result_(index, Delivery{.ok = false, .error = "NO refused", .code = refused->second});
      return;
    }
    ++appends_on_connection_;
    Sha256 hash;
    hash.update(bytes);
    const std::string sha = hash.hex();
    const std::uint32_t uid = box_.uidnext++;
    box_.messages.push_back(
        TargetMessage{uid, sha, message.flags, message.keywords, bytes.size(), message.internal_date});
    ++log_.appends;
    on_result_(index, Delivery{.ok = true,
                               .uidvalidity = box_.uidvalidity,
                               .uid = uidplus_ ? std::optional<std::uint32_t>(uid) : std::nullopt});
  }
  void finish() override {}
  [[nodiscard]] std::vector<std::size_t> unresolved() const override { return unresolved_; }
  [[nodiscard]] std::uint64_t existing_messages() const override { return box_.messages.size(); }
  [[nodiscard]] std::string display_name() const override { return name_; }
  [[nodiscard]] std::optional<std::uint32_t> uidvalidity() const override { return box_.uidvalidity; }
  [[nodiscard]] std::optional<std::uint32_t> uidnext() const override { return uidnext_; }
  std::optional<std::uint32_t> current_uidnext() override { return box_.uidnext; }
  std::vector<std::pair<std::uint32_t, std::string>> hashes_from(std::uint32_t first_uid) override {
    std::vector<std::pair<std::uint32_t, std::string>> out;
    for (const TargetMessage& m : box_.messages) {
      if (m.uid >= first_uid) out.emplace_back(m.uid, m.sha256);
    }
    return out;
  }
  bool keep_uids(std::uint32_t /*source_uidvalidity*/) override { return false; }
  void set_before_send(std::function<void(const std::vector<std::size_t>&)> hook) override {
    before_send_ = std::move(hook);
  }
  void change_flags(std::uint32_t uid, Flags add, Flags remove, const std::vector<std::string>& add_keywords,
                    const std::vector<std::string>& remove_keywords) override {
    std::ostringstream call;
    call << name_ << " " << uid << " +" << flags_to_letters(add) << " -" << flags_to_letters(remove);
    for (const std::string& k : add_keywords) call << " +" << k;
    for (const std::string& k : remove_keywords) call << " -" << k;
    log_.flag_calls.push_back(call.str());
    if (TargetMessage* m = box_.find(uid)) {
      m->flags = static_cast<Flags>((m->flags | add) & ~remove);
      for (const std::string& k : add_keywords) m->keywords.push_back(k);
      std::erase_if(m->keywords, [&](const std::string& k) {
        return std::find(remove_keywords.begin(), remove_keywords.end(), k) != remove_keywords.end();
      });
    }
  }
  void remove(const std::vector<std::uint32_t>& uids) override {
    for (std::uint32_t uid : uids) {
      log_.removals.push_back(name_ + " " + std::to_string(uid));
      std::erase_if(box_.messages, [&](const TargetMessage& m) { return m.uid == uid; });
    }
  }
  [[nodiscard]] std::string rename_note() const override { return {}; }

 private:
  std::string name_;
  TargetMailbox& box_;
  TargetLog& log_;
  bool uidplus_;
  TargetFaults& faults_;
  unsigned& appends_on_connection_;
  std::vector<std::size_t> unresolved_;
  TargetAccount::ResultFn on_result_;
  std::function<void(const std::vector<std::size_t>&)> before_send_;
  std::size_t added_ = 0;
  std::uint32_t uidnext_;
};

class FakeTarget;

class FakeTargetAccount final : public TargetAccount {
 public:
  FakeTargetAccount(FakeTarget& target, std::string key) : target_(target), key_(std::move(key)) {}
  std::unique_ptr<TargetFolder> open_folder(const std::string& neutral_name, bool subscribe,
                                            ResultFn on_result) override;
  std::vector<std::string> folders() override;
  [[nodiscard]] std::string stored_name(const std::string& neutral_name) override { return neutral_name; }
  void read_folder(const std::string& neutral_name, const WantBody& want_body,
                   const std::function<void(const StoredMessage&)>& on_message) override;
  void close() override {}

 private:
  FakeTarget& target_;
  std::string key_;
  unsigned appends_ = 0;  // stored on this connection
};

class FakeTarget final : public Target {
 public:
  std::map<std::string, std::map<std::string, TargetMailbox>>
      accounts;  // "account@domain" -> folder -> mailbox
  TargetLog log;
  bool uidplus = true;
  // Failures open_folder() and read_folder() inject, by folder: a refusal of
  // that scope, or (no scope) a dropped connection, once.
  std::map<std::string, std::optional<Scope>> refuse;
  // Folders, or whole accounts ("account@domain"), every open_folder() and
  // read_folder() of which drops the connection (a dead link).
  std::set<std::string> always_drop;
  TargetFaults faults;
  std::string refuse_login;  // non-empty: every login is refused with this text
  // What the target stores for a source keyword; unset: the keyword as it is.
  std::function<std::optional<std::string>(const std::string&)> keyword_rule;

  std::unique_ptr<TargetAccount> open_account(const std::string& account, const std::string& domain,
                                              const std::string& /*user_password*/) override {
    log.logins.push_back(account + "@" + domain);
    if (!refuse_login.empty()) throw TargetAuthError(refuse_login);
    return std::make_unique<FakeTargetAccount>(*this, account + "@" + domain);
  }
  [[nodiscard]] std::string describe() const override { return "fake"; }
  [[nodiscard]] std::optional<std::string> stored_keyword(const std::string& keyword) const override {
    return keyword_rule ? keyword_rule(keyword) : keyword;
  }

  // Throws the fault injected for `folder` of `account`, if any.
  void inject(const std::string& account, const std::string& folder) {
    if (always_drop.contains(folder) || always_drop.contains(account)) {
      throw std::runtime_error("connection reset by peer");
    }
    const auto it = refuse.find(folder);
    if (it == refuse.end()) return;
    const std::optional<Scope> scope = it->second;
    if (!scope) {
      refuse.erase(it);
      throw std::runtime_error("connection reset by peer");
    }
    throw ScopedError(*scope,
                      "NO [" + std::string(*scope == Scope::Account ? "OVERQUOTA" : "NOPERM") + "] refused",
                      *scope == Scope::Account ? "OVERQUOTA" : "NOPERM");
  }
};

inline std::unique_ptr<TargetFolder> FakeTargetAccount::open_folder(const std::string& neutral_name,
                                                                    bool /*subscribe*/, ResultFn on_result) {
  target_.log.opened_folders.push_back(neutral_name);
  target_.inject(key_, neutral_name);
  return std::make_unique<FakeTargetFolder>(neutral_name, target_.accounts[key_][neutral_name], target_.log,
                                            target_.uidplus, target_.faults, appends_, std::move(on_result));
}

inline std::vector<std::string> FakeTargetAccount::folders() {
  std::vector<std::string> out;
  for (const auto& [name, _] : target_.accounts[key_]) out.push_back(name);
  return out;
}

inline void FakeTargetAccount::read_folder(const std::string& neutral_name, const WantBody& want_body,
                                           const std::function<void(const StoredMessage&)>& on_message) {
  target_.inject(key_, neutral_name);
  const auto& mailboxes = target_.accounts[key_];
  const auto box = mailboxes.find(neutral_name);
  if (box == mailboxes.end()) throw TargetFolderMissing("no folder " + neutral_name);
  for (const TargetMessage& m : box->second.messages) {
    StoredMessage stored{
        .uid = m.uid, .size = m.size, .flags = m.flags, .keywords = m.keywords, .internal_date = m.date};
    if (!want_body || want_body(stored)) {
      stored.sha256 = m.sha256;
      ++target_.log.bodies_read;
    }
    on_message(stored);
  }
}

// The copy a migration would have left of `folders` in `account`'s mailboxes, UIDs from 1.
inline void hold_copy(FakeTarget& target, const std::string& account, const SourceFolders& folders) {
  for (const auto& [name, folder] : folders) {
    TargetMailbox& box = target.accounts[account][name];
    for (const SourceMessage& m : folder.messages) {
      Sha256 hash;
      hash.update(m.body);
      box.messages.push_back(
          TargetMessage{.uid = box.uidnext++,
                        .sha256 = hash.hex(),
                        .flags = m.flags,
                        .keywords = m.keywords,
                        .size = m.body.size(),
                        .date = m.date ? std::optional(DateTime{.epoch = *m.date}) : std::nullopt});
    }
  }
}

// A message "Subject: n" with its flags and keywords.
inline SourceMessage msg(int n, Flags flags = 0, std::vector<std::string> keywords = {}) {
  return SourceMessage{fmt::format("Subject: {}\r\n\r\nbody {}\r\n", n, n), flags, std::move(keywords)};
}

}  // namespace mailmig::fakes
