// What a Maildir folder's metadata files say: UIDs and UIDVALIDITY
// (dovecot-uidlist) and keyword names (dovecot-keywords). Courier's
// courierimapkeywords/ is detected and reported, not read.
#pragma once

#include <optional>
#include <string>

#include "source/maildir/uidlist.h"
#include "source/source.h"

namespace mailmig {
class FileTree;
}

namespace mailmig::maildir {

struct FolderMeta {
  std::optional<std::uint32_t> uidvalidity;
  std::unordered_map<std::string, std::uint32_t> uids;
  KeywordTable keywords;
};

// Problems: unreadable or malformed files, Courier keywords present.
FolderMeta read_folder_meta(FileTree& tree, const std::string& folder, const ProblemFn& problem);

// Only the UIDVALIDITY (for the folder list).
std::optional<std::uint32_t> read_uidvalidity(FileTree& tree, const std::string& folder);

}  // namespace mailmig::maildir
