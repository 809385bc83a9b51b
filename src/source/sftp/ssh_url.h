// maildir+ssh://[USER@]HOST[:PORT]/PATH: where a remote Maildir tree is and
// whom to log in as. IPv6 addresses are written in brackets ([::1]:2222).
#pragma once

#include <string>

namespace mailmig::sftp {

inline constexpr const char* kMaildirSshScheme = "maildir+ssh://";

struct SshUrl {
  std::string user;  // empty: the local user's name (what ssh does)
  std::string host;  // without brackets
  int port = 22;
  std::string path;  // absolute path on the remote host
};

// True when `spec` starts with maildir+ssh://.
bool is_maildir_ssh_spec(const std::string& spec);

// Parses a maildir+ssh:// source. Throws std::invalid_argument with a message
// for people (no host, a port that is no number in 1..65535, no /PATH).
SshUrl parse_maildir_ssh_url(const std::string& spec);

// user@host:port for messages; [host] when it is an IPv6 address.
std::string ssh_endpoint(const SshUrl& url);

}  // namespace mailmig::sftp
