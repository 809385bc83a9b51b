// dovecot-keywords: which of the 26 keyword letters (a..z) of Maildir file
// names means which IMAP keyword, one "<index> <name>" line each (index 0 is
// 'a'). Dovecot matches names case-insensitively and changes the file only
// while holding the folder's dovecot-uidlist lock; it writes the new file to
// dovecot-keywords.lock and renames that into place, with an mtime that grows
// on every change (its cache is keyed on it). We do the same and keep every
// assignment the file already has: the letters in existing file names depend
// on them.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "target/maildir/files.h"

namespace mailmig::maildir {

class Keywords {
 public:
  static constexpr std::size_t kMax = 26;  // Dovecot's MAILDIR_MAX_KEYWORDS

  static Keywords parse(const std::string& text);
  // Reads the folder's file (none: no keywords yet).
  static Keywords load(const std::string& folder_dir);

  [[nodiscard]] std::optional<char> letter(const std::string& name) const;
  [[nodiscard]] std::optional<std::string> name(char letter) const;
  // The letter for `name`, giving it the first free one; nullopt when all 26 are taken.
  std::optional<char> assign(const std::string& name);
  [[nodiscard]] bool changed() const { return changed_; }

  [[nodiscard]] std::string format() const;
  // Writes the file as Dovecot does (call with the uidlist lock held).
  void save(const std::string& folder_dir, bool sync, const Owner& owner);

 private:
  std::array<std::string, kMax> names_;
  bool changed_ = false;
};

}  // namespace mailmig::maildir
