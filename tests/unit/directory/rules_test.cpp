#include "directory/rules.h"

#include <gtest/gtest.h>

#include "directory/ldif.h"
#include "directory/set_spec.h"
#include "directory/transform.h"

namespace mailmig::directory {
namespace {

TEST(Rules, BuiltInZarafaKopano) {
  const RuleSet rules = load_rules("zarafa-kopano");
  EXPECT_EQ(rules.renamed_attribute("zarafaAccount"), "kopanoAccount");
  EXPECT_EQ(rules.renamed_attribute("ZARAFAACCOUNT"), "kopanoACCOUNT");
  EXPECT_EQ(rules.renamed_attribute("cn"), std::nullopt);
  EXPECT_EQ(rules.renamed_class("zarafa-user"), "kopano-user");
  EXPECT_EQ(rules.renamed_class("Zarafa-Server"), "kopano-Server");
  EXPECT_EQ(rules.rewrite_value("zarafaFilePath", "kopanoFilePath", "/var/run/zarafad/server.sock"),
            "/var/run/kopano/server.sock");
  EXPECT_EQ(rules.rewrite_value("zarafaFilePath", "kopanoFilePath", "file:///var/run/zarafa-server.sock"),
            "file:///var/run/kopano/server.sock");
  EXPECT_EQ(rules.rewrite_value("description", "description", "/var/run/zarafad/server.sock"),
            "/var/run/zarafad/server.sock");
}

// Found by fuzz_directory_rules: "rename-class zara* *" renamed the class
// "zara" itself to an empty name.
TEST(Rules, StrippingAPrefixNeverLeavesAnEmptyName) {
  const RuleSet rules = parse_rules("rename-class zara* *\nrename-attribute zarafa* *\n", "t.rules");
  EXPECT_EQ(rules.renamed_class("zaraUser"), "User");
  EXPECT_EQ(rules.renamed_class("ZARA"), std::nullopt);
  EXPECT_EQ(rules.renamed_attribute("zarafa"), std::nullopt);
  EXPECT_EQ(rules.renamed_attribute("zarafaQuota"), "Quota");
}

TEST(Rules, FormatAndErrors) {
  const RuleSet rules = parse_rules(
      "# comment\n"
      "rename-attribute oldName newName\n"
      "rename-attribute old* new*\n"
      "rename-class \"a b\" c\n"
      "drop-attribute *Secret\n"
      "rewrite-value host* \"old \\\"x\\\"\" new\n"
      "[users]\n"
      "add-class inetMailUser inetUser\n"
      "map-attribute a b\n"
      "unmapped-attribute c \"why not\"\n",
      "t.rules");
  EXPECT_EQ(rules.renamed_attribute("OLDNAME"), "newName");
  EXPECT_EQ(rules.renamed_attribute("oldOther"), "newOther");
  EXPECT_EQ(rules.renamed_class("a b"), "c");
  EXPECT_TRUE(rules.drops_attribute("mySecret"));
  EXPECT_EQ(rules.rewrite_value("hostX", "hostX", "old \"x\" y"), "new y");
  ASSERT_TRUE(rules.scopes.contains("users"));
  EXPECT_EQ(rules.scopes.at("users").add_classes, (std::vector<std::string>{"inetMailUser", "inetUser"}));
  EXPECT_EQ(rules.scopes.at("users").unmapped.front().second, "why not");

  auto error_of = [](const std::string& text) {
    try {
      parse_rules(text, "bad.rules");
    } catch (const RulesError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("\n\nfrobnicate x\n"), "bad.rules:3: unknown rule \"frobnicate\"");
  EXPECT_NE(error_of("rename-attribute a* b\n").find("bad.rules:1:"), std::string::npos);
  EXPECT_NE(error_of("rename-attribute a\n").find("usage"), std::string::npos);
  EXPECT_NE(error_of("add-class x\n").find("section"), std::string::npos);
  EXPECT_NE(error_of("[people]\n").find("bad.rules:1:"), std::string::npos);
  EXPECT_NE(error_of("rewrite-value a \"open\n").find("unclosed"), std::string::npos);
  EXPECT_THROW(load_rules("no-such-rules-or-file"), RulesError);
}

TEST(Transform, RecordLinesModSpecsClassesAndDn) {
  const RuleSet rules = load_rules("zarafa-kopano");
  LdifRecord content = parse_ldif_record(
      "dn: zarafaAccount=1+cn=J\xc3\xbcrgen,dc=x\nobjectClass: top\nobjectClass: Zarafa-User\n"
      "structuralObjectClass: inetOrgPerson\nzarafaAccount;binary:: AAE=\nzarafaFilePath: "
      "/var/run/zarafad/server.sock\n");
  const LdifRecord out = transform_record(content, rules);
  EXPECT_EQ(out.dn, "kopanoAccount=1+cn=J\xc3\xbcrgen,dc=x");
  EXPECT_EQ(out.lines[1].value, "kopano-User");
  EXPECT_EQ(out.lines[3].name, "kopanoAccount;binary");
  EXPECT_EQ(out.lines[3].value, std::string("\0\1", 2));
  EXPECT_EQ(out.lines[4].value, "/var/run/kopano/server.sock");
  LdifRecord untouched = parse_ldif_record("dn: cn=a\\,b,dc=x\ncn: a,b\n");
  EXPECT_EQ(transform_record(untouched, rules).dn, "cn=a\\,b,dc=x") << "an unchanged DN keeps its bytes";

  LdifRecord change = parse_ldif_record(
      "dn: cn=a,dc=x\nchangetype: modify\nadd: zarafaHidden\nzarafaHidden: 1\n-\nreplace: objectClass\n"
      "objectClass: zarafa-user\n-\n");
  const LdifRecord changed = transform_record(change, rules);
  EXPECT_EQ(changed.lines[1].value, "kopanoHidden");
  EXPECT_EQ(changed.lines[2].name, "kopanoHidden");
  EXPECT_EQ(changed.lines[5].value, "kopano-user");
}

TEST(Transform, EntryMergesIntoExistingNewAttribute) {
  const RuleSet rules = load_rules("zarafa-kopano");
  Entry entry{"cn=a", {{"zarafaAliases", {"x", "y"}}, {"kopanoAliases", {"y", "z"}}}};
  const Entry out = transform_entry(entry, rules);
  ASSERT_EQ(out.attributes.size(), 1U);
  EXPECT_EQ(out.attributes[0].values, (std::vector<std::string>{"x", "y", "z"}));
}

TEST(SetSpec, SeparatorAndEscapedSemicolon) {
  EXPECT_EQ(parse_set_spec("mailDeliveryOption:hold;mailFolderMap:LOCK"),
            (std::vector<SetPair>{{"mailDeliveryOption", "hold"}, {"mailFolderMap", "LOCK"}}));
  EXPECT_EQ(parse_set_spec("description:a\\;b;mailhost:h:1"),
            (std::vector<SetPair>{{"description", "a;b"}, {"mailhost", "h:1"}}));
  EXPECT_EQ(parse_set_spec("description:back\\slash"),
            (std::vector<SetPair>{{"description", "back\\slash"}}));
  EXPECT_THROW(parse_set_spec("novalue"), std::invalid_argument);
  EXPECT_THROW(parse_set_spec("a:1;"), std::invalid_argument);
  EXPECT_THROW(parse_set_spec(":x"), std::invalid_argument);
  EXPECT_THROW(parse_set_spec("1a:x"), std::invalid_argument);
}

TEST(Sets, AddKeepsOverwriteReplaces) {
  Entry entry{"uid=a", {{"mailDeliveryOption", {"mailbox"}}, {"mailHost", {"old"}}}};
  const std::vector<SetPair> sets{{"mailDeliveryOption", "hold"}, {"mailFolderMap", "LOCK"}};
  Entry added = apply_sets(entry, sets, false);
  EXPECT_EQ(added.find("mailDeliveryOption")->values, (std::vector<std::string>{"mailbox", "hold"}));
  Entry replaced = apply_sets(entry, sets, true);
  EXPECT_EQ(replaced.find("mailDeliveryOption")->values, (std::vector<std::string>{"hold"}));
  EXPECT_EQ(replaced.find("mailFolderMap")->values, (std::vector<std::string>{"LOCK"}));
  const auto mods = diff_entries(entry, replaced);
  ASSERT_EQ(mods.size(), 2U);
  EXPECT_EQ(mods[0].op, ModOp::Replace);
  EXPECT_EQ(mods[1].op, ModOp::Add);
  EXPECT_TRUE(diff_entries(replaced, apply_sets(replaced, sets, true)).empty());
}

TEST(Upgrade, MapsMovesPreservesAndNotes) {
  const RuleSet rules = load_rules("upgrade-nms");
  Entry entry{"uid=a",
              {{"objectClass", {"inetOrgPerson", "mailRecipient"}},
               {"nsmsgNumMsgQuota", {"5"}},
               {"nsmsgDisallowAccess", {"imap"}}}};
  UpgradeResult moved = plan_upgrade(entry, rules.scopes.at("users"), {}, false, false);
  EXPECT_TRUE(moved.desired.has_value("objectClass", "inetmailuser"));
  EXPECT_EQ(moved.desired.find("mailMsgQuota")->values, std::vector<std::string>{"5"});
  EXPECT_EQ(moved.desired.find("nsmsgNumMsgQuota"), nullptr);
  ASSERT_EQ(moved.notes.size(), 1U);
  EXPECT_NE(moved.notes[0].find("nsmsgDisallowAccess"), std::string::npos);
  UpgradeResult kept = plan_upgrade(entry, rules.scopes.at("users"), {}, false, true);
  EXPECT_NE(kept.desired.find("nsmsgNumMsgQuota"), nullptr);
  EXPECT_TRUE(diff_entries(moved.desired,
                           plan_upgrade(moved.desired, rules.scopes.at("users"), {}, false, false).desired)
                  .empty());
}

}  // namespace
}  // namespace mailmig::directory
