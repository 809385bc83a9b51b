#include "cli/directory_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/exit_codes.h"
#include "cli/target_options.h"
#include "directory/change_run.h"
#include "directory/ldif.h"
#include "directory/live_directory.h"
#include "directory/rules.h"
#include "directory/schema_file.h"
#include "directory/set_spec.h"
#include "directory/transform.h"

namespace mailmig::cli {

namespace {

using directory::DirectoryReport;

class UsageError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

void add_connection_options(CLI::App& c, DirectoryArgs& a) {
  c.add_option("--ldap", a.url, "Directory URL: ldap://HOST[:PORT] or ldaps://HOST[:PORT]")->required();
  c.add_flag("--starttls", a.starttls, "StartTLS also to a loopback ldap:// URL (always used elsewhere)");
  c.add_option("--ca-file", a.ca_file, "CA certificates for the server's certificate (always verified)");
  c.add_option("--bind-dn", a.bind_dn, "DN to bind as (default: anonymous)");
  c.add_option(
      "--bind-password-file", a.password_file,
      "File holding the bind password (mode 600); or MAILMIG_LDAP_PASSWORD; never on the command line");
  c.add_option("--base", a.base, "Search base: entries under it are changed")->required();
  c.add_flag("--dry-run", a.dry_run, "Print the LDIF change records; change nothing");
  c.add_option("--ldif-out", a.ldif_out, "Also write the LDIF change records to this file");
  c.add_flag("--continue", a.keep_going, "Go on after an entry fails (default: stop at the first failure)");
  c.add_flag("--json", a.json, "Report as JSON");
}

void add_scope_options(CLI::App& c, DirectoryArgs& a) {
  c.add_option("--scope", a.scope, "Entries: domains, users, groups or both (users and groups)")
      ->required()
      ->check(CLI::IsMember({"domains", "users", "groups", "both"}));
  c.add_option("--filter", a.filter, "LDAP filter the entries must also match, e.g. (uid=s*)");
  c.add_option("--set", a.sets, "attr:value[;attr:value...] (\\; is a literal ;)");
  c.add_option("--user-classes", a.user_classes, "Object classes of user entries")->delimiter(',');
  c.add_option("--group-classes", a.group_classes, "Object classes of group entries")->delimiter(',');
  c.add_option("--domain-classes", a.domain_classes, "Object classes of domain entries")->delimiter(',');
}

std::vector<std::string> scopes_of(const std::string& scope) {
  if (scope == "both") return {"users", "groups"};
  return {scope};
}

const std::vector<std::string>& classes_of(const DirectoryArgs& a, const std::string& scope) {
  if (scope == "users") return a.user_classes;
  if (scope == "groups") return a.group_classes;
  return a.domain_classes;
}

std::vector<directory::SetPair> parse_sets(const DirectoryArgs& a) {
  std::vector<directory::SetPair> out;
  for (const std::string& spec : a.sets) {
    try {
      auto pairs = directory::parse_set_spec(spec);
      out.insert(out.end(), pairs.begin(), pairs.end());
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--set {}", e.what()));
    }
  }
  return out;
}

ldap::ConnectOptions connect_options(const DirectoryArgs& a) {
  ldap::ConnectOptions options;
  options.url = a.url;
  options.bind_dn = a.bind_dn;
  options.ca_file = a.ca_file;
  options.starttls = a.starttls;
  if (a.bind_dn.empty()) return options;
  if (a.password_given) {
    options.password = a.password;
  } else if (!a.password_file.empty()) {
    options.password = read_secret_file(a.password_file);
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  } else if (const char* env = std::getenv("MAILMIG_LDAP_PASSWORD"); env != nullptr) {
    options.password = env;
  } else {
    throw UsageError("--bind-dn needs the password: --bind-password-file FILE or MAILMIG_LDAP_PASSWORD");
  }
  return options;
}

nlohmann::json report_json(const DirectoryReport& r) {
  nlohmann::json j{{"command", r.command}, {"dry_run", r.dry_run},        {"matched", r.matched},
                   {"changed", r.changed}, {"unchanged", r.unchanged},    {"failed", r.failed},
                   {"stopped", r.stopped}, {"stop_reason", r.stop_reason}};
  j["failures"] = nlohmann::json::array();
  for (const auto& f : r.failures) j["failures"].push_back({{"dn", f.dn}, {"error", f.message}});
  j["notes"] = nlohmann::json::array();
  for (const auto& n : r.notes) j["notes"].push_back({{"dn", n.dn}, {"message", n.message}});
  return j;
}

void print_report(const DirectoryArgs& a, const DirectoryReport& r, std::ostream& out) {
  if (a.json) {
    // Binary values never reach the report, but a DN may be any UTF-8 or not: keep bytes.
    out << report_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  const char* what = a.action == "rewrite" ? "records" : "entries";
  out << fmt::format("{} {}: {} {} matched, {} {}, {} unchanged, {} failed\n", a.program, a.action, r.matched,
                     what, r.changed, r.dry_run ? "to change" : "changed", r.unchanged, r.failed);
  for (const auto& f : r.failures)
    out << fmt::format("failed: {}{}{}\n", f.dn, f.dn.empty() ? "" : ": ", f.message);
  for (const auto& n : r.notes) out << fmt::format("note: {}: {}\n", n.dn, n.message);
  if (r.stopped) out << "stopped: " << r.stop_reason << "\n";
  if (r.dry_run) out << "dry run: nothing was changed\n";
}

int exit_code(const DirectoryReport& r) {
  return r.failed > 0 || r.stopped ? kExitProblems : kExitOk;
}

// Offline: streams IN to OUT (written beside it, renamed when complete).
int run_rewrite(DirectoryArgs& a, DirectoryReport& report) {
  const directory::RuleSet rules = directory::load_rules(a.rules);
  std::optional<directory::SchemaFile> schema;
  if (!a.old_schema.empty()) schema = directory::load_schema_file(a.old_schema);
  directory::LdifReader reader(a.input);
  const std::string partial = a.output + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", partial));
    directory::LdifWriter writer(out);
    directory::LdifRecord record;
    for (;;) {
      try {
        if (!reader.next(record)) break;
      } catch (const directory::LdifError& e) {
        ++report.failed;
        report.failures.push_back({"", e.what()});
        continue;
      }
      ++report.matched;
      directory::LdifRecord rewritten =
          directory::transform_record(record, rules, schema ? &*schema : nullptr);
      const bool same = rewritten.dn == record.dn && rewritten.lines.size() == record.lines.size() &&
                        std::equal(rewritten.lines.begin(), rewritten.lines.end(), record.lines.begin(),
                                   [](const auto& x, const auto& y) {
                                     return x.kind == y.kind && x.name == y.name && x.value == y.value;
                                   });
      ++(same ? report.unchanged : report.changed);
      writer.write(rewritten);
    }
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("{}: write failed", partial));
  }
  std::filesystem::rename(partial, a.output);
  return exit_code(report);
}

struct LdifSinks {
  std::unique_ptr<std::ofstream> file;
  std::vector<std::ostream*> outputs;
};

LdifSinks ldif_sinks(const DirectoryArgs& a, std::ostream& out) {
  LdifSinks sinks;
  if (a.dry_run && !a.json) sinks.outputs.push_back(&out);
  if (!a.ldif_out.empty()) {
    sinks.file = std::make_unique<std::ofstream>(a.ldif_out, std::ios::binary | std::ios::trunc);
    if (!*sinks.file) throw std::runtime_error(fmt::format("{}: cannot write", a.ldif_out));
    sinks.outputs.push_back(sinks.file.get());
  }
  return sinks;
}

// What a live run needs besides the server, all checked before connecting.
struct LiveInputs {
  std::optional<directory::RuleSet> rules;
  std::optional<directory::SchemaFile> schema;
  std::vector<directory::SetPair> sets;
};

LiveInputs load_live_inputs(const DirectoryArgs& a) {
  LiveInputs in;
  in.sets = parse_sets(a);
  if (a.action == "transplant") {
    in.rules = directory::load_rules(a.rules);
    in.schema = directory::load_schema_file(a.old_schema);
  } else if (a.action == "upgrade") {
    in.rules = directory::load_rules(a.rules.empty() ? "upgrade-" + a.from : a.rules);
    for (const std::string& scope : scopes_of(a.scope)) {
      if (!in.rules->scopes.contains(scope))
        throw UsageError(fmt::format("{}: no [{}] section", in.rules->origin, scope));
    }
  } else if (in.sets.empty()) {
    throw UsageError("modify needs --set attr:value[;attr:value...]");
  }
  return in;
}

// Entries that use any class or attribute the old schema defines.
std::string transplant_filter(const directory::SchemaFile& schema) {
  std::string filter = "(|";
  for (const auto& oc : schema.object_classes)
    filter += "(objectClass=" + directory::escape_filter_value(oc.names.front()) + ")";
  for (const auto& at : schema.attribute_types) filter += "(" + at.names.front() + "=*)";
  return filter + ")";
}

// Each entry goes through `change` until a change stops the run (go_on false).
using EntryChange = std::function<bool(const directory::Entry&)>;

bool change_matching(directory::LiveDirectory& live, const std::string& base, const std::string& filter,
                     const EntryChange& change) {
  bool go_on = true;
  live.search(base, filter, [&](std::vector<directory::Entry>& page) {
    for (const directory::Entry& entry : page) {
      if (!go_on) return;
      go_on = change(entry);
    }
  });
  return go_on;
}

void run_transplant(const DirectoryArgs& a, const LiveInputs& in, directory::LiveDirectory& live,
                    directory::ChangeRun& run) {
  change_matching(live, a.base, transplant_filter(*in.schema), [&](const directory::Entry& entry) {
    directory::Entry desired = directory::transform_entry(entry, *in.rules, &*in.schema);
    for (const auto& attribute : desired.attributes) {
      if (in.schema->has_attribute(attribute.name.substr(0, attribute.name.find(';')))) {
        run.note(entry.dn,
                 fmt::format("{} has no rename rule in {}: left as it is", attribute.name, in.rules->origin));
      }
    }
    return run.apply(entry, desired);
  });
}

// modify and upgrade: the entries of each scope (domain, user, group) in turn.
void run_scoped(const DirectoryArgs& a, const LiveInputs& in, directory::LiveDirectory& live,
                directory::ChangeRun& run) {
  for (const std::string& scope : scopes_of(a.scope)) {
    const std::string filter =
        directory::and_filter({directory::any_class_filter(classes_of(a, scope)), a.filter});
    const bool go_on = change_matching(live, a.base, filter, [&](const directory::Entry& entry) {
      if (a.action == "modify") return run.apply(entry, directory::apply_sets(entry, in.sets, a.overwrite));
      directory::UpgradeResult plan =
          directory::plan_upgrade(entry, in.rules->scopes.at(scope), in.sets, a.overwrite, a.preserve);
      for (const auto& message : plan.notes) run.note(entry.dn, message);
      return run.apply(entry, plan.desired);
    });
    if (!go_on) break;
  }
}

void run_live(DirectoryArgs& a, DirectoryReport& report, std::ostream& out) {
  const LiveInputs in = load_live_inputs(a);  // everything that can be refused, before connecting
  const ldap::ConnectOptions options = connect_options(a);
  LdifSinks sinks = ldif_sinks(a, out);
  directory::LiveDirectory live(options);
  directory::ChangeRun run(&live, directory::ChangeOptions{a.dry_run, a.keep_going, sinks.outputs}, report);
  try {
    if (a.action == "transplant") {
      run_transplant(a, in, live, run);
    } else {
      run_scoped(a, in, live, run);
    }
  } catch (const directory::ConnectionLost& e) {
    report.stopped = true;
    report.stop_reason =
        fmt::format("{}; the server went away: run the same command again to finish", e.what());
  }
  for (std::ostream* sink : sinks.outputs) sink->flush();
}

}  // namespace

void add_directory_command(CLI::App& app, DirectoryArgs& a, CLI::App*& command) {
  command =
      app.add_subcommand("directory", "Directory migration: LDIF rewrite, schema transplant, entry changes");
  command->require_subcommand(1);
  auto* rewrite =
      command->add_subcommand("rewrite", "Offline: rewrite an LDIF file (slapcat output) by rules");
  rewrite->add_option("IN", a.input, "LDIF input")->required();
  rewrite->add_option("OUT", a.output, "LDIF output")->required();
  rewrite->add_option("--rules", a.rules, "Rule set: zarafa-kopano or a rules file")->required();
  rewrite->add_option("--old-schema", a.old_schema, "Only rename what this schema file defines");
  rewrite->add_flag("--json", a.json, "Report as JSON");
  rewrite->callback([&a] { a.action = "rewrite"; });

  auto* transplant =
      command->add_subcommand("transplant", "Live: move entries from an old schema to a new one");
  transplant->add_option("--rules", a.rules, "Rule set: zarafa-kopano or a rules file")->required();
  transplant->add_option("--old-schema", a.old_schema, "The old schema file (attributetype/objectclass)")
      ->required();
  add_connection_options(*transplant, a);
  transplant->callback([&a] { a.action = "transplant"; });

  auto* modify = command->add_subcommand("modify", "Live: set attributes on domain, user or group entries");
  add_scope_options(*modify, a);
  modify->add_flag("--overwrite", a.overwrite,
                   "Replace the attributes' values (default: add, keeping existing ones)");
  add_connection_options(*modify, a);
  modify->callback([&a] { a.action = "modify"; });

  auto* upgrade =
      command->add_subcommand("upgrade", "Live: upgrade SIMS or NMS entries to the iPlanet schema");
  upgrade->add_option("--from", a.from, "sims or nms")->required()->check(CLI::IsMember({"sims", "nms"}));
  add_scope_options(*upgrade, a);
  upgrade->add_flag("--overwrite", a.overwrite, "--set replaces values instead of adding");
  upgrade->add_flag("--preserve", a.preserve,
                    "Keep the old attributes next to the mapped ones (imsdirmig -P)");
  upgrade->add_option("--rules", a.rules,
                      "Upgrade rules file instead of the built-in upgrade-sims/upgrade-nms");
  add_connection_options(*upgrade, a);
  upgrade->callback([&a] { a.action = "upgrade"; });
}

int run_directory(DirectoryArgs& a, std::ostream& out, std::ostream& err) {
  DirectoryReport report;
  report.command = a.action;
  try {
    if (a.action == "rewrite") {
      run_rewrite(a, report);
    } else {
      run_live(a, report, out);
    }
  } catch (const UsageError& e) {
    err << a.program << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const directory::RulesError& e) {
    err << a.program << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const directory::SchemaError& e) {
    err << a.program << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const ldap::ConnectError& e) {
    err << a.program << ": " << e.what() << "\n";
    return kExitFatal;
  } catch (const std::exception& e) {
    err << a.program << ": " << e.what() << "\n";
    if (report.matched == 0) return kExitFatal;
    report.stopped = true;
    report.stop_reason = e.what();
  }
  // With --dry-run the change records own stdout; the report goes to stderr.
  print_report(a, report, a.dry_run && !a.json ? err : out);
  return exit_code(report);
}

}  // namespace mailmig::cli
