#include <gtest/gtest.h>

#include <stdexcept>

#include "target/maildir/names.h"

namespace mailmig::maildir {
namespace {

TEST(MaildirPattern, ExpandsDomainLocalPartAddressAndPercent) {
  EXPECT_EQ(expand_path_pattern("%d/%n/Maildir", "alice", "example.com"), "example.com/alice/Maildir");
  EXPECT_EQ(expand_path_pattern("users/%u/100%%", "alice", "example.com"), "users/alice@example.com/100%");
  EXPECT_EQ(expand_path_pattern("%n%x", "bob", "d"), "bob%x");
}

TEST(MaildirPattern, RefusesPathsThatLeaveTheRoot) {
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "..", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "a/../../etc", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("/%n", "alice", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d//%n", "alice", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "alice", ""), std::invalid_argument);
}

TEST(MaildirFolderNames, InboxIsTheRootAndChildrenAreDotted) {
  EXPECT_EQ(map_folder("INBOX").directory, "");
  EXPECT_EQ(map_folder("inbox").neutral, "INBOX");
  EXPECT_EQ(map_folder("Inbox/Sub").directory, ".INBOX.Sub");
  EXPECT_EQ(map_folder("Inbox/Sub").neutral, "INBOX/Sub");
  EXPECT_EQ(map_folder("A/B").directory, ".A.B");
  EXPECT_FALSE(map_folder("A/B").altered);
}

// Folder names come from a store or an IMAP LIST: none may name a directory
// outside the account's Maildir (one component starting with '.', never "."
// or "..", no '/'), and a NUL byte must not cut the name short.
TEST(MaildirFolderNames, HostileNamesStayOneDirectoryInsideTheMaildir) {
  for (const std::string& name :
       {std::string(".."), std::string("."), std::string("../../etc"), std::string("/abs/path"),
        std::string("a/../b"), std::string("..\\x"), std::string("a\0b", 3), std::string("\xff\0/../x", 7),
        std::string(300, '.')}) {
    const FolderName mapped = map_folder(name);
    const std::string& dir = mapped.directory;
    SCOPED_TRACE(dir);
    ASSERT_GE(dir.size(), 2U);
    EXPECT_EQ('.', dir.front());
    EXPECT_EQ(std::string::npos, dir.find('/'));
    EXPECT_EQ(std::string::npos, dir.find(".."));
    EXPECT_EQ(std::string::npos, dir.find('\0'));
  }
}

TEST(MaildirFolderNames, NonAsciiIsModifiedUtf7AsDovecotWritesIt) {
  EXPECT_EQ(map_folder("Entwürfe").directory, ".Entw&APw-rfe");  // what Dovecot 2.3 itself created
  EXPECT_EQ(map_folder("R&D").directory, ".R&-D");
  EXPECT_EQ(folder_of_directory(".Entw&APw-rfe"), "Entwürfe");
  EXPECT_EQ(folder_of_directory(".A.B"), "A/B");
  EXPECT_EQ(folder_of_directory(".INBOX.Sub"), "INBOX/Sub");
}

TEST(MaildirFolderNames, DotInAComponentBecomesUnderscoreAndIsReported) {
  const FolderName n = map_folder("Lists/dev.announce");
  EXPECT_EQ(n.directory, ".Lists.dev_announce");
  EXPECT_EQ(n.neutral, "Lists/dev_announce");
  EXPECT_TRUE(n.altered);
  EXPECT_TRUE(map_folder("A//B").altered);
}

TEST(MaildirFolderNames, OnlyDotDirectoriesAreFolders) {
  EXPECT_EQ(folder_of_directory("cur"), std::nullopt);
  EXPECT_EQ(folder_of_directory("."), std::nullopt);
  EXPECT_EQ(folder_of_directory(".."), std::nullopt);
  EXPECT_EQ(folder_of_directory("..A"), std::nullopt);
  EXPECT_EQ(folder_of_directory(".bad&Jjo"), "bad&Jjo");  // invalid mUTF-7 (unterminated) stays raw
}

TEST(MaildirSubscriptions, Version2AsDovecot23WritesIt) {
  // Byte for byte what Dovecot 2.3.19 wrote after SUBSCRIBE of these three.
  const std::string dovecot = "V\t2\n\nEntw&APw-rfe\nA\tB\nINBOX\tSub\n";
  EXPECT_EQ(format_subscriptions({"Entwürfe", "A/B", "INBOX/Sub"}), dovecot);
  EXPECT_EQ(parse_subscriptions(dovecot), (std::vector<std::string>{"Entwürfe", "A/B", "INBOX/Sub"}));
}

TEST(MaildirSubscriptions, ReadsVersion1AndEscapes) {
  EXPECT_EQ(parse_subscriptions("A.B\ninbox\n"), (std::vector<std::string>{"A/B", "INBOX"}));
  EXPECT_EQ(format_subscriptions({"back\\slash"}), "V\t2\n\nback\\5cslash\n");
  EXPECT_EQ(parse_subscriptions("V\t2\n\nback\\5cslash\n"), (std::vector<std::string>{"back\\slash"}));
}

}  // namespace
}  // namespace mailmig::maildir
