#include <gtest/gtest.h>

#include <string>

#include "source/imap/body_cache.h"

namespace mailmig::imap_source {
namespace {

std::string read_all(ByteReader& reader) {
  std::string out;
  char buf[7];  // odd size: several reads per body
  while (const std::size_t n = reader.read(std::span<char>(buf, sizeof buf))) out.append(buf, n);
  return out;
}

TEST(Body, MemoryAndFileBodiesReadBackExactly) {
  auto mem = Body::in_memory("Subject: x\r\n\r\nhello\r\n");
  auto reader = Body::open(mem);
  EXPECT_EQ("Subject: x\r\n\r\nhello\r\n", read_all(*reader));

  auto file = Body::in_file();
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "line " + std::to_string(i) + "\r\n";
  file->append(big.substr(0, 1000));
  file->append(big.substr(1000));
  EXPECT_EQ(big.size(), file->size());
  auto r = Body::open(file);
  EXPECT_EQ(big, read_all(*r));
}

TEST(BodyCache, EvictsLeastRecentlyUsedButReadersKeepTheirBody) {
  BodyCache cache(10);
  cache.put(1, Body::in_memory("aaaa"));
  cache.put(2, Body::in_memory("bbbb"));
  auto held = Body::open(cache.get(1));   // 1 is now the most recent
  cache.put(3, Body::in_memory("cccc"));  // 12 bytes > 10: 2 goes
  EXPECT_EQ(nullptr, cache.get(2));
  EXPECT_NE(nullptr, cache.get(1));
  cache.put(4, Body::in_memory("dddddddddddddddd"));  // alone over budget: kept, the rest evicted
  EXPECT_NE(nullptr, cache.get(4));
  EXPECT_EQ(nullptr, cache.get(1));
  EXPECT_EQ("aaaa", read_all(*held));
}

}  // namespace
}  // namespace mailmig::imap_source
