// Finding the accounts of a tree of per-user mail directories (Maildir or mbox
// directories): a --user-path pattern with %d (domain), %n (local part) and %u
// (local@domain), each matching one path component, is globbed against the
// file system. Shared by the maildir: and mbox: sources (it belongs in a
// common place once a third on-disk source needs it).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig {
class FileTree;
}

namespace mailmig::maildir {

// The source cannot be read as asked (a usage problem: exit status 2).
class SourceError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FoundAccount {
  std::string domain;  // lowercase; empty when the pattern has no domain level
  std::string name;
  std::string location;  // the path the whole pattern matched
};

// All existing paths matching `pattern` (relative patterns are under `root`),
// sorted by domain and name. Entries starting with '.' never match a
// placeholder. A placeholder occurring twice must match the same text.
// Directories that cannot be listed are reported and skipped.
std::vector<FoundAccount> expand_user_path(const std::string& root, const std::string& pattern,
                                           const ProblemFn& problem);
// The same, through `tree` (local or remote).
std::vector<FoundAccount> expand_user_path(FileTree& tree, const std::string& root,
                                           const std::string& pattern, const ProblemFn& problem);

// The pattern with %d, %n, %u and %% replaced (e.g. --inbox-path /var/mail/%n).
std::string substitute_user_path(const std::string& pattern, const std::string& domain,
                                 const std::string& name);

// True when the pattern names the domain (%d or %u).
bool pattern_has_domain(const std::string& pattern);

// "name@domain" split at the last '@'; no '@': all of it is the name.
std::pair<std::string, std::string> split_user(const std::string& user);

// Name of the owner of `path` (getpwuid), nullopt when unknown.
std::optional<std::string> owner_name(const std::string& path);

bool is_directory(const std::string& path);                  // follows symlinks
bool is_directory(FileTree& tree, const std::string& path);  // follows symlinks
bool is_regular_file(const std::string& path);               // follows symlinks

}  // namespace mailmig::maildir
