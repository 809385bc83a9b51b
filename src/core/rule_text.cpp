#include "core/rule_text.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mailmig {

RuleText read_rule_text(const std::string& name_or_file, const RuleSets& builtins) {
  std::string names;
  for (const auto& [name, text] : builtins) {
    if (name == name_or_file) return RuleText{std::string(text), std::string(name) + " (built in)"};
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  std::ifstream in(name_or_file, std::ios::binary);
  if (!in) {
    throw std::invalid_argument(fmt::format(
        "rules \"{}\": neither a built-in rule set ({}) nor a readable file", name_or_file, names));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return RuleText{text.str(), name_or_file};
}

}  // namespace mailmig
