#include <gtest/gtest.h>

#include <string>

#include "common/read_all.h"
#include "source/imap/body_cache.h"

namespace mailmig::imap_source {
namespace {

TEST(BodyCache, EvictsLeastRecentlyUsedButReadersKeepTheirBody) {
  BodyCache cache(10);
  cache.put(1, MessageBody::in_memory("aaaa"));
  cache.put(2, MessageBody::in_memory("bbbb"));
  auto held = MessageBody::open(cache.get(1));   // 1 is now the most recent
  cache.put(3, MessageBody::in_memory("cccc"));  // 12 bytes > 10: 2 goes
  EXPECT_EQ(nullptr, cache.get(2));
  EXPECT_NE(nullptr, cache.get(1));
  cache.put(4, MessageBody::in_memory("dddddddddddddddd"));  // alone over budget: kept, the rest evicted
  EXPECT_NE(nullptr, cache.get(4));
  EXPECT_EQ(nullptr, cache.get(1));
  EXPECT_EQ("aaaa", testing::read_all(*held));
}

}  // namespace
}  // namespace mailmig::imap_source
