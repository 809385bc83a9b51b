// What the IMAP target reports about itself without a server.
#include "target/imap/imap_target.h"

#include <gtest/gtest.h>

namespace mailmig {
namespace {

// Keywords go out through APPEND as atoms: what verify must expect on the server.
TEST(ImapTarget, StoredKeywordIsTheAtomAppendSends) {
  const ImapTarget target(ImapTargetOptions{});
  EXPECT_EQ(target.stored_keyword("$Label1"), "$Label1");
  EXPECT_EQ(target.stored_keyword("Has Space(x)"), "Has_Space_x_");
  EXPECT_EQ(target.stored_keyword("Caf\xC3\xA9"), "Caf__");
  EXPECT_EQ(target.stored_keyword(""), std::nullopt);
  EXPECT_EQ(imap::append_flag_list(0, {"Has Space(x)"}), "(" + *target.stored_keyword("Has Space(x)") + ")");
}

}  // namespace
}  // namespace mailmig
