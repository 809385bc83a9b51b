// The header fields mbox servers keep their own metadata in. Dovecot treats
// exactly these as private and never serves them to clients
// (mbox_hide_headers[]: Content-Length, Status, X-IMAP, X-IMAPbase,
// X-Keywords, X-Status, X-UID); we strip the same ones, wherever they are in
// the header, with their continuation lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/datetime.h"
#include "core/message.h"

namespace mailmig::mbox {

enum class StorageHeader : std::uint8_t {
  None,
  ContentLength,
  Status,
  XStatus,
  XKeywords,
  XUid,
  XImap,
  XImapBase
};

// For a header line that is not a continuation: which storage field it starts.
StorageHeader classify_header(std::string_view line);
// The value after the ':' without surrounding blanks and line end.
std::string_view header_value(std::string_view line);

Flags status_flags(std::string_view value);    // Status: R = \Seen (O = not recent: no flag)
Flags x_status_flags(std::string_view value);  // X-Status: A F T D
void add_keywords(std::string_view value, std::vector<std::string>& keywords);  // X-Keywords: space separated

struct ImapBase {
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;
  std::vector<std::string> keywords;
};
// "X-IMAPbase: <uidvalidity> <last uid> [keywords...]" (X-IMAP: the same).
std::optional<ImapBase> parse_imap_base(std::string_view value);

std::optional<std::uint32_t> parse_uid(std::string_view value);
std::optional<std::uint64_t> parse_length(std::string_view value);

// The date of a "From sender date" line: ctime form (UTC) or RFC 5322.
std::optional<DateTime> separator_date(std::string_view line);

bool starts_with_ci(std::string_view text, std::string_view prefix);

}  // namespace mailmig::mbox
