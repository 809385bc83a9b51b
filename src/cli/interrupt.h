// Ctrl-C (SIGINT) and SIGTERM during a long run (migrate, sync, verify, copy):
// the first one asks the run to stop cleanly -- what is in flight finishes,
// nothing new starts, the state is flushed and the locks released -- and the
// command tells how to resume and exits 128 + the signal number (130, 143), as
// a shell reports a process ended by it. A second one ends the process at
// once (the default action): the state is built to survive that too.
#pragma once

#include <atomic>
#include <ostream>

namespace mailmig::cli {

// Installs the handlers for SIGINT and SIGTERM while it lives (one at a time).
class InterruptWatch {
 public:
  InterruptWatch();
  ~InterruptWatch();  // back to the default actions
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  // Set by the first signal; engines poll it (MigrateOptions::stop, VerifyOptions::stop).
  [[nodiscard]] static const std::atomic<bool>& stop_flag();
  [[nodiscard]] static bool stopped() { return stop_flag().load(); }
  // The signal that asked the stop; 0 when none did.
  [[nodiscard]] static int signal_number();
};

// The exit status of a run stopped by `signal`: 128 + its number (see exit_codes.h).
int exit_code_for_signal(int signal);

// "SIGINT" / "SIGTERM" / "signal N".
const char* signal_name(int signal);

// Writes the line telling that the run stopped on `signal` and that the same
// command resumes it; returns exit_code_for_signal(signal).
int report_interrupted(int signal, const char* what, std::ostream& err);

}  // namespace mailmig::cli
