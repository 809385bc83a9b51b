#include "cli/migrate_command.h"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/state_location.h"
#include "core/printable.h"
#include "core/sha256.h"
#include "engine/migrate.h"
#include "engine/state.h"
#include "provision/passwords.h"

namespace mailmig::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int /*signal*/) {
  g_stop.store(true);
  (void)std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

nlohmann::ordered_json folder_json(const FolderResult& f) {
  return {{"name", f.name},
          {"target", f.target_name},
          {"rename_note", f.rename_note},
          {"messages", f.source_messages},
          {"copied", f.copied},
          {"already", f.already},
          {"found_on_target", f.found_on_target},
          {"target_hashed", f.target_hashed},
          {"failed", f.failed},
          {"reconciled", f.reconciled},
          {"bytes", f.bytes},
          {"would_copy", f.would_copy},
          {"flag_changes", f.flag_changes},
          {"flags_unapplied", f.flags_unapplied},
          {"deleted_on_source", f.deleted_on_source},
          {"removed", f.removed},
          {"other_source_kept", f.other_source_kept},
          {"vanished", f.vanished},
          {"note", f.note}};
}

nlohmann::ordered_json account_json(const AccountResult& a) {
  nlohmann::ordered_json j;
  j["domain"] = a.domain;
  j["account"] = a.account;
  j["target_account"] = a.target_account;
  j["status"] = a.status;
  j["note"] = a.note;
  j["created"] = a.created;
  j["copied"] = a.copied;
  j["already"] = a.already;
  j["found_on_target"] = a.found_on_target;
  j["target_hashed"] = a.target_hashed;
  j["failed"] = a.failed;
  j["bytes"] = a.bytes;
  j["flag_changes"] = a.flag_changes;
  j["deleted_on_source"] = a.deleted_on_source;
  j["removed"] = a.removed;
  j["seconds"] = a.seconds;
  j["folders"] = nlohmann::ordered_json::array();
  for (const FolderResult& f : a.folders) j["folders"].push_back(folder_json(f));
  return j;
}

// What happens to the messages deleted on the source, for a sync's folder line.
std::string deletions_text(const FolderResult& f, bool dry_run, bool delete_removed) {
  if (f.deleted_on_source == 0) return dry_run && delete_removed ? ", would delete 0" : "";
  if (!delete_removed) {
    return fmt::format(", {} deleted on the source, kept on the target; --delete removes them",
                       f.deleted_on_source);
  }
  if (dry_run) return fmt::format(", would delete {}", f.deleted_on_source);
  if (f.removed == f.deleted_on_source) return fmt::format(", {} removed (deleted on the source)", f.removed);
  return fmt::format(", {} deleted on the source, {} removed", f.deleted_on_source, f.removed);
}

std::string folder_name(const FolderResult& f) {
  std::string name = f.name;
  if (f.vanished) name += " (gone from the source)";
  if (!f.rename_note.empty()) name += " (" + f.rename_note + ")";
  return name;
}

std::string folder_line(const MigrateCommand& c, const AccountResult& a, const FolderResult& f) {
  std::string line = fmt::format("{}@{} {}: ", a.account, a.domain, folder_name(f));
  if (c.dry_run) {
    line += fmt::format("{} messages, {} already copied, would copy {}", f.source_messages, f.already,
                        f.would_copy);
    if (c.sync) line += fmt::format(", would change flags of {}", f.flag_changes);
  } else {
    line += fmt::format("{} copied, {} already there", f.copied, f.already);
    if (f.reconciled != 0) line += fmt::format(", {} found after the last stop", f.reconciled);
    if (f.target_hashed != 0) {
      line += fmt::format(", {} already on the target without a record here ({} target messages compared)",
                          f.found_on_target, f.target_hashed);
    }
    if (f.failed != 0) line += fmt::format(", {} FAILED", f.failed);
    if (c.sync && f.flag_changes != 0) line += fmt::format(", {} flag changes", f.flag_changes);
  }
  if (!c.sync) return line;
  if (f.flags_unapplied != 0)
    line += fmt::format(", {} flag changes NOT applied (no target UIDs)", f.flags_unapplied);
  line += deletions_text(f, c.dry_run, c.delete_removed);
  if (f.other_source_kept != 0) {
    line += fmt::format(", {} copied from another source and not in this one: kept", f.other_source_kept);
  }
  if (!f.note.empty()) line += " (" + f.note + ")";
  return line;
}

}  // namespace

namespace {

struct RunTotals {
  std::uint64_t copied = 0;
  std::uint64_t already = 0;
  std::uint64_t found_on_target = 0;
  std::uint64_t target_hashed = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t would_copy = 0;
  std::uint64_t flag_changes = 0;
  std::uint64_t deleted_on_source = 0;
  std::uint64_t removed = 0;

  void add(const AccountResult& r) {
    copied += r.copied;
    already += r.already;
    found_on_target += r.found_on_target;
    target_hashed += r.target_hashed;
    failed += r.failed;
    bytes += r.bytes;
    flag_changes += r.flag_changes;
    deleted_on_source += r.deleted_on_source;
    removed += r.removed;
    for (const FolderResult& f : r.folders) would_copy += f.would_copy;
  }
};

nlohmann::ordered_json make_report(const std::vector<AccountResult>& results, const RunTotals& t,
                                   const std::vector<Problem>& problems) {
  nlohmann::ordered_json report;
  report["accounts"] = nlohmann::ordered_json::array();
  for (const AccountResult& r : results) report["accounts"].push_back(account_json(r));
  report["totals"] = {{"accounts", results.size()},
                      {"copied", t.copied},
                      {"already", t.already},
                      {"found_on_target", t.found_on_target},
                      {"target_hashed", t.target_hashed},
                      {"failed", t.failed},
                      {"bytes", t.bytes},
                      {"would_copy", t.would_copy},
                      {"flag_changes", t.flag_changes},
                      {"deleted_on_source", t.deleted_on_source},
                      {"removed", t.removed},
                      {"errors", problems.size()}};
  report["errors"] = nlohmann::ordered_json::array();
  for (const Problem& p : problems) {
    report["errors"].push_back(
        {{"domain", p.domain},
         {"account", p.account},
         {"folder", p.folder},
         {"file", p.file},
         {"offset", p.offset ? nlohmann::ordered_json(*p.offset) : nlohmann::ordered_json(nullptr)},
         {"message", p.message}});
  }
  return report;
}

// The final table; a sync adds its flag and deletion columns.
void print_table(const MigrateCommand& c, const std::vector<AccountResult>& results, const RunTotals& t,
                 bool complete, std::ostream& out) {
  const auto row = [&](const std::string& name, const std::string& status, const AccountResult& r) {
    std::string line = fmt::format("{:<40} {:<12} {:>9} {:>9} {:>7} {:>12}", name, status, r.copied,
                                   r.already + r.found_on_target, r.failed, r.bytes);
    if (c.sync) line += fmt::format(" {:>7} {:>8} {:>8}", r.flag_changes, r.deleted_on_source, r.removed);
    return line;
  };
  out << fmt::format("\n{:<40} {:<12} {:>9} {:>9} {:>7} {:>12}", "account", "status", "copied", "already",
                     "failed", "bytes");
  if (c.sync) out << fmt::format(" {:>7} {:>8} {:>8}", "flags", "deleted", "removed");
  out << fmt::format(" {:>8}\n", "seconds");
  for (const AccountResult& r : results) {
    std::string name = r.account + "@" + r.domain;
    if (!r.target_account.empty() && r.target_account != name) name += " -> " + r.target_account;
    out << row(printable(name), r.status, r) << fmt::format(" {:>8.1f}\n", r.seconds);
  }
  AccountResult sum;
  sum.copied = t.copied;
  sum.already = t.already;
  sum.found_on_target = t.found_on_target;
  sum.failed = t.failed;
  sum.bytes = t.bytes;
  sum.flag_changes = t.flag_changes;
  sum.deleted_on_source = t.deleted_on_source;
  sum.removed = t.removed;
  out << row("total", complete ? "complete" : "INCOMPLETE", sum) << "\n";
  // A dry run with --delete lists them as "would delete" instead.
  if (c.sync && t.deleted_on_source > t.removed && !(c.dry_run && c.delete_removed)) {
    out << fmt::format("{} message(s) deleted on the source are kept on the target{}\n",
                       t.deleted_on_source - t.removed,
                       c.delete_removed ? " (see the folder notes)" : "; --delete removes them");
  }
}

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
  options.passwords.set_pass = c.set_password;
  // -forceSetPass applies to a single-user run only (seed: "If a single user is migrated").
  if (accounts.size() == 1) options.passwords.force_set_pass = c.force_set_password;
  options.pass_file = pass_file.get();
  options.provisioner = provisioner.get();
  options.stop = &g_stop;
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
  std::atomic<std::uint64_t> progress_messages{0};
  std::atomic<std::uint64_t> progress_bytes{0};
  std::atomic<std::size_t> accounts_done{0};
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !c.quiet && !c.json;
  options.on_folder_done = [&](const AccountResult& a, const FolderResult& f) {
    progress_messages += f.copied;
    progress_bytes += f.bytes;
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
  (void)std::signal(SIGINT, on_interrupt);  // SIG_ERR only for an invalid signal number

  std::vector<AccountResult> results(accounts.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < accounts.size() && !g_stop.load(); i = next++) {
      results[i] = migrate_account(*opened.source, accounts[i], *target, *state, options, sink);
      ++accounts_done;
    }
  };
  // On a terminal: one progress line (accounts, messages, bytes, rate, ETA by accounts).
  std::atomic<bool> finished{false};
  std::jthread progress;
  if (tty) {
    progress = std::jthread([&] {
      const auto start = std::chrono::steady_clock::now();
      while (!finished.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::size_t done = accounts_done.load();
        std::string eta = "?";
        if (done != 0 && done < accounts.size()) {
          const auto left = static_cast<long>(secs / static_cast<double>(done) *
                                              static_cast<double>(accounts.size() - done));
          eta = fmt::format("{}:{:02d}", left / 60, left % 60);
        }
        std::lock_guard lock(out_mutex);
        err << fmt::format("\r\033[Kaccounts {}/{}  messages {}  {:.1f} MB  {:.0f} msg/s  ETA {}", done,
                           accounts.size(), progress_messages.load(),
                           static_cast<double>(progress_bytes.load()) / 1e6,
                           static_cast<double>(progress_messages.load()) / std::max(secs, 0.001), eta);
        err.flush();
      }
      std::lock_guard lock(out_mutex);
      err << "\r\033[K";
      err.flush();
    });
  }
  {
    const unsigned threads = std::max(1U, std::min<unsigned>(c.jobs, static_cast<unsigned>(accounts.size())));
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  finished = true;
  if (progress.joinable()) progress.join();
  (void)std::signal(SIGINT, SIG_DFL);
  if (after_accounts && !g_stop.load()) after_accounts(provisioner.get(), sink, out);
  if (provisioner) provisioner->finish();
  state->flush();
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
  if (!c.report.empty()) {
    std::ofstream(c.report) << report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                            << "\n";
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
  if (g_stop.load()) return kExitProblems;
  return complete ? kExitOk : kExitProblems;
}

}  // namespace mailmig::cli
