// The driver of the account engine: claims and provisions the account, runs
// the hooks, logs in, walks the folders, and decides what each failure's scope
// means: a message refused is the executor's (counted, the next one goes on);
// a folder refused is reported and the next folder is copied; an account-scoped
// failure (over quota, disk full, a source given up on) ends the account at
// once; any other exception is a lost target connection: reconnect as the
// retry policy says and resume from the state.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <set>

#include "core/error.h"
#include "core/retry_policy.h"
#include "engine/account_context.h"
#include "engine/folder_executor.h"
#include "engine/folder_plan.h"
#include "engine/hooks.h"
#include "engine/migrate.h"

namespace mailmig {

namespace {

class AccountRun {
 public:
  AccountRun(Source& source, const AccountInfo& account, Target& target, State& state,
             const MigrateOptions& options, ProblemSink& sink)
      : source_(source),
        target_(target),
        ctx_{.account = account,
             .key = account_key(account),
             .state = state,
             .options = options,
             .sink = sink},
        target_name_(target_account_name(options.naming, account)),
        executor_(ctx_, PlanOptions{.sync = options.sync,
                                    .delete_removed = options.delete_removed,
                                    .refuse_nonempty = options.refuse_nonempty}),
        reconnects_(options.reconnect),
        logins_(options.reconnect) {
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
      if (!options().dry_run && result_.status == "done" && (result_.failed != 0 || folders_failed_ != 0)) {
        result_.status = "failed";
      }
      after_hook();
      if (!options().dry_run) ctx_.state.set_account(ctx_.key, result_.status, result_.note);
    }
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(result_);
  }

 private:
  [[nodiscard]] const MigrateOptions& options() const { return ctx_.options; }
  [[nodiscard]] const AccountInfo& account() const { return ctx_.account; }

  void fail(const std::string& status, const std::string& note) {
    result_.status = status;
    result_.note = note;
    // `copy` names no file for the account's problems.
    ctx_.problem(Problem{
        .scope = Scope::Account, .file = options().stateless ? "" : account().location, .message = note});
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

  [[nodiscard]] std::vector<std::pair<std::string, std::string>> hook_env(const char* phase) const {
    return {{"MAILMIG_ACCOUNT", account().name},
            {"MAILMIG_DOMAIN", account().domain},
            {"MAILMIG_EMAIL", ctx_.key},
            {"MAILMIG_TARGET_ACCOUNT", target_name_.account},
            {"MAILMIG_TARGET_DOMAIN", target_name_.domain},
            {"MAILMIG_PHASE", phase}};
  }

  // False when the hook refused the account (it is then skipped).
  bool before_hook() {
    if (options().dry_run || options().hook_before_account.empty()) return true;
    const HookResult h = run_hook(options().hook_before_account, hook_env("before"), options().hook_timeout);
    if (h.exit_code == 0 && !h.timed_out) return true;
    fail("skipped", fmt::format("before-account hook {}: not migrated", hook_failure(h)));
    return false;
  }

  void after_hook() {
    if (options().dry_run || options().hook_after_account.empty()) return;
    auto env = hook_env("after");
    env.emplace_back("MAILMIG_STATUS", result_.status);
    env.emplace_back("MAILMIG_COPIED", std::to_string(result_.copied));
    const HookResult h = run_hook(options().hook_after_account, env, options().hook_timeout);
    if (h.exit_code == 0 && !h.timed_out) return;
    const std::string note = fmt::format("after-account hook {}", hook_failure(h));
    result_.status = "failed";
    result_.note = join_notes(result_.note, note);
    ctx_.problem(Problem{.scope = Scope::Account, .file = account().location, .message = note});
  }

  // ---- provisioning ---------------------------------------------------------------

  // Returns false when the account must not be migrated.
  bool provision() {
    AccountProvisioning* p = options().provisioning;
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
      const auto earlier = ctx_.state.account_status(ctx_.key);
      const bool ours = earlier && *earlier != "exists";
      if (!options().force && !ours) {
        result_.status = "exists";
        result_.note =
            "already exists on the target: not migrated (use -force / --force to migrate its mail)";
        ctx_.problem(Problem{.scope = Scope::Account, .message = result_.note});
        return false;
      }
      // Created by an earlier run, perhaps a moment ago (killed right after
      // creating it): the server may not see it yet either.
      created_earlier_ = ours;
      return true;  // -force: migrate its mail, leave its password as it is
    }
    if (options().dry_run) {
      result_.note = "would be created";
      return true;
    }
    // Recorded before the user exists, so a crash right after create() still
    // lets the next run recognise the user as its own.
    ctx_.state.set_account(ctx_.key, "creating");
    try {
      p->create(user, domain, account());
      result_.created = true;
      spdlog::info("{}: created on the target as {} ({})", ctx_.key, target_name_.key(), p->describe());
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot create the user on the target: {}", e.what()));
      return false;
    }
    return true;
  }

  // ---- the account ----------------------------------------------------------------

  void run_inner() {
    std::shared_ptr<void> claim;
    if (options().claim_account && !options().dry_run) {
      std::string holder;
      claim = options().claim_account(target_name_.key(), holder);
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
      in = source_.open_account(account());
      folders = in->folders([&](Problem p) {
        listing_clean_ = false;
        ctx_.problem(std::move(p));
      });
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot read the account: {}", e.what()));
      return;
    }
    for (const FolderInfo& f : folders) source_folders_.insert(f.name);
    if (options().dry_run) {
      dry_run(*in, folders);
      return;
    }
    ctx_.state.set_account(ctx_.key, "running");
    copy_folders(*in, folders);
  }

  void copy_folders(const Account& in, const std::vector<FolderInfo>& folders) {
    std::size_t next_folder = 0;
    bool vanished_done = !options().sync;  // folders gone from the source: a sync settles them last
    std::uint64_t progress_at_drop = 0;
    while ((next_folder < folders.size() || !vanished_done) && !ctx_.stopping()) {
      std::unique_ptr<TargetAccount> out = open_target();
      if (!out) {
        if (gave_up_) return;
        continue;
      }
      out->set_connection_drops(drops_);
      try {
        if (plan_.size() != folders.size()) plan_ = plan_names(out.get(), folders);
        for (; next_folder < folders.size() && !ctx_.stopping(); ++next_folder) {
          if (!copy_one_folder(in, folders[next_folder], plan_[next_folder], *out)) return;
          reconnects_.progress();
        }
        if (!vanished_done && !ctx_.stopping()) {
          settle_vanished_folders(out.get());
          vanished_done = true;
        }
        out->close();
      } catch (const std::exception& e) {
        ++drops_;  // the next connection appends in smaller commands
        // Only attempts that confirmed nothing count towards giving up: a link
        // that drops every few hundred KB still finishes the account, and the
        // number of attempts stays bounded (each one confirms a message).
        const bool progress = executor_.progress() != progress_at_drop;
        progress_at_drop = executor_.progress();
        const bool again =
            reconnect(e.what(), progress, next_folder < folders.size() ? folders[next_folder].name : "");
        // The folder's result so far is dropped: the retry counts it again
        // from state (a stateless copy that stops keeps what it counted).
        if (in_folder_ && (again || !options().stateless)) result_.folders.pop_back();
        in_folder_ = false;
        if (!again) return;
      }
    }
    if (ctx_.stopping() && (next_folder < folders.size() || !vanished_done)) {
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
    FolderResult& r = begin_folder(FolderResult{.name = folder.name});
    try {
      executor_.copy_folder(in, folder, planned, out, r);
      in_folder_ = false;
      if (executor_.over_quota()) {
        fail("failed",
             fmt::format("the target refused messages over quota ({}): raise the quota or free space, "
                         "then run the same command again",
                         *executor_.over_quota()));
        return false;
      }
    } catch (const ScopedError& e) {
      in_folder_ = false;
      ctx_.state.flush();
      if (e.scope() != Scope::Folder && e.scope() != Scope::Message) {
        const bool quota = e.code() == "OVERQUOTA";
        fail("failed",
             quota
                 ? fmt::format("{}: raise the quota or free space, then run the same command again", e.what())
                 : std::string(e.what()));
        return false;
      }
      ++folders_failed_;
      FolderResult& failed = result_.folders.back();
      failed.refused = true;
      failed.note = join_notes(failed.note, fmt::format("FAILED: {}", e.what()));
      ctx_.problem(Problem{.scope = Scope::Folder, .message = e.what()}, folder.name);
    }
    if (result_.folders.back().skipped) ++folders_failed_;
    if (options().on_folder_done) options().on_folder_done(result_, result_.folders.back());
    return true;
  }

  FolderResult& begin_folder(FolderResult r) {
    result_.folders.push_back(std::move(r));
    in_folder_ = true;
    return result_.folders.back();
  }

  // Logs in on the target; null when that failed (gave_up_ says whether for good).
  std::unique_ptr<TargetAccount> open_target() {
    try {
      const std::string password =
          options().login_password ? options().login_password(account()) : std::string();
      return target_.open_account(target_name_.account, target_name_.domain, password);
    } catch (const TargetAuthError& e) {
      // A user created a moment ago may not be visible to the IMAP server yet
      // (passwd-file re-read once a second, directory replication): retried as the policy says.
      if (result_.created || created_earlier_) {
        if (const auto wait = logins_.after_failure()) {
          logins_.wait(*wait);
          return nullptr;
        }
      }
      result_.not_logged_in = true;
      fail("failed", fmt::format("login on the target failed: {}", e.what()));
    } catch (const std::exception& e) {
      if (options().stateless) {
        result_.not_logged_in = true;
        fail("failed", fmt::format("cannot connect to the target: {}", e.what()));
      } else if (reconnect(e.what(), false, "")) {
        return nullptr;
      }
    }
    gave_up_ = true;
    return nullptr;
  }

  // After a lost connection: waits and returns true, or reports that the
  // account gives up and returns false.
  bool reconnect(const std::string& why, bool progress, const std::string& folder) {
    const auto wait = reconnects_.after_failure(progress);
    if (!wait) {
      gave_up_ = true;
      if (options().stateless) {
        // No state to resume from: the account stops, the run goes on.
        result_.status = "failed";
        result_.note = fmt::format("copy stopped: {}", why);
        ctx_.problem(Problem{.scope = Scope::Account, .message = result_.note}, folder);
        return false;
      }
      fail("failed", fmt::format("gave up after {} attempts in a row without progress: {}",
                                 reconnects_.failures(), why));
      return false;
    }
    spdlog::warn("{}: {}; reconnecting in {} ms (attempt {} of {})", ctx_.key, why, wait->count(),
                 reconnects_.failures(), options().reconnect.attempts);
    ctx_.state.flush();
    reconnects_.wait(*wait);
    return true;
  }

  // Target folder names: the naming rules, collisions resolved, and the names
  // earlier runs used kept (rows from before schema 2 used the source name).
  std::vector<PlannedFolder> plan_names(TargetAccount* out, const std::vector<FolderInfo>& folders) {
    std::map<std::string, std::string> earlier;
    for (const FolderRecord& record : ctx_.state.folders(ctx_.key)) {
      earlier[record.folder] = record.target.empty() ? record.folder : record.target;
    }
    // Without a target (dry run) the server's own adjustments are not known.
    const std::function<std::string(const std::string&)> stored_name = [out](const std::string& name) {
      return out != nullptr ? out->stored_name(name) : name;
    };
    return plan_folder_names(options().naming, folders, stored_name, earlier);
  }

  // Folders the state knows that the source no longer lists: their copied
  // messages were deleted on the source. `out` is null in a dry run.
  void settle_vanished_folders(TargetAccount* out) {
    for (const FolderRecord& record : vanished_folders(ctx_.state.folders(ctx_.key), source_folders_)) {
      std::vector<DoneMessage> gone = ctx_.state.done_messages(ctx_.key, record.folder);
      if (gone.empty()) continue;
      FolderResult& r = begin_folder(
          FolderResult{.name = record.folder, .target_name = record.target_display, .vanished = true});
      executor_.settle_vanished_folder(out, record, gone, listing_clean_, r);
      in_folder_ = false;
      if (options().on_folder_done) options().on_folder_done(result_, r);
    }
  }

  void dry_run(const Account& in, const std::vector<FolderInfo>& folders) {
    const std::vector<PlannedFolder> plan = plan_names(nullptr, folders);
    try {
      for (std::size_t i = 0; i < folders.size(); ++i) {
        FolderResult& r = begin_folder(FolderResult{
            .name = folders[i].name, .target_name = plan[i].target, .rename_note = plan[i].note});
        executor_.preview_folder(in, folders[i], r);
        in_folder_ = false;
        if (options().on_folder_done) options().on_folder_done(result_, r);
      }
      if (options().sync) settle_vanished_folders(nullptr);
    } catch (const std::exception& e) {
      fail("failed", fmt::format("cannot read the account: {}", e.what()));
    }
  }

  Source& source_;
  Target& target_;
  AccountContext ctx_;
  TargetAccountName target_name_;
  FolderExecutor executor_;
  AccountResult result_;
  std::vector<PlannedFolder> plan_;  // target names, fixed at the first login
  std::set<std::string> source_folders_;
  bool listing_clean_ = true;  // the source listed its folders without problems
  bool in_folder_ = false;     // the last folder result is of a folder being copied
  bool gave_up_ = false;
  Retries reconnects_;            // lost target connections in a row without progress
  bool created_earlier_ = false;  // the user exists because an earlier run of ours created it
  Retries logins_;                // refused logins of a user created a moment ago
  unsigned drops_ = 0;            // connections to the target lost during this account
  unsigned folders_failed_ = 0;   // folders the target refused or that were skipped (each reported)
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
