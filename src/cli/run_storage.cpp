#include "cli/run_storage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "cli/state_location.h"

namespace mailmig::cli {

namespace {

// A dry run must not create a state: without one it plans against an empty
// state held in memory.
std::unique_ptr<State> open_state(const std::string& dir, bool dry_run) {
  const std::string path = dir + "/state.sqlite";
  if (dry_run && !std::filesystem::exists(path)) return std::make_unique<State>(":memory:");
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  return std::make_unique<State>(path);
}

std::unique_ptr<PassFile> open_pass_file(const RunStorageOptions& o) {
  // The same command after a kill continues the file it started.
  if (!o.password_file_out.empty())
    return std::make_unique<PassFile>(o.password_file_out, PassFile::Existing::Resume);
  // Named by the second the run started; a second run in the same second gets a suffix.
  const std::string base = PassFile::default_name(std::chrono::system_clock::now(), o.file_prefix);
  for (int n = 1;; ++n) {
    const std::string path = n == 1 ? base : fmt::format("{}-{}.pass", base.substr(0, base.size() - 5), n);
    if (std::filesystem::exists(path) && n < 100) continue;
    return std::make_unique<PassFile>(path);
  }
}

}  // namespace

RunStorage open_run_storage(const RunStorageOptions& o) {
  RunStorage storage;
  if (!o.dry_run) storage.lock = lock_state_dir(o.state_dir);
  storage.state = open_state(o.state_dir, o.dry_run);
  storage.state->set_source(spec_identity(o.source_spec), !o.dry_run);
  if (o.creates_users && !o.dry_run) storage.pass_file = open_pass_file(o);
  return storage;
}

std::shared_ptr<void> claim_target_account(const std::string& target_spec, const std::string& target_account,
                                           std::string& holder) {
  try {
    return LockFile::try_lock(account_lock_path(target_spec, target_account),
                              fmt::format("{} into {}", target_account, target_spec), holder);
  } catch (const std::exception& e) {
    // No lock directory we may write (another user's state home): the run
    // goes on, the state's own lock still keeps runs on one state apart.
    spdlog::warn("{}: cannot lock the account against concurrent runs: {}", target_account, e.what());
    return std::make_shared<int>(0);
  }
}

}  // namespace mailmig::cli
