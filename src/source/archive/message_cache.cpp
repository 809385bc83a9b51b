#include "source/archive/message_cache.h"

#include <spdlog/spdlog.h>

namespace mailmig::archive {
namespace {

std::shared_ptr<MessageBody> empty_body(const CacheBudget& budget, std::uint64_t size) {
  return size > budget.file_threshold ? MessageBody::in_file() : MessageBody::in_memory({});
}

}  // namespace

std::shared_ptr<MessageBody> MessageCache::make_body(std::uint64_t size) const {
  return empty_body(budget_, size);
}

void MessageCache::put(std::uint64_t key, std::shared_ptr<MessageBody> body) {
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

std::shared_ptr<MessageBody> MessageCache::get(std::uint64_t key) {
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

PassedStore::PassedStore(const std::vector<CatalogueFolder>& folders, CacheBudget budget, std::string account)
    : budget_(budget), account_(std::move(account)) {
  for (const CatalogueFolder& folder : folders) {
    std::set<std::uint64_t> seen;  // hard links of one folder share an entry: count the folder once
    for (const MessageEntry& entry : folder.entries) {
      if (!seen.insert(entry.ordinal).second) continue;
      Wanted& wanted = wanted_[entry.ordinal];
      wanted.path = entry.path;
      ++wanted.folders;
    }
  }
}

void PassedStore::claim(const CatalogueFolder& folder) {
  const std::lock_guard lock(mutex_);
  if (!claimed_.insert(&folder).second) return;
  std::set<std::uint64_t> seen;
  for (const MessageEntry& entry : folder.entries) {
    if (!seen.insert(entry.ordinal).second) continue;
    auto it = wanted_.find(entry.ordinal);
    if (it == wanted_.end() || it->second.folders == 0) continue;
    // Not erased even when no folder is left: a body kept already waits for this folder's take().
    if (--it->second.folders == 0 && !it->second.body) wanted_.erase(it);
  }
}

bool PassedStore::fits(std::uint64_t size, bool in_file) const {
  return in_file ? size <= budget_.disk && disk_used_ <= budget_.disk - size
                 : size <= budget_.memory && memory_used_ <= budget_.memory - size;
}

void PassedStore::over_budget(const std::string& path, std::uint64_t size) {
  if (logged_) return;
  logged_ = true;
  spdlog::info(
      "{}: passed-over message {} ({} bytes) does not fit the store's budget; it and any other that does not "
      "fit will be read from the archive again when its folder is read (slower)",
      account_, path, size);
}

bool PassedStore::wants(const EntryHeader& header) {
  const std::lock_guard lock(mutex_);
  auto it = wanted_.find(header.ordinal);
  if (it == wanted_.end() || it->second.folders == 0 || it->second.body || it->second.path != header.path)
    return false;
  if (header.type != EntryType::File) return false;
  if (!fits(header.size, header.size > budget_.file_threshold)) {
    over_budget(header.path, header.size);
    return false;
  }
  return true;
}

std::shared_ptr<MessageBody> PassedStore::make_body(std::uint64_t size) const {
  return empty_body(budget_, size);
}

void PassedStore::put(std::uint64_t ordinal, std::shared_ptr<MessageBody> body) {
  const std::lock_guard lock(mutex_);
  auto it = wanted_.find(ordinal);
  if (it == wanted_.end() || it->second.folders == 0 || it->second.body) return;
  const bool in_file = body->size() > budget_.file_threshold;
  if (!fits(body->size(), in_file)) {
    over_budget(it->second.path, body->size());
    return;
  }
  (in_file ? disk_used_ : memory_used_) += body->size();
  it->second.in_file = in_file;
  it->second.body = std::move(body);
  ++kept_;
}

void PassedStore::release(Wanted& wanted) {
  if (!wanted.body) return;
  (wanted.in_file ? disk_used_ : memory_used_) -= wanted.body->size();
  wanted.body.reset();
}

std::shared_ptr<MessageBody> PassedStore::take(std::uint64_t ordinal) {
  const std::lock_guard lock(mutex_);
  auto it = wanted_.find(ordinal);
  if (it == wanted_.end() || !it->second.body) return nullptr;
  std::shared_ptr<MessageBody> body = it->second.body;
  if (it->second.folders == 0) {
    release(it->second);
    wanted_.erase(it);
  }
  return body;
}

std::uint64_t PassedStore::kept_total() const {
  const std::lock_guard lock(mutex_);
  return kept_;
}

}  // namespace mailmig::archive
