#include "format/cgp/cgp_text.h"

#include <gtest/gtest.h>

#include <string>

namespace mailmig::cgp {
namespace {

using Kind = Value::Kind;

// Parses a text that must fail and returns the error.
ParseError error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no ParseError for: " << text;
  return {0, 0, ""};
}

#define EXPECT_PARSE_ERROR(text, want_line, want_column, want_substring)               \
  do {                                                                                 \
    const ParseError err_ = error_of(text);                                            \
    EXPECT_EQ(want_line, err_.line()) << err_.what();                                  \
    EXPECT_EQ(want_column, err_.column()) << err_.what();                              \
    EXPECT_NE(std::string::npos, err_.reason().find(want_substring)) << err_.reason(); \
  } while (false)

std::string str(std::string_view text) {
  const Value v = parse(text);
  EXPECT_EQ(Kind::String, v.kind());
  return v.text();
}

// ---- strings ----

TEST(CgpText, AtomsIncludingTolerantCharacters) {
  EXPECT_EQ("Standard", str("Standard"));
  EXPECT_EQ("user@example.org", str("user@example.org"));
  EXPECT_EQ("mail-1.example_x/y+z:1$a%b*!", str("mail-1.example_x/y+z:1$a%b*!"));
  EXPECT_EQ("J\xC3\xBCrgen", str("J\xC3\xBCrgen"));  // raw UTF-8 bytes
  EXPECT_EQ("http://host/x", str("http://host/x"));  // '//' inside an atom is not a comment
}

TEST(CgpText, QuotedStringPlain) {
  EXPECT_EQ("", str(R"("")"));
  EXPECT_EQ("se cret, {x}; (y) = [z] #1", str(R"("se cret, {x}; (y) = [z] #1")"));
  EXPECT_EQ("/* not a comment */ // nor this", str(R"("/* not a comment */ // nor this")"));
}

TEST(CgpText, EveryNamedEscape) {
  EXPECT_EQ("a\"b", str(R"("a\"b")"));
  EXPECT_EQ("a\\b", str(R"("a\\b")"));
  EXPECT_EQ("a\rb", str(R"("a\rb")"));
  EXPECT_EQ("a\nb", str(R"("a\nb")"));
  EXPECT_EQ("a\nb", str(R"("a\eb")"));
  EXPECT_EQ("a\tb", str(R"("a\tb")"));
  EXPECT_EQ("\"\\\r\n\n\t", str(R"("\"\\\r\n\e\t")"));
}

TEST(CgpText, DecimalEscapes) {
  EXPECT_EQ("\x01", str(R"("\001")"));
  // Decimal, not octal: \012 is 12 (form feed); LF is \010.
  EXPECT_EQ("\f", str(R"("\012")"));
  EXPECT_EQ("\n", str(R"("\010")"));
  EXPECT_EQ("A", str(R"("\065")"));
  EXPECT_EQ("\xFF", str(R"("\255")"));
  EXPECT_EQ("x\x01y9", str(R"("x\001y9")"));
  EXPECT_EQ(
      "\x01"
      "2",
      str(R"("\0012")"));  // exactly three digits, the 4th is literal
  EXPECT_EQ("J\xC3\xBCrgen", str(R"("J\195\188rgen")"));
}

TEST(CgpText, RawNewlineInsideQuotesIsKept) {
  EXPECT_EQ("a\r\nb\nc", str("\"a\r\nb\nc\""));
}

TEST(CgpText, EscapeErrors) {
  EXPECT_PARSE_ERROR(R"("ab\qc")", 1u, 4u, "invalid escape \\q");
  EXPECT_PARSE_ERROR(R"("\000")", 1u, 2u, "\\000");
  EXPECT_PARSE_ERROR(R"("\256")", 1u, 2u, "out of range");
  EXPECT_PARSE_ERROR(R"("\999")", 1u, 2u, "out of range");
  EXPECT_PARSE_ERROR(R"("\01x")", 1u, 2u, "3 decimal digits");
  EXPECT_PARSE_ERROR(R"("\1")", 1u, 2u, "3 decimal digits");
  EXPECT_PARSE_ERROR("\"a\\\x01\"", 1u, 3u, "byte 0x01");
}

TEST(CgpText, UnterminatedStringPointsAtOpeningQuote) {
  EXPECT_PARSE_ERROR("{\n  a = \"abc;\n}\n", 2u, 7u, "unterminated quoted string");
  EXPECT_PARSE_ERROR(R"("abc\)", 1u, 1u, "unterminated quoted string");
  EXPECT_PARSE_ERROR(R"("abc\")", 1u, 1u, "unterminated quoted string");
}

// ---- data blocks ----

TEST(CgpText, DataBlockFromGuide) {
  const Value v = parse("[HcqHfHI=]");
  EXPECT_EQ(Kind::Data, v.kind());
  EXPECT_EQ(std::string("\x1D\xCA\x87\x7C\x72"), v.text());
}

TEST(CgpText, DataBlockVariants) {
  EXPECT_EQ("", parse("[]").text());
  EXPECT_EQ(Kind::Data, parse("[ ]").kind());
  EXPECT_EQ("Man", parse("[TWFu]").text());
  EXPECT_EQ("Ma", parse("[TWE=]").text());
  EXPECT_EQ("M", parse("[TQ==]").text());
  EXPECT_EQ("Ma", parse("[TWE]").text());                                    // padding missing
  EXPECT_EQ("hello world", parse("[ aGVs\r\n\tbG8g\n d29y bGQ= ]").text());  // white space inside
  EXPECT_EQ(std::string("\xFB\xFF", 2), parse("[+/8=]").text());
  EXPECT_EQ(std::string("\0\0", 2), parse("[AAA=]").text());  // binary NUL is fine in data
}

TEST(CgpText, DataBlockErrors) {
  EXPECT_PARSE_ERROR("[TW!u]", 1u, 4u, "invalid base64 character '!'");
  EXPECT_PARSE_ERROR("[T]", 1u, 1u, "invalid base64 length");
  EXPECT_PARSE_ERROR("[TWE==]", 1u, 1u, "invalid base64 length");
  EXPECT_PARSE_ERROR("[TQ=A]", 1u, 5u, "after '=' padding");
  EXPECT_PARSE_ERROR("(a,\n [TWFu", 2u, 2u, "unterminated data block");
}

// ---- typed atoms ----

TEST(CgpText, TypedAtoms) {
  auto check = [](std::string_view text, Kind kind, std::string_view want) {
    const Value v = parse(text);
    EXPECT_EQ(kind, v.kind()) << text;
    EXPECT_EQ(want, v.text()) << text;
  };
  check("#123", Kind::Number, "123");
  check("#-5", Kind::Number, "-5");
  check("#0", Kind::Number, "0");
  check("#T01-01-2010_12:00:00", Kind::Date, "01-01-2010_12:00:00");
  check("#TPAST", Kind::Date, "PAST");
  check("#TFUTURE", Kind::Date, "FUTURE");
  check("#NULL#", Kind::Null, "");
  check("#I[1.2.3.4]", Kind::Ip, "1.2.3.4");
  check("#I[1.2.3.4]:25", Kind::Ip, "[1.2.3.4]:25");
  check("#I[::1]", Kind::Ip, "::1");
  check("#I[2001:db8::1]:993", Kind::Ip, "[2001:db8::1]:993");
  check("#Viewer", Kind::Typed, "Viewer");
  check("#NULL", Kind::Typed, "NULL");
  check("#Text", Kind::Typed, "Text");
  check("#12ab", Kind::Typed, "12ab");
  check("#-", Kind::Typed, "-");
  check("#Inbox", Kind::Typed, "Inbox");
}

TEST(CgpText, TypedAtomsInsideContainers) {
  const Value v = parse("(#1,#NULL#,#TPAST,#I[10.0.0.1]:25,#x)");
  ASSERT_EQ(5u, v.items().size());
  EXPECT_EQ(Kind::Number, v.items()[0].kind());
  EXPECT_EQ(Kind::Null, v.items()[1].kind());
  EXPECT_EQ(Kind::Date, v.items()[2].kind());
  EXPECT_EQ(Kind::Ip, v.items()[3].kind());
  EXPECT_EQ("[10.0.0.1]:25", v.items()[3].text());
  EXPECT_EQ(Kind::Typed, v.items()[4].kind());
}

TEST(CgpText, TypedAtomErrors) {
  EXPECT_PARSE_ERROR("( # )", 1u, 3u, "type name after '#'");
  EXPECT_PARSE_ERROR("#", 1u, 1u, "type name after '#'");
  EXPECT_PARSE_ERROR("#I[1.2.3.4", 1u, 1u, "malformed IP address");
  EXPECT_PARSE_ERROR("#I[1.2.x.4]", 1u, 8u, "malformed IP address");
  EXPECT_PARSE_ERROR("#I[]", 1u, 4u, "malformed IP address");
  EXPECT_PARSE_ERROR("#I[1.2.3.4]:x", 1u, 13u, "port number");
}

// ---- arrays and dictionaries ----

TEST(CgpText, Arrays) {
  EXPECT_EQ(Kind::Array, parse("()").kind());
  EXPECT_TRUE(parse("( \n )").items().empty());
  const Value v = parse(R"((a, "b c" ,[TWFu],(),(x,(y)),{k=v;}))");
  ASSERT_EQ(6u, v.items().size());
  EXPECT_EQ("a", v.items()[0].text());
  EXPECT_EQ("b c", v.items()[1].text());
  EXPECT_EQ("Man", v.items()[2].text());
  EXPECT_TRUE(v.items()[3].is_array());
  EXPECT_TRUE(v.items()[3].items().empty());
  EXPECT_EQ("y", v.items()[4].items()[1].items()[0].text());
  EXPECT_EQ("v", v.items()[5].find("k")->text());
}

TEST(CgpText, ArrayTrailingCommaTolerated) {
  const Value v = parse("(a, b,)");
  ASSERT_EQ(2u, v.items().size());
  EXPECT_EQ("b", v.items()[1].text());
}

TEST(CgpText, Dictionaries) {
  EXPECT_TRUE(parse("{}").is_dictionary());
  EXPECT_TRUE(parse("{ \r\n }").entries().empty());
  const Value v = parse(R"({a=1;"quoted key"="x";b={c=(1,2);};dup=first;dup=second;})");
  ASSERT_EQ(5u, v.entries().size());
  EXPECT_EQ("a", v.entries()[0].first);
  EXPECT_EQ("1", v.find("a")->text());
  EXPECT_EQ("x", v.find("quoted key")->text());
  EXPECT_EQ("2", v.find("b")->find("c")->items()[1].text());
  EXPECT_EQ("first", v.find("dup")->text());  // first match wins
  EXPECT_EQ(nullptr, v.find("missing"));
  EXPECT_EQ(nullptr, v.find("A"));  // exact, case-sensitive
}

TEST(CgpText, DictionaryKeepsFileOrder) {
  const Value v = parse("{z=1;a=2;m=3;}");
  ASSERT_EQ(3u, v.entries().size());
  EXPECT_EQ("z", v.entries()[0].first);
  EXPECT_EQ("a", v.entries()[1].first);
  EXPECT_EQ("m", v.entries()[2].first);
}

TEST(CgpText, DictionaryMissingFinalSemicolonTolerated) {
  const Value v = parse("{a=1;b=2}");
  ASSERT_EQ(2u, v.entries().size());
  EXPECT_EQ("2", v.find("b")->text());
}

TEST(CgpText, DictionaryHashKeyKeptLiterally) {
  const Value v = parse("{ #Viewer = {CalendarBox = Calendar;}; }");
  ASSERT_NE(nullptr, v.find("#Viewer"));
  EXPECT_EQ("Calendar", v.find("#Viewer")->find("CalendarBox")->text());
}

TEST(CgpText, WrongKindAccessorsAreEmpty) {
  const Value s = parse("abc");
  EXPECT_TRUE(s.items().empty());
  EXPECT_TRUE(s.entries().empty());
  EXPECT_EQ(nullptr, s.find("abc"));
  const Value a = parse("(x)");
  EXPECT_TRUE(a.entries().empty());
  EXPECT_TRUE(a.text().empty());
  EXPECT_EQ(nullptr, a.find("x"));
  EXPECT_TRUE(parse("{k=v;}").items().empty());
  const Value def;
  EXPECT_TRUE(def.is_string());
  EXPECT_TRUE(def.text().empty());
  EXPECT_TRUE(def.items().empty());
}

TEST(CgpText, Factories) {
  EXPECT_EQ(Kind::Data, Value::data("x").kind());
  EXPECT_EQ("x", Value::string("x").text());
  EXPECT_EQ(1u, Value::array({Value::string("a")}).items().size());
  const Value d = Value::dictionary({{"k", Value::string("v")}});
  EXPECT_EQ("v", d.find("k")->text());
  EXPECT_EQ(Kind::Number, Value::typed(Kind::Number, "7").kind());
}

// ---- white space, comments, BOM ----

TEST(CgpText, WhiteSpaceEverywhere) {
  const Value v = parse("\r\n\t{\r\n\ta\t=\r\n\t( x\t,\r\n y )\r\n\t;\r\n}\r\n\t");
  ASSERT_EQ(1u, v.entries().size());
  EXPECT_EQ("y", v.find("a")->items()[1].text());
}

TEST(CgpText, Comments) {
  const Value v = parse(
      "/* header */ {\n"
      "  a = 1; // line comment\n"
      "  /* multi\n   line */ b /**/ = /* c */ (x, // y\n z);\n"
      "} // trailing\n/* trailing block */");
  ASSERT_EQ(2u, v.entries().size());
  EXPECT_EQ("1", v.find("a")->text());
  ASSERT_EQ(2u, v.find("b")->items().size());
  EXPECT_EQ("z", v.find("b")->items()[1].text());
}

TEST(CgpText, CommentErrors) {
  EXPECT_PARSE_ERROR("{a=1;\n /* never closed\n}", 2u, 2u, "unterminated comment");
}

TEST(CgpText, ByteOrderMarkSkipped) {
  const Value v = parse("\xEF\xBB\xBF{a=b;}");
  EXPECT_EQ("b", v.find("a")->text());
  // Columns are counted after the BOM.
  EXPECT_PARSE_ERROR("\xEF\xBB\xBF{a b}", 1u, 4u, "expected '='");
}

// ---- realistic file ----

TEST(CgpText, RealisticAccountSettings) {
  const std::string text =
      "{\r\n"
      " Password = \"\\001U-crpt$1$abcd$xyz\";\r\n"
      " RealName = \"J\\195\\188rgen M\\195\\188ller\";\r\n"
      " ServiceClass = Standard;\r\n"
      " Rules = ((1, \"#Redirect\", ((From, is, \"*\")), ((Redirect, \"x@y\"))));\r\n"
      " MaxAccountSize = 100M;\r\n"
      "}\r\n";
  const Value v = parse(text);
  ASSERT_TRUE(v.is_dictionary());
  ASSERT_EQ(5u, v.entries().size());
  EXPECT_EQ("\x01U-crpt$1$abcd$xyz", v.find("Password")->text());
  EXPECT_EQ("J\xC3\xBCrgen M\xC3\xBCller", v.find("RealName")->text());
  EXPECT_EQ("Standard", v.find("ServiceClass")->text());
  EXPECT_EQ("100M", v.find("MaxAccountSize")->text());

  const Value* rules = v.find("Rules");
  ASSERT_NE(nullptr, rules);
  ASSERT_EQ(1u, rules->items().size());
  const ArrayItems& rule = rules->items()[0].items();
  ASSERT_EQ(4u, rule.size());
  EXPECT_EQ("1", rule[0].text());
  EXPECT_EQ("#Redirect", rule[1].text());
  EXPECT_TRUE(rule[1].is_string());
  const ArrayItems& cond = rule[2].items()[0].items();
  ASSERT_EQ(3u, cond.size());
  EXPECT_EQ("From", cond[0].text());
  EXPECT_EQ("is", cond[1].text());
  EXPECT_EQ("*", cond[2].text());
  const ArrayItems& action = rule[3].items()[0].items();
  ASSERT_EQ(2u, action.size());
  EXPECT_EQ("Redirect", action[0].text());
  EXPECT_EQ("x@y", action[1].text());
}

// ---- structural errors and their positions ----

TEST(CgpText, ErrorOnLineThreeOfMultiLineDictionary) {
  const std::string text =
      "{\n"
      " Password = \"secret\";\n"
      " RealName \"John\";\n"
      " ServiceClass = Standard;\n"
      "}\n";
  EXPECT_PARSE_ERROR(text, 3u, 11u, "expected '=' after dictionary key");
}

TEST(CgpText, ErrorPositionsWithCrlf) {
  EXPECT_PARSE_ERROR("{\r\n a = 1;\r\n b = 2\r\n c = 3;\r\n}\r\n", 4u, 2u,
                     "expected ';' after dictionary value");
}

TEST(CgpText, StructuralErrors) {
  EXPECT_PARSE_ERROR("", 1u, 1u, "empty text");
  EXPECT_PARSE_ERROR("  \n // only a comment\n", 3u, 1u, "empty text");
  EXPECT_PARSE_ERROR("{a=1;} x", 1u, 8u, "trailing data after object");
  EXPECT_PARSE_ERROR("a b", 1u, 3u, "trailing data after object");
  EXPECT_PARSE_ERROR("(a, b", 1u, 6u, "unexpected end of text in array");
  EXPECT_PARSE_ERROR("(a,\n", 2u, 1u, "unexpected end of text in array");
  EXPECT_PARSE_ERROR("(a b)", 1u, 4u, "expected ',' or ')' in array");
  EXPECT_PARSE_ERROR("(a,,b)", 1u, 4u, "where a value was expected");
  EXPECT_PARSE_ERROR("{a=1;", 1u, 6u, "unexpected end of text in dictionary");
  EXPECT_PARSE_ERROR("{a=", 1u, 4u, "unexpected end of text in dictionary");
  EXPECT_PARSE_ERROR("{a=;}", 1u, 4u, "where a value was expected");
  EXPECT_PARSE_ERROR("{=1;}", 1u, 2u, "expected dictionary key");
  EXPECT_PARSE_ERROR("{(a)=1;}", 1u, 2u, "expected dictionary key");
  EXPECT_PARSE_ERROR("{# = 1;}", 1u, 2u, "name after '#'");
  EXPECT_PARSE_ERROR("{a=1 b=2;}", 1u, 6u, "expected ';' after dictionary value");
  EXPECT_PARSE_ERROR("{a=1;)", 1u, 6u, "expected dictionary key");
  EXPECT_PARSE_ERROR(")", 1u, 1u, "unexpected ')'");
  EXPECT_PARSE_ERROR("\x01", 1u, 1u, "byte 0x01");
}

TEST(CgpText, NestingDepthLimit) {
  const std::string ok = std::string(200, '(') + std::string(200, ')');
  EXPECT_TRUE(parse(ok).is_array());
  EXPECT_PARSE_ERROR(std::string(201, '(') + std::string(201, ')'), 1u, 201u, "nesting too deep");
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{a=";
  EXPECT_PARSE_ERROR(deep, 1u, 601u, "nesting too deep");
}

TEST(CgpText, ParseErrorWhatIncludesPosition) {
  const ParseError e(3, 7, "boom");
  EXPECT_EQ("boom", e.reason());
  EXPECT_NE(std::string::npos, std::string(e.what()).find("line 3, column 7"));
}

}  // namespace
}  // namespace mailmig::cgp
