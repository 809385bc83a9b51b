// Small file-system helpers: the one place for each of them in mailmig.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::fs {

enum class Type { File, Directory, Symlink, Other };

struct Entry {
  std::string name;
  Type type = Type::Other;  // as lstat sees it: symlinks are not followed
};

// Entries of a directory except "." and "..", sorted by name. Opens the
// directory O_NOFOLLOW. Throws IoError.
std::vector<Entry> list_directory(const std::string& path);

// realpath(3), or nullopt when the path does not resolve.
std::optional<std::string> real_path(const std::string& path);

// True when `path` (already canonical) is `root` or below it.
bool is_within(const std::string& root, const std::string& path);

// Type of what a symlink at `path` points to, if it resolves inside `root`;
// nullopt when it dangles or leaves the store.
std::optional<Type> symlink_target_type_within(const std::string& root, const std::string& path);

std::string join(const std::string& dir, const std::string& name);

// Opens `name` (relative to `dir_fd`, or AT_FDCWD) read-only for a reader of
// regular files: O_NOFOLLOW, and O_NONBLOCK so that a FIFO or device named
// like a mailbox or settings file cannot block the open; then fstat must say
// regular file. Returns the descriptor, or -1 with errno set (ELOOP for a
// symlink, EISDIR for a directory, EINVAL for anything else not regular).
// `size`, when given, receives the file size. Every reader of store files
// opens through here.
int open_regular(int dir_fd, const char* name, std::uint64_t* size = nullptr);

// The non-empty '/'-separated components of `path` ("a//b/" -> a, b).
std::vector<std::string> path_components(std::string_view path);

// $TMPDIR, or /tmp when it is unset or empty.
std::string temp_dir();

// write(2) until all of `bytes` is written (EINTR retried); throws IoError
// naming `path` and the file offset `offset` the failed write started at.
void write_all(int fd, std::string_view bytes, const std::string& path, std::uint64_t offset = 0);

// Replaces (or creates) the file `path` with `bytes` so that a reader, a
// crash or kill -9 sees either the old file or the complete new one, never a
// part: the bytes go into an unnamed file in the same directory (O_TMPFILE;
// nothing is left behind if the process dies meanwhile), are fsynced, then
// linked in place (by a rename when `path` exists). A full disk or any other
// failure throws IoError naming `path` and leaves the old file as it was.
// `mode` is applied whatever the umask.
void replace_file(const std::string& path, std::string_view bytes, unsigned mode = 0644);

}  // namespace mailmig::fs
