// IMAP modified UTF-7 (RFC 3501 5.1.3) for mailbox names. Hand-written rather
// than ICU's converter because we must *reject* non-canonical and malformed
// input (dovecot/isync test vectors) instead of decoding it leniently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailmig {

// nullopt when `utf7` is not valid, canonical modified UTF-7.
std::optional<std::string> mutf7_decode(std::string_view utf7);
// nullopt when `utf8` is not valid UTF-8.
std::optional<std::string> mutf7_encode(std::string_view utf8);

}  // namespace mailmig
