// What a Maildir folder's metadata files say: UIDs and UIDVALIDITY
// (dovecot-uidlist) and keyword names (dovecot-keywords). Courier's
// courierimapkeywords/ is detected and reported, not read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "format/maildir/keywords.h"
#include "format/maildir/uidlist.h"
#include "source/source.h"

namespace mailmig {
class FileTree;
}

namespace mailmig::maildir {

struct FolderMeta {
  std::optional<std::uint32_t> uidvalidity;
  std::unordered_map<std::string, std::uint32_t> uids;
  Keywords keywords;
};

// Problems: unreadable or malformed files, Courier keywords present.
// dovecot-uidlist lines Dovecot calls broken are skipped (those messages get
// new UIDs), reported once with their line numbers.
FolderMeta read_folder_meta(FileTree& tree, const std::string& folder, const ProblemFn& problem);

// What to report about a read dovecot-uidlist (nullopt: nothing); shared
// with the archive source.
std::optional<std::string> uidlist_problem(const UidlistRead& read);

// "keyword letter 'x' is not in dovecot-keywords: dropped".
std::string unknown_keyword_letter(char letter);

// Only the UIDVALIDITY (for the folder list).
std::optional<std::uint32_t> read_uidvalidity(FileTree& tree, const std::string& folder);

}  // namespace mailmig::maildir
