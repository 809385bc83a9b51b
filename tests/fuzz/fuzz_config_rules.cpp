// Takeover rules files (src/config/rules): any text gives Rules or a
// RulesError naming the origin; the rules then apply to paths and values
// taken from the input without crashing, and rewriting is deterministic.
#include <cstdint>
#include <string>

#include "config/rules.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailmig;
  // Input: rules text, then "\n%%\n", then lines used as paths and values.
  const auto parts = fuzz::split(fuzz::as_view(data, size), "\n%%\n");
  config::Rules rules;
  try {
    rules = config::parse_rules(parts[0], "fuzz");
  } catch (const config::RulesError& e) {
    fuzz::require(std::string_view(e.what()).starts_with("fuzz:"), "a RulesError names the origin");
    return 0;
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string subject(parts[i]);
    (void)rules.is_config(subject);
    (void)rules.renamed_file(subject);
    (void)rules.renamed_directive(subject, subject);
    (void)rules.obsolete_directive(subject, subject);
    (void)rules.kept_directive(subject, subject);
    (void)rules.replaced_value(subject, subject, subject);
    (void)rules.is_schema_file(subject);
    (void)rules.mode_for(subject, false);
    (void)rules.mode_for(subject, true);
    const std::string once = config::rewrite_value(rules.value_rewrites, subject);
    fuzz::require(once == config::rewrite_value(rules.value_rewrites, subject), "rewriting is deterministic");
    (void)config::rewrite_symlink(rules.symlink_rewrites, subject);
    (void)config::rename_schema_words(rules.schema_renames, subject);
  }
  return 0;
}
