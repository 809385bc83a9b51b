// dovecot-keywords: read as Dovecot's maildir-keywords.c reads it, written as
// it writes it; only IMAP atoms get a letter, so the file cannot be broken.
#include <gtest/gtest.h>

#include "format/maildir/keywords.h"

namespace mailmig::maildir {
namespace {

TEST(MaildirKeywords, KeepsAssignmentsAndFillsGaps) {
  Keywords k = Keywords::parse("0 $Label1\n2 Custom\nbroken\n30 TooHigh\n");
  EXPECT_EQ(k.letter("$label1"), 'a');  // case-insensitive, as in Dovecot
  EXPECT_EQ(k.letter("Custom"), 'c');
  EXPECT_FALSE(k.changed());
  EXPECT_EQ(k.assign("New"), 'b');
  EXPECT_EQ(k.assign("Custom"), 'c');
  EXPECT_TRUE(k.changed());
  EXPECT_EQ(k.format(), "0 $Label1\n1 New\n2 Custom\n");
  EXPECT_EQ(k.name('b'), "New");
  EXPECT_EQ(k.name('z'), std::nullopt);
  k.mark_saved();
  EXPECT_FALSE(k.changed());
}

TEST(MaildirKeywords, SkipsWhatDovecotSkips) {
  const Keywords k = Keywords::parse("0 \n 1 x\n1 Work\r\n2 work\n-3 Neg\n26 Over\n3 two words\n4a Bad\n");
  EXPECT_EQ(k.name('a'), std::nullopt);  // empty name
  EXPECT_EQ(k.name('b'), "Work");        // CR LF line end
  EXPECT_EQ(k.name('c'), std::nullopt);  // a name given twice: the first line wins
  EXPECT_EQ(k.name('d'), "two words");   // the rest of the line, as Dovecot reads it
  EXPECT_EQ(k.name('e'), std::nullopt);
  EXPECT_EQ(k.format(), "1 Work\n3 two words\n");
}

// Found by fuzz_dovecot_uidlist: a name ending in CR ("0 x\r\r\n") was read
// as "x\r", written back as "0 x\r\n" and read again as "x".
TEST(MaildirKeywords, NoNameEndsInCrSoRewritingKeepsIt) {
  const Keywords k = Keywords::parse("0 x\r\r\r\n1 \r\r\n");
  EXPECT_EQ(k.name('a'), "x");
  EXPECT_EQ(k.name('b'), std::nullopt);
  EXPECT_EQ(Keywords::parse(k.format()).name('a'), "x");
}

TEST(MaildirKeywords, TwentySixAtMost) {
  Keywords k;
  for (int i = 0; i < 26; ++i) EXPECT_TRUE(k.assign("k" + std::to_string(i)).has_value());
  Keywords::Refusal why = Keywords::Refusal::None;
  EXPECT_EQ(k.assign("one-too-many", &why), std::nullopt);
  EXPECT_EQ(why, Keywords::Refusal::Full);
  EXPECT_EQ(k.letter("k25"), 'z');
}

// A name with a newline would add a line of its own (another letter's
// keyword), a space or nothing at all is not a keyword Dovecot accepts: the
// writer refuses them instead of writing a file Dovecot reads differently.
TEST(MaildirKeywords, RefusesNamesThatAreNotImapAtoms) {
  Keywords k;
  for (const std::string& bad :
       {std::string(), std::string("a b"), std::string("x\n25 evil"), std::string("tab\t"),
        std::string("cr\r"), std::string("nul\0", 4), std::string("8bit\xc3\xa9"), std::string("(paren"),
        std::string("brace{"), std::string("per%"), std::string("star*"), std::string("quote\""),
        std::string("back\\"), std::string("close]"), std::string("del\x7f")}) {
    Keywords::Refusal why = Keywords::Refusal::None;
    EXPECT_EQ(k.assign(bad, &why), std::nullopt) << bad;
    EXPECT_EQ(why, Keywords::Refusal::InvalidName) << bad;
    EXPECT_FALSE(valid_keyword(bad)) << bad;
  }
  EXPECT_FALSE(k.changed());
  EXPECT_EQ(k.format(), "");
  for (const std::string good : {"$Label1", "Junk", "NonJunk", "a[b", "x.y-z_1", "$Forwarded"}) {
    EXPECT_TRUE(valid_keyword(good)) << good;
    EXPECT_TRUE(k.assign(good).has_value()) << good;
  }
  EXPECT_EQ(Keywords::parse(k.format()).format(), k.format());
}

TEST(MaildirKeywords, NamesOfLettersAndUnknownLetters) {
  const Keywords k = Keywords::parse("0 $Label1\n2 Work\n");
  std::string unknown;
  const auto names = k.names_of((1U << 0U) | (1U << 1U) | (1U << 2U), [&](char c) { unknown += c; });
  EXPECT_EQ(names, (std::vector<std::string>{"$Label1", "Work"}));
  EXPECT_EQ(unknown, "b");
}

}  // namespace
}  // namespace mailmig::maildir
