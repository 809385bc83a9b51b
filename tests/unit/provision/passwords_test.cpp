#include "provision/passwords.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/temp_tree.h"
#include "core/error.h"

namespace mailmig {
namespace {

// ---- helpers ----

// One temp directory per test, from the shared helper.
class TempDir : public testing::TempTree {
 public:
  TempDir() : TempTree("mailmig-pass") {}
  [[nodiscard]] const std::string& path() const { return root(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sets the umask for the scope of the object.
class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : old_(::umask(mask)) {}
  UmaskScope(const UmaskScope&) = delete;
  UmaskScope& operator=(const UmaskScope&) = delete;
  ~UmaskScope() { ::umask(old_); }

 private:
  mode_t old_;
};

// A strict RFC 4180 reader: CRLF record ends, quotes only around whole
// fields, doubled quotes inside them. Fails the test on anything else.
std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false;
  bool was_quoted = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          i += 2;
        } else {
          in_quotes = false;
          ++i;
          if (i < text.size() && text[i] != ',' && text[i] != '\r') {
            ADD_FAILURE() << "text after a closing quote at " << i;
          }
        }
      } else {
        field += c;
        ++i;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) ADD_FAILURE() << "quote inside an unquoted field at " << i;
      in_quotes = true;
      was_quoted = true;
      ++i;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      was_quoted = false;
      ++i;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(field);
      rows.push_back(row);
      row.clear();
      field.clear();
      was_quoted = false;
      i += 2;
    } else if (c == '\r' || c == '\n') {
      ADD_FAILURE() << "bare line break outside quotes at " << i;
      ++i;
    } else {
      field += c;
      ++i;
    }
  }
  EXPECT_FALSE(in_quotes) << "unterminated quoted field";
  EXPECT_TRUE(row.empty() && field.empty()) << "the last record does not end with CRLF";
  return rows;
}

bool in_set(char c, std::string_view set) {
  return set.find(c) != std::string_view::npos;
}

constexpr std::string_view kUpper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
constexpr std::string_view kLower = "abcdefghijkmnpqrstuvwxyz";
constexpr std::string_view kDigits = "23456789";
constexpr std::string_view kSymbols = "-._~";

// ---- choose_password ----

struct PrecedenceRow {
  const char* name;
  std::string force_set_pass;
  std::string set_pass;
  PasswordInfo::Kind kind;
  std::string stored;
  PasswordHow how;
  std::string password;  // expected; empty for a generated one
};

PasswordInfo stored_password(PasswordInfo::Kind kind, const std::string& value) {
  PasswordInfo info;
  info.kind = kind;
  info.value = value;
  if (kind == PasswordInfo::Kind::Encrypted) info.scheme = "U-crpt";
  return info;
}

class Precedence : public ::testing::TestWithParam<PrecedenceRow> {};

TEST_P(Precedence, ChoosesAsTheSeedSays) {
  const PrecedenceRow& row = GetParam();
  const PasswordRules rules{row.force_set_pass, row.set_pass};
  const ChosenPassword chosen = choose_password(rules, stored_password(row.kind, row.stored));
  EXPECT_EQ(row.how, chosen.how) << password_how_name(chosen.how);
  if (row.how == PasswordHow::Generated) {
    EXPECT_EQ(16U, chosen.password.size());
    EXPECT_NE(row.stored, chosen.password);
  } else {
    EXPECT_EQ(row.password, chosen.password);
  }
}

using K = PasswordInfo::Kind;
INSTANTIATE_TEST_SUITE_P(
    Rows, Precedence,
    ::testing::Values(
        // -forceSetPass beats everything
        PrecedenceRow{"ForcedOverPlain", "F0rce", "S3t", K::Plain, "plain", PasswordHow::Forced, "F0rce"},
        PrecedenceRow{"ForcedOverPlainWithoutSet", "F0rce", "", K::Plain, "plain", PasswordHow::Forced,
                      "F0rce"},
        PrecedenceRow{"ForcedOverEncrypted", "F0rce", "S3t", K::Encrypted, "U-crpt$1$a$b",
                      PasswordHow::Forced, "F0rce"},
        PrecedenceRow{"ForcedOverMissing", "F0rce", "", K::None, "", PasswordHow::Forced, "F0rce"},
        // the plain CommuniGate password beats -setPass
        PrecedenceRow{"PlainOverSet", "", "S3t", K::Plain, "plain", PasswordHow::Migrated, "plain"},
        PrecedenceRow{"PlainWithoutSet", "", "", K::Plain, "plain", PasswordHow::Migrated, "plain"},
        // -setPass when the stored one cannot be read
        PrecedenceRow{"SetForEncrypted", "", "S3t", K::Encrypted, "U-crpt$1$a$b", PasswordHow::Set, "S3t"},
        PrecedenceRow{"SetForMissing", "", "S3t", K::None, "", PasswordHow::Set, "S3t"},
        PrecedenceRow{"SetForEmptyPlain", "", "S3t", K::Plain, "", PasswordHow::Set, "S3t"},
        // otherwise generated
        PrecedenceRow{"GeneratedForEncrypted", "", "", K::Encrypted, "U-crpt$1$a$b", PasswordHow::Generated,
                      ""},
        PrecedenceRow{"GeneratedForMissing", "", "", K::None, "", PasswordHow::Generated, ""},
        PrecedenceRow{"GeneratedForEmptyPlain", "", "", K::Plain, "", PasswordHow::Generated, ""}),
    [](const ::testing::TestParamInfo<PrecedenceRow>& row) { return std::string(row.param.name); });

TEST(PasswordHowName, Names) {
  EXPECT_STREQ("forced", password_how_name(PasswordHow::Forced));
  EXPECT_STREQ("migrated", password_how_name(PasswordHow::Migrated));
  EXPECT_STREQ("set", password_how_name(PasswordHow::Set));
  EXPECT_STREQ("generated", password_how_name(PasswordHow::Generated));
}

// ---- generate_password ----

TEST(GeneratePassword, EveryClassAlwaysAndUniqueOver1000Draws) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string p = generate_password();
    ASSERT_EQ(16U, p.size());
    bool upper = false;
    bool lower = false;
    bool digit = false;
    bool symbol = false;
    for (char c : p) {
      upper = upper || in_set(c, kUpper);
      lower = lower || in_set(c, kLower);
      digit = digit || in_set(c, kDigits);
      symbol = symbol || in_set(c, kSymbols);
      ASSERT_TRUE(in_set(c, kUpper) || in_set(c, kLower) || in_set(c, kDigits) || in_set(c, kSymbols))
          << "unexpected character '" << c << "' in " << p;
    }
    EXPECT_TRUE(upper && lower && digit && symbol) << p;
    EXPECT_FALSE(in_set(p.front(), kSymbols)) << "starts with a symbol: " << p;
    seen.insert(p);
  }
  EXPECT_EQ(1000U, seen.size());
}

TEST(GeneratePassword, NoLookAlikesNorCsvOrShellSpecials) {
  for (int i = 0; i < 200; ++i) {
    const std::string p = generate_password(32);
    EXPECT_EQ(std::string::npos, p.find_first_of("0Oo1lI")) << p;
    EXPECT_EQ(std::string::npos, p.find_first_of(",\"'\\ \t\r\n$`!;&|<>(){}[]*?#")) << p;
    EXPECT_EQ(PassFile::csv_field(p), p) << "needs CSV quoting: " << p;
  }
}

TEST(GeneratePassword, EveryCharacterOfTheAlphabetShowsUp) {
  std::set<char> seen;
  for (int i = 0; i < 300; ++i) {
    for (char c : generate_password(32)) seen.insert(c);
  }
  EXPECT_EQ(kUpper.size() + kLower.size() + kDigits.size() + kSymbols.size(), seen.size());
}

TEST(GeneratePassword, Lengths) {
  for (std::size_t length : {4U, 5U, 64U, 200U}) {
    const std::string p = generate_password(length);
    EXPECT_EQ(length, p.size());
    EXPECT_NE(std::string::npos, p.find_first_of(kUpper));
    EXPECT_NE(std::string::npos, p.find_first_of(kLower));
    EXPECT_NE(std::string::npos, p.find_first_of(kDigits));
    EXPECT_NE(std::string::npos, p.find_first_of(kSymbols));
  }
  EXPECT_THROW(generate_password(3), std::invalid_argument);
  EXPECT_THROW(generate_password(0), std::invalid_argument);
}

// ---- CSV ----

TEST(CsvField, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ("plain", PassFile::csv_field("plain"));
  EXPECT_EQ("", PassFile::csv_field(""));
  EXPECT_EQ("in\tside", PassFile::csv_field("in\tside"));
  EXPECT_EQ("p\xC3\xA4ss", PassFile::csv_field("p\xC3\xA4ss"));
  EXPECT_EQ("\"a,b\"", PassFile::csv_field("a,b"));
  EXPECT_EQ("\"say \"\"hi\"\"\"", PassFile::csv_field("say \"hi\""));
  EXPECT_EQ("\"\"\"\"", PassFile::csv_field("\""));
  EXPECT_EQ("\"a\r\nb\"", PassFile::csv_field("a\r\nb"));
  EXPECT_EQ("\"a\nb\"", PassFile::csv_field("a\nb"));
  EXPECT_EQ("\"a\rb\"", PassFile::csv_field("a\rb"));
  EXPECT_EQ("\" lead\"", PassFile::csv_field(" lead"));
  EXPECT_EQ("\"trail \"", PassFile::csv_field("trail "));
  EXPECT_EQ("\"\tlead\"", PassFile::csv_field("\tlead"));
  EXPECT_EQ("\"trail\t\"", PassFile::csv_field("trail\t"));
}

TEST(PassFile, RoundTripsHardPasswords) {
  TempDir dir;
  const std::string path = dir.file("x.pass");
  const std::vector<std::vector<std::string>> rows = {
      {"plain@example.com", "S1mple", "migrated"},
      {"comma@example.com", "a,b,,c", "set"},
      {"quote@example.com", "say \"hi\" \"", "forced"},
      {"tab@example.com", "\tin\tside\t", "migrated"},
      {"newline@example.com", "line1\nline2\r\nline3\r", "migrated"},
      {"utf8@example.com", "p\xC3\xA4ssw\xC3\xB6rd \xE2\x82\xAC \xF0\x9F\x94\x91", "migrated"},
      {"spaces@example.com", "  padded  ", "migrated"},
      {"quoteonly@example.com", "\"", "migrated"},
      {"generated@example.com", generate_password(), "generated"},
  };
  {
    PassFile file(path);
    EXPECT_EQ(path, file.path());
    for (const auto& row : rows) {
      const PasswordHow how = row[2] == "forced"     ? PasswordHow::Forced
                              : row[2] == "migrated" ? PasswordHow::Migrated
                              : row[2] == "set"      ? PasswordHow::Set
                                                     : PasswordHow::Generated;
      file.add(row[0], row[1], how);
    }
    file.close();
  }
  const std::string text = slurp(path);
  EXPECT_TRUE(text.starts_with("account,password,how\r\n"));
  auto parsed = parse_csv(text);
  ASSERT_EQ(rows.size() + 1, parsed.size());
  EXPECT_EQ((std::vector<std::string>{"account", "password", "how"}), parsed[0]);
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], parsed[i + 1]) << "row " << i;
}

TEST(PassFile, HeaderExistsBeforeTheFirstPassword) {
  TempDir dir;
  const std::string path = dir.file("early.pass");
  PassFile file(path);
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(static_cast<mode_t>(0600), st.st_mode & 07777);
  EXPECT_EQ("account,password,how\r\n", slurp(path));
  file.add("a@b", "x", PasswordHow::Set);
  EXPECT_EQ("account,password,how\r\na@b,x,set\r\n", slurp(path)) << "each row reaches the file at once";
}

TEST(PassFile, WholeRowsLengthEndsAfterTheLastCrlf) {
  EXPECT_EQ(0U, PassFile::whole_rows_length(""));
  EXPECT_EQ(0U, PassFile::whole_rows_length("account,pass"));
  EXPECT_EQ(22U, PassFile::whole_rows_length("account,password,how\r\n"));
  EXPECT_EQ(22U, PassFile::whole_rows_length("account,password,how\r\nu@d,PBga-RcJ,gener"));
  EXPECT_EQ(22U, PassFile::whole_rows_length("account,password,how\r\nu@d,x,gen\r"));
}

// A full disk once cut a row after "gener"; the resumed run then wrote the
// next row onto it ("generuser50@...") and the password of both was lost.
TEST(PassFile, AResumedFileDropsARowCutShort) {
  TempDir dir;
  const std::string path = dir.file("cut.pass");
  {
    PassFile file(path);
    file.add("a@d", "one", PasswordHow::Set);
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "b@d,tw";
  }
  {
    PassFile file(path, PassFile::Existing::Resume);
    file.add("b@d", "two", PasswordHow::Generated);
  }
  EXPECT_EQ("account,password,how\r\na@d,one,set\r\nb@d,two,generated\r\n", slurp(path));
}

TEST(PassFile, Mode0600WhateverTheUmask) {
  TempDir dir;
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{0277}, mode_t{0777}}) {
    const std::string path = dir.file("umask" + std::to_string(mask) + ".pass");
    {
      const UmaskScope scope(mask);
      PassFile file(path);
      file.add("u@d", "p", PasswordHow::Generated);
      file.close();
    }
    struct stat st {};
    ASSERT_EQ(0, ::stat(path.c_str(), &st));
    EXPECT_EQ(static_cast<mode_t>(0600), st.st_mode & 07777) << "umask " << std::oct << mask;
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(::geteuid(), st.st_uid);
  }
}

TEST(PassFile, RefusesAnExistingFileAndLeavesItAlone) {
  TempDir dir;
  const std::string path = dir.file("taken.pass");
  {
    std::ofstream out(path, std::ios::binary);
    out << "someone else's";
  }
  EXPECT_THROW(PassFile{path}, IoError);
  EXPECT_EQ("someone else's", slurp(path));
  try {
    PassFile file(path);
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_EQ(EEXIST, e.error_number());
  }
}

TEST(PassFile, RefusesASymlink) {
  TempDir dir;
  const std::string target = dir.file("target");
  const std::string link = dir.file("link.pass");
  ASSERT_EQ(0, ::symlink(target.c_str(), link.c_str()));
  EXPECT_THROW(PassFile{link}, IoError);
  EXPECT_FALSE(std::filesystem::exists(target)) << "created through the symlink";
}

TEST(PassFile, ConcurrentAddsKeepRowsWhole) {
  TempDir dir;
  const std::string path = dir.file("threads.pass");
  constexpr int kThreads = 8;
  constexpr int kRows = 200;
  {
    PassFile file(path);
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&file, t] {
        for (int r = 0; r < kRows; ++r) {
          const std::string id = std::to_string(t) + "-" + std::to_string(r);
          file.add("user" + id + "@example.com", "pw,\"" + id + "\"\n" + std::string(100, 'x'),
                   PasswordHow::Set);
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // the destructor closes
  auto parsed = parse_csv(slurp(path));
  ASSERT_EQ(static_cast<std::size_t>(kThreads * kRows + 1), parsed.size());
  std::set<std::string> accounts;
  for (std::size_t i = 1; i < parsed.size(); ++i) {
    ASSERT_EQ(3U, parsed[i].size());
    const std::string id = parsed[i][0].substr(4, parsed[i][0].find('@') - 4);
    EXPECT_EQ("pw,\"" + id + "\"\n" + std::string(100, 'x'), parsed[i][1]);
    EXPECT_EQ("set", parsed[i][2]);
    accounts.insert(parsed[i][0]);
  }
  EXPECT_EQ(static_cast<std::size_t>(kThreads * kRows), accounts.size());
}

TEST(PassFile, CloseTwiceIsFineAddAfterCloseIsNot) {
  TempDir dir;
  PassFile file(dir.file("closed.pass"));
  file.close();
  EXPECT_NO_THROW(file.close());
  EXPECT_THROW(file.add("a@b", "p", PasswordHow::Set), std::logic_error);
}

TEST(PassFile, DefaultNameIsLocalTime) {
  // 2005-05-10 09:35:18 in local time, as in the cg2kms manual's example.
  std::tm local{};
  local.tm_year = 2005 - 1900;
  local.tm_mon = 4;
  local.tm_mday = 10;
  local.tm_hour = 9;
  local.tm_min = 35;
  local.tm_sec = 18;
  local.tm_isdst = -1;
  const std::time_t t = std::mktime(&local);
  ASSERT_NE(static_cast<std::time_t>(-1), t);
  const auto when = std::chrono::system_clock::from_time_t(t) + std::chrono::milliseconds(999);
  EXPECT_EQ("cg2kms_2005-05-10_09-35-18.pass", PassFile::default_name(when));
  EXPECT_EQ("mailmig_2005-05-10_09-35-18.pass", PassFile::default_name(when, "mailmig"));
  const std::string now = PassFile::default_name(std::chrono::system_clock::now());
  EXPECT_TRUE(std::regex_match(now, std::regex(R"(cg2kms_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.pass)")))
      << now;
}

}  // namespace
}  // namespace mailmig
