#include "cli/migrate_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <mutex>
#include <optional>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/migrate_report.h"
#include "cli/progress_line.h"
#include "cli/provisioning_adapter.h"
#include "cli/run_storage.h"
#include "cli/state_location.h"
#include "core/printable.h"
#include "engine/migrate.h"
#include "engine/migrate_run.h"
#include "provision/passwords.h"

namespace mailmig::cli {

SourceOptions migrate_source_options(const MigrateCommand& c) {
  SourceOptions source_options = c.source_options;
  take_selection(source_options, c.source,
                 is_imap_spec(c.source) ? listed_selection(c.select) : c.select.selection);
  return source_options;
}

int run_migrate(const MigrateCommand& c, std::ostream& out, std::ostream& err) {
  OpenedSource opened;
  try {
    opened = open_source(c.source, migrate_source_options(c));
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }
  return run_migrate_opened(c, std::move(opened), {}, out, err);
}

int run_migrate_opened(const MigrateCommand& c, OpenedSource opened, const std::vector<Problem>& earlier,
                       std::ostream& out, std::ostream& err, const AfterAccounts& after_accounts) {
  std::unique_ptr<Target> target;
  std::map<std::string, std::string> passwords;
  std::unique_ptr<Provisioner> provisioner;
  try {
    target = make_target(c.target);
    if (!c.target.passwords_file.empty()) passwords = read_password_list(c.target.passwords_file);
    ProvisionOptions po{.admin_user = c.provision_user,
                        .ca_file = c.provision_ca_file,
                        .insecure = c.target.insecure,
                        .ldap_base = c.ldap_base,
                        .ldap_template = c.ldap_template};
    po.admin_password = !c.provision_password_file.empty() ? read_secret_file(c.provision_password_file)
                                                           : c.provision_password;
    provisioner = make_provisioner(c.provision, po);
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }

  ProblemSink sink;
  for (const Problem& p : earlier) sink.add(p);
  std::vector<AccountInfo> accounts;
  NamingRules naming;
  try {
    accounts = resolve_selection(*opened.source, c.select, sink);
    naming = load_naming(c.naming);
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    // A directory that fails mid-search is no usage error: nothing was done.
    return dynamic_cast<const SelectionError*>(&e) != nullptr ||
                   dynamic_cast<const std::invalid_argument*>(&e)
               ? kExitUsage
               : kExitFatal;
  }

  const std::string state_dir = choose_state_dir(c.state_dir, c.source, c.target.target);
  RunStorage storage;
  try {
    storage = open_run_storage(RunStorageOptions{.state_dir = state_dir,
                                                 .source_spec = c.source,
                                                 .dry_run = c.dry_run,
                                                 .creates_users = provisioner != nullptr,
                                                 .password_file_out = c.password_file_out,
                                                 .file_prefix = c.file_prefix});
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    return kExitFatal;
  }
  State& state = *storage.state;
  PassFile* pass_file = storage.pass_file.get();

  MigrateOptions options;
  options.force = c.force;
  options.dry_run = c.dry_run;
  PasswordRules password_rules;
  password_rules.set_pass = c.set_password;
  // -forceSetPass applies to a single-user run only (seed: "If a single user is migrated").
  if (accounts.size() == 1) password_rules.force_set_pass = c.force_set_password;
  std::optional<ProvisionerAccounts> provisioning;
  if (provisioner) provisioning.emplace(*provisioner, password_rules, pass_file);
  options.provisioning = provisioning ? &*provisioning : nullptr;
  options.stop = &InterruptWatch::stop_flag();
  options.login_password = [&](const AccountInfo& account) { return login_password_for(account, passwords); };
  options.sync = c.sync;
  options.delete_removed = c.delete_removed;
  options.naming = std::move(naming);
  options.hook_before_account = c.hook_before_account;
  options.hook_after_account = c.hook_after_account;
  options.hook_timeout = std::chrono::seconds(c.hook_timeout);
  options.live_source = c.source_options.allow_live;
  options.claim_account = [&](const std::string& target_account, std::string& holder) {
    return claim_target_account(c.target.target, target_account, holder);
  };
  std::mutex out_mutex;
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !c.quiet && !c.json;
  ProgressLine progress(err, out_mutex, accounts.size(), tty);
  options.on_folder_done = [&](const AccountResult& a, const FolderResult& f) {
    progress.folder_done(f.copied, f.bytes);
    const std::string line = folder_line(c, a, f);
    spdlog::info("{}", line);
    if (c.quiet || c.json) return;  // --json: stdout holds the report only
    std::lock_guard lock(out_mutex);
    if (tty) err << "\r\033[K";              // the progress line is redrawn after this one
    out << "  " << printable(line) << "\n";  // names from the source: escaped for the terminal
    out.flush();
  };

  if (!c.quiet && !c.json) {
    const char* doing = c.dry_run ? "Planning" : c.sync ? "Syncing" : "Migrating";
    out << fmt::format("{} {} account(s) from {} to {}{}\nstate: {}\n", doing, accounts.size(),
                       opened.description, target->describe(),
                       provisioner ? ", creating missing users with " + provisioner->describe() : "",
                       state.path());
    if (pass_file) out << fmt::format("passwords: {}\n", pass_file->path());
  }
  auto interrupt_watch = std::make_unique<InterruptWatch>();  // Ctrl-C, SIGTERM: a clean stop

  const std::vector<AccountResult> results = migrate_accounts(
      *opened.source, accounts, *target, state, options, sink, c.jobs, [&] { progress.account_done(); });
  progress.finish();
  interrupt_watch.reset();
  if (after_accounts && !InterruptWatch::stopped()) after_accounts(provisioner.get(), sink, out);
  if (provisioner) provisioner->finish();
  flush_run_state(state, sink);
  if (pass_file) pass_file->close();

  const RunOutcome outcome = report_run(c, results, sink.snapshot(), out, err);
  if (InterruptWatch::stopped())
    return report_interrupted(InterruptWatch::signal_number(), c.sync ? "the sync" : "the migration", err);
  return outcome.complete && outcome.report_written ? kExitOk : kExitProblems;
}

}  // namespace mailmig::cli
