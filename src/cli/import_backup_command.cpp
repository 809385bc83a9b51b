#include "cli/import_backup_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/printable.h"
#include "core/problem.h"
#include "provision/alias_file.h"
#include "provision/passwords.h"
#include "provision/provisioner.h"
#include "source/archive/archive_source.h"
#include "source/maildir/user_paths.h"

namespace mailmig::cli {
namespace {

constexpr const char* kPrefix = "import-backup";

// The aliases' counts for the summary lines.
std::string alias_counts(std::size_t groups, std::size_t pseudonyms) {
  return fmt::format("{} group(s) and {} pseudonym(s)", groups, pseudonyms);
}

// Before the run: the backup's notes become problems, and the aliases go to
// the --aliases-out table when there is one.
void write_alias_file(const ImportBackupCommand& c, const archive::EsmithAliases& found,
                      std::vector<Problem>& problems, std::ostream& out) {
  for (const std::string& note : found.notes) {
    problems.push_back(Problem{.scope = Scope::Store, .file = c.backup, .message = note});
  }
  std::size_t groups = 0;
  std::vector<AliasEntry> entries;
  for (const archive::MailAlias& alias : found.aliases) {
    groups += alias.kind == "group" ? 1 : 0;
    entries.push_back(AliasEntry{.address = alias.address, .targets = alias.targets});
    spdlog::info("{} {} -> {}", alias.kind, alias.address, fmt::join(alias.targets, ","));
  }
  const std::string counts = alias_counts(groups, found.aliases.size() - groups);
  if (c.aliases_out.empty()) return;
  if (c.migrate.dry_run) {
    const std::string line = fmt::format("aliases: would write {} to {}", counts, c.aliases_out);
    spdlog::info("{}", line);
    if (!c.migrate.json) out << line << "\n";
    return;
  }
  try {
    write_virtual_aliases(c.aliases_out, entries);
  } catch (const std::exception& e) {
    problems.push_back(Problem{.scope = Scope::Store,
                               .file = c.aliases_out,
                               .message = fmt::format("aliases not written: {}", e.what())});
    return;
  }
  const std::string line =
      fmt::format("aliases: {} written to {} (Postfix virtual alias table)", counts, c.aliases_out);
  spdlog::info("{}", line);
  if (!c.migrate.json) out << line << "\n";
}

// After the users are created: the aliases go to a provisioner that can take
// them (LDAP). Groups first: a pseudonym may name a group. Each alias that
// fails is a problem naming it; the others go on.
void provision_aliases(const ImportBackupCommand& c, const archive::EsmithAliases& found,
                       Provisioner* provisioner, ProblemSink& sink, std::ostream& out) {
  if (found.aliases.empty()) return;
  if (provisioner == nullptr || !provisioner->can_create_aliases()) {
    if (c.aliases_out.empty()) {
      const auto groups = static_cast<std::size_t>(std::count_if(
          found.aliases.begin(), found.aliases.end(), [](const auto& a) { return a.kind == "group"; }));
      sink.add(Problem{
          .scope = Scope::Store,
          .file = c.backup,
          .message = fmt::format("{} not imported: say where with --aliases-out FILE or --provision ldap:URL",
                                 alias_counts(groups, found.aliases.size() - groups))});
    }
    return;
  }
  std::vector<const archive::MailAlias*> order;
  for (const archive::MailAlias& alias : found.aliases) order.push_back(&alias);
  std::stable_partition(order.begin(), order.end(), [](const auto* a) { return a->kind == "group"; });
  const bool dry_run = c.migrate.dry_run;
  const bool print = !c.migrate.json && !c.migrate.quiet;
  std::size_t groups = 0;
  std::size_t pseudonyms = 0;
  std::size_t failed = 0;
  for (const archive::MailAlias* alias : order) {
    const NewAlias wanted{
        .address = alias->address, .targets = alias->targets, .group = alias->kind == "group"};
    const std::string name = fmt::format("{} {}", alias->kind, alias->address);
    try {
      if (dry_run) {
        const std::string plan = provisioner->alias_plan(wanted);
        spdlog::info("{}: {}", name, plan);
        if (print) out << "  " << printable(fmt::format("{}: {}", name, plan)) << "\n";
      } else {
        const AliasOutcome outcome = provisioner->create_alias(wanted);
        spdlog::info("{}: {}", name, outcome.done);
        for (const std::string& problem : outcome.problems) {
          sink.add(Problem{.scope = Scope::Store, .message = fmt::format("{}: {}", name, problem)});
        }
      }
      (wanted.group ? groups : pseudonyms) += 1;
    } catch (const std::exception& e) {
      ++failed;
      sink.add(
          Problem{.scope = Scope::Store, .message = fmt::format("{}: not imported: {}", name, e.what())});
    }
  }
  const std::string counts = alias_counts(groups, pseudonyms);
  std::string line = dry_run ? fmt::format("aliases: would write {} to {}", counts, provisioner->describe())
                             : fmt::format("aliases: {} written to {}", counts, provisioner->describe());
  if (failed != 0) line += fmt::format("; {} failed (see the problems)", failed);
  spdlog::info("{}", line);
  if (!c.migrate.json) out << line << "\n";
}

}  // namespace

void add_import_backup_command(CLI::App& app, ImportBackupCommand& c, CLI::App*& sub) {
  sub = app.add_subcommand(
      "import-backup",
      "Import an SME Server full backup (directory, archive or - for a tar stream on stdin): "
      "users, groups and pseudonyms, then the mail; logs every problem as FAIL/ERROR");
  sub->add_option("backup", c.backup,
                  "The exploded backup directory, the backup archive, or - (tar on stdin)")
      ->required();
  sub->add_option(
      "--aliases-out", c.aliases_out,
      "Write the groups and pseudonyms as a Postfix virtual alias table (alias@domain target@domain,...)");
  c.migrate.source_options.archive_layout = "sme";
  c.migrate.file_prefix = kPrefix;
  add_migrate_options(*sub, c.migrate, false);
}

const std::string& import_backup_log(ImportBackupCommand& c) {
  if (c.migrate.log_file.empty()) {
    const std::string stamp = PassFile::default_name(std::chrono::system_clock::now(), kPrefix);
    c.migrate.log_file = stamp.substr(0, stamp.size() - std::string_view(".pass").size()) + ".log";
  }
  return c.migrate.log_file;
}

int run_import_backup(const ImportBackupCommand& c, std::ostream& out, std::ostream& err) {
  MigrateCommand m = c.migrate;
  m.source = "archive:" + c.backup;
  spdlog::info("import-backup {}: log {}", c.backup, m.log_file);
  if (!m.json && !m.quiet) out << fmt::format("log: {}\n", m.log_file);
  OpenedSource opened;
  archive::EsmithAliases aliases;
  try {
    archive::OpenedArchive archive =
        archive::open_archive(c.backup, archive_options(migrate_source_options(m)));
    aliases = std::move(archive.aliases);
    opened = OpenedSource{std::move(archive.source), std::move(archive.description)};
  } catch (const archive::ArchiveError& e) {
    return report_setup_error(std::make_exception_ptr(SpecError(e.what())), err);
  } catch (const maildir::SourceError& e) {
    return report_setup_error(std::make_exception_ptr(SpecError(e.what())), err);
  } catch (...) {
    return report_setup_error(std::current_exception(), err);
  }
  spdlog::info("{}", opened.description);
  std::vector<Problem> problems;
  write_alias_file(c, aliases, problems, out);
  return run_migrate_opened(m, std::move(opened), problems, out, err,
                            [&](Provisioner* provisioner, ProblemSink& sink, std::ostream& to) {
                              provision_aliases(c, aliases, provisioner, sink, to);
                            });
}

}  // namespace mailmig::cli
