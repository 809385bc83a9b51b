// FETCH data as the source, sync and verify paths need it: 32-bit numbers,
// flag lists to our Flags + keywords, a message's metadata, and UID lists to
// compact sequence sets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/datetime.h"
#include "core/message.h"
#include "imap/response.h"

namespace mailmig::imap {

struct ParsedFlags {
  Flags flags = 0;
  std::vector<std::string> keywords;  // in server order; \Recent and unknown \-flags dropped
};
// A number item that fits 32 bits (a UID, UIDVALIDITY, UIDNEXT); nothing for
// a null `item` or anything else.
std::optional<std::uint32_t> u32_of(const Item* item);

// A FLAGS list "(\Seen $Label1)". \Recent is session state, not message state.
ParsedFlags parse_flag_list(const Item& list);

// What a FETCH response says of a message (RFC822.SIZE, FLAGS, INTERNALDATE);
// what it does not carry stays empty.
struct FetchedMetadata {
  std::uint64_t size = 0;
  Flags flags = 0;
  std::vector<std::string> keywords;
  std::optional<DateTime> internal_date;
};
FetchedMetadata fetched_metadata(const Item& data);

// Ascending, de-duplicated UIDs as "1:3,7,9:10"; splits into several sets so
// no command line grows past `max_chars` (servers limit line length: Dovecot
// 64 KiB, others 8 KiB).
std::vector<std::string> uid_sets(std::vector<std::uint32_t> uids, std::size_t max_chars = 4000);

}  // namespace mailmig::imap
