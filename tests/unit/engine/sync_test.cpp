// The stage-2 sync logic of the engine (migrate_account with sync) against an
// in-memory source and target: flag deltas, deletion safety, dry runs that
// touch nothing, naming, hooks, and states from before flags were recorded.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/string_reader.h"
#include "common/temp_tree.h"
#include "core/crlf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "engine/fakes.h"
#include "engine/migrate.h"

namespace mailmig {
namespace {

using testing::TempTree;

using namespace mailmig::fakes;  // NOLINT(google-build-using-namespace): the shared test doubles

// ---- fixture ------------------------------------------------------------------

class Sync : public ::testing::Test {
 protected:
  AccountResult run(MigrateOptions options) {
    options.reconnect.backoff = std::chrono::milliseconds(1);
    ProblemSink sink;
    const AccountInfo account = FakeSource::account();
    AccountResult r = migrate_account(source, account, target, state, options, sink);
    problems = sink.snapshot();
    return r;
  }
  AccountResult sync(bool delete_removed = false) {
    return run(MigrateOptions{.sync = true, .delete_removed = delete_removed});
  }
  AccountResult dry_sync(bool delete_removed = false) {
    return run(MigrateOptions{.dry_run = true, .sync = true, .delete_removed = delete_removed});
  }
  TargetMailbox& box(const std::string& folder, const std::string& account = "John@d.example") {
    return target.accounts[account][folder];
  }
  static const FolderResult& folder(const AccountResult& r, const std::string& name) {
    for (const FolderResult& f : r.folders) {
      if (f.name == name) return f;
    }
    throw std::runtime_error("no folder " + name);
  }

  TempTree tmp;
  FakeSource source;
  FakeTarget target;
  State state{tmp.path("state.sqlite")};
  std::vector<Problem> problems;
};

void expect_no_op(const AccountResult& r) {
  EXPECT_EQ("done", r.status) << r.note;
  EXPECT_EQ(0U, r.copied);
  EXPECT_EQ(0U, r.flag_changes);
  EXPECT_EQ(0U, r.deleted_on_source);
  EXPECT_EQ(0U, r.removed);
}

TEST_F(Sync, CopiesNewMessagesThenIsANoOp) {
  source.folders["INBOX"].messages = {msg(1, kSeen), msg(2), msg(2)};  // two identical: ordinals 0 and 1
  AccountResult r = sync();
  EXPECT_EQ(3U, r.copied);
  EXPECT_EQ(3U, box("INBOX").messages.size());

  source.folders["INBOX"].messages.push_back(msg(3));
  r = sync();
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(3U, r.already);
  EXPECT_EQ(4U, box("INBOX").messages.size());

  const std::uint64_t appends = target.log.appends;
  expect_no_op(sync());
  EXPECT_EQ(appends, target.log.appends);
  EXPECT_TRUE(target.log.flag_calls.empty());
  EXPECT_TRUE(target.log.removals.empty());
  EXPECT_TRUE(problems.empty());
}

TEST_F(Sync, ASourceThatKeepsUidsIsNotReadAgain) {
  SourceFolder& inbox = source.folders["INBOX"];
  inbox.uidvalidity = 7;
  inbox.messages = {msg(1, kSeen), msg(2), msg(2)};
  for (std::uint32_t i = 0; i < 3; ++i) inbox.messages[i].uid = 10 + i;
  sync();
  EXPECT_EQ(3U, box("INBOX").messages.size());

  // A flag change, and a new message identical to an old one (a new UID).
  source.folders["INBOX"].messages[0].flags = kSeen | kFlagged;
  source.folders["INBOX"].messages.push_back(msg(2));
  source.folders["INBOX"].messages.back().uid = 20;
  g_opens = 0;
  AccountResult r = sync();
  EXPECT_EQ(1U, r.copied);  // the third copy of msg(2): ordinal 2, not mistaken for a known one
  EXPECT_EQ(1U, r.flag_changes);
  EXPECT_EQ(2, g_opens);  // only the new message: hashed once, sent once
  EXPECT_EQ(4U, box("INBOX").messages.size());

  // The source folder was recreated (new UIDVALIDITY): the content decides, nothing is copied twice.
  source.folders["INBOX"].uidvalidity = 8;
  g_opens = 0;
  expect_no_op(sync());
  EXPECT_EQ(4, g_opens);
  g_opens = 0;
  expect_no_op(sync());  // and the new UIDs were recorded
  EXPECT_EQ(0, g_opens);
}

TEST_F(Sync, AppliesOnlyTheFlagDelta) {
  source.folders["INBOX"].messages = {msg(1, kSeen, {"$Work"}), msg(2, kSeen | kFlagged)};
  sync();
  // The user answers message 1 on the target meanwhile: the sync must leave that.
  box("INBOX").messages[0].flags |= kAnswered;
  source.folders["INBOX"].messages[0] = msg(1, kFlagged, {"$Home"});
  source.folders["INBOX"].messages[1] = msg(2, kSeen);
  AccountResult r = sync();
  EXPECT_EQ(2U, r.flag_changes);
  EXPECT_EQ(0U, r.copied);
  ASSERT_EQ(2U, target.log.flag_calls.size());
  EXPECT_EQ("INBOX 1 +F -S +$Home -$Work", target.log.flag_calls[0]);
  EXPECT_EQ("INBOX 2 + -F", target.log.flag_calls[1]);
  EXPECT_EQ(kFlagged | kAnswered, box("INBOX").messages[0].flags);
  EXPECT_EQ(std::vector<std::string>{"$Home"}, box("INBOX").messages[0].keywords);

  target.log.flag_calls.clear();
  expect_no_op(sync());
  EXPECT_TRUE(target.log.flag_calls.empty());
}

TEST_F(Sync, MigrateDoesNotSyncFlagsOrDeletions) {
  source.folders["INBOX"].messages = {msg(1), msg(2)};
  run(MigrateOptions{});
  source.folders["INBOX"].messages = {msg(1, kSeen)};
  const AccountResult r = run(MigrateOptions{});
  EXPECT_EQ(0U, r.flag_changes);
  EXPECT_TRUE(target.log.flag_calls.empty());
  EXPECT_TRUE(target.log.removals.empty());
}

TEST_F(Sync, DeletionsAreReportedAndRemovedOnlyWithDelete) {
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  sync();
  // Mail that reached the target directly is not ours: never removed.
  box("INBOX").messages.push_back(TargetMessage{.uid = box("INBOX").uidnext++, .sha256 = "direct"});
  source.folders["INBOX"].messages = {msg(1), msg(3)};

  AccountResult r = sync();
  EXPECT_EQ(1U, r.deleted_on_source);
  EXPECT_EQ(0U, r.removed);
  EXPECT_TRUE(target.log.removals.empty());
  EXPECT_EQ(4U, box("INBOX").messages.size());

  r = sync(true);
  EXPECT_EQ(1U, r.deleted_on_source);
  EXPECT_EQ(1U, r.removed);
  EXPECT_EQ(std::vector<std::string>{"INBOX 2"}, target.log.removals);
  ASSERT_EQ(3U, box("INBOX").messages.size());
  EXPECT_EQ("direct", box("INBOX").messages.back().sha256);

  expect_no_op(sync(true));
  EXPECT_EQ(1U, target.log.removals.size());
}

TEST_F(Sync, NeverDeletesWhenTheSourceFolderHadProblems) {
  source.folders["INBOX"].messages = {msg(1), msg(2)};
  sync();
  source.folders["INBOX"] = SourceFolder{.messages = {msg(1)}, .broken = true};
  const AccountResult r = sync(true);
  EXPECT_EQ(1U, r.deleted_on_source);
  EXPECT_EQ(0U, r.removed);
  EXPECT_TRUE(target.log.removals.empty());
  EXPECT_NE(std::string::npos, folder(r, "INBOX").note.find("nothing is deleted")) << folder(r, "INBOX").note;
  EXPECT_EQ(2U, box("INBOX").messages.size());
}

// A running server's store: a message the first scan missed (the mailbox was
// being rewritten) is back in the confirming second scan and must stay.
TEST_F(Sync, ALiveStoreConfirmsDeletionsWithASecondScan) {
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  sync();
  source.folders["INBOX"].messages = {msg(1)};
  int opens = 0;
  source.on_open = [&](SourceFolders& folders) {
    if (++opens == 2) folders["INBOX"].messages = {msg(1), msg(2)};  // msg 2 reappears; msg 3 is really gone
  };
  const AccountResult r = run(MigrateOptions{.sync = true, .delete_removed = true, .live_source = true});
  EXPECT_EQ(2, opens);
  EXPECT_EQ(2U, r.deleted_on_source);
  EXPECT_EQ(1U, r.removed);
  EXPECT_EQ(std::vector<std::string>{"INBOX 3"}, target.log.removals);
}

TEST_F(Sync, AVanishedFolderIsADeletionButTheTargetFolderStays) {
  source.folders["INBOX"].messages = {msg(1)};
  source.folders["Old"].messages = {msg(2), msg(3)};
  sync();
  source.folders.erase("Old");

  AccountResult r = sync();
  EXPECT_EQ(2U, folder(r, "Old").deleted_on_source);
  EXPECT_TRUE(folder(r, "Old").vanished);
  EXPECT_TRUE(target.log.removals.empty());

  r = sync(true);
  EXPECT_EQ(2U, folder(r, "Old").removed);
  EXPECT_TRUE(box("Old").messages.empty());
  EXPECT_EQ(1U, target.accounts["John@d.example"].count("Old"));
  expect_no_op(sync(true));
}

TEST_F(Sync, DryRunTouchesNothingAndCountsEverything) {
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  sync();
  source.folders["INBOX"].messages = {msg(1, kSeen), msg(3), msg(4), msg(5)};
  const auto before = state.done_messages("John@d.example", "INBOX");
  target.log = {};

  AccountResult r = dry_sync(true);
  const FolderResult& f = folder(r, "INBOX");
  EXPECT_EQ(2U, f.would_copy);
  EXPECT_EQ(1U, f.flag_changes);
  EXPECT_EQ(1U, f.deleted_on_source);
  EXPECT_EQ(0U, r.copied);
  EXPECT_TRUE(target.log.logins.empty());  // the target is not even logged into
  EXPECT_EQ(0U, target.log.appends);
  EXPECT_EQ(3U, box("INBOX").messages.size());
  const auto after = state.done_messages("John@d.example", "INBOX");
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].key, after[i].key);
    EXPECT_EQ(before[i].flags, after[i].flags);
  }
  EXPECT_EQ("done", state.account_status("John@d.example"));
}

TEST_F(Sync, NamingRenamesTheAccountAndResolvesFolderCollisions) {
  source.folders["INBOX"].messages = {msg(1)};
  source.folders["Work"].messages = {msg(2)};
  source.folders["WORK"].messages = {msg(3)};
  MigrateOptions options{.sync = true};
  options.naming = NamingRules{.rename = {{"john@d.example", "jsmith@new.example"}}, .lowercase = true};
  AccountResult r = run(options);
  EXPECT_EQ("done", r.status) << r.note;
  EXPECT_EQ("jsmith@new.example", r.target_account);
  EXPECT_EQ(std::vector<std::string>{"jsmith@new.example"}, target.log.logins);
  auto& folders = target.accounts["jsmith@new.example"];
  ASSERT_EQ(3U, folders.size());
  EXPECT_EQ(1U, folders.count("work"));
  EXPECT_EQ(1U, folders.count("work~2"));
  const FolderResult& renamed = folder(r, folder(r, "WORK").target_name == "work~2" ? "WORK" : "Work");
  EXPECT_FALSE(renamed.rename_note.empty());
  // The state stays keyed by the source account; a re-run keeps the names.
  EXPECT_EQ(3U, state.folders("John@d.example").size());
  source.folders["work"].messages = {msg(4)};  // a later folder never takes a name already given
  r = run(options);
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(4U, target.accounts["jsmith@new.example"].size());
  EXPECT_EQ(1U, target.accounts["jsmith@new.example"].count("work~3"));
}

TEST_F(Sync, WithoutUidsFlagChangesAreReportedOncePerFolder) {
  target.uidplus = false;
  source.folders["INBOX"].messages = {msg(1), msg(2)};
  sync();
  source.folders["INBOX"].messages = {msg(1, kSeen), msg(2, kSeen)};
  const AccountResult r = sync(true);
  EXPECT_EQ(2U, folder(r, "INBOX").flags_unapplied);
  EXPECT_TRUE(target.log.flag_calls.empty());
  ASSERT_EQ(1U, problems.size());
  EXPECT_NE(std::string::npos, problems[0].message.find("UIDPLUS"));
}

// Rows copied by a mailmig before schema 2 have no recorded flags: the delta
// is taken against the target's flags, and no target keyword is removed.
TEST_F(Sync, RowsWithoutRecordedFlagsAreComparedWithTheTarget) {
  source.folders["INBOX"].messages = {msg(1, kSeen, {"a"}), msg(2, kSeen)};
  sync();
  {
    SQLite::Database db(state.path(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE messages SET flags=NULL, keywords=NULL");
  }
  box("INBOX").messages[0].keywords.push_back("$ServerLabel");
  source.folders["INBOX"].messages = {msg(1, kFlagged, {"a", "b"}), msg(2, kSeen)};
  const AccountResult r = sync();
  EXPECT_EQ(1U, r.flag_changes);
  EXPECT_EQ(std::vector<std::string>{"INBOX 1 +F -S +b"}, target.log.flag_calls);
  target.log.flag_calls.clear();
  expect_no_op(sync());  // recorded now
  EXPECT_TRUE(target.log.flag_calls.empty());
}

TEST_F(Sync, ABeforeHookRefusalSkipsTheAccount) {
  source.folders["INBOX"].messages = {msg(1)};
  MigrateOptions options{.sync = true};
  options.hook_before_account = "echo \"on hold failed for $MAILMIG_EMAIL\"; exit 3";
  options.hook_after_account = "touch " + tmp.path("after-ran");
  const AccountResult r = run(options);
  EXPECT_EQ("skipped", r.status);
  EXPECT_NE(std::string::npos, r.note.find("3")) << r.note;
  EXPECT_NE(std::string::npos, r.note.find("on hold failed for John@d.example")) << r.note;
  EXPECT_TRUE(target.log.logins.empty());
  EXPECT_FALSE(std::filesystem::exists(tmp.path("after-ran")));
  EXPECT_FALSE(state.account_status("John@d.example"));
}

TEST_F(Sync, TheAfterHookSeesTheOutcomeAndItsFailureFailsTheAccount) {
  source.folders["INBOX"].messages = {msg(1), msg(2)};
  MigrateOptions options{.sync = true};
  options.naming.lowercase = true;
  options.hook_after_account =
      "env | grep -E '^MAILMIG_(ACCOUNT|COPIED|DOMAIN|EMAIL|PHASE|STATUS|TARGET_ACCOUNT|TARGET_DOMAIN)=' | "
      "sort > " +
      tmp.path("env") + "; exit 1";
  const AccountResult r = run(options);
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("after-account hook")) << r.note;
  std::ifstream in(tmp.path("env"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(
      "MAILMIG_ACCOUNT=John\nMAILMIG_COPIED=2\nMAILMIG_DOMAIN=d.example\nMAILMIG_EMAIL=John@d.example\n"
      "MAILMIG_PHASE=after\nMAILMIG_STATUS=done\nMAILMIG_TARGET_ACCOUNT=john\nMAILMIG_TARGET_DOMAIN=d."
      "example\n",
      text.str());
  EXPECT_EQ("failed", state.account_status("John@d.example"));
}

// ---- no duplicates, whatever the state says ------------------------------------

// A lost (or other) state: what is on the target is found by content and
// recorded, nothing is appended again, and the cost is what the target held.
TEST_F(Sync, ALostStateNeverDuplicates) {
  source.folders["INBOX"].messages = {msg(1, kSeen), msg(2), msg(2), msg(3)};
  run(MigrateOptions{});
  ASSERT_EQ(4U, box("INBOX").messages.size());
  source.folders["INBOX"].messages.push_back(msg(4));

  State fresh{tmp.path("other.sqlite")};
  ProblemSink sink;
  MigrateOptions options;
  const AccountResult r = migrate_account(source, FakeSource::account(), target, fresh, options, sink);
  EXPECT_EQ("done", r.status) << r.note;
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(4U, r.found_on_target);
  EXPECT_EQ(4U, folder(r, "INBOX").target_hashed);
  EXPECT_EQ(5U, box("INBOX").messages.size());
  EXPECT_EQ(5U, fresh.done_messages("John@d.example", "INBOX").size());

  // Now the fresh state knows it all: no target body is read again.
  target.log.bodies_read = 0;
  const AccountResult again = migrate_account(source, FakeSource::account(), target, fresh, options, sink);
  EXPECT_EQ(0U, again.copied);
  EXPECT_EQ(5U, again.already);
  EXPECT_EQ(0U, target.log.bodies_read);
}

// Mail delivered to the target directly is read once to compare, never adopted
// as a source message it is not, and the source message is still copied.
TEST_F(Sync, OnlyTheSameContentIsTakenForACopy) {
  box("INBOX").messages.push_back(TargetMessage{.uid = 1, .sha256 = "direct delivery"});
  box("INBOX").uidnext = 2;
  source.folders["INBOX"].messages = {msg(1)};
  const AccountResult r = run(MigrateOptions{});
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(0U, r.found_on_target);
  EXPECT_EQ(2U, box("INBOX").messages.size());
}

// The same mail from another source (a backup, then the live host), one
// state: a sync applies the live flags to the copies the backup made, and a
// message only the backup had is never taken for a deletion.
TEST_F(Sync, AnotherSourceOfTheSameMailSharesTheStateSafely) {
  state.set_source("archive:/backup.tgz");
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  run(MigrateOptions{});
  ASSERT_EQ(3U, box("INBOX").messages.size());

  state.set_source("maildir+ssh://old/home");
  source.folders["INBOX"].messages = {msg(1, kSeen), msg(3), msg(4)};
  // The dry run says what the run does: one to copy, one flag change, the
  // backup's message 2 kept (not a deletion).
  const AccountResult plan = dry_sync(true);
  EXPECT_EQ(1U, folder(plan, "INBOX").would_copy);
  EXPECT_EQ(1U, plan.flag_changes);
  EXPECT_EQ(0U, folder(plan, "INBOX").deleted_on_source);
  EXPECT_EQ(1U, folder(plan, "INBOX").other_source_kept);
  const AccountResult r = sync(true);
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(2U, r.already);
  EXPECT_EQ(1U, r.flag_changes);
  EXPECT_EQ(0U, r.removed);
  EXPECT_EQ(1U, folder(r, "INBOX").other_source_kept);
  EXPECT_EQ(4U, box("INBOX").messages.size());
  EXPECT_TRUE(target.log.removals.empty());
  expect_no_op(sync(true));
}

// A copy found on the target with other flags: a sync makes them the source's.
TEST_F(Sync, FoundCopiesGetTheSourceFlagsOnSync) {
  source.folders["INBOX"].messages = {msg(1), msg(2)};
  run(MigrateOptions{});
  State fresh{tmp.path("other.sqlite")};
  source.folders["INBOX"].messages = {msg(1, kSeen | kFlagged), msg(2)};
  ProblemSink sink;
  const AccountResult r =
      migrate_account(source, FakeSource::account(), target, fresh, MigrateOptions{.sync = true}, sink);
  EXPECT_EQ(0U, r.copied);
  EXPECT_EQ(2U, r.found_on_target);
  EXPECT_EQ(1U, r.flag_changes);
  EXPECT_EQ(kSeen | kFlagged, box("INBOX").messages[0].flags);
}

// Another run holds the target account: this one touches nothing.
TEST_F(Sync, AnAccountClaimedByAnotherRunIsLeftAlone) {
  source.folders["INBOX"].messages = {msg(1)};
  MigrateOptions options;
  options.claim_account = [](const std::string&, std::string& holder) -> std::shared_ptr<void> {
    holder = "pid 42: mailmig run";
    return nullptr;
  };
  const AccountResult r = run(options);
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("pid 42")) << r.note;
  EXPECT_TRUE(target.log.logins.empty());
  EXPECT_EQ(0U, target.log.appends);
}

// ---- failures keep their scope ----------------------------------------------------

TEST_F(Sync, ARefusedFolderIsReportedAndTheNextFolderIsCopied) {
  source.folders["A"].messages = {msg(1)};
  source.folders["Bad"].messages = {msg(2)};
  source.folders["C"].messages = {msg(3)};
  target.refuse["Bad"] = Scope::Folder;
  AccountResult r = run(MigrateOptions{});
  EXPECT_EQ("failed", r.status);
  EXPECT_EQ(2U, r.copied);
  EXPECT_EQ(1U, box("A").messages.size());
  EXPECT_EQ(1U, box("C").messages.size());
  EXPECT_EQ(1U, target.log.logins.size());  // no reconnect for a refusal
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Folder, problems[0].scope);
  EXPECT_EQ("Bad", problems[0].folder);
  EXPECT_NE(std::string::npos, folder(r, "Bad").note.find("FAILED")) << folder(r, "Bad").note;

  target.refuse.clear();  // the administrator fixed it: the same command finishes
  r = run(MigrateOptions{});
  EXPECT_EQ("done", r.status) << r.note;
  EXPECT_EQ(1U, r.copied);
  EXPECT_EQ(1U, box("Bad").messages.size());
}

TEST_F(Sync, AnAccountScopedFailureEndsThatAccountAtOnce) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  target.refuse["A"] = Scope::Account;
  const AccountResult r = run(MigrateOptions{});
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("quota")) << r.note;
  EXPECT_EQ(1U, target.log.logins.size());
  EXPECT_EQ(0U, target.log.appends);
  EXPECT_EQ(std::vector<std::string>{"A"}, target.log.opened_folders);
}

TEST_F(Sync, ADroppedConnectionIsReopenedAndTheRunResumes) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  target.refuse["B"] = std::nullopt;  // a reset while opening B, once
  const AccountResult r = run(MigrateOptions{});
  EXPECT_EQ("done", r.status) << r.note;
  EXPECT_EQ(2U, target.log.logins.size());
  EXPECT_EQ(2U, r.copied + r.already);
  EXPECT_EQ(1U, box("A").messages.size());
  EXPECT_EQ(1U, box("B").messages.size());
}

}  // namespace
}  // namespace mailmig
