#include "target/maildir/filename.h"

#include <fmt/format.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <limits>

#include "target/maildir/dotlock.h"

namespace mailmig::maildir {

namespace {

std::string escaped_host() {
  std::string out;
  for (const char c : host_name()) {
    if (c == '/')
      out += "\\057";
    else if (c == ':')
      out += "\\072";
    else
      out += c;
  }
  return out;
}

// One more decimal digit, saturating: names in a Maildir are anyone's, and
// "99999999999999999999.M1..." must neither overflow (undefined for the
// signed stamps) nor wrap around into a small number.
template <typename Int>
Int append_digit(Int value, char digit) {
  const auto d = static_cast<Int>(digit - '0');
  constexpr Int kMax = std::numeric_limits<Int>::max();
  return value > (kMax - d) / 10 ? kMax : static_cast<Int>(value * 10 + d);
}

std::optional<std::uint64_t> size_field(std::string_view base, char type) {
  const std::string key = fmt::format(",{}=", type);
  const std::size_t at = base.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t v = 0;
  std::size_t i = at + 3;
  if (i >= base.size() || base[i] < '0' || base[i] > '9') return std::nullopt;
  bool overflow = false;
  for (; i < base.size() && base[i] >= '0' && base[i] <= '9'; ++i) {
    const std::uint64_t next = append_digit(v, base[i]);
    overflow |= next == std::numeric_limits<std::uint64_t>::max();
    v = next;
  }
  if (overflow || (i < base.size() && base[i] != ',')) return std::nullopt;  // no size anybody wrote
  return v;
}

struct Stamp {
  std::int64_t secs = 0;
  std::int64_t usecs = -1;
  std::string_view rest;
};

Stamp stamp_of(std::string_view name) {
  Stamp s;
  std::size_t i = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) s.secs = append_digit(s.secs, name[i]);
  s.rest = name.substr(i);
  if (i < name.size() && name[i] == '.') {
    for (std::size_t j = i + 1; j < name.size() && name[j] != '.' && name[j] != ':'; ++j) {
      if (name[j] == 'M') {
        std::int64_t u = 0;
        for (++j; j < name.size() && name[j] >= '0' && name[j] <= '9'; ++j) u = append_digit(u, name[j]);
        s.usecs = u;
        break;
      }
    }
  }
  return s;
}

}  // namespace

std::string unique_stem() {
  static std::atomic<std::uint64_t> counter{0};
  const std::string& host = local_host_in_names();
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return fmt::format("{}.M{}P{}Q{}.{}", tv.tv_sec, tv.tv_usec, ::getpid(), ++counter, host);
}

const std::string& local_host_in_names() {
  static const std::string host = escaped_host();
  return host;
}

std::optional<long> tmp_writer_pid(std::string_view name, std::string_view host) {
  const auto digits = [&](std::size_t& i) {
    const std::size_t start = i;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9' && i - start < 18) ++i;
    return i > start && (i == name.size() || name[i] < '0' || name[i] > '9');
  };
  std::size_t i = 0;
  if (!digits(i) || name.substr(i, 2) != ".M") return std::nullopt;
  i += 2;
  if (!digits(i) || i >= name.size() || name[i] != 'P') return std::nullopt;
  const std::size_t pid_start = ++i;
  if (!digits(i)) return std::nullopt;
  const long pid = std::stol(std::string(name.substr(pid_start, i - pid_start)));
  if (i < name.size() && name[i] == 'Q') {
    ++i;
    if (!digits(i)) return std::nullopt;
  }
  if (i >= name.size() || name[i] != '.') return std::nullopt;
  const std::string_view rest = name.substr(i + 1);
  const std::string_view written_on = rest.substr(0, rest.find_first_of(",:"));
  if (written_on != host || pid <= 0) return std::nullopt;
  return pid;
}

std::string base_with_sizes(const std::string& stem, std::uint64_t file_size, std::uint64_t rfc822_size) {
  return fmt::format("{},S={},W={}", stem, file_size, rfc822_size);
}

ParsedName parse_name(std::string_view file_name) {
  ParsedName p;
  const std::size_t colon = file_name.find(':');
  p.base = std::string(file_name.substr(0, colon));
  if (colon != std::string_view::npos && file_name.substr(colon).starts_with(":2,")) {
    p.letters = std::string(file_name.substr(colon + 3));
  }
  p.size = size_field(p.base, 'S');
  p.vsize = size_field(p.base, 'W');
  return p;
}

Flags flags_of(std::string_view letters) {
  Flags f = 0;
  for (const char c : letters) {
    switch (c) {
      case 'S':
        f |= kSeen;
        break;
      case 'R':
        f |= kAnswered;
        break;
      case 'F':
        f |= kFlagged;
        break;
      case 'T':
        f |= kDeleted;
        break;
      case 'D':
        f |= kDraft;
        break;
      default:
        break;
    }
  }
  return f;
}

std::string other_letters(std::string_view letters) {
  std::string out;
  for (const char c : letters) {
    if (std::string_view("SRFTD").find(c) == std::string_view::npos && (c < 'a' || c > 'z')) out += c;
  }
  return out;
}

std::string info_letters(Flags flags, std::string_view keyword_letters, std::string_view others) {
  std::string out(others);
  if ((flags & kDraft) != 0) out += 'D';
  if ((flags & kFlagged) != 0) out += 'F';
  if ((flags & kAnswered) != 0) out += 'R';
  if ((flags & kSeen) != 0) out += 'S';
  if ((flags & kDeleted) != 0) out += 'T';
  out += keyword_letters;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string file_name(const std::string& base, const std::string& letters) {
  return base + ":2," + letters;
}

bool dovecot_order(std::string_view a, std::string_view b) {
  const Stamp sa = stamp_of(a);
  const Stamp sb = stamp_of(b);
  if (sa.secs != sb.secs) return sa.secs < sb.secs;
  if (sa.usecs >= 0 && sb.usecs >= 0 && sa.usecs != sb.usecs) return sa.usecs < sb.usecs;
  return a.substr(0, a.find(':')) < b.substr(0, b.find(':'));
}

}  // namespace mailmig::maildir
