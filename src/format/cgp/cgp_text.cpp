#include "format/cgp/cgp_text.h"

#include <cstddef>
#include <string>
#include <utility>

namespace mailmig::cgp {

Value::Value() = default;

Value Value::string(std::string s) {
  return typed(Kind::String, std::move(s));
}

Value Value::data(std::string bytes) {
  return typed(Kind::Data, std::move(bytes));
}

Value Value::array(ArrayItems items) {
  Value v;
  v.kind_ = Kind::Array;
  v.array_ = std::make_shared<const ArrayItems>(std::move(items));
  return v;
}

Value Value::dictionary(DictEntries items) {
  Value v;
  v.kind_ = Kind::Dictionary;
  v.dict_ = std::make_shared<const DictEntries>(std::move(items));
  return v;
}

Value Value::typed(Kind kind, std::string text) {
  Value v;
  v.kind_ = kind;
  v.text_ = std::move(text);
  return v;
}

const ArrayItems& Value::items() const {
  static const ArrayItems kEmpty;
  return kind_ == Kind::Array && array_ ? *array_ : kEmpty;
}

const DictEntries& Value::entries() const {
  static const DictEntries kEmpty;
  return kind_ == Kind::Dictionary && dict_ ? *dict_ : kEmpty;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : entries()) {
    if (k == key) return &v;
  }
  return nullptr;
}

ParseError::ParseError(std::uint32_t line, std::uint32_t column, const std::string& message)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         message),
      line_(line),
      column_(column),
      reason_(message) {}

namespace {

// Hostile or corrupt files must not be able to exhaust the stack.
constexpr int kMaxDepth = 200;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The Guide says atoms are ASCII letters and digits; real files also carry
// unquoted host names, e-mail addresses and the like, so accept a wider set
// (and raw UTF-8 bytes) as long as it cannot be confused with syntax.
bool is_atom_char(char c) {
  if (is_alnum(c) || static_cast<unsigned char>(c) >= 0x80) return true;
  return std::string_view("._-@!/+:$%*").find(c) != std::string_view::npos;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Printable form of a byte for error messages.
std::string describe(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Value parse_document() {
    skip_space();
    if (at_end()) fail(pos_, "empty text, expected an object");
    Value v = parse_value(0, "text");
    skip_space();
    if (!at_end()) fail(pos_, "trailing data after object: " + describe(text_[pos_]));
    return v;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;

  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }
  [[nodiscard]] char peek_at(std::size_t offset) const {
    return pos_ + offset < text_.size() ? text_[pos_ + offset] : '\0';
  }

  // Positions are computed only on failure, so the happy path is one pass.
  [[noreturn]] void fail(std::size_t offset, const std::string& message) const {
    std::uint32_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    throw ParseError(line, static_cast<std::uint32_t>(offset - line_start + 1), message);
  }

  // White space and comments. The Guide says "a comment is treated as a white
  // space" but the excerpt we have does not give the syntax; C-style block and
  // line comments are an inference. They are only recognised between tokens,
  // so an atom such as http://host stays intact.
  void skip_space() {
    while (!at_end()) {
      const char c = peek();
      if (is_space(c)) {
        ++pos_;
      } else if (c == '/' && peek_at(1) == '/') {
        while (!at_end() && peek() != '\n') ++pos_;
      } else if (c == '/' && peek_at(1) == '*') {
        const std::size_t start = pos_;
        const auto close = text_.find("*/", pos_ + 2);
        if (close == std::string_view::npos) fail(start, "unterminated comment");
        pos_ = close + 2;
      } else {
        return;
      }
    }
  }

  Value parse_value(int depth, const char* context) {
    if (at_end()) fail(pos_, std::string("unexpected end of text in ") + context + ", expected a value");
    const char c = peek();
    switch (c) {
      case '"':
        return Value::string(parse_quoted());
      case '[':
        return Value::data(parse_data());
      case '(':
        return parse_array(depth + 1);
      case '{':
        return parse_dictionary(depth + 1);
      case '#':
        return parse_typed();
      default:
        if (is_atom_char(c)) return Value::string(std::string(parse_atom()));
        fail(pos_, "unexpected " + describe(c) + " where a value was expected");
    }
  }

  std::string_view parse_atom() {
    const std::size_t start = pos_;
    while (!at_end() && is_atom_char(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string parse_quoted() {
    const std::size_t open = pos_++;
    std::string out;
    while (true) {
      // Copy the plain run in one go; raw newlines are kept (tolerance).
      const std::size_t stop = text_.find_first_of("\"\\", pos_);
      if (stop == std::string_view::npos) fail(open, "unterminated quoted string");
      out.append(text_.substr(pos_, stop - pos_));
      pos_ = stop;
      if (peek() == '"') {
        ++pos_;
        return out;
      }
      parse_escape(open, out);
    }
  }

  // At a backslash inside a quoted string that started at `open`.
  void parse_escape(std::size_t open, std::string& out) {
    const std::size_t backslash = pos_++;
    if (at_end()) fail(open, "unterminated quoted string");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case 'r':
        out += '\r';
        return;
      case 'n':
      case 'e':  // "system end-of-line"; normalised to LF
        out += '\n';
        return;
      case 't':
        out += '\t';
        return;
      default:
        break;
    }
    if (!is_digit(c)) {
      const auto u = static_cast<unsigned char>(c);
      fail(backslash, u > 0x20 && u < 0x7f ? std::string("invalid escape \\") + c
                                           : "invalid escape: '\\' followed by " + describe(c));
    }
    // \nnn: exactly three decimal digits.
    if (!is_digit(peek_at(0)) || !is_digit(peek_at(1))) {
      fail(backslash, "invalid escape: \\ followed by a digit needs exactly 3 decimal digits");
    }
    const int code = (c - '0') * 100 + (peek_at(0) - '0') * 10 + (peek_at(1) - '0');
    if (code == 0) fail(backslash, "escape \\000 (NUL) is not allowed in strings");
    if (code > 255) fail(backslash, "escape \\" + std::to_string(code) + " is out of range (max \\255)");
    pos_ += 2;
    out += static_cast<char>(code);
  }

  std::string parse_data() {
    const std::size_t open = pos_++;
    std::string out;
    std::uint32_t bits = 0;
    int nbits = 0;
    int digits = 0;   // base64 digits seen
    int padding = 0;  // '=' seen; only white space and more '=' may follow one
    while (true) {
      if (at_end()) fail(open, "unterminated data block");
      const char c = peek();
      if (c == ']') break;
      if (is_space(c)) {
        ++pos_;
        continue;
      }
      if (c == '=') {
        ++padding;
        ++pos_;
        continue;
      }
      const int v = base64_value(c);
      if (v < 0) fail(pos_, "invalid base64 character " + describe(c) + " in data block");
      if (padding > 0) fail(pos_, "base64 data after '=' padding in data block");
      ++digits;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        out += static_cast<char>((bits >> nbits) & 0xff);
        bits &= (1U << nbits) - 1;
      }
      ++pos_;
    }
    // Missing padding is tolerated; a lone trailing digit (6 bits) or padding
    // that does not match the length cannot come from an encoder.
    const int rest = digits % 4;
    if (rest == 1 || padding > 2 || (padding > 0 && rest + padding != 4)) {
      fail(open, "invalid base64 length in data block");
    }
    ++pos_;  // ']'
    return out;
  }

  void enter(int depth, std::size_t open) const {
    if (depth > kMaxDepth)
      fail(open, "nesting too deep (more than " + std::to_string(kMaxDepth) + " levels)");
  }

  Value parse_array(int depth) {
    const std::size_t open = pos_++;
    enter(depth, open);
    ArrayItems items;
    while (true) {
      skip_space();
      if (at_end()) fail(pos_, "unexpected end of text in array");
      if (peek() == ')') break;  // also covers "()" and a trailing comma
      items.push_back(parse_value(depth, "array"));
      skip_space();
      if (at_end()) fail(pos_, "unexpected end of text in array");
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail(pos_, "expected ',' or ')' in array, got " + describe(peek()));
      }
    }
    ++pos_;  // ')'
    return Value::array(std::move(items));
  }

  // Keys are strings. An unquoted key may also start with '#' (account.info
  // has keys like #Viewer); it is then taken literally, '#' included.
  std::string parse_key() {
    const char c = peek();
    if (c == '"') return parse_quoted();
    const std::size_t start = pos_;
    if (c == '#') ++pos_;
    parse_atom();
    if (c == '#' && pos_ == start + 1) fail(start, "expected a name after '#' in dictionary key");
    if (pos_ == start) fail(start, "expected dictionary key, got " + describe(c));
    return std::string(text_.substr(start, pos_ - start));
  }

  Value parse_dictionary(int depth) {
    const std::size_t open = pos_++;
    enter(depth, open);
    DictEntries entries;
    while (true) {
      skip_space();
      if (at_end()) fail(pos_, "unexpected end of text in dictionary");
      if (peek() == '}') break;
      std::string key = parse_key();
      skip_space();
      if (at_end()) fail(pos_, "unexpected end of text in dictionary");
      if (peek() != '=') fail(pos_, "expected '=' after dictionary key, got " + describe(peek()));
      ++pos_;
      skip_space();
      Value value = parse_value(depth, "dictionary");
      entries.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (at_end()) fail(pos_, "unexpected end of text in dictionary");
      if (peek() == ';') {
        ++pos_;
      } else if (peek() != '}') {  // a missing ';' before '}' is tolerated
        fail(pos_, "expected ';' after dictionary value, got " + describe(peek()));
      }
    }
    ++pos_;  // '}'
    return Value::dictionary(std::move(entries));
  }

  static bool is_number(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    if (s.empty()) return false;
    for (const char c : s) {
      if (!is_digit(c)) return false;
    }
    return true;
  }

  static bool is_ip_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':';
  }

  // #I[addr] -> "addr"; #I[addr]:port -> "[addr]:port" (brackets kept so an
  // IPv6 address stays unambiguous).
  Value parse_ip(std::size_t hash) {
    const std::size_t open = pos_++;  // '['
    while (!at_end() && is_ip_char(peek())) ++pos_;
    if (at_end() || peek() != ']' || pos_ == open + 1) {
      fail(at_end() ? hash : pos_, "malformed IP address, expected #I[address] or #I[address]:port");
    }
    const std::string_view addr = text_.substr(open + 1, pos_ - open - 1);
    ++pos_;  // ']'
    if (at_end() || peek() != ':') return Value::typed(Value::Kind::Ip, std::string(addr));
    const std::size_t port_start = ++pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    if (pos_ == port_start) fail(port_start, "expected port number after ':' in IP address");
    return Value::typed(Value::Kind::Ip, std::string(text_.substr(open, pos_ - open)));
  }

  Value parse_typed() {
    using Kind = Value::Kind;
    const std::size_t hash = pos_++;
    if (peek_at(0) == 'I' && peek_at(1) == '[') {
      ++pos_;
      return parse_ip(hash);
    }
    const std::string_view name = parse_atom();
    if (name.empty()) {
      fail(hash, "expected a type name after '#', got " +
                     (at_end() ? std::string("end of text") : describe(peek())));
    }
    if (name == "NULL" && !at_end() && peek() == '#') {
      ++pos_;
      return Value::typed(Kind::Null, {});
    }
    if (is_number(name)) return Value::typed(Kind::Number, std::string(name));
    if (name.size() > 1 && name.front() == 'T') {
      const std::string_view date = name.substr(1);
      if (is_digit(date.front()) || date == "PAST" || date == "FUTURE") {
        return Value::typed(Kind::Date, std::string(date));
      }
    }
    return Value::typed(Kind::Typed, std::string(name));
  }
};

}  // namespace

Value parse(std::string_view text) {
  // A UTF-8 BOM is skipped; positions are then counted from after it.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return Parser(text).parse_document();
}

}  // namespace mailmig::cgp
