// mailmig's one case rule: ASCII letters A-Z/a-z fold, every other byte (UTF-8
// included) stays as it is, and the locale is never consulted. IMAP atoms,
// LDAP attribute names, Maildir flags, domain names, settings keys and folder
// keys all fold this way, so the same name compares the same everywhere.
// (--lowercase of folder names, which must fold non-ASCII letters too, uses
// ICU in engine/naming.cpp on top of this.)
#pragma once

#include <string>
#include <string_view>

namespace mailmig {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace mailmig
