// verify against the shared in-memory store (tests/unit/engine/fakes.h): each
// kind of difference, and every failure branch keeping its scope as in the
// migrate engine: a folder refused, a connection dropped once or for good, a
// refusal of account scope, a source that gave up, a message unreadable.
#include "engine/verify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/sha256.h"
#include "engine/fakes.h"
#include "engine/verify_report.h"

namespace mailmig {
namespace {

using namespace mailmig::fakes;  // NOLINT(google-build-using-namespace): the shared test doubles

constexpr std::int64_t kDate = 1700000000;

std::string sha(const std::string& bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

SourceMessage dated(SourceMessage m, std::int64_t date = kDate) {
  m.date = date;
  return m;
}

SourceFolders sample_folders() {
  SourceFolders folders;
  folders["INBOX"].messages = {dated(msg(1, kSeen)), dated(msg(2, kSeen)), dated(msg(2, kSeen))};
  folders["Work"].messages = {dated(msg(3, kSeen | kFlagged, {"$Label1"}))};
  return folders;
}

class FakeHistory final : public VerifyHistory {
 public:
  std::map<std::string, std::map<MessageKey, std::uint32_t>> copies;  // by folder
  std::map<std::string, std::string> names;
  std::map<std::string, std::string> target_folders(const std::string& /*key*/) override { return names; }
  std::map<MessageKey, std::uint32_t> copied(const std::string& /*key*/, const std::string& folder) override {
    return copies[folder];
  }
};

std::vector<DiffKind> kinds(const AccountCheck& c) {
  std::vector<DiffKind> out;
  for (const Difference& d : c.differences) out.push_back(d.kind);
  return out;
}

class Verify : public ::testing::Test {
 protected:
  void SetUp() override {
    source.folders = sample_folders();
    hold_copy(target, "John@d.example", source.folders);
  }
  AccountCheck verify(VerifyOptions options = {}, const AccountInfo& account = FakeSource::account()) {
    options.reconnect.attempts = 2;
    options.reconnect.backoff = std::chrono::milliseconds(1);
    options.reconnect.sleep = [this](std::chrono::milliseconds m) { slept.push_back(m); };
    ProblemSink sink;  // each run's own problems
    AccountCheck check = verify_account(source, account, target, options, sink);
    problems = sink.snapshot();
    return check;
  }
  std::vector<TargetMessage>& box(const std::string& folder, const std::string& account = "John@d.example") {
    return target.accounts[account][folder].messages;
  }
  // The one problem the run reported.
  [[nodiscard]] const Problem& only_problem() const {
    if (problems.size() != 1) throw std::runtime_error(fmt::format("{} problems, not one", problems.size()));
    return problems[0];
  }
  static const FolderCheck& folder(const AccountCheck& c, const std::string& name) {
    for (const FolderCheck& f : c.folders) {
      if (f.name == name) return f;
    }
    throw std::runtime_error("no folder " + name);
  }

  FakeSource source;
  FakeTarget target;
  std::vector<Problem> problems;
  std::vector<std::chrono::milliseconds> slept;
};

TEST_F(Verify, IdenticalCopyIsOk) {
  const AccountCheck c = verify();
  EXPECT_EQ("ok", c.status);
  EXPECT_TRUE(c.differences.empty());
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(2U, c.folders.size());
  EXPECT_EQ(3U, c.folders[0].messages_source);
  EXPECT_EQ(3U, c.folders[0].messages_target);
  EXPECT_EQ(3U, c.folders[0].checked);
  EXPECT_EQ(c.folders[0].bytes_source, c.folders[0].bytes_target);
  EXPECT_EQ(msg(1).body.size() + 2 * msg(2).body.size(), c.folders[0].bytes_source);
  EXPECT_TRUE(c.login.ok);
}

TEST_F(Verify, MissingMessageNamesSourceFileAndOffset) {
  box("INBOX").erase(box("INBOX").begin());  // message 1
  const AccountCheck c = verify();
  EXPECT_EQ("differs", c.status);
  ASSERT_EQ(std::vector{DiffKind::Missing}, kinds(c));
  const Difference& d = c.differences[0];
  EXPECT_EQ("INBOX", d.folder);
  EXPECT_EQ(sha(msg(1).body), d.sha256);
  EXPECT_EQ("/store/box", d.source_file);
  EXPECT_EQ(0U, d.source_offset);
  EXPECT_FALSE(d.target_uid);
}

TEST_F(Verify, ExtraAndDuplicatedMessages) {
  box("INBOX").push_back(TargetMessage{.uid = 10, .sha256 = sha("stranger"), .flags = kSeen, .size = 8});
  box("INBOX").push_back(TargetMessage{.uid = 11, .sha256 = sha(msg(2).body), .flags = kSeen});  // a third 2
  const AccountCheck c = verify();
  ASSERT_EQ((std::vector{DiffKind::Extra, DiffKind::Duplicated}), kinds(c));
  EXPECT_EQ(10U, c.differences[0].target_uid);
  EXPECT_EQ(11U, c.differences[1].target_uid);
  EXPECT_EQ(sha(msg(2).body), c.differences[1].sha256);
}

TEST_F(Verify, AlteredNeedsTheState) {
  box("INBOX")[0].sha256 = sha("message 1, edited");  // UID 1

  EXPECT_EQ((std::vector{DiffKind::Missing, DiffKind::Extra}), kinds(verify()));

  FakeHistory history;
  history.copies["INBOX"] = {{MessageKey{sha(msg(1).body), 0}, 1},
                             {MessageKey{sha(msg(2).body), 0}, 2},
                             {MessageKey{sha(msg(2).body), 1}, 3}};
  const AccountCheck with = verify(VerifyOptions{.history = &history});
  ASSERT_EQ(std::vector{DiffKind::Altered}, kinds(with));
  EXPECT_EQ(1U, with.differences[0].target_uid);
  EXPECT_EQ(sha(msg(1).body), with.differences[0].sha256);
}

TEST_F(Verify, FlagsAndDates) {
  box("Work")[0].keywords = {"$label1", "\\Recent"};  // keyword case and \Recent do not matter
  const AccountCheck same = verify();
  EXPECT_EQ("ok", same.status) << (same.differences.empty() ? "" : same.differences[0].detail);

  box("Work")[0].flags = kSeen;  // \Flagged lost
  box("INBOX")[1].date = DateTime{.epoch = kDate + 1};
  const AccountCheck c = verify();
  ASSERT_EQ((std::vector{DiffKind::DateDiffers, DiffKind::FlagsDiffer}), kinds(c));
  EXPECT_EQ(2U, c.differences[0].target_uid);
  EXPECT_NE(std::string::npos, c.differences[1].detail.find("\\Flagged")) << c.differences[1].detail;
}

TEST_F(Verify, AFutureDateTheServerReplacedIsNotADifference) {
  source.folders = {{"INBOX", {.messages = {dated(msg(1), 4102444800)}}}};  // 2100-01-01
  target.accounts.clear();
  hold_copy(target, "John@d.example", source.folders);
  box("INBOX")[0].date = DateTime{.epoch = kDate};  // the server stored the arrival time
  EXPECT_EQ("ok", verify().status);
  box("INBOX")[0].date = DateTime{.epoch = 4102444801};  // later than the source's date: a real difference
  EXPECT_EQ(std::vector{DiffKind::DateDiffers}, kinds(verify()));
}

TEST_F(Verify, KeywordsAsTheTargetStoresThem) {
  source.folders = {{"INBOX", {.messages = {dated(msg(1, 0, {"Has Space"}))}}}};
  target.accounts.clear();
  hold_copy(target, "John@d.example", source.folders);
  box("INBOX")[0].keywords = {"Has_Space"};
  EXPECT_EQ(std::vector{DiffKind::FlagsDiffer}, kinds(verify()));
  target.keyword_rule = [](const std::string& k) -> std::optional<std::string> {
    std::string out = k;
    std::replace(out.begin(), out.end(), ' ', '_');
    return out;
  };
  EXPECT_EQ("ok", verify().status);
  // A keyword the target does not store is not expected there.
  box("INBOX")[0].keywords = {};
  target.keyword_rule = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ("ok", verify().status);
}

TEST_F(Verify, Folders) {
  source.folders["Projects/2024"].messages = {dated(msg(4))};
  hold_copy(target, "John@d.example", {{"Projects/2024", source.folders["Projects/2024"]}});
  target.accounts["John@d.example"].erase("Work");
  target.accounts["John@d.example"]["Projects"];  // the parent the target created: implied, not reported
  box("Private").push_back(TargetMessage{.uid = 1, .sha256 = sha("x"), .size = 1});
  const AccountCheck c = verify();
  ASSERT_EQ((std::vector{DiffKind::FolderMissingOnTarget, DiffKind::FolderMissingInSource}), kinds(c));
  EXPECT_EQ("Work", c.differences[0].folder);
  EXPECT_EQ("Private", c.differences[1].folder);
  const FolderCheck& priv = c.folders.back();
  EXPECT_EQ("", priv.name);
  EXPECT_EQ(1U, priv.messages_target);

  // INBOX always exists on the target: a source without one is no difference.
  source.folders.erase("INBOX");
  EXPECT_EQ(1U, verify().by_kind.at(DiffKind::FolderMissingInSource));  // Private only
}

TEST_F(Verify, LoginFailures) {
  VerifyOptions options;
  std::vector<std::string> tried;
  options.recorded_password = [](const AccountInfo&, const TargetAccountName&) -> std::optional<std::string> {
    return "wrong";
  };
  options.user_login = [&](const TargetAccountName& n, const std::string& password) {
    tried.push_back(n.key() + " " + password);
    return std::string("NO [AUTHENTICATIONFAILED] Authentication failed.");
  };
  const AccountCheck c = verify(options);
  EXPECT_EQ("differs", c.status);
  ASSERT_EQ(std::vector{DiffKind::LoginFailed}, kinds(c));
  ASSERT_TRUE(c.password_login);
  EXPECT_FALSE(c.password_login->ok);
  EXPECT_EQ(std::vector<std::string>{"John@d.example wrong"}, tried);

  target.refuse_login = "NO [AUTHENTICATIONFAILED]";
  const AccountCheck refused = verify();
  EXPECT_EQ("failed", refused.status);
  EXPECT_FALSE(refused.login.ok);
  EXPECT_EQ(std::vector{DiffKind::LoginFailed}, kinds(refused));
  EXPECT_TRUE(slept.empty());  // a refusal is not retried
}

TEST_F(Verify, NamingRulesChooseTheTargetAccount) {
  VerifyOptions options;
  options.naming.rename["john"] = "john.smith";
  const AccountCheck c = verify(options);
  EXPECT_EQ("john.smith@d.example", c.target_account);
  EXPECT_EQ(std::vector<std::string>{"john.smith@d.example"}, target.log.logins);
}

// ---- failure scopes -------------------------------------------------------------

TEST_F(Verify, AnUnreadableSourceMessageIsAProblemOfMessageScope) {
  source.folders["INBOX"].messages[1].unreadable = true;
  box("INBOX").erase(box("INBOX").begin() + 1);  // the target holds what could be read
  const AccountCheck c = verify();
  EXPECT_EQ("problems", c.status);
  EXPECT_TRUE(c.differences.empty());
  EXPECT_EQ(Scope::Message, only_problem().scope);
  EXPECT_EQ("John", problems[0].account);
  EXPECT_EQ("INBOX", problems[0].folder);
  EXPECT_EQ(100U, problems[0].offset);
  EXPECT_EQ(2U, folder(c, "INBOX").checked);
  EXPECT_EQ(3U, folder(c, "INBOX").messages_source);  // the totals count it
}

TEST_F(Verify, AFolderTheTargetRefusesIsReportedAndTheNextFolderVerified) {
  target.refuse["INBOX"] = Scope::Folder;
  const AccountCheck c = verify();
  EXPECT_EQ("problems", c.status);
  EXPECT_EQ(Scope::Folder, only_problem().scope);
  EXPECT_EQ("INBOX", problems[0].folder);
  EXPECT_NE(std::string::npos, problems[0].message.find("NOPERM")) << problems[0].message;
  EXPECT_EQ(0U, folder(c, "INBOX").messages_target);
  EXPECT_EQ(1U, folder(c, "Work").messages_target);
  EXPECT_EQ(1U, folder(c, "Work").checked);
  EXPECT_TRUE(slept.empty());
}

TEST_F(Verify, AConnectionDroppedOnceIsReconnectedAndTheAccountCompletes) {
  target.refuse["Work"] = std::nullopt;  // a reset while reading Work, once
  const AccountCheck c = verify();
  EXPECT_EQ("ok", c.status);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(1U, slept.size());
  EXPECT_EQ(2U, target.log.logins.size());
  ASSERT_EQ(2U, c.folders.size());  // Work once, not once per attempt
  EXPECT_EQ(1U, folder(c, "Work").messages_target);
  EXPECT_EQ(1U, folder(c, "Work").checked);  // the source was not read a second time
}

TEST_F(Verify, AConnectionDroppingMoreOftenThanThePolicyAllowsFailsThatAccountOnly) {
  target.always_drop.insert("John@d.example");
  const AccountCheck john = verify();
  EXPECT_EQ("failed", john.status);
  EXPECT_EQ(2U, slept.size());              // the policy's two attempts
  EXPECT_EQ(3U, target.log.logins.size());  // the first login and one per attempt
  EXPECT_EQ(slept[0] * 2, slept[1]);        // the wait doubles
  EXPECT_EQ(Scope::Account, only_problem().scope);
  EXPECT_NE(std::string::npos, problems[0].message.find("gave up after 3 attempts")) << problems[0].message;

  const AccountInfo mary{.domain = "d.example", .name = "Mary"};
  hold_copy(target, "Mary@d.example", source.folders);
  const AccountCheck other = verify({}, mary);
  EXPECT_EQ("ok", other.status);
  EXPECT_EQ(2U, other.folders.size());
}

TEST_F(Verify, ARefusalOfAccountScopeFailsTheAccount) {
  target.refuse["INBOX"] = Scope::Account;
  const AccountCheck c = verify();
  EXPECT_EQ("failed", c.status);
  EXPECT_EQ(Scope::Account, only_problem().scope);
  EXPECT_TRUE(c.folders.empty());  // Work is not verified once the account has failed
  EXPECT_TRUE(slept.empty());
}

TEST_F(Verify, ASourceThatGaveUpItsConnectionFailsTheAccount) {
  source.folders["INBOX"].connection_lost = true;
  const AccountCheck c = verify();
  EXPECT_EQ("failed", c.status);
  EXPECT_EQ(Scope::Account, only_problem().scope);
  EXPECT_TRUE(slept.empty());  // the source retried already: not retried again
}

TEST_F(Verify, AFolderTheSourceCannotOpenIsReportedWithFolderScope) {
  source.on_open = [](SourceFolders& f) { f.erase("INBOX"); };  // gone between listing and reading
  const AccountCheck c = verify();
  EXPECT_EQ(Scope::Folder, only_problem().scope);
  EXPECT_EQ("INBOX", problems[0].folder);
  EXPECT_EQ(1U, folder(c, "Work").checked);
}

TEST_F(Verify, AScanProblemIsReportedAndTheFolderStillCompared) {
  source.folders["INBOX"].broken = true;  // the scan reports a problem and goes on
  const AccountCheck c = verify();
  EXPECT_EQ("problems", c.status);
  ASSERT_EQ(1U, problems.size());
  EXPECT_EQ("INBOX", problems[0].folder);
  EXPECT_EQ(3U, folder(c, "INBOX").checked);
}

// ---- the sample -----------------------------------------------------------------

TEST(VerifySample, IsDeterministicAndProportional) {
  std::size_t in = 0;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const bool a = in_sample("a@b", "INBOX", i, 10);
    EXPECT_EQ(a, in_sample("a@b", "INBOX", i, 10));
    in += a ? 1 : 0;
  }
  EXPECT_NEAR(2000.0, static_cast<double>(in), 200.0);
  EXPECT_TRUE(in_sample("a@b", "INBOX", 7, 100));
}

TEST_F(Verify, SampledRunHashesFewerBodiesAndComparesTotals) {
  source.folders.clear();
  for (int i = 0; i < 400; ++i) source.folders["INBOX"].messages.push_back(dated(msg(i), kDate + i));
  target.accounts.clear();
  hold_copy(target, "John@d.example", source.folders);
  const AccountCheck c = verify(VerifyOptions{.sample_percent = 10});
  EXPECT_EQ("ok", c.status);
  EXPECT_GT(c.folders[0].checked, 10U);
  EXPECT_LT(c.folders[0].checked, 100U);
  EXPECT_EQ(c.folders[0].checked, target.log.bodies_read);  // dates are distinct here
  EXPECT_EQ(400U, c.folders[0].messages_target);

  box("INBOX").pop_back();
  EXPECT_EQ(1U, verify(VerifyOptions{.sample_percent = 10}).by_kind.at(DiffKind::TotalsDiffer));
}

// ---- the report -----------------------------------------------------------------

TEST_F(Verify, ReportJsonAndHtml) {
  box("Work")[0].flags = 0;
  VerifyRun run{.started = "2026-01-01T00:00:00Z",
                .finished = "2026-01-01T00:00:01Z",
                .seconds = 1,
                .source = "cgp:/s <store>",
                .target = "imap://x"};
  run.accounts.push_back(verify());
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
TEST_F(Verify, ReportTextEscapesControlCharactersJsonKeepsThem) {
  box("Work")[0].flags = 0;
  VerifyRun run{.started = "s", .finished = "f", .seconds = 1, .source = "cgp:/s", .target = "imap://x"};
  run.accounts.push_back(verify());
  for (Difference& d : run.accounts[0].differences) d.folder = "Evil\x1b[2J";
  const std::string text = verify_report_text(run, 10);
  EXPECT_EQ(std::string::npos, text.find('\x1b'));
  EXPECT_NE(std::string::npos, text.find("Evil\\x1b[2J"));
  EXPECT_NE(std::string::npos, text.find('\n'));  // lines stay lines
  EXPECT_EQ("Evil\x1b[2J", verify_report_json(run)["accounts"][0]["differences"][0]["folder"]);
}

}  // namespace
}  // namespace mailmig
