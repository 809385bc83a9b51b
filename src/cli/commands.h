// Subcommands shared by the mailmig and cg2kms front ends.
#pragma once

#include <exception>
#include <ostream>
#include <string>

#include "cli/source_spec.h"
#include "engine/inventory.h"

namespace mailmig::cli {

struct InventoryCommand {
  std::string source;
  SourceOptions source_options;
  InventoryOptions inventory;
  bool json = false;
  bool folders = true;  // text output: one line per folder
  std::string output;   // file instead of stdout
};

// For a failure while setting a command up: prints "mailmig: <what>" and
// returns kExitUsage for a bad argument (SpecError, std::invalid_argument),
// kExitFatal otherwise. Call from a catch (...) block.
int report_setup_error(const std::exception_ptr& error, std::ostream& err);

// Runs the overview and prints it; returns an ExitCode.
int run_inventory(const InventoryCommand& command, std::ostream& out, std::ostream& err);

// Log to stderr at warn (default), info (-v) or debug (-vv); with a log file,
// everything from info up also goes there.
// `problem_words`: the file names levels ERROR / WARN / INFO / DEBUG in capitals, so
// `grep -E '(FAIL|ERROR)'` finds every problem (import-backup).
void setup_logging(int verbosity, bool quiet, const std::string& log_file = "", bool problem_words = false);
// Writes `message` as an error to the log file only (nothing when there is none):
// errors the screen shows already in its own words.
void log_file_error(const std::string& message);

}  // namespace mailmig::cli
