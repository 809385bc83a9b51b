#include "imap/message_data.h"

#include <gtest/gtest.h>

#include "imap/response_parser.h"

namespace mailmig::imap {
namespace {

Item flags_item(std::string_view line) {
  ResponseParser parser;
  parser.feed(line);
  auto r = parser.next();
  EXPECT_TRUE(r.has_value());
  return *r->data[0].get("FLAGS");
}

TEST(ParseFlagList, SystemFlagsAnyCaseKeywordsKeptRecentDropped) {
  const ParsedFlags f = parse_flag_list(
      flags_item("* 1 FETCH (FLAGS (\\seen \\Recent $Label1 \\Flagged \\Draft Work \\Unknown))\r\n"));
  EXPECT_EQ(f.flags, kSeen | kFlagged | kDraft);
  EXPECT_EQ(f.keywords, (std::vector<std::string>{"$Label1", "Work"}));
}

TEST(ParseFlagList, Empty) {
  const ParsedFlags f = parse_flag_list(flags_item("* 1 FETCH (FLAGS ())\r\n"));
  EXPECT_EQ(f.flags, 0);
  EXPECT_TRUE(f.keywords.empty());
}

TEST(FetchedMetadata, SizeFlagsDateAndU32) {
  ResponseParser parser;
  parser.feed(
      "* 3 FETCH (UID 4294967295 RFC822.SIZE 1234 FLAGS (\\Seen Work) "
      "INTERNALDATE \"14-Nov-2023 22:13:20 +0000\")\r\n");
  auto r = parser.next();
  ASSERT_TRUE(r.has_value());
  const Item& data = r->data[0];
  EXPECT_EQ(std::optional<std::uint32_t>(4294967295U), u32_of(data.get("UID")));
  EXPECT_EQ(std::nullopt, u32_of(data.get("MODSEQ")));
  const FetchedMetadata m = fetched_metadata(data);
  EXPECT_EQ(1234U, m.size);
  EXPECT_EQ(kSeen, m.flags);
  EXPECT_EQ(std::vector<std::string>{"Work"}, m.keywords);
  EXPECT_TRUE(m.internal_date.has_value());
}

TEST(UidSets, RangesSortedDeduplicated) {
  EXPECT_EQ(uid_sets({9, 1, 2, 3, 7, 10, 3}), (std::vector<std::string>{"1:3,7,9:10"}));
  EXPECT_TRUE(uid_sets({}).empty());
  EXPECT_EQ(uid_sets({42}), (std::vector<std::string>{"42"}));
}

TEST(UidSets, SplitsLongSetsAndLosesNothing) {
  std::vector<std::uint32_t> uids;
  for (std::uint32_t u = 1; u < 20000; u += 2) uids.push_back(u);
  const auto sets = uid_sets(uids, 100);
  ASSERT_GT(sets.size(), 1U);
  std::vector<std::uint32_t> back;
  for (const std::string& s : sets) {
    EXPECT_LE(s.size(), 100U);
    std::size_t pos = 0;
    while (pos < s.size()) {
      const std::size_t comma = s.find(',', pos);
      back.push_back(static_cast<std::uint32_t>(std::stoul(s.substr(pos, comma - pos))));
      pos = comma == std::string::npos ? s.size() : comma + 1;
    }
  }
  EXPECT_EQ(back, uids);
}

}  // namespace
}  // namespace mailmig::imap
