#include "cli/config_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "config/rules.h"
#include "config/takeover.h"
#include "core/error.h"

namespace mailmig::cli {

namespace {

using config::TakeoverOutcome;

std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / 1048576.0);
}

void print_text(const config::TakeoverRequest& request, const config::Rules& rules,
                const TakeoverOutcome& outcome, std::ostream& out) {
  const config::Plan& plan = outcome.plan;
  out << fmt::format("config takeover {} -> {} ({}, rules {}){}\n", request.from, request.to,
                     request.strategy == config::Strategy::Merge ? "merge" : "copy", rules.origin,
                     request.dry_run ? ": dry run, nothing written" : "");
  if (request.dry_run) {
    for (const auto& change : plan.files) {
      if (!change.diff.empty()) {
        out << "\n" << change.diff;
      } else {
        out << fmt::format("\n{} {}/{}\n", change.kind, request.to, change.path);
      }
    }
  }
  if (!plan.directives.empty()) {
    out << "\ndirectives:\n";
    for (const auto& d : plan.directives) {
      std::string where = d.line > 0 ? fmt::format("{}:{}", d.file, d.line) : d.file;
      out << fmt::format("  {:<10} {:<22} {}\n", d.action, where, d.detail);
    }
  }
  if (!plan.mode_changes.empty() || !plan.owner_changes.empty()) {
    out << (request.dry_run ? "\nmodes and owners to set:\n" : "\nmodes and owners set:\n");
    for (const auto& c : plan.mode_changes) out << "  " << c << "\n";
    for (const auto& c : plan.owner_changes) out << "  " << c << "\n";
  }
  if (outcome.move) {
    const auto& m = *outcome.move;
    if (m.method == "nothing") {
      out << fmt::format("\ndata: {} already moved to {}\n", *request.move_from, *request.move_to);
    } else {
      out << fmt::format(
          "\ndata {} {} -> {}: {} files, {} by {}{}\n", request.dry_run ? "to move" : "moved",
          *request.move_from, *request.move_to, m.files, mib(m.bytes),
          m.method == "rename" ? "rename (one file system)" : "copy, verify (SHA-256), remove",
          m.resumed > 0 ? fmt::format(" ({} more verified by an earlier run)", m.resumed) : "");
    }
  }
  for (const auto& b : outcome.backups) out << "backup: " << b << "\n";
  if (!plan.warnings.empty()) {
    out << "\nwarnings (need a person):\n";
    for (const auto& w : plan.warnings) out << "  " << w.describe() << "\n";
  }
  if (!plan.manual_commands.empty()) {
    out << "\nrun as root:\n";
    for (const auto& c : plan.manual_commands) out << "  " << c << "\n";
  }
  out << "\n";
  if (!plan.changes_destination()) {
    out << fmt::format("nothing to do: {} already holds the taken-over configuration\n", request.to);
  } else if (request.dry_run) {
    out << fmt::format("would change {} entries of {}\n", plan.files.size(), request.to);
  } else {
    out << fmt::format("changed {} entries of {}\n", plan.files.size(), request.to);
  }
}

nlohmann::json to_json(const config::TakeoverRequest& request, const config::Rules& rules,
                       const TakeoverOutcome& outcome, int exit_code) {
  const config::Plan& plan = outcome.plan;
  nlohmann::json j;
  j["from"] = request.from;
  j["to"] = request.to;
  j["strategy"] = request.strategy == config::Strategy::Merge ? "merge" : "copy";
  j["rules"] = rules.origin;
  j["dry_run"] = request.dry_run;
  j["nothing_to_do"] = !plan.changes_destination();
  j["written"] = outcome.written;
  j["exit_code"] = exit_code;
  j["files"] = nlohmann::json::array();
  for (const auto& f : plan.files)
    j["files"].push_back({{"path", f.path}, {"change", f.kind}, {"diff", f.diff}});
  j["directives"] = nlohmann::json::array();
  for (const auto& d : plan.directives)
    j["directives"].push_back(
        {{"file", d.file}, {"line", d.line}, {"key", d.key}, {"action", d.action}, {"detail", d.detail}});
  j["modes"] = plan.mode_changes;
  j["owners"] = plan.owner_changes;
  j["warnings"] = nlohmann::json::array();
  for (const auto& w : plan.warnings)
    j["warnings"].push_back({{"path", w.path}, {"line", w.line}, {"message", w.message}});
  j["commands"] = plan.manual_commands;
  j["backups"] = outcome.backups;
  if (outcome.move) {
    const auto& m = *outcome.move;
    j["move_data"] = {{"from", *request.move_from}, {"to", *request.move_to}, {"method", m.method},
                      {"files", m.files},           {"bytes", m.bytes},       {"resumed", m.resumed},
                      {"reowned", m.reowned}};
  }
  return j;
}

}  // namespace

void add_config_command(CLI::App& app, ConfigTakeoverCommand& command, CLI::App*& takeover_sub) {
  auto* config = app.add_subcommand("config", "Configuration files of the mail server product");
  config->require_subcommand(1);
  auto* t = config->add_subcommand("takeover",
                                   "Carry a product's configuration directory into its successor's "
                                   "(Zarafa -> Kopano), with backups and a dry run");
  t->add_option("--from", command.from, "The old product's configuration directory, e.g. /etc/zarafa")
      ->required();
  t->add_option("--to", command.to, "The new product's configuration directory, e.g. /etc/kopano")
      ->required();
  t->add_option("--rules", command.rules, "Built-in rule set (zarafa-kopano) or a rules file")->required();
  t->add_option("--strategy", command.strategy,
                "merge: carry what was changed onto the new defaults; copy: the old files over the new")
      ->check(CLI::IsMember({"merge", "copy"}));
  t->add_option("--old-defaults", command.old_defaults,
                "The old product's pristine configuration files: merge carries only what differs from them");
  t->add_option("--ldap-schema", command.ldap_schema,
                "keep: old LDAP attribute names; new: renamed by the rules")
      ->check(CLI::IsMember({"keep", "new"}));
  t->add_option("--move-data", command.move_data, "OLD_DIR NEW_DIR: move the data directory (attachments)")
      ->expected(2);
  t->add_option("--owner", command.owner, "USER:GROUP of the configuration files (default from the rules)");
  t->add_option("--backup-dir", command.backup_dir,
                "Where the timestamped backups go (default: next to --to)");
  t->add_flag("--dry-run", command.dry_run, "Show diffs and what would be done; write nothing");
  t->add_flag("--json", command.json, "The report as JSON");
  takeover_sub = t;
}

int run_config_takeover(const ConfigTakeoverCommand& command, std::ostream& out, std::ostream& err) {
  config::Rules rules;
  try {
    rules = config::load_rules(command.rules);
  } catch (const config::RulesError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  }
  config::TakeoverRequest request;
  request.from = command.from;
  request.to = command.to;
  request.strategy = command.strategy == "copy" ? config::Strategy::Copy : config::Strategy::Merge;
  request.ldap_schema = command.ldap_schema == "new" ? config::LdapSchema::New : config::LdapSchema::Keep;
  if (!command.old_defaults.empty()) request.old_defaults = command.old_defaults;
  if (command.move_data.size() == 2) {
    request.move_from = command.move_data[0];
    request.move_to = command.move_data[1];
  }
  request.owner = command.owner;
  request.backup_dir = command.backup_dir;
  request.dry_run = command.dry_run;
  if (::isatty(STDERR_FILENO) == 1 && !command.json) {
    request.move_progress = [&err](std::uint64_t files, std::uint64_t total, std::uint64_t bytes,
                                   std::uint64_t total_bytes) {
      err << fmt::format("\rmoving data: {}/{} files, {} of {}", files, total, mib(bytes), mib(total_bytes))
          << (files == total ? "\n" : "") << std::flush;
    };
  }
  TakeoverOutcome outcome;
  try {
    outcome = config::run_takeover(rules, request);
  } catch (const config::TakeoverUsageError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "mailmig: config takeover failed, " << command.to << " is unchanged: " << e.what() << "\n";
    return kExitFatal;
  }
  const bool needs_person = !outcome.plan.warnings.empty() || !outcome.plan.manual_commands.empty();
  const int code = needs_person ? kExitProblems : kExitOk;
  if (command.json) {
    out << to_json(request, rules, outcome, code).dump(2) << "\n";
  } else {
    print_text(request, rules, outcome, out);
  }
  return code;
}

}  // namespace mailmig::cli
