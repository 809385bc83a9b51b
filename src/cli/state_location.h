// Where a run keeps its state when --state is not given, and the locks that
// keep two runs apart. Nothing here depends on the working directory: the
// same command started anywhere finds the same state, and every source of
// the same target (a backup import, then the live host) shares one state.
#pragma once

#include <memory>
#include <string>

#include "core/lock_file.h"

namespace mailmig::cli {

// $MAILMIG_STATE_HOME; else /var/lib/mailmig for root; else
// $XDG_STATE_HOME/mailmig or ~/.local/state/mailmig.
std::string state_home();

// A source or target spec in a stable form: scheme and host lower-cased, a Maildir
// path made absolute and canonical.
std::string spec_identity(const std::string& target_spec);

// state_home()/state/<hash of the target identity>.
std::string default_state_dir(const std::string& target_spec);

// Where versions before 0.2 kept the default state: under the working
// directory, per source and target. Used when it exists and the new one does not.
std::string legacy_state_dir(const std::string& source_root, const std::string& target_spec);

// The state directory a command uses: --state, else the default (or the
// legacy one an earlier run left in the working directory).
std::string choose_state_dir(const std::string& explicit_dir, const std::string& source_spec,
                             const std::string& target_spec);

// Holds the state directory for this run (exclusive: two runs writing one
// state at once would race). Throws std::runtime_error naming the other run.
std::unique_ptr<LockFile> lock_state_dir(const std::string& dir);

// The lock of one target account on this machine, whichever state a run
// uses: two runs appending to the same mailbox at once would each append
// what the other has not recorded yet.
std::string account_lock_path(const std::string& target_spec, const std::string& target_account);

}  // namespace mailmig::cli
