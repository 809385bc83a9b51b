// An IMAP command as the client builds it: text pieces and literals. Kept
// apart from the session so quoting rules (RFC 3501 astring/quoted/literal)
// live in one place and can be unit-tested without a server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_reader.h"

namespace mailmig::imap {

class Command {
 public:
  struct Literal {
    std::uint64_t size = 0;
    std::string data;                                   // small literals
    std::function<std::unique_ptr<ByteReader>()> open;  // streamed literals (message bodies)
    bool secret = false;                                // never traced
  };
  struct Part {
    std::string text;                // sent as is (after the tag for the first part)
    bool secret = false;             // text is a credential: traced as <redacted>
    std::optional<Literal> literal;  // follows `text`
  };

  explicit Command(std::string verb) { parts_.push_back(Part{std::move(verb)}); }

  // Appends " " + raw text (atoms, flag lists, sequence sets).
  Command& atom(std::string_view text);
  // Appends " " + raw text that is a credential (traced as <redacted>).
  Command& secret_atom(std::string_view text);
  // Appends " " + an astring: atom if safe, quoted string if printable, else a literal.
  // utf8_ok: the server accepted UTF8=ACCEPT, so 8-bit text may be quoted.
  Command& astring(std::string_view text, bool utf8_ok = false, bool secret = false);
  // Appends " " + a quoted string or literal (never an atom): for names that must not be misread.
  Command& string(std::string_view text, bool utf8_ok = false, bool secret = false);
  // Appends " " + a literal of `size` bytes produced by `open` (message bodies).
  Command& literal(std::uint64_t size, std::function<std::unique_ptr<ByteReader>()> open);

  [[nodiscard]] const std::vector<Part>& parts() const { return parts_; }
  // The command name, for messages ("APPEND", "LOGIN").
  [[nodiscard]] std::string verb() const {
    return parts_.front().text.substr(0, parts_.front().text.find(' '));
  }

 private:
  void add_literal(Literal literal);

  std::vector<Part> parts_;
};

// True when `text` can be sent as an IMAP atom (astring-char, non-empty).
bool is_atom_safe(std::string_view text);
// True when `text` can be sent as a quoted string (no CR, LF, NUL; 8-bit only if utf8_ok).
bool is_quotable(std::string_view text, bool utf8_ok);
// "\"...\"" with \ and " escaped.
std::string quote(std::string_view text);

}  // namespace mailmig::imap
