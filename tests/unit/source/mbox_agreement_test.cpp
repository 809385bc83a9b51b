// The same mbox bytes read through the cgp: reader (a CommuniGate .mbox) and
// the mbox: reader (a plain mbox file) yield the same messages, flags,
// keywords, dates and bytes: both use the one mbox codec of src/format/mbox/
// (docs/mbox.md). Before the codec they disagreed on lower-case Status
// letters, comma-separated X-Keywords and "From " lines with a zone after the
// ctime date.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "common/temp_tree.h"
#include "source/cgp/mailbox_files.h"
#include "source/mbox/mbox_folder.h"

namespace mailmig {
namespace {

struct Read {
  std::vector<MessageInfo> messages;
  std::vector<std::string> bodies;
  std::vector<Problem> problems;
};

Read read_all(Folder& folder) {
  Read out;
  folder.scan([&](const MessageInfo& m) { out.messages.push_back(m); },
              [&](Problem p) { out.problems.push_back(std::move(p)); });
  for (const MessageInfo& m : out.messages) {
    const auto reader = folder.open(m);
    std::string body;
    std::string buffer(4096, '\0');
    while (const std::size_t n = reader->read(std::span<char>(buffer.data(), buffer.size())))
      body.append(buffer.data(), n);
    out.bodies.push_back(std::move(body));
  }
  return out;
}

constexpr std::int64_t kFeb1 = 1706782272;  // Thu Feb  1 10:11:12 2024 UTC

TEST(MboxAgreement, SameBytesSameFlagsKeywordsDatesAndBodiesThroughCgpAndMbox) {
  const std::string mbox =
      // Upper-case letters as Dovecot, mutt and UW-IMAP write them.
      "From alice@example.org Thu Feb  1 10:11:12 2024\n"
      "Status: RO\n"
      "X-Status: AF\n"
      "X-Keywords: Work $Label1\n"
      "Subject: one\n"
      "\n"
      ">From quoted\n"
      ">>From twice\n"
      "\n"
      // Lower case and commas: accepted by both readers.
      "From bob@example.org Thu Feb  1 10:11:12 2024 +0000\n"
      "status: r\n"
      "x-status: dt\n"
      "X-Keywords: Later, Work,Later\n"
      "Subject: two\n"
      "\n"
      "body\n"
      "\n"
      // CommuniGate's own separator: an RFC 822 date after "<sender>".
      "From <carol c@example.org> Thu, 01 Feb 2024 11:11:12 +0100\n"
      "X-Status: T\n"
      "Subject: three\n"
      "\n"
      "last\n"
      "\n"
      // UUCP: "remote from" after the ctime date.
      "From dave Thu Feb  1 10:11:12 2024 remote from host\n"
      "Subject: four\n"
      "\n"
      "end\n";
  testing::TempTree tree;
  const std::string path = tree.path("box.mbox");
  tree.file("box.mbox", mbox);

  cgp::MboxFile cgp_box(path);
  mbox::MboxFolder mbox_box(path, mbox::MboxFormat::Mboxrd);
  const Read via_cgp = read_all(cgp_box);
  const Read via_mbox = read_all(mbox_box);
  EXPECT_TRUE(via_cgp.problems.empty());
  EXPECT_TRUE(via_mbox.problems.empty());
  ASSERT_EQ(4U, via_cgp.messages.size());
  ASSERT_EQ(4U, via_mbox.messages.size());
  for (std::size_t i = 0; i < 4; ++i) {
    const MessageInfo& a = via_cgp.messages[i];
    const MessageInfo& b = via_mbox.messages[i];
    EXPECT_EQ(a.flags, b.flags) << i;
    EXPECT_EQ(a.keywords, b.keywords) << i;
    ASSERT_TRUE(a.internal_date.has_value()) << i;
    ASSERT_TRUE(b.internal_date.has_value()) << i;
    EXPECT_EQ(a.internal_date->epoch, b.internal_date->epoch) << i;
    EXPECT_EQ(a.stored_size, b.stored_size) << i;
    EXPECT_EQ(a.size, b.size) << i;
    EXPECT_EQ(via_cgp.bodies[i], via_mbox.bodies[i]) << i;
  }
  // And what they agree on is the documented rule.
  EXPECT_EQ(kSeen | kAnswered | kFlagged, via_cgp.messages[0].flags);
  EXPECT_EQ((std::vector<std::string>{"Work", "$Label1"}), via_cgp.messages[0].keywords);
  EXPECT_EQ("Subject: one\n\nFrom quoted\n>From twice\n", via_cgp.bodies[0]);
  EXPECT_EQ(kSeen | kDeleted | kDraft, via_cgp.messages[1].flags);
  EXPECT_EQ((std::vector<std::string>{"Later", "Work"}), via_cgp.messages[1].keywords);
  EXPECT_EQ(kDraft, via_cgp.messages[2].flags);
  EXPECT_EQ(kFeb1, via_cgp.messages[0].internal_date->epoch);
  EXPECT_EQ(kFeb1, via_cgp.messages[1].internal_date->epoch);
  EXPECT_EQ(kFeb1, via_cgp.messages[2].internal_date->epoch);
  EXPECT_EQ(kFeb1, via_cgp.messages[3].internal_date->epoch);
}

}  // namespace
}  // namespace mailmig
