#include "source/sftp/known_hosts.h"

#include <fmt/format.h>

namespace mailmig::sftp {
namespace {

// ssh-keyscan -t and the server's key file use short names.
std::string short_type(const std::string& key_type) {
  if (key_type == "ssh-ed25519") return "ed25519";
  if (key_type.starts_with("ecdsa-")) return "ecdsa";
  if (key_type == "ssh-rsa" || key_type.starts_with("rsa-")) return "rsa";
  return key_type;
}

std::string how_to_accept(const HostKeyFacts& f) {
  const std::string type = short_type(f.key_type);
  return fmt::format(
      "Compare the fingerprint with the one the source host shows (there: ssh-keygen -lf "
      "/etc/ssh/ssh_host_{}_key.pub); when they match, accept the key by adding this line to {}:\n  {}\n"
      "(the same line: ssh-keyscan -p {} -t {} {} >> {})",
      type, f.known_hosts, f.entry, f.port, type, f.host, f.known_hosts);
}

}  // namespace

std::string known_hosts_name(const std::string& host, int port) {
  return port == 22 ? host : fmt::format("[{}]:{}", host, port);
}

std::optional<std::string> host_key_refusal(HostKeyStatus status, const HostKeyFacts& f) {
  const std::string key = fmt::format("{} key {}", f.key_type, f.fingerprint);
  const std::string name = known_hosts_name(f.host, f.port);
  switch (status) {
    case HostKeyStatus::Known:
      return std::nullopt;
    case HostKeyStatus::Unknown:
      return fmt::format("the host key of {} is not known: {} is not in {}.\n{}", name, key, f.known_hosts,
                         how_to_accept(f));
    case HostKeyStatus::NoFile:
      return fmt::format("the host key of {} cannot be checked: {} does not exist (the host offers {}).\n{}",
                         name, f.known_hosts, key, how_to_accept(f));
    case HostKeyStatus::Changed:
    case HostKeyStatus::OtherType:
      return fmt::format(
          "THE HOST KEY OF {} HAS CHANGED: it offers {}, but {} holds {} for it. Someone may be intercepting "
          "the "
          "connection, or the host was reinstalled. Only when you know it was reinstalled: remove the old "
          "key with "
          "ssh-keygen -R '{}' -f {}, then accept the new one.\n{}",
          name, key, f.known_hosts,
          status == HostKeyStatus::Changed ? "another key" : "a key of another type", name, f.known_hosts,
          how_to_accept(f));
    case HostKeyStatus::Error:
      return fmt::format("cannot read {} to check the host key of {} (it offers {})", f.known_hosts, name,
                         key);
  }
  return "unknown host key status";
}

}  // namespace mailmig::sftp
