#include "directory/set_spec.h"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

namespace mailmig::directory {

namespace {

// An attribute description: a name (letter, then letters, digits, "-") with ";options".
bool valid_attribute(std::string_view name) {
  if (name.empty() || std::isalpha(static_cast<unsigned char>(name.front())) == 0) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != ';') return false;
  }
  return true;
}

}  // namespace

std::vector<SetPair> parse_set_spec(std::string_view text) {
  // Split on unescaped ';' first; "\;" becomes ';', any other backslash stays.
  std::vector<std::string> pieces(1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == ';') {
      pieces.back().push_back(';');
      ++i;
    } else if (text[i] == ';') {
      pieces.emplace_back();
    } else {
      pieces.back().push_back(text[i]);
    }
  }
  std::vector<SetPair> out;
  for (const std::string& piece : pieces) {
    const auto colon = piece.find(':');
    if (colon == std::string::npos) {
      throw std::invalid_argument(
          fmt::format("\"{}\": expected attribute:value (pairs separated by \";\")", piece));
    }
    SetPair pair{piece.substr(0, colon), piece.substr(colon + 1)};
    if (!valid_attribute(pair.attribute)) {
      throw std::invalid_argument(
          fmt::format("\"{}\": \"{}\" is not an attribute name", piece, pair.attribute));
    }
    if (pair.value.empty()) throw std::invalid_argument(fmt::format("\"{}\": empty value", piece));
    out.push_back(std::move(pair));
  }
  return out;
}

}  // namespace mailmig::directory
