#include "provision/alias_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(AliasFile, SortedOneLinePerAlias) {
  const std::string text = format_virtual_aliases({
      {.address = "sales@example.com", .targets = {"john@example.com", "mary@example.com"}},
      {.address = "john.doe@example.com", .targets = {"john@example.com"}},
  });
  EXPECT_EQ("john.doe@example.com john@example.com\nsales@example.com john@example.com,mary@example.com\n",
            text);
  EXPECT_EQ("", format_virtual_aliases({}));
}

TEST(AliasFile, RefusesWhatPostfixWouldMisread) {
  EXPECT_THROW((void)format_virtual_aliases({{.address = "a b@example.com", .targets = {"x@example.com"}}}),
               std::invalid_argument);
  EXPECT_THROW((void)format_virtual_aliases({{.address = "a@example.com", .targets = {"x,y@example.com"}}}),
               std::invalid_argument);
  EXPECT_THROW((void)format_virtual_aliases({{.address = "a@example.com", .targets = {}}}),
               std::invalid_argument);
}

TEST(AliasFile, WrittenAtomicallyAndReplacedIdentically) {
  mailmig::testing::TempTree tree("mailmig-aliases");
  const std::string path = tree.path("virtual");
  tree.file("virtual", "old content\n");
  const std::vector<AliasEntry> aliases{
      {.address = "g@example.com", .targets = {"a@example.com", "b@example.com"}}};
  write_virtual_aliases(path, aliases);
  const std::string first = slurp(path);
  EXPECT_EQ("g@example.com a@example.com,b@example.com\n", first);
  write_virtual_aliases(path, aliases);
  EXPECT_EQ(first, slurp(path));
  EXPECT_EQ((std::set<std::string>{"virtual"}), tree.names());  // no temporary file left
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(0644U, st.st_mode & 0777U);
  EXPECT_THROW(write_virtual_aliases(tree.path("missing/virtual"), aliases), std::exception);
}

}  // namespace
}  // namespace mailmig
