#include "engine/state.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

using testing::TempTree;

const MessageKey kA{"aaaa", 0};
const MessageKey kA2{"aaaa", 1};
const MessageKey kB{"bbbb", 0};

MessageFlags flags(Flags f, std::vector<std::string> keywords = {}) {
  return MessageFlags{.flags = f, .keywords = std::move(keywords)};
}

const DoneMessage* find(const std::vector<DoneMessage>& rows, const MessageKey& key) {
  for (const DoneMessage& row : rows) {
    if (row.key == key) return &row;
  }
  return nullptr;
}

TEST(MessageFlags, OfSortsAndDeduplicatesKeywords) {
  const MessageInfo m{.flags = kSeen, .keywords = {"$Label2", "$Label1", "$Label2"}};
  EXPECT_EQ(flags(kSeen, {"$Label1", "$Label2"}), MessageFlags::of(m));
}

TEST(State, PendingThenDoneKeepsFlagsAndUid) {
  TempTree tmp;
  State state(tmp.path("s.sqlite"));
  state.mark_pending("a@d", "INBOX",
                     {PendingMessage{kA, 10, flags(kSeen | kFlagged, {"$Work", "Later"})},
                      PendingMessage{kB, 20, flags(0)}});
  state.mark_done("a@d", "INBOX", kA, 7);
  state.flush();
  const auto rows = state.done_messages("a@d", "INBOX");
  ASSERT_EQ(1U, rows.size());
  EXPECT_EQ(kA, rows[0].key);
  EXPECT_EQ(7U, rows[0].uid);
  ASSERT_TRUE(rows[0].flags);
  EXPECT_EQ(flags(kSeen | kFlagged, {"$Work", "Later"}), *rows[0].flags);
  EXPECT_EQ(std::vector<MessageKey>{kB}, state.pending("a@d", "INBOX"));
}

TEST(State, SetFlagsAndForgetMessages) {
  TempTree tmp;
  State state(tmp.path("s.sqlite"));
  state.mark_pending("a@d", "F", {PendingMessage{kA, 1, flags(0)}, PendingMessage{kA2, 1, flags(0)}});
  state.mark_done("a@d", "F", kA, 1);
  state.mark_done("a@d", "F", kA2, 2);
  state.set_flags("a@d", "F", kA, flags(kAnswered, {"x"}));
  state.flush();
  auto rows = state.done_messages("a@d", "F");
  ASSERT_EQ(2U, rows.size());
  EXPECT_EQ(flags(kAnswered, {"x"}), *find(rows, kA)->flags);
  EXPECT_EQ(flags(0), *find(rows, kA2)->flags);

  state.forget_messages("a@d", "F", {kA});
  rows = state.done_messages("a@d", "F");
  ASSERT_EQ(1U, rows.size());
  EXPECT_EQ(kA2, rows[0].key);
}

TEST(State, FolderRecordsKeepTheNeutralTargetName) {
  TempTree tmp;
  State state(tmp.path("s.sqlite"));
  state.set_folder_mark("a@d", "Work", "work", "work", FolderMark{5, 1});
  state.set_folder_mark("a@d", "WORK", "work~2", "work~2", FolderMark{6, 1});
  state.set_folder_mark("b@d", "Other", "Other", "Other", FolderMark{});
  const auto folders = state.folders("a@d");
  ASSERT_EQ(2U, folders.size());
  EXPECT_EQ("WORK", folders[0].folder);
  EXPECT_EQ("work~2", folders[0].target);
  EXPECT_EQ("Work", folders[1].folder);
  EXPECT_EQ("work", folders[1].target);
  EXPECT_EQ(5U, state.folder_mark("a@d", "Work").uidvalidity);
}

// A state written by a mailmig before schema 2 (stage 1 of a migration done
// with an earlier version) must keep working for the stage-2 sync.
TEST(State, UpgradesASchemaOneDatabase) {
  TempTree tmp;
  const std::string path = tmp.path("old.sqlite");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(R"SQL(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE accounts (account TEXT PRIMARY KEY, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        updated TEXT NOT NULL DEFAULT (datetime('now')));
      CREATE TABLE folders (account TEXT NOT NULL, folder TEXT NOT NULL, target_folder TEXT NOT NULL,
        uidvalidity INTEGER, uidnext INTEGER, PRIMARY KEY (account, folder));
      CREATE TABLE messages (account TEXT NOT NULL, folder TEXT NOT NULL, sha256 TEXT NOT NULL,
        ordinal INTEGER NOT NULL, size INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
        uid INTEGER, PRIMARY KEY (account, folder, sha256, ordinal)) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema', '1');
      INSERT INTO accounts(account, status) VALUES ('a@d', 'done');
      INSERT INTO folders VALUES ('a@d', 'INBOX', 'INBOX', 9, 3);
      INSERT INTO messages VALUES ('a@d', 'INBOX', 'aaaa', 0, 10, 'done', 1);
      INSERT INTO messages VALUES ('a@d', 'INBOX', 'bbbb', 0, 10, 'done', NULL);
    )SQL");
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds the current version and changes nothing
    State state(path);
    EXPECT_EQ("done", state.account_status("a@d"));
    const auto rows = state.done_messages("a@d", "INBOX");
    ASSERT_EQ(2U, rows.size());
    EXPECT_EQ(1U, find(rows, kA)->uid);
    EXPECT_FALSE(find(rows, kB)->uid);
    if (open == 0) {
      EXPECT_FALSE(find(rows, kA)->flags);  // unknown: copied before flags were recorded
      state.set_flags("a@d", "INBOX", kA, flags(kSeen));
      state.flush();
    } else {
      EXPECT_EQ(flags(kSeen), *find(rows, kA)->flags);
    }
    const auto folders = state.folders("a@d");
    ASSERT_EQ(1U, folders.size());
    EXPECT_EQ("", folders[0].target);
    EXPECT_EQ("INBOX", folders[0].target_display);
    EXPECT_FALSE(find(rows, kA)->source_uid);  // unknown before schema 3
    EXPECT_FALSE(state.folder_mark("a@d", "INBOX").source_uidvalidity);
    EXPECT_EQ(9U, state.folder_mark("a@d", "INBOX").uidvalidity);
    // Rows from before schema 4 count as the current source's.
    state.set_source("cgp:/store");
    EXPECT_FALSE(state.done_messages("a@d", "INBOX").front().other_source);
  }
  SQLite::Database db(path);
  EXPECT_EQ("4", db.execAndGet("SELECT value FROM meta WHERE key='schema'").getString());
}

TEST(State, RefusesAStateFromANewerVersion) {
  TempTree tmp;
  const std::string path = tmp.path("new.sqlite");
  { State state(path); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE meta SET value='99' WHERE key='schema'");
  }
  EXPECT_THROW(State{path}, std::runtime_error);
}

}  // namespace
}  // namespace mailmig
