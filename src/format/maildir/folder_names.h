// Folder names in a Dovecot Maildir++ tree and its subscriptions file, read
// and written in one place.
//
// Folder "A/B" is the directory ".A.B" below the account's Maildir root; INBOX
// is the root itself, "INBOX/Sub" is ".INBOX.Sub" (mail_location =
// maildir:~/Maildir with the default LAYOUT=Maildir++). Each level is modified
// UTF-7, what Dovecot 2.3 writes by default: "Entwürfe" is ".Entw&APw-rfe".
// '.' separates levels and Dovecot refuses a '.' inside a level, so the writer
// puts '_' there and says so. Rules: docs/maildir.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::maildir {

struct FolderName {
  std::string neutral;    // as the IMAP server shows it ('/' separated, UTF-8), after renaming
  std::string directory;  // below the Maildir root; empty for INBOX
  bool altered = false;   // a level held '.' or NUL (or was empty) and was changed
};

// Neutral name ("Work/Projects") -> its place in the tree. "inbox" in any
// case is INBOX.
FolderName map_folder(std::string_view neutral);

struct DirectoryFolder {
  std::string name;  // '/'-separated, UTF-8, leading "inbox" in any case as "INBOX"
  bool raw = false;  // a level is not valid modified UTF-7 and is kept undecoded
};
// ".A.B" -> "A/B"; nullopt for entries that are not Maildir++ folders: no
// leading '.', "." or "..", or an empty level ("..A", ".A.", "A..B").
std::optional<DirectoryFolder> folder_of_directory(std::string_view directory);

// The subscriptions file. Read: version 2 ("V\t2" header, levels separated by
// TAB, "\xx" escapes) and the older one name per line with '.' between levels;
// levels in modified UTF-7 are decoded, others kept; "\r\n" accepted; empty
// lines skipped. Written: version 2 as Dovecot 2.3 writes it ("V\t2\n\n", then
// one name per line, levels in modified UTF-7, '\\', TAB, CR and LF escaped).
std::vector<std::string> parse_subscriptions(std::string_view text);  // -> neutral names, in file order
std::string format_subscriptions(const std::vector<std::string>& neutral_names);

}  // namespace mailmig::maildir
