#include "source/imap/body_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/fs.h"

namespace mailmig::imap_source {

namespace {}  // namespace

class BodyReader final : public ByteReader {
 public:
  explicit BodyReader(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
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
  std::shared_ptr<const Body> body_;
  std::uint64_t pos_ = 0;
};

std::shared_ptr<Body> Body::in_memory(std::string bytes) {
  std::shared_ptr<Body> b(new Body());
  b->size_ = bytes.size();
  b->bytes_ = std::move(bytes);
  return b;
}

std::shared_ptr<Body> Body::in_file() {
  std::shared_ptr<Body> b(new Body());
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

Body::~Body() {
  if (fd_ >= 0) ::close(fd_);
}

void Body::append(std::string_view bytes) {
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

std::unique_ptr<ByteReader> Body::open(std::shared_ptr<const Body> body) {
  return std::make_unique<BodyReader>(std::move(body));
}

void BodyCache::put(std::uint32_t uid, std::shared_ptr<Body> body) {
  if (auto it = entries_.find(uid); it != entries_.end()) {
    used_ -= it->second.body->size();
    order_.erase(it->second.position);
    entries_.erase(it);
  }
  used_ += body->size();
  order_.push_back(uid);
  entries_.emplace(uid, Entry{std::move(body), std::prev(order_.end())});
  evict();
}

std::shared_ptr<Body> BodyCache::get(std::uint32_t uid) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) return nullptr;
  order_.splice(order_.end(), order_, it->second.position);  // most recently used now
  return it->second.body;
}

void BodyCache::clear() {
  entries_.clear();
  order_.clear();
  used_ = 0;
}

void BodyCache::evict() {
  // Always keep the newest entry, however large: it is about to be read.
  while (used_ > budget_ && order_.size() > 1) {
    auto it = entries_.find(order_.front());
    used_ -= it->second.body->size();
    entries_.erase(it);
    order_.pop_front();
  }
}

}  // namespace mailmig::imap_source
