// Rule sets (directory and configuration rules) are named on the command line
// either as a set built into the binary or as a file: one lookup for both.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailmig {

using RuleSets = std::vector<std::pair<std::string_view, std::string_view>>;  // (name, text)

struct RuleText {
  std::string text;
  std::string origin;  // "zarafa-kopano (built in)" or the file name, for error messages
};

// The built-in set called `name_or_file`, else the file of that name. Throws
// std::invalid_argument naming the built-in sets when it is neither.
RuleText read_rule_text(const std::string& name_or_file, const RuleSets& builtins);

}  // namespace mailmig
