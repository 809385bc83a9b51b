// Backup import pieces: the e-smith accounts database's groups and
// pseudonyms, /etc/shadow hashes, an exploded backup directory read like the
// archive it came from, and a stream spooled in one pass.
#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "source/archive/directory_entries.h"
#include "source/archive/esmith_accounts.h"
#include "source/archive/esmith_db.h"
#include "source/archive/stream_spool.h"

namespace mailmig::archive {
namespace {

using support::Compression;
using support::TarBuilder;

constexpr const char* kAccounts =
    "admin=system|FirstName|Local|LastName|Admin\n"
    "john=user|FirstName|John|LastName|Doe|PasswordSet|yes\n"
    "mary=user|FirstName|Mary|PasswordSet|yes\n"
    "bob=user|FirstName|Bob\n"
    "sales=group|Description|Sales team|Members|john,mary, bob ,ghost\n"
    "empty=group|Members|ghost\n"
    "john.doe=pseudonym|Account|john|Visible|internal\n"
    "info@example.org=pseudonym|Account|sales\n"
    "postmaster=pseudonym|Account|admin\n"
    "lost=pseudonym|Account|nobody\n"
    "primary=ibay|Name|Primary i-bay\n";

TEST(EsmithAliases, GroupsAndPseudonyms) {
  const EsmithAliases found = esmith_aliases(parse_esmith_db(kAccounts), "example.com");
  ASSERT_EQ(4U, found.aliases.size());
  EXPECT_EQ("info@example.org", found.aliases[0].address);
  EXPECT_EQ((std::vector<std::string>{"sales@example.com"}), found.aliases[0].targets);
  EXPECT_EQ("pseudonym", found.aliases[0].kind);
  EXPECT_EQ("john.doe@example.com", found.aliases[1].address);
  EXPECT_EQ((std::vector<std::string>{"john@example.com"}), found.aliases[1].targets);
  EXPECT_EQ("postmaster@example.com", found.aliases[2].address);
  EXPECT_EQ((std::vector<std::string>{"admin@example.com"}), found.aliases[2].targets);
  EXPECT_EQ("sales@example.com", found.aliases[3].address);
  EXPECT_EQ("group", found.aliases[3].kind);
  EXPECT_EQ((std::vector<std::string>{"bob@example.com", "john@example.com", "mary@example.com"}),
            found.aliases[3].targets);
  // ghost (twice: sales and empty), the group left without members, the pseudonym of nobody.
  ASSERT_EQ(4U, found.notes.size());
  std::string notes;
  for (const std::string& n : found.notes) notes += n + "\n";
  EXPECT_CONTAINS(notes, "group sales: member \"ghost\"");
  EXPECT_CONTAINS(notes, "group empty: no member");
  EXPECT_CONTAINS(notes, "pseudonym lost: its account \"nobody\"");
}

TEST(EsmithAliases, EscapedBarAndCommentsAndNoGroups) {
  const EsmithDb db = parse_esmith_db("# accounts\n\nann=user|FirstName|A\\|B\r\n");
  EXPECT_EQ("A|B", db.at("ann").props.at("FirstName"));
  EXPECT_TRUE(esmith_aliases(db, "example.com").aliases.empty());
  EXPECT_TRUE(esmith_aliases(db, "example.com").notes.empty());
}

TEST(ShadowHashes, KeepsUsableHashesOnly) {
  const auto hashes = shadow_hashes(
      "root:$6$salt$abc:19000:0:99999:7:::\n"
      "john:$1$xy$hash:19000::::::\n"
      "locked:!$6$s$h:19000::::::\n"
      "nopass:!!:19000::::::\n"
      "star:*:19000::::::\n"
      "empty::19000::::::\n"
      "garbage line\n");
  EXPECT_EQ((std::map<std::string, std::string>{{"root", "$6$salt$abc"}, {"john", "$1$xy$hash"}}), hashes);
}

TEST(DirectoryEntries, SortedDepthFirstAndLinksNotFollowed) {
  mailmig::testing::TempTree tree("mailmig-dirent");
  tree.file("b/cur/2", "two");
  tree.file("b/cur/1", "one");
  tree.file("a", "top");
  tree.symlink("/etc/passwd", "b/out");
  tree.symlink("cur/1", "b/in");
  DirectoryEntries entries(tree.root());
  EntryHeader header;
  std::vector<std::string> paths;
  std::string data;
  while (entries.next(header)) {
    paths.push_back(header.path);
    if (header.path == "b/cur/1") {
      EXPECT_EQ(EntryType::File, header.type);
      EXPECT_EQ(3U, header.size);
      std::array<char, 16> buffer{};
      const std::size_t n = entries.read(buffer);
      data.assign(buffer.data(), n);
    }
    if (header.path == "b/out") {
      EXPECT_EQ(EntryType::Symlink, header.type);
      EXPECT_EQ("/etc/passwd", header.link_target);
      std::array<char, 16> buffer{};
      EXPECT_EQ(0U, entries.read(buffer));  // a link has no data: never followed
    }
  }
  EXPECT_EQ((std::vector<std::string>{"a", "b", "b/cur", "b/cur/1", "b/cur/2", "b/in", "b/out"}), paths);
  EXPECT_EQ("one", data);
}

TEST(DirectoryEntries, LinksLeavingTheTree) {
  EXPECT_TRUE(link_leaves_tree("a/b", "/etc/shadow"));
  EXPECT_TRUE(link_leaves_tree("a/b", "../../x"));
  EXPECT_FALSE(link_leaves_tree("a/b", "../x"));
  EXPECT_FALSE(link_leaves_tree("a/b", "c/../d"));
  EXPECT_TRUE(link_leaves_tree("b", "../b"));
}

TarBuilder small_sme() {
  TarBuilder tar;
  tar.file("./home/e-smith/db/configuration", "DomainName=example.com\n");
  tar.file("./home/e-smith/db/accounts", kAccounts);
  tar.file("./etc/shadow", "john:$6$salt$hash:19000::::::\nmary:!!:19000::::::\n");
  tar.file("./etc/other.conf", std::string(5000, 'z'));
  tar.file("./home/e-smith/files/users/john/Maildir/cur/1700000000.M1P1.sme:2,S", support::message("one"));
  tar.file("./home/e-smith/files/users/john/Maildir/.Sent/cur/1700000100.M2P1.sme:2,RS",
           support::message("sent"), support::kMtime + 100);
  tar.file("./home/e-smith/files/users/john/Maildir/new/1700000200.M3P1.sme", support::message("new", 300000),
           support::kMtime + 200);
  tar.file("./home/e-smith/files/users/mary/Maildir/cur/1700000300.M4P1.sme:2,F", support::message("mary"),
           support::kMtime + 300);
  tar.symlink("./home/e-smith/files/users/mary/Maildir/cur/evil", "/etc/shadow");
  return tar;
}

// Extracts `archive` into `dir` with libarchive (as tar xf would).
void explode(const std::string& archive, const std::string& dir) {
  const std::unique_ptr<::archive, int (*)(::archive*)> in(::archive_read_new(), ::archive_read_free);
  const std::unique_ptr<::archive, int (*)(::archive*)> out(::archive_write_disk_new(), ::archive_write_free);
  ::archive_read_support_filter_all(in.get());
  ::archive_read_support_format_all(in.get());
  ::archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  ASSERT_EQ(ARCHIVE_OK, ::archive_read_open_filename(in.get(), archive.c_str(), 65536));
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  archive_entry* entry = nullptr;
  while (::archive_read_next_header(in.get(), &entry) == ARCHIVE_OK) {
    ASSERT_GE(::archive_write_header(out.get(), entry), ARCHIVE_WARN);
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    while (::archive_read_data_block(in.get(), &block, &size, &offset) == ARCHIVE_OK) {
      ::archive_write_data_block(out.get(), block, size, offset);
    }
    ::archive_write_finish_entry(out.get());
  }
  std::filesystem::current_path(cwd);
}

// Every account, folder and message (id, flags, date, bytes) and every problem's message.
std::string dump(const support::Opened& opened) {
  std::string out;
  for (const AccountInfo& a : opened.accounts()) {
    out += fmt::format("account {}@{} '{}' password={}\n", a.name, a.domain, a.real_name, a.password.value);
    const auto account = opened.account(a.domain, a.name);
    const support::FolderList folders = support::folders_of(*account);
    for (const Problem& p : folders.problems) out += "  problem " + p.message + "\n";
    for (const FolderInfo& f : folders.folders) {
      out += fmt::format("  folder {} {}\n", f.name, f.selectable);
      if (!f.selectable) continue;
      const auto folder = account->open_folder(f);
      const support::Scanned scanned = support::scan(*folder);
      for (const Problem& p : scanned.problems) out += "    problem " + p.message + "\n";
      for (const MessageInfo& m : scanned.messages) {
        out += fmt::format("    {} flags={} date={} size={} sha={}\n", m.id, m.flags,
                           m.internal_date.value_or(DateTime{}).epoch, m.size,
                           std::hash<std::string>{}(support::read_message(*folder, m)));
      }
    }
  }
  return out;
}

TEST(BackupDirectory, EqualsTheArchiveItCameFrom) {
  mailmig::testing::TempTree tree("mailmig-backupdir");
  const std::string archive = tree.path("sme.tar.gz");
  small_sme().write(archive, Compression::Gzip);
  tree.dir("exploded");
  explode(archive, tree.path("exploded"));

  const support::Opened from_file = support::open(archive);
  const support::Opened from_dir = support::open(tree.path("exploded"));
  EXPECT_CONTAINS(from_dir.archive.description, "SME Server full backup exploded (directory)");
  EXPECT_CONTAINS(from_dir.archive.description, "3 users in example.com");  // bob has no Maildir
  EXPECT_CONTAINS(from_dir.archive.description, "1 password hash from etc/shadow");
  EXPECT_CONTAINS(from_dir.archive.description, "4 aliases (groups, pseudonyms)");
  EXPECT_EQ(4U, from_dir.archive.aliases.aliases.size());
  const std::string file_dump = dump(from_file);
  EXPECT_CONTAINS(file_dump, "account john@example.com 'John Doe' password=$6$salt$hash");
  EXPECT_CONTAINS(file_dump, "account bob@example.com 'Bob' password=\n");
  EXPECT_CONTAINS(file_dump, "symbolic link");
  EXPECT_EQ(file_dump, dump(from_dir));
}

TEST(BackupDirectory, SpooledStreamEqualsTheArchive) {
  mailmig::testing::TempTree tree("mailmig-backupspool");
  const std::string archive = tree.path("sme.tar.zst");
  small_sme().write(archive, Compression::Zstd);
  std::string spool_dir;
  {
    const std::unique_ptr<StreamSpool> spool = spool_stream(archive, "stdin");
    spool_dir = spool->directory;
    struct stat st {};
    ASSERT_EQ(0, ::stat(spool_dir.c_str(), &st));
    EXPECT_EQ(0700U, st.st_mode & 0777U);
    EXPECT_TRUE(spool->problems.empty()) << support::all_messages(spool->problems);
    EXPECT_EQ(1U, spool->skipped_files);  // etc/other.conf: no layout reads it
    EXPECT_EQ(5000U, spool->skipped_bytes);
    EXPECT_FALSE(std::filesystem::exists(spool_dir + "/etc/other.conf"));
    EXPECT_EQ(7U, spool->files);
    const support::Opened from_spool = support::open(spool_dir);
    EXPECT_EQ(dump(support::open(archive)), dump(from_spool));
  }
  EXPECT_FALSE(std::filesystem::exists(spool_dir));  // removed with the spool
}

TEST(BackupDirectory, SpoolRefusesClimbingNamesAndLinkedDirectories) {
  mailmig::testing::TempTree tree("mailmig-backupclimb");
  const std::string archive = tree.path("bad.tar");
  TarBuilder tar;
  tar.symlink("users/x", tree.path("outside"));
  tar.file("users/x/cur/1", support::message("through the link"));
  tar.file("../escape/cur/2", support::message("climbing"));
  tar.write(archive, Compression::None);
  tree.dir("outside");
  const std::unique_ptr<StreamSpool> spool = spool_stream(archive, "stdin");
  EXPECT_TRUE(std::filesystem::is_empty(tree.path("outside")));
  EXPECT_FALSE(std::filesystem::exists(tree.path("escape")));
  const std::string problems = support::all_messages(spool->problems);
  EXPECT_CONTAINS(problems, "users/x/cur/1");
  EXPECT_CONTAINS(problems, "climbs out");
}

TEST(BackupDirectory, SpoolReportsALinkedMessageWhoseDataWasNotKept) {
  mailmig::testing::TempTree tree("mailmig-backuplink");
  const std::string archive = tree.path("links.tar");
  TarBuilder tar;
  tar.file("store/blob", support::message("kept elsewhere"));  // no layout reads this place
  tar.hardlink("users/a/Maildir/cur/1.M1:2,S", "store/blob");  // read as mail: reported
  tar.file("users/a/Maildir/cur/2.M2:2,S", support::message("second"));
  tar.hardlink("users/a/Maildir/.Copy/cur/2.M2:2,S", "users/a/Maildir/cur/2.M2:2,S");  // kept
  tar.hardlink("store/other", "store/blob");                                           // not mail: ignored
  tar.write(archive, Compression::None);
  const std::unique_ptr<StreamSpool> spool = spool_stream(archive, "stdin");
  ASSERT_EQ(1U, spool->problems.size()) << support::all_messages(spool->problems);
  EXPECT_CONTAINS(spool->problems[0].describe(), "users/a/Maildir/cur/1.M1:2,S");
  EXPECT_CONTAINS(spool->problems[0].describe(), "did not keep");
  EXPECT_TRUE(std::filesystem::exists(spool->directory + "/users/a/Maildir/.Copy/cur/2.M2:2,S"));
}

}  // namespace
}  // namespace mailmig::archive
