#include "config/rules.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/embedded_rules.h"
#include "core/rule_text.h"

namespace mailmig::config {

namespace {

bool glob_match(const std::string& glob, std::string_view name) {
  return ::fnmatch(glob.c_str(), std::string(name).c_str(), 0) == 0;
}

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// A directive rule names a file by its base name or by its relative path.
bool file_matches(const std::string& glob, std::string_view relative_path) {
  return glob_match(glob, relative_path) || glob_match(glob, base_name(relative_path));
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  std::string word;
  while (in >> word) {
    if (word.starts_with('#')) break;  // trailing comment
    words.push_back(word);
  }
  return words;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void longest_first(std::vector<PrefixRewrite>& rewrites) {
  std::stable_sort(rewrites.begin(), rewrites.end(), [](const PrefixRewrite& a, const PrefixRewrite& b) {
    return a.from.size() > b.from.size();
  });
}

}  // namespace

bool Rules::is_config(std::string_view relative_path) const {
  return std::any_of(config_globs.begin(), config_globs.end(),
                     [&](const std::string& g) { return file_matches(g, relative_path); });
}

std::string Rules::renamed_file(const std::string& relative_path) const {
  for (const auto& [from, to] : file_renames) {
    if (from == relative_path) return to;
  }
  return relative_path;
}

std::string Rules::renamed_directive(std::string_view file, const std::string& key) const {
  for (const auto& r : directive_renames) {
    if (r.from == key && file_matches(r.file_glob, file)) return r.to;
  }
  return key;
}

const ObsoleteDirective* Rules::obsolete_directive(std::string_view file, std::string_view key) const {
  for (const auto& r : obsolete) {
    if (r.key == key && file_matches(r.file_glob, file)) return &r;
  }
  return nullptr;
}

const KeptDirective* Rules::kept_directive(std::string_view file, std::string_view key) const {
  for (const auto& r : kept) {
    if (r.key == key && file_matches(r.file_glob, file)) return &r;
  }
  return nullptr;
}

std::string Rules::replaced_value(std::string_view file, std::string_view key,
                                  const std::string& value) const {
  for (const auto& r : value_replacements) {
    if (r.key == key && r.from == value && file_matches(r.file_glob, file)) return r.to;
  }
  return value;
}

bool Rules::is_schema_file(std::string_view relative_path) const {
  return std::any_of(schema_files.begin(), schema_files.end(),
                     [&](const std::string& g) { return file_matches(g, relative_path); });
}

std::optional<mode_t> Rules::mode_for(std::string_view relative_path, bool directory) const {
  std::string subject = directory
                            ? (relative_path.empty() ? std::string("./") : std::string(relative_path) + "/")
                            : std::string(relative_path);
  for (const auto& m : modes) {
    bool for_directories = m.glob.ends_with('/');
    if (for_directories != directory) continue;
    if (glob_match(m.glob, subject)) return m.mode;
  }
  return std::nullopt;
}

Rules parse_rules(std::string_view text, const std::string& origin) {
  Rules rules;
  rules.origin = origin;
  std::istringstream in{std::string(text)};
  std::string raw;
  int number = 0;
  auto fail = [&](const std::string& why) {
    throw RulesError(fmt::format("{}:{}: {}", origin, number, why));
  };
  while (std::getline(in, raw)) {
    ++number;
    auto w = split_words(raw);
    if (w.empty()) continue;
    const std::string& verb = w[0];
    auto need = [&](std::size_t min, std::size_t max, const char* usage) {
      if (w.size() < min || w.size() > max) fail(fmt::format("expected `{}`", usage));
    };
    if (verb == "product") {
      need(3, 3, "product OLD NEW");
      rules.old_product = w[1];
      rules.new_product = w[2];
    } else if (verb == "config") {
      need(2, 2, "config GLOB");
      rules.config_globs.push_back(w[1]);
    } else if (verb == "rename-file") {
      need(3, 3, "rename-file OLD NEW");
      rules.file_renames.emplace_back(w[1], w[2]);
    } else if (verb == "rename-directive") {
      need(4, 4, "rename-directive FILE OLD NEW");
      rules.directive_renames.push_back({w[1], w[2], w[3]});
    } else if (verb == "obsolete") {
      need(3, 4, "obsolete FILE KEY [REPLACEMENT]");
      rules.obsolete.push_back({w[1], w[2], w.size() > 3 ? w[3] : std::string()});
    } else if (verb == "keep") {
      need(3, 4, "keep FILE KEY [OLD_DEFAULT]");
      std::optional<std::string> def;
      if (w.size() > 3 && w[3] != "-") def = w[3];
      rules.kept.push_back({w[1], w[2], def});
    } else if (verb == "value") {
      need(5, 5, "value FILE KEY OLD_VALUE NEW_VALUE");
      rules.value_replacements.push_back({w[1], w[2], w[3], w[4]});
    } else if (verb == "rewrite") {
      need(3, 3, "rewrite OLD NEW");
      rules.value_rewrites.push_back({w[1], w[2]});
    } else if (verb == "symlink") {
      need(3, 3, "symlink OLD_TARGET NEW_TARGET");
      rules.symlink_rewrites.push_back({w[1], w[2]});
    } else if (verb == "schema-file") {
      need(2, 2, "schema-file GLOB");
      rules.schema_files.push_back(w[1]);
    } else if (verb == "schema-rename") {
      need(3, 3, "schema-rename OLD NEW");
      rules.schema_renames.push_back({w[1], w[2]});
    } else if (verb == "owner") {
      need(2, 2, "owner USER:GROUP");
      if (w[1].find(':') == std::string::npos) fail("owner needs USER:GROUP");
      rules.owner = w[1];
    } else if (verb == "service-user") {
      need(3, 3, "service-user OLD_USER:OLD_GROUP NEW_USER:NEW_GROUP");
      if (w[1].find(':') == std::string::npos || w[2].find(':') == std::string::npos)
        fail("service-user needs USER:GROUP twice");
      rules.old_service_user = w[1];
      rules.new_service_user = w[2];
    } else if (verb == "mode") {
      need(3, 3, "mode GLOB OCTAL");
      const std::string& digits = w[2];
      if (digits.empty() || digits.size() > 4 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; }))
        fail(fmt::format("mode `{}` is not octal", digits));
      rules.modes.push_back({w[1], static_cast<mode_t>(std::stoul(digits, nullptr, 8))});
    } else {
      fail(fmt::format("unknown rule `{}`", verb));
    }
  }
  if (rules.old_product.empty()) throw RulesError(origin + ": no `product OLD NEW` line");
  if (rules.config_globs.empty()) throw RulesError(origin + ": no `config GLOB` line");
  longest_first(rules.value_rewrites);
  longest_first(rules.symlink_rewrites);
  longest_first(rules.schema_renames);
  return rules;
}

Rules load_rules(const std::string& name_or_path) {
  try {
    const RuleText rules = read_rule_text(name_or_path, embedded_rule_sets());
    return parse_rules(rules.text, rules.origin);
  } catch (const std::invalid_argument& e) {
    throw RulesError(fmt::format("--rules: {}", e.what()));
  }
}

std::string rewrite_value(const std::vector<PrefixRewrite>& rewrites, const std::string& value) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const PrefixRewrite* hit = nullptr;
    for (const auto& r : rewrites) {
      if (r.from.empty() || value.compare(i, r.from.size(), r.from) != 0) continue;
      std::size_t end = i + r.from.size();
      if (end < value.size() && name_char(r.from.back()) && name_char(value[end])) continue;
      hit = &r;
      break;
    }
    if (hit != nullptr) {
      out += hit->to;
      i += hit->from.size();
    } else {
      out += value[i++];
    }
  }
  return out;
}

std::string rewrite_symlink(const std::vector<PrefixRewrite>& rewrites, const std::string& target) {
  for (const auto& r : rewrites) {
    if (target == r.from) return r.to;
    if (target.starts_with(r.from) && target[r.from.size()] == '/')
      return r.to + target.substr(r.from.size());
  }
  return target;
}

std::string rename_schema_words(const std::vector<PrefixRewrite>& renames, const std::string& value) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    const PrefixRewrite* hit = nullptr;
    if (i == 0 || !alnum(value[i - 1])) {
      for (const auto& r : renames) {
        if (!r.from.empty() && value.compare(i, r.from.size(), r.from) == 0) {
          hit = &r;
          break;
        }
      }
    }
    if (hit != nullptr) {
      out += hit->to;
      i += hit->from.size();
    } else {
      out += value[i++];
    }
  }
  return out;
}

}  // namespace mailmig::config
