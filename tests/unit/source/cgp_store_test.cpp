#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/temp_tree.h"
#include "source/cgp/store.h"

namespace mailmig::cgp {
namespace {

constexpr const char* kMessage = "From a@b Thu Feb  1 10:11:12 2024\nSubject: x\n\nbody\n";

std::vector<std::string> names_of(const std::vector<FolderInfo>& folders) {
  std::vector<std::string> out;
  for (const auto& f : folders) out.push_back(f.name + (f.selectable ? "" : " (noselect)"));
  return out;
}

struct Collected {
  std::vector<Problem> problems;
  ProblemFn fn() {
    return [this](Problem p) { problems.push_back(std::move(p)); };
  }
};

class CgpStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.file("Settings/Main.settings", "{ DomainName = main.example; }\n");
    tree.file("Accounts/john.macnt/account.settings", "{ Password = pw; RealName = \"John\"; }\n");
    tree.file("Accounts/john.macnt/account.info", "{ Subscription = (INBOX, \"Entwürfe\"); }\n");
    tree.file("Accounts/john.macnt/INBOX.mbox", kMessage);
    tree.file("Accounts/john.macnt/Entw&APw-rfe.mbox", "");
    tree.file("Accounts/john.macnt/Work.mbox", kMessage);
    tree.file("Accounts/john.macnt/Work.folder/Projects.mbox", kMessage);
    tree.dir("Accounts/john.macnt/Drafts.mdir");
    tree.file("Accounts/john.macnt/Archive.folder/2019.mbox", kMessage);
    tree.file("Accounts/john.macnt/account.dst", "x");
    tree.file("Accounts/legacy.settings", "{ Password = \"\\001U-crpt$1$x\"; }\n");
    tree.file("Accounts/legacy.mbox", kMessage);
    tree.file("Domains/Example.ORG/Settings/Domain.settings", "{ DomainAliases = (alias.example); }\n");
    tree.file("Domains/Example.ORG/a.sub/alice.macnt/INBOX.mbox", kMessage);
    tree.file("Domains/Example.ORG/a.sub/l.sub/lee.macnt/INBOX.mbox", kMessage);
    tree.file("Domains/Example.ORG/bob.macnt/INBOX.mbox", kMessage);
    tree.symlink("/etc/hostname", "Domains/Example.ORG/bob.macnt/Evil.mbox");
    tree.symlink("INBOX.mbox", "Domains/Example.ORG/bob.macnt/Same.mbox");
    tree.file("Domains/Example.ORG/bob.macnt/Bad&name.mbox", kMessage);
  }
  testing::TempTree tree;
};

TEST_F(CgpStoreTest, DomainsMainFirstWithNameFromMainSettings) {
  Store store(tree.root(), {});
  Collected c;
  auto domains = store.domains(c.fn());
  ASSERT_EQ(2U, domains.size());
  EXPECT_EQ("main.example", domains[0].name);
  EXPECT_TRUE(domains[0].main);
  EXPECT_EQ("Settings/Main.settings", store.main_domain_origin());
  EXPECT_EQ("example.org", domains[1].name);  // directory names are lower-cased
  EXPECT_TRUE(c.problems.empty());
}

TEST_F(CgpStoreTest, OptionOverridesMainDomain) {
  Store store(tree.root(), StoreOptions{.main_domain = "override.example"});
  Collected c;
  EXPECT_EQ("override.example", store.domains(c.fn())[0].name);
}

TEST_F(CgpStoreTest, AccountsIncludeSubdirectoriesAndLegacy) {
  Store store(tree.root(), {});
  Collected c;
  auto domains = store.domains(c.fn());
  auto main_accounts = store.accounts(domains[0], c.fn());
  ASSERT_EQ(2U, main_accounts.size());
  EXPECT_EQ("john", main_accounts[0].name);
  EXPECT_EQ(PasswordInfo::Kind::Plain, main_accounts[0].password.kind);
  EXPECT_EQ("John", main_accounts[0].real_name);
  EXPECT_EQ("legacy", main_accounts[1].name);
  EXPECT_EQ("single-mailbox", main_accounts[1].kind);
  EXPECT_EQ(PasswordInfo::Kind::Encrypted, main_accounts[1].password.kind);
  EXPECT_EQ("U-crpt", main_accounts[1].password.scheme);

  auto org = store.accounts(domains[1], c.fn());
  std::vector<std::string> names;
  for (const auto& a : org) names.push_back(a.name);
  EXPECT_EQ((std::vector<std::string>{"alice", "bob", "lee"}), names);
}

TEST_F(CgpStoreTest, FolderTreeWithNoSelectAndDecodedNames) {
  Store store(tree.root(), {});
  Collected c;
  auto domains = store.domains(c.fn());
  auto john = store.open_account(store.accounts(domains[0], c.fn())[0]);
  auto folders = john->folders(c.fn());
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Archive (noselect)", "Archive/2019", "Drafts", "Entwürfe",
                                      "Work", "Work/Projects"}),
            names_of(folders));
  auto entw =
      std::find_if(folders.begin(), folders.end(), [](const FolderInfo& f) { return f.name == "Entwürfe"; });
  EXPECT_TRUE(entw->subscribed);
  EXPECT_EQ("mdir", std::find_if(folders.begin(), folders.end(), [](const FolderInfo& f) {
                      return f.name == "Drafts";
                    })->format);
  EXPECT_TRUE(c.problems.empty());

  auto legacy = store.open_account(store.accounts(domains[0], c.fn())[1]);
  auto legacy_folders = legacy->folders(c.fn());
  ASSERT_EQ(1U, legacy_folders.size());
  EXPECT_EQ("INBOX", legacy_folders[0].name);
  EXPECT_EQ(tree.path("Accounts/legacy.mbox"), legacy_folders[0].location);
}

TEST_F(CgpStoreTest, SymlinkOutsideIsReportedInsideIsFollowedBadNameKeptRaw) {
  Store store(tree.root(), {});
  Collected c;
  auto domains = store.domains(c.fn());
  auto accounts = store.accounts(domains[1], c.fn());
  auto bob = store.open_account(accounts[1]);
  auto folders = bob->folders(c.fn());
  EXPECT_EQ((std::vector<std::string>{"INBOX", "Bad&name", "Same"}), names_of(folders));
  ASSERT_EQ(2U, c.problems.size());
  std::sort(c.problems.begin(), c.problems.end(),
            [](const Problem& a, const Problem& b) { return a.file < b.file; });
  EXPECT_NE(std::string::npos, c.problems[0].file.find("Bad&name.mbox"));
  EXPECT_NE(std::string::npos, c.problems[0].message.find("modified UTF-7"));
  EXPECT_NE(std::string::npos, c.problems[1].file.find("Evil.mbox"));
  EXPECT_NE(std::string::npos, c.problems[1].message.find("outside the store"));
  EXPECT_EQ("example.org", c.problems[1].domain);
  EXPECT_EQ("bob", c.problems[1].account);
}

// A FIFO named account.settings (or like a mailbox) once hung inventory and
// migrate for every account: it is reported and the other accounts go on.
TEST_F(CgpStoreTest, FifoNamedLikeStoreFilesIsReportedNotWaitedFor) {
  ::alarm(20);  // a regression blocks in open(2) forever: end the binary instead
  ASSERT_EQ(0, ::mkfifo(tree.path("Domains/Example.ORG/a.sub/alice.macnt/account.settings").c_str(), 0600));
  ASSERT_EQ(0, ::mkfifo(tree.path("Domains/Example.ORG/bob.macnt/Fifo.mbox").c_str(), 0600));
  Store store(tree.root(), {});
  Collected c;
  auto domains = store.domains(c.fn());
  auto accounts = store.accounts(domains[1], c.fn());
  std::vector<std::string> names;
  for (const auto& a : accounts) names.push_back(a.name);
  EXPECT_EQ((std::vector<std::string>{"alice", "bob", "lee"}), names);
  bool settings_reported = false;
  for (const Problem& p : c.problems) settings_reported |= p.file.ends_with("alice.macnt/account.settings");
  EXPECT_TRUE(settings_reported);
  auto bob = store.open_account(accounts[1]);
  auto folders = bob->folders(c.fn());
  for (const FolderInfo& f : folders) {
    auto folder = bob->open_folder(f);
    folder->scan([](const MessageInfo&) {}, c.fn());
  }
  bool fifo_reported = false;
  for (const Problem& p : c.problems) fifo_reported |= p.file.ends_with("Fifo.mbox");
  EXPECT_TRUE(fifo_reported);
  ::alarm(0);
}

TEST_F(CgpStoreTest, NotAStoreAndMissingDirectoryAreErrors) {
  testing::TempTree empty;
  EXPECT_THROW(Store(empty.root(), {}), StoreError);
  EXPECT_THROW(Store(empty.path("nope"), {}), StoreError);
}

TEST_F(CgpStoreTest, NoLiveServerForAPlainDirectory) {
  EXPECT_FALSE(detect_live_server(tree.root()).has_value());
}

}  // namespace
}  // namespace mailmig::cgp
