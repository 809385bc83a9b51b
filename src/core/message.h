// The neutral message record every source produces and every target consumes
// (dsync's dsync-mail.h idea): identity, flags, keywords, date, size. The bytes
// themselves are streamed separately through a ByteReader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/datetime.h"

namespace mailmig {

// IMAP system flags a migration carries over. \Recent is session state and is
// never copied.
enum Flag : std::uint8_t {
  kSeen = 1U << 0U,
  kAnswered = 1U << 1U,
  kFlagged = 1U << 2U,
  kDeleted = 1U << 3U,
  kDraft = 1U << 4U,
};
using Flags = std::uint8_t;

// "\Seen \Answered ..." in a fixed order; empty string for no flags.
std::string flags_to_imap(Flags flags);
// Short form for reports and manifests: letters S A F D T in that order.
std::string flags_to_letters(Flags flags);

struct MessageInfo {
  std::string id;                 // stable identity within its folder (mbox: offset, mdir: file name)
  std::string file;               // file holding the message, for error reports
  std::uint64_t offset = 0;       // byte offset of the message's record in `file`
  std::uint64_t size = 0;         // RFC822.SIZE: bytes after bare LF -> CRLF
  std::uint64_t stored_size = 0;  // bytes the source stream yields (artefacts stripped, LF as stored)
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<DateTime> internal_date;
  std::optional<std::uint32_t> uid;  // UID the source assigned, when it records one
  // Source-private locator: where the stored bytes are in `file` (mbox: the
  // range after the storage headers, before the separating empty line).
  std::uint64_t data_offset = 0;
  std::uint64_t data_length = 0;
};

}  // namespace mailmig
