#include "core/error.h"

#include <cstring>

#include <fmt/format.h>

namespace mailmig {

IoError::IoError(std::string path, int err, const std::string& what, std::optional<std::uint64_t> offset)
    : std::runtime_error(fmt::format("{}: {}: {}", path, what, std::strerror(err))),
      path_(std::move(path)),
      errno_(err),
      offset_(offset) {}

}  // namespace mailmig
