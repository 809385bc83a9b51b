// Reading files of a source: opens that are read-only and never follow a
// symlink, and reads that retry EINTR and turn failures into IoError with the
// path and offset. Every on-disk source (cgp:, mbox:, maildir:, archive spools)
// reads through these.
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "core/unique_fd.h"

namespace mailmig {

struct OpenedFile {
  UniqueFd fd;
  std::uint64_t size = 0;
};

// Opens `name` relative to `dir_fd` (AT_FDCWD: a plain path) with
// O_RDONLY|O_NOFOLLOW|O_CLOEXEC and checks that it is a regular file.
// O_NONBLOCK too, so a FIFO planted in the store cannot hang the scan; it has
// no effect on regular files. Throws IoError naming `path` (ELOOP: a symlink).
OpenedFile open_regular_file(int dir_fd, const char* name, const std::string& path);

// read(2) into [data, data+size), retrying EINTR; 0 at the end of the file.
// `offset` only labels the error. Throws IoError.
std::size_t read_some(int fd, char* data, std::size_t size, const std::string& path, std::uint64_t offset);

// The whole of a small file (settings, uidlists, subscriptions), opened as
// open_regular_file() does. A file over `max_size` bytes is not what the caller
// thinks it is: IoError EFBIG. Throws IoError.
std::string read_small_file(const std::string& path, std::uint64_t max_size);

// pread(2) at `offset`, retrying EINTR; 0 at the end of the file. Throws IoError.
std::size_t pread_some(int fd, char* data, std::size_t size, std::uint64_t offset, const std::string& path);

}  // namespace mailmig
