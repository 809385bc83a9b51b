#include "core/file_read.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig {

OpenedFile open_regular_file(int dir_fd, const char* name, const std::string& path) {
  std::uint64_t size = 0;
  UniqueFd fd(fs::open_regular(dir_fd, name, &size));
  if (fd.get() < 0) {
    const int err = errno;
    throw IoError(path, err, err == EISDIR || err == EINVAL ? "not a regular file" : "cannot open");
  }
  return OpenedFile{std::move(fd), size};
}

std::string read_small_file(const std::string& path, std::uint64_t max_size) {
  OpenedFile file = open_regular_file(AT_FDCWD, path.c_str(), path);
  if (file.size > max_size) throw IoError(path, EFBIG, "file too large for what it should be");
  std::string text(file.size, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const std::size_t n = read_some(file.fd.get(), text.data() + got, text.size() - got, path, got);
    if (n == 0) break;  // shrank meanwhile
    got += n;
  }
  text.resize(got);
  return text;
}

std::size_t read_some(int fd, char* data, std::size_t size, const std::string& path, std::uint64_t offset) {
  for (;;) {
    const ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw IoError(path, errno, "read failed", offset);
  }
}

std::size_t pread_some(int fd, char* data, std::size_t size, std::uint64_t offset, const std::string& path) {
  for (;;) {
    const ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw IoError(path, errno, "read failed", offset);
  }
}

}  // namespace mailmig
