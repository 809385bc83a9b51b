// What a target folder holds that the state does not know: messages another
// run, another state or another source put there. The engine consults it
// before appending, so a message already on the target is recorded as done
// instead of appended a second time, whichever source or state copied it.
//
// Identity is content: the SHA-256 of the bytes the target returns, which is
// the hash of the bytes mailmig sends for the same message from any source.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "engine/state.h"
#include "target/target.h"

namespace mailmig {

class TargetContents {
 public:
  // A stored message not known to the state, claimable once.
  struct Found {
    std::uint32_t uid = 0;
    MessageFlags flags;  // as the target holds them
  };

  // Reads `folder` on the target: metadata of every message, the bytes
  // (hashed while they stream) only of those whose UID is not in `known`.
  void load(TargetAccount& account, const std::string& folder, const std::set<std::uint32_t>& known);

  // The lowest-UID unclaimed stored message with this content, now claimed.
  std::optional<Found> claim(const std::string& sha256);

  [[nodiscard]] bool loaded() const { return loaded_; }
  // Messages whose bytes were read to build this (the cost, for the report).
  [[nodiscard]] std::uint64_t hashed() const { return hashed_; }

 private:
  std::map<std::string, std::deque<Found>> by_hash_;
  std::uint64_t hashed_ = 0;
  bool loaded_ = false;
};

}  // namespace mailmig
