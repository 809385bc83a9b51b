#include "config/takeover_plan.h"

#include <gtest/gtest.h>

#include "config/config_file.h"

namespace mailmig::config {
namespace {

TreeEntry file(std::string content) {
  TreeEntry e;
  e.type = EntryType::File;
  e.content = std::move(content);
  e.mode = 0644;
  return e;
}

struct Fixture {
  Rules rules = load_rules("zarafa-kopano");
  PlanOptions options;
  Tree source, destination;
  TreeEntry root;
  Fixture() {
    options.from = "/etc/zarafa";
    options.to = "/etc/kopano";
    options.owner.spec = "root:kopano";
    root.type = EntryType::Directory;
    root.mode = 0755;
    destination["server.cfg"] =
        file("#mysql_database = kopano\n#attachment_path = /var/lib/kopano/attachments\n");
  }
  std::string result(const std::string& rel, const Tree* defaults = nullptr) {
    Plan plan = plan_takeover(rules, options, source, destination, root, defaults);
    return plan.result.at(rel).content;
  }
};

TEST(TakeoverPlan, DatabaseKeepsItsOldDefaultNameWhenTheFileDoesNotSetIt) {
  Fixture f;
  f.source["server.cfg"] = file("log_level = 4\nattachment_path = /var/lib/zarafa/attachments\n");
  auto server = ConfigFile::parse(f.result("server.cfg"));
  EXPECT_EQ(server.value("mysql_database"), "zarafa");  // Kopano's default would be an empty database
  EXPECT_EQ(server.value("attachment_path"), "/var/lib/zarafa/attachments");
  EXPECT_EQ(server.value("log_level"), "4");
}

TEST(TakeoverPlan, MovedDataIsWhereTheFileSays) {
  Fixture f;
  f.options.move_from = "/var/lib/zarafa/attachments/";
  f.options.move_to = "/var/lib/kopano/attachments";
  f.source["server.cfg"] = file("attachment_path = /var/lib/zarafa/attachments\n");
  EXPECT_EQ(ConfigFile::parse(f.result("server.cfg")).value("attachment_path"),
            "/var/lib/kopano/attachments");
}

TEST(TakeoverPlan, OldDefaultsDecideWhatIsCarried) {
  Fixture f;
  f.source["server.cfg"] =
      file("log_level = 3\nthreads = 16\nserver_socket = /var/run/zarafad/server.sock\n");
  Tree defaults;
  defaults["server.cfg"] = file("log_level = 3\nthreads = 8\nserver_socket = /var/run/zarafad/server.sock\n");
  auto with = ConfigFile::parse(f.result("server.cfg", &defaults));
  EXPECT_FALSE(with.value("log_level"));
  EXPECT_EQ(with.value("threads"), "16");
  EXPECT_FALSE(with.value("server_socket"));
  auto without = ConfigFile::parse(f.result("server.cfg"));
  EXPECT_EQ(without.value("log_level"), "3");
  EXPECT_EQ(without.value("server_socket"), "/var/run/kopano/server.sock");
}

TEST(TakeoverPlan, ObsoleteDirectiveIsAWarningWithItsReplacement) {
  Fixture f;
  f.source["server.cfg"] = file("server_tcp_port = 237\n");
  Plan plan = plan_takeover(f.rules, f.options, f.source, f.destination, f.root, nullptr);
  bool found = false;
  for (const auto& w : plan.warnings)
    found |= w.describe() ==
             "/etc/zarafa/server.cfg:1: server_tcp_port = 237 is "
             "not read by kopano; use server_listen: not carried, "
             "set it by hand";
  EXPECT_TRUE(found);
}

TEST(TakeoverPlan, LdapSchemaNewRenamesAttributes) {
  Fixture f;
  f.source["ldap.cfg"] = file("ldap_emailaliases_attribute = zarafaAliases\n");
  f.options.ldap_schema = LdapSchema::Keep;
  EXPECT_EQ(f.result("ldap.cfg"), "ldap_emailaliases_attribute = zarafaAliases\n");
  f.options.ldap_schema = LdapSchema::New;
  EXPECT_EQ(f.result("ldap.cfg"), "ldap_emailaliases_attribute = kopanoAliases\n");
}

TEST(TakeoverPlan, ADirectoryWhereAFileMustGoFailsThePlan) {
  Fixture f;
  f.source["spooler.cfg"] = file("smtp_server = mx\n");
  f.destination["spooler.cfg"] = TreeEntry{EntryType::Directory, "", 0755, 0, 0};
  EXPECT_THROW(plan_takeover(f.rules, f.options, f.source, f.destination, f.root, nullptr), PlanError);
}

TEST(TakeoverPlan, SecondPlanOnTheResultChangesNothing) {
  Fixture f;
  f.options.owner.uid = 0;
  f.options.owner.gid = 0;
  f.source["server.cfg"] = file("threads = 16\nenable_hosted_zarafa = true\n");
  Plan first = plan_takeover(f.rules, f.options, f.source, f.destination, f.root, nullptr);
  EXPECT_TRUE(first.changes_destination());
  Plan second = plan_takeover(f.rules, f.options, f.source, first.result, first.result_root, nullptr);
  EXPECT_FALSE(second.changes_destination());
  EXPECT_EQ(ConfigFile::parse(first.result.at("server.cfg").content).value("enable_hosted_kopano"), "true");
}

}  // namespace
}  // namespace mailmig::config
