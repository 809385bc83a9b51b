#include "cli/entry.h"

#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/cg2kms.h"
#include "cli/commands.h"
#include "cli/copy_command.h"
#include "cli/migrate_command.h"
#include "cli/exit_codes.h"

namespace mailmig::cli {

namespace {

int mailmig_main(int argc, char** argv) {
  CLI::App app{"mailmig - move whole mail systems off legacy servers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mailmig 0.1.0");
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "More log output (repeat for debug)");

  InventoryCommand inventory;
  auto* inv = app.add_subcommand("inventory", "Overview of a source: domains, accounts, folders, messages, sizes");
  inv->add_option("--source", inventory.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  inv->add_option("--domain", inventory.inventory.selection.domain, "Only this domain");
  inv->add_option("--user", inventory.inventory.selection.user, "Only this account (name or name@domain)");
  inv->add_flag("--json", inventory.json, "JSON for scripts instead of the table");
  inv->add_flag("--messages", inventory.inventory.messages,
                "List every message with SHA-256, flags and date (JSON; reads every message)");
  inv->add_flag("!--no-folders", inventory.folders, "Table: accounts only, no folder lines");
  inv->add_option("--output,-o", inventory.output, "Write the report to this file");
  inv->add_option("--main-domain,--primary-domain", inventory.source_options.main_domain,
                  "CommuniGate: name of the main domain (Accounts/); default from Settings/Main.settings or host name");
  inv->add_flag("--allow-live-store", inventory.source_options.allow_live,
                "CommuniGate: read the store although its server is running (snapshots only)");
  inv->add_option("--jobs,-j", inventory.inventory.jobs, "Accounts scanned in parallel (default: twice the cores, at least 4)");

  CopyCommand copy;
  CLI::App* copy_sub = nullptr;
  add_copy_command(app, copy, copy_sub);
  MigrateCommand migrate;
  CLI::App* migrate_sub = nullptr;
  add_migrate_command(app, migrate, migrate_sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  setup_logging(verbosity, false, migrate_sub->parsed() ? migrate.log_file : std::string());
  if (inv->parsed()) return run_inventory(inventory, std::cout, std::cerr);
  if (copy_sub->parsed()) return run_copy(copy, std::cout, std::cerr);
  if (migrate_sub->parsed()) return run_migrate(migrate, std::cout, std::cerr);
  return kExitUsage;
}

}  // namespace

int main_entry(int argc, char** argv) {
  std::string_view program = argc > 0 ? argv[0] : "mailmig";
  if (auto slash = program.rfind('/'); slash != std::string_view::npos) program.remove_prefix(slash + 1);
  if (program.starts_with("cg2kms")) return cg2kms_main(argc, argv);
  return mailmig_main(argc, argv);
}

}  // namespace mailmig::cli
