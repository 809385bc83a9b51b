// The one progress line a run on a terminal redraws on stderr twice a second:
// accounts done, messages and bytes copied, rate, and an ETA by accounts.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <thread>

namespace mailmig::cli {

class ProgressLine {
 public:
  // Draws only when `enabled` (stderr is a terminal and lines are wanted).
  // `mutex` is the one the per-folder lines are written under.
  ProgressLine(std::ostream& err, std::mutex& mutex, std::size_t accounts, bool enabled);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();  // erases the line

  void folder_done(std::uint64_t messages, std::uint64_t bytes) {
    messages_ += messages;
    bytes_ += bytes;
  }
  void account_done() { ++accounts_done_; }
  // Stops drawing and erases the line (also done by the destructor).
  void finish();

 private:
  void draw(double seconds);

  std::ostream& err_;
  std::mutex& mutex_;
  std::size_t accounts_;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::size_t> accounts_done_{0};
  std::atomic<bool> finished_{false};
  std::jthread thread_;
};

}  // namespace mailmig::cli
