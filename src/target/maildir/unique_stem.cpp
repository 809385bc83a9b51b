#include "target/maildir/unique_stem.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>

#include "format/maildir/file_name.h"
#include "target/maildir/dotlock.h"

namespace mailmig::maildir {

std::string unique_stem() {
  static std::atomic<std::uint64_t> counter{0};
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  return unique_stem(tv.tv_sec, tv.tv_usec, ::getpid(), ++counter, host_name());
}

const std::string& local_host_in_names() {
  // The host part of a stem made with this host's name.
  static const std::string host = [] {
    const std::string stem = unique_stem(0, 0, 0, 0, host_name());
    return stem.substr(stem.find('.', stem.find('Q')) + 1);
  }();
  return host;
}

}  // namespace mailmig::maildir
