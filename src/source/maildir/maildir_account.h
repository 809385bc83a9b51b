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

// Folder name of a Maildir++ directory name (".Sent.2024" -> "Sent/2024");
// nullopt when a part is not valid modified UTF-7.
std::optional<std::string> maildir_folder_name(std::string_view directory);

// Subscribed folder names ('/'-separated) from a `subscriptions` file: Dovecot
// v2 ("V\t2" header, '\t'-separated names) or one Maildir++ name per line.
std::set<std::string> parse_subscriptions(std::string_view text);

}  // namespace mailmig::maildir
