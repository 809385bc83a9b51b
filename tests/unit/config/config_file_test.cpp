#include "config/config_file.h"

#include <gtest/gtest.h>

namespace mailmig::config {
namespace {

const char* kServer =
    "# SERVER SETTINGS\n"
    "\n"
    "server_bind\t\t=\n"
    "#server_listen = *:236\n"
    "mysql_database\t\t= zarafa\r\n"
    "# prose: see a = b\n"
    "!propmap /etc/zarafa/ldap.propmap.cfg\n"
    "log_level = 3   \n"
    "log_level = 4";

TEST(ConfigFile, UnchangedFileIsByteIdentical) {
  EXPECT_EQ(ConfigFile::parse(kServer).serialize(), kServer);
  EXPECT_EQ(ConfigFile::parse("").serialize(), "");
  EXPECT_EQ(ConfigFile::parse("\n\n\t\n").serialize(), "\n\n\t\n");
}

TEST(ConfigFile, ClassifiesLinesAndLaterLinesWin) {
  auto f = ConfigFile::parse(kServer);
  EXPECT_EQ(f.lines()[3].kind, LineKind::CommentedDirective);
  EXPECT_EQ(f.lines()[5].kind, LineKind::Comment);
  EXPECT_EQ(f.lines()[6].kind, LineKind::Include);
  EXPECT_EQ(f.value("log_level"), "4");
  EXPECT_EQ(f.line_number("log_level"), 9U);
  EXPECT_EQ(f.value("server_bind"), "");
  EXPECT_EQ(f.value("mysql_database"), "zarafa");
  EXPECT_EQ(f.commented_default("server_listen"), "*:236");
  EXPECT_FALSE(f.value("server_listen"));
}

TEST(ConfigFile, SetReplacesOnlyTheValue) {
  auto f = ConfigFile::parse(kServer);
  EXPECT_TRUE(f.set("mysql_database", "kopano", "n"));
  EXPECT_FALSE(f.set("mysql_database", "kopano", "n"));
  std::string expected = kServer;
  expected.replace(expected.find("= zarafa\r\n"), 10, "= kopano\r\n");
  EXPECT_EQ(f.serialize(), expected);
}

TEST(ConfigFile, SetUncommentsTheDocumentedDefault) {
  auto f = ConfigFile::parse(kServer);
  f.set("server_listen", "0.0.0.0:237", "n");
  EXPECT_NE(f.serialize().find("\nserver_listen = 0.0.0.0:237\n"), std::string::npos);
  EXPECT_EQ(f.serialize().find("#server_listen"), std::string::npos);
}

TEST(ConfigFile, SetAppendsUnderANoteAndFixesAMissingNewline) {
  auto f = ConfigFile::parse(kServer);
  f.set("threads", "16", "from zarafa server.cfg");
  EXPECT_EQ(f.serialize(), std::string(kServer) + "\n\n# from zarafa server.cfg\nthreads = 16\n");
}

TEST(ConfigFile, EmptyValueGetsASpace) {
  auto f = ConfigFile::parse("server_bind\t\t=\n");
  f.set("server_bind", "10.0.0.1", "");
  EXPECT_EQ(f.serialize(), "server_bind\t\t= 10.0.0.1\n");
}

TEST(ConfigFile, RenameAndCommentOutKeepLayout) {
  auto f = ConfigFile::parse("enable_hosted_zarafa\t= true\nserver_tcp_port = 236\n");
  EXPECT_EQ(f.rename("enable_hosted_zarafa", "enable_hosted_kopano"), 1);
  EXPECT_EQ(f.comment_out("server_tcp_port", "gone"), 1);
  EXPECT_EQ(f.serialize(), "enable_hosted_kopano\t= true\n# gone\n#server_tcp_port = 236\n");
  EXPECT_EQ(f.commented_default("server_tcp_port"), "236");
}

// Found by fuzz_config_file: a commented-out secret ("#mysql_password = old")
// was shown in takeover diffs and reports.
TEST(ConfigFile, CommentedOutSecretsAreMaskedToo) {
  EXPECT_EQ(mask_secrets("#mysql_password = old-secret\n# ldap_bind_passwd=x\r\n#server_name = a\n"),
            "#mysql_password = ********\n# ldap_bind_passwd=********\r\n#server_name = a\n");
}

TEST(ConfigFile, SecretsAreMasked) {
  EXPECT_EQ(mask_secrets("mysql_password = s3cret\nldap_password_attribute = userPassword\n#sslkey_pass =\n"),
            "mysql_password = ********\nldap_password_attribute = userPassword\n#sslkey_pass =\n");
}

}  // namespace
}  // namespace mailmig::config
