#include "target/maildir/path_pattern.h"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

namespace mailmig::maildir {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

std::string expand_path_pattern(const std::string& pattern, const std::string& account,
                                const std::string& domain) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    switch (pattern[++i]) {
      case 'd':
        out += domain;
        break;
      case 'n':
        out += account;
        break;
      case 'u':
        out += account;
        if (!domain.empty()) {
          out += '@';
          out += domain;
        }
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += pattern[i];
    }
  }
  // Account and domain names end up in paths we create as root: none of them
  // may walk out of the tree or hide in it.
  if (out.empty() || out.front() == '/' || out.find('\0') != std::string::npos) {
    throw std::invalid_argument(
        fmt::format("path pattern \"{}\" gives an unusable path \"{}\"", pattern, out));
  }
  for (const std::string& part : split(out, '/')) {
    if (part.empty() || part == "." || part == "..") {
      throw std::invalid_argument(
          fmt::format("path pattern \"{}\" gives \"{}\" for {}@{}: empty, \".\" or \"..\" path component",
                      pattern, out, account, domain));
    }
  }
  return out;
}

}  // namespace mailmig::maildir
