// Message bodies fetched from an IMAP source, kept for a short while: the
// engine reads each message twice (once to hash it, once more when the
// appender sends it), and fetching twice would double the source traffic.
// Bodies are fetched ahead in pipelined batches and evicted least recently
// used first under one budget for memory and temporary files together
// (core/message_body.h keeps each body in the one or the other).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>

#include "core/message_body.h"

namespace mailmig::imap_source {

class BodyCache {
 public:
  explicit BodyCache(std::uint64_t budget_bytes) : budget_(budget_bytes) {}

  void put(std::uint32_t uid, std::shared_ptr<MessageBody> body);
  [[nodiscard]] std::shared_ptr<MessageBody> get(std::uint32_t uid);
  void clear();

 private:
  void evict();

  std::uint64_t budget_;
  std::uint64_t used_ = 0;
  std::list<std::uint32_t> order_;  // least recently used first
  struct Entry {
    std::shared_ptr<MessageBody> body;
    std::list<std::uint32_t>::iterator position;
  };
  std::map<std::uint32_t, Entry> entries_;
};

}  // namespace mailmig::imap_source
