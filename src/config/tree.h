// A configuration directory held in memory (they are small): what is read
// from /etc/<product>, what a takeover should leave there, and the file
// operations that copy and write such trees with their metadata.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace mailmig::config {

enum class EntryType { File, Directory, Symlink };

struct TreeEntry {
  EntryType type = EntryType::File;
  std::string content;  // File: the bytes; Symlink: the target
  mode_t mode = 0;      // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  bool operator==(const TreeEntry&) const = default;
};

// Keyed by path relative to the root ("" is never a key: the root itself is
// described by the caller). std::map keeps parents before their children.
using Tree = std::map<std::string, TreeEntry>;

// Reads every entry below `root` (symlinks are not followed). Anything but
// files, directories and symlinks is an error. Throws IoError.
Tree read_tree(const std::string& root);

// Copies `from` to a new directory `to` (which must not exist) with modes,
// symlinks, modification times and, when root, owners. Throws IoError.
void copy_tree(const std::string& from, const std::string& to);

// Creates every entry of `tree` below `root` (an existing empty directory),
// with modes, and owners when `owners` is set; files are fsync'ed. Throws IoError.
void write_tree(const std::string& root, const Tree& tree, bool owners);

// Removes `path` and everything below it; missing is fine. Throws IoError.
void remove_tree(const std::string& path);

// Writes a whole file (O_CREAT|O_EXCL unless `replace`) with `mode` and fsyncs it.
void write_file(const std::string& path, const std::string& content, mode_t mode, bool replace = false);
std::string read_file(const std::string& path);

}  // namespace mailmig::config
