// The APPEND batch sizing after lost connections (imap::shrunk_after_drops).
#include <gtest/gtest.h>

#include "imap/appender.h"

namespace mailmig::imap {
namespace {

AppendOptions configured() {
  AppendOptions o;
  o.batch_count = 200;
  o.batch_bytes = 8U * 1024 * 1024;
  o.window = 16;
  o.window_bytes = 32U * 1024 * 1024;
  return o;
}

TEST(AppendShrink, NoDropKeepsTheConfiguredSizes) {
  const AppendOptions o = shrunk_after_drops(configured(), 0);
  EXPECT_EQ(200U, o.batch_count);
  EXPECT_EQ(8U * 1024 * 1024, o.batch_bytes);
  EXPECT_EQ(16U, o.window);
  EXPECT_EQ(32U * 1024 * 1024, o.window_bytes);
}

TEST(AppendShrink, TheFirstDropEndsMultiAppendBatches) {
  // A lost MULTIAPPEND confirms nothing; singles are confirmed one by one.
  const AppendOptions o = shrunk_after_drops(configured(), 1);
  EXPECT_EQ(1U, o.batch_count);
  EXPECT_EQ(8U, o.window);
  EXPECT_EQ(16U * 1024 * 1024, o.window_bytes);
}

TEST(AppendShrink, EachDropHalvesTheWindow) {
  const AppendOptions o = shrunk_after_drops(configured(), 3);
  EXPECT_EQ(1U, o.batch_count);
  EXPECT_EQ(1024U * 1024, o.batch_bytes);
  EXPECT_EQ(2U, o.window);
  EXPECT_EQ(4U * 1024 * 1024, o.window_bytes);
  EXPECT_EQ(AppendMode::Auto, o.mode);
}

TEST(AppendShrink, ReachesOneMessageInFlightAndStaysThere) {
  for (unsigned drops : {8U, 24U, 64U, 1000U}) {
    const AppendOptions o = shrunk_after_drops(configured(), drops);
    EXPECT_EQ(1U, o.batch_count) << drops;
    EXPECT_EQ(1U, o.window) << drops;
    EXPECT_GE(o.batch_bytes, 1U) << drops;
    EXPECT_GE(o.window_bytes, 1U) << drops;
  }
  const AppendOptions floor = shrunk_after_drops(configured(), 1000);
  EXPECT_EQ(1U, floor.batch_bytes);
  EXPECT_EQ(1U, floor.window_bytes);
}

}  // namespace
}  // namespace mailmig::imap
