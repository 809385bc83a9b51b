#include "engine/inventory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "common/string_reader.h"
#include "engine/inventory_report.h"

namespace mailmig {
namespace {

// An in-memory source: domain -> account -> folder -> message bodies.
class MemorySource final : public Source {
 public:
  using Folders = std::map<std::string, std::vector<std::string>>;
  struct Acct {
    AccountInfo info;
    Folders folders;
  };

  void add(const std::string& domain, const std::string& name, PasswordInfo password, Folders folders) {
    accounts_[domain].push_back(Acct{
        AccountInfo{.domain = domain, .name = name, .password = std::move(password)}, std::move(folders)});
  }

  std::vector<DomainInfo> domains(const ProblemFn& problem) override {
    problem(Problem{.scope = Scope::Store, .file = "/store", .message = "store-level note"});
    std::vector<DomainInfo> out;
    for (const auto& [name, _] : accounts_)
      out.push_back(DomainInfo{.name = name, .main = name == "a.example"});
    return out;
  }
  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& /*problem*/) override {
    std::vector<AccountInfo> out;
    for (const auto& a : accounts_[domain.name]) out.push_back(a.info);
    return out;
  }
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& account) const override;

 private:
  std::map<std::string, std::vector<Acct>> accounts_;
};

using mailmig::testing::StringReader;

class MemoryFolder final : public Folder {
 public:
  explicit MemoryFolder(std::vector<std::string> bodies) : bodies_(std::move(bodies)) {}
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override {
    for (std::size_t i = 0; i < bodies_.size(); ++i) {
      if (bodies_[i] == "BROKEN") {
        problem(Problem{.file = "/f", .offset = i, .message = "broken message"});
        continue;
      }
      std::size_t crlf = bodies_[i].size();
      for (std::size_t j = 0; j < bodies_[i].size(); ++j) {
        if (bodies_[i][j] == '\n' && (j == 0 || bodies_[i][j - 1] != '\r')) ++crlf;
      }
      on_message(MessageInfo{.id = std::to_string(i),
                             .offset = i,
                             .size = crlf,
                             .stored_size = bodies_[i].size(),
                             .flags = kSeen});
    }
  }
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override {
    return std::make_unique<StringReader>(bodies_[std::stoul(message.id)]);
  }

 private:
  std::vector<std::string> bodies_;
};

class MemoryAccount final : public Account {
 public:
  MemoryAccount(AccountInfo info, MemorySource::Folders folders)
      : info_(std::move(info)), folders_(std::move(folders)) {}
  [[nodiscard]] const AccountInfo& info() const override { return info_; }
  std::vector<FolderInfo> folders(const ProblemFn& /*problem*/) override {
    std::vector<FolderInfo> out;
    for (const auto& [name, _] : folders_) out.push_back(FolderInfo{.name = name});
    return out;
  }
  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override {
    return std::make_unique<MemoryFolder>(folders_.at(folder.name));
  }

 private:
  AccountInfo info_;
  MemorySource::Folders folders_;
};

std::unique_ptr<Account> MemorySource::open_account(const AccountInfo& account) const {
  for (const auto& a : accounts_.at(account.domain)) {
    if (a.info.name == account.name) return std::make_unique<MemoryAccount>(a.info, a.folders);
  }
  return nullptr;
}

constexpr const char* kShaOfCCrLf = "ef1fac987a48a7c02176f7e1c2d0e5cbda826c9558290ba153c90ea16d5d5a96";

void fill_sample(MemorySource& s) {
  s.add("a.example", "john", PasswordInfo{PasswordInfo::Kind::Plain, "", "TopSecret1"},
        {{"INBOX", {"a\nb\n", "c\r\n"}}, {"Sent", {"BROKEN", "x"}}});
  s.add("a.example", "mary", PasswordInfo{PasswordInfo::Kind::Encrypted, "U-crpt", "U-crpt$1$x"},
        {{"INBOX", {}}});
  for (int i = 0; i < 20; ++i) {
    s.add("b.example", "user" + std::to_string(100 + i), PasswordInfo{},
          {{"INBOX", {std::string(static_cast<std::size_t>(i), 'z')}}});
  }
}

TEST(Inventory, CountsAndCrlfSizes) {
  MemorySource s;
  fill_sample(s);
  Inventory inv = take_inventory(s, InventoryOptions{.jobs = 3});
  ASSERT_EQ(2U, inv.domains.size());
  const AccountSummary& john = inv.domains[0].accounts[0];
  EXPECT_EQ("john", john.name);
  EXPECT_EQ(3U, john.messages);
  EXPECT_EQ(6U + 3U + 1U, john.bytes);  // "a\r\nb\r\n" + "c\r\n" + "x"
  EXPECT_EQ(22U, inv.accounts);
  EXPECT_EQ(3U + 20U, inv.messages);
  ASSERT_EQ(2U, inv.problems.size());  // the store note and the broken message
  EXPECT_EQ("", inv.problems[0].account);
  EXPECT_EQ("john", inv.problems[1].account);
  EXPECT_EQ("Sent", inv.problems[1].folder);
  EXPECT_EQ("a.example", inv.problems[1].domain);
}

TEST(Inventory, ParallelScanKeepsStoreOrder) {
  MemorySource s;
  fill_sample(s);
  Inventory inv = take_inventory(s, InventoryOptions{.jobs = 8});
  const auto& accounts = inv.domains[1].accounts;
  ASSERT_EQ(20U, accounts.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    EXPECT_EQ("user" + std::to_string(100 + i), accounts[i].name);
    EXPECT_EQ(1U, accounts[i].messages);
    EXPECT_EQ(i, accounts[i].bytes);
  }
}

TEST(Inventory, SelectionByDomainUserAndUserAtDomain) {
  MemorySource s;
  fill_sample(s);
  Inventory by_domain = take_inventory(s, InventoryOptions{.selection = {.domain = "B.EXAMPLE"}});
  ASSERT_EQ(1U, by_domain.domains.size());
  EXPECT_EQ(20U, by_domain.accounts);
  Inventory by_user = take_inventory(s, InventoryOptions{.selection = {.user = "mary@a.example"}});
  ASSERT_EQ(1U, by_user.domains.size());
  ASSERT_EQ(1U, by_user.domains[0].accounts.size());
  EXPECT_EQ("mary", by_user.domains[0].accounts[0].name);
  Inventory user_only = take_inventory(s, InventoryOptions{.selection = {.user = "user105"}});
  ASSERT_EQ(1U, user_only.domains.size());
  EXPECT_EQ("b.example", user_only.domains[0].info.name);
  EXPECT_THROW(take_inventory(s, InventoryOptions{.selection = {.domain = "c.example"}}), SelectionError);
  EXPECT_THROW(take_inventory(s, InventoryOptions{.selection = {.user = "nobody"}}), SelectionError);
}

TEST(Inventory, MessageDetailsCarryHashOfCrlfForm) {
  MemorySource s;
  fill_sample(s);
  Inventory inv =
      take_inventory(s, InventoryOptions{.selection = {.user = "john@a.example"}, .messages = true});
  const auto& inbox = inv.domains[0].accounts[0].folders[0];
  ASSERT_EQ(2U, inbox.details.size());
  // SHA-256 of "c\r\n" (sha256sum <<< $'c\r'): the hash is over the CRLF form.
  EXPECT_EQ(kShaOfCCrLf, inbox.details[1].sha256);
  EXPECT_EQ(64U, inbox.details[0].sha256.size());
  EXPECT_NE(inbox.details[0].sha256, inbox.details[1].sha256);
}

TEST(InventoryReport, JsonShapeAndNoSecrets) {
  MemorySource s;
  fill_sample(s);
  Inventory inv = take_inventory(s, InventoryOptions{});
  auto json = inventory_to_json(inv);
  const std::string text = json.dump();
  EXPECT_EQ(std::string::npos, text.find("TopSecret1"));
  EXPECT_EQ(std::string::npos, text.find("U-crpt$1$x"));
  EXPECT_EQ("plain", json["domains"][0]["accounts"][0]["password"]);
  EXPECT_EQ("encrypted", json["domains"][0]["accounts"][1]["password"]);
  EXPECT_EQ("U-crpt", json["domains"][0]["accounts"][1]["password_scheme"]);
  EXPECT_EQ("none", json["domains"][1]["accounts"][0]["password"]);
  EXPECT_EQ(true, json["domains"][0]["main"]);
  EXPECT_EQ("INBOX", json["domains"][0]["accounts"][0]["folders"][0]["name"]);
  EXPECT_EQ(true, json["domains"][0]["accounts"][0]["folders"][0]["selectable"]);
  EXPECT_EQ(2, json["domains"][0]["accounts"][0]["folders"][0]["messages"]);
  EXPECT_EQ(2, json["totals"]["domains"]);
  EXPECT_EQ(22, json["totals"]["accounts"]);
  EXPECT_EQ(inv.messages, json["totals"]["messages"].get<std::uint64_t>());
  EXPECT_EQ(inv.bytes, json["totals"]["bytes"].get<std::uint64_t>());
  ASSERT_EQ(2U, json["errors"].size());
  EXPECT_EQ(0, json["errors"][1]["offset"]);  // the broken message is the first of Sent
  EXPECT_EQ("/f", json["errors"][1]["file"]);

  std::ostringstream out;
  print_inventory(inv, TextReportOptions{}, out);
  EXPECT_EQ(std::string::npos, out.str().find("TopSecret1"));
  EXPECT_NE(std::string::npos, out.str().find("Totals: 2 domains, 22 accounts, 23 messages"));
  EXPECT_NE(std::string::npos, out.str().find("Errors (2):"));
}

TEST(InventoryReport, HumanBytes) {
  EXPECT_EQ("512 B", human_bytes(512));
  EXPECT_EQ("1.5 KiB", human_bytes(1536));
  EXPECT_EQ("3.0 GiB", human_bytes(3ULL << 30U));
}

}  // namespace
}  // namespace mailmig
