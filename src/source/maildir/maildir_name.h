// Maildir message file names (cr.yp.to/proto/maildir.html plus the Maildir++
// and Dovecot extensions): "<base>[:2,<flags>]" where <base> may carry
// ",S=<file size>" and ",W=<RFC822 size>". Both sizes are hints written by
// the delivering program; the reader measures instead of trusting them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.h"

namespace mailmig::maildir {

struct MaildirName {
  std::string_view base;                     // up to the ':' of the info part (the dovecot-uidlist key)
  bool has_info = false;                     // ":2," present
  Flags flags = 0;                           // S R F T D of the info part
  std::uint32_t keyword_letters = 0;         // bit i: letter 'a'+i (Dovecot keyword index i)
  std::optional<std::uint64_t> file_size;    // ,S=
  std::optional<std::uint64_t> rfc822_size;  // ,W=
};

// Never fails: a name without an info part simply has no flags.
MaildirName parse_maildir_name(std::string_view name);

}  // namespace mailmig::maildir
