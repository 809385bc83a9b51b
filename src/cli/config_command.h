// `mailmig config takeover`: carries one product's configuration directory
// into another's (Zarafa -> Kopano built in; other pairs by a rules file).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mailmig::cli {

struct ConfigTakeoverCommand {
  std::string from, to, rules;
  std::string strategy = "merge";
  std::string old_defaults;
  std::string ldap_schema = "keep";
  std::vector<std::string> move_data;  // OLD_DIR NEW_DIR
  std::string owner;
  std::string backup_dir;
  bool dry_run = false;
  bool json = false;
};

// Adds `config` with its `takeover` subcommand; `takeover_sub` is set to the latter.
void add_config_command(CLI::App& app, ConfigTakeoverCommand& command, CLI::App*& takeover_sub);

// Returns an ExitCode: 0 done, 1 done with warnings for a person, 2 usage, 3 nothing changed (failure).
int run_config_takeover(const ConfigTakeoverCommand& command, std::ostream& out, std::ostream& err);

}  // namespace mailmig::cli
