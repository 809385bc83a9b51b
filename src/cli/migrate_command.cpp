#include "cli/migrate_command.h"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/migrate_report.h"
#include "cli/progress_line.h"
#include "cli/provisioning_adapter.h"
#include "cli/state_location.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/printable.h"
#include "core/sha256.h"
#include "core/worker_pool.h"
#include "engine/migrate.h"
#include "engine/state.h"
#include "provision/passwords.h"

namespace mailmig::cli {

namespace {

// A dry run must not create a state: without one it plans against an empty
// state held in memory.
std::unique_ptr<State> open_state(const std::string& dir, bool dry_run) {
  const std::string path = dir + "/state.sqlite";
  if (dry_run && !std::filesystem::exists(path)) return std::make_unique<State>(":memory:");
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  return std::make_unique<State>(path);
}

}  // namespace

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
  std::unique_ptr<LockFile> state_lock;
  std::unique_ptr<State> state;
  std::unique_ptr<PassFile> pass_file;
  try {
    if (!c.dry_run) state_lock = lock_state_dir(state_dir);
    state = open_state(state_dir, c.dry_run);
    state->set_source(spec_identity(c.source), !c.dry_run);
    if (provisioner && !c.dry_run) {
      if (!c.password_file_out.empty()) {
        // The same command after a kill continues the file it started.
        pass_file = std::make_unique<PassFile>(c.password_file_out, PassFile::Existing::Resume);
      } else {
        // Named by the second the run started; a second run in the same second gets a suffix.
        const std::string base = PassFile::default_name(std::chrono::system_clock::now(), c.file_prefix);
        for (int n = 1; !pass_file; ++n) {
          const std::string path =
              n == 1 ? base : fmt::format("{}-{}.pass", base.substr(0, base.size() - 5), n);
          if (std::filesystem::exists(path) && n < 100) continue;
          pass_file = std::make_unique<PassFile>(path);
        }
      }
    }
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    return kExitFatal;
  }

  MigrateOptions options;
  options.force = c.force;
  options.dry_run = c.dry_run;
  PasswordRules password_rules;
  password_rules.set_pass = c.set_password;
  // -forceSetPass applies to a single-user run only (seed: "If a single user is migrated").
  if (accounts.size() == 1) password_rules.force_set_pass = c.force_set_password;
  std::optional<ProvisionerAccounts> provisioning;
  if (provisioner) provisioning.emplace(*provisioner, password_rules, pass_file.get());
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
  options.claim_account = [&](const std::string& target_account,
                              std::string& holder) -> std::shared_ptr<void> {
    try {
      return LockFile::try_lock(account_lock_path(c.target.target, target_account),
                                fmt::format("{} into {}", target_account, c.target.target), holder);
    } catch (const std::exception& e) {
      // No lock directory we may write (another user's state home): the run
      // goes on, the state's own lock still keeps runs on one state apart.
      spdlog::warn("{}: cannot lock the account against concurrent runs: {}", target_account, e.what());
      return std::make_shared<int>(0);
    }
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
                       state->path());
    if (pass_file) out << fmt::format("passwords: {}\n", pass_file->path());
  }
  auto interrupt_watch = std::make_unique<InterruptWatch>();  // Ctrl-C, SIGTERM: a clean stop

  std::vector<AccountResult> results(accounts.size());
  // What escapes an account is the run's own storage failing (the state on a
  // full disk): reported with the state's path; no further account starts,
  // since each would fail alike. What was done is on the target and recorded.
  std::atomic<bool> state_failed{false};
  const auto state_problem = [&](const AccountInfo* account, const std::exception& e) {
    state_failed = true;
    sink.add(Problem{.scope = Scope::Account,
                     .domain = account != nullptr ? account->domain : "",
                     .account = account != nullptr ? account->name : "",
                     .file = state->path(),
                     .message = fmt::format("the run state {} could not be written: {}; the run stops (free "
                                            "space, then run the same command again)",
                                            state->path(), e.what())});
  };
  run_jobs(
      accounts.size(), c.jobs,
      [&](std::size_t i) {
        if (state_failed.load()) return;  // left "not started"
        try {
          results[i] = migrate_account(*opened.source, accounts[i], *target, *state, options, sink);
        } catch (const std::exception& e) {
          state_problem(&accounts[i], e);
          results[i].domain = accounts[i].domain;
          results[i].account = accounts[i].name;
          results[i].status = "failed";
        }
        progress.account_done();
      },
      &InterruptWatch::stop_flag());
  progress.finish();
  interrupt_watch.reset();
  if (after_accounts && !InterruptWatch::stopped()) after_accounts(provisioner.get(), sink, out);
  if (provisioner) provisioner->finish();
  try {
    state->flush();
  } catch (const std::exception& e) {
    state_problem(nullptr, e);
  }
  if (pass_file) pass_file->close();

  // Accounts never started (Ctrl-C) are reported as such.
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    if (results[i].account.empty()) {
      results[i].domain = accounts[i].domain;
      results[i].account = accounts[i].name;
      results[i].status = "not started";
    }
  }
  const auto problems = sink.snapshot();
  RunTotals totals;
  bool complete = problems.empty();
  for (const AccountResult& r : results) {
    totals.add(r);
    if (r.status != "done") complete = false;
  }
  const nlohmann::ordered_json report = make_report(results, totals, problems);
  bool report_written = true;
  if (!c.report.empty()) {
    // Whole or not at all (a kill or a full disk never leaves half a report), and a
    // failure is said: scripts read this file.
    try {
      fs::replace_file(c.report,
                       report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
    } catch (const IoError& e) {
      err << "mailmig: cannot write the report: " << e.what() << "\n";
      report_written = false;
    }
  }
  if (c.json) {
    out << report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    print_table(c, results, totals, complete, out);
    if (!problems.empty()) {
      out << fmt::format("\nProblems ({}):\n", problems.size());
      for (const Problem& p : problems) out << "  " << p.describe() << "\n";
    }
  }
  for (const Problem& p : problems) spdlog::error("{}", p.describe());
  spdlog::info(
      "finished: {} copied, {} already there, {} failed, {} flag changes, {} deleted on the source ({} "
      "removed), {} problems",
      totals.copied, totals.already, totals.failed, totals.flag_changes, totals.deleted_on_source,
      totals.removed, problems.size());
  if (InterruptWatch::stopped())
    return report_interrupted(InterruptWatch::signal_number(), c.sync ? "the sync" : "the migration", err);
  return complete && report_written ? kExitOk : kExitProblems;
}

}  // namespace mailmig::cli
