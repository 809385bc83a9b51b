// Names in a Dovecot 2.3 Maildir++ tree: the per-account path pattern, folder
// directory names and the subscriptions file.
//
// Folder "A/B" is the directory ".A.B" below the account's Maildir root; INBOX
// is the root itself, "INBOX/Sub" is ".INBOX.Sub" (Dovecot's own layout for
// mail_location = maildir:~/Maildir with the default LAYOUT=Maildir++).
// Components are stored in modified UTF-7, which is what Dovecot 2.3 writes
// and reads by default (the UTF-8 option of mail_location is off by default):
// "Entwürfe" is ".Entw&APw-rfe". '.' is the storage hierarchy separator, and
// Dovecot refuses a '.' inside a name component with its default settings
// ("Character not allowed in mailbox name"), so such a component gets '_'
// instead, reported through the folder's rename note.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mailmig::maildir {

// Expands the path pattern: %d domain, %n local part, %u local@domain, %% '%'.
// Throws std::invalid_argument when the result would leave the root (a name
// with '/', "." or ".." as a path component) or holds a NUL.
std::string expand_path_pattern(const std::string& pattern, const std::string& account,
                                const std::string& domain);

struct FolderName {
  std::string neutral;    // as the IMAP server shows it ('/' separated, UTF-8), after renaming
  std::string directory;  // below the Maildir root; empty for INBOX
  bool altered = false;   // a component held '.' (or was empty) and was changed
};

// Neutral name ("Work/Projects") -> its place in the tree.
FolderName map_folder(const std::string& neutral);
// ".A.B" -> "A/B"; nullopt for entries that are not Maildir++ folders.
// A component that is not valid modified UTF-7 is returned undecoded.
std::optional<std::string> folder_of_directory(const std::string& directory);

// The subscriptions file (Dovecot 2.3 format version 2: "V\t2\n\n", then one
// name per line, components in modified UTF-7 separated by TAB).
std::vector<std::string> parse_subscriptions(const std::string& text);  // -> neutral names
std::string format_subscriptions(const std::vector<std::string>& neutral_names);

}  // namespace mailmig::maildir
