// Many accounts through the account engine on a pool of workers, and what
// the run does when its own storage fails: what escapes an account is the
// state failing (a full disk), reported with the state's path; no further
// account starts, since each would fail alike. What was done is on the
// target and recorded. Accounts never started (Ctrl-C, or after such a
// failure) come back as "not started".
#pragma once

#include <functional>
#include <vector>

#include "engine/migrate.h"

namespace mailmig {

std::vector<AccountResult> migrate_accounts(Source& source, const std::vector<AccountInfo>& accounts,
                                            Target& target, State& state, const MigrateOptions& options,
                                            ProblemSink& sink, unsigned jobs,
                                            const std::function<void()>& on_account_done);

// Writes what the state still holds in memory; a failure is reported as one
// during the run would be.
void flush_run_state(State& state, ProblemSink& sink);

}  // namespace mailmig
