#include "config/rules.h"

#include <gtest/gtest.h>

namespace mailmig::config {
namespace {

TEST(Rules, BuiltInSetParses) {
  Rules r = load_rules("zarafa-kopano");
  EXPECT_EQ(r.old_product, "zarafa");
  EXPECT_EQ(r.new_product, "kopano");
  EXPECT_TRUE(r.is_config("server.cfg"));
  EXPECT_FALSE(r.is_config("ssl/server.pem"));
  EXPECT_EQ(r.renamed_directive("server.cfg", "enable_distributed_zarafa"), "enable_distributed_kopano");
  ASSERT_NE(r.obsolete_directive("server.cfg", "server_tcp_port"), nullptr);
  EXPECT_EQ(r.obsolete_directive("server.cfg", "server_tcp_port")->replacement, "server_listen");
  ASSERT_NE(r.kept_directive("server.cfg", "mysql_database"), nullptr);
  EXPECT_EQ(r.kept_directive("server.cfg", "mysql_database")->old_builtin_default, "zarafa");
  EXPECT_EQ(r.mode_for("", true), 0750U);
  EXPECT_EQ(r.mode_for("ssl", true), 0750U);
  EXPECT_EQ(r.mode_for("ssl/server.pem", false), 0640U);
  EXPECT_EQ(r.mode_for("server.cfg", false), 0640U);
}

TEST(Rules, RewritesStopAtNameBoundaries) {
  Rules r = load_rules("zarafa-kopano");
  EXPECT_EQ(rewrite_value(r.value_rewrites, "file:///var/run/zarafad/server.sock"),
            "file:///var/run/kopano/server.sock");
  EXPECT_EQ(rewrite_value(r.value_rewrites, "file:///var/run/zarafa-server.sock"),
            "file:///var/run/kopano/server.sock");
  EXPECT_EQ(rewrite_value(r.value_rewrites, "/var/log/zarafa/server.log"), "/var/log/kopano/server.log");
  EXPECT_EQ(rewrite_value(r.value_rewrites, "/etc/zarafa.bak/x"), "/etc/zarafa.bak/x");
  EXPECT_EQ(rewrite_value(r.value_rewrites, "/var/lib/zarafa/attachments"), "/var/lib/zarafa/attachments");
  EXPECT_EQ(rewrite_symlink(r.symlink_rewrites, "/usr/share/zarafa-webapp"), "/usr/share/kopano-webapp");
  EXPECT_EQ(rewrite_symlink(r.symlink_rewrites, "/usr/share/zarafa-webapp2"), "/usr/share/zarafa-webapp2");
  EXPECT_EQ(rename_schema_words(r.schema_renames, "zarafaAccount"), "kopanoAccount");
  EXPECT_EQ(rename_schema_words(r.schema_renames, "(&(objectClass=zarafa-user))"),
            "(&(objectClass=kopano-user))");
  EXPECT_EQ(rename_schema_words(r.schema_renames, "myzarafaX"), "myzarafaX");
}

TEST(Rules, ErrorsNameTheLine) {
  try {
    parse_rules("product a b\nconfig *.conf\nmode x 0999\n", "t.rules");
    FAIL();
  } catch (const RulesError& e) {
    EXPECT_NE(std::string(e.what()).find("t.rules:3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_rules("config *.conf\n", "t"), RulesError);
  EXPECT_THROW(parse_rules("product a b\nconfig *\nfrobnicate x\n", "t"), RulesError);
  EXPECT_THROW(load_rules("no-such-set"), RulesError);
}

TEST(Rules, AnotherProductPair) {
  Rules r = parse_rules(
      "product cyrus2 cyrus3\nconfig *.conf\nrename-file imapd.conf imapd3.conf\n"
      "rename-directive imapd.conf old_key new_key\nvalue *.conf user cyrus2 cyrus\n",
      "pair");
  EXPECT_EQ(r.renamed_file("imapd.conf"), "imapd3.conf");
  EXPECT_EQ(r.renamed_directive("imapd.conf", "old_key"), "new_key");
  EXPECT_EQ(r.replaced_value("x.conf", "user", "cyrus2"), "cyrus");
}

}  // namespace
}  // namespace mailmig::config
