// Dovecot's per-folder Maildir metadata files: dovecot-uidlist (IMAP UIDs and
// UIDVALIDITY) and dovecot-keywords (which keyword each lowercase flag letter
// means). doc.dovecot.org, "Maildir Mailbox Format".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailmig::maildir {

struct UidList {
  std::optional<std::uint32_t> uidvalidity;
  std::uint32_t next_uid = 0;
  std::unordered_map<std::string, std::uint32_t> uids;  // by file base name (before ":2,")
};

// Version 3: "3 V<uidvalidity> N<next> G<guid> ..." then "<uid> [<ext>...] :<base>".
// Version 1: "1 <uidvalidity> <next>" then "<uid> <base>".
// Returns nullopt for an unknown version or a malformed header; `error` says why.
// Malformed record lines are skipped (counted in `bad_lines`).
std::optional<UidList> parse_uidlist(std::string_view text, std::string& error, std::size_t& bad_lines);

// "N name" lines, N in 0..25: the keyword of flag letter 'a'+N.
using KeywordTable = std::array<std::string, 26>;
KeywordTable parse_keywords(std::string_view text);

}  // namespace mailmig::maildir
