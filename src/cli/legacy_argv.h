// The command lines of the front ends that stand in for other tools (cg2kms,
// imsdirmig, sync_maildirs) are fixed by those tools: single-dash words,
// names in any case, `-?`. CLI11 does not read them, so this one loop does,
// each front end giving its own table and its own error wording.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::cli {

struct LegacyOption {
  enum class Takes { Nothing, Value, Secret };
  std::vector<std::string_view> names;  // as typed; lower case when the syntax folds case
  Takes takes = Takes::Nothing;
  // Stores the value (empty for Takes::Nothing); returns an error, or "" when it is fine.
  std::function<std::string(const std::string& value)> apply;
};

struct LegacySyntax {
  bool fold_case = false;          // cg2kms: -Path, -PATH and -path are one option
  bool double_dash_alias = false;  // cg2kms: --path as well as -path
  bool inline_value = false;       // sync_maildirs: --port=22 (options starting "--" only)
  std::string_view missing_value;  // format of "needs a value"; {} is the option as typed
  std::string_view unknown;        // format of "unknown option"; {} is the option as typed
};

// Applies argv[1..argc) to `options`; returns the first error ("" when the whole
// line was read). A Secret value is overwritten in argv once it is copied.
std::string parse_legacy_argv(int argc, char** argv, const std::vector<LegacyOption>& options,
                              const LegacySyntax& syntax);

// An option that stores its value into `into`.
LegacyOption legacy_value(std::vector<std::string_view> names, std::string& into,
                          LegacyOption::Takes takes = LegacyOption::Takes::Value);
// An option without a value that sets `flag`.
LegacyOption legacy_flag(std::vector<std::string_view> names, bool& flag);

}  // namespace mailmig::cli
