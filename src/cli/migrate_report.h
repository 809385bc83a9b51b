// What migrate and sync print: the per-folder lines, the final table and the
// JSON report (the formats scripts and the integration tests rely on).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "cli/migrate_command.h"
#include "core/problem.h"
#include "engine/migrate.h"

namespace mailmig::cli {

struct RunTotals {
  std::uint64_t copied = 0;
  std::uint64_t already = 0;
  std::uint64_t found_on_target = 0;
  std::uint64_t target_hashed = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t would_copy = 0;
  std::uint64_t flag_changes = 0;
  std::uint64_t deleted_on_source = 0;
  std::uint64_t removed = 0;

  void add(const AccountResult& r);
};

// "account@domain Folder: 3 copied, 2 already there, ..." as printed after each folder.
std::string folder_line(const MigrateCommand& c, const AccountResult& a, const FolderResult& f);
// The --report / --json document.
nlohmann::ordered_json make_report(const std::vector<AccountResult>& results, const RunTotals& t,
                                   const std::vector<Problem>& problems);
// The final table; a sync adds its flag and deletion columns.
void print_table(const MigrateCommand& c, const std::vector<AccountResult>& results, const RunTotals& t,
                 bool complete, std::ostream& out);

struct RunOutcome {
  bool complete = false;       // every account done and no problem
  bool report_written = true;  // --report could be written (scripts read it)
};
// The end of a run: the --report file (whole or not at all), the --json
// document or the table and the problems on `out`, the summary in the log.
RunOutcome report_run(const MigrateCommand& c, const std::vector<AccountResult>& results,
                      const std::vector<Problem>& problems, std::ostream& out, std::ostream& err);

}  // namespace mailmig::cli
