// An exploded backup (archive:DIR) read as if it were an archive: the same
// entries (path, type, size, mtime, link target) one at a time, so the
// catalogue and the layouts stay the one place that knows what a backup
// holds. Depth first, names sorted by byte value, so every walk of an
// unchanged directory yields the same entries at the same ordinals (the
// cursor pool finds entries again by counting).
//
// Read-only and confined: every directory and file is opened relative to its
// parent's descriptor with O_RDONLY|O_NOFOLLOW, so no symbolic link is ever
// followed on the way (a link is delivered as a Symlink entry, which the
// layouts report and skip) and nothing outside the directory is read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "source/archive/archive_reader.h"

namespace mailmig::archive {

class DirectoryEntries {
 public:
  // Throws ArchiveError (fatal) when `root` cannot be opened as a directory.
  explicit DirectoryEntries(std::string root);
  DirectoryEntries(const DirectoryEntries&) = delete;
  DirectoryEntries& operator=(const DirectoryEntries&) = delete;
  ~DirectoryEntries();

  // The next entry (header.ordinal is left to the caller); false at the end.
  // Throws ArchiveError, never fatal: a subdirectory that cannot be listed
  // is reported once, after its own entry, and the walk goes on without it.
  bool next(EntryHeader& header);
  // The current file's data; 0 at its end. Throws ArchiveError (not fatal:
  // the walk can go on) when the file cannot be opened or read.
  std::size_t read(std::span<char> buffer);
  // Bytes of the current file read so far.
  [[nodiscard]] std::uint64_t offset() const { return read_; }

 private:
  struct Level {
    int fd = -1;
    std::string prefix;  // entry path of this directory followed by '/', "" for the root
    std::vector<std::string> names;
    std::size_t index = 0;
  };
  void push(int parent_fd, const std::string& name, const std::string& path);
  void close_file();

  std::string root_;
  std::vector<Level> stack_;
  std::optional<std::string> pending_error_;  // a subdirectory that could not be listed
  int parent_fd_ = -1;                        // the current file's directory (owned by stack_)
  std::string name_;                          // the current file's name in it
  std::string path_;                          // its entry path
  bool is_file_ = false;
  int file_fd_ = -1;
  std::uint64_t read_ = 0;
};

// True when symlink `target`, stored at entry `path`, resolves outside the
// directory it was found in (absolute, or climbing above the top with "..").
bool link_leaves_tree(const std::string& path, const std::string& target);

}  // namespace mailmig::archive
