#include "source/archive/message_cache.h"

namespace mailmig::archive {

std::shared_ptr<Body> MessageCache::make_body(std::uint64_t size) const {
  return size > budget_.file_threshold ? Body::in_file() : Body::in_memory({});
}

void MessageCache::put(std::uint64_t key, std::shared_ptr<Body> body) {
  const std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    (it->second.in_file ? disk_used_ : memory_used_) -= it->second.body->size();
    order_.erase(it->second.position);
    entries_.erase(it);
  }
  const bool in_file = body->size() > budget_.file_threshold;
  (in_file ? disk_used_ : memory_used_) += body->size();
  order_.push_back(key);
  entries_.emplace(key, Entry{std::move(body), in_file, std::prev(order_.end())});
  evict();
}

std::shared_ptr<Body> MessageCache::get(std::uint64_t key) {
  const std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.body;
}

void MessageCache::evict() {
  // Oldest first: the engine reads in scan order, so the oldest body is the
  // one it is done with. The newest entry stays whatever its size: it is
  // about to be read.
  auto it = order_.begin();
  while ((memory_used_ > budget_.memory || disk_used_ > budget_.disk) && it != order_.end() &&
         std::next(it) != order_.end()) {
    auto entry = entries_.find(*it);
    const bool over = entry->second.in_file ? disk_used_ > budget_.disk : memory_used_ > budget_.memory;
    if (!over) {
      ++it;
      continue;
    }
    (entry->second.in_file ? disk_used_ : memory_used_) -= entry->second.body->size();
    entries_.erase(entry);
    it = order_.erase(it);
  }
}

}  // namespace mailmig::archive
