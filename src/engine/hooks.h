// --hook-before-account / --hook-after-account: an administrator's command
// run around each account (put the mailbox on hold, release it, ...), with the
// account in the environment, never in the command line the shell parses.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mailmig {

struct HookResult {
  int exit_code = 0;  // the command's exit status; 128+N when killed by signal N; -1 when it could not run
  bool timed_out = false;
  std::string output;  // stdout and stderr together, the last 64 KiB at most
};

// Runs `command` with /bin/sh -c, stdin from /dev/null, the current
// environment plus `env`, in its own process group (killed with it on
// timeout). Never throws for the command's own failure.
HookResult run_hook(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                    std::chrono::seconds timeout);

// Why a hook failed, for the report: "exited with status 3 (its last line)".
std::string hook_failure(const HookResult& result);

}  // namespace mailmig
