#include "cli/interrupt.h"

#include <fmt/format.h>

#include <csignal>

#include "cli/exit_codes.h"

namespace mailmig::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "used from a signal handler");

extern "C" void on_stop_signal(int signal) {
  int none = 0;
  (void)g_signal.compare_exchange_strong(none, signal);
  g_stop.store(true);
  // A second Ctrl-C or SIGTERM ends the process at once.
  (void)std::signal(SIGINT, SIG_DFL);
  (void)std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

InterruptWatch::InterruptWatch() {
  g_stop.store(false);
  g_signal.store(0);
  // SIG_ERR only for an invalid signal number.
  (void)std::signal(SIGINT, on_stop_signal);
  (void)std::signal(SIGTERM, on_stop_signal);
}

InterruptWatch::~InterruptWatch() {
  (void)std::signal(SIGINT, SIG_DFL);
  (void)std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>& InterruptWatch::stop_flag() {
  return g_stop;
}

int InterruptWatch::signal_number() {
  return g_signal.load();
}

int exit_code_for_signal(int signal) {
  if (signal == SIGINT) return kExitInterrupted;
  if (signal == SIGTERM) return kExitTerminated;
  return 128 + signal;
}

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

int report_interrupted(int signal, const char* what, std::ostream& err) {
  // The command line itself is not repeated: it may hold a password (--set-password).
  err << fmt::format("mailmig: {} stopped by {} before it finished; run the same command again to {}\n", what,
                     signal_name(signal), "resume: what is done is kept and not copied twice");
  err.flush();
  return exit_code_for_signal(signal);
}

}  // namespace mailmig::cli
