// Message bodies fetched from an IMAP source, kept for a short while: the
// engine reads each message twice (once to hash it, once more when the
// appender sends it), and fetching twice would double the source traffic.
// Bodies are fetched ahead in pipelined batches; small ones live in memory,
// large ones in unlinked temporary files, so memory stays bounded for any
// message size. Readers keep their body alive after eviction.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/byte_reader.h"

namespace mailmig::imap_source {

// One message's bytes: a string, or an unlinked temporary file.
class Body {
 public:
  static std::shared_ptr<Body> in_memory(std::string bytes);
  // An empty temporary file to append() to (in $TMPDIR or /tmp). Throws IoError.
  static std::shared_ptr<Body> in_file();
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;
  ~Body();

  void append(std::string_view bytes);
  [[nodiscard]] std::uint64_t size() const { return size_; }
  // A reader that keeps `body` alive until it is destroyed.
  static std::unique_ptr<ByteReader> open(std::shared_ptr<const Body> body);

 private:
  Body() = default;
  std::string bytes_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  friend class BodyReader;
};

class BodyCache {
 public:
  explicit BodyCache(std::uint64_t budget_bytes) : budget_(budget_bytes) {}

  void put(std::uint32_t uid, std::shared_ptr<Body> body);
  [[nodiscard]] std::shared_ptr<Body> get(std::uint32_t uid);
  void clear();

 private:
  void evict();

  std::uint64_t budget_;
  std::uint64_t used_ = 0;
  std::list<std::uint32_t> order_;  // least recently used first
  struct Entry {
    std::shared_ptr<Body> body;
    std::list<std::uint32_t>::iterator position;
  };
  std::map<std::uint32_t, Entry> entries_;
};

}  // namespace mailmig::imap_source
