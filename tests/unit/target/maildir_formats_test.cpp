// dovecot-uidlist, dovecot-keywords and file names, against what Dovecot 2.3.19 wrote.
#include <gtest/gtest.h>

#include <stdexcept>

#include "target/maildir/filename.h"
#include "target/maildir/keywords.h"
#include "target/maildir/uidlist.h"

namespace mailmig::maildir {
namespace {

// Written by Dovecot 2.3.19 after two APPENDs.
const std::string kDovecotUidlist =
    "3 V1795445759 N3 Ge0417527fe53046b1006000083ecc375\n"
    "1 :1795445758.M669371P1552.vm,S=17,W=20\n"
    "2 :1795445758.M671221P1552.vm,S=17,W=20\n";

TEST(MaildirUidlist, ReadsAndWritesDovecotsVersion3) {
  const Uidlist list = parse_uidlist(kDovecotUidlist);
  EXPECT_EQ(list.uidvalidity, 1795445759U);
  EXPECT_EQ(list.nextuid, 3U);
  EXPECT_EQ(list.guid, "e0417527fe53046b1006000083ecc375");
  ASSERT_EQ(list.records.size(), 2U);
  EXPECT_EQ(list.records[1].uid, 2U);
  EXPECT_EQ(list.records[1].base, "1795445758.M671221P1552.vm,S=17,W=20");
  EXPECT_EQ(format_uidlist(list), kDovecotUidlist);
}

TEST(MaildirUidlist, KeepsExtensionsAndRaisesALowNextUid) {
  const Uidlist list = parse_uidlist("3 V7 N2 G00112233445566778899aabbccddeeff X5\n4 W120 S118 :a.b.c\n");
  EXPECT_EQ(list.nextuid, 5U);  // Dovecot: next_uid <= last UID read -> last + 1
  EXPECT_EQ(list.records[0].extensions, "W120 S118");
  EXPECT_EQ(format_uidlist(list), "3 V7 N5 G00112233445566778899aabbccddeeff X5\n4 W120 S118 :a.b.c\n");
}

TEST(MaildirUidlist, ReadsVersion1) {
  const Uidlist list = parse_uidlist("1 1000 10\n3 123.456.host:2,S\n");
  EXPECT_EQ(list.uidvalidity, 1000U);
  EXPECT_EQ(list.nextuid, 10U);
  EXPECT_EQ(list.records[0].base, "123.456.host");
}

TEST(MaildirUidlist, RefusesWhatDovecotCallsBroken) {
  EXPECT_THROW((void)parse_uidlist(""), std::runtime_error);
  EXPECT_THROW((void)parse_uidlist("2 V1 N1\n"), std::runtime_error);
  EXPECT_THROW((void)parse_uidlist("3 N5 Gx\n"), std::runtime_error);
  EXPECT_THROW((void)parse_uidlist("3 V1 N9 Gx\n5 :a\n4 :b\n"), std::runtime_error);
  EXPECT_THROW((void)parse_uidlist("3 V1 N9 Gx\n5 a\n"), std::runtime_error);
}

TEST(MaildirUidlist, GuidIs32Hex) {
  const std::string g = new_mailbox_guid();
  EXPECT_EQ(g.size(), 32U);
  EXPECT_EQ(g.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(g, new_mailbox_guid());
}

TEST(MaildirFileNames, InfoLettersAreSortedLikeDovecots) {
  // Dovecot wrote ":2,DFRT" for \Answered \Flagged \Deleted \Draft and ":2,Sab" for \Seen + two keywords.
  EXPECT_EQ(info_letters(kAnswered | kFlagged | kDeleted | kDraft, ""), "DFRT");
  EXPECT_EQ(info_letters(kSeen, "ba"), "Sab");
  EXPECT_EQ(info_letters(0, "", "P"), "P");
  EXPECT_EQ(flags_of("DFRST"), kSeen | kAnswered | kFlagged | kDeleted | kDraft);
  EXPECT_EQ(other_letters("PSab"), "P");
}

TEST(MaildirFileNames, ParsesSizesAndInfo) {
  const ParsedName p = parse_name("1795445758.M669371P1552.vm,S=17,W=20:2,Sab");
  EXPECT_EQ(p.base, "1795445758.M669371P1552.vm,S=17,W=20");
  EXPECT_EQ(p.size, 17U);
  EXPECT_EQ(p.vsize, 20U);
  EXPECT_EQ(p.letters, "Sab");
  EXPECT_EQ(parse_name("123.abc").vsize, std::nullopt);
  EXPECT_EQ(parse_name("123.abc").letters, "");
}

TEST(MaildirFileNames, StemsAreUniqueAndCarryTheHost) {
  const std::string a = unique_stem();
  const std::string b = unique_stem();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find(".M"), std::string::npos);
  EXPECT_EQ(a.find_first_of("/:"), std::string::npos);
  EXPECT_EQ(base_with_sizes("1.M2P3Q4.h", 10, 12), "1.M2P3Q4.h,S=10,W=12");
}

TEST(MaildirFileNames, DovecotOrderIsSecondsThenMicroseconds) {
  EXPECT_TRUE(dovecot_order("100.M9P1.h", "100.M10P1.h"));  // numerically, not as text
  EXPECT_TRUE(dovecot_order("99.M500P1.h", "100.M1P1.h"));
  EXPECT_FALSE(dovecot_order("100.M10P1.h:2,S", "100.M9P1.h"));
}

// Found by fuzz_maildir_names: a 25-digit time stamp in a file name was a
// signed overflow (undefined behaviour) in dovecot_order; a size over 2^64
// wrapped into a small number.
TEST(MaildirFileNames, HugeNumbersInNamesSaturateInsteadOfOverflowing) {
  const std::string huge = "1700007170000071700000000.M1P2.h";
  EXPECT_TRUE(dovecot_order("1700000000.M1P1.h", huge));
  EXPECT_FALSE(dovecot_order(huge, "1700000000.M1P1.h"));
  EXPECT_TRUE(dovecot_order("9.M99999999999999999999999P1.h", "10.M1P1.h"));
  EXPECT_FALSE(dovecot_order(huge, huge));
  EXPECT_EQ(parse_name("1.M1P1.h,S=99999999999999999999999,W=5:2,S").size, std::nullopt);
  EXPECT_EQ(parse_name("1.M1P1.h,S=99999999999999999999999,W=5:2,S").vsize, std::optional<std::uint64_t>(5));
  EXPECT_EQ(parse_name("1.M1P1.h,S=18446744073709551614").size,
            std::optional<std::uint64_t>(18446744073709551614ULL));
}

TEST(MaildirKeywords, KeepsAssignmentsAndFillsGaps) {
  Keywords k = Keywords::parse("0 $Label1\n2 Custom\nbroken\n30 TooHigh\n");
  EXPECT_EQ(k.letter("$label1"), 'a');  // case-insensitive, as in Dovecot
  EXPECT_EQ(k.letter("Custom"), 'c');
  EXPECT_EQ(k.assign("New"), 'b');
  EXPECT_EQ(k.assign("Custom"), 'c');
  EXPECT_TRUE(k.changed());
  EXPECT_EQ(k.format(), "0 $Label1\n1 New\n2 Custom\n");
  EXPECT_EQ(k.name('b'), "New");
  EXPECT_EQ(k.name('z'), std::nullopt);
}

TEST(MaildirKeywords, TwentySixAtMost) {
  Keywords k;
  for (int i = 0; i < 26; ++i) EXPECT_TRUE(k.assign("k" + std::to_string(i)).has_value());
  EXPECT_EQ(k.assign("one-too-many"), std::nullopt);
  EXPECT_EQ(k.letter("k25"), 'z');
}

}  // namespace
}  // namespace mailmig::maildir
