// archive: a damaged archive. A truncated .tar / .tar.gz / .tar.zst opens;
// the damage is a Problem naming the archive, the entry and the offset
// (Source::domains()); the entries before it are still listed and read with
// the right bytes, the entry cut short is a problem of its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "core/message.h"

namespace mailmig::archive {
namespace {

using support::Compression;
using support::TarBuilder;

constexpr const char* kInbox = "home/e-smith/files/users/john/Maildir/cur/";
constexpr int kMessages = 20;

std::string id_of(int n) {
  return "cur/" + std::to_string(1700000000 + n) + ".M" + std::to_string(n) + "P1.h:2,S";
}
std::string bytes_of(int n) {
  return support::message("message " + std::to_string(n), 20000, static_cast<std::uint32_t>(n + 1));
}

class ArchiveDamage : public ::testing::TestWithParam<Compression> {};

TEST_P(ArchiveDamage, TruncatedArchiveKeepsTheEntriesBeforeTheDamage) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path(std::string("cut") + support::compression_suffix(GetParam()));
  TarBuilder b;
  b.file("home/e-smith/db/configuration", "DomainName=example.com\n");
  for (int n = 0; n < kMessages; ++n) b.file(std::string(kInbox) + id_of(n).substr(4), bytes_of(n));
  b.write(path, GetParam());
  const auto full = std::filesystem::file_size(path);
  const auto cut = full * 6 / 10;
  std::filesystem::resize_file(path, cut);

  ArchiveOptions options;
  options.cache =
      CacheBudget{.memory = 0, .disk = 0, .file_threshold = UINT64_MAX};  // only the newest body kept
  const support::Opened opened = support::open(path, options);
  EXPECT_CONTAINS(opened.archive.description, "; 1 place damaged");
  ASSERT_EQ(1U, opened.problems.size()) << support::all_messages(opened.problems);
  const Problem& damage = opened.problems[0];
  EXPECT_EQ(Scope::Store, damage.scope);
  EXPECT_EQ(path, damage.file);
  ASSERT_TRUE(damage.offset.has_value());
  EXPECT_GT(*damage.offset, 0U);
  EXPECT_LE(*damage.offset, cut);
  EXPECT_CONTAINS(damage.message, "entry \"" + std::string(kInbox));
  EXPECT_CONTAINS(damage.describe(), path);
  EXPECT_CONTAINS(damage.describe(), "offset");

  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const auto inbox = john->open_folder(support::folders_of(*john).get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  // Most messages before the cut are listed; every one listed is whole.
  EXPECT_GE(scanned.messages.size(),
            static_cast<std::size_t>(kMessages) / 4);  // zstd loses the last partial block
  EXPECT_LT(scanned.messages.size(), static_cast<std::size_t>(kMessages));
  for (std::size_t n = 0; n < scanned.messages.size(); ++n) {
    EXPECT_EQ(id_of(static_cast<int>(n)), scanned.messages[n].id);
    EXPECT_TRUE(support::read_message(*inbox, scanned.messages[n]) == bytes_of(static_cast<int>(n))) << n;
  }
  // The entry the damage cut short (its header was read) is reported with its name and an offset.
  const std::string named_entry = damage.message.substr(damage.message.find('"') + 1);
  const std::string entry = named_entry.substr(0, named_entry.find('"'));
  const std::string id = "cur/" + entry.substr(std::string(kInbox).size());
  bool listed = false;
  for (const MessageInfo& m : scanned.messages) listed = listed || m.id == id;
  if (!listed) {
    ASSERT_EQ(1U, scanned.problems.size()) << support::all_messages(scanned.problems);
    EXPECT_EQ(path + "!/" + entry, scanned.problems[0].file);
    EXPECT_TRUE(scanned.problems[0].offset.has_value());
  } else {
    EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  }
  // Evicted messages are read again from the damaged archive (the damage is further on).
  for (const MessageInfo& m : scanned.messages)
    EXPECT_FALSE(support::read_message(*inbox, m).empty()) << m.id;
}

INSTANTIATE_TEST_SUITE_P(Compressions, ArchiveDamage,
                         ::testing::Values(Compression::None, Compression::Gzip, Compression::Zstd),
                         [](const ::testing::TestParamInfo<Compression>& param_info) {
                           return std::string(support::compression_name(param_info.param));
                         });

}  // namespace
}  // namespace mailmig::archive
