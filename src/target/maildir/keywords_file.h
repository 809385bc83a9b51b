// The folder's dovecot-keywords file on disk (its text is the codec's,
// format/maildir/keywords.h). Dovecot changes the file only while holding the
// folder's dovecot-uidlist lock; it writes the new file to
// dovecot-keywords.lock and renames that into place, with an mtime that grows
// on every change (its cache is keyed on it). We do the same and keep every
// assignment the file already has: the letters in existing file names depend
// on them.
#pragma once

#include <string>

#include "format/maildir/keywords.h"
#include "target/maildir/files.h"

namespace mailmig::maildir {

// Reads the folder's file (none: no keywords yet).
Keywords load_keywords(const std::string& folder_dir);
// Writes the file as Dovecot does when `keywords` changed (call with the
// uidlist lock held), then marks them saved.
void save_keywords(Keywords& keywords, const std::string& folder_dir, bool sync, const Owner& owner);

}  // namespace mailmig::maildir
