#include "cli/entry.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string_view>

#include "cli/argv_secrets.h"
#include "cli/cg2kms.h"
#include "cli/commands.h"
#include "cli/config_command.h"
#include "cli/copy_command.h"
#include "cli/directory_command.h"
#include "cli/exit_codes.h"
#include "cli/import_backup_command.h"
#include "cli/imsdirmig.h"
#include "cli/migrate_command.h"
#include "cli/selection_options.h"
#include "cli/sync_maildirs.h"
#include "cli/verify_command.h"

namespace mailmig::cli {

namespace {

int mailmig_main(int argc, char** argv) {
  CLI::App app{"mailmig - move whole mail systems off legacy servers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mailmig 0.1.0");
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "More log output (repeat for debug)");

  InventoryCommand inventory;
  auto* inv =
      app.add_subcommand("inventory", "Overview of a source: domains, accounts, folders, messages, sizes");
  inv->add_option("--source", inventory.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  // Resolved after parsing: --users-file and --ldap-filter read a file and the directory.
  SelectionArgs inventory_selection;
  add_selection_options(*inv, inventory_selection);
  inv->add_flag("--json", inventory.json, "JSON for scripts instead of the table");
  inv->add_flag("--messages", inventory.inventory.messages,
                "List every message with SHA-256, flags and date (JSON; reads every message)");
  inv->add_flag("!--no-folders", inventory.folders, "Table: accounts only, no folder lines");
  inv->add_option("--output,-o", inventory.output, "Write the report to this file");
  add_source_options(*inv, inventory.source_options);
  inv->add_option("--jobs,-j", inventory.inventory.jobs,
                  "Accounts scanned in parallel (default: twice the cores, at least 4)");

  CopyCommand copy;
  CLI::App* copy_sub = nullptr;
  add_copy_command(app, copy, copy_sub);
  MigrateCommand migrate;
  CLI::App* migrate_sub = nullptr;
  add_migrate_command(app, migrate, migrate_sub);
  MigrateCommand sync;
  CLI::App* sync_sub = nullptr;
  add_sync_command(app, sync, sync_sub);
  VerifyCommand verify;
  CLI::App* verify_sub = nullptr;
  add_verify_command(app, verify, verify_sub);
  DirectoryArgs directory;
  CLI::App* directory_sub = nullptr;
  add_directory_command(app, directory, directory_sub);

  ConfigTakeoverCommand takeover;
  CLI::App* takeover_sub = nullptr;
  add_config_command(app, takeover, takeover_sub);

  ImportBackupCommand import_backup;
  CLI::App* import_sub = nullptr;
  add_import_backup_command(app, import_backup, import_sub);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  // CLI11 holds its own copies now: hide the secrets from the process list.
  warn_secret_options(scrub_secret_options(argc, argv, kMailmigSecretOptions), "mailmig", std::cerr);
  if (import_sub->parsed()) {
    try {
      setup_logging(verbosity, false, import_backup_log(import_backup), true);
    } catch (const std::exception& e) {  // the log is the procedure's check step: no run without it
      std::cerr << "mailmig: cannot write the log " << import_backup.migrate.log_file << ": " << e.what()
                << "\n";
      return kExitFatal;
    }
    return run_import_backup(import_backup, std::cout, std::cerr);
  }
  setup_logging(verbosity, false,
                migrate_sub->parsed() ? migrate.log_file
                : sync_sub->parsed()  ? sync.log_file
                                      : std::string());
  if (inv->parsed()) {
    try {
      inventory.inventory.selection = listed_selection(inventory_selection);
      take_selection(inventory.source_options, inventory.source, inventory.inventory.selection);
    } catch (const SelectionError& e) {
      std::cerr << "mailmig: " << e.what() << "\n";
      return kExitUsage;
    } catch (...) {
      return report_setup_error(std::current_exception(), std::cerr);
    }
    return run_inventory(inventory, std::cout, std::cerr);
  }
  if (copy_sub->parsed()) return run_copy(copy, std::cout, std::cerr);
  if (migrate_sub->parsed()) return run_migrate(migrate, std::cout, std::cerr);
  if (sync_sub->parsed()) return run_migrate(sync, std::cout, std::cerr);
  if (takeover_sub->parsed()) return run_config_takeover(takeover, std::cout, std::cerr);
  if (verify_sub->parsed()) return run_verify(verify, verbosity, std::cout, std::cerr);
  if (directory_sub->parsed()) return run_directory(directory, std::cout, std::cerr);
  return kExitUsage;
}

}  // namespace

int main_entry(int argc, char** argv) {
  std::string_view program = argc > 0 ? argv[0] : "mailmig";
  if (auto slash = program.rfind('/'); slash != std::string_view::npos) program.remove_prefix(slash + 1);
  if (program.starts_with("cg2kms")) return cg2kms_main(argc, argv);
  if (program.starts_with("imsdirmig")) return imsdirmig_main(argc, argv);
  if (program.starts_with("sync_maildirs")) return sync_maildirs_main(argc, argv);
  return mailmig_main(argc, argv);
}

}  // namespace mailmig::cli
