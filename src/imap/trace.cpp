#include "imap/trace.h"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "core/error.h"

namespace mailmig::imap {

Trace::Trace(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open trace file {}: {}", path, error_text(errno)));
  file_ = ::fdopen(fd, "a");
  if (file_ == nullptr) {
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot open trace file {}", path));
  }
}

Trace::~Trace() {
  if (file_ != nullptr) (void)std::fclose(file_);  // nothing useful to do if the last flush fails
}

void Trace::client(std::string_view connection, std::string_view line) {
  write(connection, "C:", line);
}
void Trace::server(std::string_view connection, std::string_view line) {
  write(connection, "S:", line);
}
void Trace::note(std::string_view connection, std::string_view line) {
  write(connection, "--", line);
}

void Trace::write(std::string_view connection, std::string_view direction, std::string_view line) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::lock_guard lock(mutex_);
  fmt::print(file_, "{:%H:%M:%S}.{:03d} [{}] {} {}\n",
             fmt::localtime(std::chrono::system_clock::to_time_t(now)), ms, connection, direction, line);
  (void)std::fflush(file_);  // a trace is best effort; the copy must not fail for it
}

}  // namespace mailmig::imap
