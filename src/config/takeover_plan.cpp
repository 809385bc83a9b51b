#include "config/takeover_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "config/config_file.h"
#include "config/unified_diff.h"
#include "core/ascii.h"

namespace mailmig::config {

std::string Warning::describe() const {
  if (line == 0) return fmt::format("{}: {}", path, message);
  return fmt::format("{}:{}: {}", path, line, message);
}

bool Plan::changes_destination() const {
  return !files.empty() || !mode_changes.empty() || !owner_changes.empty();
}

namespace {

// Secrets (passwords) never reach a report.
std::string shown(const std::string& key, const std::string& value) {
  return is_secret_key(key) && !value.empty() ? std::string("********") : value;
}

std::string join_path(const std::string& dir, const std::string& rel) {
  if (rel.empty()) return dir;
  return dir.ends_with('/') ? dir + rel : dir + "/" + rel;
}

class Planner {
 public:
  Planner(const Rules& rules, const PlanOptions& options, const Tree* old_defaults, Plan& plan)
      : rules_(rules), options_(options), old_defaults_(old_defaults), plan_(plan) {}

  // The configuration file `rel` of the source, taken over onto `base` (the
  // destination's file of the same name under merge), or on its own.
  std::string take_over_file(const std::string& rel, const std::string& source_text,
                             const std::string* base_text) {
    ConfigFile source = ConfigFile::parse(source_text);
    // 4.3.8: with --ldap-schema keep the old product's LDAP files are reused as
    // they are (paths aside), never merged onto the new defaults.
    const bool keep_as_is = rules_.is_schema_file(rel) && options_.ldap_schema == LdapSchema::Keep;
    ConfigFile result = !keep_as_is && options_.strategy == Strategy::Merge && base_text != nullptr
                            ? merged(rel, source, ConfigFile::parse(*base_text))
                            : converted(rel, source);
    enforce_kept(rel, source, result);
    return result.serialize();
  }

  void scan_leftovers(const std::string& rel, const std::string& text) {
    if (!rules_.is_config(rel)) return;
    const bool schema_kept = rules_.is_schema_file(rel) && options_.ldap_schema == LdapSchema::Keep;
    const std::string old_name = ascii_lower(rules_.old_product);
    ConfigFile file = ConfigFile::parse(text);
    std::size_t number = 0;
    for (const auto& line : file.lines()) {
      ++number;
      if (line.kind != LineKind::Directive && line.kind != LineKind::Include) continue;
      if (ascii_lower(line.value).find(old_name) == std::string::npos) continue;
      if (line.kind == LineKind::Directive && rules_.kept_directive(rel, line.key) != nullptr) continue;
      if (schema_kept) continue;
      plan_.warnings.push_back(
          {join_path(options_.to, rel), number,
           fmt::format("{} = {} still names {}", line.key, shown(line.key, line.value), rules_.old_product)});
    }
  }

 private:
  std::string map_data_path(const std::string& value) const {
    if (!options_.move_from || !options_.move_to) return value;
    std::string from = *options_.move_from;
    while (from.size() > 1 && from.ends_with('/')) from.pop_back();
    std::string trimmed = value;
    while (trimmed.size() > 1 && trimmed.ends_with('/')) trimmed.pop_back();
    if (trimmed == from) return *options_.move_to;
    if (value.starts_with(from + "/")) return *options_.move_to + value.substr(from.size());
    return value;
  }

  std::string carried_value(const std::string& rel, const std::string& key, const std::string& value) const {
    std::string v = value;
    // Values that say where existing data lives are never rewritten by name.
    if (rules_.kept_directive(rel, key) == nullptr) {
      v = rules_.replaced_value(rel, key, v);
      v = rewrite_value(rules_.value_rewrites, v);
    }
    if (rules_.is_schema_file(rel) && options_.ldap_schema == LdapSchema::New)
      v = rename_schema_words(rules_.schema_renames, v);
    return map_data_path(v);
  }

  std::optional<std::string> old_default(const std::string& rel, const std::string& key) const {
    if (old_defaults_ == nullptr) return std::nullopt;
    auto it = old_defaults_->find(rel);
    if (it == old_defaults_->end() || it->second.type != EntryType::File) return std::nullopt;
    return ConfigFile::parse(it->second.content).effective(key);
  }

  // Did the administrator change `key` from the old product's default? Without
  // --old-defaults every active directive counts as changed.
  bool changed_by_administrator(const std::string& rel, const std::string& key,
                                const std::string& value) const {
    if (old_defaults_ == nullptr) return true;
    auto def = old_default(rel, key);
    return !def || *def != value;
  }

  void note(const std::string& rel, std::size_t line, const std::string& key, const char* action,
            std::string detail) {
    plan_.directives.push_back({rel, line, key, action, std::move(detail)});
  }

  void drop_obsolete(const std::string& rel, const ObsoleteDirective& obsolete, const std::string& value,
                     std::size_t line) {
    std::string replacement =
        obsolete.replacement.empty() ? std::string() : fmt::format("; use {}", obsolete.replacement);
    note(rel, line, obsolete.key, "dropped",
         fmt::format("{}: not read by {}{}", obsolete.key, rules_.new_product, replacement));
    // An empty value meant the built-in default; dropping it changes nothing.
    if (!value.empty() && changed_by_administrator(rel, obsolete.key, value)) {
      plan_.warnings.push_back(
          {join_path(options_.from, rel), line,
           fmt::format("{} = {} is not read by {}{}: not carried, set it by hand", obsolete.key,
                       shown(obsolete.key, value), rules_.new_product, replacement)});
    }
  }

  std::string carried_note(const std::string& rel) const {
    return fmt::format("from {} {} (mailmig config takeover)", rules_.old_product, rel);
  }

  // Approach b: the old file itself, with renames, dropped directives commented out and values rewritten.
  ConfigFile converted(const std::string& rel, const ConfigFile& source) {
    ConfigFile result = source;
    for (const auto& key : source.keys()) {
      std::size_t line = *source.line_number(key);
      if (const auto* obsolete = rules_.obsolete_directive(rel, key)) {
        drop_obsolete(rel, *obsolete, *source.value(key), line);
        std::string why = fmt::format("mailmig: not read by {}", rules_.new_product);
        if (!obsolete->replacement.empty()) why += fmt::format(" (use {})", obsolete->replacement);
        result.comment_out(key, why);
        continue;
      }
      std::string renamed = rules_.renamed_directive(rel, key);
      if (renamed != key) {
        note(rel, line, key, "renamed", fmt::format("{} -> {}", key, renamed));
        result.rename(key, renamed);
      }
    }
    result.rewrite_values([&](const std::string& key, const std::string& value) {
      std::string v = carried_value(rel, key, value);
      if (v != value)
        note(rel, 0, key, "rewritten", fmt::format("{}: {} -> {}", key, shown(key, value), shown(key, v)));
      return v;
    });
    return result;
  }

  // Approach a: the new product's file, with what the administrator changed carried onto it.
  ConfigFile merged(const std::string& rel, const ConfigFile& source, ConfigFile base) {
    for (const auto& key : source.keys()) {
      const std::string value = *source.value(key);
      const std::size_t line = *source.line_number(key);
      if (const auto* obsolete = rules_.obsolete_directive(rel, key)) {
        drop_obsolete(rel, *obsolete, value, line);
        continue;
      }
      std::string target_key = rules_.renamed_directive(rel, key);
      bool kept = rules_.kept_directive(rel, target_key) != nullptr;
      if (!kept && !changed_by_administrator(rel, key, value)) continue;
      std::string v = carried_value(rel, target_key, value);
      if (target_key != key) note(rel, line, key, "renamed", fmt::format("{} -> {}", key, target_key));
      if (kept) continue;  // enforce_kept() sets it
      // Already in effect: the same active value, or the documented default of the new product.
      if (base.value(target_key) == v) continue;
      if (!base.value(target_key) && base.commented_default(target_key) == v) continue;
      base.set(target_key, v, carried_note(rel));
      note(rel, line, target_key, "carried", fmt::format("{} = {}", target_key, shown(target_key, v)));
    }
    return base;
  }

  // Directives naming existing data must keep their effective value (4.2: the
  // database is drop-in; attachments stay where they are unless moved).
  void enforce_kept(const std::string& rel, const ConfigFile& source, ConfigFile& result) {
    for (const auto& kept : rules_.kept) {
      if (rules_.kept_directive(rel, kept.key) != &kept) continue;
      std::optional<std::string> expected = source.value(kept.key);
      std::size_t line = source.line_number(kept.key).value_or(0);
      if (!expected) expected = old_default(rel, kept.key);
      if (!expected) expected = kept.old_builtin_default;
      if (!expected) {
        plan_.warnings.push_back(
            {join_path(options_.from, rel), 0,
             fmt::format("{} is not set and {}'s default for it is not known: check that "
                         "{} still finds the existing data",
                         kept.key, rules_.old_product, join_path(options_.to, rel))});
        continue;
      }
      std::string value = map_data_path(*expected);
      if (result.value(kept.key) != value)
        result.set(kept.key, value, carried_note(rel) + ", names existing data");
      note(rel, line, kept.key, "kept", fmt::format("{} = {}", kept.key, value));
      // Belt and braces: read back what will be written.
      auto check = ConfigFile::parse(result.serialize()).value(kept.key);
      if (check != value)
        throw PlanError(fmt::format("{}: {} would be `{}` instead of `{}`; nothing written",
                                    join_path(options_.to, rel), kept.key, check.value_or("(unset)"), value));
    }
  }

  const Rules& rules_;
  const PlanOptions& options_;
  const Tree* old_defaults_;
  Plan& plan_;
};

const char* type_name(EntryType type) {
  switch (type) {
    case EntryType::File:
      return "a file";
    case EntryType::Directory:
      return "a directory";
    case EntryType::Symlink:
      return "a symbolic link";
  }
  return "?";
}

void place(Tree& result, const std::string& to, const std::string& rel, TreeEntry entry) {
  auto it = result.find(rel);
  if (it != result.end() && it->second.type != entry.type) {
    throw PlanError(fmt::format("{} is {} and cannot be replaced by {}; nothing written", join_path(to, rel),
                                type_name(it->second.type), type_name(entry.type)));
  }
  result[rel] = std::move(entry);
}

// What a diff shows of an entry: secrets masked in configuration files, a symlink as its target.
std::string displayed(const Rules& rules, const std::string& rel, const TreeEntry& e) {
  if (e.type == EntryType::Symlink) return "-> " + e.content + "\n";
  if (e.type == EntryType::File && rules.is_config(rel)) return mask_secrets(e.content);
  return e.content;
}

void compare(const Rules& rules, const PlanOptions& options, const Tree& destination, Plan& plan) {
  for (const auto& [rel, now] : destination) {
    if (plan.result.contains(rel)) continue;
    std::string diff;
    if (now.type != EntryType::Directory)
      diff = unified_diff(displayed(rules, rel, now), "", join_path(options.to, rel), "/dev/null");
    plan.files.push_back({rel, "removed", diff});
  }
  for (const auto& [rel, after] : plan.result) {
    auto it = destination.find(rel);
    const std::string path = join_path(options.to, rel);
    if (it == destination.end()) {
      std::string diff;
      if (after.type != EntryType::Directory)
        diff = unified_diff("", displayed(rules, rel, after), "/dev/null", path);
      plan.files.push_back({rel, "added", diff});
    } else if (it->second.type != after.type || it->second.content != after.content) {
      std::string diff =
          unified_diff(displayed(rules, rel, it->second), displayed(rules, rel, after), path, path);
      if (diff.empty()) diff = fmt::format("--- {}\n+++ {}\n(only hidden values differ)\n", path, path);
      plan.files.push_back({rel, "changed", diff});
    }
  }
}

// Every source entry, renamed and taken over, placed into the result.
void take_over_entries(const Rules& rules, const PlanOptions& options, const Tree& source,
                       const Tree& destination, Planner& planner, Plan& plan) {
  for (const auto& [rel, entry] : source) {
    const std::string out = rules.renamed_file(rel);
    TreeEntry made = entry;
    if (entry.type == EntryType::Symlink) {
      made.content = rewrite_symlink(rules.symlink_rewrites, entry.content);
      if (made.content != entry.content)
        plan.directives.push_back(
            {rel, 0, "", "rewritten", fmt::format("symlink {} -> {}", entry.content, made.content)});
    } else if (entry.type == EntryType::File && rules.is_config(rel)) {
      auto base = destination.find(out);
      const std::string* base_text =
          base != destination.end() && base->second.type == EntryType::File ? &base->second.content : nullptr;
      made.content = planner.take_over_file(rel, entry.content, base_text);
    }
    if (out != rel)
      plan.directives.push_back({rel, 0, "", "renamed", fmt::format("file {} -> {}", rel, out)});
    if (auto it = destination.find(out); it != destination.end() && it->second.type == made.type) {
      // An existing entry keeps its owner unless we set owners.
      made.uid = it->second.uid;
      made.gid = it->second.gid;
      if (made.type == EntryType::Directory) made.mode = it->second.mode;
    }
    place(plan.result, options.to, out, std::move(made));
  }
}

// The mode (and owner, when we set owners) of one result entry; `before` is
// what the destination has there now, so only real changes are listed.
void settle(const Rules& rules, const PlanOptions& options, const std::string& rel, TreeEntry& entry,
            const TreeEntry* before, Plan& plan) {
  if (entry.type == EntryType::Symlink) return;
  const bool directory = entry.type == EntryType::Directory;
  if (auto mode = rules.mode_for(rel, directory)) entry.mode = *mode;
  if (options.owner.apply) {
    entry.uid = *options.owner.uid;
    entry.gid = *options.owner.gid;
  }
  const std::string path = rel.empty() ? options.to : join_path(options.to, rel);
  if (before == nullptr || before->type != entry.type || before->mode != entry.mode)
    plan.mode_changes.push_back(fmt::format("chmod {:o} {}", entry.mode, path));
  if (options.owner.apply && (before == nullptr || before->uid != entry.uid || before->gid != entry.gid))
    plan.owner_changes.push_back(fmt::format("chown {} {}", options.owner.spec, path));
}

bool owned_by(const PlanOptions& options, const TreeEntry& entry) {
  return options.owner.uid && options.owner.gid && entry.uid == *options.owner.uid &&
         entry.gid == *options.owner.gid;
}

// Owners we cannot set: the exact command for a person (it needs root and the user/group).
void list_manual_chown(const PlanOptions& options, Plan& plan) {
  bool all_owned = owned_by(options, plan.result_root);
  for (const auto& [rel, entry] : plan.result) {
    if (entry.type != EntryType::Symlink && !owned_by(options, entry)) all_owned = false;
  }
  if (all_owned) return;
  plan.manual_commands.push_back(fmt::format("chown -R {} {}", options.owner.spec, options.to));
  plan.warnings.push_back(
      {options.to, 0,
       fmt::format(
           "owner {} not set ({}): run the command listed", options.owner.spec,
           options.owner.uid && options.owner.gid ? "needs root" : "the user or group does not exist")});
}

// Modes and owners (4.3.7).
void settle_modes_and_owners(const Rules& rules, const PlanOptions& options, const Tree& destination,
                             const TreeEntry& destination_root, Plan& plan) {
  plan.result_root = destination_root;
  settle(rules, options, "", plan.result_root, &destination_root, plan);
  for (auto& [rel, entry] : plan.result) {
    auto it = destination.find(rel);
    settle(rules, options, rel, entry, it == destination.end() ? nullptr : &it->second, plan);
  }
  if (!options.owner.apply) list_manual_chown(options, plan);
}

// What still names the old product once everything is placed.
void warn_leftovers(const Rules& rules, const PlanOptions& options, Planner& planner, Plan& plan) {
  for (const auto& [rel, entry] : plan.result) {
    if (entry.type == EntryType::File) planner.scan_leftovers(rel, entry.content);
    if (entry.type == EntryType::Symlink &&
        ascii_lower(entry.content).find(ascii_lower(rules.old_product)) != std::string::npos)
      plan.warnings.push_back(
          {join_path(options.to, rel), 0,
           fmt::format("symbolic link to {} still names {}", entry.content, rules.old_product)});
  }
}

}  // namespace

Plan plan_takeover(const Rules& rules, const PlanOptions& options, const Tree& source,
                   const Tree& destination, const TreeEntry& destination_root, const Tree* old_defaults) {
  Plan plan;
  Planner planner(rules, options, old_defaults, plan);
  // Approach b starts from nothing (the new product's files are kept in <to>-orig);
  // approach a from the new product's files.
  if (options.strategy == Strategy::Merge) plan.result = destination;
  take_over_entries(rules, options, source, destination, planner, plan);
  settle_modes_and_owners(rules, options, destination, destination_root, plan);
  warn_leftovers(rules, options, planner, plan);
  compare(rules, options, destination, plan);
  return plan;
}

}  // namespace mailmig::config
