#include "core/error.h"

#include <cstring>

#include <fmt/format.h>

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

}  // namespace mailmig
