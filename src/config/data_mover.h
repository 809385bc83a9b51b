// --move-data OLD_DIR NEW_DIR: moves a data directory (the attachments) so
// that no file is ever lost: rename(2) when both are on one file system;
// otherwise every file is copied, its copy verified (size and SHA-256), and
// only then the source file removed. A state file in NEW_DIR makes a killed
// run resumable; files owned by the old service user/group go to the new one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace mailmig::config {

struct MoveOptions {
  std::string from, to;
  std::optional<uid_t> old_uid, new_uid;  // chown files of old_uid to new_uid
  std::optional<gid_t> old_gid, new_gid;
  bool force_copy = false;  // the copy path even on one file system
  bool dry_run = false;
  // Called after each file with (files done, files total, bytes done, bytes total).
  std::function<void(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t)> progress;
};

struct MoveResult {
  std::string method;                  // "rename", "copy", "nothing" (already moved)
  std::uint64_t files = 0, bytes = 0;  // moved in this run (dry run: would be)
  std::uint64_t resumed = 0;           // files an earlier, interrupted run had already verified
  std::uint64_t reowned = 0;           // entries whose owner changed
};

// Name of the state file kept in `to` while a copy is unfinished.
inline constexpr const char* kMoveStateFile = ".mailmig-move-data.state";

// Throws IoError (or std::runtime_error for a verification mismatch); what is
// done stays done and a re-run continues.
MoveResult move_data(const MoveOptions& options);

}  // namespace mailmig::config
