#include "engine/copy.h"

#include <utility>

#include "engine/migrate.h"
#include "engine/state.h"

namespace mailmig {

namespace {

FolderCopy copy_of(const FolderResult& f) {
  return FolderCopy{.name = f.name,
                    .target_name = f.target_name,
                    .source_messages = f.source_messages,
                    .copied = f.copied,
                    .failed = f.failed,
                    .bytes = f.bytes,
                    .skipped = f.skipped || f.refused,
                    .refused = f.refused,
                    .note = f.note,
                    .rename_note = f.rename_note};
}

}  // namespace

AccountCopy copy_account(Source& source, const AccountInfo& account, Target& target,
                         const std::string& user_password, const CopyOptions& options, ProblemSink& sink) {
  // The run's own record of what it copied: a reconnect could resume from it,
  // but copy gives up at the first lost connection (it cannot know what an
  // earlier run stored), so it only serves the one engine's bookkeeping.
  State scratch(":memory:");
  MigrateOptions engine;
  engine.login_password = [&user_password](const AccountInfo&) { return user_password; };
  engine.reconnect.attempts = 0;
  engine.stateless = true;
  engine.refuse_nonempty = !options.allow_nonempty;
  AccountCopy report{.domain = account.domain, .account = account.name};
  if (options.on_folder_done) {
    engine.on_folder_done = [&](const AccountResult& a, const FolderResult& f) {
      // A folder the target refused was reported as a problem; copy prints no line for it.
      if (f.refused) return;
      report.copied = 0;
      for (const FolderResult& done : a.folders) report.copied += done.copied;
      options.on_folder_done(report, copy_of(f));
    };
  }
  const AccountResult result = migrate_account(source, account, target, scratch, engine, sink);
  report.login_failed = result.not_logged_in;
  report.copied = result.copied;
  report.failed = result.failed;
  report.bytes = result.bytes;
  for (const FolderResult& f : result.folders) report.folders.push_back(copy_of(f));
  return report;
}

}  // namespace mailmig
