// mailmig verify: compares the target with the source after a migration and
// says, per account and folder, what is missing, extra, duplicated, altered
// or has other flags or dates; checks the logins (also with the passwords of
// the .pass file). Read-only on both sides.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "cli/selection_options.h"
#include "cli/source_spec.h"
#include "cli/target_options.h"

namespace mailmig::cli {

struct VerifyCommand {
  std::string source;
  SourceOptions source_options;
  SelectionArgs selection;
  NamingArgs naming;
  TargetArgs target;
  std::string state_dir;  // default: the one migrate uses for this source and target
  std::string pass_file;  // the .pass CSV migrate wrote
  std::string report;     // JSON
  std::string html;
  std::string sample;  // "10%": hash a sample only
  unsigned jobs = 4;
};

void add_verify_command(CLI::App& app, VerifyCommand& command, CLI::App*& sub);
// verbosity > 0 lists every difference (otherwise the first few).
int run_verify(const VerifyCommand& command, int verbosity, std::ostream& out, std::ostream& err);

// "10%", "10" or "0.5%" -> percent in (0, 100]. Throws std::invalid_argument.
double parse_sample_percent(const std::string& text);

// The .pass file (RFC 4180 CSV, header "account,password,how"): lowercased
// account@domain -> password. Throws std::runtime_error naming file and line.
std::map<std::string, std::string> read_pass_file(const std::string& path);

}  // namespace mailmig::cli
