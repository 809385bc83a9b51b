// Readers parked between folders. A compressed archive can only be read
// forward, so a folder is read by a reader positioned at or before its first
// entry: a parked one when there is one (the next folder of an account
// usually follows the previous one), otherwise a fresh one from the start.
// Accounts read in parallel each take their own reader.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/archive/archive_reader.h"

namespace mailmig::archive {

class CursorPool {
 public:
  // `keep`: readers parked at most (each holds decompression state, ~1 MiB to
  // the zstd window).
  // `opened`: what a reader opens; `archive`: how it is named in messages.
  CursorPool(std::string opened, std::string archive, std::size_t keep)
      : opened_path_(std::move(opened)), archive_(std::move(archive)), keep_(keep) {}

  // The parked reader nearest before `ordinal`, or a new one. Throws ArchiveError.
  std::unique_ptr<ArchiveReader> take(std::uint64_t ordinal);
  // Parks a reader that is still usable.
  void give(std::unique_ptr<ArchiveReader> reader);
  // Readers opened so far (each one more pass over the archive's start).
  [[nodiscard]] std::uint64_t opened() const { return opened_.load(); }

 private:
  std::string opened_path_;
  std::string archive_;
  std::size_t keep_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ArchiveReader>> parked_;
  std::atomic<std::uint64_t> opened_{0};
};

// Moves `reader` on to entry `ordinal` and checks that it is `path` (the
// archive must not have changed since the catalogue was read). Damaged
// headers on the way are passed over as in the catalogue pass. Throws
// ArchiveError, or IoError when the entry is not there. `passed`, when set,
// sees each entry passed over on the way, the reader positioned on it (it
// may read the entry's data).
using PassedFn = std::function<void(const EntryHeader&, ArchiveReader&)>;
void seek_entry(ArchiveReader& reader, std::uint64_t ordinal, const std::string& path,
                const PassedFn& passed = {});

}  // namespace mailmig::archive
