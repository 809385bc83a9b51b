// A Maildir folder inside an archive: its cur/ and new/ entries read in
// archive order, flags and keywords from the file names (maildir_name.h,
// dovecot-keywords), UIDs from dovecot-uidlist, the internal date from the
// entry's mtime (what the maildir: source takes from the file).
#pragma once

#include <memory>

#include "source/archive/archive_context.h"
#include "source/source.h"

namespace mailmig::archive {

class MaildirEntriesFolder final : public Folder {
 public:
  MaildirEntriesFolder(std::shared_ptr<ArchiveContext> context, const CatalogueFolder& folder,
                       std::shared_ptr<PassedStore> store)
      : context_(std::move(context)), folder_(folder), store_(std::move(store)), cache_(context_->budget) {}
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  std::shared_ptr<ArchiveContext> context_;
  const CatalogueFolder& folder_;       // owned by context_
  std::shared_ptr<PassedStore> store_;  // the account's
  mutable MessageCache cache_;
};

}  // namespace mailmig::archive
