// The neutral directory entry and the one LDAP modify that turns one entry
// into another. Attribute names compare case-insensitively (as LDAP does);
// values compare byte for byte, except objectClass values, which are names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/ascii.h"

namespace mailmig::directory {

struct Attribute {
  std::string name;
  std::vector<std::string> values;
};

struct Entry {
  std::string dn;
  std::vector<Attribute> attributes;  // in the order the server or the file gave them

  const Attribute* find(std::string_view name) const;
  Attribute* find(std::string_view name);
  // Appends to an existing attribute of that name or adds a new one.
  void add(std::string_view name, std::string value);
  bool has_value(std::string_view name, std::string_view value) const;
};

// objectClass and structuralObjectClass hold class names: compared and renamed as names.
bool is_class_attribute(std::string_view name);

enum class ModOp { Add, Delete, Replace };

struct Modification {
  ModOp op = ModOp::Add;
  std::string attribute;
  std::vector<std::string> values;  // Delete with no values removes the attribute
};

struct ModifyRecord {
  std::string dn;
  std::vector<Modification> mods;
};

// The modifications that make `current` equal to `desired` (same DN), in an
// order a server accepts in one operation: object classes added first, then
// attribute values added, then values and attributes removed, then object
// classes removed. Empty when nothing differs.
std::vector<Modification> diff_entries(const Entry& current, const Entry& desired);

}  // namespace mailmig::directory
