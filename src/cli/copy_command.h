// mailmig copy: one-shot copy of selected accounts to an IMAP target.
#pragma once

#include <ostream>

#include "cli/source_spec.h"
#include "cli/target_options.h"
#include "engine/selection.h"

namespace mailmig::cli {

struct CopyCommand {
  std::string source;
  SourceOptions source_options;
  Selection selection;
  TargetArgs target;
  bool allow_nonempty = false;
  unsigned jobs = 4;
  bool quiet = false;
};

void add_copy_command(CLI::App& app, CopyCommand& command, CLI::App*& sub);
int run_copy(const CopyCommand& command, std::ostream& out, std::ostream& err);

}  // namespace mailmig::cli
