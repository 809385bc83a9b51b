#include "engine/migrate.h"

#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/crlf.h"
#include "core/sha256.h"

namespace mailmig {

namespace {

constexpr std::chrono::milliseconds kSettle{1500};  // quiet time before reconciling after a crash

struct Queued {
  MessageKey key;
  std::uint64_t size;
  std::string file;
  std::uint64_t offset;
};

bool stopping(const MigrateOptions& options) { return options.stop != nullptr && options.stop->load(); }

class AccountRun {
 public:
  AccountRun(Source& source, const AccountInfo& account, Target& target, State& state, const MigrateOptions& options,
             ProblemSink& sink)
      : source_(source), account_(account), target_(target), state_(state), options_(options), sink_(sink),
        key_(account_key(account)) {
    result_.domain = account.domain;
    result_.account = account.name;
  }

  AccountResult run() {
    const auto started = std::chrono::steady_clock::now();
    run_inner();
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const FolderResult& f : result_.folders) {
      result_.copied += f.copied;
      result_.already += f.already;
      result_.failed += f.failed;
      result_.bytes += f.bytes;
    }
    if (!options_.dry_run) {
      if (result_.status == "done" && result_.failed != 0) result_.status = "failed";
      state_.set_account(key_, result_.status, result_.note);
    }
    return std::move(result_);
  }

 private:
  void problem(Problem p, const std::string& folder = "") {
    p.domain = account_.domain;
    p.account = account_.name;
    if (p.folder.empty()) p.folder = folder;
    sink_.add(std::move(p));
  }

  void fail(const std::string& status, const std::string& note) {
    result_.status = status;
    result_.note = note;
    problem(Problem{.scope = Scope::Account, .file = account_.location, .message = note});
  }

  // Returns false when the account must not be migrated.
  bool provision() {
    Provisioner* p = options_.provisioner;
    if (p == nullptr) return true;
    bool exists = false;
    try {
      exists = p->exists(account_.name, account_.domain);
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot tell whether the user exists on the target: {}", e.what()));
      return false;
    }
    if (exists) {
      // A user this tool created or started on in an earlier run is ours to finish.
      const auto earlier = state_.account_status(key_);
      const bool ours = earlier && *earlier != "exists";
      if (!options_.force && !ours) {
        result_.status = "exists";
        result_.note = "already exists on the target: not migrated (use -force / --force to migrate its mail)";
        problem(Problem{.scope = Scope::Account, .message = result_.note});
        return false;
      }
      return true;  // -force: migrate its mail, leave its password as it is
    }
    if (options_.dry_run) {
      result_.note = "would be created";
      return true;
    }
    const ChosenPassword chosen = choose_password(options_.passwords, account_.password);
    // Recorded before the user exists, so a crash right after create() still
    // lets the next run recognise the user as its own.
    state_.set_account(key_, "creating");
    try {
      const Created created = p->create(NewUser{.account = account_.name, .domain = account_.domain,
                                                .real_name = account_.real_name, .password = chosen.password,
                                                // Only when nobody chose a password may the provisioner keep the
                                                // source's own hash (the user keeps the old password).
                                                .source_password = chosen.how == PasswordHow::Generated
                                                                       ? account_.password
                                                                       : PasswordInfo{}});
      result_.created = true;
      if (options_.pass_file != nullptr && !created.kept_source_hash) {
        options_.pass_file->add(key_, chosen.password, chosen.how);
      }
      spdlog::info("{}: created on the target ({})", key_, p->describe());
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot create the user on the target: {}", e.what()));
      return false;
    }
    return true;
  }

  void run_inner() {
    if (!provision()) return;
    std::unique_ptr<Account> in;
    std::vector<FolderInfo> folders;
    try {
      in = source_.open_account(account_);
      folders = in->folders([&](Problem p) { problem(std::move(p)); });
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot read the account: {}", e.what()));
      return;
    }
    if (options_.dry_run) {
      for (const FolderInfo& folder : folders) plan_folder(*in, folder);
      return;
    }
    state_.set_account(key_, "running");
    std::size_t next_folder = 0;
    unsigned attempt = 0;
    while (next_folder < folders.size() && !stopping(options_)) {
      std::unique_ptr<TargetAccount> out;
      try {
        const std::string password = options_.login_password ? options_.login_password(account_) : std::string();
        out = target_.open_account(account_.name, account_.domain, password);
      } catch (const TargetAuthError& e) {
        // A user created a moment ago may not be visible to the IMAP server yet
        // (passwd-file re-read once a second, directory replication): retry a few times.
        if (result_.created && login_retries_++ < options_.reconnect_attempts) {
          std::this_thread::sleep_for(options_.reconnect_backoff * login_retries_);
          continue;
        }
        fail("failed", fmt::format("login on the target failed: {}", e.what()));
        return;
      } catch (const std::exception& e) {
        if (!retry(attempt, e.what())) return;
        continue;
      }
      try {
        for (; next_folder < folders.size() && !stopping(options_); ++next_folder) {
          migrate_folder(*in, folders[next_folder], *out);
          if (options_.on_folder_done) options_.on_folder_done(result_, result_.folders.back());
          attempt = 0;
        }
        out->close();
      } catch (const std::exception& e) {
        // The folder's result so far is dropped: the retry counts it again from state.
        if (!result_.folders.empty() && result_.folders.back().name == folders[next_folder].name && partial_) {
          result_.folders.pop_back();
        }
        if (!retry(attempt, e.what())) return;
      }
    }
    if (stopping(options_) && next_folder < folders.size()) {
      result_.status = "interrupted";
      result_.note = "stopped on request; run the same command again to finish";
    }
  }

  bool retry(unsigned& attempt, const std::string& why) {
    if (++attempt > options_.reconnect_attempts) {
      fail("failed", fmt::format("gave up after {} attempts: {}", attempt, why));
      return false;
    }
    const auto wait = options_.reconnect_backoff * (1U << (attempt - 1));
    spdlog::warn("{}: {}; reconnecting in {} ms (attempt {} of {})", key_, why, wait.count(), attempt,
                 options_.reconnect_attempts);
    state_.flush();
    std::this_thread::sleep_for(wait);
    return true;
  }

  static std::string hash_of(const Folder& folder, const MessageInfo& message) {
    CrlfReader reader(folder.open(message));
    return sha256_of(reader);
  }

  void plan_folder(const Account& in, const FolderInfo& folder) {
    FolderResult r{.name = folder.name};
    if (folder.selectable) {
      auto done = state_.done_counts(key_, folder.name);
      std::map<std::string, std::uint32_t> seen;
      std::unique_ptr<Folder> box = in.open_folder(folder);
      box->scan(
          [&](const MessageInfo& m) {
            ++r.source_messages;
            const std::string sha = hash_of(*box, m);
            if (seen[sha]++ < done[sha]) ++r.already;
            else r.bytes += m.size;
          },
          [&](Problem p) { problem(std::move(p), folder.name); });
    }
    result_.folders.push_back(std::move(r));
    if (options_.on_folder_done) options_.on_folder_done(result_, result_.folders.back());
  }

  void reconcile(TargetFolder& out, const std::string& folder, const FolderMark& mark, FolderResult& r) {
    const std::vector<MessageKey> pending = state_.pending(key_, folder);
    if (pending.empty()) return;
    // The server may still be storing what the killed run sent (the data was
    // on its socket): wait until the folder's UIDNEXT stays put for a while,
    // or a late arrival would be missed here and copied twice.
    std::optional<std::uint32_t> last = out.current_uidnext();
    for (int i = 0; i < 15; ++i) {
      std::this_thread::sleep_for(kSettle);
      const std::optional<std::uint32_t> now = out.current_uidnext();
      if (now == last) break;
      last = now;
    }
    std::map<std::string, std::uint32_t> found;
    for (const auto& [uid, sha] : out.hashes_from(mark.uidnext.value_or(1))) ++found[sha];
    for (const MessageKey& k : pending) {
      if (found[k.sha256] > 0) {
        --found[k.sha256];
        state_.mark_done(key_, folder, k, std::nullopt);
        ++r.reconciled;
      } else {
        state_.drop(key_, folder, k);
      }
    }
    state_.flush();
    spdlog::info("{} {}: {} of {} messages in flight at the last stop were found on the target", key_, folder,
                 r.reconciled, pending.size());
  }

  void migrate_folder(const Account& in, const FolderInfo& folder, TargetAccount& out_account) {
    result_.folders.push_back(FolderResult{.name = folder.name});
    partial_ = true;
    FolderResult& r = result_.folders.back();
    std::vector<Queued> queued;
    auto on_result = [&](std::size_t i, const Delivery& d) {
      const Queued& q = queued[i];
      if (d.ok) {
        state_.mark_done(key_, folder.name, q.key, d.uid);
        ++r.copied;
        r.bytes += q.size;
        return;
      }
      state_.drop(key_, folder.name, q.key);
      ++r.failed;
      problem(Problem{.scope = Scope::Message, .file = q.file, .offset = q.offset,
                      .message = fmt::format("target refused the message: {}", d.error)},
              folder.name);
    };
    std::unique_ptr<TargetFolder> out = out_account.open_folder(folder.name, folder.subscribed, on_result);
    r.target_name = out->display_name();
    r.rename_note = out->rename_note();

    FolderMark mark = state_.folder_mark(key_, folder.name);
    if (mark.uidvalidity && out->uidvalidity() && *mark.uidvalidity != *out->uidvalidity()) {
      problem(Problem{.scope = Scope::Folder,
                      .message = fmt::format("target folder {} was recreated (UIDVALIDITY {} -> {}): what the state "
                                             "says was copied is gone; copying the folder again",
                                             r.target_name, *mark.uidvalidity, *out->uidvalidity())},
              folder.name);
      state_.forget_folder(key_, folder.name);
      mark = {};
    }
    reconcile(*out, folder.name, mark, r);
    state_.set_folder_mark(key_, folder.name, r.target_name, FolderMark{out->uidvalidity(), out->uidnext()});

    if (folder.selectable) {
      auto done = state_.done_counts(key_, folder.name);
      std::map<std::string, std::uint32_t> seen;
      out->set_before_send([&](const std::vector<std::size_t>& indices) {
        std::vector<MessageKey> keys;
        std::vector<std::uint64_t> sizes;
        for (std::size_t i : indices) {
          keys.push_back(queued[i].key);
          sizes.push_back(queued[i].size);
        }
        state_.mark_pending(key_, folder.name, keys, sizes);
      });
      std::unique_ptr<Folder> box = in.open_folder(folder);
      const Folder* reader = box.get();
      box->scan(
          [&](const MessageInfo& m) {
            ++r.source_messages;
            if (stopping(options_)) return;
            std::string sha;
            try {
              sha = hash_of(*reader, m);
            } catch (const std::exception& e) {
              ++r.failed;
              problem(Problem{.scope = Scope::Message, .file = m.file, .offset = m.offset, .message = e.what()},
                      folder.name);
              return;
            }
            const std::uint32_t ordinal = seen[sha]++;
            if (ordinal < done[sha]) {
              ++r.already;
              return;
            }
            queued.push_back(Queued{MessageKey{std::move(sha), ordinal}, m.size, m.file, m.offset});
            out->add(m, [reader, m] { return std::make_unique<CrlfReader>(reader->open(m)); });
          },
          [&](Problem p) { problem(std::move(p), folder.name); });
      out->finish();
    }
    state_.flush();
    partial_ = false;
  }

  Source& source_;
  const AccountInfo& account_;
  Target& target_;
  State& state_;
  const MigrateOptions& options_;
  ProblemSink& sink_;
  std::string key_;
  AccountResult result_;
  bool partial_ = false;
  unsigned login_retries_ = 0;
};

}  // namespace

std::string account_key(const AccountInfo& account) { return account.name + "@" + account.domain; }

AccountResult migrate_account(Source& source, const AccountInfo& account, Target& target, State& state,
                              const MigrateOptions& options, ProblemSink& sink) {
  return AccountRun(source, account, target, state, options, sink).run();
}

}  // namespace mailmig
