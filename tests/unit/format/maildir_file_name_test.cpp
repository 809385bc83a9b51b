// Maildir file names: base, info letters, sizes, Dovecot's sort order; the
// one codec the Maildir source, the archive source and the Maildir target use.
#include <gtest/gtest.h>

#include "format/maildir/file_name.h"

namespace mailmig::maildir {
namespace {

TEST(MaildirFileName, FlagsKeywordsAndSizes) {
  const FileName n = parse_file_name("1700000000.M1P2.host,S=1234,W=1260:2,FRSTDPac");
  EXPECT_EQ("1700000000.M1P2.host,S=1234,W=1260", n.base);
  EXPECT_TRUE(n.has_info);
  EXPECT_EQ("FRSTDPac", n.letters);
  EXPECT_EQ(kFlagged | kAnswered | kSeen | kDeleted | kDraft, n.flags);
  EXPECT_EQ((1U << 0U) | (1U << 2U), n.keyword_letters);
  EXPECT_EQ(1234U, n.file_size.value_or(0));
  EXPECT_EQ(1260U, n.rfc822_size.value_or(0));
  const FileName broken = parse_file_name("1700000000.M1P2.host,S=12x");  // no ":2,", bad size
  EXPECT_FALSE(broken.has_info);
  EXPECT_EQ(0, broken.flags);
  EXPECT_FALSE(broken.file_size);
  EXPECT_EQ(parse_file_name("123.abc").rfc822_size, std::nullopt);
  EXPECT_EQ(parse_file_name("123.abc").letters, "");
}

// Dovecot: the base ends at the first ':', the info part is after the last
// ':' when that reads ":2," (strrchr); an info part of another version is no
// info part.
TEST(MaildirFileName, BaseEndsAtTheFirstColonInfoIsAfterTheLast) {
  const FileName two = parse_file_name("1.M1P1.h:x:2,S");
  EXPECT_EQ("1.M1P1.h", two.base);
  EXPECT_EQ(kSeen, two.flags);
  const FileName v1 = parse_file_name("1.M1P1.h:1,S");
  EXPECT_EQ("1.M1P1.h", v1.base);
  EXPECT_FALSE(v1.has_info);
  EXPECT_EQ(0, v1.flags);
  EXPECT_TRUE(parse_file_name("1.M1P1.h:2,").has_info);
}

TEST(MaildirFileName, InfoLettersAreSortedLikeDovecots) {
  // Dovecot wrote ":2,DFRT" for \Answered \Flagged \Deleted \Draft and ":2,Sab" for \Seen + two keywords.
  EXPECT_EQ(info_letters(kAnswered | kFlagged | kDeleted | kDraft, ""), "DFRT");
  EXPECT_EQ(info_letters(kSeen, "ba"), "Sab");
  EXPECT_EQ(info_letters(0, "", "P"), "P");
  EXPECT_EQ(info_letters(kSeen, "aa", "S"), "Sa");  // each once
  EXPECT_EQ(flags_of("DFRST"), kSeen | kAnswered | kFlagged | kDeleted | kDraft);
  EXPECT_EQ(other_letters("PSab"), "P");
  EXPECT_EQ(keyword_mask("PSaz"), (1U << 0U) | (1U << 25U));
  EXPECT_EQ(file_name("b", "Sa"), "b:2,Sa");
}

TEST(MaildirFileName, StemsAsDovecotWritesThem) {
  EXPECT_EQ(unique_stem(1795445758, 669371, 1552, 7, "vm"), "1795445758.M669371P1552Q7.vm");
  // '/' and ':' in the host name would split the path or the info part.
  EXPECT_EQ(unique_stem(1, 2, 3, 4, "a/b:c"), "1.M2P3Q4.a\\057b\\072c");
  EXPECT_EQ(base_with_sizes("1.M2P3Q4.h", 10, 12), "1.M2P3Q4.h,S=10,W=12");
  const FileName back = parse_file_name(file_name(base_with_sizes("1.M2P3Q4.h", 10, 12), "S"));
  EXPECT_EQ(back.file_size, 10U);
  EXPECT_EQ(back.rfc822_size, 12U);
}

TEST(MaildirFileName, DovecotOrderIsSecondsThenMicroseconds) {
  EXPECT_TRUE(dovecot_order("100.M9P1.h", "100.M10P1.h"));  // numerically, not as text
  EXPECT_TRUE(dovecot_order("99.M500P1.h", "100.M1P1.h"));
  EXPECT_FALSE(dovecot_order("100.M10P1.h:2,S", "100.M9P1.h"));
}

// Found by fuzz_maildir_names: a 25-digit time stamp in a file name was a
// signed overflow (undefined behaviour) in dovecot_order; a size over 2^64
// wrapped into a small number.
TEST(MaildirFileName, HugeNumbersInNamesSaturateInsteadOfOverflowing) {
  const std::string huge = "1700007170000071700000000.M1P2.h";
  EXPECT_TRUE(dovecot_order("1700000000.M1P1.h", huge));
  EXPECT_FALSE(dovecot_order(huge, "1700000000.M1P1.h"));
  EXPECT_TRUE(dovecot_order("9.M99999999999999999999999P1.h", "10.M1P1.h"));
  EXPECT_FALSE(dovecot_order(huge, huge));
  EXPECT_EQ(parse_file_name("1.M1P1.h,S=99999999999999999999999,W=5:2,S").file_size, std::nullopt);
  EXPECT_EQ(parse_file_name("1.M1P1.h,S=99999999999999999999999,W=5:2,S").rfc822_size,
            std::optional<std::uint64_t>(5));
  EXPECT_EQ(parse_file_name("1.M1P1.h,S=18446744073709551614").file_size,
            std::optional<std::uint64_t>(18446744073709551614ULL));
}

}  // namespace
}  // namespace mailmig::maildir
