// mailmig migrate / sync: stateful migration of selected accounts (and the
// engine behind cg2kms -migrate). sync is the stage-2 run of a two-stage
// migration: new mail, flag changes and (with --delete) deletions since the
// last run; it can be repeated any number of times.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "cli/selection_options.h"
#include "cli/source_spec.h"
#include "cli/target_options.h"

namespace mailmig {
class Provisioner;
class ProblemSink;
}  // namespace mailmig

namespace mailmig::cli {

struct MigrateCommand {
  std::string source;
  SourceOptions source_options;
  SelectionArgs select;
  NamingArgs naming;
  TargetArgs target;
  std::string provision = "none";
  std::string provision_user;
  std::string provision_password_file;
  std::string provision_ca_file;
  std::string ldap_base;
  std::string ldap_template;
  unsigned jobs = 4;
  std::string state_dir;
  bool force = false;
  bool dry_run = false;
  std::string report;             // JSON report file
  std::string password_file_out;  // .pass file; default <prefix>_<datetime>.pass
  std::string set_password;
  std::string force_set_password;
  std::string log_file;  // everything, at debug level
  bool quiet = false;
  bool json = false;
  std::string file_prefix = "mailmig";  // cg2kms uses "cg2kms" for its .pass and .log
  std::string provision_password;       // secret, when not read from a file (cg2kms)
  std::string hook_before_account;      // shell command; non-zero exit: the account is skipped
  std::string hook_after_account;
  unsigned hook_timeout = 600;  // seconds
  bool sync = false;            // mailmig sync: also flag changes and deletions
  bool delete_removed = false;  // sync --delete
};

// `migrate` and `sync` share every option; sync adds --delete.
void add_migrate_command(CLI::App& app, MigrateCommand& command, CLI::App*& sub);
void add_sync_command(CLI::App& app, MigrateCommand& command, CLI::App*& sub);
int run_migrate(const MigrateCommand& command, std::ostream& out, std::ostream& err);

// The option set of migrate (without --source when `with_source` is false:
// import-backup names its backup as an argument).
void add_migrate_options(CLI::App& sub, MigrateCommand& command, bool with_source);
// The source options after the account selection is taken into account.
SourceOptions migrate_source_options(const MigrateCommand& command);
// Runs once every account is done (not after Ctrl-C), before the provisioner
// finishes: import-backup creates groups and pseudonyms with the provisioner
// (nullptr for --provision none). Its problems go to `sink` like the run's own.
using AfterAccounts = std::function<void(Provisioner* provisioner, ProblemSink& sink, std::ostream& out)>;

// The run of migrate/sync on a source opened already (a stream can be opened
// once only); `earlier` problems count like the run's own (report, exit 1).
int run_migrate_opened(const MigrateCommand& command, OpenedSource opened,
                       const std::vector<Problem>& earlier, std::ostream& out, std::ostream& err,
                       const AfterAccounts& after_accounts = {});

}  // namespace mailmig::cli
