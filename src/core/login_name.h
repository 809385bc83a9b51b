// How an account's login name is spelled for a server: a format with %u (the
// account), %d (its domain) and %% (a percent sign), e.g. "%u@%d" for most
// servers or "%u" for one that knows a single domain. Both the IMAP source and
// the targets log in with names made this way (Kerio's master authentication
// included), so the rule lives below them.
#pragma once

#include <string>

namespace mailmig {

// Expands a login-name format: %u account, %d domain, %% a percent sign; any
// other '%' sequence stays as written.
std::string format_login(const std::string& format, const std::string& account, const std::string& domain);

}  // namespace mailmig
