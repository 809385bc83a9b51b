#include "target/maildir/dotlock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/error.h"

namespace mailmig::maildir {

namespace {

constexpr std::int64_t kPidCheckAfter = 2;  // Dovecot's STALE_PID_CHECK_SECS
constexpr auto kFirstWait = std::chrono::milliseconds(100);
constexpr auto kMaxWait = std::chrono::milliseconds(1000);

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::milliseconds override_pause() {
  thread_local std::minstd_rand random(static_cast<unsigned>(::getpid()) ^
                                       static_cast<unsigned>(now_seconds()));
  return std::chrono::milliseconds(100 + static_cast<int>(random() % 100));
}

// The pid of a lock written by a process of this host, else -1.
pid_t local_pid(const std::string& lock_path) {
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  std::array<char, 512> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
  ::close(fd);
  if (n <= 0) return -1;
  std::string text(buf.data(), static_cast<std::size_t>(n));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.substr(colon + 1) != host_name()) return -1;
  try {
    const long pid = std::stol(text.substr(0, colon));
    return pid > 0 ? static_cast<pid_t>(pid) : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

struct Seen {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  std::int64_t mtime = 0;
  std::int64_t ctime = 0;
};

// Dovecot's update_change_info(): remembers when the file last changed.
void note_change(const struct stat& st, Seen& seen, std::int64_t& last_change, std::int64_t now) {
  if (seen.ino == st.st_ino && seen.dev == st.st_dev && seen.size == st.st_size &&
      seen.mtime == st.st_mtime && seen.ctime == st.st_ctime) {
    return;
  }
  std::int64_t when = now;
  if (seen.ctime == 0) when = st.st_mtime <= now && st.st_mtime > st.st_ctime ? st.st_mtime : st.st_ctime;
  last_change = std::max(last_change, when);
  seen = Seen{st.st_dev, st.st_ino, st.st_size, st.st_mtime, st.st_ctime};
}

// Locks this process holds: a lock naming our own pid is a left-over of an
// earlier process only when no thread of ours holds it now.
std::mutex held_mutex;
std::set<std::string>& held_paths() {
  static std::set<std::string> paths;
  return paths;
}
bool held_here(const std::string& lock_path) {
  const std::lock_guard guard(held_mutex);
  return held_paths().contains(lock_path);
}

}  // namespace

const std::string& host_name() {
  static const std::string name = [] {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return std::string("localhost");
    return std::string(buf.data());
  }();
  return name;
}

DotLock::DotLock(std::string path, std::chrono::seconds stale_timeout, std::chrono::seconds timeout,
                 const Owner& owner)
    : path_(std::move(path)), lock_path_(path_ + ".lock") {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Seen lock_seen;
  Seen file_seen;
  std::int64_t last_change = 0;
  auto wait = kFirstWait;
  for (;;) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const std::string me = fmt::format("{}:{}", ::getpid(), host_name());
      struct stat st {};
      bool ok = ::write(fd, me.data(), me.size()) == static_cast<ssize_t>(me.size()) && ::fstat(fd, &st) == 0;
      try {
        // Owned like the tree, so a Dovecot running as the mail user can read our pid.
        if (ok) apply_owner(fd, lock_path_, owner);
      } catch (...) {
        ok = false;
      }
      ::close(fd);
      if (!ok) {
        ::unlink(lock_path_.c_str());
        throw IoError(lock_path_, errno, "cannot write the lock");
      }
      dev_ = st.st_dev;
      ino_ = st.st_ino;
      held_ = true;
      const std::lock_guard guard(held_mutex);
      held_paths().insert(lock_path_);
      return;
    }
    if (errno != EEXIST) throw IoError(lock_path_, errno, "cannot create the lock");

    const std::int64_t now = now_seconds();
    struct stat st {};
    if (::lstat(lock_path_.c_str(), &st) != 0) continue;  // released meanwhile: try again at once
    note_change(st, lock_seen, last_change, now);
    if (st.st_mtime < now - kPidCheckAfter) {
      const pid_t pid = local_pid(lock_path_);
      const bool ours_earlier = pid == ::getpid() && !held_here(lock_path_);
      if (pid > 0 && (ours_earlier || (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH))) {
        // Its owner is gone (or it is a left-over of an earlier process with our pid).
        spdlog::warn("{}: overriding the lock of process {}, which no longer exists", path_, pid);
        ::unlink(lock_path_.c_str());
        std::this_thread::sleep_for(override_pause());
        continue;
      }
    }
    if (now > last_change + stale_timeout.count()) {
      struct stat file {};
      if (::stat(path_.c_str(), &file) == 0) note_change(file, file_seen, last_change, now);
      if (now > last_change + stale_timeout.count()) {
        spdlog::warn("{}: overriding a lock unchanged for {} s", path_, now - last_change);
        ::unlink(lock_path_.c_str());
        std::this_thread::sleep_for(override_pause());
        continue;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(
          fmt::format("{}: still locked by someone else after {} s", lock_path_, timeout.count()));
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(kMaxWait, wait + wait / 2);
  }
}

DotLock::~DotLock() {
  release();
}

void DotLock::replaced() {
  if (!held_) return;
  held_ = false;
  const std::lock_guard guard(held_mutex);
  held_paths().erase(lock_path_);
}

void DotLock::release() {
  if (!held_) return;
  held_ = false;
  struct stat st {};
  if (::lstat(lock_path_.c_str(), &st) != 0 || st.st_dev != dev_ || st.st_ino != ino_) {
    spdlog::warn("{}: our lock was overridden by someone else meanwhile", path_);
  } else {
    ::unlink(lock_path_.c_str());
  }
  // Only now: until the file is gone, another thread must not take it for a left-over.
  const std::lock_guard guard(held_mutex);
  held_paths().erase(lock_path_);
}

}  // namespace mailmig::maildir
