#include "directory/schema_file.h"

#include <gtest/gtest.h>

namespace mailmig::directory {
namespace {

TEST(SchemaFile, MultiLineDefinitionsAliasesAndMacros) {
  const SchemaFile schema = parse_schema_text(
      "# comment\n"
      "objectidentifier ZarafaRoot 1.3.6.1.4.1.26278\n"
      "attributetype ( ZarafaRoot:1.1.1\n"
      "\tNAME ( 'zarafaAccount' 'zarafaAccountEnabled' )\n"
      "\tDESC 'x'\n"
      "\tEQUALITY integerMatch\n"
      "\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n"
      "\n"
      "AttributeType ( 1.3.6.1.4.1.26278.1.1.2 NAME 'zarafaAliases' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )\n"
      "objectclass ( 1.3.6.1.4.1.26278.1.2.1 NAME 'zarafa-user' SUP top AUXILIARY\n"
      "  MAY ( zarafaAccount $ zarafaAliases ) )\n",
      "z.schema");
  ASSERT_EQ(schema.attribute_types.size(), 2U);
  EXPECT_EQ(schema.attribute_types[0].names,
            (std::vector<std::string>{"zarafaAccount", "zarafaAccountEnabled"}));
  EXPECT_TRUE(schema.attribute_types[0].single_value);
  EXPECT_EQ(schema.attribute_types[0].line, 3U);
  EXPECT_TRUE(schema.has_attribute("ZARAFAACCOUNTENABLED"));
  EXPECT_TRUE(schema.has_class("Zarafa-User"));
  EXPECT_FALSE(schema.has_attribute("cn"));
  EXPECT_EQ(schema.object_classes[0].line, 10U);
}

// Found by fuzz_schema_file: libldap left its error position past the end of
// the text, which was then read as a C string (a heap overread under ASan).
TEST(SchemaFile, AnUnclosedListAtTheEndIsAnErrorWithoutReadingPastTheText) {
  try {
    parse_schema_text("objectclass\t(SRAL\n\tMAY (edeu", "cut.schema");
    FAIL() << "no error";
  } catch (const SchemaError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cut.schema:", 0), 0U) << e.what();
  }
}

TEST(SchemaFile, SyntaxErrorsNameTheLine) {
  auto error_of = [](const std::string& text) {
    try {
      parse_schema_text(text, "bad.schema");
    } catch (const SchemaError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("attributetype ( 1.2.3 NAME 'a'\n  SYNTAX 1.2.3 BOGUS )\n")
                .find("bad.schema:2: attributetype"),
            std::string::npos);
  EXPECT_NE(error_of("\nobjectclass ( 1.2.3 NAME 'x' MAY ( a $ ) )\n").find("bad.schema:2:"),
            std::string::npos);
  EXPECT_NE(error_of("\n\nfoo bar\n").find("bad.schema:3: unknown statement \"foo\""), std::string::npos);
  EXPECT_NE(error_of("  continued\n").find("bad.schema:1: continuation"), std::string::npos);
  EXPECT_NE(error_of("attributetype ( 1.2.3 SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n").find("no NAME"),
            std::string::npos);
}

TEST(SchemaFile, TheTestSchemasParse) {
  const SchemaFile zarafa = load_schema_file(std::string(MAILMIG_TEST_DATA) + "/directory/zarafa.schema");
  EXPECT_GE(zarafa.attribute_types.size(), 30U);
  EXPECT_EQ(zarafa.object_classes.size(), 7U);
  const SchemaFile kopano = load_schema_file(std::string(MAILMIG_TEST_DATA) + "/directory/kopano.schema");
  EXPECT_EQ(kopano.attribute_types.size(), zarafa.attribute_types.size());
  EXPECT_NE(kopano.attribute_types[0].oid, zarafa.attribute_types[0].oid);
  EXPECT_NO_THROW(load_schema_file(std::string(MAILMIG_TEST_DATA) + "/directory/iplanet.schema"));
}

}  // namespace
}  // namespace mailmig::directory
