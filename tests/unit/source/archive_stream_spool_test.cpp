// The spool's directory name says which run made it (for removing a killed run's spool).
#include <gtest/gtest.h>

#include "source/archive/stream_spool.h"

namespace mailmig::archive {
namespace {

TEST(StreamSpool, OwnerPidIsReadFromTheDirectoryName) {
  EXPECT_EQ(4242, spool_owner_pid("mailmig-stream-4242-AbC123"));
  EXPECT_EQ(1, spool_owner_pid("mailmig-stream-1-x"));
}

TEST(StreamSpool, OtherNamesHaveNoOwner) {
  EXPECT_EQ(0, spool_owner_pid("mailmig-stream-AbC123"));  // before the PID was in the name
  EXPECT_EQ(0, spool_owner_pid("mailmig-stream--AbC123"));
  EXPECT_EQ(0, spool_owner_pid("mailmig-stream-12a4-x"));
  EXPECT_EQ(0, spool_owner_pid("mailmig-stream-1234567890-x"));  // longer than any PID
  EXPECT_EQ(0, spool_owner_pid("other-4242-x"));
  EXPECT_EQ(0, spool_owner_pid(""));
}

}  // namespace
}  // namespace mailmig::archive
