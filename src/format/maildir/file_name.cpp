#include "format/maildir/file_name.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace mailmig::maildir {
namespace {

// One more decimal digit, saturating: names in a Maildir are anyone's, and
// "99999999999999999999.M1..." must neither overflow (undefined for the
// signed stamps) nor wrap around into a small number.
template <typename Int>
Int append_digit(Int value, char digit) {
  const auto d = static_cast<Int>(digit - '0');
  constexpr Int kMax = std::numeric_limits<Int>::max();
  return value > (kMax - d) / 10 ? kMax : static_cast<Int>(value * 10 + d);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// ",S=123" may be followed by further ",X=..." fields. At least one digit, no
// overflow: anything else is not a size anybody wrote.
std::optional<std::uint64_t> size_field(std::string_view base, char type) {
  const std::string key{',', type, '='};
  const std::size_t at = base.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + key.size();
  if (i >= base.size() || !is_digit(base[i])) return std::nullopt;
  std::uint64_t value = 0;
  bool overflow = false;
  for (; i < base.size() && is_digit(base[i]); ++i) {
    const std::uint64_t next = append_digit(value, base[i]);
    overflow |= next == std::numeric_limits<std::uint64_t>::max();
    value = next;
  }
  if (overflow || (i < base.size() && base[i] != ',')) return std::nullopt;
  return value;
}

struct Stamp {
  std::int64_t secs = 0;
  std::int64_t usecs = -1;
};

Stamp stamp_of(std::string_view name) {
  Stamp s;
  std::size_t i = 0;
  for (; i < name.size() && is_digit(name[i]); ++i) s.secs = append_digit(s.secs, name[i]);
  if (i < name.size() && name[i] == '.') {
    for (std::size_t j = i + 1; j < name.size() && name[j] != '.' && name[j] != ':'; ++j) {
      if (name[j] == 'M') {
        std::int64_t u = 0;
        for (++j; j < name.size() && is_digit(name[j]); ++j) u = append_digit(u, name[j]);
        s.usecs = u;
        break;
      }
    }
  }
  return s;
}

constexpr std::string_view kFlagLetters = "DFRST";

}  // namespace

FileName parse_file_name(std::string_view name) {
  FileName out;
  out.base = std::string(name.substr(0, name.find(':')));
  out.file_size = size_field(out.base, 'S');
  out.rfc822_size = size_field(out.base, 'W');
  const std::size_t info = name.rfind(':');
  if (info == std::string_view::npos || !name.substr(info).starts_with(":2,")) return out;
  out.has_info = true;
  out.letters = std::string(name.substr(info + 3));
  out.flags = flags_of(out.letters);
  out.keyword_letters = keyword_mask(out.letters);
  return out;
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
        f |= kDeleted;  // "trashed"
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

std::uint32_t keyword_mask(std::string_view letters) {
  std::uint32_t mask = 0;
  for (const char c : letters) {
    if (c >= 'a' && c <= 'z') mask |= 1U << static_cast<unsigned>(c - 'a');
  }
  return mask;
}

std::string other_letters(std::string_view letters) {
  std::string out;
  for (const char c : letters) {
    if (kFlagLetters.find(c) == std::string_view::npos && (c < 'a' || c > 'z')) out += c;
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

std::string file_name(std::string_view base, std::string_view letters) {
  return fmt::format("{}:2,{}", base, letters);
}

std::string unique_stem(std::int64_t secs, std::int64_t usecs, std::int64_t pid, std::uint64_t counter,
                        std::string_view host) {
  std::string escaped;
  for (const char c : host) {
    if (c == '/')
      escaped += "\\057";
    else if (c == ':')
      escaped += "\\072";
    else
      escaped += c;
  }
  return fmt::format("{}.M{}P{}Q{}.{}", secs, usecs, pid, counter, escaped);
}

std::optional<long> tmp_writer_pid(std::string_view name, std::string_view host) {
  const auto digits = [&](std::size_t& i) {
    const std::size_t start = i;
    while (i < name.size() && is_digit(name[i]) && i - start < 18) ++i;
    return i > start && (i == name.size() || !is_digit(name[i]));
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

std::string base_with_sizes(std::string_view stem, std::uint64_t file_size, std::uint64_t rfc822_size) {
  return fmt::format("{},S={},W={}", stem, file_size, rfc822_size);
}

bool dovecot_order(std::string_view a, std::string_view b) {
  const Stamp sa = stamp_of(a);
  const Stamp sb = stamp_of(b);
  if (sa.secs != sb.secs) return sa.secs < sb.secs;
  if (sa.usecs >= 0 && sb.usecs >= 0 && sa.usecs != sb.usecs) return sa.usecs < sb.usecs;
  return a.substr(0, a.find(':')) < b.substr(0, b.find(':'));
}

}  // namespace mailmig::maildir
