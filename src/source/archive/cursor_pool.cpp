#include "source/archive/cursor_pool.h"

#include <spdlog/spdlog.h>

#include <cerrno>

#include "core/error.h"
#include "source/archive/catalogue.h"

namespace mailmig::archive {

std::unique_ptr<ArchiveReader> CursorPool::take(std::uint64_t ordinal) {
  {
    const std::lock_guard lock(mutex_);
    auto best = parked_.end();
    for (auto it = parked_.begin(); it != parked_.end(); ++it) {
      if ((*it)->position() > ordinal) continue;
      if (best == parked_.end() || (*it)->position() > (*best)->position()) best = it;
    }
    if (best != parked_.end()) {
      std::unique_ptr<ArchiveReader> reader = std::move(*best);
      parked_.erase(best);
      return reader;
    }
  }
  if (opened_.fetch_add(1) > 0) {
    spdlog::debug("{}: reading the archive again from its start for entry {}", archive_, ordinal);
  }
  return std::make_unique<ArchiveReader>(opened_path_, archive_);
}

void CursorPool::give(std::unique_ptr<ArchiveReader> reader) {
  if (!reader || reader->failed()) return;
  const std::lock_guard lock(mutex_);
  parked_.push_back(std::move(reader));
  if (parked_.size() > keep_) {
    // Drop the one furthest back: the least likely to be of use (folders are read in archive order).
    auto lowest = parked_.begin();
    for (auto it = parked_.begin(); it != parked_.end(); ++it) {
      if ((*it)->position() < (*lowest)->position()) lowest = it;
    }
    parked_.erase(lowest);
  }
}

void seek_entry(ArchiveReader& reader, std::uint64_t ordinal, const std::string& path,
                const PassedFn& passed) {
  EntryHeader header;
  while (reader.position() <= ordinal) {
    try {
      if (!reader.next(header)) break;
    } catch (const ArchiveError& e) {
      if (e.fatal()) throw;
      continue;  // reported by the catalogue pass already
    }
    if (header.ordinal != ordinal) {
      if (passed && header.ordinal < ordinal) passed(header, reader);
      continue;
    }
    if (header.path != path) {
      throw IoError(entry_location(reader.path(), path), ESTALE,
                    "the archive changed since it was opened (another entry is at this place)");
    }
    return;
  }
  throw IoError(entry_location(reader.path(), path), ENOENT,
                "the archive changed since it was opened (entry missing)");
}

}  // namespace mailmig::archive
