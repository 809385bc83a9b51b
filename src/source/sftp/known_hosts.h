// The known_hosts policy of maildir+ssh: a host key is accepted only when the
// known_hosts file holds exactly it; anything else fails with the key's
// SHA256 fingerprint and the exact step that accepts it. Never accepted
// silently, never written by us (the operator decides).
#pragma once

#include <optional>
#include <string>

namespace mailmig::sftp {

enum class HostKeyStatus {
  Known,      // the file holds this key for this host
  Unknown,    // the file has no key for this host
  NoFile,     // the known_hosts file does not exist
  Changed,    // the file holds another key of the same type: possible attack
  OtherType,  // the file holds keys of another type only
  Error,      // the file could not be read
};

struct HostKeyFacts {
  std::string host;  // as written in the URL, without brackets
  int port = 22;
  std::string known_hosts;  // the file consulted
  std::string key_type;     // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string fingerprint;  // "SHA256:..."
  std::string entry;        // the known_hosts line that accepts the key
};

// nullopt: connect. Otherwise the message that refuses the connection.
std::optional<std::string> host_key_refusal(HostKeyStatus status, const HostKeyFacts& facts);

// How known_hosts names the host: "host", or "[host]:port" off port 22.
std::string known_hosts_name(const std::string& host, int port);

}  // namespace mailmig::sftp
