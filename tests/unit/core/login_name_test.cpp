#include "core/login_name.h"

#include <gtest/gtest.h>

namespace mailmig {
namespace {

TEST(FormatLogin, Placeholders) {
  EXPECT_EQ("john@example.com", format_login("%u@%d", "john", "example.com"));
  EXPECT_EQ("john", format_login("%u", "john", "example.com"));
  EXPECT_EQ("example.com\\john", format_login("%d\\%u", "john", "example.com"));
  EXPECT_EQ("100%john", format_login("100%%%u", "john", "x"));
  EXPECT_EQ("%x%", format_login("%x%", "john", "x"));
}

}  // namespace
}  // namespace mailmig
