#include "cli/verify_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/migrate_command.h"
#include "cli/state_location.h"
#include "core/ascii.h"
#include "core/datetime.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/worker_pool.h"
#include "engine/migrate.h"
#include "engine/state.h"
#include "engine/verify.h"
#include "engine/verify_report.h"

namespace mailmig::cli {

namespace {

constexpr std::size_t kDifferencesShown = 20;  // on screen without -v

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  return format_iso8601(
      DateTime{.epoch = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()});
}

// The state migrate kept, read through State (which knows its schema).
class StateHistory final : public VerifyHistory {
 public:
  explicit StateHistory(State& state) : state_(state) {}
  std::map<std::string, std::string> target_folders(const std::string& account_key) override {
    std::map<std::string, std::string> out;
    for (const FolderRecord& f : state_.folders(account_key)) {
      // Rows written before the neutral name was kept hold only the display name.
      out[f.folder] = f.target.empty() ? f.target_display : f.target;
    }
    return out;
  }
  std::map<MessageKey, std::uint32_t> copied(const std::string& account_key,
                                             const std::string& folder) override {
    std::map<MessageKey, std::uint32_t> out;
    for (const DoneMessage& m : state_.done_messages(account_key, folder)) {
      if (m.uid) out[m.key] = *m.uid;
    }
    return out;
  }

 private:
  State& state_;
};

// RFC 4180 records: quoted fields may hold commas, quotes ("") and line ends.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;  // the current row has content
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

struct Setup {
  OpenedSource opened;
  std::unique_ptr<Target> target;
  std::unique_ptr<Target> user_target;           // --pass-file: plain LOGIN as the user
  std::map<std::string, std::string> passwords;  // --passwords (--auth user)
  std::map<std::string, std::string> recorded;   // --pass-file
  NamingRules naming;
  std::optional<double> sample;
};

}  // namespace

double parse_sample_percent(const std::string& text) {
  std::string number = text;
  if (!number.empty() && number.back() == '%') number.pop_back();
  std::size_t used = 0;
  double percent = 0;
  try {
    percent = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (number.empty() || used != number.size() || !(percent > 0 && percent <= 100)) {
    throw std::invalid_argument(
        fmt::format("--sample {}: expected a percentage above 0 and at most 100, e.g. 10%", text));
  }
  return percent;
}

std::map<std::string, std::string> read_pass_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read the pass file {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  const auto rows = parse_csv(text.str());
  if (rows.empty() || rows[0].size() < 2 || ascii_lower(rows[0][0]) != "account" ||
      ascii_lower(rows[0][1]) != "password") {
    throw std::runtime_error(
        fmt::format("{}: not a .pass file (expected the header account,password,how)", path));
  }
  std::map<std::string, std::string> out;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() < 2)
      throw std::runtime_error(fmt::format("{}: record {} has no password field", path, i + 1));
    out[ascii_lower(rows[i][0])] = rows[i][1];
  }
  return out;
}

void add_verify_command(CLI::App& app, VerifyCommand& c, CLI::App*& sub) {
  sub = app.add_subcommand(
      "verify", "Compare the target with the source: counts, bytes, SHA-256, flags, dates, logins");
  sub->add_option("--source", c.source, "Source, e.g. cgp:/var/CommuniGate")->required();
  add_selection_options(*sub, c.selection);
  add_naming_options(*sub, c.naming);
  add_source_options(*sub, c.source_options);
  add_target_options(*sub, c.target);
  sub->add_option(
      "--state", c.state_dir,
      "Run state of the migration (default: the one migrate used); without it altered messages show as "
      "missing + extra");
  sub->add_option("--pass-file", c.pass_file,
                  "The .pass file migrate wrote: also log in as each user listed there");
  sub->add_option("--report", c.report, "Write the report as JSON to FILE (docs/verify-report.schema.json)");
  sub->add_option("--html", c.html, "Write the report as one self-contained HTML page to FILE");
  sub->add_option(
      "--sample", c.sample,
      "Hash only N% of the messages (deterministic sample); counts and bytes of all are still compared");
  sub->add_option("--jobs,-j", c.jobs, "Accounts verified in parallel (default 4)");
  sub->fallthrough();  // -v after the subcommand belongs to mailmig
}

namespace {

int set_up(const VerifyCommand& c, Setup& s, std::ostream& err) {
  try {
    if (!c.sample.empty()) s.sample = parse_sample_percent(c.sample);
    SourceOptions source_options = c.source_options;
    take_selection(source_options, c.source,
                   is_imap_spec(c.source) ? listed_selection(c.selection) : c.selection.selection);
    s.opened = open_source(c.source, source_options);
    s.target = make_target(c.target);
    if (!c.target.passwords_file.empty()) s.passwords = read_password_list(c.target.passwords_file);
    if (!c.pass_file.empty() && !target_is_imap(c.target)) {
      throw std::invalid_argument("--pass-file checks logins: it needs an IMAP target, not a maildir: one");
    }
    if (!c.pass_file.empty()) {
      s.recorded = read_pass_file(c.pass_file);
      TargetArgs user = c.target;
      user.auth = "user";
      user.trace.clear();  // one trace writer per file
      s.user_target = make_target(user);
    }
    s.naming = load_naming(c.naming);
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }
  return kExitOk;
}

}  // namespace

int run_verify(const VerifyCommand& c, int verbosity, std::ostream& out, std::ostream& err) {
  const auto started = std::chrono::steady_clock::now();
  VerifyRun run{.started = now_iso8601()};
  Setup s;
  if (const int rc = set_up(c, s, err); rc != kExitOk) return rc;
  run.source = s.opened.description;
  run.target = s.target->describe();
  run.sampled_percent = s.sample;

  ProblemSink sink;
  std::vector<AccountInfo> accounts;
  try {
    accounts = resolve_selection(*s.opened.source, c.selection, sink);
  } catch (const SelectionError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }

  // The state is only read: verify never creates one.
  const std::string state_dir = choose_state_dir(c.state_dir, c.source, c.target.target);
  std::unique_ptr<State> state;
  std::unique_ptr<StateHistory> history;
  if (std::filesystem::exists(state_dir + "/state.sqlite")) {
    try {
      state = std::make_unique<State>(state_dir + "/state.sqlite");
      history = std::make_unique<StateHistory>(*state);
      run.state = state->path();
    } catch (const std::exception& e) {
      err << "mailmig: " << e.what() << "\n";
      return kExitFatal;
    }
  } else if (!c.state_dir.empty()) {
    err << fmt::format("mailmig: no state database in {}\n", state_dir);
    return kExitUsage;
  }

  VerifyOptions options;
  options.naming = s.naming;
  options.sample_percent = s.sample.value_or(100);
  options.history = history.get();
  options.login_method = c.target.auth;
  options.login_password = [&](const AccountInfo& a) { return login_password_for(a, s.passwords); };
  if (s.user_target) {
    options.recorded_password = [&](const AccountInfo& a,
                                    const TargetAccountName& n) -> std::optional<std::string> {
      for (const std::string& key : {ascii_lower(n.key()), ascii_lower(account_key(a))}) {
        if (auto it = s.recorded.find(key); it != s.recorded.end()) return it->second;
      }
      return std::nullopt;
    };
    options.user_login = [&](const TargetAccountName& n, const std::string& password) -> std::string {
      try {
        s.user_target->open_account(n.account, n.domain, password)->close();
        return {};
      } catch (const TargetAuthError& e) {
        return e.what();
      } catch (const std::exception& e) {
        return fmt::format("cannot connect: {}", e.what());
      }
    };
  }

  out << fmt::format("Verifying {} account(s) of {} on {}\n", accounts.size(), run.source, run.target);
  out << (state ? fmt::format("state: {}\n", state->path())
                : fmt::format("state: none at {}: altered messages show as missing + extra\n", state_dir));
  if (s.sample)
    out << fmt::format("sample: {}% of the messages hashed; counts and bytes of all\n", *s.sample);
  out << "\n";
  out.flush();

  run.accounts.resize(accounts.size());
  auto interrupt_watch = std::make_unique<InterruptWatch>();  // Ctrl-C, SIGTERM: a clean stop
  options.stop = &InterruptWatch::stop_flag();
  run_jobs(
      accounts.size(), c.jobs,
      [&](std::size_t i) {
        run.accounts[i] = verify_account(*s.opened.source, accounts[i], *s.target, options, sink);
        spdlog::info("{}: {}", run.accounts[i].target_account, run.accounts[i].status);
      },
      &InterruptWatch::stop_flag());
  interrupt_watch.reset();
  if (InterruptWatch::stopped()) {
    // A report of part of the accounts would read as a verdict on all of them.
    if (!c.report.empty() || !c.html.empty()) err << "mailmig: no report written\n";
    return report_interrupted(InterruptWatch::signal_number(), "verify", err);
  }

  run.problems = sink.snapshot();
  run.finished = now_iso8601();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out << verify_report_text(run, verbosity > 0 ? 0 : kDifferencesShown);

  int rc = verify_clean(run) ? kExitOk : kExitProblems;
  // Whole or not at all: a kill or a full disk never leaves half a report.
  const auto write = [&](const std::string& path, const std::string& text) {
    try {
      fs::replace_file(path, text);
    } catch (const IoError& e) {
      err << fmt::format("mailmig: cannot write the report: {}\n", e.what());
      rc = std::max(rc, static_cast<int>(kExitProblems));  // the check was done; its record is missing
    }
  };
  if (!c.report.empty()) {
    write(
        c.report,
        verify_report_json(run).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }
  if (!c.html.empty()) write(c.html, verify_report_html(run));
  // Nothing could be verified: every login failed for reasons other than a refusal (network, TLS).
  const bool unreachable = !run.accounts.empty() &&
                           std::all_of(run.accounts.begin(), run.accounts.end(), [](const AccountCheck& a) {
                             return !a.login.ok && !a.by_kind.contains(DiffKind::LoginFailed);
                           });
  return unreachable ? kExitFatal : rc;
}

}  // namespace mailmig::cli
