// What a configuration takeover would do, computed in memory from the trees
// (no I/O): the destination tree afterwards, the diff of every file, what
// happened to each directive, and what needs a person. Both strategies of
// the Kopano drop-in migration: merge (carry what the administrator changed
// onto the new product's defaults) and copy (the old files over the new).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/rules.h"
#include "config/tree.h"

namespace mailmig::config {

enum class Strategy { Merge, Copy };
enum class LdapSchema { Keep, New };

struct Owner {
  std::string spec;          // USER:GROUP as given
  std::optional<uid_t> uid;  // resolved, when the user exists
  std::optional<gid_t> gid;
  bool apply = false;  // resolved and we are root: the result carries these owners
};

struct PlanOptions {
  Strategy strategy = Strategy::Merge;
  LdapSchema ldap_schema = LdapSchema::Keep;
  std::string from;  // directory names for messages, diffs and commands
  std::string to;
  std::optional<std::string> move_from, move_to;  // --move-data: values naming move_from now name move_to
  Owner owner;
};

struct DirectiveAction {
  std::string file;  // relative to --from
  std::size_t line = 0;
  std::string key;
  std::string action;  // renamed, dropped, carried, kept, rewritten
  std::string detail;
};

struct Warning {
  std::string path;      // full path
  std::size_t line = 0;  // 0: not about a line
  std::string message;
  [[nodiscard]] std::string describe() const;
};

struct FileChange {
  std::string path;  // relative to --to
  std::string kind;  // added, changed, removed
  std::string diff;  // unified diff (files and symlinks), empty for directories
};

struct Plan {
  Tree result;            // the destination afterwards (below the root)
  TreeEntry result_root;  // the destination directory itself
  std::vector<FileChange> files;
  std::vector<DirectiveAction> directives;
  std::vector<Warning> warnings;
  std::vector<std::string> mode_changes;     // "chmod 640 /etc/kopano/server.cfg" for what changes
  std::vector<std::string> owner_changes;    // chown commands for what changes
  std::vector<std::string> manual_commands;  // commands a person must run (owners we cannot set)

  // Anything to write (contents, modes or owners we set ourselves).
  [[nodiscard]] bool changes_destination() const;
};

// A failed safety check or a tree the rules cannot handle: nothing is written.
class PlanError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Plan plan_takeover(const Rules& rules, const PlanOptions& options, const Tree& source,
                   const Tree& destination, const TreeEntry& destination_root, const Tree* old_defaults);

}  // namespace mailmig::config
