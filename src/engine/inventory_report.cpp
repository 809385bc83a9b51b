#include "engine/inventory_report.h"

#include <fmt/format.h>

#include "core/printable.h"

namespace mailmig {

namespace {

nlohmann::ordered_json problem_to_json(const Problem& p) {
  nlohmann::ordered_json j;
  j["domain"] = p.domain;
  j["account"] = p.account;
  j["folder"] = p.folder;
  j["file"] = p.file;
  j["offset"] = p.offset ? nlohmann::ordered_json(*p.offset) : nlohmann::ordered_json(nullptr);
  j["line"] = p.line ? nlohmann::ordered_json(*p.line) : nlohmann::ordered_json(nullptr);
  j["column"] = p.column ? nlohmann::ordered_json(*p.column) : nlohmann::ordered_json(nullptr);
  j["scope"] = scope_name(p.scope);
  j["message"] = p.message;
  return j;
}

nlohmann::ordered_json message_to_json(const MessageDetail& m) {
  nlohmann::ordered_json j;
  j["id"] = m.info.id;
  j["offset"] = m.info.offset;
  j["size"] = m.info.size;
  j["sha256"] = m.sha256;
  j["flags"] = flags_to_letters(m.info.flags);
  j["keywords"] = m.info.keywords;
  j["date"] = m.info.internal_date ? nlohmann::ordered_json(format_iso8601(*m.info.internal_date))
                                   : nlohmann::ordered_json(nullptr);
  j["uid"] = m.info.uid ? nlohmann::ordered_json(*m.info.uid) : nlohmann::ordered_json(nullptr);
  return j;
}

}  // namespace

nlohmann::ordered_json inventory_to_json(const Inventory& inventory) {
  // JSON strings must be UTF-8; names from disk may not be. Replace, never throw.
  nlohmann::ordered_json root;
  root["domains"] = nlohmann::ordered_json::array();
  for (const DomainSummary& d : inventory.domains) {
    nlohmann::ordered_json dj;
    dj["name"] = d.info.name;
    dj["main"] = d.info.main;
    dj["aliases"] = d.info.aliases;
    dj["messages"] = d.messages;
    dj["bytes"] = d.bytes;
    dj["accounts"] = nlohmann::ordered_json::array();
    for (const AccountSummary& a : d.accounts) {
      nlohmann::ordered_json aj;
      aj["name"] = a.name;
      aj["password"] = password_kind_name(a.password);
      if (!a.password_scheme.empty()) aj["password_scheme"] = a.password_scheme;
      aj["real_name"] = a.real_name;
      aj["kind"] = a.kind;
      aj["location"] = a.location;
      aj["messages"] = a.messages;
      aj["bytes"] = a.bytes;
      aj["folders"] = nlohmann::ordered_json::array();
      for (const FolderSummary& f : a.folders) {
        nlohmann::ordered_json fj;
        fj["name"] = f.info.name;
        fj["selectable"] = f.info.selectable;
        fj["subscribed"] = f.info.subscribed;
        fj["format"] = f.info.format;
        fj["location"] = f.info.location;
        fj["messages"] = f.messages;
        fj["bytes"] = f.bytes;
        if (!f.details.empty()) {
          fj["list"] = nlohmann::ordered_json::array();
          for (const MessageDetail& m : f.details) fj["list"].push_back(message_to_json(m));
        }
        aj["folders"].push_back(std::move(fj));
      }
      dj["accounts"].push_back(std::move(aj));
    }
    root["domains"].push_back(std::move(dj));
  }
  root["totals"] = {{"domains", inventory.domains.size()},
                    {"accounts", inventory.accounts},
                    {"messages", inventory.messages},
                    {"bytes", inventory.bytes},
                    {"errors", inventory.problems.size()}};
  root["errors"] = nlohmann::ordered_json::array();
  for (const Problem& p : inventory.problems) root["errors"].push_back(problem_to_json(p));
  return root;
}

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

void print_inventory(const Inventory& inventory, const TextReportOptions& options, std::ostream& out) {
  if (!options.title.empty()) out << options.title << "\n";
  for (const DomainSummary& d : inventory.domains) {
    out << fmt::format("\nDomain {}{}: {} accounts, {} messages, {}\n", printable(d.info.name),
                       d.info.main ? " (main)" : "", d.accounts.size(), d.messages, human_bytes(d.bytes));
    if (!d.info.aliases.empty())
      out << fmt::format("  aliases: {}\n", printable(fmt::format("{}", fmt::join(d.info.aliases, ", "))));
    for (const AccountSummary& a : d.accounts) {
      std::string password = password_kind_name(a.password);
      if (!a.password_scheme.empty()) password += " (" + a.password_scheme + ")";
      out << fmt::format("  {:<24} {:<20} {:>5} folders {:>8} messages {:>12}",
                         printable(a.name + "@" + d.info.name), password, a.folders.size(), a.messages,
                         human_bytes(a.bytes));
      if (!a.real_name.empty()) out << "  " << printable(a.real_name);
      out << "\n";
      if (!options.folders) continue;
      for (const FolderSummary& f : a.folders) {
        if (!f.info.selectable) {
          out << fmt::format("      {:<40} (no messages: directory only)\n", printable(f.info.name));
          continue;
        }
        out << fmt::format("      {:<40} {:>8} messages {:>14} bytes\n", printable(f.info.name), f.messages,
                           f.bytes);
      }
    }
  }
  out << fmt::format("\nTotals: {} domains, {} accounts, {} messages, {} bytes ({})\n",
                     inventory.domains.size(), inventory.accounts, inventory.messages, inventory.bytes,
                     human_bytes(inventory.bytes));
  if (inventory.problems.empty()) {
    out << "No errors.\n";
    return;
  }
  out << fmt::format("\nErrors ({}):\n", inventory.problems.size());
  for (const Problem& p : inventory.problems) out << "  " << p.describe() << "\n";
}

}  // namespace mailmig
