// Which target folder each source folder of an account should be, and which
// target folders no source folder accounts for: the naming rules and the
// names an earlier migration used, against the target's listing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/naming.h"
#include "source/source.h"
#include "target/target.h"

namespace mailmig {

// A source folder and where it should be on the target.
struct FolderJob {
  const FolderInfo* folder = nullptr;
  std::string target;  // neutral name on the target
  bool exists = false;
};

struct FolderMatch {
  std::vector<FolderJob> jobs;           // in the source's order
  std::vector<std::string> target_only;  // target folders no source folder (nor INBOX) accounts for
};

// `earlier`: source folder -> the target name an earlier migration used.
// `folders` must outlive the result. Throws what the target's listing throws.
FolderMatch match_folders(const std::vector<FolderInfo>& folders, TargetAccount& out,
                          const NamingRules& naming, const std::map<std::string, std::string>& earlier);

}  // namespace mailmig
