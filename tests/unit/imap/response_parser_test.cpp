#include "imap/response_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mailmig::imap {

// Readable gtest failure messages (found by argument-dependent lookup).
void PrintTo(const Item& item, std::ostream* os) {
  *os << to_debug_string(item);
}
void PrintTo(const Response& response, std::ostream* os) {
  *os << to_debug_string(response);
}

namespace {

using namespace std::string_literals;

std::vector<Response> drain(ResponseParser& parser) {
  std::vector<Response> out;
  while (auto response = parser.next()) out.push_back(std::move(*response));
  return out;
}

// Feeds `wire` in pieces of `chunk` bytes, draining after each piece.
std::vector<Response> parse_chunked(std::string_view wire, std::size_t chunk,
                                    ResponseParser::Limits limits = {}) {
  ResponseParser parser(limits);
  std::vector<Response> out;
  for (std::size_t i = 0; i < wire.size(); i += chunk) {
    parser.feed(wire.substr(i, chunk));
    for (auto& response : drain(parser)) out.push_back(std::move(response));
  }
  return out;
}

std::vector<Response> parse_all(std::string_view wire) {
  return parse_chunked(wire, wire.size() + 1);
}

// Exactly one response from `wire`.
Response parse_one(std::string_view wire) {
  const auto responses = parse_all(wire);
  EXPECT_EQ(responses.size(), 1U) << wire;
  return responses.empty() ? Response{} : responses.front();
}

void expect_protocol_error(std::string_view wire, ResponseParser::Limits limits = {}) {
  ResponseParser parser(limits);
  parser.feed(wire);
  EXPECT_THROW(drain(parser), ProtocolError) << wire;
}

std::vector<Item> atoms(std::initializer_list<const char*> words) {
  std::vector<Item> out;
  for (const char* w : words) out.push_back(Item::atom(w));
  return out;
}

// ---- status responses ----

TEST(ResponseParser, GreetingWithCapabilityCode) {
  const auto r =
      parse_one("* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN] Dovecot ready.\r\n");
  EXPECT_EQ(r.type, Response::Type::Untagged);
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.keyword, "OK");
  ASSERT_TRUE(r.code);
  EXPECT_EQ(r.code->name, "CAPABILITY");
  EXPECT_EQ(r.code->args, atoms({"IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "AUTH=PLAIN"}));
  EXPECT_EQ(r.text, "Dovecot ready.");
  EXPECT_TRUE(r.data.empty());
  EXPECT_FALSE(r.number);
}

TEST(ResponseParser, TaggedStatusWithCodes) {
  auto r = parse_one("A003 OK [APPENDUID 38505 3955] APPEND completed\r\n");
  EXPECT_EQ(r.type, Response::Type::Tagged);
  EXPECT_EQ(r.tag, "A003");
  EXPECT_EQ(r.status, "OK");
  ASSERT_TRUE(r.has_code("appenduid"));
  ASSERT_EQ(r.code->args.size(), 2U);
  EXPECT_EQ(r.code->args[0].as_number(), 38505U);
  EXPECT_EQ(r.code->args[1].as_number(), 3955U);
  EXPECT_EQ(r.text, "APPEND completed");

  r = parse_one("A004 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n");
  EXPECT_EQ(r.status, "NO");
  EXPECT_TRUE(r.has_code("TRYCREATE"));
  EXPECT_TRUE(r.code->args.empty());
  EXPECT_EQ(r.text, "Mailbox doesn't exist: Foo");

  r = parse_one("a1 bad [ALERT] Line \"too\" [long] (really)\r\n");
  EXPECT_EQ(r.status, "BAD");
  EXPECT_TRUE(r.has_code("ALERT"));
  EXPECT_EQ(r.text, "Line \"too\" [long] (really)");

  r = parse_one("a2 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n");
  EXPECT_TRUE(r.has_code("OVERQUOTA"));

  r = parse_one("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  ASSERT_TRUE(r.has_code("UIDVALIDITY"));
  EXPECT_EQ(r.code->args.at(0).as_number(), 3857529045U);

  r = parse_one("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
  ASSERT_TRUE(r.has_code("PERMANENTFLAGS"));
  ASSERT_EQ(r.code->args.size(), 1U);
  EXPECT_EQ(r.code->args[0], Item::list_of(atoms({"\\Deleted", "\\Seen", "\\*"})));
  EXPECT_EQ(r.text, "Limited");

  r = parse_one("A5 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
  EXPECT_EQ(r.code->args, atoms({"38505", "304,319:320", "3956:3958"}));

  r = parse_one("A6 OK [READ-WRITE]\r\n");
  EXPECT_EQ(r.code->name, "READ-WRITE");
  EXPECT_EQ(r.text, "");

  r = parse_one("* NO [BADCHARSET (UTF-8 \"US-ASCII\")] charset\r\n");
  EXPECT_EQ(r.code->args.at(0), Item::list_of({Item::atom("UTF-8"), Item::string("US-ASCII")}));

  r = parse_one("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
  EXPECT_EQ(r.code->args.at(0).as_number(), 715194045007U);
}

TEST(ResponseParser, StatusTextEdgeCases) {
  // No text at all.
  auto r = parse_one("A1 OK\r\n");
  EXPECT_EQ(r.status, "OK");
  EXPECT_FALSE(r.code);
  EXPECT_EQ(r.text, "");
  // A "[" without "]" is text.
  r = parse_one("A1 NO [unclosed text\r\n");
  EXPECT_FALSE(r.code);
  EXPECT_EQ(r.text, "[unclosed text");
  // A "[" later in the text is never a code.
  r = parse_one("A1 OK done [ALERT]\r\n");
  EXPECT_FALSE(r.code);
  EXPECT_EQ(r.text, "done [ALERT]");
  // Unknown code whose arguments do not parse: raw words as atoms.
  r = parse_one("A1 NO [X-ODD \"half (open] rest of text\r\n");
  ASSERT_TRUE(r.code);
  EXPECT_EQ(r.code->name, "X-ODD");
  EXPECT_EQ(r.code->args, atoms({"\"half", "(open"}));
  EXPECT_EQ(r.text, "rest of text");
  // Text keeps whatever bytes the server sent, including a trailing {5}.
  r = parse_one("A1 OK text ending like a literal {5}\r\n");
  EXPECT_EQ(r.text, "text ending like a literal {5}");
  // Untagged NO/BAD and PREAUTH.
  r = parse_one("* NO Disk is 98% full, please delete unnecessary data\r\n");
  EXPECT_EQ(r.status, "NO");
  r = parse_one("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as Smith\r\n");
  EXPECT_EQ(r.status, "PREAUTH");
  EXPECT_EQ(r.code->args, atoms({"IMAP4rev1"}));
}

TEST(ResponseParser, Bye) {
  const auto r = parse_one("* BYE shutting down\r\n");
  EXPECT_EQ(r.type, Response::Type::Untagged);
  EXPECT_EQ(r.status, "BYE");
  EXPECT_EQ(r.keyword, "BYE");
  EXPECT_EQ(r.text, "shutting down");
}

// ---- continuation requests ----

TEST(ResponseParser, Continuations) {
  auto r = parse_one("+ Ready for literal data\r\n");
  EXPECT_EQ(r.type, Response::Type::Continuation);
  EXPECT_EQ(r.text, "Ready for literal data");
  EXPECT_TRUE(r.status.empty());

  r = parse_one("+\r\n");
  EXPECT_EQ(r.type, Response::Type::Continuation);
  EXPECT_EQ(r.text, "");

  r = parse_one("+ \r\n");
  EXPECT_EQ(r.type, Response::Type::Continuation);
  EXPECT_EQ(r.text, "");

  // Kerio X-MASTERAUTH: the challenge is taken verbatim.
  r = parse_one("+ <1896.697170952@kerio.example.net>\r\n");
  EXPECT_EQ(r.type, Response::Type::Continuation);
  EXPECT_EQ(r.text, "<1896.697170952@kerio.example.net>");

  r = parse_one("+ YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRA==\r\n");
  EXPECT_EQ(r.text, "YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRA==");
}

// ---- data responses ----

TEST(ResponseParser, Capability) {
  const auto r = parse_one("* CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS MOVE AUTH=PLAIN X-MASTERAUTH\r\n");
  EXPECT_EQ(r.keyword, "CAPABILITY");
  EXPECT_FALSE(r.is_status());
  EXPECT_EQ(r.data, atoms({"IMAP4rev1", "LITERAL+", "UIDPLUS", "MOVE", "AUTH=PLAIN", "X-MASTERAUTH"}));
}

TEST(ResponseParser, List) {
  auto r = parse_one("* LIST (\\HasNoChildren \\Noselect) \"/\" \"INBOX/Sub\"\r\n");
  EXPECT_EQ(r.keyword, "LIST");
  ASSERT_EQ(r.data.size(), 3U);
  EXPECT_EQ(r.data[0], Item::list_of(atoms({"\\HasNoChildren", "\\Noselect"})));
  EXPECT_EQ(r.data[1], Item::string("/"));
  EXPECT_EQ(r.data[2].as_astring(), "INBOX/Sub");

  // Literal mailbox name ending the response.
  r = parse_one("* LIST () \"/\" {10}\r\nA \"quoted\"\r\n");
  ASSERT_EQ(r.data.size(), 3U);
  EXPECT_EQ(r.data[0], Item::list_of({}));
  EXPECT_EQ(r.data[2], Item::string("A \"quoted\""));

  // NIL delimiter, atom name, lower-case nil.
  r = parse_one("* LIST (\\Noselect) nil INBOX\r\n");
  EXPECT_TRUE(r.data[1].is_nil());
  EXPECT_EQ(r.data[2], Item::atom("INBOX"));
  EXPECT_EQ(r.data[2].as_astring(), "INBOX");

  // A quoted "NIL" is a string, not NIL.
  r = parse_one("* LSUB () \".\" \"NIL\"\r\n");
  EXPECT_EQ(r.keyword, "LSUB");
  EXPECT_EQ(r.data[2], Item::string("NIL"));

  // Brackets in an atom mailbox name.
  r = parse_one("* LIST (\\HasNoChildren) \"/\" [Gmail]/Drafts\r\n");
  EXPECT_EQ(r.data[2], Item::atom("[Gmail]/Drafts"));
  r = parse_one("* LIST () \"/\" Odd[Name\r\n");
  EXPECT_EQ(r.data[2], Item::atom("Odd[Name"));
}

TEST(ResponseParser, Namespace) {
  const auto r = parse_one("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  EXPECT_EQ(r.keyword, "NAMESPACE");
  ASSERT_EQ(r.data.size(), 3U);
  EXPECT_EQ(r.data[0], Item::list_of({Item::list_of({Item::string(""), Item::string("/")})}));
  EXPECT_TRUE(r.data[1].is_nil());
  EXPECT_TRUE(r.data[2].is_nil());
}

TEST(ResponseParser, NumberedResponses) {
  const auto responses = parse_all("* 23 EXISTS\r\n* 3 EXPUNGE\r\n* 0 RECENT\r\n");
  ASSERT_EQ(responses.size(), 3U);
  EXPECT_EQ(responses[0].number, 23U);
  EXPECT_EQ(responses[0].keyword, "EXISTS");
  EXPECT_TRUE(responses[0].data.empty());
  EXPECT_EQ(responses[1].number, 3U);
  EXPECT_EQ(responses[1].keyword, "EXPUNGE");
  EXPECT_EQ(responses[2].number, 0U);
  EXPECT_EQ(parse_one("* 4294967295 EXISTS\r\n").number, 4294967295U);
}

constexpr std::string_view kFetch =
    "* 5 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
    "RFC822.SIZE 44827 BODY[] {12}\r\nHello\r\nWorld)\r\n";

TEST(ResponseParser, Fetch) {
  const auto r = parse_one(kFetch);
  EXPECT_EQ(r.type, Response::Type::Untagged);
  EXPECT_EQ(r.number, 5U);
  EXPECT_EQ(r.keyword, "FETCH");
  ASSERT_EQ(r.data.size(), 1U);
  const Item& msg = r.data[0];
  ASSERT_TRUE(msg.is_list());
  ASSERT_EQ(msg.list.size(), 10U);
  EXPECT_EQ(msg.get("uid")->as_number(), 7U);
  EXPECT_EQ(*msg.get("FLAGS"), Item::list_of(atoms({"\\Seen", "$Label1"})));
  EXPECT_EQ(*msg.get("INTERNALDATE"), Item::string("17-Jul-1996 02:44:25 -0700"));
  EXPECT_EQ(msg.get("RFC822.SIZE")->as_number(), 44827U);
  EXPECT_EQ(*msg.get("BODY[]"), Item::string("Hello\r\nWorld"));
  EXPECT_EQ(msg.get("ENVELOPE"), nullptr);
}

TEST(ResponseParser, FetchByteByByteIsIdentical) {
  const auto whole = parse_all(kFetch);
  const auto bytewise = parse_chunked(kFetch, 1);
  ASSERT_EQ(whole.size(), 1U);
  EXPECT_EQ(bytewise, whole);
  for (std::size_t chunk = 2; chunk < kFetch.size(); ++chunk) {
    EXPECT_EQ(parse_chunked(kFetch, chunk), whole) << "chunk " << chunk;
  }
}

TEST(ResponseParser, FetchSectionAtomsAndLiteralForms) {
  const auto r = parse_one(
      "* 12 FETCH (BODY[HEADER.FIELDS (From To)] {9}\r\nFrom: a\r\n"
      " BODY[]<0> {3+}\r\nabc BINARY[1] ~{4}\r\n\0\r\n\xff BODY[1.2.MIME] NIL"
      " BODY[HEADER.FIELDS.NOT (\"X-A\" Received)]<10.20> \"\" MODSEQ (12121231000))\r\n"s);
  const Item& msg = r.data.at(0);
  ASSERT_EQ(msg.list.size(), 12U);
  EXPECT_EQ(msg.list[0], Item::atom("BODY[HEADER.FIELDS (From To)]"));
  EXPECT_EQ(msg.list[1], Item::string("From: a\r\n"));
  EXPECT_EQ(msg.list[2], Item::atom("BODY[]<0>"));
  EXPECT_EQ(msg.list[3], Item::string("abc"));
  EXPECT_EQ(msg.list[4], Item::atom("BINARY[1]"));
  EXPECT_EQ(msg.list[5], Item::string("\0\r\n\xff"s));
  EXPECT_EQ(msg.list[6], Item::atom("BODY[1.2.MIME]"));
  EXPECT_TRUE(msg.list[7].is_nil());
  EXPECT_EQ(msg.list[8], Item::atom("BODY[HEADER.FIELDS.NOT (\"X-A\" Received)]<10.20>"));
  EXPECT_EQ(msg.list[9], Item::string(""));
  EXPECT_EQ(msg.get("MODSEQ")->list.at(0).as_number(), 12121231000U);
}

TEST(ResponseParser, QuotedStringEscapes) {
  const auto r = parse_one("* LIST () \"\\\\\" \"a\\\"b\\\\c\\d\"\r\n");
  EXPECT_EQ(r.data[1], Item::string("\\"));
  EXPECT_EQ(r.data[2], Item::string("a\"b\\c\\d"));  // \d is not an escape: kept
}

TEST(ResponseParser, LiteralsHoldAnyBytes) {
  const std::string body = "line1\r\n\0\r\n* 1 EXISTS\r\n)\"{3}\r\n"s;
  const std::string wire = "* 1 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" + body + ")\r\n";
  const auto r = parse_one(wire);
  EXPECT_EQ(*r.data.at(0).get("BODY[]"), Item::string(body));
  // Zero-length literal, and two literals in a row.
  const auto z = parse_one("* 2 FETCH (BODY[1] {0}\r\n BODY[2] {1}\r\nx)\r\n");
  EXPECT_EQ(*z.data.at(0).get("BODY[1]"), Item::string(""));
  EXPECT_EQ(*z.data.at(0).get("BODY[2]"), Item::string("x"));
}

TEST(ResponseParser, BareLineFeedsAndBlankLines) {
  const auto responses = parse_all("* 1 EXISTS\n\r\n\n* OK [UIDNEXT 4] x\nA1 OK done\n");
  ASSERT_EQ(responses.size(), 3U);
  EXPECT_EQ(responses[0].keyword, "EXISTS");
  EXPECT_EQ(responses[1].code->args, atoms({"4"}));
  EXPECT_EQ(responses[2].text, "done");
}

TEST(ResponseParser, PipelinedResponsesKeepOrder) {
  const std::string wire =
      "* 24 EXISTS\r\n"
      "A1 OK [APPENDUID 1 10] APPEND completed\r\n"
      "* 25 EXISTS\r\n"
      "* 1 RECENT\r\n"
      "A2 OK [APPENDUID 1 11] APPEND completed\r\n"
      "* 3 EXPUNGE\r\n"
      "A3 NO [OVERQUOTA] APPEND failed\r\n"
      "* 4 FETCH (FLAGS (\\Seen) UID 12)\r\n"
      "A4 OK STORE completed\r\n";
  const std::vector<std::string> expected = {"* 24 EXISTS",
                                             "A1 OK [APPENDUID 1 10] APPEND completed",
                                             "* 25 EXISTS",
                                             "* 1 RECENT",
                                             "A2 OK [APPENDUID 1 11] APPEND completed",
                                             "* 3 EXPUNGE",
                                             "A3 NO [OVERQUOTA] APPEND failed",
                                             "* 4 FETCH (FLAGS (\\Seen) UID 12)",
                                             "A4 OK STORE completed"};
  for (const std::size_t chunk : {1UL, 7UL, 64UL, 4096UL}) {
    const auto responses = parse_chunked(wire, chunk);
    std::vector<std::string> got;
    got.reserve(responses.size());
    for (const auto& r : responses) got.push_back(to_debug_string(r));
    EXPECT_EQ(got, expected) << "chunk " << chunk;
  }
}

TEST(ResponseParser, SearchAndEsearch) {
  auto r = parse_one("* SEARCH 2 3 6\r\n");
  EXPECT_EQ(r.keyword, "SEARCH");
  EXPECT_EQ(r.data, atoms({"2", "3", "6"}));
  r = parse_one("* SEARCH\r\n");
  EXPECT_TRUE(r.data.empty());
  r = parse_one("* SEARCH 2 84 882 (MODSEQ 917162500)\r\n");
  EXPECT_EQ(r.data.back(), Item::list_of(atoms({"MODSEQ", "917162500"})));
  r = parse_one("* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,9:3800\r\n");
  EXPECT_EQ(r.keyword, "ESEARCH");
  ASSERT_EQ(r.data.size(), 8U);
  EXPECT_EQ(r.data[0], Item::list_of({Item::atom("TAG"), Item::string("A285")}));
  EXPECT_TRUE(r.data[1].is_atom("uid"));
  EXPECT_EQ(r.data[7], Item::atom("7,9:3800"));
}

TEST(ResponseParser, IdStatusEnabledVanishedQuotaThread) {
  auto r = parse_one("* ID (\"name\" \"Dovecot\")\r\n");
  EXPECT_EQ(r.data, std::vector<Item>{Item::list_of({Item::string("name"), Item::string("Dovecot")})});
  EXPECT_TRUE(parse_one("* ID NIL\r\n").data.at(0).is_nil());

  r = parse_one("* STATUS \"INBOX\" (MESSAGES 3 UIDNEXT 4)\r\n");
  EXPECT_EQ(r.keyword, "STATUS");
  EXPECT_EQ(r.data.at(0).as_astring(), "INBOX");
  EXPECT_EQ(r.data.at(1).get("UIDNEXT")->as_number(), 4U);
  EXPECT_EQ(r.data.at(1).get("MESSAGES")->as_number(), 3U);

  r = parse_one("* ENABLED CONDSTORE QRESYNC\r\n");
  EXPECT_EQ(r.data, atoms({"CONDSTORE", "QRESYNC"}));

  r = parse_one("* VANISHED (EARLIER) 300:310,405,411\r\n");
  EXPECT_EQ(r.data.at(0), Item::list_of(atoms({"EARLIER"})));
  EXPECT_EQ(r.data.at(1), Item::atom("300:310,405,411"));

  r = parse_one("* QUOTA \"\" (STORAGE 10 512)\r\n");
  EXPECT_EQ(r.data.at(1).get("STORAGE")->as_number(), 10U);
  r = parse_one("* QUOTAROOT INBOX \"\"\r\n");
  EXPECT_EQ(r.data, (std::vector<Item>{Item::atom("INBOX"), Item::string("")}));

  r = parse_one("* THREAD (2)(3 6 (4 23)(44 7 96))\r\n");
  ASSERT_EQ(r.data.size(), 2U);
  EXPECT_EQ(to_debug_string(r), "* THREAD (2) (3 6 (4 23) (44 7 96))");

  r = parse_one("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
  EXPECT_EQ(r.data.at(0).list.size(), 5U);
}

TEST(ResponseParser, UnknownKeywordKeepsUnparsableLineAsText) {
  auto r = parse_one("* X-VENDOR some \"odd text\r\n");
  EXPECT_EQ(r.keyword, "X-VENDOR");
  EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(r.text, "some \"odd text");
  // Parsable unknown responses are items.
  r = parse_one("* XAPPLEPUSHSERVICE aps-version \"2\"\r\n");
  EXPECT_EQ(r.data, (std::vector<Item>{Item::atom("aps-version"), Item::string("2")}));
  // Known keywords stay strict.
  expect_protocol_error("* LIST (\\Noselect \"/\" \"x\r\n");
}

// ---- literal streaming ----

struct Chunk {
  std::uint64_t index;
  std::uint64_t offset;
  std::string data;
  bool operator==(const Chunk&) const = default;
};

TEST(ResponseParser, BigLiteralIsStreamedInChunks) {
  ResponseParser parser({.max_buffered_literal = 16});
  std::vector<Chunk> chunks;
  parser.set_literal_sink([&](std::uint64_t index, std::uint64_t offset, std::string_view data) {
    chunks.push_back({index, offset, std::string(data)});
  });
  const std::string body(100, 'x');
  parser.feed("* 1 FETCH (UID 9 BODY[] {100}\r\n" + body.substr(0, 30));
  EXPECT_FALSE(parser.next());
  ASSERT_EQ(chunks.size(), 1U);
  EXPECT_EQ(chunks[0], (Chunk{0, 0, body.substr(0, 30)}));
  EXPECT_EQ(parser.buffered(), 0U);  // streamed bytes are not kept

  parser.feed(body.substr(30, 50));
  EXPECT_FALSE(parser.next());
  parser.feed(body.substr(80) + " FLAGS (\\Seen))\r\n* 2 FETCH (BODY[] {5}\r\nsmall BODY[TEXT] {17}\r\n");
  auto r = parser.next();
  ASSERT_TRUE(r);
  ASSERT_EQ(chunks.size(), 3U);
  EXPECT_EQ(chunks[1], (Chunk{0, 30, body.substr(30, 50)}));
  EXPECT_EQ(chunks[2], (Chunk{0, 80, body.substr(80)}));
  const Item& msg = r->data.at(0);
  EXPECT_EQ(msg.get("UID")->as_number(), 9U);
  ASSERT_TRUE(msg.get("BODY[]")->is_streamed());
  EXPECT_EQ(msg.get("BODY[]")->literal_size, 100U);
  EXPECT_EQ(*msg.get("FLAGS"), Item::list_of(atoms({"\\Seen"})));

  // The second response: a small literal stays in memory, the big one is index 1.
  EXPECT_FALSE(parser.next());
  parser.feed("0123456789abcdefg)\r\n");
  r = parser.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->data.at(0).get("BODY[]"), Item::string("small"));
  EXPECT_EQ(*r->data.at(0).get("BODY[TEXT]"), Item::streamed(17));
  ASSERT_EQ(chunks.size(), 4U);
  EXPECT_EQ(chunks[3], (Chunk{1, 0, "0123456789abcdefg"}));
}

TEST(ResponseParser, StreamedLiteralInOneFeedAndByteByByte) {
  const std::string body = "A\r\nB\0C"s + std::string(200, 'z');
  const std::string wire =
      "* 3 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" + body + ")\r\nA1 OK\r\n";
  for (const std::size_t step : {1UL, 3UL, wire.size()}) {
    ResponseParser parser({.max_buffered_literal = 8});
    std::string streamed;
    parser.set_literal_sink([&](std::uint64_t index, std::uint64_t offset, std::string_view data) {
      EXPECT_EQ(index, 0U);
      EXPECT_EQ(offset, streamed.size());
      streamed.append(data);
    });
    std::vector<Response> responses;
    for (std::size_t i = 0; i < wire.size(); i += step) {
      parser.feed(std::string_view(wire).substr(i, step));
      for (auto& r : drain(parser)) responses.push_back(std::move(r));
      EXPECT_LE(parser.buffered(), 64U);
    }
    EXPECT_EQ(streamed, body);
    ASSERT_EQ(responses.size(), 2U);
    EXPECT_EQ(responses[0].data.at(0).list.at(1), Item::streamed(body.size()));
    EXPECT_EQ(responses[1].tag, "A1");
  }
}

TEST(ResponseParser, HugeStreamedLiteralKeepsMemoryBounded) {
  ResponseParser parser;
  std::uint64_t received = 0;
  parser.set_literal_sink([&](std::uint64_t, std::uint64_t offset, std::string_view data) {
    EXPECT_EQ(offset, received);
    received += data.size();
  });
  constexpr std::uint64_t kSize = 64ULL << 20;
  parser.feed("* 1 FETCH (BODY[] {" + std::to_string(kSize) + "}\r\n");
  const std::string block(std::size_t{64} << 10, 'm');
  for (std::uint64_t sent = 0; sent < kSize; sent += block.size()) {
    parser.feed(block);
    EXPECT_FALSE(parser.next());
    ASSERT_EQ(parser.buffered(), 0U);
  }
  parser.feed(")\r\n");
  const auto r = parser.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(received, kSize);
  EXPECT_EQ(r->data.at(0).list.at(1).literal_size, kSize);
}

TEST(ResponseParser, BigLiteralWithoutSinkIsAnError) {
  expect_protocol_error("* 1 FETCH (BODY[] {17}\r\n", {.max_buffered_literal = 16});
}

TEST(ResponseParser, ThrowingSinkLeavesParserUsable) {
  ResponseParser parser({.max_buffered_literal = 4});
  int calls = 0;
  parser.set_literal_sink([&](std::uint64_t, std::uint64_t, std::string_view) {
    if (++calls == 1) throw std::runtime_error("disk full");
  });
  parser.feed("* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n");
  EXPECT_THROW(parser.next(), std::runtime_error);
  const auto r = parser.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data.at(0).list.at(1), Item::streamed(10));
}

// ---- errors ----

TEST(ResponseParser, MalformedInputThrows) {
  const std::vector<std::string> bad = {
      "* LIST () \"/\" \"INBOX\r\n",                      // unterminated quoted string at line end
      "* 1 FETCH (BODY[] {12x}\r\n",                      // bad literal size
      "* 1 FETCH (BODY[] {}\r\n",                         // no digits
      "* 1 FETCH (BODY[] {-1}\r\n",                       // negative
      "* 1 FETCH (BODY[] {99999999999999999999999}\r\n",  // overflows 64 bits
      "* 1 FETCH (BODY[] {5} )\r\n",                      // literal header not at line end
      "* 1 FETCH (BODY[] {5\r\n",                         // unclosed header
      ")))\r\n",                                          // garbage
      "\x01\x02\x03\r\n",                                 // control bytes
      "*foo\r\n",                                         // no SP after *
      "*\r\n",                                            // bare *
      "* \r\n",                                           // no keyword
      "A1 FETCH (UID 1)\r\n",                             // tagged data response
      "A1 HELLO world\r\n",                               // tagged non-status
      "A(1 OK x\r\n",                                     // bad tag byte
      "A1\r\n",                                           // tag alone
      "* 1 FETCH (UID 1\r\n",                             // unclosed list
      "* 1 FETCH (UID 1))\r\n",                           // unbalanced )
      "* 4294967296 EXISTS\r\n",                          // number out of range
      "* 12\r\n",                                         // number without keyword
      "* SEARCH 1 \x7f\r\n",                              // DEL byte
  };
  for (const auto& wire : bad) expect_protocol_error(wire);
}

TEST(ResponseParser, OverlongLine) {
  const ResponseParser::Limits limits{.max_line = 64};
  // At the limit is fine, one byte over is not: with the whole line at once...
  EXPECT_EQ(parse_chunked("* SEARCH " + std::string(55, '1') + "\r\n", 1000, limits).size(), 1U);
  expect_protocol_error("* SEARCH " + std::string(56, '1') + "\r\n", limits);
  // ...and before the line end arrives (memory is protected).
  ResponseParser parser(limits);
  parser.feed("* SEARCH " + std::string(57, '1'));
  EXPECT_THROW(parser.next(), ProtocolError);
}

TEST(ResponseParser, LimitsOnItemsAndNesting) {
  expect_protocol_error("* SEARCH 1 2 3 4 5\r\n", {.max_items = 4});
  EXPECT_EQ(parse_chunked("* SEARCH 1 2 3 4\r\n", 100, {.max_items = 4}).size(), 1U);
  expect_protocol_error("* THREAD ((((1))))\r\n", {.max_depth = 3});
  EXPECT_EQ(parse_chunked("* THREAD (((1)))\r\n", 100, {.max_depth = 3}).size(), 1U);
  // Deep nesting with the default limit fails cleanly (no stack overflow).
  expect_protocol_error("* FETCH " + std::string(100000, '(') + "\r\n");
}

TEST(ResponseParser, ErrorIsStickyAndDescriptive) {
  ResponseParser parser;
  parser.feed("* 1 EXISTS\r\n* LIST () \"/\" \"unterminated\x01\r\n* 2 EXISTS\r\n");
  ASSERT_TRUE(parser.next());
  try {
    (void)parser.next();
    FAIL() << "no error";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.stream_offset(), 12U);
    EXPECT_EQ(e.excerpt(), "* LIST () \"/\" \"unterminated\\x01");
    EXPECT_NE(std::string(e.what()).find("unterminated quoted string"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("column 15"), std::string::npos) << e.what();
  }
  parser.feed("* 3 EXISTS\r\n");
  EXPECT_THROW(parser.next(), ProtocolError);
}

TEST(ResponseParser, ErrorOffsetCountsConsumedBytes) {
  std::string wire;
  for (int i = 0; i < 5000; ++i) wire += "* " + std::to_string(i) + " EXISTS\r\n";
  const std::size_t bad_at = wire.size();
  wire += "* 1 FETCH (UID\x01)\r\n";
  ResponseParser parser;
  std::size_t count = 0;
  try {
    for (std::size_t i = 0; i < wire.size(); i += 100) {
      parser.feed(std::string_view(wire).substr(i, 100));
      while (parser.next()) ++count;
    }
    FAIL() << "no error";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(count, 5000U);
    EXPECT_EQ(e.stream_offset(), bad_at);
    EXPECT_LE(parser.buffered(), 200U);
  }
}

TEST(ResponseParser, ErrorExcerptIsTruncated) {
  try {
    ResponseParser parser;
    parser.feed("* 1 FETCH (" + std::string(500, 'a') + "\r\n");
    (void)parser.next();
    FAIL() << "no error";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.excerpt().size(), 163U);
    EXPECT_EQ(e.excerpt().substr(160), "...");
  }
}

// ---- helpers ----

TEST(Item, Helpers) {
  EXPECT_EQ(Item::atom("0").as_number(), 0U);
  EXPECT_EQ(Item::atom("18446744073709551615").as_number(), 18446744073709551615ULL);
  EXPECT_FALSE(Item::atom("18446744073709551616").as_number());
  EXPECT_FALSE(Item::atom("12a").as_number());
  EXPECT_FALSE(Item::atom("").as_number());
  EXPECT_FALSE(Item::string("12").as_number());
  EXPECT_TRUE(Item::atom("\\Seen").is_atom("\\SEEN"));
  EXPECT_FALSE(Item::string("UID").is_atom("UID"));
  EXPECT_FALSE(Item::nil().as_astring());
  EXPECT_EQ(Item::string("x y").as_astring(), "x y");
  EXPECT_EQ(Item::atom("x").get("x"), nullptr);
  EXPECT_EQ(to_debug_string(Item::list_of({Item::string("a\"\r"), Item::nil(), Item::streamed(5)})),
            "(\"a\\\"\\x0d\" NIL {5:streamed})");
  EXPECT_EQ(to_debug_string(parse_one("+ go ahead\r\n")), "+ go ahead");
}

// ---- robustness ----

// Byte soup biased towards IMAP syntax, plus mutations of valid responses.
std::string random_wire(std::mt19937& rng) {
  static const std::vector<std::string> kTokens = {"* ",       "+ ",
                                                   "A1 ",      "OK ",
                                                   "NO ",      "FETCH ",
                                                   "LIST ",    "(",
                                                   ")",        "\"",
                                                   "\\",       "{",
                                                   "}",        "~{",
                                                   "{3}\r\n",  "{0}\r\n",
                                                   "{40}\r\n", "[",
                                                   "]",        " ",
                                                   " ",        "\r\n",
                                                   "\n",       "\r",
                                                   "NIL",      "BODY[",
                                                   "12",       "x",
                                                   "\0"s,      "\xff",
                                                   "\x7f",     "+}",
                                                   "[ALERT]",  "[APPENDUID 1 2]",
                                                   "<0>"};
  static const std::vector<std::string> kValid = {std::string(kFetch),
                                                  "* OK [PERMANENTFLAGS (\\Deleted \\*)] ok\r\n",
                                                  "A1 OK [COPYUID 1 2:3 4:5] x\r\n",
                                                  "* LIST (\\Noselect) \"/\" {3}\r\na b\r\n",
                                                  "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
                                                  "+ \r\n"};
  std::string out;
  const int pieces = std::uniform_int_distribution<int>(1, 40)(rng);
  for (int i = 0; i < pieces; ++i) {
    if (rng() % 4 == 0) {
      std::string valid = kValid[rng() % kValid.size()];
      if (rng() % 2 == 0) valid[rng() % valid.size()] = static_cast<char>(rng());
      if (rng() % 3 == 0) valid.erase(rng() % valid.size(), 1);
      out += valid;
    } else {
      out += kTokens[rng() % kTokens.size()];
    }
  }
  return out;
}

struct Outcome {
  std::vector<Response> responses;
  std::map<std::uint64_t, std::string> streamed;  // literal index -> bytes
  bool failed = false;
  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& outcome, std::ostream* os) {
  for (const auto& r : outcome.responses) *os << "\n  " << to_debug_string(r);
  for (const auto& [index, bytes] : outcome.streamed)
    *os << "\n  literal " << index << ": " << bytes.size() << " bytes";
  *os << (outcome.failed ? "\n  <ProtocolError>" : "\n  <no error>");
}

Outcome run(std::string_view wire, std::mt19937& rng, bool random_chunks) {
  ResponseParser parser({.max_line = 200, .max_buffered_literal = 8, .max_items = 500, .max_depth = 20});
  Outcome outcome;
  parser.set_literal_sink([&](std::uint64_t index, std::uint64_t offset, std::string_view data) {
    auto& bytes = outcome.streamed[index];
    EXPECT_EQ(offset, bytes.size());
    bytes.append(data);
  });
  try {
    std::size_t i = 0;
    while (i < wire.size()) {
      const std::size_t n = random_chunks ? 1 + rng() % 17 : wire.size();
      parser.feed(wire.substr(i, n));
      i += n;
      while (auto r = parser.next()) outcome.responses.push_back(std::move(*r));
    }
  } catch (const ProtocolError&) {
    outcome.failed = true;
  }
  return outcome;
}

TEST(ResponseParser, RandomInputNeverCrashesAndIsChunkingIndependent) {
  std::mt19937 rng(20261123);
  int parsed = 0;
  int failed = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const std::string wire = random_wire(rng);
    const Outcome whole = run(wire, rng, false);
    const Outcome chunked = run(wire, rng, true);
    ASSERT_EQ(whole, chunked) << "iteration " << iteration
                              << " wire: " << to_debug_string(Item::string(wire));
    parsed += static_cast<int>(whole.responses.size());
    failed += whole.failed ? 1 : 0;
  }
  // The soup must exercise both paths.
  EXPECT_GT(parsed, 1000);
  EXPECT_GT(failed, 1000);
}

// Not a benchmark gate: reports the rate so regressions are visible in logs.
TEST(ResponseParser, ThroughputOnFetchStream) {
  std::string wire;
  const std::string body(2000, 'b');
  for (int i = 1; wire.size() < (16U << 20); ++i) {
    wire += "* " + std::to_string(i) + " FETCH (UID " + std::to_string(i + 1000) +
            " FLAGS (\\Seen $Label1) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 2000 "
            "BODY[HEADER.FIELDS (From To Subject)] {35}\r\nFrom: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\n"
            "BODY[] {2000}\r\n" +
            body + ")\r\n";
  }
  ResponseParser parser;
  std::size_t count = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < wire.size(); i += 65536) {
    parser.feed(std::string_view(wire).substr(i, 65536));
    while (parser.next()) ++count;
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  EXPECT_GT(count, 1000U);
  const double mb_per_s = static_cast<double>(wire.size()) / 1e6 / seconds.count();
  RecordProperty("MBps", static_cast<int>(mb_per_s));
  std::printf("parsed %zu FETCH responses, %.1f MB at %.0f MB/s\n", count,
              static_cast<double>(wire.size()) / 1e6, mb_per_s);
}

}  // namespace
}  // namespace mailmig::imap
