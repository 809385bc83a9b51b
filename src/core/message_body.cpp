#include "core/message_body.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig {

class MessageBodyReader final : public ByteReader {
 public:
  explicit MessageBodyReader(std::shared_ptr<const MessageBody> body) : body_(std::move(body)) {}
  std::size_t read(std::span<char> buffer) override {
    const std::uint64_t left = body_->size_ - pos_;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    if (want == 0) return 0;
    if (body_->fd_ < 0) {
      std::memcpy(buffer.data(), body_->bytes_.data() + pos_, want);
      pos_ += want;
      return want;
    }
    for (;;) {
      const ssize_t n = ::pread(body_->fd_, buffer.data(), want, static_cast<off_t>(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw IoError("(temporary file of a fetched message)", n < 0 ? errno : EIO, "read failed", pos_);
      pos_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

 private:
  std::shared_ptr<const MessageBody> body_;
  std::uint64_t pos_ = 0;
};

std::shared_ptr<MessageBody> MessageBody::in_memory(std::string bytes) {
  std::shared_ptr<MessageBody> b(new MessageBody());
  b->size_ = bytes.size();
  b->bytes_ = std::move(bytes);
  return b;
}

std::shared_ptr<MessageBody> MessageBody::in_file() {
  std::shared_ptr<MessageBody> b(new MessageBody());
  const std::string dir = fs::temp_dir();
  // O_TMPFILE: never visible under a name, gone with the last descriptor.
  b->fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (b->fd_ < 0) {
    std::string name = dir + "/mailmig-body-XXXXXX";
    b->fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (b->fd_ < 0) throw IoError(dir, errno, "cannot create a temporary file for a large message");
    ::unlink(name.c_str());
  }
  return b;
}

MessageBody::~MessageBody() {
  if (fd_ >= 0) ::close(fd_);
}

void MessageBody::append(std::string_view bytes) {
  if (fd_ < 0) {
    bytes_.append(bytes);
    size_ += bytes.size();
    return;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw IoError("(temporary file of a fetched message)", n < 0 ? errno : EIO, "write failed", size_);
    size_ += static_cast<std::uint64_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::unique_ptr<ByteReader> MessageBody::open(std::shared_ptr<const MessageBody> body) {
  return std::make_unique<MessageBodyReader>(std::move(body));
}

}  // namespace mailmig
