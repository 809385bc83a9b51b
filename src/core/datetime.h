// An instant plus the zone offset it was written in, so a date taken from a
// source can be passed on to IMAP (INTERNALDATE) in its original zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailmig {

struct DateTime {
  std::int64_t epoch = 0;  // seconds since 1970-01-01T00:00:00Z
  int zone_minutes = 0;    // offset east of UTC the date was written in

  friend bool operator==(const DateTime&, const DateTime&) = default;
};

// Formats as IMAP date-time (RFC 3501): "01-Feb-2024 10:11:12 +0100", C locale.
std::string format_imap_datetime(const DateTime& when);
// Formats as ISO 8601 with offset: "2024-02-01T10:11:12+01:00".
std::string format_iso8601(const DateTime& when);

// Parsers return nullopt for anything they do not fully understand.
// IMAP date-time, with or without the quotes; day may be space-padded.
std::optional<DateTime> parse_imap_datetime(std::string_view text);
// asctime/ctime form as in mbox separators, taken as UTC: "Thu Feb  1 10:11:12 2024".
std::optional<DateTime> parse_ctime(std::string_view text);
// RFC 5322 date (also the obsolete forms: no weekday, two-digit year, zone names
// like GMT/EST, seconds optional, comments): "Thu, 01 Feb 2024 10:11:12 +0100".
std::optional<DateTime> parse_rfc5322_date(std::string_view text);

}  // namespace mailmig
