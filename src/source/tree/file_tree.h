// The read-only view of a directory tree that the Maildir source reads
// through: list a directory, stat a path, read a small file whole, stream a
// file. One implementation reads the local file system (O_RDONLY|O_NOFOLLOW,
// as every on-disk source does), another reads a remote host over SFTP
// (source/sftp/), so the Maildir logic exists once for both.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/byte_reader.h"
#include "core/fs.h"

namespace mailmig {

struct TreeEntry {
  std::string name;
  fs::Type type = fs::Type::Other;  // as lstat sees it: symlinks are not followed
  // Filled when the listing brings them for free (SFTP); the local tree leaves
  // them empty rather than pay a stat per message file.
  std::optional<std::uint64_t> size;
  std::optional<std::int64_t> mtime;
};

struct TreeStat {
  fs::Type type = fs::Type::Other;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // seconds since the epoch
};

struct OpenedStream {
  std::unique_ptr<ByteReader> reader;
  std::uint64_t size = 0;  // at open time
  std::int64_t mtime = 0;  // seconds since the epoch
};

class FileTree {
 public:
  FileTree() = default;
  FileTree(const FileTree&) = delete;
  FileTree& operator=(const FileTree&) = delete;
  virtual ~FileTree() = default;

  // Entries except "." and "..", sorted by name. Throws IoError.
  virtual std::vector<TreeEntry> list(const std::string& directory) = 0;
  // Follows symlinks (like stat(2)); nullopt when nothing is there or it cannot be seen.
  virtual std::optional<TreeStat> stat(const std::string& path) = 0;
  // The whole of a small regular file (never through a symlink); a file over
  // `max_size` bytes is IoError EFBIG. Throws IoError (ENOENT: not there).
  virtual std::string read_small(const std::string& path, std::uint64_t max_size) = 0;
  // A forward stream over a regular file (never through a symlink), at most
  // `length` bytes when given. Throws IoError (ENOENT: not there).
  virtual OpenedStream open(const std::string& path, std::optional<std::uint64_t> length = std::nullopt) = 0;
  // The canonical form of an existing path, nullopt when it does not resolve.
  virtual std::optional<std::string> real_path(const std::string& path) = 0;
  // Login name owning `path`, nullopt when unknown.
  virtual std::optional<std::string> owner_name(const std::string& path) = 0;
  // The tree one account reads through: the same object when it may be shared
  // between threads (local), a tree with its own connection otherwise (SFTP:
  // accounts are read in parallel and a session serves one at a time).
  virtual std::shared_ptr<FileTree> for_account() = 0;
};

// The local file system. Shared, stateless, thread-safe.
std::shared_ptr<FileTree> local_file_tree();

}  // namespace mailmig
