#include "core/text_fields.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace mailmig {
namespace {

using Lines = std::vector<std::string_view>;

TEST(TextLines, LfAndCrLfEndsAreDroppedALastLineWithoutLfCounts) {
  EXPECT_EQ((Lines{"a", "", "b", "c"}), text_lines("a\n\r\nb\r\nc"));
  EXPECT_EQ((Lines{"a"}), text_lines("a\n"));
  EXPECT_EQ(Lines{}, text_lines(""));
  EXPECT_EQ((Lines{"x\ry"}), text_lines("x\ry"));  // a CR inside a line stays
}

}  // namespace
}  // namespace mailmig
