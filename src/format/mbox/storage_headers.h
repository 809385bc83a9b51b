// The header fields mbox servers keep their own metadata in, read the same way
// for every mbox file (cgp: .mbox mailboxes and mbox: files alike;
// docs/mbox.md, "Storage headers"). Dovecot treats exactly these as private
// and never serves them to clients (mbox_hide_headers[]: Content-Length,
// Status, X-IMAP, X-IMAPbase, X-Keywords, X-Status, X-UID).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// For a header line that is not a continuation: which storage field it starts
// (names case-insensitive, blanks before the ':' tolerated).
StorageHeader classify_header(std::string_view line);
// The value after the ':' without surrounding blanks and line end.
std::string_view header_value(std::string_view line);

// Status: R = \Seen (O = not recent: no flag). X-Status: A F T D. Letters in
// either case: no writer uses lower case, and no reader gives it another meaning.
Flags status_flags(std::string_view value);
Flags x_status_flags(std::string_view value);
// X-Keywords: words separated by blanks or commas, each kept once. `complete`
// false: the line was cut (longer than the scanner's head), so its last word
// may be cut too and is left out.
void add_keywords(std::string_view value, bool complete, std::vector<std::string>& keywords);

struct ImapBase {
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;
  std::vector<std::string> keywords;
};
// "X-IMAPbase: <uidvalidity> <last uid> [keywords...]" (X-IMAP: the same).
std::optional<ImapBase> parse_imap_base(std::string_view value);

std::optional<std::uint32_t> parse_uid(std::string_view value);
std::optional<std::uint64_t> parse_length(std::string_view value);

// The folder-data pseudo message UW-IMAP (c-client) and Dovecot put first in a
// mailbox: its header holds X-IMAP, or this Subject. It is not mail.
inline constexpr std::string_view kPseudoSubject = "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA";
bool is_pseudo_message_header(std::string_view line);

}  // namespace mailmig::mbox
