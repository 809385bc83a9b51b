#include "cli/copy_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <mutex>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "core/worker_pool.h"
#include "engine/copy.h"

namespace mailmig::cli {

void add_copy_command(CLI::App& app, CopyCommand& command, CLI::App*& sub) {
  sub =
      app.add_subcommand("copy",
                         "Copy accounts to an IMAP target once, without run state (refuses non-empty target "
                         "folders; mailmig migrate resumes and never duplicates)");
  sub->add_option("--source", command.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  sub->add_option("--domain", command.selection.domain, "Only this domain");
  sub->add_option("--user", command.selection.user, "Only this account (name or name@domain)");
  add_source_options(*sub, command.source_options);
  sub->add_flag("--allow-nonempty", command.allow_nonempty,
                "Append into target folders that already hold mail");
  sub->add_option("--jobs,-j", command.jobs, "Accounts copied in parallel (default 4)");
  sub->add_flag("--quiet,-q", command.quiet, "No per-folder lines");
  add_target_options(*sub, command.target);
}

int run_copy(const CopyCommand& command, std::ostream& out, std::ostream& err) {
  OpenedSource opened;
  std::unique_ptr<Target> target;
  std::map<std::string, std::string> passwords;
  try {
    SourceOptions source_options = command.source_options;
    take_selection(source_options, command.source, command.selection);
    opened = open_source(command.source, source_options);
    target = make_target(command.target);
    if (!command.target.passwords_file.empty()) passwords = read_password_list(command.target.passwords_file);
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }

  ProblemSink sink;
  std::vector<AccountInfo> accounts;
  try {
    for (auto& selected :
         select_accounts(*opened.source, command.selection, [&](Problem p) { sink.add(std::move(p)); })) {
      for (auto& account : selected.accounts) accounts.push_back(std::move(account));
    }
  } catch (const SelectionError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  }
  if (!command.quiet)
    out << fmt::format("Copying {} account(s) from {} to {}\n", accounts.size(), opened.description,
                       target->describe());

  std::mutex out_mutex;
  CopyOptions options{.allow_nonempty = command.allow_nonempty};
  if (!command.quiet) {
    options.on_folder_done = [&](const AccountCopy& account, const FolderCopy& folder) {
      std::lock_guard lock(out_mutex);
      out << fmt::format(
          "  {}@{} {}{}: {}\n", account.account, account.domain, folder.name,
          folder.rename_note.empty() ? "" : " (" + folder.rename_note + ")",
          folder.skipped ? "skipped: " + folder.note
                         : fmt::format("{} of {} messages copied, {} bytes{}", folder.copied,
                                       folder.source_messages, folder.bytes,
                                       folder.failed != 0 ? fmt::format(", {} failed", folder.failed) : ""));
      out.flush();
    };
  }

  std::vector<AccountCopy> results(accounts.size());
  // Ctrl-C, SIGTERM: the accounts being copied finish, no other starts.
  auto interrupt_watch = std::make_unique<InterruptWatch>();
  run_jobs(
      accounts.size(), command.jobs,
      [&](std::size_t i) {
        const AccountInfo& account = accounts[i];
        std::string password;
        if (command.target.auth == "user") {
          password = login_password_for(account, passwords);
          if (password.empty()) {
            sink.add(Problem{.scope = Scope::Account,
                             .domain = account.domain,
                             .account = account.name,
                             .message =
                                 "no password to log in with (--auth user): the source password is not "
                                 "readable; give it in --passwords or use a master login"});
            results[i] = AccountCopy{.domain = account.domain, .account = account.name, .login_failed = true};
            return;
          }
        }
        results[i] = copy_account(*opened.source, account, *target, password, options, sink);
      },
      &InterruptWatch::stop_flag());
  interrupt_watch.reset();

  std::uint64_t copied = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::size_t login_failures = 0;
  for (const AccountCopy& r : results) {
    copied += r.copied;
    failed += r.failed;
    bytes += r.bytes;
    login_failures += r.login_failed ? 1 : 0;
  }
  const auto problems = sink.snapshot();
  out << fmt::format(
      "Copied {} messages ({} bytes) for {} account(s); {} failed; {} account(s) not logged in; "
      "{} problem(s)\n",
      copied, bytes, accounts.size() - login_failures, failed, login_failures, problems.size());
  for (const Problem& p : problems) out << "  " << p.describe() << "\n";
  if (InterruptWatch::stopped()) {
    // copy keeps no state: what it finished is on the target, the rest was never started.
    std::vector<std::string> not_started;
    for (std::size_t i = 0; i < accounts.size(); ++i) {
      if (results[i].account.empty()) not_started.push_back(accounts[i].name + "@" + accounts[i].domain);
    }
    err << fmt::format(
        "mailmig: copy stopped by {}; the accounts it had started were finished. Not started ({}): {}\n"
        "copy keeps no state and refuses folders that already hold mail: copy those accounts with --user, "
        "or use mailmig migrate, which resumes with the same command\n",
        signal_name(InterruptWatch::signal_number()), not_started.size(), fmt::join(not_started, ", "));
    return exit_code_for_signal(InterruptWatch::signal_number());
  }
  return problems.empty() ? kExitOk : kExitProblems;
}

}  // namespace mailmig::cli
