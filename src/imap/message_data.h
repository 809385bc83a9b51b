// FETCH data as the sync and verify paths need it: flag lists to our Flags +
// keywords, and UID lists to compact sequence sets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/message.h"
#include "imap/response.h"

namespace mailmig::imap {

struct ParsedFlags {
  Flags flags = 0;
  std::vector<std::string> keywords;  // in server order; \Recent and unknown \-flags dropped
};
// A FLAGS list "(\Seen $Label1)". \Recent is session state, not message state.
ParsedFlags parse_flag_list(const Item& list);

// Ascending, de-duplicated UIDs as "1:3,7,9:10"; splits into several sets so
// no command line grows past `max_chars` (servers limit line length: Dovecot
// 64 KiB, others 8 KiB).
std::vector<std::string> uid_sets(std::vector<std::uint32_t> uids, std::size_t max_chars = 4000);

}  // namespace mailmig::imap
