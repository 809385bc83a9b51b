#include "imap/session.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/string_reader.h"
#include "imap/appender.h"
#include "imap/login.h"
#include "scripted_transport.h"

namespace mailmig::imap {
namespace {

using testing::ScriptedTransport;

using mailmig::testing::StringReader;

struct Fixture {
  ScriptedTransport* t = nullptr;
  std::unique_ptr<Session> session;
  explicit Fixture(std::deque<std::string> script, std::shared_ptr<Trace> trace = nullptr) {
    auto transport = std::make_unique<ScriptedTransport>();
    t = transport.get();
    t->script = std::move(script);
    session = std::make_unique<Session>(std::move(transport),
                                        Session::Options{std::chrono::seconds(5), std::move(trace)});
  }
};

AppendMessage message(const std::string& body, Flags flags = 0) {
  return AppendMessage{
      .size = body.size(), .open = [body] { return std::make_unique<StringReader>(body); }, .flags = flags};
}

TEST(Session, GreetingCapabilitiesAndPipelinedResultsByTag) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND] hi\r\n",
             "* 3 EXISTS\r\na1 OK done one\r\na3 NO [TRYCREATE] no such mailbox\r\na2 OK two\r\n"});
  f.session->read_greeting();
  EXPECT_TRUE(f.session->has_capability("literal+"));
  EXPECT_TRUE(f.session->has_capability("MULTIAPPEND"));
  const Tag a = f.session->send(Command("NOOP"));
  const Tag b = f.session->send(Command("NOOP"));
  Command select("SELECT");
  select.string("Nope");
  const Tag c = f.session->send(select);
  EXPECT_EQ(3U, f.session->in_flight());
  CommandResult third = f.session->wait(c);  // answered before b: kept for later
  EXPECT_EQ("NO", third.status);
  ASSERT_TRUE(third.code.has_value());
  EXPECT_EQ("TRYCREATE", third.code->name);
  EXPECT_EQ("OK", f.session->wait(a).status);
  EXPECT_EQ("two", f.session->wait(b).text);
  EXPECT_EQ("a1 NOOP\r\na2 NOOP\r\na3 SELECT \"Nope\"\r\n", f.t->written);
}

TEST(Session, NonSynchronizingLiteralWithLiteralPlus) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", "a1 OK [APPENDUID 7 42] done\r\n"});
  f.session->read_greeting();
  Command append("APPEND");
  append.string("INBOX").atom("(\\Seen)").literal(5, [] {
    return std::make_unique<StringReader>("Hi\r\n!");
  });
  CommandResult r = f.session->run(append);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ("a1 APPEND \"INBOX\" (\\Seen) {5+}\r\nHi\r\n!\r\n", f.t->written);
}

TEST(Session, SynchronizingLiteralWaitsForContinuation) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1] hi\r\n", "+ go ahead\r\n", "a1 OK done\r\n"});
  f.session->read_greeting();
  Command append("APPEND");
  append.string("INBOX").literal(3, [] { return std::make_unique<StringReader>("abc"); });
  EXPECT_TRUE(f.session->run(append).ok());
  EXPECT_EQ("a1 APPEND \"INBOX\" {3}\r\nabc\r\n", f.t->written);
}

TEST(Session, RefusedSynchronizingLiteralIsNotSent) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1] hi\r\n", "a1 NO [LIMIT] too big\r\n"});
  f.session->read_greeting();
  Command append("APPEND");
  append.string("INBOX").literal(3, [] { return std::make_unique<StringReader>("abc"); });
  CommandResult r = f.session->run(append);
  EXPECT_EQ("NO", r.status);
  EXPECT_EQ("a1 APPEND \"INBOX\" {3}\r\n", f.t->written);
}

TEST(Session, LiteralThatChangedSizeBreaksTheConnection) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n"});
  f.session->read_greeting();
  Command append("APPEND");
  append.string("INBOX").literal(10, [] { return std::make_unique<StringReader>("short"); });
  EXPECT_THROW(f.session->send(append), LiteralSizeMismatch);
  EXPECT_TRUE(f.t->closed);
}

TEST(Session, ServerHangupNamesTheUnansweredCommands) {
  Fixture f({"* OK hi\r\n", "* BYE shutting down\r\n"});
  f.session->read_greeting();
  const Tag t = f.session->send(Command("NOOP"));
  try {
    f.session->wait(t);
    FAIL() << "expected NetError";
  } catch (const NetError& e) {
    const std::string what = e.what();
    EXPECT_NE(std::string::npos, what.find("closed the connection")) << what;
    EXPECT_NE(std::string::npos, what.find("shutting down")) << what;
    EXPECT_NE(std::string::npos, what.find("1 command(s) unanswered")) << what;
  }
}

TEST(Session, TraceRedactsPasswordsAndBodies) {
  const auto path = std::filesystem::temp_directory_path() / ("mailmig-trace-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  {
    auto trace = std::make_shared<Trace>(path.string());
    Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", "a1 OK in\r\na2 OK stored\r\n"}, trace);
    f.session->read_greeting();
    Command login("LOGIN");
    login.astring("john").string("S3cret pw", false, true);
    f.session->run(login);
    Command append("APPEND");
    append.string("INBOX").literal(12, [] { return std::make_unique<StringReader>("Subject: x\r\n"); });
    f.session->run(append);
    EXPECT_NE(std::string::npos, f.t->written.find("\"S3cret pw\""));  // the server does get it
  }
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  EXPECT_EQ(std::string::npos, text.find("S3cret")) << text;
  EXPECT_EQ(std::string::npos, text.find("Subject: x")) << text;
  EXPECT_NE(std::string::npos, text.find("LOGIN john <redacted>")) << text;
  EXPECT_NE(std::string::npos, text.find("<12 bytes>")) << text;
}

TEST(Appender, MultiappendAssignsUidsFromTheUidSet) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND UIDPLUS] hi\r\n",
             "a1 OK [APPENDUID 38505 3955:3957] done\r\n"});
  f.session->read_greeting();
  std::vector<std::pair<std::size_t, AppendOutcome>> got;
  Appender appender(*f.session, "INBOX", AppendOptions{},
                    [&](std::size_t i, const AppendOutcome& o) { got.emplace_back(i, o); });
  appender.add(message("a\r\n", kSeen));
  appender.add(message("bb\r\n"));
  appender.add(message("ccc\r\n", kFlagged | kDraft));
  appender.finish();
  ASSERT_EQ(3U, got.size());
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(i, got[i].first);
    EXPECT_TRUE(got[i].second.ok);
    EXPECT_EQ(38505U, got[i].second.uidvalidity.value_or(0));
    EXPECT_EQ(3955U + i, got[i].second.uid.value_or(0));
  }
  EXPECT_EQ(
      "a1 APPEND \"INBOX\" (\\Seen) {3+}\r\na\r\n () {4+}\r\nbb\r\n (\\Flagged \\Draft) {5+}\r\nccc\r\n\r\n",
      f.t->written);
}

TEST(Appender, RefusedBatchIsRetriedSinglyToFindTheBadMessage) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND UIDPLUS] hi\r\n",
             "a1 NO [LIMIT] message too big\r\n",
             "a2 OK [APPENDUID 9 1] ok\r\na3 NO [LIMIT] message too big\r\na4 OK [APPENDUID 9 2] ok\r\n"});
  f.session->read_greeting();
  std::vector<AppendOutcome> got;
  Appender appender(*f.session, "INBOX", AppendOptions{},
                    [&](std::size_t, const AppendOutcome& o) { got.push_back(o); });
  appender.add(message("a\r\n"));
  appender.add(message("HUGE\r\n"));
  appender.add(message("c\r\n"));
  appender.finish();
  ASSERT_EQ(3U, got.size());
  EXPECT_TRUE(got[0].ok);
  EXPECT_EQ(1U, got[0].uid.value_or(0));
  EXPECT_FALSE(got[1].ok);
  EXPECT_EQ("LIMIT", got[1].code);
  EXPECT_NE(std::string::npos, got[1].error.find("too big"));
  EXPECT_TRUE(got[2].ok);
  EXPECT_EQ(2U, got[2].uid.value_or(0));
}

TEST(Appender, WithoutMultiappendSinglesArePipelinedInAWindow) {
  std::string answers;
  for (int i = 1; i <= 5; ++i)
    answers += "a" + std::to_string(i) + " OK [APPENDUID 1 " + std::to_string(i) + "] ok\r\n";
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] hi\r\n", answers});
  f.session->read_greeting();
  std::vector<std::uint32_t> uids;
  Appender appender(*f.session, "Sent", AppendOptions{.window = 2},
                    [&](std::size_t, const AppendOutcome& o) { uids.push_back(o.uid.value_or(0)); });
  for (int i = 0; i < 5; ++i) appender.add(message("x\r\n"));
  appender.finish();
  EXPECT_EQ((std::vector<std::uint32_t>{1, 2, 3, 4, 5}), uids);
  EXPECT_EQ(5U, static_cast<std::size_t>(std::count(f.t->written.begin(), f.t->written.end(), '{')));
}

TEST(Appender, DroppedConnectionLeavesInFlightMessagesUnresolved) {
  Fixture f({"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n", "a1 OK ok\r\n"});
  f.session->read_greeting();
  std::size_t delivered = 0;
  Appender appender(*f.session, "INBOX", AppendOptions{.window = 8},
                    [&](std::size_t, const AppendOutcome&) { ++delivered; });
  for (int i = 0; i < 3; ++i) appender.add(message("x\r\n"));
  EXPECT_THROW(appender.finish(), NetError);
  EXPECT_EQ(1U, delivered);
  EXPECT_EQ((std::vector<std::size_t>{1, 2}), appender.unresolved());
}

TEST(AppendFormat, FlagListKeywordsAndUidSets) {
  EXPECT_EQ("()", append_flag_list(0, {}));
  EXPECT_EQ("(\\Seen \\Answered \\Flagged \\Deleted \\Draft $Label1)",
            append_flag_list(kSeen | kAnswered | kFlagged | kDeleted | kDraft, {"$Label1"}));
  EXPECT_EQ("Caf__", sanitize_keyword("Caf\xC3\xA9").value_or(""));
  EXPECT_EQ("a_b_c", sanitize_keyword("a b(c").value_or(""));
  EXPECT_FALSE(sanitize_keyword("").has_value());
  EXPECT_EQ((std::vector<std::uint32_t>{5}), parse_uid_set("5"));
  EXPECT_EQ((std::vector<std::uint32_t>{3, 7, 8}), parse_uid_set("3,7:8"));
  EXPECT_EQ((std::vector<std::uint32_t>{9, 8}), parse_uid_set("9:8"));
  EXPECT_TRUE(parse_uid_set("x").empty());
}

TEST(Login, KerioAnswerIsLowercaseHexMd5OfChallengeAndPassword) {
  EXPECT_EQ("1c6c91ef392936ce6b9b7ead6ab717d9",
            kerio_master_answer("<1896.697170952@postoffice.example.net>", "tanstaaf"));
}

TEST(Login, ServerUrls) {
  ServerUrl a = parse_server_url("imap://mail.example.com");
  EXPECT_EQ("mail.example.com", a.host);
  EXPECT_EQ(143, a.port);
  EXPECT_FALSE(a.implicit_tls);
  ServerUrl b = parse_server_url("imaps://[::1]:1993/");
  EXPECT_EQ("::1", b.host);
  EXPECT_EQ(1993, b.port);
  EXPECT_TRUE(b.implicit_tls);
  EXPECT_EQ(993, parse_server_url("imaps://h").port);
  EXPECT_THROW(parse_server_url("http://h"), std::invalid_argument);
  EXPECT_THROW(parse_server_url("imap://h:99999"), std::invalid_argument);
  EXPECT_THROW(parse_server_url("imap://:143"), std::invalid_argument);
  EXPECT_EQ("imap://mail.example.com:143", format_server_url(a));
  EXPECT_EQ("imaps://john@::1:1993", format_server_url(b, "john"));
}

TEST(Login, ServerLoginGivesTheOwnersOrTheMasterPassword) {
  ServerLogin login;
  login.login_format = "%u";
  login.master_password = "master";
  const Credentials own = login.credentials_for("john", "example.com", "owner");
  EXPECT_EQ("john", own.user);
  EXPECT_EQ("owner", own.password);
  login.auth = AuthMethod::DovecotMaster;
  login.master_user = "admin";
  const Credentials master = login.credentials_for("john", "example.com", "owner");
  EXPECT_EQ(AuthMethod::DovecotMaster, master.method);
  EXPECT_EQ("master", master.password);
  EXPECT_EQ("admin", master.master_user);
  EXPECT_EQ("*", master.master_separator);
}

TEST(Login, PlaintextCredentialsToARemoteHostAreRefused) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  t->loopback = false;
  t->script = {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"};
  std::string written;  // the transport dies with the failed login; keep what it saw
  t->mirror = &written;
  ConnectOptions options;
  Credentials credentials{.method = AuthMethod::User, .user = "john", .password = "pw"};
  EXPECT_THROW(log_in(std::move(transport), options, credentials), AuthError);
  EXPECT_EQ(std::string::npos, written.find("LOGIN"));  // refused before any credential left
}

TEST(Login, PlaintextToARemoteHostWhenAllowed) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  t->loopback = false;
  t->script = {"* OK [CAPABILITY IMAP4rev1] hi\r\n", "a1 OK [CAPABILITY IMAP4rev1 UIDPLUS] welcome\r\n"};
  ConnectOptions options;
  options.allow_plaintext = true;
  auto session = log_in(std::move(transport), options, Credentials{.user = "john", .password = "pw"});
  EXPECT_TRUE(session->has_capability("UIDPLUS"));  // the post-login set replaced the greeting's
  EXPECT_EQ("a1 LOGIN john \"pw\"\r\n", t->written);
}

TEST(Login, StartTlsIsUsedWhenOfferedAndKerioExchange) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  t->script = {"* OK [CAPABILITY IMAP4rev1 STARTTLS X-MASTERAUTH] hi\r\n",
               "a1 OK go\r\n",
               "* CAPABILITY IMAP4rev1 X-MASTERAUTH\r\na2 OK caps\r\n",
               "+ <abc@kerio>\r\n",
               "a3 OK master\r\n",
               "a4 OK set\r\n",
               "* CAPABILITY IMAP4rev1 MULTIAPPEND\r\na5 OK caps\r\n"};
  auto session =
      log_in(std::move(transport), ConnectOptions{},
             Credentials{.method = AuthMethod::KerioMaster, .user = "john@x.example", .password = "pw"});
  EXPECT_TRUE(t->is_tls());
  EXPECT_TRUE(session->has_capability("MULTIAPPEND"));
  const std::string expected = "a1 STARTTLS\r\na2 CAPABILITY\r\na3 X-MASTERAUTH\r\n" +
                               kerio_master_answer("<abc@kerio>", "pw") +
                               "\r\na4 X-SETUSER \"john@x.example\"\r\na5 CAPABILITY\r\n";
  EXPECT_EQ(expected, t->written);
}

TEST(Command, QuotingRules) {
  Command c("X");
  c.astring("plain").astring("two words").astring("").astring("quo\"te").astring("line\nbreak");
  const auto& parts = c.parts();
  EXPECT_EQ("X plain \"two words\" \"\" \"quo\\\"te\" ", parts[0].text);
  ASSERT_TRUE(parts[0].literal.has_value());
  EXPECT_EQ("line\nbreak", parts[0].literal->data);
  EXPECT_TRUE(is_quotable("Entw\xC3\xBCrfe", true));
  EXPECT_FALSE(is_quotable("Entw\xC3\xBCrfe", false));
  EXPECT_EQ("X", c.verb());
}

}  // namespace
}  // namespace mailmig::imap
