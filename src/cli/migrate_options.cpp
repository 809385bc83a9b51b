// The command line of migrate and sync: the options they share, and sync's --delete.
#include <CLI/CLI.hpp>

#include "cli/migrate_command.h"

namespace mailmig::cli {

void add_migrate_options(CLI::App& sub, MigrateCommand& c, bool with_source) {
  if (with_source) sub.add_option("--source", c.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  add_selection_options(sub, c.select);
  add_naming_options(sub, c.naming);
  add_source_options(sub, c.source_options);
  add_target_options(sub, c.target);
  sub.add_option("--provision", c.provision,
                 "Create missing users: none | kerio:URL | dovecot:FILE | ldap:URL | command:CMD");
  sub.add_option("--provision-user", c.provision_user, "kerio/ldap: administrator login (ldap: bind DN)");
  sub.add_option("--provision-password-file", c.provision_password_file,
                 "kerio/ldap: administrator password file (mode 600)");
  sub.add_option("--provision-ca-file", c.provision_ca_file,
                 "kerio/ldap: CA certificates for the admin connection");
  sub.add_option("--ldap-base", c.ldap_base, "ldap: where new entries go (e.g. ou=people,dc=example,dc=com)");
  sub.add_option("--ldap-template", c.ldap_template, "ldap: entry template file (%u %d %n %p)");
  sub.add_option("--jobs,-j", c.jobs, "Accounts migrated in parallel (default 4)");
  sub.add_option(
      "--state", c.state_dir,
      "Run state directory (default: one per target under /var/lib/mailmig/state, or ~/.local/state/mailmig "
      "when not root; $MAILMIG_STATE_HOME overrides the base)");
  sub.add_flag("--force", c.force, "Also migrate accounts that already exist on the target");
  sub.add_flag("--dry-run", c.dry_run,
               "Print what would be done; touch nothing (-v or --log: every message)");
  sub.add_option("--report", c.report, "Write the final report as JSON to FILE");
  sub.add_option("--password-file-out", c.password_file_out,
                 "Where the passwords set are written (mode 600)");
  sub.add_option("--set-password", c.set_password,
                 "Password for created users whose source password is encrypted");
  sub.add_option("--force-set-password", c.force_set_password,
                 "Password for the single created user (with --user)");
  sub.add_option(
      "--hook-before-account", c.hook_before_account,
      "Shell command run before each account (MAILMIG_* variables); non-zero exit skips the account");
  sub.add_option(
      "--hook-after-account", c.hook_after_account,
      "Shell command run after each account (also MAILMIG_STATUS, MAILMIG_COPIED); failure fails it");
  sub.add_option("--hook-timeout", c.hook_timeout,
                 "Seconds a hook may run before it is killed (default 600)");
  sub.add_option("--log", c.log_file, "Write a detailed log to FILE");
  sub.add_flag("--quiet,-q", c.quiet, "No per-folder lines on screen");
  sub.add_flag("--json", c.json, "Print only the final report, as JSON (for scripts)");
}

void add_migrate_command(CLI::App& app, MigrateCommand& c, CLI::App*& sub) {
  sub = app.add_subcommand("migrate",
                           "Migrate accounts to an IMAP target with run state: resumable, never duplicates");
  add_migrate_options(*sub, c, true);
}

void add_sync_command(CLI::App& app, MigrateCommand& c, CLI::App*& sub) {
  sub = app.add_subcommand("sync",
                           "Stage-2 delta sync (repeatable): new mail, flag changes and, with --delete, "
                           "deletions on the source since the last migrate/sync");
  add_migrate_options(*sub, c, true);
  sub->add_flag(
      "--delete", c.delete_removed,
      "Remove from the target what this tool copied and the source no longer has (never other mail)");
  c.sync = true;
}

}  // namespace mailmig::cli
