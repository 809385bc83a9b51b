// OpenLDAP schema files (slapd.conf syntax: attributetype / objectclass /
// objectidentifier statements, continued on lines that start with blanks,
// # comments). The definitions are parsed by libldap (ldap_str2attributetype,
// ldap_str2objectclass); this file only finds the statements and their lines.
#pragma once

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::directory {

struct SchemaItem {
  std::string oid;
  std::vector<std::string> names;  // the first is the primary name, the rest aliases
  unsigned long line = 0;
  bool single_value = false;  // attribute types
};

struct SchemaFile {
  std::vector<SchemaItem> attribute_types;
  std::vector<SchemaItem> object_classes;

  bool has_attribute(std::string_view name) const;  // by any name, case-insensitive
  bool has_class(std::string_view name) const;
  std::set<std::string> attribute_names() const;  // lower case, every alias
};

class SchemaError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws SchemaError("ORIGIN:LINE: ...").
SchemaFile parse_schema_text(std::string_view text, const std::string& origin);
SchemaFile load_schema_file(const std::string& path);

}  // namespace mailmig::directory
