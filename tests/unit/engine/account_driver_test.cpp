// Every failure branch of the account driver, against the shared failing
// fakes: each failure keeps its scope (message, folder, account), the run goes
// on where the scope allows, a lost connection is resumed without duplicates
// and given up on as the retry policy says.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "common/temp_tree.h"
#include "engine/copy.h"
#include "engine/fakes.h"
#include "engine/migrate.h"

namespace mailmig {
namespace {

using namespace mailmig::fakes;  // NOLINT(google-build-using-namespace): the shared test doubles
using testing::TempTree;

class Driver : public ::testing::Test {
 protected:
  AccountResult run(MigrateOptions options = {}, const AccountInfo& account = FakeSource::account()) {
    options.reconnect.backoff = std::chrono::milliseconds(1);
    options.reconnect.sleep = [this](std::chrono::milliseconds m) { slept.push_back(m); };
    ProblemSink sink;  // each run's own problems
    AccountResult r = migrate_account(source, account, target, state, options, sink);
    problems = sink.snapshot();
    return r;
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
  [[nodiscard]] std::size_t problems_of(Scope scope) const {
    return static_cast<std::size_t>(
        std::count_if(problems.begin(), problems.end(), [&](const Problem& p) { return p.scope == scope; }));
  }

  TempTree tmp;
  FakeSource source;
  FakeTarget target;
  State state{tmp.path("state.sqlite")};
  std::vector<Problem> problems;
  std::vector<std::chrono::milliseconds> slept;
};

TEST_F(Driver, ARefusedFolderInTheMiddleLeavesTheOtherFoldersCopied) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  source.folders["C"].messages = {msg(3), msg(4)};
  target.refuse["B"] = Scope::Folder;
  const AccountResult r = run();
  EXPECT_EQ("failed", r.status);
  EXPECT_EQ(3U, r.copied);
  EXPECT_EQ(1U, box("A").messages.size());
  EXPECT_EQ(2U, box("C").messages.size());
  EXPECT_TRUE(folder(r, "B").refused);
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Folder, problems[0].scope);
  EXPECT_EQ("B", problems[0].folder);
  EXPECT_EQ(1U, target.log.logins.size());  // a refusal is no lost connection
}

TEST_F(Driver, ARefusedMessageIsCountedAndTheNextOneIsCopied) {
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  target.faults.refuse_message[msg(2).body] = "";
  const AccountResult r = run();
  EXPECT_EQ("failed", r.status);
  EXPECT_EQ(2U, r.copied);
  EXPECT_EQ(1U, r.failed);
  EXPECT_EQ(2U, box("INBOX").messages.size());
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Message, problems[0].scope);
  EXPECT_EQ(100U, problems[0].offset.value_or(0));  // where in the source: the second message
  // The refused message is not recorded: the next run tries it again.
  target.faults.refuse_message.clear();
  const AccountResult again = run();
  EXPECT_EQ("done", again.status);
  EXPECT_EQ(1U, again.copied);
  EXPECT_EQ(3U, box("INBOX").messages.size());
}

TEST_F(Driver, AnAccountScopedFailureEndsTheAccountAtOnceAndTheNextAccountRuns) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  target.faults.refuse_message[msg(1).body] = "OVERQUOTA";
  const AccountResult r = run();
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("over quota")) << r.note;
  EXPECT_TRUE(box("B").messages.empty());  // nothing after the folder that hit the quota
  EXPECT_EQ(1U, problems_of(Scope::Account));

  // A CREATE refused with account scope: the same.
  target.faults.refuse_message.clear();
  target.refuse["A"] = Scope::Account;
  const AccountInfo other{.domain = "d.example", .name = "Mary"};
  const AccountResult second = run({}, other);
  EXPECT_EQ("failed", second.status);
  EXPECT_EQ(0U, second.copied);
  EXPECT_FALSE(target.accounts["Mary@d.example"].contains("B"));

  // The next account is not affected.
  target.refuse.clear();
  const AccountInfo third{.domain = "d.example", .name = "Paul"};
  const AccountResult next = run({}, third);
  EXPECT_EQ("done", next.status);
  EXPECT_EQ(2U, next.copied);
}

TEST_F(Driver, ADropIsReconnectedAndResumedWithoutDuplicates) {
  for (int i = 0; i < 7; ++i) source.folders["INBOX"].messages.push_back(msg(i));
  source.folders["Other"].messages = {msg(10), msg(11)};
  target.faults.drop_after_appends = 3;  // every connection breaks after 3 messages
  const AccountResult r = run();
  EXPECT_EQ("done", r.status) << r.note;
  // A folder cut by a drop is counted again from the state: what earlier
  // connections copied shows as already there.
  EXPECT_EQ(9U, r.copied + r.already);
  EXPECT_EQ(7U, box("INBOX").messages.size());
  EXPECT_EQ(2U, box("Other").messages.size());
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(3U, target.log.logins.size());  // each drop after progress: a new connection, not given up
  std::set<std::string> hashes;
  for (const TargetMessage& m : box("INBOX").messages) hashes.insert(m.sha256);
  EXPECT_EQ(7U, hashes.size());  // no duplicate

  target.faults.drop_after_appends.reset();
  const AccountResult again = run();
  EXPECT_EQ(0U, again.copied);
  EXPECT_EQ(9U, again.already);
}

TEST_F(Driver, DropsWithoutProgressAreGivenUpAfterThePolicysAttempts) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  target.always_drop.insert("B");
  MigrateOptions options;
  options.reconnect.attempts = 2;
  const AccountResult r = run(options);
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("gave up after 3 attempts")) << r.note;
  EXPECT_EQ(3U, target.log.logins.size());  // the first connection and two retries
  EXPECT_EQ(
      (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(1), std::chrono::milliseconds(2)}),
      slept);               // exponential backoff from the policy
  EXPECT_EQ(1U, r.copied);  // A is done and stays done
  EXPECT_EQ(1U, problems_of(Scope::Account));
}

TEST_F(Driver, ASourceThatGaveUpItsConnectionEndsTheAccountWithoutARetry) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  source.folders["B"].connection_lost = true;
  source.folders["C"].messages = {msg(3)};
  const AccountResult r = run();
  EXPECT_EQ("failed", r.status);
  EXPECT_NE(std::string::npos, r.note.find("source connection lost")) << r.note;
  EXPECT_EQ(1U, target.log.logins.size());  // the source's own retries are not retried again
  EXPECT_TRUE(slept.empty());
  EXPECT_TRUE(box("C").messages.empty());
}

TEST_F(Driver, AnUnreadableSourceMessageIsAMessageProblem) {
  source.folders["INBOX"].messages = {msg(1), msg(2), msg(3)};
  source.folders["INBOX"].messages[1].unreadable = true;
  const AccountResult r = run();
  EXPECT_EQ(2U, r.copied);
  EXPECT_EQ(1U, r.failed);
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Message, problems[0].scope);
  EXPECT_EQ("INBOX", problems[0].folder);
}

TEST_F(Driver, DeleteWithoutUidplusIsAFolderScopedProblem) {
  target.uidplus = false;
  source.folders["A"].messages = {msg(1), msg(2)};
  source.folders["B"].messages = {msg(3)};
  run(MigrateOptions{.sync = true});
  source.folders["A"].messages.pop_back();
  const AccountResult r = run(MigrateOptions{.sync = true, .delete_removed = true});
  EXPECT_EQ(1U, folder(r, "A").deleted_on_source);
  EXPECT_EQ(0U, folder(r, "A").removed);
  EXPECT_EQ(2U, box("A").messages.size());  // nothing removed without UIDs
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Folder, problems[0].scope);
  EXPECT_EQ("A", problems[0].folder);
  EXPECT_NE(std::string::npos, problems[0].message.find("no UIDPLUS"));
}

TEST_F(Driver, ASourceFolderProblemMeansNoDeletionsInThatFolder) {
  source.folders["A"].messages = {msg(1), msg(2)};
  source.folders["B"].messages = {msg(3), msg(4)};
  run(MigrateOptions{.sync = true});
  source.folders["A"].messages.pop_back();
  source.folders["A"].broken = true;  // the scan reports a problem
  source.folders["B"].messages.pop_back();
  const AccountResult r = run(MigrateOptions{.sync = true, .delete_removed = true});
  EXPECT_EQ(0U, folder(r, "A").removed);
  EXPECT_EQ(2U, box("A").messages.size());
  EXPECT_EQ(1U, folder(r, "B").removed);  // the clean folder is settled
  EXPECT_EQ(1U, box("B").messages.size());

  // A folder the listing could not read is no vanished folder: nothing removed.
  source.folders["A"].broken = false;
  source.unlisted = "B";
  const AccountResult unlisted = run(MigrateOptions{.sync = true, .delete_removed = true});
  EXPECT_EQ(1U, box("B").messages.size());
  EXPECT_EQ(0U, unlisted.removed - folder(unlisted, "A").removed);
}

// ---- copy: the same engine without persistent state --------------------------

class Copy : public Driver {
 protected:
  AccountCopy copy(bool allow_nonempty = false) {
    ProblemSink sink;
    AccountCopy r = copy_account(source, FakeSource::account(), target, "",
                                 CopyOptions{.allow_nonempty = allow_nonempty}, sink);
    problems = sink.snapshot();
    return r;
  }
};

TEST_F(Copy, RefusesToAppendIntoANonEmptyFolderAndCopiesTheOthers) {
  source.folders["A"].messages = {msg(1)};
  source.folders["B"].messages = {msg(2)};
  box("A").messages.push_back(TargetMessage{.uid = 1, .sha256 = "x"});
  box("A").uidnext = 2;
  const AccountCopy r = copy();
  EXPECT_EQ(1U, r.copied);
  ASSERT_EQ(2U, r.folders.size());
  EXPECT_TRUE(r.folders[0].skipped);
  EXPECT_NE(std::string::npos, r.folders[0].note.find("already holds 1 messages")) << r.folders[0].note;
  EXPECT_EQ(1U, box("A").messages.size());
  EXPECT_EQ(1U, box("B").messages.size());
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(Scope::Folder, problems[0].scope);

  // --allow-nonempty appends into A; B's message is found on the target by
  // its content (copied by the first copy) and not appended a second time.
  const AccountCopy allowed = copy(true);
  EXPECT_EQ(1U, allowed.copied);
  EXPECT_EQ(2U, box("A").messages.size());
  EXPECT_EQ(1U, box("B").messages.size());
}

TEST_F(Copy, ALostConnectionStopsTheAccountAndReportsWhatWasInFlight) {
  for (int i = 0; i < 5; ++i) source.folders["INBOX"].messages.push_back(msg(i));
  target.faults.drop_after_appends = 2;
  const AccountCopy r = copy();
  EXPECT_EQ(2U, r.copied);
  EXPECT_EQ(1U, r.failed);                  // the one in flight: outcome unknown
  EXPECT_EQ(1U, target.log.logins.size());  // no reconnect: nothing to resume from
  ASSERT_EQ(2U, problems.size());
  EXPECT_NE(std::string::npos, problems[0].message.find("outcome unknown"));
  EXPECT_EQ("copy stopped: connection reset by peer", problems[1].message);
  EXPECT_EQ(Scope::Account, problems[1].scope);
}

}  // namespace
}  // namespace mailmig
