// Message bytes read from an archive, kept until the engine has read them
// twice (once to hash, once to send, up to ~40 MiB of messages apart), so the
// archive -- which cannot seek -- is read only once. Small bodies live in
// memory, large ones in unlinked temporary files (core/message_body.h), each
// kind under its own budget: memory stays bounded for any message size, and a
// message larger than the memory budget is still served from its file.
//
// PassedStore, the same storage per account: bodies of entries a cursor
// passed over while it read one folder of the account, kept for the
// account's folders not read yet (see archive_source.h).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/message_body.h"
#include "source/archive/catalogue.h"

namespace mailmig::archive {

struct CacheBudget {
  std::uint64_t memory = std::uint64_t{64} << 20U;         // more than the engine's read-ahead of ~40 MiB
  std::uint64_t disk = std::uint64_t{2} << 30U;            // temporary files of large messages
  std::uint64_t file_threshold = std::uint64_t{1} << 20U;  // bodies above this go to a file
};

// Thread-safe: the engine may hash and send from different threads.
class MessageCache {
 public:
  explicit MessageCache(CacheBudget budget) : budget_(budget) {}

  // An empty body of the right kind for `size` bytes. Throws IoError.
  [[nodiscard]] std::shared_ptr<MessageBody> make_body(std::uint64_t size) const;
  void put(std::uint64_t key, std::shared_ptr<MessageBody> body);
  [[nodiscard]] std::shared_ptr<MessageBody> get(std::uint64_t key);
  [[nodiscard]] const CacheBudget& budget() const { return budget_; }

 private:
  struct Entry {
    std::shared_ptr<MessageBody> body;
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

// One per opened account. A folder's scan claims it first; from then on
// the store keeps nothing more for that folder, and take() hands over what
// it kept. An entry is kept while it fits the budget (memory for bodies up to
// file_threshold, unlinked temporary files above it); one that does not is
// left to be read from the archive again (logged once per store). Bodies
// handed over leave the store, so its use falls as the account is read.
// Thread-safe.
class PassedStore {
 public:
  PassedStore(const std::vector<CatalogueFolder>& folders, CacheBudget budget, std::string account);

  // `folder` is being read: no more of its entries are kept.
  void claim(const CatalogueFolder& folder);
  // Whether the entry a cursor is passing over is to be kept: it belongs to
  // a folder not claimed yet, is not kept already, and fits the budget.
  [[nodiscard]] bool wants(const EntryHeader& header);
  [[nodiscard]] std::shared_ptr<MessageBody> make_body(std::uint64_t size) const;
  // Keeps `body` (the data of the entry wants() accepted), unless it turned
  // out larger than what is left of the budget.
  void put(std::uint64_t ordinal, std::shared_ptr<MessageBody> body);
  // The kept body of entry `ordinal`, or null. It leaves the store unless
  // another folder not claimed yet holds the same entry (a hard link).
  [[nodiscard]] std::shared_ptr<MessageBody> take(std::uint64_t ordinal);
  // Bodies kept so far (tests, diagnostics).
  [[nodiscard]] std::uint64_t kept_total() const;

 private:
  struct Wanted {
    std::string path;
    unsigned folders = 0;  // unclaimed folders holding this entry
    std::shared_ptr<MessageBody> body;
    bool in_file = false;
  };
  [[nodiscard]] bool fits(std::uint64_t size, bool in_file) const;
  void release(Wanted& wanted);
  void over_budget(const std::string& path, std::uint64_t size);

  CacheBudget budget_;
  std::string account_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, Wanted> wanted_;  // by ordinal
  std::set<const CatalogueFolder*> claimed_;
  std::uint64_t memory_used_ = 0;
  std::uint64_t disk_used_ = 0;
  std::uint64_t kept_ = 0;
  bool logged_ = false;
};

}  // namespace mailmig::archive
