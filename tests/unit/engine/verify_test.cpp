#include "engine/verify.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "common/string_reader.h"
#include "core/sha256.h"
#include "engine/verify_report.h"

namespace mailmig {
namespace {

// A source message: bytes as stored (LF line ends) plus what scan() reports.
struct Msg {
  std::string body;
  Flags flags = kSeen;
  std::vector<std::string> keywords;
  std::int64_t date = 1700000000;
};
using Folders = std::map<std::string, std::vector<Msg>>;

std::string crlf(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

std::string sha(const std::string& bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

using mailmig::testing::StringReader;

class FakeFolder final : public Folder {
 public:
  explicit FakeFolder(std::vector<Msg> messages) : messages_(std::move(messages)) {}
  void scan(const std::function<void(const MessageInfo&)>& on_message,
            const ProblemFn& /*problem*/) override {
    for (std::size_t i = 0; i < messages_.size(); ++i) {
      const Msg& m = messages_[i];
      on_message(MessageInfo{.id = std::to_string(i),
                             .file = "/store/box.mbox",
                             .offset = i * 1000,
                             .size = crlf(m.body).size(),
                             .flags = m.flags,
                             .keywords = m.keywords,
                             .internal_date = DateTime{.epoch = m.date}});
    }
  }
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override {
    const std::string& body = messages_.at(std::stoul(message.id)).body;
    if (body == "UNREADABLE") throw std::runtime_error("read error");
    return std::make_unique<StringReader>(body);
  }

 private:
  std::vector<Msg> messages_;
};

class FakeAccount final : public Account {
 public:
  FakeAccount(AccountInfo info, Folders folders) : info_(std::move(info)), folders_(std::move(folders)) {}
  [[nodiscard]] const AccountInfo& info() const override { return info_; }
  std::vector<FolderInfo> folders(const ProblemFn& /*problem*/) override {
    std::vector<FolderInfo> out;
    for (const auto& [name, _] : folders_) out.push_back(FolderInfo{.name = name});
    return out;
  }
  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override {
    return std::make_unique<FakeFolder>(folders_.at(folder.name));
  }

 private:
  AccountInfo info_;
  Folders folders_;
};

class FakeSource final : public Source {
 public:
  Folders folders;
  std::vector<DomainInfo> domains(const ProblemFn& /*problem*/) override {
    return {DomainInfo{.name = "ex.org"}};
  }
  std::vector<AccountInfo> accounts(const DomainInfo& /*domain*/, const ProblemFn& /*problem*/) override {
    return {account()};
  }
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& a) const override {
    return std::make_unique<FakeAccount>(a, folders);
  }
  static AccountInfo account() { return AccountInfo{.domain = "ex.org", .name = "Alice"}; }
};

// The target: folders of stored messages (CRLF bytes), hashed on read.
struct Stored {
  std::uint32_t uid;
  std::string bytes;  // as the target holds them
  Flags flags = kSeen;
  std::vector<std::string> keywords;
  std::int64_t date = 1700000000;
};

class FakeTargetAccount final : public TargetAccount {
 public:
  explicit FakeTargetAccount(std::map<std::string, std::vector<Stored>>& folders) : folders_(folders) {}
  std::unique_ptr<TargetFolder> open_folder(const std::string& /*name*/, bool /*subscribe*/,
                                            ResultFn /*fn*/) override {
    throw std::logic_error("verify must not open folders for appending");
  }
  std::vector<std::string> folders() override {
    std::vector<std::string> out;
    for (const auto& [name, _] : folders_) out.push_back(name);
    return out;
  }
  [[nodiscard]] std::string stored_name(const std::string& neutral_name) override { return neutral_name; }
  void read_folder(const std::string& name, const WantBody& want_body,
                   const std::function<void(const StoredMessage&)>& on_message) override {
    const auto f = folders_.find(name);
    if (f == folders_.end()) throw TargetFolderMissing("no such folder " + name);
    for (const Stored& s : f->second) {
      StoredMessage m{.uid = s.uid,
                      .size = s.bytes.size(),
                      .flags = s.flags,
                      .keywords = s.keywords,
                      .internal_date = DateTime{.epoch = s.date}};
      if (!want_body || want_body(m)) {
        m.sha256 = sha(s.bytes);
        ++bodies_read;
      }
      on_message(m);
    }
  }
  void close() override {}
  std::size_t bodies_read = 0;

 private:
  std::map<std::string, std::vector<Stored>>& folders_;
};

class FakeTarget final : public Target {
 public:
  std::map<std::string, std::vector<Stored>> folders;
  std::string refuse;  // non-empty: logins are refused with this text
  std::vector<std::string> logins;
  std::size_t bodies_read = 0;

  std::unique_ptr<TargetAccount> open_account(const std::string& account, const std::string& domain,
                                              const std::string& /*password*/) override {
    logins.push_back(account + "@" + domain);
    if (!refuse.empty()) throw TargetAuthError(refuse);
    return std::make_unique<Counting>(*this);
  }
  [[nodiscard]] std::string describe() const override { return "fake"; }
  // The rule the tests give this target for keywords; null: kept as they are.
  std::function<std::optional<std::string>(const std::string&)> keyword_rule;
  [[nodiscard]] std::optional<std::string> stored_keyword(const std::string& keyword) const override {
    return keyword_rule ? keyword_rule(keyword) : keyword;
  }

  // Copies the source into the target as a migration would, UIDs from 1.
  void copy_of(const Folders& source) {
    for (const auto& [name, messages] : source) {
      auto& box = folders[name];
      for (const Msg& m : messages) {
        box.push_back(Stored{.uid = static_cast<std::uint32_t>(box.size() + 1),
                             .bytes = crlf(m.body),
                             .flags = m.flags,
                             .keywords = m.keywords,
                             .date = m.date});
      }
    }
  }

 private:
  class Counting final : public TargetAccount {
   public:
    explicit Counting(FakeTarget& t) : t_(t), inner_(t.folders) {}
    ~Counting() override { t_.bodies_read += inner_.bodies_read; }
    std::unique_ptr<TargetFolder> open_folder(const std::string& n, bool s, ResultFn fn) override {
      return inner_.open_folder(n, s, std::move(fn));
    }
    std::vector<std::string> folders() override { return inner_.folders(); }
    [[nodiscard]] std::string stored_name(const std::string& n) override { return inner_.stored_name(n); }
    void read_folder(const std::string& n, const WantBody& w,
                     const std::function<void(const StoredMessage&)>& fn) override {
      inner_.read_folder(n, w, fn);
    }
    void close() override {}

   private:
    FakeTarget& t_;
    FakeTargetAccount inner_;
  };
};

class FakeHistory final : public VerifyHistory {
 public:
  std::map<std::string, std::map<MessageKey, std::uint32_t>> copies;  // by folder
  std::map<std::string, std::string> names;
  std::map<std::string, std::string> target_folders(const std::string& /*key*/) override { return names; }
  std::map<MessageKey, std::uint32_t> copied(const std::string& /*key*/, const std::string& folder) override {
    return copies[folder];
  }
};

Folders sample_folders() {
  return {{"INBOX", {{.body = "one\n"}, {.body = "two\n", .flags = 0}, {.body = "two\n", .flags = 0}}},
          {"Work", {{.body = "work\n", .flags = kSeen | kFlagged, .keywords = {"$Label1"}}}}};
}

struct Outcome {
  AccountCheck check;
  std::vector<Problem> problems;
};

Outcome verify(FakeSource& source, FakeTarget& target, const VerifyOptions& options = {}) {
  ProblemSink sink;
  Outcome r;
  r.check = verify_account(source, FakeSource::account(), target, options, sink);
  r.problems = sink.snapshot();
  return r;
}

std::vector<DiffKind> kinds(const AccountCheck& c) {
  std::vector<DiffKind> out;
  for (const Difference& d : c.differences) out.push_back(d.kind);
  return out;
}

TEST(Verify, IdenticalCopyIsOk) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  const Outcome r = verify(source, target);
  EXPECT_EQ("ok", r.check.status);
  EXPECT_TRUE(r.check.differences.empty());
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(2U, r.check.folders.size());
  EXPECT_EQ(3U, r.check.folders[0].messages_source);
  EXPECT_EQ(3U, r.check.folders[0].messages_target);
  EXPECT_EQ(3U, r.check.folders[0].checked);
  EXPECT_EQ(r.check.folders[0].bytes_source, r.check.folders[0].bytes_target);
  EXPECT_EQ(5U + 5U + 5U, r.check.folders[0].bytes_source);  // CRLF sizes
  EXPECT_TRUE(r.check.login.ok);
}

TEST(Verify, MissingMessageNamesSourceFileAndOffset) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["INBOX"].erase(target.folders["INBOX"].begin());  // "one"
  const Outcome r = verify(source, target);
  EXPECT_EQ("differs", r.check.status);
  ASSERT_EQ(std::vector{DiffKind::Missing}, kinds(r.check));
  const Difference& d = r.check.differences[0];
  EXPECT_EQ("INBOX", d.folder);
  EXPECT_EQ(sha("one\r\n"), d.sha256);
  EXPECT_EQ("/store/box.mbox", d.source_file);
  EXPECT_EQ(0U, d.source_offset);
  EXPECT_FALSE(d.target_uid);
}

TEST(Verify, ExtraAndDuplicatedMessages) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["INBOX"].push_back(Stored{.uid = 10, .bytes = "stranger\r\n"});
  target.folders["INBOX"].push_back(Stored{.uid = 11, .bytes = "two\r\n", .flags = 0});  // a third "two"
  const Outcome r = verify(source, target);
  ASSERT_EQ((std::vector{DiffKind::Extra, DiffKind::Duplicated}), kinds(r.check));
  EXPECT_EQ(10U, r.check.differences[0].target_uid);
  EXPECT_EQ(11U, r.check.differences[1].target_uid);
  EXPECT_EQ(sha("two\r\n"), r.check.differences[1].sha256);
}

TEST(Verify, AlteredNeedsTheState) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["INBOX"][0].bytes = "one, edited\r\n";  // UID 1

  const Outcome without = verify(source, target);
  EXPECT_EQ((std::vector{DiffKind::Missing, DiffKind::Extra}), kinds(without.check));

  FakeHistory history;
  history.copies["INBOX"] = {{MessageKey{sha("one\r\n"), 0}, 1},
                             {MessageKey{sha("two\r\n"), 0}, 2},
                             {MessageKey{sha("two\r\n"), 1}, 3}};
  const Outcome with = verify(source, target, VerifyOptions{.history = &history});
  ASSERT_EQ(std::vector{DiffKind::Altered}, kinds(with.check));
  EXPECT_EQ(1U, with.check.differences[0].target_uid);
  EXPECT_EQ(sha("one\r\n"), with.check.differences[0].sha256);
}

TEST(Verify, FlagsAndDates) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  auto& work = target.folders["Work"][0];
  work.keywords = {"$label1", "\\Recent"};  // keyword case and \Recent do not matter
  const Outcome same = verify(source, target);
  EXPECT_EQ("ok", same.check.status) << (same.check.differences.empty() ? ""
                                                                        : same.check.differences[0].detail);

  work.flags = kSeen;  // \Flagged lost
  target.folders["INBOX"][1].date = 1700000001;
  const Outcome r = verify(source, target);
  ASSERT_EQ((std::vector{DiffKind::DateDiffers, DiffKind::FlagsDiffer}), kinds(r.check));
  EXPECT_EQ(2U, r.check.differences[0].target_uid);
  EXPECT_NE(std::string::npos, r.check.differences[1].detail.find("\\Flagged"))
      << r.check.differences[1].detail;
}

TEST(Verify, AFutureDateTheServerReplacedIsNotADifference) {
  FakeSource source;
  source.folders = {{"INBOX", {{.body = "f\n", .date = 4102444800}}}};  // 2100-01-01
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["INBOX"][0].date = 1700000000;  // the server stored the arrival time
  EXPECT_EQ("ok", verify(source, target).check.status);
  target.folders["INBOX"][0].date = 4102444801;  // later than the source's date: a real difference
  EXPECT_EQ(std::vector{DiffKind::DateDiffers}, kinds(verify(source, target).check));
}

TEST(Verify, KeywordsAsTheTargetStoresThem) {
  FakeSource source;
  source.folders = {{"INBOX", {{.body = "k\n", .keywords = {"Has Space"}}}}};
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["INBOX"][0].keywords = {"Has_Space"};
  EXPECT_EQ(std::vector{DiffKind::FlagsDiffer}, kinds(verify(source, target).check));
  target.keyword_rule = [](const std::string& k) -> std::optional<std::string> {
    std::string out = k;
    std::replace(out.begin(), out.end(), ' ', '_');
    return out;
  };
  EXPECT_EQ("ok", verify(source, target).check.status);
  // A keyword the target does not store is not expected there.
  target.folders["INBOX"][0].keywords = {};
  target.keyword_rule = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ("ok", verify(source, target).check.status);
}

TEST(Verify, Folders) {
  FakeSource source;
  source.folders = sample_folders();
  source.folders["Projects/2024"] = {{.body = "p\n"}};
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders.erase("Work");
  target.folders["Projects"] = {};  // the parent the target created: implied, not reported
  target.folders["Private"] = {Stored{.uid = 1, .bytes = "x\r\n"}};
  const Outcome r = verify(source, target);
  ASSERT_EQ((std::vector{DiffKind::FolderMissingOnTarget, DiffKind::FolderMissingInSource}), kinds(r.check));
  EXPECT_EQ("Work", r.check.differences[0].folder);
  EXPECT_EQ("Private", r.check.differences[1].folder);
  const FolderCheck& priv = r.check.folders.back();
  EXPECT_EQ("", priv.name);
  EXPECT_EQ(1U, priv.messages_target);

  // INBOX always exists on the target: a source without one is no difference.
  source.folders.erase("INBOX");
  target.folders["INBOX"] = {};
  EXPECT_EQ(1U, verify(source, target).check.by_kind.at(DiffKind::FolderMissingInSource));  // Private only
}

TEST(Verify, LoginFailures) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  VerifyOptions options;
  std::vector<std::string> tried;
  options.recorded_password = [](const AccountInfo&, const TargetAccountName&) -> std::optional<std::string> {
    return "wrong";
  };
  options.user_login = [&](const TargetAccountName& n, const std::string& password) {
    tried.push_back(n.key() + " " + password);
    return std::string("NO [AUTHENTICATIONFAILED] Authentication failed.");
  };
  const Outcome r = verify(source, target, options);
  EXPECT_EQ("differs", r.check.status);
  ASSERT_EQ(std::vector{DiffKind::LoginFailed}, kinds(r.check));
  ASSERT_TRUE(r.check.password_login);
  EXPECT_FALSE(r.check.password_login->ok);
  EXPECT_EQ(std::vector<std::string>{"Alice@ex.org wrong"}, tried);

  target.refuse = "NO [AUTHENTICATIONFAILED]";
  const Outcome refused = verify(source, target);
  EXPECT_EQ("failed", refused.check.status);
  EXPECT_FALSE(refused.check.login.ok);
  EXPECT_EQ(std::vector{DiffKind::LoginFailed}, kinds(refused.check));
}

TEST(Verify, NamingRulesChooseTheTargetAccount) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  VerifyOptions options;
  options.naming.rename["alice"] = "alice.smith";
  const Outcome r = verify(source, target, options);
  EXPECT_EQ("alice.smith@ex.org", r.check.target_account);
  EXPECT_EQ(std::vector<std::string>{"alice.smith@ex.org"}, target.logins);
}

TEST(Verify, UnreadableSourceMessageIsAProblem) {
  FakeSource source;
  source.folders = {{"INBOX", {{.body = "fine\n"}, {.body = "UNREADABLE"}}}};
  FakeTarget target;
  target.folders["INBOX"] = {Stored{.uid = 1, .bytes = "fine\r\n"}};
  const Outcome r = verify(source, target);
  EXPECT_EQ("problems", r.check.status);
  EXPECT_TRUE(r.check.differences.empty());
  ASSERT_EQ(1U, r.problems.size());
  EXPECT_EQ("Alice", r.problems[0].account);
  EXPECT_EQ("INBOX", r.problems[0].folder);
  EXPECT_EQ(1000U, r.problems[0].offset);
}

TEST(Verify, SampleIsDeterministicAndProportional) {
  std::size_t in = 0;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const bool a = in_sample("a@b", "INBOX", i, 10);
    EXPECT_EQ(a, in_sample("a@b", "INBOX", i, 10));
    in += a ? 1 : 0;
  }
  EXPECT_NEAR(2000.0, static_cast<double>(in), 200.0);
  EXPECT_TRUE(in_sample("a@b", "INBOX", 7, 100));
}

TEST(Verify, SampledRunHashesFewerBodiesAndComparesTotals) {
  FakeSource source;
  for (int i = 0; i < 400; ++i) {
    source.folders["INBOX"].push_back(
        Msg{.body = "message " + std::to_string(i) + "\n", .date = 1700000000 + i});
  }
  FakeTarget target;
  target.copy_of(source.folders);
  const Outcome r = verify(source, target, VerifyOptions{.sample_percent = 10});
  EXPECT_EQ("ok", r.check.status);
  EXPECT_GT(r.check.folders[0].checked, 10U);
  EXPECT_LT(r.check.folders[0].checked, 100U);
  EXPECT_EQ(r.check.folders[0].checked, target.bodies_read);  // sizes and dates are distinct here
  EXPECT_EQ(400U, r.check.folders[0].messages_target);

  target.folders["INBOX"].pop_back();
  const Outcome fewer = verify(source, target, VerifyOptions{.sample_percent = 10});
  EXPECT_EQ(1U, fewer.check.by_kind.at(DiffKind::TotalsDiffer));
}

TEST(VerifyReport, JsonAndHtml) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["Work"][0].flags = 0;
  VerifyRun run{.started = "2026-01-01T00:00:00Z",
                .finished = "2026-01-01T00:00:01Z",
                .seconds = 1,
                .source = "cgp:/s <store>",
                .target = "imap://x"};
  run.accounts.push_back(verify(source, target).check);
  const auto j = verify_report_json(run);
  EXPECT_EQ(1, j["totals"]["differences"]);
  EXPECT_EQ(1, j["totals"]["by_kind"]["flags_differ"]);
  EXPECT_EQ(0, j["totals"]["by_kind"]["missing"]);
  EXPECT_EQ("flags_differ", j["accounts"][0]["differences"][0]["kind"]);
  EXPECT_FALSE(verify_clean(run));
  const std::string html = verify_report_html(run);
  EXPECT_NE(std::string::npos, html.find("cgp:/s &lt;store&gt;"));
  EXPECT_EQ(std::string::npos, html.find("<store>"));
  EXPECT_NE(std::string::npos, html.find("flags_differ"));
  const std::string text = verify_report_text(run, 10);
  EXPECT_NE(std::string::npos, text.find("DIFFERS"));
  EXPECT_EQ("&lt;a&gt; &amp; &quot;b&quot; \xEF\xBF\xBD", html_escape("<a> & \"b\" \xFF"));
}

// Folder names come from the servers: the text report escapes control
// characters, the JSON report keeps the exact name.
TEST(VerifyReport, TextEscapesControlCharactersJsonKeepsThem) {
  FakeSource source;
  source.folders = sample_folders();
  FakeTarget target;
  target.copy_of(source.folders);
  target.folders["Work"][0].flags = 0;
  VerifyRun run{.started = "s", .finished = "f", .seconds = 1, .source = "cgp:/s", .target = "imap://x"};
  run.accounts.push_back(verify(source, target).check);
  for (Difference& d : run.accounts[0].differences) d.folder = "Evil\x1b[2J";
  const std::string text = verify_report_text(run, 10);
  EXPECT_EQ(std::string::npos, text.find('\x1b'));
  EXPECT_NE(std::string::npos, text.find("Evil\\x1b[2J"));
  EXPECT_NE(std::string::npos, text.find('\n'));  // lines stay lines
  EXPECT_EQ("Evil\x1b[2J", verify_report_json(run)["accounts"][0]["differences"][0]["folder"]);
}

}  // namespace
}  // namespace mailmig
