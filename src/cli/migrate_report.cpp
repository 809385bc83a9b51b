#include "cli/migrate_report.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/fs.h"
#include "core/printable.h"

namespace mailmig::cli {

namespace {

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

}  // namespace

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

void RunTotals::add(const AccountResult& r) {
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

RunOutcome report_run(const MigrateCommand& c, const std::vector<AccountResult>& results,
                      const std::vector<Problem>& problems, std::ostream& out, std::ostream& err) {
  RunOutcome outcome{.complete = problems.empty()};
  RunTotals totals;
  for (const AccountResult& r : results) {
    totals.add(r);
    if (r.status != "done") outcome.complete = false;
  }
  const std::string report = make_report(results, totals, problems)
                                 .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (!c.report.empty()) {
    // Whole or not at all (a kill or a full disk never leaves half a report), and a
    // failure is said: scripts read this file.
    try {
      fs::replace_file(c.report, report + "\n");
    } catch (const IoError& e) {
      err << "mailmig: cannot write the report: " << e.what() << "\n";
      outcome.report_written = false;
    }
  }
  if (c.json) {
    out << report << "\n";
  } else {
    print_table(c, results, totals, outcome.complete, out);
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
  return outcome;
}

}  // namespace mailmig::cli
