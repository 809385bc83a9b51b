#include "engine/selection.h"

#include <gtest/gtest.h>

#include <map>

#include "common/temp_tree.h"

namespace mailmig {
namespace {

using testing::TempTree;

// Domains and account names only: selection never opens an account.
class NamesSource final : public Source {
 public:
  NamesSource() {
    accounts_ = {
        {"a.example", {"Sam", "susan", "bob"}}, {"b.example", {"sam", "carol"}}, {"other.org", {"dave"}}};
  }
  std::vector<DomainInfo> domains(const ProblemFn& /*problem*/) override {
    std::vector<DomainInfo> out;
    for (const auto& [name, _] : accounts_) out.push_back(DomainInfo{.name = name});
    return out;
  }
  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& /*problem*/) override {
    std::vector<AccountInfo> out;
    for (const auto& name : accounts_.at(domain.name))
      out.push_back(AccountInfo{.domain = domain.name, .name = name});
    return out;
  }
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& /*account*/) const override {
    return nullptr;
  }

 private:
  std::map<std::string, std::vector<std::string>> accounts_;
};

struct Outcome {
  std::vector<std::string> accounts;  // "name@domain" in source order
  std::vector<std::string> problems;
};

Outcome run(const Selection& selection) {
  NamesSource source;
  Outcome out;
  for (const auto& d : select_accounts(source, selection, [&](const Problem& p) {
         EXPECT_EQ(p.scope, Scope::Account);
         out.problems.push_back(p.message);
       })) {
    for (const auto& a : d.accounts) out.accounts.push_back(a.name + "@" + a.domain);
  }
  return out;
}

using Names = std::vector<std::string>;

TEST(SelectAccounts, PlainNamesAreCaseInsensitive) {
  EXPECT_EQ(run(Selection{.user = "SAM"}).accounts, (Names{"Sam@a.example", "sam@b.example"}));
  EXPECT_EQ(run(Selection{.user = "sam@B.EXAMPLE"}).accounts, (Names{"sam@b.example"}));
  EXPECT_EQ(run(Selection{.domain = "OTHER.org"}).accounts, (Names{"dave@other.org"}));
  EXPECT_THROW(run(Selection{.user = "nobody"}), SelectionError);
  EXPECT_THROW(run(Selection{.domain = "c.example"}), SelectionError);
}

TEST(SelectAccounts, Globs) {
  EXPECT_EQ(run(Selection{.user = "s*"}).accounts,
            (Names{"Sam@a.example", "susan@a.example", "sam@b.example"}));
  EXPECT_EQ(run(Selection{.user = "S?M"}).accounts, (Names{"Sam@a.example", "sam@b.example"}));
  EXPECT_EQ(run(Selection{.user = "[bc]*"}).accounts, (Names{"bob@a.example", "carol@b.example"}));
  EXPECT_EQ(run(Selection{.domain = "*.EXAMPLE", .user = "s*"}).accounts,
            (Names{"Sam@a.example", "susan@a.example", "sam@b.example"}));
  EXPECT_EQ(run(Selection{.user = "*@*.org"}).accounts, (Names{"dave@other.org"}));
  // A glob that matches nothing selects nothing; it is not a mistake in a name.
  EXPECT_TRUE(run(Selection{.user = "z*"}).accounts.empty());
  EXPECT_TRUE(run(Selection{.domain = "*.net"}).accounts.empty());
}

TEST(SelectAccounts, ListedAccountsAndUnknownEntriesReportedOnce) {
  const Outcome o =
      run(Selection{.listed = std::set<std::string>{"sam", "bob@a.example", "zoe", "carol@a.example"}});
  EXPECT_EQ(o.accounts, (Names{"Sam@a.example", "bob@a.example", "sam@b.example"}));
  EXPECT_EQ(o.problems, (Names{"listed in the selection but not in the source: carol@a.example",
                               "listed in the selection but not in the source: zoe"}));
}

TEST(SelectAccounts, ListedWithDomainAndUser) {
  const Outcome o = run(
      Selection{.domain = "b.example", .user = "s*", .listed = std::set<std::string>{"sam", "carol", "bob"}});
  EXPECT_EQ(o.accounts, (Names{"sam@b.example"}));
  // carol is in the domain (left out by --user, not missing); bob is not.
  EXPECT_EQ(o.problems, (Names{"listed in the selection but not in domain b.example: bob"}));
  const Outcome none = run(Selection{.listed = std::set<std::string>{}});
  EXPECT_TRUE(none.accounts.empty());
  EXPECT_TRUE(none.problems.empty());
}

TEST(ReadUsersFile, TrimsLowercasesSkipsComments) {
  const TempTree tree;
  tree.file("users", "# batch 1\n  Sam \r\n\nBob@A.Example\n\t# indented comment\n");
  EXPECT_EQ(read_users_file(tree.path("users")), (std::set<std::string>{"sam", "bob@a.example"}));
  EXPECT_THROW(read_users_file(tree.path("missing")), std::runtime_error);
}

}  // namespace
}  // namespace mailmig
