// The attribute:value list of imsdirmig -A and --set: "a:v;a:v", where ";"
// separates pairs and "\;" is a literal semicolon inside a value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailmig::directory {

struct SetPair {
  std::string attribute;
  std::string value;
  bool operator==(const SetPair&) const = default;
};

// Throws std::invalid_argument naming the bad pair.
std::vector<SetPair> parse_set_spec(std::string_view text);

}  // namespace mailmig::directory
