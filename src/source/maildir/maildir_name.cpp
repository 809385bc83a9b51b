#include "source/maildir/maildir_name.h"

namespace mailmig::maildir {
namespace {

std::optional<std::uint64_t> size_field(std::string_view base, std::string_view tag) {
  // ",S=123" may be followed by further ",X=..." fields.
  const std::size_t at = base.find(tag);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + tag.size();
  std::uint64_t value = 0;
  std::size_t digits = 0;
  constexpr std::size_t kMaxDigits = 19;
  while (i < base.size() && base[i] >= '0' && base[i] <= '9' && digits < kMaxDigits) {
    value = value * 10 + static_cast<std::uint64_t>(base[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || (i < base.size() && base[i] != ',')) return std::nullopt;
  return value;
}

}  // namespace

MaildirName parse_maildir_name(std::string_view name) {
  MaildirName out;
  // Dovecot also accepts other separators than ':' (maildir_broken_filename_chars),
  // but ':' is the one every Maildir writer on Linux uses.
  const std::size_t colon = name.rfind(":2,");
  out.base = colon == std::string_view::npos ? name.substr(0, name.find(':')) : name.substr(0, colon);
  out.file_size = size_field(out.base, ",S=");
  out.rfc822_size = size_field(out.base, ",W=");
  if (colon == std::string_view::npos) return out;
  out.has_info = true;
  for (const char c : name.substr(colon + 3)) {
    switch (c) {
      case 'S':
        out.flags |= kSeen;
        break;
      case 'R':
        out.flags |= kAnswered;
        break;
      case 'F':
        out.flags |= kFlagged;
        break;
      case 'T':
        out.flags |= kDeleted;
        break;  // "trashed": IMAP \Deleted
      case 'D':
        out.flags |= kDraft;
        break;
      default:
        // 'P' (passed) has no IMAP flag; lowercase letters are keyword indexes.
        if (c >= 'a' && c <= 'z') out.keyword_letters |= 1U << static_cast<unsigned>(c - 'a');
        break;
    }
  }
  return out;
}

}  // namespace mailmig::maildir
