// Maildir++ reading (the codec itself: tests/unit/format/maildir_*): keywords,
// new/ vs cur/, tmp/ ignored, folder names, subscriptions, layouts.
#include "source/maildir/maildir_folder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <string>
#include <vector>

#include "common/temp_tree.h"
#include "core/error.h"
#include "source/maildir/maildir_account.h"
#include "source/maildir/maildir_source.h"
#include "source/maildir/user_paths.h"

namespace mailmig::maildir {
namespace {

struct Scanned {
  std::vector<MessageInfo> messages;
  std::vector<Problem> problems;
};

Scanned scan(const std::string& path) {
  MaildirFolder folder(path, local_file_tree());
  Scanned out;
  folder.scan([&](const MessageInfo& m) { out.messages.push_back(m); },
              [&](Problem p) { out.problems.push_back(std::move(p)); });
  return out;
}

void set_mtime(const std::string& path, std::int64_t epoch) {
  const utimbuf times{static_cast<time_t>(epoch), static_cast<time_t>(epoch)};
  ASSERT_EQ(0, ::utime(path.c_str(), &times));
}

TEST(MaildirFolder, OrderFlagsKeywordsDatesAndTmpIgnored) {
  testing::TempTree tree;
  tree.dir("m/tmp");
  tree.file("m/cur/200.a.host,S=9:2,Sb", "Subject: a\n");  // S= lies: measured instead
  tree.file("m/cur/100.b.host:2,RF", "b\r\n");
  tree.file("m/new/300.c.host", "c\n");
  tree.file("m/cur/400.d.host", "broken name, no info part\n");
  tree.file("m/tmp/500.e.host", "being delivered\n");
  tree.file("m/cur/.hidden", "x\n");
  tree.file("m/dovecot-uidlist", "3 V42 N10 Gx\n3 :200.a.host,S=9\n5 :100.b.host\n");
  tree.file("m/dovecot-keywords", "0 $Label1\n1 Work\n");
  set_mtime(tree.path("m/cur/200.a.host,S=9:2,Sb"), 1706782272);
  Scanned s = scan(tree.path("m"));
  ASSERT_EQ(4U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  EXPECT_EQ("cur/200.a.host,S=9:2,Sb", s.messages[0].id);  // UID 3
  EXPECT_EQ(3U, s.messages[0].uid.value_or(0));
  EXPECT_EQ(kSeen, s.messages[0].flags);
  EXPECT_EQ((std::vector<std::string>{"Work"}), s.messages[0].keywords);
  EXPECT_EQ(1706782272, s.messages[0].internal_date->epoch);
  EXPECT_EQ(11U, s.messages[0].stored_size);
  EXPECT_EQ(12U, s.messages[0].size);
  EXPECT_EQ("cur/100.b.host:2,RF", s.messages[1].id);  // UID 5
  EXPECT_EQ(kAnswered | kFlagged, s.messages[1].flags);
  EXPECT_EQ(3U, s.messages[1].size);              // CRLF kept, not doubled
  EXPECT_EQ("new/300.c.host", s.messages[2].id);  // no UID: name order (delivery time)
  EXPECT_EQ(0, s.messages[2].flags);              // new/: unseen
  EXPECT_EQ("cur/400.d.host", s.messages[3].id);
  EXPECT_EQ(0, s.messages[3].flags);  // no ":2,": delivered without flags
  MaildirFolder folder(tree.path("m"), local_file_tree());
  auto reader = folder.open(s.messages[1]);
  std::string buf(16, '\0');
  EXPECT_EQ("b\r\n", std::string(buf.data(), reader->read(std::span<char>(buf.data(), buf.size()))));
  MessageInfo evil = s.messages[0];
  evil.id = "cur/../../etc/passwd";
  EXPECT_THROW((void)folder.open(evil), IoError);
}

// The codec keeps the good records of a uidlist Dovecot would call broken;
// the source reads on with them and names the bad lines once.
TEST(MaildirFolder, BrokenUidlistLinesAreSkippedAndNamed) {
  testing::TempTree tree;
  tree.file("m/cur/1.a:2,S", "a\n");
  tree.file("m/cur/2.b:2,S", "b\n");
  tree.file("m/dovecot-uidlist", "3 V7 N20 Gx\n10 :1.a\ngarbage\n9 :2.b\n");
  Scanned s = scan(tree.path("m"));
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ(10U, s.messages[0].uid.value_or(0));
  EXPECT_FALSE(s.messages[1].uid);  // "9" after "10": not ascending, a new UID
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_NE(s.problems[0].message.find("line 3 (no UID), 4 (UIDs not ascending)"), std::string::npos)
      << s.problems[0].message;
}

TEST(MaildirFolder, UnknownKeywordLetterAndCourierKeywordsAreReported) {
  testing::TempTree tree;
  tree.file("m/cur/1.x:2,z", "x\n");
  tree.dir("m/courierimapkeywords");
  Scanned s = scan(tree.path("m"));
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_TRUE(s.messages[0].keywords.empty());
  EXPECT_EQ(2U, s.problems.size());
}

TEST(MaildirAccount, FolderNamesSubscriptionsAndEmptyFolders) {
  testing::TempTree tree;
  tree.dir("M/cur");
  tree.dir("M/.Sent/cur");
  tree.dir("M/.Archive.2024/cur");  // parent ".Archive" missing: \Noselect
  tree.dir("M/.&AMk-t&AOk-/cur");   // "Été"
  tree.dir("M/.caf\xc3\xa9/cur");   // raw 8-bit: kept, reported
  tree.file("M/subscriptions", "Sent\nArchive.2024\n");
  tree.file("M/dovecot-uidlist", "3 V99 N1\n");
  MaildirAccount account(AccountInfo{.domain = "example.org", .name = "bob", .location = tree.path("M")},
                         local_file_tree());
  std::vector<Problem> problems;
  std::vector<FolderInfo> folders = account.folders([&](Problem p) { problems.push_back(std::move(p)); });
  std::vector<std::string> names;
  for (const FolderInfo& f : folders)
    names.push_back(f.name + (f.selectable ? "" : "/") + (f.subscribed ? "*" : ""));
  EXPECT_EQ((std::vector<std::string>{"INBOX*", "Archive/", "Archive/2024*", "Sent*", "caf\xc3\xa9",
                                      "\xc3\x89t\xc3\xa9"}),
            names);
  EXPECT_EQ(99U, folders[0].uidvalidity.value_or(0));
  EXPECT_EQ(1U, problems.size());
  EXPECT_TRUE(scan(tree.path("M/.Sent")).messages.empty());
}

TEST(UserPaths, PatternExpansionAndLayouts) {
  testing::TempTree tree;
  tree.dir("vmail/example.org/alice/Maildir/cur");
  tree.dir("vmail/Example.NET/bob/Maildir/cur");
  tree.dir("vmail/example.org/notmail/Maildir");
  std::vector<Problem> problems;
  auto found =
      expand_user_path(tree.path("vmail"), "%d/%n/Maildir", [&](Problem p) { problems.push_back(p); });
  ASSERT_EQ(3U, found.size());
  EXPECT_EQ("example.net", found[0].domain);
  EXPECT_EQ("bob", found[0].name);
  EXPECT_EQ("/var/mail/bob@example.org", substitute_user_path("/var/mail/%u", "example.org", "bob"));

  OpenedTree detected = open_maildir_tree(tree.path("vmail"), TreeOptions{});
  EXPECT_NE(std::string::npos, detected.layout.find("virtual domains"));
  EXPECT_EQ(2U, detected.source->domains([](Problem) {}).size());

  tree.dir("homes/carol/Maildir/cur");
  EXPECT_THROW(open_maildir_tree(tree.path("homes"), TreeOptions{}), SourceError);  // no --domain
  OpenedTree homes = open_maildir_tree(tree.path("homes"), TreeOptions{.domain = "Example.com"});
  EXPECT_NE(std::string::npos, homes.layout.find("home directories"));
  auto domains = homes.source->domains([](Problem) {});
  ASSERT_EQ(1U, domains.size());
  EXPECT_EQ("example.com", domains[0].name);
  EXPECT_EQ("carol", homes.source->accounts(domains[0], [](Problem) {})[0].name);

  OpenedTree single =
      open_maildir_tree(tree.path("homes/carol/Maildir"), TreeOptions{.user = "carol@example.com"});
  EXPECT_EQ("a single Maildir", single.layout);
}

}  // namespace
}  // namespace mailmig::maildir
