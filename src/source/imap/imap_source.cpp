#include "source/imap/imap_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "core/error.h"
#include "core/retry_policy.h"
#include "imap/mailboxes.h"
#include "imap/message_data.h"
#include "imap/response_parser.h"
#include "imap/transport.h"
#include "imap/uid_fetch.h"
#include "source/imap/body_cache.h"

namespace mailmig {

namespace {

using imap::u32_of;
using imap_source::BodyCache;

constexpr std::size_t kMaxBatchMessages = 256;  // UIDs per read-ahead FETCH
// A source connection that drops (server restart, idle cut, killed process)
// is opened again this many times, backing off from 500 ms: the engine would
// otherwise count every message read at that moment as failed. This layer
// owns the source connection's retries; when it gives up, the failure is of
// account scope so the engine does not retry it once more.
const RetryPolicy kReconnect{.attempts = 3, .backoff = std::chrono::milliseconds(500)};

std::optional<std::uint32_t> uidvalidity_of(const imap::CommandResult& examined) {
  for (const imap::Response& r : examined.untagged) {
    if (r.code && r.code->name == "UIDVALIDITY" && !r.code->args.empty()) return u32_of(&r.code->args[0]);
  }
  return std::nullopt;
}

// One logged-in connection per account, re-opened after it broke (the engine
// retries an account after a dropped connection with the same Account).
class Connection {
 public:
  Connection(const ImapSourceOptions& options, imap::Credentials credentials)
      : options_(options), credentials_(std::move(credentials)) {}

  imap::Session& session() {
    if (!session_ || broken_) {
      session_.reset();
      mailboxes_.reset();
      session_ = imap::open_session(options_.connect, credentials_);
      broken_ = false;
      selected_.clear();
    }
    return *session_;
  }
  imap::Mailboxes& mailboxes() {
    imap::Session& s = session();
    if (!mailboxes_) mailboxes_ = std::make_unique<imap::Mailboxes>(s);
    return *mailboxes_;
  }
  // EXAMINEs the folder unless it is the one selected; returns the response.
  imap::CommandResult examine(const std::string& wire) {
    imap::Session& s = session();
    imap::Command command("EXAMINE");
    command.string(wire, s.utf8_enabled());
    selected_.clear();
    imap::CommandResult result = s.run_ok(command);
    selected_ = wire;
    return result;
  }
  // EXAMINEs the folder unless it is still selected; the response when it had to.
  std::optional<imap::CommandResult> ensure_selected(const std::string& wire) {
    if (session_ && !broken_ && selected_ == wire) return std::nullopt;
    return examine(wire);
  }
  // Runs `fn`; any failure marks the connection for re-opening. A dropped
  // connection (NetError, or the garbage a cut stream can leave) is opened
  // again and `fn` run once more, as the retry policy says; `fn` must start
  // from scratch. A refused login or command is final. The count of failures
  // belongs to the connection, not to one call: once the policy has given up
  // (no call succeeded in between), the next call does not start over, and
  // the account-scoped error ends the account instead of every message and
  // folder after it retrying alike.
  template <typename Fn>
  auto guarded(Fn&& fn) {
    for (;;) {
      try {
        if (retries_.failures() > retries_.policy().attempts) throw_given_up();
        auto done = [&] { retries_.progress(); };
        if constexpr (std::is_void_v<decltype(fn())>) {
          fn();
          done();
          return;
        } else {
          auto result = fn();
          done();
          return result;
        }
      } catch (const imap::NetError& e) {
        broken_ = true;
        // A certificate that does not verify will not verify on the next try either.
        if (e.kind() == imap::NetError::Kind::Verify) throw;
        wait_before_retry(e.what());
      } catch (const imap::ProtocolError& e) {
        broken_ = true;
        wait_before_retry(e.what());
      } catch (const ScopedError&) {
        throw;
      } catch (...) {
        broken_ = true;
        throw;
      }
    }
  }
  std::mutex& mutex() { return mutex_; }
  [[nodiscard]] std::string url() const {
    return imap::format_server_url(options_.connect.server, credentials_.user);
  }

 private:
  // Waits before the next attempt, or gives up.
  void wait_before_retry(const char* why) {
    last_error_ = why;
    const auto wait = retries_.after_failure();
    if (!wait) throw_given_up();
    spdlog::warn("source {}: {}; reconnecting in {} ms (attempt {} of {})", url(), why, wait->count(),
                 retries_.failures() + 1, retries_.policy().attempts + 1);
    retries_.wait(*wait);
  }

  [[noreturn]] void throw_given_up() const {
    throw ScopedError(Scope::Account, fmt::format("source {}: connection lost ({}), {} attempts made", url(),
                                                  last_error_, retries_.policy().attempts + 1));
  }

  const ImapSourceOptions& options_;
  imap::Credentials credentials_;
  std::unique_ptr<imap::Session> session_;
  std::unique_ptr<imap::Mailboxes> mailboxes_;
  bool broken_ = false;
  Retries retries_{kReconnect};
  std::string last_error_;  // of the last failed attempt, for the give-up message
  std::string selected_;    // wire name of the EXAMINEd folder
  std::mutex mutex_;
};

class ImapSourceFolder final : public Folder {
 public:
  ImapSourceFolder(std::shared_ptr<Connection> connection, FolderInfo info, std::uint64_t read_ahead)
      : connection_(std::move(connection)),
        info_(std::move(info)),
        cache_(read_ahead),
        read_ahead_(read_ahead) {}

  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override {
    std::vector<MessageInfo> messages;
    try {
      std::lock_guard lock(connection_->mutex());
      messages = connection_->guarded([&] { return fetch_metadata(); });
    } catch (const ScopedError&) {
      throw;  // the connection is given up on: the account ends, no folder after it retries alike
    } catch (const std::exception& e) {
      problem(Problem{.scope = Scope::Folder, .file = location(), .message = e.what()});
      return;
    }
    // Callbacks after the FETCH completed: the engine calls open() from them,
    // which needs the connection for itself.
    for (const MessageInfo& m : messages) on_message(m);
  }

  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override {
    const std::uint32_t uid = message.uid.value_or(0);
    std::lock_guard lock(connection_->mutex());
    std::shared_ptr<MessageBody> body = cache_.get(uid);
    if (!body) {
      try {
        connection_->guarded([&] { fetch_ahead(uid); });
      } catch (const IoError&) {
        throw;
      } catch (const ScopedError&) {
        throw;  // given up on: the account ends, no message after it retries alike
      } catch (const std::exception& e) {
        throw IoError(message.file, EIO, e.what());
      }
      body = cache_.get(uid);
      if (!body)
        throw IoError(message.file, ENOENT, "the server returned no such message (expunged meanwhile?)");
    }
    return MessageBody::open(body);
  }

 private:
  [[nodiscard]] std::string location() const { return info_.location; }

  std::vector<MessageInfo> fetch_metadata() {
    imap::Session& session = connection_->session();
    const imap::NameMapping name = connection_->mailboxes().map(info_.name);
    wire_ = name.wire;
    const imap::CommandResult opened = connection_->examine(wire_);
    std::uint64_t exists = 0;
    for (const imap::Response& r : opened.untagged) {
      if (r.keyword == "EXISTS" && r.number) exists = *r.number;
    }
    uidvalidity_ = uidvalidity_of(opened);
    std::vector<MessageInfo> out;
    if (exists == 0) return out;
    imap::uid_fetch(session, "1:*", "(UID RFC822.SIZE INTERNALDATE FLAGS)", [&](const imap::Item& data) {
      const auto uid = u32_of(data.get("UID"));
      if (!uid) return;  // an unsolicited flag update
      MessageInfo m;
      m.uid = uid;
      m.id = fmt::format("{}", *uid);
      m.file = fmt::format("{}/{};UIDVALIDITY={}/;UID={}", connection_->url(), info_.name,
                           uidvalidity_.value_or(0), *uid);
      imap::FetchedMetadata metadata = imap::fetched_metadata(data);
      m.size = m.stored_size = metadata.size;
      m.flags = metadata.flags;
      m.keywords = std::move(metadata.keywords);
      m.internal_date = metadata.internal_date;
      out.push_back(std::move(m));
    });
    std::sort(out.begin(), out.end(),
              [](const MessageInfo& a, const MessageInfo& b) { return a.uid < b.uid; });
    order_.clear();
    for (const MessageInfo& m : out) order_.emplace_back(*m.uid, m.size);
    return out;
  }

  // Fetches `uid` and the messages after it, up to half the cache budget, in
  // one pipelined UID FETCH; bodies over the parser's buffer limit stream
  // into temporary files.
  void fetch_ahead(std::uint32_t uid) const {
    if (auto reopened = connection_->ensure_selected(wire_)) {
      // After a reconnect the UIDs of the scan still name the same messages
      // only while UIDVALIDITY is unchanged.
      if (uidvalidity_of(*reopened) != uidvalidity_) {
        throw IoError(location(), ESTALE,
                      "the folder's UIDVALIDITY changed since it was scanned (recreated on the source?): "
                      "the next run reads it again");
      }
    }
    imap::Session& session = connection_->session();
    auto it = std::lower_bound(
        order_.begin(), order_.end(), uid,
        [](const std::pair<std::uint32_t, std::uint64_t>& e, std::uint32_t u) { return e.first < u; });
    std::vector<std::uint32_t> uids{uid};
    std::uint64_t bytes = it != order_.end() && it->first == uid ? it->second : 0;
    if (it != order_.end() && it->first == uid) {
      for (++it;
           it != order_.end() && uids.size() < kMaxBatchMessages && bytes + it->second <= read_ahead_ / 2;
           ++it) {
        if (cache_.get(it->first)) continue;
        uids.push_back(it->first);
        bytes += it->second;
      }
    }
    std::shared_ptr<MessageBody> streaming;
    const auto sink = [&](std::uint64_t /*index*/, std::uint64_t offset, std::string_view data) {
      if (offset == 0) streaming = MessageBody::in_file();
      streaming->append(data);
    };
    const auto on_fetch = [&](const imap::Item& data) {
      const auto got = u32_of(data.get("UID"));
      const imap::Item* body = data.get("BODY[]");
      if (!got || body == nullptr) return;
      if (body->is_streamed()) {
        if (streaming) cache_.put(*got, std::move(streaming));
      } else {
        cache_.put(*got, MessageBody::in_memory(body->text));
      }
    };
    for (const std::string& set : imap::uid_sets(uids))
      imap::uid_fetch(session, set, "(UID BODY.PEEK[])", on_fetch, sink);
  }

  std::shared_ptr<Connection> connection_;
  FolderInfo info_;
  std::string wire_;
  std::optional<std::uint32_t> uidvalidity_;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> order_;  // (uid, size) ascending
  mutable BodyCache cache_;
  std::uint64_t read_ahead_;
};

class ImapSourceAccount final : public Account {
 public:
  ImapSourceAccount(AccountInfo info, std::shared_ptr<Connection> connection, std::uint64_t read_ahead)
      : info_(std::move(info)), connection_(std::move(connection)), read_ahead_(read_ahead) {}

  [[nodiscard]] const AccountInfo& info() const override { return info_; }

  // Throws when the account cannot be listed at all (login refused, LIST
  // failed): the engine then reports the account as failed instead of done
  // with no folders (a wrong password was a "done" account before).
  std::vector<FolderInfo> folders(const ProblemFn& /*problem*/) override {
    std::vector<FolderInfo> out;
    std::lock_guard lock(connection_->mutex());
    connection_->guarded([&] {
      out.clear();
      list(out);
    });
    return out;
  }

  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override {
    return std::make_unique<ImapSourceFolder>(connection_, folder, read_ahead_);
  }

 private:
  void list(std::vector<FolderInfo>& out) {
    imap::Mailboxes& boxes = connection_->mailboxes();
    imap::Session& session = connection_->session();
    std::vector<imap::Mailboxes::Listed> listed = boxes.list_all();
    // INBOX first, then parents before children (sorted names do that).
    std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) {
      return std::pair(a.neutral != "INBOX", a.neutral) < std::pair(b.neutral != "INBOX", b.neutral);
    });
    // UIDVALIDITY of every folder, pipelined.
    std::vector<std::pair<std::size_t, imap::Tag>> asked;
    for (std::size_t i = 0; i < listed.size(); ++i) {
      if (!listed[i].selectable) continue;
      imap::Command status("STATUS");
      status.string(listed[i].wire, session.utf8_enabled()).atom("(UIDVALIDITY)");
      asked.emplace_back(i, session.send(status));
    }
    std::map<std::size_t, std::uint32_t> validity;
    for (const auto& [i, tag] : asked) {
      const imap::CommandResult r = session.wait(tag);
      for (const imap::Response& u : r.untagged) {
        if (u.keyword != "STATUS" || u.data.size() < 2) continue;
        if (auto v = u32_of(u.data[1].get("UIDVALIDITY"))) validity[i] = *v;
      }
    }
    for (std::size_t i = 0; i < listed.size(); ++i) {
      FolderInfo f{.name = listed[i].neutral,
                   .selectable = listed[i].selectable,
                   .subscribed = listed[i].subscribed,
                   .location = fmt::format("{}/{}", connection_->url(), listed[i].neutral),
                   .format = "imap"};
      if (auto v = validity.find(i); v != validity.end()) f.uidvalidity = v->second;
      out.push_back(std::move(f));
    }
  }

  AccountInfo info_;
  std::shared_ptr<Connection> connection_;
  std::uint64_t read_ahead_;
};

class ImapSource final : public Source {
 public:
  explicit ImapSource(ImapSourceOptions options) : options_(std::move(options)) {
    auto add = [&](const std::string& key) {
      std::string account = key;
      std::string domain = options_.default_domain;
      if (auto at = key.rfind('@'); at != std::string::npos) {
        account = key.substr(0, at);
        domain = key.substr(at + 1);
      }
      if (domain.empty()) {
        throw std::invalid_argument(
            fmt::format("account \"{}\" has no domain: write account@domain or give --domain", key));
      }
      const std::string full = account + "@" + domain;
      if (std::find(keys_.begin(), keys_.end(), full) == keys_.end()) keys_.push_back(full);
    };
    for (const std::string& a : options_.accounts) add(a);
    for (const auto& [key, password] : options_.passwords) add(key);
    if (keys_.empty()) {
      throw std::invalid_argument(
          "an IMAP server cannot list its users: name the accounts with --source-passwords, --users-file or "
          "--user");
    }
  }

  std::vector<DomainInfo> domains(const ProblemFn& /*problem*/) override {
    std::vector<DomainInfo> out;
    for (const std::string& key : keys_) {
      const std::string domain = key.substr(key.rfind('@') + 1);
      if (std::none_of(out.begin(), out.end(), [&](const DomainInfo& d) { return d.name == domain; })) {
        out.push_back(DomainInfo{.name = domain, .location = url()});
      }
    }
    return out;
  }

  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& /*problem*/) override {
    std::vector<AccountInfo> out;
    for (const std::string& key : keys_) {
      const auto at = key.rfind('@');
      if (key.substr(at + 1) != domain.name) continue;
      AccountInfo a{
          .domain = domain.name, .name = key.substr(0, at), .location = url() + "/" + key, .kind = "imap"};
      if (auto p = options_.passwords.find(key); p != options_.passwords.end()) {
        // Known in clear: a provisioner can give the user the same password on the target.
        a.password = PasswordInfo{.kind = PasswordInfo::Kind::Plain, .value = p->second};
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& account) const override {
    const std::string key = account.name + "@" + account.domain;
    std::string owner_password;
    if (auto p = options_.passwords.find(key); p != options_.passwords.end()) owner_password = p->second;
    imap::Credentials credentials = options_.credentials_for(account.name, account.domain, owner_password);
    return std::make_unique<ImapSourceAccount>(
        account, std::make_shared<Connection>(options_, std::move(credentials)), options_.read_ahead_bytes);
  }

 private:
  [[nodiscard]] std::string url() const { return imap::format_server_url(options_.connect.server); }

  ImapSourceOptions options_;
  std::vector<std::string> keys_;
};

}  // namespace

std::unique_ptr<Source> make_imap_source(ImapSourceOptions options) {
  return std::make_unique<ImapSource>(std::move(options));
}

}  // namespace mailmig
