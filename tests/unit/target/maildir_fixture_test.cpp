// Writes a Maildir tree with the target for tests/integration/test_maildir_target.py,
// which then serves it with a private Dovecot and reads it back over IMAP.
//   MAILDIR_FIXTURE_OUT=DIR    write DIR/mail (the tree) and DIR/manifest.json;
//                              without it the tree goes to a temp dir (a smoke test)
//   MAILDIR_FIXTURE_OWNER=U:G  chown the tree (Dovecot reads it as that user)
//   MAILDIR_FIXTURE_SLOW=1     instead: DIR/slow.json first, then a slow delivery
//                              of many messages into "Slow", printing
//                              "committed <uid>" per result, to be killed mid-run
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/temp_tree.h"
#include "maildir_test_support.h"
#include "target/maildir/maildir_target.h"

namespace mailmig {
namespace {

using testing::info;
using testing::open_string;
using testing::sha256_hex;

struct Source {
  std::string text;
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<std::uint32_t> uid;
  std::int64_t date = 1700000000;
};

struct FolderSpec {
  std::string name;
  bool subscribed = false;
  std::optional<std::uint32_t> keep_uidvalidity;
  std::vector<Source> messages;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string big_message() {
  std::string text = "Subject: big\r\nContent-Type: text/plain\r\n\r\n";
  for (int i = 0; text.size() < 1536 * 1024; ++i) text += fmt::format("line {:08d} of a large body\r\n", i);
  return text;
}

std::vector<FolderSpec> fixture() {
  return {
      {"INBOX",
       true,
       4242,
       {{"Subject: first\r\n\r\nkept UID 1\r\n", kSeen, {}, 1, 1600000000},
        {"Subject: second\r\n\r\nkept UID 2\r\n", kSeen | kAnswered, {"$Label1"}, 2, 1650000000},
        {"Subject: fifth\r\n\r\nkept UID 5\r\n", 0, {}, 5, 1700000000}}},
      {"Entwürfe",
       true,
       std::nullopt,
       {{"Subject: =?utf-8?q?Entw=C3=BCrfe?=\r\n\r\nEntwurf \xc3\xa4\xc3\xb6\r\n",
         kDraft | kSeen,
         {},
         7,
         1690000000}}},
      {"A/B",
       true,
       std::nullopt,
       {{"Subject: flags\r\n\r\nall of them\r\n",
         kSeen | kAnswered | kFlagged | kDeleted | kDraft,
         {"$Label1", "Custom"},
         std::nullopt,
         1500000000},
        {"Subject: lone CR\r\n\r\nbefore\rafter\r\n", kFlagged, {"Custom"}, std::nullopt, 1500000100},
        {"Subject: no final newline\r\n\r\nlast line", 0, {}, std::nullopt, 1500000200},
        {big_message(), kSeen, {}, std::nullopt, 1500000300}}},
      {"Lists/dev.announce",
       false,
       std::nullopt,
       {{"Subject: list\r\n\r\nx\r\n", 0, {}, std::nullopt, 1400000000}}},
  };
}

MaildirTargetOptions options_for(const std::string& root, MaildirTargetOptions::Fsync fsync) {
  MaildirTargetOptions o{.root = root, .fsync = fsync};
  if (const char* owner =
          std::getenv("MAILDIR_FIXTURE_OWNER")) {  // NOLINT(concurrency-mt-unsafe): one thread
    unsigned uid = 0;
    unsigned gid = 0;
    if (std::sscanf(owner, "%u:%u", &uid, &gid) == 2) {  // NOLINT(cert-err34-c): test input
      o.owner_uid = uid;
      o.owner_gid = gid;
    }
  }
  return o;
}

void write_tree(const std::string& out) {
  MaildirTarget target(options_for(out + "/mail", MaildirTargetOptions::Fsync::Batch));
  auto account = target.open_account("alice", "example.com", "");
  std::string manifest = "{\"folders\": [\n";
  bool first_folder = true;
  for (const FolderSpec& spec : fixture()) {
    testing::Results results;
    auto folder = account->open_folder(spec.name, spec.subscribed, results.fn());
    if (spec.keep_uidvalidity) {
      ASSERT_TRUE(folder->keep_uids(*spec.keep_uidvalidity));
    }
    for (const Source& s : spec.messages) {
      folder->add(info(s.text, s.flags, s.keywords, s.uid, s.date), open_string(s.text));
    }
    folder->finish();
    ASSERT_EQ(results.by_index.size(), spec.messages.size());
    std::string messages;
    std::uint32_t last_uid = 0;
    for (std::size_t i = 0; i < spec.messages.size(); ++i) {
      const Source& s = spec.messages[i];
      const Delivery& d = results.by_index[i];
      ASSERT_TRUE(d.ok) << d.error;
      if (spec.keep_uidvalidity) {
        EXPECT_EQ(d.uid, s.uid);
      }
      last_uid = *d.uid;
      std::string keywords;
      for (const std::string& k : s.keywords) keywords += (keywords.empty() ? "" : ", ") + json_string(k);
      messages += fmt::format(
          "{}    {{\"uid\": {}, \"sha256\": \"{}\", \"size\": {}, \"flags\": \"{}\", "
          "\"keywords\": [{}], \"date\": {}}}",
          i == 0 ? "" : ",\n", *d.uid, sha256_hex(s.text), s.text.size(), flags_to_letters(s.flags), keywords,
          s.date);
    }
    manifest += fmt::format(
        "{}  {{\"name\": {}, \"subscribed\": {}, \"uidvalidity\": {}, \"uidnext\": {},"
        " \"messages\": [\n{}]}}",
        first_folder ? "" : ",\n", json_string(folder->display_name()), spec.subscribed ? "true" : "false",
        *folder->uidvalidity(), last_uid + 1, messages);
    first_folder = false;
  }
  manifest += "\n]}\n";
  std::ofstream(out + "/manifest.json") << manifest;
}

// A source that takes its time, so the writer can be killed while a batch is on disk half-done.
class SlowReader final : public ByteReader {
 public:
  explicit SlowReader(std::string text) : inner_(std::move(text)) {}
  std::size_t read(std::span<char> buffer) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return inner_.read(buffer.subspan(0, std::min<std::size_t>(buffer.size(), 32 * 1024)));
  }

 private:
  testing::StringReader inner_;
};

void write_slowly(const std::string& out) {
  std::vector<std::string> texts;
  std::string list;
  for (int i = 0; i < 120; ++i) {
    std::string text = fmt::format("Subject: slow {}\r\n\r\n", i);
    while (text.size() < 400 * 1024) text += fmt::format("message {} padding line\r\n", i);
    list += fmt::format("{}\"{}\"", i == 0 ? "" : ", ", sha256_hex(text));
    texts.push_back(std::move(text));
  }
  std::ofstream(out + "/slow.json") << "{\"sha256\": [" << list << "]}\n";
  MaildirTarget target(options_for(out + "/mail", MaildirTargetOptions::Fsync::Always));
  auto account = target.open_account("alice", "example.com", "");
  auto folder = account->open_folder("Slow", true, [](std::size_t /*i*/, const Delivery& d) {
    std::printf("committed %u\n", d.uid.value_or(0));
    std::fflush(stdout);
  });
  for (const std::string& text : texts) {
    folder->add(info(text), [text] { return std::make_unique<SlowReader>(text); });
  }
  folder->finish();
}

TEST(MaildirFixture, WritesATreeForDovecot) {
  const char* out = std::getenv("MAILDIR_FIXTURE_OUT");  // NOLINT(concurrency-mt-unsafe): one thread
  if (out == nullptr) {
    mailmig::testing::TempTree tree;
    write_tree(tree.root());
    EXPECT_TRUE(std::filesystem::exists(tree.path("mail/example.com/alice/Maildir/.A.B/dovecot-uidlist")));
    return;
  }
  if (std::getenv("MAILDIR_FIXTURE_SLOW") != nullptr) {  // NOLINT(concurrency-mt-unsafe): one thread
    write_slowly(out);
  } else {
    write_tree(out);
  }
}

}  // namespace
}  // namespace mailmig
