// The Maildir target end to end on a temp directory: layout, delivery, UIDs,
// flags, keywords, crash leftovers, locks.
#include "target/maildir/maildir_target.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/temp_tree.h"
#include "format/maildir/uidlist.h"
#include "maildir_test_support.h"
#include "target/maildir/dotlock.h"

namespace mailmig {
namespace {

using testing::info;
using testing::open_string;
using testing::Results;
using testing::sha256_hex;
namespace stdfs = std::filesystem;

const std::string kOne = "Subject: one\r\n\r\nfirst\r\n";
const std::string kTwo = "Subject: two\r\n\r\nsecond, lone CR\r here\r\n";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class MaildirTargetTest : public ::testing::Test {
 protected:
  MaildirTargetTest() : target_(MaildirTargetOptions{.root = tree_.path("mail")}) {}
  std::unique_ptr<TargetAccount> account() { return target_.open_account("alice", "example.com", "ignored"); }
  [[nodiscard]] std::string root() const { return tree_.path("mail/example.com/alice/Maildir"); }
  maildir::Uidlist uidlist(const std::string& folder_dir) const {
    maildir::UidlistRead read = maildir::parse_uidlist(slurp(root() + "/" + folder_dir + "/dovecot-uidlist"));
    EXPECT_TRUE(read.broken.empty());
    return read.list.value_or(maildir::Uidlist{});
  }

  mailmig::testing::TempTree tree_;
  MaildirTarget target_;
};

TEST_F(MaildirTargetTest, CreatesTheLayoutAndDeliversIntoCur) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("A/B", true, results.fn());
  EXPECT_EQ(folder->existing_messages(), 0U);
  EXPECT_EQ(folder->uidnext(), 1U);
  folder->add(info(kOne, kSeen, {"$Label1"}), open_string(kOne));
  folder->add(info(kTwo, kAnswered | kFlagged | kDeleted | kDraft, {}, std::nullopt, 1600000000),
              open_string(kTwo));
  folder->finish();

  ASSERT_EQ(results.by_index.size(), 2U);
  EXPECT_TRUE(results.by_index[0].ok);
  EXPECT_EQ(results.by_index[0].uid, 1U);
  EXPECT_EQ(results.by_index[1].uid, 2U);
  EXPECT_EQ(results.by_index[1].uidvalidity, folder->uidvalidity());

  for (const char* d : {"cur", "new", "tmp", ".A.B/cur", ".A.B/new", ".A.B/tmp"}) {
    struct stat st {};
    ASSERT_EQ(::stat((root() + "/" + d).c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 07777, 0700U) << d;
  }
  EXPECT_TRUE(stdfs::exists(root() + "/.A.B/maildirfolder"));
  EXPECT_FALSE(stdfs::exists(root() + "/maildirfolder"));  // the root is INBOX, not a subfolder
  EXPECT_TRUE(names_in(root() + "/.A.B/tmp").empty());
  const auto cur = names_in(root() + "/.A.B/cur");
  ASSERT_EQ(cur.size(), 2U);
  const maildir::Uidlist list = uidlist(".A.B");
  EXPECT_EQ(list.nextuid, 3U);
  ASSERT_EQ(list.records.size(), 2U);
  for (const std::string& name : cur) {
    const std::string path = root() + "/.A.B/cur/" + name;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600U);
    const std::string body = slurp(path);
    EXPECT_NE(name.find(",S=" + std::to_string(body.size()) + ",W=" + std::to_string(body.size()) + ":2,"),
              std::string::npos)
        << name;
    if (body == kOne) {
      EXPECT_TRUE(name.ends_with(":2,Sa")) << name;
      EXPECT_EQ(st.st_mtime, 1700000000);
      EXPECT_EQ(list.records[0].base, name.substr(0, name.find(':')));
    } else {
      EXPECT_EQ(body, kTwo);  // stored exactly as given: CRLF, lone CR kept
      EXPECT_TRUE(name.ends_with(":2,DFRT")) << name;
      EXPECT_EQ(st.st_mtime, 1600000000);
    }
  }
  EXPECT_EQ(slurp(root() + "/.A.B/dovecot-keywords"), "0 $Label1\n");
  EXPECT_EQ(slurp(root() + "/subscriptions"), "V\t2\n\nA\tB\n");
  EXPECT_FALSE(stdfs::exists(root() + "/.A.B/dovecot-uidlist.lock"));
}

// Verify compares keywords through stored_keyword(): it must say what read_folder() gives back.
TEST_F(MaildirTargetTest, StoredKeywordIsWhatReadFolderGivesBack) {
  const std::vector<std::string> keywords = {"Has Space", "Caf\xC3\xA9", "(odd)"};
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("INBOX", false, results.fn());
  folder->add(info(kOne, 0, keywords), open_string(kOne));
  folder->finish();
  std::vector<StoredMessage> seen;
  acc->read_folder("INBOX", nullptr, [&](const StoredMessage& m) { seen.push_back(m); });
  ASSERT_EQ(seen.size(), 1U);
  std::vector<std::string> expected;
  for (const std::string& k : keywords) expected.push_back(target_.stored_keyword(k).value_or("(none)"));
  EXPECT_EQ(seen[0].keywords, expected);
  EXPECT_EQ(target_.stored_keyword(""), std::nullopt);
}

TEST_F(MaildirTargetTest, ReadFolderReportsWhatWasWritten) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("INBOX", false, results.fn());
  folder->add(info(kOne, kSeen | kFlagged, {"Work", "$Label2"}), open_string(kOne));
  folder->add(info(kTwo), open_string(kTwo));
  folder->finish();
  std::vector<StoredMessage> seen;
  acc->read_folder("inbox", nullptr, [&](const StoredMessage& m) { seen.push_back(m); });
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].uid, 1U);
  EXPECT_EQ(seen[0].size, kOne.size());
  EXPECT_EQ(seen[0].flags, kSeen | kFlagged);
  EXPECT_EQ(seen[0].keywords, (std::vector<std::string>{"Work", "$Label2"}));
  EXPECT_EQ(seen[0].internal_date->epoch, 1700000000);
  EXPECT_EQ(seen[0].sha256, sha256_hex(kOne));
  EXPECT_EQ(seen[1].sha256, sha256_hex(kTwo));
  // Metadata only for messages the caller does not want hashed.
  std::vector<StoredMessage> meta;
  acc->read_folder(
      "INBOX", [](const StoredMessage& m) { return m.uid == 2; },
      [&](const StoredMessage& m) { meta.push_back(m); });
  EXPECT_TRUE(meta[0].sha256.empty());
  EXPECT_EQ(meta[1].sha256, sha256_hex(kTwo));
  EXPECT_THROW(acc->read_folder("Missing", nullptr, [](const StoredMessage&) {}), TargetFolderMissing);
  EXPECT_EQ(acc->folders(), (std::vector<std::string>{"INBOX"}));
}

TEST_F(MaildirTargetTest, FilesDovecotDeliveredWithLfAreHashedAsServed) {
  auto acc = account();
  Results results;
  acc->open_folder("INBOX", false, results.fn());
  // Dovecot's own deliveries hold LF; IMAP serves them with CRLF.
  std::ofstream(root() + "/cur/1.M1P1.other:2,S", std::ios::binary) << "Subject: lf\n\nbody\n";
  std::vector<StoredMessage> seen;
  acc->read_folder("INBOX", nullptr, [&](const StoredMessage& m) { seen.push_back(m); });
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].sha256, sha256_hex("Subject: lf\r\n\r\nbody\r\n"));
  EXPECT_EQ(seen[0].size, 21U);
  EXPECT_EQ(seen[0].flags, kSeen);
}

TEST_F(MaildirTargetTest, KeepUidsAdoptsTheSourceNumbering) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("Kept", false, results.fn());
  ASSERT_TRUE(folder->keep_uids(4242));
  EXPECT_EQ(folder->uidvalidity(), 4242U);
  EXPECT_EQ(folder->uidnext(), 1U);
  folder->add(info(kOne, 0, {}, 5), open_string(kOne));
  folder->add(info(kTwo, 0, {}, 9), open_string(kTwo));
  folder->add(info(kOne), open_string(kOne));            // no source UID: the next free one
  folder->add(info(kTwo, 0, {}, 3), open_string(kTwo));  // below what the folder holds: a fresh one
  folder->add(info(kOne, 0, {}, 40), open_string(kOne));
  folder->finish();
  EXPECT_EQ(results.by_index[0].uid, 5U);
  EXPECT_EQ(results.by_index[1].uid, 9U);
  EXPECT_EQ(results.by_index[2].uid, 10U);
  EXPECT_EQ(results.by_index[3].uid, 11U);
  EXPECT_EQ(results.by_index[4].uid, 40U);
  EXPECT_EQ(results.by_index[4].uidvalidity, 4242U);
  EXPECT_EQ(uidlist(".Kept").nextuid, 41U);

  Results again;
  auto reopened = acc->open_folder("Kept", false, again.fn());
  EXPECT_EQ(reopened->uidvalidity(), 4242U);
  EXPECT_EQ(reopened->uidnext(), 41U);
  EXPECT_EQ(reopened->existing_messages(), 5U);
  EXPECT_TRUE(reopened->keep_uids(4242));  // same UIDVALIDITY: more may follow above 40
  reopened->add(info(kOne, 0, {}, 41), open_string(kOne));
  reopened->finish();
  EXPECT_EQ(again.by_index[0].uid, 41U);
  auto other = acc->open_folder("Kept", false, again.fn());
  EXPECT_FALSE(other->keep_uids(4243));  // different numbering, messages present: no
}

TEST_F(MaildirTargetTest, NewFoldersGetDistinctTimeBasedUidvalidity) {
  auto acc = account();
  Results results;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto a = acc->open_folder("A", false, results.fn());
  auto b = acc->open_folder("B", false, results.fn());
  EXPECT_NE(a->uidvalidity(), b->uidvalidity());
  EXPECT_GE(static_cast<std::int64_t>(*a->uidvalidity()), now - 5);
  EXPECT_TRUE(stdfs::exists(root() + "/dovecot-uidvalidity"));
}

TEST_F(MaildirTargetTest, AFileACrashLeftOutOfTheUidlistGetsTheNextUid) {
  auto acc = account();
  Results results;
  {
    auto folder = acc->open_folder("F", false, results.fn());
    folder->add(info(kOne), open_string(kOne));
    folder->finish();
  }
  // Renamed into cur/ but the uidlist update never happened; a half-written tmp/ file too.
  std::ofstream(root() + "/.F/cur/1800000000.M5P77Q1.host,S=24,W=24:2,S", std::ios::binary) << kTwo;
  std::ofstream(root() + "/.F/tmp/1800000001.M5P77Q2.host", std::ios::binary) << "Subject: par";
  auto folder = acc->open_folder("F", false, results.fn());
  EXPECT_EQ(folder->existing_messages(), 2U);
  EXPECT_EQ(folder->uidnext(), 3U);
  const auto hashes = folder->hashes_from(2);
  ASSERT_EQ(hashes.size(), 1U);
  EXPECT_EQ(hashes[0].first, 2U);
  EXPECT_EQ(hashes[0].second, sha256_hex(kTwo));
  EXPECT_EQ(folder->current_uidnext(), 3U);
}

TEST_F(MaildirTargetTest, WriteAheadHookRunsBeforeAnythingIsVisible) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("W", false, results.fn());
  std::vector<std::size_t> announced;
  folder->set_before_send([&](const std::vector<std::size_t>& indices) {
    EXPECT_TRUE(names_in(root() + "/.W/cur").empty());
    announced.insert(announced.end(), indices.begin(), indices.end());
  });
  folder->add(info(kOne), open_string(kOne));
  EXPECT_TRUE(results.by_index.empty());  // results only once the uidlist names the message
  folder->finish();
  EXPECT_EQ(announced, (std::vector<std::size_t>{0}));
  EXPECT_TRUE(folder->unresolved().empty());
}

TEST_F(MaildirTargetTest, AnUnreadableMessageIsRefusedAndTheRestDelivered) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("E", false, results.fn());
  folder->add(info(kOne), []() -> std::unique_ptr<ByteReader> { throw std::runtime_error("source gone"); });
  folder->add(info(kTwo), open_string(kTwo));
  folder->finish();
  EXPECT_FALSE(results.by_index[0].ok);
  EXPECT_EQ(results.by_index[0].error, "source gone");
  EXPECT_TRUE(results.by_index[1].ok);
  EXPECT_EQ(results.by_index[1].uid, 1U);
  EXPECT_TRUE(names_in(root() + "/.E/tmp").empty());
}

TEST_F(MaildirTargetTest, FlagChangesRenameAndRemoveUnlinksExactlyThoseUids) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("S", false, results.fn());
  folder->add(info(kOne, kSeen, {"$Label1"}), open_string(kOne));
  folder->add(info(kTwo, kSeen), open_string(kTwo));
  folder->add(info(kOne), open_string(kOne));
  folder->finish();
  folder->change_flags(1, kFlagged, kSeen, {"Later"}, {"$Label1"});
  folder->change_flags(2, kAnswered, 0, {}, {});
  folder->remove({3});
  std::map<std::uint32_t, StoredMessage> seen;
  acc->read_folder("S", nullptr, [&](const StoredMessage& m) { seen[m.uid] = m; });
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[1].flags, kFlagged);
  EXPECT_EQ(seen[1].keywords, (std::vector<std::string>{"Later"}));
  EXPECT_EQ(seen[2].flags, kSeen | kAnswered);
  EXPECT_EQ(uidlist(".S").records.size(), 2U);
  EXPECT_EQ(uidlist(".S").nextuid, 4U);  // never lowered
  EXPECT_EQ(slurp(root() + "/.S/dovecot-keywords"), "0 $Label1\n1 Later\n");
}

TEST_F(MaildirTargetTest, KeepsAnExistingKeywordsFileAndReportsMoreThan26) {
  auto acc = account();
  Results results;
  acc->open_folder("K", false, results.fn());
  std::ofstream(root() + "/.K/dovecot-keywords") << "0 Existing\n";
  auto folder = acc->open_folder("K", false, results.fn());
  std::vector<std::string> many;
  for (int i = 0; i < 27; ++i) many.push_back("kw" + std::to_string(i));
  folder->add(info(kOne, 0, {"New"}), open_string(kOne));
  folder->add(info(kTwo, 0, many), open_string(kTwo));
  folder->finish();
  EXPECT_TRUE(results.by_index[0].ok);
  EXPECT_TRUE(results.by_index[0].code.empty());
  EXPECT_TRUE(results.by_index[1].ok);  // delivered; the keyword that found no letter is reported
  EXPECT_EQ(results.by_index[1].code, "KEYWORDS-DROPPED");
  EXPECT_NE(results.by_index[1].error.find("kw24, kw25, kw26"), std::string::npos)
      << results.by_index[1].error;
  EXPECT_TRUE(slurp(root() + "/.K/dovecot-keywords").starts_with("0 Existing\n1 New\n2 kw0\n"));
}

// dovecot-keywords is line based: a keyword with a newline or a space, or an
// empty one, must not reach it as it is. Such bytes become '_' as in an IMAP
// APPEND to Dovecot; an empty keyword names nothing and is left out, as there.
TEST_F(MaildirTargetTest, KeywordsThatWouldBreakDovecotKeywordsAreSanitisedOrDropped) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("W", false, results.fn());
  folder->add(info(kOne, 0, {"x\n25 evil", "two words", ""}), open_string(kOne));
  folder->finish();
  ASSERT_TRUE(results.by_index[0].ok);
  EXPECT_EQ(results.by_index[0].code, "");
  EXPECT_EQ(slurp(root() + "/.W/dovecot-keywords"), "0 x_25_evil\n1 two_words\n");
  std::vector<StoredMessage> seen;
  acc->read_folder("W", nullptr, [&](const StoredMessage& m) { seen.push_back(m); });
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].keywords, (std::vector<std::string>{"x_25_evil", "two_words"}));
}

// A uidlist line Dovecot calls broken stops the target from rewriting the
// file (it would drop the line's UID), naming the line.
TEST_F(MaildirTargetTest, ABrokenUidlistLineIsRefusedWithItsNumber) {
  auto acc = account();
  Results results;
  acc->open_folder("U", false, results.fn());
  std::ofstream(root() + "/.U/dovecot-uidlist") << "3 V5 N9 G00112233445566778899aabbccddeeff\n4 :a\nbad\n";
  std::string error;
  try {
    auto folder = acc->open_folder("U", false, results.fn());
    folder->add(info(kOne), open_string(kOne));
    folder->finish();
  } catch (const std::exception& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("dovecot-uidlist line 3"), std::string::npos) << error;
  EXPECT_EQ(slurp(root() + "/.U/dovecot-uidlist"), "3 V5 N9 G00112233445566778899aabbccddeeff\n4 :a\nbad\n");
}

TEST_F(MaildirTargetTest, NamesWithDotsAreRenamedAndReported) {
  auto acc = account();
  Results results;
  auto folder = acc->open_folder("Lists/dev.announce", true, results.fn());
  EXPECT_EQ(folder->display_name(), "Lists/dev_announce");
  EXPECT_NE(folder->rename_note().find("'.'"), std::string::npos);
  EXPECT_EQ(acc->stored_name("Lists/dev.announce"), "Lists/dev_announce");
  EXPECT_TRUE(stdfs::is_directory(root() + "/.Lists.dev_announce/cur"));
  acc->open_folder("Entwürfe", false, results.fn());
  EXPECT_EQ(acc->folders(), (std::vector<std::string>{"INBOX", "Entwürfe", "Lists/dev_announce"}));
}

TEST_F(MaildirTargetTest, ALockLeftByADeadProcessIsOverridden) {
  auto acc = account();
  Results results;
  acc->open_folder("L", false, results.fn());
  const std::string lock = root() + "/.L/dovecot-uidlist.lock";
  // A pid that cannot exist (above pid_max), written 10 s ago, as Dovecot checks after 2 s.
  std::ofstream(lock) << "99999999:" << maildir::host_name();
  const auto old = std::chrono::system_clock::now() - std::chrono::seconds(10);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(old.time_since_epoch()).count();
  const std::array<timespec, 2> times{timespec{secs, 0}, timespec{secs, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, lock.c_str(), times.data(), 0), 0);
  const auto started = std::chrono::steady_clock::now();
  auto folder = acc->open_folder("L", false, results.fn());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_FALSE(stdfs::exists(lock));
}

TEST_F(MaildirTargetTest, ALiveLockIsWaitedFor) {
  account();
  const std::string path = tree_.path("protected");
  // Our parent is alive: the lock is not stale.
  std::ofstream(path + ".lock") << ::getppid() << ":" << maildir::host_name();
  EXPECT_THROW(maildir::DotLock(path, std::chrono::seconds(120), std::chrono::seconds(1), {}),
               std::runtime_error);
  stdfs::remove(path + ".lock");
  maildir::DotLock lock(path, std::chrono::seconds(120), std::chrono::seconds(1), {});
  EXPECT_TRUE(stdfs::exists(path + ".lock"));
  lock.release();
  EXPECT_FALSE(stdfs::exists(path + ".lock"));
}

TEST_F(MaildirTargetTest, ChownsWhatItCreatesWhenRunningAsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  MaildirTarget owned(
      MaildirTargetOptions{.root = tree_.path("owned"), .owner_uid = 65534, .owner_gid = 65534});
  auto acc = owned.open_account("bob", "example.org", "");
  Results results;
  auto folder = acc->open_folder("X", true, results.fn());
  folder->add(info(kOne, 0, {"k"}), open_string(kOne));
  folder->finish();
  for (const auto& e : stdfs::recursive_directory_iterator(tree_.path("owned/example.org"))) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534U) << e.path();
    EXPECT_EQ(st.st_gid, 65534U) << e.path();
  }
}

}  // namespace
}  // namespace mailmig
