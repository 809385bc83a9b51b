// Takeover rules: what changes when one product's configuration directory is
// carried into another's. The text format is documented in
// docs/config-takeover.md; rules/config/*.rules are the shipped sets.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::config {

struct DirectiveRename {
  std::string file_glob;  // matched against the old file name
  std::string from, to;
};

struct ObsoleteDirective {
  std::string file_glob;
  std::string key;
  std::string replacement;  // empty: none
};

struct KeptDirective {
  std::string file_glob;
  std::string key;
  std::optional<std::string> old_builtin_default;  // what the old product uses when the file does not set it
};

struct ValueReplacement {
  std::string file_glob;
  std::string key;
  std::string from, to;  // the whole value
};

struct PrefixRewrite {
  std::string from, to;
};

struct ModeRule {
  std::string glob;  // relative path; a trailing '/' matches directories ("./" is the directory itself)
  mode_t mode = 0;
};

struct Rules {
  std::string origin;  // "zarafa-kopano (built in)" or the file's path
  std::string old_product, new_product;
  std::vector<std::string> config_globs;  // files in key = value format
  std::vector<std::pair<std::string, std::string>> file_renames;
  std::vector<DirectiveRename> directive_renames;
  std::vector<ObsoleteDirective> obsolete;
  std::vector<KeptDirective> kept;
  std::vector<ValueReplacement> value_replacements;  // whole values of one directive
  std::vector<PrefixRewrite> value_rewrites;         // longest `from` first
  std::vector<PrefixRewrite> symlink_rewrites;       // longest `from` first
  std::vector<std::string> schema_files;             // --ldap-schema: these files
  std::vector<PrefixRewrite> schema_renames;         // --ldap-schema new: word-prefix renames in their values
  std::string owner;                                 // USER:GROUP of the configuration files
  std::string old_service_user, new_service_user;    // USER:GROUP of the daemons (data files)
  std::vector<ModeRule> modes;                       // first match wins

  [[nodiscard]] bool is_config(std::string_view relative_path) const;
  [[nodiscard]] std::string renamed_file(const std::string& relative_path) const;
  [[nodiscard]] std::string renamed_directive(std::string_view file, const std::string& key) const;
  [[nodiscard]] const ObsoleteDirective* obsolete_directive(std::string_view file,
                                                            std::string_view key) const;
  [[nodiscard]] const KeptDirective* kept_directive(std::string_view file, std::string_view key) const;
  // The value after a `value` rule for this directive (unchanged when none applies).
  [[nodiscard]] std::string replaced_value(std::string_view file, std::string_view key,
                                           const std::string& value) const;
  [[nodiscard]] bool is_schema_file(std::string_view relative_path) const;
  [[nodiscard]] std::optional<mode_t> mode_for(std::string_view relative_path, bool directory) const;
};

// A rules file that cannot be read, with the line.
class RulesError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Rules parse_rules(std::string_view text, const std::string& origin);
// `zarafa-kopano` (compiled in) or a file path. Throws RulesError.
Rules load_rules(const std::string& name_or_path);
// The names of the compiled-in sets.

// Applies value rewrites: every occurrence of a rule's `from` that ends at a
// name boundary (end, or a character other than letter, digit, '_', '-', '.')
// is replaced; one pass, longest rule first at each position.
std::string rewrite_value(const std::vector<PrefixRewrite>& rewrites, const std::string& value);
// Symlink targets: the first rule whose `from` is the target or a leading path of it.
std::string rewrite_symlink(const std::vector<PrefixRewrite>& rewrites, const std::string& target);
// Schema renames: `from` at the start of a word (not preceded by a letter or digit).
std::string rename_schema_words(const std::vector<PrefixRewrite>& renames, const std::string& value);

}  // namespace mailmig::config
