#include "directory/rules.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/rule_text.h"
#include "directory/embedded_rules.h"
#include "directory/entry.h"

namespace mailmig::directory {

namespace {

NamePattern parse_pattern(const std::string& word) {
  if (word.size() > 1 && word.back() == '*' && word.find('*') == word.size() - 1) {
    return {NamePattern::Kind::Prefix, word.substr(0, word.size() - 1)};
  }
  if (word.size() > 1 && word.front() == '*' && word.rfind('*') == 0)
    return {NamePattern::Kind::Suffix, word.substr(1)};
  if (word.find('*') != std::string::npos || word.empty()) {
    throw std::invalid_argument(fmt::format("\"{}\": a name, prefix* or *suffix", word));
  }
  return {NamePattern::Kind::Exact, word};
}

Rename parse_rename(const std::string& from, const std::string& to) {
  Rename rename{parse_pattern(from), to};
  if (rename.from.kind == NamePattern::Kind::Suffix)
    throw std::invalid_argument("a rename takes a name or a prefix*");
  const bool to_prefix = !to.empty() && to.back() == '*';
  if (to_prefix != (rename.from.kind == NamePattern::Kind::Prefix) ||
      to.find('*') != (to_prefix ? to.size() - 1 : std::string::npos)) {
    throw std::invalid_argument(
        fmt::format("\"{} {}\": a prefix* is renamed to a prefix*, a name to a name", from, to));
  }
  if (to_prefix) rename.to.pop_back();
  if (rename.to.empty() && !to_prefix) throw std::invalid_argument("empty new name");
  return rename;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ascii_iequals(text.substr(0, prefix.size()), prefix);
}

}  // namespace

bool NamePattern::matches(std::string_view name) const {
  switch (kind) {
    case Kind::Exact:
      return ascii_iequals(name, text);
    case Kind::Prefix:
      return istarts_with(name, text);
    case Kind::Suffix:
      return name.size() >= text.size() && ascii_iequals(name.substr(name.size() - text.size()), text);
  }
  return false;
}

std::optional<std::string> Rename::apply(std::string_view name) const {
  if (!from.matches(name)) return std::nullopt;
  if (from.kind == NamePattern::Kind::Prefix) {
    // "old* *" strips a prefix; the bare prefix itself would become a type
    // without a name, so that rename does not apply to it.
    std::string renamed = to + std::string(name.substr(from.text.size()));
    if (renamed.empty()) return std::nullopt;
    return renamed;
  }
  return to;
}

std::optional<std::string> RuleSet::renamed_attribute(std::string_view name) const {
  for (const Rename& rename : attribute_renames) {
    if (auto out = rename.apply(name)) return out;
  }
  return std::nullopt;
}

std::optional<std::string> RuleSet::renamed_class(std::string_view name) const {
  for (const Rename& rename : class_renames) {
    if (auto out = rename.apply(name)) return out;
  }
  return std::nullopt;
}

bool RuleSet::drops_attribute(std::string_view name) const {
  for (const NamePattern& pattern : drops) {
    if (pattern.matches(name)) return true;
  }
  return false;
}

std::string RuleSet::rewrite_value(std::string_view old_name, std::string_view new_name,
                                   std::string value) const {
  for (const ValueRewrite& rewrite : value_rewrites) {
    if (!rewrite.attribute.matches(old_name) && !rewrite.attribute.matches(new_name)) continue;
    for (std::size_t at = value.find(rewrite.from); at != std::string::npos;
         at = value.find(rewrite.from, at + rewrite.to.size())) {
      value.replace(at, rewrite.from.size(), rewrite.to);
    }
  }
  return value;
}

std::vector<std::string> split_rule_words(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    std::string word;
    if (line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < line.size() && (line[i] == '"' || line[i] == '\\')) {
          word.push_back(line[i++]);
        } else {
          word.push_back(c);
        }
      }
      if (!closed) throw std::invalid_argument("unclosed \"");
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') word.push_back(line[i++]);
    }
    words.push_back(std::move(word));
  }
  return words;
}

RuleSet parse_rules(std::string_view text, const std::string& origin) {
  RuleSet rules;
  rules.origin = origin;
  std::istringstream in{std::string(text)};
  std::string line;
  unsigned long lineno = 0;
  ScopeUpgrade* scope = nullptr;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    try {
      if (line[start] == '[') {
        const auto end = line.find(']', start);
        const std::string name =
            end == std::string::npos ? "" : ascii_lower(line.substr(start + 1, end - start - 1));
        if (name != "users" && name != "groups" && name != "domains") {
          throw std::invalid_argument("a section is [users], [groups] or [domains]");
        }
        scope = &rules.scopes[name];
        continue;
      }
      const std::vector<std::string> words = split_rule_words(line);
      const std::string& verb = words.front();
      auto need = [&](std::size_t count, const char* usage) {
        if (words.size() != count) throw std::invalid_argument(fmt::format("usage: {}", usage));
      };
      auto need_scope = [&]() -> ScopeUpgrade& {
        if (scope == nullptr)
          throw std::invalid_argument(
              fmt::format("{} belongs in a [users], [groups] or [domains] section", verb));
        return *scope;
      };
      if (verb == "rename-attribute") {
        need(3, "rename-attribute OLD NEW (or OLDPREFIX* NEWPREFIX*)");
        rules.attribute_renames.push_back(parse_rename(words[1], words[2]));
      } else if (verb == "rename-class") {
        need(3, "rename-class OLD NEW (or OLDPREFIX* NEWPREFIX*)");
        rules.class_renames.push_back(parse_rename(words[1], words[2]));
      } else if (verb == "rewrite-value") {
        need(4, "rewrite-value ATTRIBUTE-PATTERN OLD-TEXT NEW-TEXT");
        if (words[2].empty()) throw std::invalid_argument("rewrite-value: the old text is empty");
        rules.value_rewrites.push_back(ValueRewrite{parse_pattern(words[1]), words[2], words[3]});
      } else if (verb == "drop-attribute") {
        need(2, "drop-attribute ATTRIBUTE-PATTERN");
        rules.drops.push_back(parse_pattern(words[1]));
      } else if (verb == "add-class") {
        if (words.size() < 2) throw std::invalid_argument("usage: add-class CLASS...");
        auto& target = need_scope().add_classes;
        target.insert(target.end(), words.begin() + 1, words.end());
      } else if (verb == "map-attribute") {
        need(3, "map-attribute OLD NEW");
        need_scope().map_attributes.emplace_back(words[1], words[2]);
      } else if (verb == "unmapped-attribute") {
        need(3, "unmapped-attribute NAME \"why\"");
        need_scope().unmapped.emplace_back(words[1], words[2]);
      } else {
        throw std::invalid_argument(fmt::format("unknown rule \"{}\"", verb));
      }
    } catch (const std::invalid_argument& e) {
      throw RulesError(fmt::format("{}:{}: {}", origin, lineno, e.what()));
    }
  }
  return rules;
}

RuleSet load_rules(const std::string& name_or_file) {
  try {
    const RuleText rules = read_rule_text(name_or_file, embedded_rule_sets());
    return parse_rules(rules.text, rules.origin);
  } catch (const std::invalid_argument& e) {
    throw RulesError(e.what());
  }
}

}  // namespace mailmig::directory
