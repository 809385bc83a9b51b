// Message bytes read from an archive, kept until the engine has read them
// twice (once to hash, once to send, up to ~40 MiB of messages apart), so the
// archive -- which cannot seek -- is read only once. Small bodies live in
// memory, large ones in unlinked temporary files (imap_source::Body), each
// kind under its own budget: memory stays bounded for any message size, and a
// message larger than the memory budget is still served from its file.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "source/imap/body_cache.h"

namespace mailmig::archive {

using Body = imap_source::Body;

struct CacheBudget {
  std::uint64_t memory = std::uint64_t{64} << 20U;   // more than the engine's read-ahead of ~40 MiB
  std::uint64_t disk = std::uint64_t{2} << 30U;      // temporary files of large messages
  std::uint64_t file_threshold = std::uint64_t{1} << 20U;  // bodies above this go to a file
};

// Thread-safe: the engine may hash and send from different threads.
class MessageCache {
 public:
  explicit MessageCache(CacheBudget budget) : budget_(budget) {}

  // An empty body of the right kind for `size` bytes. Throws IoError.
  [[nodiscard]] std::shared_ptr<Body> make_body(std::uint64_t size) const;
  void put(std::uint64_t key, std::shared_ptr<Body> body);
  [[nodiscard]] std::shared_ptr<Body> get(std::uint64_t key);
  [[nodiscard]] const CacheBudget& budget() const { return budget_; }

 private:
  struct Entry {
    std::shared_ptr<Body> body;
    bool in_file = false;
    std::list<std::uint64_t>::iterator position;
  };
  void evict();

  CacheBudget budget_;
  std::mutex mutex_;
  std::uint64_t memory_used_ = 0;
  std::uint64_t disk_used_ = 0;
  std::list<std::uint64_t> order_;  // oldest first
  std::unordered_map<std::uint64_t, Entry> entries_;
};

}  // namespace mailmig::archive
