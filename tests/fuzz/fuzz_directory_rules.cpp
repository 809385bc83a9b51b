// Directory rules files (src/directory/rules): any text gives a RuleSet or a
// RulesError "ORIGIN:LINE: ..." naming a line of the text; the rules then
// apply to names and values taken from the input without crashing; a rename
// never yields an empty name.
#include <algorithm>
#include <cstdint>
#include <string>

#include "directory/rules.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  // Input: rules text, then "\n%%\n", then lines used as attribute names and values.
  const auto parts = fuzz::split(fuzz::as_view(data, size), "\n%%\n");
  const auto lines = static_cast<unsigned long>(std::count(parts[0].begin(), parts[0].end(), '\n') + 1);
  directory::RuleSet rules;
  try {
    rules = directory::parse_rules(parts[0], "fuzz");
  } catch (const directory::RulesError& e) {
    const std::string_view what = e.what();
    fuzz::require(what.starts_with("fuzz:"), "a RulesError names the origin");
    const unsigned long line = std::strtoul(std::string(what.substr(5)).c_str(), nullptr, 10);
    fuzz::require(line >= 1 && line <= lines, "a RulesError names a line of the text");
    return 0;
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string name(parts[i]);
    if (const auto renamed = rules.renamed_attribute(name); renamed && !name.empty())
      fuzz::require(!renamed->empty(), "an attribute rename never yields an empty name");
    if (const auto renamed = rules.renamed_class(name); renamed && !name.empty())
      fuzz::require(!renamed->empty(), "a class rename never yields an empty name");
    (void)rules.drops_attribute(name);
    (void)rules.rewrite_value(name, name, name);
  }
  try {
    (void)directory::split_rule_words(parts.back());
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
