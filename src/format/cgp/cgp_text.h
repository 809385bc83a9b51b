// CommuniGate Pro "textual representation of objects" (CGP Guide, Data
// Formats): strings (atoms and quoted), data blocks [base64], arrays (...),
// dictionaries {key=value;...}, typed atoms (#123, #T..., #NULL#, #I[...])
// and comments. Used for account.settings, account.info and *.settings.
// The whole format knowledge lives here so it can be corrected in one place.
//
// Tolerances and inferences (the Guide excerpts we have are incomplete):
// - Atoms: besides ASCII letters/digits, . _ - @ ! / + : $ % * and bytes >= 0x80
//   are accepted unquoted (host names, e-mail addresses, UTF-8).
// - Comments: the Guide only says "a comment is treated as white space"; the
//   syntax is an INFERENCE: /* ... */ and // to end of line, recognised only
//   between tokens (so an atom like http://host is not cut).
// - Quoted strings: \e (system EOL) becomes "\n"; \nnn is exactly 3 decimal
//   digits, 1..255 (\000 is an error, strings never contain NUL); raw line
//   breaks inside quotes are kept.
// - Data blocks: white space inside is ignored; missing '=' padding is accepted.
// - Arrays may have a trailing comma; the last dictionary pair may lack ';'.
//   An unquoted dictionary key may start with '#' (e.g. #Viewer in
//   account.info) and is then kept literally, '#' included.
// - Typed atoms: #-?digits -> Number; #T<digit>... / #TPAST / #TFUTURE -> Date;
//   #NULL# -> Null; #I[addr] -> Ip "addr", #I[addr]:port -> Ip "[addr]:port"
//   (brackets kept when a port follows, so IPv6 stays unambiguous); any other
//   #atom (including #NULL without the closing '#') -> Typed.
// - A UTF-8 BOM is skipped; error columns count bytes after it. Nesting deeper
//   than 200 arrays/dictionaries is an error.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mailmig::cgp {

class Value;
using ArrayItems = std::vector<Value>;
using DictEntries = std::vector<std::pair<std::string, Value>>;  // file order kept

class Value {
 public:
  enum class Kind {
    String,  // atom or quoted string, unescaped (UTF-8 bytes)
    Data,    // [base64] data block, decoded bytes
    Array,
    Dictionary,
    Number,  // #123, #-5: text() holds the digits as written
    Date,    // #T01-01-2010_12:00:00 (also #TPAST / #TFUTURE): text() as written after #T
    Null,    // #NULL#
    Ip,      // #I[1.2.3.4] -> "1.2.3.4"; #I[1.2.3.4]:25 -> "[1.2.3.4]:25"
    Typed,   // any other #atom: text() holds it without '#'
  };

  Value();  // empty String
  static Value string(std::string s);
  static Value data(std::string bytes);
  static Value array(ArrayItems items);
  static Value dictionary(DictEntries items);
  static Value typed(Kind kind, std::string text);

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] bool is_string() const { return kind_ == Kind::String; }
  [[nodiscard]] bool is_array() const { return kind_ == Kind::Array; }
  [[nodiscard]] bool is_dictionary() const { return kind_ == Kind::Dictionary; }

  // String, Data and the typed kinds: the text/bytes. Empty for containers.
  [[nodiscard]] const std::string& text() const { return text_; }
  // Array items; empty for non-arrays.
  [[nodiscard]] const ArrayItems& items() const;
  // Dictionary entries in file order; empty for non-dictionaries.
  [[nodiscard]] const DictEntries& entries() const;
  // Dictionary lookup (exact key; the first match). nullptr when absent or not a dictionary.
  [[nodiscard]] const Value* find(std::string_view key) const;

 private:
  Kind kind_ = Kind::String;
  std::string text_;
  std::shared_ptr<const ArrayItems> array_;
  std::shared_ptr<const DictEntries> dict_;
};

// A syntax error with its 1-based position in the text.
class ParseError : public std::runtime_error {
 public:
  ParseError(std::uint32_t line, std::uint32_t column, const std::string& message);
  [[nodiscard]] std::uint32_t line() const { return line_; }
  [[nodiscard]] std::uint32_t column() const { return column_; }
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::uint32_t line_;
  std::uint32_t column_;
  std::string reason_;
};

// Parses one object (usually a dictionary) from the whole text; trailing
// whitespace/comments are allowed, anything else after the object is an error.
// Throws ParseError.
Value parse(std::string_view text);

}  // namespace mailmig::cgp
