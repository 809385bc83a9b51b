// Readers for the two CommuniGate mailbox formats: the text mailbox (.mbox, one
// file) and the MailDir mailbox (.mdir, a directory of one file per message).
// The format knowledge (docs/cgp-store.md, sections 5 and 6; docs/mbox.md) is
// in the format layer: separator lines, storage headers, sizes and quoting in
// format/mbox/, .mdir file names in format/cgp/mdir_name.h; this file walks
// files and reports problems.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/byte_reader.h"
#include "core/message.h"
#include "source/source.h"

namespace mailmig::cgp {

// A .mbox text mailbox. Read-only (O_RDONLY|O_NOFOLLOW), streamed with a
// bounded buffer: any file size and any line length. scan() reports garbage
// before the first message, a truncated last message (still delivered) and
// read errors (the scan stops) as problems; open() undoes mboxrd quoting.
class MboxFile final : public Folder {
 public:
  static constexpr std::size_t kScanBuffer = std::size_t{1} << 20U;
  static constexpr std::size_t kReadBuffer = std::size_t{64} << 10U;

  explicit MboxFile(std::string path);
  // Buffer sizes are a testing seam: tiny buffers drive every chunk-boundary path.
  MboxFile(std::string path, std::size_t scan_buffer, std::size_t read_buffer);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;
  // A running server owns the file: an incomplete last message is being
  // appended, not damaged. It is left out (logged) instead of reported.
  void set_live(bool live) { live_ = live; }

 private:
  std::string path_;
  bool live_ = false;
  std::size_t scan_buffer_ = kScanBuffer;
  std::size_t read_buffer_ = kReadBuffer;
};

// A .mdir mailbox directory: regular files i<UID>-<epoch>-<flags>.msg in UID
// order. Other names are reported and delivered without metadata; empty files,
// symlinks and other entries are reported and skipped.
class MdirDirectory final : public Folder {
 public:
  explicit MdirDirectory(std::string path);
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;
  // A running server owns the directory: an empty file is a message being
  // written, left out (logged) instead of reported.
  void set_live(bool live) { live_ = live; }

 private:
  std::string path_;
  bool live_ = false;
};

}  // namespace mailmig::cgp
