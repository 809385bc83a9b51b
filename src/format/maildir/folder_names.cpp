#include "format/maildir/folder_names.h"

#include <fmt/format.h>

#include <algorithm>

#include "format/mutf7.h"

namespace mailmig::maildir {
namespace {

bool is_inbox(std::string_view name) {
  return name.size() == 5 && std::equal(name.begin(), name.end(), "INBOX", [](char a, char b) {
           return (a >= 'a' && a <= 'z' ? static_cast<char>(a - 'a' + 'A') : a) == b;
         });
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    parts.emplace_back(
        text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// "inbox/x" -> "INBOX/x": Dovecot's INBOX is case-insensitive.
std::string join_levels(std::vector<std::string> parts) {
  if (!parts.empty() && is_inbox(parts.front())) parts.front() = "INBOX";
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "/") + part;
  return out;
}

// Invalid UTF-8 (names from a source that could not decode them) is kept as
// is rather than dropped: Dovecot shows such a directory name raw.
std::string encode_level(const std::string& utf8) {
  return mutf7_encode(utf8).value_or(utf8);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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

std::string unescape_subscription(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

FolderName map_folder(std::string_view neutral) {
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
    name.directory += encode_level(part);
  }
  return name;
}

std::optional<DirectoryFolder> folder_of_directory(std::string_view directory) {
  if (directory.size() < 2 || directory.front() != '.' || directory == "..") return std::nullopt;
  DirectoryFolder out;
  std::vector<std::string> parts = split(directory.substr(1), '.');
  for (std::string& part : parts) {
    if (part.empty()) return std::nullopt;  // not something Dovecot creates
    if (auto decoded = mutf7_decode(part); decoded && !decoded->empty()) {
      part = std::move(*decoded);
    } else {
      out.raw = true;
    }
  }
  out.name = join_levels(std::move(parts));
  return out;
}

std::vector<std::string> parse_subscriptions(std::string_view text) {
  std::vector<std::string> lines = split(text, '\n');
  const bool version2 = !lines.empty() && lines.front().starts_with("V\t");
  std::vector<std::string> out;
  for (std::size_t i = version2 ? 1 : 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    // Version 1 (Dovecot before 2.2) wrote storage names: '.' separated.
    std::vector<std::string> parts = split(line, version2 ? '\t' : '.');
    for (std::string& part : parts) {
      if (version2) part = unescape_subscription(part);
      if (auto decoded = mutf7_decode(part)) part = std::move(*decoded);
    }
    out.push_back(join_levels(std::move(parts)));
  }
  return out;
}

std::string format_subscriptions(const std::vector<std::string>& neutral_names) {
  std::string out = "V\t2\n\n";
  for (const std::string& neutral : neutral_names) {
    std::string line;
    for (const std::string& part : split(neutral, '/')) {
      if (!line.empty()) line += '\t';
      line += escape_subscription(encode_level(part));
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace mailmig::maildir
