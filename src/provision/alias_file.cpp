#include "provision/alias_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "core/error.h"

namespace mailmig {
namespace {

void check_address(const std::string& address) {
  if (address.empty() || address.find_first_of(" \t\r\n,#") != std::string::npos) {
    throw std::invalid_argument(fmt::format("\"{}\" cannot be written to a Postfix alias table", address));
  }
}

}  // namespace

std::string format_virtual_aliases(std::vector<AliasEntry> aliases) {
  std::sort(aliases.begin(), aliases.end(),
            [](const AliasEntry& a, const AliasEntry& b) { return a.address < b.address; });
  std::string out;
  for (const AliasEntry& alias : aliases) {
    check_address(alias.address);
    if (alias.targets.empty())
      throw std::invalid_argument(fmt::format("alias {} has no target", alias.address));
    out += alias.address;
    char separator = ' ';
    for (const std::string& target : alias.targets) {
      check_address(target);
      out += separator;
      out += target;
      separator = ',';
    }
    out += '\n';
  }
  return out;
}

void write_virtual_aliases(const std::string& path, const std::vector<AliasEntry>& aliases) {
  const std::string text = format_virtual_aliases(aliases);
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string temp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw IoError(path, errno, "cannot create a temporary file next to the alias table");
  const auto fail = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw IoError(path, error, what);
  };
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write the alias table");
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fchmod(fd, 0644) != 0) fail("cannot set the alias table's mode");
  if (::fsync(fd) != 0) fail("cannot sync the alias table");
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw IoError(path, errno, "cannot write the alias table");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw IoError(path, error, "cannot replace the alias table");
  }
  // The rename itself survives a crash once the directory is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace mailmig
