#include <gtest/gtest.h>

#include "common/temp_tree.h"
#include "source/cgp/settings.h"

namespace mailmig::cgp {
namespace {

PasswordInfo password_of(const std::string& text) {
  Value settings = parse(text);
  return interpret_account_settings(settings).password;
}

TEST(CgpSettings, PlainPasswordAtomAndQuoted) {
  auto atom = password_of("{ Password = secret; }");
  EXPECT_EQ(PasswordInfo::Kind::Plain, atom.kind);
  EXPECT_EQ("secret", atom.value);
  auto quoted = password_of(R"({ Password = "se \"cr\", et"; })");
  EXPECT_EQ(PasswordInfo::Kind::Plain, quoted.kind);
  EXPECT_EQ("se \"cr\", et", quoted.value);
}

TEST(CgpSettings, EncryptedPasswordKeepsSchemeAndStoredForm) {
  auto u = password_of(R"({ Password = "\001U-crpt$1$abcd$xyz"; })");
  EXPECT_EQ(PasswordInfo::Kind::Encrypted, u.kind);
  EXPECT_EQ("U-crpt", u.scheme);
  EXPECT_EQ("U-crpt$1$abcd$xyz", u.value);
  auto a = password_of(R"({ Password = "\001A-crptQWxhZGRpbg"; })");
  EXPECT_EQ(PasswordInfo::Kind::Encrypted, a.kind);
  EXPECT_EQ("A-crpt", a.scheme);
  EXPECT_EQ("A-crptQWxhZGRpbg", a.value);
  auto sha = password_of(R"({ Password = "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="; })");
  EXPECT_EQ(PasswordInfo::Kind::Encrypted, sha.kind);
  EXPECT_EQ("{SHA}", sha.scheme);
}

TEST(CgpSettings, MissingOrEmptyPasswordIsNone) {
  EXPECT_EQ(PasswordInfo::Kind::None, password_of("{ RealName = \"X\"; }").kind);
  EXPECT_EQ(PasswordInfo::Kind::None, password_of("{ Password = \"\"; }").kind);
  EXPECT_EQ(PasswordInfo::Kind::None, password_of("{ Password = (a, b); }").kind);
}

TEST(CgpSettings, RealNameAndSubscriptions) {
  Value settings = parse("{\r\n RealName = \"J\\195\\188rgen\";\r\n}\r\n");
  EXPECT_EQ("J\xC3\xBCrgen", interpret_account_settings(settings).real_name);
  Value info = parse(
      R"({ Subscription = (INBOX, "Work/Projects", Entwürfe); MailboxInfo = {INBOX={UIDValidity=#5;};}; })");
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Work/Projects", "Entwürfe"}),
            interpret_account_info(info).subscribed);
}

TEST(CgpSettings, MainDomainAndAliases) {
  EXPECT_EQ("mail.example.com", main_domain_name(parse("{ DomainName = mail.example.com; }")).value_or(""));
  EXPECT_FALSE(main_domain_name(parse("{ Other = x; }")).has_value());
  EXPECT_EQ((std::vector<std::string>{"a.example", "b.example"}),
            domain_aliases(parse("{ DomainAliases = (a.example, \"b.example\"); }")));
}

TEST(CgpSettings, SyntaxErrorIsReportedWithFileLineAndColumn) {
  testing::TempTree tree;
  tree.file("account.settings", "{\n RealName = \"A\";\n Password secret;\n}\n");
  std::vector<Problem> problems;
  auto value =
      read_settings_file(tree.path("account.settings"), [&](Problem p) { problems.push_back(std::move(p)); });
  EXPECT_FALSE(value.has_value());
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ(tree.path("account.settings"), problems[0].file);
  EXPECT_EQ(3U, problems[0].line.value_or(0));
  EXPECT_TRUE(problems[0].column.has_value());
  EXPECT_NE(std::string::npos, problems[0].message.find("syntax error"));
}

TEST(CgpSettings, UnreadableSettingsAreReported) {
  testing::TempTree tree;
  std::vector<Problem> problems;
  auto value =
      read_settings_file(tree.path("missing.settings"), [&](Problem p) { problems.push_back(std::move(p)); });
  EXPECT_FALSE(value.has_value());
  ASSERT_EQ(1U, problems.size());
  EXPECT_NE(std::string::npos, problems[0].message.find("No such file"));
}

}  // namespace
}  // namespace mailmig::cgp
