#include "imap/command.h"

namespace mailmig::imap {

namespace {
bool is_atom_special(unsigned char c) {
  // RFC 3501 atom-specials (and resp-specials ']'), plus CTL and 8-bit.
  return c <= 0x20 || c >= 0x7F || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
         c == '\\' || c == ']';
}
}  // namespace

bool is_atom_safe(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (is_atom_special(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool is_quotable(std::string_view text, bool utf8_ok) {
  if (text.size() > 1000) return false;  // long values go as literals
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n' || c == 0) return false;
    if (c >= 0x80 && !utf8_ok) return false;
  }
  return true;
}

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

Command& Command::atom(std::string_view text) {
  parts_.back().text += ' ';
  parts_.back().text += text;
  return *this;
}

Command& Command::secret_atom(std::string_view text) {
  parts_.back().text += ' ';
  parts_.push_back(Part{std::string(text), true});
  parts_.push_back(Part{});
  return *this;
}

Command& Command::astring(std::string_view text, bool utf8_ok, bool secret) {
  if (is_atom_safe(text) && !secret) return atom(text);
  return string(text, utf8_ok, secret);
}

Command& Command::string(std::string_view text, bool utf8_ok, bool secret) {
  if (is_quotable(text, utf8_ok)) {
    if (!secret) return atom(quote(text));
    return secret_atom(quote(text));  // a part of its own, so the tracer redacts exactly it
  }
  add_literal(Literal{.size = text.size(), .data = std::string(text), .secret = secret});
  return *this;
}

Command& Command::literal(std::uint64_t size, std::function<std::unique_ptr<ByteReader>()> open) {
  add_literal(Literal{.size = size, .open = std::move(open)});
  return *this;
}

void Command::add_literal(Literal literal) {
  parts_.back().text += ' ';
  parts_.back().literal = std::move(literal);
  parts_.push_back(Part{});
}

}  // namespace mailmig::imap
