#include "core/datetime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace mailmig {
namespace {

// 2024-02-01T09:11:12Z, i.e. "Thu, 01 Feb 2024 10:11:12 +0100".
constexpr std::int64_t kFeb1 = 1706778672;

// ---- formatting --------------------------------------------------------------

TEST(FormatImapDatetime, KnownValues) {
  EXPECT_EQ(format_imap_datetime({kFeb1, 60}), "01-Feb-2024 10:11:12 +0100");
  EXPECT_EQ(format_imap_datetime({kFeb1, 0}), "01-Feb-2024 09:11:12 +0000");
  EXPECT_EQ(format_imap_datetime({0, 0}), "01-Jan-1970 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({253402300799, 0}), "31-Dec-9999 23:59:59 +0000");
  EXPECT_EQ(format_imap_datetime({1709164800, 0}), "29-Feb-2024 00:00:00 +0000");
}

TEST(FormatImapDatetime, ZonesCrossingMidnight) {
  // 2024-01-02T04:30Z is still the 1st in New York.
  EXPECT_EQ(format_imap_datetime({1704169800, -300}), "01-Jan-2024 23:30:00 -0500");
  EXPECT_EQ(format_imap_datetime({1704169800, 0}), "02-Jan-2024 04:30:00 +0000");
  // 2023-12-31T22:30Z is already the new year in +0200.
  EXPECT_EQ(format_imap_datetime({1704061800, 120}), "01-Jan-2024 00:30:00 +0200");
  // Half-hour zones and the extremes of the zone range.
  EXPECT_EQ(format_imap_datetime({kFeb1, 330}), "01-Feb-2024 14:41:12 +0530");
  EXPECT_EQ(format_imap_datetime({kFeb1, -210}), "01-Feb-2024 05:41:12 -0330");
  EXPECT_EQ(format_imap_datetime({0, 23 * 60 + 59}), "01-Jan-1970 23:59:00 +2359");
  EXPECT_EQ(format_imap_datetime({0, -(23 * 60 + 59)}), "31-Dec-1969 00:01:00 -2359");
}

TEST(FormatImapDatetime, BeforeEpoch) {
  EXPECT_EQ(format_imap_datetime({-1, 0}), "31-Dec-1969 23:59:59 +0000");
  EXPECT_EQ(format_imap_datetime({-2208988800, 0}), "01-Jan-1900 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({-62135596800, 0}), "01-Jan-0001 00:00:00 +0000");
}

// 1900 and 2100 are century years without 29 February, 2000 (divisible by
// 400) has one: the day after 28 February differs.
TEST(FormatImapDatetime, CenturyLeapYears) {
  EXPECT_EQ(format_imap_datetime({-2203977600, 0}), "28-Feb-1900 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({-2203977600 + 86400, 0}), "01-Mar-1900 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({951782400 - 86400, 0}), "28-Feb-2000 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({951782400, 0}), "29-Feb-2000 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({951782400 + 86400, 0}), "01-Mar-2000 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({4107549600 - 2 * 3600 - 86400, 0}), "28-Feb-2100 00:00:00 +0000");
  EXPECT_EQ(format_imap_datetime({4107549600 - 2 * 3600, 0}), "01-Mar-2100 00:00:00 +0000");
}

// A negative offset moves the local date back across the end of a month
// (of 28, 29, 30 or 31 days) or year; a positive one moves it forward.
TEST(FormatImapDatetime, OffsetsCrossingMonthEnds) {
  EXPECT_EQ(format_imap_datetime({1709262000, -300}), "29-Feb-2024 22:00:00 -0500");
  EXPECT_EQ(format_imap_datetime({1677639600, -300}), "28-Feb-2023 22:00:00 -0500");
  EXPECT_EQ(format_imap_datetime({951872400, -120}), "29-Feb-2000 23:00:00 -0200");
  EXPECT_EQ(format_imap_datetime({4107549600, -180}), "28-Feb-2100 23:00:00 -0300");
  EXPECT_EQ(format_imap_datetime({-2203891200, -1}), "28-Feb-1900 23:59:00 -0001");
  EXPECT_EQ(format_imap_datetime({1714522200, -30}), "30-Apr-2024 23:40:00 -0030");
  EXPECT_EQ(format_imap_datetime({1704069000, -60}), "31-Dec-2023 23:30:00 -0100");
  EXPECT_EQ(format_imap_datetime({-26424000, -300}), "28-Feb-1969 23:00:00 -0500");
  EXPECT_EQ(format_imap_datetime({4107540600, 60}), "01-Mar-2100 00:30:00 +0100");
  EXPECT_EQ(format_iso8601({1709262000, -300}), "2024-02-29T22:00:00-05:00");
  EXPECT_EQ(format_iso8601({4107540600, 60}), "2100-03-01T00:30:00+01:00");
}

TEST(FormatIso8601, KnownValues) {
  EXPECT_EQ(format_iso8601({kFeb1, 60}), "2024-02-01T10:11:12+01:00");
  EXPECT_EQ(format_iso8601({0, 0}), "1970-01-01T00:00:00+00:00");
  EXPECT_EQ(format_iso8601({1704169800, -300}), "2024-01-01T23:30:00-05:00");
  EXPECT_EQ(format_iso8601({kFeb1, 330}), "2024-02-01T14:41:12+05:30");
  EXPECT_EQ(format_iso8601({kFeb1, -210}), "2024-02-01T05:41:12-03:30");
  EXPECT_EQ(format_iso8601({-1, 0}), "1969-12-31T23:59:59+00:00");
}

// ---- IMAP date-time ------------------------------------------------------------

TEST(ParseImapDatetime, AcceptedForms) {
  const DateTime expected{kFeb1, 60};
  EXPECT_EQ(parse_imap_datetime("01-Feb-2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_imap_datetime("\"01-Feb-2024 10:11:12 +0100\""), expected);
  EXPECT_EQ(parse_imap_datetime(" 1-Feb-2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_imap_datetime("\" 1-Feb-2024 10:11:12 +0100\""), expected);
  EXPECT_EQ(parse_imap_datetime("1-Feb-2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_imap_datetime("01-FEB-2024 10:11:12 +0100"), expected);  // case-insensitive
  EXPECT_EQ(parse_imap_datetime("01-Feb-2024 09:11:12 +0000"), (DateTime{kFeb1, 0}));
  EXPECT_EQ(parse_imap_datetime("01-Feb-2024 09:11:12 -0000"), (DateTime{kFeb1, 0}));
}

TEST(ParseImapDatetime, EveryMonthName) {
  const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t previous = 0;
  for (const char* name : names) {
    const auto parsed = parse_imap_datetime(std::string("01-") + name + "-2024 00:00:00 +0000");
    ASSERT_TRUE(parsed) << name;
    EXPECT_GT(parsed->epoch, previous) << name;
    previous = parsed->epoch;
  }
  EXPECT_EQ(previous, 1733011200);  // 2024-12-01T00:00Z
}

TEST(ParseImapDatetime, NegativeZoneCrossingMidnight) {
  EXPECT_EQ(parse_imap_datetime("01-Jan-2024 23:30:00 -0500"), (DateTime{1704169800, -300}));
  EXPECT_EQ(parse_imap_datetime("01-Jan-2024 00:30:00 +0200"), (DateTime{1704061800, 120}));
  EXPECT_EQ(parse_imap_datetime("31-Dec-1969 00:01:00 -2359"), (DateTime{0, -1439}));
}

TEST(ParseImapDatetime, LeapYears) {
  EXPECT_EQ(parse_imap_datetime("29-Feb-2024 00:00:00 +0000"), (DateTime{1709164800, 0}));
  EXPECT_EQ(parse_imap_datetime("29-Feb-2000 00:00:00 +0000"), (DateTime{951782400, 0}));
  EXPECT_FALSE(parse_imap_datetime("29-Feb-2023 00:00:00 +0000"));
  EXPECT_FALSE(parse_imap_datetime("29-Feb-1900 00:00:00 +0000"));  // century, not /400
  EXPECT_FALSE(parse_imap_datetime("29-Feb-2100 00:00:00 +0000"));
  EXPECT_FALSE(parse_imap_datetime("30-Feb-2024 00:00:00 +0000"));
}

TEST(ParseImapDatetime, CenturyYearsAndMonthLengths) {
  EXPECT_EQ(parse_imap_datetime("28-Feb-1900 00:00:00 +0000"), (DateTime{-2203977600, 0}));
  EXPECT_EQ(parse_imap_datetime("01-Mar-1900 00:00:00 +0000"), (DateTime{-2203891200, 0}));
  EXPECT_EQ(parse_imap_datetime("01-Mar-2100 02:00:00 +0000"), (DateTime{4107549600, 0}));
  for (const char* bad :
       {"31-Apr-2024 00:00:00 +0000", "31-Jun-2024 00:00:00 +0000", "31-Sep-2024 00:00:00 +0000",
        "31-Nov-2024 00:00:00 +0000", "32-Jan-2024 00:00:00 +0000", "00-Jan-2024 00:00:00 +0000"}) {
    EXPECT_FALSE(parse_imap_datetime(bad)) << bad;
  }
  EXPECT_TRUE(parse_imap_datetime("31-Dec-9999 23:59:59 +0000"));
  EXPECT_TRUE(parse_imap_datetime("01-Jan-0000 00:00:00 +0000"));
}

// The local date a negative offset gives is the day before in UTC, across
// the end of February (leap or not), of a 30-day month and of the year.
TEST(ParseImapDatetime, NegativeOffsetsCrossingMonthEnds) {
  EXPECT_EQ(parse_imap_datetime("29-Feb-2024 22:00:00 -0500"), (DateTime{1709262000, -300}));
  EXPECT_EQ(parse_imap_datetime("28-Feb-2023 22:00:00 -0500"), (DateTime{1677639600, -300}));
  EXPECT_EQ(parse_imap_datetime("29-Feb-2000 23:00:00 -0200"), (DateTime{951872400, -120}));
  EXPECT_EQ(parse_imap_datetime("28-Feb-2100 23:00:00 -0300"), (DateTime{4107549600, -180}));
  EXPECT_EQ(parse_imap_datetime("30-Apr-2024 23:40:00 -0030"), (DateTime{1714522200, -30}));
  EXPECT_EQ(parse_imap_datetime("31-Dec-2023 23:30:00 -0100"), (DateTime{1704069000, -60}));
  EXPECT_EQ(parse_rfc5322_date("Thu, 29 Feb 2024 22:00:00 EST"), (DateTime{1709262000, -300}));
  EXPECT_EQ(parse_ctime("Sat Feb 28 23:00:00 1969 -0500"), (DateTime{-26424000, -300}));
}

TEST(ParseImapDatetime, LeapSecondIsClamped) {
  EXPECT_EQ(parse_imap_datetime("31-Dec-2016 23:59:60 +0000"), (DateTime{1483228799, 0}));
}

TEST(ParseImapDatetime, Rejects) {
  for (const char* bad : {
           "",
           "\"\"",
           "01-Feb-2024 10:11:12",         // zone required
           "01-Feb-2024 10:11:12 UTC",     // numeric zone only
           "01-Feb-2024 10:11:12 +100",    // zone too short
           "01-Feb-2024 10:11:12 +01000",  // zone too long
           "01-Feb-2024 10:11:12 0100",    // zone sign required
           "01-Feb-2024 10:11:12 +2400",   // zone hours
           "01-Feb-2024 10:11:12 +0160",   // zone minutes
           "01-Feb-2024 10:11 +0100",      // seconds required
           "01-Feb-24 10:11:12 +0100",     // four-digit year
           "01-Fbr-2024 10:11:12 +0100",   // month name
           "01-February-2024 10:11:12 +0100",
           "001-Feb-2024 10:11:12 +0100",
           "00-Feb-2024 10:11:12 +0100",
           "31-Apr-2024 10:11:12 +0100",
           "01-Feb-2024 24:00:00 +0100",
           "01-Feb-2024 10:60:00 +0100",
           "01-Feb-2024 10:11:61 +0100",
           "01-Feb-2024 1:11:12 +0100",
           "01-Feb-2024  10:11:12 +0100",  // one space only
           "01-Feb-2024 10:11:12 +0100 ",  // trailing garbage
           "01-Feb-2024 10:11:12 +0100x",
           "\"01-Feb-2024 10:11:12 +0100",  // unbalanced quote
           "01-Feb-2024 10:11:12 +0100\"",
           "  1-Feb-2024 10:11:12 +0100",
           "01/Feb/2024 10:11:12 +0100",
       }) {
    EXPECT_FALSE(parse_imap_datetime(bad)) << bad;
  }
}

// Every day from 1900 to 2100 parses to midnight exactly one day after the
// previous one and formats back to the same text: checks the calendar math.
TEST(ParseImapDatetime, ConsecutiveDaysRoundTrip) {
  std::int64_t expected = -2208988800;  // 1900-01-01T00:00Z
  std::string text = format_imap_datetime({expected, 0});
  int days = 0;
  while (expected < 4133980800) {  // 2101-01-01T00:00Z
    text = format_imap_datetime({expected, 0});
    const auto parsed = parse_imap_datetime(text);
    ASSERT_TRUE(parsed) << text;
    ASSERT_EQ(parsed->epoch, expected) << text;
    expected += 86400;
    ++days;
  }
  EXPECT_EQ(text, "31-Dec-2100 00:00:00 +0000");
  EXPECT_EQ(days, 73414);  // 201 years, 49 of them leap
}

TEST(ParseImapDatetime, RandomRoundTrip) {
  std::mt19937_64 rng(20240201);
  // 1900-01-01 .. 9999-01-01 UTC, so any zone keeps the local year at four digits.
  std::uniform_int_distribution<std::int64_t> epoch(-2208988800, 253370764800);
  std::uniform_int_distribution<int> zone(-1439, 1439);
  for (int i = 0; i < 20000; ++i) {
    const DateTime when{epoch(rng), zone(rng)};
    const std::string text = format_imap_datetime(when);
    ASSERT_EQ(parse_imap_datetime(text), when) << text;
    ASSERT_EQ(parse_imap_datetime("\"" + text + "\""), when) << text;
  }
}

// ---- ctime ---------------------------------------------------------------------

TEST(ParseCtime, AcceptedForms) {
  const DateTime expected{1706782272, 0};  // 2024-02-01T10:11:12Z
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024"), expected);
  EXPECT_EQ(parse_ctime("Thu Feb 1 10:11:12 2024"), expected);
  EXPECT_EQ(parse_ctime("Thu Feb 01 10:11:12 2024"), expected);
  EXPECT_EQ(parse_ctime("Feb  1 10:11:12 2024"), expected);  // weekday left out
  EXPECT_EQ(parse_ctime("Thu   Feb   1   10:11:12   2024"), expected);
  EXPECT_EQ(parse_ctime("Mon Feb  1 10:11:12 2024"), expected);  // wrong weekday tolerated
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11 2024"), (DateTime{1706782260, 0}));
  EXPECT_EQ(parse_ctime("Thu Dec 31 23:59:59 1969"), (DateTime{-1, 0}));
}

TEST(ParseCtime, TrailingZone) {
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024 UTC"), (DateTime{1706782272, 0}));
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024 GMT"), (DateTime{1706782272, 0}));
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024 +0000"), (DateTime{1706782272, 0}));
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024 +0100"), (DateTime{kFeb1, 60}));
  EXPECT_EQ(parse_ctime("Thu Feb  1 23:30:00 2024 -0500"), (DateTime{1706848200, -300}));
  EXPECT_EQ(parse_ctime("Thu Feb  1 10:11:12 2024 EST"), (DateTime{1706800272, -300}));
}

TEST(ParseCtime, LeapYears) {
  EXPECT_EQ(parse_ctime("Thu Feb 29 00:00:00 2024"), (DateTime{1709164800, 0}));
  EXPECT_FALSE(parse_ctime("Wed Feb 29 00:00:00 2023"));
}

TEST(ParseCtime, Rejects) {
  for (const char* bad : {
           "",
           "Thu Feb  1 10:11:12",       // no year
           "Thu Feb  1 10:11:12 24",    // two-digit year
           "Thu Feb  1 2024 10:11:12",  // year before time
           "Thu Feb 30 10:11:12 2024",
           "Thu Feb  1 24:11:12 2024",
           "Thu Feb  1 10:61:12 2024",
           "Thu Feb  1 10:11:62 2024",
           "Thu Feb  1 10:11:12 2024 XYZ",  // unknown zone name
           "Thu Feb  1 10:11:12 2024 +2400",
           "Thu Feb  1 10:11:12 2024 UTC extra",
           "Thu Feb  1 10:11:12 2024x",
           "Xyz Feb  1 10:11:12 2024",
           "Thu Foo  1 10:11:12 2024",
           "Thu, Feb  1 10:11:12 2024",
           "ThuFeb  1 10:11:12 2024",
           "Thu Feb  1 10.11.12 2024",
       }) {
    EXPECT_FALSE(parse_ctime(bad)) << bad;
  }
}

// ---- RFC 5322 ------------------------------------------------------------------

TEST(ParseRfc5322Date, ModernForm) {
  const DateTime expected{kFeb1, 60};
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("01 Feb 2024 10:11:12 +0100"), expected);  // no weekday
  EXPECT_EQ(parse_rfc5322_date("Thu, 1 Feb 2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("thu, 01 feb 2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 10:11 +0100"), (DateTime{kFeb1 - 12, 60}));
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 09:11:12 -0000"), (DateTime{kFeb1, 0}));
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 04:11:12 -0500"), (DateTime{kFeb1, -300}));
  EXPECT_EQ(parse_rfc5322_date("Mon, 01 Jan 2024 23:30:00 -0500"), (DateTime{1704169800, -300}));
  EXPECT_EQ(parse_rfc5322_date("Sat, 31 Dec 2016 23:59:60 +0000"), (DateTime{1483228799, 0}));
}

TEST(ParseRfc5322Date, ObsoleteYears) {
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 24 10:11:12 +0100"), (DateTime{kFeb1, 60}));
  EXPECT_EQ(parse_rfc5322_date("01 Feb 99 00:00:00 +0000"), (DateTime{917827200, 0}));
  EXPECT_EQ(parse_rfc5322_date("01 Feb 49 00:00:00 +0000"), (DateTime{2495750400, 0}));
  EXPECT_EQ(parse_rfc5322_date("01 Feb 50 00:00:00 +0000"), (DateTime{-628473600, 0}));
  EXPECT_EQ(parse_rfc5322_date("01 Feb 124 10:11:12 +0100"), (DateTime{kFeb1, 60}));
  EXPECT_EQ(parse_rfc5322_date("01 Feb 099 00:00:00 +0000"), (DateTime{917827200, 0}));
}

TEST(ParseRfc5322Date, ZoneNames) {
  struct Case {
    const char* zone;
    int minutes;
  };
  for (const Case c : {Case{"UT", 0}, Case{"UTC", 0}, Case{"GMT", 0}, Case{"gmt", 0}, Case{"EST", -300},
                       Case{"EDT", -240}, Case{"CST", -360}, Case{"CDT", -300}, Case{"MST", -420},
                       Case{"MDT", -360}, Case{"PST", -480}, Case{"PDT", -420}, Case{"Z", 0}, Case{"A", 0},
                       Case{"M", 0}, Case{"N", 0}, Case{"Y", 0}, Case{"z", 0}}) {
    // The wall time that is 09:11:12Z in that zone.
    const int local = 9 * 60 + 11 + c.minutes;
    const std::string text =
        "Thu, 01 Feb 2024 " + std::to_string(local / 60) + ":" + std::to_string(local % 60) + ":12 " + c.zone;
    EXPECT_EQ(parse_rfc5322_date(text), (DateTime{kFeb1, c.minutes})) << text;
  }
  EXPECT_FALSE(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 J"));  // not a military zone
  EXPECT_FALSE(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 CET"));
  EXPECT_FALSE(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 GMT+1"));
}

TEST(ParseRfc5322Date, CommentsAndWhitespace) {
  const DateTime expected{kFeb1, 60};
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 +0100 (CET)"), expected);
  EXPECT_EQ(parse_rfc5322_date("(x) Thu (Thursday), 01 (a (nested) one) Feb 2024 10:11:12 +0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 10:11:12 +0100 (with \\) quoted)"), expected);
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024(c)10:11:12(c)+0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("Thu,\r\n 01\tFeb  2024   10:11:12\t+0100\r\n"), expected);
  EXPECT_EQ(parse_rfc5322_date("  Thu , 01 Feb 2024 10 : 11 : 12 +0100"), expected);
  EXPECT_EQ(parse_rfc5322_date("Thu, 01 Feb 2024 9:11:12 GMT"), (DateTime{kFeb1, 0}));
}

TEST(ParseRfc5322Date, LeapYears) {
  EXPECT_EQ(parse_rfc5322_date("Thu, 29 Feb 2024 00:00:00 +0000"), (DateTime{1709164800, 0}));
  EXPECT_FALSE(parse_rfc5322_date("Wed, 29 Feb 2023 00:00:00 +0000"));
  EXPECT_FALSE(parse_rfc5322_date("29 Feb 23 00:00:00 +0000"));
}

TEST(ParseRfc5322Date, Rejects) {
  for (const char* bad : {
           "",
           "Thu, 01 Feb 2024 10:11:12",       // zone required
           "Thu 01 Feb 2024 10:11:12 +0100",  // weekday needs its comma
           "Thursday, 01 Feb 2024 10:11:12 +0100",
           "Foo, 01 Feb 2024 10:11:12 +0100",
           ", 01 Feb 2024 10:11:12 +0100",
           "Thu, 01 Fbr 2024 10:11:12 +0100",
           "Thu, 001 Feb 2024 10:11:12 +0100",
           "Thu, 01 Feb 2 10:11:12 +0100",  // one-digit year
           "Thu, 01 Feb 20245 10:11:12 +0100",
           "Thu, 30 Feb 2024 10:11:12 +0100",
           "Thu, 00 Feb 2024 10:11:12 +0100",
           "Thu, 01 Feb 2024 24:11:12 +0100",
           "Thu, 01 Feb 2024 10:60:12 +0100",
           "Thu, 01 Feb 2024 10:11:61 +0100",
           "Thu, 01 Feb 2024 10 +0100",
           "Thu, 01 Feb 2024 10:11: +0100",
           "Thu, 01 Feb 2024 10:11:12 +2400",
           "Thu, 01 Feb 2024 10:11:12 +0160",
           "Thu, 01 Feb 2024 10:11:12 +100",
           "Thu, 01 Feb 2024 10:11:12 +0100 x",
           "Thu, 01 Feb 2024 10:11:12 +0100 (unclosed",
           "Thu, 01 Feb 2024 10:11:12 +0100 )",
           "Thu, 01 Feb 2024 10:11:12 +0100 (\\",
           "Thu, 01-Feb-2024 10:11:12 +0100",
           "Thu, 01 Feb2024 10:11:12 +0100",
       }) {
    EXPECT_FALSE(parse_rfc5322_date(bad)) << bad;
  }
}

}  // namespace
}  // namespace mailmig
