// An advisory lock held while the object lives: flock(2) on a small file that
// names the holder. The kernel releases it when the holder dies (kill -9
// included), so a stale lock file never blocks the next run.
#pragma once

#include <memory>
#include <string>

namespace mailmig {

class LockFile {
 public:
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  ~LockFile();

  // Takes the lock at `path` (created mode 600, never through a symlink).
  // Returns null when another process holds it, with what that process wrote
  // ("pid N: DESCRIPTION") in `holder`. Throws IoError when the file cannot be used.
  static std::unique_ptr<LockFile> try_lock(const std::string& path, const std::string& description,
                                            std::string& holder);

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mailmig
