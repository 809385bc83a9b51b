#include "format/mutf7.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace mailmig {
namespace {

using namespace std::string_literals;

struct Vector {
  std::string utf8;
  std::string utf7;
};

// docs/protocols.md#3-modified-utf-7-mailbox-names: RFC 3501, dovecot, isync, computed.
const Vector kVectors[] = {
    {"~peter/mail/\u53F0\u5317/\u65E5\u672C\u8A9E", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"&&x&&", "&-&-x&-&-"},
    {"tiet\u00E4j\u00E4", "tiet&AOQ-j&AOQ-"},
    {"", ""},
    {"word", "word"},
    {"&", "&-"},
    {"1&1", "1&-1"},
    {"\t", "&AAk-"},
    {"m\x7Fll", "m&AH8-ll"},
    {"\u00E4", "&AOQ-"},
    {"\u00E4\u00F6\u00FC", "&AOQA9gD8-"},
    {"\u1E00\u1E01", "&HgAeAQ-"},
    {"\U0001F602", "&2D3eAg-"},
    {"\U0001F608\U0001F60E", "&2D3eCNg93g4-"},
    {"m\u00FCll", "m&APw-ll"},
    {"\u00FCber", "&APw-ber"},
    {"Entw\u00FCrfe", "Entw&APw-rfe"},
    {"Gel\u00F6schte Elemente", "Gel&APY-schte Elemente"},
    {"\u041E\u0442\u043F\u0440\u0430\u0432\u043B\u0435\u043D\u043D\u044B\u0435",
     "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
    {"\u0412\u0445\u043E\u0434\u044F\u0449\u0438\u0435", "&BBIERQQ+BDQETwRJBDgENQ-"},
    {"\u9001\u4FE1\u6E08\u307F", "&kAFP4W4IMH8-"},
    {"\u00C9l\u00E9ments envoy\u00E9s", "&AMk-l&AOk-ments envoy&AOk-s"},
};

TEST(Mutf7, EncodesReferenceVectors) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(mutf7_encode(v.utf8), v.utf7) << v.utf7;
  }
}

TEST(Mutf7, DecodesReferenceVectors) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(mutf7_decode(v.utf7), v.utf8) << v.utf7;
  }
}

TEST(Mutf7, DecodeRejectsMalformed) {
  for (const std::string& bad : {
           "&"s,      // unterminated
           "&Jjo"s,   // no "-"
           "&Jjo!"s,  // illegal char ends the shift
           "&-&"s,    // unterminated after a valid "&-"
           "&AAk"s,   // unterminated
           "&AA-"s,   // incomplete 16-bit unit
           "&*Ak-"s,  // char outside modified base64
           "&&-"s,
           "&U,BTFw-&ZeVnLIqe-"s,  // adjacent shift sequences
           "&AGE-"s,               // "a" encoded
           "&ACY-"s,               // "&" encoded
           "&ACA-"s,               // " " encoded
           "&AH4-"s,               // "~" encoded
           "&AOQAYQ-"s,            // printable ASCII inside a longer run
           "&2D0-"s,               // lone high surrogate
           "&3gI-"s,               // lone low surrogate
           "&2D0A5A-"s,            // high surrogate followed by a non-surrogate
           "&2D3YPd4C-"s,          // two high surrogates in a row
           "&5A-"s,                // a single octet (odd number of octets)
           "&AOTk-"s,              // U+00E4 followed by a single octet
           "&AOR-"s,               // non-zero leftover bits (canonical: &AOQ-)
           "&AOQ/-"s,              // "/" is not in the modified alphabet
           "&AOQ=-"s,              // no "=" padding
           "p\xE4\xE4"s,           // raw 8-bit bytes
           "\xC3\xA4"s,            // raw UTF-8
           "a\x01"s,               // control characters outside a shift
           "a\tb"s,
           "m\x7Fll"s,
           "a\0b"s,
           "&AOQ-&APY-"s,  // adjacent runs again, both valid alone
       }) {
    EXPECT_FALSE(mutf7_decode(bad)) << bad;
  }
}

TEST(Mutf7, DecodeAcceptsAmpersandAfterRun) {
  // "&-" is a literal, not a second run, so it may follow a run directly.
  EXPECT_EQ(mutf7_decode("&AOQ-&-"), "\u00E4&");
  EXPECT_EQ(mutf7_decode("&-&AOQ-"), "&\u00E4");
  EXPECT_EQ(mutf7_decode("&AOQ--"), "\u00E4-");
}

TEST(Mutf7, EncodeRejectsInvalidUtf8) {
  for (const std::string& bad : {
           "\x83\x84"s,          // stray continuation bytes
           "\xC3\xC4"s,          // lead byte without continuation
           "\xE1\xB8"s,          // truncated
           "\xF8\x9F\x98\x82"s,  // five-byte lead
           "p\xE4\xE4"s,         // Latin-1
           "\xC0\xAF"s,          // overlong "/"
           "\xC1\xBF"s,
           "\xE0\x80\xAF"s,      // overlong, three bytes
           "\xF0\x80\x80\xAF"s,  // overlong, four bytes
           "\xED\xA0\xBD"s,      // surrogate D83D encoded in UTF-8
           "\xED\xB8\x82"s,      // surrogate DE02 encoded in UTF-8
           "\xF4\x90\x80\x80"s,  // U+110000
           "\xF5\x80\x80\x80"s, "\xFF"s,
           "ok\xF0\x9F\x98"s,  // truncated at the end
       }) {
    EXPECT_FALSE(mutf7_encode(bad)) << bad;
  }
}

TEST(Mutf7, EncodesBoundaryCodePoints) {
  EXPECT_EQ(mutf7_encode(" ~"), " ~");
  EXPECT_EQ(mutf7_encode("\x1F"), "&AB8-");
  EXPECT_EQ(mutf7_encode("\u0080"), "&AIA-");
  EXPECT_EQ(mutf7_encode("\uFFFF"), "&,,8-");
  EXPECT_EQ(mutf7_encode("\U00010000"), "&2ADcAA-");
  EXPECT_EQ(mutf7_encode("\U0010FFFF"), "&2,,f,w-");
  EXPECT_EQ(mutf7_encode("\u00E4\t\u00E4"), "&AOQACQDk-");  // one merged run
}

TEST(Mutf7, RoundTrip) {
  const std::string samples[] = {
      "INBOX",
      "INBOX/Sent Items",
      "a&b",
      "&&&",
      "-&-",
      "Tr\u00E4sh",
      "\u00E4",
      "\u00E4\u00E4",
      "\u00E4\u00E4\u00E4",
      "\u00E4\u00E4\u00E4\u00E4",
      "x\U0001F602y\U0001F602",
      "\u3042&\u3044",
      "a\tb\nc",
      "\x7F\x01",
      "\u05E9\u05DC\u05D5\u05DD/\u0645\u0631\u062D\u0628\u0627",
      "\uFEFFbom",
  };
  for (const auto& s : samples) {
    const auto encoded = mutf7_encode(s);
    ASSERT_TRUE(encoded) << s;
    EXPECT_EQ(mutf7_decode(*encoded), s) << *encoded;
  }
}

// Random strings over a mix of ASCII, controls, BMP and astral code points:
// encoding must give printable ASCII that decodes back to the input.
TEST(Mutf7, RandomRoundTrip) {
  std::mt19937 rng(3501);
  const char32_t pool[] = {'a',  'Z',   '&',    '-',    ' ',    '~',    '/',     '\t',    0x7F,
                           0xE4, 0x3B1, 0x20AC, 0xD7FF, 0xE000, 0xFFFD, 0x10000, 0x1F602, 0x10FFFF};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pool) - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    for (int n = length(rng); n > 0; --n) {
      const char32_t cp = pool[pick(rng)];
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    const auto encoded = mutf7_encode(s);
    ASSERT_TRUE(encoded) << s;
    for (const char c : *encoded) ASSERT_TRUE(c >= 0x20 && c <= 0x7E) << *encoded;
    ASSERT_EQ(mutf7_decode(*encoded), s) << *encoded;
    // Canonical output is a fixed point of decode+encode.
    ASSERT_EQ(mutf7_encode(*mutf7_decode(*encoded)), encoded);
  }
}

}  // namespace
}  // namespace mailmig
