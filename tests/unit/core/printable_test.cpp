#include "core/printable.h"

#include <gtest/gtest.h>

#include <string>

#include "core/problem.h"

namespace mailmig {
namespace {

TEST(Printable, ControlCharactersAreEscaped) {
  EXPECT_EQ("Inbox\\x1b[2J\\x1b]0;owned\\x07", printable("Inbox\x1b[2J\x1b]0;owned\x07"));
  EXPECT_EQ("a\\x0ab\\x0dc\\x00d\\x7f", printable(std::string("a\nb\rc\0d\x7f", 8)));
  EXPECT_EQ("tab\\x09", printable("tab\t"));
}

TEST(Printable, C1ControlsAreEscapedOtherUtf8AndBrokenBytesKept) {
  EXPECT_EQ("x\\x9b31m", printable("x\xc2\x9b"
                                   "31m"));
  EXPECT_EQ("Entw\xc3\xbcrfe \xc2\xa0 \xe6\x97\xa5", printable("Entw\xc3\xbcrfe \xc2\xa0 \xe6\x97\xa5"));
  EXPECT_EQ("\xff\xfe\x9b", printable("\xff\xfe\x9b"));  // not UTF-8: kept byte for byte
  EXPECT_EQ("\xc2", printable("\xc2"));
}

TEST(Printable, ProblemDescriptionsAreEscaped) {
  const Problem p{
      .account = "bob\x1b[8m", .folder = "Evil\nFAKE: all good", .file = "f\r", .message = "bad\x07"};
  EXPECT_EQ("bob\\x1b[8m/Evil\\x0aFAKE: all good: f\\x0d: bad\\x07", p.describe());
}

}  // namespace
}  // namespace mailmig
