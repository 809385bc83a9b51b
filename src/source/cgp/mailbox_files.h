// Readers for the two CommuniGate mailbox formats: the text mailbox (.mbox, one
// file) and the MailDir mailbox (.mdir, a directory of one file per message).
// The working conventions of ../shared/reference/cgp-store.md live here and in
// mailbox_files.cpp only, so they can be corrected once a real store is seen.
#pragma once

#include <memory>
#include <string>

#include "core/byte_reader.h"
#include "core/message.h"
#include "source/source.h"

namespace mailmig::cgp {

// A .mbox text mailbox. Read-only (O_RDONLY|O_NOFOLLOW), streamed with a
// bounded buffer: any file size and any line length.
class MboxFile final : public Folder {
 public:
  explicit MboxFile(std::string path);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  std::string path_;
};

// A .mdir mailbox directory.
class MdirDirectory final : public Folder {
 public:
  explicit MdirDirectory(std::string path);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  std::string path_;
};

}  // namespace mailmig::cgp
