#include "engine/verify_folder_match.h"

#include <algorithm>
#include <set>

#include "core/ascii.h"

namespace mailmig {

namespace {

// "INBOX" in any case is the one inbox (RFC 3501 5.1).
std::string folder_key(const std::string& name) {
  return ascii_lower(name) == "inbox" ? std::string("INBOX") : name;
}

}  // namespace

FolderMatch match_folders(const std::vector<FolderInfo>& folders, TargetAccount& out,
                          const NamingRules& naming, const std::map<std::string, std::string>& earlier) {
  const std::vector<std::string> existing = out.folders();
  const std::vector<PlannedFolder> planned = plan_folder_names(
      naming, folders, [&](const std::string& n) { return out.stored_name(n); }, earlier);
  std::set<std::string> on_target;
  for (const std::string& f : existing) on_target.insert(folder_key(f));
  std::set<std::string> implied;  // target folders some source folder accounts for (and their parents)
  std::map<std::string, std::string> target_of;
  for (const PlannedFolder& p : planned) target_of[p.source] = p.target;
  FolderMatch match;
  for (const FolderInfo& folder : folders) {
    const auto planned_name = target_of.find(folder.name);
    const std::string target = planned_name != target_of.end() ? planned_name->second : folder.name;
    // The listing gives neutral names; a component the target had to change
    // (it held the server's delimiter) is listed as stored_name() has it.
    const std::string neutral = folder_key(target);
    const std::string stored = folder_key(out.stored_name(target));
    for (const std::string& name : {neutral, stored}) {
      for (std::string parent = name; !parent.empty();) {
        implied.insert(parent);
        const auto slash = parent.rfind('/');
        parent = slash == std::string::npos ? std::string() : parent.substr(0, slash);
      }
    }
    const bool exists = on_target.contains(neutral) || on_target.contains(stored);
    // A directory-only source folder may exist on the target only as the
    // parent of its children (\Noselect, not listed as a mailbox).
    if (!exists && !folder.selectable &&
        std::any_of(on_target.begin(), on_target.end(),
                    [&](const std::string& t) { return t.starts_with(neutral + "/"); })) {
      continue;
    }
    match.jobs.push_back(FolderJob{.folder = &folder, .target = target, .exists = exists});
  }
  for (const std::string& t : existing) {
    if (!implied.contains(folder_key(t)) && folder_key(t) != "INBOX") match.target_only.push_back(t);
  }
  return match;
}

}  // namespace mailmig
