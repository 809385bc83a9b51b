// What the folders of one opened archive share: the catalogue (immutable
// after opening), the reader pool and the cache and store budgets.
#pragma once

#include <memory>
#include <span>

#include "core/crlf.h"
#include "core/error.h"
#include "source/archive/catalogue.h"
#include "source/archive/cursor_pool.h"
#include "source/archive/message_cache.h"
#include "source/archive/stream_spool.h"

namespace mailmig::archive {

struct ArchiveContext {
  ArchiveContext(Catalogue c, std::size_t parked, CacheBudget b, CacheBudget s)
      : catalogue(std::move(c)),
        pool(catalogue.opened, catalogue.archive, parked),
        budget(b),
        store_budget(s) {}
  Catalogue catalogue;
  CursorPool pool;
  CacheBudget budget;                  // each folder's MessageCache
  CacheBudget store_budget;            // each account's PassedStore
  std::unique_ptr<StreamSpool> spool;  // archive:-: the directory the stream was spooled to (removed last)
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
// when done (so the account's next folder can go on from here). With the
// account's store, entries of the account's unread folders that the reader
// passes over on the way are kept there, and kept() hands them out.
class EntryWalker {
 public:
  explicit EntryWalker(ArchiveContext& context, PassedStore* store = nullptr)
      : context_(context), store_(store) {}
  EntryWalker(const EntryWalker&) = delete;
  EntryWalker& operator=(const EntryWalker&) = delete;
  ~EntryWalker() { context_.pool.give(std::move(reader_)); }

  // Positions on `entry`; throws ArchiveError or IoError. After a fatal error
  // the next call starts a new reader.
  ArchiveReader& at(const MessageEntry& entry) {
    if (reader_ && (reader_->failed() || reader_->position() > entry.ordinal)) reader_.reset();
    if (!reader_) reader_ = context_.pool.take(entry.ordinal);
    if (store_ == nullptr) {
      seek_entry(*reader_, entry.ordinal, entry.path);
    } else {
      seek_entry(*reader_, entry.ordinal, entry.path,
                 [this](const EntryHeader& header, ArchiveReader& reader) { keep(header, reader); });
    }
    return *reader_;
  }

  // The entry's body if a reader passed over it earlier and kept it, else null.
  [[nodiscard]] std::shared_ptr<MessageBody> kept(const MessageEntry& entry) {
    return store_ != nullptr ? store_->take(entry.ordinal) : nullptr;
  }

 private:
  void keep(const EntryHeader& header, ArchiveReader& reader) {
    if (!store_->wants(header)) return;
    std::shared_ptr<MessageBody> body;
    try {
      body = store_->make_body(header.size);
    } catch (const IoError&) {
      return;  // no temporary file: its folder reads it from the archive
    }
    if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kKeepBuffer);
    try {
      // An ArchiveError here ends the reader: thrown on, as for the entry sought.
      copy_entry(reader, std::span<char>(buffer_.get(), kKeepBuffer),
                 [&](std::string_view chunk) { body->append(chunk); });
    } catch (const IoError&) {
      return;  // the temporary file could not be written: not kept (next() skips the rest)
    } catch (const ArchiveError& e) {
      if (e.fatal()) throw;
      return;  // a directory's file that cannot be read: its own folder reports it
    }
    store_->put(header.ordinal, std::move(body));
  }

  static constexpr std::size_t kKeepBuffer = std::size_t{64} << 10U;
  ArchiveContext& context_;
  PassedStore* store_;
  std::unique_ptr<ArchiveReader> reader_;
  std::unique_ptr<char[]> buffer_;  // NOLINT(cppcoreguidelines-avoid-c-arrays,modernize-avoid-c-arrays)
};

}  // namespace mailmig::archive
