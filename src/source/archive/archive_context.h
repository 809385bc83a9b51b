// What the folders of one opened archive share: the catalogue (immutable
// after opening), the reader pool and the cache budget.
#pragma once

#include <memory>
#include <span>

#include "core/crlf.h"
#include "source/archive/catalogue.h"
#include "source/archive/cursor_pool.h"
#include "source/archive/message_cache.h"

namespace mailmig::archive {

struct ArchiveContext {
  ArchiveContext(Catalogue c, std::size_t parked, CacheBudget b)
      : catalogue(std::move(c)), pool(catalogue.archive, parked), budget(b) {}
  Catalogue catalogue;
  CursorPool pool;
  CacheBudget budget;
};

// Reads the current entry's data (the reader is positioned on it) into
// `sink`, a chunk at a time; returns the byte count. Throws ArchiveError.
template <typename Sink>
std::uint64_t copy_entry(ArchiveReader& reader, std::span<char> buffer, Sink&& sink) {
  std::uint64_t total = 0;
  while (const std::size_t n = reader.read(buffer)) {
    sink(std::string_view(buffer.data(), n));
    total += n;
  }
  return total;
}

// A folder's entries read with one reader taken from the pool, parked again
// when done (so the account's next folder can go on from here).
class EntryWalker {
 public:
  explicit EntryWalker(ArchiveContext& context) : context_(context) {}
  EntryWalker(const EntryWalker&) = delete;
  EntryWalker& operator=(const EntryWalker&) = delete;
  ~EntryWalker() { context_.pool.give(std::move(reader_)); }

  // Positions on `entry`; throws ArchiveError or IoError. After a fatal error
  // the next call starts a new reader.
  ArchiveReader& at(const MessageEntry& entry) {
    if (reader_ && (reader_->failed() || reader_->position() > entry.ordinal)) reader_.reset();
    if (!reader_) reader_ = context_.pool.take(entry.ordinal);
    seek_entry(*reader_, entry.ordinal, entry.path);
    return *reader_;
  }

 private:
  ArchiveContext& context_;
  std::unique_ptr<ArchiveReader> reader_;
};

}  // namespace mailmig::archive
