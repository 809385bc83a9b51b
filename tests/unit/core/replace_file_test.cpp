// fs::replace_file, how reports and other whole files are written: a reader
// (or a run killed meanwhile) sees the old file or the complete new one, a
// failed write names the file and leaves the old one, and no temporary file
// stays behind.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/temp_tree.h"
#include "core/error.h"
#include "core/fs.h"

namespace mailmig {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ReplaceFile, CreatesThenReplacesWithTheModeAndNothingElseInTheDirectory) {
  mailmig::testing::TempTree tree;
  const std::string path = tree.path("report.json");
  fs::replace_file(path, "first\n", 0600);
  EXPECT_EQ("first\n", read(path));
  fs::replace_file(path, "second, longer\n", 0640);
  EXPECT_EQ("second, longer\n", read(path));
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(0640U, st.st_mode & 0777);
  EXPECT_EQ(std::vector<std::string>{"report.json"}, names(tree.path("")));
}

TEST(ReplaceFile, AStaleTemporaryNameFromAKilledRunIsCleared) {
  mailmig::testing::TempTree tree;
  tree.file(".report.json.mailmig-tmp", "half");
  fs::replace_file(tree.path("report.json"), "whole\n");
  fs::replace_file(tree.path("report.json"), "whole again\n");
  EXPECT_EQ(std::vector<std::string>{"report.json"}, names(tree.path("")));
}

TEST(ReplaceFile, AFailureNamesTheFile) {
  mailmig::testing::TempTree tree;
  const std::string path = tree.path("missing-dir/report.json");
  try {
    fs::replace_file(path, "x");
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(path, e.path());
    EXPECT_NE(std::string::npos, std::string(e.what()).find("report.json"));
  }
}

}  // namespace
}  // namespace mailmig
