#include "target/maildir/names.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "format/mutf7.h"

namespace mailmig::maildir {

namespace {

bool is_inbox(const std::string& name) {
  return name.size() == 5 && std::equal(name.begin(), name.end(), "INBOX", [](char a, char b) {
           return (a >= 'a' && a <= 'z' ? static_cast<char>(a - 'a' + 'A') : a) == b;
         });
}

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

std::string encode_component(const std::string& utf8) {
  // Names come from a source that decoded them; invalid UTF-8 is kept as is
  // rather than dropped (Dovecot shows such a directory name raw).
  return mutf7_encode(utf8).value_or(utf8);
}

std::string decode_component(const std::string& utf7) {
  return mutf7_decode(utf7).value_or(utf7);
}

// Dovecot's subscription-file escaping of the few bytes its line format cannot hold.
std::string escape_subscription(const std::string& name) {
  std::string out;
  for (const char c : name) {
    if (c == '\\' || c == '\t' || c == '\r' || c == '\n')
      out += fmt::format("\\{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

std::string unescape_subscription(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0 &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
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

FolderName map_folder(const std::string& neutral) {
  FolderName name;
  std::vector<std::string> parts = split(neutral, '/');
  if (is_inbox(parts.front())) parts.front() = "INBOX";
  if (parts.size() == 1 && parts.front() == "INBOX") {
    name.neutral = "INBOX";
    return name;
  }
  for (std::string& part : parts) {
    if (part.empty()) {
      part = "_";
      name.altered = true;
    }
    if (part.find('.') != std::string::npos) {
      std::replace(part.begin(), part.end(), '.', '_');
      name.altered = true;
    }
    // A NUL would end the path early in every system call (an invalid UTF-8
    // name keeps its raw bytes; valid UTF-8 encodes NUL in mUTF-7 anyway).
    if (part.find('\0') != std::string::npos) {
      std::replace(part.begin(), part.end(), '\0', '_');
      name.altered = true;
    }
    if (!name.neutral.empty()) name.neutral += '/';
    name.neutral += part;
    name.directory += '.';
    name.directory += encode_component(part);
  }
  return name;
}

std::optional<std::string> folder_of_directory(const std::string& directory) {
  if (directory.size() < 2 || directory.front() != '.' || directory == "..") return std::nullopt;
  std::string neutral;
  for (const std::string& part : split(directory.substr(1), '.')) {
    if (part.empty()) return std::nullopt;  // "..x", ".x." : not something Dovecot creates
    if (!neutral.empty()) neutral += '/';
    neutral += decode_component(part);
  }
  return neutral;
}

std::vector<std::string> parse_subscriptions(const std::string& text) {
  std::vector<std::string> lines = split(text, '\n');
  std::size_t first = 0;
  bool version2 = false;
  if (!lines.empty() && lines.front() == "V\t2") {
    version2 = true;
    first = 2;  // the header and the empty line after it
  }
  std::vector<std::string> out;
  for (std::size_t i = first; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    // Version 1 (Dovecot before 2.2.?) wrote storage names: '.' separated.
    std::string neutral;
    for (const std::string& part : split(line, version2 ? '\t' : '.')) {
      if (!neutral.empty()) neutral += '/';
      neutral += decode_component(version2 ? unescape_subscription(part) : part);
    }
    out.push_back(is_inbox(neutral) ? std::string("INBOX") : neutral);
  }
  return out;
}

std::string format_subscriptions(const std::vector<std::string>& neutral_names) {
  std::string out = "V\t2\n\n";
  for (const std::string& neutral : neutral_names) {
    std::string line;
    for (const std::string& part : split(neutral, '/')) {
      if (!line.empty()) line += '\t';
      line += escape_subscription(encode_component(part));
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace mailmig::maildir
