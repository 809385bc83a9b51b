// The executor: carries out the planner's actions for one folder against a
// TargetAccount and records each in the run state (write-ahead before an
// APPEND, done with its UID after). Failures keep their scope: a refused
// message is counted and reported here and the next one goes on; a
// ScopedError of folder or account scope and any other exception (the
// connection is gone) leave it for the driver (account_driver.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/account_context.h"
#include "engine/folder_plan.h"
#include "engine/naming.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig {

class FolderExecutor {
 public:
  FolderExecutor(const AccountContext& ctx, PlanOptions plan) : ctx_(ctx), plan_(plan) {}

  // Copies one folder into `planned.target`: reconciles what a crash left
  // pending, appends what neither the state nor the target has, and with a
  // sync applies flag changes and deletions. Counts into `r`.
  void copy_folder(const Account& in, const FolderInfo& folder, const PlannedFolder& planned,
                   TargetAccount& out_account, FolderResult& r);
  // A dry run: what copy_folder() would do, from the state and the source only.
  void preview_folder(const Account& in, const FolderInfo& folder, FolderResult& r);
  // A folder the state knows and the source no longer lists: its copied
  // messages were deleted on the source (`listing_clean`: the listing may be
  // trusted). `out` is null in a dry run. The target folder itself stays.
  void settle_vanished_folder(TargetAccount* out, const FolderRecord& record,
                              const std::vector<DoneMessage>& gone, bool listing_clean, FolderResult& r);

  // Messages confirmed on the target (appended or reconciled) so far: a
  // dropped connection after progress is not counted towards giving up.
  [[nodiscard]] std::uint64_t progress() const { return progress_; }
  // The target refused a message over quota (its words): the account stops after this folder.
  [[nodiscard]] const std::optional<std::string>& over_quota() const { return over_quota_; }

 private:
  struct Queued;
  struct Copy;

  void reconcile(TargetFolder& out, const std::string& folder, const FolderMark& mark, FolderResult& r);
  bool copy_new_messages(const Copy& c, std::vector<Queued>& queued, DoneSet& done, bool uids_known,
                         std::vector<FlagChange>& changes, FolderResult& r);
  bool adopt_from_target(const Copy& c, const DoneSet& done, TargetContents& found, PendingMessage& record,
                         const MessageInfo& m, std::vector<FlagChange>& changes, FolderResult& r);
  void apply_flag_changes(TargetAccount& out_account, const std::string& target, TargetFolder& out,
                          const std::string& folder, const std::vector<FlagChange>& changes, FolderResult& r);
  void settle_deletions(const Account& in, const FolderInfo& folder, TargetFolder& out,
                        std::vector<DoneMessage> gone, bool clean, FolderResult& r);
  bool confirm_gone(const Account& in, const FolderInfo& folder, std::vector<DoneMessage>& gone);
  void remove_from_target(TargetFolder& out, const std::string& folder, const std::vector<DoneMessage>& gone,
                          FolderResult& r);
  void remove_vanished(TargetAccount& out_account, const FolderRecord& record,
                       const std::vector<DoneMessage>& gone, FolderResult& r);
  void count_deletions(const std::string& folder, const std::vector<DoneMessage>& gone, bool clean,
                       FolderResult& r) const;

  const AccountContext& ctx_;
  PlanOptions plan_;
  std::uint64_t progress_ = 0;
  std::optional<std::string> over_quota_;
};

}  // namespace mailmig
