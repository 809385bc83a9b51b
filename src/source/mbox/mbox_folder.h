// One mbox file as a folder: streamed with bounded memory whatever its size
// and line lengths, opened O_RDONLY|O_NOFOLLOW, byte offsets and line
// numbers in every problem.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "format/mbox/variants.h"
#include "source/mbox/mbox_parser.h"
#include "source/source.h"

namespace mailmig::mbox {

// What the start of a file says: whether it is an mbox at all, and the facts
// of its first message. Reads only the first message's header. Throws IoError.
struct FilePeek {
  bool empty = false;  // 0 bytes: an empty mailbox
  bool mbox = false;   // starts with "From "
  FileFacts facts;
};
FilePeek peek_file(const std::string& path);

class MboxFolder final : public Folder {
 public:
  static constexpr std::size_t kScanBuffer = std::size_t{1} << 20U;

  MboxFolder(std::string path, MboxFormat format, std::size_t scan_buffer = kScanBuffer);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;

 private:
  // Per file, decided once: auto looks at the first message (open() runs for
  // every message, possibly on the appender's thread).
  [[nodiscard]] ReadRules rules() const;

  std::string path_;
  MboxFormat format_;
  std::size_t scan_buffer_;
  mutable std::once_flag rules_once_;
  mutable ReadRules rules_;
};

}  // namespace mailmig::mbox
