// File-system writes of the Maildir target: directories and files are created
// 0700/0600, optionally chowned, and made durable on request. Everything that
// creates or syncs something on disk goes through here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/byte_reader.h"
#include "core/datetime.h"

namespace mailmig::maildir {

struct Owner {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  [[nodiscard]] bool any() const { return uid.has_value() || gid.has_value(); }
};

// chown(2) of what we just created, when an owner is configured. Throws IoError.
void apply_owner(int fd, const std::string& path, const Owner& owner);
// mkdir(path, mode) unless it exists as a directory; chowns what it creates.
// Returns true when it created the directory. Throws IoError.
bool ensure_dir(const std::string& path, mode_t mode, const Owner& owner);
// fsync(2) of a file or directory by path. Throws IoError.
void fsync_path(const std::string& path);
// syncfs(2) of the file system holding `path`: one journal commit for a whole
// batch of files instead of one fsync each. Throws IoError.
void syncfs_path(const std::string& path);

// Streams `reader` into a new file `path` (O_EXCL, 0600), fsyncs it when
// asked, sets its mtime to `mtime` (Dovecot's INTERNALDATE of a Maildir file)
// and returns its size. Removes the file again on any failure. Throws.
std::uint64_t write_new_file(const std::string& path, ByteReader& reader, std::optional<DateTime> mtime,
                             bool sync, const Owner& owner);

// Writes `content` to `path` + ".tmp"-style `temp`, then renames it over
// `path` (readers see the old or the new file, never a part).
void replace_file(const std::string& temp, const std::string& path, const std::string& content, bool sync,
                  const Owner& owner);

// Reads a whole small file; nullopt when it does not exist. Throws IoError.
std::optional<std::string> read_small_file(const std::string& path);

// A ByteReader over a file (O_NOFOLLOW).
std::unique_ptr<ByteReader> open_file_reader(const std::string& path);

// A message file as an IMAP server serves it (bare LF as CRLF, which is how
// Dovecot sends its own LF files): RFC822.SIZE and SHA-256 in one read.
struct Served {
  std::uint64_t size = 0;
  std::string sha256;
};
Served read_served(const std::string& path);

}  // namespace mailmig::maildir
