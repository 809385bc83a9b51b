#include <gtest/gtest.h>

#include <stdexcept>

#include "target/maildir/path_pattern.h"

namespace mailmig::maildir {
namespace {

TEST(MaildirPattern, ExpandsDomainLocalPartAddressAndPercent) {
  EXPECT_EQ(expand_path_pattern("%d/%n/Maildir", "alice", "example.com"), "example.com/alice/Maildir");
  EXPECT_EQ(expand_path_pattern("users/%u/100%%", "alice", "example.com"), "users/alice@example.com/100%");
  EXPECT_EQ(expand_path_pattern("%n%x", "bob", "d"), "bob%x");
}

TEST(MaildirPattern, RefusesPathsThatLeaveTheRoot) {
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "..", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "a/../../etc", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("/%n", "alice", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d//%n", "alice", "example.com"), std::invalid_argument);
  EXPECT_THROW((void)expand_path_pattern("%d/%n", "alice", ""), std::invalid_argument);
}

}  // namespace
}  // namespace mailmig::maildir
