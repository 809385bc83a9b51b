#include "config/config_file.h"

#include <algorithm>
#include <set>

#include "core/ascii.h"

namespace mailmig::config {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// Trailing spaces and tabs are not part of a value (the daemons trim them).
std::size_t trim_end(std::string_view s, std::size_t begin, std::size_t end) {
  while (end > begin && is_space(s[end - 1])) --end;
  return end;
}

// Parses `key = value` starting at `from`; fills the spans; false when the
// text there is not a directive.
bool parse_assignment(std::string_view text, std::size_t from, ConfigLine& line) {
  std::size_t i = skip_space(text, from);
  std::size_t key_begin = i;
  while (i < text.size() && is_key_char(text[i])) ++i;
  std::size_t key_end = i;
  if (key_end == key_begin) return false;
  i = skip_space(text, i);
  if (i >= text.size() || text[i] != '=') return false;
  std::size_t value_begin = skip_space(text, i + 1);
  std::size_t value_end = trim_end(text, value_begin, text.size());
  line.key_begin = key_begin;
  line.key_end = key_end;
  line.value_begin = value_begin;
  line.value_end = value_end;
  line.key = std::string(text.substr(key_begin, key_end - key_begin));
  line.value = std::string(text.substr(value_begin, value_end - value_begin));
  return true;
}

}  // namespace

ConfigLine parse_line(std::string_view text) {
  ConfigLine line;
  line.text = std::string(text);
  std::size_t first = skip_space(text, 0);
  if (first == text.size()) {
    line.kind = LineKind::Blank;
  } else if (text[first] == '#') {
    // "#key = value" and "# key = value" are documented defaults; prose is not
    // (a key cannot contain spaces, so "# see also: a = b" stays a comment).
    line.kind = parse_assignment(text, first + 1, line) ? LineKind::CommentedDirective : LineKind::Comment;
  } else if (text[first] == '!') {
    std::size_t i = first;
    while (i < text.size() && !is_space(text[i])) ++i;
    line.kind = LineKind::Include;
    line.key = std::string(text.substr(first, i - first));
    line.key_begin = first;
    line.key_end = i;
    line.value_begin = skip_space(text, i);
    line.value_end = trim_end(text, line.value_begin, text.size());
    line.value = std::string(text.substr(line.value_begin, line.value_end - line.value_begin));
  } else if (parse_assignment(text, first, line)) {
    line.kind = LineKind::Directive;
  } else {
    line.kind = LineKind::Other;
  }
  return line;
}

ConfigFile ConfigFile::parse(std::string_view text) {
  ConfigFile file;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view body;
    std::string eol;
    if (nl == std::string_view::npos) {
      body = text.substr(pos);
      pos = text.size();
    } else {
      body = text.substr(pos, nl - pos);
      eol = "\n";
      pos = nl + 1;
      if (!body.empty() && body.back() == '\r') {
        body.remove_suffix(1);
        eol = "\r\n";
      }
    }
    ConfigLine line = parse_line(body);
    line.eol = std::move(eol);
    file.lines_.push_back(std::move(line));
  }
  return file;
}

std::string ConfigFile::serialize() const {
  std::string out;
  for (const auto& line : lines_) {
    out += line.text;
    out += line.eol;
  }
  return out;
}

std::optional<std::size_t> ConfigFile::line_number(std::string_view key) const {
  for (std::size_t i = lines_.size(); i-- > 0;) {
    if (lines_[i].kind == LineKind::Directive && lines_[i].key == key) return i + 1;
  }
  return std::nullopt;
}

std::optional<std::string> ConfigFile::value(std::string_view key) const {
  auto n = line_number(key);
  if (!n) return std::nullopt;
  return lines_[*n - 1].value;
}

std::optional<std::string> ConfigFile::commented_default(std::string_view key) const {
  for (std::size_t i = lines_.size(); i-- > 0;) {
    if (lines_[i].kind == LineKind::CommentedDirective && lines_[i].key == key) return lines_[i].value;
  }
  return std::nullopt;
}

std::optional<std::string> ConfigFile::effective(std::string_view key) const {
  if (auto v = value(key)) return v;
  return commented_default(key);
}

std::vector<std::string> ConfigFile::keys() const {
  std::vector<std::string> out;
  std::set<std::string, std::less<>> seen;
  for (const auto& line : lines_) {
    if (line.kind == LineKind::Directive && seen.insert(line.key).second) out.push_back(line.key);
  }
  return out;
}

namespace {

// Replaces the value span of `line` and re-parses it so the spans stay right.
void replace_value(ConfigLine& line, std::string_view value) {
  std::string text = line.text.substr(0, line.value_begin);
  // "key =" with nothing after the '=': keep a space between '=' and the value.
  if (!value.empty() && !text.empty() && text.back() == '=') text += ' ';
  text += value;
  text += line.text.substr(line.value_end);
  std::string eol = line.eol;
  line = parse_line(text);
  line.eol = std::move(eol);
}

ConfigLine make_line(const std::string& text) {
  ConfigLine line = parse_line(text);
  line.eol = "\n";
  return line;
}

}  // namespace

bool ConfigFile::set(std::string_view key, std::string_view value, std::string_view note) {
  if (auto n = line_number(key)) {
    ConfigLine& line = lines_[*n - 1];
    if (line.value == value) return false;
    replace_value(line, value);
    return true;
  }
  for (std::size_t i = lines_.size(); i-- > 0;) {
    ConfigLine& line = lines_[i];
    if (line.kind != LineKind::CommentedDirective || line.key != key) continue;
    // Un-comment: drop the '#' and the blanks after it, keep the rest of the line's layout.
    std::size_t hash = line.text.find('#');
    std::string eol = line.eol;
    std::string text = line.text.substr(0, hash) + line.text.substr(line.key_begin);
    line = parse_line(text);
    line.eol = std::move(eol);
    replace_value(line, value);
    return true;
  }
  if (!lines_.empty() && lines_.back().eol.empty()) lines_.back().eol = "\n";
  if (!lines_.empty() && lines_.back().kind != LineKind::Blank) lines_.push_back(make_line(""));
  if (!note.empty()) lines_.push_back(make_line("# " + std::string(note)));
  lines_.push_back(make_line(std::string(key) + " = " + std::string(value)));
  return true;
}

int ConfigFile::rename(std::string_view from, std::string_view to) {
  int count = 0;
  for (auto& line : lines_) {
    if (line.kind != LineKind::Directive || line.key != from) continue;
    std::string eol = line.eol;
    std::string text = line.text.substr(0, line.key_begin) + std::string(to) + line.text.substr(line.key_end);
    line = parse_line(text);
    line.eol = std::move(eol);
    ++count;
  }
  return count;
}

int ConfigFile::comment_out(std::string_view key, std::string_view note) {
  int count = 0;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].kind != LineKind::Directive || lines_[i].key != key) continue;
    std::string eol = lines_[i].eol.empty() ? "\n" : lines_[i].eol;
    ConfigLine commented = parse_line("#" + lines_[i].text);
    commented.eol = eol;
    lines_[i] = std::move(commented);
    if (!note.empty()) {
      ConfigLine comment = parse_line("# " + std::string(note));
      comment.eol = eol;
      lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(i), std::move(comment));
      ++i;
    }
    ++count;
  }
  return count;
}

int ConfigFile::rewrite_values(
    const std::function<std::string(const std::string& key, const std::string& value)>& rewrite) {
  int count = 0;
  for (auto& line : lines_) {
    if (line.kind != LineKind::Directive && line.kind != LineKind::Include) continue;
    std::string updated = rewrite(line.key, line.value);
    if (updated == line.value) continue;
    replace_value(line, updated);
    ++count;
  }
  return count;
}

bool is_secret_key(std::string_view key) {
  const std::string lower = ascii_lower(key);
  // mysql_password, sslkey_pass, ldap_bind_passwd; not ldap_password_attribute (an attribute name).
  return lower.ends_with("pass") || lower.ends_with("passwd") || lower.ends_with("password") ||
         lower.find("secret") != std::string::npos;
}

std::string mask_secrets(std::string_view text) {
  // Commented-out directives too: "#mysql_password = old-secret" is a secret all the same.
  std::string out;
  out.reserve(text.size());
  const ConfigFile file = ConfigFile::parse(text);
  for (const ConfigLine& line : file.lines()) {
    const bool directive = line.kind == LineKind::Directive || line.kind == LineKind::CommentedDirective;
    if (directive && is_secret_key(line.key) && !line.value.empty()) {
      out += line.text.substr(0, line.value_begin);
      out += "********";
      out += line.text.substr(line.value_end);
    } else {
      out += line.text;
    }
    out += line.eol;
  }
  return out;
}

}  // namespace mailmig::config
