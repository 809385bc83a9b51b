// Directory rules: a small line-oriented data format (docs/directory.md)
// saying how attribute types and object classes are renamed, which values are
// rewritten, which attributes are dropped, and, in [users]/[groups]/[domains]
// sections, how an upgrade adds object classes and maps attributes. Rule sets
// ship as files under rules/directory/ and are built into the binary.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailmig::directory {

// "name" (exact), "prefix*" or "*suffix"; case-insensitive like LDAP names.
struct NamePattern {
  enum class Kind { Exact, Prefix, Suffix };
  Kind kind = Kind::Exact;
  std::string text;
  bool matches(std::string_view name) const;
};

struct Rename {
  NamePattern from;
  std::string to;  // with from a prefix: the new prefix
  std::optional<std::string> apply(std::string_view name) const;
};

// Replaces every occurrence of `from` with `to` in the values of matching attributes.
struct ValueRewrite {
  NamePattern attribute;
  std::string from;
  std::string to;
};

struct ScopeUpgrade {
  std::vector<std::string> add_classes;
  std::vector<std::pair<std::string, std::string>> map_attributes;  // old -> new
  std::vector<std::pair<std::string, std::string>> unmapped;        // attribute -> why
};

struct RuleSet {
  std::string origin;  // "built-in zarafa-kopano" or the file
  std::vector<Rename> attribute_renames;
  std::vector<Rename> class_renames;
  std::vector<ValueRewrite> value_rewrites;
  std::vector<NamePattern> drops;
  std::map<std::string, ScopeUpgrade> scopes;  // "users", "groups", "domains"

  // The first rename that matches; nullopt when none does.
  std::optional<std::string> renamed_attribute(std::string_view name) const;
  std::optional<std::string> renamed_class(std::string_view name) const;
  bool drops_attribute(std::string_view name) const;
  // The value after the rewrites whose pattern matches the old or the new name.
  std::string rewrite_value(std::string_view old_name, std::string_view new_name, std::string value) const;
};

class RulesError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws RulesError("ORIGIN:LINE: ...").
RuleSet parse_rules(std::string_view text, const std::string& origin);

// A built-in name (zarafa-kopano, upgrade-sims, upgrade-nms) or a file.
RuleSet load_rules(const std::string& name_or_file);

// Splits a rules line into words: blanks separate, "double quotes" keep
// blanks, \" and \\ inside quotes. Throws std::invalid_argument.
std::vector<std::string> split_rule_words(std::string_view line);

}  // namespace mailmig::directory
