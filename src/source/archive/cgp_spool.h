// A CommuniGate mailbox inside an archive, read by the cgp: readers after
// spooling it to a private temporary directory: a .mbox entry as one file, a
// .mdir's entries as files of one directory. The one place this source
// writes message data to disk on purpose: the .mbox/.mdir conventions live in
// cgp/mailbox_files.cpp only and those readers work on files. The spool holds
// one folder, is readable by its owner only, and is deleted with the folder
// object, i.e. after the engine's second read of the last message.
#pragma once

#include <memory>
#include <string>

#include "source/archive/archive_context.h"
#include "source/source.h"

namespace mailmig::archive {

class CgpSpoolFolder final : public Folder {
 public:
  CgpSpoolFolder(std::shared_ptr<ArchiveContext> context, const CatalogueFolder& folder,
                 std::shared_ptr<PassedStore> store)
      : context_(std::move(context)), folder_(folder), store_(std::move(store)) {}
  CgpSpoolFolder(const CgpSpoolFolder&) = delete;
  CgpSpoolFolder& operator=(const CgpSpoolFolder&) = delete;
  ~CgpSpoolFolder() override;
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  void remove_spool();
  // The spooled mailbox path: a reader's path (or file) under it is shown as the archive entry.
  [[nodiscard]] std::string shown(const std::string& path) const;

  std::shared_ptr<ArchiveContext> context_;
  const CatalogueFolder& folder_;       // owned by context_
  std::shared_ptr<PassedStore> store_;  // the account's
  std::string spool_dir_;               // mkdtemp directory, empty before scan()
  std::string mailbox_;                 // spool_dir_/mailbox (file or directory)
  std::vector<std::string> files_;      // written, to remove
  std::unique_ptr<Folder> reader_;      // cgp::MboxFile or cgp::MdirDirectory on the spool
};

}  // namespace mailmig::archive
