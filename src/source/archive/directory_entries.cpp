#include "source/archive/directory_entries.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error.h"

namespace mailmig::archive {
namespace {

// Lists a directory's names (without "." and ".."), sorted; `fd` stays open.
std::vector<std::string> list_names(int fd, int& error) {
  std::vector<std::string> names;
  const int copy = ::dup(fd);  // closedir closes its descriptor: the level keeps its own
  if (copy < 0) {
    error = errno;
    return names;
  }
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    error = errno;
    ::close(copy);
    return names;
  }
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): one DIR per thread
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  error = errno;
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool link_leaves_tree(const std::string& path, const std::string& target) {
  if (target.empty() || target.front() == '/') return true;
  // Depth of the link's directory, then walk the target's components.
  long depth = static_cast<long>(std::count(path.begin(), path.end(), '/'));
  std::size_t pos = 0;
  while (pos <= target.size()) {
    std::size_t end = target.find('/', pos);
    if (end == std::string::npos) end = target.size();
    const std::string_view part = std::string_view(target).substr(pos, end - pos);
    if (part == "..") {
      if (--depth < 0) return true;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    pos = end + 1;
  }
  return false;
}

DirectoryEntries::DirectoryEntries(std::string root) : root_(std::move(root)) {
  const int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw ArchiveError(root_, fmt::format("cannot open the directory: {}", error_text(errno)), 0, true);
  int error = 0;
  Level top{.fd = fd, .prefix = "", .names = list_names(fd, error), .index = 0};
  if (error != 0) {
    ::close(fd);
    throw ArchiveError(root_, fmt::format("cannot list the directory: {}", error_text(error)), 0, true);
  }
  stack_.push_back(std::move(top));
}

DirectoryEntries::~DirectoryEntries() {
  close_file();
  for (const Level& level : stack_) ::close(level.fd);
}

void DirectoryEntries::close_file() {
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  is_file_ = false;
  read_ = 0;
}

void DirectoryEntries::push(int parent_fd, const std::string& name, const std::string& path) {
  // O_NOFOLLOW: a directory swapped for a link since the fstatat is not entered.
  const int fd = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int error = fd < 0 ? errno : 0;
  std::vector<std::string> names;
  if (fd >= 0) names = list_names(fd, error);
  if (error != 0) {
    if (fd >= 0) ::close(fd);
    pending_error_ =
        fmt::format("cannot list directory \"{}\": {}: its contents are not read", path, error_text(error));
    return;
  }
  stack_.push_back(Level{.fd = fd, .prefix = path + "/", .names = std::move(names), .index = 0});
}

bool DirectoryEntries::next(EntryHeader& header) {
  close_file();
  if (pending_error_) {
    const std::string detail = std::move(*pending_error_);
    pending_error_.reset();
    throw ArchiveError(root_, detail, 0, false);
  }
  while (!stack_.empty()) {
    Level& level = stack_.back();
    if (level.index >= level.names.size()) {
      ::close(level.fd);
      stack_.pop_back();
      continue;
    }
    const std::string name = level.names[level.index++];
    const std::string path = level.prefix + name;
    struct stat st {};
    if (::fstatat(level.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since the listing: as if never there
      throw ArchiveError(root_, fmt::format("cannot stat \"{}\": {}", path, error_text(errno)), 0, false);
    }
    header.path = path;
    header.size = 0;
    header.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    header.link_target.clear();
    if (S_ISREG(st.st_mode)) {
      header.type = EntryType::File;
      header.size = static_cast<std::uint64_t>(st.st_size);
      parent_fd_ = level.fd;
      name_ = name;
      path_ = path;
      is_file_ = true;
    } else if (S_ISDIR(st.st_mode)) {
      header.type = EntryType::Directory;
      push(level.fd, name, path);  // `level` may be invalid from here on
    } else if (S_ISLNK(st.st_mode)) {
      header.type = EntryType::Symlink;
      std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      const ssize_t n = ::readlinkat(level.fd, name.c_str(), target.data(), target.size());
      target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      header.link_target = std::move(target);
    } else {
      header.type = EntryType::Other;
    }
    return true;
  }
  return false;
}

std::size_t DirectoryEntries::read(std::span<char> buffer) {
  if (!is_file_) return 0;
  if (file_fd_ < 0) {
    file_fd_ = ::openat(parent_fd_, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (file_fd_ < 0) {
      const int error = errno;
      is_file_ = false;  // the next read() ends the entry instead of failing again
      throw ArchiveError(root_, fmt::format("cannot open \"{}\": {}", path_, error_text(error)), 0, false);
    }
  }
  for (;;) {
    const ssize_t n = ::read(file_fd_, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      throw ArchiveError(root_,
                         fmt::format("cannot read \"{}\" at offset {}: {}", path_, read_, error_text(error)),
                         read_, false);
    }
    read_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }
}

}  // namespace mailmig::archive
