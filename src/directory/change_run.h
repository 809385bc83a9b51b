// One directory run: each matched entry's desired state becomes at most one
// LDAP modify (or, with --dry-run, only its LDIF change record), counted as
// changed, unchanged or failed. Without keep_going the first failure stops
// the run and names the entry (imsdirmig without -c).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "directory/entry.h"
#include "directory/ldif.h"
#include "directory/live_directory.h"

namespace mailmig::directory {

struct EntryMessage {
  std::string dn;
  std::string message;
};

struct DirectoryReport {
  std::string command;  // "transplant", "modify", ...
  bool dry_run = false;
  std::size_t matched = 0;
  std::size_t changed = 0;  // with dry_run: would change
  std::size_t unchanged = 0;
  std::size_t failed = 0;
  std::vector<EntryMessage> failures;  // the server's error per entry
  std::vector<EntryMessage> notes;     // what could not be mapped, per entry
  bool stopped = false;  // ended early: first failure without --continue, or the server went away
  std::string stop_reason;
};

struct ChangeOptions {
  bool dry_run = false;
  bool keep_going = false;
  std::vector<std::ostream*> ldif_outputs;  // stdout for --dry-run, the --ldif-out file
};

class ChangeRun {
 public:
  ChangeRun(LiveDirectory* directory, ChangeOptions options, DirectoryReport& report);
  // false: stop (a failure without keep_going). Throws ConnectionLost.
  bool apply(const Entry& current, const Entry& desired);
  void note(const std::string& dn, const std::string& message);

 private:
  LiveDirectory* directory_;
  ChangeOptions options_;
  DirectoryReport& report_;
  std::vector<LdifWriter> writers_;
};

}  // namespace mailmig::directory
