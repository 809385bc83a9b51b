#include "core/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "core/error.h"

namespace mailmig::fs {

namespace {
Type type_of(mode_t mode) {
  if (S_ISREG(mode)) return Type::File;
  if (S_ISDIR(mode)) return Type::Directory;
  if (S_ISLNK(mode)) return Type::Symlink;
  return Type::Other;
}
}  // namespace

int open_regular(int dir_fd, const char* name, std::uint64_t* size) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = st.st_mode == 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    ::close(fd);
    errno = err;
    return -1;
  }
  // Regular files ignore O_NONBLOCK, but clear it so that nothing later
  // depends on that.
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  if (size != nullptr) *size = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

std::vector<Entry> list_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw IoError(path, errno, "cannot open directory");
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    throw IoError(path, err, "cannot read directory");
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, ::closedir);
  std::vector<Entry> out;
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): one DIR per call
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    Type type = Type::Other;
    switch (e->d_type) {  // d_type spares a stat per entry; not every file system fills it
      case DT_REG:
        type = Type::File;
        break;
      case DT_DIR:
        type = Type::Directory;
        break;
      case DT_LNK:
        type = Type::Symlink;
        break;
      case DT_UNKNOWN: {
        struct stat st {};
        if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) type = type_of(st.st_mode);
        break;
      }
      default:
        break;
    }
    out.push_back(Entry{name, type});
  }
  if (errno != 0) throw IoError(path, errno, "cannot read directory");
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

std::optional<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, void (*)(void*)> resolved(::realpath(path.c_str(), nullptr), std::free);
  if (!resolved) return std::nullopt;
  return std::string(resolved.get());
}

bool is_within(const std::string& root, const std::string& path) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

std::optional<Type> symlink_target_type_within(const std::string& root, const std::string& path) {
  auto target = real_path(path);
  if (!target || !is_within(root, *target)) return std::nullopt;
  struct stat st {};
  if (::stat(target->c_str(), &st) != 0) return std::nullopt;
  return type_of(st.st_mode);
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::vector<std::string> path_components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) out.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read-only use, nobody sets it
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

void write_all(int fd, std::string_view bytes, const std::string& path, std::uint64_t offset) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError(path, n < 0 ? errno : EIO, "cannot write", offset);
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string hidden_sibling(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "." + name +
         ".mailmig-tmp";
}

}  // namespace

void replace_file(const std::string& path, std::string_view bytes, unsigned mode) {
  const std::string dir = parent_of(path);
  const std::string temp = hidden_sibling(path);
  bool named = false;  // the fallback without O_TMPFILE names the file from the start
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    (void)::unlink(temp.c_str());  // left by a run killed in the window below
    fd = ::open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    named = true;
  }
  if (fd < 0) throw IoError(path, errno, "cannot create");
  const auto fail = [&](int err, const char* what) {
    (void)::close(fd);
    if (named) (void)::unlink(temp.c_str());
    throw IoError(path, err, what);
  };
  try {
    write_all(fd, bytes, path);
  } catch (const IoError& e) {
    fail(e.error_number(), "cannot write");
  }
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) fail(errno, "cannot set the mode of");
  if (::fsync(fd) != 0) fail(errno, "cannot write");  // ENOSPC may only show here (NFS, delayed allocation)
  if (!named) {
    (void)::unlink(temp.c_str());
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    // Straight to `path` when it does not exist yet: no name ever holds a part.
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      (void)::close(fd);
      return;
    }
    if (errno != EEXIST) fail(errno, "cannot create");
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) != 0)
      fail(errno, "cannot create");
    named = true;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    (void)::unlink(temp.c_str());
    throw IoError(path, err, "cannot write");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    (void)::unlink(temp.c_str());
    throw IoError(path, err, "cannot replace");
  }
}

}  // namespace mailmig::fs
