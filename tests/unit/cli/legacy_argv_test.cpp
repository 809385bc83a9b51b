#include "cli/legacy_argv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/argv.h"

namespace mailmig::cli {
namespace {

using testing::Argv;

struct Options {
  std::string path;
  std::string password;
  bool quiet = false;
  std::vector<LegacyOption> table() {
    return {legacy_value({"-path"}, path), legacy_value({"-password"}, password, LegacyOption::Takes::Secret),
            legacy_flag({"-quiet", "-q"}, quiet)};
  }
};

constexpr LegacySyntax kWindowsStyle{.fold_case = true,
                                     .double_dash_alias = true,
                                     .missing_value = "option {} needs a value",
                                     .unknown = "unknown option {}"};

TEST(LegacyArgv, NamesFoldCaseAndTakeADoubleDashWhenTheSyntaxSaysSo) {
  Options o;
  Argv a({"cg2kms", "-PATH", "/var/CommuniGate", "--Quiet"});
  EXPECT_EQ("", parse_legacy_argv(a.argc(), a.argv(), o.table(), kWindowsStyle));
  EXPECT_EQ("/var/CommuniGate", o.path);
  EXPECT_TRUE(o.quiet);
}

TEST(LegacyArgv, CaseCountsWithoutFolding) {
  Options o;
  Argv a({"tool", "-Path", "x"});
  EXPECT_EQ("unknown option -Path",
            parse_legacy_argv(a.argc(), a.argv(), o.table(),
                              {.missing_value = "{}", .unknown = "unknown option {}"}));
}

TEST(LegacyArgv, ASecretIsCopiedThenOverwrittenInArgv) {
  Options o;
  Argv a({"cg2kms", "-password", "Hunter2!", "-path", "p"});
  EXPECT_EQ("", parse_legacy_argv(a.argc(), a.argv(), o.table(), kWindowsStyle));
  EXPECT_EQ("Hunter2!", o.password);
  EXPECT_EQ("xxxxxxxx", a.storage[2]);
  EXPECT_EQ("p", a.storage[4]);
}

TEST(LegacyArgv, TheFirstErrorEndsTheLineAsTyped) {
  Options o;
  Argv missing({"cg2kms", "-quiet", "-Path"});
  EXPECT_EQ("option -Path needs a value",
            parse_legacy_argv(missing.argc(), missing.argv(), o.table(), kWindowsStyle));
  Argv unknown({"cg2kms", "-Bogus", "-path", "never"});
  EXPECT_EQ("unknown option -Bogus",
            parse_legacy_argv(unknown.argc(), unknown.argv(), o.table(), kWindowsStyle));
  EXPECT_EQ("", o.path);  // nothing after the error was read
}

TEST(LegacyArgv, InlineValuesOnlyForLongOptionsAndAnApplyErrorStops) {
  int port = 0;
  std::vector<LegacyOption> table{
      {{"-p", "--port"}, LegacyOption::Takes::Value, [&port](const std::string& v) {
         if (v != "22" && v != "2222") return "bad port " + v;
         port = std::stoi(v);
         return std::string();
       }}};
  const LegacySyntax syntax{.inline_value = true, .missing_value = "{} needs a value", .unknown = "? {}"};
  Argv inline_form({"sync", "--port=2222"});
  EXPECT_EQ("", parse_legacy_argv(inline_form.argc(), inline_form.argv(), table, syntax));
  EXPECT_EQ(2222, port);
  Argv short_form({"sync", "-p=22"});
  EXPECT_EQ("? -p=22", parse_legacy_argv(short_form.argc(), short_form.argv(), table, syntax));
  Argv refused({"sync", "-p", "80", "--port", "22"});
  EXPECT_EQ("bad port 80", parse_legacy_argv(refused.argc(), refused.argv(), table, syntax));
  EXPECT_EQ(2222, port);
}

}  // namespace
}  // namespace mailmig::cli
