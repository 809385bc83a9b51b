// The account engine: one account from a Source to a Target with run state.
// Provision the user if needed, then per folder reconcile what a crash left
// pending, skip what is done, and append the rest with a write-ahead record.
// A re-run copies only what is missing; a dropped connection is retried as
// the retry policy says and resumed from state. With `sync`, flag changes and
// deletions on the source since the last run are carried over too (stage 1,
// 1b, ... final of a two-stage migration). `copy` is the same engine with an
// in-memory state (engine/copy.h).
//
// Inside: the driver (account_driver.cpp: open, reconnect, folder loop, what
// each failure scope does), the planner (folder_plan.h: pure decisions) and
// the executor (folder_executor.h: the decisions applied to the target and
// recorded in the state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/problem.h"
#include "core/retry_policy.h"
#include "engine/account_provisioning.h"
#include "engine/naming.h"
#include "engine/state.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig {

struct FolderResult {
  std::string name;
  std::string target_name;
  std::string rename_note;
  std::uint64_t source_messages = 0;
  std::uint64_t already = 0;  // found in state (copied by an earlier run)
  std::uint64_t copied = 0;   // copied now
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;       // copied now
  std::uint64_t reconciled = 0;  // pending from a crash, found on the target
  // Not in the state but already on the target with the same content (copied
  // by another run, state or source): recorded, never appended again.
  std::uint64_t found_on_target = 0;
  std::uint64_t target_hashed = 0;      // target messages read to find those: the cost
  std::uint64_t other_source_kept = 0;  // copied from another source, not in this one: never deleted by it
  std::uint64_t would_copy = 0;         // dry run: not copied yet
  // Stage-2 sync (dry run: what would be done).
  std::uint64_t flag_changes = 0;       // messages whose changed source flags were applied to the target
  std::uint64_t flags_unapplied = 0;    // changed on the source, but the target UID is unknown (no UIDPLUS)
  std::uint64_t deleted_on_source = 0;  // copied earlier, no longer on the source
  std::uint64_t removed = 0;            // of those, removed from the target (--delete)
  bool vanished = false;                // the whole source folder is gone
  bool refused = false;                 // the target refused the folder (a problem of folder scope)
  bool skipped = false;                 // not copied: the target folder holds mail (copy's refusal)
  std::string note;                     // why deletions were held back, ...
};

struct AccountResult {
  std::string domain;
  std::string account;
  std::string status = "done";  // done | failed | skipped | exists | interrupted
  std::string note;
  std::string target_account;  // "account@domain" on the target (after --rename-map / --lowercase)
  std::vector<FolderResult> folders;
  std::uint64_t copied = 0;
  std::uint64_t already = 0;
  std::uint64_t found_on_target = 0;
  std::uint64_t target_hashed = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t flag_changes = 0;
  std::uint64_t deleted_on_source = 0;
  std::uint64_t removed = 0;
  bool created = false;
  bool not_logged_in = false;  // the target refused the login or could not be reached
  double seconds = 0;
};

struct MigrateOptions {
  bool force = false;  // migrate accounts that already exist on the target
  bool dry_run = false;
  AccountProvisioning* provisioning = nullptr;                    // creates missing users; null: none
  std::function<std::string(const AccountInfo&)> login_password;  // --auth user: the owner's password
  // Reconnecting to the target after a lost connection (and logging in as a
  // user created a moment ago, which the server may not see yet).
  RetryPolicy reconnect{.attempts = 3, .backoff = std::chrono::seconds(1)};
  const std::atomic<bool>* stop = nullptr;  // Ctrl-C: finish what is in flight, start nothing new
  std::function<void(const AccountResult&, const FolderResult&)> on_folder_done;

  // Stage-2 / re-sync (mailmig sync): also carry flag changes made on the
  // source since the message was copied, and with `delete_removed` remove from
  // the target what mailmig copied and the source no longer has.
  bool sync = false;
  bool delete_removed = false;
  NamingRules naming;               // target account and folder names
  std::string hook_before_account;  // run before an account; non-zero exit: account skipped
  std::string hook_after_account;   // run after it, with its status
  std::chrono::seconds hook_timeout{std::chrono::minutes(10)};
  // Claims the target account ("account@domain") for this run before
  // anything is created or appended; null when another run holds it, with
  // who in `holder`. Two runs appending to one mailbox at once would each
  // append what the other has not recorded yet. Unset: no claim.
  std::function<std::shared_ptr<void>(const std::string& target_account, std::string& holder)> claim_account;
  // The source is the store of a running server: before removing a message
  // from the target, the folder is read a second time to confirm it is gone
  // (a mailbox the server rewrites while we read must not cause deletions).
  bool live_source = false;

  // `copy`: the state is a scratch one in memory. A lost connection ends the
  // account ("copy stopped") and what was in flight is reported as of unknown
  // outcome; problems are worded as `copy` words them.
  bool stateless = false;
  // Never append into a target folder holding mail the state does not know
  // (`copy` without --allow-nonempty): the folder is reported and skipped.
  bool refuse_nonempty = false;
};

// The state key of an account: "account@domain".
std::string account_key(const AccountInfo& account);

AccountResult migrate_account(Source& source, const AccountInfo& account, Target& target, State& state,
                              const MigrateOptions& options, ProblemSink& sink);

}  // namespace mailmig
