#include "format/maildir/keywords.h"

#include <fmt/format.h>
#include <strings.h>

#include <charconv>

namespace mailmig::maildir {

bool valid_keyword(std::string_view name) {
  if (name.empty()) return false;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) return false;
    if (std::string_view("(){%*\"\\]").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

Keywords Keywords::parse(std::string_view text) {
  Keywords k;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // Dovecot drops one CR; we drop them all, so no name ends in CR: such a
    // name would not survive our own rewrite ("x\r\r" is read back as "x\r").
    while (line.ends_with('\r')) line.remove_suffix(1);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space + 1 == line.size()) continue;
    std::size_t index = 0;
    const auto [ptr, ec] = std::from_chars(line.data(), line.data() + space, index);
    if (space == 0 || ec != std::errc() || ptr != line.data() + space || index >= kMax) continue;
    const std::string_view name = line.substr(space + 1);
    if (k.letter(name)) continue;  // Dovecot keeps the first line of a name
    k.names_.at(index) = std::string(name);
  }
  return k;
}

std::optional<char> Keywords::letter(std::string_view name) const {
  const std::string wanted(name);
  for (std::size_t i = 0; i < kMax; ++i) {
    if (!names_.at(i).empty() && ::strcasecmp(names_.at(i).c_str(), wanted.c_str()) == 0) {
      return static_cast<char>('a' + i);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Keywords::name(char letter) const {
  if (letter < 'a' || letter > 'z') return std::nullopt;
  const std::string& n = names_.at(static_cast<std::size_t>(letter - 'a'));
  if (n.empty()) return std::nullopt;
  return n;
}

std::vector<std::string> Keywords::names_of(std::uint32_t mask,
                                            const std::function<void(char)>& unknown) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kMax; ++i) {
    if ((mask & (1U << i)) == 0) continue;
    if (names_.at(i).empty()) {
      if (unknown) unknown(static_cast<char>('a' + i));
      continue;
    }
    out.push_back(names_.at(i));
  }
  return out;
}

std::optional<char> Keywords::assign(std::string_view name, Refusal* why) {
  if (why != nullptr) *why = Refusal::None;
  if (!valid_keyword(name)) {
    if (why != nullptr) *why = Refusal::InvalidName;
    return std::nullopt;
  }
  if (auto l = letter(name)) return l;
  for (std::size_t i = 0; i < kMax; ++i) {
    if (names_.at(i).empty()) {
      names_.at(i) = std::string(name);
      changed_ = true;
      return static_cast<char>('a' + i);
    }
  }
  if (why != nullptr) *why = Refusal::Full;
  return std::nullopt;
}

std::string Keywords::format() const {
  std::string out;
  for (std::size_t i = 0; i < kMax; ++i) {
    if (!names_.at(i).empty()) out += fmt::format("{} {}\n", i, names_.at(i));
  }
  return out;
}

}  // namespace mailmig::maildir
