#include "target/maildir/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <span>

#include "core/crlf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/sha256.h"
#include "core/unique_fd.h"

namespace mailmig::maildir {

namespace {

constexpr std::size_t kChunk = std::size_t{256} * 1024;
class FileReader final : public ByteReader {
 public:
  explicit FileReader(const std::string& path) : path_(path), fd_(fs::open_regular(AT_FDCWD, path.c_str())) {
    if (fd_.get() < 0) throw IoError(path, errno, "cannot open");
  }
  std::size_t read(std::span<char> buffer) override {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
      if (n >= 0) {
        offset_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
      }
      if (errno != EINTR) throw IoError(path_, errno, "cannot read", offset_);
    }
  }

 private:
  std::string path_;
  UniqueFd fd_;
  std::uint64_t offset_ = 0;
};

}  // namespace

void apply_owner(int fd, const std::string& path, const Owner& owner) {
  if (!owner.any()) return;
  const uid_t uid = owner.uid.value_or(static_cast<uid_t>(-1));
  const gid_t gid = owner.gid.value_or(static_cast<gid_t>(-1));
  if (::fchown(fd, uid, gid) != 0) throw IoError(path, errno, "cannot change the owner");
}

bool ensure_dir(const std::string& path, mode_t mode, const Owner& owner) {
  if (::mkdir(path.c_str(), mode) != 0) {
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    throw IoError(path, err, "cannot create directory");
  }
  // mkdir's mode is filtered by the umask; the layout's modes are not a matter of taste.
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, errno, "cannot open directory");
  if (::fchmod(fd.get(), mode) != 0) throw IoError(path, errno, "cannot set the mode");
  apply_owner(fd.get(), path, owner);
  return true;
}

void fsync_path(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, errno, "cannot open for fsync");
  if (::fsync(fd.get()) != 0) throw IoError(path, errno, "fsync failed");
}

void syncfs_path(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) throw IoError(path, errno, "cannot open for syncfs");
  if (::syncfs(fd.get()) != 0) throw IoError(path, errno, "syncfs failed");
}

std::uint64_t write_new_file(const std::string& path, ByteReader& reader, std::optional<DateTime> mtime,
                             bool sync, const Owner& owner) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw IoError(path, errno, "cannot create");
  std::uint64_t size = 0;
  try {
    apply_owner(fd.get(), path, owner);
    auto chunk = std::make_unique<std::array<char, kChunk>>();  // on the heap: 256 KiB is too much stack
    for (;;) {
      const std::size_t n = reader.read(std::span<char>(chunk->data(), chunk->size()));
      if (n == 0) break;
      fs::write_all(fd.get(), std::string_view(chunk->data(), n), path, size);
      size += n;
    }
    if (sync && ::fsync(fd.get()) != 0) throw IoError(path, errno, "fsync failed");
    if (mtime) {
      // After the last write: every write(2) sets the mtime again.
      const std::array<timespec, 2> times{timespec{.tv_sec = mtime->epoch, .tv_nsec = 0},
                                          timespec{.tv_sec = mtime->epoch, .tv_nsec = 0}};
      if (::futimens(fd.get(), times.data()) != 0)
        throw IoError(path, errno, "cannot set the modification time");
    }
    if (fd.close() != 0) throw IoError(path, errno, "close failed");
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  return size;
}

void replace_file(const std::string& temp, const std::string& path, const std::string& content, bool sync,
                  const Owner& owner) {
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw IoError(temp, errno, "cannot create");
  try {
    apply_owner(fd.get(), temp, owner);
    fs::write_all(fd.get(), content, temp);
    if (sync && ::fdatasync(fd.get()) != 0) throw IoError(temp, errno, "fdatasync failed");
    if (fd.close() != 0) throw IoError(temp, errno, "close failed");
    if (::rename(temp.c_str(), path.c_str()) != 0)
      throw IoError(path, errno, "cannot rename " + temp + " to");
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
}

std::optional<std::string> read_small_file(const std::string& path) {
  const int raw = fs::open_regular(AT_FDCWD, path.c_str());  // a FIFO must not block
  if (raw < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw IoError(path, errno, "cannot open");
  }
  const UniqueFd fd(raw);
  std::string out;
  std::array<char, 8192> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, errno, "cannot read", out.size());
    }
    if (n == 0) return out;
    out.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

std::unique_ptr<ByteReader> open_file_reader(const std::string& path) {
  return std::make_unique<FileReader>(path);
}

Served read_served(const std::string& path) {
  CrlfReader reader(open_file_reader(path));
  Sha256 hash;
  Served out;
  auto chunk = std::make_unique<std::array<char, kChunk>>();
  for (;;) {
    const std::size_t n = reader.read(std::span<char>(chunk->data(), chunk->size()));
    if (n == 0) break;
    hash.update(std::string_view(chunk->data(), n));
    out.size += n;
  }
  out.sha256 = hash.hex();
  return out;
}

}  // namespace mailmig::maildir
