// mailmig import-backup DIR|FILE|- : an SME Server full backup (exploded
// directory, archive file or a tar stream on standard input) imported in
// one run: users (with their password hashes where the provisioner can keep
// them), groups and pseudonyms as aliases (--aliases-out: a Postfix virtual
// alias table; --provision ldap: entries in the directory, written after the
// users), then the mail through the migrate engine (resumable, never a
// duplicate). Everything goes to a log in which every problem line carries
// FAIL or ERROR, the check step of the SME Server migration procedure.
#pragma once

#include <ostream>
#include <string>

#include "cli/migrate_command.h"

namespace mailmig::cli {

struct ImportBackupCommand {
  std::string backup;       // DIR, FILE or "-"
  std::string aliases_out;  // Postfix virtual alias table to write
  MigrateCommand migrate;   // every migrate option but --source
};

void add_import_backup_command(CLI::App& app, ImportBackupCommand& command, CLI::App*& sub);
// The log the run writes: --log, or import-backup_YYYY-MM-DD_HH-MM-SS.log
// in the current directory (the name cg2kms gives its log). Sets it in
// `command` so the run and the logging setup agree.
const std::string& import_backup_log(ImportBackupCommand& command);
int run_import_backup(const ImportBackupCommand& command, std::ostream& out, std::ostream& err);

}  // namespace mailmig::cli
