#include "cli/legacy_argv.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "cli/argv_secrets.h"
#include "core/ascii.h"

namespace mailmig::cli {
namespace {

std::string key_of(std::string arg, const LegacySyntax& syntax) {
  if (syntax.fold_case) arg = ascii_lower(arg);
  if (syntax.double_dash_alias && arg.starts_with("--")) arg.erase(0, 1);
  return arg;
}

const LegacyOption* find_option(const std::vector<LegacyOption>& options, const std::string& key) {
  for (const LegacyOption& option : options) {
    if (std::find(option.names.begin(), option.names.end(), key) != option.names.end()) return &option;
  }
  return nullptr;
}

}  // namespace

std::string parse_legacy_argv(int argc, char** argv, const std::vector<LegacyOption>& options,
                              const LegacySyntax& syntax) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (syntax.inline_value && arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg.resize(eq);
      }
    }
    const LegacyOption* option = find_option(options, key_of(arg, syntax));
    if (option == nullptr) return fmt::format(fmt::runtime(syntax.unknown), arg);
    std::string value;
    if (option->takes != LegacyOption::Takes::Nothing) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return fmt::format(fmt::runtime(syntax.missing_value), arg);
      }
      if (option->takes == LegacyOption::Takes::Secret && !inline_value) scrub_argument(argv[i]);
    }
    if (std::string error = option->apply(value); !error.empty()) return error;
  }
  return {};
}

LegacyOption legacy_value(std::vector<std::string_view> names, std::string& into, LegacyOption::Takes takes) {
  return {std::move(names), takes, [&into](const std::string& value) {
            into = value;
            return std::string();
          }};
}

LegacyOption legacy_flag(std::vector<std::string_view> names, bool& flag) {
  return {std::move(names), LegacyOption::Takes::Nothing, [&flag](const std::string&) {
            flag = true;
            return std::string();
          }};
}

}  // namespace mailmig::cli
