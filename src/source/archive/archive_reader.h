// A forward-only reader over one archive file (tar, tar.gz, tar.zst, ...,
// anything libarchive reads), one entry at a time. Compressed streams cannot
// seek, so the only way back is a new reader from the start; callers count
// entries ("ordinals") to find their way.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

struct archive;

namespace mailmig::archive {

enum class EntryType : std::uint8_t { File, Directory, Symlink, Hardlink, Other };

struct EntryHeader {
  std::uint64_t ordinal = 0;  // 0-based position of the entry in the archive
  std::string path;           // normalised: no leading "./" or "/"
  EntryType type = EntryType::Other;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
  std::string link_target;  // Symlink / Hardlink
};

// The archive cannot be read on from here: a damaged compressed stream, a
// bad header, a read error. The message names the archive, the entry and the
// offset (bytes of the archive file consumed).
class ArchiveError : public std::runtime_error {
 public:
  ArchiveError(const std::string& archive, const std::string& detail, std::uint64_t offset, bool fatal)
      : std::runtime_error(archive + ": " + detail), detail_(detail), offset_(offset), fatal_(fatal) {}
  // The message without the archive's name (for a Problem whose file is the archive).
  [[nodiscard]] const std::string& detail() const { return detail_; }
  [[nodiscard]] std::uint64_t offset() const { return offset_; }
  // False: libarchive skipped the damage and reading may go on.
  [[nodiscard]] bool fatal() const { return fatal_; }

 private:
  std::string detail_;
  std::uint64_t offset_;
  bool fatal_;
};

// "a/./b//c/" -> "a/b/c"; leading "./" and "/" removed.
std::string normalize_entry_path(std::string_view path);

class DirectoryEntries;

class ArchiveReader {
 public:
  // Opens `path` read-only: an archive file, "-" for standard input (one
  // pass only: see stream_spool.h), or a directory, read as the archive it
  // was exploded from (directory_entries.h). `shown` names it in messages
  // (default: `path`). Throws ArchiveError (fatal) when it is no archive.
  explicit ArchiveReader(const std::string& path, const std::string& shown = {});
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  ~ArchiveReader();

  // The next entry; false at the end of the archive. The previous entry's
  // unread data is skipped. Throws ArchiveError: fatal ones end the reader,
  // others (damage libarchive skipped) may be followed by more entries.
  bool next(EntryHeader& header);
  // Reads the current entry's data; 0 at its end. Throws ArchiveError.
  std::size_t read(std::span<char> buffer);

  // Ordinal of the entry next() returns next.
  [[nodiscard]] std::uint64_t position() const { return next_ordinal_; }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // Bytes of the archive file consumed so far (a directory: of the current file).
  [[nodiscard]] std::uint64_t offset() const;
  // The compression and format as libarchive names them, e.g. "gzip" / "GNU tar format".
  [[nodiscard]] std::string describe_format() const;

 private:
  [[noreturn]] void fail(const std::string& what, bool fatal);

  std::string path_;                             // as shown
  std::unique_ptr<DirectoryEntries> directory_;  // set for a directory: libarchive is not used
  ::archive* handle_ = nullptr;
  int fd_ = -1;
  std::uint64_t next_ordinal_ = 0;
  std::string current_;  // name of the current entry, for errors
  bool failed_ = false;
};

}  // namespace mailmig::archive
