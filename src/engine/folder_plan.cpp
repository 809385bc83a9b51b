#include "engine/folder_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace mailmig {

namespace {

// Both sorted.
std::vector<std::string> difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

MessageAction plan_message(DoneSet& done, const MessageInfo& message, const MessageKey& key,
                           std::optional<std::uint32_t> source_uid, const PlanOptions& options) {
  const DoneMessage* row = done.see(key);
  if (row == nullptr) return MessageAction{.kind = MessageAction::Kind::New};
  MessageAction action{.kind = MessageAction::Kind::Already};
  // Found by content (first run with UIDs, the source's UIDVALIDITY changed,
  // or first seen from this source): its UID is noted now.
  action.note_source_uid = row->source_uid != source_uid || row->other_source;
  if (!options.sync) return action;
  action.flags_unknown = !row->flags;
  MessageFlags now = MessageFlags::of(message);
  if (row->flags && *row->flags == now) return action;
  if (!row->uid) {
    // Without its UID the target message cannot be addressed (the server gave none: no UIDPLUS).
    action.flags_unapplied = row->flags.has_value();
    return action;
  }
  action.flag_change =
      FlagChange{.key = row->key, .uid = *row->uid, .before = row->flags, .after = std::move(now)};
  return action;
}

Adoption plan_adoption(PendingMessage record, const TargetContents::Found& stored,
                       const PlanOptions& options) {
  Adoption out;
  // The row holds the flags the target has: a sync applies the source's difference.
  MessageFlags source_flags = std::move(record.flags);
  record.flags = stored.flags;
  out.uid = stored.uid;
  if (options.sync && source_flags != stored.flags) {
    out.flag_change = FlagChange{
        .key = record.key, .uid = stored.uid, .before = stored.flags, .after = std::move(source_flags)};
  }
  out.record = std::move(record);
  return out;
}

bool must_read_target(std::uint64_t target_messages, std::size_t known) {
  return target_messages > known;
}

std::optional<std::string> refusal_to_append(const PlanOptions& options, std::uint64_t target_messages,
                                             std::size_t known, const std::string& target_name) {
  // Messages this run recorded (before a reconnect) are its own, not a reason to refuse.
  if (!options.refuse_nonempty || target_messages <= known) return std::nullopt;
  return fmt::format(
      "target folder {} already holds {} messages; not copied, to avoid duplicates (use mailmig migrate, or "
      "--allow-nonempty)",
      target_name, target_messages);
}

FlagDelta flag_delta(const MessageFlags& before, const MessageFlags& after) {
  return FlagDelta{.add = static_cast<Flags>(after.flags & ~before.flags),
                   .remove = static_cast<Flags>(before.flags & ~after.flags),
                   .add_keywords = difference(after.keywords, before.keywords),
                   .remove_keywords = difference(before.keywords, after.keywords)};
}

std::set<std::uint32_t> uids_without_known_flags(const std::vector<FlagChange>& changes) {
  std::set<std::uint32_t> out;
  for (const FlagChange& c : changes) {
    if (!c.before) out.insert(c.uid);
  }
  return out;
}

std::optional<MessageFlags> flags_before(const FlagChange& change,
                                         const std::map<std::uint32_t, MessageFlags>& target_flags) {
  if (change.before) return change.before;
  const auto it = target_flags.find(change.uid);
  if (it == target_flags.end()) return std::nullopt;  // gone from the target: nothing to change
  // Which of the target's keywords came from the source is not known: none
  // is removed, the source's missing ones are added.
  MessageFlags before{.flags = it->second.flags};
  std::set_intersection(change.after.keywords.begin(), change.after.keywords.end(),
                        it->second.keywords.begin(), it->second.keywords.end(),
                        std::back_inserter(before.keywords));
  return before;
}

DeletionPlan plan_deletions(const std::vector<DoneMessage>& gone, bool scan_clean, bool live_source,
                            const PlanOptions& options) {
  DeletionPlan plan{.deleted_on_source = gone.size()};
  if (gone.empty()) return plan;
  if (!scan_clean) {
    // A corrupt or unreadable mailbox must never cause deletions.
    plan.held_back = true;
    plan.note = "the source folder could not be read completely: nothing is deleted from the target";
    return plan;
  }
  plan.remove = options.delete_removed;
  plan.confirm_first = plan.remove && live_source;
  return plan;
}

Removal plan_removal(const std::vector<DoneMessage>& gone) {
  Removal out;
  for (const DoneMessage& g : gone) {
    if (!g.uid) {
      ++out.unknown;
      continue;
    }
    out.uids.push_back(*g.uid);
    out.keys.push_back(g.key);
  }
  return out;
}

std::vector<FolderRecord> vanished_folders(std::vector<FolderRecord> records,
                                           const std::set<std::string>& source_folders) {
  std::erase_if(records, [&](const FolderRecord& r) { return source_folders.contains(r.folder); });
  return records;
}

std::string join_notes(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

}  // namespace mailmig
