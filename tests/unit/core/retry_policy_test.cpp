#include "core/retry_policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace mailmig {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, BacksOffExponentiallyAndGivesUpAfterTheAttempts) {
  Retries r(RetryPolicy{.attempts = 3, .backoff = milliseconds(100)});
  EXPECT_EQ(milliseconds(100), r.after_failure());
  EXPECT_EQ(milliseconds(200), r.after_failure());
  EXPECT_EQ(milliseconds(400), r.after_failure());
  EXPECT_EQ(std::nullopt, r.after_failure());
  EXPECT_EQ(4U, r.failures());
}

TEST(RetryPolicy, AFailureAfterProgressStartsTheCountAgain) {
  Retries r(RetryPolicy{.attempts = 2, .backoff = milliseconds(10)});
  EXPECT_EQ(milliseconds(10), r.after_failure());
  EXPECT_EQ(milliseconds(20), r.after_failure());
  // Each of these connections confirmed something before it dropped: never given up.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(milliseconds(10), r.after_failure(true));
  EXPECT_EQ(milliseconds(20), r.after_failure());
  EXPECT_EQ(std::nullopt, r.after_failure());

  Retries again(RetryPolicy{.attempts = 1, .backoff = milliseconds(10)});
  EXPECT_EQ(milliseconds(10), again.after_failure());
  again.progress();
  EXPECT_EQ(milliseconds(10), again.after_failure());
  EXPECT_EQ(std::nullopt, again.after_failure());
}

TEST(RetryPolicy, NoAttemptsMeansTheFirstFailureIsFinal) {
  Retries r(RetryPolicy{.attempts = 0});
  EXPECT_EQ(std::nullopt, r.after_failure());
}

TEST(RetryPolicy, WaitsWithTheGivenClock) {
  std::vector<milliseconds> slept;
  Retries r(RetryPolicy{
      .attempts = 5, .backoff = milliseconds(1000), .sleep = [&](milliseconds m) { slept.push_back(m); }});
  while (const auto wait = r.after_failure()) r.wait(*wait);
  EXPECT_EQ((std::vector<milliseconds>{milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                       milliseconds(8000), milliseconds(16000)}),
            slept);
}

TEST(RetryPolicy, ManyAttemptsDoNotOverflowTheWait) {
  Retries r(RetryPolicy{.attempts = 100, .backoff = milliseconds(1)});
  milliseconds last{0};
  while (const auto wait = r.after_failure()) {
    EXPECT_GE(*wait, last);
    last = *wait;
  }
  EXPECT_EQ(milliseconds(1 << 20), last);
}

}  // namespace
}  // namespace mailmig
