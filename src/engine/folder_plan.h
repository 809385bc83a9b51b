// The planner: pure decisions, no I/O. From the state's rows of a folder, the
// source messages as they are scanned and what the target holds, it says per
// folder what to do: append this message, record that one as found, set
// these flags, delete those. The executor (folder_executor.h) carries the
// actions out; the planner can be tested as plain functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/message.h"
#include "engine/done_set.h"
#include "engine/state.h"
#include "engine/target_contents.h"

namespace mailmig {

struct PlanOptions {
  bool sync = false;             // carry flag changes and deletions (mailmig sync)
  bool delete_removed = false;   // sync --delete: remove from the target what the source no longer has
  bool refuse_nonempty = false;  // `copy`: never append into a folder holding mail this run does not know
};

// A source flag change to apply to a copied message once the folder's appends are done.
struct FlagChange {
  MessageKey key;
  std::uint32_t uid = 0;
  std::optional<MessageFlags> before;  // unknown for messages copied before schema 2
  MessageFlags after;
};

// What to do with one scanned source message.
struct MessageAction {
  enum class Kind : std::uint8_t {
    Already,  // the state has it: at most note its source UID and flag change
    New,      // not in the state: look for it on the target, else append it
  };
  Kind kind = Kind::New;
  bool note_source_uid = false;  // Already: found by content; its source UID is recorded now
  // Already, sync: the source changed its flags since it was copied.
  std::optional<FlagChange> flag_change;
  bool flags_unapplied = false;  // changed, but the target never told its UID (no UIDPLUS)
  bool flags_unknown = false;    // the row holds no flags (copied before schema 2)
};

// `source_uid`: the message's UID when the source keeps them under a UIDVALIDITY.
MessageAction plan_message(DoneSet& done, const MessageInfo& message, const MessageKey& key,
                           std::optional<std::uint32_t> source_uid, const PlanOptions& options);

// A new message the target already holds (found by content): recorded with the
// target's flags; a sync then applies the source's difference.
struct Adoption {
  PendingMessage record;
  std::uint32_t uid = 0;
  std::optional<FlagChange> flag_change;
};
Adoption plan_adoption(PendingMessage record, const TargetContents::Found& stored,
                       const PlanOptions& options);

// Whether the target folder must be read before a message is appended: it
// holds more than the state accounts for (copies made by another run).
bool must_read_target(std::uint64_t target_messages, std::size_t known);

// Why nothing may be appended into the folder (`copy` into a folder holding
// mail it does not know), or nothing.
std::optional<std::string> refusal_to_append(const PlanOptions& options, std::uint64_t target_messages,
                                             std::size_t known, const std::string& target_name);

// Flags to add and remove on the target for one message.
struct FlagDelta {
  Flags add = 0;
  Flags remove = 0;
  std::vector<std::string> add_keywords;
  std::vector<std::string> remove_keywords;
  [[nodiscard]] bool empty() const {
    return add == 0 && remove == 0 && add_keywords.empty() && remove_keywords.empty();
  }
};

// The delta from `before` to `after` (keywords sorted): a flag set on the
// target meanwhile survives unless the source changed that same flag.
FlagDelta flag_delta(const MessageFlags& before, const MessageFlags& after);

// Target UIDs whose current flags must be read: changes whose earlier source flags are unknown.
std::set<std::uint32_t> uids_without_known_flags(const std::vector<FlagChange>& changes);

// The flags a change is taken from: the recorded ones, or for rows without
// them what the target holds (none of its keywords removed, only the source's
// missing ones added). Nothing when the message is gone from the target.
std::optional<MessageFlags> flags_before(const FlagChange& change,
                                         const std::map<std::uint32_t, MessageFlags>& target_flags);

// What to do about the messages the state has and the source scan did not see.
struct DeletionPlan {
  std::uint64_t deleted_on_source = 0;
  bool held_back = false;      // the scan was not clean: nothing is deleted
  bool remove = false;         // --delete and allowed
  bool confirm_first = false;  // a live source: a second scan must agree first
  std::string note;            // why deletions were held back
};
DeletionPlan plan_deletions(const std::vector<DoneMessage>& gone, bool scan_clean, bool live_source,
                            const PlanOptions& options);

// Of the gone rows, those removable by UID (and their keys), and how many
// cannot be addressed (the target never told their UIDs: no UIDPLUS).
struct Removal {
  std::vector<std::uint32_t> uids;
  std::vector<MessageKey> keys;
  std::size_t unknown = 0;
};
Removal plan_removal(const std::vector<DoneMessage>& gone);

// Folders the state knows that the source no longer lists (their copied
// messages were deleted on the source).
std::vector<FolderRecord> vanished_folders(std::vector<FolderRecord> records,
                                           const std::set<std::string>& source_folders);

// "a; b" without empty parts.
std::string join_notes(const std::string& a, const std::string& b);

}  // namespace mailmig
