// How source names become target names: the rename map (imsrestore -u:
// "old=New" lines, SIMS stores are lowercase, directory UIDs may not be),
// --lowercase (the GroupWise rule) for accounts and folders, and folder names
// that would collide on the target after transformation or encoding made
// distinct (imsrestore -n), reported, never merged silently.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig {

struct NamingRules {
  // Keys lowercased: "account" or "account@domain" (the longer form wins).
  std::map<std::string, std::string> rename;
  bool lowercase = false;  // account, domain and folder names (INBOX stays INBOX)
};

// Reads "old=New" lines (blank lines and '#' comments ignored, spaces around
// '=' trimmed). Throws std::runtime_error naming file and line for a line
// without '=', an empty side, or a key given twice with different values.
std::map<std::string, std::string> read_rename_map(const std::string& path);

// The account (login name without domain) and domain on the target.
struct TargetAccountName {
  std::string account;
  std::string domain;
  [[nodiscard]] std::string key() const { return account + "@" + domain; }
};
TargetAccountName target_account_name(const NamingRules& rules, const AccountInfo& account);

struct PlannedFolder {
  std::string source;  // FolderInfo::name
  std::string target;  // neutral name to create on the target
  std::string
      note;  // non-empty when `target` differs from the plain transformation (collision), for the report
};

// Source folders (parents before children) -> distinct target names.
// `stored_name` tells what the target makes of a neutral name (delimiter
// replaced, ...): two folders collide when it gives the same result (INBOX
// compared case-insensitively). `earlier` holds target names an earlier run
// used (source -> target, from the state): they are kept, so adding a folder
// later never renames one that was already migrated. A renamed parent renames
// its children's path too.
std::vector<PlannedFolder> plan_folder_names(
    const NamingRules& rules, const std::vector<FolderInfo>& folders,
    const std::function<std::string(const std::string&)>& stored_name,
    const std::map<std::string, std::string>& earlier);

}  // namespace mailmig
