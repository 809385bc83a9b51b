#include "engine/migrate_run.h"

#include <fmt/format.h>

#include <atomic>

#include "core/worker_pool.h"

namespace mailmig {

namespace {

Problem state_problem(const State& state, const AccountInfo* account, const std::exception& e) {
  return Problem{.scope = Scope::Account,
                 .domain = account != nullptr ? account->domain : "",
                 .account = account != nullptr ? account->name : "",
                 .file = state.path(),
                 .message = fmt::format("the run state {} could not be written: {}; the run stops (free "
                                        "space, then run the same command again)",
                                        state.path(), e.what())};
}

}  // namespace

std::vector<AccountResult> migrate_accounts(Source& source, const std::vector<AccountInfo>& accounts,
                                            Target& target, State& state, const MigrateOptions& options,
                                            ProblemSink& sink, unsigned jobs,
                                            const std::function<void()>& on_account_done) {
  std::vector<AccountResult> results(accounts.size());
  std::atomic<bool> state_failed{false};
  run_jobs(
      accounts.size(), jobs,
      [&](std::size_t i) {
        if (state_failed.load()) return;  // left "not started"
        try {
          results[i] = migrate_account(source, accounts[i], target, state, options, sink);
        } catch (const std::exception& e) {
          state_failed = true;
          sink.add(state_problem(state, &accounts[i], e));
          results[i].domain = accounts[i].domain;
          results[i].account = accounts[i].name;
          results[i].status = "failed";
        }
        if (on_account_done) on_account_done();
      },
      options.stop);
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (results[i].account.empty()) {
      results[i].domain = accounts[i].domain;
      results[i].account = accounts[i].name;
      results[i].status = "not started";
    }
  }
  return results;
}

void flush_run_state(State& state, ProblemSink& sink) {
  try {
    state.flush();
  } catch (const std::exception& e) {
    sink.add(state_problem(state, nullptr, e));
  }
}

}  // namespace mailmig
