#include "config/data_mover.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "core/unique_fd.h"

namespace mailmig::config {

namespace {
struct Item {
  std::string rel;
  struct stat st {};
};

std::optional<struct stat> lstat_if(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  throw IoError(path, errno, "lstat");
}

void walk(const std::string& root, const std::string& rel, std::vector<Item>& out) {
  for (const auto& entry : fs::list_directory(rel.empty() ? root : fs::join(root, rel))) {
    Item item;
    item.rel = rel.empty() ? entry.name : rel + "/" + entry.name;
    item.st = *lstat_if(fs::join(root, item.rel));
    out.push_back(item);
    if (S_ISDIR(item.st.st_mode)) walk(root, item.rel, out);
  }
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Size and SHA-256 of a file, read in 1 MiB blocks.
std::pair<std::uint64_t, std::string> digest(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, errno, "open");
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  std::uint64_t size = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, errno, "read", size);
    }
    if (n == 0) break;
    sha.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    size += static_cast<std::uint64_t>(n);
  }
  return {size, sha.hex()};
}

class Mover {
 public:
  explicit Mover(const MoveOptions& options) : o_(options) {}

  std::pair<uid_t, gid_t> owner_for(const struct stat& st) const {
    uid_t uid = st.st_uid;
    gid_t gid = st.st_gid;
    if (o_.old_uid && o_.new_uid && uid == *o_.old_uid) uid = *o_.new_uid;
    if (o_.old_gid && o_.new_gid && gid == *o_.old_gid) gid = *o_.new_gid;
    return {uid, gid};
  }

  // 4.3.7: find -user OLD -exec chown NEW (and the group) on what now lives in `to`.
  std::uint64_t reown(const std::string& root) const {
    if (!(o_.old_uid && o_.new_uid) && !(o_.old_gid && o_.new_gid)) return 0;
    std::vector<Item> items;
    walk(root, "", items);
    items.push_back({"", *lstat_if(root)});
    std::uint64_t changed = 0;
    for (const auto& item : items) {
      auto [uid, gid] = owner_for(item.st);
      if (uid == item.st.st_uid && gid == item.st.st_gid) continue;
      std::string path = item.rel.empty() ? root : fs::join(root, item.rel);
      if (::lchown(path.c_str(), uid, gid) != 0) throw IoError(path, errno, "lchown");
      ++changed;
    }
    return changed;
  }

  void copy_file(const std::string& src, const std::string& part, const struct stat& st, std::uint64_t& size,
                 std::string& sha_hex) const {
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (in.get() < 0) throw IoError(src, errno, "open");
    UniqueFd out(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out.get() < 0) throw IoError(part, errno, "open for writing");
    Sha256 sha;
    std::vector<char> buffer(1 << 20);
    size = 0;
    while (true) {
      ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw IoError(src, errno, "read", size);
      }
      if (n == 0) break;
      sha.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(out.get(), buffer.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) continue;
          throw IoError(part, errno, "write", size + static_cast<std::uint64_t>(done));
        }
        done += w;
      }
      size += static_cast<std::uint64_t>(n);
    }
    sha_hex = sha.hex();
    if (::geteuid() == 0) {
      auto [uid, gid] = owner_for(st);
      if (::fchown(out.get(), uid, gid) != 0) throw IoError(part, errno, "fchown");
    }
    if (::fchmod(out.get(), st.st_mode & 07777) != 0) throw IoError(part, errno, "fchmod");
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(out.get(), times) != 0) throw IoError(part, errno, "futimens");
    if (::fsync(out.get()) != 0) throw IoError(part, errno, "fsync");
  }

  MoveResult run() {
    MoveResult result;
    auto from_st = lstat_if(o_.from);
    auto to_st = lstat_if(o_.to);
    if (!from_st) {
      if (to_st && S_ISDIR(to_st->st_mode) && !lstat_if(fs::join(o_.to, kMoveStateFile))) {
        result.method = "nothing";
        return result;
      }
      throw IoError(o_.from, ENOENT, "--move-data source");
    }
    if (!S_ISDIR(from_st->st_mode)) throw IoError(o_.from, ENOTDIR, "--move-data source");
    if (to_st && !S_ISDIR(to_st->st_mode)) throw IoError(o_.to, ENOTDIR, "--move-data destination");

    std::vector<Item> items;
    walk(o_.from, "", items);
    std::uint64_t total_files = 0, total_bytes = 0;
    for (const auto& i : items) {
      if (!S_ISDIR(i.st.st_mode)) {
        ++total_files;
        total_bytes += static_cast<std::uint64_t>(i.st.st_size);
      }
    }
    const std::string state_path = fs::join(o_.to, kMoveStateFile);
    const bool resuming = to_st && lstat_if(state_path);
    const auto dev_of_target = to_st ? to_st->st_dev : lstat_if(parent_of(o_.to)).value_or(*from_st).st_dev;
    const bool one_fs = !o_.force_copy && !resuming && dev_of_target == from_st->st_dev;
    result.method = one_fs ? "rename" : "copy";
    if (o_.dry_run) {
      result.files = total_files;
      result.bytes = total_bytes;
      return result;
    }
    if (one_fs) {
      rename_all(items, to_st.has_value());
      result.files = total_files;
      result.bytes = total_bytes;
    } else {
      copy_all(items, state_path, total_files, total_bytes, result);
    }
    result.reowned = reown(o_.to);
    return result;
  }

 private:
  void rename_all(const std::vector<Item>& items, bool to_exists) const {
    if (!to_exists) {
      if (::rename(o_.from.c_str(), o_.to.c_str()) != 0) throw IoError(o_.to, errno, "rename");
      return;
    }
    // `mv OLD/* NEW/`: each top-level entry; an entry in both is never overwritten.
    for (const auto& item : items) {
      if (item.rel.find('/') != std::string::npos) continue;
      std::string dst = fs::join(o_.to, item.rel);
      if (lstat_if(dst)) throw IoError(dst, EEXIST, "already in the --move-data destination");
      if (::rename(fs::join(o_.from, item.rel).c_str(), dst.c_str()) != 0)
        throw IoError(dst, errno, "rename");
    }
  }

  using VerifiedFiles = std::map<std::string, std::pair<std::uint64_t, std::string>>;

  // A directory the copy creates gets the source's mode, and its owner when we are root.
  void make_directory_like(const std::string& dst, const struct stat& st) const {
    if (::mkdir(dst.c_str(), st.st_mode & 07777) != 0) throw IoError(dst, errno, "mkdir");
    if (::geteuid() == 0) {
      auto [uid, gid] = owner_for(st);
      if (::chown(dst.c_str(), uid, gid) != 0) throw IoError(dst, errno, "chown");
    }
  }

  // State: one line per verified file, "SIZE SHA256 PATH", fsync'ed before the source is removed.
  static VerifiedFiles read_verified(const std::string& state_path) {
    VerifiedFiles verified;
    std::ifstream in(state_path);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::uint64_t size = 0;
      std::string sha;
      if (!(fields >> size >> sha)) continue;  // a line cut by a kill: that file is checked again
      std::string rel;
      std::getline(fields >> std::ws, rel);
      if (!rel.empty()) verified[rel] = {size, sha};
    }
    return verified;
  }

  static void move_symlink(const std::string& src, const std::string& dst) {
    std::vector<char> target(4096);
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) throw IoError(src, errno, "readlink");
    if (!lstat_if(dst) &&
        ::symlink(std::string(target.data(), static_cast<std::size_t>(n)).c_str(), dst.c_str()) != 0)
      throw IoError(dst, errno, "symlink");
    if (::unlink(src.c_str()) != 0) throw IoError(src, errno, "unlink");
  }

  void copy_all(const std::vector<Item>& items, const std::string& state_path, std::uint64_t total_files,
                std::uint64_t total_bytes, MoveResult& result) const {
    if (!lstat_if(o_.to)) make_directory_like(o_.to, *lstat_if(o_.from));
    const VerifiedFiles verified = read_verified(state_path);
    UniqueFd state(::open(state_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (state.get() < 0) throw IoError(state_path, errno, "open");

    std::uint64_t files_done = 0, bytes_done = 0;
    std::vector<std::string> directories;
    for (const auto& item : items) {
      const std::string src = fs::join(o_.from, item.rel);
      const std::string dst = fs::join(o_.to, item.rel);
      if (S_ISDIR(item.st.st_mode)) {
        if (!lstat_if(dst)) make_directory_like(dst, item.st);
        directories.push_back(src);
        continue;
      }
      if (S_ISLNK(item.st.st_mode)) {
        move_symlink(src, dst);
      } else if (S_ISREG(item.st.st_mode)) {
        move_one(item, src, dst, verified, state.get(), result);
      } else {
        throw IoError(src, EINVAL, "neither a file, a directory nor a symbolic link");
      }
      ++files_done;
      bytes_done += static_cast<std::uint64_t>(item.st.st_size);
      if (o_.progress) o_.progress(files_done, total_files, bytes_done, total_bytes);
    }
    // Emptied source subdirectories go, deepest first; the source directory itself stays (as `mv OLD/*`).
    for (auto it = directories.rbegin(); it != directories.rend(); ++it) {
      if (::rmdir(it->c_str()) != 0) throw IoError(*it, errno, "rmdir");
    }
    if (::unlink(state_path.c_str()) != 0) throw IoError(state_path, errno, "unlink");
  }

  void move_one(const Item& item, const std::string& src, const std::string& dst,
                const VerifiedFiles& verified, int state_fd, MoveResult& result) const {
    auto existing = lstat_if(dst);
    auto known = verified.find(item.rel);
    if (existing) {
      // Copied by an earlier run (recorded, or killed between rename and record):
      // the source goes only when the copy is the same bytes.
      auto copy = digest(dst);
      auto source = digest(src);
      if (copy != source)
        throw std::runtime_error(
            fmt::format("{} exists and differs from {}: not overwritten, source kept", dst, src));
      const auto& [size, sha] = copy;
      if (known == verified.end()) record(state_fd, item.rel, size, sha);
      if (::unlink(src.c_str()) != 0) throw IoError(src, errno, "unlink");
      ++result.resumed;
      return;
    }
    const std::string part = dst + ".mailmig-part";
    std::uint64_t size = 0;
    std::string sha;
    copy_file(src, part, item.st, size, sha);
    auto [copy_size, copy_sha] = digest(part);
    if (copy_size != size || copy_sha != sha || size != static_cast<std::uint64_t>(item.st.st_size)) {
      ::unlink(part.c_str());
      throw std::runtime_error(
          fmt::format("{}: the copy does not verify (size {} vs {}, SHA-256 {} vs {}); "
                      "source kept",
                      src, copy_size, size, copy_sha, sha));
    }
    if (::rename(part.c_str(), dst.c_str()) != 0) throw IoError(dst, errno, "rename");
    record(state_fd, item.rel, size, sha);
    if (::unlink(src.c_str()) != 0) throw IoError(src, errno, "unlink");
    ++result.files;
    result.bytes += size;
  }

  static void record(int fd, const std::string& rel, std::uint64_t size, const std::string& sha) {
    std::string line = fmt::format("{} {} {}\n", size, sha, rel);
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      throw IoError(kMoveStateFile, errno, "write");
    if (::fsync(fd) != 0) throw IoError(kMoveStateFile, errno, "fsync");
  }

  const MoveOptions& o_;
};

}  // namespace

MoveResult move_data(const MoveOptions& options) {
  return Mover(options).run();
}

}  // namespace mailmig::config
