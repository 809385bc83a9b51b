// The state's done rows of one folder, indexed for the planner: by identity
// (and which of them the current scan has seen), by source UID, by target UID.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "engine/state.h"

namespace mailmig {

// A done message known by its source UID, with its size: a source UID is
// taken for the message only when the size agrees too (another source of the
// same mailbox reuses the UIDs; an unrelated one may reuse the numbers).
struct KnownUid {
  MessageKey key;
  std::uint64_t size = 0;
};

// The done rows of a folder and which of them the current scan has seen: the
// unseen ones are the messages deleted on the source since they were copied.
class DoneSet {
 public:
  explicit DoneSet(std::vector<DoneMessage> rows) {
    for (DoneMessage& row : rows) {
      if (row.source_uid) by_source_uid_.emplace(*row.source_uid, KnownUid{row.key, row.size});
      if (row.uid) uids_.insert(*row.uid);
      MessageKey key = row.key;
      rows_.emplace(std::move(key), Entry{std::move(row), false});
    }
  }

  // Identities by source UID (valid while the source's UIDVALIDITY is the one recorded).
  [[nodiscard]] const std::map<std::uint32_t, KnownUid>& by_source_uid() const { return by_source_uid_; }
  // Target UIDs of the done rows.
  [[nodiscard]] const std::set<std::uint32_t>& target_uids() const { return uids_; }
  [[nodiscard]] std::size_t size() const { return rows_.size(); }

  // The done row with this identity (now marked seen), or null: not copied yet.
  const DoneMessage* see(const MessageKey& key) {
    const auto it = rows_.find(key);
    if (it == rows_.end()) return nullptr;
    it->second.seen = true;
    return &it->second.row;
  }

  // Rows recorded from this source that its scan did not see.
  [[nodiscard]] std::vector<DoneMessage> unseen() const {
    std::vector<DoneMessage> out;
    for (const auto& [key, entry] : rows_) {
      if (!entry.seen && !entry.row.other_source) out.push_back(entry.row);
    }
    return out;
  }

  // Rows another source recorded that this one does not have: never taken
  // for deletions (a backup holds mail the live host may never have had).
  [[nodiscard]] std::uint64_t unseen_from_other_sources() const {
    return static_cast<std::uint64_t>(std::count_if(rows_.begin(), rows_.end(), [](const auto& e) {
      return !e.second.seen && e.second.row.other_source;
    }));
  }

 private:
  struct Entry {
    DoneMessage row;
    bool seen = false;
  };
  std::map<MessageKey, Entry> rows_;
  std::map<std::uint32_t, KnownUid> by_source_uid_;
  std::set<std::uint32_t> uids_;
};

}  // namespace mailmig
