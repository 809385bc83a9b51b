// The exit status of a run stopped by a signal is documented (README): 130
// for SIGINT, 143 for SIGTERM, as a shell reports a process ended by them.
#include "cli/interrupt.h"

#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

#include "cli/exit_codes.h"

namespace mailmig::cli {
namespace {

TEST(Interrupt, ExitCodesAre128PlusTheSignal) {
  EXPECT_EQ(130, exit_code_for_signal(SIGINT));
  EXPECT_EQ(143, exit_code_for_signal(SIGTERM));
  EXPECT_EQ(kExitInterrupted, exit_code_for_signal(SIGINT));
  EXPECT_EQ(kExitTerminated, exit_code_for_signal(SIGTERM));
  EXPECT_EQ(129, exit_code_for_signal(SIGHUP));
}

TEST(Interrupt, TheFirstSignalAsksToStopAndTheMessageSaysHowToResume) {
  const InterruptWatch watch;
  EXPECT_FALSE(InterruptWatch::stopped());
  ASSERT_EQ(0, std::raise(SIGTERM));  // handled: the test binary goes on
  EXPECT_TRUE(InterruptWatch::stopped());
  EXPECT_EQ(SIGTERM, InterruptWatch::signal_number());
  std::ostringstream err;
  EXPECT_EQ(143, report_interrupted(InterruptWatch::signal_number(), "migration", err));
  EXPECT_NE(std::string::npos, err.str().find("SIGTERM"));
  EXPECT_NE(std::string::npos, err.str().find("run the same command again"));
}

TEST(Interrupt, ANewWatchStartsUnstopped) {
  {
    const InterruptWatch watch;
    ASSERT_EQ(0, std::raise(SIGINT));
    EXPECT_EQ(SIGINT, InterruptWatch::signal_number());
  }
  const InterruptWatch again;
  EXPECT_FALSE(InterruptWatch::stopped());
  EXPECT_EQ(0, InterruptWatch::signal_number());
}

}  // namespace
}  // namespace mailmig::cli
