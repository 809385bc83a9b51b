// One Maildir folder (a directory with cur/ new/ tmp/): messages from cur/
// and new/ in dovecot-uidlist order, flags and keywords from the file names,
// the internal date from the file's mtime (what Dovecot uses without its
// index), sizes measured. tmp/ holds deliveries in progress and is ignored.
#pragma once

#include <memory>
#include <string>

#include "source/source.h"
#include "source/tree/file_tree.h"

namespace mailmig::maildir {

class MaildirFolder final : public Folder {
 public:
  MaildirFolder(std::string path, std::shared_ptr<FileTree> tree);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  std::string path_;
  std::shared_ptr<FileTree> tree_;
};

}  // namespace mailmig::maildir
