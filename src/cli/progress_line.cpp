#include "cli/progress_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace mailmig::cli {

ProgressLine::ProgressLine(std::ostream& err, std::mutex& mutex, std::size_t accounts, bool enabled)
    : err_(err), mutex_(mutex), accounts_(accounts) {
  if (!enabled) return;
  thread_ = std::jthread([this] {
    const auto start = std::chrono::steady_clock::now();
    while (!finished_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      draw(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::lock_guard lock(mutex_);
    err_ << "\r\033[K";
    err_.flush();
  });
}

ProgressLine::~ProgressLine() {
  finish();
}

void ProgressLine::finish() {
  finished_ = true;
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::draw(double seconds) {
  const std::size_t done = accounts_done_.load();
  std::string eta = "?";
  if (done != 0 && done < accounts_) {
    const auto left =
        static_cast<long>(seconds / static_cast<double>(done) * static_cast<double>(accounts_ - done));
    eta = fmt::format("{}:{:02d}", left / 60, left % 60);
  }
  std::lock_guard lock(mutex_);
  err_ << fmt::format("\r\033[Kaccounts {}/{}  messages {}  {:.1f} MB  {:.0f} msg/s  ETA {}", done, accounts_,
                      messages_.load(), static_cast<double>(bytes_.load()) / 1e6,
                      static_cast<double>(messages_.load()) / std::max(seconds, 0.001), eta);
  err_.flush();
}

}  // namespace mailmig::cli
