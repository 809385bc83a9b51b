#include "directory/change_run.h"

#include <fmt/format.h>

namespace mailmig::directory {

ChangeRun::ChangeRun(LiveDirectory* directory, ChangeOptions options, DirectoryReport& report)
    : directory_(directory), options_(std::move(options)), report_(report) {
  report_.dry_run = options_.dry_run;
  for (std::ostream* out : options_.ldif_outputs) writers_.emplace_back(*out);
}

void ChangeRun::note(const std::string& dn, const std::string& message) {
  report_.notes.push_back({dn, message});
}

bool ChangeRun::apply(const Entry& current, const Entry& desired) {
  ++report_.matched;
  ModifyRecord change{current.dn, diff_entries(current, desired)};
  if (change.mods.empty()) {
    ++report_.unchanged;
    return true;
  }
  for (LdifWriter& writer : writers_) writer.write(change);
  if (options_.dry_run) {
    ++report_.changed;
    return true;
  }
  std::string error;
  if (directory_->modify(change, error) == 0) {
    ++report_.changed;
    return true;
  }
  ++report_.failed;
  report_.failures.push_back({current.dn, error});
  if (options_.keep_going) return true;
  report_.stopped = true;
  report_.stop_reason = fmt::format(
      "stopped at the first failure, {}: {} (--continue goes on past failing entries)", current.dn, error);
  return false;
}

}  // namespace mailmig::directory
