#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace mailmig {

// strerror(3) text for `err`, safe to call from several threads.
std::string error_text(int err);

// A failed system call on a file, with the path and (when known) the offset.
class IoError : public std::runtime_error {
 public:
  IoError(std::string path, int err, const std::string& what, std::optional<std::uint64_t> offset = {});
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int error_number() const { return errno_; }
  [[nodiscard]] std::optional<std::uint64_t> offset() const { return offset_; }

 private:
  std::string path_;
  int errno_;
  std::optional<std::uint64_t> offset_;
};

}  // namespace mailmig
