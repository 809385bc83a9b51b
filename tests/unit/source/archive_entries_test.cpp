// archive: what the catalogue makes of a Maildir's entries: entries out of
// order and a folder split across the archive (every message once, in a
// stable order), symbolic and hard links in a message directory (reported,
// skipped), modified UTF-7 folder names, and dovecot-uidlist /
// dovecot-keywords mapped onto MessageInfo and FolderInfo.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "core/message.h"

namespace mailmig::archive {
namespace {

using support::Compression;
using support::TarBuilder;

constexpr const char* kHome = "home/e-smith/files/users/john/Maildir/";
constexpr const char* kConfiguration = "home/e-smith/db/configuration";

class ArchiveEntries : public ::testing::TestWithParam<Compression> {
 protected:
  [[nodiscard]] std::string archive_path(const std::string& stem) const {
    return tree_.path(stem + support::compression_suffix(GetParam()));
  }
  mailmig::testing::TempTree tree_{"mailmig-arunit"};
};

// A folder's entries split across the archive, other folders and another
// account in between, cur/ and new/ interleaved, directories after their files.
TEST_P(ArchiveEntries, SplitFoldersKeepEveryMessageOnceInArchiveOrder) {
  const std::string home = kHome;
  const std::string path = archive_path("split");
  TarBuilder b;
  b.file(home + "cur/1700000003.M3P1.h:2,S", support::message("inbox 3"))
      .file(home + ".Sent/cur/1700000010.M10P1.h:2,S", support::message("sent 10"))
      .file("home/e-smith/files/users/mary/Maildir/cur/1700000020.M20P1.h:2,", support::message("mary 20"))
      .file(home + "new/1700000001.M1P1.h", support::message("inbox 1"))
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + ".Sent/cur/1700000011.M11P1.h:2,S", support::message("sent 11"))
      .file(home + "cur/1700000002.M2P1.h:2,", support::message("inbox 2"))
      .dir(home + "cur")
      .dir(home + ".Sent")
      .file("home/e-smith/files/users/mary/Maildir/cur/1700000021.M21P1.h:2,", support::message("mary 21"))
      .file(home + "new/1700000004.M4P1.h", support::message("inbox 4"))
      .dir(home);
  b.write(path, GetParam());

  const support::Opened opened = support::open(path);
  EXPECT_TRUE(opened.problems.empty()) << support::all_messages(opened.problems);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  ASSERT_EQ((std::vector<std::string>{"INBOX", "Sent"}), support::names_of(folders.folders));

  const std::vector<std::string> expected_inbox = {"cur/1700000003.M3P1.h:2,S", "new/1700000001.M1P1.h",
                                                   "cur/1700000002.M2P1.h:2,", "new/1700000004.M4P1.h"};
  const std::map<std::string, std::string> bytes = {
      {"cur/1700000003.M3P1.h:2,S", support::message("inbox 3")},
      {"new/1700000001.M1P1.h", support::message("inbox 1")},
      {"cur/1700000002.M2P1.h:2,", support::message("inbox 2")},
      {"new/1700000004.M4P1.h", support::message("inbox 4")},
      {"cur/1700000010.M10P1.h:2,S", support::message("sent 10")},
      {"cur/1700000011.M11P1.h:2,S", support::message("sent 11")}};
  // The account's folders read one after another (as the engine does), each twice.
  for (int round = 0; round < 2; ++round) {
    const auto inbox = john->open_folder(folders.get("INBOX"));
    const support::Scanned scanned = support::scan(*inbox);
    EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
    EXPECT_EQ(expected_inbox, support::ids_of(scanned.messages)) << "round " << round;
    for (const MessageInfo& m : scanned.messages)
      EXPECT_EQ(bytes.at(m.id), support::read_message(*inbox, m)) << m.id;

    const auto sent = john->open_folder(folders.get("Sent"));
    const support::Scanned sent_scan = support::scan(*sent);
    EXPECT_EQ((std::vector<std::string>{"cur/1700000010.M10P1.h:2,S", "cur/1700000011.M11P1.h:2,S"}),
              support::ids_of(sent_scan.messages));
    for (const MessageInfo& m : sent_scan.messages)
      EXPECT_EQ(bytes.at(m.id), support::read_message(*sent, m)) << m.id;
  }

  // Reading the folders in reverse archive order still finds every message.
  const auto sent = john->open_folder(folders.get("Sent"));
  EXPECT_EQ(2U, support::scan(*sent).messages.size());
  const auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned again = support::scan(*inbox);
  EXPECT_EQ(expected_inbox, support::ids_of(again.messages));

  const auto mary = opened.account("example.com", "mary");
  ASSERT_TRUE(mary);
  const support::FolderList mary_folders = support::folders_of(*mary);
  const auto mary_inbox = mary->open_folder(mary_folders.get("INBOX"));
  const support::Scanned mary_scan = support::scan(*mary_inbox);
  ASSERT_EQ(2U, mary_scan.messages.size());
  EXPECT_EQ(support::message("mary 21"), support::read_message(*mary_inbox, mary_scan.messages[1]));
  EXPECT_EQ(support::message("mary 20"), support::read_message(*mary_inbox, mary_scan.messages[0]));
}

// tar --append / --update add a newer copy of a file under the same name;
// extracting keeps the last one. The message is listed once, with its last bytes.
TEST_P(ArchiveEntries, AFileArchivedTwiceIsOneMessage) {
  const std::string home = kHome;
  const std::string path = archive_path("twice");
  TarBuilder()
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + "cur/1.h:2,S", support::message("first copy"))
      .file(home + "cur/2.h:2,S", support::message("two"))
      .file(home + "cur/1.h:2,S", support::message("second copy, appended"), support::kMtime + 5)
      .write(path, GetParam());
  const support::Opened opened = support::open(path);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const auto inbox = john->open_folder(support::folders_of(*john).get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  ASSERT_EQ((std::vector<std::string>{"cur/2.h:2,S", "cur/1.h:2,S"}), support::ids_of(scanned.messages));
  EXPECT_EQ(support::message("second copy, appended"), support::read_message(*inbox, scanned.messages[1]));
  EXPECT_EQ(support::kMtime + 5, scanned.messages[1].internal_date.value_or(DateTime{}).epoch);
}

TEST_P(ArchiveEntries, LinksInAMessageDirectoryAreReportedAndSkipped) {
  const std::string home = kHome;
  const std::string path = archive_path("links");
  TarBuilder()
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + "cur/1700000001.M1P1.h:2,S", support::message("real"))
      .symlink(home + "cur/1700000002.M2P1.h:2,S", "/etc/passwd")
      .hardlink(home + "cur/1700000003.M3P1.h:2,S", home + "cur/1700000001.M1P1.h:2,S")
      .file(home + "cur/1700000004.M4P1.h:2,", support::message("after the links"))
      .symlink(home + ".Trash", "/tmp")
      .write(path, GetParam());
  const support::Opened opened = support::open(path);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  const std::string problems = support::all_messages(folders.problems);
  ASSERT_EQ(2U, folders.problems.size()) << problems;
  const Problem& symlink = folders.problems[0];
  EXPECT_EQ(Scope::Message, symlink.scope);
  EXPECT_EQ("john", symlink.account);
  EXPECT_EQ("example.com", symlink.domain);
  EXPECT_EQ("INBOX", symlink.folder);
  EXPECT_EQ(path + "!/" + home + "cur/1700000002.M2P1.h:2,S", symlink.file);
  EXPECT_CONTAINS(symlink.message, "symbolic link (to /etc/passwd)");
  const Problem& hardlink = folders.problems[1];
  EXPECT_EQ(path + "!/" + home + "cur/1700000003.M3P1.h:2,S", hardlink.file);
  EXPECT_CONTAINS(hardlink.message, "hard link to " + home + "cur/1700000001.M1P1.h:2,S");
  // The ".Trash" symbolic link is no folder.
  EXPECT_EQ((std::vector<std::string>{"INBOX"}), support::names_of(folders.folders));

  const auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  ASSERT_EQ((std::vector<std::string>{"cur/1700000001.M1P1.h:2,S", "cur/1700000004.M4P1.h:2,"}),
            support::ids_of(scanned.messages));
  EXPECT_EQ(support::message("real"), support::read_message(*inbox, scanned.messages[0]));
  EXPECT_EQ(support::message("after the links"), support::read_message(*inbox, scanned.messages[1]));
}

// Dovecot copies a message between Maildir folders with link(); tar then
// stores the second name as a hard link to the first. The copy belongs to
// the second folder: it is read from the first name's data, in archive order.
TEST_P(ArchiveEntries, HardLinksToAnotherFolderAreThatFoldersCopy) {
  const std::string home = kHome;
  const std::string path = archive_path("copies");
  TarBuilder()
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + "tmp/1700000009.M9P1.h", support::message("being delivered"))
      .file(home + "cur/1700000001.M1P1.h:2,S", support::message("original"))
      .file(home + ".Archive/cur/1700000005.M5P1.h:2,S", support::message("archived before"))
      .hardlink(home + ".Archive/cur/1700000002.M2P1.h:2,S", home + "cur/1700000001.M1P1.h:2,S")
      .hardlink(home + ".Archive/cur/1700000003.M3P1.h:2,", home + "cur/1700000001.M1P1.h:2,S")
      .hardlink(home + "new/1700000009.M9P1.h", home + "tmp/1700000009.M9P1.h")
      .file(home + ".Archive/cur/1700000006.M6P1.h:2,S", support::message("archived after"))
      .hardlink(home + ".Archive/cur/1700000007.M7P1.h:2,S", home + ".Archive/cur/1700000006.M6P1.h:2,S")
      .hardlink(home + ".Archive/cur/1700000008.M8P1.h:2,S", "home/e-smith/files/users/john/missing")
      .write(path, GetParam());
  const support::Opened opened = support::open(path);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  // Reported: the link within one folder and the one whose file is not in the archive.
  ASSERT_EQ(2U, folders.problems.size()) << support::all_messages(folders.problems);
  EXPECT_EQ(path + "!/" + home + ".Archive/cur/1700000007.M7P1.h:2,S", folders.problems[0].file);
  EXPECT_EQ(path + "!/" + home + ".Archive/cur/1700000008.M8P1.h:2,S", folders.problems[1].file);
  EXPECT_CONTAINS(folders.problems[1].message, "not a file earlier in the archive");

  const auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned inbox_scan = support::scan(*inbox);
  EXPECT_TRUE(inbox_scan.problems.empty()) << support::all_messages(inbox_scan.problems);
  // In archive order of the data: the tmp/ file came first.
  ASSERT_EQ((std::vector<std::string>{"new/1700000009.M9P1.h", "cur/1700000001.M1P1.h:2,S"}),
            support::ids_of(inbox_scan.messages));
  EXPECT_EQ(support::message("being delivered"), support::read_message(*inbox, inbox_scan.messages[0]));
  EXPECT_EQ(support::message("original"), support::read_message(*inbox, inbox_scan.messages[1]));

  const auto archive = john->open_folder(folders.get("Archive"));
  const support::Scanned scanned = support::scan(*archive);
  EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  ASSERT_EQ((std::vector<std::string>{"cur/1700000002.M2P1.h:2,S", "cur/1700000003.M3P1.h:2,",
                                      "cur/1700000005.M5P1.h:2,S", "cur/1700000006.M6P1.h:2,S"}),
            support::ids_of(scanned.messages));
  EXPECT_EQ(kSeen, scanned.messages[0].flags);
  EXPECT_EQ(0, scanned.messages[1].flags);
  const std::vector<std::string> expected = {support::message("original"), support::message("original"),
                                             support::message("archived before"),
                                             support::message("archived after")};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i], support::read_message(*archive, scanned.messages[i])) << scanned.messages[i].id;
  }
}

TEST_P(ArchiveEntries, ModifiedUtf7FolderNamesDecoded) {
  const std::string home = kHome;
  const std::string path = archive_path("utf7");
  TarBuilder()
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + "cur/1.h:2,S", support::message("inbox"))
      .file(home + ".&AMk-t&AOk-.R&AOk-sum&AOk-/cur/2.h:2,S", support::message("resume"))
      .file(home + ".&ZeVnLIqe-/new/3.h", support::message("japanese"))
      .file(home + ".Caf&AOk- &- Bar/cur/4.h:2,", support::message("cafe"))
      .file(home + ".Bad&Jjo/cur/5.h:2,", support::message("bad name"))
      .file(home + "subscriptions", "\xc3\x89t\xc3\xa9/R\xc3\xa9sum\xc3\xa9\n")
      .write(path, GetParam());
  const support::Opened opened = support::open(path);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  EXPECT_EQ(
      (std::vector<std::string>{"INBOX", "\xc3\x89t\xc3\xa9", "\xc3\x89t\xc3\xa9/R\xc3\xa9sum\xc3\xa9",
                                "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "Caf\xc3\xa9 & Bar", "Bad&Jjo"}),
      support::names_of(folders.folders));
  EXPECT_FALSE(folders.get("\xc3\x89t\xc3\xa9").selectable);
  EXPECT_TRUE(folders.get("\xc3\x89t\xc3\xa9/R\xc3\xa9sum\xc3\xa9").subscribed);
  ASSERT_EQ(1U, folders.problems.size()) << support::all_messages(folders.problems);
  EXPECT_EQ(Scope::Folder, folders.problems[0].scope);
  EXPECT_CONTAINS(folders.problems[0].message, "not valid modified UTF-7");

  const auto resume = john->open_folder(folders.get("\xc3\x89t\xc3\xa9/R\xc3\xa9sum\xc3\xa9"));
  const support::Scanned scanned = support::scan(*resume);
  ASSERT_EQ(1U, scanned.messages.size());
  EXPECT_EQ(support::message("resume"), support::read_message(*resume, scanned.messages[0]));
  const auto japanese = john->open_folder(folders.get("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"));
  const support::Scanned japanese_scan = support::scan(*japanese);
  ASSERT_EQ(1U, japanese_scan.messages.size());
  EXPECT_EQ(support::message("japanese"), support::read_message(*japanese, japanese_scan.messages[0]));
}

TEST_P(ArchiveEntries, DovecotUidlistAndKeywords) {
  const std::string home = kHome;
  const std::string path = archive_path("uids");
  TarBuilder()
      .file(kConfiguration, "DomainName=example.com\n")
      .file(home + "cur/1700000001.M1P1.h,S=100,W=104:2,Sa", support::message("one"))
      .file(home + "cur/1700000002.M2P1.h:2,RFc", support::message("two"))
      .file(home + "new/1700000003.M3P1.h", support::message("three"))
      .file(home + "cur/1700000004.M4P1.h:2,STd", support::message("four: keyword letter not in the table"))
      .file(home + "cur/1700000005.M5P1.h:2,", support::message("five: not in the uidlist"))
      // Metadata after the messages it describes: the catalogue reads it anyway.
      .file(home + "dovecot-uidlist",
            "3 V1275660208 N42 G3085f01b\n"
            "7 W1260 S100 :1700000001.M1P1.h,S=100,W=104\n"
            "9 :1700000002.M2P1.h\n"
            "12 :1700000003.M3P1.h\n"
            "13 :1700000004.M4P1.h\n")
      .file(home + "dovecot-keywords", "0 $Work\n2 Important\n")
      .file(home + ".Sent/cur/1700000010.M10P1.h:2,S", support::message("sent"))
      .file(home + ".Sent/dovecot-uidlist", "1 1199999999 5\n3 1700000010.M10P1.h\n")
      .file(home + ".Junk/cur/1700000020.M20P1.h:2,S", support::message("junk"))
      .write(path, GetParam());
  const support::Opened opened = support::open(path);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  EXPECT_EQ(1275660208U, folders.get("INBOX").uidvalidity.value_or(0));
  EXPECT_EQ(1199999999U, folders.get("Sent").uidvalidity.value_or(0));
  EXPECT_FALSE(folders.get("Junk").uidvalidity.has_value());

  const auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  ASSERT_EQ(5U, scanned.messages.size());
  const MessageInfo& one = scanned.messages[0];
  EXPECT_EQ(7U, one.uid.value_or(0));
  EXPECT_EQ(kSeen, one.flags);
  EXPECT_EQ((std::vector<std::string>{"$Work"}), one.keywords);
  EXPECT_EQ(support::message("one").size(), one.stored_size);  // S= is never trusted
  const MessageInfo& two = scanned.messages[1];
  EXPECT_EQ(9U, two.uid.value_or(0));
  EXPECT_EQ(kAnswered | kFlagged, two.flags);
  EXPECT_EQ((std::vector<std::string>{"Important"}), two.keywords);
  const MessageInfo& three = scanned.messages[2];
  EXPECT_EQ(12U, three.uid.value_or(0));
  EXPECT_EQ(0, three.flags);
  EXPECT_TRUE(three.keywords.empty());
  const MessageInfo& four = scanned.messages[3];
  EXPECT_EQ(13U, four.uid.value_or(0));
  EXPECT_EQ(kSeen | kDeleted, four.flags);  // T: trashed
  EXPECT_TRUE(four.keywords.empty());
  EXPECT_FALSE(scanned.messages[4].uid.has_value());
  // The keyword letter without a name is reported with the message's entry.
  ASSERT_EQ(1U, scanned.problems.size()) << support::all_messages(scanned.problems);
  EXPECT_CONTAINS(scanned.problems[0].message, "keyword letter 'd'");
  EXPECT_EQ(path + "!/" + home + "cur/1700000004.M4P1.h:2,STd", scanned.problems[0].file);
  for (const MessageInfo& m : scanned.messages) EXPECT_FALSE(support::read_message(*inbox, m).empty());

  const auto sent = john->open_folder(folders.get("Sent"));
  const support::Scanned sent_scan = support::scan(*sent);
  ASSERT_EQ(1U, sent_scan.messages.size());
  EXPECT_EQ(3U, sent_scan.messages[0].uid.value_or(0));
}

INSTANTIATE_TEST_SUITE_P(Compressions, ArchiveEntries,
                         ::testing::Values(Compression::None, Compression::Gzip, Compression::Zstd),
                         [](const ::testing::TestParamInfo<Compression>& param_info) {
                           return std::string(support::compression_name(param_info.param));
                         });

}  // namespace
}  // namespace mailmig::archive
