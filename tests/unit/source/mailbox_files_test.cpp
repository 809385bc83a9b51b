#include "source/cgp/mailbox_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/read_all.h"
#include "common/temp_tree.h"
#include "core/crlf.h"
#include "core/error.h"
#include "core/file_read.h"
#include "core/sha256.h"
#include "format/mbox/lines.h"

namespace mailmig::cgp {
namespace {

using mbox::is_quoted_from;
using mbox::Line;
using mbox::LineScanner;
using mbox::QuotedFromMatcher;

// "Thu Feb  1 10:11:12 2024" UTC.
constexpr std::int64_t kFeb1 = 1706782272;

struct Scanned {
  std::vector<MessageInfo> messages;
  std::vector<Problem> problems;
};

Scanned scan(Folder& folder) {
  Scanned out;
  folder.scan([&](const MessageInfo& m) { out.messages.push_back(m); },
              [&](Problem p) { out.problems.push_back(std::move(p)); });
  return out;
}

Scanned scan_mbox(const std::string& path, std::size_t scan_buffer = MboxFile::kScanBuffer) {
  MboxFile box(path, scan_buffer, MboxFile::kReadBuffer);
  return scan(box);
}

using testing::read_all;

std::string read_message(const Folder& folder, const MessageInfo& m, std::size_t chunk = 65536) {
  auto reader = folder.open(m);
  return read_all(*reader, chunk);
}

std::uint64_t crlf_size(std::string_view content) {
  CrlfCounter counter;
  counter.feed(content);
  return counter.size();
}

std::string crlf_sha(std::string_view content) {
  std::string converted;
  bool last_was_cr = false;
  crlf_convert(content, last_was_cr, converted);
  Sha256 hash;
  hash.update(converted);
  return hash.hex();
}

std::string sha_of(const Folder& folder, const MessageInfo& m) {
  CrlfReader reader(folder.open(m));
  return sha256_of(reader);
}

// Everything scan() reports, to compare runs with different buffer sizes.
std::string describe(const Scanned& s) {
  std::ostringstream out;
  for (const auto& m : s.messages) {
    out << m.id << ' ' << m.offset << ' ' << m.size << ' ' << m.stored_size << ' ' << int{m.flags} << ' '
        << (m.uid ? *m.uid : 0) << ' ' << (m.internal_date ? m.internal_date->epoch : -1) << ' '
        << m.data_offset << ' ' << m.data_length;
    for (const auto& k : m.keywords) out << ' ' << k;
    out << '\n';
  }
  for (const auto& p : s.problems) out << p.describe() << '\n';
  return out.str();
}

class MailboxFilesTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) {
    tree.file(name, content);
    return tree.path(name);
  }
  testing::TempTree tree;
};

// ---- line scanner -------------------------------------------------------------------

std::vector<Line> lines_of(const std::string& path, std::size_t buffer, std::size_t head,
                           std::vector<std::string>* heads = nullptr) {
  OpenedFile file = open_regular_file(AT_FDCWD, path.c_str(), path);
  LineScanner scanner(file.fd.get(), path, buffer, head);
  std::vector<Line> out;
  Line line;
  while (scanner.next(line)) {
    if (heads != nullptr) heads->emplace_back(line.head);
    line.head = {};
    out.push_back(line);
  }
  return out;
}

TEST_F(MailboxFilesTest, LineScannerOffsetsEndsAndHeadsForEveryBufferSize) {
  const std::string path = write("lines", "ab\nccc\r\n\n\r\n>>From x\n>Fro\nlast\r");
  for (const std::size_t buffer : {1, 2, 3, 5, 7, 64, 1 << 20}) {
    SCOPED_TRACE(buffer);
    std::vector<std::string> heads;
    const auto lines = lines_of(path, buffer, 4, &heads);
    ASSERT_EQ(7U, lines.size());
    const std::vector<std::uint64_t> offsets = {0, 3, 8, 9, 11, 20, 25};
    const std::vector<std::uint64_t> lengths = {3, 5, 1, 2, 9, 5, 5};
    const std::vector<std::string> expected_heads = {"ab\n", "ccc\r", "\n", "\r\n", ">>Fr", ">Fro", "last"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
      EXPECT_EQ(offsets[i], lines[i].offset) << i;
      EXPECT_EQ(lengths[i], lines[i].length) << i;
      EXPECT_EQ(i + 1, lines[i].number) << i;
      EXPECT_EQ(expected_heads[i], heads[i]) << i;
    }
    EXPECT_TRUE(lines[1].crlf);
    EXPECT_FALSE(lines[0].crlf);
    EXPECT_TRUE(lines[2].is_empty());
    EXPECT_TRUE(lines[3].is_empty());
    EXPECT_FALSE(lines[0].is_empty());
    EXPECT_TRUE(lines[4].quoted_from);
    EXPECT_FALSE(lines[5].quoted_from);
    EXPECT_FALSE(lines[6].terminated);
    EXPECT_FALSE(lines[6].crlf);  // a CR at the end of the file is no line end
    EXPECT_EQ(1U, lines[0].bare_lf());
    EXPECT_EQ(0U, lines[1].bare_lf());
    EXPECT_EQ(0U, lines[6].bare_lf());
  }
}

TEST_F(MailboxFilesTest, LineScannerLongLineKeepsHeadAndDecidesQuotedFromAcrossChunks) {
  const std::string quotes(3000, '>');
  const std::string path = write("long", quotes + "From x\r\n" + quotes + "Frim\n" + "y\n");
  for (const std::size_t buffer : {1, 7, 1000, 4096}) {
    SCOPED_TRACE(buffer);
    std::vector<std::string> heads;
    const auto lines = lines_of(path, buffer, 1024, &heads);
    ASSERT_EQ(3U, lines.size());
    EXPECT_EQ(3008U, lines[0].length);
    EXPECT_TRUE(lines[0].crlf);
    EXPECT_TRUE(lines[0].quoted_from);
    EXPECT_EQ(std::string(1024, '>'), heads[0]);
    EXPECT_EQ(3008U, lines[1].offset);
    EXPECT_EQ(3005U, lines[1].length);
    EXPECT_FALSE(lines[1].crlf);
    EXPECT_FALSE(lines[1].quoted_from);
    EXPECT_EQ("y\n", heads[2]);
    EXPECT_EQ(6013U, lines[2].offset);
  }
}

TEST_F(MailboxFilesTest, LineScannerReadErrorThrows) {
  const int fd = ::open(tree.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const UniqueFd owner(fd);
  LineScanner scanner(fd, tree.root());
  Line line;
  EXPECT_THROW(scanner.next(line), IoError);
}

TEST(QuotedFrom, CompleteLinesAndPieces) {
  EXPECT_TRUE(is_quoted_from(">From x"));
  EXPECT_TRUE(is_quoted_from(">>>From \n"));
  EXPECT_FALSE(is_quoted_from("From x"));
  EXPECT_FALSE(is_quoted_from(">From"));
  EXPECT_FALSE(is_quoted_from("> From x"));
  EXPECT_FALSE(is_quoted_from(">Fromage"));
  QuotedFromMatcher matcher;
  for (const char c : std::string_view(">>Fr")) matcher.feed(std::string_view(&c, 1));
  EXPECT_FALSE(matcher.decided());
  matcher.feed("om yes");
  EXPECT_TRUE(matcher.matched());
  QuotedFromMatcher other;
  other.feed(">>F");
  other.feed("x");
  EXPECT_TRUE(other.decided());
  EXPECT_FALSE(other.matched());
}

// ---- .mbox: separators, dates, storage lines -------------------------------------

TEST_F(MailboxFilesTest, CtimeSeparatorsSplitMessagesWithExactRanges) {
  const std::string m1 = "Subject: one\n\nbody 1\n";
  const std::string m2 = "Subject: two\n\nbody 2\n";
  const std::string sep1 = "From alice@example.com Thu Feb  1 10:11:12 2024\n";
  const std::string sep2 = "From bob@example.com Fri Feb  2 10:11:12 2024\n";
  const std::string path = write("INBOX.mbox", sep1 + m1 + "\n" + sep2 + m2 + "\n");
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  const MessageInfo& a = s.messages[0];
  EXPECT_EQ("0", a.id);
  EXPECT_EQ(path, a.file);
  EXPECT_EQ(0U, a.offset);
  EXPECT_EQ(sep1.size(), a.data_offset);
  EXPECT_EQ(m1.size(), a.data_length);
  EXPECT_EQ(m1.size(), a.stored_size);
  EXPECT_EQ(crlf_size(m1), a.size);
  EXPECT_EQ(m1.size() + 3, a.size);  // three bare LFs
  ASSERT_TRUE(a.internal_date);
  EXPECT_EQ((DateTime{kFeb1, 0}), *a.internal_date);
  EXPECT_EQ(0, a.flags);
  EXPECT_FALSE(a.uid);
  EXPECT_EQ(m1, read_message(box, a));
  EXPECT_EQ(crlf_sha(m1), sha_of(box, a));

  const MessageInfo& b = s.messages[1];
  const std::uint64_t b_offset = sep1.size() + m1.size() + 1;
  EXPECT_EQ(std::to_string(b_offset), b.id);
  EXPECT_EQ(b_offset, b.offset);
  EXPECT_EQ(b_offset + sep2.size(), b.data_offset);
  EXPECT_EQ(m2, read_message(box, b));  // the final empty line is not part of the message
  EXPECT_EQ((DateTime{kFeb1 + 86400, 0}), *b.internal_date);
}

TEST_F(MailboxFilesTest, Rfc822SeparatorKeepsItsZone) {
  const std::string path =
      write("a.mbox",
            "From <alice@example.com> Thu, 01 Feb 2024 10:11:12 +0100\nSubject: x\n\nb\n\n"
            "From <\"a b\"@example.com> Thu, 01 Feb 2024 10:11:12 -0230\nSubject: y\n\nb\n");
  const Scanned s = scan_mbox(path);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  EXPECT_EQ((DateTime{kFeb1 - 3600, 60}), s.messages[0].internal_date);
  EXPECT_EQ((DateTime{kFeb1 + 9000, -150}), s.messages[1].internal_date);
}

TEST_F(MailboxFilesTest, SeparatorVariantsAreTolerated) {
  const std::string path =
      write("v.mbox",
            "From  Thu Feb  1 10:11:12 2024\nA: 1\n\n"            // empty sender
            "From a@b Thu, 01 Feb 2024 10:11:12 +0000\nA: 2\n\n"  // RFC date, bare sender
            "From <a@b> Thu Feb  1 10:11:12 2024\nA: 3\n\n"       // ctime, bracketed sender
            "From a@b Thu Feb  1 10:11:12 2024\r\nA: 4\r\n\r\n"   // CRLF separator
            "From MAILER-DAEMON Thu Feb  1 10:11:12 2024 +0200\nA: 5\n");
  const Scanned s = scan_mbox(path);
  ASSERT_EQ(5U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ((DateTime{kFeb1, 0}), s.messages[i].internal_date) << i;
  EXPECT_EQ((DateTime{kFeb1 - 7200, 120}), s.messages[4].internal_date);
  EXPECT_EQ(6U, s.messages[3].data_length);  // "A: 4\r\n"; the CRLF empty line is dropped
  EXPECT_EQ(6U, s.messages[3].size);
}

TEST_F(MailboxFilesTest, UnparsableSeparatorDateFallsBackToDateHeaderOrNothing) {
  const std::string path =
      write("d.mbox",
            "From a@b sometime\nSubject: x\nDate: Thu, 01 Feb 2024 10:11:12 +0100\n\nb\n\n"
            "From a@b never\nSubject: y\n\nDate: Thu, 01 Feb 2024 10:11:12 +0100\n\n"
            "From a@b\nSubject: z\n");
  const Scanned s = scan_mbox(path);
  ASSERT_EQ(3U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  EXPECT_EQ((DateTime{kFeb1 - 3600, 60}), s.messages[0].internal_date);
  EXPECT_FALSE(s.messages[1].internal_date);  // a Date: line in the body is not the header
  EXPECT_FALSE(s.messages[2].internal_date);
}

TEST_F(MailboxFilesTest, FromLineNotAfterEmptyLineIsContent) {
  const std::string m1 = "Subject: x\n\nline\nFrom a@b Thu Feb  1 10:11:12 2024\nmore\n";
  const std::string path = write("c.mbox", "From a@b Thu Feb  1 10:11:12 2024\n" + m1);
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_EQ(m1, read_message(box, s.messages[0]));
}

TEST_F(MailboxFilesTest, StorageLinesGiveUidFlagsAndKeywordsInAnyOrder) {
  const std::string path =
      write("f.mbox",
            "From a@b Thu Feb  1 10:11:12 2024\nX-UID: 17\nStatus: RO\nX-Status: AFDT\n"
            "X-Keywords: $Label1 Work,Later\nSubject: all\n\nb\n\n"
            "From a@b Thu Feb  1 10:11:12 2024\nX-Status: F\nstatus: O\nx-uid: 4294967295\n"
            "Subject: flagged\n\nb\n\n"
            "From a@b Thu Feb  1 10:11:12 2024\nX-UID: 0\nSubject: none\nStatus: R\n\nb\n");
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(3U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  const MessageInfo& all = s.messages[0];
  EXPECT_EQ(17U, all.uid);
  EXPECT_EQ(kSeen | kAnswered | kFlagged | kDeleted | kDraft, all.flags);
  EXPECT_EQ((std::vector<std::string>{"$Label1", "Work", "Later"}), all.keywords);
  EXPECT_EQ("Subject: all\n\nb\n", read_message(box, all));

  EXPECT_EQ(kFlagged, s.messages[1].flags);  // O (old) is not \Seen
  EXPECT_EQ(4294967295U, s.messages[1].uid);
  EXPECT_TRUE(s.messages[1].keywords.empty());

  // UID 0 is no UID; a Status: after the first header is part of the message.
  EXPECT_FALSE(s.messages[2].uid);
  EXPECT_EQ(0, s.messages[2].flags);
  EXPECT_EQ("Subject: none\nStatus: R\n\nb\n", read_message(box, s.messages[2]));
}

TEST_F(MailboxFilesTest, CclientPseudoMessageIsSkippedSilently) {
  const std::string pseudo =
      "From MAILER-DAEMON Wed Oct 23 11:04:05 2002\nDate: Wed, 23 Oct 2002 11:04:05 -0400\n"
      "From: Mail System Internal Data <MAILER-DAEMON@host>\n"
      "Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1035385445 0000000002\nStatus: "
      "RO\n\n"
      "This text is part of the internal format of your mail folder.\n\n";
  const std::string real =
      "From a@b Thu Feb  1 10:11:12 2024\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\nb\n";
  const Scanned s = scan_mbox(write("p.mbox", pseudo + real));
  ASSERT_EQ(1U, s.messages.size());  // only the first message can be the pseudo message
  EXPECT_EQ(pseudo.size(), s.messages[0].offset);
  EXPECT_TRUE(s.problems.empty());

  const Scanned x = scan_mbox(write("x.mbox", "From a@b Thu Feb  1 10:11:12 2024\nX-IMAP: 1 2\n\n\n" + real));
  ASSERT_EQ(1U, x.messages.size());
}

// ---- .mbox: quoting, line ends, sizes ------------------------------------------------

TEST_F(MailboxFilesTest, MboxrdQuotingIsUndoneWithExactSizes) {
  const std::string stored =
      "Subject: q\n\n>From here\n>>From there\nFrom inside\n>Fromage\n> From x\n>>>>From deep\n>From\n>";
  const std::string expected =
      "Subject: q\n\nFrom here\n>From there\nFrom inside\n>Fromage\n> From x\n>>>From deep\n>From\n>";
  // The last message of a file without final newline is truncated: add one.
  const std::string path = write("q.mbox", "From a@b Thu Feb  1 10:11:12 2024\n" + stored + "\n");
  const std::string content = expected + "\n";
  for (const std::size_t read_buffer : {1, 2, 3, 5, 7, 64, 65536}) {
    SCOPED_TRACE(read_buffer);
    MboxFile box(path, MboxFile::kScanBuffer, read_buffer);
    const Scanned s = scan(box);
    ASSERT_EQ(1U, s.messages.size());
    const MessageInfo& m = s.messages[0];
    EXPECT_EQ(stored.size() + 1, m.data_length);
    EXPECT_EQ(content.size(), m.stored_size);
    EXPECT_EQ(crlf_size(content), m.size);
    for (const std::size_t chunk : {1, 7, 65536}) EXPECT_EQ(content, read_message(box, m, chunk)) << chunk;
    EXPECT_EQ(crlf_sha(content), sha_of(box, m));
  }
}

TEST_F(MailboxFilesTest, QuotedFromAtTheVeryEndOfAMessageRange) {
  // The message ends inside an undecided line start: ">Fro" is released as is.
  const std::string path = write("e.mbox", "From a@b Thu Feb  1 10:11:12 2024\nS: x\n\n>Fro");
  for (const std::size_t read_buffer : {1, 3, 65536}) {
    MboxFile box(path, MboxFile::kScanBuffer, read_buffer);
    const Scanned s = scan(box);
    ASSERT_EQ(1U, s.messages.size());
    EXPECT_EQ("S: x\n\n>Fro", read_message(box, s.messages[0], 1));
    EXPECT_EQ(10U, s.messages[0].stored_size);
  }
}

TEST_F(MailboxFilesTest, LfCrlfAndMixedLineEndsGiveExactSizeAndHash) {
  const std::string lf = "Subject: lf\n\nline\n";
  const std::string crlf = "Subject: crlf\r\n\r\nline\r\n";
  const std::string mixed = "Subject: mixed\r\n\nlone\rcr\nend\r\n";
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  MboxFile box(write("le.mbox", sep + lf + "\n" + sep + crlf + "\r\n" + sep + mixed + "\n"));
  const Scanned s = scan(box);
  ASSERT_EQ(3U, s.messages.size());
  const std::vector<std::string> contents = {lf, crlf, mixed};
  const std::vector<std::uint64_t> sizes = {lf.size() + 3, crlf.size(), mixed.size() + 2};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(contents[i].size(), s.messages[i].stored_size);
    EXPECT_EQ(sizes[i], s.messages[i].size);
    EXPECT_EQ(crlf_size(contents[i]), s.messages[i].size);
    EXPECT_EQ(contents[i], read_message(box, s.messages[i]));  // line ends as stored
    EXPECT_EQ(crlf_sha(contents[i]), sha_of(box, s.messages[i]));
  }
  // Independent of the helpers above: sha256sum of the CRLF forms.
  EXPECT_EQ("6068c9cd7bce3e8d5e8510eb37a4be65cede2f886c0bf2c5aaae2920809ad6ee", sha_of(box, s.messages[0]));
  EXPECT_EQ("518f41431a67a35d2c8b08f7a9f8b136b7444d61fc7d48572a4d2df35884d99f", sha_of(box, s.messages[2]));
}

TEST_F(MailboxFilesTest, EmptyLinesBeforeTheSeparatorOnlyTheLastIsDropped) {
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  MboxFile box(write("b.mbox", sep + "S: 1\n\nbody\n\n\n\n" + sep + "S: 2\n\nbody\n\n"));
  const Scanned s = scan(box);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("S: 1\n\nbody\n\n\n", read_message(box, s.messages[0]));
  EXPECT_EQ("S: 2\n\nbody\n", read_message(box, s.messages[1]));
  EXPECT_TRUE(s.problems.empty());
}

TEST_F(MailboxFilesTest, FileWithoutFinalEmptyLineKeepsTheLastLine) {
  MboxFile box(write("n.mbox", "From a@b Thu Feb  1 10:11:12 2024\nS: 1\n\nbody\n"));
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_EQ("S: 1\n\nbody\n", read_message(box, s.messages[0]));
  EXPECT_TRUE(s.problems.empty());
}

TEST_F(MailboxFilesTest, EmptyMessageBetweenSeparators) {
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  MboxFile box(write("z.mbox", sep + "\n" + sep + "X-UID: 3\n\n" + sep + "S: 3\n"));
  const Scanned s = scan(box);
  ASSERT_EQ(3U, s.messages.size());
  EXPECT_EQ(0U, s.messages[0].data_length);
  EXPECT_EQ(0U, s.messages[1].data_length);
  EXPECT_EQ(3U, s.messages[1].uid);
  EXPECT_EQ("S: 3\n", read_message(box, s.messages[2]));
}

// ---- .mbox: problems -------------------------------------------------------------------

TEST_F(MailboxFilesTest, GarbageBeforeTheFirstMessageIsReported) {
  const std::string garbage = "junk\nmore junk\n\n";
  const Scanned s = scan_mbox(write("g.mbox", garbage + "From a@b Thu Feb  1 10:11:12 2024\nS: 1\n"));
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_EQ(garbage.size(), s.messages[0].offset);
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_EQ(Scope::Message, s.problems[0].scope);
  EXPECT_EQ(0U, s.problems[0].offset);
  EXPECT_NE(std::string::npos, s.problems[0].message.find("16 bytes before the first message"))
      << s.problems[0].message;

  // No empty line in front: a dated "From " line still ends the garbage.
  const Scanned t =
      scan_mbox(write("h.mbox", "junk\nFrom a@b Thu Feb  1 10:11:12 2024\nS: 1\n\nFrom x\nS: 2\n"));
  ASSERT_EQ(2U, t.messages.size());
  EXPECT_EQ(5U, t.messages[0].offset);
  ASSERT_EQ(1U, t.problems.size());
  EXPECT_EQ(0U, t.problems[0].offset);
}

TEST_F(MailboxFilesTest, TruncatedLastMessageIsReportedAndDelivered) {
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  const std::string path = write("t.mbox", sep + "S: 1\n\n" + sep + "S: 2\n\ncut in the mid");
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_EQ("S: 2\n\ncut in the mid", read_message(box, s.messages[1]));
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_EQ(Scope::Message, s.problems[0].scope);
  EXPECT_EQ(s.messages[1].offset, s.problems[0].offset);
  EXPECT_EQ(4U, s.problems[0].line);
  EXPECT_EQ(path, s.problems[0].file);
  EXPECT_NE(std::string::npos, s.problems[0].message.find("message truncated"));

  // Cut inside the separator: nothing to deliver, still reported.
  const Scanned u = scan_mbox(write("u.mbox", sep + "S: 1\n\nFrom a@b Thu Feb  1 10:11"));
  EXPECT_EQ(1U, u.messages.size());
  ASSERT_EQ(1U, u.problems.size());
  EXPECT_NE(std::string::npos, u.problems[0].message.find("truncated"));
}

TEST_F(MailboxFilesTest, LiveStoreLeavesTheMessageBeingAppendedForTheNextSync) {
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  const std::string path = write("live.mbox", sep + "S: 1\n\n" + sep + "S: 2\n\nhalf writ");
  MboxFile box(path);
  box.set_live(true);
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());  // only the complete one
  EXPECT_EQ("S: 1\n", read_message(box, s.messages[0]));
  EXPECT_TRUE(s.problems.empty());  // not damage: nothing to report

  const std::string dir = path + ".mdir";
  std::filesystem::create_directory(dir);
  write("live.mbox.mdir/i00000001-1706782272-S.msg", "Subject: x\n\nbody\n");
  write("live.mbox.mdir/i00000002-1706782272-S.msg", "");
  MdirDirectory mdir(dir);
  mdir.set_live(true);
  const Scanned m = scan(mdir);
  EXPECT_EQ(1U, m.messages.size());
  EXPECT_TRUE(m.problems.empty());
}

TEST_F(MailboxFilesTest, ContentWithoutSeparatorIsAFolderProblem) {
  const Scanned s = scan_mbox(write("ns.mbox", "Subject: not an mbox\n\nbody\n"));
  EXPECT_TRUE(s.messages.empty());
  ASSERT_EQ(1U, s.problems.size());
  EXPECT_EQ(Scope::Folder, s.problems[0].scope);
}

TEST_F(MailboxFilesTest, EmptyFileHasNoMessagesAndNoProblem) {
  const Scanned s = scan_mbox(write("empty.mbox", ""));
  EXPECT_TRUE(s.messages.empty());
  EXPECT_TRUE(s.problems.empty());
}

TEST_F(MailboxFilesTest, SymlinkDirectoryAndMissingFileAreFolderProblems) {
  write("real.mbox", "From a@b Thu Feb  1 10:11:12 2024\nS: 1\n");
  tree.symlink("real.mbox", "link.mbox");
  tree.dir("dir.mbox");
  for (const char* name : {"link.mbox", "dir.mbox", "missing.mbox"}) {
    SCOPED_TRACE(name);
    const Scanned s = scan_mbox(tree.path(name));
    EXPECT_TRUE(s.messages.empty());
    ASSERT_EQ(1U, s.problems.size());
    EXPECT_EQ(Scope::Folder, s.problems[0].scope);
  }
  MboxFile link(tree.path("link.mbox"));
  EXPECT_THROW((void)link.open(MessageInfo{}), IoError);
}

TEST_F(MailboxFilesTest, ReaderNoticesAFileShrunkSinceTheScan) {
  const std::string path = write("s.mbox", "From a@b Thu Feb  1 10:11:12 2024\nS: 1\n\nbody\n");
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());
  ASSERT_EQ(0, ::truncate(path.c_str(), 40));
  auto reader = box.open(s.messages[0]);
  EXPECT_THROW(read_all(*reader, 64), IoError);
}

// ---- .mbox: long lines, buffers, read-only -------------------------------------------

TEST_F(MailboxFilesTest, ThreeMegabyteSingleLineWithSmallBuffers) {
  std::string line(std::size_t{3} << 20U, 'x');
  for (std::size_t i = 0; i < line.size(); i += 4093) line[i] = '>';
  const std::string content = "Subject: big\n\n" + line + "\n";
  const std::string sep = "From a@b Thu Feb  1 10:11:12 2024\n";
  const std::string path = write("big.mbox", sep + content + "\n" + sep + "S: 2\n");
  MboxFile box(path, std::size_t{64} << 10U, 4096);
  const Scanned s = scan(box);
  ASSERT_EQ(2U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  EXPECT_EQ(content.size(), s.messages[0].stored_size);
  EXPECT_EQ(content.size() + 3, s.messages[0].size);
  EXPECT_EQ(crlf_sha(content), sha_of(box, s.messages[0]));
  EXPECT_EQ(content, read_message(box, s.messages[0], 1000));
  EXPECT_EQ(sep.size() + content.size() + 1, s.messages[1].offset);
}

TEST_F(MailboxFilesTest, ScanResultDoesNotDependOnBufferSize) {
  const std::string text =
      "junk\n\nFrom a@b Thu Feb  1 10:11:12 2024\r\nX-UID: 9\r\nStatus: R\r\nS: 1\r\n\r\n>From q\r\n\r\n\r\n"
      "From <c@d> Thu, 01 Feb 2024 10:11:12 +0100\nX-Keywords: k1 k2\n" +
      std::string(5000, '>') +
      "From deep\n\nFrom z nodate\nDate: Thu, 01 Feb 2024 10:11:12 +0100\n\nx\n\n\nFrom a@b Thu Feb  1 "
      "10:11:12 2024\nend";
  const std::string path = write("var.mbox", text);
  const std::string reference = describe(scan_mbox(path));
  EXPECT_NE(std::string::npos, reference.find("truncated"));
  for (std::size_t buffer = 1; buffer <= 40; ++buffer)
    EXPECT_EQ(reference, describe(scan_mbox(path, buffer))) << buffer;
  EXPECT_EQ(reference, describe(scan_mbox(path, 4096)));
}

TEST_F(MailboxFilesTest, RandomMailboxesRoundTrip) {
  std::mt19937 rng(12345);  // fixed seed: reproducible
  const std::array<std::string, 12> pieces = {"From ", ">From ", ">>From x", "From", ">",  "\r",
                                              "\r\n",  "\n",     "text",     " ",    ">>", "F"};
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string> originals;
    std::string file;
    const int count = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < count; ++i) {
      std::string body = "Subject: r\n";
      const int n = static_cast<int>(rng() % 40);
      for (int k = 0; k < n; ++k) body += pieces[rng() % pieces.size()];
      if (!body.ends_with('\n')) body += '\n';
      // mboxrd writer: quote every line matching ^>*From .
      std::string quoted;
      std::size_t pos = 0;
      while (pos < body.size()) {
        const std::size_t end = body.find('\n', pos) + 1;
        const std::string_view line(body.data() + pos, end - pos);
        const std::size_t gts = std::min(line.find_first_not_of('>'), line.size());
        if (line.substr(gts).starts_with("From ")) quoted += '>';
        quoted += line;
        pos = end;
      }
      file += "From a@b Thu Feb  1 10:11:12 2024\nX-UID: " + std::to_string(i + 1) + "\n" + quoted + "\n";
      originals.push_back(body);
    }
    const std::string path = write("r" + std::to_string(round) + ".mbox", file);
    for (const std::size_t buffers : {std::size_t{3}, std::size_t{65536}}) {
      MboxFile box(path, buffers, buffers);
      const Scanned s = scan(box);
      ASSERT_EQ(originals.size(), s.messages.size()) << file;
      EXPECT_TRUE(s.problems.empty());
      for (std::size_t i = 0; i < originals.size(); ++i) {
        EXPECT_EQ(i + 1, s.messages[i].uid);
        EXPECT_EQ(originals[i].size(), s.messages[i].stored_size);
        EXPECT_EQ(crlf_size(originals[i]), s.messages[i].size);
        EXPECT_EQ(originals[i], read_message(box, s.messages[i], 5)) << file;
      }
    }
  }
}

TEST_F(MailboxFilesTest, ScanAndReadLeaveTheFileUnchanged) {
  const std::string text = "From a@b Thu Feb  1 10:11:12 2024\nX-UID: 1\nS: 1\n\n>From b\n";
  const std::string path = write("ro.mbox", text);
  const std::array<timespec, 2> past = {timespec{1000000000, 0}, timespec{1000000000, 0}};
  ASSERT_EQ(0, ::utimensat(AT_FDCWD, path.c_str(), past.data(), 0));
  struct stat before {};
  ASSERT_EQ(0, ::stat(path.c_str(), &before));
  MboxFile box(path);
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());
  (void)read_message(box, s.messages[0]);
  struct stat after {};
  ASSERT_EQ(0, ::stat(path.c_str(), &after));
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_EQ(before.st_size, after.st_size);
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(text, std::string(std::istreambuf_iterator<char>(in), {}));
}

// ---- .mdir --------------------------------------------------------------------------

TEST_F(MailboxFilesTest, MdirNamesGiveUidDateFlagsInUidOrder) {
  const std::string lf = "Subject: a\n\nbody\n";
  const std::string crlf = "Subject: b\r\n\r\nbody\r\n";
  write("Box.mdir/i00000010-1706782272-SAFDT.msg", lf);
  write("Box.mdir/i00000002-1706782273-.msg", crlf);
  write("Box.mdir/i00000003-1706782274-sf.msg", ">From x\n");
  write("Box.mdir/.hidden", "x");
  MdirDirectory box(tree.path("Box.mdir"));
  const Scanned s = scan(box);
  ASSERT_EQ(3U, s.messages.size());
  EXPECT_TRUE(s.problems.empty());
  const MessageInfo& first = s.messages[0];
  EXPECT_EQ("i00000002-1706782273-.msg", first.id);
  EXPECT_EQ(tree.path("Box.mdir/i00000002-1706782273-.msg"), first.file);
  EXPECT_EQ(2U, first.uid);
  EXPECT_EQ(0, first.flags);
  EXPECT_EQ((DateTime{kFeb1 + 1, 0}), first.internal_date);
  EXPECT_EQ(crlf.size(), first.size);
  EXPECT_EQ(crlf.size(), first.stored_size);
  EXPECT_EQ(0U, first.offset);
  EXPECT_EQ(0U, first.data_offset);
  EXPECT_EQ(crlf.size(), first.data_length);
  EXPECT_EQ(crlf, read_message(box, first, 3));

  EXPECT_EQ(kSeen | kFlagged, s.messages[1].flags);
  EXPECT_EQ(">From x\n", read_message(box, s.messages[1]));  // no mboxrd quoting in files of their own

  const MessageInfo& last = s.messages[2];
  EXPECT_EQ(10U, last.uid);
  EXPECT_EQ(kSeen | kAnswered | kFlagged | kDeleted | kDraft, last.flags);
  EXPECT_EQ(crlf_size(lf), last.size);
  EXPECT_EQ(lf.size(), last.stored_size);
  EXPECT_EQ(crlf_sha(lf), sha_of(box, last));
}

TEST_F(MailboxFilesTest, MdirBadNamesAreReportedAndDeliveredWithoutMetadata) {
  write("Box.mdir/i00000001-1706782272-S.msg", "S: 1\n");
  write("Box.mdir/message.eml", "S: 2\n");
  write("Box.mdir/i00000002-1706782272-X.msg", "S: 3\n");
  write("Box.mdir/i0000000a-1706782272-S.msg", "S: 4\n");
  MdirDirectory box(tree.path("Box.mdir"));
  const Scanned s = scan(box);
  ASSERT_EQ(4U, s.messages.size());
  EXPECT_EQ("i00000001-1706782272-S.msg", s.messages[0].id);
  // Without a UID they follow, by name.
  EXPECT_EQ("i00000002-1706782272-X.msg", s.messages[1].id);
  EXPECT_EQ("i0000000a-1706782272-S.msg", s.messages[2].id);
  EXPECT_EQ("message.eml", s.messages[3].id);
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_FALSE(s.messages[i].uid);
    EXPECT_FALSE(s.messages[i].internal_date);
    EXPECT_EQ(0, s.messages[i].flags);
  }
  EXPECT_EQ("S: 2\n", read_message(box, s.messages[3]));
  ASSERT_EQ(3U, s.problems.size());
  for (const auto& p : s.problems) {
    EXPECT_EQ(Scope::Message, p.scope);
    EXPECT_TRUE(p.file.starts_with(tree.path("Box.mdir/"))) << p.file;
  }
}

TEST_F(MailboxFilesTest, MdirEmptyFilesSymlinksAndDirectoriesAreReported) {
  write("Box.mdir/i00000001-1706782272-S.msg", "S: 1\n");
  write("Box.mdir/i00000002-1706782272-S.msg", "");
  write("secret", "S: secret\n");
  tree.symlink(tree.path("secret"), "Box.mdir/i00000003-1706782272-S.msg");
  tree.dir("Box.mdir/sub");
  MdirDirectory box(tree.path("Box.mdir"));
  const Scanned s = scan(box);
  ASSERT_EQ(1U, s.messages.size());
  EXPECT_EQ(1U, s.messages[0].uid);
  ASSERT_EQ(3U, s.problems.size());
  std::string all;
  for (const auto& p : s.problems) {
    EXPECT_EQ(Scope::Message, p.scope);
    all += p.file + ": " + p.message + "\n";
  }
  EXPECT_NE(std::string::npos, all.find("i00000002-1706782272-S.msg: empty message file")) << all;
  EXPECT_NE(std::string::npos, all.find("i00000003-1706782272-S.msg: symbolic link")) << all;
  EXPECT_NE(std::string::npos, all.find("sub: not a regular file")) << all;

  // open() does not follow a symlink either, whatever the message record says.
  MessageInfo forged{.id = "i00000003-1706782272-S.msg", .data_length = 10};
  EXPECT_THROW((void)box.open(forged), IoError);
  forged.id = "../secret";
  EXPECT_THROW((void)box.open(forged), IoError);
}

TEST_F(MailboxFilesTest, MdirThatIsNoDirectoryIsAFolderProblem) {
  tree.dir("Real.mdir");
  tree.symlink("Real.mdir", "Link.mdir");
  write("File.mdir", "x");
  for (const char* name : {"Link.mdir", "File.mdir", "Missing.mdir"}) {
    SCOPED_TRACE(name);
    MdirDirectory box(tree.path(name));
    const Scanned s = scan(box);
    EXPECT_TRUE(s.messages.empty());
    ASSERT_EQ(1U, s.problems.size());
    EXPECT_EQ(Scope::Folder, s.problems[0].scope);
  }
}

}  // namespace
}  // namespace mailmig::cgp
