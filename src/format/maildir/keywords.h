// dovecot-keywords: which of the 26 keyword letters (a..z) of Maildir file
// names means which IMAP keyword, one "<index> <name>" line each (index 0 is
// letter 'a'). Read as Dovecot's maildir-keywords.c reads it, written as it
// writes it. Names match case-insensitively. Only IMAP atoms get a letter:
// an empty name, or one with a space, a control character, 8-bit bytes or an
// atom-special, is refused (it would break the line format or be a keyword
// Dovecot itself refuses). Rules: docs/maildir.md.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::maildir {

// What Dovecot's mailbox_keyword_is_valid() accepts: non-empty, no byte below
// 0x21 or above 0x7e, none of ( ) { % * " \ ].
bool valid_keyword(std::string_view name);

class Keywords {
 public:
  static constexpr std::size_t kMax = 26;  // Dovecot's MAILDIR_MAX_KEYWORDS

  // Lines without a space, with an index that is not a number below 26, with
  // an empty name or with a name already given (any case) are skipped, as
  // Dovecot skips them; CRs at the end of a line are dropped.
  static Keywords parse(std::string_view text);

  [[nodiscard]] std::optional<char> letter(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> name(char letter) const;
  // The keyword names of the letters in `mask` (bit i: letter 'a'+i), in
  // letter order; `unknown` is called for a letter the file does not name.
  [[nodiscard]] std::vector<std::string> names_of(std::uint32_t mask,
                                                  const std::function<void(char)>& unknown) const;

  enum class Refusal { None, InvalidName, Full };
  // The letter for `name`, giving it the first free one. nullopt when the
  // name is not valid_keyword() (`why` = InvalidName) or all 26 letters are
  // taken (Full).
  std::optional<char> assign(std::string_view name, Refusal* why = nullptr);
  [[nodiscard]] bool changed() const { return changed_; }
  void mark_saved() { changed_ = false; }

  // The file's text: "<index> <name>\n" for each assigned letter.
  [[nodiscard]] std::string format() const;

 private:
  std::array<std::string, kMax> names_;
  bool changed_ = false;
};

}  // namespace mailmig::maildir
