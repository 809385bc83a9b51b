// The `key = value` configuration format of Zarafa/Kopano-style daemons,
// kept line by line: comments, blank lines, order, tabs, line endings and
// commented-out defaults (`#key = value`) survive, so a file rewritten with
// no change is byte-identical and a diff shows only what was changed.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::config {

enum class LineKind {
  Blank,
  Comment,             // '#' text that is not a commented-out directive
  Directive,           // key = value
  CommentedDirective,  // #key = value: a documented default, not in effect
  Include,             // !include PATH, !propmap PATH (the value is the path)
  Other,               // anything the daemons would ignore or reject; kept verbatim
};

struct ConfigLine {
  LineKind kind = LineKind::Other;
  std::string text;                        // without the line terminator
  std::string eol;                         // "\n", "\r\n", or "" for a last line without one
  std::string key;                         // Directive, CommentedDirective; "!include"/"!propmap" for Include
  std::string value;                       // trimmed
  std::size_t key_begin = 0, key_end = 0;  // span of key in text
  std::size_t value_begin = 0, value_end = 0;  // span of value in text
};

class ConfigFile {
 public:
  static ConfigFile parse(std::string_view text);
  [[nodiscard]] std::string serialize() const;

  [[nodiscard]] const std::vector<ConfigLine>& lines() const { return lines_; }

  // The value in effect: the last active `key = value` line (the daemons let a
  // later line override an earlier one).
  [[nodiscard]] std::optional<std::string> value(std::string_view key) const;
  // 1-based line number of the line value() reads.
  [[nodiscard]] std::optional<std::size_t> line_number(std::string_view key) const;
  // The value of the last `#key = value` line (the documented default).
  [[nodiscard]] std::optional<std::string> commented_default(std::string_view key) const;
  // value(), else commented_default(): what the product uses, as far as the file tells.
  [[nodiscard]] std::optional<std::string> effective(std::string_view key) const;
  // Active keys in the order of their first appearance, each once.
  [[nodiscard]] std::vector<std::string> keys() const;

  // Makes `key = value` the value in effect, touching as little as possible:
  // replaces the value of the active line; else un-comments the commented
  // default line; else appends the directive after a `# <note>` comment.
  // Returns false when the value already was in effect (nothing changed).
  bool set(std::string_view key, std::string_view value, std::string_view note);
  // Renames every active line of `from`; returns how many.
  int rename(std::string_view from, std::string_view to);
  // Comments out every active line of `key`, each preceded by `# <note>`.
  int comment_out(std::string_view key, std::string_view note);
  // Calls `rewrite(key, value)` for every active directive and include line and
  // stores what it returns; returns how many values changed.
  int rewrite_values(
      const std::function<std::string(const std::string& key, const std::string& value)>& rewrite);

 private:
  std::vector<ConfigLine> lines_;
};

// Keys whose values are secrets (passwords): never shown in diffs or reports.
bool is_secret_key(std::string_view key);
// `text` with the value of every secret directive (active or commented) replaced by "********".
std::string mask_secrets(std::string_view text);

// Classifies one line (without terminator).
ConfigLine parse_line(std::string_view text);

}  // namespace mailmig::config
