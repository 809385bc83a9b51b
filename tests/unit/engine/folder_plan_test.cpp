// The planner as pure functions: state rows + a scanned message + what the
// target holds -> what to do.
#include "engine/folder_plan.h"

#include <gtest/gtest.h>

namespace mailmig {
namespace {

MessageKey key(const char* sha, std::uint32_t ordinal = 0) {
  return MessageKey{sha, ordinal};
}

DoneMessage row(const char* sha, std::optional<std::uint32_t> uid, std::optional<MessageFlags> flags,
                std::optional<std::uint32_t> source_uid = std::nullopt) {
  return DoneMessage{
      .key = key(sha), .size = 10, .uid = uid, .flags = std::move(flags), .source_uid = source_uid};
}

MessageInfo message(Flags flags = 0, std::vector<std::string> keywords = {}) {
  return MessageInfo{.size = 10, .flags = flags, .keywords = std::move(keywords)};
}

TEST(FolderPlan, AMessageTheStateDoesNotKnowIsNew) {
  DoneSet done({row("a", 1, MessageFlags{})});
  EXPECT_EQ(MessageAction::Kind::New, plan_message(done, message(), key("b"), std::nullopt, {}).kind);
  EXPECT_EQ(MessageAction::Kind::New, plan_message(done, message(), key("a", 1), std::nullopt, {}).kind);
}

TEST(FolderPlan, AKnownMessageIsAlreadyThereAndItsSourceUidNotedWhenNew) {
  DoneSet done({row("a", 1, MessageFlags{}, 5), row("b", 2, MessageFlags{})});
  const MessageAction same = plan_message(done, message(), key("a"), 5, {});
  EXPECT_EQ(MessageAction::Kind::Already, same.kind);
  EXPECT_FALSE(same.note_source_uid);
  EXPECT_FALSE(same.flag_change);  // migrate: flags are not synced
  EXPECT_TRUE(plan_message(done, message(), key("b"), 9, {}).note_source_uid);
  // Seen rows are not deletions; unseen ones are.
  DoneSet partly({row("a", 1, MessageFlags{}), row("b", 2, MessageFlags{})});
  plan_message(partly, message(), key("a"), std::nullopt, {});
  ASSERT_EQ(1U, partly.unseen().size());
  EXPECT_EQ("b", partly.unseen()[0].key.sha256);
}

TEST(FolderPlan, ASyncNotesFlagChangesOnlyWhereTheTargetUidIsKnown) {
  const PlanOptions sync{.sync = true};
  DoneSet done(
      {row("a", 1, MessageFlags{}), row("b", std::nullopt, MessageFlags{}), row("c", 3, std::nullopt)});
  const MessageAction a = plan_message(done, message(kSeen), key("a"), std::nullopt, sync);
  ASSERT_TRUE(a.flag_change);
  EXPECT_EQ(1U, a.flag_change->uid);
  EXPECT_EQ(kSeen, a.flag_change->after.flags);
  const MessageAction b = plan_message(done, message(kSeen), key("b"), std::nullopt, sync);
  EXPECT_FALSE(b.flag_change);
  EXPECT_TRUE(b.flags_unapplied);  // no UIDPLUS: cannot be addressed
  const MessageAction c = plan_message(done, message(kSeen), key("c"), std::nullopt, sync);
  EXPECT_TRUE(c.flags_unknown);  // copied before flags were recorded: compared with the target's
  ASSERT_TRUE(c.flag_change);
  EXPECT_FALSE(c.flag_change->before);
  DoneSet unchanged({row("a", 1, MessageFlags{.flags = kSeen})});
  EXPECT_FALSE(plan_message(unchanged, message(kSeen), key("a"), std::nullopt, sync).flag_change);
}

TEST(FolderPlan, AnAdoptedMessageTakesTheTargetsFlagsAndASyncAppliesTheSources) {
  const PendingMessage record{key("a"), 10, MessageFlags{.flags = kSeen}, std::nullopt};
  const TargetContents::Found stored{.uid = 7, .flags = MessageFlags{.flags = kFlagged}};
  const Adoption migrate = plan_adoption(record, stored, {});
  EXPECT_EQ(7U, migrate.uid);
  EXPECT_EQ(kFlagged, migrate.record.flags.flags);
  EXPECT_FALSE(migrate.flag_change);
  const Adoption sync = plan_adoption(record, stored, PlanOptions{.sync = true});
  ASSERT_TRUE(sync.flag_change);
  EXPECT_EQ(kSeen, sync.flag_change->after.flags);
}

TEST(FolderPlan, FlagDeltasKeepWhatTheTargetChangedMeanwhile) {
  const FlagDelta d = flag_delta(MessageFlags{.flags = kSeen, .keywords = {"a", "b"}},
                                 MessageFlags{.flags = kFlagged, .keywords = {"b", "c"}});
  EXPECT_EQ(kFlagged, d.add);
  EXPECT_EQ(kSeen, d.remove);
  EXPECT_EQ(std::vector<std::string>{"c"}, d.add_keywords);
  EXPECT_EQ(std::vector<std::string>{"a"}, d.remove_keywords);
  EXPECT_TRUE(flag_delta(MessageFlags{.flags = kSeen}, MessageFlags{.flags = kSeen}).empty());

  // Unknown earlier flags: taken from the target, none of its keywords removed.
  const FlagChange change{.key = key("a"), .uid = 4, .after = MessageFlags{.keywords = {"x"}}};
  EXPECT_EQ(std::set<std::uint32_t>{4}, uids_without_known_flags({change}));
  const std::map<std::uint32_t, MessageFlags> target{
      {4, MessageFlags{.flags = kSeen, .keywords = {"x", "y"}}}};
  const auto before = flags_before(change, target);
  ASSERT_TRUE(before);
  EXPECT_EQ(kSeen, before->flags);
  EXPECT_EQ(std::vector<std::string>{"x"}, before->keywords);
  EXPECT_FALSE(flags_before(change, {}));  // gone from the target
}

TEST(FolderPlan, DeletionsOnlyFromACleanScanWithDeleteAndConfirmedOnALiveSource) {
  const std::vector<DoneMessage> gone{row("a", 1, std::nullopt), row("b", std::nullopt, std::nullopt)};
  const PlanOptions keep{.sync = true};
  const PlanOptions remove{.sync = true, .delete_removed = true};
  EXPECT_FALSE(plan_deletions(gone, true, false, keep).remove);
  EXPECT_EQ(2U, plan_deletions(gone, true, false, keep).deleted_on_source);
  const DeletionPlan unclean = plan_deletions(gone, false, false, remove);
  EXPECT_TRUE(unclean.held_back);
  EXPECT_FALSE(unclean.remove);
  EXPECT_FALSE(unclean.note.empty());
  EXPECT_TRUE(plan_deletions(gone, true, false, remove).remove);
  EXPECT_FALSE(plan_deletions(gone, true, false, remove).confirm_first);
  EXPECT_TRUE(plan_deletions(gone, true, true, remove).confirm_first);
  EXPECT_FALSE(plan_deletions({}, true, false, remove).remove);

  const Removal removal = plan_removal(gone);
  EXPECT_EQ(std::vector<std::uint32_t>{1}, removal.uids);
  EXPECT_EQ(1U, removal.unknown);  // no UIDPLUS: cannot be removed
}

TEST(FolderPlan, CopyRefusesOnlyFoldersHoldingMailItDoesNotKnow) {
  const PlanOptions copy{.refuse_nonempty = true};
  EXPECT_FALSE(refusal_to_append(copy, 0, 0, "INBOX"));
  EXPECT_FALSE(refusal_to_append(copy, 3, 3, "INBOX"));  // its own, from before a reconnect
  const auto why = refusal_to_append(copy, 2, 0, "INBOX");
  ASSERT_TRUE(why);
  EXPECT_NE(std::string::npos, why->find("already holds 2 messages"));
  EXPECT_FALSE(refusal_to_append(PlanOptions{}, 2, 0, "INBOX"));  // migrate finds copies instead
  EXPECT_TRUE(must_read_target(2, 1));
  EXPECT_FALSE(must_read_target(1, 1));
}

TEST(FolderPlan, VanishedFoldersAreThoseTheSourceNoLongerLists) {
  const auto gone = vanished_folders({FolderRecord{.folder = "A"}, FolderRecord{.folder = "B"}}, {"A", "C"});
  ASSERT_EQ(1U, gone.size());
  EXPECT_EQ("B", gone[0].folder);
  EXPECT_EQ("a; b", join_notes("a", "b"));
  EXPECT_EQ("b", join_notes("", "b"));
}

}  // namespace
}  // namespace mailmig
