// Reads one source folder for verify: every message's size, flags, keywords
// (as the target stores them) and date, and the SHA-256 of the bytes the
// target received for those in the sample (engine/verify.h: in_sample).
//
// Not engine/source_scan: that scan gives each readable message its identity
// for copying and skips what it cannot read, while verify must count every
// message (totals are always complete) and hash only a sample.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/verify_compare.h"
#include "source/source.h"

namespace mailmig {

struct SourceReadOptions {
  const std::string& account_key;  // with the folder name, what the sample is drawn from
  double sample_percent = 100;
  // What the target stores for a source keyword (Target::stored_keyword).
  std::function<std::optional<std::string>(const std::string&)> stored_keyword;
};

// Counts into check.messages_source / bytes_source / checked. A message that
// cannot be read is reported with message scope and left unhashed; a folder
// that cannot be opened or scanned is reported with folder scope. A source
// that gave up on its connection (ScopedError of account scope) is not this
// folder's: the error ends the read.
SourceFolderRead read_source_folder(const Account& in, const FolderInfo& folder, const SourceReadOptions& o,
                                    FolderCheck& check, const ProblemFn& problem);

}  // namespace mailmig
