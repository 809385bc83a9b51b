#include "core/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace mailmig {

std::string error_text(int err) {
  char buf[256] = {};
  // GNU strerror_r returns the message (possibly a static string), not an int.
  return ::strerror_r(err, buf, sizeof buf);
}

IoError::IoError(std::string path, int err, const std::string& what, std::optional<std::uint64_t> offset)
    : std::runtime_error(fmt::format("{}: {}: {}", path, what, error_text(err))),
      path_(std::move(path)),
      errno_(err),
      offset_(offset) {}

Scope scope_of_write_error(int err) {
  return err == ENOSPC || err == EDQUOT ? Scope::Account : Scope::Folder;
}

ScopedError scoped_write_error(const IoError& e) {
  return ScopedError(scope_of_write_error(e.error_number()), e.what(),
                     e.error_number() == EDQUOT || e.error_number() == ENOSPC ? "OVERQUOTA" : "");
}

}  // namespace mailmig
