#include "engine/naming.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

using testing::TempTree;

std::string rename_error(const std::string& content) {
  const TempTree tree;
  tree.file("map", content);
  try {
    read_rename_map(tree.path("map"));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RenameMap, ParsesLinesCommentsAndSpaces) {
  const TempTree tree;
  tree.file("map",
            "# SIMS uids are lowercase, the directory's are not\n\n  jdoe = JDoe "
            "\r\nMary@Example.com=mary.s@example.org\n"
            "jdoe=JDoe\n");
  const auto map = read_rename_map(tree.path("map"));
  EXPECT_EQ(map, (std::map<std::string, std::string>{{"jdoe", "JDoe"},
                                                     {"mary@example.com", "mary.s@example.org"}}));
}

TEST(RenameMap, ErrorsNameFileAndLine) {
  EXPECT_NE(rename_error("a=b\nno equals sign\n").find("map:2: expected old=New, found no '='"),
            std::string::npos);
  EXPECT_NE(rename_error("# c\n=b\n").find("map:2: expected old=New, one side is empty"), std::string::npos);
  EXPECT_NE(rename_error("a= \n").find("map:1:"), std::string::npos);
  const std::string twice = rename_error("a=b\n\nA=c\n");
  EXPECT_NE(twice.find("map:3: \"a\" is renamed to \"c\" here and to \"b\" on line 1"), std::string::npos)
      << twice;
  EXPECT_NE(rename_error("").find("no error"), std::string::npos);
  EXPECT_THROW(read_rename_map("/nonexistent/map"), std::runtime_error);
}

TEST(TargetAccountName, LongerKeyWinsAndDomainMayChange) {
  NamingRules rules;
  rules.rename = {{"john", "John.Smith"}, {"john@b.example", "jsmith@new.example"}};
  const auto a = target_account_name(rules, AccountInfo{.domain = "a.example", .name = "John"});
  EXPECT_EQ(a.key(), "John.Smith@a.example");
  const auto b = target_account_name(rules, AccountInfo{.domain = "B.example", .name = "john"});
  EXPECT_EQ(b.key(), "jsmith@new.example");
  const auto other = target_account_name(rules, AccountInfo{.domain = "a.example", .name = "Mary"});
  EXPECT_EQ(other.key(), "Mary@a.example");
}

TEST(TargetAccountName, LowercaseFoldsNonAsciiNames) {
  const NamingRules rules{.lowercase = true};
  const TargetAccountName n =
      target_account_name(rules, AccountInfo{.domain = "BÜRO.Example", .name = "Jürgen.MÜLLER"});
  EXPECT_EQ("jürgen.müller", n.account);
  EXPECT_EQ("büro.example", n.domain);
}

TEST(TargetAccountName, LowercaseAppliesAfterTheMap) {
  NamingRules rules{.rename = {{"john", "John.Smith@New.Example"}}, .lowercase = true};
  EXPECT_EQ(target_account_name(rules, AccountInfo{.domain = "A.example", .name = "John"}).key(),
            "john.smith@new.example");
  EXPECT_EQ(target_account_name(rules, AccountInfo{.domain = "A.Example", .name = "Mary"}).key(),
            "mary@a.example");
}

std::vector<FolderInfo> folders(std::initializer_list<const char*> names) {
  std::vector<FolderInfo> out;
  out.reserve(names.size());
  for (const char* name : names) out.push_back(FolderInfo{.name = name});
  return out;
}

std::string identity(const std::string& name) {
  return name;
}

// A server whose delimiter is '.': a '.' inside a component becomes '_'.
std::string dotted(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '.', '_');
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

std::vector<std::string> targets(const std::vector<PlannedFolder>& plan) {
  std::vector<std::string> out;
  out.reserve(plan.size());
  for (const auto& f : plan) out.push_back(f.target);
  return out;
}

TEST(PlanFolderNames, LowercaseKeepsInboxAndRenamesCollisions) {
  const NamingRules rules{.lowercase = true};
  const auto plan = plan_folder_names(
      rules, folders({"INBOX", "INBOX/Drafts", "Work", "WORK", "Work/Sub", "work"}), identity, {});
  EXPECT_EQ(targets(plan),
            (std::vector<std::string>{"INBOX", "INBOX/drafts", "work", "work~2", "work/sub", "work~3"}));
  EXPECT_EQ(plan[0].note, "");
  EXPECT_EQ(plan[2].note, "");
  EXPECT_EQ(plan[3].note, "renamed to \"work~2\": \"Work\" and \"WORK\" both become \"work\"");
  EXPECT_EQ(plan[5].note, "renamed to \"work~3\": \"Work\" and \"work\" both become \"work\"");
}

TEST(PlanFolderNames, LowercaseIsUnicodeAndNeverRewritesBadBytes) {
  const NamingRules rules{.lowercase = true};
  const auto plan = plan_folder_names(
      rules, folders({"INBOX", "ÜBERSICHT", "Übersicht", "ОТПРАВЛЕННЫЕ", "Bad\xff", "I"}), identity, {});
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"INBOX", "übersicht", "übersicht~2", "отправленные",
                                                     "bad\xff", "i"}));  // root locale: I -> i, not dotless
}

TEST(PlanFolderNames, WithoutLowercaseNamesStay) {
  const auto plan = plan_folder_names(NamingRules{}, folders({"INBOX", "Work", "WORK"}), identity, {});
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"INBOX", "Work", "WORK"}));
}

TEST(PlanFolderNames, StoredNameCollisions) {
  const auto plan = plan_folder_names(NamingRules{}, folders({"a.b", "a_b", "a", "a/b"}), dotted, {});
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"a.b", "a_b~2", "a", "a/b"}));
  EXPECT_EQ(plan[1].note, "renamed to \"a_b~2\": \"a.b\" and \"a_b\" both are stored as \"a_b\"");
}

TEST(PlanFolderNames, InboxIsCaseInsensitive) {
  // The store lists "Inbox" (an ordinary folder) before the real INBOX: INBOX keeps its name.
  const auto plan = plan_folder_names(NamingRules{}, folders({"Inbox", "Inbox/x", "INBOX"}), identity, {});
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"Inbox~2", "Inbox~2/x", "INBOX"}));
  EXPECT_EQ(plan[0].note, "renamed to \"Inbox~2\": \"INBOX\" and \"Inbox\" both are stored as \"INBOX\"");
  EXPECT_EQ(plan[1].note, "inside \"Inbox\", planned as \"Inbox~2\"");

  const auto lower =
      plan_folder_names(NamingRules{.lowercase = true}, folders({"INBOX", "inbox"}), identity, {});
  EXPECT_EQ(targets(lower), (std::vector<std::string>{"INBOX", "inbox~2"}));
}

TEST(PlanFolderNames, ChildrenFollowARenamedParent) {
  const NamingRules rules{.lowercase = true};
  const auto plan = plan_folder_names(
      rules, folders({"Work", "WORK", "WORK/Reports", "WORK/Reports/2024", "Work/Reports"}), identity, {});
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"work", "work~2", "work~2/reports",
                                                     "work~2/reports/2024", "work/reports"}));
  EXPECT_EQ(plan[2].note, "inside \"WORK\", planned as \"work~2\"");
  EXPECT_EQ(plan[3].note, "inside \"WORK/Reports\", planned as \"work~2/reports\"");
  EXPECT_EQ(plan[4].note, "");
}

TEST(PlanFolderNames, EarlierNamesAreKept) {
  const NamingRules rules{.lowercase = true};
  // An earlier run migrated "Work" as "work". Now "WORK" appears, listed first:
  // it must not take "work" from the folder that already holds the mail.
  const std::map<std::string, std::string> earlier{{"Work", "work"}, {"Old", "old~2"}};
  const auto plan =
      plan_folder_names(rules, folders({"WORK", "WORK/x", "Work", "Work/y", "Old"}), identity, earlier);
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"work~2", "work~2/x", "work", "work/y", "old~2"}));
  EXPECT_EQ(plan[0].note, "renamed to \"work~2\": \"Work\" and \"WORK\" both become \"work\"");
  EXPECT_EQ(plan[2].note, "");
  EXPECT_EQ(plan[4].note, "keeps \"old~2\" from an earlier run");

  // A folder gone from the source still holds its name on the target.
  const auto later = plan_folder_names(rules, folders({"old"}), identity, earlier);
  EXPECT_EQ(targets(later), (std::vector<std::string>{"old"}));
  const auto gone = plan_folder_names(rules, folders({"WORK"}), identity, earlier);
  EXPECT_EQ(targets(gone), (std::vector<std::string>{"work~2"}));
}

TEST(PlanFolderNames, SuffixSkipsNamesInUse) {
  const auto plan =
      plan_folder_names(NamingRules{.lowercase = true}, folders({"a", "A", "a~2"}), identity, {});
  // The suffix goes on the colliding name itself, as for any other name.
  EXPECT_EQ(targets(plan), (std::vector<std::string>{"a", "a~2", "a~2~2"}));
  EXPECT_EQ(plan[2].note, "renamed to \"a~2~2\": \"A\" and \"a~2\" both become \"a~2\"");
  const auto taken =
      plan_folder_names(NamingRules{.lowercase = true}, folders({"a~2", "a", "A"}), identity, {});
  EXPECT_EQ(targets(taken), (std::vector<std::string>{"a~2", "a", "a~3"}));
}

}  // namespace
}  // namespace mailmig
