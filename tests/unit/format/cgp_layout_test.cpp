// The CommuniGate store layout by name: what the cgp: walker and the
// archive: walker both take an entry for.
#include <gtest/gtest.h>

#include "format/cgp/layout.h"

namespace mailmig::cgp {
namespace {

TEST(CgpLayout, DomainEntries) {
  const DomainEntry account = domain_entry("John.Doe.macnt");
  EXPECT_EQ(account.kind, DomainEntry::Kind::Account);
  EXPECT_EQ(account.account, "john.doe");  // account names are case-insensitive
  EXPECT_EQ(account.stem, "John.Doe");
  EXPECT_EQ(domain_entry("a.sub").kind, DomainEntry::Kind::SubDirectory);
  const DomainEntry single = domain_entry("Old.mdir");
  EXPECT_EQ(single.kind, DomainEntry::Kind::SingleMailbox);
  EXPECT_TRUE(single.mdir);
  EXPECT_EQ(single.account, "old");
  EXPECT_EQ(single_mailbox_settings(single), "Old.settings");
  EXPECT_EQ(single_mailbox_info(single), "Old.info");
  EXPECT_FALSE(domain_entry("old.mbox").mdir);
  for (const std::string name : {".macnt", ".sub", ".mbox", ".mdir", "Settings", "x.settings", "macnt"}) {
    EXPECT_EQ(domain_entry(name).kind, DomainEntry::Kind::Other) << name;
  }
  EXPECT_EQ(domain_name("Example.COM"), "example.com");
}

TEST(CgpLayout, AccountEntries) {
  EXPECT_EQ(account_entry("INBOX.mbox").kind, AccountEntry::Kind::Mbox);
  EXPECT_EQ(account_entry("Sent.mdir").kind, AccountEntry::Kind::Mdir);
  const AccountEntry dir = account_entry("Work.folder");
  EXPECT_EQ(dir.kind, AccountEntry::Kind::FolderDirectory);
  EXPECT_EQ(dir.encoded, "Work");
  for (const std::string name : {"account.settings", "account.info", ".mbox", "x.folders", "x.mbox.bak"}) {
    EXPECT_EQ(account_entry(name).kind, AccountEntry::Kind::Other) << name;
  }
}

TEST(CgpLayout, FolderLevelsAreModifiedUtf7AndInboxIsCaseInsensitiveAtTheTop) {
  EXPECT_EQ(folder_level("Entw&APw-rfe", "").name, "Entwürfe");
  EXPECT_FALSE(folder_level("Entw&APw-rfe", "").raw);
  EXPECT_EQ(folder_level("inbox", "").name, "INBOX");
  EXPECT_EQ(folder_level("inbox", "Work").name, "Work/inbox");
  const FolderLevel raw = folder_level("bad&Jjo", "Work");
  EXPECT_TRUE(raw.raw);
  EXPECT_EQ(raw.name, "Work/bad&Jjo");
}

}  // namespace
}  // namespace mailmig::cgp
