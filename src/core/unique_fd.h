// The one owner of a file descriptor in mailmig: closes it once, moves, and
// hands out the raw number for system calls.
#pragma once

#include <unistd.h>

#include <utility>

namespace mailmig {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor held (its close error is lost: use close() after writing).
  void reset(int fd = -1) {
    if (fd_ >= 0) (void)::close(fd_);
    fd_ = fd;
  }
  // close(2)'s result, for callers that wrote: it reports delayed write errors (NFS, quota).
  int close() { return ::close(release()); }

 private:
  int fd_ = -1;
};

}  // namespace mailmig
