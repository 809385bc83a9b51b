// Dovecot's dot-lock (lib/file-dotlock.c with dotlock_use_excl = yes, the 2.3
// default), so that a Dovecot running on the same tree and we never write
// dovecot-uidlist or dovecot-keywords at the same time:
//   * the lock is `path`.lock, created with O_CREAT|O_EXCL, holding "pid:host";
//   * a lock older than 2 s naming a process of this host that does not exist
//     any more is overridden at once;
//   * otherwise it is stale when neither it nor the protected file changed for
//     `stale_timeout` (Dovecot: 120 s for dovecot-uidlist);
//   * after overriding, wait 0.1-0.2 s so two overriders cannot remove each
//     other's fresh lock (Dovecot does the same).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "target/maildir/files.h"

namespace mailmig::maildir {

// The host name Dovecot writes into locks and Maildir file names.
const std::string& host_name();

class DotLock {
 public:
  // Waits up to `timeout`; throws std::runtime_error when the lock stays taken.
  DotLock(std::string path, std::chrono::seconds stale_timeout, std::chrono::seconds timeout,
          const Owner& owner);
  DotLock(const DotLock&) = delete;
  DotLock& operator=(const DotLock&) = delete;
  ~DotLock();
  [[nodiscard]] const std::string& lock_path() const { return lock_path_; }
  // Removes the lock if it is still ours (someone may have overridden it).
  void release();
  // The lock file was renamed over the protected file (Dovecot's
  // file_dotlock_replace): the lock is gone with nothing left to remove.
  void replaced();

 private:
  std::string path_;
  std::string lock_path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool held_ = false;
};

}  // namespace mailmig::maildir
