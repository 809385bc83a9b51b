#include "directory/schema_file.h"

#include <fmt/format.h>
#include <ldap.h>
#include <ldap_schema.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "directory/entry.h"

namespace mailmig::directory {

namespace {

struct Statement {
  std::string keyword;
  std::string text;        // the definition, lines joined by '\n'
  unsigned long line = 0;  // of the keyword
};

std::vector<Statement> statements(std::string_view text, const std::string& origin) {
  std::vector<Statement> out;
  std::istringstream in{std::string(text)};
  std::string line;
  unsigned long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (first > 0) {  // a continuation line
      if (out.empty())
        throw SchemaError(fmt::format("{}:{}: continuation line before any statement", origin, lineno));
      out.back().text += '\n' + line;
      continue;
    }
    const auto end = line.find_first_of(" \t");
    // libldap wants the definition to start at its "(".
    const auto body = end == std::string::npos ? std::string::npos : line.find_first_not_of(" \t", end);
    Statement statement{ascii_lower(line.substr(0, end)), body == std::string::npos ? "" : line.substr(body),
                        lineno};
    if (statement.keyword != "attributetype" && statement.keyword != "attributetypes" &&
        statement.keyword != "objectclass" && statement.keyword != "objectclasses" &&
        statement.keyword != "objectidentifier") {
      throw SchemaError(
          fmt::format("{}:{}: unknown statement \"{}\" (expected attributetype, objectclass or "
                      "objectidentifier)",
                      origin, lineno, line.substr(0, end)));
    }
    out.push_back(std::move(statement));
  }
  return out;
}

std::vector<std::string> names_of(char** names) {
  std::vector<std::string> out;
  for (char** name = names; name != nullptr && *name != nullptr; ++name) out.emplace_back(*name);
  return out;
}

[[noreturn]] void definition_error(const Statement& statement, const std::string& origin, int code,
                                   const char* where) {
  unsigned long line = statement.line;
  std::string near;
  // libldap may leave `where` past the end of the text (an unclosed list at its
  // end): only a position inside the text is read.
  const char* base = statement.text.c_str();
  if (where != nullptr && where >= base && where <= base + statement.text.size()) {
    line += static_cast<unsigned long>(std::count(base, where, '\n'));
    const auto at = static_cast<std::size_t>(where - base);
    if (at < statement.text.size()) near = fmt::format(" near \"{}\"", statement.text.substr(at, 30));
  }
  throw SchemaError(fmt::format("{}:{}: {} definition: {}{}", origin, line, statement.keyword,
                                ldap_scherr2str(code), near));
}

bool has(const std::vector<SchemaItem>& items, std::string_view name) {
  return std::any_of(items.begin(), items.end(), [&](const SchemaItem& item) {
    return std::any_of(item.names.begin(), item.names.end(),
                       [&](const std::string& n) { return ascii_iequals(n, name); });
  });
}

}  // namespace

bool SchemaFile::has_attribute(std::string_view name) const {
  return has(attribute_types, name);
}
bool SchemaFile::has_class(std::string_view name) const {
  return has(object_classes, name);
}

std::set<std::string> SchemaFile::attribute_names() const {
  std::set<std::string> out;
  for (const SchemaItem& item : attribute_types) {
    for (const std::string& name : item.names) out.insert(ascii_lower(name));
  }
  return out;
}

SchemaFile parse_schema_text(std::string_view text, const std::string& origin) {
  SchemaFile schema;
  // OID macros (objectidentifier) are accepted as they are in slapd.conf.
  const unsigned flags = LDAP_SCHEMA_ALLOW_ALL;
  for (const Statement& statement : statements(text, origin)) {
    if (statement.keyword == "objectidentifier") continue;
    int code = 0;
    const char* where = nullptr;
    if (statement.keyword.starts_with("attributetype")) {
      LDAPAttributeType* at = ldap_str2attributetype(statement.text.c_str(), &code, &where, flags);
      if (at == nullptr) definition_error(statement, origin, code, where);
      schema.attribute_types.push_back(SchemaItem{at->at_oid != nullptr ? at->at_oid : "",
                                                  names_of(at->at_names), statement.line,
                                                  at->at_single_value != 0});
      ldap_attributetype_free(at);
    } else {
      LDAPObjectClass* oc = ldap_str2objectclass(statement.text.c_str(), &code, &where, flags);
      if (oc == nullptr) definition_error(statement, origin, code, where);
      schema.object_classes.push_back(
          SchemaItem{oc->oc_oid != nullptr ? oc->oc_oid : "", names_of(oc->oc_names), statement.line});
      ldap_objectclass_free(oc);
    }
    auto& items =
        statement.keyword.starts_with("attributetype") ? schema.attribute_types : schema.object_classes;
    if (items.back().names.empty()) {
      throw SchemaError(fmt::format("{}:{}: {} {} has no NAME", origin, statement.line, statement.keyword,
                                    items.back().oid));
    }
  }
  return schema;
}

SchemaFile load_schema_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SchemaError(fmt::format("{}: cannot read the schema file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_schema_text(text.str(), path);
}

}  // namespace mailmig::directory
