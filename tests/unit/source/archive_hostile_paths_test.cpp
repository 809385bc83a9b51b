// archive: entries whose path climbs out with ".." (or a hard link to such a
// path) are reported with the archive, the entry and its offset, and no
// account, folder or message is made of them -- they were once dropped
// without a word, and an account named ".." reached the Dovecot provisioner.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "core/message.h"

namespace mailmig::archive {
namespace {

using support::TarBuilder;

TEST(ArchiveHostilePaths, DotDotEntriesAreReportedAndSkipped) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("hostile.tar");
  TarBuilder b;
  b.file("home/e-smith/db/configuration", "DomainName=example.com\n");
  b.file("home/e-smith/files/users/john/Maildir/cur/1700000000.M1P1.h:2,S", support::message("kept"));
  b.file("home/e-smith/files/users/../Maildir/cur/1700000001.M2P1.h:2,S", support::message("root"));
  b.file("home/e-smith/files/users/john/Maildir/../../../../../../etc/cur/1700000002.M3P1.h",
         support::message("up"));
  b.file("../../outside/home/e-smith/files/users/eve/Maildir/cur/1700000003.M4P1.h", support::message("eve"));
  b.hardlink("home/e-smith/files/users/john/Maildir/cur/1700000004.M5P1.h:2,S", "../../etc/passwd");
  b.write(path, support::Compression::None);

  const support::Opened opened = support::open(path);
  const std::string all = support::all_messages(opened.problems);
  ASSERT_EQ(4U, opened.problems.size()) << all;
  EXPECT_CONTAINS(all, path + "!/home/e-smith/files/users/../Maildir/cur/1700000001.M2P1.h:2,S");
  EXPECT_CONTAINS(all, "/../../../../../../etc/cur/1700000002.M3P1.h");
  EXPECT_CONTAINS(all, path + "!/../../outside/");
  EXPECT_CONTAINS(all, "hard link to \"../../etc/passwd\"");
  for (const Problem& p : opened.problems) {
    EXPECT_TRUE(p.offset.has_value()) << p.describe();
    EXPECT_CONTAINS(p.message, "\"..\"");
  }

  std::vector<std::string> names;
  for (const AccountInfo& a : opened.accounts()) names.push_back(a.name + "@" + a.domain);
  EXPECT_EQ(std::vector<std::string>{"john@example.com"}, names);
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  EXPECT_EQ(std::vector<std::string>{"INBOX"}, support::names_of(folders.folders));
  auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  ASSERT_EQ(1U, scanned.messages.size());
  EXPECT_CONTAINS(support::read_message(*inbox, scanned.messages[0]), "Subject: kept");
}

}  // namespace
}  // namespace mailmig::archive
