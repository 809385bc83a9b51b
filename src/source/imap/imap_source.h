// Any IMAP server as a source (imap://HOST:PORT): logged in per account with
// the owner's password (--source-passwords) or with master authentication
// (the four forms of imap/login.h). Folders from LIST/LSUB with their
// UIDVALIDITY, messages from pipelined UID FETCH: metadata first, bodies
// fetched ahead in batches and kept briefly (body_cache.h) because the engine
// reads every message twice.
//
// An IMAP server cannot list its users: the accounts are the ones named in the
// passwords file or given by the caller (--user, --users-file).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "imap/login.h"
#include "source/source.h"

namespace mailmig {

// The server and how its accounts log in, then what only a source needs.
struct ImapSourceOptions : imap::ServerLogin {
  std::map<std::string, std::string> passwords;  // "account@domain" -> password (secret)
  std::vector<std::string> accounts;             // "account@domain"; with the passwords' keys, the accounts
  std::string default_domain;                    // for names given without a domain
  std::uint64_t read_ahead_bytes = std::uint64_t{32} << 20U;
};

// Throws std::invalid_argument when no account is known.
std::unique_ptr<Source> make_imap_source(ImapSourceOptions options);

}  // namespace mailmig
