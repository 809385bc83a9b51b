#include "engine/target_contents.h"

#include <algorithm>

namespace mailmig {

void TargetContents::load(TargetAccount& account, const std::string& folder,
                          const std::set<std::uint32_t>& known) {
  loaded_ = true;
  account.read_folder(
      folder, [&](const StoredMessage& m) { return !known.contains(m.uid); },
      [&](const StoredMessage& m) {
        if (m.sha256.empty()) return;  // known to the state: not read
        ++hashed_;
        MessageFlags flags{.flags = m.flags, .keywords = m.keywords};
        std::sort(flags.keywords.begin(), flags.keywords.end());
        flags.keywords.erase(std::unique(flags.keywords.begin(), flags.keywords.end()), flags.keywords.end());
        // read_folder delivers in UID order: identical messages are claimed in it.
        by_hash_[m.sha256].push_back(Found{.uid = m.uid, .flags = std::move(flags)});
      });
}

std::optional<TargetContents::Found> TargetContents::claim(const std::string& sha256) {
  const auto it = by_hash_.find(sha256);
  if (it == by_hash_.end() || it->second.empty()) return std::nullopt;
  Found found = std::move(it->second.front());
  it->second.pop_front();
  return found;
}

}  // namespace mailmig
