#include "source/imap/body_cache.h"

#include <iterator>

namespace mailmig::imap_source {

void BodyCache::put(std::uint32_t uid, std::shared_ptr<MessageBody> body) {
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

std::shared_ptr<MessageBody> BodyCache::get(std::uint32_t uid) {
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
