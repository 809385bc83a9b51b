// mbox reading: separators, quoting per variant, Content-Length (exact and
// lying), storage fields stripped, flags/keywords/UIDs, line-end mixes,
// truncation, and every chunk boundary of the scanner and the reader.
#include "source/mbox/mbox_folder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/temp_tree.h"
#include "core/crlf.h"
#include "format/mbox/variants.h"
#include "source/mbox/mbox_account.h"

namespace mailmig::mbox {
namespace {

struct Scanned {
  std::vector<MessageInfo> messages;
  std::vector<Problem> problems;
  std::vector<std::string> bodies;
};

Scanned scan(const std::string& path, MboxFormat format, std::size_t scan_buffer = MboxFolder::kScanBuffer,
             std::size_t read_chunk = 65536) {
  MboxFolder folder(path, format, scan_buffer);
  Scanned out;
  folder.scan([&](const MessageInfo& m) { out.messages.push_back(m); },
              [&](Problem p) { out.problems.push_back(std::move(p)); });
  for (const MessageInfo& m : out.messages) {
    auto reader = folder.open(m);
    std::string body;
    std::string buf(read_chunk, '\0');
    while (const std::size_t n = reader->read(std::span<char>(buf.data(), buf.size())))
      body.append(buf.data(), n);
    out.bodies.push_back(body);
  }
  return out;
}

std::uint64_t crlf_size(const std::string& s) {
  CrlfCounter c;
  c.feed(s);
  return c.size();
}

// Every message's sizes agree with the bytes delivered.
void expect_consistent(const Scanned& s) {
  ASSERT_EQ(s.messages.size(), s.bodies.size());
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    EXPECT_EQ(s.bodies[i].size(), s.messages[i].stored_size) << i;
    EXPECT_EQ(crlf_size(s.bodies[i]), s.messages[i].size) << i;
  }
}

constexpr const char* kQuoted =
    "From a@b Thu Feb  1 10:11:12 2024\n"
    "Subject: one\n"
    "\n"
    ">From here\n"
    ">>From there\n"
    "From not-a-separator (no empty line before)\n"
    "\n"
    "From c@d Thu Feb  1 11:11:12 2024\n"
    "Subject: two\n"
    "\n"
    "x\n";

TEST(MboxFolder, QuotingPerVariant) {
  testing::TempTree tree;
  tree.file("box", kQuoted);
  const std::string first_rd =
      "Subject: one\n\nFrom here\n>From there\nFrom not-a-separator (no empty line before)\n";
  const std::string first_o =
      "Subject: one\n\nFrom here\n>>From there\nFrom not-a-separator (no empty line before)\n";
  const std::string first_none =
      "Subject: one\n\n>From here\n>>From there\nFrom not-a-separator (no empty line before)\n";
  for (const std::size_t buffer : {std::size_t{1}, std::size_t{3}, std::size_t{7}, MboxFolder::kScanBuffer}) {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{65536}}) {
      Scanned rd = scan(tree.path("box"), MboxFormat::Mboxrd, buffer, chunk);
      ASSERT_EQ(2U, rd.messages.size());
      EXPECT_EQ(first_rd, rd.bodies[0]);
      EXPECT_EQ("Subject: two\n\nx\n", rd.bodies[1]);
      expect_consistent(rd);
      Scanned o = scan(tree.path("box"), MboxFormat::Mboxo, buffer, chunk);
      EXPECT_EQ(first_o, o.bodies[0]);
      expect_consistent(o);
      Scanned none = scan(tree.path("box"), MboxFormat::Mboxcl2, buffer, chunk);
      EXPECT_EQ(first_none, none.bodies[0]);
      expect_consistent(none);
    }
  }
  Scanned autodetect = scan(tree.path("box"), MboxFormat::Auto);  // no X-IMAPbase: mboxrd
  EXPECT_EQ(first_rd, autodetect.bodies[0]);
  EXPECT_TRUE(autodetect.problems.empty());
  EXPECT_EQ(1706782272, autodetect.messages[0].internal_date->epoch);
}

TEST(MboxFolder, StorageFieldsAreStrippedAndRead) {
  testing::TempTree tree;
  tree.file("box",
            "From x Thu Feb  1 10:11:12 2024\n"
            "X-IMAPbase: 1234 10 Work\n"
            "Subject: hi\n"
            "Status: RO\n"
            "X-Status: AFTD\n"
            "X-Keywords: Work\n"
            "  Later\n"
            "X-UID: 7\n"
            "Content-Length: 3\n"
            "To: a\n"
            "\n"
            "ab\n"
            "\n"
            "From x Thu Feb  1 10:11:12 2024\n"
            "X-UID: 99\n"  // beyond the last UID X-IMAPbase records: not trusted
            "Status: O\n"
            "\n"
            ">From kept as served\n");
  Scanned s = scan(tree.path("box"), MboxFormat::Auto);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("Subject: hi\nTo: a\n\nab\n", s.bodies[0]);
  EXPECT_EQ(kSeen | kAnswered | kFlagged | kDraft | kDeleted, s.messages[0].flags);
  EXPECT_EQ((std::vector<std::string>{"Work"}), s.messages[0].keywords);
  EXPECT_EQ(7U, s.messages[0].uid.value_or(0));
  EXPECT_EQ("\n>From kept as served\n", s.bodies[1]);  // managed by Dovecot: served without unquoting
  EXPECT_EQ(0, s.messages[1].flags);
  EXPECT_FALSE(s.messages[1].uid);
  expect_consistent(s);
}

TEST(MboxFolder, PseudoMessageIsSkipped) {
  testing::TempTree tree;
  tree.file("box",
            "From MAILER-DAEMON Thu Feb  1 10:11:12 2024\n"
            "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
            "X-IMAP: 1111 5\n"
            "\n"
            "internal\n"
            "\n"
            "From a Thu Feb  1 10:11:12 2024\n"
            "\n"
            "real\n");
  Scanned s = scan(tree.path("box"), MboxFormat::Auto);
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_EQ("\nreal\n", s.bodies[0]);
  FilePeek peek = peek_file(tree.path("box"));
  ASSERT_TRUE(peek.facts.base);
  EXPECT_EQ(1111U, peek.facts.base->uidvalidity);
}

TEST(MboxFolder, ExactContentLengthKeepsFromLinesInside) {
  testing::TempTree tree;
  const std::string body = "a\n\nFrom b Thu Feb  1 10:11:12 2024\nc";  // no final LF, unquoted From
  tree.file("box", "From x Thu Feb  1 10:11:12 2024\nContent-Length: " + std::to_string(body.size()) +
                       "\n\n" + body + "\nFrom y Thu Feb  1 10:11:12 2024\n\nz\n");
  Scanned s = scan(tree.path("box"), MboxFormat::Mboxcl2, 4);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("\n" + body, s.bodies[0]);
  EXPECT_EQ("\nz\n", s.bodies[1]);
  expect_consistent(s);
}

TEST(MboxFolder, LyingContentLengthFallsBackToSeparators) {
  testing::TempTree tree;
  tree.file("box",
            "From x Thu Feb  1 10:11:12 2024\nContent-Length: 2\n\nlonger than two\n\n"
            "From y Thu Feb  1 10:11:12 2024\nContent-Length: 99999\n\nshort\n");
  Scanned s = scan(tree.path("box"), MboxFormat::Auto);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("\nlonger than two\n", s.bodies[0]);
  EXPECT_EQ("\nshort\n", s.bodies[1]);
  // The last one promises more than the file holds: reported as truncated, still delivered.
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_NE(std::string::npos, s.problems[0].message.find("truncated"));
  expect_consistent(s);
}

TEST(MboxFolder, MissingTrailingNewlineAndCrlfMix) {
  testing::TempTree tree;
  tree.file("box",
            "From x Thu Feb  1 10:11:12 2024\r\nSubject: crlf\r\n\r\nline\r\nlf line\n\r\n"
            "From y Thu Feb  1 10:11:12 2024\nSubject: last\n\nno newline at the end");
  Scanned s = scan(tree.path("box"), MboxFormat::Auto, 5, 3);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("Subject: crlf\r\n\r\nline\r\nlf line\n", s.bodies[0]);
  EXPECT_EQ("Subject: last\n\nno newline at the end", s.bodies[1]);
  EXPECT_TRUE(s.problems.empty());
  expect_consistent(s);
}

TEST(MboxFolder, TruncatedInsideHeaderIsReportedWithOffset) {
  testing::TempTree tree;
  tree.file("box", "From x Thu Feb  1 10:11:12 2024\n\nok\n\nFrom y Thu Feb  1 10:11:12 2024\nSubject: cut");
  Scanned s = scan(tree.path("box"), MboxFormat::Auto);
  ASSERT_EQ(2U, s.messages.size());
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_EQ(37U, s.problems[0].offset.value_or(0));
  EXPECT_EQ(5U, s.problems[0].line.value_or(0));
  EXPECT_EQ("Subject: cut", s.bodies[1]);
}

TEST(MboxFolder, NotAnMboxAndEmptyFile) {
  testing::TempTree tree;
  tree.file("junk", "hello\n");
  tree.file("empty", "");
  Scanned junk = scan(tree.path("junk"), MboxFormat::Auto);
  EXPECT_TRUE(junk.messages.empty());
  EXPECT_EQ(1U, junk.problems.size());
  Scanned empty = scan(tree.path("empty"), MboxFormat::Auto);
  EXPECT_TRUE(empty.messages.empty());
  EXPECT_TRUE(empty.problems.empty());
}

TEST(MboxAccount, DirectoryTreeInboxAndNames) {
  testing::TempTree tree;
  tree.file("mail/Lists/dev", "From x Thu Feb  1 10:11:12 2024\n\nz\n");
  tree.file("mail/&AMk-t&AOk-", "");                                     // "Été", mUTF-7
  tree.file("mail/bad&name", "From x Thu Feb  1 10:11:12 2024\n\nz\n");  // not valid mUTF-7
  tree.file("mail/notes.txt", "just text\n");
  tree.file("mail/.imap/INBOX/dovecot.index", "x");
  tree.file("mail/.subscriptions", "Lists/dev\n");
  tree.file("spool/bob", "From x Thu Feb  1 10:11:12 2024\n\ninbox\n");
  MboxAccount account(AccountInfo{.domain = "example.org", .name = "bob", .location = tree.path("mail")},
                      tree.path("spool/bob"), MboxFormat::Auto);
  std::vector<Problem> problems;
  std::vector<FolderInfo> folders = account.folders([&](Problem p) { problems.push_back(std::move(p)); });
  std::vector<std::string> names;
  for (const FolderInfo& f : folders)
    names.push_back(f.name + (f.selectable ? "" : "/") + (f.subscribed ? "*" : ""));
  // Stored-name order, parents before children.
  EXPECT_EQ((std::vector<std::string>{"INBOX*", "\xc3\x89t\xc3\xa9", "Lists/", "bad&name", "Lists/dev*"}),
            names);
  ASSERT_EQ(2U, problems.size());  // the raw name and notes.txt
}

}  // namespace
}  // namespace mailmig::mbox
