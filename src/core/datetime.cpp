#include "core/datetime.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>

#include "core/ascii.h"

// Calendar arithmetic is std::chrono's proleptic Gregorian calendar
// (year_month_day, sys_days) on plain epoch seconds: never timegm, mktime or
// strptime, which depend on the process locale and TZ environment and are not
// all thread-safe.
namespace mailmig {
namespace {

namespace chrono = std::chrono;

constexpr std::int64_t kSecondsPerDay = 86400;

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

// The instants whose local date std::chrono::year can hold (years -32767 ..
// 32767). Mail dates are far inside; an instant outside is formatted at the
// nearest end instead of overflowing the calendar.
constexpr std::int64_t kFirstSecond =
    chrono::sys_days{chrono::year::min() / chrono::January / 1}.time_since_epoch().count() * kSecondsPerDay;
constexpr std::int64_t kLastSecond =
    (chrono::sys_days{chrono::year::max() / chrono::December / 31}.time_since_epoch().count() + 1) *
        kSecondsPerDay -
    1;

// Validates the fields and builds the instant; `zone_minutes` is already checked.
std::optional<DateTime> make(std::int64_t year, int month, int day, int hour, int minute, int second,
                             int zone_minutes) {
  if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  const chrono::year_month_day date{chrono::year{static_cast<int>(year)},
                                    chrono::month{static_cast<unsigned>(month)},
                                    chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;  // 30 Feb, 29 Feb of a common year, 31 Apr, ...
  // A leap second cannot be represented in epoch seconds; keep it in the same minute.
  if (second == 60) second = 59;
  const chrono::sys_seconds local =
      chrono::sys_days{date} + chrono::hours{hour} + chrono::minutes{minute} + chrono::seconds{second};
  return DateTime{local.time_since_epoch().count() - std::int64_t{zone_minutes} * 60, zone_minutes};
}

// 1..12, or 0 when `name` is not an English month abbreviation.
int month_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (ascii_iequals(name, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool is_weekday(std::string_view name) {
  for (const auto day : kWeekdays) {
    if (ascii_iequals(name, day)) return true;
  }
  return false;
}

// Zone names of RFC 5322 §4.3 (plus "UTC"). Military letters were defined with
// the wrong sign in RFC 822, so §4.3 says to take them as -0000, i.e. UTC.
std::optional<int> zone_from_name(std::string_view name) {
  struct Named {
    std::string_view name;
    int minutes;
  };
  constexpr std::array<Named, 11> kZones = {{{"UT", 0},
                                             {"UTC", 0},
                                             {"GMT", 0},
                                             {"EST", -300},
                                             {"EDT", -240},
                                             {"CST", -360},
                                             {"CDT", -300},
                                             {"MST", -420},
                                             {"MDT", -360},
                                             {"PST", -480},
                                             {"PDT", -420}}};
  for (const auto& zone : kZones) {
    if (ascii_iequals(name, zone.name)) return zone.minutes;
  }
  if (name.size() == 1) {
    const char c = name[0];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (letter && c != 'J' && c != 'j') return 0;  // J is not a military zone
  }
  return std::nullopt;
}

struct Clock {
  int hour = 0;
  int minute = 0;
  int second = 0;
  bool has_seconds = false;
};

// A cursor over the text; every method either consumes what it matched or nothing.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  [[nodiscard]] bool done() const { return pos_ == text_.size(); }

  // Skips spaces, tabs and line breaks (folding whitespace); true if any were skipped.
  bool skip_space() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
    return pos_ != start;
  }

  bool eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  [[nodiscard]] bool at_letter() const { return pos_ < text_.size() && is_letter(text_[pos_]); }

  std::string_view letters() {
    return take_while([](char c) { return is_letter(c); });
  }

  // A run of min..max digits; nullopt (and nothing consumed) otherwise.
  std::optional<int> number(std::size_t min_digits, std::size_t max_digits) {
    const std::size_t start = pos_;
    const auto digits = take_while([](char c) { return c >= '0' && c <= '9'; });
    if (digits.size() < min_digits || digits.size() > max_digits) {
      pos_ = start;
      return std::nullopt;
    }
    int value = 0;
    for (const char c : digits) value = value * 10 + (c - '0');
    last_digits_ = digits.size();
    return value;
  }

  // How many digits the last successful number() had (to tell "24" from "0024").
  [[nodiscard]] std::size_t last_digits() const { return last_digits_; }

  // "+HHMM" / "-HHMM" with HH <= 23 and MM <= 59, as minutes east of UTC.
  std::optional<int> numeric_zone() {
    const std::size_t start = pos_;
    const bool negative = eat('-');
    if (!negative && !eat('+')) return std::nullopt;
    const auto hhmm = number(4, 4);
    if (!hhmm || *hhmm / 100 > 23 || *hhmm % 100 > 59) {
      pos_ = start;
      return std::nullopt;
    }
    const int minutes = *hhmm / 100 * 60 + *hhmm % 100;
    return negative ? -minutes : minutes;
  }

  // hh:mm[:ss]; blanks around the colons only where `loose` (RFC 5322 obs forms).
  std::optional<Clock> time(bool loose) {
    const std::size_t start = pos_;
    const auto colon = [&] {
      const std::size_t before = pos_;
      if (loose) skip_space();
      if (eat(':')) {
        if (loose) skip_space();
        return true;
      }
      pos_ = before;  // the blanks belong to the next field
      return false;
    };
    Clock clock;
    const auto h = number(loose ? 1 : 2, 2);  // some old mailers wrote "1:02:03"
    const auto m = h && colon() ? number(2, 2) : std::nullopt;
    if (!m) {
      pos_ = start;
      return std::nullopt;
    }
    clock.hour = *h;
    clock.minute = *m;
    if (colon()) {
      const auto s = number(2, 2);
      if (!s) {
        pos_ = start;
        return std::nullopt;
      }
      clock.second = *s;
      clock.has_seconds = true;
    }
    return clock;
  }

 private:
  static bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

  template <typename Pred>
  std::string_view take_while(Pred pred) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t last_digits_ = 0;
};

// Replaces RFC 5322 comments (nested, with quoted-pairs) by a blank; nullopt
// when the parentheses do not balance.
std::optional<std::string> strip_comments(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (depth > 0 && c == '\\') {
      ++i;  // quoted-pair: the next character cannot open or close a comment
      if (i == text.size()) return std::nullopt;
    } else if (c == '(') {
      if (depth++ == 0) out += ' ';
    } else if (c == ')') {
      if (depth-- == 0) return std::nullopt;
    } else if (depth == 0) {
      out += c;
    }
  }
  if (depth != 0) return std::nullopt;
  return out;
}

// The wall-clock fields of `when` in its own zone.
struct Local {
  chrono::year_month_day date;
  std::int64_t second_of_day;
};

Local to_local(const DateTime& when) {
  const std::int64_t local =
      std::clamp(when.epoch + std::int64_t{when.zone_minutes} * 60, kFirstSecond, kLastSecond);
  const chrono::sys_seconds instant{chrono::seconds{local}};
  // floor, not a cast: instants before 1970 belong to the day that began before them.
  const chrono::sys_days day = chrono::floor<chrono::days>(instant);
  return {chrono::year_month_day{day}, (instant - day).count()};
}

}  // namespace

std::string format_imap_datetime(const DateTime& when) {
  const auto [date, secs] = to_local(when);
  const int zone = std::abs(when.zone_minutes);
  return fmt::format("{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}", static_cast<unsigned>(date.day()),
                     kMonths[static_cast<unsigned>(date.month()) - 1], static_cast<int>(date.year()),
                     secs / 3600, secs / 60 % 60, secs % 60, when.zone_minutes < 0 ? '-' : '+', zone / 60,
                     zone % 60);
}

std::string format_iso8601(const DateTime& when) {
  const auto [date, secs] = to_local(when);
  const int zone = std::abs(when.zone_minutes);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), secs / 3600,
                     secs / 60 % 60, secs % 60, when.zone_minutes < 0 ? '-' : '+', zone / 60, zone % 60);
}

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
std::optional<DateTime> parse_imap_datetime(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  Scanner in(text);
  in.eat(' ');  // date-day-fixed is (SP DIGIT) / 2DIGIT; we also take a bare DIGIT
  const auto day = in.number(1, 2);
  if (!day || !in.eat('-')) return std::nullopt;
  const int month = month_from_name(in.letters());
  if (month == 0 || !in.eat('-')) return std::nullopt;
  const auto year = in.number(4, 4);
  if (!year || !in.eat(' ')) return std::nullopt;
  const auto clock = in.time(false);
  if (!clock || !clock->has_seconds || !in.eat(' ')) return std::nullopt;
  const auto zone = in.numeric_zone();
  if (!zone || !in.done()) return std::nullopt;
  return make(*year, month, *day, clock->hour, clock->minute, clock->second, *zone);
}

// Www Mmm dd hh:mm[:ss] yyyy [zone]. The weekday is not checked against the
// date: mbox writers get it wrong and it carries no information we need.
std::optional<DateTime> parse_ctime(std::string_view text) {
  Scanner in(text);
  in.skip_space();
  std::string_view word = in.letters();
  if (is_weekday(word)) {
    if (!in.skip_space()) return std::nullopt;
    word = in.letters();
  }
  const int month = month_from_name(word);
  if (month == 0 || !in.skip_space()) return std::nullopt;
  const auto day = in.number(1, 2);
  if (!day || !in.skip_space()) return std::nullopt;
  const auto clock = in.time(false);
  if (!clock || !in.skip_space()) return std::nullopt;
  const auto year = in.number(4, 4);
  if (!year) return std::nullopt;
  int zone = 0;
  if (in.skip_space() && !in.done()) {
    // Some writers append the zone; an offset is used, a known name too.
    auto parsed = in.numeric_zone();
    if (!parsed && in.at_letter()) parsed = zone_from_name(in.letters());
    if (!parsed) return std::nullopt;
    zone = *parsed;
    in.skip_space();
  }
  if (!in.done()) return std::nullopt;
  return make(*year, month, *day, clock->hour, clock->minute, clock->second, zone);
}

// [day-of-week ","] day month year time zone, RFC 5322 §3.3 including §4.3.
std::optional<DateTime> parse_rfc5322_date(std::string_view text) {
  const auto cleaned = strip_comments(text);
  if (!cleaned) return std::nullopt;
  Scanner in(*cleaned);
  in.skip_space();
  if (in.at_letter()) {
    if (!is_weekday(in.letters())) return std::nullopt;
    in.skip_space();
    if (!in.eat(',')) return std::nullopt;
    in.skip_space();
  }
  const auto day = in.number(1, 2);
  if (!day || !in.skip_space()) return std::nullopt;
  const int month = month_from_name(in.letters());
  if (month == 0 || !in.skip_space()) return std::nullopt;
  auto year = in.number(2, 4);
  if (!year || !in.skip_space()) return std::nullopt;
  // obs-year (§4.3): two digits are 1950..2049, three digits count from 1900.
  if (in.last_digits() == 2) {
    *year += *year < 50 ? 2000 : 1900;
  } else if (in.last_digits() == 3) {
    *year += 1900;
  }
  const auto clock = in.time(true);
  if (!clock || !in.skip_space()) return std::nullopt;
  auto zone = in.numeric_zone();
  if (!zone && in.at_letter()) zone = zone_from_name(in.letters());
  if (!zone) return std::nullopt;
  in.skip_space();
  if (!in.done()) return std::nullopt;
  return make(*year, month, *day, clock->hour, clock->minute, clock->second, *zone);
}

}  // namespace mailmig
