// archive: the message cache and the reader pool seen through Source: a
// message larger than the cache budgets read twice (byte-identical, from
// memory or from its temporary file), open() of an evicted message (the
// archive read again up to it, forwards and backwards), a reader that
// outlives its body's eviction, and two threads reading two accounts at
// once through one pool. Budgets are the smallest the code allows
// (ArchiveOptions::cache; 0 keeps only the newest body). Also: the
// account's store of entries passed over (one pass for cur/ and new/ around
// subfolders, counted by OpenedArchive::reader_opens; a too small store falls
// back to another pass).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive_test_support.h"
#include "common/temp_tree.h"
#include "core/message.h"

namespace mailmig::archive {
namespace {

using support::Compression;
using support::TarBuilder;

constexpr const char* kHome = "home/e-smith/files/users/";
constexpr std::size_t kLarge = std::size_t{3}
                               << 20U;  // > the 1 MiB libarchive block and the 256 KiB copy buffer

enum class Budget : std::uint8_t { Memory, File };

CacheBudget smallest(Budget kind) {
  // Memory: every body in memory, the memory budget 0 (only the newest is kept).
  // File: every body in an unlinked temporary file, the disk budget 0.
  return kind == Budget::Memory ? CacheBudget{.memory = 0, .disk = 0, .file_threshold = UINT64_MAX}
                                : CacheBudget{.memory = 0, .disk = 0, .file_threshold = 0};
}

struct Case {
  Compression compression;
  Budget budget;
};

class ArchiveCache : public ::testing::TestWithParam<Case> {
 protected:
  // john's INBOX: small, large, small, large, small; another folder and
  // another user between them.
  std::string build() {
    const std::string path =
        tree_.path(std::string("cache") + support::compression_suffix(GetParam().compression));
    const std::string inbox = std::string(kHome) + "john/Maildir/cur/";
    expected_ = {{"cur/1.h:2,S", support::message("small 1", 100, 1)},
                 {"cur/2.h:2,S", support::message("large 2", kLarge, 2)},
                 {"cur/3.h:2,S", support::message("small 3", 5000, 3)},
                 {"cur/4.h:2,S", support::message("large 4", kLarge + 7, 4)},
                 {"cur/5.h:2,S", support::message("small 5", 0, 5)}};
    TarBuilder b;
    b.file("home/e-smith/db/configuration", "DomainName=example.com\n");
    for (const auto& [id, bytes] : expected_) {
      b.file(inbox + id.substr(4), bytes);
      if (id == "cur/2.h:2,S")
        b.file(std::string(kHome) + "john/Maildir/.Sent/cur/9.h:2,S", support::message("sent"));
      if (id == "cur/3.h:2,S")
        b.file(std::string(kHome) + "mary/Maildir/cur/8.h:2,S", support::message("mary", 20000));
    }
    b.write(path, GetParam().compression);
    return path;
  }

  [[nodiscard]] ArchiveOptions options() const {
    ArchiveOptions o;
    o.cache = smallest(GetParam().budget);
    o.parked_readers = 1;
    return o;
  }

  mailmig::testing::TempTree tree_{"mailmig-arunit"};
  std::map<std::string, std::string> expected_;
};

TEST_P(ArchiveCache, LargeMessageReadTwiceDuringTheScan) {
  const std::string path = build();
  const support::Opened opened = support::open(path, options());
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  const auto inbox = john->open_folder(folders.get("INBOX"));
  std::vector<std::string> seen;
  std::vector<Problem> problems;
  // The engine's pattern: hash (first read) right away, send (second read) soon after.
  inbox->scan(
      [&](const MessageInfo& m) {
        seen.push_back(m.id);
        const std::string first = support::read_message(*inbox, m);
        const std::string second = support::read_message(*inbox, m);
        EXPECT_EQ(first.size(), second.size()) << m.id;
        EXPECT_TRUE(first == second) << m.id << ": the two reads differ";
        EXPECT_TRUE(first == expected_.at(m.id)) << m.id << ": wrong bytes";
        EXPECT_EQ(expected_.at(m.id).size(), m.stored_size) << m.id;
      },
      [&](Problem p) { problems.push_back(std::move(p)); });
  EXPECT_TRUE(problems.empty()) << support::all_messages(problems);
  EXPECT_EQ(
      (std::vector<std::string>{"cur/1.h:2,S", "cur/2.h:2,S", "cur/3.h:2,S", "cur/4.h:2,S", "cur/5.h:2,S"}),
      seen);
}

TEST_P(ArchiveCache, LargeMessageReadInSmallChunks) {
  const std::string path = build();
  const support::Opened opened = support::open(path, options());
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const auto inbox = john->open_folder(support::folders_of(*john).get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  ASSERT_EQ(5U, scanned.messages.size());
  // The last large message is the newest cached one; odd chunk sizes cross every boundary.
  const MessageInfo& large = scanned.messages[3];
  for (const std::size_t chunk : {std::size_t{1} << 20U, std::size_t{4093}, std::size_t{65537}}) {
    const std::unique_ptr<ByteReader> reader = inbox->open(large);
    EXPECT_TRUE(support::read_all(*reader, chunk) == expected_.at(large.id)) << "chunk " << chunk;
  }
}

TEST_P(ArchiveCache, EvictedMessagesAreReadFromTheArchiveAgain) {
  const std::string path = build();
  const support::Opened opened = support::open(path, options());
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const auto inbox = john->open_folder(support::folders_of(*john).get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  EXPECT_TRUE(scanned.problems.empty()) << support::all_messages(scanned.problems);
  ASSERT_EQ(5U, scanned.messages.size());
  // With a zero budget only the last body survived the scan: every other open()
  // reads the archive again. Backwards (each one a new reader from the start) ...
  for (auto it = scanned.messages.rbegin(); it != scanned.messages.rend(); ++it) {
    EXPECT_TRUE(support::read_message(*inbox, *it) == expected_.at(it->id)) << it->id;
  }
  // ... forwards (a parked reader goes on) and each twice.
  for (const MessageInfo& m : scanned.messages) {
    EXPECT_TRUE(support::read_message(*inbox, m) == expected_.at(m.id)) << m.id;
    EXPECT_TRUE(support::read_message(*inbox, m) == expected_.at(m.id)) << m.id;
  }
  // Skipping around: 4, 1, 3 (another folder was read in between).
  const auto sent = john->open_folder(support::folders_of(*john).get("Sent"));
  const support::Scanned sent_scan = support::scan(*sent);
  ASSERT_EQ(1U, sent_scan.messages.size());
  for (const std::size_t i : {3U, 0U, 2U}) {
    EXPECT_TRUE(support::read_message(*inbox, scanned.messages[i]) == expected_.at(scanned.messages[i].id))
        << i;
  }
  EXPECT_EQ(support::message("sent"), support::read_message(*sent, sent_scan.messages[0]));
}

TEST_P(ArchiveCache, AReaderKeepsItsBodyAfterEviction) {
  const std::string path = build();
  const support::Opened opened = support::open(path, options());
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const auto inbox = john->open_folder(support::folders_of(*john).get("INBOX"));
  const support::Scanned scanned = support::scan(*inbox);
  ASSERT_EQ(5U, scanned.messages.size());
  const std::unique_ptr<ByteReader> large = inbox->open(scanned.messages[1]);  // re-read, now the newest
  std::string head(1000, '\0');
  ASSERT_EQ(head.size(), large->read(std::span<char>(head.data(), head.size())));
  // Another message evicts it from the cache while it is being read.
  EXPECT_TRUE(support::read_message(*inbox, scanned.messages[0]) == expected_.at(scanned.messages[0].id));
  EXPECT_TRUE(head + support::read_all(*large) == expected_.at(scanned.messages[1].id));
}

TEST_P(ArchiveCache, MessagesOfAnotherFolderAreRefused) {
  const std::string path = build();
  const support::Opened opened = support::open(path, options());
  const auto john = opened.account("example.com", "john");
  ASSERT_TRUE(john);
  const support::FolderList folders = support::folders_of(*john);
  const auto inbox = john->open_folder(folders.get("INBOX"));
  const auto sent = john->open_folder(folders.get("Sent"));
  const support::Scanned scanned = support::scan(*inbox);
  ASSERT_FALSE(scanned.messages.empty());
  EXPECT_ANY_THROW((void)sent->open(scanned.messages[0]));
}

INSTANTIATE_TEST_SUITE_P(Budgets, ArchiveCache,
                         ::testing::Values(Case{Compression::None, Budget::Memory},
                                           Case{Compression::Gzip, Budget::Memory},
                                           Case{Compression::Gzip, Budget::File},
                                           Case{Compression::Zstd, Budget::File}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(support::compression_name(param_info.param.compression)) +
                                  (param_info.param.budget == Budget::Memory ? "_memory" : "_file");
                         });

// Reads every folder of `users` (domain example.com) on one thread per user,
// three rounds, each message twice during the scan and once after it
// (evicted by then with a zero budget: the archive is read again while the
// other thread reads). `expected`: "<user>/<folder>" -> bytes in scan order.
void read_concurrently(const support::Opened& opened, const std::vector<std::string>& users,
                       const std::map<std::string, std::vector<std::string>>& expected) {
  std::mutex mutex;
  std::vector<std::string> failures;
  std::atomic<std::size_t> reads{0};
  const auto fail = [&](const std::string& what) {
    const std::lock_guard lock(mutex);
    failures.push_back(what);
  };
  const auto worker = [&](const std::string& user) {
    try {
      const std::unique_ptr<Account> account =
          opened.source().open_account(AccountInfo{.domain = "example.com",
                                                   .name = user,
                                                   .real_name = {},
                                                   .location = {},
                                                   .kind = {},
                                                   .password = {}});
      for (int round = 0; round < 3; ++round) {
        for (const FolderInfo& folder : account->folders([&](const Problem& p) { fail(p.describe()); })) {
          if (!folder.selectable) continue;
          const std::string key = user + "/" + folder.name;
          const std::vector<std::string>& bytes = expected.at(key);
          const std::unique_ptr<Folder> f = account->open_folder(folder);
          std::vector<MessageInfo> messages;
          f->scan(
              [&](const MessageInfo& m) {
                const std::size_t n = messages.size();
                messages.push_back(m);
                for (int i = 0; i < 2; ++i) {
                  if (n >= bytes.size() || support::read_message(*f, m) != bytes[n])
                    fail("scan read " + key + " " + m.id);
                  ++reads;
                }
              },
              [&](const Problem& p) { fail(p.describe()); });
          if (messages.size() != bytes.size())
            fail(key + ": " + std::to_string(messages.size()) + " messages");
          for (std::size_t n = messages.size(); n-- > 0;) {
            if (n >= bytes.size() || support::read_message(*f, messages[n]) != bytes[n])
              fail("re-read " + key + " " + messages[n].id);
            ++reads;
          }
        }
      }
    } catch (const std::exception& e) {
      fail(user + ": " + e.what());
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(users.size());
  for (const std::string& user : users) threads.emplace_back(worker, user);
  for (std::thread& t : threads) t.join();
  std::string all;
  for (const std::string& f : failures) all += f + "\n";
  EXPECT_TRUE(failures.empty()) << all;
  std::size_t total = 0;
  for (const auto& [key, bytes] : expected) total += bytes.size();
  EXPECT_EQ(total * 3 * 3, reads.load());
}

// The account's cur/ and new/ around its subfolders (and another user in
// between): reading the folders in folders() order costs one pass over the
// archive, the subfolders served from the account's store of entries passed
// over; with a store too small for them, the bytes are still right (read from
// the archive again: one more pass).
enum class Store : std::uint8_t { Memory, Files, Tiny, OneMessage };

class ArchivePassedStore : public ::testing::TestWithParam<Store> {};

TEST_P(ArchivePassedStore, FoldersAroundSubfoldersCostOnePass) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("around.tar.zst");
  const std::string john = std::string(kHome) + "john/Maildir/";
  std::map<std::string, std::vector<std::string>> expected;  // folder -> bytes in scan order
  TarBuilder b;
  b.file("home/e-smith/db/configuration", "DomainName=example.com\n");
  const auto add = [&](const std::string& dir, const std::string& folder, const std::string& name,
                       std::size_t filler) {
    const std::string bytes =
        support::message(folder + " " + name, filler, static_cast<std::uint32_t>(filler + name.size()));
    b.file(john + dir + name, bytes);
    expected[folder].push_back(bytes);
  };
  add("cur/", "INBOX", "1.h:2,S", 100);
  add("cur/", "INBOX", "2.h:2,S", 300000);
  add(".Sent/cur/", "Sent", "3.h:2,S", 2000);
  add(".Sent/cur/", "Sent", "4.h:2,S", 400000);
  b.file(std::string(kHome) + "mary/Maildir/cur/5.h:2,S", support::message("mary", 1000));
  add(".Trash/cur/", "Trash", "6.h:2,S", 50);
  add("new/", "INBOX", "7.h:", 200);
  add("new/", "INBOX", "8.h:", 70000);
  add(".Work/cur/", "Work", "9.h:2,S", 10);
  b.write(path, Compression::Zstd);

  ArchiveOptions options;
  options.cache =
      CacheBudget{.memory = 0, .disk = 0, .file_threshold = UINT64_MAX};  // only the newest body cached
  switch (GetParam()) {
    case Store::Memory:
      break;  // the defaults
    case Store::Files:
      options.store = CacheBudget{.memory = 0, .disk = std::uint64_t{1} << 20U, .file_threshold = 0};
      break;
    case Store::Tiny:
      options.store = CacheBudget{.memory = 0, .disk = 0, .file_threshold = UINT64_MAX};
      break;
    case Store::OneMessage:
      options.store = CacheBudget{.memory = 3000, .disk = 0, .file_threshold = UINT64_MAX};
      break;
  }
  const support::Opened opened = support::open(path, options);
  const auto account = opened.account("example.com", "john");
  ASSERT_TRUE(account);
  const support::FolderList folders = support::folders_of(*account);
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Sent", "Trash", "Work"}), support::names_of(folders.folders));
  for (const FolderInfo& folder : folders.folders) {
    const auto f = account->open_folder(folder);
    std::vector<std::string> got;
    std::vector<Problem> problems;
    f->scan(
        [&](const MessageInfo& m) {
          const std::string first = support::read_message(*f, m);
          EXPECT_TRUE(first == support::read_message(*f, m)) << folder.name << " " << m.id;
          EXPECT_EQ(first.size(), m.stored_size) << folder.name << " " << m.id;
          got.push_back(first);
        },
        [&](Problem p) { problems.push_back(std::move(p)); });
    EXPECT_TRUE(problems.empty()) << support::all_messages(problems);
    EXPECT_TRUE(got == expected.at(folder.name)) << folder.name << ": wrong bytes or order";
  }
  // Tiny: Sent starts behind the reader parked after INBOX's new/, so it is
  // read from the start again (Trash and Work go on from a parked reader).
  // OneMessage: 3.h fits, 4.h does not: Sent still needs that pass.
  const std::uint64_t passes = GetParam() == Store::Tiny || GetParam() == Store::OneMessage ? 2 : 1;
  EXPECT_EQ(passes, opened.archive.reader_opens());
}

INSTANTIATE_TEST_SUITE_P(Budgets, ArchivePassedStore,
                         ::testing::Values(Store::Memory, Store::Files, Store::Tiny, Store::OneMessage),
                         [](const ::testing::TestParamInfo<Store>& param_info) {
                           switch (param_info.param) {
                             case Store::Memory:
                               return std::string("memory");
                             case Store::Files:
                               return std::string("files");
                             case Store::Tiny:
                               return std::string("tiny");
                             case Store::OneMessage:
                               return std::string("one_message");
                           }
                           return std::string("?");
                         });

// Two SME users, their folders interleaved through the archive.
TEST(ArchiveConcurrency, TwoMaildirAccountsReadAtOnce) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("two.tar.gz");
  const std::vector<std::string> users = {"john", "mary"};
  const std::vector<std::pair<std::string, std::string>> folders = {
      {"", "INBOX"}, {".Sent", "Sent"}, {".Archive", "Archive"}};
  std::map<std::string, std::vector<std::string>> expected;
  TarBuilder b;
  b.file("home/e-smith/db/configuration", "DomainName=example.com\n");
  std::uint32_t seed = 1;
  for (int n = 0; n < 6; ++n) {
    for (const auto& [dir, name] : folders) {
      for (const std::string& user : users) {
        const std::string bytes =
            support::message(user + dir + std::to_string(n), (seed % 3) * 70000 + 300, seed);
        ++seed;
        b.file(std::string(kHome) + user + "/Maildir/" + (dir.empty() ? "" : dir + "/") + "cur/" +
                   std::to_string(n) + ".h:2,S",
               bytes);
        expected[user + "/" + name].push_back(bytes);
      }
    }
  }
  b.write(path, Compression::Gzip);
  ArchiveOptions options;
  options.cache = CacheBudget{.memory = 0, .disk = 0, .file_threshold = 100000};
  options.parked_readers = 1;
  const support::Opened opened = support::open(path, options);
  ASSERT_EQ(2U, opened.accounts().size());
  read_concurrently(opened, users, expected);
}

// Two CommuniGate accounts: .mdir folders and an INBOX.mbox, each spooled
// by its own thread while the other reads.
TEST(ArchiveConcurrency, TwoCommuniGateAccountsReadAtOnce) {
  mailmig::testing::TempTree tree("mailmig-arunit");
  const std::string path = tree.path("cgp.tar.zst");
  const std::vector<std::string> users = {"alice", "bob"};
  std::map<std::string, std::vector<std::string>> expected;
  TarBuilder b;
  b.file("Settings/Main.settings", "{DomainName = \"example.com\";}\n");
  std::uint32_t seed = 100;
  for (const std::string& user : users) {
    std::string mbox;
    for (int n = 0; n < 3; ++n) {
      const std::string bytes =
          support::message(user + " inbox " + std::to_string(n), 40000 * static_cast<std::size_t>(n), seed++);
      mbox += "From <x@example.com> Thu, 01 Feb 2024 10:11:12 +0000\n" + bytes + "\n";
      expected[user + "/INBOX"].push_back(bytes);
    }
    b.file("Accounts/" + user + ".macnt/INBOX.mbox", mbox);
  }
  for (int n = 1; n <= 6; ++n) {
    for (const std::string& folder : {std::string("Sent"), std::string("Trash")}) {
      for (const std::string& user : users) {
        const std::string bytes =
            support::message(user + folder + std::to_string(n), (seed % 3) * 70000 + 10, seed);
        ++seed;
        b.file("Accounts/" + user + ".macnt/" + folder + ".mdir/i" + std::to_string(n) + "-1700000000-S.msg",
               bytes);
        expected[user + "/" + folder].push_back(bytes);
      }
    }
  }
  b.write(path, Compression::Zstd);
  ArchiveOptions options;
  options.cache = CacheBudget{.memory = 0, .disk = 0, .file_threshold = 0};
  options.parked_readers = 1;
  const support::Opened opened = support::open(path, options);
  ASSERT_EQ(2U, opened.accounts().size());
  read_concurrently(opened, users, expected);
}

}  // namespace
}  // namespace mailmig::archive
