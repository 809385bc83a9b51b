#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/problem.h"

namespace mailmig {

// strerror(3) text for `err`, safe to call from several threads.
std::string error_text(int err);

// A failed system call on a file, with the path and (when known) the offset.
class IoError : public std::runtime_error {
 public:
  IoError(std::string path, int err, const std::string& what, std::optional<std::uint64_t> offset = {});
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int error_number() const { return errno_; }
  [[nodiscard]] std::optional<std::uint64_t> offset() const { return offset_; }

 private:
  std::string path_;
  int errno_;
  std::optional<std::uint64_t> offset_;
};

// A failure that spoils exactly its scope, as isync's DRV_MSG_BAD /
// DRV_BOX_BAD / DRV_STORE_BAD: drivers throw it, the engine acts on the scope
// (Folder: reported, the next folder is copied; Account: that account fails,
// the run goes on). Any other exception from a driver means the connection
// or session is gone: the engine reconnects and resumes from the state.
class ScopedError : public std::runtime_error {
 public:
  ScopedError(Scope scope, const std::string& what, std::string code = {})
      : std::runtime_error(what), scope_(scope), code_(std::move(code)) {}
  [[nodiscard]] Scope scope() const { return scope_; }
  // The server's machine-readable reason when it gave one (OVERQUOTA, NOPERM, ...).
  [[nodiscard]] const std::string& code() const { return code_; }

 private:
  Scope scope_;
  std::string code_;
};

// What a failed write on the target's own file system spoils: quota and a
// full disk end the account (every further write would fail alike); anything
// else the folder being written.
Scope scope_of_write_error(int err);

// An IoError of a write on the target's file system, as a ScopedError.
ScopedError scoped_write_error(const IoError& e);

}  // namespace mailmig
