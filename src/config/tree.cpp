#include "config/tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/unique_fd.h"

namespace mailmig::config {

namespace {
struct stat lstat_or_throw(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw IoError(path, errno, "lstat");
  return st;
}

std::string read_link(const std::string& path) {
  std::vector<char> buffer(4096);
  ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
  if (n < 0) throw IoError(path, errno, "readlink");
  return {buffer.data(), static_cast<std::size_t>(n)};
}

void read_below(const std::string& root, const std::string& relative, Tree& tree) {
  std::string dir = relative.empty() ? root : fs::join(root, relative);
  for (const auto& entry : fs::list_directory(dir)) {
    std::string rel = relative.empty() ? entry.name : relative + "/" + entry.name;
    std::string path = fs::join(root, rel);
    struct stat st = lstat_or_throw(path);
    TreeEntry e;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    if (S_ISREG(st.st_mode)) {
      e.type = EntryType::File;
      e.content = read_file(path);
    } else if (S_ISDIR(st.st_mode)) {
      e.type = EntryType::Directory;
    } else if (S_ISLNK(st.st_mode)) {
      e.type = EntryType::Symlink;
      e.content = read_link(path);
    } else {
      throw IoError(path, EINVAL, "neither a file, a directory nor a symbolic link");
    }
    tree.emplace(rel, std::move(e));
    if (S_ISDIR(st.st_mode)) read_below(root, rel, tree);
  }
}

void set_owner(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) throw IoError(path, errno, "lchown");
}

void copy_times(const struct stat& st, const std::string& path) {
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError(path, errno, "utimensat");
}

void copy_below(const std::string& from, const std::string& to, bool owners) {
  for (const auto& entry : fs::list_directory(from)) {
    std::string src = fs::join(from, entry.name);
    std::string dst = fs::join(to, entry.name);
    struct stat st = lstat_or_throw(src);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(dst.c_str(), 0700) != 0) throw IoError(dst, errno, "mkdir");
      copy_below(src, dst, owners);
      if (::chmod(dst.c_str(), st.st_mode & 07777) != 0) throw IoError(dst, errno, "chmod");
    } else if (S_ISLNK(st.st_mode)) {
      if (::symlink(read_link(src).c_str(), dst.c_str()) != 0) throw IoError(dst, errno, "symlink");
    } else if (S_ISREG(st.st_mode)) {
      write_file(dst, read_file(src), st.st_mode & 07777);
    } else {
      throw IoError(src, EINVAL, "neither a file, a directory nor a symbolic link");
    }
    if (owners) {
      set_owner(dst, st.st_uid, st.st_gid);
      // chown clears set-id bits; put the mode back.
      if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0)
        throw IoError(dst, errno, "chmod");
    }
    copy_times(st, dst);
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, errno, "open");
  std::string out;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, errno, "read", out.size());
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

void write_file(const std::string& path, const std::string& content, mode_t mode, bool replace) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL);
  UniqueFd fd(::open(path.c_str(), flags, 0600));
  if (fd.get() < 0) throw IoError(path, errno, "open for writing");
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, errno, "write", done);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) throw IoError(path, errno, "fchmod");
  if (::fsync(fd.get()) != 0) throw IoError(path, errno, "fsync");
}

Tree read_tree(const std::string& root) {
  Tree tree;
  read_below(root, "", tree);
  return tree;
}

void copy_tree(const std::string& from, const std::string& to) {
  struct stat st = lstat_or_throw(from);
  if (::mkdir(to.c_str(), 0700) != 0) throw IoError(to, errno, "mkdir");
  bool owners = ::geteuid() == 0;
  copy_below(from, to, owners);
  if (owners) set_owner(to, st.st_uid, st.st_gid);
  if (::chmod(to.c_str(), st.st_mode & 07777) != 0) throw IoError(to, errno, "chmod");
  copy_times(st, to);
}

void write_tree(const std::string& root, const Tree& tree, bool owners) {
  // Directories get their modes last, so a 0550 directory can still be filled.
  std::vector<std::pair<std::string, const TreeEntry*>> directories;
  for (const auto& [rel, entry] : tree) {
    std::string path = fs::join(root, rel);
    switch (entry.type) {
      case EntryType::Directory:
        if (::mkdir(path.c_str(), 0700) != 0) throw IoError(path, errno, "mkdir");
        directories.emplace_back(path, &entry);
        break;
      case EntryType::Symlink:
        if (::symlink(entry.content.c_str(), path.c_str()) != 0) throw IoError(path, errno, "symlink");
        break;
      case EntryType::File:
        write_file(path, entry.content, entry.mode);
        break;
    }
    if (owners) set_owner(path, entry.uid, entry.gid);
  }
  for (auto it = directories.rbegin(); it != directories.rend(); ++it) {
    if (::chmod(it->first.c_str(), it->second->mode) != 0) throw IoError(it->first, errno, "chmod");
  }
}

void remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw IoError(path, errno, "lstat");
  }
  if (S_ISDIR(st.st_mode)) {
    ::chmod(path.c_str(), 0700);  // a 0550 directory of ours must still be emptied
    for (const auto& entry : fs::list_directory(path)) remove_tree(fs::join(path, entry.name));
    if (::rmdir(path.c_str()) != 0) throw IoError(path, errno, "rmdir");
  } else if (::unlink(path.c_str()) != 0) {
    throw IoError(path, errno, "unlink");
  }
}

}  // namespace mailmig::config
