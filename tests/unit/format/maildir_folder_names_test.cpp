// Maildir++ folder directories and the subscriptions file, as Dovecot 2.3
// writes them, read by the sources and written by the target.
#include <gtest/gtest.h>

#include "format/maildir/folder_names.h"

namespace mailmig::maildir {
namespace {

std::string decoded(std::string_view directory) {
  const auto folder = folder_of_directory(directory);
  if (!folder) return "(none)";
  return folder->name + (folder->raw ? " (raw)" : "");
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
  EXPECT_EQ(decoded(".Entw&APw-rfe"), "Entwürfe");
  EXPECT_EQ(decoded(".&AMk-t&AOk-"), "\xc3\x89t\xc3\xa9");
  EXPECT_EQ(decoded(".A.B"), "A/B");
  EXPECT_EQ(decoded(".INBOX.Sub"), "INBOX/Sub");
  EXPECT_EQ(decoded(".inbox.Sub"), "INBOX/Sub");  // Dovecot's INBOX is case-insensitive
  for (const std::string name : {"A/B", "Entwürfe/R&D", "INBOX/Sub", "a b/~x"}) {
    EXPECT_EQ(decoded(map_folder(name).directory), name);
  }
}

TEST(MaildirFolderNames, DotInAComponentBecomesUnderscoreAndIsReported) {
  const FolderName n = map_folder("Lists/dev.announce");
  EXPECT_EQ(n.directory, ".Lists.dev_announce");
  EXPECT_EQ(n.neutral, "Lists/dev_announce");
  EXPECT_TRUE(n.altered);
  EXPECT_TRUE(map_folder("A//B").altered);
}

TEST(MaildirFolderNames, OnlyDotDirectoriesAreFolders) {
  EXPECT_EQ(decoded("cur"), "(none)");
  EXPECT_EQ(decoded("."), "(none)");
  EXPECT_EQ(decoded(".."), "(none)");
  EXPECT_EQ(decoded("..A"), "(none)");
  EXPECT_EQ(decoded(".A."), "(none)");
  EXPECT_EQ(decoded(".bad&Jjo"), "bad&Jjo (raw)");          // invalid mUTF-7 (unterminated) stays raw
  EXPECT_EQ(decoded(".caf\xc3\xa9"), "caf\xc3\xa9 (raw)");  // raw 8-bit (mail_utf8 names)
}

TEST(MaildirSubscriptions, Version2AsDovecot23WritesIt) {
  // Byte for byte what Dovecot 2.3.19 wrote after SUBSCRIBE of these three.
  const std::string dovecot = "V\t2\n\nEntw&APw-rfe\nA\tB\nINBOX\tSub\n";
  EXPECT_EQ(format_subscriptions({"Entwürfe", "A/B", "INBOX/Sub"}), dovecot);
  EXPECT_EQ(parse_subscriptions(dovecot), (std::vector<std::string>{"Entwürfe", "A/B", "INBOX/Sub"}));
}

TEST(MaildirSubscriptions, ReadsVersion1CrLfAndEscapes) {
  EXPECT_EQ(parse_subscriptions("A.B\ninbox\n"), (std::vector<std::string>{"A/B", "INBOX"}));
  EXPECT_EQ(parse_subscriptions("Sent\r\n\r\nArchive.2024\r\n"),
            (std::vector<std::string>{"Sent", "Archive/2024"}));
  EXPECT_EQ(parse_subscriptions("V\t2\n\ninbox\tx\n\xc3\x89t\xc3\xa9\n"),
            (std::vector<std::string>{"INBOX/x", "\xc3\x89t\xc3\xa9"}));  // UTF-8 levels kept
  EXPECT_EQ(format_subscriptions({"back\\slash"}), "V\t2\n\nback\\5cslash\n");
  EXPECT_EQ(parse_subscriptions("V\t2\n\nback\\5cslash\n"), (std::vector<std::string>{"back\\slash"}));
  EXPECT_EQ(parse_subscriptions(format_subscriptions({"tab\there", "new\nline"})),
            (std::vector<std::string>{"tab\there", "new\nline"}));
}

}  // namespace
}  // namespace mailmig::maildir
