// mbox:PATH -- per-user directories of mbox files plus spool INBOXes. Finds
// the accounts like maildir: (--user-path, or a detected layout).
#pragma once

#include <string>

#include "format/mbox/variants.h"
#include "source/maildir/maildir_source.h"

namespace mailmig::mbox {

struct MboxTreeOptions {
  maildir::TreeOptions tree;  // user_path matches the user's mail directory
  std::string inbox_path;     // pattern of the INBOX file, e.g. /var/mail/%n
  MboxFormat format = MboxFormat::Auto;
};

// Throws maildir::SourceError when PATH cannot be used as asked.
maildir::OpenedTree open_mbox_tree(const std::string& root, const MboxTreeOptions& options);

}  // namespace mailmig::mbox
