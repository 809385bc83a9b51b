// The CommuniGate Pro store layout, by name (no I/O): what a directory entry
// is at each level. The `cgp:` source walks a store directory and the
// `archive:` source walks archive paths; both ask here. docs/cgp-store.md.
//
//   <base>/Settings/Main.settings           the main domain's name
//   <base>/Accounts/                         the main domain
//   <base>/Domains/<domain>/                 the other domains
//   <domain dir>/Settings/Domain.settings    the domain's aliases
//   <domain dir>/[<x>.sub/...]<name>.macnt/  an account (multi-mailbox)
//       account.settings, account.info       its settings, its subscriptions
//       [<f>.folder/...]<box>.mbox | .mdir/  its mailboxes; "f.folder" holds "f/..."
//   <domain dir>/<name>.mbox | .mdir         a legacy single-mailbox account
//       (with <name>.settings, <name>.info next to it)
// Folder names in the file names are modified UTF-7.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailmig::cgp {

// Nested *.sub directories deeper than this are a loop or garbage.
inline constexpr int kMaxSubdirDepth = 8;

inline constexpr std::string_view kAccountsDir = "Accounts";  // the main domain
inline constexpr std::string_view kDomainsDir = "Domains";    // one directory per other domain
inline constexpr std::string_view kMainSettings = "Settings/Main.settings";
inline constexpr std::string_view kDomainSettings = "Settings/Domain.settings";  // below a domain dir
inline constexpr std::string_view kAccountSettings = "account.settings";         // in a .macnt
inline constexpr std::string_view kAccountInfo = "account.info";                 // in a .macnt

// Domain names are case-insensitive: the directory name in lower case.
std::string domain_name(std::string_view directory);

// An entry of a domain directory (or of a *.sub directory below it).
struct DomainEntry {
  enum class Kind { Other, Account, SubDirectory, SingleMailbox };
  Kind kind = Kind::Other;
  std::string account;  // Account, SingleMailbox: the account name, lower case
  std::string stem;     // the name without its suffix, as stored
  bool mdir = false;    // SingleMailbox: .mdir (a directory) rather than .mbox (a file)
};
DomainEntry domain_entry(std::string_view name);
// The settings and info files next to a single-mailbox account's mailbox.
std::string single_mailbox_settings(const DomainEntry& entry);
std::string single_mailbox_info(const DomainEntry& entry);

// An entry inside an account (or inside a *.folder directory of it).
struct AccountEntry {
  enum class Kind { Other, Mbox, Mdir, FolderDirectory };
  Kind kind = Kind::Other;  // Other: account.settings, account.info and other service files
  std::string encoded;      // the folder level as stored (modified UTF-7)
};
AccountEntry account_entry(std::string_view name);

// The full folder name of a level below `parent` ("" at the top): decoded from
// modified UTF-7, or raw when it is not valid (`raw` set: the walkers report
// kUndecodedFolderName); a top-level "inbox" in any case is INBOX.
struct FolderLevel {
  std::string name;
  bool raw = false;
};
FolderLevel folder_level(std::string_view encoded, std::string_view parent);
inline constexpr std::string_view kUndecodedFolderName =
    "file name is not valid modified UTF-7; folder listed under its raw name";

}  // namespace mailmig::cgp
