// What the driver and the executor of one account share: who it is, the run
// state, the options, where problems go, and the per-message log lines.
#pragma once

#include <optional>
#include <string>

#include "core/problem.h"
#include "engine/migrate.h"
#include "engine/state.h"

namespace mailmig {

struct AccountContext {
  const AccountInfo& account;
  std::string key;  // the state's key: the source account
  State& state;
  const MigrateOptions& options;
  ProblemSink& sink;

  // Adds the account (and the folder when the problem does not name one).
  void problem(Problem p, const std::string& folder = "") const;
  [[nodiscard]] bool stopping() const { return options.stop != nullptr && options.stop->load(); }
  // One message's fate, for -v / --log (every one in a dry run).
  void log_message(const char* action, const std::string& folder, const MessageKey& key, const MessageInfo* m,
                   std::optional<std::uint32_t> uid) const;
};

}  // namespace mailmig
