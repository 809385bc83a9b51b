// `mailmig copy`: the account engine (migrate.h) without persistent state. Its
// state lives in memory for the one run, and the planner refuses to append
// into a target folder that already holds mail, so running it twice cannot
// silently duplicate mail. A lost connection ends the account (nothing to
// resume from); the results keep copy's own shape for its report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/problem.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig {

struct FolderCopy {
  std::string name;         // neutral name
  std::string target_name;  // as shown by the target
  std::uint64_t source_messages = 0;
  std::uint64_t copied = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;  // copied bytes (RFC822.SIZE)
  bool skipped = false;     // the target folder held mail: nothing copied
  bool refused = false;     // the target refused the folder
  std::string note;         // why skipped
  std::string rename_note;  // how the name changed on the target, if it did
};

struct AccountCopy {
  std::string domain;
  std::string account;
  bool login_failed = false;
  std::vector<FolderCopy> folders;
  std::uint64_t copied = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
};

struct CopyOptions {
  bool allow_nonempty = false;  // append into folders that already hold mail
  std::function<void(const AccountCopy&, const FolderCopy&)> on_folder_done;  // progress lines
};

// Problems (refused messages, unreadable folders, lost connections) go to `sink`.
// Thread-safe for different accounts.
AccountCopy copy_account(Source& source, const AccountInfo& account, Target& target,
                         const std::string& user_password, const CopyOptions& options, ProblemSink& sink);

}  // namespace mailmig
