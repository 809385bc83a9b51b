// Maildir++ homes inside an archive (the SME Server backup and tars of
// Maildir trees): finding the Maildirs among the entry names and reading each
// one's folders, with the maildir: source's parsers (file-name flags,
// dovecot-uidlist, dovecot-keywords, subscriptions, modified UTF-7 names).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "source/archive/catalogue.h"

namespace mailmig::archive {

struct MaildirRoot {
  std::string domain;
  std::string name;
  std::string root;  // entry path of the Maildir ("" for the archive's top)
  std::string real_name;
};

// Directories holding cur/ or new/ entries, other than Maildir++ subfolders
// (".Name"), sorted.
std::vector<std::string> find_maildir_roots(const RawCatalogue& raw);

// Matches a --user-path pattern (%d domain, %n local part, %u local@domain,
// each one whole-or-part of a path component) against an entry path;
// (domain, name) or nullopt. A leading '/' in the pattern is ignored: entry
// names are relative.
std::optional<std::pair<std::string, std::string>> match_user_path(const std::string& pattern,
                                                                   const std::string& path);

// One account per root, its folders in archive order.
std::vector<CatalogueAccount> build_maildir_accounts(const RawCatalogue& raw,
                                                     const std::vector<MaildirRoot>& roots);

}  // namespace mailmig::archive
