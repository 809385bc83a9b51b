// One Maildir++ account: the Maildir itself is INBOX, every ".Folder.Sub"
// directory in it is a folder ('.' is the hierarchy separator, each part
// modified UTF-7), `subscriptions` says which are subscribed.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "source/source.h"
#include "source/tree/file_tree.h"

namespace mailmig::maildir {

class MaildirAccount final : public Account {
 public:
  // `tree`: where the Maildir is read (local or remote).
  MaildirAccount(AccountInfo info, std::shared_ptr<FileTree> tree);
  [[nodiscard]] const AccountInfo& info() const override { return info_; }
  std::vector<FolderInfo> folders(const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override;

 private:
  AccountInfo info_;
  std::shared_ptr<FileTree> tree_;
};

// Subscribed folder names ('/'-separated) from a `subscriptions` file (the
// codec's parse_subscriptions, format/maildir/folder_names.h).
std::set<std::string> subscribed_folders(std::string_view text);

// The folder name of a ".A.B" directory the codec cannot decode (a level not
// modified UTF-7, or an empty level): its raw levels, and the problem text.
std::string raw_folder_name(std::string_view directory);
std::string undecoded_folder_name();

}  // namespace mailmig::maildir
