// What one sequential pass over an archive's headers learns: every entry's
// name, type, size and date (no message data is read), plus the contents of
// the small metadata files (dovecot-uidlist, subscriptions, e-smith
// databases, CommuniGate settings) that say how to understand the rest.
// The layouts (layout_*.h) turn it into domains, accounts and folders.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/problem.h"
#include "source/archive/archive_reader.h"
#include "source/archive/esmith_accounts.h"
#include "source/source.h"

namespace mailmig::archive {

struct RawCatalogue {
  std::string archive;                       // the archive file as given (as shown in reports)
  std::string opened;                        // what readers open: the file, a directory, a stream's spool
  std::string format;                        // e.g. "gzip GNU tar format"
  std::vector<EntryHeader> entries;          // archive order; entries[i].ordinal == i
  std::map<std::string, std::string> texts;  // metadata file path -> contents
  std::vector<Problem> problems;             // damage met on the way
};

// True for the paths whose contents the pass keeps.
bool is_metadata_path(std::string_view path);

// Reads the whole archive once, headers only. Damage is reported in
// `problems` (archive, entry name, offset) and the pass goes on where
// libarchive can. Throws ArchiveError when the file is no readable archive.
// `shown` names it in reports (default: `archive`). In a directory, symbolic
// links that lead outside it are logged (and, like every link, not followed).
RawCatalogue read_catalogue(const std::string& archive, const std::string& shown = {});

// One message entry of a folder.
struct MessageEntry {
  std::uint64_t ordinal = 0;
  std::string path;  // entry name in the archive
  std::string name;  // Maildir: "cur/<file>" or "new/<file>"; CommuniGate: the file name
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
};

struct CatalogueFolder {
  FolderInfo info;                    // location: "<archive>!/<directory or file>"
  std::vector<MessageEntry> entries;  // archive order
  std::string uidlist;                // Maildir: dovecot-uidlist text (empty: none)
  std::string keywords;               // Maildir: dovecot-keywords text
  std::string uidlist_path;
  std::uint64_t first_ordinal = UINT64_MAX;  // of any entry of the folder: folders() follows archive order
};

// Archive order (first entry), INBOX first, every parent before its children;
// missing parents of "A/B" are added as directory-only folders at `location`.
void order_folders(std::vector<CatalogueFolder>& folders, const std::string& location);

struct CatalogueAccount {
  AccountInfo info;
  std::vector<CatalogueFolder> folders;  // parents before children, INBOX first
  std::vector<Problem> problems;         // reported by Account::folders()
};

// Where messages live, which decides how a folder is read.
enum class Layout : std::uint8_t { Auto, Sme, Maildir, Cgp };
const char* layout_name(Layout layout);

struct Catalogue {
  std::string archive;  // as shown
  std::string opened;   // what readers open
  Layout layout = Layout::Auto;
  std::string description;  // how the archive was understood, one line
  std::vector<DomainInfo> domains;
  std::vector<CatalogueAccount> accounts;  // by domain, then name
  std::vector<Problem> problems;           // reported by Source::domains()
  EsmithAliases aliases;                   // SME Server: groups and pseudonyms
};

// "<archive>!/<entry>": how messages and folders inside an archive are named in reports.
std::string entry_location(const std::string& archive, const std::string& path);

}  // namespace mailmig::archive
