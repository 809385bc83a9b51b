// dovecot-uidlist: read as Dovecot reads it (keeping every good record and
// listing the broken lines), written as Dovecot 2.3.19 writes it.
#include <gtest/gtest.h>

#include "format/maildir/uidlist.h"

namespace mailmig::maildir {
namespace {

// Written by Dovecot 2.3.19 after two APPENDs.
const std::string kDovecotUidlist =
    "3 V1795445759 N3 Ge0417527fe53046b1006000083ecc375\n"
    "1 :1795445758.M669371P1552.vm,S=17,W=20\n"
    "2 :1795445758.M671221P1552.vm,S=17,W=20\n";

Uidlist clean(std::string_view text) {
  UidlistRead read = parse_uidlist(text);
  EXPECT_TRUE(read.list) << read.header_error;
  EXPECT_TRUE(read.broken.empty());
  return read.list.value_or(Uidlist{});
}

TEST(MaildirUidlist, ReadsAndWritesDovecotsVersion3) {
  const Uidlist list = clean(kDovecotUidlist);
  EXPECT_EQ(list.uidvalidity, 1795445759U);
  EXPECT_EQ(list.nextuid, 3U);
  EXPECT_EQ(list.guid, "e0417527fe53046b1006000083ecc375");
  ASSERT_EQ(list.records.size(), 2U);
  EXPECT_EQ(list.records[1].uid, 2U);
  EXPECT_EQ(list.records[1].base, "1795445758.M671221P1552.vm,S=17,W=20");
  EXPECT_EQ(format_uidlist(list), kDovecotUidlist);
  EXPECT_EQ(uids_by_base(list).at("1795445758.M669371P1552.vm,S=17,W=20"), 1U);
}

TEST(MaildirUidlist, KeepsExtensionsAndRaisesALowNextUid) {
  const Uidlist list = clean("3 V7 N2 G00112233445566778899aabbccddeeff X5\n4 W120 S118 :a.b.c\n");
  EXPECT_EQ(list.nextuid, 5U);  // Dovecot: next_uid <= last UID read -> last + 1
  EXPECT_EQ(list.records[0].extensions, "W120 S118");
  EXPECT_EQ(format_uidlist(list), "3 V7 N5 G00112233445566778899aabbccddeeff X5\n4 W120 S118 :a.b.c\n");
}

TEST(MaildirUidlist, ReadsVersion1AndCrLf) {
  const Uidlist list = clean("1 1000 10\r\n3 123.456.host:2,S\r\n");
  EXPECT_EQ(list.uidvalidity, 1000U);
  EXPECT_EQ(list.nextuid, 10U);
  ASSERT_EQ(list.records.size(), 1U);
  EXPECT_EQ(list.records[0].base, "123.456.host");  // a full name is keyed by its base
  // Writing always gives version 3.
  EXPECT_EQ(format_uidlist(list), "3 V1000 N10 G\n3 :123.456.host\n");
}

// Found by fuzz_dovecot_uidlist: "1 a\r\r\n" named "a\r", written back as
// "1 :a\r\n" and read again as "a".
TEST(MaildirUidlist, NoNameEndsInCrSoRewritingKeepsIt) {
  const Uidlist list = clean("1 1700000000 2\n1 a\r\r\r\n");
  ASSERT_EQ(list.records.size(), 1U);
  EXPECT_EQ(list.records[0].base, "a");
  EXPECT_EQ(clean(format_uidlist(list)).records[0].base, "a");
  // A CR inside the name (before a ':') is a name Dovecot never lists.
  EXPECT_EQ(parse_uidlist("1 1700000000 2\n1 a\r:2,S\n").broken.size(), 1U);
}

TEST(MaildirUidlist, AnUnreadableHeaderIsAnError) {
  EXPECT_EQ(parse_uidlist("").header_error, "empty header");
  EXPECT_FALSE(parse_uidlist("2 V1 N1\n").list);
  EXPECT_FALSE(parse_uidlist("3 N5 Gx\n").list);
  EXPECT_FALSE(parse_uidlist("3 V0 N5\n").list);
  EXPECT_FALSE(parse_uidlist("1 1000\n").list);
  EXPECT_NE(parse_uidlist("7 V1 N1\n").header_error.find("\"7\""), std::string::npos);
}

// One broken line makes Dovecot drop the whole file; we keep the good lines
// and say which were not (the caller decides: the source reads on, the
// target refuses to rewrite).
TEST(MaildirUidlist, BrokenLinesAreListedAndTheRestKept) {
  const UidlistRead read =
      parse_uidlist("3 V1 N9 Gx\n5 :a\nx :bad\n4 :b\n6 no-colon\n7 :\n8 :dir/name\n0 :zero\n9 W1 :c\n");
  ASSERT_TRUE(read.list);
  ASSERT_EQ(read.list->records.size(), 2U);
  EXPECT_EQ(read.list->records[0].base, "a");
  EXPECT_EQ(read.list->records[1].base, "c");
  EXPECT_EQ(read.list->nextuid, 10U);
  std::vector<std::size_t> lines;
  for (const UidlistLine& b : read.broken) lines.push_back(b.line);
  EXPECT_EQ(lines, (std::vector<std::size_t>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(read.broken[1].what, "UIDs not ascending");
}

TEST(MaildirUidlist, AMissingNextUidIsNotedAndDerived) {
  const UidlistRead read = parse_uidlist("3 V99\n4 :a\n");
  ASSERT_TRUE(read.list);
  EXPECT_EQ(read.list->nextuid, 5U);
  ASSERT_EQ(read.broken.size(), 1U);
  EXPECT_EQ(read.broken[0].line, 1U);
}

TEST(MaildirUidlist, GuidIs32Hex) {
  const std::string g = new_mailbox_guid();
  EXPECT_EQ(g.size(), 32U);
  EXPECT_EQ(g.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(g, new_mailbox_guid());
}

}  // namespace
}  // namespace mailmig::maildir
