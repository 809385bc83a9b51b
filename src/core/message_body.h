// One message's bytes kept for reading again (a source whose messages cannot
// be read twice cheaply -- an IMAP server, an archive -- keeps them while the
// engine hashes and then sends them): a string for a small message, an
// unlinked temporary file for a large one, so memory stays bounded for any
// message size. A reader keeps its body alive after the cache let go of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/byte_reader.h"

namespace mailmig {

class MessageBody {
 public:
  static std::shared_ptr<MessageBody> in_memory(std::string bytes);
  // An empty temporary file to append() to (in $TMPDIR or /tmp). Throws IoError.
  static std::shared_ptr<MessageBody> in_file();
  MessageBody(const MessageBody&) = delete;
  MessageBody& operator=(const MessageBody&) = delete;
  ~MessageBody();

  void append(std::string_view bytes);
  [[nodiscard]] std::uint64_t size() const { return size_; }
  // A reader that keeps `body` alive until it is destroyed.
  static std::unique_ptr<ByteReader> open(std::shared_ptr<const MessageBody> body);

 private:
  MessageBody() = default;
  std::string bytes_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  friend class MessageBodyReader;
};

}  // namespace mailmig
