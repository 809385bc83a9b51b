#include "directory/transform.h"

#include <fmt/format.h>
#include <ldap.h>

#include <cstring>
#include <optional>

namespace mailmig::directory {

namespace {

// "zarafaFoo;binary" -> "kopanoFoo;binary"; nullopt when the type is not renamed.
std::optional<std::string> renamed_attribute(std::string_view description, const RuleSet& rules,
                                             const SchemaFile* old_schema) {
  const auto semicolon = description.find(';');
  const std::string_view type = description.substr(0, semicolon);
  if (old_schema != nullptr && !old_schema->has_attribute(type)) return std::nullopt;
  std::optional<std::string> renamed = rules.renamed_attribute(type);
  if (!renamed) return std::nullopt;
  if (semicolon != std::string_view::npos) *renamed += std::string(description.substr(semicolon));
  return renamed;
}

std::string attribute_name(std::string_view description, const RuleSet& rules, const SchemaFile* old_schema) {
  return renamed_attribute(description, rules, old_schema).value_or(std::string(description));
}

std::string class_name(const std::string& name, const RuleSet& rules, const SchemaFile* old_schema) {
  if (old_schema != nullptr && !old_schema->has_class(name)) return name;
  return rules.renamed_class(name).value_or(name);
}

std::string new_value(const std::string& old_name, const std::string& new_name, const std::string& value,
                      const RuleSet& rules, const SchemaFile* old_schema) {
  if (is_class_attribute(old_name)) return class_name(value, rules, old_schema);
  return rules.rewrite_value(old_name, new_name, value);
}

bool is_mod_verb(const std::string& name) {
  return ascii_iequals(name, "add") || ascii_iequals(name, "delete") || ascii_iequals(name, "replace") ||
         ascii_iequals(name, "increment");
}

// Lines of a record that are not attribute values: their names stay.
bool is_record_keyword(const std::string& name) {
  return ascii_iequals(name, "changetype") || ascii_iequals(name, "control") ||
         ascii_iequals(name, "newrdn") || ascii_iequals(name, "deleteoldrdn") ||
         ascii_iequals(name, "newsuperior");
}

}  // namespace

std::string transform_dn(const std::string& dn, const RuleSet& rules, const SchemaFile* old_schema) {
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) {
    if (parsed != nullptr) ldap_dnfree(parsed);
    return dn;  // the reader has already refused invalid DNs
  }
  // Renamed types must outlive the DN structure that points at them.
  std::vector<std::string> names;
  std::vector<std::pair<LDAPAVA*, std::size_t>> changes;
  for (int r = 0; parsed != nullptr && parsed[r] != nullptr; ++r) {
    for (int a = 0; parsed[r][a] != nullptr; ++a) {
      LDAPAVA* ava = parsed[r][a];
      const std::string type(ava->la_attr.bv_val, ava->la_attr.bv_len);
      if (auto renamed = renamed_attribute(type, rules, old_schema)) {
        names.push_back(*renamed);
        changes.emplace_back(ava, names.size() - 1);
      }
    }
  }
  std::string out = dn;
  if (!changes.empty()) {
    std::vector<berval> saved;
    for (auto& [ava, index] : changes) {
      saved.push_back(ava->la_attr);
      ava->la_attr.bv_val = names[index].data();
      ava->la_attr.bv_len = names[index].size();
    }
    char* text = nullptr;
    // PRETTY: UTF-8 stays UTF-8 instead of becoming hex escapes.
    if (ldap_dn2str(parsed, &text, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) == LDAP_SUCCESS && text != nullptr)
      out = text;
    ldap_memfree(text);
    for (std::size_t i = 0; i < changes.size(); ++i)
      changes[i].first->la_attr = saved[i];  // ldap_dnfree frees them
  }
  ldap_dnfree(parsed);
  return out;
}

LdifRecord transform_record(const LdifRecord& record, const RuleSet& rules, const SchemaFile* old_schema) {
  LdifRecord out;
  out.dn = transform_dn(record.dn, rules, old_schema);
  out.line = record.line;
  const bool content = record.changetype().empty();
  for (const LdifLine& line : record.lines) {
    if (line.kind == LdifLine::Kind::Separator || is_record_keyword(line.name)) {
      out.lines.push_back(line);
      continue;
    }
    if (!content && is_mod_verb(line.name)) {  // "add: zarafaFoo" names an attribute in its value
      LdifLine spec = line;
      spec.value = attribute_name(line.value, rules, old_schema);
      out.lines.push_back(std::move(spec));
      continue;
    }
    if (content && rules.drops_attribute(line.name)) continue;
    LdifLine renamed = line;
    renamed.name = attribute_name(line.name, rules, old_schema);
    if (line.kind == LdifLine::Kind::Value)
      renamed.value = new_value(line.name, renamed.name, line.value, rules, old_schema);
    out.lines.push_back(std::move(renamed));
  }
  return out;
}

Entry transform_entry(const Entry& entry, const RuleSet& rules, const SchemaFile* old_schema) {
  Entry out;
  out.dn = entry.dn;
  for (const Attribute& attribute : entry.attributes) {
    if (rules.drops_attribute(attribute.name)) continue;
    const std::string name = attribute_name(attribute.name, rules, old_schema);
    for (const std::string& value : attribute.values) {
      std::string rewritten = new_value(attribute.name, name, value, rules, old_schema);
      if (!out.has_value(name, rewritten)) out.add(name, std::move(rewritten));
    }
  }
  return out;
}

Entry apply_sets(const Entry& entry, const std::vector<SetPair>& sets, bool overwrite) {
  Entry out = entry;
  if (overwrite) {
    // Every named attribute holds exactly the values given for it.
    std::vector<std::string> cleared;
    for (const SetPair& pair : sets) {
      bool seen = false;
      for (const auto& name : cleared) seen = seen || ascii_iequals(name, pair.attribute);
      if (!seen) {
        cleared.push_back(pair.attribute);
        if (Attribute* existing = out.find(pair.attribute)) existing->values.clear();
      }
    }
  }
  for (const SetPair& pair : sets) {
    if (!out.has_value(pair.attribute, pair.value)) out.add(pair.attribute, pair.value);
  }
  return out;
}

UpgradeResult plan_upgrade(const Entry& entry, const ScopeUpgrade& scope, const std::vector<SetPair>& sets,
                           bool overwrite, bool preserve) {
  UpgradeResult result;
  result.desired = entry;
  Entry& desired = result.desired;
  for (const std::string& oc : scope.add_classes) {
    if (!desired.has_value("objectClass", oc)) desired.add("objectClass", oc);
  }
  for (const auto& [from, to] : scope.map_attributes) {
    const Attribute* old = entry.find(from);
    if (old == nullptr) continue;
    for (const std::string& value : old->values) {
      if (!desired.has_value(to, value)) desired.add(to, value);
    }
    if (!preserve && !ascii_iequals(from, to)) {
      // A named copy: clang before 16 cannot capture a structured binding (the fuzz preset's clang 14).
      const std::string& old_name = from;
      std::erase_if(desired.attributes, [&](const Attribute& a) { return ascii_iequals(a.name, old_name); });
    }
  }
  for (const auto& [name, why] : scope.unmapped) {
    if (entry.find(name) != nullptr)
      result.notes.push_back(fmt::format("{} kept as it is, not mapped: {}", name, why));
  }
  desired = apply_sets(desired, sets, overwrite);
  return result;
}

}  // namespace mailmig::directory
