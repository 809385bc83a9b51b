// A remote directory tree read over SFTP (libssh): the FileTree behind
// maildir+ssh://. Public-key authentication only (ssh agent, the default
// identity files, or one key file), the host key checked against
// known_hosts (known_hosts.h), nothing ever written on the remote host.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "source/sftp/ssh_url.h"
#include "source/tree/file_tree.h"

namespace mailmig::sftp {

struct SshOptions {
  SshUrl url;
  std::string key_file;        // empty: ssh agent, then ~/.ssh/id_*
  std::string key_passphrase;  // secret: never logged
  std::string known_hosts;     // empty: ~/.ssh/known_hosts
  unsigned timeout_seconds = 60;
};

// Connecting is impossible as asked: host key refused, authentication
// refused, no SFTP service. Retrying would not help.
class SshError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Connects at once (so a refused host key or login fails before anything is
// read). Throws SshError, or IoError when the host cannot be reached.
std::shared_ptr<FileTree> open_sftp_tree(const SshOptions& options);

// ~/.ssh/known_hosts of the user running us.
std::string default_known_hosts();

}  // namespace mailmig::sftp
