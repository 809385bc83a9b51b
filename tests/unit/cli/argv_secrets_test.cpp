#include "cli/argv_secrets.h"

#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "common/argv.h"

namespace mailmig::cli {
namespace {

using testing::Argv;

TEST(ArgvSecrets, BothFormsAreScrubbedInPlaceAndReportedOnce) {
  Argv a({"mailmig", "migrate", "--set-password", "Hunter2!", "--user", "bob", "--force-set-password=S3cret",
          "--set-password", "again"});
  const std::vector<std::string> found = scrub_secret_options(a.argc(), a.argv(), kMailmigSecretOptions);
  EXPECT_EQ((std::vector<std::string>{"--set-password", "--force-set-password"}), found);
  EXPECT_EQ("xxxxxxxx", a.storage[3]);
  EXPECT_EQ("bob", a.storage[5]);
  EXPECT_EQ("--force-set-password=xxxxxx", a.storage[6]);
  EXPECT_EQ("xxxxx", a.storage[8]);
}

TEST(ArgvSecrets, OtherArgumentsStayAndAValueAfterDoubleDashIsNoOption) {
  Argv a(
      {"mailmig", "migrate", "--set-passwords", "keep", "--", "--set-password", "keep2", "--set-password"});
  EXPECT_TRUE(scrub_secret_options(a.argc(), a.argv(), kMailmigSecretOptions).empty());
  EXPECT_EQ("keep", a.storage[3]);
  EXPECT_EQ("keep2", a.storage[6]);
  Argv last({"mailmig", "--set-password"});  // no value: nothing to scrub, still warned
  EXPECT_EQ(1U, scrub_secret_options(last.argc(), last.argv(), kMailmigSecretOptions).size());
}

TEST(ArgvSecrets, Cg2kmsStyleNamesIgnoreCase) {
  constexpr std::array<std::string_view, 1> kNames = {"-password"};
  Argv a({"cg2kms", "-Password", "pw1234"});
  EXPECT_EQ(1U, scrub_secret_options(a.argc(), a.argv(), kNames, true).size());
  EXPECT_EQ("xxxxxx", a.storage[2]);
}

TEST(ArgvSecrets, WarningNamesTheOptionNeverTheValue) {
  std::ostringstream err;
  warn_secret_options({"--set-password"}, "mailmig", err);
  EXPECT_NE(std::string::npos,
            err.str().find("mailmig: warning: --set-password on the command line can be read"));
}

}  // namespace
}  // namespace mailmig::cli
