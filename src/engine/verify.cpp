// The driver of verify: logs in, lists both sides, walks the folders and
// decides what each failure's scope means (see verify.h); reading a source
// folder, matching the folders and comparing are verify_source.cpp's,
// verify_folder_match.cpp's and verify_compare.cpp's.
#include "engine/verify.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <utility>

#include "core/error.h"
#include "engine/migrate.h"
#include "engine/verify_compare.h"
#include "engine/verify_folder_match.h"
#include "engine/verify_source.h"

namespace mailmig {

namespace {

// A refusal of one folder, or a file the target cannot read: that folder's
// failure; any other exception is the connection's.
bool folder_scoped(const std::exception& e) {
  if (const auto* scoped = dynamic_cast<const ScopedError*>(&e))
    return scoped->scope() == Scope::Folder || scoped->scope() == Scope::Message;
  return dynamic_cast<const IoError*>(&e) != nullptr;
}

class AccountVerifier {
 public:
  AccountVerifier(Source& source, const AccountInfo& account, Target& target, const VerifyOptions& options,
                  ProblemSink& sink)
      : source_(source),
        account_(account),
        target_(target),
        options_(options),
        sink_(sink),
        key_(account_key(account)),
        name_(target_account_name(options.naming, account)),
        sampled_(options.sample_percent < 100),
        retries_(options.reconnect) {
    result_.domain = account.domain;
    result_.account = account.name;
    result_.target_account = name_.key();
    result_.login.method = options.login_method;
  }

  AccountCheck run() {
    const auto started = std::chrono::steady_clock::now();
    const bool logged_in = log_in();
    check_recorded_password();
    if (logged_in) {
      compare_account();
      close_target();
    }
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (result_.status == "ok") {
      if (result_.difference_count() != 0)
        result_.status = "differs";
      else if (result_.problems != 0)
        result_.status = "problems";
    }
    return std::move(result_);
  }

 private:
  void problem(Problem p, const std::string& folder = "") {
    p.domain = account_.domain;
    p.account = account_.name;
    if (p.folder.empty()) p.folder = folder;
    ++result_.problems;
    sink_.add(std::move(p));
  }

  void differ(Difference d, FolderCheck* folder = nullptr) {
    ++result_.by_kind[d.kind];
    if (folder != nullptr) ++folder->differences;
    if (result_.differences.size() < options_.max_differences) result_.differences.push_back(std::move(d));
  }

  // The account cannot be verified further: reported once, with account scope.
  void fail(const std::string& message, const std::string& file = "") {
    problem(Problem{.scope = Scope::Account, .file = file, .message = message});
    result_.status = "failed";
  }

  void open_target() {
    const std::string password = options_.login_password ? options_.login_password(account_) : std::string();
    out_ = target_.open_account(name_.account, name_.domain, password);
  }

  // A connection given up on may not close cleanly; the check is done either way.
  void close_target() {
    if (!out_) return;
    try {
      out_->close();
    } catch (const std::exception& e) {
      spdlog::debug("{}: closing the target connection: {}", key_, e.what());
    }
  }

  // After a lost connection: waits as the retry policy says and logs in
  // again, until a login works (true) or the policy gives up (false, and
  // `give_up` is told the last error). A refused login fails the account.
  bool reconnect(std::string why, const std::function<void(const std::string&)>& give_up) {
    while (const auto wait = retries_.after_failure()) {
      spdlog::warn("{}: {}; reconnecting in {} ms (attempt {} of {})", key_, why, wait->count(),
                   retries_.failures(), options_.reconnect.attempts);
      retries_.wait(*wait);
      try {
        open_target();
        return true;
      } catch (const TargetAuthError& e) {
        fail(fmt::format("login on the target failed: {}", e.what()));
        return false;
      } catch (const std::exception& e) {
        why = e.what();
      }
    }
    give_up(why);
    return false;
  }

  bool log_in() {
    try {
      open_target();
    } catch (const TargetAuthError& e) {
      result_.login.error = e.what();
      differ(Difference{.kind = DiffKind::LoginFailed,
                        .detail = fmt::format("target login refused: {}", e.what())});
      result_.status = "failed";
      return false;
    } catch (const std::exception& e) {
      const bool again = reconnect(e.what(), [&](const std::string& last) {
        result_.login.error = last;
        fail(fmt::format("cannot log in on the target: {}", last));
      });
      if (!again) {
        if (result_.login.error.empty()) result_.login.error = e.what();
        return false;
      }
    }
    result_.login.ok = true;
    return true;
  }

  // The password migrate recorded must let the user in: the one thing the
  // master-user verification cannot show.
  void check_recorded_password() {
    if (!options_.recorded_password || !options_.user_login) return;
    const std::optional<std::string> password = options_.recorded_password(account_, name_);
    if (!password) return;
    LoginCheck check{.method = "password-file"};
    check.error = options_.user_login(name_, *password);
    check.ok = check.error.empty();
    if (!check.ok) {
      differ(
          Difference{.kind = DiffKind::LoginFailed,
                     .detail = fmt::format("the password in the .pass file was refused: {}", check.error)});
    }
    result_.password_login = std::move(check);
  }

  [[nodiscard]] bool stopping() const { return options_.stop != nullptr && options_.stop->load(); }

  void compare_account() {
    std::unique_ptr<Account> in;
    std::vector<FolderInfo> folders;
    try {
      in = source_.open_account(account_);
      folders = in->folders([&](Problem p) { problem(std::move(p)); });
    } catch (const std::exception& e) {
      fail(fmt::format("cannot read the account: {}", e.what()), account_.location);
      return;
    }
    std::optional<FolderMatch> match;
    std::size_t next = 0;        // the next source folder
    std::size_t next_extra = 0;  // the next target-only folder
    for (;;) {
      try {
        if (!match) {
          const auto earlier = options_.history != nullptr ? options_.history->target_folders(key_)
                                                           : std::map<std::string, std::string>{};
          match = match_folders(folders, *out_, options_.naming, earlier);
        }
        for (; next < match->jobs.size(); ++next) {
          if (stopping()) {
            problem(
                Problem{.scope = Scope::Account, .message = "interrupted: not every folder was verified"});
            return;
          }
          verify_folder(*in, match->jobs[next]);
          retries_.progress();
        }
        for (; next_extra < match->target_only.size(); ++next_extra) {
          target_only_folder(match->target_only[next_extra]);
          retries_.progress();
        }
        return;
      } catch (const ScopedError& e) {
        // Folder scopes were dealt with where they arose: this one is the account's.
        fail(e.what());
        return;
      } catch (const std::exception& e) {
        const bool again = reconnect(e.what(), [&](const std::string& last) {
          fail(fmt::format("gave up after {} attempts in a row without progress: {}", retries_.failures(),
                           last));
        });
        if (!again) return;
      }
    }
  }

  void verify_folder(const Account& in, const FolderJob& job) {
    const FolderInfo& folder = *job.folder;
    // The source is read once: a reconnect reads only the target again.
    if (!source_read_) {
      check_ = FolderCheck{.name = folder.name, .target_name = job.target};
      source_read_ =
          folder.selectable
              ? read_source_folder(
                    in, folder,
                    SourceReadOptions{
                        .account_key = key_,
                        .sample_percent = options_.sample_percent,
                        .stored_keyword = [&](const std::string& k) { return target_.stored_keyword(k); }},
                    check_, [&](Problem p) { problem(std::move(p), folder.name); })
              : SourceFolderRead{};
    }
    std::vector<TargetCopy> stored;
    const ReadResult read =
        job.exists
            ? read_target(job.target, folder.name,
                          sampled_ ? sample_filter(source_read_->messages) : WantBody(), check_, stored)
            : ReadResult::Missing;
    if (read == ReadResult::Missing) {
      differ(
          Difference{.kind = DiffKind::FolderMissingOnTarget,
                     .folder = folder.name,
                     .detail = fmt::format("target folder \"{}\" does not exist ({} messages in the source)",
                                           job.target, check_.messages_source)},
          &check_);
    }
    if (read == ReadResult::Read) {
      // Only a full read knows every ordinal, as migrate counted them.
      const bool by_state = options_.history != nullptr && !sampled_;
      std::map<MessageKey, std::uint32_t> copied;
      if (by_state) copied = options_.history->copied(key_, folder.name);
      compare_folder(FolderComparison{.folder = folder.name,
                                      .copied = by_state ? &copied : nullptr,
                                      .sampled = sampled_,
                                      .now = now_},
                     *source_read_, stored, check_, [&](Difference d) { differ(std::move(d), &check_); });
    }
    result_.folders.push_back(std::move(check_));
    source_read_.reset();
  }

  enum class ReadResult : std::uint8_t { Read, Missing, Failed };

  // Reads a target folder. A refusal of folder scope (or a file the target
  // cannot read) is reported here and the caller goes on; a missing folder
  // is the caller's to report; anything else is the connection's and leaves
  // through compare_account's reconnect.
  ReadResult read_target(const std::string& target, const std::string& folder, const WantBody& want,
                         FolderCheck& check, std::vector<TargetCopy>& out) {
    out.clear();
    try {
      out_->read_folder(target, want, [&](const StoredMessage& m) { out.push_back(target_copy(m)); });
    } catch (const TargetFolderMissing&) {
      return ReadResult::Missing;
    } catch (const std::exception& e) {
      if (!folder_scoped(e)) throw;
      problem(Problem{.scope = Scope::Folder,
                      .message = fmt::format("cannot read the target folder \"{}\": {}", target, e.what())},
              folder);
      return ReadResult::Failed;
    }
    for (const TargetCopy& t : out) {
      ++check.messages_target;
      check.bytes_target += t.stored.size;
    }
    return ReadResult::Read;
  }

  void target_only_folder(const std::string& name) {
    FolderCheck check{.target_name = name};
    std::vector<TargetCopy> stored;
    // Metadata only: there is nothing to compare the bodies with.
    const bool read =
        read_target(
            name, name, [](const StoredMessage&) { return false; }, check, stored) == ReadResult::Read;
    differ(
        Difference{.kind = DiffKind::FolderMissingInSource,
                   .folder = name,
                   .detail = read ? fmt::format("target folder \"{}\" ({} messages) matches no source folder",
                                                name, check.messages_target)
                                  : fmt::format("target folder \"{}\" matches no source folder", name)},
        &check);
    result_.folders.push_back(std::move(check));
  }

  Source& source_;
  const AccountInfo& account_;
  Target& target_;
  const VerifyOptions& options_;
  ProblemSink& sink_;
  std::string key_;
  TargetAccountName name_;
  const bool sampled_;
  Retries retries_;
  std::unique_ptr<TargetAccount> out_;
  AccountCheck result_;
  // The folder being verified: its source side survives a reconnect.
  FolderCheck check_;
  std::optional<SourceFolderRead> source_read_;
  const std::int64_t now_ =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
};

}  // namespace

const char* diff_kind_name(DiffKind kind) {
  switch (kind) {
    case DiffKind::Missing:
      return "missing";
    case DiffKind::Extra:
      return "extra";
    case DiffKind::Duplicated:
      return "duplicated";
    case DiffKind::Altered:
      return "altered";
    case DiffKind::FlagsDiffer:
      return "flags_differ";
    case DiffKind::DateDiffers:
      return "date_differs";
    case DiffKind::FolderMissingOnTarget:
      return "folder_missing_on_target";
    case DiffKind::FolderMissingInSource:
      return "folder_missing_in_source";
    case DiffKind::LoginFailed:
      return "login_failed";
    case DiffKind::TotalsDiffer:
      return "totals_differ";
  }
  return "unknown";
}

std::uint64_t AccountCheck::difference_count() const {
  std::uint64_t n = 0;
  for (const auto& [kind, count] : by_kind) n += count;
  return n;
}

AccountCheck verify_account(Source& source, const AccountInfo& account, Target& target,
                            const VerifyOptions& options, ProblemSink& sink) {
  return AccountVerifier(source, account, target, options, sink).run();
}

}  // namespace mailmig
