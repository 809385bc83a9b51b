#include "engine/migrate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "core/crlf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "engine/hooks.h"
#include "engine/target_contents.h"

namespace mailmig {

namespace {

constexpr std::chrono::milliseconds kSettle{1500};  // quiet time before reconciling after a crash
constexpr std::size_t kShortSha = 12;               // identity prefix in per-message log lines

// A message queued for APPEND: its write-ahead record and where it came from.
struct Queued {
  PendingMessage record;
  std::string file;
  std::uint64_t offset;
};

// A source flag change to apply to a copied message once the folder's appends are done.
struct FlagChange {
  MessageKey key;
  std::uint32_t uid = 0;
  std::optional<MessageFlags> before;  // unknown for messages copied before schema 2
  MessageFlags after;
};

// Where one folder is copied from and to.
struct FolderCopy {
  const Account& in;
  const FolderInfo& folder;
  const std::string& target_folder;  // neutral name on the target
  TargetAccount& out_account;
  TargetFolder& out;
};

bool stopping(const MigrateOptions& options) {
  return options.stop != nullptr && options.stop->load();
}

// Both sorted.
std::vector<std::string> difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The last non-empty line of a hook's output: usually the reason it gives.
std::string last_line(const std::string& text) {
  const auto end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  const auto newline = text.rfind('\n', end);
  const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

std::string hook_failure(const HookResult& h) {
  std::string why;
  if (h.timed_out)
    why = "timed out";
  else if (h.exit_code < 0)
    why = "could not be run";
  else
    why = fmt::format("exited with status {}", h.exit_code);
  const std::string line = last_line(h.output);
  return line.empty() ? why : fmt::format("{} ({})", why, line);
}

std::string join_notes(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

// A done message known by its source UID, with its size: a source UID is
// taken for the message only when the size agrees too (another source of the
// same mailbox reuses the UIDs; an unrelated one may reuse the numbers).
struct KnownUid {
  MessageKey key;
  std::uint64_t size = 0;
};

// The done rows of a folder and which of them the current scan has seen: the
// unseen ones are the messages deleted on the source since they were copied.
class DoneSet {
 public:
  explicit DoneSet(std::vector<DoneMessage> rows) {
    for (DoneMessage& row : rows) {
      if (row.source_uid) by_source_uid_.emplace(*row.source_uid, KnownUid{row.key, row.size});
      if (row.uid) uids_.insert(*row.uid);
      MessageKey key = row.key;
      rows_.emplace(std::move(key), Entry{std::move(row), false});
    }
  }

  // Identities by source UID (valid while the source's UIDVALIDITY is the one recorded).
  [[nodiscard]] const std::map<std::uint32_t, KnownUid>& by_source_uid() const { return by_source_uid_; }
  // Target UIDs of the done rows.
  [[nodiscard]] const std::set<std::uint32_t>& target_uids() const { return uids_; }
  [[nodiscard]] std::size_t size() const { return rows_.size(); }

  // The done row with this identity (now marked seen), or null: not copied yet.
  const DoneMessage* see(const MessageKey& key) {
    const auto it = rows_.find(key);
    if (it == rows_.end()) return nullptr;
    it->second.seen = true;
    return &it->second.row;
  }

  // Rows recorded from this source that its scan did not see.
  [[nodiscard]] std::vector<DoneMessage> unseen() const {
    std::vector<DoneMessage> out;
    for (const auto& [key, entry] : rows_) {
      if (!entry.seen && !entry.row.other_source) out.push_back(entry.row);
    }
    return out;
  }

  // Rows another source recorded that this one does not have: never taken
  // for deletions (a backup holds mail the live host may never have had).
  [[nodiscard]] std::uint64_t unseen_from_other_sources() const {
    return static_cast<std::uint64_t>(std::count_if(rows_.begin(), rows_.end(), [](const auto& e) {
      return !e.second.seen && e.second.row.other_source;
    }));
  }

 private:
  struct Entry {
    DoneMessage row;
    bool seen = false;
  };
  std::map<MessageKey, Entry> rows_;
  std::map<std::uint32_t, KnownUid> by_source_uid_;
  std::set<std::uint32_t> uids_;
};

class AccountRun {
 public:
  AccountRun(Source& source, const AccountInfo& account, Target& target, State& state,
             const MigrateOptions& options, ProblemSink& sink)
      : source_(source),
        account_(account),
        target_(target),
        state_(state),
        options_(options),
        sink_(sink),
        key_(account_key(account)),
        target_name_(target_account_name(options.naming, account)) {
    result_.domain = account.domain;
    result_.account = account.name;
    result_.target_account = target_name_.key();
  }

  AccountResult run() {
    const auto started = std::chrono::steady_clock::now();
    // A refusing before-hook leaves no trace in the state: "skipped" there
    // would later pass for an account this tool had started on.
    if (before_hook()) {
      run_inner();
      add_up();
      if (!options_.dry_run && result_.status == "done" && (result_.failed != 0 || folders_failed_ != 0)) {
        result_.status = "failed";
      }
      after_hook();
      if (!options_.dry_run) state_.set_account(key_, result_.status, result_.note);
    }
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
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

  void add_up() {
    for (const FolderResult& f : result_.folders) {
      result_.copied += f.copied;
      result_.already += f.already;
      result_.found_on_target += f.found_on_target;
      result_.target_hashed += f.target_hashed;
      result_.failed += f.failed;
      result_.bytes += f.bytes;
      result_.flag_changes += f.flag_changes;
      result_.deleted_on_source += f.deleted_on_source;
      result_.removed += f.removed;
    }
  }

  // ---- hooks ----------------------------------------------------------------------

  std::vector<std::pair<std::string, std::string>> hook_env(const char* phase) const {
    return {{"MAILMIG_ACCOUNT", account_.name},
            {"MAILMIG_DOMAIN", account_.domain},
            {"MAILMIG_EMAIL", key_},
            {"MAILMIG_TARGET_ACCOUNT", target_name_.account},
            {"MAILMIG_TARGET_DOMAIN", target_name_.domain},
            {"MAILMIG_PHASE", phase}};
  }

  // False when the hook refused the account (it is then skipped).
  bool before_hook() {
    if (options_.dry_run || options_.hook_before_account.empty()) return true;
    const HookResult h = run_hook(options_.hook_before_account, hook_env("before"), options_.hook_timeout);
    if (h.exit_code == 0 && !h.timed_out) return true;
    fail("skipped", fmt::format("before-account hook {}: not migrated", hook_failure(h)));
    return false;
  }

  void after_hook() {
    if (options_.dry_run || options_.hook_after_account.empty()) return;
    auto env = hook_env("after");
    env.emplace_back("MAILMIG_STATUS", result_.status);
    env.emplace_back("MAILMIG_COPIED", std::to_string(result_.copied));
    const HookResult h = run_hook(options_.hook_after_account, env, options_.hook_timeout);
    if (h.exit_code == 0 && !h.timed_out) return;
    const std::string note = fmt::format("after-account hook {}", hook_failure(h));
    result_.status = "failed";
    result_.note = join_notes(result_.note, note);
    problem(Problem{.scope = Scope::Account, .file = account_.location, .message = note});
  }

  // ---- provisioning ---------------------------------------------------------------

  // Returns false when the account must not be migrated.
  bool provision() {
    Provisioner* p = options_.provisioner;
    if (p == nullptr) return true;
    const std::string& user = target_name_.account;
    const std::string& domain = target_name_.domain;
    bool exists = false;
    try {
      exists = p->exists(user, domain);
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
        result_.note =
            "already exists on the target: not migrated (use -force / --force to migrate its mail)";
        problem(Problem{.scope = Scope::Account, .message = result_.note});
        return false;
      }
      // Created by an earlier run, perhaps a moment ago (killed right after
      // creating it): the server may not see it yet either.
      created_earlier_ = ours;
      return true;  // -force: migrate its mail, leave its password as it is
    }
    if (options_.dry_run) {
      result_.note = "would be created";
      return true;
    }
    const ChosenPassword chosen = choose_password(options_.passwords, account_.password);
    // Only when nobody chose a password may the provisioner keep the source's
    // own hash (the user keeps the old password).
    const PasswordInfo keepable = chosen.how == PasswordHow::Generated ? account_.password : PasswordInfo{};
    // When the chosen password is certainly the user's, it is in the password
    // file before the user exists: a full disk or a kill between the two then
    // never leaves a user whose password nobody knows (a row for a user whose
    // creation failed is superseded by the next run's row for it).
    const bool recorded_ahead =
        options_.pass_file != nullptr && keepable.kind != PasswordInfo::Kind::Encrypted;
    if (recorded_ahead) {
      try {
        options_.pass_file->add(target_name_.key(), chosen.password, chosen.how);
      } catch (const std::exception& e) {
        fail("failed",
             fmt::format("not created on the target: its password cannot be recorded: {}", e.what()));
        return false;
      }
    }
    // Recorded before the user exists, so a crash right after create() still
    // lets the next run recognise the user as its own.
    state_.set_account(key_, "creating");
    try {
      const Created created = p->create(NewUser{.account = user,
                                                .domain = domain,
                                                .real_name = account_.real_name,
                                                .password = chosen.password,
                                                .source_password = keepable});
      result_.created = true;
      if (options_.pass_file != nullptr && !recorded_ahead && !created.kept_source_hash) {
        options_.pass_file->add(target_name_.key(), chosen.password, chosen.how);
      }
      spdlog::info("{}: created on the target as {} ({})", key_, target_name_.key(), p->describe());
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot create the user on the target: {}", e.what()));
      return false;
    }
    return true;
  }

  // ---- the account ----------------------------------------------------------------

  void run_inner() {
    std::shared_ptr<void> claim;
    if (options_.claim_account && !options_.dry_run) {
      std::string holder;
      claim = options_.claim_account(target_name_.key(), holder);
      if (!claim) {
        fail("failed",
             fmt::format("another mailmig run ({}) is copying into {} on this target: not migrated now; "
                         "run the same command again when it has finished",
                         holder, target_name_.key()));
        return;
      }
    }
    if (!provision()) return;
    std::unique_ptr<Account> in;
    std::vector<FolderInfo> folders;
    try {
      in = source_.open_account(account_);
      folders = in->folders([&](Problem p) {
        listing_clean_ = false;
        problem(std::move(p));
      });
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot read the account: {}", e.what()));
      return;
    }
    for (const FolderInfo& f : folders) source_folders_.insert(f.name);
    if (options_.dry_run) {
      dry_run(*in, folders);
      return;
    }
    state_.set_account(key_, "running");
    copy_folders(*in, folders);
  }

  void copy_folders(const Account& in, const std::vector<FolderInfo>& folders) {
    std::size_t next_folder = 0;
    bool vanished_done = !options_.sync;  // folders gone from the source: a sync settles them last
    unsigned attempt = 0;
    while ((next_folder < folders.size() || !vanished_done) && !stopping(options_)) {
      std::unique_ptr<TargetAccount> out = open_target(attempt);
      if (!out) {
        if (gave_up_) return;
        continue;
      }
      out->set_connection_drops(drops_);
      try {
        if (plan_.size() != folders.size()) plan_ = plan_names(out.get(), folders);
        for (; next_folder < folders.size() && !stopping(options_); ++next_folder) {
          if (!copy_one_folder(in, folders[next_folder], plan_[next_folder], *out)) return;
          attempt = 0;
        }
        if (!vanished_done && !stopping(options_)) {
          settle_vanished_folders(out.get());
          vanished_done = true;
        }
        out->close();
      } catch (const std::exception& e) {
        // The folder's result so far is dropped: the retry counts it again from state.
        if (partial_) result_.folders.pop_back();
        partial_ = false;
        ++drops_;  // the next connection appends in smaller commands
        // Only attempts that confirmed nothing count towards giving up: a link
        // that drops every few hundred KB still finishes the account, and the
        // number of attempts stays bounded (each one confirms a message).
        if (progress_ != progress_at_drop_) attempt = 0;
        progress_at_drop_ = progress_;
        if (!retry(attempt, e.what())) return;
      }
    }
    if (stopping(options_) && (next_folder < folders.size() || !vanished_done)) {
      result_.status = "interrupted";
      result_.note = "stopped on request; run the same command again to finish";
    }
  }

  // One folder, its failures kept to their scope: a folder the target
  // refuses is reported and the next one is copied; false when the account
  // cannot go on (a failure of account scope: over quota, disk full). Any
  // other exception is the connection's: it reaches copy_folders' reconnect.
  bool copy_one_folder(const Account& in, const FolderInfo& folder, const PlannedFolder& planned,
                       TargetAccount& out) {
    try {
      migrate_folder(in, folder, planned, out);
      if (over_quota_) {
        fail("failed",
             fmt::format("the target refused messages over quota ({}): raise the quota or free space, "
                         "then run the same command again",
                         over_quota_note_));
        return false;
      }
    } catch (const ScopedError& e) {
      if (!partial_) result_.folders.push_back(FolderResult{.name = folder.name});
      partial_ = false;
      state_.flush();
      if (e.scope() != Scope::Folder && e.scope() != Scope::Message) {
        const bool quota = e.code() == "OVERQUOTA";
        fail("failed",
             quota
                 ? fmt::format("{}: raise the quota or free space, then run the same command again", e.what())
                 : std::string(e.what()));
        return false;
      }
      ++folders_failed_;
      FolderResult& r = result_.folders.back();
      r.note = join_notes(r.note, fmt::format("FAILED: {}", e.what()));
      problem(Problem{.scope = Scope::Folder, .message = e.what()}, folder.name);
    }
    if (options_.on_folder_done) options_.on_folder_done(result_, result_.folders.back());
    return true;
  }

  // Logs in on the target; null when that failed (gave_up_ says whether for good).
  std::unique_ptr<TargetAccount> open_target(unsigned& attempt) {
    try {
      const std::string password =
          options_.login_password ? options_.login_password(account_) : std::string();
      return target_.open_account(target_name_.account, target_name_.domain, password);
    } catch (const TargetAuthError& e) {
      // A user created a moment ago may not be visible to the IMAP server yet
      // (passwd-file re-read once a second, directory replication): retry a few times.
      if ((result_.created || created_earlier_) && login_retries_++ < options_.reconnect_attempts) {
        std::this_thread::sleep_for(options_.reconnect_backoff * login_retries_);
        return nullptr;
      }
      fail("failed", fmt::format("login on the target failed: {}", e.what()));
    } catch (const std::exception& e) {
      if (retry(attempt, e.what())) return nullptr;
    }
    gave_up_ = true;
    return nullptr;
  }

  bool retry(unsigned& attempt, const std::string& why) {
    if (++attempt > options_.reconnect_attempts) {
      fail("failed", fmt::format("gave up after {} attempts in a row without progress: {}", attempt, why));
      return false;
    }
    const auto wait = options_.reconnect_backoff * (1U << (attempt - 1));
    spdlog::warn("{}: {}; reconnecting in {} ms (attempt {} of {})", key_, why, wait.count(), attempt,
                 options_.reconnect_attempts);
    state_.flush();
    std::this_thread::sleep_for(wait);
    return true;
  }

  // Target folder names: the naming rules, collisions resolved, and the names
  // earlier runs used kept (rows from before schema 2 used the source name).
  std::vector<PlannedFolder> plan_names(TargetAccount* out, const std::vector<FolderInfo>& folders) {
    std::map<std::string, std::string> earlier;
    for (const FolderRecord& record : state_.folders(key_)) {
      earlier[record.folder] = record.target.empty() ? record.folder : record.target;
    }
    // Without a target (dry run) the server's own adjustments are not known.
    const std::function<std::string(const std::string&)> stored_name = [out](const std::string& name) {
      return out != nullptr ? out->stored_name(name) : name;
    };
    return plan_folder_names(options_.naming, folders, stored_name, earlier);
  }

  // ---- reading the source ---------------------------------------------------------

  // The state's source UIDs still name the same messages: the source keeps
  // UIDs and its UIDVALIDITY is the one they were recorded under.
  static bool source_uids_known(const FolderInfo& folder, const FolderMark& mark) {
    return folder.uidvalidity && mark.source_uidvalidity == folder.uidvalidity;
  }

  static std::string hash_of(const Folder& folder, const MessageInfo& message) {
    CrlfReader reader(folder.open(message));
    return sha256_of(reader);
  }

  // Scans a source folder, giving each readable message with its identity.
  // True when the scan was complete and reported no problem: only then may
  // done messages it did not see be taken as deleted on the source (a corrupt
  // or unreadable mailbox must never cause deletions).
  // `known`: identities by source UID, when the source keeps UIDs and its
  // UIDVALIDITY is unchanged: those messages are not read again.
  bool scan_source(Folder& box, const std::string& folder, FolderResult& r,
                   const std::function<void(const MessageInfo&, MessageKey)>& on_message,
                   const std::map<std::uint32_t, KnownUid>* known = nullptr) {
    bool clean = true;
    std::map<std::string, std::uint32_t> ordinals;
    box.scan(
        [&](const MessageInfo& m) {
          ++r.source_messages;
          if (stopping(options_)) {
            clean = false;
            return;
          }
          if (known != nullptr && m.uid) {
            if (const auto it = known->find(*m.uid); it != known->end() && it->second.size == m.size) {
              // Later identical messages (higher UIDs: new ones) count on from it.
              const MessageKey& key = it->second.key;
              std::uint32_t& next = ordinals[key.sha256];
              next = std::max(next, key.ordinal + 1);
              on_message(m, key);
              return;
            }
          }
          std::string sha;
          try {
            sha = hash_of(box, m);
          } catch (const std::exception& e) {
            clean = false;
            ++r.failed;
            problem(Problem{.scope = Scope::Message, .file = m.file, .offset = m.offset, .message = e.what()},
                    folder);
            return;
          }
          const std::uint32_t ordinal = ordinals[sha]++;
          on_message(m, MessageKey{std::move(sha), ordinal});
        },
        [&](Problem p) {
          clean = false;
          problem(std::move(p), folder);
        });
    return clean;
  }

  void log_message(const char* action, const std::string& folder, const MessageKey& key, const MessageInfo* m,
                   std::optional<std::uint32_t> uid) const {
    const auto level = options_.dry_run ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(level, "{} {}: {} sha256 {} #{}, source {}, target uid {}", key_, folder, action,
                key.sha256.substr(0, kShortSha), key.ordinal,
                m != nullptr ? fmt::format("{} offset {}", m->file, m->offset) : std::string("gone"),
                uid ? std::to_string(*uid) : std::string("unknown"));
  }

  // ---- dry run ----------------------------------------------------------------------

  void dry_run(const Account& in, const std::vector<FolderInfo>& folders) {
    const std::vector<PlannedFolder> plan = plan_names(nullptr, folders);
    try {
      for (std::size_t i = 0; i < folders.size(); ++i) {
        plan_folder(in, folders[i], plan[i]);
        if (options_.on_folder_done) options_.on_folder_done(result_, result_.folders.back());
      }
      if (options_.sync) settle_vanished_folders(nullptr);
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot read the account: {}", e.what()));
    }
  }

  void plan_folder(const Account& in, const FolderInfo& folder, const PlannedFolder& planned) {
    result_.folders.push_back(
        FolderResult{.name = folder.name, .target_name = planned.target, .rename_note = planned.note});
    FolderResult& r = result_.folders.back();
    DoneSet done(state_.done_messages(key_, folder.name));
    const bool uids_known = source_uids_known(folder, state_.folder_mark(key_, folder.name));
    bool clean = true;
    std::uint64_t unknown_flags = 0;
    if (folder.selectable) {
      const std::unique_ptr<Folder> box = in.open_folder(folder);
      clean = scan_source(
          *box, folder.name, r,
          [&](const MessageInfo& m, const MessageKey& key) {
            const DoneMessage* row = done.see(key);
            if (row == nullptr) {
              ++r.would_copy;
              r.bytes += m.size;
              log_message("would copy", folder.name, key, &m, std::nullopt);
              return;
            }
            ++r.already;
            if (!options_.sync) return;
            if (!row->flags) {
              ++unknown_flags;
            } else if (*row->flags != MessageFlags::of(m)) {
              ++(row->uid ? r.flag_changes : r.flags_unapplied);
              log_message("would change flags of", folder.name, key, &m, row->uid);
            }
          },
          uids_known ? &done.by_source_uid() : nullptr);
    }
    if (unknown_flags != 0) {
      r.note = fmt::format(
          "{} copied by an earlier mailmig without their flags: compared with the target's on sync",
          unknown_flags);
    }
    if (options_.sync) {
      count_deletions(folder.name, done.unseen(), clean, r);
      // As the real run reports it: what another source (the backup) copied is kept.
      r.other_source_kept = done.unseen_from_other_sources();
    }
  }

  // Deleted on the source: counted, and listed in a dry run; `clean` = the scan may be trusted.
  void count_deletions(const std::string& folder, const std::vector<DoneMessage>& gone, bool clean,
                       FolderResult& r) {
    r.deleted_on_source = gone.size();
    if (gone.empty()) return;
    if (!clean) {
      r.note = join_notes(
          r.note, "the source folder could not be read completely: nothing is deleted from the target");
      return;
    }
    if (!options_.dry_run) return;
    const char* action = options_.delete_removed ? "would delete" : "deleted on the source, kept:";
    for (const DoneMessage& g : gone) log_message(action, folder, g.key, nullptr, g.uid);
  }

  // ---- copying ------------------------------------------------------------------------

  void reconcile(TargetFolder& out, const std::string& folder, const FolderMark& mark, FolderResult& r) {
    std::vector<MessageKey> pending = state_.pending(key_, folder);
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
    // UIDs per hash, highest first so pop_back() hands them out in UID order:
    // identical messages get their UIDs in the order they were sent (by ordinal).
    std::map<std::string, std::vector<std::uint32_t>> found;
    for (const auto& [uid, sha] : out.hashes_from(mark.uidnext.value_or(1))) found[sha].push_back(uid);
    for (auto& [sha, uids] : found) std::sort(uids.rbegin(), uids.rend());
    std::sort(pending.begin(), pending.end());
    for (const MessageKey& k : pending) {
      std::vector<std::uint32_t>& uids = found[k.sha256];
      if (uids.empty()) {
        state_.drop(key_, folder, k);
        continue;
      }
      state_.mark_done(key_, folder, k, uids.back());
      uids.pop_back();
      ++r.reconciled;
      ++progress_;
    }
    state_.flush();
    spdlog::info("{} {}: {} of {} messages in flight at the last stop were found on the target", key_, folder,
                 r.reconciled, pending.size());
  }

  void migrate_folder(const Account& in, const FolderInfo& folder, const PlannedFolder& planned,
                      TargetAccount& out_account) {
    result_.folders.push_back(FolderResult{.name = folder.name});
    partial_ = true;
    FolderResult& r = result_.folders.back();
    std::vector<Queued> queued;
    auto on_result = [&](std::size_t i, const Delivery& d) {
      const Queued& q = queued[i];
      if (d.ok) {
        state_.mark_done(key_, folder.name, q.record.key, d.uid);
        ++r.copied;
        ++progress_;
        r.bytes += q.record.size;
        if (!d.error.empty()) {  // delivered, with a loss the target could not avoid (e.g. KEYWORDS-DROPPED)
          problem(Problem{.scope = Scope::Message,
                          .file = q.file,
                          .offset = q.offset,
                          .message = fmt::format("delivered, but {} ({})", d.error, d.code)},
                  folder.name);
        }
        return;
      }
      state_.drop(key_, folder.name, q.record.key);
      ++r.failed;
      if (d.code == "OVERQUOTA" && !over_quota_) {
        over_quota_ = true;
        over_quota_note_ = d.error;
      }
      problem(Problem{.scope = Scope::Message,
                      .file = q.file,
                      .offset = q.offset,
                      .message = fmt::format("target refused the message: {}", d.error)},
              folder.name);
    };
    std::unique_ptr<TargetFolder> out = out_account.open_folder(planned.target, folder.subscribed, on_result);
    r.target_name = out->display_name();
    r.rename_note = join_notes(planned.note, out->rename_note());
    // Before the mark is compared and noted: keeping the source's UIDs may
    // give a new target folder the source's UIDVALIDITY.
    if (folder.uidvalidity && out->keep_uids(*folder.uidvalidity)) {
      spdlog::debug("{} {}: source UIDs kept (UIDVALIDITY {})", key_, folder.name, *folder.uidvalidity);
    }

    FolderMark mark = state_.folder_mark(key_, folder.name);
    if (mark.uidvalidity && out->uidvalidity() && *mark.uidvalidity != *out->uidvalidity()) {
      problem(Problem{.scope = Scope::Folder,
                      .message =
                          fmt::format("target folder {} was recreated (UIDVALIDITY {} -> {}): what the state "
                                      "says was copied is gone; copying the folder again",
                                      r.target_name, *mark.uidvalidity, *out->uidvalidity())},
              folder.name);
      state_.forget_folder(key_, folder.name);
      mark = {};
    }
    reconcile(*out, folder.name, mark, r);
    const bool uids_known = source_uids_known(folder, mark);
    state_.set_folder_mark(key_, folder.name, r.target_name, planned.target,
                           FolderMark{out->uidvalidity(), out->uidnext(), folder.uidvalidity});

    DoneSet done(state_.done_messages(key_, folder.name));
    std::vector<FlagChange> changes;
    bool clean = true;
    TargetContents found;
    const FolderCopy copy{
        .in = in, .folder = folder, .target_folder = planned.target, .out_account = out_account, .out = *out};
    if (folder.selectable) clean = copy_new_messages(copy, queued, done, found, uids_known, changes, r);
    r.target_hashed = found.hashed();
    r.other_source_kept = done.unseen_from_other_sources();
    state_.flush();
    if (options_.sync) {
      apply_flag_changes(out_account, planned.target, *out, folder.name, changes, r);
      settle_deletions(in, folder, *out, done.unseen(), clean, r);
    }
    state_.flush();
    partial_ = false;
  }

  // Appends what neither the state nor the target has; notes the flag changes of what the state has.
  bool copy_new_messages(const FolderCopy& c, std::vector<Queued>& queued, DoneSet& done,
                         TargetContents& found, bool uids_known, std::vector<FlagChange>& changes,
                         FolderResult& r) {
    const FolderInfo& folder = c.folder;
    c.out.set_before_send([&](const std::vector<std::size_t>& indices) {
      std::vector<PendingMessage> records;
      records.reserve(indices.size());
      for (std::size_t i : indices) records.push_back(queued[i].record);
      state_.mark_pending(key_, folder.name, records);
    });
    const std::unique_ptr<Folder> box = c.in.open_folder(folder);
    const Folder* reader = box.get();
    // Source UIDs are recorded only under a UIDVALIDITY, or they mean nothing.
    const auto source_uid = [&](const MessageInfo& m) { return folder.uidvalidity ? m.uid : std::nullopt; };
    const bool clean = scan_source(
        *box, folder.name, r,
        [&](const MessageInfo& m, MessageKey key) {
          if (const DoneMessage* row = done.see(key)) {
            ++r.already;
            // Found by content (first run with UIDs, the source's UIDVALIDITY
            // changed, or first seen from this source): note its UID now.
            if (row->source_uid != source_uid(m) || row->other_source) {
              state_.set_source_uid(key_, folder.name, key, source_uid(m));
            }
            if (options_.sync) note_flag_change(*row, m, folder.name, changes, r);
            return;
          }
          PendingMessage record{std::move(key), m.size, MessageFlags::of(m), source_uid(m)};
          if (adopt_from_target(c, done, found, record, m, changes, r)) return;
          log_message("copy", folder.name, record.key, &m, std::nullopt);
          queued.push_back(Queued{std::move(record), m.file, m.offset});
          c.out.add(m, [reader, m] { return std::make_unique<CrlfReader>(reader->open(m)); });
        },
        uids_known ? &done.by_source_uid() : nullptr);
    c.out.finish();
    return clean;
  }

  // A message the state does not know may still be on the target: put there
  // by a run with another (or a lost) state, or from another source of the
  // same mail. The folder is read once, when it holds more than the state
  // accounts for and a message is about to be appended; a message found
  // there by content is recorded instead of appended.
  bool adopt_from_target(const FolderCopy& c, const DoneSet& done, TargetContents& found,
                         PendingMessage& record, const MessageInfo& m, std::vector<FlagChange>& changes,
                         FolderResult& r) {
    if (!found.loaded()) {
      if (c.out.existing_messages() <= done.size()) return false;
      found.load(c.out_account, c.target_folder, done.target_uids());
      spdlog::info(
          "{} {}: the target holds {} messages, the state knows {}: {} read to find copies made elsewhere",
          key_, c.folder.name, c.out.existing_messages(), done.size(), found.hashed());
    }
    std::optional<TargetContents::Found> stored = found.claim(record.key.sha256);
    if (!stored) return false;
    ++r.found_on_target;
    log_message("found on the target", c.folder.name, record.key, &m, stored->uid);
    // The row holds the flags the target has: a sync applies the source's difference.
    const MessageFlags source_flags = std::move(record.flags);
    record.flags = stored->flags;
    state_.adopt(key_, c.folder.name, record, stored->uid);
    if (options_.sync && source_flags != stored->flags) {
      changes.push_back(
          FlagChange{.key = record.key, .uid = stored->uid, .before = stored->flags, .after = source_flags});
    }
    return true;
  }

  // ---- stage-2 sync: flags --------------------------------------------------------

  void note_flag_change(const DoneMessage& row, const MessageInfo& m, const std::string& folder,
                        std::vector<FlagChange>& changes, FolderResult& r) {
    MessageFlags now = MessageFlags::of(m);
    if (row.flags && *row.flags == now) return;
    if (!row.uid) {
      // Without its UID the target message cannot be addressed (the server
      // gave none: no UIDPLUS); reported once per folder by apply_flag_changes.
      if (row.flags) ++r.flags_unapplied;
      return;
    }
    log_message("flags changed", folder, row.key, &m, row.uid);
    changes.push_back(
        FlagChange{.key = row.key, .uid = *row.uid, .before = row.flags, .after = std::move(now)});
  }

  // Applies each change as a delta, so a flag set on the target meanwhile
  // survives unless the source changed that same flag.
  void apply_flag_changes(TargetAccount& out_account, const std::string& target, TargetFolder& out,
                          const std::string& folder, const std::vector<FlagChange>& changes,
                          FolderResult& r) {
    if (r.flags_unapplied != 0) {
      problem(Problem{.scope = Scope::Folder,
                      .message = fmt::format(
                          "{} messages changed flags on the source, but the target never told "
                          "their UIDs (no UIDPLUS): flag changes cannot be applied in this folder",
                          r.flags_unapplied)},
              folder);
    }
    if (changes.empty()) return;
    const std::map<std::uint32_t, MessageFlags> unknown =
        target_flags_of_unknown(out_account, target, changes);
    for (const FlagChange& c : changes) {
      MessageFlags before;
      if (c.before) {
        before = *c.before;
      } else if (const auto it = unknown.find(c.uid); it != unknown.end()) {
        // Which of the target's keywords came from the source is not known:
        // none is removed, the source's missing ones are added.
        before.flags = it->second.flags;
        std::set_intersection(c.after.keywords.begin(), c.after.keywords.end(), it->second.keywords.begin(),
                              it->second.keywords.end(), std::back_inserter(before.keywords));
      } else {
        continue;  // gone from the target: nothing to change
      }
      const Flags add = c.after.flags & ~before.flags;
      const Flags remove = before.flags & ~c.after.flags;
      const auto add_keywords = difference(c.after.keywords, before.keywords);
      const auto remove_keywords = difference(before.keywords, c.after.keywords);
      if (add != 0 || remove != 0 || !add_keywords.empty() || !remove_keywords.empty()) {
        out.change_flags(c.uid, add, remove, add_keywords, remove_keywords);
        ++r.flag_changes;
      }
      state_.set_flags(key_, folder, c.key, c.after);
    }
  }

  // The target's flags of messages copied before the state recorded source
  // flags (schema 1): the delta is taken against what the target holds.
  static std::map<std::uint32_t, MessageFlags> target_flags_of_unknown(
      TargetAccount& out_account, const std::string& target, const std::vector<FlagChange>& changes) {
    std::set<std::uint32_t> wanted;
    for (const FlagChange& c : changes) {
      if (!c.before) wanted.insert(c.uid);
    }
    std::map<std::uint32_t, MessageFlags> out;
    if (wanted.empty()) return out;
    out_account.read_folder(
        target, [](const StoredMessage&) { return false; },
        [&](const StoredMessage& s) {
          if (!wanted.contains(s.uid)) return;
          MessageFlags f{.flags = s.flags, .keywords = s.keywords};
          std::sort(f.keywords.begin(), f.keywords.end());
          f.keywords.erase(std::unique(f.keywords.begin(), f.keywords.end()), f.keywords.end());
          out.emplace(s.uid, std::move(f));
        });
    return out;
  }

  // ---- stage-2 sync: deletions ----------------------------------------------------

  void settle_deletions(const Account& in, const FolderInfo& folder, TargetFolder& out,
                        std::vector<DoneMessage> gone, bool clean, FolderResult& r) {
    count_deletions(folder.name, gone, clean, r);
    if (gone.empty() || !clean || !options_.delete_removed) return;
    if (options_.live_source && folder.selectable && !confirm_gone(in, folder, gone)) {
      r.note = join_notes(r.note,
                          "the running server changed the folder while it was read: nothing is deleted "
                          "from the target this time");
      return;
    }
    remove_from_target(out, folder.name, gone, r);
  }

  // A live store's mailbox may be rewritten while it is read: a second scan
  // must agree before anything is removed. Keeps in `gone` what both missed.
  bool confirm_gone(const Account& in, const FolderInfo& folder, std::vector<DoneMessage>& gone) {
    std::set<MessageKey> seen;
    FolderResult scratch;
    const std::unique_ptr<Folder> box = in.open_folder(folder);
    const bool clean = scan_source(*box, folder.name, scratch,
                                   [&](const MessageInfo&, MessageKey key) { seen.insert(std::move(key)); });
    if (!clean) return false;
    std::erase_if(gone, [&](const DoneMessage& g) { return seen.contains(g.key); });
    return true;
  }

  // Only messages the state says this tool copied, by their UIDs: mail that
  // arrived on the target directly is never touched.
  void remove_from_target(TargetFolder& out, const std::string& folder, const std::vector<DoneMessage>& gone,
                          FolderResult& r) {
    std::vector<std::uint32_t> uids;
    std::vector<MessageKey> keys;
    for (const DoneMessage& g : gone) {
      if (!g.uid) continue;
      uids.push_back(*g.uid);
      keys.push_back(g.key);
      log_message("remove", folder, g.key, nullptr, g.uid);
    }
    if (!uids.empty()) {
      out.remove(uids);
      state_.forget_messages(key_, folder, keys);
      r.removed += uids.size();
    }
    if (const std::size_t unknown = gone.size() - uids.size(); unknown != 0) {
      problem(Problem{.scope = Scope::Folder,
                      .message =
                          fmt::format("{} messages deleted on the source cannot be removed from the target: "
                                      "the target never told their UIDs (no UIDPLUS)",
                                      unknown)},
              folder);
    }
  }

  // Folders the state knows that the source no longer lists: their copied
  // messages were deleted on the source. The target folder itself stays.
  // `out` is null in a dry run.
  void settle_vanished_folders(TargetAccount* out) {
    std::vector<FolderRecord> vanished;
    for (FolderRecord& record : state_.folders(key_)) {
      if (!source_folders_.contains(record.folder)) vanished.push_back(std::move(record));
    }
    for (const FolderRecord& record : vanished) {
      std::vector<DoneMessage> gone = state_.done_messages(key_, record.folder);
      if (gone.empty()) continue;
      result_.folders.push_back(
          FolderResult{.name = record.folder, .target_name = record.target_display, .vanished = true});
      partial_ = true;
      FolderResult& r = result_.folders.back();
      // The listing had problems: a folder missing from it may only be unreadable.
      count_deletions(record.folder, gone, listing_clean_, r);
      if (out != nullptr && listing_clean_ && options_.delete_removed) remove_vanished(*out, record, gone, r);
      partial_ = false;
      if (options_.on_folder_done) options_.on_folder_done(result_, r);
    }
  }

  void remove_vanished(TargetAccount& out_account, const FolderRecord& record,
                       const std::vector<DoneMessage>& gone, FolderResult& r) {
    const std::string target = record.target.empty() ? record.folder : record.target;
    const std::vector<std::string> existing = out_account.folders();
    if (std::find(existing.begin(), existing.end(), target) == existing.end()) {
      state_.forget_folder(key_, record.folder);
      r.note = "gone from the target as well";
      return;
    }
    std::unique_ptr<TargetFolder> out =
        out_account.open_folder(target, false, [](std::size_t, const Delivery&) {});
    const FolderMark mark = state_.folder_mark(key_, record.folder);
    if (mark.uidvalidity && out->uidvalidity() && *mark.uidvalidity != *out->uidvalidity()) {
      // Recreated since: its UIDs are not the ones we copied.
      state_.forget_folder(key_, record.folder);
      r.note = "the target folder was recreated since: nothing removed";
      return;
    }
    remove_from_target(*out, record.folder, gone, r);
    if (r.removed == gone.size()) state_.forget_folder(key_, record.folder);
  }

  Source& source_;
  const AccountInfo& account_;
  Target& target_;
  State& state_;
  const MigrateOptions& options_;
  ProblemSink& sink_;
  std::string key_;  // the state's key: the source account
  TargetAccountName target_name_;
  AccountResult result_;
  std::vector<PlannedFolder> plan_;  // target names, fixed at the first login
  std::set<std::string> source_folders_;
  bool listing_clean_ = true;  // the source listed its folders without problems
  bool partial_ = false;
  bool gave_up_ = false;
  unsigned login_retries_ = 0;
  unsigned drops_ = 0;                  // connections to the target lost during this account
  std::uint64_t progress_ = 0;          // messages confirmed on the target (appended or reconciled)
  std::uint64_t progress_at_drop_ = 0;  // progress_ when the last connection was lost
  unsigned folders_failed_ = 0;         // folders the target refused (each reported)
  bool created_earlier_ = false;        // the user exists because an earlier run of ours created it
  bool over_quota_ = false;             // a message was refused over quota: the account stops
  std::string over_quota_note_;
};

}  // namespace

std::string account_key(const AccountInfo& account) {
  return account.name + "@" + account.domain;
}

AccountResult migrate_account(Source& source, const AccountInfo& account, Target& target, State& state,
                              const MigrateOptions& options, ProblemSink& sink) {
  return AccountRun(source, account, target, state, options, sink).run();
}

}  // namespace mailmig
