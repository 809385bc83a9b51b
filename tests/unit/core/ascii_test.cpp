// The one case rule (core/ascii.h): ASCII letters fold, nothing else does.
#include "core/ascii.h"

#include <gtest/gtest.h>

namespace mailmig {
namespace {

TEST(Ascii, OnlyAsciiLettersFold) {
  EXPECT_EQ("inbox/sent-2024_x", ascii_lower("INBOX/Sent-2024_X"));
  EXPECT_EQ("INBOX/SENT-2024_X", ascii_upper("inbox/sent-2024_x"));
  // UTF-8 bytes and the Latin-1 range stay as they are, whatever the locale says.
  EXPECT_EQ("\xC3\x84pfel \xC4\xB0stanbul", ascii_lower("\xC3\x84pfel \xC4\xB0stanbul"));
  EXPECT_EQ(std::string("\xC9\xE9", 2), ascii_upper(std::string("\xC9\xE9", 2)));
  EXPECT_EQ('@', ascii_lower('@'));
  EXPECT_EQ('[', ascii_upper('['));
}

TEST(Ascii, EqualityIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(ascii_iequals("ObjectClass", "objectclass"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("INBOX", "INBOX/"));
  EXPECT_FALSE(ascii_iequals("\xC3\x84", "\xC3\xA4"));  // Ä and ä: not ASCII, not folded
  static_assert(ascii_iequals("UID", "uid"));
}

}  // namespace
}  // namespace mailmig
