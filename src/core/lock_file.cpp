#include "core/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "core/error.h"

namespace mailmig {

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::unique_ptr<LockFile> LockFile::try_lock(const std::string& path, const std::string& description,
                                             std::string& holder) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw IoError(path, errno, "cannot open the lock file");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::array<char, 512> text{};
    const ssize_t n = ::pread(fd, text.data(), text.size() - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) throw IoError(path, err, "cannot lock");
    holder = n > 0 ? std::string(text.data(), static_cast<std::size_t>(n)) : std::string("another process");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\r')) holder.pop_back();
    return nullptr;
  }
  // Who holds it, for the message the next run prints; best effort.
  const std::string text = "pid " + std::to_string(::getpid()) + ": " + description + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The lock holds without the note.
  }
  return std::unique_ptr<LockFile>(new LockFile(fd));
}

}  // namespace mailmig
