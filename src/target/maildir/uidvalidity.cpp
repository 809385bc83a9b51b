#include "target/maildir/uidvalidity.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig::maildir {

namespace {

constexpr int kRetries = 10;  // Dovecot's RETRY_COUNT

std::optional<std::uint32_t> hex32(const std::string& text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t v = 0;
  for (const char c : text) {
    int d = 0;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v * 16 + static_cast<std::uint32_t>(d);
  }
  return v;
}

// Dovecot's fallback: the time, but never the same value twice in this process.
std::uint32_t time_based() {
  static std::mutex mutex;
  static std::uint32_t last = 0;
  const std::lock_guard guard(mutex);
  const auto now = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  last = last < now ? now : last + 1;
  return last;
}

void write_main_file(const std::string& path, std::uint32_t value, const Owner& owner) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw IoError(path, errno, "cannot open");
  const std::string text = fmt::format("{:08x}", value);
  const bool ok = ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
  const int err = errno;
  try {
    apply_owner(fd, path, owner);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (!ok) throw IoError(path, err, "cannot write");
}

// Renames <path>.<value> to <path>.<value+1>, ...; returns the value it got.
std::optional<std::uint32_t> step(const std::string& path, std::uint32_t value) {
  for (int i = 0; i < kRetries; ++i) {
    const std::string from = fmt::format("{}.{:08x}", path, value);
    ++value;
    const std::string to = fmt::format("{}.{:08x}", path, value);
    if (::rename(from.c_str(), to.c_str()) == 0) return value;
    if (errno != ENOENT) return std::nullopt;
  }
  return std::nullopt;
}

// No usable main file: find the companion files, as Dovecot's rescan does.
std::uint32_t rescan(const std::string& root, const std::string& path, const Owner& owner) {
  std::uint32_t max_value = 0;
  for (const fs::Entry& e : fs::list_directory(root)) {
    if (e.name.starts_with("dovecot-uidvalidity.")) {
      if (auto v = hex32(e.name.substr(20))) max_value = std::max(max_value, *v);
    }
  }
  if (max_value == 0) {
    const std::uint32_t value = time_based();
    const std::string companion = fmt::format("{}.{:08x}", path, value);
    const int fd = ::open(companion.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd >= 0) {
      try {
        apply_owner(fd, companion, owner);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
    }
    write_main_file(path, value, owner);
    return value;
  }
  const std::optional<std::uint32_t> next = step(path, max_value);
  const std::uint32_t value = next.value_or(time_based());
  write_main_file(path, value, owner);
  return value;
}

}  // namespace

std::uint32_t next_uidvalidity(const std::string& maildir_root, const Owner& owner) {
  const std::string path = fs::join(maildir_root, "dovecot-uidvalidity");
  const std::optional<std::string> text = read_small_file(path);
  std::optional<std::uint32_t> current;
  if (text) current = hex32(text->substr(0, 8));
  if (!current) return rescan(maildir_root, path, owner);
  const std::optional<std::uint32_t> next = step(path, *current);
  if (!next) return rescan(maildir_root, path, owner);
  write_main_file(path, *next, owner);
  return *next;
}

}  // namespace mailmig::maildir
