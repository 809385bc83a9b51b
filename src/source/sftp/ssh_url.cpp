#include "source/sftp/ssh_url.h"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

namespace mailmig::sftp {

bool is_maildir_ssh_spec(const std::string& spec) {
  return spec.starts_with(kMaildirSshScheme);
}

SshUrl parse_maildir_ssh_url(const std::string& spec) {
  const std::string example = "e.g. maildir+ssh://root@192.0.2.10:22/home/e-smith/files/users";
  if (!is_maildir_ssh_spec(spec))
    throw std::invalid_argument(fmt::format("\"{}\" is not a maildir+ssh:// source", spec));
  const std::string rest = spec.substr(std::char_traits<char>::length(kMaildirSshScheme));
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 >= rest.size()) {
    throw std::invalid_argument(fmt::format("\"{}\": the remote directory is missing ({})", spec, example));
  }
  SshUrl url;
  url.path = rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos) {
    url.user = authority.substr(0, at);
    authority.erase(0, at + 1);
    if (url.user.empty())
      throw std::invalid_argument(fmt::format("\"{}\": empty user name before '@'", spec));
  }
  std::string port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument(fmt::format("\"{}\": '[' without ']'", spec));
    url.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) throw std::invalid_argument(fmt::format("\"{}\": text after ']'", spec));
      port = after.substr(1);
      if (port.empty()) throw std::invalid_argument(fmt::format("\"{}\": empty port after ':'", spec));
    }
  } else if (const std::size_t colon = authority.find(':'); colon != std::string::npos) {
    url.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) throw std::invalid_argument(fmt::format("\"{}\": empty port after ':'", spec));
  } else {
    url.host = authority;
  }
  if (url.host.empty()) throw std::invalid_argument(fmt::format("\"{}\": no host ({})", spec, example));
  if (!port.empty()) {
    int value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      throw std::invalid_argument(
          fmt::format("\"{}\": port \"{}\" is not a number from 1 to 65535", spec, port));
    }
    url.port = value;
  }
  return url;
}

std::string ssh_endpoint(const SshUrl& url) {
  const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return fmt::format("{}{}:{}", url.user.empty() ? "" : url.user + "@", host, url.port);
}

}  // namespace mailmig::sftp
