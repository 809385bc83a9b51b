#include "core/message_body.h"

#include <gtest/gtest.h>

#include <string>

#include "common/read_all.h"

namespace mailmig {
namespace {

constexpr std::size_t kOddChunk = 7;  // several reads per body

TEST(MessageBody, MemoryAndFileBodiesReadBackExactly) {
  auto mem = MessageBody::in_memory("Subject: x\r\n\r\nhello\r\n");
  auto reader = MessageBody::open(mem);
  EXPECT_EQ("Subject: x\r\n\r\nhello\r\n", testing::read_all(*reader, kOddChunk));

  auto file = MessageBody::in_file();
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "line " + std::to_string(i) + "\r\n";
  file->append(big.substr(0, 1000));
  file->append(big.substr(1000));
  EXPECT_EQ(big.size(), file->size());
  auto r = MessageBody::open(file);
  EXPECT_EQ(big, testing::read_all(*r, kOddChunk));
}

}  // namespace
}  // namespace mailmig
