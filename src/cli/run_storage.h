// What a migrate/sync run keeps on disk: the state directory's lock, the
// state, and the .pass file of the users it creates.
#pragma once

#include <memory>
#include <string>

#include "core/lock_file.h"
#include "engine/state.h"
#include "provision/passwords.h"

namespace mailmig::cli {

struct RunStorage {
  std::unique_ptr<LockFile> lock;       // null for a dry run
  std::unique_ptr<State> state;         // in memory for a dry run without a state
  std::unique_ptr<PassFile> pass_file;  // null unless users may be created
};

struct RunStorageOptions {
  std::string state_dir;
  std::string source_spec;        // the source the state is of
  bool dry_run = false;           // touches nothing: no lock, no state created, no .pass file
  bool creates_users = false;     // a provisioner is set
  std::string password_file_out;  // the .pass file; empty: <prefix>_<datetime>.pass
  std::string file_prefix;
};

// Throws std::runtime_error (another run holds the state, a file that cannot
// be created).
RunStorage open_run_storage(const RunStorageOptions& o);

// Claims `target_account` of `target_spec` on this machine for this run;
// null when another run holds it, with who in `holder`. Without a lock
// directory we may write the claim is granted (the state's own lock still
// keeps runs on one state apart).
std::shared_ptr<void> claim_target_account(const std::string& target_spec, const std::string& target_account,
                                           std::string& holder);

}  // namespace mailmig::cli
