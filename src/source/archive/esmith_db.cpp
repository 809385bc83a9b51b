#include "source/archive/esmith_db.h"

#include <vector>

#include "core/text_fields.h"

namespace mailmig::archive {
namespace {

// Splits at '|' not preceded by a backslash, undoing "\|".
std::vector<std::string> split_fields(std::string_view text) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '|') {
      out.back() += '|';
      ++i;
    } else if (text[i] == '|') {
      out.emplace_back();
    } else {
      out.back() += text[i];
    }
  }
  return out;
}

}  // namespace

EsmithDb parse_esmith_db(std::string_view text) {
  EsmithDb db;
  for (const std::string_view line : text_lines(text)) {
    if (line.empty() || line.starts_with('#')) continue;
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos || equals == 0) continue;
    std::vector<std::string> fields = split_fields(line.substr(equals + 1));
    EsmithRecord record{.type = fields[0], .props = {}};
    for (std::size_t i = 1; i + 1 < fields.size(); i += 2) record.props[fields[i]] = fields[i + 1];
    db[std::string(line.substr(0, equals))] = std::move(record);
  }
  return db;
}

std::optional<std::string> esmith_value(const EsmithDb& db, const std::string& key) {
  auto it = db.find(key);
  if (it == db.end() || it->second.type.empty()) return std::nullopt;
  return it->second.type;
}

}  // namespace mailmig::archive
