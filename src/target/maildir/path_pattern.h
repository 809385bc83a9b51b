// The per-account path pattern of the Maildir target (--user-path): where an
// account's Maildir root lies below the target directory. Folder names inside
// it are the Maildir++ codec's (format/maildir/folder_names.h).
#pragma once

#include <string>

namespace mailmig::maildir {

// Expands the path pattern: %d domain, %n local part, %u local@domain, %% '%'.
// Throws std::invalid_argument when the result would leave the root (a name
// with '/', "." or ".." as a path component) or holds a NUL.
std::string expand_path_pattern(const std::string& pattern, const std::string& account,
                                const std::string& domain);

}  // namespace mailmig::maildir
