#include "cli/migrate_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
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

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> read_users_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read users file {}", path));
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const auto end = line.find_last_not_of(" \t");
    out.insert(lower(line.substr(start, end - start + 1)));
  }
  return out;
}

nlohmann::ordered_json account_json(const AccountResult& a) {
  nlohmann::ordered_json j;
  j["domain"] = a.domain;
  j["account"] = a.account;
  j["status"] = a.status;
  j["note"] = a.note;
  j["created"] = a.created;
  j["copied"] = a.copied;
  j["already"] = a.already;
  j["failed"] = a.failed;
  j["bytes"] = a.bytes;
  j["seconds"] = a.seconds;
  j["folders"] = nlohmann::ordered_json::array();
  for (const FolderResult& f : a.folders) {
    j["folders"].push_back({{"name", f.name},
                            {"target", f.target_name},
                            {"messages", f.source_messages},
                            {"copied", f.copied},
                            {"already", f.already},
                            {"failed", f.failed},
                            {"reconciled", f.reconciled},
                            {"bytes", f.bytes}});
  }
  return j;
}

std::string folder_line(const AccountResult& a, const FolderResult& f, bool dry_run) {
  std::string name = f.name;
  if (!f.rename_note.empty()) name += " (" + f.rename_note + ")";
  if (dry_run) {
    return fmt::format("{}@{} {}: {} messages, {} already copied, would copy {}", a.account, a.domain, name,
                       f.source_messages, f.already, f.source_messages - f.already);
  }
  std::string line = fmt::format("{}@{} {}: {} copied, {} already there", a.account, a.domain, name, f.copied, f.already);
  if (f.reconciled != 0) line += fmt::format(", {} found after the last stop", f.reconciled);
  if (f.failed != 0) line += fmt::format(", {} FAILED", f.failed);
  return line;
}

}  // namespace

std::string default_state_dir(const std::string& source_root, const std::string& target) {
  Sha256 h;
  h.update(source_root);
  h.update("\n");
  h.update(target);
  return "mailmig-state/" + h.hex().substr(0, 16);
}

void add_migrate_command(CLI::App& app, MigrateCommand& c, CLI::App*& sub) {
  sub = app.add_subcommand("migrate", "Migrate accounts to an IMAP target with run state: resumable, never duplicates");
  sub->add_option("--source", c.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  sub->add_option("--domain", c.selection.domain, "Only this domain");
  sub->add_option("--user", c.selection.user, "Only this account (name or name@domain)");
  sub->add_option("--users-file", c.users_file, "Only the accounts listed in FILE (account@domain per line)");
  sub->add_option("--main-domain,--primary-domain", c.source_options.main_domain, "CommuniGate: name of the main domain");
  sub->add_flag("--allow-live-store", c.source_options.allow_live, "CommuniGate: read a running server's store");
  add_target_options(*sub, c.target);
  sub->add_option("--provision", c.provision, "Create missing users: none | kerio:URL | dovecot:FILE | ldap:URL | command:CMD");
  sub->add_option("--provision-user", c.provision_user, "kerio/ldap: administrator login (ldap: bind DN)");
  sub->add_option("--provision-password-file", c.provision_password_file, "kerio/ldap: administrator password file (mode 600)");
  sub->add_option("--provision-ca-file", c.provision_ca_file, "kerio/ldap: CA certificates for the admin connection");
  sub->add_option("--ldap-base", c.ldap_base, "ldap: where new entries go (e.g. ou=people,dc=example,dc=com)");
  sub->add_option("--ldap-template", c.ldap_template, "ldap: entry template file (%u %d %n %p)");
  sub->add_option("--jobs,-j", c.jobs, "Accounts migrated in parallel (default 4)");
  sub->add_option("--state", c.state_dir, "Run state directory (default: mailmig-state/<hash of source and target>)");
  sub->add_flag("--force", c.force, "Also migrate accounts that already exist on the target");
  sub->add_flag("--dry-run", c.dry_run, "Print what would be done; touch nothing");
  sub->add_option("--report", c.report, "Write the final report as JSON to FILE");
  sub->add_option("--password-file-out", c.password_file_out, "Where the passwords set are written (mode 600)");
  sub->add_option("--set-password", c.set_password, "Password for created users whose source password is encrypted");
  sub->add_option("--force-set-password", c.force_set_password, "Password for the single created user (with --user)");
  sub->add_option("--log", c.log_file, "Write a detailed log to FILE");
  sub->add_flag("--quiet,-q", c.quiet, "No per-folder lines on screen");
  sub->add_flag("--json", c.json, "Print the final report as JSON instead of the table");
}

int run_migrate(const MigrateCommand& c, std::ostream& out, std::ostream& err) {
  OpenedSource opened;
  std::unique_ptr<ImapTarget> target;
  std::map<std::string, std::string> passwords;
  std::unique_ptr<Provisioner> provisioner;
  try {
    opened = open_source(c.source, c.source_options);
    target = make_target(c.target);
    if (!c.target.passwords_file.empty()) passwords = read_password_list(c.target.passwords_file);
    ProvisionOptions po{.admin_user = c.provision_user, .ca_file = c.provision_ca_file, .insecure = c.target.insecure,
                        .ldap_base = c.ldap_base, .ldap_template = c.ldap_template};
    po.admin_password = !c.provision_password_file.empty() ? read_secret_file(c.provision_password_file) : c.provision_password;
    provisioner = make_provisioner(c.provision, po);
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }

  ProblemSink sink;
  std::vector<AccountInfo> accounts;
  try {
    std::set<std::string> wanted;
    if (!c.users_file.empty()) wanted = read_users_file(c.users_file);
    for (auto& selected : select_accounts(*opened.source, c.selection, [&](Problem p) { sink.add(std::move(p)); })) {
      for (auto& account : selected.accounts) {
        if (!wanted.empty() && !wanted.contains(lower(account_key(account))) && !wanted.contains(lower(account.name))) continue;
        accounts.push_back(std::move(account));
      }
    }
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  }

  const std::string root = c.source.substr(c.source.find(':') + 1);
  const std::string state_dir = !c.state_dir.empty() ? c.state_dir
                                : default_state_dir(std::filesystem::weakly_canonical(root).string(), c.target.target);
  std::unique_ptr<State> state;
  std::unique_ptr<PassFile> pass_file;
  try {
    std::filesystem::create_directories(state_dir);
    ::chmod(state_dir.c_str(), 0700);
    state = std::make_unique<State>(state_dir + "/state.sqlite");
    if (provisioner && !c.dry_run) {
      if (!c.password_file_out.empty()) {
        pass_file = std::make_unique<PassFile>(c.password_file_out);
      } else {
        // Named by the second the run started; a second run in the same second gets a suffix.
        const std::string base = PassFile::default_name(std::chrono::system_clock::now(), c.file_prefix);
        for (int n = 1; !pass_file; ++n) {
          const std::string path = n == 1 ? base : fmt::format("{}-{}.pass", base.substr(0, base.size() - 5), n);
          if (std::filesystem::exists(path) && n < 100) continue;
          pass_file = std::make_unique<PassFile>(path);
        }
      }
    }
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
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
  std::mutex out_mutex;
  std::atomic<std::uint64_t> progress_messages{0};
  std::atomic<std::uint64_t> progress_bytes{0};
  std::atomic<std::size_t> accounts_done{0};
  const bool tty = ::isatty(STDERR_FILENO) == 1 && !c.quiet;
  options.on_folder_done = [&](const AccountResult& a, const FolderResult& f) {
    progress_messages += f.copied;
    progress_bytes += f.bytes;
    const std::string line = folder_line(a, f, c.dry_run);
    spdlog::info("{}", line);
    if (c.quiet) return;
    std::lock_guard lock(out_mutex);
    if (tty) err << "\r\033[K";  // the progress line is redrawn after this one
    out << "  " << line << "\n";
    out.flush();
  };

  if (!c.quiet) {
    out << fmt::format("{} {} account(s) from {} to {}{}\nstate: {}\n", c.dry_run ? "Planning" : "Migrating",
                       accounts.size(), opened.description, target->describe(),
                       provisioner ? ", creating missing users with " + provisioner->describe() : "", state->path());
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
          const auto left = static_cast<long>(secs / static_cast<double>(done) * static_cast<double>(accounts.size() - done));
          eta = fmt::format("{}:{:02d}", left / 60, left % 60);
        }
        std::lock_guard lock(out_mutex);
        err << fmt::format("\r\033[Kaccounts {}/{}  messages {}  {:.1f} MB  {:.0f} msg/s  ETA {}", done,
                           accounts.size(), progress_messages.load(), static_cast<double>(progress_bytes.load()) / 1e6,
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
  std::uint64_t copied = 0, already = 0, failed = 0, bytes = 0;
  bool complete = problems.empty();
  for (const AccountResult& r : results) {
    copied += r.copied;
    already += r.already;
    failed += r.failed;
    bytes += r.bytes;
    if (r.status != "done") complete = false;
  }
  nlohmann::ordered_json report;
  report["accounts"] = nlohmann::ordered_json::array();
  for (const AccountResult& r : results) report["accounts"].push_back(account_json(r));
  report["totals"] = {{"accounts", results.size()}, {"copied", copied}, {"already", already},
                      {"failed", failed},           {"bytes", bytes},   {"errors", problems.size()}};
  report["errors"] = nlohmann::ordered_json::array();
  for (const Problem& p : problems) {
    report["errors"].push_back({{"domain", p.domain}, {"account", p.account}, {"folder", p.folder}, {"file", p.file},
                                {"offset", p.offset ? nlohmann::ordered_json(*p.offset) : nlohmann::ordered_json(nullptr)},
                                {"message", p.message}});
  }
  if (!c.report.empty()) {
    std::ofstream(c.report) << report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  if (c.json) {
    out << report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    out << fmt::format("\n{:<40} {:<12} {:>9} {:>9} {:>7} {:>12} {:>8}\n", "account", "status", "copied", "already",
                       "failed", "bytes", "seconds");
    for (const AccountResult& r : results) {
      out << fmt::format("{:<40} {:<12} {:>9} {:>9} {:>7} {:>12} {:>8.1f}\n", r.account + "@" + r.domain, r.status,
                         r.copied, r.already, r.failed, r.bytes, r.seconds);
    }
    out << fmt::format("{:<40} {:<12} {:>9} {:>9} {:>7} {:>12}\n", "total", complete ? "complete" : "INCOMPLETE", copied,
                       already, failed, bytes);
    if (!problems.empty()) {
      out << fmt::format("\nProblems ({}):\n", problems.size());
      for (const Problem& p : problems) out << "  " << p.describe() << "\n";
    }
  }
  for (const Problem& p : problems) spdlog::error("{}", p.describe());
  spdlog::info("finished: {} copied, {} already there, {} failed, {} problems", copied, already, failed, problems.size());
  if (g_stop.load()) return kExitProblems;
  return complete ? kExitOk : kExitProblems;
}

}  // namespace mailmig::cli
