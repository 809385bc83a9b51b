// One user's mbox mail: a directory of mbox files (subdirectories are the
// hierarchy, as Dovecot and UW-IMAP lay it out) plus an INBOX that usually
// lives elsewhere (the spool file, /var/mail/<user>).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "format/mbox/variants.h"
#include "source/source.h"

namespace mailmig::mbox {

class MboxAccount final : public Account {
 public:
  // info.location: the mail directory (or a single file: the INBOX only);
  // `inbox`: the INBOX file, empty to look for "inbox" in the mail directory.
  MboxAccount(AccountInfo info, std::string inbox, MboxFormat format);
  [[nodiscard]] const AccountInfo& info() const override { return info_; }
  std::vector<FolderInfo> folders(const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override;

 private:
  void walk(const std::string& dir, const std::string& parent, int depth, std::vector<FolderInfo>& out,
            const ProblemFn& problem) const;
  // The folder for one file, or nullopt (reported) when it is no mbox.
  std::optional<FolderInfo> file_folder(const std::string& path, const std::string& name,
                                        const ProblemFn& problem) const;

  AccountInfo info_;
  std::string inbox_;
  MboxFormat format_;
  std::set<std::string> subscribed_;
};

}  // namespace mailmig::mbox
