#include "directory/ldif.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mailmig::directory {
namespace {

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/mailmig-ldif-XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LdifReader, Base64FoldedUrlsCommentsAndLineNumbers) {
  TempFile file(
      "# header comment\n"                               // 1
      "version: 1\n"                                     // 2
      "\n"                                               // 3
      "dn:: Y249SsO8cmdlbixkYz1leGFtcGxlLGRjPWNvbQ==\n"  // 4: cn=Jürgen,dc=example,dc=com
      "# inside\n"                                       // 5
      "cn: J\xc3\xbcrgen\n"                              // 6
      "description: fol\n"                               // 7
      " ded\n"                                           // 8
      "photo:< file:///tmp/x.jpg\n"                      // 9
      "\n\n"                                             // 10, 11
      "dn: cn=b,dc=example,dc=com\n"                     // 12
      "changetype: modify\n"                             // 13
      "add: mail\n"                                      // 14
      "mail: b@example.com\n"                            // 15
      "-\n");                                            // 16
  LdifReader reader(file.path());
  LdifRecord record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.dn, "cn=J\xc3\xbcrgen,dc=example,dc=com");
  EXPECT_EQ(record.line, 4U);
  ASSERT_EQ(record.lines.size(), 3U);
  EXPECT_EQ(record.lines[0].line, 6U);
  EXPECT_EQ(record.lines[1].value, "folded");
  EXPECT_EQ(record.lines[1].line, 7U);
  EXPECT_EQ(record.lines[2].kind, LdifLine::Kind::Url);
  EXPECT_EQ(record.lines[2].value, "file:///tmp/x.jpg");
  EXPECT_EQ(record.lines[2].line, 9U);
  EXPECT_TRUE(record.changetype().empty());
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.line, 12U);
  EXPECT_EQ(record.changetype(), "modify");
  EXPECT_EQ(record.lines.back().kind, LdifLine::Kind::Separator);
  EXPECT_EQ(record.lines.back().line, 16U);
  EXPECT_FALSE(reader.next(record));
}

TEST(LdifReader, ErrorsNameTheLineAndReadingGoesOn) {
  TempFile file(
      "dn: cn=a,dc=x\n"       // 1
      "cn: a\n"               // 2
      "no colon here\n"       // 3
      "\n"                    // 4
      "dn: cn=b,dc=x\n"       // 5
      "changetype: modify\n"  // 6
      "add: mail\n"           // 7
      "mail: b@x\n"           // 8
      "\n"                    // 9
      "dn: not a dn\n"        // 10
      "\n"
      "dn: cn=c,dc=x\n"  // 12
      "cn: c\n");
  LdifReader reader(file.path());
  LdifRecord record;
  try {
    reader.next(record);
    FAIL() << "no error";
  } catch (const LdifError& e) {
    EXPECT_EQ(e.line(), 3U);
    EXPECT_NE(std::string(e.what()).find(file.path() + ":3:"), std::string::npos);
  }
  try {
    reader.next(record);
    FAIL() << "no error";
  } catch (const LdifError& e) {
    EXPECT_EQ(e.line(), 7U) << e.what();  // "add: mail" not closed by "-"
  }
  EXPECT_THROW(reader.next(record), LdifError);
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.dn, "cn=c,dc=x");
  EXPECT_EQ(record.line, 12U);
}

// Found by fuzz_ldif: libldap ends the type of "cn : x" with a NUL but counts
// the blank, so the attribute was named "cn\0" (another attribute than cn).
// Found by fuzz_ldif: libldap skips a line starting with a digit before a
// record and returned the previous record again (or no buffer at all).
TEST(LdifReader, ARecordOfOnlyANumberLineIsSkippedNotReadTwice) {
  TempFile file("6\n\ndn: cn=a,dc=x\ncn: a\n\n7\n\ndn: cn=b,dc=x\ncn: b\n");
  LdifReader reader(file.path());
  LdifRecord record;
  std::vector<std::string> dns;
  while (reader.next(record)) dns.push_back(record.dn);
  EXPECT_EQ(dns, (std::vector<std::string>{"cn=a,dc=x", "cn=b,dc=x"}));
}

// Found by fuzz_ldif: "attr:<" with no URL was kept as an empty URL and
// written back as an empty value.
TEST(LdifReader, AUrlLineWithoutItsUrlIsAnErrorNamingTheLine) {
  try {
    parse_ldif_record("dn: cn=x,dc=example\njpegPhoto:<   \n", "in.ldif");
    FAIL() << "no error";
  } catch (const LdifError& e) {
    EXPECT_EQ(e.line(), 2U);
    EXPECT_NE(std::string(e.what()).find("without a URL"), std::string::npos) << e.what();
  }
}

TEST(LdifReader, BlanksBeforeTheColonAreNotPartOfTheName) {
  const LdifRecord record = parse_ldif_record("dn : cn=x,dc=example\ncn : y\nmail  : a@b\n");
  EXPECT_EQ(record.dn, "cn=x,dc=example");
  ASSERT_EQ(record.lines.size(), 2U);
  EXPECT_EQ(record.lines[0].name, "cn");
  EXPECT_EQ(record.lines[0].value, "y");
  EXPECT_EQ(record.lines[1].name, "mail");
}

TEST(LdifWriter, Base64ExactlyWhereRfc2849RequiresIt) {
  std::ostringstream out;
  LdifWriter writer(out);
  Entry entry;
  entry.dn = "cn=J\xc3\xbcrgen,dc=x";
  entry.add("cn", "plain");
  entry.add("a", " leading space");
  entry.add("b", ":colon");
  entry.add("c", "<angle");
  entry.add("d", std::string("nul\0byte", 8));
  entry.add("e", "trailing space ");
  entry.add("f", "inner: colon < fine");
  writer.write(entry);
  const std::string text = out.str();
  EXPECT_NE(text.find("dn:: "), std::string::npos);
  EXPECT_NE(text.find("cn: plain\n"), std::string::npos);
  EXPECT_NE(text.find("a:: IGxlYWRpbmcgc3BhY2U=\n"), std::string::npos);
  EXPECT_NE(text.find("b:: "), std::string::npos);
  EXPECT_NE(text.find("c:: "), std::string::npos);
  EXPECT_NE(text.find("d:: "), std::string::npos);
  EXPECT_NE(text.find("f: inner: colon < fine\n"), std::string::npos);
}

TEST(LdifWriter, RoundTripThroughTheReaderWithFolding) {
  Entry entry;
  entry.dn = "cn=\xd0\x94,dc=x";
  entry.add("description", std::string(300, 'y'));
  entry.add("blob", std::string("\x01\x02\xff\x00\x80", 5));
  entry.add("multi", "one");
  entry.add("multi", "two");
  std::ostringstream out;
  LdifWriter(out).write(entry);
  EXPECT_NE(out.str().find("\n "), std::string::npos) << "folded";
  TempFile file(out.str());
  LdifReader reader(file.path());
  LdifRecord record;
  ASSERT_TRUE(reader.next(record));
  const Entry back = to_entry(record);
  EXPECT_EQ(back.dn, entry.dn);
  ASSERT_EQ(back.attributes.size(), entry.attributes.size());
  for (std::size_t i = 0; i < back.attributes.size(); ++i) {
    EXPECT_EQ(back.attributes[i].name, entry.attributes[i].name);
    EXPECT_EQ(back.attributes[i].values, entry.attributes[i].values);
  }
}

TEST(LdifWriter, ModifyRecords) {
  std::ostringstream out;
  LdifWriter(out).write(ModifyRecord{"uid=a,dc=x",
                                     {{ModOp::Add, "objectClass", {"inetMailUser"}},
                                      {ModOp::Replace, "mailHost", {"new.example.com"}},
                                      {ModOp::Delete, "old", {}}}});
  EXPECT_EQ(out.str(),
            "dn: uid=a,dc=x\nchangetype: modify\nadd: objectClass\nobjectClass: inetMailUser\n-\n"
            "replace: mailHost\nmailHost: new.example.com\n-\ndelete: old\n-\n\n");
}

TEST(Diff, OrderAndIdempotence) {
  Entry current{"cn=a", {{"objectClass", {"top", "zarafa-user"}}, {"zarafaA", {"1"}}, {"cn", {"a"}}}};
  Entry desired{"cn=a", {{"objectClass", {"top", "kopano-user"}}, {"kopanoA", {"1"}}, {"cn", {"a"}}}};
  const auto mods = diff_entries(current, desired);
  ASSERT_EQ(mods.size(), 4U);
  EXPECT_EQ(mods[0].attribute, "objectClass");
  EXPECT_EQ(mods[0].op, ModOp::Add);
  EXPECT_EQ(mods[1].attribute, "kopanoA");
  EXPECT_EQ(mods[2].attribute, "zarafaA");
  EXPECT_EQ(mods[2].op, ModOp::Delete);
  EXPECT_EQ(mods[3].op, ModOp::Delete);
  EXPECT_EQ(mods[3].values, std::vector<std::string>{"zarafa-user"});
  EXPECT_TRUE(diff_entries(desired, desired).empty());
  Entry case_only{"cn=a", {{"OBJECTCLASS", {"TOP", "Kopano-User"}}, {"KOPANOA", {"1"}}, {"CN", {"a"}}}};
  EXPECT_TRUE(diff_entries(case_only, desired).empty())
      << "names and class values compare case-insensitively";
}

}  // namespace
}  // namespace mailmig::directory
