// archive: layout detection through the public factory (open_archive): the
// SME Server full backup (users' Maildirs, the administrator's, the domain
// from the e-smith configuration or --domain), Maildir trees described with
// --user-path or detected, and the CommuniGate store at the archive's top or
// one directory down; the description names what was detected.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "core/message.h"
#include "source/maildir/user_paths.h"

namespace mailmig::archive {
namespace {

using support::Compression;
using support::TarBuilder;

TarBuilder sme_backup(const std::string& prefix, bool with_configuration) {
  const std::string users = prefix + "home/e-smith/files/users/";
  TarBuilder b;
  if (with_configuration) {
    b.file(
        prefix + "home/e-smith/db/configuration",
        "# e-smith "
        "configuration\nDomainName=Example.COM\nSystemName=sme\nimap=service|status|enabled|TCPPort|143\n");
  }
  b.file(
      prefix + "home/e-smith/db/accounts",
      "john=user|FirstName|John|LastName|Doe|Uid|5001\nmary=user|FirstName|Mary|LastName|\nadmins=group\n");
  b.dir(users + "john/Maildir")
      .dir(users + "john/Maildir/cur")
      .dir(users + "john/Maildir/new")
      .dir(users + "john/Maildir/tmp")
      .file(users + "john/Maildir/cur/1700000000.M1P1.sme,S=10:2,S", support::message("john one"))
      .file(users + "john/Maildir/new/1700000100.M2P1.sme", support::message("john two"),
            support::kMtime + 100)
      .file(users + "john/Maildir/tmp/1700000200.M3P1.sme", support::message("in tmp: never mail"))
      .file(users + "john/Maildir/subscriptions", "Sent\n")
      .dir(users + "john/Maildir/.Sent/cur")
      .file(users + "john/Maildir/.Sent/cur/1700000300.M4P1.sme:2,RS", support::message("sent"))
      .file(users + "john/Maildir/.Archive.2023/cur/1700000400.M5P1.sme:2,", support::message("archived"))
      .file(users + "mary/Maildir/cur/1700000500.M6P1.sme:2,FS", support::message("mary"))
      .file(users + "mary/Maildir/dovecot.index.log", "binary index: not mail")
      .file(prefix + "home/e-smith/Maildir/cur/1700000600.M7P1.sme:2,S", support::message("admin"))
      .file(prefix + "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  return b;
}

TEST(ArchiveLayout, SmeBackupFromTheConfiguration) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("sme.tar.gz");
  sme_backup("./", true).write(path, Compression::Gzip);

  const support::Opened opened = support::open(path);
  EXPECT_CONTAINS(opened.archive.description, "SME Server full backup sme.tar.gz");
  EXPECT_CONTAINS(opened.archive.description, "gzip");
  EXPECT_CONTAINS(opened.archive.description, "3 users in example.com");
  EXPECT_CONTAINS(opened.archive.description, "domain from home/e-smith/db/configuration");
  EXPECT_TRUE(opened.problems.empty()) << support::all_messages(opened.problems);
  ASSERT_EQ(1U, opened.domains.size());
  EXPECT_EQ("example.com", opened.domains[0].name);
  EXPECT_TRUE(opened.domains[0].main);

  const std::vector<AccountInfo> accounts = opened.accounts();
  ASSERT_EQ(3U, accounts.size());
  EXPECT_EQ("admin", accounts[0].name);
  EXPECT_EQ("john", accounts[1].name);
  EXPECT_EQ("John Doe", accounts[1].real_name);
  EXPECT_EQ(path + "!/home/e-smith/files/users/john/Maildir", accounts[1].location);
  EXPECT_EQ("mary", accounts[2].name);
  EXPECT_EQ("Mary", accounts[2].real_name);

  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  EXPECT_TRUE(folders.problems.empty()) << support::all_messages(folders.problems);
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Sent", "Archive", "Archive/2023"}),
            support::names_of(folders.folders));
  EXPECT_TRUE(folders.get("INBOX").subscribed);
  EXPECT_TRUE(folders.get("Sent").subscribed);
  EXPECT_FALSE(folders.get("Archive/2023").subscribed);
  EXPECT_FALSE(folders.get("Archive").selectable);
  EXPECT_TRUE(folders.get("Archive/2023").selectable);

  const auto inbox = john->open_folder(folders.get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  ASSERT_EQ(2U, scanned.messages.size());  // tmp/ is no mail
  EXPECT_EQ("cur/1700000000.M1P1.sme,S=10:2,S", scanned.messages[0].id);
  EXPECT_EQ(kSeen, scanned.messages[0].flags);
  EXPECT_EQ("new/1700000100.M2P1.sme", scanned.messages[1].id);
  EXPECT_EQ(0, scanned.messages[1].flags);
  EXPECT_EQ(support::kMtime + 100, scanned.messages[1].internal_date.value_or(DateTime{}).epoch);
  EXPECT_EQ(support::message("john one"), support::read_message(*inbox, scanned.messages[0]));
  EXPECT_EQ(support::message("john two"), support::read_message(*inbox, scanned.messages[1]));
  // RFC822.SIZE counts CRLF line ends; the stored bytes are LF.
  const std::string one = support::message("john one");
  EXPECT_EQ(one.size(), scanned.messages[0].stored_size);
  EXPECT_EQ(one.size() + static_cast<std::size_t>(std::count(one.begin(), one.end(), '\n')),
            scanned.messages[0].size);

  const auto sent = john->open_folder(folders.get("Sent"));
  const support::Scanned sent_scan = support::scan(*sent);
  ASSERT_EQ(1U, sent_scan.messages.size());
  EXPECT_EQ(kSeen | kAnswered, sent_scan.messages[0].flags);
  EXPECT_EQ(support::message("sent"), support::read_message(*sent, sent_scan.messages[0]));

  const auto admin = opened.account("example.com", "admin");
  ASSERT_TRUE(admin);
  const support::FolderList admin_folders = support::folders_of(*admin);
  const auto admin_inbox = admin->open_folder(admin_folders.get("INBOX"));
  const support::Scanned admin_scan = support::scan(*admin_inbox);
  ASSERT_EQ(1U, admin_scan.messages.size());
  EXPECT_EQ(support::message("admin"), support::read_message(*admin_inbox, admin_scan.messages[0]));
}

TEST(ArchiveLayout, SmeBackupNeedsADomain) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("noconf.tar");
  sme_backup("", false).write(path, Compression::None);
  try {
    (void)open_archive(path, ArchiveOptions{});
    ADD_FAILURE() << "an SME backup without DomainName opened without --domain";
  } catch (const maildir::SourceError& e) {
    EXPECT_CONTAINS(e.what(), "--domain");
    EXPECT_CONTAINS(e.what(), path);
  }
  ArchiveOptions options;
  options.layout.domain = "Given.ORG";
  const support::Opened opened = support::open(path, options);
  EXPECT_CONTAINS(opened.archive.description, "SME Server full backup noconf.tar");
  EXPECT_CONTAINS(opened.archive.description, "in given.org (domain from --domain)");
  ASSERT_EQ(1U, opened.domains.size());
  EXPECT_EQ("given.org", opened.domains[0].name);
}

TEST(ArchiveLayout, SmeBackupOneDirectoryDown) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("down.tar.gz");
  sme_backup("backup-2024/", true).write(path);
  const support::Opened opened = support::open(path);
  EXPECT_CONTAINS(opened.archive.description, "SME Server full backup");
  EXPECT_CONTAINS(opened.archive.description, "3 users in example.com");
  const std::vector<AccountInfo> accounts = opened.accounts();
  ASSERT_EQ(3U, accounts.size());
  EXPECT_EQ(path + "!/backup-2024/home/e-smith/files/users/mary/Maildir", accounts[2].location);
}

TEST(ArchiveLayout, ForcedLayoutSmeWithoutUsersIsNoMail) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("empty.tar");
  TarBuilder().file("etc/hostname", "sme\n").dir("var/log").write(path, Compression::None);
  try {
    (void)open_archive(path, ArchiveOptions{});
    ADD_FAILURE() << "an archive without mail opened";
  } catch (const maildir::SourceError& e) {
    EXPECT_CONTAINS(e.what(), "no mail found");
    EXPECT_CONTAINS(e.what(), "--archive-layout");
  }
}

TEST(ArchiveLayout, NotAnArchive) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  tree.file("junk.tar.gz", std::string(4096, '\x01'));
  EXPECT_THROW((void)open_archive(tree.path("junk.tar.gz"), ArchiveOptions{}), ArchiveError);
  EXPECT_THROW((void)open_archive(tree.path("missing.tar"), ArchiveOptions{}), ArchiveError);
}

TarBuilder vmail_tree() {
  TarBuilder b;
  b.dir("var/vmail/example.org/alice/Maildir/cur")
      .file("var/vmail/example.org/alice/Maildir/cur/1.host:2,S", support::message("alice"))
      .file("var/vmail/Example.NET/bob/Maildir/new/2.host", support::message("bob"))
      .file("var/vmail/Example.NET/bob/Maildir/.Drafts/cur/3.host:2,DS", support::message("draft"))
      .file("var/lib/other/cur/4.host", support::message("not under the user path"))
      .file("etc/dovecot/dovecot.conf", "mail_location = maildir:~/Maildir\n");
  return b;
}

TEST(ArchiveLayout, MaildirTreeWithUserPath) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("vmail.tar.zst");
  vmail_tree().write(path, Compression::Zstd);
  ArchiveOptions options;
  options.layout.user_path = "/var/vmail/%d/%n/Maildir";
  const support::Opened opened = support::open(path, options);
  EXPECT_CONTAINS(opened.archive.description, "Maildir archive vmail.tar.zst");
  EXPECT_CONTAINS(opened.archive.description, "zstd");
  EXPECT_CONTAINS(opened.archive.description, "user path /var/vmail/%d/%n/Maildir");
  EXPECT_CONTAINS(opened.archive.description, "2 accounts in example.net, example.org");
  ASSERT_EQ(2U, opened.domains.size());
  EXPECT_EQ("example.net", opened.domains[0].name);
  EXPECT_EQ("example.org", opened.domains[1].name);
  const std::vector<AccountInfo> accounts = opened.accounts();
  ASSERT_EQ(2U, accounts.size());
  EXPECT_EQ("bob", accounts[0].name);
  EXPECT_EQ("example.net", accounts[0].domain);
  EXPECT_EQ(path + "!/var/vmail/Example.NET/bob/Maildir", accounts[0].location);
  EXPECT_EQ("alice", accounts[1].name);

  const auto bob = opened.account("example.net", "bob");
  ASSERT_TRUE(bob);
  const support::FolderList folders = support::folders_of(*bob);
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Drafts"}), support::names_of(folders.folders));
  const auto drafts = bob->open_folder(folders.get("Drafts"));
  const support::Scanned scanned = support::scan(*drafts);
  ASSERT_EQ(1U, scanned.messages.size());
  EXPECT_EQ(kDraft | kSeen, scanned.messages[0].flags);
  EXPECT_EQ(support::message("draft"), support::read_message(*drafts, scanned.messages[0]));
}

TEST(ArchiveLayout, UserPathWithoutDomainLevelNeedsDomain) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("homes.tar");
  TarBuilder()
      .file("home/carol/Maildir/cur/1.host:2,S", support::message("carol"))
      .file("home/dave/Maildir/new/2.host", support::message("dave"))
      .write(path, Compression::None);
  ArchiveOptions options;
  options.layout.user_path = "home/%n/Maildir";
  EXPECT_THROW((void)open_archive(path, options), maildir::SourceError);
  options.layout.domain = "homes.example";
  const support::Opened opened = support::open(path, options);
  EXPECT_CONTAINS(opened.archive.description, "user path home/%n/Maildir, 2 accounts in homes.example");
  const std::vector<AccountInfo> accounts = opened.accounts();
  ASSERT_EQ(2U, accounts.size());
  EXPECT_EQ("carol", accounts[0].name);
  EXPECT_EQ("dave", accounts[1].name);
  // A pattern matching nothing names the option in its error.
  options.layout.user_path = "srv/%d/%n";
  try {
    (void)open_archive(path, options);
    ADD_FAILURE() << "a user path matching nothing opened";
  } catch (const maildir::SourceError& e) {
    EXPECT_CONTAINS(e.what(), "--user-path srv/%d/%n");
  }
}

TEST(ArchiveLayout, MaildirVirtualDomainsDetected) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("virtual.tar.gz");
  TarBuilder()
      .file("example.com/erin/cur/1.host:2,S", support::message("erin"))
      .file("example.com/frank/new/2.host", support::message("frank"))
      .write(path);
  const support::Opened opened = support::open(path);
  EXPECT_CONTAINS(opened.archive.description, "virtual domains (<domain>/<user>)");
  EXPECT_CONTAINS(opened.archive.description, "2 accounts in example.com");
}

// CommuniGate: Settings/Main.settings names the main domain (Accounts/);
// Domains/<name>/ the others. `base` is "" or "<dir>/".
TarBuilder cgp_store(const std::string& base) {
  TarBuilder b;
  b.dir(base + "Settings")
      .file(base + "Settings/Main.settings", "{DomainName = \"Mail.Example.COM\"; ServerName = x;}\n")
      .dir(base + "Accounts")
      .dir(base + "Accounts/alice.macnt")
      .file(base + "Accounts/alice.macnt/account.settings", "{RealName = \"Alice Liddell\";}\n")
      .file(base + "Accounts/alice.macnt/account.info", "{Subscription = (\"Sent\");}\n")
      .file(base + "Accounts/alice.macnt/INBOX.mbox",
            "From <x@example.com> Thu, 01 Feb 2024 10:11:12 +0000\n" + support::message("cgp inbox") + "\n")
      .dir(base + "Accounts/alice.macnt/Sent.mdir")
      .file(base + "Accounts/alice.macnt/Sent.mdir/i2-1700000000-S.msg", support::message("cgp sent 2"))
      .file(base + "Accounts/alice.macnt/Sent.mdir/i1-1700000000-SA.msg", support::message("cgp sent 1"))
      .dir(base + "Accounts/alice.macnt/Projects.folder")
      .dir(base + "Accounts/alice.macnt/Projects.folder/Work.mdir")
      .file(base + "Accounts/alice.macnt/Projects.folder/Work.mdir/i7-1700000000-F.msg",
            support::message("work"))
      .file(base + "Domains/Other.org/bob.macnt/INBOX.mbox",
            "From <y@example.com> Thu, 01 Feb 2024 10:11:12 +0000\n" + support::message("bob inbox") + "\n");
  return b;
}

void check_cgp_store(const std::string& path, const support::Opened& opened) {
  EXPECT_TRUE(opened.problems.empty()) << support::all_messages(opened.problems);
  ASSERT_EQ(2U, opened.domains.size());
  EXPECT_EQ("mail.example.com", opened.domains[0].name);
  EXPECT_TRUE(opened.domains[0].main);
  EXPECT_EQ("other.org", opened.domains[1].name);
  EXPECT_FALSE(opened.domains[1].main);

  const auto alice = opened.account("mail.example.com", "alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ("Alice Liddell", alice->info().real_name);
  EXPECT_EQ("multi-mailbox", alice->info().kind);
  const support::FolderList folders = support::folders_of(*alice);
  EXPECT_TRUE(folders.problems.empty()) << support::all_messages(folders.problems);
  // Selectable folders in archive order, INBOX first; the directory-only
  // "Projects" (no entry of its own holds mail) anywhere before its child.
  const std::vector<std::string> names = support::names_of(folders.folders);
  ASSERT_EQ(4U, names.size());
  std::vector<std::string> selectable;
  for (const FolderInfo& f : folders.folders) {
    if (f.selectable) selectable.push_back(f.name);
  }
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Sent", "Projects/Work"}), selectable);
  const auto at = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) - names.begin();
  };
  EXPECT_LT(at("Projects"), at("Projects/Work"));
  EXPECT_TRUE(folders.get("Sent").subscribed);
  EXPECT_FALSE(folders.get("Projects").selectable);
  EXPECT_EQ("mbox", folders.get("INBOX").format);
  EXPECT_EQ("mdir", folders.get("Sent").format);

  const auto inbox = alice->open_folder(folders.get("INBOX"));
  const support::Scanned inbox_scan = support::scan(*inbox);
  EXPECT_TRUE(inbox_scan.problems.empty()) << support::all_messages(inbox_scan.problems);
  ASSERT_EQ(1U, inbox_scan.messages.size());
  EXPECT_CONTAINS(inbox_scan.messages[0].file, path + "!/");
  EXPECT_EQ(support::message("cgp inbox"), support::read_message(*inbox, inbox_scan.messages[0]));

  const auto sent = alice->open_folder(folders.get("Sent"));
  const support::Scanned sent_scan = support::scan(*sent);
  EXPECT_TRUE(sent_scan.problems.empty()) << support::all_messages(sent_scan.problems);
  ASSERT_EQ(2U, sent_scan.messages.size());
  for (const MessageInfo& m : sent_scan.messages) {
    const std::string expected =
        m.uid == 1U ? support::message("cgp sent 1") : support::message("cgp sent 2");
    EXPECT_EQ(expected, support::read_message(*sent, m)) << m.id;
    EXPECT_EQ(m.uid == 1U ? (kSeen | kAnswered) : kSeen, m.flags) << m.id;
    EXPECT_CONTAINS(m.file, "Sent.mdir/" + m.id);
  }

  const auto work = alice->open_folder(folders.get("Projects/Work"));
  const support::Scanned work_scan = support::scan(*work);
  ASSERT_EQ(1U, work_scan.messages.size());
  EXPECT_EQ(7U, work_scan.messages[0].uid.value_or(0));
  EXPECT_EQ(support::message("work"), support::read_message(*work, work_scan.messages[0]));

  const auto bob = opened.account("other.org", "bob");
  ASSERT_TRUE(bob);
  const support::FolderList bob_folders = support::folders_of(*bob);
  ASSERT_EQ((std::vector<std::string>{"INBOX"}), support::names_of(bob_folders.folders));
  const auto bob_inbox = bob->open_folder(bob_folders.get("INBOX"));
  const support::Scanned bob_scan = support::scan(*bob_inbox);
  ASSERT_EQ(1U, bob_scan.messages.size());
  EXPECT_EQ(support::message("bob inbox"), support::read_message(*bob_inbox, bob_scan.messages[0]));
}

TEST(ArchiveLayout, CommuniGateStoreAtTheTop) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("cgp.tar.gz");
  cgp_store("").write(path);
  const support::Opened opened = support::open(path);
  EXPECT_CONTAINS(opened.archive.description, "CommuniGate Pro store in cgp.tar.gz (gzip");
  EXPECT_CONTAINS(opened.archive.description,
                  "2 accounts in 2 domains (main domain from Settings/Main.settings)");
  EXPECT_NOT_CONTAINS(opened.archive.description, "under");
  check_cgp_store(path, opened);
}

TEST(ArchiveLayout, CommuniGateStoreOneDirectoryDown) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("cgp-down.tar");
  cgp_store("./CommuniGate/").write(path, Compression::None);
  const support::Opened opened = support::open(path);
  EXPECT_CONTAINS(opened.archive.description, "CommuniGate Pro store in cgp-down.tar (");
  EXPECT_CONTAINS(opened.archive.description, ", under CommuniGate/)");
  EXPECT_CONTAINS(opened.archive.description, "2 accounts in 2 domains");
  check_cgp_store(path, opened);
}

TEST(ArchiveLayout, CommuniGateMainDomainOption) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("nomain.tar");
  TarBuilder()
      .file("Accounts/zed.macnt/Sent.mdir/i1-1700000000-S.msg", support::message("zed"))
      .write(path, Compression::None);
  EXPECT_THROW((void)open_archive(path, ArchiveOptions{}), maildir::SourceError);
  ArchiveOptions options;
  options.layout.main_domain = "Main.Example";
  const support::Opened opened = support::open(path, options);
  EXPECT_CONTAINS(opened.archive.description, "(main domain from option)");
  ASSERT_EQ(1U, opened.domains.size());
  EXPECT_EQ("main.example", opened.domains[0].name);
  const std::vector<AccountInfo> accounts = opened.accounts();
  ASSERT_EQ(1U, accounts.size());
  EXPECT_EQ("zed", accounts[0].name);
}

}  // namespace
}  // namespace mailmig::archive
